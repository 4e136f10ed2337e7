//! Text in pictures: hotspot and metadata-layout labels, the colour-by legend and a title,
//! drawn by the renderer into every picture it makes (window screenshots, `render`, tiled
//! posters) with the same placement the window uses on screen.
//!
//! The technique: egui lays the text out and epaint tessellates it (its fonts are in the
//! binary already for the window's panels), and egui-wgpu draws the triangles into the
//! target after the map, in the same pass order as the window. Everything is placed once
//! for the whole picture, in points, at `scale` pixels per point, so a 16k poster's labels
//! are as big relative to the picture as on a 900-pixel screen; each tile then draws the
//! same shapes shifted by its origin, which is why a label crossing a tile boundary has no
//! seam (the glyphs are the same texels, the shift is whole pixels).
//!
//! Placement ([`paint_labels`]) goes largest first, as the window always did: a label whose
//! box would cover one already placed is left out, so in a dense overview the big hotspots
//! keep their names. Each label sits on a dark rounded backdrop, readable over any image.
//!
//! Rejected: glyphon/cosmic-text (a second font stack and shaping engine, ~40 crates, for
//! text egui already lays out at the wgpu version we are pinned to); rasterising on the CPU
//! and compositing after the readback (what the legend did: it cannot cross tiles without
//! seams and costs a full-picture pass per overlay).

use egui::{Align2, Color32, FontId, Pos2, Rect, Vec2, pos2, vec2};

use super::legend::{LegendItem, legend_size, paint_legend};
use super::{Camera, Gpu};
use crate::layout::meta::MapLabel;

/// Label text size on screen, points.
pub const LABEL_PT: f32 = 14.0;
/// Title text size, points.
const TITLE_PT: f32 = 26.0;
/// Room kept around the legend and the title, points.
const MARGIN_PT: f32 = 16.0;

/// The text a picture carries besides the images.
#[derive(Clone, Debug, Default)]
pub struct Annotations {
    /// Labels in layout coordinates (hotspots, categories, years…); drawn largest first.
    pub labels: Vec<MapLabel>,
    /// The colour-by legend: its title (the column) and entries.
    pub legend: Option<(String, Vec<LegendItem>)>,
    /// A title over the top of the picture.
    pub title: Option<String>,
}

impl Annotations {
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.legend.is_none() && self.title.is_none()
    }
}

/// Pixels per point for text in a `size` picture: one point per 900th of its shorter side
/// (a 1080p render reads as a screen does, a 16k poster's labels grow with it; at least
/// 0.7), times the user's `label_scale`.
pub fn text_scale(size: (u32, u32), label_scale: f32) -> f32 {
    // At least 0.7: 14-point labels stay 10 pixels tall on a small picture.
    let base = (size.0.min(size.1) as f32 / 900.0).clamp(0.7, 16.0);
    (base * label_scale.clamp(0.1, 20.0)).clamp(0.25, 64.0)
}

/// Maps layout coordinates to points on a picture of `size_pt` points showing `camera`,
/// with the picture's top-left at `origin`.
#[derive(Clone, Copy, Debug)]
pub struct ToPoints {
    pub camera: Camera,
    pub size_pt: Vec2,
    pub origin: Pos2,
}

impl ToPoints {
    /// Points per layout unit.
    pub fn scale(&self) -> f32 {
        self.size_pt.x.min(self.size_pt.y).max(1e-6) / self.camera.span.max(1e-9)
    }

    pub fn apply(&self, p: glam::Vec2) -> Pos2 {
        let size = glam::Vec2::new(self.size_pt.x, self.size_pt.y);
        let q = self.camera.pixel_from_layout(size).transform_point2(p);
        pos2(self.origin.x + q.x, self.origin.y + q.y)
    }
}

/// A finer group's label (level 1) appears once its group spans this share of the view's
/// shorter side: the overview names the hotspots, a zoom into one names what is inside.
pub const FINER_SHARE: f32 = 0.25;

