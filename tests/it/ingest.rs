//! Ingesting real clip-retrieval output and PixPlot metadata (tests/fixtures/butterflies and
//! tuxpaint, copied from shared/fixtures).

use crate::common::fixture;
use clip_plot::dataset::npy::NpyArray;
use clip_plot::dataset::{Dataset, DatasetError, DatasetOptions};

fn butterflies(images: &str, embeddings: &str, metadata: Option<&str>) -> DatasetOptions {
    let root = fixture("butterflies");
    DatasetOptions {
        images: Some(root.join(images)),
        embeddings: Some(root.join(embeddings)),
        metadata: metadata.map(|m| root.join("meta_data").join(m)),
        root,
        ..Default::default()
    }
}

fn row(d: &Dataset, i: usize) -> Vec<f32> {
    let e = d.embeddings.as_ref().unwrap();
    let mut v = vec![0.0; e.dim()];
    e.read_row(i, &mut v);
    v
}

#[test]
fn clip_retrieval_shards_are_joined_through_image_path() {
    let d = Dataset::open(&butterflies("jpgs", "embeds_chunked", None)).unwrap();
    assert_eq!(d.images.len(), 12);
    assert!(d.skipped.is_empty(), "{:?}", d.skipped);
    let e = d.embeddings.as_ref().unwrap();
    assert_eq!(e.dim(), 512);
    // clip-retrieval sent sample i of the sorted file list to shard i % 2, row i / 2; our
    // join only looked at image_path, so it must reproduce exactly that.
    let shards = [0, 1].map(|k| {
        NpyArray::open(
            &fixture("butterflies/embeds_chunked/img_emb").join(format!("img_emb_{k}.npy")),
        )
        .unwrap()
    });
    for (i, image) in d.images.iter().enumerate() {
        let mut expected = vec![0.0; 512];
        shards[i % 2].read_row(i / 2, &mut expected);
        assert_eq!(row(&d, i), expected, "{}", image.rel);
        let norm: f32 = expected.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 0.01);
    }
}

#[test]
fn per_image_npy_files_give_each_image_its_own_vector() {
    let d = Dataset::open(&butterflies("jpgs", "embeds_indiv", None)).unwrap();
    assert_eq!(d.images.len(), 12);
    assert_eq!(d.embeddings.as_ref().unwrap().dim(), 2048);
    for (i, image) in d.images.iter().enumerate() {
        let own =
            NpyArray::open(&fixture("butterflies/embeds_indiv").join(format!("{}.npy", image.rel)))
                .unwrap();
        let mut expected = vec![0.0; 2048];
        own.read_row(0, &mut expected);
        assert_eq!(row(&d, i), expected, "{}", image.rel);
    }
}

#[test]
fn pixplot_metadata_joins_by_filename() {
    let d = Dataset::open(&butterflies(
        "jpgs",
        "embeds_chunked",
        Some("good_meta.csv"),
    ))
    .unwrap();
    let i = d
        .images
        .iter()
        .position(|im| im.rel == "354747d21-638c-4e23-a655-c0bb4de18941.jpg")
        .unwrap();
    let col = |name: &str| d.metadata.column(name).unwrap()[i].clone();
    assert_eq!(col("category"), "Butterfly");
    assert_eq!(col("tags"), "Gray|Ugly");
    assert_eq!(col("year"), "2000");
    assert_eq!(col("lat"), "18.406389");
    assert_eq!(col("x"), "0");
    assert!(
        d.metadata.column("filename").is_none(),
        "filename is the key, not a column"
    );
    assert!(d.metadata.cells.iter().all(|c| c.len() == 12));
}

#[test]
fn metadata_with_missing_rows_leaves_those_empty() {
    let d = Dataset::open(&butterflies(
        "jpgs",
        "embeds_chunked",
        Some("meta_missing_entry.csv"),
    ))
    .unwrap();
    let label = d.metadata.column("label").unwrap();
    let empty = label.iter().filter(|v| v.is_empty()).count();
    assert!(empty > 0 && empty < 12, "{label:?}");
    assert!(
        d.notices.iter().any(|n| n.contains("have no row")),
        "{:?}",
        d.notices
    );
}

#[test]
fn metadata_without_filename_column_is_refused_clearly() {
    let err = Dataset::open(&butterflies(
        "jpgs",
        "embeds_chunked",
        Some("meta_missing_filename.csv"),
    ))
    .unwrap_err();
    assert!(matches!(err, DatasetError::NoFilename { .. }));
    let msg = err.to_string();
    assert!(msg.contains("meta_missing_filename.csv"), "{msg}");
    assert!(msg.contains("`filename` column"), "{msg}");
}

