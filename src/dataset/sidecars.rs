//! img2dataset's `files` output as metadata: `KEY.txt` (the caption) and `KEY.json` (url,
//! key, width, height, sha256, the extra columns) beside each `KEY.jpg`, and the shard
//! tables `NNNNN.parquet` (the same fields for every sample, failed downloads included).
//!
//! The shard tables are read first (one file per 10 000 samples, not one per image); their
//! rows whose `status` is not `success` have no image and are only counted. The `.json`
//! sidecars are read, in parallel, only for images no shard table described, and the
//! `.txt` caption only where there is no caption yet. Fields that say nothing about a shown
//! image (`status`, `error_message`, `exif`) are dropped. A column the user's metadata file
//! has is never overwritten. `--no-sidecars` turns all of this off.

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::coords::match_keys;
use super::image_table::IMAGE_COLUMNS;
use super::paths::{Listing, SidecarFile};
use super::{ImageFile, Table};

/// img2dataset fields left out of the metadata.
const DROPPED: [&str; 3] = ["status", "error_message", "exif"];

/// Columns gathered for the images, aligned with them.
#[derive(Default)]
struct Columns {
    names: Vec<String>,
    cells: Vec<Vec<String>>,
    rows: usize,
}

impl Columns {
    /// Sets `name` of image `i` unless it has a value already.
    fn set(&mut self, name: &str, i: usize, value: String) {
        if value.is_empty() || DROPPED.contains(&name) {
            return;
        }
        let c = match self.names.iter().position(|n| n == name) {
            Some(c) => c,
            None => {
                self.names.push(name.to_string());
                self.cells.push(vec![String::new(); self.rows]);
                self.names.len() - 1
            }
        };
        if self.cells[c][i].is_empty() {
            self.cells[c][i] = value;
        }
    }
}

/// Adds what img2dataset wrote about each image to `metadata` (aligned with `images`).
pub(crate) fn merge_sidecars(
    listing: &Listing,
    images: &[ImageFile],
    metadata: &mut Table,
    notices: &mut Vec<String>,
) {
    let mut columns = Columns {
        rows: images.len(),
        ..Default::default()
    };
    let described = merge_shard_tables(&listing.shard_tables, images, &mut columns, notices);
    // Sidecars by the image path they go with: `dir/KEY.txt` → `dir/KEY`.
    let mut by_stem: FxHashMap<&str, [Option<&SidecarFile>; 2]> = FxHashMap::default();
    for file in &listing.sidecars {
        if let Some((stem, ext)) = file.rel.rsplit_once('.') {
            let slot = usize::from(ext.eq_ignore_ascii_case("json"));
            by_stem.entry(stem).or_default()[slot] = Some(file);
        }
    }
    if by_stem.is_empty() && columns.names.is_empty() {
        return;
    }
    let read = read_sidecars(images, &by_stem, &described);
    let mut bad = Vec::new();
    for (i, Sidecar { caption, fields }) in read.into_iter().enumerate() {
        match fields {
            Ok(fields) => {
                for (name, value) in fields {
                    columns.set(&name, i, value);
                }
            }
            Err(why) => bad.push(why),
        }
        if let Some(caption) = caption {
            columns.set("caption", i, caption);
        }
    }
    if !bad.is_empty() {
        notices.push(format!(
            "{} sidecar JSON file(s) could not be read and were left out (e.g. {})",
            bad.len(),
            bad[0]
        ));
    }
    let mut added = Vec::new();
    for (name, cells) in columns.names.into_iter().zip(columns.cells) {
        if metadata.column_index(&name).is_none() {
            added.push(name.clone());
            metadata.columns.push(name);
            metadata.cells.push(cells);
        }
    }
    if !added.is_empty() {
        notices.push(format!(
            "metadata from img2dataset's captions, records and shard tables: {}",
            added.join(", ")
        ));
    }
}

/// What the files beside one image say.
struct Sidecar {
    caption: Option<String>,
    /// The JSON record's fields, flattened (empty without one), or why it could not be read.
    fields: Result<Vec<(String, String)>, String>,
}

