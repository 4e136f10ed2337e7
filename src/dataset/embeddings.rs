//! Embeddings in the three layouts we read, joined to images row by row.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::{
    Assigner, DatasetError, DatasetPaths, ImageFile, NpyArray, PathIndex, Table, resolution_bases,
};

/// Where one image's embedding lives.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RowRef {
    pub(crate) source: u32,
    pub(crate) row: u32,
}

pub(crate) enum Source {
    Npy(NpyArray),
    Dense { cols: usize, data: Vec<f32> },
}

/// Embeddings aligned with [`super::Dataset::images`]: row `i` belongs to image `i`.
pub struct Embeddings {
    pub(crate) dim: usize,
    pub(crate) sources: Vec<Source>,
    pub(crate) rows: Vec<RowRef>,
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

    pub(crate) fn read_ref(&self, r: &RowRef, out: &mut [f32]) {
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

/// `img_emb_N.npy` / `metadata_N.parquet` files of a clip-retrieval folder in numeric order.
pub(crate) fn numbered_files(dir: &Path, prefix: &str, ext: &str) -> Vec<(u64, PathBuf)> {
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

pub(crate) type Matched = Vec<Option<RowRef>>;

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

pub(crate) fn load_clip_retrieval(
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

pub(crate) fn load_matrix(
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
/// Embeddings from a parquet table, with its other columns and each image's table row.
pub(crate) struct LoadedTable {
    pub embeddings: Embeddings,
    pub matched: Matched,
    pub others: Table,
    pub table_rows: Vec<Option<u32>>,
}

/// Columns that name the image of a row, in the order they are looked for: clip-retrieval
/// and clip-plot write `image_path`, PixPlot-style tables `filename`, img2dataset `key`.
const NAME_COLUMNS: [&str; 4] = ["image_path", "filename", "path", "key"];

pub(crate) fn load_vector_table(
    path: &Path,
    column: Option<&str>,
    paths: &DatasetPaths,
    index: &PathIndex,
    images: &[ImageFile],
    notices: &mut Vec<String>,
) -> Result<LoadedTable, DatasetError> {
    let vectors = super::vector_table::read_vectors(path, column)?;
    let others = super::table::read_parquet_without(path, &[vectors.name.as_str()])?;
    if others.rows() != vectors.index.len() {
        return Err(DatasetError::BadTable {
            path: path.to_path_buf(),
            why: format!(
                "has {} rows of vectors but {} rows in its other columns",
                vectors.index.len(),
                others.rows()
            ),
        });
    }
    let Some((key, names)) = NAME_COLUMNS
        .iter()
        .find_map(|n| others.column(n).map(|c| (*n, c)))
    else {
        return Err(DatasetError::BadTable {
            path: path.to_path_buf(),
            why: format!(
                "has no column naming each row's image ({}; columns: {})",
                NAME_COLUMNS.join(", "),
                others.columns.join(", ")
            ),
        });
    };
    // Every table row to its image; `key` through the file name without extension.
    let mut assigner = Assigner::new(
        index,
        resolution_bases(paths, path.parent().unwrap_or(Path::new("."))),
    );
    let mut keyed = Vec::new();
    if key == "key" {
        keyed = super::coords::match_keys(names, images, path, notices);
    } else {
        for (row, raw) in names.iter().enumerate() {
            assigner.assign(
                raw,
                RowRef {
                    source: 0,
                    row: row as u32,
                },
            );
        }
    }
    // The column that named the images is not metadata (a `key` is: export writes it).
    let mut others = others;
    if key != "key"
        && let Some(c) = others.column_index(key)
    {
        others.columns.remove(c);
        others.cells.remove(c);
    }
    let by_table = if key == "key" {
        keyed
    } else {
        assigner.finish(path, notices)
    };
    let table_rows: Vec<Option<u32>> = by_table.iter().map(|m| m.map(|r| r.row)).collect();
    let empty = vectors.index.iter().filter(|v| v.is_none()).count();
    if empty > 0 {
        notices.push(format!(
            "{empty} row(s) of {} have no vector in `{}`; their images are left out",
            path.display(),
            vectors.name
        ));
    }
    let matched = by_table
        .iter()
        .map(|m| {
            let row = vectors.index[m.as_ref()?.row as usize]?;
            Some(RowRef { source: 0, row })
        })
        .collect();
    notices.push(format!(
        "embeddings from column `{}` of {} ({} dimensions)",
        vectors.name,
        path.display(),
        vectors.dim
    ));
    Ok(LoadedTable {
        embeddings: Embeddings {
            dim: vectors.dim,
            sources: vec![Source::Dense {
                cols: vectors.dim,
                data: vectors.data,
            }],
            rows: Vec::new(),
        },
        matched,
        others,
        table_rows,
    })
}

pub(crate) fn load_per_image(
    dir: &Path,
    images: &[ImageFile],
) -> Result<(Embeddings, Matched), DatasetError> {
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
