//! The window: winit's event loop owns the surface, egui (egui-winit for input, egui-wgpu to
//! draw the panels over the map), the open dataset ([`session::Session`]) and the
//! background jobs ([`jobs`]), and routes input to the panels or the map.

mod actions;
pub mod jobs;
pub mod session;

use glam::Vec2;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};
use std::time::Instant;

use rustc_hash::FxHashSet;
use winit::application::ApplicationHandler;
use winit::event::{ElementState, MouseButton, MouseScrollDelta, WindowEvent};
use winit::event_loop::{ActiveEventLoop, EventLoop, EventLoopProxy};
use winit::keyboard::{KeyCode, PhysicalKey};
use winit::window::{Window, WindowId};

use crate::dataset::DatasetOptions;
use crate::layout::kind;
use crate::layout::meta::MapLabel;
use crate::prepare::{PrepareOptions, cache_dir_for};
use crate::render::camera::CameraController;
use crate::render::text::{ToPoints, paint_labels};
use crate::render::{FrameState, Gpu, render_view};
use crate::ui::{self, HotspotRow, LayoutEntry, Lightbox, Preparing, Request, ViewState};
use jobs::{JobEvent, Notifier, PrepareEvent, PrepareSlot, SaveKind};
use session::{Combine, Session};

/// How the window starts.
#[derive(Clone, Debug, Default)]
pub struct AppOptions {
    /// The dataset to open (prepared in the background as needed); `None` asks for a folder.
    pub prepare: Option<PrepareOptions>,
    /// Close after this many frames of the open dataset (the smoke test).
    pub exit_after_frames: Option<u64>,
    /// Before closing that way, save a screenshot here.
    pub screenshot_on_exit: Option<PathBuf>,
    /// Close after those frames even while preparing or animating.
    pub exit_early: bool,
    /// Open this saved view (else the view the window last closed on).
    pub view: Option<String>,
}

