//! The prepared dataset on disk, in `DATASET/.clip-plot/` or `--cache DIR`.
//!
//! ```text
//! manifest.json            format version, inputs, counts, stage fingerprints, skipped files
//! images.bin               relative path of every shown image (a string table, mapped);
//!                          row i of every array below (images.json in older caches)
//! members.bin              where images inside tar shards are (see members), when any are
//! metadata.bin             metadata columns aligned with the images (string tables, mapped)
//! thumbs/index.bin         one fixed-size ThumbRecord per image (memory-mapped)
//! thumbs/page_NNNN.bc1     small-level atlas pages, BC1, uploadable as they are
//! thumbs/chunks/           the incremental thumbnail store (see thumbstore)
//! embeddings/appearance.npy  appearance features, when the user has no embeddings
//! layouts/<name>.npy       N×2 float32 positions per layout (pca now; umap, grid, … later)
//! neighbours.npy           N×20 u32: each image's most similar images, nearest first
//! neighbour_distances.npy  N×20 float32 cosine distances to them
//! vectors.npy, .json       N×D float16 unit embeddings in image order (similarity search)
//! opened/                  tar members written out for the system viewer (the lightbox)
//! user/tags.json           the user's tags by image path (data: never rebuilt)
//! clusters/umap.names.json the user's hotspot names, for the clusters' fingerprint
//! ```
//! Everything is written atomically; the manifest last. Opening reads the manifest and two
//! JSON lists and maps the rest, so a prepared 100k dataset opens in milliseconds.

pub mod atomic;
pub mod members;
pub mod strings;
pub mod thumbstore;
pub mod vectors;

use glam::Vec2;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::Mmap;
use serde::{Deserialize, Serialize};

pub use atomic::{atomic_write, atomic_write_with};

use ndarray::Array2;
use ndarray_npy::{ViewNpyExt as _, WriteNpyExt as _};

use crate::dataset::{ImageSource, Skipped, Table};

/// Bumped whenever the layout of the cache changes; an older cache is rebuilt.
pub const FORMAT_VERSION: u32 = 1;
/// Name of the default cache folder inside a dataset.
pub const CACHE_DIR_NAME: &str = ".clip-plot";

/// Errors opening a prepared dataset.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("{path}: no prepared dataset here; run `clip-plot-view prepare` first", path = .path.display())]
    NotPrepared { path: PathBuf },
    #[error("{path}: cache format {found} differs from this program's {FORMAT_VERSION}; run `clip-plot-view prepare` to rebuild it", path = .path.display())]
    Version { path: PathBuf, found: u32 },
    #[error("{path}: {why}. Delete the cache folder and prepare again", path = .path.display())]
    Corrupt { path: PathBuf, why: String },
    /// A layout that is not in this dataset (nothing is wrong with the cache).
    #[error("{0}")]
    NoLayout(String),
    #[error("{path}: {source}", path = .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> CacheError + '_ {
    move |source| CacheError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Where the embeddings behind the layouts came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EmbeddingOrigin {
    /// The user's embeddings (clip-retrieval or other).
    Provided,
    /// Our appearance features: the map shows look-alikes, not meaning.
    Appearance,
}

/// The thumbnail stage's output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThumbsInfo {
    pub fingerprint: String,
    pub pages: u32,
    pub page_px: u32,
    pub cell_px: u32,
    pub large_px: u32,
    /// Texture format of the pages: "bc1-rgba-srgb".
    pub page_format: String,
}

/// One cached array computed from the embeddings (a layout, or the neighbour table).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayoutInfo {
    /// File under the cache folder (N×2 float32 `.npy`).
    pub file: String,
    /// Fingerprint of the inputs and parameters it was computed from.
    pub fingerprint: String,
    /// Parameters, for people reading the manifest.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    pub seconds: f64,
    /// JSON file with what the viewer draws along: labels, cell size, outlines
    /// ([`crate::layout::meta::LabelledLayout`]) for layouts; hotspots for clusters.
    #[serde(default)]
    pub extras: Option<String>,
}

