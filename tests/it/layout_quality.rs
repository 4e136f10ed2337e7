//! Layout quality on real embeddings (all 785 tuxpaint stamps), against the figures
//! umap-learn's authors' tools give on the same data (shared/fixtures/tuxpaint/README):
//! PCA reaches trustworthiness 0.768 (k=15, cosine) and 10-NN category accuracy 0.498.

use std::collections::HashMap;

use crate::common::fixture;
use clip_plot::dataset::{NpyArray, Table};
use clip_plot::layout::quality::{knn_label_accuracy, knn_recall, trustworthiness};
use clip_plot::layout::umap::{UmapParams, umap_2d};
use clip_plot::layout::{DenseRows, pca_2d};

/// Embeddings in image-path order, with each image's category.
fn tuxpaint_all() -> (Vec<f32>, usize, Vec<String>) {
    let root = fixture("tuxpaint_all");
    let meta = Table::read(&root.join("metadata.csv")).unwrap();
    let category: HashMap<&str, &str> = meta
        .column("filename")
        .unwrap()
        .iter()
        .zip(meta.column("category").unwrap())
        .map(|(f, c)| (f.as_str(), c.as_str()))
        .collect();
    let mut rows: Vec<(String, Vec<f32>)> = Vec::new();
    for k in 0..2 {
        let npy =
            NpyArray::open(&root.join(format!("embeddings/img_emb/img_emb_{k}.npy"))).unwrap();
        let table =
            Table::read(&root.join(format!("embeddings/metadata/metadata_{k}.parquet"))).unwrap();
        for (r, path) in table.column("image_path").unwrap().iter().enumerate() {
            let mut v = vec![0.0; npy.cols()];
            npy.read_row(r, &mut v);
            rows.push((path.clone(), v));
        }
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let d = rows[0].1.len();
    let labels = rows
        .iter()
        .map(|(p, _)| category[p.trim_start_matches("images/")].to_string())
        .collect();
    (rows.into_iter().flat_map(|r| r.1).collect(), d, labels)
}

#[test]
fn pca_on_tuxpaint_matches_the_reference_quality() {
    let (data, d, labels) = tuxpaint_all();
    assert_eq!(labels.len(), 785);
    let rows = DenseRows::new(&data, d);
    let layout = pca_2d(&rows, 1);
    let t = trustworthiness(&rows, &layout, 15);
    let acc = knn_label_accuracy(&layout, &labels, 10);
    let recall = knn_recall(&rows, &layout, 15);
    eprintln!(
        "PCA on tuxpaint: trustworthiness {t:.4}, 10-NN accuracy {acc:.4}, recall@15 {recall:.4}"
    );
    assert!((t - 0.768).abs() < 0.01, "trustworthiness {t}");
    assert!((acc - 0.498).abs() < 0.03, "10-NN category accuracy {acc}");
    assert!(recall > 0.0 && recall < 1.0);
}

#[test]
fn umap_on_tuxpaint_reaches_umap_learns_quality() {
    // umap-learn 0.5 (n_neighbors=15, min_dist=0.1): trustworthiness 0.924, 10-NN category
    // accuracy 0.725. Ours must be within 0.01 of the first and at most 0.03 below the second.
    let (data, d, labels) = tuxpaint_all();
    let rows = DenseRows::new(&data, d);
    let layout = umap_2d(&rows, &UmapParams::default());
    let t = trustworthiness(&rows, &layout, 15);
    let acc = knn_label_accuracy(&layout, &labels, 10);
    eprintln!("UMAP on tuxpaint: trustworthiness {t:.4}, 10-NN accuracy {acc:.4}");
    // For people to look at: positions and categories.
    let csv: String = layout
        .iter()
        .zip(&labels)
        .map(|(p, l)| format!("{},{},{l}\n", p[0], p[1]))
        .collect();
    std::fs::write(
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("umap_tuxpaint.csv"),
        csv,
    )
    .unwrap();
    assert!((t - 0.924).abs() <= 0.01, "trustworthiness {t}");
    assert!(acc >= 0.725 - 0.03, "10-NN category accuracy {acc}");
}
