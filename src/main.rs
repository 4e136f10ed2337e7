//! `clip-plot-view`: the command line. Errors become one message and an exit code here;
//! everything else lives in the library.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use clip_plot::dataset::DatasetOptions;
use clip_plot::demo::{DemoOptions, make_demo};
use clip_plot::explore::{ExploreError, Explorer};
use clip_plot::export::ExportTable;
use clip_plot::prepare::{PrepareError, PrepareOptions, PrepareReport, Progress, prepare};

/// Exit code of a bad command line: clap's, and a filter expression, tag name or image
/// name that does not work.
const EXIT_BAD_REQUEST: u8 = 2;
/// Exit code when the inputs are inconsistent or unreadable.
const EXIT_BAD_INPUT: u8 = 3;

#[derive(Parser, Debug)]
#[command(
    name = "clip-plot-view",
    version,
    about = "Fly through a map of every image in a collection, laid out by similarity.",
    long_about = "Fly through a map of every image in a collection, laid out by similarity.\n\n\
        DATASET is a folder with images (in images/ or anywhere below), optionally embeddings \
        (clip-retrieval's output in embeddings/, or embeddings.npy with filenames.txt, or one \
        .npy per image) and metadata (metadata.csv or metadata.parquet, PixPlot's columns). \
        Everything prepared is cached in DATASET/.clip-plot (or --cache DIR); the user's files \
        are never written.",
    after_help = "Exit codes:\n  0  done (also when some images were skipped: they are listed)\n  \
        1  an I/O or cache error\n  2  bad command line (also a filter expression, tag, image or layout name that does not work)\n  3  the inputs are inconsistent or unreadable \
        (row counts, dimensions, missing image_path or filename column, bad .npy)\n\n\
        Examples:\n  clip-plot-view demo --n 5000\n  clip-plot-view prepare ./photos\n  \
        clip-plot-view prepare ./ro-dataset --cache /tmp/cache\n  \
        clip-plot-view export ./photos --layout pca -o map.csv\n  \
        clip-plot-view layout img_emb.npy --method umap -o xy.npy\n  \
        clip-plot-view render ./photos --layout grid -o poster.png --size 16800x4000",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// The dataset folder to open [default: none; the window asks for one].
    dataset: Option<PathBuf>,
    #[command(flatten)]
    parts: DatasetParts,
    /// Open this saved view (layout, camera, filters, colours) [default: the view the
    /// window was last closed on].
    #[arg(long, value_name = "NAME")]
    view: Option<String>,
    #[command(flatten)]
    window: WindowArgs,
}

/// Flags for automated runs of the window (the Xvfb smoke test).
#[derive(Args, Debug, Default, Clone)]
struct WindowArgs {
    /// Close the window after this many frames of the open dataset.
    #[arg(long, hide = true, value_name = "N")]
    exit_after_frames: Option<u64>,
    /// Before closing that way, save a screenshot of the map here.
    #[arg(long, hide = true, value_name = "PNG")]
    screenshot_on_exit: Option<PathBuf>,
    /// Close after those frames even while preparing or animating (pictures of progress).
    #[arg(long, hide = true)]
    exit_early: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Prepare a dataset's cache (thumbnails, atlases, layouts) without opening a window.
    Prepare(PrepareArgs),
    /// Write layout coordinates, clusters, tags and metadata as CSV or parquet (all images,
    /// a filter's, or the most similar to one).
    Export(ExportArgs),
    /// Add or remove a tag of your own on the images a filter expression lets through.
    Tag(TagArgs),
    /// Generate a demo collection, prepare it and open it.
    Demo(DemoArgs),
    /// Lay out an embeddings .npy (N×D, float16 or float32) and write N×2 coordinates.
    Layout(LayoutArgs),
    /// Draw a layout into a PNG without a window (posters, CI): prepares what is missing first.
    Render(RenderArgs),
    /// Measure frame times of a scripted fly-through, offscreen (overview, zoom into a
    /// hotspot, panning zoomed in, a layout transition).
    Bench(BenchArgs),
}

#[derive(Args, Debug)]
struct BenchArgs {
    #[command(flatten)]
    dataset: DatasetArgs,
    /// Frame size, WIDTHxHEIGHT pixels.
    #[arg(long, default_value = "1920x1080", value_parser = parse_size, value_name = "WxH")]
    size: (u32, u32),
    /// Frames per phase.
    #[arg(long, default_value_t = 60)]
    frames: usize,
}

