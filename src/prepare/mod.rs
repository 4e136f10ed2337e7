//! Prepare: turn a dataset's inputs into a cache the viewer opens in under a second.
//!
//! One module per stage, run in this order by [`prepare`], each skipped when its inputs and
//! the options it declares have not changed since the last run:
//! 1. [`scan`] — find and join images, embeddings and metadata ([`crate::dataset`]);
//! 2. [`thumbnails`] — decode new or changed images on the rayon pool, in crash-safe chunks;
//! 3. [`atlas`] — pack the small level into BC1 pages, write the per-image index;
//! 4. [`rows`] — the vectors of the shown images (the user's embeddings or appearance);
//! 5. [`pca`] — the linear layout;
//! 6. [`neighbours`] — the 20 most similar images of every image (NN-descent, cosine);
//! 7. [`coords`] — coordinates given by the user (`--coords`), a layout like any other;
//! 8. [`umap`] — the UMAP layout, from the same neighbour graph (and, with a `label`
//!    column, the supervised one);
//! 9. [`derived`] — grid and jittered grid of the base layout (UMAP, else the given one);
//! 10. [`meta`] — the metadata layouts; 11. [`hotspots`] — clusters of the base layout.
//!
//! The stages share one [`run::Run`] (options, progress, cache, the last manifest, timings)
//! and fill one [`run::Draft`] manifest, written by its `checkpoint` after every stage so the
//! viewer shows each layout as it lands and an interrupted run keeps what it finished. Each
//! stage's `covers` function declares which options its output depends on; its fingerprint
//! hashes exactly that, and a test changes every option in turn to check that some stage
//! notices (so a new parameter cannot be forgotten, as `negative_sample_rate` once was).
//!
//! The CLI and the viewer both call [`prepare`]; progress comes out through [`Progress`].

mod atlas;
mod coords;
mod derived;
mod hotspots;
mod meta;
mod neighbours;
mod pca;
mod progress;
mod rows;
mod run;
mod scan;
pub mod shard;
mod thumbnails;
mod umap;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use progress::{NoProgress, Progress, UmapProgress};

use crate::cache::{
    CACHE_DIR_NAME, CacheDir, CacheError, EmbeddingOrigin, FORMAT_VERSION, Manifest,
};
use crate::cluster::HotspotParams;
use crate::dataset::{Dataset, DatasetError, DatasetOptions, Skipped};
use crate::layout::Rows;
use crate::layout::umap::UmapParams;
use crate::thumbs::LARGE_PX;
use run::{Draft, Run};

/// Similar images kept per image, for the lightbox and "similar images".
pub const NEIGHBOURS_K: usize = 20;

/// What to prepare and how. Saved in the cache by every prepare ([`Self::remembered`]), and
/// serialisable so the fingerprint coverage test can change every field generically.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct PrepareOptions {
    pub dataset: DatasetOptions,
    /// Stop after thumbnails and atlas pages (benchmarks).
    pub only_thumbs: bool,
    /// Long side of the large thumbnail level.
    pub large_px: u32,
    /// Seed of PCA's sketch and the neighbour search (UMAP has its own, in `umap`).
    pub seed: u64,
    pub umap: UmapParams,
    pub hotspots: HotspotParams,
    /// GeoJSON outlines for the geographic layout [default: DATASET/outlines.geojson].
    pub geojson: Option<PathBuf>,
    /// Coordinates computed elsewhere (CSV or parquet: `filename` or `key`, `x`, `y`).
    pub coords: Option<PathBuf>,
    /// The name the given coordinates' layout is listed under.
    pub coords_name: String,
    /// Skip the neighbour graph and UMAP (the layout comes from `coords`).
    pub no_umap: bool,
    /// Extra UMAP layouts with other neighbours and minimum distances (PixPlot's variants),
    /// each computed once, when asked for.
    pub umap_variants: Vec<UmapVariant>,
    /// Thumbnail only this slice, into a shard cache ([`shard`]). A run mode, not a setting:
    /// never remembered.
    #[serde(skip)]
    pub shard: Option<shard::Shard>,
    /// Shard caches to merge into this one before the stages run (empty path: those under
    /// `CACHE/shards/`). Never remembered.
    #[serde(skip)]
    pub merge: Vec<PathBuf>,
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
            coords: None,
            coords_name: "given".into(),
            no_umap: false,
            umap_variants: Vec::new(),
            shard: None,
            merge: Vec::new(),
        }
    }
}

