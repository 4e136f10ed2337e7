//! Finding and acting on parts of a real collection: facet counts against counts made
//! independently from the metadata files, the filter language through `export --where`,
//! similarity ranking through `export --similar-to`, and tags that survive a re-prepare.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use clip_plot::cache::PreparedDataset;
use clip_plot::dataset::DatasetOptions;
use clip_plot::explore::facets::{FacetFilter, FacetKind, facets};
use clip_plot::explore::{Bits, Explorer};
use clip_plot::prepare::{NoProgress, PrepareOptions, prepare};

use crate::common::{binary, copy_dir, fixture};

fn prepared(root: &Path, cache: &Path, metadata: Option<&Path>) -> Arc<PreparedDataset> {
    let mut opts = DatasetOptions {
        root: root.to_path_buf(),
        cache: Some(cache.to_path_buf()),
        metadata: metadata.map(Path::to_path_buf),
        ..Default::default()
    };
    if root.ends_with("butterflies") {
        opts.images = Some(root.join("jpgs"));
        opts.embeddings = Some(root.join("embeds_chunked"));
    }
    prepare(&PrepareOptions::new(opts), &NoProgress).unwrap();
    Arc::new(PreparedDataset::open(cache).unwrap())
}

/// The metadata file's rows as maps of lower-cased column → value, read with the csv crate.
fn csv_rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = r
        .headers()
        .unwrap()
        .iter()
        .map(|h| h.to_lowercase())
        .collect();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            header
                .iter()
                .cloned()
                .zip(rec.iter().map(|v| v.trim().to_lowercase()))
                .collect()
        })
        .collect()
}

/// Counts of one column's values (split on `|` when `list`) over the rows `keep` passes.
fn count_in(
    rows: &[BTreeMap<String, String>],
    column: &str,
    list: bool,
    keep: impl Fn(&BTreeMap<String, String>) -> bool,
) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for row in rows.iter().filter(|r| keep(r)) {
        let v = &row[column];
        let items: Vec<&str> = if list {
            v.split('|').map(str::trim).collect()
        } else {
            vec![v.as_str()]
        };
        for item in items.into_iter().filter(|i| !i.is_empty()) {
            *out.entry(item.to_string()).or_default() += 1;
        }
    }
    out
}

/// Facet `column`'s counts under `mask`, as a map.
fn facet_counts(ex: &Explorer, column: &str, mask: &Bits) -> BTreeMap<String, usize> {
    let all = facets(ex.catalog());
    let facet = all.iter().find(|f| f.column == column).unwrap();
    let counts = facet.counts(ex.catalog().column(column).unwrap(), mask);
    facet
        .values
        .iter()
        .cloned()
        .zip(counts.values)
        .filter(|(_, c)| *c > 0)
        .collect()
}

#[test]
fn facet_counts_equal_counts_made_from_the_metadata_files() {
    let tmp = tempfile::tempdir().unwrap();

    // Tux Paint: every image has a row.
    let root = fixture("tuxpaint");
    let ex = Explorer::open(prepared(&root, &tmp.path().join("t"), None)).unwrap();
    let rows = csv_rows(&root.join("metadata.csv"));
    assert_eq!(rows.len(), ex.len());
    let kinds: BTreeMap<String, FacetKind> = facets(ex.catalog())
        .into_iter()
        .map(|f| (f.column, f.kind))
        .collect();
    assert_eq!(kinds["category"], FacetKind::Categorical);
    assert_eq!(kinds["tags"], FacetKind::List);
    assert_eq!(kinds["description"], FacetKind::Text);
    let all = Bits::full(ex.len());
    assert_eq!(
        facet_counts(&ex, "category", &all),
        count_in(&rows, "category", false, |_| true)
    );
    assert_eq!(
        facet_counts(&ex, "tags", &all),
        count_in(&rows, "tags", true, |_| true)
    );
    // Cross-filtered: the category facet counts what the tags facet lets through.
    let tags = facets(ex.catalog())
        .into_iter()
        .find(|f| f.column == "tags")
        .unwrap();
    let pick = tags.values[0].clone();
    let expression = tags.expression(&FacetFilter::Values([pick.clone()].into()));
    let mask = ex.filter(&expression).unwrap();
    let expected = count_in(&rows, "category", false, |r| {
        r["tags"].split('|').any(|t| t.trim() == pick)
    });
    assert_eq!(facet_counts(&ex, "category", &mask), expected);
    assert!(expected.values().sum::<usize>() > 0);

    // Butterflies: PixPlot's columns, a year histogram and list tags.
    let root = fixture("butterflies");
    let meta = root.join("meta_data/good_meta.csv");
    let ex = Explorer::open(prepared(&root, &tmp.path().join("b"), Some(&meta))).unwrap();
    // Only the rows of images on the map (the file lists one image that is not there).
    let shown: Vec<String> = ex
        .prepared
        .images
        .iter()
        .map(|p| p.rsplit('/').next().unwrap().to_lowercase())
        .collect();
    let rows: Vec<_> = csv_rows(&meta)
        .into_iter()
        .filter(|r| shown.contains(&r["filename"]))
        .collect();
    assert!(rows.len() < csv_rows(&meta).len() && !rows.is_empty());
    assert_eq!(
        facet_counts(&ex, "tags", &Bits::full(ex.len())),
        count_in(&rows, "tags", true, |_| true)
    );
    let years = facets(ex.catalog())
        .into_iter()
        .find(|f| f.column == "year")
        .unwrap();
    assert_eq!(years.kind, FacetKind::Year);
    let hist = years.counts(ex.catalog().column("year").unwrap(), &Bits::full(ex.len()));
    let dated = rows
        .iter()
        .filter(|r| r["year"].parse::<f64>().is_ok())
        .count();
    assert_eq!(hist.bins.iter().sum::<usize>(), dated);
    let in_range = ex.filter("year:1990..1999").unwrap().count();
    let expected = rows
        .iter()
        .filter(|r| {
            r["year"]
                .parse::<f64>()
                .is_ok_and(|y| (1990.0..=1999.0).contains(&y))
        })
        .count();
    assert_eq!(in_range, expected);
}

