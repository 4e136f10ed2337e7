//! `export`: layout coordinates, clusters and metadata of a prepared dataset, as CSV or
//! parquet, one row per shown image: `filename, x, y, cluster, user_tags, [similarity,]
//! <metadata columns…>` (`user_tags` `|`-joined; `similarity` for `--similar-to`). Images
//! inside tar shards are named `SHARD.tar/KEY.jpg` and get a `key` column.
//!
//! Parquet is written with the `parquet` crate's column writers (no Arrow): every metadata
//! column is a UTF-8 string, x and y are FLOAT, cluster INT32.

use glam::Vec2;
use std::path::Path;
use std::sync::Arc;

use parquet::basic::{Compression, ConvertedType, Repetition, Type as PhysicalType};
use parquet::data_type::{ByteArray, ByteArrayType, FloatType, Int32Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;

use crate::cache::{PreparedDataset, atomic_write_with};

/// Errors of an export.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Cache(#[from] crate::cache::CacheError),
    #[error("{path}: {why}", path = .path.display())]
    Write {
        path: std::path::PathBuf,
        why: String,
    },
    #[error("unknown output format for {path}: use a .csv or .parquet file name", path = .path.display())]
    Format { path: std::path::PathBuf },
}

/// The metadata, with a `key` column when images are members of tar shards (their
/// `filename` is `SHARD.tar/KEY.jpg`; the key is what clip-retrieval and img2dataset join on).
fn with_keys(prepared: &PreparedDataset) -> crate::dataset::Table {
    let mut metadata = prepared.metadata.table().clone();
    if !prepared.dir.members().is_file() {
        return metadata;
    }
    let keys = prepared
        .images
        .iter()
        .map(|rel| crate::dataset::coords::key_of(rel).to_string());
    match metadata.column_index("key") {
        Some(c) => {
            for (cell, key) in metadata.cells[c].iter_mut().zip(keys) {
                if cell.is_empty() {
                    *cell = key;
                }
            }
        }
        None => {
            metadata.columns.insert(0, "key".into());
            metadata.cells.insert(0, keys.collect());
        }
    }
    metadata
}

/// The rows an export writes.
pub struct ExportTable {
    pub filenames: Vec<String>,
    pub positions: Vec<Vec2>,
    pub clusters: Vec<i32>,
    /// The user's tags of each row, `|`-joined.
    pub user_tags: Vec<String>,
    /// Cosine similarity to the query of `--similar-to`, when there is one.
    pub similarity: Option<Vec<f32>>,
    pub metadata: crate::dataset::Table,
}

impl ExportTable {
    /// Gathers layout `layout` of a prepared dataset, with each image's hotspot (found in
    /// the UMAP layout, or the given one; −1 for none) in `cluster`.
    pub fn from_prepared(prepared: &PreparedDataset, layout: &str) -> Result<Self, ExportError> {
        let clusters = prepared
            .hotspots(&prepared.hotspot_source())?
            .map_or_else(|| vec![-1; prepared.len()], |h| h.assignment);
        let tags = crate::explore::UserTags::load(&prepared.dir, &prepared.images)?;
        Ok(Self {
            filenames: prepared.images.to_vec(),
            positions: prepared.layout(layout)?,
            clusters,
            user_tags: (0..prepared.len()).map(|i| tags.joined(i)).collect(),
            similarity: None,
            metadata: with_keys(prepared),
        })
    }

    /// Only the rows `rows` (a selection), in that order.
    pub fn subset(&self, rows: &[u32]) -> Self {
        let rows: Vec<usize> = rows
            .iter()
            .map(|&r| r as usize)
            .filter(|&r| r < self.filenames.len())
            .collect();
        Self {
            filenames: rows.iter().map(|&r| self.filenames[r].clone()).collect(),
            positions: rows.iter().map(|&r| self.positions[r]).collect(),
            clusters: rows.iter().map(|&r| self.clusters[r]).collect(),
            user_tags: rows.iter().map(|&r| self.user_tags[r].clone()).collect(),
            similarity: self
                .similarity
                .as_ref()
                .map(|s| rows.iter().map(|&r| s[r]).collect()),
            metadata: crate::dataset::Table {
                columns: self.metadata.columns.clone(),
                cells: self
                    .metadata
                    .cells
                    .iter()
                    .map(|col| rows.iter().map(|&r| col[r].clone()).collect())
                    .collect(),
            },
        }
    }

