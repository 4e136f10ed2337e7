//! The user's inputs, found and joined: image files, embeddings (clip-retrieval shards, one
//! matrix with a file list, or one `.npy` per image) and optional metadata.
//!
//! Knows nothing of caches or GPUs. Everything here reads; nothing writes.

pub mod npy;
pub mod paths;
pub mod table;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

pub use npy::NpyArray;
pub use paths::{ImageFile, PathIndex, Resolution};
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
    #[error("no images found under {path}. Put them in an `images/` folder or pass --images DIR", path = .path.display())]
    NoImages { path: PathBuf },
    #[error("none of the {rows} embedding rows in {path} matched an image under {images}. Check --images, or that the paths in the embeddings' file list exist", path = .path.display(), images = .images.display())]
    NothingMatched {
        path: PathBuf,
        images: PathBuf,
        rows: usize,
    },
    #[error("{path}: does not exist", path = .path.display())]
    Missing { path: PathBuf },
}

/// Where the parts of a dataset are; all optional except the root.
#[derive(Clone, Debug, Default)]
pub struct DatasetOptions {
    pub root: PathBuf,
    pub images: Option<PathBuf>,
    pub embeddings: Option<PathBuf>,
    pub metadata: Option<PathBuf>,
    pub logo: Option<PathBuf>,
    /// The cache folder, excluded from image discovery.
    pub cache: Option<PathBuf>,
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
}

/// The located parts of a dataset.
#[derive(Clone, Debug)]
pub struct DatasetPaths {
    pub root: PathBuf,
    pub images: PathBuf,
    pub embeddings: Option<EmbeddingInput>,
    pub metadata: Option<PathBuf>,
    pub logo: Option<PathBuf>,
}

/// An image the dataset leaves out, and why.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Skipped {
    pub path: String,
    pub reason: String,
}

/// Where one image's embedding lives.
#[derive(Clone, Copy, Debug)]
struct RowRef {
    source: u32,
    row: u32,
}

enum Source {
    Npy(NpyArray),
    Dense { cols: usize, data: Vec<f32> },
}

/// Embeddings aligned with [`Dataset::images`]: row `i` belongs to image `i`.
pub struct Embeddings {
    dim: usize,
    sources: Vec<Source>,
    rows: Vec<RowRef>,
}

impl std::fmt::Debug for Embeddings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Embeddings({}×{})", self.rows.len(), self.dim)
    }
}

impl Embeddings {
    /// Wraps a dense row-major matrix.
    pub fn from_dense(rows: usize, dim: usize, data: Vec<f32>) -> Self {
        Self {
            dim,
            sources: vec![Source::Dense { cols: dim, data }],
            rows: (0..rows as u32)
                .map(|row| RowRef { source: 0, row })
                .collect(),
        }
    }
    /// Every row of one memory-mapped array, in order.
    pub fn from_npy(array: NpyArray) -> Self {
        Self {
            dim: array.cols(),
            rows: (0..array.rows() as u32)
                .map(|row| RowRef { source: 0, row })
                .collect(),
            sources: vec![Source::Npy(array)],
        }
    }
    pub fn dim(&self) -> usize {
        self.dim
    }
    pub fn len(&self) -> usize {
        self.rows.len()
    }
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Copies image `i`'s embedding into `out` (length [`Self::dim`]).
    pub fn read_row(&self, i: usize, out: &mut [f32]) {
        self.read_ref(&self.rows[i], out);
    }

    fn read_ref(&self, r: &RowRef, out: &mut [f32]) {
        match &self.sources[r.source as usize] {
            Source::Npy(a) => a.read_row(r.row as usize, out),
            Source::Dense { cols, data } => {
                let start = r.row as usize * cols;
                out.copy_from_slice(&data[start..start + cols]);
            }
        }
    }

