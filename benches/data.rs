//! Reading embeddings, PCA and opening a prepared cache: `cargo bench --bench data`.
//!
//! Sizes come from the environment so the README's large figures can be reproduced:
//! `CLIP_PLOT_BENCH_ROWS=1000000 cargo bench --bench data -- read_f16` reads 1M×512 float16;
//! `CLIP_PLOT_BENCH_OPEN=/path/to/dataset/.clip-plot` opens an existing prepared cache
//! (e.g. a 100k demo) instead of the small one made here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::OnceLock;

use clip_plot::dataset::DatasetOptions;
use clip_plot::dataset::npy::{NpyArray, encode_npy_f16};
use clip_plot::layout::{Rng, pca_2d};
use divan::counter::ItemsCount;

fn main() {
    divan::main();
}

fn rows_env() -> usize {
    std::env::var("CLIP_PLOT_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

fn temp() -> &'static tempfile::TempDir {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap())
}

fn f16_file() -> &'static PathBuf {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    FILE.get_or_init(|| {
        let n = rows_env();
        let mut rng = Rng::new(1);
        let data: Vec<f32> = (0..n * 512).map(|_| rng.normal() * 0.05).collect();
        let path = temp().path().join("emb.npy");
        std::fs::write(&path, encode_npy_f16(n, 512, &data)).unwrap();
        path
    })
}

/// Memory-map an N×512 float16 file and convert every row to f32.
#[divan::bench(sample_count = 5)]
fn read_f16_embeddings(bencher: divan::Bencher) {
    let path = f16_file();
    let n = rows_env();
    bencher.counter(ItemsCount::new(n)).bench(|| {
        let a = NpyArray::open(path).unwrap();
        let e = clip_plot::dataset::Embeddings::from_npy(a);
        e.to_dense().len()
    });
}

/// PCA of N×512 rows.
#[divan::bench(sample_count = 5)]
fn pca_512(bencher: divan::Bencher) {
    let n = rows_env();
    let e = clip_plot::dataset::Embeddings::from_npy(NpyArray::open(f16_file()).unwrap());
    bencher
        .counter(ItemsCount::new(n))
        .bench(|| pca_2d(&e, 1).len());
}

fn prepared_cache() -> PathBuf {
    if let Ok(p) = std::env::var("CLIP_PLOT_BENCH_OPEN") {
        return PathBuf::from(p);
    }
    static CACHE: OnceLock<PathBuf> = OnceLock::new();
    CACHE
        .get_or_init(|| {
            let root = temp().path().join("demo");
            clip_plot::demo::make_demo(
                &clip_plot::demo::DemoOptions {
                    n: 5000,
                    out: root.clone(),
                    seed: 1,
                    image_px: 64,
                },
                &clip_plot::prepare::NoProgress,
            )
            .unwrap();
            let opts = clip_plot::prepare::PrepareOptions::new(DatasetOptions {
                root: root.clone(),
                ..Default::default()
            });
            clip_plot::prepare::prepare(&opts, &clip_plot::prepare::NoProgress).unwrap();
            root.join(".clip-plot")
        })
        .clone()
}

/// Open a prepared cache: manifest, image list, metadata, thumbnail index, atlas pages
/// (touched so they are in memory) and the PCA layout.
#[divan::bench(sample_count = 10)]
fn open_prepared_cache(bencher: divan::Bencher) {
    let cache = prepared_cache();
    bencher.bench(|| {
        let p = clip_plot::cache::PreparedDataset::open(&cache).unwrap();
        let mut sum = 0u64;
        for i in 0..p.page_count() {
            sum += p
                .page(i)
                .iter()
                .step_by(4096)
                .map(|&b| u64::from(b))
                .sum::<u64>();
        }
        (p.layout("pca").unwrap().len(), p.thumb_records().len(), sum)
    });
}
