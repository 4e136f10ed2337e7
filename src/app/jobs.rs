//! Background work for the window: preparing a dataset (on the rayon pool, reporting
//! progress, layouts as they land and UMAP as it converges), decoding a lightbox image,
//! dialogs, writing screenshots. Each sends [`JobEvent`]s and wakes the event loop.

use glam::Vec2;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};

use crate::dataset::ImageSource;
use crate::explore::takeaway::{self, Method};
use crate::prepare::{PrepareError, PrepareOptions, PrepareReport, Progress, prepare};

/// What background work reports.
pub enum JobEvent {
    /// From the preparation of this generation (see [`PrepareSlot`]).
    Prepare(u64, PrepareEvent),
    /// The folder dialog closed (None: cancelled).
    FolderChosen(Option<PathBuf>),
    /// A lightbox image decoded at full resolution.
    Decoded(usize, Result<image::RgbaImage, String>),
    /// A save dialog closed: what to write there.
    SavePath(SaveKind, Option<PathBuf>),
    /// A file was written (or not).
    Written(Result<String, String>),
    /// The take-away folder dialog closed (None: cancelled).
    TakeAwayFolder(Method, Option<PathBuf>),
    /// A take-away ended: its one-line report.
    TakenAway(Result<String, String>),
}

/// What a preparation reports.
pub enum PrepareEvent {
    /// A layout (or "hotspots") is on disk and named by the manifest.
    LayoutReady(String),
    /// Intermediate positions of a layout being computed (UMAP converging).
    Snapshot(String, Vec<Vec2>),
    /// Preparation ended.
    Finished(Result<PrepareReport, String>),
}

/// What a save dialog was for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SaveKind {
    Screenshot,
    Selection,
}

/// Sends events and wakes the window.
#[derive(Clone)]
pub struct Notifier {
    send: Sender<JobEvent>,
    wake: Arc<dyn Fn() + Send + Sync>,
}

impl Notifier {
    pub fn new(send: Sender<JobEvent>, wake: Arc<dyn Fn() + Send + Sync>) -> Self {
        Self { send, wake }
    }

    pub fn send(&self, event: JobEvent) {
        if self.send.send(event).is_ok() {
            (self.wake)();
        }
    }
}

/// A running preparation: its progress for the status line and its cancel switch.
pub struct PrepareJob {
    pub progress: Arc<JobProgress>,
}

/// The window's one preparation at a time. Every start gets a new generation and cancels
/// the job before it; events carry their job's generation, and only the current
/// generation's are accepted, so a late event of a superseded job (its "cancelled" end, a
/// last snapshot) can neither clear nor move the new one.
#[derive(Default)]
pub struct PrepareSlot {
    generation: u64,
    job: Option<PrepareJob>,
}

impl PrepareSlot {
    /// Cancels the running job, if any, and starts `options` as the next generation.
    pub fn start(&mut self, options: PrepareOptions, notifier: Notifier) -> u64 {
        self.cancel();
        self.generation += 1;
        self.job = Some(start_prepare(options, self.generation, notifier));
        self.generation
    }

    /// Whether an event of `generation` is from the current job.
    pub fn accepts(&self, generation: u64) -> bool {
        generation == self.generation && self.job.is_some()
    }

    /// The current job ended (its `Finished` event was accepted).
    pub fn finished(&mut self, generation: u64) {
        if generation == self.generation {
            self.job = None;
        }
    }

    /// Asks the running job to stop; its end still arrives as an event.
    pub fn cancel(&self) {
        if let Some(job) = &self.job {
            job.progress.cancel();
        }
    }

    /// Cancels the running job and forgets it: nothing of it is accepted any more.
    pub fn abandon(&mut self) {
        self.cancel();
        self.job = None;
    }

    pub fn running(&self) -> bool {
        self.job.is_some()
    }

    /// (stage, done, total) of the running job.
    pub fn progress(&self) -> Option<(String, u64, u64)> {
        self.job.as_ref().map(|j| j.progress.now())
    }
}

/// Progress of a preparation as the window reads it each frame.
pub struct JobProgress {
    notifier: Notifier,
    generation: u64,
    stage: Mutex<String>,
    done: AtomicU64,
    total: AtomicU64,
    cancel: AtomicBool,
}

