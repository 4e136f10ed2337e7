//! img2dataset's webdataset output read in place: tars of `KEY.png`/`.txt`/`.json` with a
//! shard table beside each (failed rows included) and clip-retrieval's webdataset-mode
//! embeddings (`image_path` = the key, rows of the tars interleaved). Every key joins its own
//! embedding, captions and table fields arrive, failed rows stay off the map, members read
//! back by offset from the cache, and bad tars are named, never fatal.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::common::{fixture, write_text_table};
use clip_plot::dataset::{Dataset, DatasetOptions};

/// Images per tar, and tars.
const PER_TAR: usize = 12;
const TARS: usize = 3;

/// One sample as the test wrote it.
struct Sample {
    key: String,
    /// The tuxpaint image it was made from.
    source: PathBuf,
    vector: Vec<f32>,
}

/// Appends a member to a tar being built.
fn append(builder: &mut tar::Builder<std::fs::File>, name: &str, bytes: &[u8]) {
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(1_700_000_000);
    header.set_cksum();
    builder.append_data(&mut header, name, bytes).unwrap();
}

/// A float16 `.npy` (clip-retrieval's dtype), written by hand as numpy does.
pub(crate) fn write_f16_npy(path: &Path, rows: &[Vec<f32>]) {
    let dim = rows[0].len();
    let mut header = format!(
        "{{'descr': '<f2', 'fortran_order': False, 'shape': ({}, {dim}), }}",
        rows.len()
    );
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for v in rows.iter().flatten() {
        bytes.extend_from_slice(&half::f16::from_f32(*v).to_le_bytes());
    }
    std::fs::write(path, bytes).unwrap();
}

/// The tuxpaint images with their real clip-retrieval vectors.
pub(crate) fn tuxpaint() -> Vec<(PathBuf, Vec<f32>)> {
    let dataset = Dataset::open(&DatasetOptions {
        root: fixture("tuxpaint"),
        ..Default::default()
    })
    .unwrap();
    let emb = dataset.embeddings.as_ref().unwrap();
    (dataset.images.iter().enumerate())
        .map(|(i, image)| {
            let mut v = vec![0.0; emb.dim()];
            emb.read_row(i, &mut v);
            (image.abs.clone(), v)
        })
        .collect()
}

/// `root/shards/0000S.tar` with `PER_TAR` samples each (caption and JSON record), a shard
/// table beside each with two failed downloads, and `root/embeddings/` as clip-retrieval's
/// webdataset mode writes it: keys as `image_path`, the tars' rows interleaved, in two
/// shards, plus a row whose key no tar has.
fn make_webdataset(root: &Path) -> Vec<Sample> {
    let images = tuxpaint();
    let shards = root.join("shards");
    std::fs::create_dir_all(&shards).unwrap();
    let mut samples = Vec::new();
    for s in 0..TARS {
        let file = std::fs::File::create(shards.join(format!("{s:05}.tar"))).unwrap();
        let mut tar = tar::Builder::new(file);
        let (mut keys, mut status, mut url) = (Vec::new(), Vec::new(), Vec::new());
        for k in 0..PER_TAR {
            let (source, vector) = &images[s * PER_TAR + k];
            let key = format!("{s:05}{k:04}");
            append(
                &mut tar,
                &format!("{key}.png"),
                &std::fs::read(source).unwrap(),
            );
            append(
                &mut tar,
                &format!("{key}.txt"),
                format!("caption of {key}").as_bytes(),
            );
            let json = format!(
                r#"{{"key": "{key}", "url": "https://json.example.org/{key}.png", "status": "success", "width": {k}, "exif": "{{}}"}}"#
            );
            append(&mut tar, &format!("{key}.json"), json.as_bytes());
            keys.push(key.clone());
            status.push("success".to_string());
            url.push(format!("https://table.example.org/{key}.png"));
            samples.push(Sample {
                key,
                source: source.clone(),
                vector: vector.clone(),
            });
        }
        for (j, why) in ["failed_to_download", "failed_to_resize"]
            .iter()
            .enumerate()
        {
            keys.push(format!("{s:05}{:04}", 9000 + j));
            status.push(why.to_string());
            url.push(format!("https://gone.example.org/{s}/{j}.png"));
        }
        tar.finish().unwrap();
        write_text_table(
            &shards.join(format!("{s:05}.parquet")),
            &[("key", keys), ("status", status), ("url", url)],
        );
        std::fs::write(shards.join(format!("{s:05}_stats.json")), "{}").unwrap();
    }
    // DataLoader workers interleave the tars: sample k of every tar, then k + 1, …, and
    // the two output shards split that stream in halves.
    let mut order: Vec<usize> = (0..PER_TAR)
        .flat_map(|k| (0..TARS).map(move |s| s * PER_TAR + k))
        .collect();
    order.reverse();
    let emb = root.join("embeddings");
    for dir in ["img_emb", "metadata"] {
        std::fs::create_dir_all(emb.join(dir)).unwrap();
    }
    let half = order.len() / 2;
    for (part, rows) in [&order[..half], &order[half..]].iter().enumerate() {
        let mut vectors: Vec<Vec<f32>> = rows.iter().map(|&i| samples[i].vector.clone()).collect();
        let mut keys: Vec<String> = rows.iter().map(|&i| samples[i].key.clone()).collect();
        if part == 1 {
            vectors.push(samples[0].vector.clone());
            keys.push("999999999".into()); // a key no tar has
        }
        let captions = keys.iter().map(|k| format!("caption of {k}")).collect();
        write_f16_npy(&emb.join(format!("img_emb/img_emb_{part}.npy")), &vectors);
        write_text_table(
            &emb.join(format!("metadata/metadata_{part}.parquet")),
            &[("image_path", keys), ("caption", captions)],
        );
    }
    samples
}

