//! The renderer, headless (lavapipe in CI): prepared layouts drawn and compared with
//! reference PNGs. `CLIP_PLOT_UPDATE_REFERENCES=1 cargo test --test it render::` rewrites them
//! (look at every one before committing it).

use clip_plot::cache::PreparedDataset;
use std::sync::Arc;

use clip_plot::render::index::{LayoutIndex, half_extents};
use clip_plot::render::lod::LodPool;
use clip_plot::render::map::{Atlas, DIMMED, SELECTED};
use clip_plot::render::offscreen::FORMAT;
use clip_plot::render::overlay::{Logo, read_logo};
use clip_plot::render::{
    Annotations, Camera, FrameState, Gpu, MapRenderer, Picture, RenderOptions, Style, ease,
    layout_with_cell, render_image, render_transition, render_view,
};

use crate::common::fixture;

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

/// The tuxpaint fixture prepared into `dir/cache`, with our logo as the dataset's.
/// The shared prepared tuxpaint fixture (with the logo), read only.
fn prepared_tuxpaint(_dir: &std::path::Path) -> Arc<PreparedDataset> {
    Arc::new(PreparedDataset::open(crate::common::shared_tuxpaint_cache()).unwrap())
}

fn logo_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/logo.png")
}

fn out_dir() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("render");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Layout `layout` of `p` on the GPU and its CPU index.
fn map_and_index(gpu: &Gpu, p: &PreparedDataset, layout: &str) -> (MapRenderer, LayoutIndex) {
    let (positions, cell) = layout_with_cell(p, layout).unwrap();
    let map = MapRenderer::new(gpu, &Atlas::of(p), &positions, cell, FORMAT);
    (map, LayoutIndex::new(positions, cell, half_extents(p)))
}

/// Saves `img` as `name` for looking at, and compares it with the reference of that name
/// (rewritten first when CLIP_PLOT_UPDATE_REFERENCES is set).
fn compare_with_reference(img: &image::RgbaImage, name: &str) {
    let got = out_dir().join(name);
    img.save(&got).unwrap();
    let reference = fixture(&format!("render/{name}"));
    if std::env::var_os("CLIP_PLOT_UPDATE_REFERENCES").is_some() {
        std::fs::create_dir_all(reference.parent().unwrap()).unwrap();
        img.save(&reference).unwrap();
    }
    let want = image::open(&reference).unwrap().to_rgba8();
    let (mean, far) = difference(img, &want);
    println!(
        "{name}: mean difference {mean:.2}, {:.2}% pixels far ({})",
        far * 100.0,
        got.display()
    );
    assert!(
        mean < 2.0 && far < 0.01,
        "{name} differs from its reference: mean {mean:.2}, far {far:.4}; see {}",
        got.display()
    );
}

/// Sum of squared horizontal differences of the green channel: how much fine detail.
fn sharpness(img: &image::RgbaImage) -> f64 {
    let mut sum = 0.0;
    for y in 0..img.height() {
        for x in 1..img.width() {
            let d = f64::from(img.get_pixel(x, y)[1]) - f64::from(img.get_pixel(x - 1, y)[1]);
            sum += d * d;
        }
    }
    sum / f64::from(img.width() * img.height())
}

