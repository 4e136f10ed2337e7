//! Embeddings in a parquet column (clip-plot's `hidden_vectors`, embedding-reader's
//! `embedding`): every image joined to its own vector, the other columns as metadata, and
//! one clear message for tables that cannot be used.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use parquet::data_type::{ByteArray, ByteArrayType, FixedLenByteArrayType, FloatType};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

use crate::common::fixture;
use clip_plot::dataset::{Dataset, DatasetOptions};

/// Writes a table: a text column `name_column`, a `caption`, and vector column(s) `vectors`
/// (float16 when `half`); `None` rows are null lists.
fn write_table(
    path: &Path,
    name_column: &str,
    names: &[String],
    vectors: &[(&str, Vec<Option<Vec<f32>>>)],
    half: bool,
) {
    let element = if half {
        "optional fixed_len_byte_array(2) element (FLOAT16);"
    } else {
        "optional float element;"
    };
    let lists: String = vectors
        .iter()
        .map(|(c, _)| {
            format!("optional group {c} (LIST) {{ repeated group list {{ {element} }} }}")
        })
        .collect();
    let text = format!(
        "message schema {{ required binary {name_column} (UTF8); required binary caption (UTF8); {lists} }}"
    );
    let schema = Arc::new(parse_message_type(&text).unwrap());
    let mut writer =
        SerializedFileWriter::new(File::create(path).unwrap(), schema, Default::default()).unwrap();
    let mut group = writer.next_row_group().unwrap();
    for texts in [
        names.to_vec(),
        names
            .iter()
            .map(|n| format!("a picture of {n}"))
            .collect::<Vec<_>>(),
    ] {
        let mut col = group.next_column().unwrap().unwrap();
        let bytes: Vec<ByteArray> = texts.iter().map(|t| ByteArray::from(t.as_str())).collect();
        col.typed::<ByteArrayType>()
            .write_batch(&bytes, None, None)
            .unwrap();
        col.close().unwrap();
    }
    for (_, rows) in vectors {
        let (mut values, mut defs, mut reps) = (Vec::new(), Vec::new(), Vec::new());
        for row in rows {
            match row {
                Some(v) => {
                    for (k, x) in v.iter().enumerate() {
                        values.push(*x);
                        defs.push(3);
                        reps.push(i16::from(k > 0));
                    }
                }
                None => {
                    defs.push(0);
                    reps.push(0);
                }
            }
        }
        let mut col = group.next_column().unwrap().unwrap();
        if half {
            let bytes: Vec<_> = values
                .iter()
                .map(|x| {
                    let b = half::f16::from_f32(*x).to_le_bytes().to_vec();
                    parquet::data_type::FixedLenByteArray::from(b)
                })
                .collect();
            col.typed::<FixedLenByteArrayType>()
                .write_batch(&bytes, Some(&defs), Some(&reps))
                .unwrap();
        } else {
            col.typed::<FloatType>()
                .write_batch(&values, Some(&defs), Some(&reps))
                .unwrap();
        }
        col.close().unwrap();
    }
    group.close().unwrap();
    writer.close().unwrap();
}

/// The tuxpaint images with their clip-retrieval embeddings: the reference rows.
fn reference() -> (Vec<String>, Vec<Vec<f32>>) {
    let dataset = Dataset::open(&DatasetOptions {
        root: fixture("tuxpaint"),
        ..Default::default()
    })
    .unwrap();
    let emb = dataset.embeddings.as_ref().unwrap();
    let rows = (0..emb.len())
        .map(|i| {
            let mut v = vec![0.0; emb.dim()];
            emb.read_row(i, &mut v);
            v
        })
        .collect();
    (dataset.images.iter().map(|i| i.rel.clone()).collect(), rows)
}

fn open_with(table: &Path, column: Option<&str>) -> Result<Dataset, String> {
    Dataset::open(&DatasetOptions {
        root: fixture("tuxpaint"),
        embeddings: Some(table.to_path_buf()),
        embedding_column: column.map(str::to_string),
        ..Default::default()
    })
    .map_err(|e| e.to_string())
}

