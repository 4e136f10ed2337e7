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
