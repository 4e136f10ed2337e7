//! The egui panels. They read and edit [`ViewState`] and push [`Request`]s for the app to
//! carry out; they never touch wgpu, so they are tested headless with egui_kittest.
//! Functions that draw UI end in `_ui`.

use egui::{Color32, RichText};

use crate::render::Style;

/// Something the user asked for that the app must do (GPU work, files, jobs).
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    SwitchLayout(String),
    RecomputeUmap {
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
    OpenInSystemViewer(std::path::PathBuf),
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
    pub path: std::path::PathBuf,
    /// Metadata as (column, value), empty values left out.
    pub metadata: Vec<(String, String)>,
    pub permalink: Option<String>,
    /// The full-resolution image once decoded (the large thumbnail until then).
    pub texture: Option<egui::TextureHandle>,
    pub full_resolution: bool,
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
        egui::CollapsingHeader::new("Hotspots")
            .default_open(true)
            .show(ui, |ui| hotspots_ui(ui, state));
        egui::CollapsingHeader::new("Selection")
            .default_open(true)
            .show(ui, |ui| selection_ui(ui, state));
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
    ui.separator();
    ui.label("UMAP parameters");
    ui.add(egui::Slider::new(&mut state.n_neighbors, 2..=200).text("neighbours"));
    ui.add(egui::Slider::new(&mut state.min_dist, 0.0..=0.99).text("min distance"));
    let busy = state.status.preparing.is_some();
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
}

/// Hotspots: thumbnail, label, size. Click flies there, hover brightens the members,
/// double-click renames.
pub fn hotspots_ui(ui: &mut egui::Ui, state: &mut ViewState) {
    if state.hotspots.is_empty() {
        ui.weak("No hotspots yet");
        return;
    }
    let mut hovered = None;
    for (k, row) in state.hotspots.iter().enumerate() {
        if let Some((r, text)) = &mut state.renaming
            && *r == k
        {
            let label = ui.label("Rename to");
            let edit = ui.text_edit_singleline(text).labelled_by(label.id);
            if edit.lost_focus() {
                let name = text.trim().to_string();
                if !name.is_empty() {
                    state.requests.push(Request::RenameHotspot(k, name));
                }
                state.renaming = None;
            } else {
                edit.request_focus();
            }
            continue;
        }
        let response = ui
            .horizontal(|ui| {
                if let Some(texture) = &row.texture {
                    ui.add(egui::Image::new(texture).fit_to_exact_size(egui::vec2(32.0, 32.0)));
                }
                ui.add(egui::Button::new(&row.label).frame(false))
                    .on_hover_text("Click: fly there · double-click: rename")
                    | ui.weak(row.size.to_string())
            })
            .inner;
        if response.hovered() {
            hovered = Some(k);
        }
        if response.double_clicked() {
            state.renaming = Some((k, row.label.clone()));
        } else if response.clicked() {
            state.requests.push(Request::FlyToHotspot(k));
        }
    }
    state.hovered_hotspot = hovered;
}