#[test]
fn tuxpaint_layouts_render_like_their_references() {
    let dir = tempfile::tempdir().unwrap();
    let p = prepared_tuxpaint(dir.path());
    let gpu =
        Gpu::headless().expect("a Vulkan adapter (lavapipe: apt install mesa-vulkan-drivers)");
    println!("adapter: {} (BC1 on the GPU: {})", gpu.adapter_name, gpu.bc);
    for layout in ["umap", "grid", "categorical", "transition"] {
        let img = if layout == "transition" {
            // Halfway from the grid to UMAP (eased): every image between its two places.
            render_transition(&gpu, &p, "grid", "umap", ease(0.5), 384, 384).unwrap()
        } else {
            render_image(&gpu, &p, layout, (384, 384), &RenderOptions::default()).unwrap()
        };
        compare_with_reference(&img, &format!("tuxpaint_{layout}.png"));
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
    let plain = RenderOptions::default();
    let grid = render_image(&gpu, &p, "grid", (200, 200), &plain).unwrap();
    let umap = render_image(&gpu, &p, "umap", (200, 200), &plain).unwrap();
    let start = render_transition(&gpu, &p, "grid", "umap", 0.0, 200, 200).unwrap();
    let end = render_transition(&gpu, &p, "grid", "umap", 1.0, 200, 200).unwrap();
    let mid = render_transition(&gpu, &p, "grid", "umap", 0.5, 200, 200).unwrap();
    assert_eq!(difference(&start, &grid), (0.0, 0.0));
    assert_eq!(difference(&end, &umap), (0.0, 0.0));
    assert!(difference(&mid, &grid).0 > 2.0 && difference(&mid, &umap).0 > 2.0);
    assert_eq!((ease(0.0), ease(0.5), ease(1.0)), (0.0, 0.5, 1.0));
    assert!(ease(0.1) < 0.1 && ease(0.9) > 0.9);
}

#[test]
fn tiles_stitch_into_the_same_picture() {
    let dir = tempfile::tempdir().unwrap();
    let p = prepared_tuxpaint(dir.path());
    let gpu = Gpu::headless().unwrap();
    let whole = RenderOptions {
        logo: true,
        ..Default::default()
    };
    let tiled = RenderOptions {
        max_tile: Some(128),
        ..whole.clone()
    };
    let a = render_image(&gpu, &p, "grid", (600, 300), &whole).unwrap();
    let b = render_image(&gpu, &p, "grid", (600, 300), &tiled).unwrap();
    b.save(out_dir().join("tuxpaint_tiled.png")).unwrap();
    let (mean, far) = difference(&a, &b);
    assert!(
        mean < 0.5 && far < 0.002,
        "tiled differs: mean {mean}, far {far}"
    );
}

#[test]
fn zoomed_in_thumbnails_get_their_detail_level() {
    let dir = tempfile::tempdir().unwrap();
    let p = prepared_tuxpaint(dir.path());
    let gpu = Gpu::headless().unwrap();
    // Close on the grid's centre: thumbnails about 100 px wide.
    let (positions, cell) = layout_with_cell(&p, "grid").unwrap();
    let camera = Camera {
        centre: positions[0],
        span: 3.0 * cell,
    };
    let options = |detail| RenderOptions {
        camera: Some(camera),
        detail,
        ..Default::default()
    };
    let blurry = render_image(&gpu, &p, "grid", (320, 320), &options(false)).unwrap();
    let sharp = render_image(&gpu, &p, "grid", (320, 320), &options(true)).unwrap();
    blurry
        .save(out_dir().join("tuxpaint_no_detail.png"))
        .unwrap();
    let (s0, s1) = (sharpness(&blurry), sharpness(&sharp));
    println!("sharpness without detail {s0:.1}, with {s1:.1}");
    assert!(
        s1 > 1.3 * s0,
        "the detail level adds no detail: {s0} vs {s1}"
    );
    compare_with_reference(&sharp, "tuxpaint_detail.png");
}

#[test]
fn selection_dimming_hover_borders_and_logo() {
    let dir = tempfile::tempdir().unwrap();
    let p = prepared_tuxpaint(dir.path());
    let gpu = Gpu::headless().unwrap();
    let (positions, cell) = layout_with_cell(&p, "grid").unwrap();
    let mut map = MapRenderer::new(&gpu, &Atlas::of(&p), &positions, cell, FORMAT);
    let index = LayoutIndex::new(positions.clone(), cell, half_extents(&p));
    // Select the images in the left third, dim the bottom third, hover the one in the middle.
    let lo = positions.iter().map(|q| q[0]).fold(f32::INFINITY, f32::min);
    let hi = positions
        .iter()
        .map(|q| q[0])
        .fold(f32::NEG_INFINITY, f32::max);
    let bottom = positions.iter().map(|q| q[1]).fold(f32::INFINITY, f32::min);
    let top = positions
        .iter()
        .map(|q| q[1])
        .fold(f32::NEG_INFINITY, f32::max);
    map.set_flags(SELECTED, |i| positions[i][0] < lo + (hi - lo) / 3.0);
    map.set_flags(DIMMED, |i| positions[i][1] < bottom + (top - bottom) / 3.0);
    let hover = index
        .pick(glam::Vec2::ZERO, 1.0)
        .expect("an image at the centre");
    let mut logo = Logo::new(&gpu, read_logo(&logo_path()).unwrap(), FORMAT);
    let frame = FrameState {
        hover: Some(hover as u32),
        style: Style {
            borders: true,
            background: [40, 44, 60],
            size_scale: 0.9,
            ..Style::default()
        },
        ..FrameState::still(Camera::fit_all())
    };
    let mut lod = LodPool::new(p.clone(), &gpu, &map);
    let none = Annotations::default();
    let picture = Picture::new(frame, (384, 384), &none);
    let img = render_view(
        &gpu,
        &mut map,
        &index,
        Some(&mut lod),
        Some(&mut logo),
        &picture,
    )
    .unwrap();
    compare_with_reference(&img, "tuxpaint_states.png");
    // The background colour shows between the thumbnails (size 0.9 leaves gaps).
    assert_eq!(img.get_pixel(2, 2).0, [40, 44, 60, 255]);
}

/// Mean absolute difference between columns `x - 1` and `x`.
fn column_step(img: &image::RgbaImage, x: u32) -> f64 {
    let mut sum = 0u64;
    for y in 0..img.height() {
        let (a, b) = (img.get_pixel(x - 1, y), img.get_pixel(x, y));
        sum += (0..3).map(|c| u64::from(a[c].abs_diff(b[c]))).sum::<u64>();
    }
    sum as f64 / f64::from(img.height() * 3)
}

#[test]
fn render_command_draws_screen_and_poster_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let logo = logo_path();
    let run = |size: &str, out: &std::path::Path| {
        let output = std::process::Command::new(crate::common::binary())
            .arg("render")
            .arg(fixture("tuxpaint"))
            .arg("--cache")
            .arg(&cache)
            .arg("--logo")
            .arg(&logo)
            .args(["--layout", "grid", "--quiet", "--size", size, "-o"])
            .arg(out)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    };
    let screen = dir.path().join("screen.png");
    let said = run("1920x1080", &screen);
    assert!(said.contains("1920×1080 (1 tile"), "{said}");
    let img = image::open(&screen).unwrap().to_rgba8();
    assert_eq!(img.dimensions(), (1920, 1080));
    img.save(out_dir().join("render_1920x1080.png")).unwrap();

    // A poster wider than any texture: drawn in tiles of at most 8192, stitched.
    let poster = dir.path().join("poster.png");
    let said = run("16800x4000", &poster);
    assert!(said.contains("16800×4000 (3 tiles"), "{said}");
    let img = image::open(&poster).unwrap().to_rgba8();
    assert_eq!(img.dimensions(), (16800, 4000));
    image::imageops::thumbnail(&img, 1680, 400)
        .save(out_dir().join("render_16800x4000_small.png"))
        .unwrap();
    // No seam where tiles meet: the step across the boundary is like any other column's.
    let typical: f64 = (1..40)
        .map(|k| column_step(&img, 8192 - 97 * k))
        .sum::<f64>()
        / 39.0;
    let seam = column_step(&img, 8192);
    assert!(
        seam < 2.0 * typical + 2.0,
        "a seam at the tile boundary: {seam:.2} vs typical {typical:.2}"
    );
    // Thumbnails are drawn large enough to get their detail level (sharp, not 32 px blown up).
    let lit = img
        .pixels()
        .step_by(97)
        .filter(|p| p[0] > 40 || p[1] > 40 || p[2] > 40)
        .count();
    assert!(lit > img.pixels().len() / 97 / 20, "poster mostly empty");
    // The logo in the bottom-right corner.
    let corner = image::imageops::crop_imm(&img, 16800 - 1400, 4000 - 400, 1400, 400).to_image();
    let colourful = corner
        .pixels()
        .filter(|p| p[0].max(p[1]).max(p[2]) - p[0].min(p[1]).min(p[2]) > 100)
        .count();
    assert!(colourful > 10_000, "no logo in the poster's corner");
}