impl JobProgress {
    /// (stage, done, total).
    pub fn now(&self) -> (String, u64, u64) {
        let stage = self.stage.lock().map(|s| s.clone()).unwrap_or_default();
        (
            stage,
            self.done.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
        )
    }

    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

impl Progress for JobProgress {
    fn begin(&self, stage: &str, total: u64) {
        if let Ok(mut s) = self.stage.lock() {
            *s = stage.to_string();
        }
        self.done.store(0, Ordering::Relaxed);
        self.total.store(total, Ordering::Relaxed);
        (self.notifier.wake)();
    }
    fn advance(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
    }
    fn end(&self) {}
    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
    fn snapshot_every(&self) -> usize {
        5
    }
    fn layout_snapshot(&self, layout: &str, _epoch: usize, positions: &[Vec2]) {
        self.notifier.send(JobEvent::Prepare(
            self.generation,
            PrepareEvent::Snapshot(layout.to_string(), positions.to_vec()),
        ));
    }
    fn layout_ready(&self, name: &str) {
        self.notifier.send(JobEvent::Prepare(
            self.generation,
            PrepareEvent::LayoutReady(name.to_string()),
        ));
    }
}

/// Starts preparing `options` on a background thread (the stages use the rayon pool); its
/// events carry `generation`.
fn start_prepare(options: PrepareOptions, generation: u64, notifier: Notifier) -> PrepareJob {
    let progress = Arc::new(JobProgress {
        notifier: notifier.clone(),
        generation,
        stage: Mutex::new("scan".into()),
        done: AtomicU64::new(0),
        total: AtomicU64::new(0),
        cancel: AtomicBool::new(false),
    });
    let p = progress.clone();
    std::thread::spawn(move || {
        let result = prepare(&options, p.as_ref()).map_err(|e| match e {
            PrepareError::Cancelled => "preparation cancelled".to_string(),
            e => e.to_string(),
        });
        notifier.send(JobEvent::Prepare(
            generation,
            PrepareEvent::Finished(result),
        ));
    });
    PrepareJob { progress }
}

/// Decodes image `i` at `path` on the rayon pool, at most `max_side` pixels on its long
/// side (the GPU's texture limit for the lightbox).
pub fn decode_full(i: usize, source: ImageSource, max_side: u32, notifier: Notifier) {
    rayon::spawn(move || {
        let result = (source.read())
            .map_err(|e| e.to_string())
            .and_then(|bytes| crate::thumbs::decode::decode_bytes(&bytes, max_side))
            .and_then(|d| {
                let (w, h) = d.image.dimensions();
                let fit = crate::thumbs::fit_size(w, h, max_side);
                crate::thumbs::resize(&d.image, fit)
            })
            .map_err(|e| format!("{}: {e}", source.describe()));
        notifier.send(JobEvent::Decoded(i, result));
    });
}

/// Opens a folder dialog on its own thread.
pub fn pick_folder(notifier: Notifier) {
    std::thread::spawn(move || {
        let folder = rfd::FileDialog::new()
            .set_title("Open an image collection")
            .pick_folder();
        notifier.send(JobEvent::FolderChosen(folder));
    });
}

/// Asks on its own thread which folder to copy or link a selection into.
pub fn pick_take_away_folder(method: Method, notifier: Notifier) {
    std::thread::spawn(move || {
        let folder = rfd::FileDialog::new()
            .set_title(match method {
                Method::Copy => "Copy the selected images into…",
                Method::HardLink => "Hard-link the selected images into…",
            })
            .pick_folder();
        notifier.send(JobEvent::TakeAwayFolder(method, folder));
    });
}

/// Copies or links `images` (path in the dataset, where the bytes are) into `folder` on its
/// own thread, counting in `progress`; reports with [`JobEvent::TakenAway`].
pub fn take_away(
    images: Vec<(String, ImageSource)>,
    folder: PathBuf,
    method: Method,
    progress: Arc<takeaway::Progress>,
    notifier: Notifier,
) {
    std::thread::spawn(move || {
        let items: Vec<(&str, ImageSource)> = images
            .iter()
            .map(|(n, s)| (n.as_str(), s.clone()))
            .collect();
        let result = takeaway::take_away(&items, &folder, method, &progress)
            .map(|report| {
                for (name, why) in &report.failed {
                    eprintln!("clip-plot: not taken away: {name}: {why}");
                }
                report.summary(&folder)
            })
            .map_err(|e| format!("{}: {e}", folder.display()));
        notifier.send(JobEvent::TakenAway(result));
    });
}

/// Opens a save dialog on its own thread.
pub fn pick_save_path(kind: SaveKind, suggested: String, notifier: Notifier) {
    std::thread::spawn(move || {
        let dialog = rfd::FileDialog::new().set_file_name(&suggested);
        let dialog = match kind {
            SaveKind::Screenshot => dialog.add_filter("PNG image", &["png"]),
            SaveKind::Selection => dialog
                .add_filter("CSV", &["csv"])
                .add_filter("Parquet", &["parquet"]),
        };
        notifier.send(JobEvent::SavePath(kind, dialog.save_file()));
    });
}

/// Writes `image` as PNG at `path` (temp file, then rename) on a background thread.
pub fn save_png(image: image::RgbaImage, path: PathBuf, notifier: Notifier) {
    std::thread::spawn(move || {
        let result = crate::render::offscreen::write_png(&path, &image)
            .map(|()| {
                format!(
                    "saved {}×{} to {}",
                    image.width(),
                    image.height(),
                    path.display()
                )
            })
            .map_err(|e| format!("{}: {e}", path.display()));
        notifier.send(JobEvent::Written(result));
    });
}

/// Opens `target` (a file or URL) with the system's default application.
pub fn open_externally(target: &std::ffi::OsStr) -> Result<(), String> {
    let mut command = if cfg!(target_os = "macos") {
        std::process::Command::new("open")
    } else if cfg!(target_os = "windows") {
        let mut c = std::process::Command::new("cmd");
        c.args(["/C", "start", ""]);
        c
    } else {
        std::process::Command::new("xdg-open")
    };
    let program = command.get_program().to_string_lossy().into_owned();
    command.arg(target).spawn().map(|_| ()).map_err(|e| {
        format!(
            "could not start {program} to open {}: {e}",
            target.to_string_lossy()
        )
    })
}