#[derive(Args, Debug)]
struct RenderArgs {
    #[command(flatten)]
    dataset: DatasetArgs,
    /// Layout to draw (umap, pca, grid, jittered, or a metadata layout the dataset offers).
    #[arg(long, default_value = "umap", value_name = "NAME")]
    layout: String,
    /// Output PNG.
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    /// Picture size, WIDTHxHEIGHT pixels; beyond the GPU's texture limit it is drawn in tiles.
    #[arg(long, default_value = "2048x2048", value_parser = parse_size, value_name = "WxH")]
    size: (u32, u32),
    /// Thumbnail size factor (1: each layout's own).
    #[arg(long, default_value_t = 1.0, value_name = "FACTOR")]
    thumb_size: f32,
    /// Leave the dataset's logo out.
    #[arg(long)]
    no_logo: bool,
    /// Draw a view saved in the window: its layout, camera, filters and colours.
    #[arg(long, value_name = "NAME", conflicts_with = "layout")]
    view: Option<String>,
    /// Colour the images by this metadata column (with a legend in the picture).
    #[arg(long, value_name = "COLUMN")]
    colour_by: Option<String>,
    /// A title over the top of the picture.
    #[arg(long, value_name = "TEXT")]
    title: Option<String>,
    /// Text size factor: 1 sizes labels for the picture as a screen shows them (a poster's
    /// grow with it), 2 doubles them.
    #[arg(long, default_value_t = 1.0, value_name = "FACTOR")]
    label_scale: f32,
    /// Leave the hotspot and layout labels out (the legend and title stay when asked for).
    #[arg(long)]
    no_labels: bool,
    /// Draw images with transparency straight on the background, without a card.
    #[arg(long)]
    no_cards: bool,
}

/// Parses "1920x1080" (also "1920×1080").
fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s
        .split_once(['x', 'X', '×'])
        .ok_or_else(|| format!("'{s}' is not WIDTHxHEIGHT (for example 1920x1080)"))?;
    let w: u32 = w
        .trim()
        .parse()
        .map_err(|_| format!("bad width in '{s}'"))?;
    let h: u32 = h
        .trim()
        .parse()
        .map_err(|_| format!("bad height in '{s}'"))?;
    if w == 0 || h == 0 || u64::from(w) * u64::from(h) > 1 << 30 {
        return Err(format!(
            "'{s}': width and height must be at least 1 and the picture at most 1 gigapixel"
        ));
    }
    Ok((w, h))
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LayoutMethod {
    /// UMAP (cosine k-NN graph, then SGD).
    Umap,
    /// The first two principal components.
    Pca,
    /// UMAP, then every point on its own cell of a near-square grid.
    Grid,
}

#[derive(Args, Debug)]
struct LayoutArgs {
    /// N×D embeddings (.npy, float16, float32 or float64).
    embeddings: PathBuf,
    #[arg(long, value_enum, default_value = "umap")]
    method: LayoutMethod,
    /// Output: .npy (N×2 float32, input row order) or .csv (columns x,y).
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    /// UMAP: neighbours per point (counting itself, as umap-learn).
    #[arg(long, default_value_t = 15, value_name = "K")]
    n_neighbors: usize,
    /// UMAP: how tightly similar points may pack.
    #[arg(long, default_value_t = 0.1, value_name = "D")]
    min_dist: f32,
    /// UMAP: the scale of the embedded points.
    #[arg(long, default_value_t = 1.0)]
    spread: f32,
    /// UMAP: optimisation epochs [default: 500 up to 10 000 points, else 200].
    #[arg(long, value_name = "N")]
    n_epochs: Option<usize>,
    /// Random seed (one thread gives the same layout for the same seed).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Worker threads [default: all cores].
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// No progress bars.
    #[arg(long, short)]
    quiet: bool,
}

/// A dataset and where its parts are.
#[derive(Args, Debug, Clone)]
struct DatasetArgs {
    /// The dataset folder.
    dataset: PathBuf,
    #[command(flatten)]
    parts: DatasetParts,
}

