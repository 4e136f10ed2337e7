//! The user's inputs, found and joined: image files, embeddings (clip-retrieval shards, one
//! matrix with a file list, or one `.npy` per image) and optional metadata.
//!
//! Knows nothing of caches or GPUs. Everything here reads; nothing writes.

pub mod coords;
pub mod embeddings;
pub mod image_table;
pub mod metadata;
pub mod npy;
pub mod paths;
pub mod sidecars;
pub mod spreadsheet;
pub mod table;
pub mod text_table;
pub mod vector_table;
pub mod webdataset;

use std::path::{Path, PathBuf};

use rayon::prelude::*;

pub use embeddings::Embeddings;
use embeddings::{
    Matched, RowRef, load_clip_retrieval, load_matrix, load_per_image, load_vector_table,
};
use metadata::{join_metadata, merge_parquet_columns};
pub use npy::NpyArray;
pub use paths::{ImageFile, ImageSource, Member, PathIndex, Resolution};
pub use table::Table;

/// Metadata columns PixPlot knows; matched case-insensitively and stored lower-case.
pub const KNOWN_COLUMNS: &[&str] = &[
    "filename",
    "category",
    "tags",
    "description",
    "permalink",
    "year",
    "label",
    "lat",
    "lng",
    "x",
    "y",
];

/// A problem with the inputs that stops preparation: each names the file and the fix.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("{path}: not a usable .npy file: it {why}", path = .path.display())]
    BadNpy { path: PathBuf, why: String },
    #[error("{path}: cannot read this table: {why}", path = .path.display())]
    BadTable { path: PathBuf, why: String },
    #[error("{path}: has no `image_path` column, so its rows cannot be matched to images. Point --embeddings at clip-retrieval's output folder (img_emb/ and metadata/), or use embeddings.npy with filenames.txt", path = .path.display())]
    NoImagePath { path: PathBuf },
    #[error("{path}: has no `filename` column (columns: {columns}). Add a `filename` column with each image's path relative to the images folder", path = .path.display())]
    NoFilename { path: PathBuf, columns: String },
    #[error("{npy} has {npy_rows} rows but {other} has {other_rows}: they must describe the same images in the same order. Re-run the tool that wrote them, or remove the extra rows", npy = .npy.display(), other = .other.display())]
    RowMismatch {
        npy: PathBuf,
        npy_rows: usize,
        other: PathBuf,
        other_rows: usize,
    },
    #[error("{path} has {found}-dimensional embeddings but {first} has {expected}: all embeddings must come from the same model", path = .path.display(), first = .first.display())]
    DimensionMismatch {
        path: PathBuf,
        found: usize,
        first: PathBuf,
        expected: usize,
    },
    #[error("{path}: {why}", path = .path.display())]
    BadLayout { path: PathBuf, why: String },
    #[error("no images found under {path}{unreadable}. Put them in an `images/` folder or pass --images DIR (a folder of images or of .tar shards, or one .tar)", path = .path.display())]
    NoImages { path: PathBuf, unreadable: String },
    #[error("none of the {rows} embedding rows in {path} matched an image under {images}. Check --images, or that the paths in the embeddings' file list exist", path = .path.display(), images = .images.display())]
    NothingMatched {
        path: PathBuf,
        images: PathBuf,
        rows: usize,
    },
    #[error("{path}: does not exist", path = .path.display())]
    Missing { path: PathBuf },
    #[error("{path} is a file, not a folder: give the dataset folder (the one holding the images, or `images/`){hint}", path = .path.display())]
    NotAFolder { path: PathBuf, hint: String },
}

/// What a file given as the dataset was probably meant as.
fn not_a_folder_hint(path: &Path) -> String {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| ".".to_string(), |p| p.display().to_string());
    match ext.as_str() {
        "csv" | "tsv" | "jsonl" | "parquet" | "xlsx" | "xls" | "ods" => format!(
            "; a metadata table goes with --metadata, e.g. `clip-plot-view prepare {parent} --metadata {}`",
            path.display()
        ),
        "npy" => format!(
            "; embeddings go with --embeddings, e.g. `clip-plot-view prepare {parent} --embeddings {}`",
            path.display()
        ),
        _ => format!(", e.g. `clip-plot-view prepare {parent}`"),
    }
}

