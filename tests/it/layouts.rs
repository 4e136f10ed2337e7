//! Grid, metadata layouts, hotspots and the `layout` command, end to end on the fixtures.

use glam::Vec2;
use std::collections::HashSet;
use std::path::Path;
use std::process::Command;

use clip_plot::cache::PreparedDataset;
use clip_plot::dataset::DatasetOptions;
use clip_plot::layout::quality::knn_recall_2d;
use clip_plot::prepare::{NoProgress, PrepareOptions, prepare};

use crate::common::{binary, fixture};

fn butterflies(cache: &Path) -> PreparedDataset {
    let b = fixture("butterflies");
    let mut opts = PrepareOptions::new(DatasetOptions {
        root: b.clone(),
        images: Some(b.join("jpgs")),
        embeddings: Some(b.join("embeds_chunked")),
        metadata: Some(b.join("meta_data/good_meta.csv")),
        cache: Some(cache.to_path_buf()),
        ..Default::default()
    });
    opts.geojson = Some(b.join("meta_data/US.geojson"));
    opts.hotspots.min_cluster_size = 3;
    prepare(&opts, &NoProgress).unwrap();
    PreparedDataset::open(cache).unwrap()
}

fn column<'a>(p: &'a PreparedDataset, name: &str) -> &'a [String] {
    p.metadata.column(name).unwrap()
}

fn distinct(p: &[Vec2]) -> bool {
    let mut seen = HashSet::new();
    p.iter()
        .all(|q| seen.insert((q[0].to_bits(), q[1].to_bits())))
}

#[test]
fn butterflies_metadata_layouts() {
    let dir = tempfile::tempdir().unwrap();
    let p = butterflies(dir.path());
    let names = p.layout_names();
    for want in [
        "pca",
        "umap",
        "grid",
        "jittered",
        "categorical",
        "date",
        "geographic",
        "alphabetic",
        "custom",
    ] {
        assert!(
            names.contains(&want.to_string()),
            "{want} missing from {names:?}"
        );
        let pos = p.layout(want).unwrap();
        assert_eq!(pos.len(), p.len());
        assert!(
            pos.iter()
                .flat_map(|p| p.to_array())
                .all(|v| v.is_finite() && v.abs() <= 1.0 + 1e-4),
            "{want}"
        );
    }

    // Date: columns left to right by year, labelled with the years.
    let years: Vec<i32> = column(&p, "year")
        .iter()
        .map(|y| y.parse().unwrap())
        .collect();
    let date = p.layout("date").unwrap();
    for a in 0..p.len() {
        for b in 0..p.len() {
            if years[a] < years[b] {
                assert!(date[a][0] < date[b][0], "{} vs {}", years[a], years[b]);
            }
        }
    }
    let extras = p.layout_extras("date").unwrap();
    let mut label_years: Vec<i32> = extras
        .labels
        .iter()
        .map(|l| l.text.parse().unwrap())
        .collect();
    let mut unique = years.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(label_years, unique);
    label_years.dedup();
    assert_eq!(
        extras.labels.iter().map(|l| l.count).sum::<usize>(),
        p.len()
    );

    // Geographic: x follows longitude, y latitude; the GeoJSON outlines come along.
    let geo = p.layout("geographic").unwrap();
    let lat: Vec<f32> = column(&p, "lat")
        .iter()
        .map(|v| v.parse().unwrap())
        .collect();
    let lng: Vec<f32> = column(&p, "lng")
        .iter()
        .map(|v| v.parse().unwrap())
        .collect();
    for a in 0..p.len() {
        for b in 0..p.len() {
            if lng[a] < lng[b] {
                assert!(geo[a][0] <= geo[b][0]);
            }
            if lat[a] < lat[b] {
                assert!(geo[a][1] <= geo[b][1]);
            }
        }
    }
    let g = p.layout_extras("geographic").unwrap();
    assert!(g.outlines.len() > 10, "US outlines: {}", g.outlines.len());

    // Custom: the x/y columns, scaled uniformly.
    let custom = p.layout("custom").unwrap();
    let xs: Vec<f32> = column(&p, "x").iter().map(|v| v.parse().unwrap()).collect();
    let ys: Vec<f32> = column(&p, "y").iter().map(|v| v.parse().unwrap()).collect();
    let (i, j) = (0, 1);
    let scale = (custom[i][0] - custom[j][0]) / (xs[i] - xs[j]);
    for k in 0..p.len() {
        let want = [
            custom[i][0] + (xs[k] - xs[i]) * scale,
            custom[i][1] + (ys[k] - ys[i]) * scale,
        ];
        assert!((custom[k][0] - want[0]).abs() < 1e-3 && (custom[k][1] - want[1]).abs() < 1e-3);
    }

    // Categorical: one labelled block per category; grid-like layouts never overlap.
    let cats: HashSet<&String> = column(&p, "category").iter().collect();
    let c = p.layout_extras("categorical").unwrap();
    assert_eq!(c.labels.len(), cats.len());
    for name in ["grid", "categorical", "date", "alphabetic"] {
        assert!(
            distinct(&p.layout(name).unwrap()),
            "{name} puts two images on one cell"
        );
    }
    assert!(p.layout_extras("grid").unwrap().cell > 0.0);
}

