//! An open dataset in the window: the prepared cache, the map on the GPU, the layout shown
//! and its index, the detail pool, hotspots, selection and filter.

use glam::Vec2;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use crate::cache::{CacheDir, LayoutInfo, PreparedDataset};
use crate::cluster::{Bounds, Hotspots};
use crate::explore::Explorer;
use crate::explore::colour::Colouring;
use crate::explore::facets::Facet;
use crate::explore::hotspots::Edit;
use crate::explore::state::{FilterState, Outcome};
use crate::explore::tags::UserTags;
use crate::explore::views::{SavedCamera, View, Views};
use crate::layout::kind;
use crate::layout::meta::{LabelledLayout, MapLabel};
use crate::render::index::{LayoutIndex, Visible};
use crate::render::lod::{self, LodPool};
use crate::render::map::{DIMMED, DrawMode, HIDDEN, SELECTED, Style};
use crate::render::overlay::{Logo, read_logo};
use crate::render::{
    Camera, FrameState, Gpu, MapRenderer, MapScene, MapView, RenderError, cell_of,
};

/// How long a layout switch animates, seconds.
pub const TRANSITION_SECONDS: f32 = 1.0;
/// Edits Ctrl+Z can undo.
const UNDO_DEPTH: usize = 50;

/// How a lasso, a box or a click changes the selection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Combine {
    Replace,
    Add,
    Remove,
}

/// The state before an edit of the user's data, for Ctrl+Z.
enum Undo {
    Tags(UserTags),
    Hotspots(Option<Hotspots>),
}

/// An open, prepared dataset.
pub struct Session {
    pub prepared: Arc<PreparedDataset>,
    pub map: MapRenderer,
    pub index: LayoutIndex,
    half: Arc<[Vec2]>,
    pub lod: LodPool,
    pub logo: Option<Logo>,
    logo_path: Option<String>,
    pub current: String,
    /// Labels and outlines of the layout shown (metadata layouts).
    pub extras: Option<LabelledLayout>,
    transition: Option<Instant>,
    /// Positions of a layout still being computed are on screen (UMAP converging).
    pub live: bool,
    /// The catalog, the user's tags and the named hotspots: the one owner of each.
    pub explorer: Explorer,
    /// What the person filters by, and its evaluation (facet counts, what passes).
    pub filters: FilterState,
    pub outcome: Option<Outcome>,
    /// Bumped whenever `outcome` is evaluated again (the panels rebuild from it then).
    pub outcome_version: u64,
    /// Each hotspot's centre and extent in the layout shown.
    pub hotspot_boxes: Vec<Bounds>,
    /// The finer groups' boxes (zoom labels), as `hotspot_boxes`.
    finer_boxes: Vec<Bounds>,
    pub selection: Vec<bool>,
    pub selected: usize,
    /// Bumped whenever the selection changes (the panel rebuilds its thumbnails then).
    pub selection_version: u64,
    /// Bumped whenever the user's tags change.
    pub tags_version: u64,
    /// The filters, hovered hotspot and hiding the dimming was last computed for.
    dim_key: Option<(FilterState, Option<usize>, bool)>,
    /// Filtered-out images are hidden rather than dimmed.
    pub hide: bool,
    /// The field the images are coloured by, with its legend.
    pub colouring: Option<Colouring>,
    /// The dataset's saved views.
    pub views: Views,
    undo: Vec<Undo>,
    /// What the last culling was for: the camera, target size, style and state version.
    visible_key: Option<(Camera, (u32, u32), Style, u64)>,
    pub visible: Visible,
    /// The images of `visible` that want their detail level, most central first.
    wanted: Vec<u32>,
    /// Bumped whenever the hotspots are read again (the panel rebuilds its rows then).
    pub hotspots_version: u64,
    pub opened: Instant,
}