/// Paints `labels` (any order: finer groups shown before hotspots, largest first) where
/// `to` maps them, each on a dark backdrop, leaving out those that would cover a label already
/// placed or lie wholly outside `bounds`, and finer ones whose group is still small on
/// screen ([`FINER_SHARE`]). Returns the placed labels' texts and boxes (points) in
/// placing order.
pub fn paint_labels(
    painter: &egui::Painter,
    labels: &[MapLabel],
    to: &ToPoints,
    bounds: Rect,
) -> Vec<(String, Rect)> {
    let font = FontId::proportional(LABEL_PT);
    let short = to.size_pt.x.min(to.size_pt.y);
    let mut order: Vec<&MapLabel> = labels
        .iter()
        .filter(|l| l.level == 0 || l.extent * to.scale() >= FINER_SHARE * short)
        .collect();
    // Finer groups big enough to show go first: zoomed into a hotspot, what is inside it
    // is what the view is about, and the hotspot's own label (often at the same spot,
    // over the top of its members) gives way.
    order.sort_by(|a, b| {
        (b.level.cmp(&a.level))
            .then(b.count.cmp(&a.count))
            .then(a.text.cmp(&b.text))
    });
    let mut placed: Vec<(String, Rect)> = Vec::new();
    for label in order {
        let anchor = to.apply(label.at());
        let galley = painter.layout_no_wrap(label.text.clone(), font.clone(), Color32::WHITE);
        let rect = Align2::CENTER_BOTTOM
            .anchor_size(anchor, galley.size())
            .expand(3.0);
        if !bounds.intersects(rect) || placed.iter().any(|(_, r)| r.intersects(rect)) {
            continue;
        }
        placed.push((label.text.clone(), rect));
        painter.rect_filled(rect, 4.0, Color32::from_black_alpha(170));
        painter.galley(rect.min + vec2(3.0, 3.0), galley, Color32::WHITE);
    }
    placed
}

/// Paints the title centred at the top of `bounds`.
fn paint_title(painter: &egui::Painter, title: &str, bounds: Rect) {
    let galley = painter.layout_no_wrap(
        title.to_string(),
        FontId::proportional(TITLE_PT),
        Color32::WHITE,
    );
    let anchor = pos2(bounds.center().x, bounds.top() + MARGIN_PT);
    let rect = Align2::CENTER_TOP
        .anchor_size(anchor, galley.size())
        .expand2(vec2(10.0, 5.0));
    painter.rect_filled(rect, 6.0, Color32::from_black_alpha(190));
    painter.galley(rect.min + vec2(10.0, 5.0), galley, Color32::WHITE);
}

/// Paints everything `annotations` holds over a picture of `bounds` (points) showing
/// `camera`: labels, then the title and the legend (bottom left) over them. Returns the
/// labels placed, in placing order.
pub fn paint_annotations(
    painter: &egui::Painter,
    annotations: &Annotations,
    camera: Camera,
    bounds: Rect,
) -> Vec<String> {
    let to = ToPoints {
        camera,
        size_pt: bounds.size(),
        origin: bounds.min,
    };
    let placed = paint_labels(painter, &annotations.labels, &to, bounds);
    if let Some(title) = &annotations.title {
        paint_title(painter, title, bounds);
    }
    if let Some((column, items)) = &annotations.legend
        && !items.is_empty()
    {
        let size = legend_size(items.len());
        let origin = pos2(
            bounds.left() + MARGIN_PT,
            bounds.bottom() - size.y - MARGIN_PT,
        );
        paint_legend(painter, origin, column, items);
    }
    placed.into_iter().map(|(text, _)| text).collect()
}

/// The annotations of one picture, laid out and ready to draw into any of its tiles.
pub struct TextLayer {
    renderer: egui_wgpu::Renderer,
    ctx: egui::Context,
    shapes: Vec<egui::epaint::ClippedShape>,
    /// Pixels per point.
    scale: f32,
    /// The labels placed, in placing order (coarse first, largest first).
    pub placed: Vec<String>,
}

impl TextLayer {
    /// Lays out `annotations` over a `size` picture showing `camera` at `scale` pixels per
    /// point and uploads the glyphs; targets of `format`.
    pub fn new(
        gpu: &Gpu,
        format: wgpu::TextureFormat,
        annotations: &Annotations,
        camera: Camera,
        size: (u32, u32),
        scale: f32,
    ) -> Self {
        let points = vec2(size.0 as f32, size.1 as f32) / scale;
        let bounds = Rect::from_min_size(Pos2::ZERO, points);
        let ctx = egui::Context::default();
        let mut raw = egui::RawInput {
            screen_rect: Some(bounds),
            max_texture_side: Some(gpu.max_texture.min(8192) as usize),
            ..Default::default()
        };
        raw.viewports
            .entry(egui::ViewportId::ROOT)
            .or_default()
            .native_pixels_per_point = Some(scale);
        let mut placed = Vec::new();
        let mut full = ctx.run_ui(raw, |ui| {
            let painter = ui.painter().with_clip_rect(Rect::EVERYTHING);
            placed = paint_annotations(&painter, annotations, camera, bounds);
        });
        let mut renderer = egui_wgpu::Renderer::new(&gpu.device, format, Default::default());
        // Handed over, as egui asks (its deltas check that they were used).
        for (id, deltas) in full.textures_delta.set.drain() {
            for delta in &deltas {
                renderer.update_texture(&gpu.device, &gpu.queue, id, delta);
            }
        }
        full.textures_delta.free.clear();
        Self {
            renderer,
            ctx,
            shapes: full.shapes,
            scale: full.pixels_per_point,
            placed,
        }
    }

