//! Prepare end to end on real data: the cache, incremental runs, resuming after SIGKILL,
//! export, and the command line.

use glam::Vec2;
use std::path::Path;
use std::process::Command;

use crate::common::{binary, copy_dir, fixture, snapshot};
use clip_plot::cache::{EmbeddingOrigin, PreparedDataset};
use clip_plot::dataset::{DatasetOptions, Table};
use clip_plot::export::ExportTable;
use clip_plot::prepare::{NoProgress, PrepareOptions, prepare};
use clip_plot::thumbs::{atlas, decode_large};

fn options(root: &Path, cache: &Path) -> PrepareOptions {
    PrepareOptions::new(DatasetOptions {
        root: root.to_path_buf(),
        cache: Some(cache.to_path_buf()),
        ..Default::default()
    })
}

#[test]
fn tuxpaint_prepares_into_a_cache_and_exports() {
    let root = fixture("tuxpaint");
    let before = snapshot(&root);
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let report = prepare(&options(&root, &cache), &NoProgress).unwrap();
    assert_eq!(
        snapshot(&root),
        before,
        "nothing may be written into the dataset"
    );
    assert_eq!(report.images, 207);
    assert_eq!(report.thumbnailed, 207);
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    assert_eq!(report.embedding_origin, EmbeddingOrigin::Provided);

    let p = PreparedDataset::open(&cache).unwrap();
    assert_eq!(p.len(), 207);
    assert_eq!(p.manifest().embedding_dim, 1280);
    assert_eq!(p.page_count(), 1);
    assert_eq!(p.page(0).len(), atlas::PAGE_BYTES);
    let records = p.thumb_records();
    assert_eq!(records.len(), 207);
    for (i, r) in records.iter().enumerate() {
        assert!(
            r.small_w <= 32
                && r.small_h <= 32
                && (r.small_w == 32 || r.small_h == 32 || r.source_w.max(r.source_h) < 32)
        );
        let large = decode_large(&p.large_thumb_bytes(i).unwrap()).unwrap();
        assert_eq!(
            large.dimensions(),
            (u32::from(r.large_w), u32::from(r.large_h))
        );
        // Aspect ratio kept (within rounding).
        let a = f64::from(r.source_w) / f64::from(r.source_h);
        let b = f64::from(r.large_w) / f64::from(r.large_h);
        assert!((a / b - 1.0).abs() < 0.1, "{} {a} {b}", &p.images[i]);
    }
    // The atlas page, decoded, for people to look at.
    let page = atlas::decode_page_rgba(p.page(0));
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tuxpaint_page0.png");
    page.save(&out).unwrap();
    let opaque = page.pixels().filter(|px| px[3] > 0).count();
    assert!(
        opaque > 207 * 200,
        "cells hold pictures: {opaque} opaque pixels"
    );

    let pca = p.layout("pca").unwrap();
    assert_eq!(pca.len(), 207);
    assert!(
        pca.iter()
            .flat_map(|p| p.to_array())
            .all(|v| v.is_finite() && v.abs() <= 1.0 + 1e-5)
    );
    let spread = pca.iter().map(|q| q[0]).fold(f32::NEG_INFINITY, f32::max)
        - pca.iter().map(|q| q[0]).fold(f32::INFINITY, f32::min);
    assert!(spread > 1.0);

    // UMAP is prepared too, and groups categories better than PCA on the map.
    let umap = p.layout("umap").unwrap();
    assert_eq!(umap.len(), 207);
    assert!(
        umap.iter()
            .flat_map(|p| p.to_array())
            .all(|v| v.is_finite() && v.abs() <= 1.0 + 1e-5)
    );
    let labels: Vec<String> = p.metadata.column("category").unwrap().to_vec();
    let acc = |layout: &[Vec2]| clip_plot::layout::quality::knn_label_accuracy(layout, &labels, 10);
    assert!(
        acc(&umap) > acc(&pca),
        "umap {} vs pca {}",
        acc(&umap),
        acc(&pca)
    );
    assert_eq!(
        ExportTable::from_prepared(&p, "umap").unwrap().positions,
        umap
    );

    // Our PCA agrees with numpy's exact SVD (tests/fixtures/make_pca_reference.py), up to
    // sign and the uniform scale of normalisation.
    let reference =
        clip_plot::dataset::NpyArray::open(&fixture("tuxpaint_pca_reference.npy")).unwrap();
    assert_eq!(reference.rows(), 207);
    for axis in 0..2 {
        let ours: Vec<f64> = pca.iter().map(|q| f64::from(q[axis])).collect();
        let theirs: Vec<f64> = (0..207)
            .map(|i| {
                let mut r = [0.0f32; 2];
                reference.read_row(i, &mut r);
                f64::from(r[axis])
            })
            .collect();
        let corr = correlation(&ours, &theirs).abs();
        assert!(corr > 0.999, "axis {axis}: correlation {corr}");
    }

    // The 20 most similar images of each: real embeddings put same-category stamps together.
    let categories = p.metadata.column("category").unwrap();
    let mut same = 0;
    for i in 0..p.len() {
        let nb = p.neighbours_of(i).unwrap();
        assert_eq!(nb.len(), 20);
        assert!(!nb.contains(&(i as u32)));
        same += usize::from(categories[nb[0] as usize] == categories[i]);
    }
    let share = same as f64 / p.len() as f64;
    eprintln!("1-NN category agreement on the tuxpaint subset: {share:.3}");
    assert!(
        share > 0.5,
        "nearest neighbour shares the category for {share:.2}"
    );

    // Export, CSV and parquet; read both back.
    let table = ExportTable::from_prepared(&p, "pca").unwrap();
    for name in ["map.csv", "map.parquet"] {
        let path = tmp.path().join(name);
        table.write(&path).unwrap();
        let back = Table::read(&path).unwrap();
        assert_eq!(back.rows(), 207, "{name}");
        assert_eq!(
            &back.columns[..4],
            &["filename", "x", "y", "cluster"],
            "{name}"
        );
        assert!(back.columns.iter().any(|c| c == "category"));
        assert!(back.columns.iter().any(|c| c == "caption"));
        let files = back.column("filename").unwrap();
        assert_eq!(files[0], p.images[0]);
        assert!(
            files[0].starts_with("animals/"),
            "relative to images/: {}",
            files[0]
        );
        // The hotspots' assignment (checked in tests/layouts.rs): some clustered, all ≥ -1.
        let clusters: Vec<i32> = back
            .column("cluster")
            .unwrap()
            .iter()
            .map(|c| c.parse().unwrap())
            .collect();
        assert!(clusters.iter().all(|&c| c >= -1) && clusters.iter().any(|&c| c >= 0));
        let x: f32 = back.column("x").unwrap()[5].parse().unwrap();
        assert!((x - pca[5][0]).abs() < 1e-5);
    }

    // A second run reuses everything.
    let again = prepare(&options(&root, &cache), &NoProgress).unwrap();
    assert_eq!(again.thumbnailed, 0);
    let p2 = PreparedDataset::open(&cache).unwrap();
    assert_eq!(
        p2.manifest().layouts["pca"].fingerprint,
        p.manifest().layouts["pca"].fingerprint
    );
    assert_eq!(p2.layout("pca").unwrap(), pca);
    assert_eq!(
        p2.manifest().neighbours,
        p.manifest().neighbours,
        "neighbours reused"
    );
    assert_eq!(
        p2.manifest().layouts["umap"],
        p.manifest().layouts["umap"],
        "umap reused"
    );

    // New UMAP parameters: UMAP is redone from the cached neighbour graph, nothing else.
    let graph = clip_plot::cache::CacheDir::new(&cache)
        .read_neighbours()
        .unwrap();
    assert_eq!((graph.len(), graph.k), (207, 20));
    assert_eq!(graph.neighbours(5), p.neighbours_of(5).unwrap().as_slice());
    let mut tighter = options(&root, &cache);
    tighter.umap.min_dist = 0.5;
    let third = prepare(&tighter, &NoProgress).unwrap();
    assert_eq!(third.thumbnailed, 0);
    let p3 = PreparedDataset::open(&cache).unwrap();
    assert_eq!(p3.manifest().neighbours, p.manifest().neighbours);
    assert_eq!(p3.manifest().layouts["pca"], p.manifest().layouts["pca"]);
    let umap3 = p3.layout("umap").unwrap();
    assert_ne!(umap3, umap);
    assert!(acc(&umap3) > acc(&pca));
}