/// Where the parts of a dataset are; all optional except the root.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct DatasetOptions {
    pub root: PathBuf,
    pub images: Option<PathBuf>,
    pub embeddings: Option<PathBuf>,
    pub metadata: Option<PathBuf>,
    pub logo: Option<PathBuf>,
    /// The cache folder, excluded from image discovery.
    pub cache: Option<PathBuf>,
    /// The column holding the vectors when `embeddings` is a parquet table with several.
    pub embedding_column: Option<String>,
    /// Ignore img2dataset's `KEY.txt`/`KEY.json` beside the images and its shard tables.
    pub no_sidecars: bool,
}

/// The embedding layouts we read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EmbeddingInput {
    /// clip-retrieval's output folder: `img_emb/img_emb_N.npy` + `metadata/metadata_N.parquet`.
    ClipRetrieval(PathBuf),
    /// One N×D `.npy` with a file list (`filenames.txt` beside it) giving the row order.
    Matrix { npy: PathBuf, list: PathBuf },
    /// A folder of `<file>.npy` or `<file>.jpg.npy`, one vector per image.
    PerImage(PathBuf),
    /// A parquet table with a list-of-floats column (`column`, or the only one) and a
    /// column naming the images; its other columns become metadata.
    Table {
        path: PathBuf,
        column: Option<String>,
    },
}

impl EmbeddingInput {
    /// The file or folder the embeddings are read from.
    pub fn path(&self) -> &Path {
        match self {
            Self::ClipRetrieval(p) | Self::PerImage(p) => p,
            Self::Matrix { npy, .. } => npy,
            Self::Table { path, .. } => path,
        }
    }
}

/// The located parts of a dataset.
#[derive(Clone, Debug)]
pub struct DatasetPaths {
    pub root: PathBuf,
    pub images: PathBuf,
    pub embeddings: Option<EmbeddingInput>,
    pub metadata: Option<PathBuf>,
    pub logo: Option<PathBuf>,
    /// Read img2dataset's files beside the images ([`sidecars`]).
    pub sidecars: bool,
    /// `--images` named one tar shard: its file name in `images`, the only thing listed.
    pub image_tar: Option<String>,
}

/// An image the dataset leaves out, and why.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Skipped {
    pub path: String,
    pub reason: String,
}

/// A dataset's inputs, joined: images, their embeddings and metadata, row-aligned.
#[derive(Debug)]
pub struct Dataset {
    pub paths: DatasetPaths,
    pub images: Vec<ImageFile>,
    /// `None` when the user has no embeddings: prepare then computes appearance features.
    pub embeddings: Option<Embeddings>,
    /// Metadata columns (not `filename`), one value per image, "" where missing.
    pub metadata: Table,
    /// Images left out, with reasons.
    pub skipped: Vec<Skipped>,
    /// One-line notes for the user (unmatched rows, ambiguous names, …).
    pub notices: Vec<String>,
}

fn existing(p: PathBuf) -> Option<PathBuf> {
    p.exists().then_some(p)
}

