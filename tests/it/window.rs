//! The real window, under Xvfb (CI installs it): opens the tuxpaint fixture (preparing it in
//! the background first), draws frames, saves a picture of the whole window and exits.

use std::process::Command;

use crate::common::{binary, fixture};

#[test]
fn the_window_opens_draws_and_saves_a_screenshot_under_xvfb() {
    let xvfb = Command::new("xvfb-run").arg("--help").output();
    assert!(
        xvfb.is_ok(),
        "this test needs Xvfb: apt install xvfb (CI's .ci/run does)"
    );
    let dir = tempfile::tempdir().unwrap();
    let shot = dir.path().join("window.png");
    let output = Command::new("xvfb-run")
        .args(["-a", "-s", "-screen 0 1280x800x24"])
        .arg(binary())
        .arg(fixture("tuxpaint"))
        .arg("--cache")
        .arg(dir.path().join("cache"))
        .arg("--logo")
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/logo.png"))
        .args(["--exit-after-frames", "20", "--screenshot-on-exit"])
        .arg(&shot)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the window failed: {stderr}");
    assert!(stderr.contains("first frame of 207 images"), "{stderr}");
    let img = image::open(&shot).unwrap().to_rgba8();
    let keep = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("window.png");
    img.save(&keep).unwrap();
    assert_eq!(img.dimensions(), (1280, 800));
    // The side panel (egui's panel grey) on the left, thumbnails on the right.
    let panel = img.get_pixel(5, 400).0;
    assert_eq!(&panel[..3], &[27, 27, 27], "no side panel at the left edge");
    let lit = (300..1280)
        .flat_map(|x| (0..760).map(move |y| (x, y)))
        .filter(|&(x, y)| img.get_pixel(x, y).0[..3].iter().any(|&c| c > 80))
        .count();
    assert!(
        lit > 20_000,
        "the map looks empty ({lit} lit pixels): {}",
        keep.display()
    );
    // The logo sits in the map's bottom-right corner: its nine coloured squares.
    let colourful = (1000..1280)
        .flat_map(|x| (650..775).map(move |y| (x, y)))
        .filter(|&(x, y)| {
            let p = img.get_pixel(x, y).0;
            p[0].max(p[1]).max(p[2]) - p[0].min(p[1]).min(p[2]) > 100
        })
        .count();
    assert!(colourful > 500, "no logo: {}", keep.display());
}

#[test]
fn with_no_argument_the_window_stays_up_and_offers_to_open_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    let shot = dir.path().join("welcome.png");
    // No portal under Xvfb: the dialog cannot open, the window must not exit on its own.
    let output = Command::new("xvfb-run")
        .args(["-a", "-s", "-screen 0 1280x800x24"])
        .arg(binary())
        .args(["--exit-after-frames", "30", "--screenshot-on-exit"])
        .arg(&shot)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the window failed: {stderr}");
    assert!(!stderr.contains("required"), "{stderr}");
    let img = image::open(&shot).unwrap().to_rgba8();
    let keep = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("welcome.png");
    img.save(&keep).unwrap();
    // The welcome text and the Open folder button sit in the middle of the map area.
    assert_eq!(img.dimensions(), (1280, 800));
    let lit = (500..1050)
        .flat_map(|x| (320..450).map(move |y| (x, y)))
        .filter(|&(x, y)| img.get_pixel(x, y).0[..3].iter().all(|&c| c > 110))
        .count();
    assert!(
        lit > 1500,
        "no welcome text ({lit} light pixels): {}",
        keep.display()
    );
}

/// Runs the window on `cache` (tuxpaint) with `args` until it settles; its screenshot.
fn window_shot(cache: &std::path::Path, args: &[&str], name: &str) -> (image::RgbaImage, String) {
    let shot = cache.with_file_name(name);
    let output = Command::new("xvfb-run")
        .args(["-a", "-s", "-screen 0 1280x800x24"])
        .arg(binary())
        .arg(fixture("tuxpaint"))
        .arg("--cache")
        .arg(cache)
        .args(args)
        .args(["--exit-after-frames", "20", "--screenshot-on-exit"])
        .arg(&shot)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "the window failed: {stderr}");
    let img = image::open(&shot).unwrap().to_rgba8();
    img.save(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name))
        .unwrap();
    (img, stderr)
}

#[test]
fn a_saved_view_opens_with_view_and_the_last_view_comes_back() {
    use clip_plot::explore::views::{View, Views};
    let dir = tempfile::tempdir().unwrap();
    let cache = crate::common::prepared_tuxpaint_copy(dir.path());
    let mut filters = clip_plot::explore::state::FilterState::default();
    filters.toggle_value("category", "food");
    let mut views = Views::default();
    views
        .put(View {
            name: "food".into(),
            layout: "grid".into(),
            camera: None,
            filters,
            colour_by: Some("category".into()),
            hide: false,
        })
        .unwrap();
    views
        .save(&clip_plot::cache::CacheDir::new(&cache))
        .unwrap();

    let (img, _) = window_shot(&cache, &["--view", "food"], "window_view_food.png");
    // The panels say what the view filters by; the legend sits over the map's corner.
    let legend_text = (395..640)
        .flat_map(|x| (560..770).map(move |y| (x, y)))
        .filter(|&(x, y)| img.get_pixel(x, y).0[..3].iter().all(|&c| c > 200))
        .count();
    assert!(legend_text > 300, "no legend: {legend_text}");
    // Closing remembered the view: opened again without --view, the same picture.
    let back = Views::load(&clip_plot::cache::CacheDir::new(&cache)).unwrap();
    let last = back.last.expect("the view the window closed on");
    assert_eq!(last.layout, "grid");
    assert_eq!(last.colour_by.as_deref(), Some("category"));
    let (again, _) = window_shot(&cache, &[], "window_last_view.png");
    let differing = img
        .pixels()
        .zip(again.pixels())
        .filter(|(a, b)| {
            a.0[..3]
                .iter()
                .zip(&b.0[..3])
                .any(|(x, y)| x.abs_diff(*y) > 40)
        })
        .count();
    assert!(differing < 1280 * 800 / 50, "{differing} pixels differ");

    // A view that is not there stops before a window opens.
    let out = Command::new(binary())
        .arg(fixture("tuxpaint"))
        .arg("--cache")
        .arg(&cache)
        .args(["--view", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("(views: food)"));
}