/// `manifest.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    pub generator: String,
    pub dataset_root: String,
    pub images_dir: String,
    pub embeddings: Option<String>,
    pub metadata: Option<String>,
    pub logo: Option<String>,
    pub image_count: usize,
    pub embedding_dim: usize,
    pub embedding_origin: EmbeddingOrigin,
    pub thumbs: Option<ThumbsInfo>,
    /// Layouts by name ("pca", later "umap", "grid", …).
    #[serde(default)]
    pub layouts: BTreeMap<String, LayoutInfo>,
    /// The `NEIGHBOURS_K` most similar images of each image (`neighbours.npy`, u32, and
    /// `neighbour_distances.npy`, cosine distance), when computed.
    #[serde(default)]
    pub neighbours: Option<LayoutInfo>,
    /// Hotspots by the layout they were found in: `file` is every image's cluster (N int32
    /// `.npy`, −1 for none), `extras` the hotspots' JSON ([`crate::cluster::Hotspots`]).
    #[serde(default)]
    pub clusters: BTreeMap<String, LayoutInfo>,
    #[serde(default)]
    pub skipped: Vec<Skipped>,
    #[serde(default)]
    pub notices: Vec<String>,
    #[serde(default)]
    pub stage_seconds: BTreeMap<String, f64>,
}

/// Per-image entry of `thumbs/index.bin`, read by memory-mapping the file.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ThumbRecord {
    /// Atlas page of the small level.
    pub page: u32,
    /// Top-left pixel of the cell in the page.
    pub cell_x: u16,
    pub cell_y: u16,
    /// Size of the small thumbnail inside its cell.
    pub small_w: u16,
    pub small_h: u16,
    pub large_w: u16,
    pub large_h: u16,
    /// Chunk holding the large level.
    pub chunk: u32,
    /// 1 = JPEG, 2 = PNG.
    pub large_format: u32,
    pub large_offset: u64,
    pub large_len: u32,
    pub source_w: u32,
    pub source_h: u32,
    pub reserved: u32,
}

const INDEX_MAGIC: &[u8; 8] = b"CPTHUMB1";

/// Encodes `thumbs/index.bin`.
pub fn encode_thumb_index(records: &[ThumbRecord]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + size_of_val(records));
    out.extend_from_slice(INDEX_MAGIC);
    out.extend_from_slice(&(records.len() as u64).to_le_bytes());
    out.extend_from_slice(bytemuck::cast_slice(records));
    out
}

/// Paths inside a cache folder.
#[derive(Clone, Debug)]
pub struct CacheDir {
    pub root: PathBuf,
}