    /// All rows as one dense row-major f32 matrix (parallel).
    pub fn to_dense(&self) -> Vec<f32> {
        let mut out = vec![0.0f32; self.len() * self.dim];
        out.par_chunks_mut(self.dim.max(1))
            .enumerate()
            .for_each(|(i, row)| self.read_row(i, row));
        out
    }
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
    let embeddings_path = given(&opts.embeddings)?
        .or_else(|| existing(root.join("embeddings")))
        .or_else(|| existing(root.join("embeddings.npy")));
    let embeddings = match embeddings_path {
        Some(p) => Some(classify_embeddings(&p)?),
        None => None,
    };
    let metadata = given(&opts.metadata)?
        .or_else(|| existing(root.join("metadata.csv")))
        .or_else(|| existing(root.join("metadata.parquet")));
    let logo = given(&opts.logo)?.or_else(|| existing(root.join("logo.png")));
    Ok(DatasetPaths {
        root,
        images,
        embeddings,
        metadata,
        logo,
    })
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

/// `img_emb_N.npy` / `metadata_N.parquet` files of a clip-retrieval folder in numeric order.
fn numbered_files(dir: &Path, prefix: &str, ext: &str) -> Vec<(u64, PathBuf)> {
    let mut out: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let n = name.strip_prefix(prefix)?.strip_suffix(ext)?.parse().ok()?;
            Some((n, e.path()))
        })
        .collect();
    out.sort();
    out
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
        let listing = paths::list_images(&paths.images, &exclude);
        let mut skipped: Vec<Skipped> = listing
            .problems
            .iter()
            .map(|(path, reason)| Skipped {
                path: path.clone(),
                reason: reason.clone(),
            })
            .collect();
        let mut notices = Vec::new();
        let images = listing.images;
        if images.is_empty() {
            return Err(DatasetError::NoImages {
                path: paths.images.clone(),
            });
        }
        // One index over the whole listing serves every join; images without an embedding
        // are dropped at the end, from all the aligned columns at once.
        let index = PathIndex::new(&paths.images, &images);
        let mut keep = vec![true; images.len()];
        let mut embedding_rows = None;
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
            let table = Table::read(meta_path)?;
            metadata = join_metadata(&table, meta_path, &index, &paths, &keep, &mut notices)?;
        }
        if let Some(EmbeddingInput::ClipRetrieval(dir)) = &paths.embeddings {
            merge_parquet_columns(dir, &paths, &index, &mut metadata, &mut notices)?;
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

type Matched = Vec<Option<RowRef>>;

fn check_dim(
    dim: &mut Option<(usize, PathBuf)>,
    path: &Path,
    found: usize,
) -> Result<(), DatasetError> {
    match dim {
        Some((expected, first)) if *expected != found => Err(DatasetError::DimensionMismatch {
            path: path.to_path_buf(),
            found,
            first: first.clone(),
            expected: *expected,
        }),
        Some(_) => Ok(()),
        None => {
            *dim = Some((found, path.to_path_buf()));
            Ok(())
        }
    }
}

/// Assigns row `r` to the image `raw` names, noting unmatched, ambiguous and repeated rows.
struct Assigner<'a> {
    index: &'a PathIndex<'a>,
    bases: Vec<PathBuf>,
    matched: Matched,
    unmatched: Vec<String>,
    ambiguous: usize,
    repeated: usize,
}

impl<'a> Assigner<'a> {
    fn new(index: &'a PathIndex<'a>, bases: Vec<PathBuf>) -> Self {
        Self {
            index,
            bases,
            matched: vec![None; index.len()],
            unmatched: Vec::new(),
            ambiguous: 0,
            repeated: 0,
        }
    }