impl Session {
    /// Opens the prepared cache at `cache` and puts its first layout on the GPU.
    pub fn open(gpu: &Gpu, cache: &Path, format: wgpu::TextureFormat) -> Result<Self, RenderError> {
        let prepared = Arc::new(PreparedDataset::open(cache)?);
        let manifest = prepared.manifest();
        let current = kind::first_layout(manifest.layouts.keys().map(String::as_str))
            .ok_or_else(|| RenderError::Image("the dataset has no layout yet".into()))?;
        let MapScene {
            map,
            index,
            half,
            lod,
            extras,
        } = MapScene::open(gpu, &prepared, &current, format)?;
        let logo_path = manifest.logo.clone();
        let logo = load_logo(gpu, logo_path.as_deref(), format);
        let n = prepared.len();
        let explorer = Explorer::open(prepared.clone())?;
        let mut session = Self {
            prepared,
            map,
            index,
            half,
            lod,
            logo,
            logo_path,
            current,
            extras,
            transition: None,
            live: false,
            explorer,
            filters: FilterState::default(),
            outcome: None,
            outcome_version: 0,
            hotspot_boxes: Vec::new(),
            finer_boxes: Vec::new(),
            selection: vec![false; n],
            selected: 0,
            selection_version: 0,
            tags_version: 0,
            dim_key: None,
            hide: false,
            colouring: None,
            views: Views::default(),
            undo: Vec::new(),
            visible_key: None,
            visible: Visible::default(),
            wanted: Vec::new(),
            hotspots_version: 0,
            opened: Instant::now(),
        };
        session.load_hotspots();
        session.views = Views::load(session.cache_dir()).unwrap_or_else(|e| {
            eprintln!("clip-plot: the saved views are unreadable, left as they are: {e}");
            Views::default()
        });
        Ok(session)
    }

    pub fn cache_dir(&self) -> &CacheDir {
        &self.prepared.dir
    }

    /// The layouts on disk, as the manifest says now.
    pub fn has_layout(&self, name: &str) -> bool {
        self.prepared.manifest().layouts.contains_key(name)
    }

    /// Names of the layouts on disk.
    pub fn layout_names(&self) -> Vec<String> {
        self.prepared.layout_names()
    }

    /// The manifest on disk changed: true when the images themselves changed (the caller
    /// reopens the session); otherwise the manifest is swapped in (the dataset's one copy)
    /// and the layout shown reloaded when it changed.
    pub fn refresh(&mut self, gpu: &Gpu, name: &str) -> Result<bool, RenderError> {
        let manifest = self.cache_dir().read_manifest()?;
        let old = self.prepared.manifest();
        let same_images = manifest.image_count == self.prepared.len()
            && manifest.thumbs.as_ref().map(|t| &t.fingerprint)
                == old.thumbs.as_ref().map(|t| &t.fingerprint);
        if !same_images {
            return Ok(true);
        }
        let changed = |a: Option<&LayoutInfo>, b: Option<&LayoutInfo>| {
            a.map(|i| &i.fingerprint) != b.map(|i| &i.fingerprint)
        };
        let current_changed = changed(
            old.layouts.get(&self.current),
            manifest.layouts.get(&self.current),
        );
        let source = crate::cache::hotspot_source(&manifest);
        let hotspots_changed = changed(old.clusters.get(&source), manifest.clusters.get(&source));
        if manifest.logo != self.logo_path {
            self.logo = load_logo(gpu, manifest.logo.as_deref(), self.map.format());
            self.logo_path = manifest.logo.clone();
        }
        self.prepared.set_manifest(manifest);
        if hotspots_changed {
            self.load_hotspots();
        }
        if name == self.current && (current_changed || self.live) {
            let current = self.current.clone();
            self.live = false;
            self.switch_to(gpu, &current)?;
        }
        Ok(false)
    }

    fn load_hotspots(&mut self) {
        self.hotspots_version += 1;
        self.explorer.hotspots = crate::explore::hotspots::load(&self.prepared);
        // Undoing onto another clustering would bring back hotspots of the old one.
        self.undo.retain(|u| !matches!(u, Undo::Hotspots(_)));
        self.dim_key = None;
        (self.hotspot_boxes, self.finer_boxes) = self.boxes_for_current();
    }

    /// Renames hotspot `k` and remembers the name in the cache.
    pub fn rename_hotspot(&mut self, k: usize, name: &str) -> Result<(), String> {
        self.edit_hotspots(&Edit::Rename(k, name.to_string()))
    }