/// Where the parts of a dataset are, when not where they are looked for.
#[derive(Args, Debug, Clone, Default)]
struct DatasetParts {
    /// Images folder [default: DATASET/images, else image files anywhere below DATASET].
    #[arg(long, value_name = "DIR", help_heading = "Dataset parts")]
    images: Option<PathBuf>,
    /// clip-retrieval output folder, an N×D .npy (with filenames.txt beside it), a folder of
    /// per-image .npy files, or a parquet table with a vector column (clip-plot's
    /// `hidden_vectors`, embedding-reader's `embedding`) [default: DATASET/embeddings or
    /// DATASET/embeddings.npy].
    #[arg(long, value_name = "PATH", help_heading = "Dataset parts")]
    embeddings: Option<PathBuf>,
    /// With --embeddings TABLE.parquet: the column holding the vectors (a list of floats per
    /// row) [default: the only such column].
    #[arg(long, value_name = "NAME", help_heading = "Dataset parts")]
    embedding_column: Option<String>,
    /// Metadata CSV or parquet with a `filename` column [default: DATASET/metadata.csv|parquet].
    #[arg(long, value_name = "FILE", help_heading = "Dataset parts")]
    metadata: Option<PathBuf>,
    /// Ignore img2dataset's KEY.txt / KEY.json beside the images and its NNNNN.parquet shard
    /// tables (read as captions and metadata by default).
    #[arg(long, help_heading = "Dataset parts")]
    no_sidecars: bool,
    /// Cache folder, for read-only datasets [default: DATASET/.clip-plot].
    #[arg(long, value_name = "DIR", help_heading = "Dataset parts")]
    cache: Option<PathBuf>,
    /// Logo drawn in a corner of the map and screenshots [default: DATASET/logo.png].
    #[arg(long, value_name = "PNG", help_heading = "Dataset parts")]
    logo: Option<PathBuf>,
    /// Worker threads [default: all cores].
    #[arg(long, value_name = "N", help_heading = "Performance")]
    threads: Option<usize>,
    /// No progress bars.
    #[arg(long, short)]
    quiet: bool,
}

impl DatasetArgs {
    fn options(&self) -> DatasetOptions {
        self.parts.options(&self.dataset)
    }
}

