//! The egui panels. They read and edit [`ViewState`] and push [`Request`]s for the app to
//! carry out; they never touch wgpu, so they are tested headless with egui_kittest.
//! Functions that draw UI end in `_ui`.

use egui::{Color32, RichText};

use crate::render::Style;

mod colour;
mod duplicates;
mod hotspots;
mod lightbox;
mod search;
mod selection;
mod views;

pub use colour::{colour_ui, legend_ui};
pub use duplicates::{DuplicateGroup, duplicates_ui};
pub use hotspots::hotspots_ui;
pub use lightbox::lightbox_ui;
pub use search::{facets_ui, search_ui};
pub use selection::{SELECTION_PAGE, selection_ui};
pub use views::{SHORTCUTS, help_ui, views_ui};

/// What a drag on the map does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Tool {
    /// Pans (Shift-drag lassos, adding; Alt-drag lassos, removing).
    #[default]
    Pan,
    Lasso,
    Box,
}

/// Something the user asked for that the app must do (GPU work, files, jobs).
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    SwitchLayout(String),
    RecomputeUmap {
        n_neighbors: usize,
        min_dist: f32,
    },
    /// Keep UMAP as it is and add a layout with these parameters (PixPlot's variants).
    AddUmapVariant {
        n_neighbors: usize,
        min_dist: f32,
    },
    FlyToHotspot(usize),
    RenameHotspot(usize, String),
    OpenLightbox(usize),
    CloseLightbox,
    OpenFolder,
    Screenshot,
    ExportSelection,
    ClearSelection,
    OpenInSystemViewer(crate::dataset::ImageSource),
    OpenUrl(String),
    FitAll,
    CancelPrepare,
    /// The search box's text changed.
    SetSearch(String),
    /// A value of a facet was ticked or unticked.
    ToggleFacetValue(String, String),
    /// A facet's range brush (inclusive).
    SetFacetRange(String, f64, f64),
    ClearFacet(String),
    ClearFilters,
    /// Enter in the search box: show the matches.
    FitToMatches,
    /// `n` / `N`: fly to the next (+1) or previous (−1) match.
    StepMatch(i32),
    /// Add (true) or remove the tag on the selection.
    TagSelection(String, bool),
    FitToSelection,
    /// Select the images most similar to this one (None: to the selection's mean).
    MoreLikeThis(Option<usize>),
    /// Hotspot edits (delete, merge, reorder).
    EditHotspots(crate::explore::hotspots::Edit),
    /// A new hotspot of the selection, with this name (empty: a default).
    HotspotFromSelection(String),
    /// Ctrl+Z.
    Undo,
    /// Copy or link the selection's originals into a folder (a dialog asks which).
    TakeAway(crate::explore::takeaway::Method),
    CancelTakeAway,
    /// Untick one image of the selection.
    Deselect(usize),
    SelectImages(Vec<usize>),
    SelectionPage(usize),
    SetColourBy(Option<String>),
    /// A legend entry was clicked (its index).
    LegendClick(usize),
    SetHide(bool),
    SaveView(String),
    OpenView(String),
    DeleteView(String),
    /// Add (true) or remove a tag on one image (the lightbox).
    TagImage(usize, String, bool),
    /// Toggle `tag:NAME` in the search.
    ToggleTagFilter(String),
    FindDuplicates,
}

/// One image in the search box's list of first matches.
#[derive(Clone)]
pub struct MatchRow {
    pub image: usize,
    pub name: String,
    pub texture: Option<egui::TextureHandle>,
}

/// A layout the panel lists.
#[derive(Clone, Debug, PartialEq)]
pub struct LayoutEntry {
    pub name: String,
    /// False while it is still being computed.
    pub ready: bool,
}

/// One row of the hotspot list.
#[derive(Clone)]
pub struct HotspotRow {
    pub label: String,
    pub size: usize,
    /// The representative image's thumbnail.
    pub texture: Option<egui::TextureHandle>,
}

/// The lightbox's content.
#[derive(Clone)]
pub struct Lightbox {
    pub image: usize,
    pub title: String,
    /// Where the image's bytes are (its file, or a member of a tar shard).
    pub source: crate::dataset::ImageSource,
    /// Metadata as (column, value), empty values left out.
    pub metadata: Vec<(String, String)>,
    pub permalink: Option<String>,
    /// The full-resolution image once decoded (the large thumbnail until then).
    pub texture: Option<egui::TextureHandle>,
    pub full_resolution: bool,
    /// The user's tags on this image.
    pub tags: Vec<String>,
    /// Nearest neighbours: image index and thumbnail.
    pub neighbours: Vec<(usize, Option<egui::TextureHandle>)>,
    /// Which neighbour ←/→ last went to (None: none yet).
    pub cursor: Option<usize>,
}

