//! Coordinates computed elsewhere (`--coords FILE`): cuML or Spark UMAP run on a cluster,
//! t-SNE from another tool, hand-placed positions.
//!
//! Any table [`Table::read_noting`] reads (CSV and its spreadsheet variants, JSON Lines,
//! parquet) with an `x` and a `y` column and a column naming the image: `filename` (matched
//! like metadata rows: relative path, absolute path or unique suffix, NFC) or `key`
//! (img2dataset's sample key: the file name without its extension). Rows that name no image,
//! repeat one or hold no numbers are counted in one notice each; images without a row get
//! no position (the layout places them in a labelled block).

use std::path::Path;

use glam::Vec2;
use rustc_hash::FxHashMap;

use super::embeddings::RowRef;
use super::{Assigner, DatasetError, DatasetPaths, ImageFile, PathIndex, Table};

/// Every image's given position (`None`: no usable row), in `images` order.
pub fn read_coords(
    path: &Path,
    paths: &DatasetPaths,
    images: &[ImageFile],
    notices: &mut Vec<String>,
) -> Result<Vec<Option<Vec2>>, DatasetError> {
    let table = Table::read_noting(path, notices)?;
    let bad = |why: String| DatasetError::BadTable {
        path: path.to_path_buf(),
        why,
    };
    let columns = table.columns.join(", ");
    let (Some(x), Some(y)) = (table.column("x"), table.column("y")) else {
        return Err(bad(format!(
            "coordinates need an `x` and a `y` column (columns: {columns})"
        )));
    };
    let matched = if let Some(names) = table.column("filename") {
        let index = PathIndex::new(&paths.images, images);
        let beside = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let bases = vec![paths.images.clone(), paths.root.clone(), beside];
        let mut assigner = Assigner::new(&index, bases);
        for (row, raw) in names.iter().enumerate() {
            assigner.assign(
                raw,
                RowRef {
                    source: 0,
                    row: row as u32,
                },
            );
        }
        assigner.finish(path, notices)
    } else if let Some(keys) = table.column("key") {
        match_keys(keys, images, path, notices)
    } else {
        return Err(bad(format!(
            "coordinates need a `filename` or a `key` column naming each image (columns: {columns})"
        )));
    };
    let mut unusable = 0usize;
    let positions = matched
        .iter()
        .map(|m| {
            let r = m.as_ref()?.row as usize;
            let parse = |v: &str| v.trim().parse::<f32>().ok().filter(|v| v.is_finite());
            let p = parse(&x[r]).zip(parse(&y[r])).map(|(x, y)| Vec2::new(x, y));
            unusable += usize::from(p.is_none());
            p
        })
        .collect();
    if unusable > 0 {
        notices.push(format!(
            "{unusable} row(s) of {} have no number in `x` or `y`; those images have no position",
            path.display()
        ));
    }
    Ok(positions)
}

/// The name of `rel` without folders and extension: what img2dataset calls its key.
pub fn key_of(rel: &str) -> &str {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    name.rsplit_once('.').map_or(name, |(stem, _)| stem)
}

/// Matches rows to images by key; keys several images share match none of them.
pub(crate) fn match_keys(
    keys: &[String],
    images: &[ImageFile],
    path: &Path,
    notices: &mut Vec<String>,
) -> Vec<Option<RowRef>> {
    let mut by_key: FxHashMap<&str, Option<usize>> = FxHashMap::default();
    for (i, image) in images.iter().enumerate() {
        by_key
            .entry(key_of(&image.rel))
            .and_modify(|e| *e = None)
            .or_insert(Some(i));
    }
    let mut matched = vec![None; images.len()];
    let (mut unmatched, mut repeated) = (0usize, 0usize);
    for (row, key) in keys.iter().enumerate() {
        match by_key.get(key.trim()).copied().flatten() {
            Some(i) if matched[i].is_none() => {
                matched[i] = Some(RowRef {
                    source: 0,
                    row: row as u32,
                });
            }
            Some(_) => repeated += 1,
            None => unmatched += 1,
        }
    }
    if unmatched > 0 {
        notices.push(format!(
            "{unmatched} row(s) of {} have a key no single image has; they are ignored",
            path.display()
        ));
    }
    if repeated > 0 {
        notices.push(format!(
            "{repeated} row(s) of {} repeat a key already matched; the first row was kept",
            path.display()
        ));
    }
    matched
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_names_without_extension() {
        assert_eq!(key_of("00000/000000123.jpg"), "000000123");
        assert_eq!(key_of("a.b.png"), "a.b");
        assert_eq!(key_of("noext"), "noext");
    }
}