impl CacheDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
    pub fn manifest(&self) -> PathBuf {
        self.root.join("manifest.json")
    }
    pub fn images(&self) -> PathBuf {
        self.root.join("images.bin")
    }
    pub fn metadata(&self) -> PathBuf {
        self.root.join("metadata.bin")
    }
    /// The JSON lists of caches written before the string tables (still read).
    pub fn legacy_lists(&self) -> [PathBuf; 2] {
        [
            self.root.join("images.json"),
            self.root.join("metadata.json"),
        ]
    }
    pub fn members(&self) -> PathBuf {
        self.root.join("members.bin")
    }
    /// Members of tar shards written out for the system's image viewer.
    pub fn opened(&self) -> PathBuf {
        self.root.join("opened")
    }
    pub fn thumbs(&self) -> PathBuf {
        self.root.join("thumbs")
    }
    pub fn chunks(&self) -> PathBuf {
        self.thumbs().join("chunks")
    }
    /// The thumbnail store for large levels of `large_px`: `thumbs/chunks` for the default,
    /// `thumbs/chunks-PX` for others (a chunk holds one size).
    pub fn chunks_for(&self, large_px: u32) -> PathBuf {
        if large_px == crate::thumbs::LARGE_PX {
            self.chunks()
        } else {
            self.thumbs().join(format!("chunks-{large_px}"))
        }
    }
    pub fn thumb_index(&self) -> PathBuf {
        self.thumbs().join("index.bin")
    }
    pub fn page(&self, page: u32) -> PathBuf {
        self.thumbs().join(format!("page_{page:04}.bc1"))
    }
    pub fn appearance(&self) -> PathBuf {
        self.root.join("embeddings").join("appearance.npy")
    }
    pub fn layout_file(name: &str) -> String {
        format!("layouts/{name}.npy")
    }

    /// Reads the manifest, if there is a current one.
    pub fn read_manifest(&self) -> Result<Manifest, CacheError> {
        let path = self.manifest();
        let bytes = std::fs::read(&path).map_err(|_| CacheError::NotPrepared {
            path: self.root.clone(),
        })?;
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| CacheError::Corrupt {
                path: path.clone(),
                why: e.to_string(),
            })?;
        let found = value
            .get("format_version")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0) as u32;
        if found != FORMAT_VERSION {
            return Err(CacheError::Version { path, found });
        }
        serde_json::from_value(value).map_err(|e| CacheError::Corrupt {
            path,
            why: e.to_string(),
        })
    }

    /// Writes `value` as JSON, atomically.
    pub fn write_json<T: Serialize>(&self, path: &Path, value: &T) -> Result<(), CacheError> {
        atomic_write_with(path, |w| {
            serde_json::to_writer(w, value).map_err(std::io::Error::other)
        })
        .map_err(io_err(path))
    }

    /// Writes an N×2 layout, atomically.
    pub fn write_layout(&self, name: &str, positions: &[Vec2]) -> Result<String, CacheError> {
        let file = Self::layout_file(name);
        let flat: Vec<f32> = bytemuck::cast_slice(positions).to_vec();
        self.write_matrix(&self.root.join(&file), 2, flat)?;
        Ok(file)
    }

    /// Reads an N×2 layout file written by [`CacheDir::write_layout`].
    pub fn read_layout(&self, file: &str) -> Result<Vec<Vec2>, CacheError> {
        let path = self.root.join(file);
        let map = map_file(&path)?;
        let view = ndarray::ArrayView2::<f32>::view_npy(&map).map_err(|e| CacheError::Corrupt {
            path: path.clone(),
            why: e.to_string(),
        })?;
        if view.ncols() != 2 {
            return Err(CacheError::Corrupt {
                path,
                why: format!("has {} columns, expected 2", view.ncols()),
            });
        }
        Ok(view
            .rows()
            .into_iter()
            .map(|r| Vec2::new(r[0], r[1]))
            .collect())
    }

    /// Writes every image's cluster number as an int32 `.npy`, atomically.
    pub fn write_assignment(&self, file: &str, clusters: &[i32]) -> Result<(), CacheError> {
        let path = self.root.join(file);
        let array = ndarray::Array1::from_vec(clusters.to_vec());
        atomic_write_with(&path, |w| array.write_npy(w).map_err(std::io::Error::other))
            .map_err(io_err(&path))
    }

    /// The file of the finer groups' assignment beside a hotspot assignment `file`.
    pub fn finer_file(file: &str) -> String {
        match file.strip_suffix(".npy") {
            Some(stem) => format!("{stem}.finer.npy"),
            None => format!("{file}.finer"),
        }
    }

    /// Reads a file written by [`CacheDir::write_assignment`].
    pub fn read_assignment(&self, file: &str) -> Result<Vec<i32>, CacheError> {
        let path = self.root.join(file);
        let map = map_file(&path)?;
        let view = ndarray::ArrayView1::<i32>::view_npy(&map).map_err(|e| CacheError::Corrupt {
            path: path.clone(),
            why: e.to_string(),
        })?;
        Ok(view.to_vec())
    }

    /// Reads a JSON file of the cache.
    /// Hotspots recorded as `info` in the manifest, with every image's cluster (`images`
    /// of them).
    pub fn read_hotspots(
        &self,
        info: &LayoutInfo,
        images: usize,
    ) -> Result<crate::cluster::Hotspots, CacheError> {
        let mut hotspots: crate::cluster::Hotspots = match &info.extras {
            Some(file) => self.read_json(file)?,
            None => Default::default(),
        };
        hotspots.assignment = self.read_assignment(&info.file)?;
        // Caches from before the finer groups have none: no zoom labels, nothing wrong.
        let finer = Self::finer_file(&info.file);
        hotspots.finer_assignment = match self.read_assignment(&finer) {
            Ok(a) if a.len() == images => a,
            _ => {
                hotspots.finer.clear();
                vec![-1; images]
            }
        };
        if hotspots.assignment.len() != images {
            return Err(CacheError::Corrupt {
                path: self.root.join(&info.file),
                why: format!(
                    "has {} entries for {} images",
                    hotspots.assignment.len(),
                    images
                ),
            });
        }
        Ok(hotspots)
    }

    pub fn read_json<T: serde::de::DeserializeOwned>(&self, file: &str) -> Result<T, CacheError> {
        let path = self.root.join(file);
        let bytes = std::fs::read(&path).map_err(io_err(&path))?;
        serde_json::from_slice(&bytes).map_err(|e| CacheError::Corrupt {
            path,
            why: e.to_string(),
        })
    }

    /// Writes a k-NN graph as `neighbours.npy` (N×k u32) and `neighbour_distances.npy`.
    pub fn write_neighbours(
        &self,
        graph: &crate::layout::knn::KnnGraph,
    ) -> Result<String, CacheError> {
        let file = "neighbours.npy".to_string();
        let path = self.root.join(&file);
        let shape = (graph.len(), graph.k);
        let indices = Array2::from_shape_vec(shape, graph.indices.clone()).map_err(|e| {
            CacheError::Corrupt {
                path: path.clone(),
                why: e.to_string(),
            }
        })?;
        atomic_write_with(&path, |w| {
            indices.write_npy(w).map_err(std::io::Error::other)
        })
        .map_err(io_err(&path))?;
        self.write_matrix(
            &self.root.join("neighbour_distances.npy"),
            graph.k,
            graph.distances.clone(),
        )?;
        Ok(file)
    }

    /// Reads back the graph [`Self::write_neighbours`] wrote.
    pub fn read_neighbours(&self) -> Result<crate::layout::knn::KnnGraph, CacheError> {
        let path = self.root.join("neighbours.npy");
        let dist_path = self.root.join("neighbour_distances.npy");
        let (map, dist_map) = (map_file(&path)?, map_file(&dist_path)?);
        let corrupt = |path: &Path, e: ndarray_npy::ViewNpyError| CacheError::Corrupt {
            path: path.to_path_buf(),
            why: e.to_string(),
        };
        let indices = ndarray::ArrayView2::<u32>::view_npy(&map).map_err(|e| corrupt(&path, e))?;
        let distances =
            ndarray::ArrayView2::<f32>::view_npy(&dist_map).map_err(|e| corrupt(&dist_path, e))?;
        if indices.dim() != distances.dim() {
            return Err(CacheError::Corrupt {
                path: dist_path,
                why: "does not match neighbours.npy".into(),
            });
        }
        Ok(crate::layout::knn::KnnGraph {
            k: indices.ncols(),
            indices: indices.iter().copied().collect(),
            distances: distances.iter().copied().collect(),
        })
    }

    /// Writes a row-major rows×`cols` f32 matrix as `.npy`, atomically.
    pub fn write_matrix(&self, path: &Path, cols: usize, data: Vec<f32>) -> Result<(), CacheError> {
        let rows = data.len().checked_div(cols).unwrap_or(0);
        let array =
            Array2::from_shape_vec((rows, cols), data).map_err(|e| CacheError::Corrupt {
                path: path.to_path_buf(),
                why: e.to_string(),
            })?;
        atomic_write_with(path, |w| array.write_npy(w).map_err(std::io::Error::other))
            .map_err(io_err(path))
    }
}

