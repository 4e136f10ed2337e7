//! The search box and the facets panel: the filter language typed, or clicked.

use egui::{Color32, RichText};

use super::{Request, ViewState};

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
    let label = format!("histogram {}", facet.column);
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Slider, true, &label));
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
