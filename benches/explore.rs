//! The explore engine at scale: `CLIP_PLOT_BENCH_ROWS=1000000 cargo bench --bench explore`.
//!
//! A generated table of N rows × 10 metadata columns (categories, tags, years, numbers,
//! captions) and N × 512 float16 unit vectors: one filter evaluation, every facet's
//! cross-filtered counts, and one exact similarity ranking (goals at 1M: < 100 ms, —,
//! < 300 ms).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;

use clip_plot::dataset::Table;
use clip_plot::dataset::npy::{NpyArray, encode_npy_f16};
use clip_plot::explore::facets::facets;
use clip_plot::explore::{Bits, Catalog, Expr, Scope, similar};
use clip_plot::layout::Rng;
use divan::counter::ItemsCount;

fn main() {
    divan::main();
}

fn rows() -> usize {
    std::env::var("CLIP_PLOT_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

const WORDS: [&str; 16] = [
    "owl", "barn", "river", "portrait", "harbour", "street", "flower", "market", "snow", "bridge",
    "church", "train", "garden", "beach", "mountain", "cat",
];

fn catalog() -> &'static Catalog {
    static C: OnceLock<Catalog> = OnceLock::new();
    C.get_or_init(|| {
        let n = rows();
        let mut rng = Rng::new(7);
        let mut pick = |k: usize| (rng.next_u64() % k as u64) as usize;
        let filenames: Vec<String> = (0..n)
            .map(|i| format!("shard{:03}/{i:08}.jpg", i % 997))
            .collect();
        let mut cols: Vec<Vec<String>> = (0..10).map(|_| Vec::with_capacity(n)).collect();
        for _ in 0..n {
            cols[0].push(format!("category {}", pick(40)));
            cols[1].push(format!("{}|{}", WORDS[pick(16)], WORDS[pick(16)]));
            cols[2].push(format!("{}", 1850 + pick(170)));
            cols[3].push(format!("{}.{}", pick(5000), pick(10)));
            cols[4].push(format!(
                "A {} by the {} near the {}",
                WORDS[pick(16)],
                WORDS[pick(16)],
                WORDS[pick(16)]
            ));
            cols[5].push(format!("photographer {}", pick(300)));
            cols[6].push(format!("https://example.org/{}", pick(1_000_000)));
            cols[7].push(format!("{}x{}", 200 + pick(4000), 200 + pick(4000)));
            cols[8].push(["jpeg", "png", "webp"][pick(3)].to_string());
            cols[9].push(format!("c. {}", 1850 + pick(170)));
        }
        let table = Table {
            columns: [
                "category", "tags", "year", "size_kb", "caption", "author", "url", "dims",
                "format", "date",
            ]
            .map(String::from)
            .to_vec(),
            cells: cols,
        };
        Catalog::new(&filenames, &table)
    })
}

fn vectors() -> &'static (tempfile::TempDir, NpyArray) {
    static V: OnceLock<(tempfile::TempDir, NpyArray)> = OnceLock::new();
    V.get_or_init(|| {
        let n = rows();
        let mut rng = Rng::new(3);
        let data: Vec<f32> = (0..n * 512).map(|_| rng.normal() * 0.044).collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vectors.npy");
        std::fs::write(&path, encode_npy_f16(n, 512, &data)).unwrap();
        let a = NpyArray::open(&path).unwrap();
        (dir, a)
    })
}

/// A compound expression: a plain word over all 11 columns, a range, a negated category,
/// an OR of list items.
#[divan::bench(sample_count = 10)]
fn filter_eval(bencher: divan::Bencher) {
    let c = catalog();
    let scope = Scope {
        catalog: c,
        tags: None,
        hotspots: None,
    };
    let expr = Expr::parse(
        "owl year:1900..1950 -category=\"category 3\" tags=snow OR tags=cat",
        c,
    )
    .unwrap();
    expr.eval(&scope).unwrap(); // numbers parsed once, as the window keeps them
    bencher
        .counter(ItemsCount::new(c.len()))
        .bench(|| expr.eval(&scope).unwrap().count());
}

/// The terms of `filter_eval` one at a time, to see where its time goes.
#[divan::bench(sample_count = 10, args = ["owl", "year:1900..1950", "-category=\"category 3\"", "tags=snow OR tags=cat"])]
fn filter_term(bencher: divan::Bencher, term: &str) {
    let c = catalog();
    let scope = Scope {
        catalog: c,
        tags: None,
        hotspots: None,
    };
    let expr = Expr::parse(term, c).unwrap();
    expr.eval(&scope).unwrap();
    bencher
        .counter(ItemsCount::new(c.len()))
        .bench(|| expr.eval(&scope).unwrap().count());
}

/// Every facet's counts under a mask that lets half the rows through.
#[divan::bench(sample_count = 10)]
fn facet_counts(bencher: divan::Bencher) {
    let c = catalog();
    let all = facets(c);
    let mask = Bits::from_fn(c.len(), |i| i % 2 == 0);
    bencher.counter(ItemsCount::new(c.len())).bench(|| {
        all.iter()
            .map(|f| f.counts(c.column(&f.column).unwrap(), &mask).total)
            .sum::<usize>()
    });
}

/// One exact ranking of N × 512 float16 vectors, and its top 1000.
#[divan::bench(sample_count = 10)]
fn similarity_rank(bencher: divan::Bencher) {
    let (_, v) = vectors();
    let q = similar::query_of(v, &[42]).unwrap();
    bencher.counter(ItemsCount::new(v.rows())).bench(|| {
        let sims = similar::similarities(v, &q);
        similar::top_k(&sims, 1000).len()
    });
}
