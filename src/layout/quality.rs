//! How faithful a 2-D layout is to its embeddings.
//!
//! - **Trustworthiness** (Venna & Kaski; as scikit-learn's `trustworthiness`): penalises
//!   points that look like neighbours in the layout but are far apart in the embedding space,
//!   by how far down the true ranking they sit. 1 is perfect.
//! - **k-NN recall**: the fraction of each point's k nearest embedding neighbours that are
//!   also among its k nearest layout neighbours.
//! - **k-NN label accuracy**: leave-one-out majority vote of the k nearest layout neighbours
//!   against each point's own label (category); what a person browsing the map sees.
//!
//! Embedding distances are cosine, layout distances Euclidean. These are exact O(N²)
//! computations meant for evaluation on thousands of points, not for production at 1M.

use glam::Vec2;
use rayon::prelude::*;

use super::Rows;
use super::knn::normalized_rows;

fn euclid2(p: &[Vec2], a: usize, b: usize) -> f32 {
    p[a].distance_squared(p[b])
}

/// Indices of all other points sorted by distance from `i` (ties by index).
fn order_by(n: usize, i: usize, dist: impl Fn(usize) -> f32) -> Vec<u32> {
    let mut all: Vec<(f32, u32)> = (0..n)
        .filter(|&j| j != i)
        .map(|j| (dist(j), j as u32))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    all.into_iter().map(|e| e.1).collect()
}

fn cosine_order(data: &[f32], d: usize, n: usize, i: usize) -> Vec<u32> {
    let x = &data[i * d..(i + 1) * d];
    order_by(n, i, |j| {
        1.0 - x
            .iter()
            .zip(&data[j * d..(j + 1) * d])
            .map(|(a, b)| a * b)
            .sum::<f32>()
    })
}

fn layout_knn(layout: &[Vec2], i: usize, k: usize) -> Vec<u32> {
    let mut order = order_by(layout.len(), i, |j| euclid2(layout, i, j));
    order.truncate(k);
    order
}

/// Trustworthiness of `layout` for `rows` at `k` neighbours.
pub fn trustworthiness(rows: &dyn Rows, layout: &[Vec2], k: usize) -> f64 {
    let n = rows.len();
    let d = rows.dim();
    if n < 3 || k == 0 || 2 * n < 3 * k + 2 {
        return 1.0;
    }
    let data = normalized_rows(rows);
    let penalty: f64 = (0..n)
        .into_par_iter()
        .map(|i| {
            // Rank (1-based) of every point in i's embedding-space ordering.
            let mut rank = vec![0u32; n];
            for (r, &j) in cosine_order(&data, d, n, i).iter().enumerate() {
                rank[j as usize] = r as u32 + 1;
            }
            layout_knn(layout, i, k)
                .iter()
                .map(|&j| f64::from(rank[j as usize]))
                .filter(|&r| r > k as f64)
                .map(|r| r - k as f64)
                .sum::<f64>()
        })
        .sum();
    let (n, k) = (n as f64, k as f64);
    1.0 - 2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0)) * penalty
}

/// Mean fraction of each point's `k` nearest embedding neighbours kept in the layout's `k`.
pub fn knn_recall(rows: &dyn Rows, layout: &[Vec2], k: usize) -> f64 {
    let n = rows.len();
    if n < 2 || k == 0 {
        return 1.0;
    }
    let d = rows.dim();
    let data = normalized_rows(rows);
    let hits: usize = (0..n)
        .into_par_iter()
        .map(|i| {
            let mut high = cosine_order(&data, d, n, i);
            high.truncate(k);
            let low = layout_knn(layout, i, k);
            high.iter().filter(|j| low.contains(j)).count()
        })
        .sum();
    hits as f64 / (n * k.min(n - 1)) as f64
}

/// Mean fraction of each point's `k` nearest neighbours in layout `a` that are also among
/// its `k` nearest in layout `b` (how much a derived layout, such as the grid, keeps).
pub fn knn_recall_2d(a: &[Vec2], b: &[Vec2], k: usize) -> f64 {
    let n = a.len().min(b.len());
    if n < 2 || k == 0 {
        return 1.0;
    }
    let hits: usize = (0..n)
        .into_par_iter()
        .map(|i| {
            let high = layout_knn(&a[..n], i, k);
            let low = layout_knn(&b[..n], i, k);
            high.iter().filter(|j| low.contains(j)).count()
        })
        .sum();
    hits as f64 / (n * k.min(n - 1)) as f64
}

/// Leave-one-out accuracy of a majority vote among the `k` nearest layout neighbours.
/// Ties go to the label that comes first in sorted order, as scikit-learn's vote does.
pub fn knn_label_accuracy(layout: &[Vec2], labels: &[String], k: usize) -> f64 {
    let n = layout.len();
    if n < 2 {
        return 1.0;
    }
    let correct: usize = (0..n)
        .into_par_iter()
        .filter(|&i| {
            let mut votes: std::collections::BTreeMap<&str, usize> = Default::default();
            for j in layout_knn(layout, i, k) {
                *votes.entry(labels[j as usize].as_str()).or_default() += 1;
            }
            let best = votes.values().copied().max().unwrap_or(0);
            votes
                .iter()
                .find(|(_, c)| **c == best)
                .is_some_and(|(l, _)| *l == labels[i])
        })
        .count();
    correct as f64 / n as f64
}

#[cfg(test)]
mod tests {
    use super::super::DenseRows;
    use super::*;
    use glam::vec2;

    #[test]
    fn a_perfect_layout_scores_one_and_a_shuffled_one_less() {
        // Points on a line in 3-D (cosine-distinct directions), laid out on the same line.
        let n = 60;
        let data: Vec<f32> = (0..n)
            .flat_map(|i| {
                let t = i as f32 / n as f32 * 1.4;
                [t.cos(), t.sin(), 0.0]
            })
            .collect();
        let rows = DenseRows::new(&data, 3);
        let good: Vec<Vec2> = (0..n).map(|i| vec2(i as f32, 0.0)).collect();
        assert!((trustworthiness(&rows, &good, 4) - 1.0).abs() < 1e-9);
        assert!((knn_recall(&rows, &good, 4) - 1.0).abs() < 1e-9);
        let shuffled: Vec<Vec2> = (0..n).map(|i| vec2(((i * 37) % n) as f32, 0.0)).collect();
        assert!(trustworthiness(&rows, &shuffled, 5) < 0.8);
        let labels: Vec<String> = (0..n).map(|i| (i / 20).to_string()).collect();
        assert!(knn_label_accuracy(&good, &labels, 4) > 0.9);
    }
}