/// A prepared dataset opened for viewing or export: small parts read, big parts mapped.
pub struct PreparedDataset {
    pub dir: CacheDir,
    /// The one copy of the manifest an open dataset has: swapped whole when a background
    /// prepare rewrites it ([`PreparedDataset::set_manifest`]), so every reader (lightbox
    /// neighbours, export, layout switches) sees the layouts that have landed since opening.
    manifest: std::sync::RwLock<Arc<Manifest>>,
    /// Relative path of each image (row order of every array).
    pub images: strings::Names,
    pub metadata: strings::Metadata,
    thumb_index: Mmap,
    pages: Vec<Mmap>,
}

impl PreparedDataset {
    /// Opens the cache at `root`.
    pub fn open(root: &Path) -> Result<Self, CacheError> {
        let dir = CacheDir::new(root);
        let manifest = dir.read_manifest()?;
        let corrupt = |path: PathBuf, why: String| CacheError::Corrupt { path, why };
        let (images, metadata) = if dir.images().is_file() {
            let images = strings::Names::Mapped(strings::Strings::open(&dir.images())?);
            let columns = strings::Strings::open(&dir.metadata())?;
            let metadata = strings::Metadata::mapped(columns, images.len(), &dir.metadata())?;
            (images, metadata)
        } else {
            let [images_json, metadata_json] = dir.legacy_lists();
            let read = |path: &Path| std::fs::read(path).map_err(io_err(path));
            let images: Vec<String> = serde_json::from_slice(&read(&images_json)?)
                .map_err(|e| corrupt(images_json.clone(), e.to_string()))?;
            let (columns, cells): (Vec<String>, Vec<Vec<String>>) =
                serde_json::from_slice(&read(&metadata_json)?)
                    .map_err(|e| corrupt(metadata_json.clone(), e.to_string()))?;
            let metadata = strings::Metadata::owned(Table { columns, cells });
            (strings::Names::Owned(images), metadata)
        };
        if images.len() != manifest.image_count {
            return Err(corrupt(
                dir.images(),
                format!(
                    "lists {} images, the manifest {}",
                    images.len(),
                    manifest.image_count
                ),
            ));
        }
        let thumb_index = map_file(&dir.thumb_index())?;
        let expected = 16 + images.len() * size_of::<ThumbRecord>();
        if thumb_index.len() != expected || &thumb_index[..8] != INDEX_MAGIC {
            return Err(corrupt(
                dir.thumb_index(),
                "does not match the image list".into(),
            ));
        }
        let page_count = manifest.thumbs.as_ref().map_or(0, |t| t.pages);
        let pages = (0..page_count)
            .map(|p| map_file(&dir.page(p)))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(p) = pages
            .iter()
            .position(|m| m.len() < crate::thumbs::atlas::PAGE_BYTES)
        {
            return Err(corrupt(dir.page(p as u32), "is truncated".into()));
        }
        Ok(Self {
            dir,
            manifest: std::sync::RwLock::new(Arc::new(manifest)),
            images,
            metadata,
            thumb_index,
            pages,
        })
    }

