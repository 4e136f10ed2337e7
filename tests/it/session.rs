//! The window's dataset state without a window (lavapipe): open a prepared dataset, switch
//! layouts, filter, select, fly to and rename hotspots; pictures through the offscreen path.

use clip_plot::app::session::Session;
use clip_plot::dataset::DatasetOptions;
use clip_plot::explore::state::FilterState;
use clip_plot::prepare::{NoProgress, PrepareOptions, prepare};
use clip_plot::render::offscreen::FORMAT;
use clip_plot::render::{Annotations, Camera, FrameState, Gpu, Picture, render_view};
use glam::vec2;

use crate::common::fixture;

/// Mean brightness above the background's (18, 18, 20): what the thumbnails add.
fn mean_brightness(img: &image::RgbaImage) -> f64 {
    img.pixels()
        .map(|p| f64::from(p[0]) + f64::from(p[1]) + f64::from(p[2]) - 56.0)
        .sum::<f64>()
        / f64::from(img.width() * img.height())
}

/// Of the pixels bright in `plain` (an image there), the share still at least `at` of
/// that brightness in `shot`: what a filter left undimmed.
fn share_still_bright(plain: &image::RgbaImage, shot: &image::RgbaImage, at: f64) -> f64 {
    let light = |p: &image::Rgba<u8>| f64::from(p[0]) + f64::from(p[1]) + f64::from(p[2]);
    let (mut bright, mut kept) = (0usize, 0usize);
    for (a, b) in plain.pixels().zip(shot.pixels()) {
        if light(a) > 240.0 {
            bright += 1;
            kept += usize::from(light(b) >= at * light(a));
        }
    }
    kept as f64 / bright.max(1) as f64
}

fn draw(gpu: &Gpu, s: &mut Session, camera: Camera) -> image::RgbaImage {
    draw_with(gpu, s, camera, &Annotations::default())
}

fn draw_with(
    gpu: &Gpu,
    s: &mut Session,
    camera: Camera,
    annotations: &Annotations,
) -> image::RgbaImage {
    let frame = FrameState::still(camera);
    let picture = Picture::new(frame, (320, 320), annotations);
    let img = render_view(gpu, &mut s.map, &s.index, Some(&mut s.lod), None, &picture).unwrap();
    s.invalidate_visible();
    img
}