/// Finds the parts of a dataset from its root folder and the user's flags.
pub fn discover(opts: &DatasetOptions) -> Result<DatasetPaths, DatasetError> {
    let root = paths::absolute(&opts.root);
    if root.is_file() {
        return Err(DatasetError::NotAFolder {
            hint: not_a_folder_hint(&opts.root),
            path: opts.root.clone(),
        });
    }
    if !root.is_dir() {
        return Err(DatasetError::Missing { path: root });
    }
    let given = |p: &Option<PathBuf>| -> Result<Option<PathBuf>, DatasetError> {
        match p {
            Some(p) => {
                let a = paths::absolute(p);
                if a.exists() {
                    Ok(Some(a))
                } else {
                    Err(DatasetError::Missing { path: a })
                }
            }
            None => Ok(None),
        }
    };
    let images = given(&opts.images)?
        .or_else(|| existing(root.join("images")))
        .unwrap_or_else(|| root.clone());
    let (images, image_tar) = one_tar(images)?;
    let embeddings_path = given(&opts.embeddings)?
        .or_else(|| existing(root.join("embeddings")))
        .or_else(|| existing(root.join("embeddings.npy")));
    let embeddings = match embeddings_path {
        Some(p) if is_parquet(&p) => Some(EmbeddingInput::Table {
            path: p,
            column: opts.embedding_column.clone(),
        }),
        Some(p) => Some(classify_embeddings(&p)?),
        None => None,
    };
    let metadata = given(&opts.metadata)?.or_else(|| {
        ["csv", "tsv", "jsonl", "parquet", "xlsx", "ods"]
            .into_iter()
            .find_map(|ext| existing(root.join(format!("metadata.{ext}"))))
    });
    let logo = given(&opts.logo)?.or_else(|| existing(root.join("logo.png")));
    Ok(DatasetPaths {
        root,
        images,
        embeddings,
        metadata,
        logo,
        sidecars: !opts.no_sidecars,
        image_tar,
    })
}

/// `--images` naming one tar: its folder, and its name there.
fn one_tar(images: PathBuf) -> Result<(PathBuf, Option<String>), DatasetError> {
    if !images.is_file() {
        return Ok((images, None));
    }
    let is_tar = images.extension().is_some_and(|e| {
        e.eq_ignore_ascii_case("tar") || (e.eq_ignore_ascii_case("parquet") && is_parquet(&images))
    });
    match (is_tar, images.parent(), images.file_name()) {
        (true, Some(folder), Some(name)) => Ok((
            folder.to_path_buf(),
            Some(name.to_string_lossy().into_owned()),
        )),
        _ => Err(DatasetError::BadLayout {
            path: images,
            why:
                "is a file: --images takes a folder of images, a folder of .tar shards, one .tar, \
                 or one img2dataset .parquet table of images"
                    .into(),
        }),
    }
}

/// Whether `path` is a parquet file (they start with `PAR1`).
pub fn is_parquet(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    path.is_file()
        && std::fs::File::open(path)
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
            .is_ok()
        && &magic == b"PAR1"
}

fn classify_embeddings(path: &Path) -> Result<EmbeddingInput, DatasetError> {
    if path.is_file() {
        let dir = path.parent().unwrap_or(Path::new("."));
        let stem = path.file_stem().unwrap_or_default().to_string_lossy();
        let list = [
            dir.join("filenames.txt"),
            dir.join(format!("{stem}.txt")),
            dir.join(format!("{stem}_filenames.txt")),
        ]
        .into_iter()
        .find(|p| p.is_file())
        .ok_or_else(|| DatasetError::BadLayout {
            path: path.to_path_buf(),
            why: "has no file list beside it: add filenames.txt with one image path per row (relative to the images folder), in the same order as the rows".into(),
        })?;
        return Ok(EmbeddingInput::Matrix {
            npy: path.to_path_buf(),
            list,
        });
    }
    if path.join("img_emb").is_dir() {
        return Ok(EmbeddingInput::ClipRetrieval(path.to_path_buf()));
    }
    if path.file_name().is_some_and(|n| n == "img_emb")
        && let Some(parent) = path.parent()
    {
        return Ok(EmbeddingInput::ClipRetrieval(parent.to_path_buf()));
    }
    if path.join("embeddings.npy").is_file() {
        return classify_embeddings(&path.join("embeddings.npy"));
    }
    Ok(EmbeddingInput::PerImage(path.to_path_buf()))
}

impl Dataset {
    /// Discovers and joins a dataset.
    pub fn open(opts: &DatasetOptions) -> Result<Self, DatasetError> {
        let paths = discover(opts)?;
        Self::load(paths, opts.cache.as_deref())
    }