/// Pixels that differ between `a` and `b` by more than 60 in some channel.
fn changed_pixels(a: &image::RgbaImage, b: &image::RgbaImage) -> usize {
    a.pixels()
        .zip(b.pixels())
        .filter(|(p, q)| (0..3).any(|c| p[c].abs_diff(q[c]) > 60))
        .count()
}

#[test]
fn pictures_carry_their_labels() {
    let p = prepared_tuxpaint(std::path::Path::new(""));
    let gpu = Gpu::headless().unwrap();
    let ex = clip_plot::explore::Explorer::open(p.clone()).unwrap();
    for (layout, reference) in [
        ("categorical", "tuxpaint_categorical_labels.png"),
        ("umap", "tuxpaint_umap_labels.png"),
    ] {
        let labels = ex.map_labels(layout, None).unwrap();
        assert!(labels.len() >= 3, "{layout}: {} labels", labels.len());
        let plain = render_image(&gpu, &p, layout, (384, 384), &RenderOptions::default()).unwrap();
        let options = RenderOptions {
            annotations: Annotations {
                labels: labels.clone(),
                ..Default::default()
            },
            ..Default::default()
        };
        let img = render_image(&gpu, &p, layout, (384, 384), &options).unwrap();
        compare_with_reference(&img, reference);
        // The text is there: the label boxes changed a thousand pixels and more.
        let changed = changed_pixels(&plain, &img);
        assert!(changed > 1000, "{layout}: labels changed {changed} pixels");
        // Twice the label scale: bigger text, more pixels.
        let big = RenderOptions {
            label_scale: Some(2.0),
            ..options
        };
        let img2 = render_image(&gpu, &p, layout, (384, 384), &big).unwrap();
        let changed2 = changed_pixels(&plain, &img2);
        assert!(
            changed2 as f64 > 1.5 * changed as f64 || labels.len() > 12,
            "{layout}: label scale 2 changed {changed2} pixels, 1 changed {changed}"
        );
    }
}