fn run(args: &[&str], dataset: &Path, cache: &Path) -> String {
    let out = Command::new(binary())
        .args(args)
        .arg(dataset)
        .arg("--cache")
        .arg(cache)
        .arg("--quiet")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{args:?}: {}{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

#[test]
fn export_where_similar_to_and_tags_from_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dataset = tmp.path().join("tux");
    copy_dir(&fixture("tuxpaint"), &dataset);
    let cache = tmp.path().join("cache");
    let out = tmp.path().join("out.csv");
    let o = out.to_str().unwrap();

    // --where: exactly the rows the metadata says.
    run(
        &[
            "export",
            "--layout",
            "umap",
            "--where",
            "category=animals -tags=birds",
            "-o",
            o,
        ],
        &dataset,
        &cache,
    );
    let (header, rows) = read_csv(&out);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let meta = csv_rows(&dataset.join("metadata.csv"));
    let expected = meta
        .iter()
        .filter(|r| r["category"] == "animals" && !r["tags"].split('|').any(|t| t == "birds"))
        .count();
    assert_eq!(rows.len(), expected);
    assert!(rows.iter().all(|r| r[col("category")] == "animals"));

    // --similar-to: best first, the image itself on top, K rows.
    run(
        &[
            "export",
            "--similar-to",
            "magpie.png",
            "--top",
            "7",
            "-o",
            o,
        ],
        &dataset,
        &cache,
    );
    let (header, rows) = read_csv(&out);
    let sim = header.iter().position(|h| h == "similarity").unwrap();
    assert_eq!(rows.len(), 7);
    assert_eq!(rows[0][0], "animals/birds/magpie.png");
    let sims: Vec<f32> = rows.iter().map(|r| r[sim].parse().unwrap()).collect();
    assert!(sims.windows(2).all(|w| w[0] >= w[1]), "{sims:?}");
    assert!(sims[0] > 0.99 && sims[6] < sims[0]);
    // The image's own file, as a shell completes it, names it too.
    let file = dataset.join("images/animals/birds/magpie.png");
    let args = [
        "export",
        "--similar-to",
        file.to_str().unwrap(),
        "--top",
        "1",
        "-o",
        o,
    ];
    run(&args, &dataset, &cache);
    assert_eq!(read_csv(&out).1[0][0], "animals/birds/magpie.png");

    // Tags: added by filter, exported, kept across a re-prepare with an added image.
    let said = run(
        &["tag", "--where", "category=food", "--add", "menu"],
        &dataset,
        &cache,
    );
    let food = meta.iter().filter(|r| r["category"] == "food").count();
    assert!(
        said.contains(&format!("{food} images carry it now")),
        "{said}"
    );
    run(
        &["tag", "--where", "filename:magpie", "--add", "keep"],
        &dataset,
        &cache,
    );
    std::fs::copy(
        dataset.join("images/animals/birds/magpie.png"),
        dataset.join("images/animals/birds/magpie-copy.png"),
    )
    .unwrap();
    run(&["prepare"], &dataset, &cache);
    run(
        &["export", "--where", "tag:menu OR tag:keep", "-o", o],
        &dataset,
        &cache,
    );
    let (header, rows) = read_csv(&out);
    let tags = header.iter().position(|h| h == "user_tags").unwrap();
    assert_eq!(rows.len(), food + 1, "the copy has no tags of its own");
    assert!(
        rows.iter()
            .any(|r| r[0] == "animals/birds/magpie.png" && r[tags] == "keep")
    );
    assert_eq!(rows.iter().filter(|r| r[tags] == "menu").count(), food);
    run(
        &["tag", "--where", "tag:menu", "--remove", "menu"],
        &dataset,
        &cache,
    );
    run(
        &["export", "--where", "tag:menu", "-o", o],
        &dataset,
        &cache,
    );
    assert!(read_csv(&out).1.is_empty());
}

#[test]
fn bad_requests_say_what_is_wrong_and_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = crate::common::prepared_tuxpaint_copy(tmp.path());
    let check = |args: &[&str], wanted: &str| {
        let out = Command::new(binary())
            .args(args)
            .arg(fixture("tuxpaint"))
            .arg("--cache")
            .arg(&cache)
            .arg("--quiet")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(wanted), "{args:?}: {stderr}");
        assert!(!stderr.contains("Delete the cache"), "{stderr}");
    };
    let o = tmp.path().join("x.csv");
    let o = o.to_str().unwrap();
    check(
        &["export", "--where", "owl colour:red", "-o", o],
        "in `colour:red` (at character 4): there is no column 'colour'",
    );
    check(
        &["export", "--layout", "date", "-o", o],
        "needs a `year` or `date` metadata column",
    );
    check(
        &["export", "--similar-to", "no-such.png", "-o", o],
        "no image of this dataset is called 'no-such.png'",
    );
    check(&["tag", "--where", "owl", "--add", "a|b"], "contains '|'");
    check(
        &["export", "--view", "nope", "-o", o],
        "no saved view called 'nope' (no views yet",
    );
    check(
        &["render", "--colour-by", "nope", "-o", o],
        "'nope' cannot colour the map (columns that can: category",
    );

    // A file given as the dataset.
    let out = Command::new(binary())
        .arg("prepare")
        .arg(fixture("tuxpaint").join("metadata.csv"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is a file, not a folder"), "{stderr}");
    assert!(stderr.contains("--metadata"), "{stderr}");
}

#[test]
fn a_saved_view_is_rendered_and_exported_as_it_shows() {
    use clip_plot::explore::views::{SavedCamera, View, Views};
    let tmp = tempfile::tempdir().unwrap();
    let cache = crate::common::prepared_tuxpaint_copy(tmp.path());
    let dir = clip_plot::cache::CacheDir::new(&cache);
    let mut filters = clip_plot::explore::state::FilterState::default();
    filters.toggle_value("category", "food");
    let mut views = Views::default();
    views
        .put(View {
            name: "food only".into(),
            layout: "grid".into(),
            camera: Some(SavedCamera {
                centre: glam::Vec2::ZERO,
                span: 2.2,
            }),
            filters,
            colour_by: Some("category".into()),
            hide: true,
        })
        .unwrap();
    views.save(&dir).unwrap();
    let dataset = fixture("tuxpaint");
    let out = tmp.path().join("food.csv");
    let said = run(
        &["export", "--view", "FOOD ONLY", "-o", out.to_str().unwrap()],
        &dataset,
        &cache,
    );
    assert!(said.contains("layout 'grid'"), "{said}");
    let food = csv_rows(&dataset.join("metadata.csv"))
        .iter()
        .filter(|r| r["category"] == "food")
        .count();
    let (header, rows) = read_csv(&out);
    let category = header.iter().position(|h| h == "category").unwrap();
    assert_eq!(rows.len(), food);
    assert!(rows.iter().all(|r| r[category] == "food"));

    let png = Path::new(env!("CARGO_TARGET_TMPDIR")).join("view_food_only.png");
    let _ = std::fs::remove_file(&png);
    let said = run(
        &[
            "render",
            "--view",
            "food only",
            "--size",
            "640x480",
            "-o",
            png.to_str().unwrap(),
        ],
        &dataset,
        &cache,
    );
    assert!(said.contains("layout 'grid'"), "{said}");
    let img = image::open(&png).unwrap().to_rgba8();
    assert_eq!(img.dimensions(), (640, 480));
    // Hidden: only the food is drawn, so most of the picture is background; the legend
    // sits in the bottom-left corner.
    let background = img
        .pixels()
        .filter(|p| p[0] < 30 && p[1] < 30 && p[2] < 34)
        .count();
    assert!(background > 640 * 480 * 7 / 10, "{background}");
    let corner = image::imageops::crop_imm(&img, 0, 480 - 160, 160, 160).to_image();
    let lit = corner.pixels().filter(|p| p[0] > 180 && p[1] > 180).count();
    assert!(lit > 80, "the legend's text is missing: {lit}");
}
