//! Thumbnail throughput: `cargo bench --bench thumbs`.
//!
//! The end-to-end figure people compare against Pillow is `prepare --only thumbs` (see
//! README's performance table); these benches isolate its parts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use divan::counter::ItemsCount;
use rayon::prelude::*;

fn main() {
    divan::main();
}

fn fixture_images() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack =
        vec![PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tuxpaint/images")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Both levels of every fixture image, on the rayon pool.
#[divan::bench(sample_count = 10)]
fn tuxpaint_make_thumbs(bencher: divan::Bencher) {
    let paths = fixture_images();
    bencher.counter(ItemsCount::new(paths.len())).bench(|| {
        paths
            .par_iter()
            .filter(|p| clip_plot::thumbs::make_thumb(p, 256).is_ok())
            .count()
    });
}

fn photo_jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x ^ y) % 256) as u8])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&img)
        .unwrap();
    out
}

/// A 12-megapixel JPEG decoded at 1/8 scale (what prepare does for big photos).
#[divan::bench(sample_count = 10)]
fn decode_12mp_jpeg_scaled(bencher: divan::Bencher) {
    let bytes = photo_jpeg(4000, 3000);
    bencher.bench(|| clip_plot::thumbs::decode::decode_bytes(&bytes, 256).unwrap());
}

/// BC1 encoding of one 32×32 atlas cell.
#[divan::bench]
fn bc1_encode_cell(bencher: divan::Bencher) {
    let thumb = image::RgbaImage::from_fn(32, 24, |x, y| {
        image::Rgba([x as u8 * 8, y as u8 * 10, 90, 255])
    });
    bencher.bench(|| clip_plot::thumbs::atlas::encode_cell(&thumb));
}