impl DatasetParts {
    fn options(&self, root: &std::path::Path) -> DatasetOptions {
        DatasetOptions {
            root: root.to_path_buf(),
            images: self.images.clone(),
            embeddings: self.embeddings.clone(),
            metadata: self.metadata.clone(),
            logo: self.logo.clone(),
            cache: self.cache.clone(),
            embedding_column: self.embedding_column.clone(),
            no_sidecars: self.no_sidecars,
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum OnlyStage {
    /// Thumbnails and atlas pages only (for benchmarks).
    Thumbs,
}

#[derive(Args, Debug)]
struct PrepareArgs {
    #[command(flatten)]
    dataset: DatasetArgs,
    /// Run only this stage.
    #[arg(long, value_name = "STAGE")]
    only: Option<OnlyStage>,
    /// Long side of the large thumbnail level, in pixels [default: 256].
    #[arg(long, value_name = "PX")]
    large_px: Option<u32>,
    /// UMAP: neighbours per point (counting itself, as umap-learn) [default: 15].
    #[arg(long, value_name = "K", help_heading = "Layouts")]
    n_neighbors: Option<usize>,
    /// UMAP: how tightly similar images may pack [default: 0.1].
    #[arg(long, value_name = "D", help_heading = "Layouts")]
    min_dist: Option<f32>,
    /// Random seed of PCA, the neighbour search and UMAP [default: 42].
    #[arg(long, value_name = "N", help_heading = "Layouts")]
    seed: Option<u64>,
    /// Hotspots: the smallest cluster [default: max(15, images/200)].
    #[arg(long, value_name = "N", help_heading = "Layouts")]
    min_cluster_size: Option<usize>,
    /// Hotspots: keep at most this many (the largest) [default: 20].
    #[arg(long, value_name = "N", help_heading = "Layouts")]
    max_clusters: Option<usize>,
    /// GeoJSON outlines drawn on the geographic layout [default: DATASET/outlines.geojson].
    #[arg(long, value_name = "FILE", help_heading = "Layouts")]
    geojson: Option<PathBuf>,
    /// Coordinates computed elsewhere (cuML, Spark, t-SNE…): a CSV or parquet table with
    /// `filename` or `key`, `x` and `y`, shown as a layout of its own.
    #[arg(long, value_name = "FILE", help_heading = "Layouts")]
    coords: Option<PathBuf>,
    /// The name the --coords layout is listed under [default: given].
    #[arg(long, value_name = "NAME", help_heading = "Layouts")]
    coords_name: Option<String>,
    /// Skip the neighbour graph and UMAP (with --coords: the given layout is the map).
    #[arg(long, overrides_with = "umap", help_heading = "Layouts")]
    no_umap: bool,
    /// Compute UMAP again after an earlier --no-umap.
    #[arg(long, overrides_with = "no_umap", help_heading = "Layouts")]
    umap: bool,
    /// Also compute a UMAP with these neighbours and minimum distance, as a layout of its
    /// own (PixPlot's variants; repeat for more; kept until --no-umap-variants).
    #[arg(long, value_name = "K,D", help_heading = "Layouts")]
    umap_variant: Vec<clip_plot::prepare::UmapVariant>,
    /// Forget the UMAP variants asked for before.
    #[arg(long, help_heading = "Layouts")]
    no_umap_variants: bool,
    /// Thumbnail only the I-th of N slices (1/3, 2/3, 3/3), into a shard cache
    /// [default: CACHE/shards/I-of-N]: one command per machine, then --merge.
    #[arg(long, value_name = "I/N", help_heading = "Many machines")]
    shard: Option<clip_plot::prepare::shard::Shard>,
    /// Join shard caches into this cache (no image decoded again), then compute the layouts
    /// [default: every cache in CACHE/shards/].
    #[arg(long, value_name = "CACHE", num_args = 0.., help_heading = "Many machines")]
    merge: Option<Vec<PathBuf>>,
}

impl PrepareArgs {
    /// The flags given, over what the last prepare of this dataset used
    /// ([`PrepareOptions::remembered`]): settings persist until changed.
    fn options(&self) -> PrepareOptions {
        let mut opts = PrepareOptions::remembered(self.dataset.options());
        opts.only_thumbs = self.only.is_some();
        opts.shard = self.shard;
        if self.no_umap_variants {
            opts.umap_variants.clear();
        }
        for v in &self.umap_variant {
            if !opts.umap_variants.contains(v) {
                opts.umap_variants.push(*v);
            }
        }
        opts.merge = match &self.merge {
            Some(caches) if caches.is_empty() => vec![PathBuf::new()],
            Some(caches) => caches.clone(),
            None => Vec::new(),
        };
        if let Some(px) = self.large_px {
            opts.large_px = px;
        }
        if let Some(k) = self.n_neighbors {
            opts.umap.n_neighbors = k.max(2);
        }
        if let Some(d) = self.min_dist {
            opts.umap.min_dist = d.max(0.0);
        }
        if let Some(seed) = self.seed {
            opts.seed = seed;
            opts.umap.seed = seed;
        }
        if let Some(n) = self.min_cluster_size {
            opts.hotspots.min_cluster_size = n;
        }
        if let Some(n) = self.max_clusters {
            opts.hotspots.max_clusters = n;
        }
        // Absolute, so the remembered settings work from any folder.
        let absolute = |p: &PathBuf| clip_plot::dataset::paths::absolute(p);
        if let Some(p) = &self.geojson {
            opts.geojson = Some(absolute(p));
        }
        if let Some(p) = &self.coords {
            opts.coords = Some(absolute(p));
        }
        if let Some(name) = &self.coords_name {
            opts.coords_name.clone_from(name);
        }
        if self.no_umap {
            opts.no_umap = true;
        }
        if self.umap {
            opts.no_umap = false;
        }
        opts
    }
}

#[derive(Args, Debug)]
struct ExportArgs {
    #[command(flatten)]
    dataset: DatasetArgs,
    /// Layout to export: umap, pca, grid, jittered, or a metadata layout the dataset offers
    /// (categorical, date, geographic, alphabetic, custom).
    #[arg(long, default_value = "pca", value_name = "NAME")]
    layout: String,
    /// Output file: .csv or .parquet.
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    /// Only the images this filter expression lets through (the search box's language:
    /// `owl`, `category=birds`, `year:1970..1979`, `tag:keep`, `-hotspot:2`, `a OR b`).
    #[arg(long = "where", value_name = "EXPR")]
    filter: Option<String>,
    /// Rank by cosine similarity to this image (a path relative to the images folder, or
    /// a unique file name): rows sorted best first, with a `similarity` column.
    #[arg(long, value_name = "FILE")]
    similar_to: Option<String>,
    /// With --similar-to: keep the best K.
    #[arg(long, value_name = "K")]
    top: Option<usize>,
    /// Also write the hotspots (label, size, representative, members by file name) as JSON.
    #[arg(long, value_name = "FILE")]
    hotspots: Option<PathBuf>,
    /// Export what a view saved in the window shows: its layout and filters (ANDed with
    /// --where).
    #[arg(long, value_name = "NAME", conflicts_with = "layout")]
    view: Option<String>,
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("change").required(true).args(["add", "remove"])))]
struct TagArgs {
    #[command(flatten)]
    dataset: DatasetArgs,
    /// The images to tag: a filter expression (as `export --where`).
    #[arg(long = "where", value_name = "EXPR")]
    filter: String,
    /// Add this tag to them.
    #[arg(long, value_name = "NAME")]
    add: Option<String>,
    /// Remove this tag from them.
    #[arg(long, value_name = "NAME")]
    remove: Option<String>,
}

#[derive(Args, Debug)]
struct DemoArgs {
    /// Number of images.
    #[arg(long, default_value_t = 2000)]
    n: usize,
    /// Folder to write the demo dataset into.
    #[arg(long, default_value = "clip-plot-demo", value_name = "DIR")]
    out: PathBuf,
    /// Prepare only; do not open the viewer.
    #[arg(long)]
    no_view: bool,
    /// Seed of the generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Side of each generated image, in pixels.
    #[arg(long, default_value_t = 96, value_name = "PX")]
    image_px: u32,
    /// Worker threads [default: all cores].
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// No progress bars.
    #[arg(long, short)]
    quiet: bool,
}

/// Progress bars on stderr, one per stage.
struct Bars {
    current: Mutex<Option<ProgressBar>>,
    quiet: bool,
}

impl Bars {
    fn new(quiet: bool) -> Self {
        Self {
            current: Mutex::new(None),
            quiet,
        }
    }
}

impl Progress for Bars {
    fn begin(&self, stage: &str, total: u64) {
        if self.quiet {
            return;
        }
        let bar = if total == 0 {
            let b = ProgressBar::new_spinner();
            b.enable_steady_tick(Duration::from_millis(120));
            b
        } else {
            ProgressBar::new(total)
        };
        let style = if total == 0 {
            ProgressStyle::with_template("{spinner} {prefix:>11} {elapsed}")
        } else {
            ProgressStyle::with_template("{prefix:>11} [{bar:40}] {pos}/{len} {rate} eta {eta}")
        };
        if let Ok(style) = style {
            bar.set_style(
                style
                    .with_key(
                        "rate",
                        |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                            let _ = write!(w, "{:.0}/s", state.per_sec());
                        },
                    )
                    .progress_chars("=> "),
            );
        }
        bar.set_prefix(stage.to_string());
        if let Ok(mut c) = self.current.lock() {
            *c = Some(bar);
        }
    }
    fn advance(&self, n: u64) {
        if let Ok(c) = self.current.lock()
            && let Some(b) = c.as_ref()
        {
            b.inc(n);
        }
    }
    fn end(&self) {
        if let Ok(mut c) = self.current.lock()
            && let Some(b) = c.take()
        {
            b.finish();
        }
    }
}

