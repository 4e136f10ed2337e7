//! The context every stage runs in, the manifest draft the stages fill, and fingerprints.
//!
//! One [`Run`] holds what all stages share (options, progress, the cache folder, the last
//! run's manifest, the stage timer); one [`Draft`] is the manifest being built, and
//! [`Draft::checkpoint`] is the only place that writes it. Stages get both by reference and
//! return their own outputs as plain values, so the data flow of `prepare` reads top to bottom
//! in [`super::prepare`] instead of through shared mutable closures.
//!
//! Fingerprints: a stage's output is reused when the hash of (its tag, the options it
//! declares in its `covers` function, its inputs' fingerprints) matches the one recorded
//! beside the file. [`fingerprint`] is the only way to make one, so what a stage declares is
//! what it hashes, and `super::tests::every_option_is_covered_by_a_stage` changes every option
//! in turn and fails when no stage's declaration notices.

use std::collections::BTreeMap;
use std::time::Instant;

use super::{PrepareError, PrepareOptions, Progress};
use crate::cache::{CacheDir, Fingerprint, LayoutInfo, Manifest};
use crate::layout::meta::LabelledLayout;

/// What the stages of one prepare share.
pub(crate) struct Run<'a> {
    pub opts: &'a PrepareOptions,
    pub progress: &'a dyn Progress,
    pub cache: CacheDir,
    /// The last run's manifest, when readable: what the stages may reuse.
    pub previous: Option<Manifest>,
    laps: Vec<(String, f64)>,
    timer: Instant,
}

impl<'a> Run<'a> {
    pub fn new(opts: &'a PrepareOptions, progress: &'a dyn Progress, cache: CacheDir) -> Self {
        Self {
            opts,
            progress,
            cache,
            previous: None,
            laps: Vec::new(),
            timer: Instant::now(),
        }
    }

    /// Ends the timing of stage `name` (the next one starts now).
    pub fn lap(&mut self, name: &str) {
        self.laps
            .push((name.to_string(), self.timer.elapsed().as_secs_f64()));
        self.timer = Instant::now();
    }

    /// Seconds per stage so far, in run order.
    pub fn laps(&self) -> &[(String, f64)] {
        &self.laps
    }

    /// Stops the prepare when the user asked to.
    pub fn check_cancelled(&self) -> Result<(), PrepareError> {
        if self.progress.cancelled() {
            Err(PrepareError::Cancelled)
        } else {
            Ok(())
        }
    }

    /// `info` when it was computed with `fingerprint` and its file is still there.
    pub fn current(&self, info: Option<&LayoutInfo>, fingerprint: &str) -> Option<LayoutInfo> {
        info.filter(|i| i.fingerprint == fingerprint && self.cache.root.join(&i.file).is_file())
            .cloned()
    }

    /// The last run's layout `name`, when current.
    pub fn previous_layout(&self, name: &str, fingerprint: &str) -> Option<LayoutInfo> {
        let prev = self.previous.as_ref().and_then(|m| m.layouts.get(name));
        self.current(prev, fingerprint)
    }
}

/// A stage's fingerprint: its tag (bumped when its algorithm changes what it writes), the
/// options it declares (`covers`, as JSON) and the fingerprints of its inputs.
pub(crate) fn fingerprint(tag: &str, covers: &serde_json::Value, inputs: &[&str]) -> String {
    let mut fp = Fingerprint::default();
    fp.add_str(tag).add_str(&covers.to_string());
    for input in inputs {
        fp.add_str(input);
    }
    fp.hex()
}

/// The manifest being built; written by [`Draft::checkpoint`] after every stage.
pub(crate) struct Draft {
    pub manifest: Manifest,
}

impl Draft {
    /// Records layout `name` (already written) computed from `fingerprint`.
    pub fn insert_layout(&mut self, name: &str, info: LayoutInfo) {
        self.manifest.layouts.insert(name.to_string(), info);
    }

    /// Writes the manifest and, when stage `name` produced a layout (or hotspots), tells
    /// the viewer. While stages are still to run (`partial`), the last run's entries for
    /// them stay listed when the images are the same: their files are valid positions for
    /// these images and the stage replaces them if its inputs changed, so a run stopped
    /// early loses nothing and the viewer keeps every layout in its list.
    pub fn checkpoint(&mut self, run: &Run, name: &str, partial: bool) -> Result<(), PrepareError> {
        self.manifest.stage_seconds = run.laps().iter().cloned().collect();
        let mut manifest = self.manifest.clone();
        if partial
            && let Some(prev) = run.previous.as_ref().filter(|m| {
                m.thumbs.as_ref().map(|t| &t.fingerprint)
                    == manifest.thumbs.as_ref().map(|t| &t.fingerprint)
                    && m.image_count == manifest.image_count
            })
        {
            for (k, v) in &prev.layouts {
                manifest
                    .layouts
                    .entry(k.clone())
                    .or_insert_with(|| v.clone());
            }
            for (k, v) in &prev.clusters {
                manifest
                    .clusters
                    .entry(k.clone())
                    .or_insert_with(|| v.clone());
            }
            if manifest.neighbours.is_none() {
                manifest.neighbours.clone_from(&prev.neighbours);
            }
        }
        run.cache.write_json(&run.cache.manifest(), &manifest)?;
        if self.manifest.layouts.contains_key(name)
            || (name == "hotspots" && !self.manifest.clusters.is_empty())
        {
            run.progress.layout_ready(name);
        }
        Ok(())
    }
}

/// How a layout stage records what it computed.
pub(crate) struct LayoutStage<'s> {
    pub name: &'s str,
    pub fingerprint: String,
    /// Parameters, for people reading the manifest.
    pub params: Vec<(&'static str, String)>,
}

impl LayoutStage<'_> {
    /// Reuses the last run's file when its fingerprint matches, else computes, writes and
    /// records the layout (`compute` reports its own progress; `None`: not offered for this
    /// data). Then checkpoints.
    pub fn run(
        self,
        run: &Run,
        draft: &mut Draft,
        compute: impl FnOnce() -> Result<Option<LabelledLayout>, PrepareError>,
    ) -> Result<(), PrepareError> {
        if let Some(prev) = run.previous_layout(self.name, &self.fingerprint) {
            draft.insert_layout(self.name, prev);
        } else if !run.opts.only_thumbs {
            run.check_cancelled()?;
            let start = Instant::now();
            if let Some(layout) = compute()? {
                let mut info =
                    write_layout(run, self.name, &layout, self.fingerprint, &self.params)?;
                info.seconds = start.elapsed().as_secs_f64();
                draft.insert_layout(self.name, info);
            }
        }
        draft.checkpoint(run, self.name, true)
    }
}

/// Writes a layout's positions and (when it has any) its labels, cell and outlines.
fn write_layout(
    run: &Run,
    name: &str,
    layout: &LabelledLayout,
    fingerprint: String,
    params: &[(&'static str, String)],
) -> Result<LayoutInfo, PrepareError> {
    let cache = &run.cache;
    let file = cache.write_layout(name, &layout.positions)?;
    let extras = if layout.labels.is_empty() && layout.outlines.is_empty() && layout.cell == 0.0 {
        None
    } else {
        let extras = format!("layouts/{name}.json");
        cache.write_json(&cache.root.join(&extras), layout)?;
        Some(extras)
    };
    Ok(LayoutInfo {
        file,
        fingerprint,
        params: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect::<BTreeMap<_, _>>(),
        seconds: 0.0,
        extras,
    })
}