/// Opens the window and runs until it closes.
pub fn run(options: AppOptions) -> anyhow::Result<()> {
    let event_loop = EventLoop::<()>::with_user_event().build()?;
    let proxy = event_loop.create_proxy();
    let mut app = App::new(options, proxy);
    event_loop.run_app(&mut app)?;
    // However the window closed, it comes back as it was.
    if let Some(s) = &mut app.session
        && let Err(e) = s.save_last_view(app.camera.camera)
    {
        eprintln!("clip-plot: the view could not be remembered: {e}");
    }
    match app.fatal.take() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

struct Graphics {
    window: Arc<Window>,
    surface: wgpu::Surface<'static>,
    config: wgpu::SurfaceConfiguration,
    gpu: Gpu,
    egui_state: egui_winit::State,
    egui_renderer: egui_wgpu::Renderer,
    /// The map's frame state for this window (kept while datasets come and go).
    map_view: crate::render::MapView,
}

#[derive(Default)]
struct Pointer {
    /// Physical pixels, origin top left.
    pos: Option<Vec2>,
    pressed_at: Option<Vec2>,
    dragging: bool,
    last_move: Option<Instant>,
    /// Lasso (or box corner) points in layout space.
    lasso: Option<Vec<Vec2>>,
    /// Where a box selection started (layout space); the lasso holds its corners.
    box_start: Option<Vec2>,
    /// How the lasso or box being drawn changes the selection.
    combine: Option<Combine>,
    shift: bool,
    ctrl: bool,
    alt: bool,
}

struct App {
    options: AppOptions,
    gfx: Option<Graphics>,
    egui: egui::Context,
    ui: ViewState,
    session: Option<Session>,
    prepare_options: Option<PrepareOptions>,
    prepare: PrepareSlot,
    events: Receiver<JobEvent>,
    notifier: Notifier,
    camera: CameraController,
    pointer: Pointer,
    keys: FxHashSet<KeyCode>,
    hover: Option<u32>,
    /// The window's part left for the map (x, y, width, height; physical pixels).
    map_rect: [u32; 4],
    last_frame: Instant,
    session_frames: u64,
    /// The session's filter outcome version the panels show.
    outcome_seen: u64,
    /// Which match `n`/`N` went to last.
    match_cursor: usize,
    /// The session's hotspots version the panel's rows were built from.
    hotspot_rows_version: Option<u64>,
    /// The selection version and page the selection thumbnails were built from.
    selection_seen: Option<(u64, usize)>,
    /// The tags and outcome versions the tag counts were made from.
    tags_seen: Option<(u64, u64)>,
    take_away: Option<actions::TakeAway>,
    /// The saved view asked for on the command line was shown (or failed).
    view_applied: bool,
    /// A dataset was opened: show its first view once the map's size is known (a restored
    /// view's camera wins).
    first_fit: bool,
    started: Instant,
    first_frame_reported: bool,
    reported_failures: usize,
    fatal: Option<anyhow::Error>,
}

impl App {
    fn new(options: AppOptions, proxy: EventLoopProxy<()>) -> Self {
        let (send, events) = channel();
        let wake_proxy = proxy.clone();
        let notifier = Notifier::new(
            send,
            Arc::new(move || {
                let _ = wake_proxy.send_event(());
            }),
        );
        Self {
            prepare_options: options.prepare.clone(),
            options,
            gfx: None,
            egui: egui::Context::default(),
            ui: ViewState::default(),
            session: None,
            prepare: PrepareSlot::default(),
            events,
            notifier,
            camera: CameraController::default(),
            pointer: Pointer::default(),
            keys: FxHashSet::default(),
            hover: None,
            map_rect: [0, 0, 1, 1],
            last_frame: Instant::now(),
            session_frames: 0,
            hotspot_rows_version: None,
            selection_seen: None,
            tags_seen: None,
            take_away: None,
            view_applied: false,
            first_fit: false,
            outcome_seen: 0,
            match_cursor: 0,
            started: Instant::now(),
            first_frame_reported: false,
            reported_failures: 0,
            fatal: None,
        }
    }

    fn init_graphics(&mut self, event_loop: &ActiveEventLoop) -> anyhow::Result<()> {
        let attributes = Window::default_attributes()
            .with_title("clip-plot")
            .with_inner_size(winit::dpi::LogicalSize::new(1280.0, 800.0));
        let window = Arc::new(event_loop.create_window(attributes)?);
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_with_display_handle_from_env(
                Box::new(event_loop.owned_display_handle()),
            ));
        let surface = instance.create_surface(window.clone())?;
        let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            force_fallback_adapter: false,
            compatible_surface: Some(&surface),
            ..Default::default()
        }))?;
        let (descriptor, bc) = Gpu::device_descriptor(&adapter);
        let (device, queue) = pollster::block_on(adapter.request_device(&descriptor))?;
        let gpu = Gpu::from_parts(&adapter, device, queue, bc);
        let size = window.inner_size();
        let caps = surface.get_capabilities(&adapter);
        let format = caps
            .formats
            .iter()
            .copied()
            .find(|f| f.is_srgb())
            .or_else(|| caps.formats.first().copied())
            .ok_or_else(|| anyhow::anyhow!("the window surface offers no colour format"))?;
        let config = wgpu::SurfaceConfiguration {
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT,
            format,
            color_space: Default::default(),
            width: size.width.max(1),
            height: size.height.max(1),
            present_mode: wgpu::PresentMode::AutoVsync,
            desired_maximum_frame_latency: 2,
            alpha_mode: caps
                .alpha_modes
                .first()
                .copied()
                .unwrap_or(wgpu::CompositeAlphaMode::Auto),
            view_formats: vec![],
        };
        surface.configure(&gpu.device, &config);
        let egui_state = egui_winit::State::new(
            self.egui.clone(),
            egui::ViewportId::ROOT,
            &window,
            Some(window.scale_factor() as f32),
            None,
            Some(gpu.max_texture as usize),
        );
        let egui_renderer = egui_wgpu::Renderer::new(&gpu.device, format, Default::default());
        let map_view = crate::render::MapView::new(&gpu, format);
        self.gfx = Some(Graphics {
            window,
            surface,
            config,
            gpu,
            egui_state,
            egui_renderer,
            map_view,
        });
        match self.prepare_options.clone() {
            Some(options) => self.open_dataset(options),
            None => {
                // The empty map says how to open a folder whatever the dialog does (under
                // Xvfb or without a portal it cannot open: the window stays up).
                self.ui.welcome = true;
                jobs::pick_folder(self.notifier.clone());
            }
        }
        Ok(())
    }

    /// Opens a dataset: at once when its cache has a manifest (a prepared dataset shows in
    /// under a second), and prepares what is missing in the background either way.
    fn open_dataset(&mut self, options: PrepareOptions) {
        self.prepare.abandon();
        self.session = None;
        // Each dataset comes back as it was closed (`--view` named one for the first).
        self.view_applied = false;
        self.ui = ViewState {
            style: self.ui.style,
            show_panels: self.ui.show_panels,
            welcome: false,
            n_neighbors: options.umap.n_neighbors,
            min_dist: options.umap.min_dist,
            ..ViewState::default()
        };
        self.ui.dataset_name = options
            .dataset
            .root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| options.dataset.root.display().to_string());
        if let Some(g) = &self.gfx {
            g.window
                .set_title(&format!("{} — clip-plot", self.ui.dataset_name));
        }
        // Reset before opening: the session's restored view sets its own camera.
        self.camera = CameraController::default();
        let cache = cache_dir_for(&options.dataset);
        if cache.join("manifest.json").is_file() {
            self.open_session(&cache);
        }
        self.prepare.start(options.clone(), self.notifier.clone());
        self.prepare_options = Some(options);
    }

    fn open_session(&mut self, cache: &std::path::Path) {
        let Some(g) = &self.gfx else {
            return;
        };
        match Session::open(&g.gpu, cache, g.config.format) {
            Ok(s) => {
                self.ui.current = s.current.clone();
                self.session = Some(s);
                self.session_frames = 0;
                self.first_fit = true;
                self.hotspot_rows_version = None;
                self.selection_seen = None;
                self.tags_seen = None;
                self.sync_ui_lists();
                self.sync_views();
                self.restore_view();
                self.sync_colouring();
            }
            Err(e) => self.ui.status.message = Some(e.to_string()),
        }
    }

    /// Flies to the layout's first view (its robust bounds) over `duration` seconds.
    fn fit_view(&mut self, duration: f32) {
        let size = (self.map_rect[2].max(1), self.map_rect[3].max(1));
        match &self.session {
            Some(s) => self.camera.fly_to(s.index.fit(size), duration),
            None => self.camera.fit_all(duration),
        }
    }

    /// Shows the view asked for with `--view`, once; else the one the window closed on.
    fn restore_view(&mut self) {
        if self.view_applied {
            return;
        }
        let Some(s) = &self.session else {
            return;
        };
        let wanted = match &self.options.view {
            Some(name) => Some(name.clone()),
            None => s.views.last.as_ref().map(|_| String::new()),
        };
        let Some(name) = wanted else {
            self.view_applied = true;
            return;
        };
        let view = if name.is_empty() {
            s.views.last.clone()
        } else {
            match s.views.get(&name) {
                Ok(v) => Some(v.clone()),
                Err(e) => {
                    self.ui.status.message = Some(e);
                    self.view_applied = true;
                    return;
                }
            }
        };
        // A view on a layout still being computed waits for it.
        let Some(view) = view.filter(|v| s.has_layout(&v.layout)) else {
            return;
        };
        self.view_applied = true;
        self.options.view = None;
        let (Some(g), Some(s)) = (&self.gfx, &mut self.session) else {
            return;
        };
        match s.apply_view(&g.gpu, &view) {
            Ok(camera) => {
                self.ui.current = s.current.clone();
                self.ui.search = s.filters.search.clone();
                self.ui.hide = s.hide;
                if let Some(c) = camera {
                    self.camera.camera = c;
                    self.camera.stop();
                    self.first_fit = false;
                }
            }
            Err(e) => self.ui.status.message = Some(e),
        }
    }

    /// Layout and hotspot lists in the panels from the session.
    fn sync_ui_lists(&mut self) {
        let Some(s) = &self.session else {
            return;
        };
        let mut layouts: Vec<LayoutEntry> = s
            .layout_names()
            .into_iter()
            .map(|name| LayoutEntry { name, ready: true })
            .collect();
        if self.prepare.running() {
            for name in kind::PENDING_WHILE_PREPARING {
                if !s.has_layout(name) {
                    layouts.push(LayoutEntry {
                        name: name.into(),
                        ready: false,
                    });
                }
            }
        }
        // The embedding layouts first, then the metadata ones.
        layouts.sort_by_key(|l| kind::order(&l.name));
        self.ui.layouts = layouts;
        self.ui.current = s.current.clone();
        self.ui.status.total = s.map.len();
        if self.hotspot_rows_version == Some(s.hotspots_version) {
            return; // rows and their thumbnails are current
        }
        self.hotspot_rows_version = Some(s.hotspots_version);
        let rows: Vec<HotspotRow> = s
            .hotspots()
            .map(|h| {
                h.hotspots
                    .iter()
                    .map(|spot| HotspotRow {
                        label: spot.label.clone(),
                        size: spot.size,
                        texture: s.large_thumb(spot.medoid).map(|img| {
                            self.egui.load_texture(
                                format!("hotspot {}", spot.id),
                                color_image(&img),
                                egui::TextureOptions::LINEAR,
                            )
                        }),
                    })
                    .collect()
            })
            .unwrap_or_default();
        self.ui.hotspots = rows;
    }

    /// The panels' count, first matches and facets from the session's filter outcome.
    fn sync_outcome(&mut self) {
        let Some(s) = &self.session else {
            return;
        };
        let Some(o) = &s.outcome else {
            self.ui.search_status = None;
            self.ui.matches.clear();
            self.ui.facets.clear();
            return;
        };
        self.ui.search_status = Some(match &o.error {
            Some(e) => Err(e.clone()),
            None => Ok(o.pass.count()),
        });
        self.ui.facets = o.facets.clone();
        self.ui.matches = if s.filters.is_empty() {
            Vec::new()
        } else {
            o.pass
                .ones()
                .take(8)
                .map(|i| thumb_row(&self.egui, s, i, "match"))
                .collect()
        };
        self.match_cursor = 0;
    }

    /// Requests that change or use the filters and tags.
    fn handle_filter(&mut self, request: Request) -> Result<(), String> {
        let Some(s) = &mut self.session else {
            return Ok(());
        };
        let mut filters = s.filters.clone();
        match request {
            Request::SetSearch(text) => filters.search = text,
            Request::ToggleFacetValue(column, value) => filters.toggle_value(&column, &value),
            Request::SetFacetRange(column, lo, hi) => {
                filters
                    .facets
                    .insert(column, crate::explore::facets::FacetFilter::Range(lo, hi));
            }
            Request::ClearFacet(column) => {
                filters.facets.remove(&column);
            }
            Request::ClearFilters => filters = Default::default(),
            Request::FitToMatches => {
                if let Some(camera) = s.camera_for(&s.matches()) {
                    self.camera.fly_to(camera, 0.8);
                }
            }
            Request::StepMatch(step) => {
                let matches = s.matches();
                if !matches.is_empty() {
                    let n = matches.len() as i64;
                    let k = (self.match_cursor as i64 + i64::from(step)).rem_euclid(n) as usize;
                    self.match_cursor = k;
                    if let Some(camera) = s.camera_for(&matches[k..=k]) {
                        self.camera.fly_to(camera, 0.6);
                    }
                    self.hover = Some(matches[k] as u32);
                }
            }
            Request::TagSelection(name, on) => {
                let changed = s.tag_selection(&name, on)?;
                self.ui.status.message = Some(format!(
                    "{} tag '{}' {} {changed} images",
                    if on { "added" } else { "removed" },
                    name.trim(),
                    if on { "to" } else { "from" }
                ));
            }
            Request::MoreLikeThis(image) => {
                let query: Vec<usize> = match image {
                    Some(i) => vec![i],
                    None => s.selected_ids().into_iter().map(|i| i as usize).collect(),
                };
                let sims = s
                    .explorer
                    .similarity_to(&query)
                    .map_err(|e| e.to_string())?;
                let top = if self.ui.similar_by_threshold {
                    let mut top: Vec<(usize, f32)> =
                        crate::explore::similar::at_least(&sims, self.ui.similar_min)
                            .ones()
                            .map(|i| (i, sims[i]))
                            .collect();
                    top.sort_by(|a, b| b.1.total_cmp(&a.1));
                    top
                } else {
                    crate::explore::similar::top_k(&sims, self.ui.similar_k.max(1))
                };
                let ids: Vec<u32> = top.iter().map(|(i, _)| *i as u32).collect();
                s.select(&ids, false);
                self.ui.selected = s.selected;
                if let Some((_, worst)) = top.last() {
                    self.ui.status.message = Some(format!(
                        "selected the {} most similar images (similarity at least {worst:.2})",
                        ids.len()
                    ));
                }
                let ids: Vec<usize> = ids.iter().map(|&i| i as usize).collect();
                if let Some(camera) = s.camera_for(&ids) {
                    self.camera.fly_to(camera, 0.8);
                }
            }
            Request::FitToSelection => {
                let ids: Vec<usize> = s.selected_ids().into_iter().map(|i| i as usize).collect();
                if let Some(camera) = s.camera_for(&ids) {
                    self.camera.fly_to(camera, 0.8);
                }
            }
            _ => {}
        }
        s.set_filters(filters);
        Ok(())
    }

    fn poll_jobs(&mut self) {
        while let Ok(event) = self.events.try_recv() {
            match event {
                JobEvent::Prepare(generation, event) => {
                    if self.prepare.accepts(generation) {
                        self.prepare_event(generation, event);
                    }
                }
                JobEvent::FolderChosen(Some(folder)) => {
                    self.open_dataset(PrepareOptions::remembered(DatasetOptions {
                        root: folder,
                        ..Default::default()
                    }));
                }
                JobEvent::FolderChosen(None) => {
                    self.ui.welcome_note = Some(
                        "No folder was chosen (where no file-chooser portal runs, the dialog \
                         cannot open): drop a folder on this window, or start \
                         `clip-plot-view FOLDER`."
                            .into(),
                    );
                }
                JobEvent::Decoded(i, result) => {
                    if let Some(lb) = &mut self.ui.lightbox
                        && lb.image == i
                    {
                        match result {
                            Ok(img) => {
                                lb.texture = Some(self.egui.load_texture(
                                    "lightbox",
                                    color_image(&img),
                                    egui::TextureOptions::LINEAR,
                                ));
                                lb.full_resolution = true;
                            }
                            Err(e) => {
                                lb.full_resolution = true;
                                self.ui.status.message = Some(e);
                            }
                        }
                    }
                }
                JobEvent::SavePath(kind, Some(path)) => self.save(kind, path),
                JobEvent::SavePath(_, None) => {}
                JobEvent::Written(result) => {
                    self.ui.status.message = Some(result.unwrap_or_else(|e| e));
                }
                JobEvent::TakeAwayFolder(method, Some(folder)) => {
                    self.start_take_away(method, folder);
                }
                JobEvent::TakeAwayFolder(_, None) => {
                    self.ui.status.message = Some(
                        "no folder chosen, nothing copied (where no file-chooser portal runs, \
                         the dialog cannot open)"
                            .into(),
                    );
                }
                JobEvent::TakenAway(result) => {
                    self.take_away = None;
                    self.ui.status.message = Some(result.unwrap_or_else(|e| e));
                }
            }
        }
        if let Some((stage, done, total)) = self.prepare.progress() {
            self.ui.status.preparing = Some(Preparing { stage, done, total });
        }
    }

    /// An event of the current preparation.
    fn prepare_event(&mut self, generation: u64, event: PrepareEvent) {
        match event {
            PrepareEvent::LayoutReady(name) => self.layout_ready(&name),
            PrepareEvent::Snapshot(name, positions) => {
                if let (Some(g), Some(s)) = (&self.gfx, &mut self.session) {
                    // Converging positions show on the layout itself, or on PCA while
                    // nothing better exists yet.
                    let show =
                        s.current == name || (s.current == kind::PCA && !s.has_layout(&name));
                    if show {
                        s.show_snapshot(&g.gpu, &name, positions);
                        self.ui.current = s.current.clone();
                    }
                }
            }
            PrepareEvent::Finished(result) => {
                self.prepare.finished(generation);
                self.ui.status.preparing = None;
                match result {
                    Ok(report) => {
                        if self.session.is_none() {
                            self.open_session(&report.cache_dir);
                        }
                        if !report.skipped.is_empty() {
                            self.ui.status.message = Some(format!(
                                "{} images skipped (see `clip-plot-view prepare` for the list)",
                                report.skipped.len()
                            ));
                        }
                    }
                    Err(e) => self.ui.status.message = Some(e),
                }
                self.sync_ui_lists();
            }
        }
    }

    fn layout_ready(&mut self, name: &str) {
        let Some(g) = &self.gfx else {
            return;
        };
        let Some(options) = &self.prepare_options else {
            return;
        };
        let cache = cache_dir_for(&options.dataset);
        let reopen = match &mut self.session {
            None => true,
            Some(s) => match s.refresh(&g.gpu, name) {
                Ok(reopen) => reopen,
                Err(e) => {
                    self.ui.status.message = Some(e.to_string());
                    false
                }
            },
        };
        if reopen {
            self.open_session(&cache);
        }
        self.sync_ui_lists();
    }

    fn handle_requests(&mut self) {
        let requests = std::mem::take(&mut self.ui.requests);
        let any = !requests.is_empty();
        for request in requests {
            if let Err(e) = self.handle(request) {
                self.ui.status.message = Some(e);
            }
        }
        if any {
            self.sync_ui_lists(); // hotspot edits, undo
        }
    }

    fn handle(&mut self, request: Request) -> Result<(), String> {
        let Some(g) = &self.gfx else {
            return Ok(());
        };
        match request {
            Request::SwitchLayout(name) => {
                if let Some(s) = &mut self.session {
                    s.switch_to(&g.gpu, &name).map_err(|e| e.to_string())?;
                    self.ui.current = name;
                }
            }
            Request::RecomputeUmap {
                n_neighbors,
                min_dist,
            } => {
                if let Some(mut options) = self.prepare_options.clone() {
                    options.umap.n_neighbors = n_neighbors.max(2);
                    options.umap.min_dist = min_dist.max(0.0);
                    if let Some(s) = &mut self.session
                        && s.current != kind::UMAP
                        && s.has_layout(kind::UMAP)
                    {
                        s.switch_to(&g.gpu, kind::UMAP).map_err(|e| e.to_string())?;
                        self.ui.current = kind::UMAP.into();
                    }
                    // The running preparation (if any) is cancelled and its events ignored.
                    self.prepare.start(options.clone(), self.notifier.clone());
                    self.prepare_options = Some(options);
                }
            }
            Request::AddUmapVariant {
                n_neighbors,
                min_dist,
            } => {
                if let Some(mut options) = self.prepare_options.clone() {
                    let variant = crate::prepare::UmapVariant {
                        n_neighbors: n_neighbors.max(2),
                        min_dist: min_dist.max(0.0),
                    };
                    if !options.umap_variants.contains(&variant) {
                        options.umap_variants.push(variant);
                    }
                    self.ui.status.message = Some(format!(
                        "computing {} in the background",
                        kind::title(&kind::variant_name(variant.n_neighbors, variant.min_dist))
                    ));
                    self.prepare.start(options.clone(), self.notifier.clone());
                    self.prepare_options = Some(options);
                }
            }
            Request::FlyToHotspot(k) => {
                if let Some(s) = &self.session
                    && let Some(target) = s.hotspot_camera(k)
                {
                    self.camera.fly_to(target, 1.0);
                }
            }
            Request::RenameHotspot(k, name) => {
                if let Some(s) = &mut self.session {
                    s.rename_hotspot(k, &name)?;
                    if let Some(row) = self.ui.hotspots.get_mut(k) {
                        row.label = name;
                    }
                }
            }
            Request::OpenLightbox(i) => self.open_lightbox(i),
            Request::CloseLightbox => self.ui.lightbox = None,
            Request::OpenFolder => jobs::pick_folder(self.notifier.clone()),
            Request::Screenshot => jobs::pick_save_path(
                SaveKind::Screenshot,
                format!("{}-{}.png", self.ui.dataset_name, self.ui.current),
                self.notifier.clone(),
            ),
            Request::ExportSelection => jobs::pick_save_path(
                SaveKind::Selection,
                format!("{}-selection.csv", self.ui.dataset_name),
                self.notifier.clone(),
            ),
            Request::ClearSelection => {
                if let Some(s) = &mut self.session {
                    s.select(&[], false);
                    self.ui.selected = 0;
                }
            }
            Request::OpenInSystemViewer(source) => self.open_in_system_viewer(&source)?,
            Request::OpenUrl(url) => self.egui.open_url(egui::OpenUrl::new_tab(url)),
            Request::FitAll => self.fit_view(0.8),
            Request::CancelPrepare => self.prepare.cancel(),
            other @ (Request::SetSearch(_)
            | Request::ToggleFacetValue(..)
            | Request::SetFacetRange(..)
            | Request::ClearFacet(_)
            | Request::ClearFilters
            | Request::FitToMatches
            | Request::StepMatch(_)
            | Request::TagSelection(..)
            | Request::MoreLikeThis(_)
            | Request::FitToSelection) => self.handle_filter(other)?,
            other => self.handle_explore(other)?,
        }
        Ok(())
    }

    fn open_lightbox(&mut self, i: usize) {
        let Some(s) = &self.session else {
            return;
        };
        if i >= s.map.len() {
            return;
        }
        let load = |img: &image::RgbaImage, name: String| {
            self.egui
                .load_texture(name, color_image(img), egui::TextureOptions::LINEAR)
        };
        let cursor = self
            .ui
            .lightbox
            .as_ref()
            .and_then(|lb| lb.neighbours.iter().position(|(n, _)| *n == i).map(|_| lb))
            .and_then(|lb| lb.cursor);
        let neighbours: Vec<(usize, Option<egui::TextureHandle>)> = s
            .prepared
            .neighbours_of(i)
            .unwrap_or_default()
            .into_iter()
            .map(|n| n as usize)
            .filter(|&n| n != i && n < s.map.len())
            .map(|n| {
                (
                    n,
                    s.large_thumb(n)
                        .map(|img| load(&img, format!("neighbour {n}"))),
                )
            })
            .collect();
        let metadata = s.metadata_of(i);
        let permalink = metadata
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("permalink") || k.eq_ignore_ascii_case("url"))
            .and_then(|(_, v)| ui::web_link(v));
        let source = match s.prepared.source(i) {
            Ok(source) => source,
            Err(e) => {
                self.ui.status.message = Some(e.to_string());
                return;
            }
        };
        self.ui.lightbox = Some(Lightbox {
            image: i,
            title: s.prepared.images[i].to_string(),
            source: source.clone(),
            metadata,
            permalink,
            texture: s.large_thumb(i).map(|img| load(&img, "lightbox".into())),
            full_resolution: false,
            tags: s.tags_of(i),
            neighbours,
            cursor,
        });
        // Go there on the map, keeping the zoom when it already shows the image large.
        if let Some(p) = s.index.positions().get(i) {
            let span = self.camera.camera.span.min(s.index.cell() * 12.0);
            self.camera
                .fly_to(crate::render::Camera { centre: *p, span }, 0.6);
        }
        let max_side = self
            .gfx
            .as_ref()
            .map_or(2048, |g| g.gpu.max_texture.min(4096));
        jobs::decode_full(i, source, max_side, self.notifier.clone());
    }

    fn save(&mut self, kind: SaveKind, path: PathBuf) {
        let (Some(g), Some(s)) = (&self.gfx, &mut self.session) else {
            return;
        };
        match kind {
            SaveKind::Screenshot => {
                let size = (
                    self.map_rect[2] * self.ui.screenshot_scale.max(1),
                    self.map_rect[3] * self.ui.screenshot_scale.max(1),
                );
                let frame = FrameState {
                    camera: self.camera.camera,
                    blend: 1.0,
                    hover: None,
                    style: self.ui.style,
                };
                // The labels and the colour legend go into the picture, as on screen and
                // at the screen's size (times the screenshot scale).
                let annotations = crate::render::Annotations {
                    labels: s.labels(),
                    legend: s
                        .colouring
                        .as_ref()
                        .map(|c| (c.column.clone(), legend_items(c))),
                    title: None,
                };
                let picture = crate::render::Picture {
                    text_scale: g.window.scale_factor() as f32
                        * self.ui.screenshot_scale.max(1) as f32,
                    ..crate::render::Picture::new(frame, size, &annotations)
                };
                let result = render_view(
                    &g.gpu,
                    &mut s.map,
                    &s.index,
                    Some(&mut s.lod),
                    s.logo.as_mut(),
                    &picture,
                );
                s.invalidate_visible();
                match result {
                    Ok(img) => jobs::save_png(img, path, self.notifier.clone()),
                    Err(e) => self.ui.status.message = Some(e.to_string()),
                }
            }
            SaveKind::Selection => {
                let ids = s.selected_ids();
                let result = crate::export::ExportTable::from_prepared(&s.prepared, &s.current)
                    .and_then(|t| t.subset(&ids).write(&path))
                    .map(|()| format!("exported {} images to {}", ids.len(), path.display()))
                    .map_err(|e| e.to_string());
                self.ui.status.message = Some(result.unwrap_or_else(|e| e));
            }
        }
    }

    /// Map input that egui did not take.
    fn map_event(&mut self, event: &WindowEvent) {
        if self.gfx.is_none() {
            return;
        }
        // egui knows where the pointer was at its last frame; a press that arrives with the
        // move before any frame (a jump, a touch) is placed by the map's own rectangle.
        let map_size = Vec2::new(self.map_rect[2] as f32, self.map_rect[3] as f32);
        let outside_map = (self.pointer.pos)
            .is_some_and(|p| p.cmplt(Vec2::ZERO).any() || p.cmpge(map_size).any());
        let over_ui =
            outside_map || self.egui.is_pointer_over_egui() || self.egui.egui_wants_pointer_input();
        match event {
            WindowEvent::ModifiersChanged(m) => {
                self.pointer.shift = m.state().shift_key();
                self.pointer.ctrl = m.state().control_key() || m.state().super_key();
                self.pointer.alt = m.state().alt_key();
            }
            WindowEvent::CursorMoved { position, .. } => {
                let origin = Vec2::new(self.map_rect[0] as f32, self.map_rect[1] as f32);
                self.pointer_moved(Vec2::new(position.x as f32, position.y as f32) - origin);
            }
            WindowEvent::CursorLeft { .. } => {
                self.pointer.pos = None;
                self.hover = None;
            }
            WindowEvent::MouseInput {
                state: ElementState::Pressed,
                button: MouseButton::Left,
                ..
            } if !over_ui => self.pointer_pressed(),
            WindowEvent::MouseInput {
                state: ElementState::Released,
                button: MouseButton::Left,
                ..
            } => self.pointer_released(),
            WindowEvent::MouseWheel { delta, .. } if !over_ui => {
                let size = (self.map_rect[2], self.map_rect[3]);
                let lines = match delta {
                    MouseScrollDelta::LineDelta(_, y) => *y,
                    MouseScrollDelta::PixelDelta(p) => p.y as f32 / 40.0,
                };
                let at = self
                    .pointer
                    .pos
                    .unwrap_or(Vec2::new(size.0 as f32, size.1 as f32) / 2.0);
                self.camera.zoom_at(at, 1.2f32.powf(lines), size);
            }
            WindowEvent::KeyboardInput { event, .. } => {
                if let PhysicalKey::Code(code) = event.physical_key {
                    if event.state == ElementState::Pressed {
                        if self.egui.egui_wants_keyboard_input() {
                            return;
                        }
                        self.keys.insert(code);
                        self.key_pressed(code, event.repeat);
                    } else {
                        self.keys.remove(&code);
                    }
                }
            }
            _ => {}
        }
    }

    /// The pointer moved to `pos` (map pixels): extends a lasso or box, or pans.
    fn pointer_moved(&mut self, pos: Vec2) {
        let size = (self.map_rect[2], self.map_rect[3]);
        let now = Instant::now();
        if let (Some(prev), Some(start)) = (self.pointer.pos, self.pointer.pressed_at) {
            let at = self.camera.to_layout(pos, size);
            if let (Some(lasso), Some(b)) = (&mut self.pointer.lasso, self.pointer.box_start) {
                *lasso = vec![b, Vec2::new(at.x, b.y), at, Vec2::new(b.x, at.y)];
            } else if let Some(lasso) = &mut self.pointer.lasso {
                lasso.push(at);
            } else {
                let delta = pos - prev;
                let dt = self
                    .pointer
                    .last_move
                    .map_or(1.0 / 60.0, |t| now.duration_since(t).as_secs_f32())
                    .max(1e-3);
                if pos.distance(start) > 4.0 {
                    self.pointer.dragging = true;
                }
                if self.pointer.dragging {
                    self.camera.drag(delta, dt, size);
                }
            }
        }
        self.pointer.pos = Some(pos);
        self.pointer.last_move = Some(now);
    }

    /// How a selection gesture combines with the selection, from the modifiers held.
    fn combine(&self) -> Combine {
        if self.pointer.alt {
            Combine::Remove
        } else if self.pointer.shift || self.pointer.ctrl {
            Combine::Add
        } else {
            Combine::Replace
        }
    }

    /// The button went down on the map: a lasso or box starts (by tool or modifier), or
    /// a pan or click.
    fn pointer_pressed(&mut self) {
        let size = (self.map_rect[2], self.map_rect[3]);
        self.pointer.pressed_at = self.pointer.pos;
        self.pointer.dragging = false;
        let modifier = self.pointer.shift || self.pointer.alt;
        let tool = self.ui.tool;
        if let Some(p) = self.pointer.pos
            && (tool != ui::Tool::Pan || modifier)
        {
            let at = self.camera.to_layout(p, size);
            self.pointer.lasso = Some(vec![at]);
            self.pointer.box_start = (tool == ui::Tool::Box).then_some(at);
            self.pointer.combine = Some(self.combine());
        }
        self.camera.stop();
    }

    /// The button came up: a lasso or box selects, a drag coasts, a click opens the image
    /// (Shift adds it to the selection, Alt removes it) or clears.
    fn pointer_released(&mut self) {
        let was_drag = self.pointer.dragging;
        let pressed = self.pointer.pressed_at.take();
        self.pointer.dragging = false;
        self.pointer.box_start = None;
        let combine = self.pointer.combine.take();
        if let Some(lasso) = self.pointer.lasso.take() {
            let moved = lasso.len() >= 3;
            if let Some(s) = &mut self.session
                && moved
            {
                let ids = s.index.lasso(&lasso);
                s.select_with(&ids, combine.unwrap_or(Combine::Replace));
                self.ui.selected = s.selected;
                return;
            }
        }
        if was_drag {
            // Held still before letting go: no coasting.
            if self
                .pointer
                .last_move
                .is_some_and(|t| t.elapsed().as_secs_f32() > 0.06)
            {
                self.camera.stop();
            }
            return;
        }
        if pressed.is_none() {
            return;
        }
        match (self.hover, self.combine()) {
            (Some(i), how @ (Combine::Add | Combine::Remove)) => {
                if let Some(s) = &mut self.session {
                    s.select_with(&[i], how);
                }
            }
            (Some(i), Combine::Replace) => {
                self.ui.requests.push(Request::OpenLightbox(i as usize));
            }
            (None, _) => {
                // A click on empty space closes the lightbox, or clears the selection
                // when there is none.
                if self.ui.lightbox.take().is_none() {
                    self.ui.requests.push(Request::ClearSelection);
                }
            }
        }
    }

    /// A key the panels did not take.
    fn key_pressed(&mut self, code: KeyCode, repeat: bool) {
        let size = (self.map_rect[2], self.map_rect[3]);
        let centre = Vec2::new(size.0 as f32, size.1 as f32) / 2.0;
        match code {
            KeyCode::Equal | KeyCode::NumpadAdd => self.camera.zoom_at(centre, 1.25, size),
            KeyCode::Minus | KeyCode::NumpadSubtract => self.camera.zoom_at(centre, 0.8, size),
            KeyCode::Home => self.fit_view(0.8),
            KeyCode::KeyP if !repeat => self.ui.requests.push(Request::Screenshot),
            KeyCode::Tab if !repeat => self.ui.show_panels = !self.ui.show_panels,
            KeyCode::Slash if self.pointer.shift => self.ui.show_help = !self.ui.show_help,
            KeyCode::Slash => {
                self.ui.show_panels = true;
                self.ui.focus_search = true;
            }
            KeyCode::KeyN => {
                let step = if self.pointer.shift { -1 } else { 1 };
                self.ui.requests.push(Request::StepMatch(step));
            }
            KeyCode::KeyZ if self.pointer.ctrl && !repeat => self.ui.requests.push(Request::Undo),
            KeyCode::KeyV => self.ui.tool = ui::Tool::Pan,
            KeyCode::KeyL => self.ui.tool = ui::Tool::Lasso,
            KeyCode::KeyB => self.ui.tool = ui::Tool::Box,
            KeyCode::Escape if self.ui.show_help => self.ui.show_help = false,
            KeyCode::Escape if self.ui.lightbox.is_none() => {
                self.ui.requests.push(Request::ClearSelection);
            }
            _ => {}
        }
    }

    /// Keyboard pan from the keys held (not while the lightbox uses the arrows).
    fn key_pan(&mut self, dt: f32) -> bool {
        if self.egui.egui_wants_keyboard_input() {
            return false;
        }
        let arrows = self.ui.lightbox.is_none();
        let d: Vec2 = (self.keys.iter())
            .map(|k| match k {
                KeyCode::KeyA => Vec2::NEG_X,
                KeyCode::KeyD => Vec2::X,
                KeyCode::KeyW => Vec2::Y,
                KeyCode::KeyS => Vec2::NEG_Y,
                KeyCode::ArrowLeft if arrows => Vec2::NEG_X,
                KeyCode::ArrowRight if arrows => Vec2::X,
                KeyCode::ArrowUp if arrows => Vec2::Y,
                KeyCode::ArrowDown if arrows => Vec2::NEG_Y,
                _ => Vec2::ZERO,
            })
            .sum();
        if d == Vec2::ZERO {
            return false;
        }
        self.camera.key_pan(d, dt);
        true
    }

    fn redraw(&mut self, event_loop: &ActiveEventLoop) {
        let now = Instant::now();
        let dt = now.duration_since(self.last_frame).as_secs_f32().min(0.1);
        self.last_frame = now;
        self.poll_jobs();
        let mut animating = self.key_pan(dt);
        if !self.pointer.dragging {
            animating |= self.camera.update(dt);
        }
        if self.gfx.is_none() {
            return;
        }
        self.update_hover();
        // Settled since the start of this frame, labels included (a transition may end
        // while the frame is drawn).
        let settled_before = self
            .session
            .as_ref()
            .is_some_and(|s| !s.transitioning() && !s.live);
        let Some(mut full) = self.run_panels() else {
            return;
        };
        self.handle_requests();
        self.sync_session();
        let Some(frame) = self.prepare_map(&mut animating) else {
            return;
        };
        let settled = settled_before
            && self
                .session
                .as_ref()
                .is_some_and(|s| !s.transitioning() && !s.live);
        let done = self.options.exit_early
            || (!self.prepare.running() && settled)
            || self.prepare_options.is_none();
        let last_frame = self
            .options
            .exit_after_frames
            .is_some_and(|limit| self.session_frames + 1 >= limit && done);
        if !self.present(&mut full, &frame, last_frame) {
            return;
        }
        self.count_frame(now, dt);
        if last_frame {
            event_loop.exit();
            return;
        }
        let repaint = full
            .viewport_output
            .get(&egui::ViewportId::ROOT)
            .is_some_and(|v| v.repaint_delay.is_zero());
        let busy = self.prepare.running() || self.options.exit_after_frames.is_some();
        if (animating || repaint || busy)
            && let Some(g) = &self.gfx
        {
            g.window.request_redraw();
        }
    }

    /// The image under the pointer, unless the pointer is on a panel.
    fn update_hover(&mut self) {
        let size = (self.map_rect[2].max(1), self.map_rect[3].max(1));
        self.hover = match (&self.session, self.pointer.pos) {
            (Some(s), Some(p))
                if !self.egui.is_pointer_over_egui()
                    && !s.transitioning()
                    && self.pointer.lasso.is_none() =>
            {
                s.index
                    .pick_where(
                        self.camera.to_layout(p, size),
                        self.ui.style.size_scale,
                        |i| s.shown(i),
                    )
                    .map(|i| i as u32)
            }
            _ => None,
        };
    }

    /// Runs the panels (and the labels over the map) for this frame; the map gets the
    /// part of the window they leave.
    fn run_panels(&mut self) -> Option<egui::FullOutput> {
        let g = self.gfx.as_mut()?;
        let size = (self.map_rect[2].max(1), self.map_rect[3].max(1));
        let raw = g.egui_state.take_egui_input(&g.window);
        let ppp = self.egui.pixels_per_point();
        let origin = [self.map_rect[0] as f32 / ppp, self.map_rect[1] as f32 / ppp];
        let mapping = ToPoints {
            camera: self.camera.camera,
            size_pt: egui::vec2(size.0 as f32, size.1 as f32) / ppp,
            origin: egui::pos2(origin[0], origin[1]),
        };
        let overlay = MapOverlay::new(&self.session, mapping, self.hover);
        let lasso = self.pointer.lasso.clone();
        let mut map_area = egui::Rect::NOTHING;
        let full = self.egui.run_ui(raw, |ui| {
            map_area = ui::overlay_ui(ui, &mut self.ui);
            overlay.paint(ui, lasso.as_deref());
        });
        self.map_rect = map_rect_of(
            map_area,
            full.pixels_per_point,
            (g.config.width, g.config.height),
        );
        g.egui_state
            .handle_platform_output(&g.window, full.platform_output.clone());
        Some(full)
    }

    /// The session's derived state for the panels: filters evaluated when they changed
    /// (the panels show the outcome next frame), a saved view waiting for its layout, the
    /// selection's thumbnails, tag counts.
    fn sync_session(&mut self) {
        if let Some(s) = &mut self.session {
            s.update_dimming(self.ui.hovered_hotspot, self.ui.facets_open);
            if s.outcome_version != self.outcome_seen {
                self.outcome_seen = s.outcome_version;
                self.sync_outcome();
            }
        }
        if !self.view_applied {
            self.restore_view();
        }
        if self.first_fit
            && self.map_rect[2] > 1
            && let Some(s) = &self.session
        {
            self.first_fit = false;
            let size = (self.map_rect[2], self.map_rect[3].max(1));
            self.camera.camera = s.index.fit(size);
            self.camera.stop();
        }
        self.sync_derived();
    }

    /// Culls and streams detail for this frame; the frame's state.
    fn prepare_map(&mut self, animating: &mut bool) -> Option<FrameState> {
        let g = self.gfx.as_mut()?;
        let size = (self.map_rect[2].max(1), self.map_rect[3].max(1));
        let mut frame = FrameState {
            camera: self.camera.camera,
            blend: 1.0,
            hover: self.hover,
            style: self.ui.style,
        };
        if let Some(s) = &mut self.session {
            frame.blend = s.blend();
            *animating |= s.transitioning() || s.live;
            *animating |= s.prepare_frame(&g.gpu, &mut g.map_view, &frame, size);
            self.ui.status.drawn = g.map_view.drawn(&s.map) as usize;
            self.ui.status.total = s.map.len();
            self.ui.status.gpu_bytes = s.map.gpu_bytes();
            self.ui.status.detail_resident = s.lod.resident();
            let failures = s.lod.failures().count();
            if failures > self.reported_failures {
                if let Some((i, why)) = s.lod.failures().next() {
                    eprintln!("clip-plot: the large thumbnail of image {i} is unusable: {why}");
                }
                self.reported_failures = failures;
            }
        }
        Some(frame)
    }

    /// Draws the map and panels into the window and presents them (and, on the last
    /// frame of a smoke test, saves the whole window); false when there was no frame.
    fn present(&mut self, full: &mut egui::FullOutput, frame: &FrameState, last: bool) -> bool {
        let Some(g) = &mut self.gfx else {
            return false;
        };
        for (id, deltas) in full.textures_delta.set.drain() {
            for delta in &deltas {
                g.egui_renderer
                    .update_texture(&g.gpu.device, &g.gpu.queue, id, delta);
            }
        }
        let freed: Vec<egui::TextureId> = full.textures_delta.free.drain().collect();
        let texture = match g.surface.get_current_texture() {
            wgpu::CurrentSurfaceTexture::Success(t)
            | wgpu::CurrentSurfaceTexture::Suboptimal(t) => t,
            other => {
                if matches!(
                    other,
                    wgpu::CurrentSurfaceTexture::Outdated | wgpu::CurrentSurfaceTexture::Lost
                ) {
                    g.surface.configure(&g.gpu.device, &g.config);
                }
                freed.iter().for_each(|id| g.egui_renderer.free_texture(id));
                g.window.request_redraw();
                return false;
            }
        };
        let view = texture.texture.create_view(&Default::default());
        let paint_jobs = self
            .egui
            .tessellate(std::mem::take(&mut full.shapes), full.pixels_per_point);
        let screen = egui_wgpu::ScreenDescriptor {
            size_in_pixels: [g.config.width, g.config.height],
            pixels_per_point: full.pixels_per_point,
        };
        let mut session = self.session.as_mut();
        let map_rect = self.map_rect;
        draw_frame(
            g,
            session.as_deref_mut(),
            frame,
            map_rect,
            &view,
            &paint_jobs,
            &screen,
        );
        if last && let Some(path) = self.options.screenshot_on_exit.clone() {
            let saved = save_window(g, session, frame, map_rect, &paint_jobs, &screen, &path);
            if let Err(e) = saved {
                self.fatal = Some(anyhow::anyhow!("screenshot {}: {e}", path.display()));
            } else {
                eprintln!("clip-plot: window saved to {}", path.display());
            }
        }
        g.window.pre_present_notify();
        g.gpu.queue.present(texture);
        for id in &freed {
            g.egui_renderer.free_texture(id);
        }
        true
    }

    /// The status line's figures, and the first frame's report.
    fn count_frame(&mut self, started: Instant, dt: f32) {
        let ms = started.elapsed().as_secs_f32() * 1000.0;
        let fps = if dt > 0.0 { 1.0 / dt } else { 0.0 };
        self.ui.status.fps = 0.9 * self.ui.status.fps + 0.1 * fps;
        self.ui.status.frame_ms = 0.9 * self.ui.status.frame_ms + 0.1 * ms;
        if self.session.is_none() && self.prepare_options.is_none() {
            self.session_frames += 1; // the empty map's frames count for --exit-after-frames
        }
        if let Some(s) = &self.session {
            self.session_frames += 1;
            if !self.first_frame_reported {
                self.first_frame_reported = true;
                eprintln!(
                    "clip-plot: first frame of {} images {:.2} s after opening ({:.2} s after start)",
                    s.map.len(),
                    s.opened.elapsed().as_secs_f64(),
                    self.started.elapsed().as_secs_f64()
                );
            }
        }
    }
}