fn set_threads(threads: Option<usize>) {
    if let Some(n) = threads {
        // Fails only if the pool was already built, in which case it keeps its size.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global();
    }
}

fn print_summary(report: &PrepareReport) {
    let what = match report.shard {
        Some(shard) => format!("Thumbnailed shard {shard}:"),
        None => "Prepared".to_string(),
    };
    println!(
        "{what} {} images into {} ({} thumbnailed now, {} from the cache).",
        report.images,
        report.cache_dir.display(),
        report.thumbnailed,
        report.images.saturating_sub(report.thumbnailed)
    );
    if !report.skipped.is_empty() {
        println!("Skipped {} file(s):", report.skipped.len());
        for s in &report.skipped {
            println!("  {}: {}", s.path, s.reason);
        }
    }
    for n in &report.notices {
        println!("Note: {n}");
    }
    let times: Vec<String> = report
        .stage_seconds
        .iter()
        .map(|(s, t)| format!("{s} {t:.2} s"))
        .collect();
    println!("Time per stage: {}", times.join(", "));
}

/// Prepares what is missing with the options the last prepare used.
fn run_prepare(dataset: &DatasetArgs) -> Result<PrepareReport, PrepareError> {
    run_prepare_with(dataset, |_| {})
}

fn run_prepare_with(
    dataset: &DatasetArgs,
    adjust: impl FnOnce(&mut PrepareOptions),
) -> Result<PrepareReport, PrepareError> {
    set_threads(dataset.parts.threads);
    let mut opts = PrepareOptions::remembered(dataset.options());
    adjust(&mut opts);
    let report = prepare(&opts, &Bars::new(dataset.parts.quiet))?;
    print_summary(&report);
    Ok(report)
}