#[test]
fn every_image_joins_its_own_vector_from_a_parquet_column() {
    let dir = tempfile::tempdir().unwrap();
    let (names, rows) = reference();
    let n = names.len();
    // Reversed (rows of a table need not follow the folder), absolute paths as clip-plot's
    // Python writes them; the first image's vector null.
    let order: Vec<usize> = (0..n).rev().collect();
    let images = fixture("tuxpaint").join("images");
    let paths: Vec<String> = order
        .iter()
        .map(|&i| images.join(&names[i]).display().to_string())
        .collect();
    for half in [false, true] {
        let vectors: Vec<Option<Vec<f32>>> = order
            .iter()
            .map(|&i| (i != 0).then(|| rows[i].clone()))
            .collect();
        let table = dir.path().join(format!("hidden-{half}.parquet"));
        write_table(
            &table,
            "image_path",
            &paths,
            &[("hidden_vectors", vectors)],
            half,
        );
        let dataset = open_with(&table, None).unwrap();
        // The image without a vector is left out, named, and counted.
        assert_eq!(dataset.images.len(), n - 1);
        assert!(dataset.skipped.iter().any(|s| s.path == names[0]));
        assert!(
            dataset
                .notices
                .iter()
                .any(|m| m.contains("1 row(s)") && m.contains("no vector"))
        );
        let emb = dataset.embeddings.as_ref().unwrap();
        assert_eq!(emb.dim(), rows[0].len());
        let caption = dataset.metadata.column("caption").unwrap();
        let mut v = vec![0.0; emb.dim()];
        for (k, image) in dataset.images.iter().enumerate() {
            let i = names.iter().position(|r| *r == image.rel).unwrap();
            emb.read_row(k, &mut v);
            // clip-retrieval's vectors are float16: both encodings give them back exactly.
            assert_eq!(v, rows[i], "{}", image.rel);
            assert_eq!(
                caption[k],
                format!("a picture of {}", images.join(&image.rel).display())
            );
        }
    }
}

#[test]
fn embedding_reader_tables_by_key_and_a_named_column() {
    let dir = tempfile::tempdir().unwrap();
    let (names, rows) = reference();
    let keys: Vec<String> = names
        .iter()
        .map(|r| clip_plot::dataset::coords::key_of(r).to_string())
        .collect();
    let vectors: Vec<Option<Vec<f32>>> = rows.iter().cloned().map(Some).collect();
    let doubled: Vec<Option<Vec<f32>>> = rows
        .iter()
        .map(|r| Some(r.iter().map(|x| x * 2.0).collect()))
        .collect();
    let table = dir.path().join("two.parquet");
    write_table(
        &table,
        "key",
        &keys,
        &[("embedding", vectors), ("text_embedding", doubled)],
        false,
    );
    let err = open_with(&table, None).unwrap_err();
    assert!(
        err.contains("several columns holding vectors (embedding, text_embedding)")
            && err.contains("--embedding-column"),
        "{err}"
    );
    let err = open_with(&table, Some("clip")).unwrap_err();
    assert!(err.contains("no list-of-floats column `clip`"), "{err}");
    let dataset = open_with(&table, Some("text_embedding")).unwrap();
    let emb = dataset.embeddings.as_ref().unwrap();
    let mut v = vec![0.0; emb.dim()];
    for (k, image) in dataset.images.iter().enumerate() {
        let i = names.iter().position(|r| *r == image.rel).unwrap();
        emb.read_row(k, &mut v);
        assert_eq!(v, rows[i].iter().map(|x| x * 2.0).collect::<Vec<_>>());
    }
}

#[test]
fn unusable_vector_tables_stop_with_one_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let (names, rows) = reference();
    // Mixed lengths: row 3 is one value short.
    let mixed: Vec<Option<Vec<f32>>> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| Some(if i == 2 { r[1..].to_vec() } else { r.clone() }))
        .collect();
    let table = dir.path().join("mixed.parquet");
    write_table(&table, "image_path", &names, &[("embedding", mixed)], false);
    let err = open_with(&table, None).unwrap_err();
    assert!(
        err.contains("mixed.parquet") && err.contains("different lengths: row 3"),
        "{err}"
    );
    // No column naming the images.
    let table = dir.path().join("nameless.parquet");
    let vectors = rows.iter().cloned().map(Some).collect();
    write_table(&table, "id", &names, &[("embedding", vectors)], false);
    let err = open_with(&table, None).unwrap_err();
    assert!(err.contains("no column naming each row's image"), "{err}");
    // A parquet file without vectors.
    let table = dir.path().join("plain.parquet");
    write_table(&table, "image_path", &names, &[], false);
    let err = open_with(&table, None).unwrap_err();
    assert!(err.contains("has no column holding vectors"), "{err}");
}