#[test]
fn duplicate_file_names_are_resolved_and_reported() {
    // jpgs_duplicates holds some files twice (root and duplicates_here/); clip-retrieval's
    // image_path (../jpgs/x.jpg) matches the copy nearest the images folder.
    let d = Dataset::open(&butterflies("jpgs_duplicates", "embeds_chunked", None)).unwrap();
    let rels: Vec<&str> = d.images.iter().map(|i| i.rel.as_str()).collect();
    assert!(
        rels.iter().all(|r| !r.starts_with("duplicates_here/")),
        "{rels:?}"
    );
    assert!(
        d.notices.iter().any(|n| n.contains("match several files")),
        "{:?}",
        d.notices
    );
    assert!(
        d.skipped
            .iter()
            .any(|s| s.path.starts_with("duplicates_here/") && s.reason.contains("no embedding"))
    );
    // With per-image vectors matched by name, every copy gets the vector of its name.
    let d = Dataset::open(&butterflies("jpgs_duplicates", "embeds_indiv", None)).unwrap();
    let a = d
        .images
        .iter()
        .position(|i| i.rel == "3c3407493-e0d9-43fe-a2a2-7c43395c90c5.jpg")
        .unwrap();
    let b = d
        .images
        .iter()
        .position(|i| i.rel == "duplicates_here/3c3407493-e0d9-43fe-a2a2-7c43395c90c5.jpg")
        .unwrap();
    assert_eq!(row(&d, a), row(&d, b));
}

