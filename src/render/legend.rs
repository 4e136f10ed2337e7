//! The colour-by legend inside pictures (`render --view`, the window's screenshots): a
//! title and one swatch, label and count per entry, drawn by egui into a small offscreen
//! texture and laid over the picture's bottom-left corner on the CPU.
//!
//! egui does the text (its fonts are already in the binary for the window's panels), so
//! pictures and panels read alike; the legend texture is sized by the entries, not by the
//! picture, so a 16k poster costs the same few hundred pixels, scaled with the picture's
//! height so it stays legible there. Rejected: a second font rasteriser (ab_glyph by
//! hand, or a text crate) for one box of text.

use image::RgbaImage;

use super::offscreen::{FORMAT, Target};
use super::{Gpu, RenderError};

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

/// Draws the legend offscreen at `scale` pixels per point; premultiplied RGBA.
pub fn legend_image(
    gpu: &Gpu,
    title: &str,
    items: &[LegendItem],
    scale: f32,
) -> Result<RgbaImage, RenderError> {
    let points = legend_size(items.len());
    let size = (
        (points.x * scale).ceil().max(1.0) as u32,
        (points.y * scale).ceil().max(1.0) as u32,
    );
    let ctx = egui::Context::default();
    let mut raw = egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(egui::Pos2::ZERO, points)),
        ..Default::default()
    };
    raw.viewports
        .entry(egui::ViewportId::ROOT)
        .or_default()
        .native_pixels_per_point = Some(scale);
    let full = ctx.run_ui(raw, |ui| {
        paint_legend(ui.painter(), egui::Pos2::ZERO, title, items);
    });
    let egui::FullOutput {
        shapes,
        pixels_per_point,
        mut textures_delta,
        ..
    } = full;
    let jobs = ctx.tessellate(shapes, pixels_per_point);
    let mut renderer = egui_wgpu::Renderer::new(&gpu.device, FORMAT, Default::default());
    for (id, deltas) in textures_delta.set.drain() {
        for delta in &deltas {
            renderer.update_texture(&gpu.device, &gpu.queue, id, delta);
        }
    }
    textures_delta.free.clear();
    let screen = egui_wgpu::ScreenDescriptor {
        size_in_pixels: [size.0, size.1],
        pixels_per_point,
    };
    let target = Target::new(gpu, size, FORMAT);
    let mut encoder = gpu.device.create_command_encoder(&Default::default());
    let extra = renderer.update_buffers(&gpu.device, &gpu.queue, &mut encoder, &jobs, &screen);
    {
        let clear = wgpu::LoadOp::Clear(wgpu::Color::TRANSPARENT);
        let mut pass =
            super::colour_pass(&mut encoder, "legend", &target.view, clear).forget_lifetime();
        renderer.render(&mut pass, &jobs, &screen);
    }
    target.copy(&mut encoder);
    gpu.queue
        .submit(extra.into_iter().chain([encoder.finish()]));
    let mut out = RgbaImage::new(size.0, size.1);
    target.read(gpu, |y, row| {
        let start = (y * size.0 * 4) as usize;
        out.as_mut()[start..start + row.len()].copy_from_slice(row);
    })?;
    Ok(out)
}

/// Lays premultiplied `overlay` over `picture` with its top-left at `at` (clipped).
pub fn composite(picture: &mut RgbaImage, overlay: &RgbaImage, at: (u32, u32)) {
    for (x, y, src) in overlay.enumerate_pixels() {
        let (px, py) = (at.0 + x, at.1 + y);
        if px >= picture.width() || py >= picture.height() {
            continue;
        }
        let dst = picture.get_pixel_mut(px, py);
        let a = u32::from(src[3]);
        for c in 0..3 {
            let v = u32::from(src[c]) + u32::from(dst[c]) * (255 - a) / 255;
            dst[c] = v.min(255) as u8;
        }
        dst[3] = (a + u32::from(dst[3]) * (255 - a) / 255).min(255) as u8;
    }
}

/// Draws the legend into `picture`'s bottom-left corner, scaled with its height.
pub fn stamp_legend(
    gpu: &Gpu,
    picture: &mut RgbaImage,
    title: &str,
    items: &[LegendItem],
) -> Result<(), RenderError> {
    if items.is_empty() {
        return Ok(());
    }
    // One point per 900th of the height: legible on a poster, small on a thumbnail.
    let scale = (picture.height() as f32 / 900.0).clamp(0.5, 8.0);
    let legend = legend_image(gpu, title, items, scale)?;
    let margin = (16.0 * scale) as u32;
    let y = picture.height().saturating_sub(legend.height() + margin);
    composite(picture, &legend, (margin, y));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composite_is_over() {
        let mut picture = RgbaImage::from_pixel(4, 4, image::Rgba([100, 100, 100, 255]));
        let mut overlay = RgbaImage::new(2, 2);
        overlay.put_pixel(0, 0, image::Rgba([255, 0, 0, 255]));
        overlay.put_pixel(1, 0, image::Rgba([64, 0, 0, 128]));
        composite(&mut picture, &overlay, (3, 0));
        assert_eq!(picture.get_pixel(3, 0).0, [255, 0, 0, 255]);
        assert_eq!(
            picture.get_pixel(3, 1).0,
            [100, 100, 100, 255],
            "transparent: unchanged"
        );
        composite(&mut picture, &overlay, (0, 2));
        assert_eq!(picture.get_pixel(1, 2).0, [64 + 49, 49, 49, 255]);
        assert_eq!(shorten("abcdef", 4), "abc…");
    }
}