/// A copy of the shared prepared tuxpaint fixture in `dir/cache`.
fn prepared_tuxpaint(dir: &std::path::Path) -> std::path::PathBuf {
    crate::common::prepared_tuxpaint_copy(dir)
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
        let text = format!("{} {:?}", &s.prepared.images[i], s.metadata_of(i)).to_lowercase();
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
    let ids = s.index.lasso(&[
        vec2(-1.2, -1.2),
        vec2(0.0, -1.2),
        vec2(0.0, 0.0),
        vec2(-1.2, 0.0),
    ]);
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
    // What is not food is dark: a third of its brightness at most (16 of 207 images, a
    // tenth of the lit pixels, keep theirs).
    s.set_filters(FilterState::default());
    s.update_dimming(None, false);
    let plain = draw(&gpu, &mut s, Camera::fit_all());
    let kept = share_still_bright(&plain, &shot, 0.34);
    assert!(kept < 0.2, "{:.0}% of the map stayed bright", kept * 100.0);
    let mut filters = FilterState::default();
    filters.toggle_value("category", "food");
    s.set_filters(filters);
    s.update_dimming(None, false);
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

fn spot_list(s: &Session) -> Vec<(String, usize)> {
    s.hotspots()
        .unwrap()
        .hotspots
        .iter()
        .map(|h| (h.label.clone(), h.size))
        .collect()
}

#[test]
fn hotspot_and_tag_edits_undo_and_survive_reopening_and_re_prepare() {
    use clip_plot::explore::hotspots::{Edit, HOTSPOT_EDITS, stale_edits};
    let dir = tempfile::tempdir().unwrap();
    let cache = prepared_tuxpaint(dir.path());
    let gpu = Gpu::headless().unwrap();
    let mut s = Session::open(&gpu, &cache, FORMAT).unwrap();
    let original = spot_list(&s);
    assert!(original.len() >= 3, "{original:?}");

    s.edit_hotspots(&Edit::Merge(vec![0, 1])).unwrap();
    let merged = spot_list(&s);
    assert_eq!(merged.len(), original.len() - 1);
    assert_eq!(
        merged[0],
        (original[0].0.clone(), original[0].1 + original[1].1)
    );
    s.edit_hotspots(&Edit::Move(0, 1)).unwrap();
    assert_eq!(spot_list(&s)[1], merged[0]);
    let last = spot_list(&s).len() - 1;
    s.edit_hotspots(&Edit::Delete(vec![last])).unwrap();
    s.select(&[0, 1, 2], false);
    s.hotspot_from_selection("  my three ").unwrap();
    let edited = spot_list(&s);
    assert_eq!(edited[0], ("my three".to_string(), 3));
    // The filter language and the dimming see the new hotspot at once.
    s.set_filters(FilterState {
        search: "hotspot:\"my three\"".into(),
        ..Default::default()
    });
    s.update_dimming(None, false);
    assert_eq!(s.matches(), vec![0, 1, 2]);

    // Reopened, and after a re-prepare that keeps the clustering: the same list.
    assert_eq!(
        spot_list(&Session::open(&gpu, &cache, FORMAT).unwrap()),
        edited
    );
    let options = |max_clusters| {
        let mut o = PrepareOptions::new(DatasetOptions {
            root: fixture("tuxpaint"),
            cache: Some(cache.clone()),
            ..Default::default()
        });
        o.hotspots.max_clusters = max_clusters;
        o
    };
    prepare(&options(20), &NoProgress).unwrap();
    assert_eq!(
        spot_list(&Session::open(&gpu, &cache, FORMAT).unwrap()),
        edited
    );

    // Ctrl+Z, four times, brings the clusters back as prepare found them.
    for _ in 0..4 {
        assert_eq!(s.undo().unwrap(), Some("hotspot edit"));
    }
    assert_eq!(spot_list(&s), original);
    assert_eq!(
        spot_list(&Session::open(&gpu, &cache, FORMAT).unwrap()),
        original
    );

    // Tags undo the same way, and the undone state is what is saved.
    s.select(&[5, 6], false);
    assert_eq!(s.tag_selection("check", true).unwrap(), 2);
    assert_eq!(s.tags_of(5), vec!["check".to_string()]);
    assert_eq!(s.undo().unwrap(), Some("tag edit"));
    assert!(s.tags_of(5).is_empty());
    let again = Session::open(&gpu, &cache, FORMAT).unwrap();
    assert!(
        again
            .explorer
            .tags
            .rows("check")
            .is_none_or(|b| b.count() == 0)
    );
    assert_eq!(s.undo().unwrap(), None);

    // A hostile name is only ever text: stored escaped, read back as typed.
    let hostile = "\"}], \"x\": [1]; rm -rf / <script>alert(1)</script> ../../etc";
    s.edit_hotspots(&Edit::Rename(0, hostile.into())).unwrap();
    let text = std::fs::read_to_string(cache.join(HOTSPOT_EDITS)).unwrap();
    assert!(serde_json::from_str::<serde_json::Value>(&text).is_ok());
    let again = Session::open(&gpu, &cache, FORMAT).unwrap();
    assert_eq!(spot_list(&again)[0].0, hostile);
    assert!(
        s.edit_hotspots(&Edit::Rename(0, "two\nlines".into()))
            .is_err()
    );

    // A new clustering shows its own hotspots; the edits stay on disk, untouched.
    s.edit_hotspots(&Edit::Rename(0, "kept on disk".into()))
        .unwrap();
    let edits = std::fs::read(cache.join(HOTSPOT_EDITS)).unwrap();
    prepare(&options(2), &NoProgress).unwrap();
    let reclustered = Session::open(&gpu, &cache, FORMAT).unwrap();
    assert_eq!(spot_list(&reclustered).len(), 2);
    assert!(stale_edits(&reclustered.prepared));
    assert_eq!(std::fs::read(cache.join(HOTSPOT_EDITS)).unwrap(), edits);
}

/// Pixels within `tolerance` of `rgb` (sum of channel differences).
fn pixels_near(img: &image::RgbaImage, rgb: [u8; 3], tolerance: i32) -> usize {
    img.pixels()
        .filter(|p| {
            (0..3)
                .map(|c| (i32::from(p[c]) - i32::from(rgb[c])).abs())
                .sum::<i32>()
                <= tolerance
        })
        .count()
}

#[test]
fn colour_by_hide_and_saved_views_show_in_pictures() {
    use clip_plot::explore::views::Views;
    let dir = tempfile::tempdir().unwrap();
    let cache = prepared_tuxpaint(dir.path());
    let gpu = Gpu::headless().unwrap();
    let mut s = Session::open(&gpu, &cache, FORMAT).unwrap();
    let all = Camera::fit_all();
    let plain = draw(&gpu, &mut s, all);
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));

    // Colour by category: every category's colour frames its images.
    s.set_colour_by(&gpu, Some("category")).unwrap();
    let c = s.colouring.clone().unwrap();
    let filled = (0..s.map.len())
        .filter(|&i| s.metadata_of(i).iter().any(|(k, _)| k == "category"))
        .count();
    assert_eq!(c.legend.iter().map(|e| e.count).sum::<usize>(), filled);
    let coloured = draw(&gpu, &mut s, all);
    for entry in c.legend.iter().take(3) {
        let (before, after) = (
            pixels_near(&plain, entry.colour, 24),
            pixels_near(&coloured, entry.colour, 24),
        );
        assert!(
            after > before + 40,
            "{}: {before} → {after} pixels of its colour",
            entry.label
        );
    }
    let legend = Annotations {
        legend: Some(("category".to_string(), clip_plot::app::legend_items(&c))),
        ..Default::default()
    };
    let coloured = draw_with(&gpu, &mut s, all, &legend);
    coloured
        .save(out.join("session_colour_category.png"))
        .unwrap();
    // The legend sits bottom-left: dark box, swatches in the entries' colours.
    let corner = image::imageops::crop_imm(&coloured, 0, 320 - 200, 190, 200).to_image();
    assert!(pixels_near(&corner, c.legend[0].colour, 10) > 15);
    let rest = image::imageops::crop_imm(&coloured, 190, 0, 130, 320).to_image();
    let before = image::imageops::crop_imm(&plain, 190, 0, 130, 320).to_image();
    assert!(
        pixels_near(&rest, [0, 0, 0], 30) <= pixels_near(&before, [0, 0, 0], 30) + 100,
        "the legend spreads beyond the corner"
    );

    // Hiding what the filters leave out draws fewer images than dimming it.
    let mut filters = FilterState::default();
    filters.toggle_value("category", "food");
    s.set_filters(filters.clone());
    s.set_colour_by(&gpu, None).unwrap();
    s.update_dimming(None, false);
    let dimmed = draw(&gpu, &mut s, all);
    s.hide = true;
    s.update_dimming(None, false);
    let hidden = draw(&gpu, &mut s, all);
    hidden.save(out.join("session_hidden_food.png")).unwrap();
    let background = |img: &image::RgbaImage| pixels_near(img, [18, 18, 20], 6);
    assert!(
        background(&hidden) > background(&dimmed) + 2000,
        "{} vs {}",
        background(&hidden),
        background(&dimmed)
    );
    // A hidden image can neither be picked nor selected.
    let hidden_one = (0..s.map.len()).find(|&i| !s.shown(i)).unwrap();
    s.select(&[hidden_one as u32], false);
    assert_eq!(s.selected, 0);

    // A saved view brings back layout, camera, filters, colours and hiding.
    s.set_colour_by(&gpu, Some("category")).unwrap();
    let camera = Camera {
        centre: vec2(0.2, -0.1),
        span: 0.7,
    };
    s.save_view("Food, \"hidden\"", camera).unwrap();
    s.switch_to(&gpu, "grid").unwrap();
    s.set_filters(FilterState::default());
    s.hide = false;
    s.set_colour_by(&gpu, None).unwrap();
    let mut again = Session::open(&gpu, &cache, FORMAT).unwrap();
    assert_eq!(again.views, Views::load(again.cache_dir()).unwrap());
    let view = again.views.get("food, \"HIDDEN\"").unwrap().clone();
    assert_eq!(again.apply_view(&gpu, &view).unwrap(), Some(camera));
    assert_eq!(again.current, "umap");
    assert_eq!(again.filters, filters);
    assert!(again.hide);
    assert_eq!(again.colouring.as_ref().unwrap().column, "category");
}