/// Preparation in progress, as the status line shows it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Preparing {
    pub stage: String,
    /// Done / total of the stage (total 0: unknown).
    pub done: u64,
    pub total: u64,
}

/// Figures for the status line.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Status {
    pub fps: f32,
    pub frame_ms: f32,
    pub drawn: usize,
    pub total: usize,
    pub gpu_bytes: u64,
    pub detail_resident: usize,
    pub preparing: Option<Preparing>,
    /// The last message worth showing (an error, a file written).
    pub message: Option<String>,
}

/// What the panels show and edit.
pub struct ViewState {
    pub dataset_name: String,
    pub layouts: Vec<LayoutEntry>,
    pub current: String,
    pub n_neighbors: usize,
    pub min_dist: f32,
    pub hotspots: Vec<HotspotRow>,
    /// The hotspot the pointer is over in the list (its members stay bright).
    pub hovered_hotspot: Option<usize>,
    pub renaming: Option<(usize, String)>,
    pub style: Style,
    /// The search box's text (the filter language); sent with `SetSearch` when edited.
    pub search: String,
    /// `/` was pressed: the search box takes the keyboard.
    pub focus_search: bool,
    /// How many images the filters let through, or why the search text does not work.
    pub search_status: Option<Result<usize, String>>,
    /// The first matches, for the list under the search box.
    pub matches: Vec<MatchRow>,
    /// The selection's thumbnails on the page shown.
    pub selection_rows: Vec<MatchRow>,
    pub selection_page: usize,
    pub tool: Tool,
    /// A take-away in progress: done, total.
    pub take_away: Option<(usize, usize)>,
    /// Hotspot edit mode and the hotspots ticked in it.
    pub hotspot_edit: bool,
    pub hotspot_ticks: std::collections::BTreeSet<usize>,
    /// The column the map is coloured by, those it can be, and the legend.
    pub colour_by: Option<String>,
    pub colour_columns: Vec<String>,
    pub legend: Vec<crate::explore::colour::LegendEntry>,
    /// Which legend entries are filters now (outlined).
    pub legend_active: Vec<bool>,
    /// Filtered-out images hidden rather than dimmed.
    pub hide: bool,
    /// Saved views' names, and the name typed to save one.
    pub views: Vec<String>,
    pub view_name: String,
    /// The shortcut sheet is open.
    pub show_help: bool,
    /// Find similar: the top K, or everything at least this similar.
    pub similar_k: usize,
    pub similar_min: f32,
    pub similar_by_threshold: bool,
    /// Duplicate groups (None: the window is closed) and their threshold.
    pub duplicates: Option<Vec<DuplicateGroup>>,
    pub duplicate_min: f32,
    /// The user's tags: name, count under the filters, whether `tag:NAME` is searched.
    pub user_tags: Vec<(String, usize, bool)>,
    /// Facets with their cross-filtered counts (derived from the session every frame).
    pub facets: Vec<crate::explore::state::FacetView>,
    /// Whether the facets section is open (counts are computed only then).
    pub facets_open: bool,
    /// A value search inside long facet lists, per column.
    pub facet_search: std::collections::BTreeMap<String, String>,
    /// The tag name typed in the selection panel.
    pub tag_name: String,
    pub selected: usize,
    pub status: Status,
    pub lightbox: Option<Lightbox>,
    pub show_panels: bool,
    /// No dataset is open or being opened: the map shows how to open one.
    pub welcome: bool,
    /// Why the folder dialog gave nothing (no portal, cancelled), shown on the welcome.
    pub welcome_note: Option<String>,
    /// Screenshots are this many times the window's size.
    pub screenshot_scale: u32,
    pub requests: Vec<Request>,
}

impl Default for ViewState {
    fn default() -> Self {
        Self {
            dataset_name: String::new(),
            layouts: Vec::new(),
            current: String::new(),
            n_neighbors: 15,
            min_dist: 0.1,
            hotspots: Vec::new(),
            hovered_hotspot: None,
            renaming: None,
            style: Style::default(),
            search: String::new(),
            focus_search: false,
            search_status: None,
            matches: Vec::new(),
            selection_rows: Vec::new(),
            selection_page: 0,
            tool: Tool::Pan,
            take_away: None,
            hotspot_edit: false,
            hotspot_ticks: Default::default(),
            colour_by: None,
            colour_columns: Vec::new(),
            legend: Vec::new(),
            legend_active: Vec::new(),
            hide: false,
            views: Vec::new(),
            view_name: String::new(),
            show_help: false,
            similar_k: 50,
            similar_min: 0.9,
            similar_by_threshold: false,
            duplicates: None,
            duplicate_min: 0.97,
            user_tags: Vec::new(),
            facets: Vec::new(),
            facets_open: false,
            facet_search: Default::default(),
            tag_name: String::new(),
            selected: 0,
            status: Status::default(),
            lightbox: None,
            show_panels: true,
            welcome: false,
            welcome_note: None,
            screenshot_scale: 2,
            requests: Vec::new(),
        }
    }
}

