//! "More like this": every image ranked by cosine similarity to a query, exactly, and
//! groups of near-duplicates.
//!
//! The query is one image's unit vector or the normalised mean of a selection's. Ranking
//! reads the cache's memory-mapped float16 unit vectors (`cache::vectors`) in parallel
//! blocks: each block converts its rows to f32 (F16C where the CPU has it) and takes dot
//! products, so a pass is bound by memory bandwidth (1M × 512 is 1 GiB). Exact search, not
//! the neighbour graph: a query from a selection's mean has no graph entry, and "top 5000"
//! needs more than 20 neighbours. Duplicates come from the neighbour table (each image's 20
//! nearest, with distances): pairs above a similarity threshold are joined by union-find.

use rayon::prelude::*;

use super::bits::Bits;
use crate::dataset::NpyArray;
use crate::layout::knn::KnnGraph;

/// Rows per parallel block.
const BLOCK: usize = 2048;

/// The query for `rows`: the normalised mean of their vectors (None: no rows, or they
/// cancel out).
pub fn query_of(vectors: &NpyArray, rows: &[usize]) -> Option<Vec<f32>> {
    let d = vectors.cols();
    let mut mean = vec![0f32; d];
    let mut v = vec![0f32; d];
    let mut count = 0;
    for &r in rows {
        if r < vectors.rows() {
            vectors.read_row(r, &mut v);
            mean.iter_mut().zip(&v).for_each(|(m, x)| *m += x);
            count += 1;
        }
    }
    let norm = mean.iter().map(|x| x * x).sum::<f32>().sqrt();
    (count > 0 && norm > 1e-12).then(|| mean.into_iter().map(|x| x / norm).collect())
}

/// The cosine similarity of every image to `query` (a unit vector), in image order.
pub fn similarities(vectors: &NpyArray, query: &[f32]) -> Vec<f32> {
    let (n, d) = (vectors.rows(), vectors.cols());
    let mut out = vec![0f32; n];
    if query.len() != d {
        return out;
    }
    out.par_chunks_mut(BLOCK)
        .enumerate()
        .for_each(|(block, sims)| {
            let mut row = vec![0f32; d];
            for (k, s) in sims.iter_mut().enumerate() {
                vectors.read_row(block * BLOCK + k, &mut row);
                *s = crate::layout::dot(&row, query);
            }
        });
    out
}

/// The `k` most similar images, best first (ties by image order), as (image, similarity).
pub fn top_k(sims: &[f32], k: usize) -> Vec<(usize, f32)> {
    let mut order: Vec<usize> = (0..sims.len()).filter(|&i| !sims[i].is_nan()).collect();
    let k = k.min(order.len());
    let better = |a: &usize, b: &usize| sims[*b].total_cmp(&sims[*a]).then(a.cmp(b));
    if k == 0 {
        return Vec::new();
    }
    if k < order.len() {
        order.select_nth_unstable_by(k - 1, better);
        order.truncate(k);
    }
    order.par_sort_unstable_by(better);
    order.into_iter().map(|i| (i, sims[i])).collect()
}

/// The images at least `threshold` similar.
pub fn at_least(sims: &[f32], threshold: f32) -> Bits {
    Bits::from_fn(sims.len(), |i| sims[i] >= threshold)
}

/// Groups of near-identical images: neighbours whose cosine similarity is at least
/// `threshold`, joined transitively; each group sorted, groups largest first.
pub fn duplicate_groups(graph: &KnnGraph, threshold: f32) -> Vec<Vec<usize>> {
    let n = graph.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for i in 0..n {
        for j in 0..graph.k {
            let (nb, dist) = (
                graph.indices[i * graph.k + j],
                graph.distances[i * graph.k + j],
            );
            let nb = nb as usize;
            // Distances are cosine distances (1 − similarity).
            if nb >= n || nb == i || 1.0 - dist < threshold {
                continue;
            }
            let (a, b) = (root(&mut parent, i), root(&mut parent, nb));
            if a != b {
                parent[a.max(b)] = a.min(b);
            }
        }
    }
    let mut groups: rustc_hash::FxHashMap<usize, Vec<usize>> = Default::default();
    for i in 0..n {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    let mut groups: Vec<Vec<usize>> = groups.into_values().filter(|g| g.len() > 1).collect();
    groups.sort_by(|a, b| b.len().cmp(&a.len()).then(a[0].cmp(&b[0])));
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vectors(rows: &[[f32; 3]]) -> (tempfile::TempDir, NpyArray) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.npy");
        let flat: Vec<f32> = rows.iter().flatten().copied().collect();
        std::fs::write(
            &path,
            crate::dataset::npy::encode_npy_f16(rows.len(), 3, &flat),
        )
        .unwrap();
        let a = NpyArray::open(&path).unwrap();
        (dir, a)
    }

    #[test]
    fn ranking_is_exact_and_best_first() {
        let s = std::f32::consts::FRAC_1_SQRT_2;
        let (_d, v) = vectors(&[
            [1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [s, s, 0.0],
            [-1.0, 0.0, 0.0],
        ]);
        let q = query_of(&v, &[0]).unwrap();
        let sims = similarities(&v, &q);
        let top = top_k(&sims, 3);
        assert_eq!(top.iter().map(|t| t.0).collect::<Vec<_>>(), vec![0, 2, 1]);
        assert!((top[0].1 - 1.0).abs() < 1e-3 && (top[1].1 - s).abs() < 1e-3);
        assert_eq!(top_k(&sims, 10).len(), 4);
        assert_eq!(top_k(&sims, 10)[3].0, 3);
        // A selection's mean: halfway between 0 and 1 is image 2.
        let q = query_of(&v, &[0, 1]).unwrap();
        assert_eq!(top_k(&similarities(&v, &q), 1)[0].0, 2);
        assert_eq!(at_least(&sims, 0.5).ones().collect::<Vec<_>>(), vec![0, 2]);
        assert!(query_of(&v, &[0, 3]).is_none(), "opposites cancel");
        assert!(query_of(&v, &[]).is_none());
    }

    #[test]
    fn ranking_matches_a_plain_loop_across_blocks() {
        let n = BLOCK * 2 + 5;
        let rows: Vec<[f32; 3]> = (0..n)
            .map(|i| {
                let a = i as f32 * 0.37;
                [a.cos(), a.sin(), 0.3]
            })
            .collect();
        let (_d, v) = vectors(&rows);
        let q = query_of(&v, &[17]).unwrap();
        let sims = similarities(&v, &q);
        let mut row = [0f32; 3];
        for i in [0, BLOCK - 1, BLOCK, n - 1] {
            v.read_row(i, &mut row);
            let expected: f32 = row.iter().zip(&q).map(|(a, b)| a * b).sum();
            assert!((sims[i] - expected).abs() < 1e-5);
        }
        // Its own row is as similar as any (other rows repeat its direction).
        assert!((top_k(&sims, 1)[0].1 - sims[17]).abs() < 1e-3);
    }

    #[test]
    fn duplicates_join_transitively() {
        // 0~1 and 1~2 are near-identical, 3 stands alone, 4~5.
        let graph = KnnGraph {
            k: 1,
            indices: vec![1, 2, 1, 0, 5, 4],
            distances: vec![0.01, 0.02, 0.02, 0.5, 0.0, 0.0],
        };
        assert_eq!(
            duplicate_groups(&graph, 0.95),
            vec![vec![0, 1, 2], vec![4, 5]]
        );
        assert!(duplicate_groups(&graph, 1.01).is_empty());
    }
}