#[test]
fn tuxpaint_hotspots_grid_and_export() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let opts = PrepareOptions::new(DatasetOptions {
        root: fixture("tuxpaint"),
        cache: Some(cache.clone()),
        ..Default::default()
    });
    prepare(&opts, &NoProgress).unwrap();
    let p = PreparedDataset::open(&cache).unwrap();

    // Hotspots: a browsable number (excess of mass finds 3 here, so the leaves are used),
    // labelled from the captions (or, where no caption word repeats, the category), with
    // a member as representative.
    let h = p.hotspots("umap").unwrap().unwrap();
    assert!(
        (5..=20).contains(&h.hotspots.len()),
        "{} hotspots",
        h.hotspots.len()
    );
    let captions = column(&p, "caption");
    let categories = column(&p, "category");
    for s in &h.hotspots {
        let members: Vec<usize> = (0..p.len())
            .filter(|&i| h.assignment[i] == s.id as i32)
            .collect();
        assert_eq!(members.len(), s.size);
        assert!(members.contains(&s.medoid));
        if s.label_source == "category" {
            assert!(
                members.iter().any(|&i| categories[i] == s.label),
                "{}",
                s.label
            );
            continue;
        }
        assert_eq!(s.label_source, "captions");
        // Every label word occurs in the captions of at least two members.
        for word in s.label.split(", ") {
            let hits = members
                .iter()
                .filter(|&&i| captions[i].to_lowercase().contains(word))
                .count();
            assert!(hits >= 2, "'{word}' of '{}' in {hits} captions", s.label);
        }
        println!("hotspot {}: {} ({} images)", s.id, s.label, s.size);
    }
    // Sizes descending, labels distinct.
    assert!(h.hotspots.windows(2).all(|w| w[0].size >= w[1].size));
    let labels: HashSet<&String> = h.hotspots.iter().map(|s| &s.label).collect();
    assert_eq!(labels.len(), h.hotspots.len());

    // Grid: a bijection onto cells that keeps UMAP's neighbourhoods.
    let umap = p.layout("umap").unwrap();
    let grid = p.layout("grid").unwrap();
    let cell = p.layout_extras("grid").unwrap().cell;
    let cells: HashSet<(i64, i64)> = grid
        .iter()
        .map(|q| ((q[0] / cell).floor() as i64, (q[1] / cell).floor() as i64))
        .collect();
    assert_eq!(cells.len(), p.len());
    let recall = knn_recall_2d(&umap, &grid, 10);
    println!("grid keeps {recall:.3} of UMAP's 10 nearest neighbours");
    assert!(recall > 0.4, "{recall}");

    // Export: the cluster column is the hotspot assignment.
    let out = dir.path().join("map.csv");
    let status = Command::new(binary())
        .args(["export", fixture("tuxpaint").to_str().unwrap(), "--cache"])
        .arg(&cache)
        .args(["--layout", "grid", "-o"])
        .arg(&out)
        .arg("--quiet")
        .status()
        .unwrap();
    assert!(status.success());
    let mut reader = csv::Reader::from_path(&out).unwrap();
    let header = reader.headers().unwrap().clone();
    let ci = header.iter().position(|h| h == "cluster").unwrap();
    let exported: Vec<i32> = reader
        .records()
        .map(|r| r.unwrap()[ci].parse().unwrap())
        .collect();
    assert_eq!(exported, h.assignment);

    // Changing a hotspot parameter recomputes the hotspots only.
    let before = crate::common::snapshot(&cache.join("layouts"));
    let mut again = opts.clone();
    again.hotspots.max_clusters = 1;
    prepare(&again, &NoProgress).unwrap();
    assert_eq!(crate::common::snapshot(&cache.join("layouts")), before);
    let p = PreparedDataset::open(&cache).unwrap();
    assert_eq!(p.hotspots("umap").unwrap().unwrap().hotspots.len(), 1);
}

