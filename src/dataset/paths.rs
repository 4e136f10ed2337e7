//! Finding image files and matching the paths other files mention to them.
//!
//! clip-retrieval records `image_path` exactly as the user typed it when it ran (absolute,
//! `../jpgs/x.jpg`, `images/a/b.png`), and metadata files name images relative to whatever
//! folder their author had in mind. [`PathIndex::resolve`] tries the path against a list of
//! base folders first and then falls back to the longest unique suffix of path components.

use std::borrow::Cow;
use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

use rustc_hash::FxHashMap;

/// Extensions we list as images without opening them. Files with other extensions are
/// sniffed by their first bytes, so a PNG named `.dat` still counts.
const IMAGE_EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "jpe", "jfif", "png", "webp", "gif", "bmp", "tif", "tiff",
];
/// Extensions that are never images; skipped without opening.
const NON_IMAGE_EXTENSIONS: &[&str] = &[
    "npy", "npz", "csv", "tsv", "parquet", "json", "txt", "md", "geojson", "py", "html", "js",
    "tar",
];

/// One image found: a file on disk, or a member of a tar shard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageFile {
    /// Path relative to the images folder, with `/` separators; a tar member is
    /// `SHARD.tar/KEY.jpg` (the tar's path, then the member's name).
    pub rel: String,
    /// Lexically normalised absolute path of the file holding the bytes (the tar, for a
    /// member).
    pub abs: PathBuf,
    /// Size in bytes and modification time when listed (the cache's change detection); a
    /// member has its own size and its tar's mtime.
    pub size: u64,
    pub mtime_ns: i64,
    /// Where in the tar the bytes are, for a member.
    pub member: Option<Member>,
}

/// Where inside its container (a tar, or a parquet table of image bytes) an image is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Member {
    /// A stretch of a tar: the data's byte offset (after its headers) and length.
    Tar { offset: u64, len: u64 },
    /// A row of a table ([`super::image_table`]): its row group and row within the group.
    Row { group: u32, row: u32 },
}

impl ImageFile {
    /// Where the image's bytes are.
    pub fn source(&self) -> ImageSource {
        match self.member {
            Some(member) => ImageSource::Member {
                container: self.abs.clone(),
                member,
            },
            None => ImageSource::File(self.abs.clone()),
        }
    }
}

/// Where an image's bytes are, enough to read them again (the lightbox, taking away).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageSource {
    File(PathBuf),
    /// Inside a tar or a table of image bytes.
    Member {
        container: PathBuf,
        member: Member,
    },
}

impl ImageSource {
    /// Reads the whole image: the file, the member's stretch of its tar, or its table row.
    pub fn read(&self) -> std::io::Result<Vec<u8>> {
        match self {
            Self::File(path) => std::fs::read(path),
            Self::Member {
                container,
                member: Member::Tar { offset, len },
            } => read_member(container, *offset, *len),
            Self::Member {
                container,
                member: Member::Row { group, row },
            } => super::image_table::read_row(container, *group, *row),
        }
    }

    /// How to name it to the user: the file, or its container and where in it.
    pub fn describe(&self) -> String {
        match self {
            Self::File(path) => path.display().to_string(),
            Self::Member { container, member } => match member {
                Member::Tar { offset, .. } => {
                    format!("{} (member at byte {offset})", container.display())
                }
                Member::Row { group, row } => {
                    format!("{} (row {row} of row group {group})", container.display())
                }
            },
        }
    }
}

/// Reads the `len` bytes at `offset` of `tar`: one seek and one read, nothing else of it.
pub fn read_member(tar: &Path, offset: u64, len: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(tar)?;
    let len = usize::try_from(len).map_err(std::io::Error::other)?;
    file.seek(SeekFrom::Start(offset))?;
    let mut bytes = vec![0u8; len];
    file.read_exact(&mut bytes)?;
    Ok(bytes)
}

/// Nanoseconds since the Unix epoch of a file's mtime (0 where the platform has none).
pub fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i64)
}

/// What listing a folder found besides images.
#[derive(Debug, Default)]
pub struct Listing {
    pub images: Vec<ImageFile>,
    /// Entries we could not follow (dangling symlinks, loops, permission errors), with why.
    pub problems: Vec<(String, String)>,
    /// `.txt` and `.json` files (img2dataset writes `KEY.txt` and `KEY.json` beside each
    /// `KEY.jpg`, on disk or in its tar), named relative to the listed folder as images are.
    pub sidecars: Vec<SidecarFile>,
    /// img2dataset's shard tables: `NNNNN.parquet` files below the listed folder.
    /// A table holding image bytes (img2dataset's `parquet` output) is one too, and its
    /// images are among `images`.
    pub shard_tables: Vec<PathBuf>,
    /// Tar shards found (their members are among `images`), relative to the listed folder.
    pub tars: Vec<String>,
}

