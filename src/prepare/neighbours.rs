//! Stage 6, neighbours: every image's [`NEIGHBOURS_K`] most similar images (NN-descent,
//! cosine; [`neighbour_graph`]), for the lightbox and as UMAP's graph, so the search runs
//! once for both.

use std::time::Instant;

use serde_json::json;

use super::rows::StageRows;
use super::run::{Draft, Run, fingerprint};
use super::{NEIGHBOURS_K, PrepareError, PrepareOptions};
use crate::cache::LayoutInfo;
use crate::layout::knn::{KnnGraph, neighbour_graph};

/// The options the neighbour table depends on.
pub(crate) fn covers(opts: &PrepareOptions) -> serde_json::Value {
    json!({ "k": NEIGHBOURS_K, "seed": opts.seed })
}

/// Computes the table unless current; returns the graph when it was computed in this run
/// (UMAP then needs no second read).
pub(crate) fn run(
    run: &Run,
    draft: &mut Draft,
    rows: &StageRows,
) -> Result<Option<KnnGraph>, PrepareError> {
    let fp = fingerprint("neighbours-v1", &covers(run.opts), &[&rows.fingerprint]);
    let previous = run.previous.as_ref().and_then(|m| m.neighbours.as_ref());
    draft.manifest.neighbours = run.current(previous, &fp);
    if run.opts.only_thumbs || run.opts.no_umap || draft.manifest.neighbours.is_some() {
        return Ok(None);
    }
    run.check_cancelled()?;
    run.progress.begin("neighbours", 0);
    let start = Instant::now();
    let (graph, searched_dims) = neighbour_graph(&rows.rows, NEIGHBOURS_K, run.opts.seed);
    let file = run.cache.write_neighbours(&graph)?;
    draft.manifest.neighbours = Some(LayoutInfo {
        file,
        fingerprint: fp,
        params: [
            ("k".to_string(), NEIGHBOURS_K.to_string()),
            ("searched_dims".to_string(), searched_dims.to_string()),
        ]
        .into(),
        seconds: start.elapsed().as_secs_f64(),
        extras: None,
    });
    run.progress.end();
    Ok(Some(graph))
}
