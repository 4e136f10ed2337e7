//! img2dataset's `parquet` output read in place: `{shard}.parquet` tables whose rows hold
//! each sample's image bytes in a binary column named after the encoding (`jpg`, `png` or
//! `webp`) beside its `key`, `status`, `url`, caption and the other fields.
//!
//! Listing reads only the small columns (`key`, `status`): an image becomes an
//! [`ImageFile`] named `SHARD.parquet/KEY.jpg` whose [`Member::Row`] is its row group and
//! row, so the table is never copied or extracted. Bytes are read through the column reader
//! of that one row group, skipping the rows before (whole pages are skipped on their headers
//! alone, without decompressing), and the thumbnail pass asks for all of a chunk's rows of
//! one group in a single pass ([`read_rows`]), so a table is decompressed once, not once per
//! image. img2dataset writes a row group per 100 samples, so the lightbox's single read
//! decompresses at most ~100 images' worth of a column.
//!
//! The table is also the shard's metadata (it is among [`Listing::shard_tables`]); that
//! reader leaves the image column out ([`IMAGE_COLUMNS`]). Rows whose `status` is not
//! `success` have no image and are not listed (the metadata pass counts them).
//!
//! Rejected: byte offsets into the file, as for tars. Pages are compressed (snappy by
//! default in pyarrow), so an image has no stretch of the file of its own.

use std::fs::File;
use std::path::Path;

use parquet::column::reader::ColumnReader;
use parquet::file::reader::{FileReader as _, SerializedFileReader};
use parquet::record::Field;
use rayon::prelude::*;

use super::paths::{ImageFile, Listing, Member, mtime_ns};

/// Binary columns holding image bytes, by img2dataset's encode formats.
pub const IMAGE_COLUMNS: [&str; 3] = ["jpg", "png", "webp"];

/// The leaf index and name of a table's image column: a top-level binary column named as
/// one of [`IMAGE_COLUMNS`].
fn image_column(reader: &SerializedFileReader<File>) -> Option<(usize, String)> {
    let schema = reader.metadata().file_metadata().schema_descr();
    schema.columns().iter().enumerate().find_map(|(i, c)| {
        let top_level = c.path().parts().len() == 1;
        let binary = c.physical_type() == parquet::basic::Type::BYTE_ARRAY;
        let name = c.name().to_ascii_lowercase();
        (top_level && binary && IMAGE_COLUMNS.contains(&name.as_str()))
            .then(|| (i, c.name().to_string()))
    })
}

/// What one table holds, or what was wrong with it.
#[derive(Default)]
struct TableIndex {
    images: Vec<ImageFile>,
    problems: Vec<(String, String)>,
}

/// Lists the images of every shard table (below `folder`) that holds image bytes, in
/// parallel; tables without an image column are only metadata and are left as they are.
pub(crate) fn index_tables(folder: &Path, listing: &mut Listing) {
    let found: Vec<TableIndex> = listing
        .shard_tables
        .par_iter()
        .filter_map(|abs| {
            let rel = abs.strip_prefix(folder).ok()?.to_str()?.replace('\\', "/");
            index_table(abs, &rel)
        })
        .collect();
    for index in found {
        listing.images.extend(index.images);
        listing.problems.extend(index.problems);
    }
}

/// The images of the table at `abs` (`rel` from the listed folder); `None` when it holds
/// no image column.
fn index_table(abs: &Path, rel: &str) -> Option<TableIndex> {
    let mut out = TableIndex::default();
    let opened = File::open(abs)
        .map_err(|e| e.to_string())
        .and_then(|f| SerializedFileReader::new(f).map_err(|e| e.to_string()));
    let reader = match opened {
        Ok(reader) => reader,
        Err(why) => {
            let why =
                format!("not a readable parquet table ({why}): its images, if any, are left out");
            out.problems.push((rel.to_string(), why));
            return Some(out);
        }
    };
    let (_, column) = image_column(&reader)?;
    let extension = column.to_ascii_lowercase();
    let meta = std::fs::metadata(abs).ok();
    let (size, mtime) = meta.map_or((0, 0), |m| (m.len(), mtime_ns(&m)));
    match keyed_rows(&reader) {
        Ok(rows) => {
            for (key, group, row) in rows {
                out.images.push(ImageFile {
                    rel: format!("{rel}/{key}.{extension}"),
                    abs: abs.to_path_buf(),
                    size,
                    mtime_ns: mtime,
                    member: Some(Member::Row { group, row }),
                });
            }
        }
        Err(why) => out.problems.push((rel.to_string(), why)),
    }
    Some(out)
}