fn open(root: &Path, images: Option<PathBuf>) -> Dataset {
    Dataset::open(&DatasetOptions {
        root: root.to_path_buf(),
        images,
        ..Default::default()
    })
    .unwrap()
}

#[test]
fn tar_members_join_their_embeddings_captions_and_tables() {
    let dir = tempfile::tempdir().unwrap();
    let samples = make_webdataset(dir.path());
    let by_key: BTreeMap<&str, &Sample> = samples.iter().map(|s| (s.key.as_str(), s)).collect();
    let dataset = open(dir.path(), None);
    assert_eq!(
        dataset.images.len(),
        TARS * PER_TAR,
        "{:?}",
        dataset.skipped
    );
    assert!(dataset.skipped.is_empty(), "{:?}", dataset.skipped);
    let emb = dataset.embeddings.as_ref().unwrap();
    let column = |name: &str| {
        (dataset.metadata.column(name))
            .unwrap_or_else(|| panic!("{name}: {:?}", dataset.metadata.columns))
    };
    let (caption, url) = (column("caption"), column("url"));
    assert!(
        dataset.metadata.column("width").is_none(),
        "no JSON record is read"
    );
    let mut v = vec![0.0; emb.dim()];
    for (i, image) in dataset.images.iter().enumerate() {
        let key = clip_plot::dataset::coords::key_of(&image.rel);
        let sample = by_key[key];
        assert_eq!(image.rel, format!("shards/{}.tar/{key}.png", &key[..5]));
        emb.read_row(i, &mut v);
        assert_eq!(v, sample.vector, "{key} joined another sample's embedding");
        assert_eq!(caption[i], format!("caption of {key}"));
        // The shard table describes every sample: its URL wins, the JSON is not read.
        assert_eq!(url[i], format!("https://table.example.org/{key}.png"));
        let bytes = image.source().read().unwrap();
        assert_eq!(bytes, std::fs::read(&sample.source).unwrap(), "{key}");
    }
    let notes = dataset.notices.join("\n");
    assert!(
        notes.contains("6 sample(s) in img2dataset's shard tables have no image (failed_to_download: 3, failed_to_resize: 3)"),
        "{notes}"
    );
    assert!(
        notes.contains("999999999"),
        "the unknown key is reported: {notes}"
    );
    assert!(dataset.metadata.column("status").is_none());

    // `--images` naming one tar: only its members, still joined by key, and the shard
    // table beside it read.
    let one = open(dir.path(), Some(dir.path().join("shards/00001.tar")));
    assert_eq!(one.images.len(), PER_TAR);
    assert!(
        one.images
            .iter()
            .all(|i| i.rel.starts_with("00001.tar/000010"))
    );
    let notes = one.notices.join("\n");
    assert!(
        notes.contains("2 sample(s) in img2dataset's shard tables have no image"),
        "{notes}"
    );
    let emb = one.embeddings.as_ref().unwrap();
    let url = one.metadata.column("url").unwrap();
    for (i, image) in one.images.iter().enumerate() {
        let key = clip_plot::dataset::coords::key_of(&image.rel);
        assert_eq!(url[i], format!("https://table.example.org/{key}.png"));
        emb.read_row(i, &mut v);
        assert_eq!(
            v,
            by_key[clip_plot::dataset::coords::key_of(&image.rel)].vector
        );
    }

    // Without the shard tables the JSON records are read, from inside the tars.
    for s in 0..TARS {
        std::fs::remove_file(dir.path().join(format!("shards/{s:05}.parquet"))).unwrap();
    }
    let dataset = open(dir.path(), None);
    let url = dataset.metadata.column("url").unwrap();
    let width = dataset.metadata.column("width").unwrap();
    for (i, image) in dataset.images.iter().enumerate() {
        let key = clip_plot::dataset::coords::key_of(&image.rel);
        assert_eq!(url[i], format!("https://json.example.org/{key}.png"));
        assert_eq!(width[i], key[5..].parse::<u32>().unwrap().to_string());
    }
}

