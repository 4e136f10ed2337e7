//! The window's dataset state without a window (lavapipe): open a prepared dataset, switch
//! layouts, filter, select, fly to and rename hotspots; pictures through the offscreen path.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use clip_plot::app::session::Session;
use clip_plot::dataset::DatasetOptions;
use clip_plot::explore::state::FilterState;
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

/// The tuxpaint fixture prepared into `dir/cache`.
fn prepared_tuxpaint(dir: &std::path::Path) -> std::path::PathBuf {
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
    cache
}

#[test]
fn a_session_filters_selects_switches_and_renames() {
    let dir = tempfile::tempdir().unwrap();
    let cache = prepared_tuxpaint(dir.path());
    let gpu = Gpu::headless().unwrap();
    let mut s = Session::open(&gpu, &cache, FORMAT).unwrap();
    assert_eq!(s.current, "umap");
    let all = Camera::fit_all();
    let plain = draw(&gpu, &mut s, all);

    // The filter dims what does not match: "flower" leaves a handful bright.
    s.set_filters(FilterState {
        search: "flower".into(),
        ..Default::default()
    });
    s.update_dimming(None, false);
    // What the filter lets through is what the metadata says.
    let flowers = s.matches();
    assert!(
        !flowers.is_empty() && flowers.len() < 30,
        "{}",
        flowers.len()
    );
    assert!(flowers.iter().all(|&i| {
        let text = format!("{} {:?}", s.prepared.images[i], s.metadata_of(i)).to_lowercase();
        text.contains("flower")
    }));
    let filtered = draw(&gpu, &mut s, all);
    filtered
        .save(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("session_filtered.png"))
        .unwrap();
    let (b0, b1) = (mean_brightness(&plain), mean_brightness(&filtered));
    assert!(b1 < 0.5 * b0, "filtering did not dim: {b0:.1} → {b1:.1}");
    s.set_filters(FilterState::default());
    s.update_dimming(None, false);
    assert_eq!(draw(&gpu, &mut s, all), plain);

    // Hovering a hotspot in the list dims everything outside it.
    let spots = s.hotspots().expect("hotspots").hotspots.len();
    assert!(spots >= 2);
    s.update_dimming(Some(spots - 1), false);
    assert!(mean_brightness(&draw(&gpu, &mut s, all)) < 0.8 * b0);
    s.update_dimming(None, false);

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
    assert_eq!(again.hotspots().unwrap().hotspots[0].label, "my planets");
}

#[test]
fn a_session_opened_before_the_layouts_landed_sees_them_after_a_refresh() {
    let dir = tempfile::tempdir().unwrap();
    let cache = prepared_tuxpaint(dir.path());
    // The manifest as it stood when only PCA had landed (what a first run opens on).
    let dirc = clip_plot::cache::CacheDir::new(&cache);
    let full = dirc.read_manifest().unwrap();
    let mut early = full.clone();
    early.layouts.retain(|k, _| k == "pca");
    early.neighbours = None;
    early.clusters.clear();
    dirc.write_json(&dirc.manifest(), &early).unwrap();

    let gpu = Gpu::headless().unwrap();
    let mut s = Session::open(&gpu, &cache, FORMAT).unwrap();
    assert_eq!(s.current, "pca");
    assert!(s.prepared.neighbours_of(3).unwrap().is_empty());
    assert!(s.hotspots().is_none());

    // The background prepare rewrites the manifest and says UMAP is ready.
    dirc.write_json(&dirc.manifest(), &full).unwrap();
    assert!(!s.refresh(&gpu, "umap").unwrap(), "same images: no reopen");
    // The lightbox's neighbours, the export of a later layout, the hotspots: all there.
    assert_eq!(s.prepared.neighbours_of(3).unwrap().len(), 20);
    let table = clip_plot::export::ExportTable::from_prepared(&s.prepared, "umap").unwrap();
    assert_eq!(table.subset(&[0, 1]).filenames.len(), 2);
    assert!(s.has_layout("umap") && s.has_layout("grid"));
    assert!(s.hotspots().is_some());
    s.switch_to(&gpu, "umap").unwrap();
}