/// A `.txt` or `.json` file beside an image: on disk, or a member of the same tar.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SidecarFile {
    pub rel: String,
    pub abs: PathBuf,
    pub member: Option<(u64, u64)>,
}

impl SidecarFile {
    pub fn source(&self) -> ImageSource {
        match self.member {
            Some((offset, len)) => ImageSource::Member {
                container: self.abs.clone(),
                member: Member::Tar { offset, len },
            },
            None => ImageSource::File(self.abs.clone()),
        }
    }
}

/// Lists image files below `dir`, sorted by relative path. Hidden entries (the cache folder
/// among them) and folders in `exclude` are skipped; symlink loops are detected.
pub fn list_images(dir: &Path, exclude: &[PathBuf]) -> Listing {
    let mut listing = Listing::default();
    let root = absolute(dir);
    let mut visited = HashSet::new();
    let exclude: Vec<PathBuf> = exclude.iter().map(|p| absolute(p)).collect();
    let folder = if root.is_file() {
        // One tar (or table of images) given as the images: named as from its folder.
        let name = root.file_name().map(|n| n.to_string_lossy().into_owned());
        if extension_lower(&root).as_deref() == Some("parquet") {
            listing.shard_tables.push(root.clone());
        } else {
            listing.tars.extend(name);
            // img2dataset writes `00001.parquet` beside `00001.tar`: its rows describe it.
            let table = root.with_extension("parquet");
            if table.is_file() {
                listing.shard_tables.push(table);
            }
        }
        root.parent().unwrap_or(Path::new("/")).to_path_buf()
    } else {
        walk(&root, "", &exclude, &mut visited, &mut listing);
        root
    };
    super::webdataset::index_tars(&folder, &mut listing);
    super::image_table::index_tables(&folder, &mut listing);
    listing.images.sort_by(|a, b| a.rel.cmp(&b.rel));
    listing.sidecars.sort();
    listing.shard_tables.sort();
    listing
}

fn walk(
    dir: &Path,
    rel: &str,
    exclude: &[PathBuf],
    visited: &mut HashSet<PathBuf>,
    out: &mut Listing,
) {
    let real = match std::fs::canonicalize(dir) {
        Ok(r) => r,
        Err(e) => {
            out.problems
                .push((rel.to_string(), format!("cannot open folder: {e}")));
            return;
        }
    };
    if !visited.insert(real) {
        out.problems.push((
            rel.to_string(),
            "symlink loop (folder already visited)".into(),
        ));
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            out.problems
                .push((rel.to_string(), format!("cannot list folder: {e}")));
            return;
        }
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        if exclude.contains(&path) {
            continue;
        }
        let child_rel = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        // One stat per entry, relative to the open folder; symlinks are followed (a
        // dangling one fails here).
        let is_symlink = entry.file_type().is_ok_and(|t| t.is_symlink());
        let meta = if is_symlink {
            std::fs::metadata(&path)
        } else {
            entry.metadata()
        };
        let meta = match meta {
            Ok(m) => m,
            Err(e) => {
                let why = if is_symlink {
                    "dangling symlink".to_string()
                } else {
                    format!("cannot read: {e}")
                };
                out.problems.push((child_rel, why));
                continue;
            }
        };
        if meta.is_dir() {
            walk(&path, &child_rel, exclude, visited, out);
        } else if meta.is_file() && looks_like_image(&path) {
            out.images.push(ImageFile {
                rel: child_rel,
                abs: path,
                size: meta.len(),
                mtime_ns: mtime_ns(&meta),
                member: None,
            });
        } else if meta.is_file() {
            match extension_lower(&path).as_deref() {
                Some("txt" | "json") => out.sidecars.push(SidecarFile {
                    rel: child_rel,
                    abs: path,
                    member: None,
                }),
                Some("tar") => out.tars.push(child_rel),
                Some("tgz" | "gz" | "zst" | "xz")
                    if name.contains(".tar.") || name.ends_with(".tgz") =>
                {
                    out.problems.push((
                        child_rel,
                        "a compressed tar is not read in place: decompress it (e.g. `gunzip`) to a plain .tar".into(),
                    ));
                }
                Some("parquet")
                    if path.file_stem().is_some_and(|s| {
                        s.to_string_lossy().bytes().all(|b| b.is_ascii_digit())
                    }) =>
                {
                    out.shard_tables.push(path);
                }
                _ => {}
            }
        }
    }
}

fn extension_lower(path: &Path) -> Option<String> {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
}

/// True for a name (lower case) with an image extension.
pub fn looks_like_image_name(lower: &str) -> bool {
    lower
        .rsplit_once('.')
        .is_some_and(|(_, ext)| IMAGE_EXTENSIONS.contains(&ext))
}

