//! Progress reporting: what the CLI's bars and the window's status line listen to.
//!
//! A trait, not a channel: stages call it from the rayon pool, so every method must be cheap
//! (the bars and the window keep atomics). [`UmapProgress`] adapts it to UMAP's epoch
//! monitor, so the optimiser knows nothing of progress bars.

use glam::Vec2;

use crate::layout::umap::{UmapMonitor, UmapParams};

/// Receives progress from long-running stages. Implementations must be cheap to call.
pub trait Progress: Sync {
    /// A stage starts; `total` is its number of steps (0 when unknown).
    fn begin(&self, stage: &str, total: u64);
    /// `n` more steps of the current stage are done.
    fn advance(&self, n: u64);
    /// The current stage is done.
    fn end(&self);
    /// Polled between stages, image batches and UMAP epochs: `true` stops the prepare with
    /// [`PrepareError::Cancelled`]; what was finished stays cached and the next run resumes.
    fn cancelled(&self) -> bool {
        false
    }
    /// How often (in UMAP epochs) [`Progress::layout_snapshot`] is called; 0: never.
    fn snapshot_every(&self) -> usize {
        0
    }
    /// Intermediate positions of a layout being optimised (normalised like the result), so a
    /// viewer can animate UMAP while it converges.
    fn layout_snapshot(&self, _layout: &str, _epoch: usize, _positions: &[Vec2]) {}
    /// Layout `name` (or "hotspots") is written and the manifest on disk names it.
    fn layout_ready(&self, _name: &str) {}
}

/// Progress that goes nowhere (tests, libraries).
pub struct NoProgress;

impl Progress for NoProgress {
    fn begin(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
    fn end(&self) {}
}

/// Runs `f` as a progress stage of unknown length.
pub(crate) fn spin<T>(progress: &dyn Progress, name: &str, f: impl FnOnce() -> T) -> T {
    progress.begin(name, 0);
    let out = f();
    progress.end();
    out
}

/// Shows a UMAP run's epochs as a progress stage named "umap".
pub struct UmapProgress<'a> {
    progress: &'a dyn Progress,
    started: std::sync::Once,
    total: u64,
}

impl<'a> UmapProgress<'a> {
    pub fn new(progress: &'a dyn Progress, n: usize, params: &UmapParams) -> Self {
        Self {
            progress,
            started: std::sync::Once::new(),
            total: params.epochs_for(n) as u64,
        }
    }
}

impl UmapMonitor for UmapProgress<'_> {
    fn epoch_done(&self, done: usize, total: usize) -> bool {
        self.started
            .call_once(|| self.progress.begin("umap", self.total));
        self.progress.advance(1);
        if done == total {
            self.progress.end();
        }
        !self.progress.cancelled()
    }
    fn snapshot_every(&self) -> usize {
        self.progress.snapshot_every()
    }
    fn snapshot(&self, epoch: usize, positions: &[Vec2]) {
        self.progress.layout_snapshot("umap", epoch, positions);
    }
}