/// The window's part left for the map, physical pixels (x, y, width, height), from the
/// egui rectangle `area` (points).
fn map_rect_of(area: egui::Rect, ppp: f32, window: (u32, u32)) -> [u32; 4] {
    let x = (area.min.x * ppp).round().clamp(0.0, window.0 as f32 - 1.0) as u32;
    let y = (area.min.y * ppp).round().clamp(0.0, window.1 as f32 - 1.0) as u32;
    [
        x,
        y,
        ((area.width() * ppp).round() as u32).clamp(1, window.0 - x),
        ((area.height() * ppp).round() as u32).clamp(1, window.1 - y),
    ]
}

/// The whole window, panels included, drawn once more offscreen and written to `path`.
fn save_window(
    g: &mut Graphics,
    session: Option<&mut Session>,
    frame: &FrameState,
    map_rect: [u32; 4],
    paint_jobs: &[egui::ClippedPrimitive],
    screen: &egui_wgpu::ScreenDescriptor,
    path: &std::path::Path,
) -> Result<(), String> {
    let size = (g.config.width, g.config.height);
    let target = crate::render::offscreen::Target::new(&g.gpu, size, g.config.format);
    draw_frame(
        g,
        session,
        frame,
        map_rect,
        &target.view,
        paint_jobs,
        screen,
    );
    let mut encoder = g.gpu.device.create_command_encoder(&Default::default());
    target.copy(&mut encoder);
    g.gpu.queue.submit([encoder.finish()]);
    let mut img = image::RgbaImage::new(size.0, size.1);
    target
        .read(&g.gpu, |y, row| {
            let start = (y * size.0 * 4) as usize;
            img.as_mut()[start..start + row.len()].copy_from_slice(row);
        })
        .map_err(|e| e.to_string())?;
    crate::render::offscreen::write_png(path, &img).map_err(|e| e.to_string())
}

