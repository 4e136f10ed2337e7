//! Stage 8, derived layouts: the grid and the jittered grid, both made from the base layout
//! (UMAP, or the given coordinates with `--no-umap`) so that similar images stay together.
//!
//! Also finds that base layout for the stages after it ([`base`]).

use glam::Vec2;
use serde_json::json;

use super::progress::spin;
use super::run::{Draft, LayoutStage, Run, fingerprint};
use super::{PrepareError, PrepareOptions};
use crate::layout::grid;
use crate::layout::meta::LabelledLayout;

/// The layout grid, jittered grid, metadata layouts and hotspots are made from.
pub(crate) struct Base {
    pub name: String,
    pub positions: Vec<Vec2>,
    /// The base layout's own fingerprint: the input of everything made from it.
    pub fingerprint: String,
}

/// The base layout when it is in this run's manifest: UMAP, else the given coordinates.
pub(crate) fn base(run: &Run, draft: &Draft) -> Result<Option<Base>, PrepareError> {
    if run.opts.only_thumbs {
        return Ok(None);
    }
    let names = ["umap", run.opts.coords_name.as_str()];
    let Some((name, info)) = names
        .iter()
        .find_map(|n| draft.manifest.layouts.get(*n).map(|i| (*n, i)))
    else {
        return Ok(None);
    };
    Ok(Some(Base {
        name: name.to_string(),
        positions: run.cache.read_layout(&info.file)?,
        fingerprint: info.fingerprint.clone(),
    }))
}

/// The options the derived layouts depend on.
pub(crate) fn covers(_opts: &PrepareOptions) -> serde_json::Value {
    json!({ "jitter_sweeps": grid::JITTER_SWEEPS })
}

pub(crate) fn run(run: &Run, draft: &mut Draft, base: &Base) -> Result<(), PrepareError> {
    let made = |positions: Vec<Vec2>, cell: f32| LabelledLayout {
        positions,
        cell,
        ..Default::default()
    };
    let covers = covers(run.opts);
    LayoutStage {
        name: "grid",
        fingerprint: fingerprint("grid-v1", &json!(null), &[&base.fingerprint]),
        params: vec![("from", base.name.clone())],
    }
    .run(run, draft, || {
        let (positions, cell) = spin(run.progress, "grid", || grid::grid_layout(&base.positions));
        Ok(Some(made(positions, cell)))
    })?;
    LayoutStage {
        name: "jittered",
        fingerprint: fingerprint("jittered-v1", &covers, &[&base.fingerprint]),
        params: vec![("from", base.name.clone())],
    }
    .run(run, draft, || {
        let (positions, cell) = spin(run.progress, "jittered", || {
            grid::jitter(&base.positions, 0.0, grid::JITTER_SWEEPS)
        });
        Ok(Some(made(positions, cell)))
    })
}