#[test]
fn a_tiled_poster_has_no_seam_through_its_text() {
    let p = prepared_tuxpaint(std::path::Path::new(""));
    let gpu = Gpu::headless().unwrap();
    let ex = clip_plot::explore::Explorer::open(p.clone()).unwrap();
    let whole = RenderOptions {
        annotations: Annotations {
            labels: ex.map_labels("categorical", None).unwrap(),
            title: Some("Tux Paint stamps by category".into()),
            legend: Some((
                "category".into(),
                vec![clip_plot::render::legend::LegendItem {
                    label: "animals".into(),
                    colour: [200, 80, 40],
                    count: 16,
                }],
            )),
        },
        ..Default::default()
    };
    let tiled = RenderOptions {
        max_tile: Some(128),
        ..whole.clone()
    };
    let a = render_image(&gpu, &p, "categorical", (640, 384), &whole).unwrap();
    let b = render_image(&gpu, &p, "categorical", (640, 384), &tiled).unwrap();
    b.save(out_dir().join("tuxpaint_tiled_text.png")).unwrap();
    // The title is centred on x = 320, 64 px from the tile boundaries at 256 and 384: any
    // title wider than that crosses tiles, and so do labels. Every pixel agrees.
    let plain = render_image(&gpu, &p, "categorical", (640, 384), &Default::default()).unwrap();
    let title_band =
        |img: &image::RgbaImage| image::imageops::crop_imm(img, 200, 0, 240, 60).to_image();
    assert!(
        changed_pixels(&title_band(&plain), &title_band(&a)) > 500,
        "no title over the top"
    );
    let (mean, far) = difference(&a, &b);
    assert!(
        mean < 0.2 && far < 0.0005,
        "tiled text differs: mean {mean}, far {far}"
    );
}

