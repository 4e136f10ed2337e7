//! The egui panels. They read and edit [`ViewState`] and push [`Request`]s for the app to
//! carry out; they never touch wgpu, so they are tested headless with egui_kittest.
//! Functions that draw UI end in `_ui`.

use egui::{Color32, RichText};

use crate::render::Style;

/// Something the user asked for that the app must do (GPU work, files, jobs).
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    SwitchLayout(String),
    RecomputeUmap { n_neighbors: usize, min_dist: f32 },
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
    /// Images whose name or metadata do not contain this are dimmed.
    pub filter: String,
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
            filter: String::new(),
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

/// The selection: count, export, clear.
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
    ui.horizontal(|ui| {
        let label = ui.label("filter");
        ui.text_edit_singleline(&mut state.filter)
            .labelled_by(label.id)
            .on_hover_text("Dims images whose file name and metadata do not contain this");
    });
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
