//! Draws a prepared layout as a PNG from the cached 32 px thumbnails — a CPU stand-in for
//! the viewer, for looking at layouts: `cargo run --release --example render_layout --
//! CACHE LAYOUT OUT.png [SIZE]`. Label anchors are red squares, hotspot centroids (on the
//! UMAP layout) blue rings, outlines grey.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use clip_plot::cache::PreparedDataset;
use clip_plot::thumbs::atlas;
use image::{Rgba, RgbaImage, imageops};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let prepared = PreparedDataset::open(std::path::Path::new(&args[1])).unwrap();
    let name = &args[2];
    let size: u32 = args.get(4).map_or(1024, |s| s.parse().unwrap());
    let positions = prepared.layout(name).unwrap();
    let extras = prepared.layout_extras(name).unwrap_or_default();
    let n = positions.len() as f32;
    let margin = 0.06;
    let to_px = |p: glam::Vec2| {
        let s = size as f32 * (1.0 - 2.0 * margin) / 2.0;
        (
            size as f32 / 2.0 + p[0] * s,
            size as f32 / 2.0 - p[1] * s, // y up
        )
    };
    let cell = if extras.cell > 0.0 {
        extras.cell
    } else {
        2.0 / n.sqrt() * 0.6
    };
    let thumb_px =
        ((cell * size as f32 * (1.0 - 2.0 * margin) / 2.0) * 0.9).clamp(2.0, 64.0) as u32;
    let mut out = RgbaImage::from_pixel(size, size, Rgba([20, 20, 24, 255]));
    for line in &extras.outlines {
        for w in line.windows(2) {
            let (a, b) = (to_px(w[0]), to_px(w[1]));
            let steps = ((b.0 - a.0).abs().max((b.1 - a.1).abs()) as usize).max(1);
            for t in 0..=steps {
                let f = t as f32 / steps as f32;
                let (x, y) = (a.0 + (b.0 - a.0) * f, a.1 + (b.1 - a.1) * f);
                if x >= 0.0 && y >= 0.0 && (x as u32) < size && (y as u32) < size {
                    out.put_pixel(x as u32, y as u32, Rgba([110, 110, 110, 255]));
                }
            }
        }
    }
    let pages: Vec<RgbaImage> = (0..prepared.page_count())
        .map(|p| atlas::decode_page_rgba(prepared.page(p)))
        .collect();
    for (i, rec) in prepared.thumb_records().iter().enumerate() {
        let cellimg = imageops::crop_imm(
            &pages[rec.page as usize],
            u32::from(rec.cell_x),
            u32::from(rec.cell_y),
            u32::from(rec.small_w).max(1),
            u32::from(rec.small_h).max(1),
        )
        .to_image();
        let t = imageops::resize(&cellimg, thumb_px, thumb_px, imageops::FilterType::Triangle);
        let (x, y) = to_px(positions[i]);
        imageops::overlay(
            &mut out,
            &t,
            (x - thumb_px as f32 / 2.0) as i64,
            (y - thumb_px as f32 / 2.0) as i64,
        );
    }
    let mut mark = |p: glam::Vec2, colour: Rgba<u8>, r: i32, ring: bool| {
        let (x, y) = to_px(p);
        for dy in -r..=r {
            for dx in -r..=r {
                let edge = dx.abs() == r || dy.abs() == r;
                if ring && !edge {
                    continue;
                }
                let (px, py) = (x as i32 + dx, y as i32 + dy);
                if px >= 0 && py >= 0 && (px as u32) < size && (py as u32) < size {
                    out.put_pixel(px as u32, py as u32, colour);
                }
            }
        }
    };
    for l in &extras.labels {
        mark(l.at(), Rgba([230, 40, 40, 255]), 3, false);
    }
    if name == "umap"
        && let Some(h) = prepared.hotspots("umap").unwrap()
    {
        for s in &h.hotspots {
            mark(s.centroid, Rgba([60, 140, 255, 255]), 12, true);
            println!("hotspot {}: {} ({} images)", s.id, s.label, s.size);
        }
    }
    for l in &extras.labels {
        println!("label '{}' ({} images)", l.text, l.count);
    }
    out.save(&args[3]).unwrap();
}