#[test]
fn mip_levels_keep_fine_patterns_from_aliasing() {
    use clip_plot::render::aliasing::{FACTOR, aliasing_error, box_filter};
    // 100 high-frequency images: one-pixel stripes and checks in two colours each, 32
    // pixels wide so the atlas keeps every stripe.
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("images");
    std::fs::create_dir_all(&images).unwrap();
    for k in 0..100u32 {
        let a = [(k * 37 % 256) as u8, (k * 91 % 256) as u8, 230];
        let b = [20, (k * 53 % 200) as u8, (k * 17 % 256) as u8];
        let img = image::RgbImage::from_fn(32, 32, |x, y| {
            let on = match k % 3 {
                0 => x % 2 == 0,
                1 => y % 2 == 0,
                _ => (x + y) % 2 == 0,
            };
            image::Rgb(if on { a } else { b })
        });
        img.save(images.join(format!("pattern_{k:03}.png")))
            .unwrap();
    }
    let cache = dir.path().join("cache");
    clip_plot::prepare::prepare(
        &clip_plot::prepare::PrepareOptions::new(clip_plot::dataset::DatasetOptions {
            root: dir.path().to_path_buf(),
            cache: Some(cache.clone()),
            ..Default::default()
        }),
        &clip_plot::prepare::NoProgress,
    )
    .unwrap();
    let p = Arc::new(PreparedDataset::open(&cache).unwrap());
    assert!(p.page_mips(0).is_some(), "prepare writes the mip levels");
    let gpu = Gpu::headless().unwrap();
    let (mut map, index) = map_and_index(&gpu, &p, "grid");
    // Thumbnails about 9 pixels wide: the atlas's 32-pixel cells are sampled ~3.5:1.
    let size = (100, 100);
    let frame = FrameState::still(index.fit(size));
    let with = aliasing_error(&gpu, &mut map, &index, &frame, size).unwrap();
    let mut level0 = frame;
    level0.style.mip_levels = false;
    let without = aliasing_error(&gpu, &mut map, &index, &level0, size).unwrap();
    println!("aliasing: {with:.1} levels with mip levels, {without:.1} without");
    assert!(
        with < 0.6 * without,
        "mip levels do not reduce aliasing: {with:.1} vs {without:.1}"
    );
    let none = Annotations::default();
    let img = render_view(
        &gpu,
        &mut map,
        &index,
        None,
        None,
        &Picture::new(frame, size, &none),
    )
    .unwrap();
    compare_with_reference(&img, "patterns_mipmapped.png");
    // The reference the measure compares with, saved to look at beside it.
    let big = (size.0 * FACTOR, size.1 * FACTOR);
    let reference = render_view(
        &gpu,
        &mut map,
        &index,
        None,
        None,
        &Picture::new(level0, big, &none),
    )
    .unwrap();
    box_filter(&reference, FACTOR)
        .save(out_dir().join("patterns_supersampled.png"))
        .unwrap();
}

