//! Stage 10, hotspots: clusters of the base layout (HDBSCAN, [`hotspots`]), labelled from the
//! metadata and the embeddings, with their finer groups. Stored under the base layout's name
//! in the manifest's `clusters`.

use std::time::Instant;

use super::derived::Base;
use super::progress::spin;
use super::rows::StageRows;
use super::run::{Draft, Run, fingerprint};
use super::{PrepareError, PrepareOptions, io};
use crate::cache::{CacheDir, LayoutInfo};
use crate::cluster::hotspots;
use crate::dataset::Table;
use crate::layout::Rows;

/// The options the hotspots depend on: all their parameters.
pub(crate) fn covers(opts: &PrepareOptions) -> serde_json::Value {
    serde_json::to_value(opts.hotspots).unwrap_or_default()
}

pub(crate) fn run(
    run: &Run,
    draft: &mut Draft,
    base: &Base,
    rows: &StageRows,
    metadata: &Table,
    metadata_fingerprint: &str,
) -> Result<(), PrepareError> {
    let fp = fingerprint(
        "hotspots-v2",
        &covers(run.opts),
        &[&base.fingerprint, metadata_fingerprint],
    );
    let previous = run
        .previous
        .as_ref()
        .and_then(|m| m.clusters.get(&base.name));
    if let Some(prev) = run.current(previous, &fp) {
        draft.manifest.clusters.insert(base.name.clone(), prev);
        return draft.checkpoint(run, "hotspots", true);
    }
    run.check_cancelled()?;
    let start = Instant::now();
    let h = &run.opts.hotspots;
    let found = spin(run.progress, "hotspots", || {
        hotspots(&base.positions, &rows.rows, metadata, h)
    });
    let cache = &run.cache;
    let file = format!("clusters/{}.npy", base.name);
    let extras = format!("clusters/{}.json", base.name);
    let dir = cache.root.join("clusters");
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    cache.write_assignment(&file, &found.assignment)?;
    cache.write_assignment(&CacheDir::finer_file(&file), &found.finer_assignment)?;
    cache.write_json(&cache.root.join(&extras), &found)?;
    let params = [
        (
            "min_cluster_size",
            h.min_cluster_size_for(rows.rows.len()).to_string(),
        ),
        ("max_clusters", h.max_clusters.to_string()),
        ("found", found.hotspots.len().to_string()),
        ("finer", found.finer.len().to_string()),
    ];
    draft.manifest.clusters.insert(
        base.name.clone(),
        LayoutInfo {
            file,
            fingerprint: fp,
            params: params
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            seconds: start.elapsed().as_secs_f64(),
            extras: Some(extras),
        },
    );
    draft.checkpoint(run, "hotspots", true)
}
