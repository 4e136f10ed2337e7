//! `clip-plot-view layout`: a fast 2-D layout of an embeddings file, for people who only
//! want coordinates. Reads an N×D float16/float32/float64 `.npy`, writes N×2 float32 `.npy`
//! or a CSV with columns x,y, in input row order.

use glam::Vec2;
use std::path::Path;

use rayon::prelude::*;

use super::umap::{UmapParams, umap_2d_monitored, umap_knn};
use super::{Rows, grid, pca_2d};
use crate::dataset::{DatasetError, Embeddings, NpyArray};
use crate::prepare::{Progress, UmapProgress};

/// The layouts the command computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Umap,
    Pca,
    /// UMAP, then every point on its own cell of a grid.
    Grid,
}

/// Opens an embeddings matrix, refusing rows with NaN or infinite values by number.
pub fn read_embeddings(path: &Path) -> Result<Embeddings, DatasetError> {
    let array = NpyArray::open(path)?;
    if array.ndim() != 2 || array.rows() == 0 || array.cols() == 0 {
        return Err(DatasetError::BadNpy {
            path: path.to_path_buf(),
            why: format!(
                "is not an N×D matrix with N, D > 0 (shape has {} dimension(s), {} rows, {} columns)",
                array.ndim(),
                array.rows(),
                array.cols()
            ),
        });
    }
    let embeddings = Embeddings::from_npy(array);
    let dim = embeddings.dim();
    let bad: Vec<usize> = (0..embeddings.len())
        .into_par_iter()
        .filter(|&i| {
            let mut row = vec![0.0f32; dim];
            embeddings.read_row(i, &mut row);
            row.iter().any(|v| !v.is_finite())
        })
        .collect();
    if let Some(first) = bad.first() {
        return Err(DatasetError::BadNpy {
            path: path.to_path_buf(),
            why: format!(
                "has NaN or infinite values in {} row(s), the first being row {first} (0-based). Drop or fix those rows first",
                bad.len()
            ),
        });
    }
    Ok(embeddings)
}

/// Lays out `rows` by `method`; positions normalised to [-1, 1], aspect kept.
pub fn layout_rows(
    rows: &dyn Rows,
    method: Method,
    params: &UmapParams,
    progress: &dyn Progress,
) -> Vec<Vec2> {
    match method {
        Method::Pca => {
            progress.begin("pca", 0);
            let p = pca_2d(rows, params.seed);
            progress.end();
            p
        }
        Method::Umap | Method::Grid => {
            progress.begin("neighbours", 0);
            let graph = umap_knn(rows, params.n_neighbors, params.seed);
            progress.end();
            let umap = umap_2d_monitored(
                rows,
                &graph,
                params,
                &UmapProgress::new(progress, rows.len(), params),
            )
            .unwrap_or_else(|_| pca_2d(rows, params.seed));
            if method == Method::Grid {
                progress.begin("grid", 0);
                let g = grid::grid_layout(&umap).0;
                progress.end();
                g
            } else {
                umap
            }
        }
    }
}

/// Writes positions as N×2 float32 `.npy`, or as CSV (`x,y`) when the name ends in `.csv`;
/// atomically (a temporary file, then a rename).
pub fn write_positions(path: &Path, positions: &[Vec2]) -> std::io::Result<()> {
    let is_csv = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let bytes = if is_csv {
        let mut s = String::with_capacity(positions.len() * 24 + 4);
        s.push_str("x,y\n");
        for p in positions {
            use std::fmt::Write as _;
            let _ = writeln!(s, "{},{}", p.x, p.y);
        }
        s.into_bytes()
    } else {
        let flat: &[f32] = bytemuck::cast_slice(positions);
        crate::dataset::npy::encode_npy_f32(positions.len(), 2, flat)
    };
    crate::cache::atomic_write(path, &bytes)
}