/// Opens the window on `dataset` (or, with none, asks for a folder); what is not prepared
/// yet is prepared in the background while the window shows progress.
fn view(
    dataset: Option<&DatasetArgs>,
    saved_view: Option<String>,
    window: &WindowArgs,
) -> anyhow::Result<()> {
    if let Some(d) = dataset {
        set_threads(d.parts.threads);
    }
    // A view that is not there stops here, before a window opens on the wrong thing.
    if let (Some(d), Some(name)) = (dataset, &saved_view) {
        let cache =
            clip_plot::cache::CacheDir::new(clip_plot::prepare::cache_dir_for(&d.options()));
        let views = clip_plot::explore::views::Views::load(&cache)?;
        views.get(name).map_err(ExploreError::View)?;
    }
    clip_plot::app::run(clip_plot::app::AppOptions {
        prepare: dataset.map(|d| PrepareOptions::remembered(d.options())),
        exit_after_frames: window.exit_after_frames,
        screenshot_on_exit: window.screenshot_on_exit.clone(),
        exit_early: window.exit_early,
        view: saved_view,
    })
}

/// Opens the prepared dataset (preparing what is missing first) for queries.
fn explorer(dataset: &DatasetArgs) -> anyhow::Result<Explorer> {
    run_prepare(dataset)?;
    let cache = clip_plot::prepare::cache_dir_for(&dataset.options());
    let prepared = std::sync::Arc::new(clip_plot::cache::PreparedDataset::open(&cache)?);
    Ok(Explorer::open(prepared)?)
}

fn export(args: &ExportArgs) -> anyhow::Result<()> {
    let ex = explorer(&args.dataset)?;
    let (layout, filter) = match &args.view {
        Some(name) => {
            let view = ex.view(name)?;
            let facets = clip_plot::explore::facets::facets(ex.catalog());
            let both = [
                view.expression(&facets),
                args.filter.clone().unwrap_or_default(),
            ];
            let both: Vec<&str> = both
                .iter()
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
                .collect();
            (view.layout, (!both.is_empty()).then(|| both.join(" ")))
        }
        None => (args.layout.clone(), args.filter.clone()),
    };
    let mut table = ExportTable::from_prepared(&ex.prepared, &layout)?;
    let passing = ex.filter(filter.as_deref().unwrap_or(""))?;
    let mut rows: Vec<u32> = passing.ones().map(|i| i as u32).collect();
    let mut what = match &filter {
        Some(f) => format!("{} of {} images match `{f}`", rows.len(), ex.len()),
        None => format!("{} images", rows.len()),
    };
    if let Some(name) = &args.similar_to {
        let image = ex.find_image(name)?;
        let sims = ex.similarity_to(&[image])?;
        let ranked = clip_plot::explore::similar::top_k(&sims, sims.len());
        rows = ranked
            .into_iter()
            .filter(|(i, _)| passing.get(*i))
            .map(|(i, _)| i as u32)
            .take(args.top.unwrap_or(usize::MAX))
            .collect();
        table.similarity = Some(sims);
        what = format!("{what}, the {} most similar to {name}", rows.len());
    } else if args.top.is_some() {
        anyhow::bail!("--top goes with --similar-to FILE (the best K of a ranking)");
    }
    let table = table.subset(&rows);
    table.write(&args.output)?;
    println!(
        "Wrote {} rows of layout '{}' ({what}) to {}",
        table.filenames.len(),
        layout,
        args.output.display()
    );
    if let Some(path) = &args.hotspots {
        let n =
            clip_plot::explore::hotspots::export_json(&ex.prepared, ex.hotspots.as_ref(), path)?;
        println!("Wrote {n} hotspots to {}", path.display());
    }
    Ok(())
}