/// The search box: the filter language, a live count (or what is wrong), the first
/// matches; Enter shows them all, `n`/`N` step through them.
pub fn search_ui(ui: &mut egui::Ui, state: &mut ViewState) {
    let label = ui.label("Search");
    let edit = ui
        .add(
            egui::TextEdit::singleline(&mut state.search)
                .hint_text("owl  category=birds  year:1970..1979  tag:keep")
                .desired_width(f32::INFINITY),
        )
        .labelled_by(label.id)
        .on_hover_text(
            "Words match the file name and metadata; col:text, col=value, col>=N, col:A..B,              \"a phrase\", -term, a OR b, tag:NAME, hotspot:N. Key: /",
        );
    if std::mem::take(&mut state.focus_search) {
        edit.request_focus();
    }
    if edit.changed() {
        state
            .requests
            .push(Request::SetSearch(state.search.clone()));
    }
    if edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
        state.requests.push(Request::FitToMatches);
    }
    match &state.search_status {
        Some(Ok(n)) => {
            ui.horizontal(|ui| {
                ui.label(format!("{n} of {} match", state.status.total));
                if ui.small_button("Clear filters").clicked() {
                    state.search.clear();
                    state.requests.push(Request::ClearFilters);
                }
            });
        }
        Some(Err(why)) => {
            ui.label(RichText::new(why).color(Color32::from_rgb(240, 120, 100)));
        }
        None => {}
    }
    if !state.matches.is_empty() {
        ui.horizontal_wrapped(|ui| {
            for m in &state.matches {
                let response = match &m.texture {
                    Some(t) => ui.add(egui::Button::image(
                        egui::Image::new(t).fit_to_exact_size(egui::vec2(36.0, 36.0)),
                    )),
                    None => ui.small_button(&m.name),
                };
                if response.on_hover_text(&m.name).clicked() {
                    state.requests.push(Request::OpenLightbox(m.image));
                }
            }
        });
    }
}

/// Facets: value lists with counts and checkboxes, histograms with a range brush. Counts
/// are those the other filters let through.
pub fn facets_ui(ui: &mut egui::Ui, state: &mut ViewState) {
    if state.facets.is_empty() {
        ui.weak("No metadata columns to filter by");
        return;
    }
    let mut requests = Vec::new();
    for facet in &state.facets {
        let column = facet.column.clone();
        egui::CollapsingHeader::new(&column)
            .id_salt(("facet", &column))
            .default_open(true)
            .show(ui, |ui| {
                if facet.values.is_empty() {
                    histogram_ui(ui, facet, &mut requests);
                } else {
                    let filter = state.facet_search.entry(column.clone()).or_default();
                    if facet.values.len() > 12 {
                        ui.add(
                            egui::TextEdit::singleline(filter)
                                .hint_text("find a value")
                                .desired_width(140.0),
                        );
                    }
                    let needle = filter.to_lowercase();
                    let shown = facet
                        .values
                        .iter()
                        .filter(|(v, _, _)| needle.is_empty() || v.contains(&needle))
                        .take(12);
                    for (value, count, picked) in shown {
                        let mut on = *picked;
                        let text = format!("{value}  {count}");
                        if ui.checkbox(&mut on, text).changed() {
                            requests.push(Request::ToggleFacetValue(column.clone(), value.clone()));
                        }
                    }
                }
                let active = facet.brush.is_some() || facet.values.iter().any(|v| v.2);
                if active && ui.small_button("Clear").clicked() {
                    requests.push(Request::ClearFacet(column.clone()));
                }
            });
    }
    state.requests.extend(requests);
}

