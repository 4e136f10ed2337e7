//! The window's dataset state without a window (lavapipe): open a prepared dataset, switch
//! layouts, filter, select, fly to and rename hotspots; pictures through the offscreen path.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use clip_plot::app::session::Session;
use clip_plot::dataset::DatasetOptions;
use clip_plot::prepare::{NoProgress, PrepareOptions, prepare};
use clip_plot::render::offscreen::FORMAT;
use clip_plot::render::{Camera, FrameState, Gpu, render_view};

use common::fixture;

/// Mean brightness above the background's (18, 18, 20): what the thumbnails add.
fn mean_brightness(img: &image::RgbaImage) -> f64 {
    img.pixels()
        .map(|p| f64::from(p[0]) + f64::from(p[1]) + f64::from(p[2]) - 56.0)
        .sum::<f64>()
        / f64::from(img.width() * img.height())
}

fn draw(gpu: &Gpu, s: &mut Session, camera: Camera) -> image::RgbaImage {
    let frame = FrameState::still(camera);
    let img = render_view(
        gpu,
        &mut s.map,
        &s.index,
        Some(&mut s.lod),
        None,
        &frame,
        (320, 320),
        None,
    )
    .unwrap();
    s.invalidate_visible();
    img
}

#[test]
fn a_session_filters_selects_switches_and_renames() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    prepare(
        &PrepareOptions::new(DatasetOptions {
            root: fixture("tuxpaint"),
            cache: Some(cache.clone()),
            ..Default::default()
        }),
        &NoProgress,
    )
    .unwrap();
    let gpu = Gpu::headless().unwrap();
    let mut s = Session::open(&gpu, &cache, FORMAT).unwrap();
    assert_eq!(s.current, "umap");
    let all = Camera::fit_all();
    let plain = draw(&gpu, &mut s, all);

    // The filter dims what does not match: "flower" leaves a handful bright.
    s.update_dimming("flower", None);
    let filtered = draw(&gpu, &mut s, all);
    filtered
        .save(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("session_filtered.png"))
        .unwrap();
    let (b0, b1) = (mean_brightness(&plain), mean_brightness(&filtered));
    assert!(b1 < 0.5 * b0, "filtering did not dim: {b0:.1} → {b1:.1}");
    s.update_dimming("", None);
    assert_eq!(draw(&gpu, &mut s, all), plain);

    // Hovering a hotspot in the list dims everything outside it.
    let spots = s.hotspots.as_ref().expect("hotspots").hotspots.len();
    assert!(spots >= 2);
    s.update_dimming("", Some(spots - 1));
    assert!(mean_brightness(&draw(&gpu, &mut s, all)) < 0.8 * b0);
    s.update_dimming("", None);

    // The lasso's selection, and where a hotspot is.
    let ids = s
        .index
        .lasso(&[[-1.2, -1.2], [0.0, -1.2], [0.0, 0.0], [-1.2, 0.0]]);
    assert!(!ids.is_empty());
    s.select(&ids, false);
    assert_eq!(s.selected, ids.len());
    assert_eq!(s.selected_ids(), ids);
    s.select(&[], false);
    assert_eq!(s.selected, 0);
    let target = s
        .hotspot_camera(0)
        .expect("a camera for the largest hotspot");
    assert!(target.span < all.span);
    let labels = s.labels();
    assert_eq!(labels.len(), spots);

    // Switching layouts animates, then settles on the new layout's positions.
    s.switch_to(&gpu, "grid").unwrap();
    assert!(s.transitioning());
    assert_eq!(s.current, "grid");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(s.blend(), 1.0);
    assert!(!s.transitioning());
    let grid =
        clip_plot::render::render_image(&gpu, &s.prepared, "grid", (320, 320), &Default::default())
            .unwrap();
    assert_eq!(draw(&gpu, &mut s, all), grid);

    // A renamed hotspot keeps its name when the dataset is opened again.
    s.rename_hotspot(0, "my planets").unwrap();
    let again = Session::open(&gpu, &cache, FORMAT).unwrap();
    assert_eq!(again.hotspots.unwrap().hotspots[0].label, "my planets");
}