/// `link` when it is safe to hand to the system opener: http or https only (a dataset's
/// `permalink` column may say `file:///…`, `javascript:…` or name a program).
pub fn web_link(link: &str) -> Option<String> {
    let link = link.trim();
    let lower = link.to_ascii_lowercase();
    let ok = (lower.starts_with("https://") || lower.starts_with("http://"))
        && link.len() > 8
        && !link.chars().any(|c| c.is_control() || c.is_whitespace());
    ok.then(|| link.to_string())
}

/// `bytes` as MiB or GiB.
pub fn format_bytes(bytes: u64) -> String {
    let mib = bytes as f64 / (1024.0 * 1024.0);
    if mib >= 1024.0 {
        format!("{:.2} GiB", mib / 1024.0)
    } else {
        format!("{mib:.0} MiB")
    }
}

/// The left panel: layouts, hotspots, settings, selection.
pub fn side_panel_ui(ui: &mut egui::Ui, state: &mut ViewState) {
    egui::ScrollArea::vertical().show(ui, |ui| {
        ui.heading(&state.dataset_name);
        ui.add_space(4.0);
        search_ui(ui, state);
        let facets = egui::CollapsingHeader::new("Facets")
            .default_open(false)
            .show(ui, |ui| facets_ui(ui, state));
        state.facets_open = facets.body_returned.is_some();
        egui::CollapsingHeader::new("Layouts")
            .default_open(true)
            .show(ui, |ui| layouts_ui(ui, state));
        egui::CollapsingHeader::new("Colour")
            .default_open(false)
            .show(ui, |ui| colour_ui(ui, state));
        egui::CollapsingHeader::new("Hotspots")
            .default_open(true)
            .show(ui, |ui| hotspots_ui(ui, state));
        egui::CollapsingHeader::new("Selection")
            .default_open(true)
            .show(ui, |ui| selection_ui(ui, state));
        egui::CollapsingHeader::new("Views")
            .default_open(false)
            .show(ui, |ui| views_ui(ui, state));
        egui::CollapsingHeader::new("Settings")
            .default_open(false)
            .show(ui, |ui| settings_ui(ui, state));
    });
}

/// Layout switcher and UMAP's parameters.
pub fn layouts_ui(ui: &mut egui::Ui, state: &mut ViewState) {
    for entry in &state.layouts {
        let title = crate::layout::kind::title(&entry.name);
        let selected = entry.name == state.current;
        let text = if entry.ready {
            RichText::new(title)
        } else {
            RichText::new(format!("{title} (computing…)")).weak()
        };
        let response = ui.add_enabled(entry.ready, egui::Button::selectable(selected, text));
        if response.clicked() && !selected {
            state
                .requests
                .push(Request::SwitchLayout(entry.name.clone()));
        }
    }
    // Without UMAP (prepared with --no-umap) there is nothing to tune here.
    let umap = crate::layout::kind::UMAP;
    if !state.layouts.iter().any(|l| l.name == umap) {
        return;
    }
    ui.separator();
    ui.label("UMAP parameters");
    ui.add(egui::Slider::new(&mut state.n_neighbors, 2..=200).text("neighbours"));
    ui.add(egui::Slider::new(&mut state.min_dist, 0.0..=0.99).text("min distance"));
    let busy = state.status.preparing.is_some();
    // Two decimals: the variant's name and title show the distance as set.
    let min_dist = (state.min_dist * 100.0).round() / 100.0;
    ui.horizontal(|ui| {
        if ui
            .add_enabled(!busy, egui::Button::new("Recompute UMAP"))
            .on_hover_text("Runs in the background; the map updates as it converges")
            .clicked()
        {
            state.requests.push(Request::RecomputeUmap {
                n_neighbors: state.n_neighbors,
                min_dist: state.min_dist,
            });
        }
        if ui
            .add_enabled(!busy, egui::Button::new("Add as a variant"))
            .on_hover_text(
                "Keeps UMAP and adds a layout with these parameters, from the cached neighbours",
            )
            .clicked()
        {
            state.requests.push(Request::AddUmapVariant {
                n_neighbors: state.n_neighbors,
                min_dist,
            });
        }
    });
}