/// One of PixPlot's UMAP variants: the main UMAP with other `n_neighbors` and `min_dist`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct UmapVariant {
    pub n_neighbors: usize,
    pub min_dist: f32,
}

impl std::str::FromStr for UmapVariant {
    type Err = String;
    /// `K,D`: 5,0.01.
    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("--umap-variant {text}: give NEIGHBOURS,MIN_DIST, e.g. 5,0.01");
        let (k, d) = text.split_once(',').ok_or_else(bad)?;
        let n_neighbors: usize = k.trim().parse().map_err(|_| bad())?;
        let min_dist: f32 = d.trim().parse().map_err(|_| bad())?;
        if n_neighbors < 2 || !(0.0..=10.0).contains(&min_dist) {
            return Err(bad());
        }
        Ok(Self {
            n_neighbors,
            min_dist,
        })
    }
}

/// The file under the cache folder holding the options of the last prepare.
pub const SETTINGS_FILE: &str = "settings.json";

impl Default for PrepareOptions {
    fn default() -> Self {
        Self::new(DatasetOptions::default())
    }
}

impl PrepareOptions {
    /// The options the last prepare of this dataset used (`settings.json` in its cache), so
    /// that opening it in the window or exporting from it keeps `prepare --min-dist 0.5
    /// --coords xy.parquet --embeddings table.parquet` instead of recomputing with defaults;
    /// the dataset parts given now (`--embeddings`, `--metadata`, …) win over the saved ones.
    /// Defaults when there is none (or it cannot be read: settings are a convenience, the
    /// next prepare rewrites them).
    pub fn remembered(dataset: DatasetOptions) -> Self {
        let path = cache_dir_for(&dataset).join(SETTINGS_FILE);
        let saved = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Self>(&bytes).ok())
            .unwrap_or_default();
        let old = &saved.dataset;
        let dataset = DatasetOptions {
            images: dataset.images.or_else(|| old.images.clone()),
            embeddings: dataset.embeddings.or_else(|| old.embeddings.clone()),
            metadata: dataset.metadata.or_else(|| old.metadata.clone()),
            logo: dataset.logo.or_else(|| old.logo.clone()),
            embedding_column: dataset
                .embedding_column
                .or_else(|| old.embedding_column.clone()),
            ..dataset
        };
        Self {
            dataset,
            only_thumbs: false,
            ..saved
        }
    }

    /// These options with every path absolute, as `settings.json` keeps them (a later run
    /// may start in another folder).
    fn absolute(&self) -> Self {
        let abs = |p: &Option<PathBuf>| p.as_deref().map(crate::dataset::paths::absolute);
        let d = &self.dataset;
        Self {
            dataset: DatasetOptions {
                root: crate::dataset::paths::absolute(&d.root),
                images: abs(&d.images),
                embeddings: abs(&d.embeddings),
                metadata: abs(&d.metadata),
                logo: abs(&d.logo),
                cache: abs(&d.cache),
                ..d.clone()
            },
            geojson: abs(&self.geojson),
            coords: abs(&self.coords),
            ..self.clone()
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
    /// Options that do not go together, or a value that cannot be used.
    #[error("{0}")]
    Options(String),
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
    /// The slice thumbnailed, for `--shard` (then `images` counts the slice).
    pub shard: Option<shard::Shard>,
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
    if opts.coords.is_some() {
        coords::check_name(opts)?;
    }
    if let Some(s) = opts.shard {
        if !opts.merge.is_empty() {
            return Err(PrepareError::Options(
                "--shard and --merge do not go together: thumbnail each shard, then merge them in one more prepare".into(),
            ));
        }
        return shard::run(opts, s, progress);
    }
    let mut run = Run::new(opts, progress, CacheDir::new(cache_dir_for(&opts.dataset)));
    let dataset = scan::run(&mut run)?;
    run.lap("scan");
    if !opts.merge.is_empty() {
        shard::merge(&run, &dataset.paths.images)?;
        run.lap("merge");
    }
    let thumbs = thumbnails::run(&run, &dataset.images)?;
    run.lap("thumbnails");
    let mut skipped = dataset.skipped.clone();
    let shown = thumbnails::shown(&dataset, &thumbs, &mut skipped)?;
    let packed = atlas::run(&run, &dataset, &thumbs, &shown)?;
    run.lap("atlas");
    let mut notices = dataset.notices.clone();
    let rows = rows::run(&run, &dataset, &shown, &packed, &mut notices)?;
    skipped.sort_by(|a, b| a.path.cmp(&b.path));
    if opts.no_umap && opts.coords.is_none() {
        notices.push("--no-umap without --coords: the map offers PCA only; give --coords FILE for a layout computed elsewhere".into());
    }
    let mut draft = Draft {
        manifest: first_draft(&dataset, &packed, &rows, skipped, notices),
    };
    pca::run(&run, &mut draft, &rows)?;
    run.lap("pca");
    let graph = neighbours::run(&run, &mut draft, &rows)?;
    run.lap("neighbours");
    rows::write_vectors(&run, &rows)?;
    run.lap("vectors");
    if opts.coords.is_some() {
        coords::run(&run, &mut draft, &dataset, &shown)?;
        run.lap("coordinates");
    }
    if !opts.no_umap {
        umap::run(&run, &mut draft, &rows, graph.as_ref())?;
        run.lap("umap");
        if !opts.umap_variants.is_empty() {
            umap::run_variants(&run, &mut draft, &rows, graph.as_ref())?;
            run.lap("umap variants");
        }
        if umap::targets(&packed.metadata).is_some() {
            umap::run_supervised(&run, &mut draft, &rows, graph.as_ref(), &packed.metadata)?;
            run.lap("supervised umap");
        }
    }
    if let Some(base) = derived::base(&run, &draft)? {
        derived::run(&run, &mut draft, &base)?;
        run.lap("grid");
        let root = &dataset.paths.root;
        let meta_fp = meta::run(
            &run,
            &mut draft,
            &base,
            &packed.images,
            &packed.metadata,
            root,
        )?;
        run.lap("metadata layouts");
        hotspots::run(&run, &mut draft, &base, &rows, &packed.metadata, &meta_fp)?;
        run.lap("hotspots");
    }
    draft.checkpoint(&run, "", false)?;
    let settings = run.cache.root.join(SETTINGS_FILE);
    run.cache.write_json(&settings, &opts.absolute())?;
    let manifest = draft.manifest;
    Ok(PrepareReport {
        cache_dir: run.cache.root.clone(),
        images: manifest.image_count,
        thumbnailed: thumbs.decoded,
        skipped: manifest.skipped,
        notices: manifest.notices,
        stage_seconds: run.laps().to_vec(),
        embedding_origin: rows.origin,
        shard: None,
    })
}

/// The manifest as the layout stages start filling it.
fn first_draft(
    dataset: &Dataset,
    packed: &atlas::Packed,
    rows: &rows::StageRows,
    skipped: Vec<Skipped>,
    notices: Vec<String>,
) -> Manifest {
    let display = |p: &Path| p.display().to_string();
    let paths = &dataset.paths;
    Manifest {
        format_version: FORMAT_VERSION,
        generator: format!("clip-plot {}", env!("CARGO_PKG_VERSION")),
        dataset_root: display(&paths.root),
        images_dir: display(&paths.images),
        embeddings: paths.embeddings.as_ref().map(|e| display(e.path())),
        metadata: paths.metadata.as_deref().map(display),
        logo: paths.logo.as_deref().map(display),
        image_count: packed.images.len(),
        embedding_dim: rows.rows.dim(),
        embedding_origin: rows.origin,
        thumbs: Some(packed.info.clone()),
        layouts: Default::default(),
        neighbours: None,
        clusters: Default::default(),
        skipped,
        notices,
        stage_seconds: Default::default(),
    }
}

/// The metadata layouts prepare may offer.
pub const META_LAYOUTS: [&str; 5] = ["categorical", "date", "geographic", "alphabetic", "custom"];

/// Every stage's declared options (its `covers`), by stage.
#[cfg(test)]
fn stage_covers(opts: &PrepareOptions) -> Vec<(&'static str, serde_json::Value)> {
    vec![
        ("atlas", atlas::covers(opts)),
        ("pca", pca::covers(opts)),
        ("neighbours", neighbours::covers(opts)),
        ("coords", coords::covers(opts)),
        ("umap", umap::covers(opts)),
        (
            "umap variants",
            serde_json::to_value(&opts.umap_variants).unwrap_or_default(),
        ),
        ("derived", derived::covers(opts)),
        ("meta", meta::covers(opts)),
        ("hotspots", hotspots::covers(opts)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// JSON pointers of every leaf under `value`.
    fn leaves(value: &Value, at: String, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    leaves(v, format!("{at}/{k}"), out);
                }
            }
            _ => out.push(at),
        }
    }

    /// A different value of the same kind (`null`, an unset option, becomes a string).
    fn changed(v: &Value) -> Value {
        match v {
            Value::Bool(b) => Value::Bool(!b),
            Value::Number(n) => match n.as_u64() {
                Some(u) => serde_json::json!(u + 1),
                None => serde_json::json!(n.as_f64().unwrap() + 0.5),
            },
            Value::String(s) => Value::String(format!("{s}x")),
            Value::Null => Value::String("x".into()),
            // Lists of records (the UMAP variants): one record where there was none.
            Value::Array(a) if a.is_empty() => {
                serde_json::json!([{ "n_neighbors": 5, "min_dist": 0.01 }])
            }
            other => panic!("no rule to change {other}"),
        }
    }

    #[test]
    fn every_option_is_covered_by_a_stage() {
        // Where the inputs are (hashed from the files themselves) and which stages run;
        // neither changes what a stage writes.
        let not_outputs = ["/dataset", "/only_thumbs", "/no_umap"];
        let base = PrepareOptions::default();
        let value = serde_json::to_value(&base).unwrap();
        let mut all = Vec::new();
        leaves(&value, String::new(), &mut all);
        assert!(all.len() >= 16, "{all:?}");
        for at in all {
            if not_outputs.iter().any(|n| at.starts_with(n)) {
                continue;
            }
            let mut other = value.clone();
            let leaf = other.pointer_mut(&at).unwrap();
            *leaf = changed(leaf);
            let opts: PrepareOptions = serde_json::from_value(other).unwrap();
            assert_ne!(
                stage_covers(&base),
                stage_covers(&opts),
                "option {at} is in no stage's fingerprint: add it to the `covers` of the stage that reads it"
            );
        }
    }

    #[test]
    fn umap_parameters_are_used_as_given() {
        let mut opts = PrepareOptions::default();
        opts.umap.seed = 7;
        opts.umap.negative_sample_rate = 3;
        let covers = umap::covers(&opts);
        assert_eq!(covers["seed"], 7);
        assert_eq!(covers["negative_sample_rate"], 3);
    }

    #[test]
    fn settings_round_trip_and_tolerate_missing_fields() {
        let dir = tempfile::tempdir().unwrap();
        let dataset = DatasetOptions {
            root: dir.path().to_path_buf(),
            ..Default::default()
        };
        // Nothing saved: defaults.
        assert_eq!(
            PrepareOptions::remembered(dataset.clone()).umap.n_neighbors,
            15
        );
        let cache = cache_dir_for(&dataset);
        std::fs::create_dir_all(&cache).unwrap();
        // An older program's file, without the newer fields.
        std::fs::write(
            cache.join(SETTINGS_FILE),
            r#"{"umap": {"min_dist": 0.5}, "coords": "xy.csv"}"#,
        )
        .unwrap();
        let opts = PrepareOptions::remembered(dataset);
        assert_eq!(opts.umap.min_dist, 0.5);
        assert_eq!(opts.umap.n_neighbors, 15);
        assert_eq!(opts.coords.as_deref(), Some(Path::new("xy.csv")));
        assert_eq!(opts.coords_name, "given");
        // Dataset parts are remembered too, and the ones given now win.
        std::fs::write(
            cache.join(SETTINGS_FILE),
            r#"{"dataset": {"root": "/old", "embeddings": "/d/e.parquet", "metadata": "/d/m.csv"}}"#,
        )
        .unwrap();
        let now = DatasetOptions {
            root: dir.path().to_path_buf(),
            metadata: Some("new.xlsx".into()),
            ..Default::default()
        };
        let opts = PrepareOptions::remembered(now);
        assert_eq!(opts.dataset.root, dir.path());
        assert_eq!(
            opts.dataset.embeddings.as_deref(),
            Some(Path::new("/d/e.parquet"))
        );
        assert_eq!(
            opts.dataset.metadata.as_deref(),
            Some(Path::new("new.xlsx"))
        );
    }
}