/// True for files with an image extension, or unknown files whose first bytes are an image.
pub fn looks_like_image(path: &Path) -> bool {
    match extension_lower(path) {
        Some(ext) if IMAGE_EXTENSIONS.contains(&ext.as_str()) => true,
        Some(ext) if NON_IMAGE_EXTENSIONS.contains(&ext.as_str()) => false,
        _ => {
            let mut head = [0u8; 16];
            std::fs::File::open(path)
                .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
                .is_ok_and(|n| n >= 8 && image::guess_format(&head[..n]).is_ok())
        }
    }
}

/// `path` made absolute against the current directory and lexically normalised.
pub fn absolute(path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    normalize(&joined)
}

/// Removes `.` and resolves `..` without touching the file system.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// How a mentioned path matched the image list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// Exactly one image.
    Found(usize),
    /// Several images share the best suffix; the first (shallowest) was taken.
    Ambiguous(Vec<usize>),
    NotFound,
}

/// Lookup structure over a list of images, borrowing their paths (a million images cost
/// two hash maps and one sorted index, not a million small allocations).
pub struct PathIndex<'a> {
    root: PathBuf,
    /// Each image's relative path in Unicode NFC (borrowed when it already is: nearly all).
    keys: Vec<Cow<'a, str>>,
    by_rel: FxHashMap<Cow<'a, str>, usize>,
    /// Image indices sorted by file name, for suffix matching.
    by_name: Vec<usize>,
    /// Image indices sorted by key (file stem), built on the first lookup by key.
    by_key: std::sync::OnceLock<Vec<usize>>,
}

/// `text` in Unicode NFC: names match however the file system or the editor that wrote
/// them composed their accents.
fn nfc(text: &str) -> Cow<'_, str> {
    use unicode_normalization::{IsNormalized, UnicodeNormalization as _, is_nfc_quick};
    match is_nfc_quick(text.chars()) {
        IsNormalized::Yes => Cow::Borrowed(text),
        _ => Cow::Owned(text.nfc().collect()),
    }
}

fn file_name(rel: &str) -> &str {
    rel.rsplit('/').next().unwrap_or(rel)
}

impl<'a> PathIndex<'a> {
    /// Indexes `images`, whose `rel` paths are relative to `root`.
    pub fn new(root: &Path, images: &'a [ImageFile]) -> Self {
        let keys: Vec<Cow<'a, str>> = images.iter().map(|image| nfc(&image.rel)).collect();
        let mut by_rel = FxHashMap::default();
        by_rel.reserve(images.len());
        for (i, key) in keys.iter().enumerate() {
            by_rel.insert(key.clone(), i);
        }
        let mut by_name: Vec<usize> = (0..images.len()).collect();
        by_name.sort_by(|&a, &b| file_name(&keys[a]).cmp(file_name(&keys[b])));
        Self {
            root: absolute(root),
            keys,
            by_rel,
            by_name,
            by_key: std::sync::OnceLock::new(),
        }
    }

