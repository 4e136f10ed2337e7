//! Stage 4, rows: the vectors every layout is computed from, one per shown image.
//!
//! The user's embeddings, read through the dataset's row map (never copied: a 1M × 768
//! float16 input stays memory-mapped), or, without embeddings, our appearance features from
//! the thumbnail chunks (written to `embeddings/appearance.npy`). Also writes the unit vectors
//! in image order for exact similarity search (`vectors.npy`).
//!
//! Its fingerprint stands for "these images with these vectors": every shown image's path
//! and the name, size and mtime of every embeddings file (or, for appearance features, the
//! atlas fingerprint). Every layout stage hashes it as its input.

use std::path::Path;

use super::atlas::Packed;
use super::run::{Run, fingerprint};
use super::thumbnails::Shown;
use super::{APPEARANCE_NOTICE, PrepareError};
use crate::cache::thumbstore::FileKey;
use crate::cache::{EmbeddingOrigin, Fingerprint};
use crate::dataset::{Dataset, EmbeddingInput, Embeddings};
use crate::layout::Rows;
use crate::thumbs::APPEARANCE_DIM;

/// The shown images' vectors.
pub(crate) enum ShownRows<'d> {
    /// The user's embeddings, rows selected in image order.
    Provided {
        inner: &'d Embeddings,
        rows: Vec<usize>,
    },
    /// Appearance features, row-major.
    Appearance(Vec<f32>),
}

impl Rows for ShownRows<'_> {
    fn len(&self) -> usize {
        match self {
            Self::Provided { rows, .. } => rows.len(),
            Self::Appearance(data) => data.len() / APPEARANCE_DIM,
        }
    }
    fn dim(&self) -> usize {
        match self {
            Self::Provided { inner, .. } => inner.dim(),
            Self::Appearance(_) => APPEARANCE_DIM,
        }
    }
    fn row(&self, i: usize, out: &mut [f32]) {
        match self {
            Self::Provided { inner, rows } => inner.read_row(rows[i], out),
            Self::Appearance(data) => {
                out.copy_from_slice(&data[i * APPEARANCE_DIM..(i + 1) * APPEARANCE_DIM]);
            }
        }
    }
}

/// The rows, where they came from, and their fingerprint.
pub(crate) struct StageRows<'d> {
    pub rows: ShownRows<'d>,
    pub origin: EmbeddingOrigin,
    pub fingerprint: String,
}

/// Selects (or computes) the rows; adds the appearance notice when there are no embeddings.
pub(crate) fn run<'d>(
    run: &Run,
    dataset: &'d Dataset,
    shown: &Shown,
    packed: &Packed,
    notices: &mut Vec<String>,
) -> Result<StageRows<'d>, PrepareError> {
    let mut inputs = Fingerprint::default();
    for rel in &packed.images {
        inputs.add_str(rel);
    }
    let (rows, origin) = match &dataset.embeddings {
        Some(inner) => {
            if let Some(input) = &dataset.paths.embeddings {
                fingerprint_embeddings(input, &mut inputs);
            }
            let rows = shown.iter().map(|(i, _, _)| *i).collect();
            (
                ShownRows::Provided { inner, rows },
                EmbeddingOrigin::Provided,
            )
        }
        None => {
            notices.push(APPEARANCE_NOTICE.to_string());
            inputs.add_str(&packed.info.fingerprint);
            let mut data = Vec::with_capacity(shown.len() * APPEARANCE_DIM);
            for (_, chunk, stored) in shown {
                match packed.chunk_data.get(chunk) {
                    Some(d) => data.extend_from_slice(d.appearance(stored.slot)),
                    None => data.extend_from_slice(&[0.0; APPEARANCE_DIM]),
                }
            }
            let cache = &run.cache;
            cache.write_matrix(&cache.appearance(), APPEARANCE_DIM, data.clone())?;
            (ShownRows::Appearance(data), EmbeddingOrigin::Appearance)
        }
    };
    Ok(StageRows {
        rows,
        origin,
        fingerprint: inputs.hex(),
    })
}

/// Writes the unit vectors for similarity search, unless current.
pub(crate) fn write_vectors(run: &Run, rows: &StageRows) -> Result<(), PrepareError> {
    if run.opts.only_thumbs {
        return Ok(());
    }
    run.check_cancelled()?;
    run.progress.begin("vectors", 0);
    let fp = fingerprint("vectors-v1", &serde_json::Value::Null, &[&rows.fingerprint]);
    crate::cache::vectors::write_unless_current(&run.cache, &rows.rows, &fp)?;
    run.progress.end();
    Ok(())
}

/// Adds name, size and mtime of every file of the embeddings input to `fp`.
fn fingerprint_embeddings(input: &EmbeddingInput, fp: &mut Fingerprint) {
    let roots: Vec<&Path> = match input {
        EmbeddingInput::ClipRetrieval(p) | EmbeddingInput::PerImage(p) => vec![p],
        EmbeddingInput::Matrix { npy, list } => vec![npy, list],
        EmbeddingInput::Table { path, column } => {
            fp.add_str(column.as_deref().unwrap_or(""));
            vec![path]
        }
    };
    for root in roots {
        let mut stack = vec![root.to_path_buf()];
        let mut files = Vec::new();
        while let Some(p) = stack.pop() {
            if p.is_dir() {
                if let Ok(rd) = std::fs::read_dir(&p) {
                    stack.extend(rd.filter_map(Result::ok).map(|e| e.path()));
                }
            } else {
                files.push(p);
            }
        }
        files.sort();
        for f in files {
            if let Some(key) = FileKey::of(&f.to_string_lossy(), &f) {
                fp.add_str(&key.rel)
                    .add_u64(key.size)
                    .add_u64(key.mtime_ns as u64);
            }
        }
    }
}
