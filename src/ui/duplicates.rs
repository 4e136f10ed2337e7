//! The duplicates window: groups of near-identical images with their thumbnails.

use super::{Request, ViewState};

/// One group of near-duplicates.
#[derive(Clone)]
pub struct DuplicateGroup {
    /// Image index and thumbnail of each member.
    pub members: Vec<(usize, String, Option<egui::TextureHandle>)>,
}

/// The duplicate groups, largest first; a click opens an image, *Select* selects a group.
pub fn duplicates_ui(ctx: &egui::Context, state: &mut ViewState, map_area: egui::Rect) {
    let Some(groups) = &state.duplicates else {
        return;
    };
    let mut requests = Vec::new();
    let mut open = true;
    egui::Window::new(format!("Duplicates ({} groups)", groups.len()))
        .open(&mut open)
        .default_width(420.0)
        .default_height(360.0)
        .pivot(egui::Align2::LEFT_TOP)
        .default_pos(map_area.left_top() + egui::vec2(12.0, 12.0))
        .constrain_to(map_area)
        .show(ctx, |ui| {
            ui.horizontal(|ui| {
                ui.add(
                    egui::Slider::new(&mut state.duplicate_min, 0.8..=1.0)
                        .text("similarity at least"),
                );
                if ui.button("Find again").clicked() {
                    requests.push(Request::FindDuplicates);
                }
            });
            if groups.is_empty() {
                ui.weak("No images are that similar to each other");
            }
            egui::ScrollArea::vertical().show(ui, |ui| {
                for (k, group) in groups.iter().enumerate() {
                    ui.horizontal_wrapped(|ui| {
                        if ui.small_button("Select").clicked() {
                            let ids = group.members.iter().map(|m| m.0).collect();
                            requests.push(Request::SelectImages(ids));
                        }
                        for (image, name, texture) in &group.members {
                            let response = match texture {
                                Some(t) => ui.add(egui::Button::image(
                                    egui::Image::new(t).fit_to_exact_size(egui::vec2(48.0, 48.0)),
                                )),
                                None => ui.small_button(name),
                            };
                            if response.on_hover_text(name).clicked() {
                                requests.push(Request::OpenLightbox(*image));
                            }
                        }
                    });
                    if k + 1 < groups.len() {
                        ui.separator();
                    }
                }
            });
        });
    if !open {
        state.duplicates = None;
    }
    state.requests.extend(requests);
}