    /// Reads and joins the located parts.
    pub fn load(paths: DatasetPaths, cache: Option<&Path>) -> Result<Self, DatasetError> {
        // Never list our cache, the embeddings or the logo as images of the collection.
        let mut exclude: Vec<PathBuf> = cache.map(Path::to_path_buf).into_iter().collect();
        exclude.extend(paths.logo.iter().cloned());
        if let Some(EmbeddingInput::ClipRetrieval(p) | EmbeddingInput::PerImage(p)) =
            &paths.embeddings
        {
            exclude.push(p.clone())
        }
        let mut listing = match &paths.image_tar {
            Some(tar) => paths::list_images(&paths.images.join(tar), &exclude),
            None => paths::list_images(&paths.images, &exclude),
        };
        let mut skipped: Vec<Skipped> = listing
            .problems
            .iter()
            .map(|(path, reason)| Skipped {
                path: path.clone(),
                reason: reason.clone(),
            })
            .collect();
        let mut notices = Vec::new();
        let images = std::mem::take(&mut listing.images);
        let shared = webdataset::shared_keys(&images);
        if let Some((key, a, b)) = shared.first() {
            notices.push(format!(
                "{} key(s) are in more than one tar (e.g. {key} in {a} and {b}): a row that \
                 names only the key matches none of them; name such images as SHARD.tar/KEY.ext",
                shared.len()
            ));
        }
        if images.is_empty() {
            return Err(DatasetError::NoImages {
                unreadable: match skipped.first() {
                    Some(first) => format!(
                        " ({} entries could not be read, e.g. {}: {})",
                        skipped.len(),
                        first.path,
                        first.reason
                    ),
                    None => String::new(),
                },
                path: paths.images.clone(),
            });
        }
        // One index over the whole listing serves every join; images without an embedding
        // are dropped at the end, from all the aligned columns at once.
        let index = PathIndex::new(&paths.images, &images);
        let mut keep = vec![true; images.len()];
        let mut embedding_rows = None;
        let mut table_columns = None;
        if let Some(input) = &paths.embeddings {
            let (emb, mut matched, emb_path) = match input {
                EmbeddingInput::ClipRetrieval(dir) => {
                    let (e, m) = load_clip_retrieval(dir, &paths, &index, &mut notices)?;
                    (e, m, dir.clone())
                }
                EmbeddingInput::Matrix { npy, list } => {
                    let (e, m) = load_matrix(npy, list, &paths, &index, &mut notices)?;
                    (e, m, npy.clone())
                }
                EmbeddingInput::PerImage(dir) => {
                    let (e, m) = load_per_image(dir, &images)?;
                    (e, m, dir.clone())
                }
                EmbeddingInput::Table { path, column } => {
                    let loaded = load_vector_table(
                        path,
                        column.as_deref(),
                        &paths,
                        &index,
                        &images,
                        &mut notices,
                    )?;
                    table_columns = Some((loaded.others, loaded.table_rows));
                    (loaded.embeddings, loaded.matched, path.clone())
                }
            };
            if matched.iter().all(Option::is_none) {
                return Err(DatasetError::NothingMatched {
                    path: emb_path,
                    images: paths.images.clone(),
                    rows: emb.rows.len(),
                });
            }
            let finite: Vec<bool> = matched
                .par_iter()
                .map_init(
                    || vec![0.0f32; emb.dim],
                    |buf, m| {
                        m.is_none_or(|r| {
                            emb.read_ref(&r, buf);
                            buf.iter().all(|v| v.is_finite())
                        })
                    },
                )
                .collect();
            let (mut missing, mut non_finite) = (0usize, 0usize);
            for (i, m) in matched.iter_mut().enumerate() {
                let reason = if m.is_none() {
                    missing += 1;
                    "no embedding for this image"
                } else if !finite[i] {
                    non_finite += 1;
                    *m = None;
                    "its embedding contains NaN or infinite values"
                } else {
                    continue;
                };
                keep[i] = false;
                skipped.push(Skipped {
                    path: images[i].rel.clone(),
                    reason: reason.into(),
                });
            }
            if missing > 0 {
                notices.push(format!(
                    "{missing} image(s) have no embedding and are left out (listed as skipped)"
                ));
            }
            if non_finite > 0 {
                notices.push(format!(
                    "{non_finite} embedding row(s) contain NaN or infinite values; those images are left out"
                ));
            }
            let rows = matched.into_iter().flatten().collect();
            embedding_rows = Some(Embeddings { rows, ..emb });
        }

        let mut metadata = Table::default();
        if let Some(meta_path) = &paths.metadata {
            let table = Table::read_noting(meta_path, &mut notices)?;
            metadata = join_metadata(&table, meta_path, &index, &paths, &keep, &mut notices)?;
        }
        if paths.sidecars {
            sidecars::merge_sidecars(&listing, &images, &mut metadata, &mut notices);
        }
        if let Some(EmbeddingInput::ClipRetrieval(dir)) = &paths.embeddings {
            merge_parquet_columns(dir, &paths, &index, &mut metadata, &mut notices)?;
        }
        if let (Some((others, rows)), Some(input)) = (table_columns, &paths.embeddings) {
            metadata::merge_table_columns(
                &others,
                &rows,
                input.path(),
                &mut metadata,
                &mut notices,
            );
        }
        drop(index);
        for column in &mut metadata.cells {
            let mut k = keep.iter();
            column.retain(|_| *k.next().unwrap_or(&true));
        }
        let mut k = keep.iter();
        let images: Vec<ImageFile> = images
            .into_iter()
            .filter(|_| *k.next().unwrap_or(&true))
            .collect();
        let embeddings = embedding_rows;
        Ok(Self {
            paths,
            images,
            embeddings,
            metadata,
            skipped,
            notices,
        })
    }
}

