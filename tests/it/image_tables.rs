//! img2dataset's `parquet` output read in place: `{shard}.parquet` tables whose `png` column
//! holds each sample's image bytes, several row groups each, failed downloads as rows with
//! no bytes. Every key joins its own embedding (clip-retrieval's keys as `image_path`), the
//! table's other columns become metadata, failed rows stay off the map, the cache reads an
//! image back by its row, export names it `SHARD.parquet/KEY.png`, and a table that is not
//! parquet is named, never fatal.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parquet::data_type::{ByteArray, ByteArrayType};
use parquet::file::writer::SerializedFileWriter;

use crate::common::write_text_table;
use crate::webdataset::{tuxpaint, write_f16_npy};
use clip_plot::dataset::{Dataset, DatasetOptions, Member};

/// Samples per table, tables, and rows per row group (img2dataset writes 100 a group).
const PER_TABLE: usize = 11;
const TABLES: usize = 2;
const GROUP_ROWS: usize = 4;

struct Sample {
    key: String,
    source: PathBuf,
    vector: Vec<f32>,
}

/// One row of a table: key, status, and the image bytes (none for a failed download).
type Row = (String, &'static str, Option<Vec<u8>>);

/// Writes `rows` as img2dataset's parquet writer does: text columns and an optional binary
/// `png` column, `GROUP_ROWS` rows to a row group.
fn write_image_table(path: &Path, rows: &[Row]) {
    let schema = Arc::new(
        parquet::schema::parser::parse_message_type(
            "message schema { required binary key (UTF8); required binary status (UTF8); \
             required binary url (UTF8); required binary caption (UTF8); optional binary png; }",
        )
        .unwrap(),
    );
    let file = std::fs::File::create(path).unwrap();
    let mut writer = SerializedFileWriter::new(file, schema, Default::default()).unwrap();
    for group in rows.chunks(GROUP_ROWS) {
        let mut g = writer.next_row_group().unwrap();
        let text: [Vec<String>; 4] = [
            group.iter().map(|r| r.0.clone()).collect(),
            group.iter().map(|r| r.1.to_string()).collect(),
            group
                .iter()
                .map(|r| format!("https://table.example.org/{}.png", r.0))
                .collect(),
            group
                .iter()
                .map(|r| format!("caption of {}", r.0))
                .collect(),
        ];
        for column in text {
            let mut c = g.next_column().unwrap().unwrap();
            let values: Vec<ByteArray> =
                column.iter().map(|t| ByteArray::from(t.as_str())).collect();
            c.typed::<ByteArrayType>()
                .write_batch(&values, None, None)
                .unwrap();
            c.close().unwrap();
        }
        let mut c = g.next_column().unwrap().unwrap();
        let values: Vec<ByteArray> = (group.iter().filter_map(|r| r.2.clone()))
            .map(ByteArray::from)
            .collect();
        let levels: Vec<i16> = group.iter().map(|r| i16::from(r.2.is_some())).collect();
        c.typed::<ByteArrayType>()
            .write_batch(&values, Some(&levels), None)
            .unwrap();
        c.close().unwrap();
        g.close().unwrap();
    }
    writer.close().unwrap();
}

/// `root/shards/0000S.parquet` (a failed download among the rows of each) and
/// `root/embeddings/` with keys as `image_path`, the tables' rows interleaved.
fn make_parquet_output(root: &Path) -> Vec<Sample> {
    let images = tuxpaint();
    let shards = root.join("shards");
    std::fs::create_dir_all(&shards).unwrap();
    let mut samples = Vec::new();
    for s in 0..TABLES {
        let mut rows: Vec<Row> = Vec::new();
        for k in 0..PER_TABLE {
            let (source, vector) = &images[s * PER_TABLE + k];
            let key = format!("{s:05}{k:04}");
            if k == 5 {
                rows.push((format!("{s:05}9000"), "failed_to_download", None));
            }
            rows.push((key.clone(), "success", Some(std::fs::read(source).unwrap())));
            samples.push(Sample {
                key,
                source: source.clone(),
                vector: vector.clone(),
            });
        }
        write_image_table(&shards.join(format!("{s:05}.parquet")), &rows);
        std::fs::write(shards.join(format!("{s:05}_stats.json")), "{}").unwrap();
    }
    let emb = root.join("embeddings");
    for dir in ["img_emb", "metadata"] {
        std::fs::create_dir_all(emb.join(dir)).unwrap();
    }
    let order: Vec<usize> = (0..PER_TABLE)
        .flat_map(|k| (0..TABLES).map(move |s| s * PER_TABLE + k))
        .rev()
        .collect();
    let vectors: Vec<Vec<f32>> = order.iter().map(|&i| samples[i].vector.clone()).collect();
    let keys: Vec<String> = order.iter().map(|&i| samples[i].key.clone()).collect();
    write_f16_npy(&emb.join("img_emb/img_emb_0.npy"), &vectors);
    write_text_table(
        &emb.join("metadata/metadata_0.parquet"),
        &[("image_path", keys)],
    );
    samples
}

#[test]
fn table_rows_join_their_embeddings_and_metadata_and_read_back_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let samples = make_parquet_output(dir.path());
    let by_key: BTreeMap<&str, &Sample> = samples.iter().map(|s| (s.key.as_str(), s)).collect();
    let dataset = Dataset::open(&DatasetOptions {
        root: dir.path().to_path_buf(),
        ..Default::default()
    })
    .unwrap();
    assert!(dataset.skipped.is_empty(), "{:?}", dataset.skipped);
    assert_eq!(dataset.images.len(), TABLES * PER_TABLE);
    let emb = dataset.embeddings.as_ref().unwrap();
    let caption = dataset.metadata.column("caption").unwrap();
    let url = dataset.metadata.column("url").unwrap();
    assert!(
        dataset.metadata.column("png").is_none(),
        "no image bytes as metadata"
    );
    assert!(dataset.metadata.column("status").is_none());
    let mut v = vec![0.0; emb.dim()];
    let mut groups = std::collections::BTreeSet::new();
    for (i, image) in dataset.images.iter().enumerate() {
        let key = clip_plot::dataset::coords::key_of(&image.rel);
        let sample = by_key[key];
        assert_eq!(image.rel, format!("shards/{}.parquet/{key}.png", &key[..5]));
        emb.read_row(i, &mut v);
        assert_eq!(v, sample.vector, "{key} joined another sample's embedding");
        assert_eq!(caption[i], format!("caption of {key}"));
        assert_eq!(url[i], format!("https://table.example.org/{key}.png"));
        let Some(Member::Row { group, .. }) = image.member else {
            panic!("{} is not a table row: {:?}", image.rel, image.member);
        };
        groups.insert(group);
        assert_eq!(
            image.source().read().unwrap(),
            std::fs::read(&sample.source).unwrap()
        );
    }
    assert_eq!(
        groups.len(),
        (PER_TABLE + 1).div_ceil(GROUP_ROWS),
        "rows of every group"
    );
    let notes = dataset.notices.join("\n");
    assert!(
        notes.contains(
            "2 sample(s) in img2dataset's shard tables have no image (failed_to_download: 2)"
        ),
        "{notes}"
    );

    // Prepared: thumbnails from the rows, the cache reads each image back by its row, and
    // export names it SHARD.parquet/KEY.png with its key.
    let cache = dir.path().join("cache");
    let before = crate::common::snapshot(&dir.path().join("shards"));
    let mut opts = clip_plot::prepare::PrepareOptions::new(DatasetOptions {
        root: dir.path().to_path_buf(),
        cache: Some(cache.clone()),
        ..Default::default()
    });
    opts.no_umap = true;
    let report = clip_plot::prepare::prepare(&opts, &clip_plot::prepare::NoProgress).unwrap();
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    assert_eq!(crate::common::snapshot(&dir.path().join("shards")), before);
    crate::common::assert_shard_members_read_back_and_export(
        dir.path(),
        &cache,
        "parquet",
        |key| by_key[key].source.clone(),
        samples.len(),
    );

    // `--images` naming one table: only its rows; a table that is not parquet is named.
    std::fs::write(
        dir.path().join("shards/00007.parquet"),
        "PAR1 but nothing else",
    )
    .unwrap();
    let one = Dataset::open(&DatasetOptions {
        root: dir.path().to_path_buf(),
        images: Some(dir.path().join("shards/00001.parquet")),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(one.images.len(), PER_TABLE);
    assert!(
        one.images
            .iter()
            .all(|i| i.rel.starts_with("00001.parquet/000010"))
    );
    let all = Dataset::open(&DatasetOptions {
        root: dir.path().to_path_buf(),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(all.images.len(), TABLES * PER_TABLE);
    let named: Vec<_> = all
        .skipped
        .iter()
        .map(|s| (s.path.as_str(), s.reason.as_str()))
        .collect();
    assert!(
        named
            .iter()
            .any(|(p, why)| *p == "shards/00007.parquet" && why.contains("parquet")),
        "{named:?}"
    );
}
