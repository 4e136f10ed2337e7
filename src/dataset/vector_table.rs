//! Embeddings in a parquet column: clip-plot's (the Python project's) `hidden_vectors`
//! table, embedding-reader's `embedding` column, Embedding Atlas-style tables.
//!
//! The vectors are a list (or fixed-size list) of float16, float32 or float64 per row. They
//! are read through parquet's column reader (levels and values in batches), not its row
//! API: a 1M × 768 table through `Row`/`Field` would build 768M boxed fields. The repetition
//! level marks where each row's list starts; every row must have the same length (a table of
//! mixed lengths stops with the first row that differs). float16 arrives as 2-byte
//! fixed-length values with the `FLOAT16` logical type.
//!
//! The column is the one `--embedding-column` names, else the only list-of-floats column
//! (none or several: a message listing them). The rest of the table is read as text through
//! [`super::table`], with the vector column projected away, and becomes metadata.

use std::fs::File;
use std::path::Path;

use parquet::basic::{LogicalType, Type as Physical};
use parquet::column::reader::ColumnReader;
use parquet::file::reader::{FileReader as _, SerializedFileReader};
use parquet::schema::types::ColumnDescriptor;

use super::DatasetError;

/// The vectors of a table, row-major, and the column they came from.
pub struct VectorColumn {
    pub name: String,
    pub dim: usize,
    /// The vectors present, row-major.
    pub data: Vec<f32>,
    /// Per table row, its vector's row in `data` (None: null or empty in the table).
    pub index: Vec<Option<u32>>,
}

fn bad(path: &Path, why: impl std::fmt::Display) -> DatasetError {
    DatasetError::BadTable {
        path: path.to_path_buf(),
        why: why.to_string(),
    }
}

/// Whether leaf `c` holds one list of floats per row.
fn is_vector_leaf(c: &ColumnDescriptor) -> bool {
    let float16 = c.physical_type() == Physical::FIXED_LEN_BYTE_ARRAY
        && c.type_length() == 2
        && matches!(c.logical_type_ref(), Some(LogicalType::Float16));
    c.max_rep_level() == 1
        && (matches!(c.physical_type(), Physical::FLOAT | Physical::DOUBLE) || float16)
}

/// The top-level name of a leaf (`hidden_vectors` for `hidden_vectors.list.element`).
fn top_name(c: &ColumnDescriptor) -> String {
    c.path().parts().first().cloned().unwrap_or_default()
}

/// Names of the list-of-floats columns of a parquet file (empty when it is not parquet).
pub fn vector_columns(path: &Path) -> Vec<String> {
    let Ok(reader) = File::open(path)
        .map_err(|_| ())
        .and_then(|f| SerializedFileReader::new(f).map_err(|_| ()))
    else {
        return Vec::new();
    };
    let schema = reader.metadata().file_metadata().schema_descr_ptr();
    schema
        .columns()
        .iter()
        .filter(|c| is_vector_leaf(c))
        .map(|c| top_name(c))
        .collect()
}

