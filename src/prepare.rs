//! Prepare: turn a dataset's inputs into a cache the viewer opens in under a second.
//!
//! Stages, each skipped when its inputs have not changed since the last run:
//! 1. scan — find and join images, embeddings and metadata ([`crate::dataset`]);
//! 2. thumbnails — decode new or changed images on the rayon pool, in crash-safe chunks;
//! 3. atlas — pack the small level into BC1 pages, write the per-image index;
//! 4. pca — the linear layout of all shown images;
//! 5. neighbours — the 20 most similar images of every image (NN-descent, cosine);
//! 6. umap — the UMAP layout, from the same neighbour graph.
//!
//! The CLI and the viewer both call [`prepare`]; progress comes out through [`Progress`].

use glam::Vec2;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;

use crate::cache::thumbstore::{ChunkData, FileKey, StoredThumb, ThumbStore};
use crate::cache::{
    CACHE_DIR_NAME, CacheDir, CacheError, EmbeddingOrigin, FORMAT_VERSION, Fingerprint, LayoutInfo,
    Manifest, ThumbRecord, ThumbsInfo, atomic_write, encode_thumb_index,
};
use crate::cluster::{HotspotParams, hotspots};
use crate::dataset::{Dataset, DatasetError, DatasetOptions, EmbeddingInput, Skipped, Table};
use crate::layout::knn::neighbour_graph;
use crate::layout::meta::{LabelledLayout, geojson_outlines, metadata_layouts};
use crate::layout::umap::{UmapMonitor, UmapParams, umap_2d_monitored, umap_knn};
use crate::layout::{DenseRows, Rows, grid, pca_2d};
use crate::thumbs::{APPEARANCE_DIM, LARGE_PX, atlas, make_thumb};

/// Receives progress from long-running stages. Implementations must be cheap to call.
pub trait Progress: Sync {
    /// A stage starts; `total` is its number of steps (0 when unknown).
    fn begin(&self, stage: &str, total: u64);
    /// `n` more steps of the current stage are done.
    fn advance(&self, n: u64);
    /// The current stage is done.
    fn end(&self);
    /// Polled between stages, image batches and UMAP epochs: `true` stops the prepare with
    /// [`PrepareError::Cancelled`]; what was finished stays cached and the next run resumes.
    fn cancelled(&self) -> bool {
        false
    }
    /// How often (in UMAP epochs) [`Progress::layout_snapshot`] is called; 0: never.
    fn snapshot_every(&self) -> usize {
        0
    }
    /// Intermediate positions of a layout being optimised (normalised like the result), so a
    /// viewer can animate UMAP while it converges.
    fn layout_snapshot(&self, _layout: &str, _epoch: usize, _positions: &[Vec2]) {}
    /// Layout `name` (or "hotspots") is written and the manifest on disk names it.
    fn layout_ready(&self, _name: &str) {}
}

/// Progress that goes nowhere (tests, libraries).
pub struct NoProgress;

impl Progress for NoProgress {
    fn begin(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
    fn end(&self) {}
}

/// Runs `f` as a progress stage of unknown length.
fn spin<T>(progress: &dyn Progress, name: &str, f: impl FnOnce() -> T) -> T {
    progress.begin(name, 0);
    let out = f();
    progress.end();
    out
}

/// Shows a UMAP run's epochs as a progress stage named "umap".
pub struct UmapProgress<'a> {
    progress: &'a dyn Progress,
    started: std::sync::Once,
    total: u64,
}

impl<'a> UmapProgress<'a> {
    pub fn new(progress: &'a dyn Progress, n: usize, params: &UmapParams) -> Self {
        Self {
            progress,
            started: std::sync::Once::new(),
            total: params.epochs_for(n) as u64,
        }
    }
}

impl UmapMonitor for UmapProgress<'_> {
    fn epoch_done(&self, done: usize, total: usize) -> bool {
        self.started
            .call_once(|| self.progress.begin("umap", self.total));
        self.progress.advance(1);
        if done == total {
            self.progress.end();
        }
        !self.progress.cancelled()
    }
    fn snapshot_every(&self) -> usize {
        self.progress.snapshot_every()
    }
    fn snapshot(&self, epoch: usize, positions: &[Vec2]) {
        self.progress.layout_snapshot("umap", epoch, positions);
    }
}

/// Similar images kept per image, for the lightbox and "similar images".
pub const NEIGHBOURS_K: usize = 20;