/// Records and submits one frame into `view`: the map, the logo, the panels.
fn draw_frame(
    g: &mut Graphics,
    session: Option<&mut Session>,
    frame: &FrameState,
    map_rect: [u32; 4],
    view: &wgpu::TextureView,
    paint_jobs: &[egui::ClippedPrimitive],
    screen: &egui_wgpu::ScreenDescriptor,
) {
    let clear = frame.style.clear_colour();
    let mut encoder = g.gpu.device.create_command_encoder(&Default::default());
    let target = (view, (g.config.width, g.config.height));
    match session {
        Some(s) => {
            let load = wgpu::LoadOp::Clear(clear);
            g.map_view.draw_with(
                &g.gpu,
                &mut s.map,
                &mut encoder,
                target,
                map_rect,
                frame,
                load,
            );
            if let Some(logo) = &mut s.logo {
                let size = (map_rect[2], map_rect[3]);
                let tile = (0, 0, size.0, size.1);
                logo.draw_in(&g.gpu, &mut encoder, view, size, tile, Some(map_rect));
            }
        }
        None => {
            let _ =
                crate::render::colour_pass(&mut encoder, "empty", view, wgpu::LoadOp::Clear(clear));
        }
    }
    let extra = g.egui_renderer.update_buffers(
        &g.gpu.device,
        &g.gpu.queue,
        &mut encoder,
        paint_jobs,
        screen,
    );
    {
        let mut pass = crate::render::colour_pass(&mut encoder, "panels", view, wgpu::LoadOp::Load)
            .forget_lifetime();
        g.egui_renderer.render(&mut pass, paint_jobs, screen);
    }
    g.gpu
        .queue
        .submit(extra.into_iter().chain([encoder.finish()]));
}

