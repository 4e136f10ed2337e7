//! Where thumbnail time goes, per step, single-threaded:
//! `cargo run --release --example profile_thumbs -- DIR_OF_IMAGES`.
#![allow(clippy::unwrap_used)]
use std::time::Instant;

fn main() {
    let dir = std::env::args().nth(1).unwrap();
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    paths.truncate(1000);
    let n = paths.len() as f64;
    let step = |name: &str, t: Instant| {
        println!(
            "{name:>16}: {:7.1} µs/image",
            t.elapsed().as_secs_f64() * 1e6 / n
        )
    };
    let t = Instant::now();
    let bytes: Vec<Vec<u8>> = paths.iter().map(|p| std::fs::read(p).unwrap()).collect();
    step("read", t);
    let t = Instant::now();
    let dec: Vec<_> = bytes
        .iter()
        .map(|b| clip_plot::thumbs::decode::decode_bytes(b, 256).unwrap())
        .collect();
    step("decode", t);
    let t = Instant::now();
    let large: Vec<_> = dec
        .iter()
        .map(|d| {
            let (w, h) = d.image.dimensions();
            clip_plot::thumbs::resize(&d.image, clip_plot::thumbs::fit_size(w, h, 256)).unwrap()
        })
        .collect();
    step("resize large", t);
    let t = Instant::now();
    let small: Vec<_> = large
        .iter()
        .map(|l| {
            let (w, h) = l.dimensions();
            clip_plot::thumbs::resize(l, clip_plot::thumbs::fit_size(w, h, 32)).unwrap()
        })
        .collect();
    step("resize small", t);
    let t = Instant::now();
    for s in &small {
        let _ = clip_plot::thumbs::atlas::encode_cell(s);
    }
    step("bc1", t);
    let t = Instant::now();
    for s in &small {
        let _ = clip_plot::thumbs::appearance_features(s);
    }
    step("appearance", t);
    let t = Instant::now();
    for p in &paths {
        let _ = clip_plot::thumbs::make_thumb(p, 256).unwrap();
    }
    step("make_thumb", t);
}