/// Reads every image's sidecars in parallel; JSON only for images no table `described`.
fn read_sidecars(
    images: &[ImageFile],
    by_stem: &FxHashMap<&str, [Option<&SidecarFile>; 2]>,
    described: &[bool],
) -> Vec<Sidecar> {
    images
        .par_iter()
        .enumerate()
        .map(|(i, image)| {
            let stem = image
                .rel
                .rsplit_once('.')
                .map_or(image.rel.as_str(), |s| s.0);
            let [txt, json] = by_stem.get(stem).copied().unwrap_or_default();
            let caption = txt.and_then(|t| read_small(t).ok());
            let fields = match json {
                Some(j) if !described[i] => read_small(j).and_then(|text| {
                    let value: serde_json::Value =
                        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", j.rel))?;
                    let mut flat = Vec::new();
                    super::text_table::flatten("", &value, &mut flat);
                    Ok(flat)
                }),
                _ => Ok(Vec::new()),
            };
            Sidecar {
                caption: caption.map(|c| c.trim().to_string()),
                fields,
            }
        })
        .collect()
}

/// Reads a sidecar (a file, or a member of a tar), refusing anything over 1 MiB (a caption
/// or a JSON record is small).
fn read_small(file: &SidecarFile) -> Result<String, String> {
    let name = || file.rel.clone();
    let len = match file.member {
        Some((_, len)) => len,
        None => std::fs::metadata(&file.abs)
            .map_err(|e| format!("{}: {e}", name()))?
            .len(),
    };
    if len > 1 << 20 {
        return Err(format!("{}: {len} bytes, too big for a sidecar", name()));
    }
    let bytes = file
        .source()
        .read()
        .map_err(|e| format!("{}: {e}", name()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Joins the successful rows of the shard tables to the images by key; counts the failed
/// ones. Returns which images a table described.
fn merge_shard_tables(
    tables: &[std::path::PathBuf],
    images: &[ImageFile],
    columns: &mut Columns,
    notices: &mut Vec<String>,
) -> Vec<bool> {
    let mut described = vec![false; images.len()];
    let mut failed: std::collections::BTreeMap<String, usize> = Default::default();
    let mut unreadable = Vec::new();
    for path in tables {
        // A table of images (img2dataset's `parquet` output) without its image bytes.
        let table = match super::table::read_parquet_without(path, &IMAGE_COLUMNS) {
            Ok(t) => t,
            Err(e) => {
                unreadable.push(e.to_string());
                continue;
            }
        };
        let Some(keys) = table.column("key") else {
            continue; // not an img2dataset table
        };
        let status = table.column("status");
        let ok: Vec<usize> = (0..table.rows())
            .filter(|&r| {
                let s = status.map_or("success", |s| s[r].as_str());
                if s == "success" {
                    return true;
                }
                *failed.entry(s.to_string()).or_default() += 1;
                false
            })
            .collect();
        let ok_keys: Vec<String> = ok.iter().map(|&r| keys[r].clone()).collect();
        let matched = match_keys(&ok_keys, images, path, notices);
        for (i, m) in matched.iter().enumerate() {
            let Some(m) = m else { continue };
            let row = ok[m.row as usize];
            described[i] = true;
            for (name, cells) in table.columns.iter().zip(&table.cells) {
                columns.set(name, i, cells[row].clone());
            }
        }
    }
    if !failed.is_empty() {
        let total: usize = failed.values().sum();
        let kinds: Vec<String> = failed.iter().map(|(k, n)| format!("{k}: {n}")).collect();
        notices.push(format!(
            "{total} sample(s) in img2dataset's shard tables have no image ({}); they are not on the map",
            kinds.join(", ")
        ));
    }
    if !unreadable.is_empty() {
        notices.push(format!(
            "{} shard table(s) could not be read: {}",
            unreadable.len(),
            unreadable.join("; ")
        ));
    }
    described
}