#[test]
fn finer_labels_follow_the_zoom_and_no_two_labels_match() {
    use clip_plot::render::text::{TextLayer, text_scale};
    // Smaller clusters than the default, so the hotspots have finer groups inside them.
    let dir = tempfile::tempdir().unwrap();
    let cache = crate::common::prepared_tuxpaint_copy(dir.path());
    let mut opts = clip_plot::prepare::PrepareOptions::new(clip_plot::dataset::DatasetOptions {
        root: fixture("tuxpaint"),
        cache: Some(cache.clone()),
        ..Default::default()
    });
    opts.hotspots.min_cluster_size = 4;
    clip_plot::prepare::prepare(&opts, &clip_plot::prepare::NoProgress).unwrap();
    let p = Arc::new(PreparedDataset::open(&cache).unwrap());
    let ex = clip_plot::explore::Explorer::open(p.clone()).unwrap();
    let h = ex.hotspots.as_ref().unwrap();
    assert!(
        (5..=20).contains(&h.hotspots.len()) && !h.finer.is_empty(),
        "{} hotspots, {} finer groups",
        h.hotspots.len(),
        h.finer.len()
    );
    let mut texts: Vec<&str> = h
        .hotspots
        .iter()
        .chain(&h.finer)
        .map(|s| s.label.as_str())
        .collect();
    texts.sort_unstable();
    let before = texts.len();
    texts.dedup();
    assert_eq!(texts.len(), before, "two labels alike: {texts:?}");

    // The overview names hotspots only; framing the largest finer group names it too.
    let labels = ex.map_labels("umap", None).unwrap();
    let annotations = Annotations {
        labels: labels.clone(),
        ..Default::default()
    };
    let gpu = Gpu::headless().unwrap();
    let (positions, cell) = layout_with_cell(&p, "umap").unwrap();
    let index = LayoutIndex::new(positions.clone(), cell, half_extents(&p));
    let size = (384, 384);
    let overview = index.fit(size);
    let fine = &h.finer[0];
    let boxes = h.finer_boxes_where(&positions, |_| true);
    let (lo, hi) = boxes[0];
    // The group and its thumbnails, with room above for its label.
    let close = Camera::fit((lo - 0.5 * cell, hi + glam::vec2(0.5, 1.5) * cell), size);
    let scale = text_scale(size, 1.0);
    let placed = |camera| TextLayer::new(&gpu, FORMAT, &annotations, camera, size, scale).placed;
    let far = placed(overview);
    let near = placed(close);
    println!("overview: {far:?}\nzoomed in: {near:?}");
    let finer_names: Vec<&str> = h.finer.iter().map(|s| s.label.as_str()).collect();
    assert!(
        far.iter().all(|t| !finer_names.contains(&t.as_str())),
        "finer labels in the overview: {far:?}"
    );
    assert!(
        near.contains(&fine.label),
        "{} not shown zoomed in: {near:?}",
        fine.label
    );
    for (camera, name) in [
        (overview, "tuxpaint_labels_overview.png"),
        (close, "tuxpaint_labels_zoomed.png"),
    ] {
        let options = RenderOptions {
            camera: Some(camera),
            annotations: annotations.clone(),
            ..Default::default()
        };
        compare_with_reference(
            &render_image(&gpu, &p, "umap", size, &options).unwrap(),
            name,
        );
    }
}

#[test]
fn thumbnails_a_few_pixels_wide_are_dots_no_worse_than_textured_ones() {
    use clip_plot::render::DrawMode;
    use clip_plot::render::aliasing::aliasing_error;
    let dir = tempfile::tempdir().unwrap();
    let p = prepared_tuxpaint(dir.path());
    let gpu = Gpu::headless().unwrap();
    let (mut map, index) = map_and_index(&gpu, &p, "grid");
    // 785 stamps on the grid: ~2.6 pixels a thumbnail at 44 px, ~0.9 at 16 px.
    for (side, mode) in [(44, DrawMode::Flat), (16, DrawMode::Points)] {
        let size = (side, side);
        let dots = FrameState::still(index.fit(size));
        let px = index.cell() * dots.camera.pixels_per_unit(side, side);
        assert_eq!(DrawMode::for_size(px, &dots.style), mode, "{px} px");
        let mut textured = dots;
        textured.style.flat_dots = false;
        // Each against a 4× supersampled render of the same view (textured there).
        let e_dots = aliasing_error(&gpu, &mut map, &index, &dots, size).unwrap();
        let e_tex = aliasing_error(&gpu, &mut map, &index, &textured, size).unwrap();
        println!("{mode:?} at {px:.2} px: {e_dots:.1} levels off, textured {e_tex:.1}");
        assert!(
            e_dots <= e_tex + 2.0,
            "{mode:?}: dots {e_dots:.1} levels off the supersampled picture, textured {e_tex:.1}"
        );
        let none = Annotations::default();
        let img = render_view(
            &gpu,
            &mut map,
            &index,
            None,
            None,
            &Picture::new(dots, size, &none),
        )
        .unwrap();
        img.save(out_dir().join(format!("tuxpaint_dots_{side}.png")))
            .unwrap();
        let lit = img
            .pixels()
            .filter(|q| q[0] > 40 || q[1] > 40 || q[2] > 40)
            .count();
        assert!(
            lit > side as usize * side as usize / 10,
            "{mode:?}: {lit} lit pixels"
        );
    }
}

