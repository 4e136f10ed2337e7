#![allow(clippy::unwrap_used)]
use std::time::Instant;
fn main() {
    let dir = std::env::args().nth(1).unwrap();
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths.truncate(1000);
    let t = Instant::now();
    let bytes: Vec<Vec<u8>> = paths.iter().map(|p| std::fs::read(p).unwrap()).collect();
    println!("read {:?}", t.elapsed());
    let t = Instant::now();
    let dec: Vec<_> = bytes
        .iter()
        .map(|b| clip_plot::thumbs::decode::decode_bytes(b, 256).unwrap())
        .collect();
    println!("decode {:?}", t.elapsed());
    let t = Instant::now();
    let dec2: Vec<_> = bytes
        .iter()
        .map(|b| image::load_from_memory(b).unwrap())
        .collect();
    println!("decode image crate {:?} {}", t.elapsed(), dec2.len());
    let t = Instant::now();
    let th: Vec<_> = dec
        .iter()
        .map(|d| clip_plot::thumbs::thumb_from_image(&d.image, d.source_size, 256, None).unwrap())
        .collect();
    println!("thumb_from_image {:?}", t.elapsed());
    let t = Instant::now();
    for d in &dec {
        let _ = clip_plot::thumbs::resize(&d.image, (32, 32)).unwrap();
    }
    println!("resize to 32 {:?}", t.elapsed());
    let t = Instant::now();
    for d in &dec {
        let rgb = image::DynamicImage::ImageRgba8(d.image.clone()).into_rgb8();
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
            .encode_image(&rgb)
            .unwrap();
    }
    println!("jpeg encode {:?}", t.elapsed());
    let t = Instant::now();
    for d in &dec {
        let rgb = image::DynamicImage::ImageRgba8(d.image.clone()).into_rgb8();
        let mut out = Vec::new();
        let enc = jpeg_encoder::Encoder::new(&mut out, 85);
        enc.encode(
            rgb.as_raw(),
            rgb.width() as u16,
            rgb.height() as u16,
            jpeg_encoder::ColorType::Rgb,
        )
        .unwrap();
    }
    println!("jpeg-encoder {:?}", t.elapsed());
    let t = Instant::now();
    for x in &th {
        let _ = clip_plot::thumbs::atlas::encode_cell(&x.small);
    }
    println!("bc1 {:?}", t.elapsed());
    let t = Instant::now();
    for x in &th {
        let _ = clip_plot::thumbs::appearance_features(&x.small);
    }
    println!("appearance {:?}", t.elapsed());
}
#[allow(dead_code)]
fn unused() {}