#[test]
fn adding_images_processes_only_those() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("set");
    copy_dir(&fixture("tuxpaint/images/symbols"), &root.join("images"));
    let cache = root.join(".clip-plot");
    let first = prepare(&options(&root, &cache), &NoProgress).unwrap();
    let n = first.images;
    assert!(n >= 16);
    assert_eq!(first.thumbnailed, n);
    assert_eq!(first.embedding_origin, EmbeddingOrigin::Appearance);
    assert!(first.notices.iter().any(|s| s.contains("look-alikes")));

    let extra = root.join("images/extra");
    std::fs::create_dir_all(&extra).unwrap();
    let sources: Vec<_> = walk_files(&fixture("tuxpaint/images"))
        .into_iter()
        .filter(|p| !p.to_string_lossy().contains("/symbols/"))
        .collect();
    for (k, src) in sources.iter().take(20).enumerate() {
        std::fs::copy(src, extra.join(format!("new_{k}.png"))).unwrap();
    }
    let second = prepare(&options(&root, &cache), &NoProgress).unwrap();
    assert_eq!(second.thumbnailed, 20);
    assert_eq!(second.images, n + 20);
    let p = PreparedDataset::open(&cache).unwrap();
    assert_eq!(p.len(), n + 20);
    assert_eq!(p.layout("pca").unwrap().len(), n + 20);
    assert_eq!(p.manifest().embedding_origin, EmbeddingOrigin::Appearance);
}

fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma) * (x - ma)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb) * (y - mb)).sum();
    cov / (va * vb).sqrt()
}

fn walk_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out: Vec<_> = snapshot(dir).into_keys().collect();
    out.sort();
    out
}

#[test]
fn a_killed_prepare_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("demo");
    let n = 3000;
    clip_plot::demo::make_demo(
        &clip_plot::demo::DemoOptions {
            n,
            out: root.clone(),
            seed: 3,
            image_px: 160,
        },
        &NoProgress,
    )
    .unwrap();
    let mut child = Command::new(binary())
        .args(["prepare", "--quiet", "--threads", "1"])
        .arg(&root)
        .spawn()
        .unwrap();
    let chunks = root.join(".clip-plot/thumbs/chunks");
    let started = std::time::Instant::now();
    loop {
        let done = std::fs::read_dir(&chunks)
            .map(|d| {
                d.filter_map(Result::ok).any(|e| {
                    // A finished chunk's index, not a temporary file being written.
                    let name = e.file_name().to_string_lossy().into_owned();
                    name.ends_with(".json") && !name.starts_with('.')
                })
            })
            .unwrap_or(false);
        if done || started.elapsed().as_secs() > 120 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    let report = prepare(&options(&root, &root.join(".clip-plot")), &NoProgress).unwrap();
    assert_eq!(report.images, n);
    if !status.success() {
        assert!(
            report.thumbnailed < n,
            "chunks finished before the kill are reused ({} redone)",
            report.thumbnailed
        );
    }
    let p = PreparedDataset::open(&root.join(".clip-plot")).unwrap();
    assert_eq!(p.len(), n);
    assert_eq!(p.page_count(), 1);
}