fn render(args: &RenderArgs) -> anyhow::Result<()> {
    let ex = explorer(&args.dataset)?;
    let prepared = ex.prepared.clone();
    let gpu = clip_plot::render::Gpu::headless()?;
    let mut options = clip_plot::render::RenderOptions {
        style: clip_plot::render::Style {
            size_scale: args.thumb_size.clamp(0.05, 20.0),
            cards: !args.no_cards,
            ..Default::default()
        },
        logo: !args.no_logo,
        detail: true,
        ..Default::default()
    };
    let mut layout = args.layout.clone();
    let mut colour_by = args.colour_by.clone();
    let mut shown = None;
    if let Some(name) = &args.view {
        let view = ex.view(name)?;
        let pass = ex.view_filter(&view)?;
        options.filtered_out = Some((0..ex.len()).map(|i| !pass.get(i)).collect());
        if view.hide {
            shown = Some(pass);
        }
        options.hide = view.hide;
        options.camera = view.camera.map(|c| clip_plot::render::Camera {
            centre: c.centre,
            span: c.span,
        });
        colour_by = colour_by.or(view.colour_by.clone());
        layout = view.layout;
    }
    let colouring = colour_by.as_deref().map(|c| ex.colouring(c)).transpose()?;
    if let Some(c) = &colouring {
        options.colours = Some((c.index.clone(), c.palette.clone()));
        options.annotations.legend = Some((c.column.clone(), clip_plot::app::legend_items(c)));
    }
    if !args.no_labels {
        options.annotations.labels = ex.map_labels(&layout, shown.as_ref())?;
    }
    options.annotations.title = args.title.clone();
    options.label_scale = Some(args.label_scale);
    let start = std::time::Instant::now();
    let image = clip_plot::render::render_image(&gpu, &prepared, &layout, args.size, &options)?;
    let drawn = start.elapsed();
    clip_plot::render::offscreen::write_png(&args.output, &image)
        .with_context(|| format!("writing {}", args.output.display()))?;
    let tiles = clip_plot::render::offscreen::tiles(
        args.size,
        clip_plot::render::offscreen::tile_side(&gpu, options.max_tile),
    )
    .len();
    println!(
        "Drew layout '{}' of {} images at {}×{} ({} tile{}, {:.1} s) on {}: {}",
        layout,
        prepared.len(),
        args.size.0,
        args.size.1,
        tiles,
        if tiles == 1 { "" } else { "s" },
        drawn.as_secs_f64(),
        gpu.adapter_name,
        args.output.display()
    );
    Ok(())
}

fn tag(args: &TagArgs) -> anyhow::Result<()> {
    let mut ex = explorer(&args.dataset)?;
    let rows: Vec<usize> = ex.filter(&args.filter)?.ones().collect();
    let (name, on) = match (&args.add, &args.remove) {
        (Some(name), _) => (name, true),
        (None, Some(name)) => (name, false),
        (None, None) => anyhow::bail!("say --add NAME or --remove NAME"),
    };
    let changed = ex.tag(name, rows.iter().copied(), on)?;
    let now = ex.tags.rows(name).map_or(0, |b| b.count());
    println!(
        "{} tag '{}' {} {changed} of the {} images matching `{}`; {now} images carry it now.",
        if on { "Added" } else { "Removed" },
        name.trim(),
        if on { "to" } else { "from" },
        rows.len(),
        args.filter
    );
    Ok(())
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Some(Command::Prepare(args)) => {
            let opts = args.options();
            run_prepare_with(&args.dataset, |o| *o = opts)?;
        }
        Some(Command::Export(args)) => export(&args)?,
        Some(Command::Tag(args)) => tag(&args)?,
        Some(Command::Demo(args)) => {
            set_threads(args.threads);
            let bars = Bars::new(args.quiet);
            let opts = DemoOptions {
                n: args.n,
                out: args.out.clone(),
                seed: args.seed,
                image_px: args.image_px.clamp(16, 1024),
            };
            make_demo(&opts, &bars)
                .with_context(|| format!("writing the demo into {}", args.out.display()))?;
            println!("Generated {} images in {}", args.n, args.out.display());
            let dataset = DatasetArgs {
                dataset: args.out,
                parts: DatasetParts {
                    quiet: args.quiet,
                    ..Default::default()
                },
            };
            if args.no_view {
                run_prepare(&dataset)?;
            } else {
                view(Some(&dataset), None, &WindowArgs::default())?;
            }
        }
        Some(Command::Render(args)) => render(&args)?,
        Some(Command::Bench(args)) => {
            let cache = clip_plot::prepare::cache_dir_for(&args.dataset.options());
            if cache.join("manifest.json").is_file() {
                println!("Using the prepared cache in {}", cache.display());
            } else {
                run_prepare(&args.dataset)?;
            }
            let gpu = clip_plot::render::Gpu::headless()?;
            let r =
                clip_plot::render::bench::fly_through(&gpu, &cache, args.size, args.frames.max(2))?;
            println!(
                "{} images, {}x{} on {}: cache opened in {:.3} s, first frame {:.2} s after opening",
                r.images, r.size.0, r.size.1, r.adapter, r.open_s, r.first_frame_s
            );
            println!(
                "{:<32} {:>7} {:>11} {:>9} {:>12}  drawn as",
                "phase", "frames", "median ms", "p95 ms", "drawn"
            );
            for p in &r.phases {
                let mode = match p.mode {
                    Some(clip_plot::render::DrawMode::Textured) => "textured",
                    Some(clip_plot::render::DrawMode::Flat) => "flat dots",
                    Some(clip_plot::render::DrawMode::Points) => "points",
                    None => "-",
                };
                println!(
                    "{:<32} {:>7} {:>11.2} {:>9.2} {:>12}  {mode}",
                    p.name, p.frames, p.median_ms, p.p95_ms, p.drawn
                );
            }
            println!(
                "GPU memory: {} (detail slots in use: {})",
                clip_plot::ui::format_bytes(r.gpu_bytes),
                r.detail_resident
            );
            println!(
                "Overview aliasing (mean difference from a 4x supersampled render, drawn \
                 pixels): {:.1} levels with mip levels, {:.1} with level 0 only",
                r.aliasing.0, r.aliasing.1
            );
        }
        Some(Command::Layout(args)) => {
            set_threads(args.threads);
            let start = std::time::Instant::now();
            let embeddings = clip_plot::layout::file::read_embeddings(&args.embeddings)?;
            let params = clip_plot::layout::umap::UmapParams {
                n_neighbors: args.n_neighbors.max(2),
                min_dist: args.min_dist.max(0.0),
                spread: if args.spread > 0.0 { args.spread } else { 1.0 },
                n_epochs: args.n_epochs.unwrap_or(0),
                seed: args.seed,
                ..Default::default()
            };
            let method = match args.method {
                LayoutMethod::Umap => clip_plot::layout::file::Method::Umap,
                LayoutMethod::Pca => clip_plot::layout::file::Method::Pca,
                LayoutMethod::Grid => clip_plot::layout::file::Method::Grid,
            };
            let positions = clip_plot::layout::file::layout_rows(
                &embeddings,
                method,
                &params,
                &Bars::new(args.quiet),
            );
            clip_plot::layout::file::write_positions(&args.output, &positions)
                .with_context(|| format!("writing {}", args.output.display()))?;
            println!(
                "Laid out {} points ({} dimensions) by {:?} in {:.2} s: {}",
                positions.len(),
                embeddings.dim(),
                args.method,
                start.elapsed().as_secs_f64(),
                args.output.display()
            );
        }
        None => {
            let dataset = cli.dataset.map(|dataset| DatasetArgs {
                dataset,
                parts: cli.parts,
            });
            view(dataset.as_ref(), cli.view, &cli.window)?;
        }
    }
    Ok(())
}

