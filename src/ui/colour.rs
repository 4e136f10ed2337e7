//! Colour by a field: the column picker and the hide toggle (in the side panel), and the
//! legend over the map's bottom-left corner, whose entries toggle their value as a filter.

use super::{Request, ViewState};
use crate::render::legend::{LegendItem, legend_size, paint_legend};

/// The colour-by picker and the dim/hide toggle.
pub fn colour_ui(ui: &mut egui::Ui, state: &mut ViewState) {
    let current = state.colour_by.clone();
    let text = current.as_deref().unwrap_or("nothing");
    egui::ComboBox::from_label("colour by")
        .selected_text(text)
        .show_ui(ui, |ui| {
            if ui.selectable_label(current.is_none(), "nothing").clicked() {
                state.requests.push(Request::SetColourBy(None));
            }
            for column in &state.colour_columns {
                let on = current.as_deref() == Some(column.as_str());
                if ui.selectable_label(on, column).clicked() && !on {
                    state
                        .requests
                        .push(Request::SetColourBy(Some(column.clone())));
                }
            }
        });
    let mut hide = state.hide;
    if ui
        .checkbox(&mut hide, "hide what the filters leave out")
        .on_hover_text("Instead of dimming it")
        .changed()
    {
        state.requests.push(Request::SetHide(hide));
    }
}

/// The legend over the map (a click on an entry filters by it); nothing when uncoloured.
pub fn legend_ui(ctx: &egui::Context, state: &mut ViewState, map_area: egui::Rect) {
    let Some(column) = &state.colour_by else {
        return;
    };
    if state.legend.is_empty() {
        return;
    }
    let items: Vec<LegendItem> = state
        .legend
        .iter()
        .map(|e| LegendItem {
            label: e.label.clone(),
            colour: e.colour,
            count: e.count,
        })
        .collect();
    let size = legend_size(items.len());
    let origin = egui::pos2(map_area.left() + 12.0, map_area.bottom() - size.y - 12.0);
    let mut clicked = None;
    egui::Area::new(egui::Id::unique("legend"))
        .order(egui::Order::Foreground)
        .fixed_pos(origin)
        .show(ctx, |ui| {
            let (rect, _) = ui.allocate_exact_size(size, egui::Sense::hover());
            paint_legend(ui.painter(), rect.min, column, &items);
            for (k, item) in items.iter().enumerate() {
                let row = egui::Rect::from_min_size(
                    rect.min + egui::vec2(0.0, 26.0 + 19.0 * k as f32),
                    egui::vec2(size.x, 19.0),
                );
                let response =
                    ui.interact(row, ui.scope_id().with(("legend", k)), egui::Sense::click());
                let label = format!("legend {}", item.label);
                response
                    .widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &label));
                let response = response.on_hover_text("Click: show only these (again: all)");
                let active = state.legend_active.get(k).copied().unwrap_or(false);
                if response.hovered() || active {
                    let colour = if active {
                        egui::Color32::from_rgb(245, 160, 30)
                    } else {
                        egui::Color32::from_gray(200)
                    };
                    ui.painter().rect_stroke(
                        row,
                        2.0,
                        egui::Stroke::new(1.0, colour),
                        egui::StrokeKind::Inside,
                    );
                }
                if response.clicked() {
                    clicked = Some(k);
                }
            }
        });
    if let Some(k) = clicked {
        state.requests.push(Request::LegendClick(k));
    }
}
