//! Preparation on many machines: tuxpaint thumbnailed as 3 shards into 3 caches, merged
//! without decoding again, gives the cache one run gives; incomplete or foreign sets of
//! shards stop with one message.

use std::path::{Path, PathBuf};

use crate::common::{fixture, shared_tuxpaint_cache, snapshot};
use clip_plot::dataset::DatasetOptions;
use clip_plot::prepare::shard::Shard;
use clip_plot::prepare::{NoProgress, PrepareOptions, prepare};

fn options(cache: &Path) -> PrepareOptions {
    PrepareOptions::new(DatasetOptions {
        root: fixture("tuxpaint"),
        cache: Some(cache.to_path_buf()),
        logo: Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/logo.png")),
        ..Default::default()
    })
}

/// Every file under `dir` that is not the thumbnail store or per-run bookkeeping, by path.
fn outputs(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<(PathBuf, Vec<u8>)> = crate::common::walk(dir)
        .into_iter()
        .map(|p| p.strip_prefix(dir).unwrap().to_path_buf())
        .filter(|p| {
            let s = p.to_string_lossy();
            // The store's chunk numbering, the fingerprints naming chunks, the run's
            // settings (its own cache path) and timings differ by construction; the
            // thumbnail index is compared record by record below.
            !s.starts_with("thumbs/chunks")
                && !s.ends_with("manifest.json")
                && !s.ends_with("settings.json")
                && !s.ends_with("index.bin")
        })
        .map(|p| {
            let bytes = std::fs::read(dir.join(&p)).unwrap();
            (p, bytes)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn three_shards_merged_equal_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let images = fixture("tuxpaint").join("images");
    let before = snapshot(&images);
    let mut thumbnailed = 0;
    let mut caches = Vec::new();
    for index in 1..=3 {
        let cache = dir.path().join(format!("shard{index}"));
        let mut opts = options(&cache);
        opts.shard = Some(Shard { index, count: 3 });
        let report = prepare(&opts, &NoProgress).unwrap();
        assert_eq!(report.shard, Some(Shard { index, count: 3 }));
        assert!((60..=78).contains(&report.images), "{}", report.images);
        assert_eq!(
            report.thumbnailed, report.images,
            "a fresh shard decodes its slice"
        );
        thumbnailed += report.thumbnailed;
        caches.push(cache);
    }
    assert_eq!(thumbnailed, 207, "the slices cover every image once");

    // Two of three: refused, naming the missing one.
    let merged = dir.path().join("merged");
    let mut opts = options(&merged);
    opts.merge = caches[..2].to_vec();
    let err = prepare(&opts, &NoProgress).unwrap_err().to_string();
    assert!(err.contains("shard(s) 3/3 are missing"), "{err}");
    opts.merge = vec![caches[0].clone(), caches[0].clone(), caches[1].clone()];
    let err = prepare(&opts, &NoProgress).unwrap_err().to_string();
    assert!(err.contains("1/3 are given more than once"), "{err}");
    opts.merge = vec![caches[0].clone(), fixture("tuxpaint")];
    let err = prepare(&opts, &NoProgress).unwrap_err().to_string();
    assert!(err.contains("is not a shard cache"), "{err}");

    let shard_files = snapshot(dir.path());
    opts.merge = caches.clone();
    let report = prepare(&opts, &NoProgress).unwrap();
    assert_eq!(report.images, 207);
    assert_eq!(report.thumbnailed, 0, "merging decodes nothing");
    let after_merge: Vec<_> = snapshot(dir.path())
        .into_iter()
        .filter(|(p, _)| !p.starts_with(&merged))
        .collect();
    assert_eq!(
        after_merge,
        shard_files
            .into_iter()
            .filter(|(p, _)| !p.starts_with(&merged))
            .collect::<Vec<_>>(),
        "the shard caches are only read"
    );
    // Merging again adds nothing and changes nothing.
    let report = prepare(&opts, &NoProgress).unwrap();
    assert_eq!(report.thumbnailed, 0);

    let one = outputs(shared_tuxpaint_cache());
    let joined = outputs(&merged);
    let names = |v: &[(PathBuf, Vec<u8>)]| v.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(&joined), names(&one));
    for ((path, a), (_, b)) in joined.iter().zip(&one) {
        assert!(
            a == b,
            "{} differs between the merge and one run",
            path.display()
        );
    }
    // The thumbnail index: every record equal but where the store put the large level
    // (chunk numbering differs by construction), and those bytes equal too.
    let (one, joined) = (
        clip_plot::cache::PreparedDataset::open(shared_tuxpaint_cache()).unwrap(),
        clip_plot::cache::PreparedDataset::open(&merged).unwrap(),
    );
    let placed = |r: &clip_plot::cache::ThumbRecord| clip_plot::cache::ThumbRecord {
        chunk: 0,
        large_offset: 0,
        ..*r
    };
    assert_eq!(one.thumb_records().len(), 207);
    for (i, (a, b)) in one
        .thumb_records()
        .iter()
        .zip(joined.thumb_records())
        .enumerate()
    {
        assert_eq!(placed(a), placed(b), "index record {i}");
        assert_eq!(
            one.large_thumb_bytes(i).unwrap(),
            joined.large_thumb_bytes(i).unwrap(),
            "large thumbnail {i}"
        );
    }
    assert_eq!(snapshot(&images), before, "the images are only read");
}
