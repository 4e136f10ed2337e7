//! Taking images away: copy (or hard-link) the original files of a selection into a folder
//! the user chose, flat, by file name.
//!
//! The folder is the only place written, whatever the dataset's names say: each file lands
//! as the last component of its relative path with separators, control characters and the
//! names `.`/`..` replaced, so `../../etc/x`, `/abs/x` or `a\..\b` cannot climb out. Nothing
//! is ever overwritten: a name already taken (a file, a folder, or a symlink, dangling or
//! not) gets a suffix, `owl.jpg` → `owl-2.jpg`. Each copy goes to a temporary file created
//! with `create_new` (O_EXCL, which never follows a symlink) and is then hard-linked to its
//! final name, which fails rather than replaces when that name appeared meanwhile; a run
//! stopped midway leaves whole files and at most one `.clip-plot-partial` file. On file
//! systems without hard links the temporary is renamed after checking the name is free.
//!
//! Hard links are instant and take no space but need the folder on the same file system
//! as the images: across devices each image is copied instead and the report says so.
//! Failures (an original gone, a full disk) are collected per image and reported by name;
//! the rest go on. Rejected: zipping (PixPlot's lasso-to-ZIP): a folder works with every
//! tool and a hard-linked one costs nothing at a million images. A member of a tar shard has
//! no file of its own to link: its bytes are read by offset and written out like a copy.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek};
use std::path::{Path, PathBuf};

use crate::dataset::{ImageSource, Member};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// How the originals get into the folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Copy,
    HardLink,
}

/// What a take-away did.
#[derive(Debug, Default)]
pub struct Report {
    /// Files written (or linked), by their name in the folder.
    pub written: Vec<PathBuf>,
    /// How many of them got a suffix because their name was taken.
    pub renamed: usize,
    /// Hard links refused (another file system): copied instead.
    pub copied_instead: usize,
    /// Members of tar shards written out as files (they have no file to link).
    pub extracted: usize,
    /// Images that could not be taken, with why.
    pub failed: Vec<(String, String)>,
    /// Stopped before the end.
    pub cancelled: bool,
}

impl Report {
    /// One line for the status bar or the terminal.
    pub fn summary(&self, folder: &Path) -> String {
        let mut s = format!("{} files into {}", self.written.len(), folder.display());
        if self.renamed > 0 {
            s += &format!(", {} renamed as their name was taken", self.renamed);
        }
        if self.copied_instead > 0 {
            s += &format!(
                ", {} copied (hard links need the same file system)",
                self.copied_instead
            );
        }
        if self.extracted > 0 {
            s += &format!(
                ", {} written out of their tar shards or tables",
                self.extracted
            );
        }
        if !self.failed.is_empty() {
            let first = &self.failed[0];
            s += &format!(
                "; {} failed (first: {}: {})",
                self.failed.len(),
                first.0,
                first.1
            );
        }
        if self.cancelled {
            s += "; cancelled";
        }
        s
    }
}

/// Progress and cancellation shared with the window while a take-away runs.
#[derive(Debug, Default)]
pub struct Progress {
    pub done: AtomicUsize,
    pub cancel: AtomicBool,
}

/// The file name image `relative` gets in the folder: its last path component, with
/// anything that could name another place replaced.
pub fn safe_name(relative: &str) -> String {
    let last = relative
        .rsplit(['/', '\\'])
        .find(|c| !c.is_empty())
        .unwrap_or("");
    let cleaned: String = last
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '/' | '\\' | ':') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_string();
    if cleaned.is_empty() {
        "image".to_string()
    } else {
        cleaned
    }
}

/// `name` with suffix `k` before its extension: `owl.jpg`, 2 → `owl-2.jpg`.
fn with_suffix(name: &str, k: usize) -> String {
    match name.rfind('.').filter(|&i| i > 0) {
        Some(i) => format!("{}-{k}{}", &name[..i], &name[i..]),
        None => format!("{name}-{k}"),
    }
}

/// The `k`-th name tried for `name` in `folder` (1: the name itself).
fn candidate(folder: &Path, name: &str, k: usize) -> PathBuf {
    if k == 1 {
        folder.join(name)
    } else {
        folder.join(with_suffix(name, k))
    }
}

