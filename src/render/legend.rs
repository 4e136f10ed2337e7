//! The colour-by legend: a title and one swatch, label and count per entry, painted with
//! egui. The window paints it over the map (its rows clickable, see `ui::colour`); pictures
//! get it through the text layer ([`super::text`]), scaled with the picture.

/// One legend row.
#[derive(Clone, Debug, PartialEq)]
pub struct LegendItem {
    pub label: String,
    pub colour: [u8; 3],
    pub count: usize,
}

/// Legend size in points: width, title row, each entry's row.
const WIDTH_PT: f32 = 240.0;
const TITLE_PT: f32 = 26.0;
const ROW_PT: f32 = 19.0;
/// Longest label drawn, in characters.
const LABEL_CHARS: usize = 26;

/// `text` cut to `max` characters with an ellipsis.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// Paints the legend into `ui` with its top-left at `origin` (points).
pub fn paint_legend(
    painter: &egui::Painter,
    origin: egui::Pos2,
    title: &str,
    items: &[LegendItem],
) {
    use egui::{Align2, Color32, FontId, Rect, pos2, vec2};
    let height = TITLE_PT + ROW_PT * items.len() as f32 + 8.0;
    let frame = Rect::from_min_size(origin, vec2(WIDTH_PT, height));
    painter.rect_filled(frame, 6.0, Color32::from_black_alpha(205));
    painter.text(
        origin + vec2(10.0, 7.0),
        Align2::LEFT_TOP,
        shorten(title, LABEL_CHARS + 6),
        FontId::proportional(15.0),
        Color32::WHITE,
    );
    for (k, item) in items.iter().enumerate() {
        let y = origin.y + TITLE_PT + ROW_PT * k as f32;
        let [r, g, b] = item.colour;
        painter.rect_filled(
            Rect::from_min_size(pos2(origin.x + 10.0, y + 3.0), vec2(13.0, 13.0)),
            2.0,
            Color32::from_rgb(r, g, b),
        );
        painter.text(
            pos2(origin.x + 30.0, y + 2.0),
            Align2::LEFT_TOP,
            shorten(&item.label, LABEL_CHARS),
            FontId::proportional(13.0),
            Color32::from_gray(235),
        );
        painter.text(
            pos2(origin.x + WIDTH_PT - 10.0, y + 2.0),
            Align2::RIGHT_TOP,
            item.count.to_string(),
            FontId::proportional(13.0),
            Color32::from_gray(170),
        );
    }
}

/// The legend's size in points.
pub fn legend_size(items: usize) -> egui::Vec2 {
    egui::vec2(WIDTH_PT, TITLE_PT + ROW_PT * items as f32 + 8.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_labels_are_shortened() {
        assert_eq!(shorten("abcdef", 4), "abc…");
        assert_eq!(shorten("abc", 4), "abc");
    }
}
