//! Approximate k-nearest-neighbour graphs under cosine distance, by NN-descent.
//!
//! How it works (Dong, Charikar & Li, 2011): every point starts with k random neighbours.
//! Each round, every point introduces its neighbours (and the points that list it as a
//! neighbour) to each other; a pair that is closer than someone's current k-th neighbour
//! replaces it. "A neighbour of my neighbour is likely my neighbour": after a handful of
//! rounds almost every list is exact. Only pairs involving a neighbour that is new since the
//! last round are tried, and candidate lists are capped, so a round costs O(N·c²) distance
//! evaluations for c ≈ k candidates, independent of N otherwise.
//!
//! Rows are L2-normalised first, so cosine distance is `1 - dot`. Each point's list sits
//! behind its own mutex; rounds run in parallel on rayon. Results are deterministic for a
//! seed when the pool has one thread (update order otherwise varies, not the quality).
//!
//! Rejected: HNSW through hnsw_rs (a graph index built for queries; we need the all-points
//! graph once, and NN-descent produces it directly at lower memory); exact search (O(N²·D),
//! hours at 1M).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use rayon::prelude::*;

use super::{Rng, Rows, dot};

/// A k-nearest-neighbour graph: `indices[i*k..(i+1)*k]` are point i's neighbours, nearest
/// first, with cosine distances in `distances`.
#[derive(Clone, Debug, PartialEq)]
pub struct KnnGraph {
    pub k: usize,
    pub indices: Vec<u32>,
    pub distances: Vec<f32>,
}

impl KnnGraph {
    pub fn len(&self) -> usize {
        self.indices.len().checked_div(self.k).unwrap_or(0)
    }
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }
    /// Neighbours of point `i`, nearest first.
    pub fn neighbours(&self, i: usize) -> &[u32] {
        &self.indices[i * self.k..(i + 1) * self.k]
    }
}

/// Tuning of NN-descent.
#[derive(Clone, Debug)]
pub struct KnnParams {
    pub k: usize,
    pub max_rounds: usize,
    /// Stop when a round changes fewer than `delta·N·k` entries.
    pub delta: f32,
    /// Candidates tried per point and round (forward and reverse together).
    pub max_candidates: usize,
    pub seed: u64,
}

impl KnnParams {
    pub fn new(k: usize) -> Self {
        Self {
            k,
            max_rounds: 16,
            delta: 0.001,
            max_candidates: (k * 3 / 2).max(16),
            seed: 42,
        }
    }
}

/// Rows copied out and normalised to unit length (zero rows stay zero).
pub fn normalized_rows(rows: &dyn Rows) -> Vec<f32> {
    let d = rows.dim();
    let mut data = vec![0.0f32; rows.len() * d];
    data.par_chunks_mut(d.max(1))
        .enumerate()
        .for_each(|(i, r)| {
            rows.row(i, r);
            let n = r.iter().map(|v| v * v).sum::<f32>().sqrt();
            if n > 0.0 {
                r.iter_mut().for_each(|v| *v /= n);
            }
        });
    data
}

fn cosine(data: &[f32], d: usize, a: usize, b: usize) -> f32 {
    1.0 - dot(&data[a * d..(a + 1) * d], &data[b * d..(b + 1) * d])
}

/// One point's current neighbours, sorted by distance, at most k.
#[derive(Clone, Default)]
struct NeighbourList {
    entries: Vec<(f32, u32, bool)>, // (distance, index, is_new)
}

impl NeighbourList {
    /// The distance a newcomer must beat (infinite while the list is not full).
    fn worst(&self, k: usize) -> f32 {
        if self.entries.len() < k {
            f32::INFINITY
        } else {
            self.entries[k - 1].0
        }
    }

    /// Inserts `j` at `dist` if it beats the worst entry and is not there yet.
    fn push(&mut self, k: usize, dist: f32, j: u32) -> bool {
        if self.entries.len() == k && dist >= self.entries[k - 1].0 {
            return false;
        }
        if self.entries.iter().any(|e| e.1 == j) {
            return false;
        }
        let pos = self.entries.partition_point(|e| e.0 <= dist);
        self.entries.insert(pos, (dist, j, true));
        self.entries.truncate(k);
        true
    }
}

/// The approximate k-NN graph of `rows` (cosine). With `N ≤ k` every point lists all others
/// (padded by repeating the farthest, so lists always hold k entries when N > 1).
pub fn knn_graph(rows: &dyn Rows, params: &KnnParams) -> KnnGraph {
    let data = normalized_rows(rows);
    knn_graph_normalized(&data, rows.dim(), params)
}