/// A cache written before the string tables (its lists in `images.json` and
/// `metadata.json`) still opens, with the same images and metadata.
#[test]
fn caches_with_json_lists_still_open() {
    let dir = tempfile::tempdir().unwrap();
    let cache = crate::common::prepared_tuxpaint_copy(dir.path());
    let new = clip_plot::cache::PreparedDataset::open(&cache).unwrap();
    let images = new.images.to_vec();
    let table = new.metadata.table().clone();
    drop(new);
    std::fs::write(
        cache.join("images.json"),
        serde_json::to_vec(&images).unwrap(),
    )
    .unwrap();
    let meta = serde_json::to_vec(&(&table.columns, &table.cells)).unwrap();
    std::fs::write(cache.join("metadata.json"), meta).unwrap();
    std::fs::remove_file(cache.join("images.bin")).unwrap();
    std::fs::remove_file(cache.join("metadata.bin")).unwrap();
    let old = clip_plot::cache::PreparedDataset::open(&cache).unwrap();
    assert_eq!(old.images.to_vec(), images);
    assert_eq!(old.metadata.table().cells, table.cells);
    let c = table.column_index("category").unwrap();
    assert_eq!(old.metadata.value(c, 3), table.cells[c][3]);
    assert!(!table.cells[c][3].is_empty());
}
