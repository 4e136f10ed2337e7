//! Small string tables read from parquet or text (CSV and its spreadsheet variants, JSON
//! Lines: [`super::text_table`]): clip-retrieval's `metadata_N.parquet` and PixPlot-style
//! metadata files.
//!
//! Every cell becomes text. Metadata is shown to people and joined by filename; typed
//! columns (year, lat, lng, x, y) are parsed where a layout needs them. Keeping one string
//! representation avoids pulling in Arrow (and polars) for a few columns.

use std::fs::File;
use std::path::Path;

use parquet::file::reader::{FileReader as _, SerializedFileReader};
use parquet::record::Field;

use super::DatasetError;

/// Column-major table of text cells.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    pub columns: Vec<String>,
    /// `cells[c][r]`: row `r` of column `c`.
    pub cells: Vec<Vec<String>>,
}

impl Table {
    pub fn rows(&self) -> usize {
        self.cells.first().map_or(0, Vec::len)
    }

    /// Index of the column named `name`, ignoring ASCII case.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.trim().eq_ignore_ascii_case(name))
    }

    pub fn column(&self, name: &str) -> Option<&[String]> {
        self.column_index(name).map(|i| self.cells[i].as_slice())
    }

    /// Reads a parquet file, chosen by content (parquet files start with `PAR1`), else a
    /// delimited or JSON Lines file ([`super::text_table`]); notes on how it was read
    /// are dropped.
    pub fn read(path: &Path) -> Result<Self, DatasetError> {
        Self::read_noting(path, &mut Vec::new())
    }

    /// As [`Self::read`], pushing one-line notes (an encoding guessed, lines skipped).
    pub fn read_noting(path: &Path, notices: &mut Vec<String>) -> Result<Self, DatasetError> {
        let mut magic = [0u8; 4];
        let is_parquet = File::open(path)
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
            .is_ok()
            && &magic == b"PAR1";
        if is_parquet {
            read_parquet(path)
        } else if super::spreadsheet::is_spreadsheet(path) {
            super::spreadsheet::read_spreadsheet(path)
        } else {
            super::text_table::read_text_table(path, notices)
        }
    }
}

fn table_error(path: &Path, why: impl std::fmt::Display) -> DatasetError {
    DatasetError::BadTable {
        path: path.to_path_buf(),
        why: why.to_string(),
    }
}

/// Reads every column but those in `skip` (top-level fields, any case) of a parquet file as
/// text: the rest of an embeddings table without decoding its vectors, or of a table of
/// images without its image bytes.
pub fn read_parquet_without(path: &Path, skip: &[&str]) -> Result<Table, DatasetError> {
    let file = File::open(path).map_err(|e| table_error(path, e))?;
    let reader = SerializedFileReader::new(file).map_err(|e| table_error(path, e))?;
    let root = reader
        .metadata()
        .file_metadata()
        .schema_descr_ptr()
        .root_schema_ptr();
    let fields: Vec<_> = root
        .get_fields()
        .iter()
        .filter(|f| !skip.iter().any(|s| f.name().eq_ignore_ascii_case(s)))
        .cloned()
        .collect();
    let projection = parquet::schema::types::Type::group_type_builder(root.name())
        .with_fields(fields)
        .build()
        .map_err(|e| table_error(path, e))?;
    let rows = reader
        .get_row_iter(Some(projection))
        .map_err(|e| table_error(path, e))?;
    collect_rows(path, rows, &root)
}

/// Reads every column of a parquet file as text; nested groups are flattened as `a.b`.
pub fn read_parquet(path: &Path) -> Result<Table, DatasetError> {
    let file = File::open(path).map_err(|e| table_error(path, e))?;
    let reader = SerializedFileReader::new(file).map_err(|e| table_error(path, e))?;
    let root = reader
        .metadata()
        .file_metadata()
        .schema_descr_ptr()
        .root_schema_ptr();
    let rows = reader
        .get_row_iter(None)
        .map_err(|e| table_error(path, e))?;
    collect_rows(path, rows, &root)
}

/// Gathers parquet rows into text columns (a table without rows keeps `root`'s names).
fn collect_rows(
    path: &Path,
    rows: parquet::record::reader::RowIter,
    root: &parquet::schema::types::Type,
) -> Result<Table, DatasetError> {
    let mut columns: Vec<String> = Vec::new();
    let mut cells: Vec<Vec<String>> = Vec::new();
    let mut n = 0usize;
    for row in rows {
        let row = row.map_err(|e| table_error(path, e))?;
        let mut flat = Vec::new();
        flatten("", row.get_column_iter(), &mut flat);
        for (name, value) in flat {
            let c = match columns.iter().position(|c| *c == name) {
                Some(c) => c,
                None => {
                    columns.push(name);
                    cells.push(vec![String::new(); n]);
                    columns.len() - 1
                }
            };
            cells[c].push(value);
        }
        n += 1;
        for column in &mut cells {
            column.resize(n, String::new());
        }
    }
    if n == 0 {
        for field in root.get_fields() {
            columns.push(field.name().to_string());
            cells.push(Vec::new());
        }
    }
    Ok(Table { columns, cells })
}

fn flatten<'a>(
    prefix: &str,
    fields: impl Iterator<Item = (&'a String, &'a Field)>,
    out: &mut Vec<(String, String)>,
) {
    for (name, field) in fields {
        let full = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        match field {
            Field::Group(row) => flatten(&full, row.get_column_iter(), out),
            Field::Null => out.push((full, String::new())),
            Field::Str(s) => out.push((full, s.clone())),
            Field::Bytes(b) => out.push((full, String::from_utf8_lossy(b.data()).into_owned())),
            other => out.push((full, other.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_pads_short_rows_and_strips_bom() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.csv");
        std::fs::write(&p, "\u{feff}Filename,Category\na.jpg,x\nb.jpg\n").unwrap();
        let t = Table::read(&p).unwrap();
        assert_eq!(t.columns, vec!["Filename", "Category"]);
        assert_eq!(t.column("filename").unwrap(), &["a.jpg", "b.jpg"]);
        assert_eq!(t.column("category").unwrap(), &["x", ""]);
    }
}
