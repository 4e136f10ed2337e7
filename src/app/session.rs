//! An open dataset in the window: the prepared cache, the map on the GPU, the layout shown
//! and its index, the detail pool, hotspots, selection and filter.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use crate::cache::{CacheDir, LayoutInfo, PreparedDataset};
use crate::cluster::Hotspots;
use crate::explore::Explorer;
use crate::explore::facets::Facet;
use crate::explore::state::{FilterState, Outcome};
use crate::layout::kind;
use crate::layout::meta::{LabelledLayout, MapLabel};
use crate::render::index::{LayoutIndex, Visible, half_extents};
use crate::render::lod::{self, LodPool};
use crate::render::map::{DIMMED, SELECTED};
use crate::render::overlay::{Logo, read_logo};
use crate::render::{Camera, FrameState, Gpu, MapRenderer, RenderError, cell_of};

/// How long a layout switch animates, seconds.
pub const TRANSITION_SECONDS: f32 = 1.0;

/// An open, prepared dataset.
pub struct Session {
    pub prepared: Arc<PreparedDataset>,
    pub map: MapRenderer,
    pub index: LayoutIndex,
    half: Arc<[[f32; 2]]>,
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
    facets: Option<Vec<Facet>>,
    pub outcome: Option<Outcome>,
    /// Bumped whenever `outcome` is evaluated again (the panels rebuild from it then).
    pub outcome_version: u64,
    /// Each hotspot's centre and extent in the layout shown.
    pub hotspot_boxes: Vec<([f32; 2], [f32; 2])>,
    pub selection: Vec<bool>,
    pub selected: usize,
    /// Lower-cased file name and metadata of each image, built when the filter is first used.
    /// The filters and hovered hotspot the dimming was last computed for.
    dim_key: Option<(FilterState, Option<usize>)>,
    visible_key: Option<(Camera, (u32, u32), u32)>,
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
        let current = kind::FIRST_CHOICE
            .iter()
            .find(|n| manifest.layouts.contains_key(**n))
            .map(|n| n.to_string())
            .or_else(|| manifest.layouts.keys().next().cloned())
            .ok_or_else(|| RenderError::Image("the dataset has no layout yet".into()))?;
        let positions = prepared.layout(&current)?;
        let extras = prepared.layout_extras(&current);
        let cell = cell_of(extras.as_ref(), positions.len());
        let map = MapRenderer::new(gpu, &prepared, &positions, cell, format);
        let half = half_extents(&prepared);
        let index = LayoutIndex::new(positions, cell, half.clone());
        let lod = LodPool::new(prepared.clone(), gpu, &map);
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
            facets: None,
            outcome: None,
            outcome_version: 0,
            hotspot_boxes: Vec::new(),
            selection: vec![false; n],
            selected: 0,
            dim_key: None,
            visible_key: None,
            visible: Visible::default(),
            wanted: Vec::new(),
            hotspots_version: 0,
            opened: Instant::now(),
        };
        session.load_hotspots();
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
        let source = kind::HOTSPOT_SOURCE;
        let hotspots_changed = changed(old.clusters.get(source), manifest.clusters.get(source));
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
        self.dim_key = None;
        self.hotspot_boxes = self.boxes_for_current();
    }

    /// Renames hotspot `k` and remembers the name in the cache.
    pub fn rename_hotspot(&mut self, k: usize, name: &str) -> Result<(), String> {
        let Some(h) = &mut self.explorer.hotspots else {
            return Ok(());
        };
        let Some(spot) = h.hotspots.get_mut(k) else {
            return Ok(());
        };
        spot.label = name.to_string();
        crate::explore::hotspots::save_names(&self.prepared, h)
    }

    /// Each hotspot's member box in the layout shown (for fly-to and labels).
    fn boxes_for_current(&self) -> Vec<([f32; 2], [f32; 2])> {
        let Some(h) = &self.explorer.hotspots else {
            return Vec::new();
        };
        let mut boxes = vec![([f32::INFINITY; 2], [f32::NEG_INFINITY; 2]); h.hotspots.len()];
        let ids: Vec<usize> = h.hotspots.iter().map(|s| s.id as usize).collect();
        let slot_of: BTreeMap<usize, usize> =
            ids.iter().enumerate().map(|(k, id)| (*id, k)).collect();
        for (i, &c) in h.assignment.iter().enumerate() {
            let Some(&k) = usize::try_from(c).ok().and_then(|c| slot_of.get(&c)) else {
                continue;
            };
            let Some(p) = self.index.positions().get(i) else {
                continue;
            };
            let (lo, hi) = &mut boxes[k];
            for (a, v) in p.iter().enumerate() {
                lo[a] = lo[a].min(*v);
                hi[a] = hi[a].max(*v);
            }
        }
        boxes
    }

    /// Whether hotspots mean something in the layout shown (UMAP and its derivatives).
    pub fn hotspots_apply(&self) -> bool {
        kind::shows_hotspots(&self.current)
    }

    /// The camera that shows hotspot `k` in the layout shown.
    pub fn hotspot_camera(&self, k: usize) -> Option<Camera> {
        let (lo, hi) = *self.hotspot_boxes.get(k)?;
        if lo[0] > hi[0] {
            return None;
        }
        let span = ((hi[0] - lo[0]).max(hi[1] - lo[1]) * 1.3).max(self.index.cell() * 4.0);
        Some(Camera {
            centre: [(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0],
            span,
        })
    }

    /// Labels for the layout shown: hotspot labels on UMAP-like layouts, else the layout's.
    pub fn labels(&self) -> Vec<MapLabel> {
        if self.hotspots_apply()
            && let Some(h) = &self.explorer.hotspots
        {
            return h
                .hotspots
                .iter()
                .zip(&self.hotspot_boxes)
                .filter(|(_, (lo, hi))| lo[0] <= hi[0])
                .map(|(s, (lo, hi))| MapLabel {
                    text: s.label.clone(),
                    x: (lo[0] + hi[0]) / 2.0,
                    y: hi[1],
                    count: s.size,
                })
                .collect();
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
        let cell = cell_of(extras.as_ref(), positions.len());
        self.map.transition_to(gpu, &positions, cell);
        self.index = LayoutIndex::new(positions, cell, self.half.clone());
        self.extras = extras;
        self.current = name.to_string();
        self.transition = Some(Instant::now());
        self.visible_key = None;
        self.hotspot_boxes = self.boxes_for_current();
        Ok(())
    }

    /// Shows intermediate positions of layout `name` as they converge.
    pub fn show_snapshot(&mut self, gpu: &Gpu, name: &str, positions: Vec<[f32; 2]>) {
        if positions.len() != self.map.len() {
            return;
        }
        let cell = cell_of(None, positions.len());
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
        self.hotspot_boxes = self.boxes_for_current();
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
    pub fn prepare_frame(&mut self, gpu: &Gpu, frame: &FrameState, size: (u32, u32)) -> bool {
        if frame.blend < 1.0 || self.live {
            self.map.set_visible(gpu, None);
            self.visible_key = None;
            self.visible = Visible {
                count: self.map.len(),
                ..Visible::default()
            };
            return false;
        }
        let key = (frame.camera, size, frame.style.size_scale.to_bits());
        if self.visible_key != Some(key) {
            self.visible = self
                .index
                .visible(&frame.camera, size, frame.style.size_scale);
            self.map
                .set_visible(gpu, LayoutIndex::draw_list(&self.visible));
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
    pub fn facets(&mut self) -> &[Facet] {
        let explorer = &self.explorer;
        self.facets
            .get_or_insert_with(|| crate::explore::facets::facets(explorer.catalog()))
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
        let same = self
            .dim_key
            .as_ref()
            .is_some_and(|(f, h)| *f == self.filters && *h == hovered_hotspot);
        // Runs every frame: nothing is cloned or evaluated unless something changed.
        if same && (self.outcome.is_some() || !needed) {
            return;
        }
        let key = (self.filters.clone(), hovered_hotspot);
        let filters_changed = self.dim_key.as_ref().map(|k| &k.0) != Some(&self.filters)
            || (self.outcome.is_none() && needed);
        if filters_changed {
            self.outcome = if needed {
                self.facets();
                let facets = self.facets.as_deref().unwrap_or_default();
                Some(self.filters.evaluate(&self.explorer, facets))
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
        let dim: Vec<bool> = (0..self.map.len())
            .map(|i| {
                let filtered = pass.is_some_and(|p| !p.get(i));
                let outside = member.is_some_and(|(id, a)| a.get(i) != Some(&id));
                filtered || outside
            })
            .collect();
        self.map.set_flags(DIMMED, |i| dim[i]);
        self.dim_key = Some(key);
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
        let mut lo = [f32::INFINITY; 2];
        let mut hi = [f32::NEG_INFINITY; 2];
        for p in ids.iter().filter_map(|&i| positions.get(i)) {
            for a in 0..2 {
                lo[a] = lo[a].min(p[a]);
                hi[a] = hi[a].max(p[a]);
            }
        }
        if lo[0] > hi[0] {
            return None;
        }
        let span = ((hi[0] - lo[0]).max(hi[1] - lo[1]) * 1.2).max(self.index.cell() * 6.0);
        Some(Camera {
            centre: [(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0],
            span,
        })
    }

    /// Adds (`on`) or removes tag `name` on the selection; how many images changed.
    pub fn tag_selection(&mut self, name: &str, on: bool) -> Result<usize, String> {
        let ids: Vec<usize> = self
            .selected_ids()
            .into_iter()
            .map(|i| i as usize)
            .collect();
        let changed = self
            .explorer
            .tag(name, ids, on)
            .map_err(|e| e.to_string())?;
        self.dim_key = None; // `tag:` terms see the change
        self.outcome = None;
        Ok(changed)
    }

    /// Replaces (or extends) the selection.
    pub fn select(&mut self, ids: &[u32], add: bool) {
        if !add {
            self.selection.iter_mut().for_each(|s| *s = false);
        }
        for &i in ids {
            if let Some(s) = self.selection.get_mut(i as usize) {
                *s = true;
            }
        }
        self.selected = self.selection.iter().filter(|s| **s).count();
        let selection = &self.selection;
        self.map.set_flags(SELECTED, |i| selection[i]);
    }

    pub fn selected_ids(&self) -> Vec<u32> {
        (0..self.selection.len() as u32)
            .filter(|&i| self.selection[i as usize])
            .collect()
    }

    /// The image file of image `i`.
    pub fn image_path(&self, i: usize) -> PathBuf {
        Path::new(&self.prepared.manifest().images_dir).join(&self.prepared.images[i])
    }

    /// Metadata of image `i` as (column, value), empty values left out.
    pub fn metadata_of(&self, i: usize) -> Vec<(String, String)> {
        let m = &self.prepared.metadata;
        m.columns
            .iter()
            .zip(&m.cells)
            .filter_map(|(c, col)| {
                let v = col.get(i)?.trim();
                (!v.is_empty()).then(|| (c.clone(), v.to_string()))
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
