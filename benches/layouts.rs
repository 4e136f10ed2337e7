//! Layout stages after UMAP, at scale: `cargo bench --bench layouts`
//! (`CLIP_PLOT_BENCH_POINTS=1000000` for the 1M figures). The points are 2-D blobs of
//! uneven size and spread, like a UMAP layout. UMAP itself is measured against umap-learn
//! by `benches/umap_vs_umap_learn.py`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use glam::Vec2;
use std::sync::OnceLock;

use clip_plot::cluster::{HdbscanParams, hdbscan_2d};
use clip_plot::layout::{Rng, grid};
use divan::counter::ItemsCount;

fn main() {
    divan::main();
}

fn points() -> &'static Vec<Vec2> {
    static P: OnceLock<Vec<Vec2>> = OnceLock::new();
    P.get_or_init(|| {
        let n = std::env::var("CLIP_PLOT_BENCH_POINTS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(100_000);
        let mut rng = Rng::new(2);
        let centres: Vec<(Vec2, f32)> = (0..60)
            .map(|_| {
                (
                    Vec2::new(rng.normal(), rng.normal()) * 8.0,
                    0.2 + rng.uniform(),
                )
            })
            .collect();
        (0..n)
            .map(|i| {
                let (c, s) = centres[(i * 7919) % centres.len() % (1 + i % centres.len())];
                c + Vec2::new(rng.normal(), rng.normal()) * s
            })
            .collect()
    })
}

/// Every point on its own grid cell.
#[divan::bench(sample_count = 3)]
fn grid_layout(bencher: divan::Bencher) {
    let p = points();
    bencher
        .counter(ItemsCount::new(p.len()))
        .bench(|| grid::grid_layout(p).0.len());
}

/// Points pushed apart until thumbnails do not overlap.
#[divan::bench(sample_count = 3)]
fn jitter(bencher: divan::Bencher) {
    let p = points();
    bencher
        .counter(ItemsCount::new(p.len()))
        .bench(|| grid::jitter(p, 0.0, grid::JITTER_SWEEPS).0.len());
}

/// HDBSCAN with prepare's parameters for this many points.
#[divan::bench(sample_count = 3)]
fn hdbscan(bencher: divan::Bencher) {
    let p = points();
    let mcs = (p.len() / 200).max(15);
    bencher.counter(ItemsCount::new(p.len())).bench(|| {
        hdbscan_2d(
            p,
            HdbscanParams {
                min_cluster_size: mcs,
                min_samples: mcs.min(16),
            },
        )
        .len()
    });
}
