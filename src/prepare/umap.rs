//! Stage 7, umap: the UMAP layout from the neighbour graph of stage 6 (this run's, or the
//! cached one: never searched twice). A graph with fewer neighbours than `n_neighbors` asks,
//! or none at all, falls back to UMAP's own search.
//!
//! With a `label` metadata column, also the supervised UMAP ([`run_supervised`]).
//!
//! Every field of [`crate::layout::umap::UmapParams`] is in the fingerprint, its seed
//! included: the options' UMAP parameters are used exactly as given.

use super::progress::{UmapProgress, spin};
use super::rows::StageRows;
use super::run::{Draft, LayoutStage, Run, fingerprint};
use super::{PrepareError, PrepareOptions};
use crate::cache::Fingerprint;
use crate::dataset::Table;
use crate::layout::Rows;
use crate::layout::knn::KnnGraph;
use crate::layout::umap::{Cancelled, UmapParams, umap_2d_monitored, umap_2d_supervised, umap_knn};
use rustc_hash::FxHashMap;

/// The options UMAP depends on: all its parameters.
pub(crate) fn covers(opts: &PrepareOptions) -> serde_json::Value {
    covers_params(&opts.umap)
}

/// Every UMAP parameter, as the fingerprints hash them.
fn covers_params(params: &UmapParams) -> serde_json::Value {
    serde_json::to_value(params).unwrap_or_default()
}

/// The fingerprint of a UMAP layout made with `params` (the main one's or a variant's).
fn fingerprint_for(params: &UmapParams, rows: &StageRows) -> String {
    fingerprint("umap-v2", &covers_params(params), &[&rows.fingerprint])
}

pub(crate) fn run(
    run: &Run,
    draft: &mut Draft,
    rows: &StageRows,
    fresh_graph: Option<&KnnGraph>,
) -> Result<(), PrepareError> {
    let params = &run.opts.umap;
    let shown = vec![
        ("n_neighbors", params.n_neighbors.to_string()),
        ("min_dist", params.min_dist.to_string()),
        ("spread", params.spread.to_string()),
    ];
    unsupervised(run, draft, rows, fresh_graph, "umap", params, shown)
}

/// One unsupervised UMAP layout `name` made with `params` (`shown`: the parameters the
/// window lists for it).
fn unsupervised(
    run: &Run,
    draft: &mut Draft,
    rows: &StageRows,
    fresh_graph: Option<&KnnGraph>,
    name: &str,
    params: &UmapParams,
    shown: Vec<(&'static str, String)>,
) -> Result<(), PrepareError> {
    let cached_graph = draft.manifest.neighbours.is_some();
    LayoutStage {
        name,
        fingerprint: fingerprint_for(params, rows),
        params: shown,
    }
    .run(run, draft, || {
        let n = rows.rows.len();
        let with_graph = |graph: &KnnGraph| {
            let monitor = UmapProgress::new(run.progress, n, params);
            umap_2d_monitored(&rows.rows, graph, params, &monitor)
        };
        let positions = with_graph_for(run, params, rows, fresh_graph, cached_graph, with_graph)?;
        Ok(Some(positions.into()))
    })
}

/// The images' labels as UMAP targets: one id per distinct non-empty `label`, −1 where
/// empty; `None` with fewer than two labels (nothing to supervise).
pub(crate) fn targets(metadata: &Table) -> Option<Vec<i32>> {
    let column = metadata.column("label")?;
    let mut ids: FxHashMap<&str, i32> = FxHashMap::default();
    let targets: Vec<i32> = column
        .iter()
        .map(|v| {
            let v = v.trim();
            if v.is_empty() {
                return -1;
            }
            let next = ids.len() as i32;
            *ids.entry(v).or_insert(next)
        })
        .collect();
    (ids.len() >= 2).then_some(targets)
}

/// Supervised UMAP (layout "supervised") when the metadata has a `label` column, as PixPlot
/// makes: the same graph and parameters, pulled apart by label.
pub(crate) fn run_supervised(
    run: &Run,
    draft: &mut Draft,
    rows: &StageRows,
    fresh_graph: Option<&KnnGraph>,
    metadata: &Table,
) -> Result<(), PrepareError> {
    let Some(labels) = targets(metadata) else {
        return Ok(());
    };
    let mut inputs = Fingerprint::default();
    for l in &labels {
        inputs.add_u64(*l as u64);
    }
    let params = &run.opts.umap;
    let cached_graph = draft.manifest.neighbours.is_some();
    LayoutStage {
        name: "supervised",
        fingerprint: fingerprint(
            "umap-supervised-v1",
            &covers(run.opts),
            &[&rows.fingerprint, &inputs.hex()],
        ),
        params: vec![("labels", "label".into())],
    }
    .run(run, draft, || {
        let n = rows.rows.len();
        let with_graph = |graph: &KnnGraph| {
            let monitor = UmapProgress::new(run.progress, n, params);
            umap_2d_supervised(&rows.rows, graph, params, &labels, &monitor)
        };
        let positions = with_graph_for(run, params, rows, fresh_graph, cached_graph, with_graph)?;
        Ok(Some(positions.into()))
    })
}

/// PixPlot's UMAP variants, asked for by `--umap-variant K,D` or the window's *Add as a
/// variant*: each its own layout (`umap-n15-d0.5`, [`crate::layout::kind::variant_name`])
/// with the main UMAP's parameters but K neighbours and minimum distance D, computed from
/// the cached neighbour graph (K up to its 20 neighbours; more searches once). Each has its
/// own fingerprint, so adding one computes only that one.
pub(crate) fn run_variants(
    run: &Run,
    draft: &mut Draft,
    rows: &StageRows,
    fresh_graph: Option<&KnnGraph>,
) -> Result<(), PrepareError> {
    for variant in &run.opts.umap_variants {
        let params = UmapParams {
            n_neighbors: variant.n_neighbors.max(2),
            min_dist: variant.min_dist.max(0.0),
            ..run.opts.umap.clone()
        };
        let name = crate::layout::kind::variant_name(params.n_neighbors, params.min_dist);
        let shown = vec![
            ("n_neighbors", params.n_neighbors.to_string()),
            ("min_dist", params.min_dist.to_string()),
        ];
        unsupervised(run, draft, rows, fresh_graph, &name, &params, shown)?;
    }
    Ok(())
}

/// Runs `f` (UMAP with `params`) on this run's neighbour graph, the cached one, or (when
/// neither has enough neighbours) UMAP's own search: the graph is never searched twice.
fn with_graph_for(
    run: &Run,
    params: &UmapParams,
    rows: &StageRows,
    fresh_graph: Option<&KnnGraph>,
    cached_graph: bool,
    f: impl FnOnce(&KnnGraph) -> Result<Vec<glam::Vec2>, Cancelled>,
) -> Result<Vec<glam::Vec2>, PrepareError> {
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
    f(graph).map_err(|_| PrepareError::Cancelled)
}