/// `(key, row group, row)` of every row whose `status` is `success` (or that has no
/// status); rows without a `key` are named by their 9-digit row number.
fn keyed_rows(reader: &SerializedFileReader<File>) -> Result<Vec<(String, u32, u32)>, String> {
    let root = reader
        .metadata()
        .file_metadata()
        .schema_descr_ptr()
        .root_schema_ptr();
    let wanted: Vec<_> = (root.get_fields().iter())
        .filter(|f| matches!(f.name(), "key" | "status") && f.is_primitive())
        .cloned()
        .collect();
    // Where each is in a projected row (`None`: the table has no such column).
    let at = |name: &str| wanted.iter().position(|f| f.name() == name);
    let (key_at, status_at) = (at("key"), at("status"));
    let projection = if wanted.is_empty() {
        None
    } else {
        let group = parquet::schema::types::Type::group_type_builder(root.name())
            .with_fields(wanted.clone())
            .build()
            .map_err(|e| e.to_string())?;
        Some(group)
    };
    let mut out = Vec::new();
    let mut row_number = 0u64;
    for g in 0..reader.num_row_groups() {
        let rows_in_group = reader.metadata().row_group(g).num_rows().max(0) as u64;
        let group = u32::try_from(g).map_err(|_| "more than 2³² row groups")?;
        let push = |out: &mut Vec<_>, r: u64, key: Option<String>, status: Option<String>| {
            let ok = status_at.is_none() || status.as_deref() == Some("success");
            let key = key
                .filter(|k| !k.is_empty())
                .unwrap_or_else(|| format!("{:09}", row_number + r));
            if ok {
                out.push((key, group, r as u32));
            }
        };
        if let Some(projection) = &projection {
            let group_reader = reader.get_row_group(g).map_err(|e| e.to_string())?;
            let rows = group_reader
                .get_row_iter(Some(projection.clone()))
                .map_err(|e| e.to_string())?;
            for (r, row) in rows.enumerate() {
                let row = row.map_err(|e| format!("row group {g}: {e}"))?;
                let fields: Vec<&Field> = row.get_column_iter().map(|(_, f)| f).collect();
                let cell = |at: Option<usize>| at.and_then(|at| fields.get(at)).map(|f| text(f));
                push(&mut out, r as u64, cell(key_at), cell(status_at));
            }
        } else {
            for r in 0..rows_in_group {
                push(&mut out, r, None, None);
            }
        }
        row_number += rows_in_group;
    }
    Ok(out)
}

fn text(field: &Field) -> String {
    match field {
        Field::Str(s) => s.clone(),
        Field::Bytes(b) => String::from_utf8_lossy(b.data()).into_owned(),
        Field::Null => String::new(),
        other => other.to_string(),
    }
}

/// The image bytes of `rows` (ascending) of row group `group` of the table at `path`, one
/// result per row, in one pass over that group's image column.
pub fn read_rows(
    path: &Path,
    group: u32,
    rows: &[u32],
) -> std::io::Result<Vec<Result<Vec<u8>, String>>> {
    let err = |e: parquet::errors::ParquetError| std::io::Error::other(e.to_string());
    let reader = SerializedFileReader::new(File::open(path)?).map_err(err)?;
    let (column, _) = image_column(&reader)
        .ok_or_else(|| std::io::Error::other("the table has no jpg/png/webp column"))?;
    if group as usize >= reader.num_row_groups() {
        return Err(std::io::Error::other(format!(
            "the table has no row group {group}"
        )));
    }
    let row_group = reader.get_row_group(group as usize).map_err(err)?;
    let ColumnReader::ByteArrayColumnReader(mut column) =
        row_group.get_column_reader(column).map_err(err)?
    else {
        return Err(std::io::Error::other("the image column is not binary"));
    };
    let mut out = Vec::with_capacity(rows.len());
    let mut at = 0u32;
    let (mut levels, mut values) = (Vec::new(), Vec::new());
    for &row in rows {
        let Some(skip) = row.checked_sub(at) else {
            out.push(Err(format!("row {row} asked for after row {at}")));
            continue;
        };
        let skip = skip as usize;
        if skip > 0 && column.skip_records(skip).map_err(err)? < skip {
            out.push(Err(format!("the row group has no row {row}")));
            at = row + 1;
            continue;
        }
        levels.clear();
        values.clear();
        let (records, read, _) = column
            .read_records(1, Some(&mut levels), None, &mut values)
            .map_err(err)?;
        at = row + 1;
        out.push(match (records, read) {
            (0, _) => Err(format!("the row group has no row {row}")),
            (_, 0) => Err("no image bytes in this row (null)".to_string()),
            _ => Ok(values[0].data().to_vec()),
        });
    }
    Ok(out)
}

/// The image bytes of one row.
pub fn read_row(path: &Path, group: u32, row: u32) -> std::io::Result<Vec<u8>> {
    read_rows(path, group, &[row])?
        .pop()
        .unwrap_or_else(|| Err("nothing read".into()))
        .map_err(std::io::Error::other)
}

/// The bytes of every table row among `images`, read one row group at a time (groups in
/// parallel); `None` for the images that are not table rows (files, tar members).
pub fn read_table_rows(images: &[&ImageFile]) -> Vec<Option<Result<Vec<u8>, String>>> {
    let mut groups: std::collections::BTreeMap<(&Path, u32), Vec<(u32, usize)>> =
        Default::default();
    for (at, image) in images.iter().enumerate() {
        if let Some(Member::Row { group, row }) = image.member {
            groups
                .entry((image.abs.as_path(), group))
                .or_default()
                .push((row, at));
        }
    }
    let read: Vec<(usize, Result<Vec<u8>, String>)> = groups
        .into_par_iter()
        .flat_map_iter(|((path, group), mut rows)| {
            rows.sort_unstable();
            let wanted: Vec<u32> = rows.iter().map(|&(row, _)| row).collect();
            let results = match read_rows(path, group, &wanted) {
                Ok(results) => results,
                Err(e) => vec![Err(e.to_string()); rows.len()],
            };
            rows.into_iter().map(|(_, at)| at).zip(results)
        })
        .collect();
    let mut out: Vec<Option<Result<Vec<u8>, String>>> = vec![None; images.len()];
    for (at, bytes) in read {
        out[at] = Some(bytes);
    }
    out
}
