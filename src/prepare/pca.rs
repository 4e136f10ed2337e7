//! Stage 5, pca: the linear layout of all shown images (randomised PCA, [`pca_2d`]); cheap,
//! so the window has a layout to show within a second while the neighbours and UMAP run.

use serde_json::json;

use super::progress::spin;
use super::rows::StageRows;
use super::run::{Draft, LayoutStage, Run, fingerprint};
use super::{PrepareError, PrepareOptions};
use crate::layout::{Rows, pca_2d};

/// The options PCA depends on.
pub(crate) fn covers(opts: &PrepareOptions) -> serde_json::Value {
    json!({ "seed": opts.seed })
}

pub(crate) fn run(run: &Run, draft: &mut Draft, rows: &StageRows) -> Result<(), PrepareError> {
    LayoutStage {
        name: "pca",
        fingerprint: fingerprint("pca-v1", &covers(run.opts), &[&rows.fingerprint]),
        params: vec![("dims", rows.rows.dim().to_string())],
    }
    .run(run, draft, || {
        let positions = spin(run.progress, "pca", || pca_2d(&rows.rows, run.opts.seed));
        Ok(Some(positions.into()))
    })
}