/// Keeps offscreen commands from probing window systems. Mesa's Vulkan device-select
/// layer connects to Wayland to find the display's GPU and, on a machine without a desktop
/// session (CI, SSH, a render farm), prints "XDG_RUNTIME_DIR is invalid or not set" for
/// nothing; `render` and `bench` have no display and pick their adapter themselves, so the
/// layer is switched off for them (its own opt-out variable). The window keeps it.
#[allow(unsafe_code)]
fn quiet_headless_vulkan() {
    if std::env::var_os("NODEVICE_SELECT").is_none() {
        // SAFETY: called first thing in `main`, before any thread is started, so nothing
        // reads the environment concurrently.
        unsafe { std::env::set_var("NODEVICE_SELECT", "1") };
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, Some(Command::Render(_) | Command::Bench(_))) {
        quiet_headless_vulkan();
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            let bad_input = matches!(
                e.downcast_ref::<PrepareError>(),
                Some(PrepareError::Dataset(_) | PrepareError::NoUsableImages { .. })
            ) || e
                .downcast_ref::<clip_plot::dataset::DatasetError>()
                .is_some();
            let bad_request = matches!(
                e.downcast_ref::<ExploreError>(),
                Some(
                    ExploreError::Filter(_)
                        | ExploreError::Tag(_)
                        | ExploreError::Image(_)
                        | ExploreError::View(_)
                )
            ) || e
                .downcast_ref::<clip_plot::explore::FilterError>()
                .is_some()
                || matches!(
                    e.downcast_ref::<clip_plot::cache::CacheError>(),
                    Some(clip_plot::cache::CacheError::NoLayout(_))
                )
                || matches!(
                    e.downcast_ref::<clip_plot::export::ExportError>(),
                    Some(clip_plot::export::ExportError::Cache(
                        clip_plot::cache::CacheError::NoLayout(_)
                    ))
                );
            ExitCode::from(if bad_request {
                EXIT_BAD_REQUEST
            } else if bad_input {
                EXIT_BAD_INPUT
            } else {
                1
            })
        }
    }
}