    pub fn len(&self) -> usize {
        self.images.len()
    }

    /// The manifest as last read or swapped in.
    pub fn manifest(&self) -> Arc<Manifest> {
        self.manifest
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Replaces the manifest (the same images; a prepare added or replaced layouts).
    pub fn set_manifest(&self, manifest: Manifest) {
        *self
            .manifest
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(manifest);
    }

    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }

    /// Per-image thumbnail records.
    pub fn thumb_records(&self) -> &[ThumbRecord] {
        bytemuck::try_cast_slice(&self.thumb_index[16..]).unwrap_or(&[])
    }

    /// BC1 bytes of atlas page `p`.
    /// Level 0 of atlas page `p` (BC1, uploadable as it is).
    pub fn page(&self, p: usize) -> &[u8] {
        let page = &self.pages[p];
        &page[..page.len().min(crate::thumbs::atlas::PAGE_BYTES)]
    }

    /// Mip levels 1.. of atlas page `p`, one after the other (see `atlas::build_mips`);
    /// `None` for pages packed before they had them.
    pub fn page_mips(&self, p: usize) -> Option<&[u8]> {
        use crate::thumbs::atlas::{MIP_BYTES, PAGE_BYTES};
        let page = &self.pages[p];
        (page.len() == PAGE_BYTES + MIP_BYTES).then(|| &page[PAGE_BYTES..])
    }
    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    /// Labels, cell size and outlines of layout `name`, when it has any.
    pub fn layout_extras(&self, name: &str) -> Option<crate::layout::meta::LabelledLayout> {
        let manifest = self.manifest();
        let file = manifest.layouts.get(name)?.extras.as_ref()?;
        self.dir.read_json(file).ok()
    }

    /// The hotspots found in layout `name` (prepare finds them in "umap"), with every
    /// image's cluster.
    pub fn hotspots(&self, name: &str) -> Result<Option<crate::cluster::Hotspots>, CacheError> {
        let manifest = self.manifest();
        let Some(info) = manifest.clusters.get(name) else {
            return Ok(None);
        };
        self.dir.read_hotspots(info, self.len()).map(Some)
    }

    /// Names of the cached layouts.
    pub fn layout_names(&self) -> Vec<String> {
        self.manifest().layouts.keys().cloned().collect()
    }

    /// Positions of layout `name`, one per image.
    pub fn layout(&self, name: &str) -> Result<Vec<Vec2>, CacheError> {
        let manifest = self.manifest();
        let info = manifest.layouts.get(name).ok_or_else(|| {
            CacheError::NoLayout(crate::layout::kind::missing_message(
                name,
                &self.layout_names(),
            ))
        })?;
        let path = self.dir.root.join(&info.file);
        let map = map_file(&path)?;
        let corrupt = |why: String| CacheError::Corrupt {
            path: path.clone(),
            why,
        };
        let view =
            ndarray::ArrayView2::<f32>::view_npy(&map).map_err(|e| corrupt(e.to_string()))?;
        if view.dim() != (self.len(), 2) {
            return Err(corrupt(format!(
                "has shape {:?}, expected ({}, 2)",
                view.dim(),
                self.len()
            )));
        }
        Ok(view
            .rows()
            .into_iter()
            .map(|r| Vec2::new(r[0], r[1]))
            .collect())
    }