    /// Column names in output order, with metadata names that clash with ours suffixed.
    pub fn column_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.own_columns().iter().map(|s| s.to_string()).collect();
        for c in &self.metadata.columns {
            let mut name = c.clone();
            while names.contains(&name) {
                name.push_str("_meta");
            }
            names.push(name);
        }
        names
    }

    /// Our columns before the metadata's.
    fn own_columns(&self) -> Vec<&'static str> {
        let mut names = vec!["filename", "x", "y", "cluster", "user_tags"];
        if self.similarity.is_some() {
            names.push("similarity");
        }
        names
    }

    /// Writes `.csv` or `.parquet`, chosen by the extension, atomically.
    pub fn write(&self, path: &Path) -> Result<(), ExportError> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        let err = |why: String| ExportError::Write {
            path: path.to_path_buf(),
            why,
        };
        match ext.as_deref() {
            Some("csv") => {
                atomic_write_with(path, |w| self.write_csv(w)).map_err(|e| err(e.to_string()))
            }
            Some("parquet") => atomic_write_with(path, |w| {
                self.write_parquet(w).map_err(std::io::Error::other)
            })
            .map_err(|e| err(e.to_string())),
            _ => Err(ExportError::Format {
                path: path.to_path_buf(),
            }),
        }
    }

    fn write_csv(&self, w: &mut impl std::io::Write) -> std::io::Result<()> {
        let mut out = csv::Writer::from_writer(w);
        out.write_record(self.column_names())?;
        for i in 0..self.filenames.len() {
            let mut record = vec![
                self.filenames[i].clone(),
                self.positions[i].x.to_string(),
                self.positions[i].y.to_string(),
                self.clusters[i].to_string(),
                self.user_tags[i].clone(),
            ];
            if let Some(s) = &self.similarity {
                record.push(s[i].to_string());
            }
            record.extend(self.metadata.cells.iter().map(|c| c[i].clone()));
            out.write_record(record)?;
        }
        out.flush()
    }

    fn write_parquet<W: std::io::Write + Send>(&self, w: W) -> parquet::errors::Result<()> {
        let names = self.column_names();
        let string_field = |name: &str| {
            Type::primitive_type_builder(name, PhysicalType::BYTE_ARRAY)
                .with_converted_type(ConvertedType::UTF8)
                .with_repetition(Repetition::REQUIRED)
                .build()
                .map(Arc::new)
        };
        let mut fields = vec![string_field(&names[0])?];
        for name in &names[1..3] {
            fields.push(Arc::new(
                Type::primitive_type_builder(name, PhysicalType::FLOAT)
                    .with_repetition(Repetition::REQUIRED)
                    .build()?,
            ));
        }
        fields.push(Arc::new(
            Type::primitive_type_builder(&names[3], PhysicalType::INT32)
                .with_repetition(Repetition::REQUIRED)
                .build()?,
        ));
        let own = self.own_columns().len();
        fields.push(string_field(&names[4])?);
        if self.similarity.is_some() {
            fields.push(Arc::new(
                Type::primitive_type_builder(&names[5], PhysicalType::FLOAT)
                    .with_repetition(Repetition::REQUIRED)
                    .build()?,
            ));
        }
        for name in &names[own..] {
            fields.push(string_field(name)?);
        }
        let schema = Arc::new(
            Type::group_type_builder("clip_plot_export")
                .with_fields(fields)
                .build()?,
        );
        let props = Arc::new(
            WriterProperties::builder()
                .set_compression(Compression::SNAPPY)
                .build(),
        );
        let mut writer = SerializedFileWriter::new(w, schema, props)?;
        let mut group = writer.next_row_group()?;
        let strings = |v: &[String]| -> Vec<ByteArray> {
            v.iter().map(|s| ByteArray::from(s.as_str())).collect()
        };
        let xs: Vec<f32> = self.positions.iter().map(|p| p.x).collect();
        let ys: Vec<f32> = self.positions.iter().map(|p| p.y).collect();
        let mut column = 0usize;
        while let Some(mut col) = group.next_column()? {
            match column {
                0 => {
                    col.typed::<ByteArrayType>().write_batch(
                        &strings(&self.filenames),
                        None,
                        None,
                    )?;
                }
                1 => {
                    col.typed::<FloatType>().write_batch(&xs, None, None)?;
                }
                2 => {
                    col.typed::<FloatType>().write_batch(&ys, None, None)?;
                }
                3 => {
                    col.typed::<Int32Type>()
                        .write_batch(&self.clusters, None, None)?;
                }
                4 => {
                    col.typed::<ByteArrayType>().write_batch(
                        &strings(&self.user_tags),
                        None,
                        None,
                    )?;
                }
                5 if self.similarity.is_some() => {
                    let s = self.similarity.as_deref().unwrap_or_default();
                    col.typed::<FloatType>().write_batch(s, None, None)?;
                }
                c => {
                    col.typed::<ByteArrayType>().write_batch(
                        &strings(&self.metadata.cells[c - own]),
                        None,
                        None,
                    )?;
                }
            }
            col.close()?;
            column += 1;
        }
        group.close()?;
        writer.close()?;
        Ok(())
    }
}
