//! The selection panel: what is selected (paged thumbnails, untick to remove) and what to
//! do with it: export, take away (copy or hard-link the originals into a folder), make a
//! hotspot, tag, find similar, fit.

use egui::RichText;

use super::{Request, ViewState};
use crate::explore::takeaway::Method;

/// Thumbnails per page of the selection panel.
pub const SELECTION_PAGE: usize = 24;

/// The selection: count, thumbnails, actions.
pub fn selection_ui(ui: &mut egui::Ui, state: &mut ViewState) {
    let any = state.selected > 0;
    ui.label(format!("{} selected", state.selected))
        .on_hover_text(
            "On the map: Shift-drag lassos (adding), Alt-drag lassos away; with the Lasso or Box \
         tool a drag selects, Shift adds, Alt removes; Shift-click adds one image",
        );
    ui.horizontal(|ui| {
        ui.label("tool");
        for (tool, name, key) in [
            (super::Tool::Pan, "Pan", "V"),
            (super::Tool::Lasso, "Lasso", "L"),
            (super::Tool::Box, "Box", "B"),
        ] {
            ui.selectable_value(&mut state.tool, tool, name)
                .on_hover_text(format!("Key: {key}"));
        }
    });
    ui.horizontal_wrapped(|ui| {
        let mut button = |ui: &mut egui::Ui, text: &str, hint: &str, request: Request| {
            if ui
                .add_enabled(any, egui::Button::new(text))
                .on_hover_text(hint)
                .clicked()
            {
                state.requests.push(request);
            }
        };
        button(
            ui,
            "Export…",
            "CSV or parquet of the selection",
            Request::ExportSelection,
        );
        button(
            ui,
            "Copy to folder…",
            "Copies the original files into a folder you choose (never overwrites)",
            Request::TakeAway(Method::Copy),
        );
        button(
            ui,
            "Link to folder…",
            "Hard-links the originals into a folder (instant, no space; same disk)",
            Request::TakeAway(Method::HardLink),
        );
        button(
            ui,
            "Fit",
            "Fit the view to the selection",
            Request::FitToSelection,
        );
        button(ui, "Clear", "Key: Esc", Request::ClearSelection);
    });
    if let Some(t) = &state.take_away {
        ui.horizontal(|ui| {
            let fraction = t.0 as f32 / t.1.max(1) as f32;
            ui.add(
                egui::ProgressBar::new(fraction)
                    .desired_width(150.0)
                    .text(format!("{} / {}", t.0, t.1)),
            );
            if ui.small_button("Cancel").clicked() {
                state.requests.push(Request::CancelTakeAway);
            }
        });
    }
    ui.horizontal(|ui| {
        let label = ui.label("name");
        ui.add(egui::TextEdit::singleline(&mut state.tag_name).desired_width(90.0))
            .labelled_by(label.id)
            .on_hover_text("A tag to add or remove, or the new hotspot's name");
        let named = any && !state.tag_name.trim().is_empty();
        if ui.add_enabled(named, egui::Button::new("Tag")).clicked() {
            state
                .requests
                .push(Request::TagSelection(state.tag_name.clone(), true));
        }
        if ui.add_enabled(named, egui::Button::new("Untag")).clicked() {
            state
                .requests
                .push(Request::TagSelection(state.tag_name.clone(), false));
        }
        if ui
            .add_enabled(any, egui::Button::new("Make a hotspot"))
            .on_hover_text("A hotspot of the selected images, named as typed")
            .clicked()
        {
            state
                .requests
                .push(Request::HotspotFromSelection(state.tag_name.clone()));
        }
    });
    similar_ui(ui, state, any);
    tags_ui(ui, state);
    if any {
        thumbnails_ui(ui, state);
    }
}

/// The selection's thumbnails, a page at a time; click opens one, untick removes it.
fn thumbnails_ui(ui: &mut egui::Ui, state: &mut ViewState) {
    let pages = state.selected.div_ceil(SELECTION_PAGE).max(1);
    let mut requests = Vec::new();
    egui::Grid::new("selection thumbnails").show(ui, |ui| {
        for (k, row) in state.selection_rows.iter().enumerate() {
            ui.vertical(|ui| {
                let response = match &row.texture {
                    Some(t) => ui.add(egui::Button::image(
                        egui::Image::new(t).fit_to_exact_size(egui::vec2(44.0, 44.0)),
                    )),
                    None => ui.small_button(&row.name),
                };
                if response.on_hover_text(&row.name).clicked() {
                    requests.push(Request::OpenLightbox(row.image));
                }
                let mut on = true;
                if ui
                    .checkbox(&mut on, "")
                    .on_hover_text(format!("untick to leave {} out", row.name))
                    .changed()
                {
                    requests.push(Request::Deselect(row.image));
                }
            });
            if k % 4 == 3 {
                ui.end_row();
            }
        }
    });
    if pages > 1 {
        ui.horizontal(|ui| {
            let page = state.selection_page.min(pages - 1);
            if ui.add_enabled(page > 0, egui::Button::new("<")).clicked() {
                requests.push(Request::SelectionPage(page - 1));
            }
            ui.label(format!("page {} of {pages}", page + 1));
            if ui
                .add_enabled(page + 1 < pages, egui::Button::new(">"))
                .clicked()
            {
                requests.push(Request::SelectionPage(page + 1));
            }
        });
    }
    state.requests.extend(requests);
}

/// Find similar: how many (or how similar), from the selection's mean; and duplicates.
fn similar_ui(ui: &mut egui::Ui, state: &mut ViewState, any: bool) {
    ui.horizontal(|ui| {
        if ui
            .add_enabled(any, egui::Button::new("Similar"))
            .on_hover_text("Selects the images most similar to the selection's mean")
            .clicked()
        {
            state.requests.push(Request::MoreLikeThis(None));
        }
        if ui
            .button("Duplicates…")
            .on_hover_text("Groups of near-identical images (from the neighbour table)")
            .clicked()
        {
            state.requests.push(Request::FindDuplicates);
        }
    });
    ui.horizontal(|ui| {
        ui.checkbox(&mut state.similar_by_threshold, "at least");
        if state.similar_by_threshold {
            ui.add(egui::Slider::new(&mut state.similar_min, 0.5..=1.0).text("similarity"));
        } else {
            ui.add(
                egui::Slider::new(&mut state.similar_k, 1..=10_000)
                    .logarithmic(true)
                    .text("most similar"),
            );
        }
    });
}

/// The user's tags with how many images the filters let through carry each; a click
/// toggles `tag:NAME` in the search.
fn tags_ui(ui: &mut egui::Ui, state: &mut ViewState) {
    if state.user_tags.is_empty() {
        return;
    }
    ui.label(RichText::new("Your tags").strong());
    let mut requests = Vec::new();
    for (name, count, on) in &state.user_tags {
        let mut ticked = *on;
        if ui
            .checkbox(&mut ticked, format!("{name}  {count}"))
            .changed()
        {
            requests.push(Request::ToggleTagFilter(name.clone()));
        }
    }
    state.requests.extend(requests);
}
