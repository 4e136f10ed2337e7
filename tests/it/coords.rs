//! Coordinates computed elsewhere (`--coords`, `--no-umap`): a layout of their own, the base
//! of the grid and the hotspots, images without a row in a labelled block, and clear
//! messages for tables that cannot be used.

use glam::Vec2;
use std::path::Path;
use std::process::Command;

use crate::common::{binary, fixture, prepared_tuxpaint_copy};
use clip_plot::cache::PreparedDataset;
use clip_plot::dataset::DatasetOptions;
use clip_plot::prepare::{NoProgress, PrepareOptions, prepare};

fn options(cache: &Path, coords: &Path) -> PrepareOptions {
    let mut opts = PrepareOptions::new(DatasetOptions {
        root: fixture("tuxpaint"),
        cache: Some(cache.to_path_buf()),
        ..Default::default()
    });
    opts.coords = Some(coords.to_path_buf());
    opts
}

/// Where a cluster engine would put image `i`: a known, non-trivial function of its name.
fn given_xy(i: usize) -> Vec2 {
    Vec2::new((i % 17) as f32 * 3.0 - 20.0, (i / 17) as f32 * -2.0 + 5.0)
}

#[test]
fn given_coordinates_become_the_map_and_its_hotspots() {
    let dir = tempfile::tempdir().unwrap();
    let cache = prepared_tuxpaint_copy(dir.path());
    let images = PreparedDataset::open(&cache).unwrap().images.to_vec();
    let n = images.len();
    // Every image but the last three, by file name with the folder, in a shuffled order;
    // plus a row naming no image.
    let mut rows: Vec<usize> = (0..n - 3).collect();
    rows.reverse();
    let mut csv = String::from("filename,x,y\n");
    for &i in &rows {
        let p = given_xy(i);
        csv.push_str(&format!("{},{},{}\n", images[i], p.x, p.y));
    }
    csv.push_str("animals/not-there.png,1,1\n");
    let coords = dir.path().join("xy.csv");
    std::fs::write(&coords, csv).unwrap();
    let mut opts = options(&cache, &coords);
    opts.no_umap = true;
    let report = prepare(&opts, &NoProgress).unwrap();
    assert!(
        report
            .notices
            .iter()
            .any(|n| n.contains("1 row(s) of") && n.contains("xy.csv")),
        "{:?}",
        report.notices
    );

    let prepared = PreparedDataset::open(&cache).unwrap();
    let manifest = prepared.manifest();
    let names = prepared.layout_names();
    assert!(names.contains(&"given".to_string()), "{names:?}");
    assert!(!names.contains(&"umap".to_string()), "--no-umap: {names:?}");
    assert!(names.contains(&"grid".to_string()) && names.contains(&"jittered".to_string()));
    assert_eq!(manifest.layouts["grid"].params["from"], "given");
    assert_eq!(prepared.hotspot_source(), "given");
    assert!(prepared.hotspots("given").unwrap().is_some());

    // The given positions, up to the map's normalisation (one scale, one offset).
    let layout = prepared.layout("given").unwrap();
    let (a, b) = (0, 40);
    let scale = (layout[a] - layout[b]).length() / (given_xy(a) - given_xy(b)).length();
    let offset = layout[a] - given_xy(a) * scale;
    for (i, &at) in layout.iter().enumerate().take(n - 3) {
        let want = given_xy(i) * scale + offset;
        assert!((at - want).length() < 1e-4, "image {i}: {at} vs {want}");
    }
    // The three without a row sit in a block under the others, labelled.
    let lowest = layout[..n - 3].iter().map(|p| p.y).fold(f32::MAX, f32::min);
    for (i, at) in layout.iter().enumerate().skip(n - 3) {
        assert!(at.y < lowest, "image {i} at {at} is not under the map");
    }
    let extras: clip_plot::layout::meta::LabelledLayout = prepared
        .dir
        .read_json(manifest.layouts["given"].extras.as_deref().unwrap())
        .unwrap();
    assert!(
        extras
            .labels
            .iter()
            .any(|l| l.text.contains("no position") && l.count == 3)
    );

    // The settings are remembered: a plain re-open keeps the given layout and no UMAP.
    let again = PrepareOptions::remembered(DatasetOptions {
        root: fixture("tuxpaint"),
        cache: Some(cache.clone()),
        ..Default::default()
    });
    assert!(again.no_umap && again.coords.as_deref() == Some(coords.as_path()));
    prepare(&again, &NoProgress).unwrap();
    let names = PreparedDataset::open(&cache).unwrap().layout_names();
    assert!(names.contains(&"given".to_string()) && !names.contains(&"umap".to_string()));
}

#[test]
fn coordinates_by_key_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let cache = prepared_tuxpaint_copy(dir.path());
    let images = PreparedDataset::open(&cache).unwrap().images.to_vec();
    // img2dataset's key: the file name without its extension; a TSV, as Spark writes it.
    let mut tsv = String::from("key\tx\ty\n");
    for (i, rel) in images.iter().enumerate() {
        let key = clip_plot::dataset::coords::key_of(rel);
        tsv.push_str(&format!("{key}\t{}\t{}\n", i % 10, i / 10));
    }
    let coords = dir.path().join("cluster.tsv");
    std::fs::write(&coords, tsv).unwrap();
    let out = Command::new(binary())
        .arg("prepare")
        .arg(fixture("tuxpaint"))
        .arg("--cache")
        .arg(&cache)
        .args(["--coords-name", "spark", "-q", "--coords"])
        .arg(&coords)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let prepared = PreparedDataset::open(&cache).unwrap();
    let names = prepared.layout_names();
    assert!(names.contains(&"spark".to_string()) && names.contains(&"umap".to_string()));
    // UMAP stays the hotspots' source when it is there.
    assert_eq!(prepared.hotspot_source(), "umap");
    let layout = prepared.layout("spark").unwrap();
    assert!(layout[0].y != layout[images.len() - 1].y);
}

#[test]
fn unusable_coordinates_stop_with_one_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let cache = prepared_tuxpaint_copy(dir.path());
    let cases: [(&str, &str, &str); 4] = [
        (
            "no-y.csv",
            "filename,x\na.png,1\n",
            "an `x` and a `y` column",
        ),
        (
            "no-name.csv",
            "id,x,y\n1,2,3\n",
            "a `filename` or a `key` column",
        ),
        (
            "nothing.csv",
            "filename,x,y\nnope.png,1,2\n",
            "no row gives a position",
        ),
        (
            "words.csv",
            "filename,x,y\nsymbols/math/operators/op1_minus.png,left,up\n",
            "no row gives a position",
        ),
    ];
    for (name, text, message) in cases {
        let coords = dir.path().join(name);
        std::fs::write(&coords, text).unwrap();
        let err = prepare(&options(&cache, &coords), &NoProgress)
            .unwrap_err()
            .to_string();
        assert!(err.contains(message) && err.contains(name), "{name}: {err}");
    }
    let mut opts = options(&cache, &dir.path().join("no-y.csv"));
    opts.coords_name = "pca".into();
    let err = prepare(&opts, &NoProgress).unwrap_err().to_string();
    assert!(err.contains("--coords-name \"pca\""), "{err}");
    // A failed prepare leaves the cache as it was: still openable, with its layouts.
    assert!(
        PreparedDataset::open(&cache)
            .unwrap()
            .layout_names()
            .contains(&"umap".to_string())
    );
}