#[test]
fn cli_prepares_exports_and_reports_bad_inputs() {
    let tmp = tempfile::tempdir().unwrap();
    let butterflies = fixture("butterflies");
    let out = tmp.path().join("b.csv");
    // The butterflies as a user would point at them: flags for every part.
    let butterflies_cli = |command: &str, metadata: &str| {
        let mut c = Command::new(binary());
        c.arg(command)
            .arg(&butterflies)
            .args([
                "--images",
                "jpgs",
                "--embeddings",
                "embeds_chunked",
                "--quiet",
            ])
            .arg("--metadata")
            .arg(butterflies.join("meta_data").join(metadata))
            .arg("--cache")
            .arg(tmp.path().join("cache"))
            .current_dir(&butterflies);
        c
    };
    let result = butterflies_cli("export", "good_meta.csv")
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(
        result.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&result.stderr)
    );
    assert!(stdout.contains("Prepared 12 images"), "{stdout}");
    let table = Table::read(&out).unwrap();
    assert_eq!(table.rows(), 12);
    assert!(
        table
            .column("tags")
            .unwrap()
            .iter()
            .any(|t| t.contains('|'))
    );

    let result = butterflies_cli("prepare", "meta_missing_filename.csv")
        .output()
        .unwrap();
    assert_eq!(result.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.contains("meta_missing_filename.csv") && stderr.contains("filename"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one clear message: {stderr}");

    let help = Command::new(binary()).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for word in ["prepare", "export", "demo", "--cache", "Exit codes"] {
        assert!(help.contains(word), "--help lacks {word}");
    }
}

/// Records, at each `layout_ready`, which layouts the manifest on disk names and whether
/// that layout reads back with one position per image.
struct ReadyWatcher {
    cache: std::path::PathBuf,
    seen: std::sync::Mutex<Vec<(String, Vec<String>, bool)>>,
}

impl clip_plot::prepare::Progress for ReadyWatcher {
    fn begin(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
    fn end(&self) {}
    fn layout_ready(&self, name: &str) {
        let p = PreparedDataset::open(&self.cache).unwrap();
        let readable =
            name == "hotspots" || p.layout(name).map(|l| l.len() == p.len()).unwrap_or(false);
        self.seen
            .lock()
            .unwrap()
            .push((name.to_string(), p.layout_names(), readable));
    }
}

#[test]
fn each_layout_is_readable_as_soon_as_it_lands() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let watcher = ReadyWatcher {
        cache: cache.clone(),
        seen: Default::default(),
    };
    prepare(&options(&fixture("tuxpaint"), &cache), &watcher).unwrap();
    let seen = watcher.seen.into_inner().unwrap();
    let order: Vec<&str> = seen.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(
        &order[..4],
        ["pca", "umap", "grid", "jittered"],
        "{order:?}"
    );
    assert_eq!(order.last(), Some(&"hotspots"));
    // PCA is on the map before UMAP exists.
    assert_eq!(seen[0].1, vec!["pca".to_string()]);
    assert!(seen.iter().all(|s| s.2), "{seen:?}");
}

/// Cancels at the first layout that lands.
struct CancelAtFirstLayout(std::sync::atomic::AtomicBool);

impl clip_plot::prepare::Progress for CancelAtFirstLayout {
    fn begin(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
    fn end(&self) {}
    fn cancelled(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
    fn layout_ready(&self, _: &str) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

#[test]
fn a_rerun_stopped_early_keeps_every_layout() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let opts = options(&fixture("tuxpaint"), &cache);
    prepare(&opts, &NoProgress).unwrap();
    let before = PreparedDataset::open(&cache).unwrap();
    // The viewer re-checks a prepared dataset in the background; the user closes the window
    // as soon as PCA is confirmed.
    let stop = CancelAtFirstLayout(Default::default());
    assert!(prepare(&opts, &stop).is_err());
    let after = PreparedDataset::open(&cache).unwrap();
    assert_eq!(after.layout_names(), before.layout_names());
    assert_eq!(
        after.manifest().clusters.keys().collect::<Vec<_>>(),
        vec!["umap"]
    );
    assert!(after.manifest().neighbours.is_some());
    // And the next run finds everything current.
    let report = prepare(&opts, &NoProgress).unwrap();
    let umap_seconds = report
        .stage_seconds
        .iter()
        .find(|(s, _)| s == "umap")
        .map(|(_, t)| *t)
        .unwrap();
    assert!(umap_seconds < 0.5, "UMAP was recomputed ({umap_seconds} s)");
    assert_eq!(
        PreparedDataset::open(&cache)
            .unwrap()
            .layout("umap")
            .unwrap(),
        before.layout("umap").unwrap()
    );
}
