//! img2dataset's `files` output: `KEY.txt` captions and `KEY.json` records beside each
//! image, and `NNNNN.parquet` shard tables with the failed downloads, read as metadata.

use std::path::Path;

use crate::common::{fixture, walk, write_text_table};
use clip_plot::dataset::{Dataset, DatasetOptions};

/// The first `n` tuxpaint images, as `files` output lays them out: shard `00000` with a
/// shard table (and 3 failed rows), shard `00001` with JSON sidecars only (one broken).
fn make_files_output(root: &Path, n: usize) -> Vec<String> {
    let mut sources: Vec<_> = walk(&fixture("tuxpaint").join("images"));
    sources.sort();
    let mut keys = Vec::new();
    for (i, src) in sources.iter().take(n).enumerate() {
        let shard = i / (n / 2);
        let key = format!("{shard:05}{:04}", i % (n / 2));
        let dir = root.join(format!("{shard:05}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(src, dir.join(format!("{key}.png"))).unwrap();
        std::fs::write(
            dir.join(format!("{key}.txt")),
            format!("caption of {key}\n"),
        )
        .unwrap();
        let json = if shard == 1 && i % (n / 2) == 1 {
            "{ not json".to_string()
        } else {
            format!(
                r#"{{"url": "https://example.org/{key}.png", "key": "{key}", "status": "success", "error_message": null, "width": {}, "exif": "{{}}", "extra": {{"licence": "cc-by"}}}}"#,
                100 + i
            )
        };
        std::fs::write(dir.join(format!("{key}.json")), json).unwrap();
        keys.push(key);
    }
    std::fs::write(root.join("00000_stats.json"), r#"{"count": 10}"#).unwrap();
    let half = n / 2;
    let mut key_col: Vec<String> = keys[..half].to_vec();
    let mut status = vec!["success".to_string(); half];
    let mut url: Vec<String> = keys[..half]
        .iter()
        .map(|k| format!("https://shard.example.org/{k}.png"))
        .collect();
    for (j, why) in [
        "failed_to_download",
        "failed_to_download",
        "failed_to_resize",
    ]
    .iter()
    .enumerate()
    {
        key_col.push(format!("0000{:04}", 9000 + j));
        status.push(why.to_string());
        url.push(format!("https://gone.example.org/{j}.png"));
    }
    write_text_table(
        &root.join("00000.parquet"),
        &[("key", key_col), ("status", status), ("url", url)],
    );
    keys
}

#[test]
fn captions_records_and_shard_tables_become_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let keys = make_files_output(dir.path(), 20);
    let open = |no_sidecars| {
        Dataset::open(&DatasetOptions {
            root: dir.path().to_path_buf(),
            no_sidecars,
            ..Default::default()
        })
        .unwrap()
    };
    let dataset = open(false);
    assert_eq!(
        dataset.images.len(),
        20,
        "stats JSON and tables are not images"
    );
    let column = |name: &str| {
        dataset
            .metadata
            .column(name)
            .unwrap_or_else(|| panic!("{name}: {:?}", dataset.metadata.columns))
    };
    let (caption, url, width) = (column("caption"), column("url"), column("width"));
    let licence = column("extra.licence");
    for (i, image) in dataset.images.iter().enumerate() {
        let key = clip_plot::dataset::coords::key_of(&image.rel);
        assert_eq!(keys[i], key);
        assert_eq!(caption[i], format!("caption of {key}"));
        if i < 10 {
            // The shard table describes shard 0: its URL, and its JSON files are not read.
            assert_eq!(url[i], format!("https://shard.example.org/{key}.png"));
            assert_eq!(width[i], "");
        } else if i == 11 {
            assert_eq!(url[i], "", "the broken JSON gives nothing");
        } else {
            assert_eq!(url[i], format!("https://example.org/{key}.png"));
            assert_eq!(width[i], (100 + i).to_string());
            assert_eq!(licence[i], "cc-by");
        }
    }
    for dropped in ["status", "error_message", "exif"] {
        assert!(dataset.metadata.column(dropped).is_none(), "{dropped}");
    }
    let notes = dataset.notices.join("\n");
    assert!(
        notes.contains("3 sample(s) in img2dataset's shard tables have no image (failed_to_download: 2, failed_to_resize: 1)"),
        "{notes}"
    );
    assert!(
        notes.contains("1 sidecar JSON file(s)") && notes.contains("000010001.json"),
        "{notes}"
    );

    let plain = open(true);
    assert!(
        plain.metadata.columns.is_empty(),
        "{:?}",
        plain.metadata.columns
    );
}