    /// The one image whose key (file stem) is `key`: how clip-retrieval's webdataset mode
    /// names a tar member (`000000123` for `00000.tar/000000123.jpg`). A key several images
    /// share names none of them.
    fn lookup_key(&self, key: &str) -> Option<usize> {
        let key_of = |i: usize| super::coords::key_of(&self.keys[i]);
        let by_key = self.by_key.get_or_init(|| {
            let mut order: Vec<usize> = (0..self.keys.len()).collect();
            order.sort_by(|&a, &b| key_of(a).cmp(key_of(b)));
            order
        });
        let start = by_key.partition_point(|&i| key_of(i) < key);
        let mut hits = by_key[start..].iter().take_while(|&&i| key_of(i) == key);
        match (hits.next(), hits.next()) {
            (Some(&i), None) => Some(i),
            _ => None,
        }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn lookup_abs(&self, abs: &Path) -> Option<usize> {
        let rel = normalize(abs).strip_prefix(&self.root).ok()?.to_owned();
        let rel = rel.to_str()?.replace(std::path::MAIN_SEPARATOR, "/");
        self.by_rel.get(nfc(&rel).as_ref()).copied()
    }

    /// Matches `raw` (as written in some file) to an image: first joined to each of `bases`,
    /// then by the longest suffix of path components that only one image has.
    pub fn resolve(&self, raw: &str, bases: &[&Path]) -> Resolution {
        let raw = nfc(raw.trim()).replace('\\', "/");
        if raw.is_empty() {
            return Resolution::NotFound;
        }
        let raw_path = Path::new(&raw);
        if raw_path.is_absolute() {
            if let Some(i) = self.lookup_abs(raw_path) {
                return Resolution::Found(i);
            }
        } else {
            if let Some(&i) = self.by_rel.get(raw.trim_start_matches("./")) {
                return Resolution::Found(i);
            }
            for base in bases {
                if let Some(i) = self.lookup_abs(&base.join(raw_path)) {
                    return Resolution::Found(i);
                }
            }
        }
        let parts: Vec<&str> = raw
            .split('/')
            .filter(|p| !p.is_empty() && *p != "." && *p != "..")
            .collect();
        let Some(name) = parts.last() else {
            return Resolution::NotFound;
        };
        let start = self
            .by_name
            .partition_point(|&i| file_name(&self.keys[i]) < *name);
        let candidates = self.by_name[start..]
            .iter()
            .take_while(|&&i| file_name(&self.keys[i]) == *name);
        let mut best = 0usize;
        let mut best_set: Vec<usize> = Vec::new();
        for &c in candidates {
            let shared = self.keys[c]
                .rsplit('/')
                .zip(parts.iter().rev())
                .take_while(|(a, b)| a == *b)
                .count();
            if shared > best {
                best = shared;
                best_set.clear();
            }
            if shared == best {
                best_set.push(c);
            }
        }
        match best_set.len() {
            0 if parts.len() == 1 => self
                .lookup_key(name)
                .map_or(Resolution::NotFound, Resolution::Found),
            0 => Resolution::NotFound,
            1 => Resolution::Found(best_set[0]),
            _ => {
                best_set.sort_by_key(|&c| (self.keys[c].matches('/').count(), c));
                Resolution::Ambiguous(best_set)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(rels: &[&str]) -> Vec<ImageFile> {
        rels.iter()
            .map(|r| ImageFile {
                rel: r.to_string(),
                abs: PathBuf::from("/data/images").join(r),
                size: 0,
                mtime_ns: 0,
                member: None,
            })
            .collect()
    }

    #[test]
    fn accents_match_however_they_are_composed() {
        // macOS writes names decomposed (e + combining acute); a CSV typed elsewhere holds
        // the composed é; either way round they are the same name.
        let files = files(&["trips/cafe\u{301}.jpg", "tr\u{e9}s/owl.jpg"]);
        let index = PathIndex::new(Path::new("/data/images"), &files);
        assert_eq!(
            index.resolve("trips/caf\u{e9}.jpg", &[]),
            Resolution::Found(0)
        );
        assert_eq!(index.resolve("caf\u{e9}.jpg", &[]), Resolution::Found(0));
        assert_eq!(
            index.resolve("tre\u{301}s/owl.jpg", &[]),
            Resolution::Found(1)
        );
        let base = Path::new("/data/images");
        assert_eq!(
            index.resolve("trips/cafe\u{301}.jpg", &[base]),
            Resolution::Found(0)
        );
        assert_eq!(
            index.resolve("/data/images/tre\u{301}s/owl.jpg", &[]),
            Resolution::Found(1)
        );
    }

    #[test]
    fn resolves_against_bases_then_suffix() {
        let files = files(&["a/x.jpg", "b/x.jpg", "c/y.png"]);
        let index = PathIndex::new(Path::new("/data/images"), &files);
        let base = Path::new("/data/images");
        assert_eq!(index.resolve("a/x.jpg", &[base]), Resolution::Found(0));
        assert_eq!(
            index.resolve("../images/b/x.jpg", &[Path::new("/data/emb")]),
            Resolution::Found(1)
        );
        assert_eq!(
            index.resolve("/old/home/c/y.png", &[]),
            Resolution::Found(2)
        );
        assert_eq!(
            index.resolve("/elsewhere/b/x.jpg", &[]),
            Resolution::Found(1)
        );
        assert_eq!(
            index.resolve("x.jpg", &[]),
            Resolution::Ambiguous(vec![0, 1])
        );
        assert_eq!(index.resolve("z.jpg", &[base]), Resolution::NotFound);
        assert_eq!(index.resolve("c\\y.png", &[]), Resolution::Found(2));
    }

    #[test]
    fn bare_keys_name_tar_members_when_only_one_has_them() {
        let files = files(&[
            "s/00000.tar/000000001.jpg",
            "s/00000.tar/000000002.jpg",
            "s/00001.tar/000000002.jpg",
        ]);
        let index = PathIndex::new(Path::new("/data/images"), &files);
        assert_eq!(index.resolve("000000001", &[]), Resolution::Found(0));
        assert_eq!(index.resolve("000000002", &[]), Resolution::NotFound);
        assert_eq!(index.resolve("000000003", &[]), Resolution::NotFound);
        assert_eq!(
            index.resolve("00001.tar/000000002.jpg", &[]),
            Resolution::Found(2)
        );
    }

    #[test]
    fn normalize_handles_parent_components() {
        assert_eq!(
            normalize(Path::new("/a/b/../c/./d.jpg")),
            PathBuf::from("/a/c/d.jpg")
        );
    }
}