    fn assign(&mut self, raw: &str, r: RowRef) {
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

    fn finish(self, what: &Path, notices: &mut Vec<String>) -> Matched {
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

fn resolution_bases(paths: &DatasetPaths, emb_dir: &Path) -> Vec<PathBuf> {
    let mut bases = vec![paths.images.clone(), paths.root.clone()];
    if let Some(parent) = emb_dir.parent() {
        bases.push(parent.to_path_buf());
    }
    bases.push(emb_dir.to_path_buf());
    bases
}

fn load_clip_retrieval(
    dir: &Path,
    paths: &DatasetPaths,
    index: &PathIndex,
    notices: &mut Vec<String>,
) -> Result<(Embeddings, Matched), DatasetError> {
    let shards = numbered_files(&dir.join("img_emb"), "img_emb_", ".npy");
    if shards.is_empty() {
        return Err(DatasetError::BadLayout {
            path: dir.join("img_emb"),
            why: "holds no img_emb_N.npy files".into(),
        });
    }
    let mut sources = Vec::new();
    let mut dim = None;
    let mut assigner = Assigner::new(index, resolution_bases(paths, dir));
    for (n, npy_path) in shards {
        let meta_path = dir.join("metadata").join(format!("metadata_{n}.parquet"));
        if !meta_path.is_file() {
            return Err(DatasetError::BadLayout {
                path: npy_path,
                why: format!(
                    "has no matching {} (clip-retrieval writes one per shard; without it the rows cannot be matched to images)",
                    meta_path.display()
                ),
            });
        }
        let array = NpyArray::open(&npy_path)?;
        if array.ndim() != 2 {
            return Err(DatasetError::BadNpy {
                path: npy_path,
                why: "is 1-D; expected an N×D matrix".into(),
            });
        }
        check_dim(&mut dim, &npy_path, array.cols())?;
        let table = Table::read(&meta_path)?;
        let column = table
            .column("image_path")
            .ok_or_else(|| DatasetError::NoImagePath {
                path: meta_path.clone(),
            })?;
        if column.len() != array.rows() {
            return Err(DatasetError::RowMismatch {
                npy: npy_path,
                npy_rows: array.rows(),
                other: meta_path,
                other_rows: column.len(),
            });
        }
        let source = sources.len() as u32;
        for (row, raw) in column.iter().enumerate() {
            assigner.assign(
                raw,
                RowRef {
                    source,
                    row: row as u32,
                },
            );
        }
        sources.push(Source::Npy(array));
    }
    let matched = assigner.finish(dir, notices);
    let dim = dim.map_or(0, |d| d.0);
    Ok((
        Embeddings {
            dim,
            sources,
            rows: Vec::new(),
        },
        matched,
    ))
}

fn load_matrix(
    npy: &Path,
    list: &Path,
    paths: &DatasetPaths,
    index: &PathIndex,
    notices: &mut Vec<String>,
) -> Result<(Embeddings, Matched), DatasetError> {
    let array = NpyArray::open(npy)?;
    if array.ndim() != 2 {
        return Err(DatasetError::BadNpy {
            path: npy.to_path_buf(),
            why: format!(
                "is 1-D (shape ({},)); expected an N×D matrix with one row per image",
                array.cols()
            ),
        });
    }
    let text = std::fs::read_to_string(list).map_err(|e| DatasetError::BadTable {
        path: list.to_path_buf(),
        why: e.to_string(),
    })?;
    let names: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if names.len() != array.rows() {
        return Err(DatasetError::RowMismatch {
            npy: npy.to_path_buf(),
            npy_rows: array.rows(),
            other: list.to_path_buf(),
            other_rows: names.len(),
        });
    }
    let emb_dir = npy.parent().unwrap_or(Path::new("."));
    let mut assigner = Assigner::new(index, resolution_bases(paths, emb_dir));
    for (row, raw) in names.iter().enumerate() {
        assigner.assign(
            raw,
            RowRef {
                source: 0,
                row: row as u32,
            },
        );
    }
    let matched = assigner.finish(list, notices);
    Ok((
        Embeddings {
            dim: array.cols(),
            sources: vec![Source::Npy(array)],
            rows: Vec::new(),
        },
        matched,
    ))
}

/// One vector per image: `<dir>/<rel>.npy`, `<dir>/<rel minus extension>.npy`, or the same
/// names flat in `dir`. Read eagerly: a million small mmaps would exhaust map limits.
fn load_per_image(dir: &Path, images: &[ImageFile]) -> Result<(Embeddings, Matched), DatasetError> {
    let found: Vec<Option<PathBuf>> = images
        .par_iter()
        .map(|image| {
            let rel = Path::new(&image.rel);
            let name = rel.file_name().unwrap_or_default().to_string_lossy();
            let mut candidates = vec![
                dir.join(format!("{}.npy", image.rel)),
                dir.join(rel.with_extension("npy")),
                dir.join(format!("{name}.npy")),
            ];
            if let Some(stem) = rel.file_stem() {
                candidates.push(dir.join(format!("{}.npy", stem.to_string_lossy())));
            }
            candidates.into_iter().find(|p| p.is_file())
        })
        .collect();
    let arrays: Vec<Option<(PathBuf, Vec<f32>)>> = found
        .into_par_iter()
        .map(|p| -> Result<_, DatasetError> {
            let Some(p) = p else { return Ok(None) };
            let a = NpyArray::open(&p)?;
            if a.rows() != 1 {
                return Err(DatasetError::BadNpy {
                    path: p,
                    why: format!("holds {} rows; expected one vector", a.rows()),
                });
            }
            let mut v = vec![0.0; a.cols()];
            a.read_row(0, &mut v);
            Ok(Some((p, v)))
        })
        .collect::<Result<_, _>>()?;
    let mut dim = None;
    let mut data = Vec::new();
    let mut matched = vec![None; images.len()];
    let mut row = 0u32;
    for (i, a) in arrays.into_iter().enumerate() {
        if let Some((p, v)) = a {
            check_dim(&mut dim, &p, v.len())?;
            data.extend_from_slice(&v);
            matched[i] = Some(RowRef { source: 0, row });
            row += 1;
        }
    }
    let dim = dim.map_or(0, |d| d.0);
    Ok((
        Embeddings {
            dim,
            sources: vec![Source::Dense { cols: dim, data }],
            rows: Vec::new(),
        },
        matched,
    ))
}

/// Aligns a metadata table with the listing through its `filename` column; `shown` marks
/// the images that will be on the map (only those count as missing a row).
fn join_metadata(
    table: &Table,
    path: &Path,
    index: &PathIndex,
    paths: &DatasetPaths,
    shown: &[bool],
    notices: &mut Vec<String>,
) -> Result<Table, DatasetError> {
    let key = table
        .column_index("filename")
        .ok_or_else(|| DatasetError::NoFilename {
            path: path.to_path_buf(),
            columns: table.columns.join(", "),
        })?;
    let meta_dir = path.parent().unwrap_or(Path::new("."));
    let mut assigner = Assigner::new(
        index,
        vec![
            paths.images.clone(),
            paths.root.clone(),
            meta_dir.to_path_buf(),
        ],
    );
    for (row, raw) in table.cells[key].iter().enumerate() {
        assigner.assign(
            raw,
            RowRef {
                source: 0,
                row: row as u32,
            },
        );
    }
    let matched = assigner.finish(path, notices);
    let without = matched
        .iter()
        .zip(shown)
        .filter(|(m, s)| m.is_none() && **s)
        .count();
    if without > 0 {
        notices.push(format!(
            "{without} image(s) have no row in {}; their metadata is empty",
            path.display()
        ));
    }
    let mut out = Table::default();
    for (c, name) in table.columns.iter().enumerate() {
        if c == key {
            continue;
        }
        let canonical = KNOWN_COLUMNS
            .iter()
            .find(|k| k.eq_ignore_ascii_case(name.trim()))
            .map_or_else(|| name.clone(), |k| k.to_string());
        out.columns.push(canonical);
        out.cells.push(
            matched
                .iter()
                .map(|m| m.map_or_else(String::new, |r| table.cells[c][r.row as usize].clone()))
                .collect(),
        );
    }
    Ok(out)
}

/// Adds clip-retrieval's other parquet columns (caption, url, …) as metadata, unless the
/// user's metadata file already has a column of that name.
fn merge_parquet_columns(
    dir: &Path,
    paths: &DatasetPaths,
    index: &PathIndex,
    metadata: &mut Table,
    notices: &mut Vec<String>,
) -> Result<(), DatasetError> {
    let bases = resolution_bases(paths, dir);
    let bases: Vec<&Path> = bases.iter().map(PathBuf::as_path).collect();
    let mut extra: HashMap<String, Vec<String>> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    for (_, meta_path) in numbered_files(&dir.join("metadata"), "metadata_", ".parquet") {
        let table = Table::read(&meta_path)?;
        let Some(key) = table.column_index("image_path") else {
            continue;
        };
        for (c, name) in table.columns.iter().enumerate() {
            if c == key || metadata.column_index(name).is_some() {
                continue;
            }
            let column = extra.entry(name.clone()).or_insert_with(|| {
                order.push(name.clone());
                vec![String::new(); index.len()]
            });
            for (r, raw) in table.cells[key].iter().enumerate() {
                if let Resolution::Found(i) = index.resolve(raw, &bases)
                    && column[i].is_empty()
                {
                    column[i] = table.cells[c][r].clone();
                }
            }
        }
    }
    if !order.is_empty() {
        notices.push(format!(
            "metadata from clip-retrieval: {}",
            order.join(", ")
        ));
    }
    for name in order {
        if let Some(values) = extra.remove(&name) {
            metadata.columns.push(name);
            metadata.cells.push(values);
        }
    }
    Ok(())
}