/// Whether anything (a symlink included, even a dangling one) has this name.
fn taken(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

/// Copies or links each of `images` (the image's path in the dataset, and where its bytes
/// are) into `folder` (created when missing), never overwriting; stops early when
/// `progress.cancel` is set. A member of a tar shard is written out as its own file.
pub fn take_away(
    images: &[(&str, ImageSource)],
    folder: &Path,
    method: Method,
    progress: &Progress,
) -> io::Result<Report> {
    fs::create_dir_all(folder)?;
    let mut report = Report::default();
    for (relative, source) in images {
        if progress.cancel.load(Ordering::Relaxed) {
            report.cancelled = true;
            break;
        }
        match place(source, &safe_name(relative), folder, method, &mut report) {
            Ok(path) => report.written.push(path),
            Err(e) => report.failed.push((relative.to_string(), e.to_string())),
        }
        progress.done.fetch_add(1, Ordering::Relaxed);
    }
    Ok(report)
}

/// Puts one file under the first free name from `name`; returns that name's path.
fn place(
    source: &ImageSource,
    name: &str,
    folder: &Path,
    method: Method,
    report: &mut Report,
) -> io::Result<PathBuf> {
    let mut reader: Box<dyn Read> = match source {
        ImageSource::File(path) => {
            if !fs::metadata(path)?.is_file() {
                return Err(io::Error::other("not a file"));
            }
            if method == Method::HardLink {
                match link_free(path, name, folder, report) {
                    Ok(path) => return Ok(path),
                    Err(e) if is_cross_device(&e) => report.copied_instead += 1,
                    Err(e) => return Err(e),
                }
            }
            Box::new(File::open(path)?)
        }
        ImageSource::Member {
            container,
            member: Member::Tar { offset, len },
        } => {
            report.extracted += 1;
            let mut file = File::open(container)?;
            file.seek(io::SeekFrom::Start(*offset))?;
            Box::new(file.take(*len))
        }
        ImageSource::Member { .. } => {
            report.extracted += 1;
            Box::new(io::Cursor::new(source.read()?))
        }
    };
    write_free(&mut reader, name, folder, report)
}

/// Writes `reader`'s bytes under the first free name from `name`, through a temporary file.
fn write_free(
    reader: &mut dyn Read,
    name: &str,
    folder: &Path,
    report: &mut Report,
) -> io::Result<PathBuf> {
    let partial = folder.join(format!(".{name}.clip-plot-partial"));
    let result = (|| {
        let mut out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&partial)?;
        io::copy(reader, &mut out)?;
        out.sync_data()?;
        drop(out);
        match link_free(&partial, name, folder, report) {
            Ok(path) => Ok(path),
            Err(e) if is_cross_device(&e) || e.kind() == io::ErrorKind::Unsupported => {
                rename_free(&partial, name, folder, report)
            }
            Err(e) => Err(e),
        }
    })();
    let _ = fs::remove_file(&partial);
    result
}