/// As [`knn_graph`], on rows already L2-normalised (`n×d` row-major).
pub fn knn_graph_normalized(data: &[f32], d: usize, params: &KnnParams) -> KnnGraph {
    let n = data.len().checked_div(d).unwrap_or(0);
    let k = params.k.max(1);
    if n <= 1 {
        return KnnGraph {
            k,
            indices: vec![0; n * k],
            distances: vec![0.0; n * k],
        };
    }
    if n <= k + 1 || n <= 64 {
        return exact_knn(data, d, k);
    }
    let lists: Vec<Mutex<NeighbourList>> = (0..n)
        .into_par_iter()
        .map(|i| {
            let mut rng = Rng::new(params.seed ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let mut list = NeighbourList::default();
            while list.entries.len() < k {
                let j = rng.below(n);
                if j != i {
                    list.push(k, cosine(data, d, i, j), j as u32);
                }
            }
            Mutex::new(list)
        })
        .collect();
    let lock = |i: usize| lists[i].lock().unwrap_or_else(|e| e.into_inner());
    // A head start from random-projection trees (as pynndescent): points sharing a leaf are
    // likely neighbours, which saves NN-descent its first, most expensive rounds.
    let leaf = (2 * k).max(16);
    let leaves: Vec<Vec<u32>> = (0..RP_TREES)
        .into_par_iter()
        .flat_map_iter(|t| {
            let mut out = Vec::new();
            rp_leaves(
                data,
                d,
                (0..n as u32).collect(),
                leaf,
                params.seed ^ (t as u64 + 1).wrapping_mul(0xa076_1d64_78bd_642f),
                &mut out,
            );
            out
        })
        .collect();
    leaves.par_iter().for_each(|members| {
        for (a, &p) in members.iter().enumerate() {
            for &q in &members[a + 1..] {
                let dist = cosine(data, d, p as usize, q as usize);
                lock(p as usize).push(k, dist, q);
                lock(q as usize).push(k, dist, p);
            }
        }
    });
    drop(leaves);
    // Each list's current k-th distance, readable without the lock: most proposals lose to
    // it and never touch the mutex.
    let worst: Vec<AtomicU32> = (0..n)
        .map(|i| AtomicU32::new(lock(i).worst(k).to_bits()))
        .collect();
    let offer = |p: u32, q: u32, dist: f32| -> bool {
        let p = p as usize;
        if dist >= f32::from_bits(worst[p].load(Ordering::Relaxed)) {
            return false;
        }
        let mut list = lock(p);
        let changed = list.push(k, dist, q);
        if changed {
            worst[p].store(list.worst(k).to_bits(), Ordering::Relaxed);
        }
        changed
    };
    let half = (params.max_candidates / 2).max(1);
    for round in 0..params.max_rounds {
        // Candidates: new and old neighbours, forward and reverse, capped per point.
        let mut new_c: Vec<Vec<u32>> = vec![Vec::new(); n];
        let mut old_c: Vec<Vec<u32>> = vec![Vec::new(); n];
        for (i, (nc, oc)) in new_c.iter_mut().zip(old_c.iter_mut()).enumerate() {
            let mut list = lock(i);
            for e in list.entries.iter_mut() {
                if e.2 && nc.len() < half {
                    nc.push(e.1);
                    e.2 = false;
                } else if !e.2 {
                    oc.push(e.1);
                }
            }
        }
        let mut rng = Rng::new(params.seed ^ (round as u64 + 1));
        let (mut new_r, mut old_r): (Vec<Vec<u32>>, Vec<Vec<u32>>) =
            (vec![Vec::new(); n], vec![Vec::new(); n]);
        for i in 0..n {
            for &j in &new_c[i] {
                reservoir(&mut new_r[j as usize], i as u32, half, &mut rng);
            }
            for &j in &old_c[i] {
                reservoir(&mut old_r[j as usize], i as u32, half, &mut rng);
            }
        }
        let updates: usize = (0..n)
            .into_par_iter()
            .map(|v| {
                let mut news = new_c[v].clone();
                news.extend_from_slice(&new_r[v]);
                news.sort_unstable();
                news.dedup();
                let mut olds = old_c[v].clone();
                olds.extend_from_slice(&old_r[v]);
                olds.sort_unstable();
                olds.dedup();
                let mut count = 0;
                let mut try_pair = |p: u32, q: u32| {
                    if p == q {
                        return;
                    }
                    let dist = cosine(data, d, p as usize, q as usize);
                    count += usize::from(offer(p, q, dist));
                    count += usize::from(offer(q, p, dist));
                };
                for (a, &p) in news.iter().enumerate() {
                    for &q in &news[a + 1..] {
                        try_pair(p, q);
                    }
                    for &q in &olds {
                        try_pair(p, q);
                    }
                }
                count
            })
            .sum();
        if (updates as f32) < params.delta * (n * k) as f32 {
            break;
        }
    }
    let mut indices = Vec::with_capacity(n * k);
    let mut distances = Vec::with_capacity(n * k);
    for list in lists {
        let list = list.into_inner().unwrap_or_else(|e| e.into_inner());
        for e in &list.entries {
            indices.push(e.1);
            distances.push(e.0);
        }
    }
    KnnGraph {
        k,
        indices,
        distances,
    }
}

/// Random-projection trees built for the head start.
const RP_TREES: usize = 4;

/// Splits `ids` by random hyperplanes (the bisector of two random members) until every part
/// has at most `leaf` members; appends the parts to `out`.
fn rp_leaves(
    data: &[f32],
    d: usize,
    ids: Vec<u32>,
    leaf: usize,
    seed: u64,
    out: &mut Vec<Vec<u32>>,
) {
    let mut stack = vec![ids];
    let mut rng = Rng::new(seed);
    let mut normal = vec![0.0f32; d];
    while let Some(ids) = stack.pop() {
        if ids.len() <= leaf {
            out.push(ids);
            continue;
        }
        let a = ids[rng.below(ids.len())] as usize;
        let mut b = ids[rng.below(ids.len())] as usize;
        if a == b {
            b = ids[(ids.iter().position(|&x| x as usize == a).unwrap_or(0) + 1) % ids.len()]
                as usize;
        }
        let (xa, xb) = (&data[a * d..(a + 1) * d], &data[b * d..(b + 1) * d]);
        for ((nv, va), vb) in normal.iter_mut().zip(xa).zip(xb) {
            *nv = va - vb;
        }
        // Rows are unit length, so the bisector passes through the origin.
        let (mut left, mut right): (Vec<u32>, Vec<u32>) = ids
            .iter()
            .partition(|&&i| dot(&data[i as usize * d..(i as usize + 1) * d], &normal) > 0.0);
        if left.is_empty() || right.is_empty() {
            // Identical points: split arbitrarily so the recursion ends.
            let mut all = if left.is_empty() { right } else { left };
            right = all.split_off(all.len() / 2);
            left = all;
        }
        stack.push(left);
        stack.push(right);
    }
}

/// Keeps a uniform sample of at most `cap` of the values pushed into `v`.
fn reservoir(v: &mut Vec<u32>, x: u32, cap: usize, rng: &mut Rng) {
    if v.len() < cap {
        v.push(x);
    } else {
        let r = rng.below(v.len() + 1);
        if r < cap {
            v[r] = x;
        }
    }
}

/// Exact k-NN by brute force (small N, and the reference for tests), padded to k entries.
pub fn exact_knn(data: &[f32], d: usize, k: usize) -> KnnGraph {
    let n = data.len().checked_div(d).unwrap_or(0);
    let rows: Vec<(Vec<u32>, Vec<f32>)> = (0..n)
        .into_par_iter()
        .map(|i| exact_query(data, d, k, i))
        .collect();
    let mut indices = Vec::with_capacity(n * k);
    let mut distances = Vec::with_capacity(n * k);
    for (idx, dist) in rows {
        indices.extend(idx);
        distances.extend(dist);
    }
    KnnGraph {
        k,
        indices,
        distances,
    }
}

/// The exact k nearest neighbours of point `i` (excluding itself), padded to k entries.
pub fn exact_query(data: &[f32], d: usize, k: usize, i: usize) -> (Vec<u32>, Vec<f32>) {
    let n = data.len().checked_div(d).unwrap_or(0);
    let mut all: Vec<(f32, u32)> = (0..n)
        .filter(|&j| j != i)
        .map(|j| (cosine(data, d, i, j), j as u32))
        .collect();
    let take = k.min(all.len());
    if take > 0 && take < all.len() {
        all.select_nth_unstable_by(take - 1, |a, b| a.0.total_cmp(&b.0));
    }
    all.truncate(take);
    all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut idx: Vec<u32> = all.iter().map(|e| e.1).collect();
    let mut dist: Vec<f32> = all.iter().map(|e| e.0).collect();
    while idx.len() < k {
        idx.push(idx.last().copied().unwrap_or(i as u32));
        dist.push(dist.last().copied().unwrap_or(0.0));
    }
    (idx, dist)
}

/// Mean fraction of the exact k nearest neighbours found, over the points `queries`.
pub fn recall(graph: &KnnGraph, data: &[f32], d: usize, queries: &[usize]) -> f64 {
    let k = graph.k;
    let hits: usize = queries
        .par_iter()
        .map(|&i| {
            let (exact, _) = exact_query(data, d, k, i);
            let found = graph.neighbours(i);
            exact.iter().filter(|j| found.contains(j)).count()
        })
        .sum();
    hits as f64 / (queries.len() * k).max(1) as f64
}

/// Above this many rows, neighbours are searched in a PCA reduction…
pub const REDUCE_ABOVE_ROWS: usize = 20_000;
/// …of this many dimensions (when the embeddings are wider).
pub const REDUCED_DIMS: usize = 64;

/// The k-NN graph of `rows` under cosine distance, searched in the first 64 principal
/// components when there are many wide rows: memory and time then stay bounded (1M×512 f32
/// would be a 2 GB copy and 8× the distance work), and CLIP-like embeddings keep their
/// neighbourhoods (see README's quality table). Returns the graph and the dimensions searched.
pub fn neighbour_graph(rows: &dyn Rows, k: usize, seed: u64) -> (KnnGraph, usize) {
    let mut params = KnnParams::new(k);
    params.seed = seed;
    if rows.len() > REDUCE_ABOVE_ROWS && rows.dim() > REDUCED_DIMS {
        let reduced = super::Pca::fit(rows, REDUCED_DIMS, seed).project(rows);
        (
            knn_graph(&super::DenseRows::new(&reduced, REDUCED_DIMS), &params),
            REDUCED_DIMS,
        )
    } else {
        (knn_graph(rows, &params), rows.dim())
    }
}

#[cfg(test)]
mod tests {
    use super::super::DenseRows;
    use super::*;

    /// Gaussian clusters on the sphere, like embeddings of a collection.
    pub(crate) fn clustered(n: usize, d: usize, clusters: usize, seed: u64) -> Vec<f32> {
        let mut rng = Rng::new(seed);
        let centres: Vec<f32> = (0..clusters * d).map(|_| rng.normal()).collect();
        let mut data = Vec::with_capacity(n * d);
        for i in 0..n {
            let c = i % clusters;
            for t in 0..d {
                data.push(centres[c * d + t] + 0.6 * rng.normal());
            }
        }
        data
    }

    #[test]
    fn nn_descent_recall_at_15_on_20k_points() {
        let (n, d) = (20_000, 64);
        let raw = clustered(n, d, 40, 11);
        let data = normalized_rows(&DenseRows::new(&raw, d));
        let graph = knn_graph_normalized(&data, d, &KnnParams::new(15));
        assert_eq!(graph.len(), n);
        // Exact search for 1000 evenly spaced query points (all 20k × 20k is too slow for
        // a test and estimates the same mean).
        let queries: Vec<usize> = (0..1000).map(|q| q * n / 1000).collect();
        let r = recall(&graph, &data, d, &queries);
        eprintln!("NN-descent recall@15 on 20k×64: {r:.4}");
        assert!(r >= 0.95, "recall@15 = {r}");
        for i in [0, 777, n - 1] {
            let nb = graph.neighbours(i);
            assert!(!nb.contains(&(i as u32)), "no self-loops");
            let dist = &graph.distances[i * 15..(i + 1) * 15];
            assert!(dist.windows(2).all(|w| w[0] <= w[1]), "sorted");
        }
    }

    #[test]
    fn degenerate_inputs_give_full_lists() {
        for n in [1usize, 2, 15, 16] {
            let raw = clustered(n, 8, 2, 3);
            let g = knn_graph(&DenseRows::new(&raw, 8), &KnnParams::new(15));
            assert_eq!(g.indices.len(), n * 15, "n = {n}");
            if n > 1 {
                for i in 0..n {
                    assert!(
                        g.neighbours(i)
                            .iter()
                            .all(|&j| (j as usize) < n && j as usize != i)
                    );
                }
            }
        }
        // All-identical rows: every distance is 0, lists still fill.
        let same = vec![0.3f32; 200 * 4];
        let g = knn_graph(&DenseRows::new(&same, 4), &KnnParams::new(10));
        assert!(g.distances.iter().all(|v| v.abs() < 1e-5));
        assert_eq!(g.indices.len(), 2000);
    }
}