/// Version of the atlas pages' layout, in their fingerprint: 2 added the mip levels after
/// level 0, so pages of older caches are packed again (from the stored cells, no decoding).
const ATLAS_VERSION: u32 = 2;

/// What to prepare and how.
#[derive(Clone, Debug)]
pub struct PrepareOptions {
    pub dataset: DatasetOptions,
    /// Stop after thumbnails and atlas pages (benchmarks).
    pub only_thumbs: bool,
    /// Long side of the large thumbnail level.
    pub large_px: u32,
    pub seed: u64,
    pub umap: UmapParams,
    pub hotspots: HotspotParams,
    /// GeoJSON outlines for the geographic layout [default: DATASET/outlines.geojson].
    pub geojson: Option<PathBuf>,
}

impl PrepareOptions {
    pub fn new(dataset: DatasetOptions) -> Self {
        Self {
            dataset,
            only_thumbs: false,
            large_px: LARGE_PX,
            seed: 42,
            umap: UmapParams::default(),
            hotspots: HotspotParams::default(),
            geojson: None,
        }
    }
}

/// Everything that can stop a prepare.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error("{path}: {source}", path = .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("none of the {found} images could be thumbnailed (first reason: {reason})")]
    NoUsableImages { found: usize, reason: String },
    #[error("cancelled; what was finished is cached, and the next prepare resumes from there")]
    Cancelled,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PrepareError + '_ {
    move |source| PrepareError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What a prepare did.
#[derive(Clone, Debug)]
pub struct PrepareReport {
    pub cache_dir: PathBuf,
    /// Images on the map.
    pub images: usize,
    /// Images thumbnailed in this run (the rest came from the cache).
    pub thumbnailed: usize,
    pub skipped: Vec<Skipped>,
    pub notices: Vec<String>,
    pub stage_seconds: Vec<(String, f64)>,
    pub embedding_origin: EmbeddingOrigin,
}

/// The cache folder for these options: `--cache`, else `DATASET/.clip-plot`.
pub fn cache_dir_for(opts: &DatasetOptions) -> PathBuf {
    opts.cache
        .clone()
        .map(|c| crate::dataset::paths::absolute(&c))
        .unwrap_or_else(|| crate::dataset::paths::absolute(&opts.root).join(CACHE_DIR_NAME))
}

/// The notice shown when a dataset has no embeddings.
pub const APPEARANCE_NOTICE: &str = "no embeddings found: the map shows look-alikes (colour, layout, texture), not meaning. For semantic embeddings run: clip-retrieval inference --input_dataset IMAGES --output_folder DATASET/embeddings";