    /// Applies `edit` to the hotspots and saves them as the user's (Ctrl+Z undoes it).
    pub fn edit_hotspots(&mut self, edit: &Edit) -> Result<(), String> {
        let Some(old) = &self.explorer.hotspots else {
            return Err("this dataset has no hotspots yet".into());
        };
        let positions = self
            .prepared
            .layout(&self.prepared.hotspot_source())
            .map_err(|e| e.to_string())?;
        let new = crate::explore::hotspots::apply(old, edit, &positions)?;
        crate::explore::hotspots::save_edits(&self.prepared, &new)?;
        let old = self.explorer.hotspots.replace(new);
        self.push_undo(Undo::Hotspots(old));
        self.hotspots_changed();
        Ok(())
    }

    /// A new hotspot of the selected images, first in the list.
    pub fn hotspot_from_selection(&mut self, name: &str) -> Result<(), String> {
        let rows: Vec<usize> = self
            .selected_ids()
            .into_iter()
            .map(|i| i as usize)
            .collect();
        let name = if name.trim().is_empty() {
            format!("Selection of {}", rows.len())
        } else {
            name.to_string()
        };
        self.edit_hotspots(&Edit::FromRows(name, rows))
    }

    fn hotspots_changed(&mut self) {
        self.hotspots_version += 1;
        self.dim_key = None;
        self.outcome = None; // `hotspot:` terms see the change
        (self.hotspot_boxes, self.finer_boxes) = self.boxes_for_current();
    }

    fn push_undo(&mut self, undo: Undo) {
        if self.undo.len() == UNDO_DEPTH {
            self.undo.remove(0);
        }
        self.undo.push(undo);
    }

