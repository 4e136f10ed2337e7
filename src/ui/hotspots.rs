//! The hotspot list: click flies there, hover brightens the members, double-click renames;
//! *Edit* shows a tick box and *Up*/*Down* per hotspot, and *Merge* / *Delete* for the ticked.

use egui::RichText;

use super::{Request, ViewState};
use crate::explore::hotspots::Edit;

/// Hotspots: thumbnail, label, size, and the edit controls when editing.
pub fn hotspots_ui(ui: &mut egui::Ui, state: &mut ViewState) {
    if state.hotspots.is_empty() {
        ui.weak("No hotspots yet");
        return;
    }
    let mut hovered = None;
    let mut requests = Vec::new();
    let count = state.hotspots.len();
    for (k, row) in state.hotspots.iter().enumerate() {
        if let Some((r, text)) = &mut state.renaming
            && *r == k
        {
            let label = ui.label("Rename to");
            let edit = ui.text_edit_singleline(text).labelled_by(label.id);
            if edit.lost_focus() {
                let name = text.trim().to_string();
                if !name.is_empty() {
                    requests.push(Request::RenameHotspot(k, name));
                }
                state.renaming = None;
            } else {
                edit.request_focus();
            }
            continue;
        }
        let response = ui
            .horizontal(|ui| {
                if state.hotspot_edit {
                    let mut on = state.hotspot_ticks.contains(&k);
                    let tick = ui
                        .checkbox(&mut on, "")
                        .on_hover_text(format!("tick {}", row.label));
                    if tick.changed() {
                        if on {
                            state.hotspot_ticks.insert(k);
                        } else {
                            state.hotspot_ticks.remove(&k);
                        }
                    }
                    if ui
                        .add_enabled(k > 0, egui::Button::new("Up").small())
                        .clicked()
                    {
                        requests.push(Request::EditHotspots(Edit::Move(k, -1)));
                    }
                    let down = egui::Button::new("Down").small();
                    if ui.add_enabled(k + 1 < count, down).clicked() {
                        requests.push(Request::EditHotspots(Edit::Move(k, 1)));
                    }
                }
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
            requests.push(Request::FlyToHotspot(k));
        }
    }
    state.hovered_hotspot = hovered;
    ui.horizontal(|ui| {
        ui.toggle_value(&mut state.hotspot_edit, "Edit")
            .on_hover_text(
                "Tick hotspots to merge or delete them; Up/Down reorder (Ctrl+Z undoes)",
            );
        if state.hotspot_edit {
            let ticked: Vec<usize> = state.hotspot_ticks.iter().copied().collect();
            let merge = egui::Button::new("Merge");
            if ui
                .add_enabled(ticked.len() >= 2, merge)
                .on_hover_text("Into the first ticked, which keeps its name")
                .clicked()
            {
                requests.push(Request::EditHotspots(Edit::Merge(ticked.clone())));
                state.hotspot_ticks.clear();
            }
            if ui
                .add_enabled(!ticked.is_empty(), egui::Button::new("Delete"))
                .clicked()
            {
                requests.push(Request::EditHotspots(Edit::Delete(ticked)));
                state.hotspot_ticks.clear();
            }
        }
    });
    if state.hotspot_edit {
        ui.weak(RichText::new("Edits are saved with the dataset; Ctrl+Z undoes them").small());
    }
    state.requests.extend(requests);
}