/// Runs every stage that is out of date.
pub fn prepare(
    opts: &PrepareOptions,
    progress: &dyn Progress,
) -> Result<PrepareReport, PrepareError> {
    let mut stage_seconds = Vec::new();
    let mut timer = Instant::now();
    let mut lap = |name: &str, stage_seconds: &mut Vec<(String, f64)>| {
        stage_seconds.push((name.to_string(), timer.elapsed().as_secs_f64()));
        timer = Instant::now();
    };

    progress.begin("scan", 0);
    let cache_root = cache_dir_for(&opts.dataset);
    let mut dataset_opts = opts.dataset.clone();
    dataset_opts.cache = Some(cache_root.clone());
    let dataset = Dataset::open(&dataset_opts)?;
    progress.end();
    lap("scan", &mut stage_seconds);

    std::fs::create_dir_all(&cache_root).map_err(io(&cache_root))?;
    let cache = CacheDir::new(&cache_root);
    crate::cache::atomic::clean_temp_files(&cache_root);
    let previous = cache.read_manifest().ok();

    // Thumbnails: only images whose (path, size, mtime) the store has not seen.
    let chunks_dir = cache.chunks();
    let mut store = ThumbStore::open(&chunks_dir).map_err(io(&chunks_dir))?;
    let keys: Vec<FileKey> = dataset
        .images
        .iter()
        .map(|image| FileKey {
            rel: image.rel.clone(),
            size: image.size,
            mtime_ns: image.mtime_ns,
        })
        .collect();
    let todo: Vec<usize> = (0..keys.len())
        .filter(|&i| store.get(&keys[i]).is_none())
        .collect();
    progress.begin("thumbnails", todo.len() as u64);
    // Decoding runs on the rayon pool; a writer thread stores finished chunks meanwhile, so
    // the pool never waits for the disk.
    std::thread::scope(|scope| -> Result<(), PrepareError> {
        let (send, receive) = std::sync::mpsc::sync_channel::<Vec<_>>(1);
        let store = &mut store;
        let chunks_dir = &chunks_dir;
        let writer = scope.spawn(move || -> Result<(), PrepareError> {
            for results in receive {
                store.write_chunk(results).map_err(io(chunks_dir))?;
            }
            Ok(())
        });
        for batch in todo.chunks(crate::cache::thumbstore::CHUNK_IMAGES) {
            if progress.cancelled() {
                break; // finished chunks are stored; checked again below
            }
            let results: Vec<_> = batch
                .par_iter()
                .map(|&i| {
                    let thumb = make_thumb(&dataset.images[i].abs, opts.large_px);
                    progress.advance(1);
                    (keys[i].clone(), thumb)
                })
                .collect();
            if send.send(results).is_err() {
                break; // the writer failed; its error is reported below
            }
        }
        drop(send);
        writer.join().unwrap_or_else(|_| {
            Err(PrepareError::Io {
                path: chunks_dir.clone(),
                source: std::io::Error::other("the chunk writer thread panicked"),
            })
        })
    })?;
    progress.end();
    if progress.cancelled() {
        return Err(PrepareError::Cancelled);
    }
    lap("thumbnails", &mut stage_seconds);

    // Which images make it onto the map.
    let mut skipped = dataset.skipped.clone();
    let mut shown: Vec<(usize, u32, StoredThumb)> = Vec::with_capacity(dataset.images.len());
    for (i, key) in keys.iter().enumerate() {
        let rel = &dataset.images[i].rel;
        match store.get(key).map(|r| (r.chunk, &r.result)) {
            Some((chunk, Ok(stored))) => shown.push((i, chunk, stored.clone())),
            Some((_, Err(reason))) => skipped.push(Skipped {
                path: rel.clone(),
                reason: reason.clone(),
            }),
            None => skipped.push(Skipped {
                path: rel.clone(),
                reason: "was not thumbnailed".into(),
            }),
        }
    }
    if shown.is_empty() {
        let reason = skipped.first().map_or_else(
            || "unknown".to_string(),
            |s| format!("{}: {}", s.path, s.reason),
        );
        return Err(PrepareError::NoUsableImages {
            found: dataset.images.len(),
            reason,
        });
    }

    // Atlas pages and the index, unless exactly these thumbnails were packed before.
    progress.begin("atlas", shown.len() as u64);
    let mut fp = Fingerprint::default();
    fp.add_u64(u64::from(FORMAT_VERSION))
        .add_u64(u64::from(ATLAS_VERSION))
        .add_u64(u64::from(opts.large_px));
    for (i, chunk, stored) in &shown {
        fp.add_str(&dataset.images[*i].rel)
            .add_u64(u64::from(*chunk))
            .add_u64(u64::from(stored.slot));
    }
    let thumbs_fingerprint = fp.hex();
    let pages = shown.len().div_ceil(atlas::CELLS_PER_PAGE as usize) as u32;
    let thumbs_current = previous.as_ref().is_some_and(|m| {
        m.thumbs
            .as_ref()
            .is_some_and(|t| t.fingerprint == thumbs_fingerprint)
    }) && cache.thumb_index().is_file()
        && (0..pages).all(|p| cache.page(p).is_file());
    let needs_appearance = dataset.embeddings.is_none();
    let mut chunk_ids: Vec<u32> = shown.iter().map(|s| s.1).collect();
    chunk_ids.sort_unstable();
    chunk_ids.dedup();
    let chunk_data: std::collections::HashMap<u32, ChunkData> =
        if thumbs_current && !needs_appearance {
            Default::default()
        } else {
            chunk_ids
                .par_iter()
                .map(|&c| store.read_chunk_data(c, needs_appearance).map(|d| (c, d)))
                .collect::<Result<_, _>>()
                .map_err(io(&chunks_dir))?
        };
    if !thumbs_current {
        let records: Vec<ThumbRecord> = shown
            .iter()
            .enumerate()
            .map(|(j, (_, chunk, s))| {
                let (page, x, y) = atlas::cell_of(j);
                ThumbRecord {
                    page,
                    cell_x: x as u16,
                    cell_y: y as u16,
                    small_w: s.small_w,
                    small_h: s.small_h,
                    large_w: s.large_w,
                    large_h: s.large_h,
                    chunk: *chunk,
                    large_format: s.large_format as u32,
                    large_offset: s.large_offset,
                    large_len: s.large_len,
                    source_w: s.source_w,
                    source_h: s.source_h,
                    reserved: 0,
                }
            })
            .collect();
        let per_page = atlas::CELLS_PER_PAGE as usize;
        shown
            .par_chunks(per_page)
            .enumerate()
            .try_for_each(|(p, members)| {
                let mut page = atlas::empty_page();
                let mut cells = Vec::with_capacity(members.len());
                for (k, (_, chunk, stored)) in members.iter().enumerate() {
                    let (_, x, y) = atlas::cell_of(p * per_page + k);
                    if let Some(data) = chunk_data.get(chunk) {
                        atlas::place_cell(&mut page, data.cell(stored.slot), x, y);
                        let (w, h) = (u32::from(stored.small_w), u32::from(stored.small_h));
                        cells.push((x, y, w, h));
                    }
                }
                // Its mip levels follow level 0 in the same file.
                let mips = atlas::build_mips(&page, &cells);
                page.extend_from_slice(&mips);
                progress.advance(members.len() as u64);
                let path = cache.page(p as u32);
                atomic_write(&path, &page).map_err(io(&path))
            })?;
        let path = cache.thumb_index();
        atomic_write(&path, &encode_thumb_index(&records)).map_err(io(&path))?;
    }
    let shown_images: Vec<String> = shown
        .iter()
        .map(|(i, _, _)| dataset.images[*i].rel.clone())
        .collect();
    cache.write_json(&cache.images(), &shown_images)?;
    let metadata = Table {
        columns: dataset.metadata.columns.clone(),
        cells: dataset
            .metadata
            .cells
            .iter()
            .map(|col| shown.iter().map(|(i, _, _)| col[*i].clone()).collect())
            .collect(),
    };
    cache.write_json(&cache.metadata(), &(&metadata.columns, &metadata.cells))?;
    progress.end();
    lap("atlas", &mut stage_seconds);

    // Embeddings for the shown images: the user's, or our appearance features.
    let mut notices = dataset.notices.clone();
    let shown_rows: Vec<usize> = shown.iter().map(|(i, _, _)| *i).collect();
    let (origin, dense_appearance) = match &dataset.embeddings {
        Some(_) => (EmbeddingOrigin::Provided, None),
        None => {
            notices.push(APPEARANCE_NOTICE.to_string());
            let mut data = Vec::with_capacity(shown.len() * APPEARANCE_DIM);
            for (_, chunk, stored) in &shown {
                match chunk_data.get(chunk) {
                    Some(d) => data.extend_from_slice(d.appearance(stored.slot)),
                    None => data.extend_from_slice(&[0.0; APPEARANCE_DIM]),
                }
            }
            cache.write_matrix(&cache.appearance(), APPEARANCE_DIM, data.clone())?;
            (EmbeddingOrigin::Appearance, Some(data))
        }
    };
    let selected;
    let rows: &dyn Rows = match (&dataset.embeddings, &dense_appearance) {
        (Some(e), _) => {
            selected = SelectedRows {
                inner: e,
                rows: &shown_rows,
            };
            &selected
        }
        (None, Some(d)) => &DenseRows::new(d, APPEARANCE_DIM),
        (None, None) => &DenseRows::new(&[], 1),
    };

    // The manifest names what is on disk so far: written after every stage, so the viewer
    // shows each layout as it lands and an interrupted run keeps what it finished.
    skipped.sort_by(|a, b| a.path.cmp(&b.path));
    let write_manifest = |layouts: &std::collections::BTreeMap<String, LayoutInfo>,
                          neighbours: &Option<LayoutInfo>,
                          clusters: &std::collections::BTreeMap<String, LayoutInfo>,
                          notices: &[String],
                          stage_seconds: &[(String, f64)],
                          partial: bool|
     -> Result<(), PrepareError> {
        // While stages are still to run, the previous run's entries for them stay listed
        // when the images are the same (their files are valid positions for these images;
        // the stage replaces them if its inputs changed): a run stopped early loses nothing
        // and the viewer keeps every layout in its list.
        let mut layouts = layouts.clone();
        let mut clusters = clusters.clone();
        let mut neighbours = neighbours.clone();
        if partial
            && let Some(prev) = previous.as_ref().filter(|m| {
                m.thumbs.as_ref().map(|t| &t.fingerprint) == Some(&thumbs_fingerprint)
                    && m.image_count == shown_images.len()
            })
        {
            for (k, v) in &prev.layouts {
                layouts.entry(k.clone()).or_insert_with(|| v.clone());
            }
            for (k, v) in &prev.clusters {
                clusters.entry(k.clone()).or_insert_with(|| v.clone());
            }
            if neighbours.is_none() {
                neighbours.clone_from(&prev.neighbours);
            }
        }
        let display = |p: &Path| p.display().to_string();
        let manifest = Manifest {
            format_version: FORMAT_VERSION,
            generator: format!("clip-plot {}", env!("CARGO_PKG_VERSION")),
            dataset_root: display(&dataset.paths.root),
            images_dir: display(&dataset.paths.images),
            embeddings: dataset.paths.embeddings.as_ref().map(|e| match e {
                EmbeddingInput::ClipRetrieval(p) | EmbeddingInput::PerImage(p) => display(p),
                EmbeddingInput::Matrix { npy, .. } => display(npy),
            }),
            metadata: dataset.paths.metadata.as_deref().map(display),
            logo: dataset.paths.logo.as_deref().map(display),
            image_count: shown_images.len(),
            embedding_dim: rows.dim(),
            embedding_origin: origin,
            thumbs: Some(ThumbsInfo {
                fingerprint: thumbs_fingerprint.clone(),
                pages,
                page_px: atlas::PAGE_PX,
                cell_px: atlas::CELL_PX,
                large_px: opts.large_px,
                page_format: "bc1-rgba-srgb".into(),
            }),
            layouts,
            neighbours,
            clusters,
            skipped: skipped.clone(),
            notices: notices.to_vec(),
            stage_seconds: stage_seconds.iter().cloned().collect(),
        };
        cache.write_json(&cache.manifest(), &manifest)?;
        Ok(())
    };

    // A stage finished: name what it wrote in the manifest, then tell the viewer.
    let checkpoint = |name: &str,
                      layouts: &std::collections::BTreeMap<String, LayoutInfo>,
                      neighbours: &Option<LayoutInfo>,
                      clusters: &std::collections::BTreeMap<String, LayoutInfo>,
                      notices: &[String],
                      stage_seconds: &[(String, f64)]|
     -> Result<(), PrepareError> {
        write_manifest(layouts, neighbours, clusters, notices, stage_seconds, true)?;
        if layouts.contains_key(name) || (name == "hotspots" && !clusters.is_empty()) {
            progress.layout_ready(name);
        }
        Ok(())
    };
    // PCA and the neighbour table, unless computed before from the same images and
    // embeddings.
    let inputs_fingerprint = |tag: &str, params: &[u64]| {
        let mut fp = Fingerprint::default();
        fp.add_str(tag);
        for p in params {
            fp.add_u64(*p);
        }
        for rel in &shown_images {
            fp.add_str(rel);
        }
        match &dataset.paths.embeddings {
            Some(input) => fingerprint_embeddings(input, &mut fp),
            None => {
                fp.add_str(&thumbs_fingerprint);
            }
        }
        fp.hex()
    };
    let is_current = |info: &LayoutInfo, fingerprint: &str| {
        info.fingerprint == fingerprint && cache.root.join(&info.file).is_file()
    };
    let mut layouts = std::collections::BTreeMap::new();
    // A layout stage: reuse the previous run's file when its inputs and parameters match,
    // else compute, write and record it. `compute` reports its own progress.
    let layout_stage = |layouts: &mut std::collections::BTreeMap<String, LayoutInfo>,
                        name: &str,
                        fingerprint: String,
                        params: Vec<(&str, String)>,
                        compute: &dyn Fn() -> Result<Option<LabelledLayout>, PrepareError>|
     -> Result<(), PrepareError> {
        if let Some(prev) = previous.as_ref().and_then(|m| m.layouts.get(name))
            && is_current(prev, &fingerprint)
        {
            layouts.insert(name.to_string(), prev.clone());
            return Ok(());
        }
        if opts.only_thumbs {
            return Ok(());
        }
        if progress.cancelled() {
            return Err(PrepareError::Cancelled);
        }
        let start = Instant::now();
        let Some(layout) = compute()? else {
            return Ok(()); // not offered for this data
        };
        let file = cache.write_layout(name, &layout.positions)?;
        let extras = if layout.labels.is_empty() && layout.outlines.is_empty() && layout.cell == 0.0
        {
            None
        } else {
            let extras = format!("layouts/{name}.json");
            cache.write_json(&cache.root.join(&extras), &layout)?;
            Some(extras)
        };
        layouts.insert(
            name.to_string(),
            LayoutInfo {
                file,
                fingerprint,
                params: params
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
                seconds: start.elapsed().as_secs_f64(),
                extras,
            },
        );
        Ok(())
    };
    layout_stage(
        &mut layouts,
        "pca",
        inputs_fingerprint("pca-v1", &[opts.seed]),
        vec![("dims", rows.dim().to_string())],
        &|| {
            Ok(Some(
                spin(progress, "pca", || pca_2d(rows, opts.seed)).into(),
            ))
        },
    )?;
    checkpoint(
        "pca",
        &layouts,
        &None,
        &Default::default(),
        &notices,
        &stage_seconds,
    )?;
    lap("pca", &mut stage_seconds);

    let knn_fingerprint = inputs_fingerprint("neighbours-v1", &[NEIGHBOURS_K as u64, opts.seed]);
    let mut fresh_graph = None;
    let mut neighbours = previous
        .as_ref()
        .and_then(|m| m.neighbours.clone())
        .filter(|info| is_current(info, &knn_fingerprint));
    if progress.cancelled() {
        return Err(PrepareError::Cancelled);
    }
    if !opts.only_thumbs && neighbours.is_none() {
        progress.begin("neighbours", 0);
        let start = Instant::now();
        let (graph, searched_dims) = neighbour_graph(rows, NEIGHBOURS_K, opts.seed);
        let file = cache.write_neighbours(&graph)?;
        fresh_graph = Some(graph);
        neighbours = Some(LayoutInfo {
            file,
            fingerprint: knn_fingerprint,
            params: [
                ("k".to_string(), NEIGHBOURS_K.to_string()),
                ("searched_dims".to_string(), searched_dims.to_string()),
            ]
            .into(),
            seconds: start.elapsed().as_secs_f64(),
            extras: None,
        });
        progress.end();
    }
    lap("neighbours", &mut stage_seconds);

    // Unit vectors in image order, for exact similarity search.
    if !opts.only_thumbs {
        if progress.cancelled() {
            return Err(PrepareError::Cancelled);
        }
        progress.begin("vectors", 0);
        crate::cache::vectors::write_unless_current(
            &cache,
            rows,
            &inputs_fingerprint("vectors-v1", &[]),
        )?;
        progress.end();
        lap("vectors", &mut stage_seconds);
    }

    let mut clusters = std::collections::BTreeMap::new();
    // UMAP, from the neighbour graph.
    let u = &opts.umap;
    let umap_fingerprint = inputs_fingerprint(
        "umap-v1",
        &[
            opts.seed,
            u.n_neighbors as u64,
            u64::from(u.min_dist.to_bits()),
            u64::from(u.spread.to_bits()),
            u.n_epochs as u64,
        ],
    );
    let mut params = u.clone();
    params.seed = opts.seed;
    layout_stage(
        &mut layouts,
        "umap",
        umap_fingerprint.clone(),
        vec![
            ("n_neighbors", params.n_neighbors.to_string()),
            ("min_dist", params.min_dist.to_string()),
            ("spread", params.spread.to_string()),
        ],
        &|| {
            // The neighbour graph of this run, or the cached one: never searched twice.
            let loaded;
            let graph = match fresh_graph.as_ref() {
                Some(g) => Some(g),
                None => {
                    loaded = neighbours
                        .as_ref()
                        .and_then(|_| cache.read_neighbours().ok());
                    loaded.as_ref()
                }
            };
            let monitor = UmapProgress::new(progress, rows.len(), &params);
            let searched;
            let graph = match graph {
                Some(g) if g.k + 1 >= params.n_neighbors && g.len() == rows.len() => g,
                _ => {
                    searched = spin(progress, "neighbours", || {
                        umap_knn(rows, params.n_neighbors, params.seed)
                    });
                    &searched
                }
            };
            let positions = umap_2d_monitored(rows, graph, &params, &monitor)
                .map_err(|_| PrepareError::Cancelled)?;
            Ok(Some(positions.into()))
        },
    )?;
    checkpoint(
        "umap",
        &layouts,
        &neighbours,
        &clusters,
        &notices,
        &stage_seconds,
    )?;
    lap("umap", &mut stage_seconds);

    // Layouts derived from UMAP: grid, jittered, metadata layouts; then hotspots.
    let umap_positions = match layouts.get("umap") {
        Some(info) if !opts.only_thumbs => Some(cache.read_layout(&info.file)?),
        _ => None,
    };
    if let Some(umap) = &umap_positions {
        let derived = |tag: &str, extra: &[u64]| {
            let mut fp = Fingerprint::default();
            fp.add_str(tag).add_str(&umap_fingerprint);
            for e in extra {
                fp.add_u64(*e);
            }
            fp
        };
        layout_stage(
            &mut layouts,
            "grid",
            derived("grid-v1", &[]).hex(),
            vec![("from", "umap".into())],
            &|| {
                let (positions, cell) = spin(progress, "grid", || grid::grid_layout(umap));
                Ok(Some(LabelledLayout {
                    positions,
                    cell,
                    ..Default::default()
                }))
            },
        )?;
        checkpoint(
            "grid",
            &layouts,
            &neighbours,
            &clusters,
            &notices,
            &stage_seconds,
        )?;
        layout_stage(
            &mut layouts,
            "jittered",
            derived("jittered-v1", &[grid::JITTER_SWEEPS as u64]).hex(),
            vec![("from", "umap".into())],
            &|| {
                let (positions, cell) = spin(progress, "jittered", || {
                    grid::jitter(umap, 0.0, grid::JITTER_SWEEPS)
                });
                Ok(Some(LabelledLayout {
                    positions,
                    cell,
                    ..Default::default()
                }))
            },
        )?;
        checkpoint(
            "jittered",
            &layouts,
            &neighbours,
            &clusters,
            &notices,
            &stage_seconds,
        )?;
        lap("grid", &mut stage_seconds);

        // Metadata layouts: computed together (cheap), each cached under its own name.
        let mut meta_fp = derived("metadata-v1", &[]);
        for (c, col) in metadata.columns.iter().zip(&metadata.cells) {
            meta_fp.add_str(c);
            for v in col {
                meta_fp.add_str(v);
            }
        }
        let (outlines, outline_note) = read_outlines(opts.geojson.as_deref(), &dataset.paths.root);
        if let Some(note) = outline_note {
            notices.push(note);
        }
        meta_fp.add_u64(outlines.len() as u64);
        for line in &outlines {
            for p in line {
                meta_fp.add_u64(u64::from(p.x.to_bits()) << 32 | u64::from(p.y.to_bits()));
            }
        }
        let meta_fp = meta_fp.hex();
        // Which layouts are offered depends only on these inputs, so when "alphabetic"
        // (always offered) is current, the previous run's set is reused as it is.
        let current = previous.as_ref().is_some_and(|m| {
            m.layouts
                .get("alphabetic")
                .is_some_and(|info| is_current(info, &meta_fp))
        });
        let computed = if current {
            Vec::new()
        } else {
            spin(progress, "metadata layouts", || {
                metadata_layouts(
                    &metadata.columns,
                    &metadata.cells,
                    &shown_images,
                    umap,
                    &outlines,
                )
            })
        };
        for name in META_LAYOUTS {
            let layout = computed.iter().find(|(n, _)| *n == name).map(|(_, l)| l);
            layout_stage(&mut layouts, name, meta_fp.clone(), vec![], &|| {
                Ok(layout.cloned())
            })?;
            checkpoint(
                name,
                &layouts,
                &neighbours,
                &clusters,
                &notices,
                &stage_seconds,
            )?;
        }
        lap("metadata layouts", &mut stage_seconds);

        // Hotspots of the UMAP layout.
        let h = &opts.hotspots;
        let cluster_fp = {
            let mut fp = derived(
                "hotspots-v2",
                &[h.min_cluster_size as u64, h.max_clusters as u64],
            );
            fp.add_str(&meta_fp);
            fp.hex()
        };
        match previous.as_ref().and_then(|m| m.clusters.get("umap")) {
            Some(prev) if is_current(prev, &cluster_fp) => {
                clusters.insert("umap".to_string(), prev.clone());
            }
            _ => {
                let start = Instant::now();
                if progress.cancelled() {
                    return Err(PrepareError::Cancelled);
                }
                let found = spin(progress, "hotspots", || hotspots(umap, rows, &metadata, h));
                let file = "clusters/umap.npy".to_string();
                let extras = "clusters/umap.json".to_string();
                std::fs::create_dir_all(cache.root.join("clusters"))
                    .map_err(io(&cache.root.join("clusters")))?;
                cache.write_assignment(&file, &found.assignment)?;
                let finer = CacheDir::finer_file(&file);
                cache.write_assignment(&finer, &found.finer_assignment)?;
                cache.write_json(&cache.root.join(&extras), &found)?;
                clusters.insert(
                    "umap".to_string(),
                    LayoutInfo {
                        file,
                        fingerprint: cluster_fp,
                        params: [
                            (
                                "min_cluster_size".to_string(),
                                h.min_cluster_size_for(rows.len()).to_string(),
                            ),
                            ("max_clusters".to_string(), h.max_clusters.to_string()),
                            ("found".to_string(), found.hotspots.len().to_string()),
                            ("finer".to_string(), found.finer.len().to_string()),
                        ]
                        .into(),
                        seconds: start.elapsed().as_secs_f64(),
                        extras: Some(extras),
                    },
                );
            }
        }
        checkpoint(
            "hotspots",
            &layouts,
            &neighbours,
            &clusters,
            &notices,
            &stage_seconds,
        )?;
        lap("hotspots", &mut stage_seconds);
    }

    write_manifest(
        &layouts,
        &neighbours,
        &clusters,
        &notices,
        &stage_seconds,
        false,
    )?;
    Ok(PrepareReport {
        cache_dir: cache_root,
        images: shown_images.len(),
        thumbnailed: todo.len(),
        skipped,
        notices,
        stage_seconds,
        embedding_origin: origin,
    })
}