/// Reads the vector column `wanted` (or the only one) of a parquet file.
pub fn read_vectors(path: &Path, wanted: Option<&str>) -> Result<VectorColumn, DatasetError> {
    let file = File::open(path).map_err(|e| bad(path, e))?;
    let reader = SerializedFileReader::new(file).map_err(|e| bad(path, e))?;
    let schema = reader.metadata().file_metadata().schema_descr_ptr();
    let candidates: Vec<usize> = (0..schema.num_columns())
        .filter(|&i| is_vector_leaf(&schema.column(i)))
        .collect();
    let names: Vec<String> = candidates
        .iter()
        .map(|&i| top_name(&schema.column(i)))
        .collect();
    let leaf = match wanted {
        Some(w) => candidates
            .iter()
            .zip(&names)
            .find(|(_, n)| n.eq_ignore_ascii_case(w))
            .map(|(&i, _)| i)
            .ok_or_else(|| {
                bad(
                    path,
                    format!(
                        "has no list-of-floats column `{w}` (columns that hold vectors: {})",
                        list_or_none(&names)
                    ),
                )
            })?,
        None => match candidates.as_slice() {
            [one] => *one,
            [] => {
                return Err(bad(
                    path,
                    "has no column holding vectors (a list of float16, float32 or float64 per row)",
                ));
            }
            _ => {
                return Err(bad(
                    path,
                    format!(
                        "has several columns holding vectors ({}): say which with --embedding-column NAME",
                        names.join(", ")
                    ),
                ));
            }
        },
    };
    let descr = schema.column(leaf);
    let max_def = descr.max_def_level();
    let mut rows = Rows::default();
    for g in 0..reader.num_row_groups() {
        let group = reader.get_row_group(g).map_err(|e| bad(path, e))?;
        let column = group.get_column_reader(leaf).map_err(|e| bad(path, e))?;
        read_group(column, max_def, &mut rows).map_err(|e| bad(path, e))?;
    }
    rows.close().map_err(|e| bad(path, e))?;
    let name = top_name(&descr);
    let Some(dim) = rows.dim else {
        return Err(bad(
            path,
            format!("column `{name}` holds no vector in any row"),
        ));
    };
    Ok(VectorColumn {
        name,
        dim,
        data: rows.data,
        index: rows.index,
    })
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// Rows gathered so far, checked for one length.
#[derive(Default)]
struct Rows {
    data: Vec<f32>,
    /// Per table row, its vector's index in `data` (None: a null or empty list).
    index: Vec<Option<u32>>,
    /// Values in the row being read.
    current: usize,
    open: bool,
    dim: Option<usize>,
}

impl Rows {
    /// One level: `rep == 0` starts a row; `value` is the element, if not null.
    fn push(&mut self, rep: i16, value: Option<f32>) -> Result<(), String> {
        if rep == 0 {
            self.close()?;
            self.open = true;
        }
        if let Some(v) = value {
            self.data.push(v);
            self.current += 1;
        }
        Ok(())
    }

    /// Ends the row being read: empty (no embedding), or as long as the first row.
    fn close(&mut self) -> Result<(), String> {
        if !std::mem::take(&mut self.open) {
            return Ok(());
        }
        let n = std::mem::take(&mut self.current);
        if n == 0 {
            self.index.push(None);
            return Ok(());
        }
        let d = *self.dim.get_or_insert(n);
        if d != n {
            return Err(format!(
                "the vectors have different lengths: row {} has {n} values, the first row {d}; every row needs one embedding of the same model",
                self.index.len() + 1
            ));
        }
        self.index.push(Some(((self.data.len() - n) / n) as u32));
        Ok(())
    }
}

const BATCH: usize = 64 * 1024;

/// Reads one row group's levels and values into `rows`.
fn read_group(column: ColumnReader, max_def: i16, rows: &mut Rows) -> Result<(), String> {
    let mut def = Vec::new();
    let mut rep = Vec::new();
    // Same loop for every physical type; `convert` turns one value into f32.
    macro_rules! drain {
        ($reader:expr, $convert:expr) => {{
            let mut reader = $reader;
            let mut values = Vec::new();
            loop {
                def.clear();
                rep.clear();
                values.clear();
                let (_, _, levels) = reader
                    .read_records(BATCH, Some(&mut def), Some(&mut rep), &mut values)
                    .map_err(|e| e.to_string())?;
                if levels == 0 {
                    break;
                }
                let mut next = values.iter();
                for (d, r) in def.iter().zip(&rep).take(levels) {
                    let value = if *d == max_def {
                        next.next().map($convert)
                    } else {
                        None
                    };
                    rows.push(*r, value)?;
                }
            }
        }};
    }
    match column {
        ColumnReader::FloatColumnReader(r) => drain!(r, |v: &f32| *v),
        ColumnReader::DoubleColumnReader(r) => drain!(r, |v: &f64| *v as f32),
        ColumnReader::FixedLenByteArrayColumnReader(r) => {
            drain!(r, |v: &parquet::data_type::FixedLenByteArray| {
                let b = v.data();
                half::f16::from_le_bytes([b[0], b.get(1).copied().unwrap_or(0)]).to_f32()
            })
        }
        _ => return Err("the vector column is not of floats".into()),
    }
    Ok(())
}