/// Hard-links `from` as the first free name from `name` (the link fails, not replaces,
/// when the name is taken, so the check and the write cannot race).
fn link_free(from: &Path, name: &str, folder: &Path, report: &mut Report) -> io::Result<PathBuf> {
    let mut k = 1;
    loop {
        let candidate = candidate(folder, name, k);
        match fs::hard_link(from, &candidate) {
            Ok(()) => {
                report.renamed += usize::from(k > 1);
                return Ok(candidate);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => k += 1,
            Err(e) => return Err(e),
        }
    }
}

/// Renames `from` to the first free name from `name` (file systems without hard links).
fn rename_free(from: &Path, name: &str, folder: &Path, report: &mut Report) -> io::Result<PathBuf> {
    let mut k = 1;
    loop {
        let candidate = candidate(folder, name, k);
        if !taken(&candidate) {
            fs::rename(from, &candidate)?;
            report.renamed += usize::from(k > 1);
            return Ok(candidate);
        }
        k += 1;
    }
}

fn is_cross_device(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::CrossesDevices
}

#[cfg(test)]
mod tests {
    use super::*;

    fn images() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("a")).unwrap();
        fs::create_dir_all(dir.path().join("b")).unwrap();
        fs::write(dir.path().join("a/owl.jpg"), b"first owl").unwrap();
        fs::write(dir.path().join("b/owl.jpg"), b"second owl").unwrap();
        fs::write(dir.path().join("cat"), b"cat").unwrap();
        dir
    }

    /// The images named in `list`, as files below `dir`.
    fn files<'a>(dir: &Path, list: &[&'a str]) -> Vec<(&'a str, ImageSource)> {
        list.iter()
            .map(|r| (*r, ImageSource::File(dir.join(r))))
            .collect()
    }

    #[test]
    fn tar_members_are_written_out_as_files() {
        let dir = tempfile::tempdir().unwrap();
        let tar = dir.path().join("00000.tar");
        fs::write(&tar, b"....header....the owl's bytes....").unwrap();
        let member = Member::Tar {
            offset: 14,
            len: 15,
        };
        let out = tempfile::tempdir().unwrap();
        let list = [(
            "00000.tar/000000001.jpg",
            ImageSource::Member {
                container: tar,
                member,
            },
        )];
        for method in [Method::HardLink, Method::Copy] {
            let r = take_away(&list, out.path(), method, &Progress::default()).unwrap();
            assert!(r.failed.is_empty(), "{:?}", r.failed);
            assert_eq!(r.extracted, 1);
            assert!(
                r.summary(out.path())
                    .contains("1 written out of their tar shards or tables")
            );
        }
        assert_eq!(
            fs::read(out.path().join("000000001.jpg")).unwrap(),
            b"the owl's bytes"
        );
        assert_eq!(
            fs::read(out.path().join("000000001-2.jpg")).unwrap(),
            b"the owl's bytes"
        );
    }

    #[test]
    fn names_cannot_climb_out() {
        assert_eq!(safe_name("a/b/owl.jpg"), "owl.jpg");
        assert_eq!(safe_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_name("/etc/shadow"), "shadow");
        assert_eq!(safe_name("..\\..\\win.ini"), "win.ini");
        assert_eq!(safe_name(".."), "image");
        assert_eq!(safe_name("x/.."), "image");
        assert_eq!(safe_name("a/.hidden"), "hidden");
        assert_eq!(safe_name("c:evil\nname.png"), "c_evil_name.png");
        assert_eq!(with_suffix("owl.jpg", 2), "owl-2.jpg");
        assert_eq!(with_suffix(".x", 3), ".x-3");
        assert_eq!(with_suffix("README", 2), "README-2");
    }

    #[test]
    fn never_overwrites_and_suffixes() {
        let src = images();
        let out = tempfile::tempdir().unwrap();
        fs::write(out.path().join("owl.jpg"), b"mine").unwrap();
        let progress = Progress::default();
        let list = ["a/owl.jpg", "b/owl.jpg", "cat", "gone.jpg"];
        let r = take_away(
            &files(src.path(), &list),
            out.path(),
            Method::Copy,
            &progress,
        )
        .unwrap();
        assert_eq!(fs::read(out.path().join("owl.jpg")).unwrap(), b"mine");
        assert_eq!(
            fs::read(out.path().join("owl-2.jpg")).unwrap(),
            b"first owl"
        );
        assert_eq!(
            fs::read(out.path().join("owl-3.jpg")).unwrap(),
            b"second owl"
        );
        assert_eq!(fs::read(out.path().join("cat")).unwrap(), b"cat");
        assert_eq!(r.written.len(), 3);
        assert_eq!(r.renamed, 2);
        assert_eq!(r.failed.len(), 1);
        assert_eq!(r.failed[0].0, "gone.jpg");
        assert_eq!(progress.done.load(Ordering::Relaxed), 4);
        // No temporary file left behind; a second run adds, never replaces.
        let r = take_away(
            &files(src.path(), &list[..1]),
            out.path(),
            Method::Copy,
            &progress,
        )
        .unwrap();
        assert_eq!(r.written, vec![out.path().join("owl-4.jpg")]);
        let names: Vec<String> = fs::read_dir(out.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 5, "{names:?}");
        assert!(names.iter().all(|n| !n.contains("partial")));
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_in_the_folder_is_not_followed() {
        let src = images();
        let out = tempfile::tempdir().unwrap();
        let victim = tempfile::tempdir().unwrap();
        let target = victim.path().join("precious");
        fs::write(&target, b"precious").unwrap();
        std::os::unix::fs::symlink(&target, out.path().join("cat")).unwrap();
        std::os::unix::fs::symlink(victim.path().join("nothing"), out.path().join("owl.jpg"))
            .unwrap();
        let progress = Progress::default();
        let list = ["cat", "a/owl.jpg"];
        for method in [Method::Copy, Method::HardLink] {
            let r = take_away(&files(src.path(), &list), out.path(), method, &progress).unwrap();
            assert!(r.failed.is_empty(), "{:?}", r.failed);
            assert!(r.written.iter().all(|p| p.parent() == Some(out.path())));
        }
        assert_eq!(fs::read(&target).unwrap(), b"precious");
        assert!(!victim.path().join("nothing").exists());
        assert_eq!(fs::read(out.path().join("cat-2")).unwrap(), b"cat");
        assert_eq!(
            fs::read(out.path().join("owl-3.jpg")).unwrap(),
            b"first owl"
        );
    }

    #[test]
    fn hostile_relative_paths_land_inside() {
        let src = images();
        let out = tempfile::tempdir().unwrap();
        let inner = out.path().join("inner");
        let progress = Progress::default();
        // The image exists at src/a/owl.jpg; its "name" tries to climb out of `inner`.
        let list = ["a/../a/owl.jpg"];
        let r = take_away(&files(src.path(), &list), &inner, Method::Copy, &progress).unwrap();
        assert_eq!(r.written, vec![inner.join("owl.jpg")]);
        assert_eq!(fs::read_dir(out.path()).unwrap().count(), 1);
    }

    #[test]
    fn hard_links_share_the_file_and_cancel_stops() {
        let src = images();
        let out = tempfile::tempdir().unwrap();
        let progress = Progress::default();
        let r = take_away(
            &files(src.path(), &["cat"]),
            out.path(),
            Method::HardLink,
            &progress,
        )
        .unwrap();
        assert_eq!(r.written.len(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt as _;
            let a = fs::metadata(src.path().join("cat")).unwrap();
            let b = fs::metadata(out.path().join("cat")).unwrap();
            assert_eq!((a.ino(), a.dev()), (b.ino(), b.dev()));
        }
        progress.cancel.store(true, Ordering::Relaxed);
        let r = take_away(
            &files(src.path(), &["a/owl.jpg"]),
            out.path(),
            Method::Copy,
            &progress,
        )
        .unwrap();
        assert!(r.cancelled && r.written.is_empty());
    }
}