/// Thumbnail size, background, borders, cards, filter, screenshot.
pub fn settings_ui(ui: &mut egui::Ui, state: &mut ViewState) {
    ui.add(
        egui::Slider::new(&mut state.style.size_scale, 0.1..=4.0)
            .logarithmic(true)
            .text("thumbnail size"),
    );
    ui.horizontal(|ui| {
        ui.label("background");
        ui.color_edit_button_srgb(&mut state.style.background);
    });
    ui.checkbox(&mut state.style.borders, "borders");
    ui.checkbox(&mut state.style.cards, "cards behind transparent images")
        .on_hover_text("Icons and line art on a card that stands out from the background");
    ui.add(
        egui::Slider::new(&mut state.screenshot_scale, 1..=8)
            .text("screenshot size (times the view)"),
    );
    ui.horizontal(|ui| {
        if ui.button("Screenshot…").on_hover_text("Key: P").clicked() {
            state.requests.push(Request::Screenshot);
        }
        if ui.button("Fit all").on_hover_text("Key: Home").clicked() {
            state.requests.push(Request::FitAll);
        }
    });
    ui.horizontal(|ui| {
        if ui.button("Open folder…").clicked() {
            state.requests.push(Request::OpenFolder);
        }
        if ui.button("Shortcuts").on_hover_text("Key: ?").clicked() {
            state.show_help = true;
        }
    });
}

/// The status line: preparation progress, frame rate, images drawn, GPU memory.
pub fn status_ui(ui: &mut egui::Ui, state: &mut ViewState) {
    let s = &state.status;
    ui.horizontal(|ui| {
        if let Some(p) = &s.preparing {
            ui.spinner();
            let text = if p.total > 0 {
                format!("{}: {} / {}", p.stage, p.done, p.total)
            } else {
                format!("{}…", p.stage)
            };
            if p.total > 0 {
                ui.add(
                    egui::ProgressBar::new(p.done as f32 / p.total as f32)
                        .desired_width(160.0)
                        .text(text),
                );
            } else {
                ui.label(text);
            }
            if ui.small_button("Cancel").clicked() {
                state.requests.push(Request::CancelPrepare);
            }
            ui.separator();
        }
        ui.label(format!("{:.0} fps ({:.1} ms)", s.fps, s.frame_ms));
        ui.separator();
        ui.label(format!("{} of {} images drawn", s.drawn, s.total));
        ui.separator();
        ui.label(format!(
            "GPU {}, {} sharp",
            format_bytes(s.gpu_bytes),
            s.detail_resident
        ));
        if let Some(m) = &s.message {
            ui.separator();
            ui.label(RichText::new(m).color(Color32::from_rgb(240, 200, 120)));
        }
    });
}

/// Everything the window shows over the map, in one pass; returns the rectangle left for
/// the map (points).
pub fn overlay_ui(ui: &mut egui::Ui, state: &mut ViewState) -> egui::Rect {
    egui::Panel::bottom("status").show(ui, |ui| status_ui(ui, state));
    if state.show_panels {
        egui::Panel::left("panels")
            .resizable(true)
            .default_size(250.0)
            .show(ui, |ui| side_panel_ui(ui, state));
    }
    let map_area = ui.available_rect_before_wrap();
    legend_ui(ui.ctx(), state, map_area);
    duplicates_ui(ui.ctx(), state, map_area);
    lightbox_ui(ui.ctx(), state, map_area);
    help_ui(ui.ctx(), state, map_area);
    if state.welcome {
        welcome_ui(ui.ctx(), state, map_area);
    }
    map_area
}

/// The empty map: how to open a collection, and an *Open folder…* button.
pub fn welcome_ui(ctx: &egui::Context, state: &mut ViewState, map_area: egui::Rect) {
    egui::Area::new(egui::Id::unique("welcome"))
        .fixed_pos(map_area.center())
        .pivot(egui::Align2::CENTER_CENTER)
        .show(ctx, |ui| {
            ui.vertical_centered(|ui| {
                ui.label(RichText::new("Open a folder… or drop one here").size(22.0));
                ui.add_space(8.0);
                if ui
                    .button(RichText::new("Open folder…").size(16.0))
                    .clicked()
                {
                    state.requests.push(Request::OpenFolder);
                }
                if let Some(note) = &state.welcome_note {
                    ui.add_space(8.0);
                    ui.label(RichText::new(note).color(Color32::from_rgb(240, 200, 120)));
                }
            });
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_links_are_opened() {
        assert_eq!(
            web_link(" https://example.org/a "),
            Some("https://example.org/a".into())
        );
        assert_eq!(web_link("HTTP://x.org"), Some("HTTP://x.org".into()));
        for bad in [
            "file:///etc/passwd",
            "javascript:alert(1)",
            "/usr/bin/xcalc",
            "smb://host/share",
            "https://",
            "https://a b",
            "https://x\n--flag",
        ] {
            assert_eq!(web_link(bad), None, "{bad}");
        }
    }

    #[test]
    fn bytes_read_well() {
        assert_eq!(format_bytes(512 * 1024 * 1024), "512 MiB");
        assert_eq!(format_bytes(3 * 1024 * 1024 * 1024 / 2), "1.50 GiB");
    }
}