    /// The most similar images of image `i`, nearest first (empty until computed).
    pub fn neighbours_of(&self, i: usize) -> Result<Vec<u32>, CacheError> {
        let manifest = self.manifest();
        let Some(info) = &manifest.neighbours else {
            return Ok(Vec::new());
        };
        let path = self.dir.root.join(&info.file);
        let map = map_file(&path)?;
        let view = ndarray::ArrayView2::<u32>::view_npy(&map).map_err(|e| CacheError::Corrupt {
            path: path.clone(),
            why: e.to_string(),
        })?;
        if view.nrows() != self.len() || i >= self.len() {
            return Err(CacheError::Corrupt {
                path,
                why: format!("has {} rows for {} images", view.nrows(), self.len()),
            });
        }
        Ok(view.row(i).to_vec())
    }

    /// The layout the hotspots were found in ([`hotspot_source`]).
    pub fn hotspot_source(&self) -> String {
        hotspot_source(&self.manifest())
    }

    /// Where image `i`'s bytes are: its file, or its stretch of a tar shard.
    pub fn source(&self, i: usize) -> Result<ImageSource, CacheError> {
        let rel = self.images.get(i).ok_or_else(|| CacheError::Corrupt {
            path: self.dir.images(),
            why: format!("has no image {i}"),
        })?;
        let images_dir = PathBuf::from(&self.manifest().images_dir);
        members::source(&self.dir.members(), &images_dir, i, rel)
    }

    /// The large thumbnail of image `i`, still encoded (JPEG or PNG).
    pub fn large_thumb_bytes(&self, i: usize) -> Result<Vec<u8>, CacheError> {
        use std::io::{Read as _, Seek as _};
        let r = self.thumb_records()[i];
        let large_px = self
            .manifest()
            .thumbs
            .as_ref()
            .map_or(crate::thumbs::LARGE_PX, |t| t.large_px);
        let path = thumbstore::chunk_path(&self.dir.chunks_for(large_px), r.chunk, "large");
        let mut f = std::fs::File::open(&path).map_err(io_err(&path))?;
        f.seek(std::io::SeekFrom::Start(r.large_offset))
            .map_err(io_err(&path))?;
        let mut buf = vec![0u8; r.large_len as usize];
        f.read_exact(&mut buf).map_err(io_err(&path))?;
        Ok(buf)
    }
}

/// The layout the hotspots were found in: UMAP's, else the one prepare found them in
/// (the given coordinates with `--no-umap`).
pub fn hotspot_source(manifest: &Manifest) -> String {
    let umap = crate::layout::kind::HOTSPOT_SOURCE;
    if manifest.clusters.contains_key(umap) {
        return umap.to_string();
    }
    manifest
        .clusters
        .keys()
        .next()
        .cloned()
        .unwrap_or_else(|| umap.to_string())
}

fn map_file(path: &Path) -> Result<Mmap, CacheError> {
    let f = std::fs::File::open(path).map_err(io_err(path))?;
    // SAFETY: cache files are only ever replaced by rename, never modified in place, so
    // the mapped bytes do not change under us.
    #[allow(unsafe_code)]
    unsafe { Mmap::map(&f) }.map_err(io_err(path))
}

/// A stable 64-bit FNV-1a hash, for fingerprints that must not change between builds.
#[derive(Clone, Copy, Debug)]
pub struct Fingerprint(u64);

impl Default for Fingerprint {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Fingerprint {
    pub fn add(&mut self, bytes: &[u8]) -> &mut Self {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
        // Separator so that ("ab","c") and ("a","bc") differ.
        self.0 ^= 0xff;
        self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        self
    }
    pub fn add_str(&mut self, s: &str) -> &mut Self {
        self.add(s.as_bytes())
    }
    pub fn add_u64(&mut self, v: u64) -> &mut Self {
        self.add(&v.to_le_bytes())
    }
    pub fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumb_record_layout_is_fixed() {
        assert_eq!(size_of::<ThumbRecord>(), 48);
        let r = ThumbRecord {
            page: 3,
            large_offset: 1 << 40,
            ..Default::default()
        };
        let bytes = encode_thumb_index(&[r, r]);
        let back: &[ThumbRecord] = bytemuck::try_cast_slice(&bytes[16..]).unwrap();
        assert_eq!(back, &[r, r]);
    }

    #[test]
    fn fingerprint_separates_fields() {
        let a = Fingerprint::default().add_str("ab").add_str("c").hex();
        let b = Fingerprint::default().add_str("a").add_str("bc").hex();
        assert_ne!(a, b);
    }
}