/// The legend rows of a colouring, as pictures draw them.
pub fn legend_items(
    c: &crate::explore::colour::Colouring,
) -> Vec<crate::render::legend::LegendItem> {
    c.legend
        .iter()
        .map(|e| crate::render::legend::LegendItem {
            label: e.label.clone(),
            colour: e.colour,
            count: e.count,
        })
        .collect()
}

/// Image `i` as a row of thumbnails in a panel (its texture named `kind` and `i`).
fn thumb_row(egui: &egui::Context, s: &Session, i: usize, kind: &str) -> ui::MatchRow {
    ui::MatchRow {
        image: i,
        name: s.prepared.images[i].to_string(),
        texture: s.large_thumb(i).map(|img| {
            egui.load_texture(
                format!("{kind} {i}"),
                color_image(&img),
                egui::TextureOptions::LINEAR,
            )
        }),
    }
}

/// An egui image from an RGBA image.
fn color_image(img: &image::RgbaImage) -> egui::ColorImage {
    egui::ColorImage::from_rgba_unmultiplied(
        [img.width() as usize, img.height() as usize],
        img.as_raw(),
    )
}

/// Where layout points land in egui's points: the map's camera, size (pixels), origin
/// Labels, the hovered image's name and the lasso, painted by egui over the map.
struct MapOverlay {
    mapping: ToPoints,
    labels: Vec<MapLabel>,
    hover_name: Option<String>,
}