    /// Undoes the last tag or hotspot edit (saved again); what was undone, if anything.
    pub fn undo(&mut self) -> Result<Option<&'static str>, String> {
        match self.undo.pop() {
            None => Ok(None),
            Some(Undo::Tags(tags)) => {
                self.explorer
                    .restore_tags(tags)
                    .map_err(|e| e.to_string())?;
                self.tags_changed();
                Ok(Some("tag edit"))
            }
            Some(Undo::Hotspots(old)) => {
                if let Some(h) = &old {
                    crate::explore::hotspots::save_edits(&self.prepared, h)?;
                }
                self.explorer.hotspots = old;
                self.hotspots_changed();
                Ok(Some("hotspot edit"))
            }
        }
    }

    /// Each hotspot's and finer group's member box in the layout shown (for fly-to and
    /// labels).
    fn boxes_for_current(&self) -> (Vec<Bounds>, Vec<Bounds>) {
        let positions = self.index.positions();
        self.explorer
            .hotspots
            .as_ref()
            .map(|h| (h.boxes(positions), h.finer_boxes_where(positions, |_| true)))
            .unwrap_or_default()
    }

    /// Whether hotspots mean something in the layout shown (UMAP and its derivatives).
    pub fn hotspots_apply(&self) -> bool {
        kind::shows_hotspots(&self.current, &self.prepared.hotspot_source())
    }

    /// The camera that shows hotspot `k` in the layout shown.
    pub fn hotspot_camera(&self, k: usize) -> Option<Camera> {
        let bounds = *self.hotspot_boxes.get(k)?;
        Camera::around(bounds, 1.3, self.index.cell() * 4.0)
    }

    /// Labels for the layout shown: hotspot labels on UMAP-like layouts, else the layout's.
    pub fn labels(&self) -> Vec<MapLabel> {
        if self.hotspots_apply()
            && let Some(h) = &self.explorer.hotspots
        {
            return h.map_labels(&self.hotspot_boxes, &self.finer_boxes, self.index.cell());
        }
        self.extras
            .as_ref()
            .map(|e| e.labels.clone())
            .unwrap_or_default()
    }

    /// Animates to layout `name`.
    pub fn switch_to(&mut self, gpu: &Gpu, name: &str) -> Result<(), RenderError> {
        let manifest = self.prepared.manifest();
        let info = manifest
            .layouts
            .get(name)
            .ok_or_else(|| RenderError::Image(kind::missing_message(name, &self.layout_names())))?;
        let positions = self.cache_dir().read_layout(&info.file)?;
        let extras: Option<LabelledLayout> = info
            .extras
            .as_ref()
            .and_then(|f| self.cache_dir().read_json(f).ok());
        let cell = cell_of(extras.as_ref(), &positions);
        self.map.transition_to(gpu, &positions, cell);
        self.index = LayoutIndex::new(positions, cell, self.half.clone());
        self.extras = extras;
        self.current = name.to_string();
        self.transition = Some(Instant::now());
        self.visible_key = None;
        (self.hotspot_boxes, self.finer_boxes) = self.boxes_for_current();
        Ok(())
    }

    /// Shows intermediate positions of layout `name` as they converge.
    pub fn show_snapshot(&mut self, gpu: &Gpu, name: &str, positions: Vec<Vec2>) {
        if positions.len() != self.map.len() {
            return;
        }
        let cell = cell_of(None, &positions);
        if self.live && self.current == name {
            self.map.set_positions(gpu, &positions, cell);
        } else {
            self.map.transition_to(gpu, &positions, cell);
            self.transition = Some(Instant::now());
            self.current = name.to_string();
            self.extras = None;
            self.live = true;
        }
        self.index = LayoutIndex::new(positions, cell, self.half.clone());
        self.visible_key = None;
        (self.hotspot_boxes, self.finer_boxes) = self.boxes_for_current();
    }

    /// The eased transition progress now (1: settled).
    pub fn blend(&mut self) -> f32 {
        match self.transition {
            Some(start) => {
                let t = start.elapsed().as_secs_f32() / TRANSITION_SECONDS;
                if t >= 1.0 {
                    self.transition = None;
                    self.visible_key = None;
                    1.0
                } else {
                    crate::render::ease(t)
                }
            }
            None => 1.0,
        }
    }

    pub fn transitioning(&self) -> bool {
        self.transition.is_some()
    }

    /// Culls for `camera` and streams detail for what is large on screen; true while more
    /// detail is on its way (keep drawing).
    pub fn prepare_frame(
        &mut self,
        gpu: &Gpu,
        view: &mut MapView,
        frame: &FrameState,
        size: (u32, u32),
    ) -> bool {
        if frame.blend < 1.0 || self.live {
            view.set_visible(gpu, None);
            self.visible_key = None;
            self.visible = Visible {
                count: self.map.len(),
                ..Visible::default()
            };
            return false;
        }
        // Drawn as dots, the images' state counts too: hidden ones cover nothing.
        let dots = self.map.draw_mode(frame, size) != DrawMode::Textured;
        let state = if dots { self.map.state_version() } else { 0 };
        let key = (frame.camera, size, frame.style, state);
        if self.visible_key != Some(key) {
            self.visible = view.cull(gpu, &self.map, &self.index, frame, size);
            self.wanted = lod::wanted(&self.visible, &self.index, &frame.camera);
            self.visible_key = Some(key);
        }
        let uploaded = self.lod.update(gpu, &mut self.map, &self.wanted, 24);
        uploaded > 0 || self.lod.pending() > 0
    }

    /// Forgets the culling of the last frame (after an offscreen render changed it).
    pub fn invalidate_visible(&mut self) {
        self.visible_key = None;
    }

    /// The hotspots (with the user's names), when computed.
    pub fn hotspots(&self) -> Option<&Hotspots> {
        self.explorer.hotspots.as_ref()
    }

    /// Every metadata column's facet, typed on first use.
    pub fn facets(&self) -> &[Facet] {
        self.explorer.facets()
    }

    /// Sets what the person filters by; evaluated (and the map dimmed) on the next frame.
    pub fn set_filters(&mut self, filters: FilterState) {
        self.filters = filters;
    }

    /// Dims what the filters do not let through and, while a hotspot is hovered in the
    /// list, everything outside it. Evaluates only when something changed.
    /// `want_counts`: the facets are shown, so evaluate (and count) even with no filter.
    pub fn update_dimming(&mut self, hovered_hotspot: Option<usize>, want_counts: bool) {
        let needed = want_counts || !self.filters.is_empty();
        let same = self.dim_key.as_ref().is_some_and(|(f, h, hide)| {
            *f == self.filters && *h == hovered_hotspot && *hide == self.hide
        });
        // Runs every frame: nothing is cloned or evaluated unless something changed.
        if same && (self.outcome.is_some() || !needed) {
            return;
        }
        let key = (self.filters.clone(), hovered_hotspot, self.hide);
        let filters_changed = self.dim_key.as_ref().map(|k| &k.0) != Some(&self.filters)
            || (self.outcome.is_none() && needed);
        if filters_changed {
            self.outcome = if needed {
                Some(
                    self.filters
                        .evaluate(&self.explorer, self.explorer.facets()),
                )
            } else {
                None
            };
            self.outcome_version += 1;
        }
        let member = hovered_hotspot.and_then(|k| {
            let h = self.explorer.hotspots.as_ref()?;
            Some((h.hotspots.get(k)?.id as i32, &h.assignment))
        });
        let pass = self.outcome.as_ref().map(|o| &o.pass);
        let filtered = |i: usize| pass.is_some_and(|p| !p.get(i));
        let outside = |i: usize| member.is_some_and(|(id, a)| a.get(i) != Some(&id));
        let hide = self.hide;
        let flags: Vec<(bool, bool)> = (0..self.map.len())
            .map(|i| {
                let out = filtered(i);
                (outside(i) || (out && !hide), out && hide)
            })
            .collect();
        self.map.set_flags(DIMMED, |i| flags[i].0);
        self.map.set_flags(HIDDEN, |i| flags[i].1);
        self.dim_key = Some(key);
    }

    /// Colours the images by metadata column `column` (None: not at all).
    pub fn set_colour_by(&mut self, gpu: &Gpu, column: Option<&str>) -> Result<(), String> {
        self.colouring = match column {
            None => None,
            Some(c) => {
                let facets = self.explorer.facets();
                Some(
                    crate::explore::colour::colour_by(self.explorer.catalog(), facets, c)
                        .ok_or_else(|| {
                            format!("'{c}' cannot colour the map (no such column, or free text)")
                        })?,
                )
            }
        };
        match &self.colouring {
            Some(c) => self.map.set_colours(gpu, Some(&c.index), &c.palette),
            None => self.map.set_colours(gpu, None, &[]),
        }
        Ok(())
    }

    /// Whether image `i` is drawn (not hidden by the filters).
    pub fn shown(&self, i: usize) -> bool {
        !self.map.flag(i, HIDDEN)
    }

    /// What the map shows now, as a view called `name` (`camera`: the window's).
    pub fn view_now(&self, name: &str, camera: Camera) -> View {
        View {
            name: name.to_string(),
            layout: self.current.clone(),
            camera: Some(SavedCamera {
                centre: camera.centre,
                span: camera.span,
            }),
            filters: self.filters.clone(),
            colour_by: self.colouring.as_ref().map(|c| c.column.clone()),
            hide: self.hide,
        }
    }

    /// Saves what the map shows as view `name` (replacing one of that name).
    pub fn save_view(&mut self, name: &str, camera: Camera) -> Result<(), String> {
        let view = self.view_now(name, camera);
        self.views.put(view)?;
        self.views.save(self.cache_dir()).map_err(|e| e.to_string())
    }

    /// Remembers what the map shows as the view to come back to on reopening.
    pub fn save_last_view(&mut self, camera: Camera) -> Result<(), String> {
        self.views.last = Some(self.view_now("last", camera));
        self.views.save(self.cache_dir()).map_err(|e| e.to_string())
    }

    /// Shows `view`: its layout, filters, colouring and hiding; its camera is returned for
    /// the window to fly to.
    pub fn apply_view(&mut self, gpu: &Gpu, view: &View) -> Result<Option<Camera>, String> {
        if view.layout != self.current {
            self.switch_to(gpu, &view.layout)
                .map_err(|e| e.to_string())?;
        }
        self.filters = view.filters.clone();
        self.hide = view.hide;
        // A column gone since (other metadata) leaves the map uncoloured, not the view unopened.
        if let Err(e) = self.set_colour_by(gpu, view.colour_by.as_deref()) {
            eprintln!("clip-plot: view '{}': {e}", view.name);
            self.set_colour_by(gpu, None)?;
        }
        Ok(view.camera.map(|c| Camera {
            centre: c.centre,
            span: c.span,
        }))
    }

    /// The images the filters let through, in image order (all when none is set).
    pub fn matches(&self) -> Vec<usize> {
        match &self.outcome {
            Some(o) => o.pass.ones().collect(),
            None => (0..self.map.len()).collect(),
        }
    }

    /// The camera that shows images `ids` in the layout shown.
    pub fn camera_for(&self, ids: &[usize]) -> Option<Camera> {
        let positions = self.index.positions();
        let [lo, hi] = crate::layout::bounds(ids.iter().filter_map(|&i| positions.get(i).copied()));
        Camera::around((lo, hi), 1.2, self.index.cell() * 6.0)
    }

    /// Adds (`on`) or removes tag `name` on the selection; how many images changed.
    pub fn tag_selection(&mut self, name: &str, on: bool) -> Result<usize, String> {
        let ids: Vec<usize> = self
            .selected_ids()
            .into_iter()
            .map(|i| i as usize)
            .collect();
        self.tag_rows(name, &ids, on)
    }

    /// Adds (`on`) or removes tag `name` on images `rows` (Ctrl+Z undoes it).
    pub fn tag_rows(&mut self, name: &str, rows: &[usize], on: bool) -> Result<usize, String> {
        let before = self.explorer.tags.clone();
        let changed = self
            .explorer
            .tag(name, rows.iter().copied(), on)
            .map_err(|e| e.to_string())?;
        if changed > 0 {
            self.push_undo(Undo::Tags(before));
            self.tags_changed();
        }
        Ok(changed)
    }

    fn tags_changed(&mut self) {
        self.tags_version += 1;
        self.dim_key = None; // `tag:` terms see the change
        self.outcome = None;
    }

    /// The user's tags on image `i`.
    pub fn tags_of(&self, i: usize) -> Vec<String> {
        let joined = self.explorer.tags.joined(i);
        joined
            .split('|')
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// Replaces (or extends) the selection.
    pub fn select(&mut self, ids: &[u32], add: bool) {
        self.select_with(ids, if add { Combine::Add } else { Combine::Replace });
    }

    /// Replaces the selection with `ids`, adds them or removes them; hidden images are
    /// left out.
    pub fn select_with(&mut self, ids: &[u32], how: Combine) {
        if how == Combine::Replace {
            self.selection.iter_mut().for_each(|s| *s = false);
        }
        for &i in ids {
            if how != Combine::Remove && !self.shown(i as usize) {
                continue;
            }
            if let Some(s) = self.selection.get_mut(i as usize) {
                *s = how != Combine::Remove;
            }
        }
        self.selected = self.selection.iter().filter(|s| **s).count();
        self.selection_version += 1;
        let selection = &self.selection;
        self.map.set_flags(SELECTED, |i| selection[i]);
    }

    pub fn selected_ids(&self) -> Vec<u32> {
        (0..self.selection.len() as u32)
            .filter(|&i| self.selection[i as usize])
            .collect()
    }

    /// Metadata of image `i` as (column, value), empty values left out.
    pub fn metadata_of(&self, i: usize) -> Vec<(String, String)> {
        let m = &self.prepared.metadata;
        (m.columns().iter().enumerate())
            .filter_map(|(c, name)| {
                let v = m.value(c, i).trim();
                (!v.is_empty()).then(|| (name.clone(), v.to_string()))
            })
            .collect()
    }

    /// The large thumbnail of image `i`, decoded.
    pub fn large_thumb(&self, i: usize) -> Option<image::RgbaImage> {
        let bytes = self.prepared.large_thumb_bytes(i).ok()?;
        image::load_from_memory(&bytes).ok().map(|d| d.to_rgba8())
    }
}

/// The dataset's logo, ready to draw (none when it has none or it cannot be read).
fn load_logo(gpu: &Gpu, path: Option<&str>, format: wgpu::TextureFormat) -> Option<Logo> {
    let image = read_logo(Path::new(path?))
        .map_err(|e| eprintln!("clip-plot: {e}"))
        .ok()?;
    Some(Logo::new(gpu, image, format))
}
