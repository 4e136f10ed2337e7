//! Stage 9, metadata layouts: categories, dates, map, alphabetic, custom x/y
//! ([`metadata_layouts`]), laid out inside their groups by the base layout.
//!
//! Computed together (they are cheap) and cached each under its own name. Which ones are
//! offered depends only on the same inputs, so when "alphabetic" (always offered) is current,
//! the last run's set is reused as it is.

use std::path::Path;

use glam::Vec2;
use serde_json::json;

use super::derived::Base;
use super::progress::spin;
use super::run::{Draft, LayoutStage, Run, fingerprint};
use super::{META_LAYOUTS, PrepareError, PrepareOptions};
use crate::cache::Fingerprint;
use crate::dataset::Table;
use crate::layout::meta::{geojson_outlines, metadata_layouts};

/// The options the metadata layouts depend on (the outlines' contents are an input).
pub(crate) fn covers(opts: &PrepareOptions) -> serde_json::Value {
    json!({ "geojson": opts.geojson })
}

/// Computes (or reuses) every metadata layout; returns their fingerprint, which the hotspots
/// (labelled from the metadata) hash too.
pub(crate) fn run(
    run: &Run,
    draft: &mut Draft,
    base: &Base,
    images: &[String],
    metadata: &Table,
    root: &Path,
) -> Result<String, PrepareError> {
    let (outlines, note) = read_outlines(run.opts.geojson.as_deref(), root);
    draft.manifest.notices.extend(note);
    let mut inputs = Fingerprint::default();
    for (c, col) in metadata.columns.iter().zip(&metadata.cells) {
        inputs.add_str(c);
        for v in col {
            inputs.add_str(v);
        }
    }
    inputs.add_u64(outlines.len() as u64);
    for line in &outlines {
        for p in line {
            inputs.add_u64(u64::from(p.x.to_bits()) << 32 | u64::from(p.y.to_bits()));
        }
    }
    let fp = fingerprint(
        "metadata-v1",
        &covers(run.opts),
        &[&base.fingerprint, &inputs.hex()],
    );
    let computed = if run.previous_layout("alphabetic", &fp).is_some() {
        Vec::new()
    } else {
        spin(run.progress, "metadata layouts", || {
            metadata_layouts(
                &metadata.columns,
                &metadata.cells,
                images,
                &base.positions,
                &outlines,
            )
        })
    };
    for name in META_LAYOUTS {
        let layout = computed.iter().find(|(n, _)| *n == name).map(|(_, l)| l);
        LayoutStage {
            name,
            fingerprint: fp.clone(),
            params: vec![],
        }
        .run(run, draft, || Ok(layout.cloned()))?;
    }
    Ok(fp)
}

/// GeoJSON outlines from `--geojson`, else `DATASET/outlines.geojson`; a file that cannot be
/// used is a notice, not an error (the layout works without outlines).
fn read_outlines(flag: Option<&Path>, root: &Path) -> (Vec<Vec<Vec2>>, Option<String>) {
    let default = root.join("outlines.geojson");
    let path = match flag {
        Some(p) => p.to_path_buf(),
        None if default.is_file() => default,
        None => return (Vec::new(), None),
    };
    match std::fs::read_to_string(&path)
        .map_err(|e| e.to_string())
        .and_then(|t| geojson_outlines(&t))
    {
        Ok(lines) => (lines, None),
        Err(e) => (
            Vec::new(),
            Some(format!(
                "{}: GeoJSON outlines not used ({e})",
                path.display()
            )),
        ),
    }
}