impl MapOverlay {
    fn new(session: &Option<Session>, mapping: ToPoints, hover: Option<u32>) -> Self {
        match session {
            Some(s) if !s.transitioning() && !s.live => Self {
                labels: s.labels(),
                hover_name: hover
                    .and_then(|i| s.prepared.images.get(i as usize).map(str::to_string)),
                mapping,
            },
            _ => Self {
                labels: Vec::new(),
                hover_name: None,
                mapping,
            },
        }
    }

    fn paint(&self, ui: &mut egui::Ui, lasso: Option<&[Vec2]>) {
        let painter = ui.ctx().layer_painter(egui::LayerId::new(
            egui::Order::Background,
            egui::Id::unique("map overlay"),
        ));
        // The same placement as in pictures, kept off the panels beside the map.
        let bounds = egui::Rect::from_min_size(self.mapping.origin, self.mapping.size_pt);
        paint_labels(
            &painter.with_clip_rect(bounds),
            &self.labels,
            &self.mapping,
            bounds,
        );
        if let Some(points) = lasso {
            let mut line: Vec<egui::Pos2> = points.iter().map(|p| self.mapping.apply(*p)).collect();
            if let Some(first) = line.first().copied() {
                line.push(first);
            }
            painter.add(egui::Shape::line(
                line,
                egui::Stroke::new(2.0, egui::Color32::from_rgb(245, 160, 30)),
            ));
        }
        if let Some(name) = &self.hover_name
            && let Some(p) = ui.ctx().pointer_hover_pos()
        {
            // On the labels' dark backdrop: white text alone vanishes over light images.
            let font = egui::FontId::proportional(14.0);
            let galley = painter.layout_no_wrap(name.clone(), font, egui::Color32::WHITE);
            let at = p + egui::vec2(14.0, 14.0);
            let backdrop = egui::Rect::from_min_size(at, galley.size()).expand(3.0);
            painter.rect_filled(backdrop, 4.0, egui::Color32::from_black_alpha(170));
            painter.galley(at, galley, egui::Color32::WHITE);
        }
    }
}