#[test]
fn dots_covered_by_later_ones_are_skipped_and_the_picture_is_the_same() {
    use clip_plot::render::map::HIDDEN;
    use clip_plot::render::{DrawMode, MapView};
    let dir = tempfile::tempdir().unwrap();
    let p = prepared_tuxpaint(dir.path());
    let gpu = Gpu::headless().unwrap();
    let (mut map, index) = map_and_index(&gpu, &p, "umap");
    let mode_at = |side: u32| {
        let frame = FrameState::still(index.fit((side, side)));
        map.draw_mode(&frame, (side, side))
    };
    // The largest square picture drawn each way: the most overlap it has.
    let sides = [DrawMode::Points, DrawMode::Flat].map(|mode| {
        (
            mode,
            (8..600)
                .rev()
                .find(|&s| mode_at(s) == mode)
                .expect("a size"),
        )
    });
    let none = Annotations::default();
    for (mode, side) in sides {
        let size = (side, side);
        let cases = [
            ("cards", true, false),
            ("no cards", false, false),
            ("a third hidden", true, true),
        ];
        for (case, cards, hide) in cases {
            map.set_flags(HIDDEN, |i| hide && i % 3 == 0);
            let mut frame = FrameState::still(index.fit(size));
            frame.style.cards = cards;
            let mut view = MapView::new(&gpu, FORMAT);
            let visible = view.cull(&gpu, &map, &index, &frame, size);
            let drawn = view.drawn(&map) as usize;
            println!(
                "{mode:?}, {case}: {side} px, {drawn} of {} drawn",
                visible.count
            );
            assert!(drawn < visible.count, "{mode:?}, {case}: nothing left out");
            let mut picture = |frame| {
                render_view(
                    &gpu,
                    &mut map,
                    &index,
                    None,
                    None,
                    &Picture::new(frame, size, &none),
                )
                .unwrap()
            };
            let culled = picture(frame);
            // Half way through a transition between the same positions: all drawn.
            let all = picture(FrameState {
                blend: 0.5,
                ..frame
            });
            if case == "cards" {
                culled
                    .save(out_dir().join(format!("tuxpaint_{mode:?}_culled.png")))
                    .unwrap();
            }
            let lit = all
                .pixels()
                .filter(|q| q[0] > 40 || q[1] > 40 || q[2] > 40)
                .count();
            let off: Vec<u8> = culled
                .pixels()
                .zip(all.pixels())
                .map(|(a, b)| (0..3).map(|c| a[c].abs_diff(b[c])).max().unwrap())
                .filter(|d| *d > 0)
                .collect();
            println!(
                "  {lit} lit pixels, {} differ, by at most {:?}",
                off.len(),
                off.iter().max()
            );
            assert!(lit > 20, "{mode:?}, {case}: {lit} lit pixels");
            // The same picture. Only an opaque image's stray transparency (at most 2%) could
            // have let the one under it through: a few levels on a few pixels at most.
            assert!(off.iter().all(|d| *d <= 6), "{mode:?}, {case}: {off:?}");
            assert!(
                off.len() * 50 <= lit,
                "{mode:?}, {case}: {} of {lit} differ",
                off.len()
            );
        }
    }
    map.set_flags(HIDDEN, |_| false);
}
