//! `vectors.npy`: every shown image's embedding, L2-normalised, float16, in image order,
//! with `vectors.json` naming the inputs it was made from.
//!
//! Similarity search ("more like this", `export --similar-to`) ranks every image exactly,
//! which needs the embeddings aligned with the image list. The user's files are in their
//! own order (clip-retrieval interleaves shards) and may be float32 or per-image files, so
//! prepare writes this one aligned copy: at 1M × 512 it is 1 GiB, memory-mapped, and a
//! cosine is a dot product. Rejected: re-joining the user's files at search time (a scan
//! of every shard per query), and float32 (twice the bytes for no visible ranking change:
//! CLIP's own output is float16).

use std::io::Write as _;

use half::f16;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{CacheDir, CacheError, atomic_write_with};
use crate::dataset::NpyArray;
use crate::dataset::npy::encode_npy_f16;
use crate::layout::Rows;

pub const VECTORS_FILE: &str = "vectors.npy";
pub const VECTORS_INFO: &str = "vectors.json";

/// What `vectors.npy` was made from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VectorsInfo {
    pub fingerprint: String,
    pub rows: usize,
    pub dim: usize,
}

/// Rows converted and written per step.
const BATCH: usize = 8192;

/// Writes the unit vectors of `rows` unless the file on disk has `fingerprint`; true when
/// written.
pub fn write_unless_current(
    dir: &CacheDir,
    rows: &dyn Rows,
    fingerprint: &str,
) -> Result<bool, CacheError> {
    let info = VectorsInfo {
        fingerprint: fingerprint.to_string(),
        rows: rows.len(),
        dim: rows.dim(),
    };
    let current = dir.read_json::<VectorsInfo>(VECTORS_INFO).ok().as_ref() == Some(&info)
        && dir.root.join(VECTORS_FILE).is_file();
    if current {
        return Ok(false);
    }
    let path = dir.root.join(VECTORS_FILE);
    let d = rows.dim();
    atomic_write_with(&path, |w| {
        w.write_all(&encode_npy_f16(rows.len(), d, &[]))?;
        for start in (0..rows.len()).step_by(BATCH) {
            let end = (start + BATCH).min(rows.len());
            let bytes: Vec<u8> = (start..end)
                .into_par_iter()
                .flat_map_iter(|i| {
                    let mut v = vec![0f32; d];
                    rows.row(i, &mut v);
                    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                    let scale = if norm > 0.0 && norm.is_finite() {
                        1.0 / norm
                    } else {
                        0.0
                    };
                    v.into_iter()
                        .flat_map(move |x| f16::from_f32(x * scale).to_le_bytes())
                })
                .collect();
            w.write_all(&bytes)?;
        }
        Ok(())
    })
    .map_err(|source| CacheError::Io {
        path: path.clone(),
        source,
    })?;
    dir.write_json(&dir.root.join(VECTORS_INFO), &info)?;
    Ok(true)
}

/// Opens the unit vectors of a dataset of `n` images (None: not written yet, or for other
/// images: prepare writes them).
pub fn open(dir: &CacheDir, n: usize) -> Option<NpyArray> {
    let info: VectorsInfo = dir.read_json(VECTORS_INFO).ok()?;
    let array = NpyArray::open(&dir.root.join(VECTORS_FILE)).ok()?;
    (info.rows == n && array.rows() == n && array.cols() == info.dim).then_some(array)
}