/// A histogram of a numeric or year facet; dragging across it (or clicking a bar) sets the
/// range, drawn highlighted.
fn histogram_ui(
    ui: &mut egui::Ui,
    facet: &crate::explore::state::FacetView,
    requests: &mut Vec<Request>,
) {
    let Some((lo, hi)) = facet.range else {
        ui.weak("no values");
        return;
    };
    let bins = facet.bins.len().max(1);
    let size = egui::vec2(ui.available_width().min(220.0), 48.0);
    let (rect, response) = ui.allocate_exact_size(size, egui::Sense::click_and_drag());
    let width = (hi - lo) / bins as f64;
    let bin_at =
        |x: f32| (((x - rect.left()) / rect.width()).clamp(0.0, 0.9999) * bins as f32) as usize;
    let start_id = ui.scope_id().with(("brush", &facet.column));
    if response.drag_started()
        && let Some(p) = response.interact_pointer_pos()
    {
        ui.data_mut(|d| d.insert_temp(start_id, bin_at(p.x)));
    }
    let dragging = ui
        .data(|d| d.get_temp::<usize>(start_id))
        .zip(response.interact_pointer_pos().map(|p| bin_at(p.x)));
    let max = facet.bins.iter().copied().max().unwrap_or(0).max(1) as f32;
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 2.0, Color32::from_gray(30));
    for (b, &count) in facet.bins.iter().enumerate() {
        let (b0, b1) = (lo + width * b as f64, lo + width * (b + 1) as f64);
        let inside = match (dragging, facet.brush) {
            (Some((a, c)), _) => b >= a.min(c) && b <= a.max(c),
            (None, Some((x0, x1))) => b1 > x0 && b0 <= x1,
            _ => false,
        };
        let x0 = rect.left() + rect.width() * b as f32 / bins as f32;
        let x1 = rect.left() + rect.width() * (b + 1) as f32 / bins as f32;
        let h = rect.height() * count as f32 / max;
        let colour = if inside {
            Color32::from_rgb(245, 160, 30)
        } else {
            Color32::from_gray(150)
        };
        painter.rect_filled(
            egui::Rect::from_min_max(
                egui::pos2(x0, rect.bottom() - h),
                egui::pos2(x1 - 1.0, rect.bottom()),
            ),
            0.0,
            colour,
        );
    }
    let finish = |a: usize, c: usize| {
        let (a, c) = (a.min(c), a.max(c));
        Request::SetFacetRange(
            facet.column.clone(),
            lo + width * a as f64,
            lo + width * (c + 1) as f64,
        )
    };
    if response.drag_stopped() {
        if let Some((a, c)) = dragging {
            requests.push(finish(a, c));
        }
        ui.data_mut(|d| d.remove::<usize>(start_id));
    } else if response.clicked()
        && let Some(p) = response.interact_pointer_pos()
    {
        let b = bin_at(p.x);
        requests.push(finish(b, b));
    }
    let (from, to) = facet.brush.unwrap_or((lo, hi));
    let year = facet.kind == crate::explore::facets::FacetKind::Year;
    let fmt = |v: f64| {
        if year {
            format!("{v:.0}")
        } else {
            format!("{v:.4}")
        }
    };
    ui.weak(format!("{} – {}", fmt(from), fmt(to)));
}

/// The selection: count, tag, export, clear.
pub fn selection_ui(ui: &mut egui::Ui, state: &mut ViewState) {
    ui.label(format!("{} selected", state.selected))
        .on_hover_text("Shift-drag on the map draws a lasso; Ctrl-Shift adds to the selection");
    ui.horizontal(|ui| {
        if ui
            .add_enabled(state.selected > 0, egui::Button::new("Export…"))
            .clicked()
        {
            state.requests.push(Request::ExportSelection);
        }
        if ui
            .add_enabled(state.selected > 0, egui::Button::new("Clear"))
            .clicked()
        {
            state.requests.push(Request::ClearSelection);
        }
        if ui
            .add_enabled(state.selected > 0, egui::Button::new("Similar"))
            .on_hover_text("Selects the images most similar to the selection's mean")
            .clicked()
        {
            state.requests.push(Request::MoreLikeThis(None));
        }
        if ui
            .add_enabled(state.selected > 0, egui::Button::new("Fit"))
            .on_hover_text("Fit the view to the selection")
            .clicked()
        {
            state.requests.push(Request::FitToSelection);
        }
    });
    ui.horizontal(|ui| {
        let label = ui.label("tag");
        ui.add(egui::TextEdit::singleline(&mut state.tag_name).desired_width(90.0))
            .labelled_by(label.id);
        let ok = state.selected > 0 && !state.tag_name.trim().is_empty();
        if ui.add_enabled(ok, egui::Button::new("Add")).clicked() {
            state
                .requests
                .push(Request::TagSelection(state.tag_name.clone(), true));
        }
        if ui.add_enabled(ok, egui::Button::new("Remove")).clicked() {
            state
                .requests
                .push(Request::TagSelection(state.tag_name.clone(), false));
        }
    });
}