    /// Records drawing the part `tile` (x, y, width, height; pixels of the whole picture)
    /// over `target`, which holds that tile.
    pub fn draw(
        &mut self,
        gpu: &Gpu,
        encoder: &mut wgpu::CommandEncoder,
        target: &wgpu::TextureView,
        tile: (u32, u32, u32, u32),
    ) {
        if self.shapes.is_empty() {
            return;
        }
        // Shifted after tessellation, so every tile snaps the glyphs to the same pixels.
        let shift = egui::emath::TSTransform::from_translation(
            -vec2(tile.0 as f32, tile.1 as f32) / self.scale,
        );
        let shapes: Vec<egui::epaint::ClippedShape> = self
            .shapes
            .iter()
            .map(|c| egui::epaint::ClippedShape {
                clip_rect: Rect::EVERYTHING,
                shape: c.shape.clone(),
                transform_after_tessellation: shift,
            })
            .collect();
        let jobs = self.ctx.tessellate(shapes, self.scale);
        let screen = egui_wgpu::ScreenDescriptor {
            size_in_pixels: [tile.2, tile.3],
            pixels_per_point: self.scale,
        };
        let extra = self
            .renderer
            .update_buffers(&gpu.device, &gpu.queue, encoder, &jobs, &screen);
        gpu.queue.submit(extra);
        let mut pass =
            super::colour_pass(encoder, "text", target, wgpu::LoadOp::Load).forget_lifetime();
        self.renderer.render(&mut pass, &jobs, &screen);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(text: &str, x: f32, count: usize) -> MapLabel {
        MapLabel {
            text: text.to_string(),
            x,
            y: 0.0,
            count,
            ..Default::default()
        }
    }

    #[test]
    fn labels_are_placed_largest_first_without_overlap() {
        let ctx = egui::Context::default();
        let to = ToPoints {
            camera: Camera::fit_all(),
            size_pt: vec2(400.0, 400.0),
            origin: Pos2::ZERO,
        };
        let bounds = Rect::from_min_size(Pos2::ZERO, to.size_pt);
        let mut placed = Vec::new();
        let mut out = ctx.run_ui(egui::RawInput::default(), |ui| {
            // "b" is larger and overlaps "a"; "c" is far away; "d" is off the picture.
            let labels = [
                label("a small one", 0.0, 3),
                label("b large one", 0.01, 50),
                label("c", 0.8, 1),
                label("d", 9.0, 100),
            ];
            placed = paint_labels(ui.painter(), &labels, &to, bounds);
        });
        out.textures_delta.clear();
        assert_eq!(placed.len(), 2, "{placed:?}");
        assert_eq!(placed[0].0, "b large one", "the large one first");
        assert_eq!(placed[1].0, "c", "then the far one");
    }

    #[test]
    fn finer_labels_appear_when_zoomed_in() {
        let ctx = egui::Context::default();
        let labels = [
            label("hotspot", -0.1, 100),
            MapLabel {
                level: 1,
                extent: 0.2,
                ..label("inside", 0.1, 30)
            },
        ];
        let placed_at = |span: f32| {
            let to = ToPoints {
                camera: Camera {
                    centre: glam::Vec2::ZERO,
                    span,
                },
                size_pt: vec2(400.0, 400.0),
                origin: Pos2::ZERO,
            };
            let bounds = Rect::from_min_size(Pos2::ZERO, to.size_pt);
            let mut placed = Vec::new();
            let mut out = ctx.run_ui(egui::RawInput::default(), |ui| {
                placed = paint_labels(ui.painter(), &labels, &to, bounds);
            });
            out.textures_delta.clear();
            placed.len()
        };
        // Overview (2 units across): the group spans 10% of the view, only the hotspot.
        assert_eq!(placed_at(2.0), 1);
        // Zoomed in (0.7 across): it spans 29%, both.
        assert_eq!(placed_at(0.7), 2);
    }

    #[test]
    fn text_grows_with_the_picture() {
        assert_eq!(text_scale((1600, 900), 1.0), 1.0);
        assert_eq!(text_scale((16800, 4000), 1.0), 4000.0 / 900.0);
        assert_eq!(text_scale((1600, 900), 2.0), 2.0);
        assert_eq!(text_scale((100, 100), 1.0), 0.7);
    }
}
