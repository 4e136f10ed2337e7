//! Times the stages of a UMAP run on an embeddings file, for profiling:
//! `cargo run --release --example profile_umap -- EMB.npy [threads]`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use clip_plot::layout::umap::{UmapParams, fuzzy_edges, umap_2d_with_graph, umap_knn};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = std::path::PathBuf::from(&args[1]);
    if let Some(t) = args.get(2) {
        rayon::ThreadPoolBuilder::new()
            .num_threads(t.parse().unwrap())
            .build_global()
            .unwrap();
    }
    let t = Instant::now();
    let rows = clip_plot::layout::file::read_embeddings(&path).unwrap();
    eprintln!("read {:.2} s", t.elapsed().as_secs_f64());
    let params = UmapParams::default();
    let t = Instant::now();
    let pca = clip_plot::layout::Pca::fit(&rows, 64, 1);
    eprintln!("pca-64 fit {:.2} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let reduced = pca.project(&rows);
    eprintln!(
        "pca-64 project {:.2} s ({})",
        t.elapsed().as_secs_f64(),
        reduced.len()
    );
    let t = Instant::now();
    let graph = umap_knn(&rows, params.n_neighbors, params.seed);
    eprintln!("knn {:.2} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let edges = fuzzy_edges(&graph, params.n_neighbors);
    eprintln!(
        "fuzzy set {:.2} s ({} edges)",
        t.elapsed().as_secs_f64(),
        edges.len()
    );
    let t = Instant::now();
    let p = umap_2d_with_graph(&rows, &graph, &params);
    eprintln!(
        "fuzzy set + init + sgd {:.2} s ({} points)",
        t.elapsed().as_secs_f64(),
        p.len()
    );
}