#[test]
fn tuxpaint_dataset_is_discovered_with_captions_and_categories() {
    let root = fixture("tuxpaint");
    let d = Dataset::open(&DatasetOptions {
        root: root.clone(),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(d.images.len(), 207);
    assert!(d.skipped.is_empty(), "{:?}", d.skipped);
    assert_eq!(d.embeddings.as_ref().unwrap().dim(), 1280);
    let captions = d.metadata.column("caption").unwrap();
    let categories = d.metadata.column("category").unwrap();
    for (i, image) in d.images.iter().enumerate() {
        assert!(!captions[i].is_empty(), "{}", image.rel);
        assert_eq!(
            categories[i],
            image.rel.split('/').next().unwrap(),
            "{}",
            image.rel
        );
    }
}

#[test]
fn loose_images_are_found_anywhere_below_without_the_logo() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    crate::common::copy_dir(&fixture("butterflies/jpgs"), &root.join("photos/2021"));
    std::fs::copy(
        fixture("tuxpaint/images/symbols/shapes/circle.png"),
        root.join("logo.png"),
    )
    .or_else(|_| {
        let any = crate::common::snapshot(&fixture("tuxpaint/images/symbols"))
            .into_keys()
            .next()
            .unwrap();
        std::fs::copy(any, root.join("logo.png"))
    })
    .unwrap();
    std::fs::copy(
        fixture("butterflies/meta_data/good_meta.csv"),
        root.join("metadata.csv"),
    )
    .unwrap();
    let d = Dataset::open(&DatasetOptions {
        root: root.to_path_buf(),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(d.images.len(), 12);
    assert!(d.images.iter().all(|i| i.rel.starts_with("photos/2021/")));
    assert_eq!(
        d.paths.logo.as_deref(),
        Some(root.join("logo.png").as_path())
    );
    assert!(d.embeddings.is_none());
    // Metadata names bare file names; they match by unique suffix.
    let categories = d.metadata.column("category").unwrap();
    assert!(categories.iter().all(|c| !c.is_empty()), "{categories:?}");
    // good_meta.csv also names an image that is not there: reported, not fatal.
    assert!(
        d.notices.iter().any(|n| n.contains("b5b22412")),
        "{:?}",
        d.notices
    );
}

#[test]
fn metadata_as_spreadsheets_and_scripts_write_it_reads_the_same() {
    // Tux Paint's metadata with an accent, written four ways: UTF-8 CSV (the reference),
    // Excel's semicolons in Windows-1252, a tab-separated file with a BOM, JSON Lines.
    let root = fixture("tuxpaint");
    let original = std::fs::read_to_string(root.join("metadata.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(original.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let mut rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    let magpie_row = rows
        .iter()
        .position(|r| r[0] == "animals/birds/magpie.png")
        .unwrap();
    rows[magpie_row][3] = "A magpie, café-au-lait; \"pied\".".into();
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, delimiter: u8| {
        let mut w = csv::WriterBuilder::new()
            .delimiter(delimiter)
            .from_writer(Vec::new());
        w.write_record(&header).unwrap();
        for r in &rows {
            w.write_record(r).unwrap();
        }
        let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
        let path = dir.path().join(name);
        (path, text)
    };
    let (reference, text) = write("metadata.csv", b',');
    std::fs::write(&reference, &text).unwrap();
    let (excel, text) = write("excel.csv", b';');
    // Windows-1252 (Python's `str.encode("cp1252")` of the characters the file holds).
    let cp1252: Vec<u8> = (text.chars())
        .map(|c| match c {
            '…' => 0x85,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '–' => 0x96,
            '—' => 0x97,
            _ => u8::try_from(u32::from(c)).unwrap(),
        })
        .collect();
    assert!(cp1252.contains(&0xe9) && cp1252.contains(&0x92));
    std::fs::write(&excel, cp1252).unwrap();
    let (tsv, text) = write("metadata.tsv", b'\t');
    std::fs::write(&tsv, format!("\u{feff}{text}")).unwrap();
    let jsonl = dir.path().join("metadata.jsonl");
    let lines: Vec<String> = rows
        .iter()
        .map(|r| {
            let object: serde_json::Map<String, serde_json::Value> = (header.iter().cloned())
                .zip(r.iter().map(|v| serde_json::Value::String(v.clone())))
                .collect();
            serde_json::Value::Object(object).to_string()
        })
        .collect();
    std::fs::write(&jsonl, lines.join("\n")).unwrap();

    let open = |metadata: &std::path::Path| {
        Dataset::open(&DatasetOptions {
            root: root.clone(),
            metadata: Some(metadata.to_path_buf()),
            ..Default::default()
        })
        .unwrap()
    };
    let want = open(&reference);
    let magpie = want
        .images
        .iter()
        .position(|i| i.rel == "animals/birds/magpie.png")
        .unwrap();
    let description = want.metadata.column("description").unwrap();
    assert_eq!(description[magpie], "A magpie, café-au-lait; \"pied\".");
    for path in [&excel, &tsv, &jsonl] {
        let got = open(path);
        assert_eq!(
            got.metadata.columns,
            want.metadata.columns,
            "{}",
            path.display()
        );
        let same = got.metadata.cells == want.metadata.cells;
        assert!(same, "{}: the cells differ", path.display());
        let noted = got.notices.iter().any(|n| n.contains("Windows-1252"));
        assert_eq!(
            noted,
            path == &excel,
            "{}: {:?}",
            path.display(),
            got.notices
        );
    }
}

#[test]
fn metadata_from_a_workbook_reads_like_the_csv_with_dates_as_dates() {
    let root = fixture("tuxpaint");
    let open = |metadata: std::path::PathBuf| {
        Dataset::open(&DatasetOptions {
            root: root.clone(),
            metadata: Some(metadata),
            ..Default::default()
        })
        .unwrap()
    };
    let want = open(root.join("metadata.csv"));
    let got = open(fixture("tuxpaint-metadata.xlsx"));
    // The CSV's columns (and clip-retrieval's caption) alike, plus the workbook's own two;
    // the second sheet is not read.
    for (name, column) in want.metadata.columns.iter().zip(&want.metadata.cells) {
        assert_eq!(
            got.metadata.column(name).unwrap(),
            column.as_slice(),
            "{name}"
        );
    }
    assert_eq!(got.metadata.columns.len(), want.metadata.columns.len() + 2);
    assert!(got.metadata.column("not").is_none());
    // Row k of the sheet (CSV order) holds year 1960 + k % 40 and 1970+k%30-(1+k%12)-(1+k%28).
    let original = std::fs::read_to_string(root.join("metadata.csv")).unwrap();
    let order: Vec<&str> = original
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    let (year, acquired) = (
        got.metadata.column("year").unwrap(),
        got.metadata.column("acquired").unwrap(),
    );
    for (i, image) in got.images.iter().enumerate() {
        let k = order.iter().position(|f| *f == image.rel).unwrap();
        assert_eq!(year[i], (1960 + k % 40).to_string());
        let date = format!("{}-{:02}-{:02}", 1970 + k % 30, 1 + k % 12, 1 + k % 28);
        assert_eq!(acquired[i], date, "{}", image.rel);
    }
}