fn run_layout(args: &[&str]) -> std::process::Output {
    Command::new(binary())
        .arg("layout")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn layout_command_reads_npy_and_writes_npy_or_csv() {
    let dir = tempfile::tempdir().unwrap();
    // The 785 real tuxpaint embeddings (float16).
    let emb = fixture("tuxpaint_all/embeddings/img_emb/img_emb_0.npy");
    let rows = clip_plot::dataset::NpyArray::open(&emb).unwrap().rows();
    assert!(rows > 100);
    for method in ["umap", "pca", "grid"] {
        let out = dir.path().join(format!("{method}.npy"));
        let o = run_layout(&[
            emb.to_str().unwrap(),
            "--method",
            method,
            "-o",
            out.to_str().unwrap(),
            "--quiet",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let a: ndarray::Array2<f32> = ndarray_npy::read_npy(&out).unwrap();
        assert_eq!(a.dim(), (rows, 2));
        assert!(a.iter().all(|v| v.is_finite()));
        if method == "grid" {
            let pts: Vec<Vec2> = a
                .rows()
                .into_iter()
                .map(|r| Vec2::new(r[0], r[1]))
                .collect();
            assert!(distinct(&pts));
        }
    }
    // CSV, float32 input, degenerate sizes, n_neighbors ≥ N.
    for n in [1usize, 2, 15] {
        let data: Vec<f32> = (0..n * 8).map(|i| ((i * 7) % 11) as f32).collect();
        let npy = dir.path().join(format!("small{n}.npy"));
        std::fs::write(&npy, clip_plot::dataset::npy::encode_npy_f32(n, 8, &data)).unwrap();
        let out = dir.path().join(format!("small{n}.csv"));
        let o = run_layout(&[
            npy.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--n-neighbors",
            "30",
            "--quiet",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let text = std::fs::read_to_string(&out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "x,y");
        assert_eq!(lines.len(), n + 1);
        assert!(
            lines[1..]
                .iter()
                .all(|l| l.split(',').all(|v| v.parse::<f32>().unwrap().is_finite()))
        );
    }
    // All-identical rows.
    let npy = dir.path().join("same.npy");
    std::fs::write(
        &npy,
        clip_plot::dataset::npy::encode_npy_f16(40, 4, &[0.5; 160]),
    )
    .unwrap();
    let out = dir.path().join("same.npy.out.npy");
    let o = run_layout(&[
        npy.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--method",
        "grid",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // A NaN row: exit code 3 and the row named.
    let mut data = vec![0.25f32; 30 * 4];
    data[17 * 4 + 2] = f32::NAN;
    let npy = dir.path().join("nan.npy");
    std::fs::write(&npy, clip_plot::dataset::npy::encode_npy_f32(30, 4, &data)).unwrap();
    let o = run_layout(&[
        npy.to_str().unwrap(),
        "-o",
        dir.path().join("x.npy").to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(3));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("row 17") && err.lines().count() == 1, "{err}");
    assert!(!dir.path().join("x.npy").exists());
}

/// Cancels when a given stage begins; records UMAP snapshots.
struct Watcher {
    cancel_at: Option<&'static str>,
    cancelled: std::sync::atomic::AtomicBool,
    snapshots: std::sync::Mutex<Vec<(String, usize, usize)>>,
}

impl Watcher {
    fn new(cancel_at: Option<&'static str>) -> Self {
        Self {
            cancel_at,
            cancelled: Default::default(),
            snapshots: Default::default(),
        }
    }
}

impl clip_plot::prepare::Progress for Watcher {
    fn begin(&self, stage: &str, _total: u64) {
        if Some(stage) == self.cancel_at {
            self.cancelled
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
    fn advance(&self, _n: u64) {}
    fn end(&self) {}
    fn cancelled(&self) -> bool {
        self.cancelled.load(std::sync::atomic::Ordering::Relaxed)
    }
    fn snapshot_every(&self) -> usize {
        100
    }
    fn layout_snapshot(&self, layout: &str, epoch: usize, positions: &[Vec2]) {
        assert!(
            positions
                .iter()
                .flat_map(|p| p.to_array())
                .all(|v| v.is_finite() && v.abs() <= 1.0 + 1e-5)
        );
        self.snapshots
            .lock()
            .unwrap()
            .push((layout.to_string(), epoch, positions.len()));
    }
}

#[test]
fn prepare_cancels_mid_umap_then_resumes_with_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let opts = PrepareOptions::new(DatasetOptions {
        root: fixture("tuxpaint"),
        cache: Some(cache.clone()),
        ..Default::default()
    });
    let stop = Watcher::new(Some("umap"));
    let err = prepare(&opts, &stop).unwrap_err();
    assert!(
        matches!(err, clip_plot::prepare::PrepareError::Cancelled),
        "{err}"
    );
    // UMAP stopped after its first epoch: no snapshot, no layout file.
    assert!(stop.snapshots.lock().unwrap().is_empty());
    assert!(!cache.join("layouts/umap.npy").exists());

    let go = Watcher::new(None);
    let report = prepare(&opts, &go).unwrap();
    assert_eq!(
        report.thumbnailed, 0,
        "thumbnails were kept from the cancelled run"
    );
    let snaps = go.snapshots.lock().unwrap().clone();
    // 207 images → 500 epochs → snapshots at 100, 200, 300, 400.
    assert_eq!(
        snaps,
        [100, 200, 300, 400]
            .iter()
            .map(|&e| ("umap".to_string(), e, report.images))
            .collect::<Vec<_>>()
    );
    assert!(
        PreparedDataset::open(&cache)
            .unwrap()
            .layout("umap")
            .is_ok()
    );
}

/// Share of each image's 10 nearest neighbours in `positions` that have its `labels` value.
fn neighbour_label_share(positions: &[Vec2], labels: &[String]) -> f64 {
    let mut agree = 0usize;
    for (i, a) in positions.iter().enumerate() {
        let mut d: Vec<(f32, usize)> = (positions.iter().enumerate())
            .filter(|(j, _)| *j != i)
            .map(|(j, b)| (a.distance_squared(*b), j))
            .collect();
        d.sort_by(|x, y| x.0.total_cmp(&y.0));
        agree += d[..10]
            .iter()
            .filter(|(_, j)| labels[*j] == labels[i])
            .count();
    }
    agree as f64 / (10 * positions.len()) as f64
}

#[test]
fn a_label_column_gives_a_supervised_umap() {
    let dir = tempfile::tempdir().unwrap();
    let cache = crate::common::prepared_tuxpaint_copy(dir.path());
    // Tux Paint's categories as PixPlot's `label`, one image in five unlabelled.
    let original = std::fs::read_to_string(fixture("tuxpaint/metadata.csv")).unwrap();
    let mut csv = String::from("filename,label\n");
    for (k, line) in original.lines().skip(1).enumerate() {
        let mut cells = line.split(',');
        let (file, category) = (cells.next().unwrap(), cells.next().unwrap());
        let label = if k % 5 == 0 { "" } else { category };
        csv.push_str(&format!("{file},{label}\n"));
    }
    let metadata = dir.path().join("labels.csv");
    std::fs::write(&metadata, csv).unwrap();
    let opts = PrepareOptions::new(DatasetOptions {
        root: fixture("tuxpaint"),
        metadata: Some(metadata),
        cache: Some(cache.clone()),
        ..Default::default()
    });
    prepare(&opts, &NoProgress).unwrap();
    let prepared = PreparedDataset::open(&cache).unwrap();
    assert!(prepared.layout_names().contains(&"supervised".to_string()));
    let labels = prepared.metadata.column("label").unwrap().to_vec();
    let labelled: Vec<usize> = (0..labels.len())
        .filter(|&i| !labels[i].is_empty())
        .collect();
    let share = |name: &str| {
        let p = prepared.layout(name).unwrap();
        let pick: Vec<Vec2> = labelled.iter().map(|&i| p[i]).collect();
        let l: Vec<String> = labelled.iter().map(|&i| labels[i].clone()).collect();
        neighbour_label_share(&pick, &l)
    };
    let (umap, supervised) = (share("umap"), share("supervised"));
    // The best any layout can do: a label with m labelled images offers m − 1 neighbours.
    let ceiling = labelled
        .iter()
        .map(|&i| {
            let m = labelled.iter().filter(|&&j| labels[j] == labels[i]).count();
            (m - 1).min(10) as f64 / 10.0
        })
        .sum::<f64>()
        / labelled.len() as f64;
    assert!(
        supervised > 0.7 * ceiling && supervised > 1.6 * umap,
        "category share among 10 neighbours: supervised {supervised:.3}, UMAP {umap:.3}, at most {ceiling:.3}"
    );
    // Without a label column it is not offered.
    let plain = crate::common::shared_tuxpaint_cache();
    let names = PreparedDataset::open(plain).unwrap().layout_names();
    assert!(!names.contains(&"supervised".to_string()), "{names:?}");
}

/// PixPlot's UMAP variants: asked for on an existing cache, each is a layout of its own,
/// computed from the cached graph without touching UMAP; adding a second computes only it.
#[test]
fn umap_variants_are_added_on_demand_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let cache = crate::common::prepared_tuxpaint_copy(dir.path());
    let mut opts = PrepareOptions::new(DatasetOptions {
        root: fixture("tuxpaint"),
        cache: Some(cache.clone()),
        logo: Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/logo.png")),
        ..Default::default()
    });
    let umap_before = std::fs::read(cache.join("layouts/umap.npy")).unwrap();
    let tight = "umap-n5-d0.01";
    opts.umap_variants = vec!["5,0.01".parse().unwrap()];
    let report = prepare(&opts, &NoProgress).unwrap();
    assert_eq!(report.thumbnailed, 0);
    let timed = |r: &clip_plot::prepare::PrepareReport, stage: &str| {
        r.stage_seconds.iter().any(|(s, _)| s == stage)
    };
    assert!(timed(&report, "umap variants"));
    let p = PreparedDataset::open(&cache).unwrap();
    let layouts = p.layout_names();
    assert!(layouts.iter().any(|n| n == tight), "{layouts:?}");
    let v = p.layout(tight).unwrap();
    let u = p.layout("umap").unwrap();
    assert_eq!(v.len(), u.len());
    assert!(v.iter().all(|q| q.is_finite()));
    assert_ne!(v, u, "the variant is its own layout");
    assert_eq!(
        std::fs::read(cache.join("layouts/umap.npy")).unwrap(),
        umap_before
    );
    let info = &p.manifest().layouts[tight];
    assert_eq!(info.params["n_neighbors"], "5");
    let first_file = std::fs::read(cache.join(&info.file)).unwrap();
    drop(p);

    // A second variant: the first is reused as it is, UMAP still untouched.
    opts.umap_variants.push("30,0.5".parse().unwrap());
    prepare(&opts, &NoProgress).unwrap();
    let p = PreparedDataset::open(&cache).unwrap();
    assert!(p.layout_names().iter().any(|n| n == "umap-n30-d0.5"));
    let info = &p.manifest().layouts[tight];
    assert_eq!(std::fs::read(cache.join(&info.file)).unwrap(), first_file);
    assert_eq!(
        std::fs::read(cache.join("layouts/umap.npy")).unwrap(),
        umap_before
    );
}