impl ApplicationHandler<()> for App {
    fn resumed(&mut self, event_loop: &ActiveEventLoop) {
        if self.gfx.is_none()
            && let Err(e) = self.init_graphics(event_loop)
        {
            self.fatal = Some(e.context("opening the window"));
            event_loop.exit();
        }
    }

    fn user_event(&mut self, _: &ActiveEventLoop, (): ()) {
        if let Some(g) = &self.gfx {
            g.window.request_redraw();
        }
    }

    fn window_event(&mut self, event_loop: &ActiveEventLoop, _: WindowId, event: WindowEvent) {
        let Some(g) = &mut self.gfx else {
            return;
        };
        let response = g.egui_state.on_window_event(&g.window, &event);
        // egui-winit asks a repaint for every RedrawRequested too; honouring that redrew
        // forever (an idle window cost a core). After a redraw, the frame itself decides
        // whether another is due (animation, egui's repaint delay, a job running).
        if response.repaint && !matches!(event, WindowEvent::RedrawRequested) {
            g.window.request_redraw();
        }
        match &event {
            WindowEvent::CloseRequested => {
                self.prepare.cancel();
                event_loop.exit();
                return;
            }
            WindowEvent::Resized(size) => {
                g.config.width = size.width.max(1);
                g.config.height = size.height.max(1);
                g.surface.configure(&g.gpu.device, &g.config);
                g.window.request_redraw();
            }
            WindowEvent::RedrawRequested => {
                self.redraw(event_loop);
                return;
            }
            WindowEvent::DroppedFile(path) => {
                if path.is_dir() {
                    self.open_dataset(PrepareOptions::remembered(DatasetOptions {
                        root: path.clone(),
                        ..Default::default()
                    }));
                } else {
                    self.ui.status.message = Some(format!(
                        "{} is a file: drop the folder that holds the images",
                        path.display()
                    ));
                }
                return;
            }
            _ => {}
        }
        if !response.consumed {
            self.map_event(&event);
        }
        if let Some(g) = &self.gfx {
            g.window.request_redraw();
        }
    }
}
