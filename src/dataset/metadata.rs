//! Metadata tables aligned with the image list.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::embeddings::{RowRef, numbered_files};
use super::{
    Assigner, DatasetError, DatasetPaths, KNOWN_COLUMNS, PathIndex, Resolution, Table,
    resolution_bases,
};

/// Aligns a metadata table with the listing through its `filename` column; `shown` marks
/// the images that will be on the map (only those count as missing a row).
pub(crate) fn join_metadata(
    table: &Table,
    path: &Path,
    index: &PathIndex,
    paths: &DatasetPaths,
    shown: &[bool],
    notices: &mut Vec<String>,
) -> Result<Table, DatasetError> {
    let key = table
        .column_index("filename")
        .ok_or_else(|| DatasetError::NoFilename {
            path: path.to_path_buf(),
            columns: table.columns.join(", "),
        })?;
    let meta_dir = path.parent().unwrap_or(Path::new("."));
    let mut assigner = Assigner::new(
        index,
        vec![
            paths.images.clone(),
            paths.root.clone(),
            meta_dir.to_path_buf(),
        ],
    );
    for (row, raw) in table.cells[key].iter().enumerate() {
        assigner.assign(
            raw,
            RowRef {
                source: 0,
                row: row as u32,
            },
        );
    }
    let matched = assigner.finish(path, notices);
    let without = matched
        .iter()
        .zip(shown)
        .filter(|(m, s)| m.is_none() && **s)
        .count();
    if without > 0 {
        notices.push(format!(
            "{without} image(s) have no row in {}; their metadata is empty",
            path.display()
        ));
    }
    let mut out = Table::default();
    for (c, name) in table.columns.iter().enumerate() {
        if c == key {
            continue;
        }
        let canonical = KNOWN_COLUMNS
            .iter()
            .find(|k| k.eq_ignore_ascii_case(name.trim()))
            .map_or_else(|| name.clone(), |k| k.to_string());
        out.columns.push(canonical);
        out.cells.push(
            matched
                .iter()
                .map(|m| m.map_or_else(String::new, |r| table.cells[c][r.row as usize].clone()))
                .collect(),
        );
    }
    Ok(out)
}

/// Adds the columns of an embeddings table (all but the vectors) as metadata, image `i`
/// taking row `rows[i]`, unless the user's metadata file already has a column of that name.
pub(crate) fn merge_table_columns(
    table: &Table,
    rows: &[Option<u32>],
    path: &Path,
    metadata: &mut Table,
    notices: &mut Vec<String>,
) {
    let mut added = Vec::new();
    for (name, cells) in table.columns.iter().zip(&table.cells) {
        if metadata.column_index(name).is_some() {
            continue;
        }
        let column = rows
            .iter()
            .map(|r| r.map_or_else(String::new, |r| cells[r as usize].clone()))
            .collect();
        metadata.columns.push(name.clone());
        metadata.cells.push(column);
        added.push(name.as_str());
    }
    if !added.is_empty() {
        notices.push(format!(
            "metadata from {}: {}",
            path.display(),
            added.join(", ")
        ));
    }
}

/// Adds clip-retrieval's other parquet columns (caption, url, …) as metadata, unless the
/// user's metadata file already has a column of that name.
pub(crate) fn merge_parquet_columns(
    dir: &Path,
    paths: &DatasetPaths,
    index: &PathIndex,
    metadata: &mut Table,
    notices: &mut Vec<String>,
) -> Result<(), DatasetError> {
    let bases = resolution_bases(paths, dir);
    let bases: Vec<&Path> = bases.iter().map(PathBuf::as_path).collect();
    let mut extra: HashMap<String, Vec<String>> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    for (_, meta_path) in numbered_files(&dir.join("metadata"), "metadata_", ".parquet") {
        let table = Table::read(&meta_path)?;
        let Some(key) = table.column_index("image_path") else {
            continue;
        };
        for (c, name) in table.columns.iter().enumerate() {
            if c == key || metadata.column_index(name).is_some() {
                continue;
            }
            let column = extra.entry(name.clone()).or_insert_with(|| {
                order.push(name.clone());
                vec![String::new(); index.len()]
            });
            for (r, raw) in table.cells[key].iter().enumerate() {
                if let Resolution::Found(i) = index.resolve(raw, &bases)
                    && column[i].is_empty()
                {
                    column[i] = table.cells[c][r].clone();
                }
            }
        }
    }
    if !order.is_empty() {
        notices.push(format!(
            "metadata from clip-retrieval: {}",
            order.join(", ")
        ));
    }
    for name in order {
        if let Some(values) = extra.remove(&name) {
            metadata.columns.push(name);
            metadata.cells.push(values);
        }
    }
    Ok(())
}