#[test]
fn a_superseded_preparation_is_cancelled_and_its_events_ignored() {
    use clip_plot::app::jobs::{JobEvent, Notifier, PrepareEvent, PrepareSlot};
    let dir = tempfile::tempdir().unwrap();
    let options = |cache: &str| {
        PrepareOptions::new(DatasetOptions {
            root: fixture("tuxpaint"),
            cache: Some(dir.path().join(cache)),
            ..Default::default()
        })
    };
    let (send, events) = std::sync::mpsc::channel();
    let notifier = Notifier::new(send, std::sync::Arc::new(|| {}));
    let mut slot = PrepareSlot::default();
    let first = slot.start(options("a"), notifier.clone());
    let second = slot.start(options("b"), notifier);
    assert_ne!(first, second);
    assert!(!slot.accepts(first) && slot.accepts(second));
    let (mut finished, mut accepted_first) = (Vec::new(), 0);
    while finished.len() < 2 {
        let event = events
            .recv_timeout(std::time::Duration::from_secs(120))
            .expect("both preparations end");
        let JobEvent::Prepare(generation, event) = event else {
            continue;
        };
        if generation == first && slot.accepts(generation) {
            accepted_first += 1;
        }
        if let PrepareEvent::Finished(result) = event {
            if slot.accepts(generation) {
                slot.finished(generation);
            }
            finished.push((generation, result.is_ok()));
        }
    }
    assert_eq!(
        accepted_first, 0,
        "an event of the cancelled job got through"
    );
    assert!(finished.contains(&(second, true)));
    assert!(finished.iter().any(|(g, _)| *g == first));
    assert!(!slot.running());
}

#[test]
fn facets_in_the_window_cross_filter_and_dim_the_map() {
    let dir = tempfile::tempdir().unwrap();
    let cache = prepared_tuxpaint(dir.path());
    let gpu = Gpu::headless().unwrap();
    let mut s = Session::open(&gpu, &cache, FORMAT).unwrap();
    s.update_dimming(None, true);
    let counts = |s: &Session, column: &str| -> std::collections::BTreeMap<String, usize> {
        let o = s.outcome.as_ref().unwrap();
        let f = o.facets.iter().find(|f| f.column == column).unwrap();
        f.values.iter().map(|(v, c, _)| (v.clone(), *c)).collect()
    };
    let all_categories = counts(&s, "category");
    let food = all_categories["food"];
    let mut filters = FilterState::default();
    filters.toggle_value("category", "food");
    s.set_filters(filters);
    s.update_dimming(None, true);
    assert_eq!(s.matches().len(), food);
    // The category facet still counts every category (its own filter is left out); the
    // tags facet counts only the food.
    assert_eq!(counts(&s, "category"), all_categories);
    let tags_total: usize = counts(&s, "tags").values().sum();
    let food_tags: usize = s
        .matches()
        .iter()
        .map(|&i| {
            s.metadata_of(i)
                .iter()
                .find(|(k, _)| k == "tags")
                .map_or(0, |(_, v)| {
                    v.split('|').filter(|t| !t.trim().is_empty()).count()
                })
        })
        .sum();
    assert_eq!(tags_total, food_tags);
    let shot = draw(&gpu, &mut s, Camera::fit_all());
    shot.save(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("session_facet_food.png"))
        .unwrap();
    // Tagging the selection shows in `tag:` at once.
    let ids: Vec<u32> = s.matches().iter().take(3).map(|&i| i as u32).collect();
    s.select(&ids, false);
    assert_eq!(s.tag_selection("keep", true).unwrap(), 3);
    s.set_filters(FilterState {
        search: "tag:keep".into(),
        ..Default::default()
    });
    s.update_dimming(None, false);
    assert_eq!(
        s.matches(),
        ids.iter().map(|&i| i as usize).collect::<Vec<_>>()
    );
}
