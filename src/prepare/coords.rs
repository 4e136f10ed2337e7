//! Stage 7, coords: positions computed elsewhere (`--coords FILE`, e.g. cuML or Spark UMAP
//! on a GPU cluster) become a layout named `--coords-name` (default "given"), listed and
//! drawn like the computed ones; with `--no-umap` it is the base layout the grid, metadata
//! layouts and hotspots are made from. Images without a row go to a labelled "no position"
//! block ([`crate::layout::meta::given`]).

use serde_json::json;

use super::run::{Draft, LayoutStage, Run, fingerprint};
use super::thumbnails::Shown;
use super::{PrepareError, PrepareOptions};
use crate::cache::thumbstore::FileKey;
use crate::dataset::{Dataset, DatasetError, coords::read_coords};
use crate::layout::kind;
use crate::layout::meta::given;

/// The options the given layout depends on (the file's size and mtime are its input).
pub(crate) fn covers(opts: &PrepareOptions) -> serde_json::Value {
    json!({ "coords": opts.coords, "name": opts.coords_name })
}

/// Names the given layout may not take: those prepare computes itself ("umap" only with
/// `--no-umap`, where it replaces ours).
pub(crate) fn check_name(opts: &PrepareOptions) -> Result<(), PrepareError> {
    let name = opts.coords_name.as_str();
    let computed = kind::LAYOUTS.iter().any(|k| k.name == name);
    let bad_chars = name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_alphanumeric() || "-_".contains(c));
    if bad_chars || (computed && !(name == "umap" && opts.no_umap)) {
        return Err(PrepareError::Options(format!(
            "--coords-name {name:?}: give a name of letters, digits, - or _ that is not one of the layouts prepare computes ({}){}",
            kind::LAYOUTS.map(|k| k.name).join(", "),
            if name == "umap" {
                "; `umap` is allowed with --no-umap"
            } else {
                ""
            }
        )));
    }
    Ok(())
}

pub(crate) fn run(
    run: &Run,
    draft: &mut Draft,
    dataset: &Dataset,
    shown: &Shown,
) -> Result<(), PrepareError> {
    let Some(path) = &run.opts.coords else {
        return Ok(()); // not asked for: the manifest does not list it
    };
    let path = crate::dataset::paths::absolute(path);
    let key = FileKey::of(&path.to_string_lossy(), &path)
        .ok_or_else(|| DatasetError::Missing { path: path.clone() })?;
    let file = format!("{}\t{}\t{}", key.rel, key.size, key.mtime_ns);
    let images = &draft
        .manifest
        .thumbs
        .as_ref()
        .map(|t| t.fingerprint.clone())
        .unwrap_or_default();
    let name = run.opts.coords_name.clone();
    let mut notices = Vec::new();
    LayoutStage {
        name: &name,
        fingerprint: fingerprint("coords-v1", &covers(run.opts), &[&file, images]),
        params: vec![("file", path.display().to_string())],
    }
    .run(run, draft, || {
        run.progress.begin("coordinates", 0);
        let all = read_coords(&path, &dataset.paths, &dataset.images, &mut notices)?;
        let points: Vec<_> = shown.iter().map(|(i, _, _)| all[*i]).collect();
        run.progress.end();
        given(&points).map(Some).ok_or_else(|| {
            PrepareError::Dataset(DatasetError::BadTable {
                path: path.clone(),
                why: "no row gives a position (numbers in `x` and `y`) to an image of this dataset"
                    .into(),
            })
        })
    })?;
    draft.manifest.notices.extend(notices);
    Ok(())
}
