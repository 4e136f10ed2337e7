//! Stage 7, umap: the UMAP layout from the neighbour graph of stage 6 (this run's, or the
//! cached one: never searched twice). A graph with fewer neighbours than `n_neighbors` asks,
//! or none at all, falls back to UMAP's own search.
//!
//! Every field of [`crate::layout::umap::UmapParams`] is in the fingerprint, its seed
//! included: the options' UMAP parameters are used exactly as given.

use super::progress::{UmapProgress, spin};
use super::rows::StageRows;
use super::run::{Draft, LayoutStage, Run, fingerprint};
use super::{PrepareError, PrepareOptions};
use crate::layout::Rows;
use crate::layout::knn::KnnGraph;
use crate::layout::umap::{umap_2d_monitored, umap_knn};

/// The options UMAP depends on: all its parameters.
pub(crate) fn covers(opts: &PrepareOptions) -> serde_json::Value {
    serde_json::to_value(&opts.umap).unwrap_or_default()
}

/// The UMAP fingerprint (the layouts derived from UMAP hash it as their input).
pub(crate) fn fingerprint_of(opts: &PrepareOptions, rows: &StageRows) -> String {
    fingerprint("umap-v2", &covers(opts), &[&rows.fingerprint])
}

pub(crate) fn run(
    run: &Run,
    draft: &mut Draft,
    rows: &StageRows,
    fresh_graph: Option<&KnnGraph>,
) -> Result<(), PrepareError> {
    let params = &run.opts.umap;
    let cached_graph = draft.manifest.neighbours.is_some();
    LayoutStage {
        name: "umap",
        fingerprint: fingerprint_of(run.opts, rows),
        params: vec![
            ("n_neighbors", params.n_neighbors.to_string()),
            ("min_dist", params.min_dist.to_string()),
            ("spread", params.spread.to_string()),
        ],
    }
    .run(run, draft, || {
        let loaded;
        let graph = match fresh_graph {
            Some(g) => Some(g),
            None => {
                loaded = cached_graph
                    .then(|| run.cache.read_neighbours().ok())
                    .flatten();
                loaded.as_ref()
            }
        };
        let n = rows.rows.len();
        let searched;
        let graph = match graph {
            Some(g) if g.k + 1 >= params.n_neighbors && g.len() == n => g,
            _ => {
                searched = spin(run.progress, "neighbours", || {
                    umap_knn(&rows.rows, params.n_neighbors, params.seed)
                });
                &searched
            }
        };
        let monitor = UmapProgress::new(run.progress, n, params);
        let positions = umap_2d_monitored(&rows.rows, graph, params, &monitor)
            .map_err(|_| PrepareError::Cancelled)?;
        Ok(Some(positions.into()))
    })
}
