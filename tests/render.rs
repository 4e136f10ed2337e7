//! The renderer, headless (lavapipe in CI): prepared layouts drawn and compared with
//! reference PNGs. `CLIP_PLOT_UPDATE_REFERENCES=1 cargo test --test render` rewrites them
//! (look at every one before committing it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use clip_plot::cache::PreparedDataset;
use clip_plot::dataset::DatasetOptions;
use clip_plot::prepare::{NoProgress, PrepareOptions, prepare};
use clip_plot::render::{Gpu, ease, render_image, render_transition};

use common::fixture;

/// Mean absolute channel difference (0–255) and the share of pixels off by more than 48.
fn difference(a: &image::RgbaImage, b: &image::RgbaImage) -> (f64, f64) {
    assert_eq!(a.dimensions(), b.dimensions());
    let mut sum = 0u64;
    let mut far = 0usize;
    for (p, q) in a.pixels().zip(b.pixels()) {
        let d: Vec<u32> = (0..3).map(|c| u32::from(p[c].abs_diff(q[c]))).collect();
        sum += u64::from(d.iter().sum::<u32>());
        if d.iter().any(|&v| v > 48) {
            far += 1;
        }
    }
    let n = f64::from(a.width() * a.height());
    (sum as f64 / (3.0 * n), far as f64 / n)
}

/// The tuxpaint fixture prepared into `dir/cache`.
fn prepared_tuxpaint(dir: &std::path::Path) -> PreparedDataset {
    let cache = dir.join("cache");
    prepare(
        &PrepareOptions::new(DatasetOptions {
            root: fixture("tuxpaint"),
            cache: Some(cache.clone()),
            ..Default::default()
        }),
        &NoProgress,
    )
    .unwrap();
    PreparedDataset::open(&cache).unwrap()
}

#[test]
fn tuxpaint_layouts_render_like_their_references() {
    let dir = tempfile::tempdir().unwrap();
    let p = prepared_tuxpaint(dir.path());
    let gpu =
        Gpu::headless().expect("a Vulkan adapter (lavapipe: apt install mesa-vulkan-drivers)");
    println!("adapter: {} (BC1 on the GPU: {})", gpu.adapter_name, gpu.bc);
    let out_dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("render");
    std::fs::create_dir_all(&out_dir).unwrap();
    for layout in ["umap", "grid", "categorical", "transition"] {
        let img = if layout == "transition" {
            // Halfway from the grid to UMAP (eased): every image between its two places.
            render_transition(&gpu, &p, "grid", "umap", ease(0.5), 384, 384).unwrap()
        } else {
            render_image(&gpu, &p, layout, 384, 384).unwrap()
        };
        let got = out_dir.join(format!("tuxpaint_{layout}.png"));
        img.save(&got).unwrap();
        let reference = fixture(&format!("render/tuxpaint_{layout}.png"));
        if std::env::var_os("CLIP_PLOT_UPDATE_REFERENCES").is_some() {
            std::fs::create_dir_all(reference.parent().unwrap()).unwrap();
            img.save(&reference).unwrap();
        }
        let want = image::open(&reference).unwrap().to_rgba8();
        let (mean, far) = difference(&img, &want);
        println!(
            "{layout}: mean difference {mean:.2}, {:.2}% pixels far ({})",
            far * 100.0,
            got.display()
        );
        assert!(
            mean < 2.0 && far < 0.01,
            "{layout} differs from its reference: mean {mean:.2}, far {far:.4}; see {}",
            got.display()
        );
        // Not blank: thumbnails cover a good part of the frame.
        let lit = img
            .pixels()
            .filter(|p| p[0] > 40 || p[1] > 40 || p[2] > 40)
            .count();
        assert!(lit > 384 * 384 / 20, "{layout}: only {lit} lit pixels");
    }
}

#[test]
fn a_transition_starts_and_ends_on_its_layouts() {
    let dir = tempfile::tempdir().unwrap();
    let p = prepared_tuxpaint(dir.path());
    let gpu = Gpu::headless().unwrap();
    let grid = render_image(&gpu, &p, "grid", 200, 200).unwrap();
    let umap = render_image(&gpu, &p, "umap", 200, 200).unwrap();
    let start = render_transition(&gpu, &p, "grid", "umap", 0.0, 200, 200).unwrap();
    let end = render_transition(&gpu, &p, "grid", "umap", 1.0, 200, 200).unwrap();
    let mid = render_transition(&gpu, &p, "grid", "umap", 0.5, 200, 200).unwrap();
    assert_eq!(difference(&start, &grid), (0.0, 0.0));
    assert_eq!(difference(&end, &umap), (0.0, 0.0));
    assert!(difference(&mid, &grid).0 > 2.0 && difference(&mid, &umap).0 > 2.0);
    assert_eq!((ease(0.0), ease(0.5), ease(1.0)), (0.0, 0.5, 1.0));
    assert!(ease(0.1) < 0.1 && ease(0.9) > 0.9);
}