/// Thumbnail size, background, borders, filter, screenshot.
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
    if ui.button("Open folder…").clicked() {
        state.requests.push(Request::OpenFolder);
    }
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

/// The lightbox: the image, its metadata, permalink and system-viewer buttons, and its
/// nearest neighbours (click to go there; ←/→ step through them; Esc closes). It opens at
/// the right of `map_area` and stays inside it, so the panels (hotspots) stay visible.
pub fn lightbox_ui(ctx: &egui::Context, state: &mut ViewState, map_area: egui::Rect) {
    let Some(lb) = &mut state.lightbox else {
        return;
    };
    let mut requests = Vec::new();
    let (left, right, escape) = ctx.input(|i| {
        (
            i.key_pressed(egui::Key::ArrowLeft),
            i.key_pressed(egui::Key::ArrowRight),
            i.key_pressed(egui::Key::Escape),
        )
    });
    if escape {
        requests.push(Request::CloseLightbox);
    }
    if (left || right) && !lb.neighbours.is_empty() {
        let n = lb.neighbours.len();
        let next = match (lb.cursor, right) {
            (None, true) => 0,
            (None, false) => n - 1,
            (Some(c), true) => (c + 1) % n,
            (Some(c), false) => (c + n - 1) % n,
        };
        lb.cursor = Some(next);
        requests.push(Request::OpenLightbox(lb.neighbours[next].0));
    }
    let mut open = true;
    egui::Window::new(lb.title.clone())
        .id(egui::Id::unique("lightbox"))
        .open(&mut open)
        .collapsible(false)
        .resizable(true)
        .default_width(560.0)
        .pivot(egui::Align2::RIGHT_TOP)
        .default_pos(map_area.right_top() + egui::vec2(-8.0, 8.0))
        .constrain_to(map_area)
        .show(ctx, |ui| {
            if let Some(texture) = &lb.texture {
                let size = texture.size_vec2();
                let fit = (520.0 / size.x).min(420.0 / size.y).min(4.0);
                ui.add(egui::Image::new(texture).fit_to_exact_size(size * fit));
            } else {
                ui.spinner();
            }
            if !lb.full_resolution {
                ui.weak("loading full resolution…");
            }
            egui::Grid::new("lightbox metadata")
                .num_columns(2)
                .striped(true)
                .show(ui, |ui| {
                    for (k, v) in &lb.metadata {
                        ui.strong(k);
                        ui.label(v);
                        ui.end_row();
                    }
                });
            ui.horizontal(|ui| {
                if let Some(link) = &lb.permalink
                    && ui.button("Permalink").on_hover_text(link).clicked()
                {
                    requests.push(Request::OpenUrl(link.clone()));
                }
                if ui.button("Open in system viewer").clicked() {
                    requests.push(Request::OpenInSystemViewer(lb.path.clone()));
                }
                if ui
                    .button("More like this")
                    .on_hover_text("Selects the most similar images (exact cosine ranking)")
                    .clicked()
                {
                    requests.push(Request::MoreLikeThis(Some(lb.image)));
                }
            });
            ui.separator();
            ui.label("Nearest neighbours (left and right arrow keys step through them)");
            egui::ScrollArea::horizontal().show(ui, |ui| {
                ui.horizontal(|ui| {
                    for (k, (image, texture)) in lb.neighbours.iter().enumerate() {
                        let highlighted = lb.cursor == Some(k);
                        let response = match texture {
                            Some(t) => ui.add(
                                egui::Button::image(
                                    egui::Image::new(t).fit_to_exact_size(egui::vec2(64.0, 64.0)),
                                )
                                .selected(highlighted),
                            ),
                            None => ui.button(format!("#{image}")),
                        };
                        if response.clicked() {
                            requests.push(Request::OpenLightbox(*image));
                        }
                    }
                });
            });
        });
    if !open {
        requests.push(Request::CloseLightbox);
    }
    state.requests.extend(requests);
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
    lightbox_ui(ui.ctx(), state, map_area);
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
