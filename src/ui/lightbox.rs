//! The lightbox: one image large, with its metadata, links, tags and neighbours.

use super::{Request, ViewState};

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
    let mut lb_tag = std::mem::take(&mut state.tag_name);
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
                    requests.push(Request::OpenInSystemViewer(lb.source.clone()));
                }
                if ui
                    .button("More like this")
                    .on_hover_text("Selects the most similar images (exact cosine ranking)")
                    .clicked()
                {
                    requests.push(Request::MoreLikeThis(Some(lb.image)));
                }
            });
            ui.horizontal_wrapped(|ui| {
                ui.label("tags");
                for tag in &lb.tags {
                    if ui
                        .small_button(format!("{tag} x"))
                        .on_hover_text("remove this tag")
                        .clicked()
                    {
                        requests.push(Request::TagImage(lb.image, tag.clone(), false));
                    }
                }
                ui.add(egui::TextEdit::singleline(&mut lb_tag).desired_width(80.0))
                    .on_hover_text("a tag of your own");
                if ui
                    .add_enabled(!lb_tag.trim().is_empty(), egui::Button::new("Add tag"))
                    .clicked()
                {
                    requests.push(Request::TagImage(lb.image, lb_tag.clone(), true));
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
    state.tag_name = lb_tag;
    state.requests.extend(requests);
}