/// The metadata layouts prepare may offer.
pub const META_LAYOUTS: [&str; 5] = ["categorical", "date", "geographic", "alphabetic", "custom"];

/// GeoJSON outlines from `--geojson`, else `DATASET/outlines.geojson`; a file that cannot be
/// used is a notice, not an error (the layout works without outlines).
fn read_outlines(flag: Option<&Path>, root: &Path) -> (Vec<Vec<Vec2>>, Option<String>) {
    let default = root.join("outlines.geojson");
    let path = match flag {
        Some(p) => p.to_path_buf(),
        None if default.is_file() => default,
        None => return (Vec::new(), None),
    };
    match std::fs::read_to_string(&path)
        .map_err(|e| e.to_string())
        .and_then(|t| geojson_outlines(&t))
    {
        Ok(lines) => (lines, None),
        Err(e) => (
            Vec::new(),
            Some(format!(
                "{}: GeoJSON outlines not used ({e})",
                path.display()
            )),
        ),
    }
}

/// The user's embeddings restricted to the shown images.
struct SelectedRows<'a> {
    inner: &'a crate::dataset::Embeddings,
    rows: &'a [usize],
}

impl Rows for SelectedRows<'_> {
    fn len(&self) -> usize {
        self.rows.len()
    }
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn row(&self, i: usize, out: &mut [f32]) {
        self.inner.read_row(self.rows[i], out);
    }
}

/// Adds name, size and mtime of every file of the embeddings input to `fp`.
fn fingerprint_embeddings(input: &EmbeddingInput, fp: &mut Fingerprint) {
    let roots: Vec<&Path> = match input {
        EmbeddingInput::ClipRetrieval(p) | EmbeddingInput::PerImage(p) => vec![p],
        EmbeddingInput::Matrix { npy, list } => vec![npy, list],
    };
    for root in roots {
        let mut stack = vec![root.to_path_buf()];
        let mut files = Vec::new();
        while let Some(p) = stack.pop() {
            if p.is_dir() {
                if let Ok(rd) = std::fs::read_dir(&p) {
                    stack.extend(rd.filter_map(Result::ok).map(|e| e.path()));
                }
            } else {
                files.push(p);
            }
        }
        files.sort();
        for f in files {
            if let Some(key) = FileKey::of(&f.to_string_lossy(), &f) {
                fp.add_str(&key.rel)
                    .add_u64(key.size)
                    .add_u64(key.mtime_ns as u64);
            }
        }
    }
}