#[test]
fn a_prepared_webdataset_reads_members_by_offset_and_exports_keys() {
    let dir = tempfile::tempdir().unwrap();
    let samples = make_webdataset(dir.path());
    let cache = dir.path().join("cache");
    let before = crate::common::snapshot(&dir.path().join("shards"));
    let mut opts = clip_plot::prepare::PrepareOptions::new(DatasetOptions {
        root: dir.path().to_path_buf(),
        cache: Some(cache.clone()),
        ..Default::default()
    });
    opts.no_umap = true;
    clip_plot::prepare::prepare(&opts, &clip_plot::prepare::NoProgress).unwrap();
    assert_eq!(crate::common::snapshot(&dir.path().join("shards")), before);

    crate::common::assert_shard_members_read_back_and_export(
        dir.path(),
        &cache,
        "tar",
        |key| {
            samples
                .iter()
                .find(|s| s.key == key)
                .unwrap()
                .source
                .clone()
        },
        samples.len(),
    );
}

#[test]
fn damaged_tars_and_shared_keys_are_named_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    make_webdataset(dir.path());
    let shards = dir.path().join("shards");
    // A truncated tar: shard 0 cut inside its 5th image.
    let whole = std::fs::read(shards.join("00000.tar")).unwrap();
    let cut = {
        let mut archive = tar::Archive::new(std::io::Cursor::new(&whole));
        let fifth = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.path().unwrap().to_string_lossy().ends_with(".png"))
            .nth(4)
            .unwrap()
            .raw_file_position();
        fifth as usize + 100
    };
    std::fs::write(shards.join("00000.tar"), &whole[..cut]).unwrap();
    std::fs::write(
        shards.join("notes.tar"),
        "not a tar, just text\n".repeat(50),
    )
    .unwrap();
    // Shard 1's first sample again in another tar.
    let file = std::fs::File::create(shards.join("extra.tar")).unwrap();
    let mut extra = tar::Builder::new(file);
    let png = std::fs::read(fixture("tuxpaint/images/animals/birds/quetzal.png")).unwrap();
    append(&mut extra, "000010000.png", &png);
    extra.finish().unwrap();

    let dataset = open(dir.path(), None);
    let skipped: BTreeMap<&str, &str> = (dataset.skipped.iter())
        .map(|s| (s.path.as_str(), s.reason.as_str()))
        .collect();
    assert!(
        skipped["shards/00000.tar/000000004.png"].contains("truncated"),
        "{skipped:?}"
    );
    assert!(
        skipped["shards/notes.tar"].contains("not a tar"),
        "{skipped:?}"
    );
    // The four members before the cut are there, with their embeddings.
    let rels: Vec<&str> = dataset.images.iter().map(|i| i.rel.as_str()).collect();
    for k in 0..4 {
        assert!(rels.contains(&format!("shards/00000.tar/00000{k:04}.png").as_str()));
    }
    assert!(!rels.iter().any(|r| r.contains("000000004")));
    // The shared key: neither image gets a row that names only the key.
    let notes = dataset.notices.join("\n");
    assert!(
        notes.contains("1 key(s) are in more than one tar (e.g. 000010000 in shards/00001.tar and shards/extra.tar)"),
        "{notes}"
    );
    for rel in [
        "shards/00001.tar/000010000.png",
        "shards/extra.tar/000010000.png",
    ] {
        assert_eq!(skipped[rel], "no embedding for this image", "{rel}");
    }
    assert_eq!(dataset.images.len(), 4 + 2 * PER_TAR - 1);
}