/// Assigns row `r` to the image `raw` names, noting unmatched, ambiguous and repeated rows.
pub(crate) struct Assigner<'a> {
    index: &'a PathIndex<'a>,
    bases: Vec<PathBuf>,
    matched: Matched,
    unmatched: Vec<String>,
    ambiguous: usize,
    repeated: usize,
}

impl<'a> Assigner<'a> {
    pub(crate) fn new(index: &'a PathIndex<'a>, bases: Vec<PathBuf>) -> Self {
        Self {
            index,
            bases,
            matched: vec![None; index.len()],
            unmatched: Vec::new(),
            ambiguous: 0,
            repeated: 0,
        }
    }

    pub(crate) fn assign(&mut self, raw: &str, r: RowRef) {
        let bases: Vec<&Path> = self.bases.iter().map(PathBuf::as_path).collect();
        let i = match self.index.resolve(raw, &bases) {
            Resolution::Found(i) => i,
            Resolution::Ambiguous(c) => {
                self.ambiguous += 1;
                c[0]
            }
            Resolution::NotFound => {
                self.unmatched.push(raw.to_string());
                return;
            }
        };
        if self.matched[i].is_some() {
            self.repeated += 1;
        } else {
            self.matched[i] = Some(r);
        }
    }

    pub(crate) fn finish(self, what: &Path, notices: &mut Vec<String>) -> Matched {
        if !self.unmatched.is_empty() {
            let examples: Vec<&str> = self.unmatched.iter().take(3).map(String::as_str).collect();
            notices.push(format!(
                "{} row(s) of {} name images that were not found (e.g. {}); they are ignored",
                self.unmatched.len(),
                what.display(),
                examples.join(", ")
            ));
        }
        if self.ambiguous > 0 {
            notices.push(format!(
                "{} path(s) in {} match several files with the same name; the one nearest the images folder was used",
                self.ambiguous,
                what.display()
            ));
        }
        if self.repeated > 0 {
            notices.push(format!(
                "{} row(s) of {} repeat an image already matched; the first row was kept",
                self.repeated,
                what.display()
            ));
        }
        self.matched
    }
}

pub(crate) fn resolution_bases(paths: &DatasetPaths, emb_dir: &Path) -> Vec<PathBuf> {
    let mut bases = vec![paths.images.clone(), paths.root.clone()];
    if let Some(parent) = emb_dir.parent() {
        bases.push(parent.to_path_buf());
    }
    bases.push(emb_dir.to_path_buf());
    bases
}
