//! Saved views (layout, camera, filters, colour-by, hide) by name, and the shortcut sheet.

use egui::RichText;

use super::{Request, ViewState};

/// The saved views: open, delete, save what the map shows under a name.
pub fn views_ui(ui: &mut egui::Ui, state: &mut ViewState) {
    let mut requests = Vec::new();
    for name in &state.views {
        ui.horizontal(|ui| {
            if ui
                .button(name)
                .on_hover_text("Show this view (layout, camera, filters, colours)")
                .clicked()
            {
                requests.push(Request::OpenView(name.clone()));
            }
            if ui
                .small_button("x")
                .on_hover_text(format!("forget view {name}"))
                .clicked()
            {
                requests.push(Request::DeleteView(name.clone()));
            }
        });
    }
    ui.horizontal(|ui| {
        let label = ui.label("view name");
        ui.add(egui::TextEdit::singleline(&mut state.view_name).desired_width(100.0))
            .labelled_by(label.id);
        let ok = !state.view_name.trim().is_empty();
        if ui.add_enabled(ok, egui::Button::new("Save view")).clicked() {
            requests.push(Request::SaveView(state.view_name.trim().to_string()));
        }
    });
    ui.weak(
        RichText::new(
            "clip-plot-view DATASET --view NAME opens one; render and export take --view",
        )
        .small(),
    );
    state.requests.extend(requests);
}

/// Every shortcut of the map, as `?` shows them.
pub const SHORTCUTS: &[(&str, &str)] = &[
    ("drag", "pan (with the Pan tool)"),
    ("wheel, + / -", "zoom"),
    ("W A S D, arrows", "pan"),
    ("Home", "fit everything"),
    ("click", "open the image in the lightbox"),
    (
        "Shift-click / Alt-click",
        "add the image to / remove it from the selection",
    ),
    (
        "Shift-drag / Alt-drag",
        "lasso images into / out of the selection",
    ),
    (
        "V / L / B",
        "tool: pan / lasso / box (a drag selects; Shift adds, Alt removes)",
    ),
    (
        "Esc, click on empty space",
        "close the lightbox, else clear the selection",
    ),
    ("/", "search (the filter language)"),
    ("Enter in the search", "fit the view to the matches"),
    ("n / Shift+n", "next / previous match"),
    (
        "Left / Right arrows",
        "step through the lightbox's neighbours",
    ),
    ("Ctrl+Z", "undo the last tag or hotspot edit"),
    ("P", "screenshot"),
    ("Tab", "hide or show the panels"),
    ("?", "this sheet"),
];

/// The shortcut sheet, centred over the map.
pub fn help_ui(ctx: &egui::Context, state: &mut ViewState, map_area: egui::Rect) {
    if !state.show_help {
        return;
    }
    let mut open = true;
    egui::Window::new("Shortcuts")
        .open(&mut open)
        .collapsible(false)
        .resizable(false)
        .pivot(egui::Align2::CENTER_CENTER)
        .default_pos(map_area.center())
        .constrain_to(map_area)
        .show(ctx, |ui| {
            egui::Grid::new("shortcuts").striped(true).show(ui, |ui| {
                for (keys, what) in SHORTCUTS {
                    ui.strong(*keys);
                    ui.label(*what);
                    ui.end_row();
                }
            });
        });
    if !open || ctx.input(|i| i.key_pressed(egui::Key::Escape)) {
        state.show_help = false;
    }
}
