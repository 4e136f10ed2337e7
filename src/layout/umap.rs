//! UMAP (McInnes, Healy & Melville, 2018), following umap-learn's choices.
//!
//! How it works: the k-NN graph ([`super::knn`]) becomes a fuzzy simplicial set — each
//! point's neighbour distances are shifted by its nearest distance ρᵢ and scaled by a σᵢ
//! found by bisection so that the memberships sum to log₂ k; memberships are symmetrised
//! with the fuzzy union w + wᵀ − w∘wᵀ. The layout starts from PCA (scaled to ±10) and is
//! optimised by SGD on the cross-entropy between that set and a low-dimensional one whose
//! membership curve 1/(1 + a·d^{2b}) is fitted to `min_dist` and `spread`: every edge pulls
//! its ends together as often as its weight says, and each pull comes with a few pushes
//! away from random points (negative sampling). Learning rate decays linearly.
//!
//! The SGD runs on the rayon pool, lock-free (see [`umap_2d_monitored`]); it reports every
//! epoch to a [`UmapMonitor`], which can cancel it and receive intermediate positions.
//! Rejected for initialisation: the spectral embedding (needs a sparse
//! eigensolver; PCA initialisation reaches the same quality on our fixtures).

use glam::Vec2;
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use super::knn::{KnnGraph, neighbour_graph};
use super::{Pca, Rng, Rows, normalize_positions};

/// UMAP's parameters (umap-learn's defaults).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct UmapParams {
    pub n_neighbors: usize,
    pub min_dist: f32,
    pub spread: f32,
    /// 0 chooses as umap-learn does: 500 up to 10 000 points, else 200.
    pub n_epochs: usize,
    pub negative_sample_rate: usize,
    pub seed: u64,
}

impl Default for UmapParams {
    fn default() -> Self {
        Self {
            n_neighbors: 15,
            min_dist: 0.1,
            spread: 1.0,
            n_epochs: 0,
            negative_sample_rate: 5,
            seed: 42,
        }
    }
}

impl UmapParams {
    /// The epochs a run over `n` points makes (see [`UmapParams::n_epochs`]).
    pub fn epochs_for(&self, n: usize) -> usize {
        match self.n_epochs {
            0 if n <= 10_000 => 500,
            0 => 200,
            e => e,
        }
    }
}

/// Fits `a`, `b` of 1/(1 + a·x^{2b}) to the target curve of `min_dist` and `spread`
/// (Levenberg–Marquardt on 300 points over [0, 3·spread], as umap-learn's curve_fit).
pub fn find_ab(spread: f32, min_dist: f32) -> (f32, f32) {
    let xs: Vec<f64> = (1..300)
        .map(|i| f64::from(spread) * 3.0 * i as f64 / 299.0)
        .collect();
    let ys: Vec<f64> = xs
        .iter()
        .map(|&x| {
            if x < f64::from(min_dist) {
                1.0
            } else {
                (-(x - f64::from(min_dist)) / f64::from(spread)).exp()
            }
        })
        .collect();
    let residual = |a: f64, b: f64| -> f64 {
        xs.iter()
            .zip(&ys)
            .map(|(&x, &y)| {
                let f = 1.0 / (1.0 + a * x.powf(2.0 * b));
                (f - y) * (f - y)
            })
            .sum()
    };
    let (mut a, mut b, mut lambda) = (1.0f64, 1.0f64, 1e-3f64);
    let mut err = residual(a, b);
    for _ in 0..200 {
        // Jacobian of f w.r.t. (a, b).
        let (mut jtj, mut jtr) = ([[0.0f64; 2]; 2], [0.0f64; 2]);
        for (&x, &y) in xs.iter().zip(&ys) {
            let p = x.powf(2.0 * b);
            let den = 1.0 + a * p;
            let f = 1.0 / den;
            let da = -p / (den * den);
            let db = -a * p * 2.0 * x.ln() / (den * den);
            let r = f - y;
            let g = [da, db];
            for u in 0..2 {
                jtr[u] += g[u] * r;
                for v in 0..2 {
                    jtj[u][v] += g[u] * g[v];
                }
            }
        }
        let m00 = jtj[0][0] * (1.0 + lambda);
        let m11 = jtj[1][1] * (1.0 + lambda);
        let det = m00 * m11 - jtj[0][1] * jtj[1][0];
        if det.abs() < 1e-300 {
            break;
        }
        let da = -(m11 * jtr[0] - jtj[0][1] * jtr[1]) / det;
        let db = -(m00 * jtr[1] - jtj[1][0] * jtr[0]) / det;
        let (na, nb) = (a + da, b + db);
        let new_err = if na > 0.0 && nb > 0.0 {
            residual(na, nb)
        } else {
            f64::INFINITY
        };
        if new_err < err {
            (a, b, err) = (na, nb, new_err);
            lambda *= 0.3;
            if da.abs() < 1e-10 && db.abs() < 1e-10 {
                break;
            }
        } else {
            lambda *= 10.0;
        }
    }
    (a as f32, b as f32)
}

/// The k-NN graph UMAP needs: `n_neighbors` counts the point itself, as in umap-learn.
pub fn umap_knn(rows: &dyn Rows, n_neighbors: usize, seed: u64) -> KnnGraph {
    let n = rows.len();
    let k = n_neighbors
        .saturating_sub(1)
        .clamp(1, n.saturating_sub(1).max(1));
    neighbour_graph(rows, k, seed).0
}

/// The fuzzy simplicial set as a list of symmetric weighted edges (i < j), from the first
/// `n_neighbors - 1` neighbours of each point in `graph`.
pub fn fuzzy_edges(graph: &KnnGraph, n_neighbors: usize) -> Vec<(u32, u32, f32)> {
    let n = graph.len();
    let k = n_neighbors.saturating_sub(1).clamp(1, graph.k.max(1));
    let target = (n_neighbors.max(2) as f64).log2();
    // Directed memberships, stored under the unordered pair (min, max) so that a sort brings
    // i→j and j→i together (a vector and a sort: a hash map of 14M edges costs ~1 GB at 1M).
    let mut directed: Vec<(u32, u32, f32)> = Vec::with_capacity(n * k);
    for i in 0..n {
        let nb = &graph.neighbours(i)[..k];
        let dist = &graph.distances[i * graph.k..i * graph.k + k];
        let rho = dist.iter().copied().find(|d| *d > 0.0).unwrap_or(0.0);
        let membership = |sigma: f64| -> f64 {
            dist.iter()
                .map(|&d| (-(f64::from(d - rho).max(0.0)) / sigma).exp())
                .sum()
        };
        let (mut lo, mut hi, mut sigma) = (0.0f64, f64::INFINITY, 1.0f64);
        for _ in 0..64 {
            let s = membership(sigma);
            if (s - target).abs() < 1e-5 {
                break;
            }
            if s > target {
                hi = sigma;
                sigma = (lo + hi) / 2.0;
            } else {
                lo = sigma;
                sigma = if hi.is_infinite() {
                    sigma * 2.0
                } else {
                    (lo + hi) / 2.0
                };
            }
        }
        let mean_d = dist.iter().map(|d| f64::from(*d)).sum::<f64>() / k as f64;
        sigma = sigma.max(1e-3 * mean_d).max(1e-12);
        for (&j, &d) in nb.iter().zip(dist) {
            if j as usize == i {
                continue;
            }
            let w = (-(f64::from(d - rho).max(0.0)) / sigma).exp() as f32;
            let i = i as u32;
            directed.push(if i < j { (i, j, w) } else { (j, i, w) });
        }
    }
    directed.par_sort_unstable_by(|x, y| (x.0, x.1).cmp(&(y.0, y.1)).then(x.2.total_cmp(&y.2)));
    // Fuzzy union: a pair listed from both ends gets w₁ + w₂ − w₁w₂.
    let mut edges: Vec<(u32, u32, f32)> = Vec::with_capacity(directed.len());
    for e in directed {
        match edges.last_mut() {
            Some(last) if last.0 == e.0 && last.1 == e.1 => last.2 = last.2 + e.2 - last.2 * e.2,
            _ => edges.push(e),
        }
    }
    edges
}

/// Watches a UMAP run: progress, cancellation and intermediate positions (so a viewer can
/// animate the layout while it converges). Every method has a do-nothing default.
pub trait UmapMonitor: Sync {
    /// Called after every epoch with the epochs done and the total; `false` cancels the run.
    fn epoch_done(&self, _done: usize, _total: usize) -> bool {
        true
    }
    /// How often, in epochs, [`UmapMonitor::snapshot`] is called (0: never).
    fn snapshot_every(&self) -> usize {
        0
    }
    /// The positions so far, normalised as the final result will be.
    fn snapshot(&self, _epoch: usize, _positions: &[Vec2]) {}
}

/// A monitor that watches nothing.
pub struct Unmonitored;
impl UmapMonitor for Unmonitored {}

/// The run was cancelled by its [`UmapMonitor`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cancelled;

impl std::fmt::Display for Cancelled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the layout was cancelled")
    }
}
impl std::error::Error for Cancelled {}

/// A gradient step clipped to ±4 per axis, as umap-learn clips.
fn clip(v: Vec2) -> Vec2 {
    v.clamp(Vec2::splat(-4.0), Vec2::splat(4.0))
}

/// 2-D positions shared by the SGD threads. Updates race as in every parallel UMAP
/// (umap-learn's numba kernels, cuML): a lost update is one skipped SGD step. Relaxed atomic
/// loads and stores compile to plain moves, so the races stay memory-safe without locks.
struct SharedPositions(Vec<AtomicU64>);

impl SharedPositions {
    fn new(p: &[Vec2]) -> Self {
        Self(p.iter().map(|v| AtomicU64::new(pack(*v))).collect())
    }
    #[inline]
    fn get(&self, i: usize) -> Vec2 {
        unpack(self.0[i].load(Ordering::Relaxed))
    }
    #[inline]
    fn add(&self, i: usize, d: Vec2) {
        let slot = &self.0[i];
        let p = unpack(slot.load(Ordering::Relaxed));
        slot.store(pack(p + d), Ordering::Relaxed);
    }
    fn to_vec(&self) -> Vec<Vec2> {
        (0..self.0.len()).map(|i| self.get(i)).collect()
    }
}

/// x and y of one point in one 64-bit word: read and written together, in one move each.
#[inline]
fn pack(p: Vec2) -> u64 {
    u64::from(p.x.to_bits()) | (u64::from(p.y.to_bits()) << 32)
}

#[inline]
fn unpack(v: u64) -> Vec2 {
    Vec2::new(f32::from_bits(v as u32), f32::from_bits((v >> 32) as u32))
}

/// One edge of the fuzzy set and its sampling schedule.
struct EdgeState {
    i: u32,
    j: u32,
    /// Epochs between two samples of this edge (w_max / w).
    per_sample: f32,
    next_sample: f32,
    next_negative: f32,
}

/// Negative samples whose positions are fetched at once.
const NEGATIVE_BATCH: usize = 8;

/// Edges per parallel work item. Fixed, so that the random streams (one per chunk and epoch)
/// do not depend on the number of threads.
const SGD_CHUNK: usize = 4096;

/// Lays `rows` out in 2-D by UMAP; positions normalised to [-1, 1] with aspect kept.
pub fn umap_2d(rows: &dyn Rows, params: &UmapParams) -> Vec<Vec2> {
    if rows.len() <= 2 || rows.dim() == 0 {
        return super::pca_2d(rows, params.seed);
    }
    let graph = umap_knn(rows, params.n_neighbors, params.seed);
    umap_2d_with_graph(rows, &graph, params)
}

/// As [`umap_2d`], reusing a k-NN graph of `rows` (any k; the first `n_neighbors - 1`
/// neighbours are used).
pub fn umap_2d_with_graph(rows: &dyn Rows, graph: &KnnGraph, params: &UmapParams) -> Vec<Vec2> {
    umap_2d_monitored(rows, graph, params, &Unmonitored)
        .unwrap_or_else(|Cancelled| super::pca_2d(rows, params.seed))
}

/// As [`umap_2d_with_graph`], reporting to `monitor` after every epoch.
///
/// The SGD runs on the current rayon pool, edges in fixed chunks, each chunk with its own
/// random stream: on one thread the result is a pure function of the inputs and the seed;
/// on several, the racing updates make it vary slightly from run to run, as umap-learn's
/// parallel mode does.
pub fn umap_2d_monitored(
    rows: &dyn Rows,
    graph: &KnnGraph,
    params: &UmapParams,
    monitor: &dyn UmapMonitor,
) -> Result<Vec<Vec2>, Cancelled> {
    let n = rows.len();
    if n <= 2 || rows.dim() == 0 || graph.len() != n {
        return Ok(super::pca_2d(rows, params.seed));
    }
    optimise(
        rows,
        fuzzy_edges(graph, params.n_neighbors),
        params,
        monitor,
    )
}

/// How far apart (as −log of the weight factor) two images with different labels are put:
/// umap-learn's `far_dist` for its default `target_weight` 0.5.
const FAR_DIST: f32 = 5.0;
/// The same for a pair where one label is unknown (umap-learn's `unknown_dist`).
const UNKNOWN_DIST: f32 = 1.0;

/// Supervised UMAP (umap-learn's `fit(X, y)` for a categorical `y`): the fuzzy set of the
/// embeddings intersected with the labels' (an edge between different labels keeps
/// e^−5 of its weight, one with an unknown label, `-1`, e^−1), then each point's strongest
/// edge reset to 1 and the set made symmetric again (umap-learn's
/// `reset_local_connectivity`), so every point stays connected to its own label.
pub fn umap_2d_supervised(
    rows: &dyn Rows,
    graph: &KnnGraph,
    params: &UmapParams,
    labels: &[i32],
    monitor: &dyn UmapMonitor,
) -> Result<Vec<Vec2>, Cancelled> {
    let n = rows.len();
    if n <= 2 || rows.dim() == 0 || graph.len() != n || labels.len() != n {
        return Ok(super::pca_2d(rows, params.seed));
    }
    let mut edges = fuzzy_edges(graph, params.n_neighbors);
    for e in &mut edges {
        let (li, lj) = (labels[e.0 as usize], labels[e.1 as usize]);
        if li < 0 || lj < 0 {
            e.2 *= (-UNKNOWN_DIST).exp();
        } else if li != lj {
            e.2 *= (-FAR_DIST).exp();
        }
    }
    let mut max = vec![0.0f32; n];
    for &(i, j, w) in &edges {
        max[i as usize] = max[i as usize].max(w);
        max[j as usize] = max[j as usize].max(w);
    }
    for e in &mut edges {
        let a = e.2 / max[e.0 as usize].max(f32::MIN_POSITIVE);
        let b = e.2 / max[e.1 as usize].max(f32::MIN_POSITIVE);
        e.2 = a + b - a * b;
    }
    optimise(rows, edges, params, monitor)
}

/// The SGD of UMAP over the fuzzy set `fuzzy`, from a PCA start.
fn optimise(
    rows: &dyn Rows,
    fuzzy: Vec<(u32, u32, f32)>,
    params: &UmapParams,
    monitor: &dyn UmapMonitor,
) -> Result<Vec<Vec2>, Cancelled> {
    let n = rows.len();
    let (a, b) = find_ab(params.spread, params.min_dist);
    let n_epochs = params.epochs_for(n);
    // PCA initialisation scaled to ±10, plus a little noise so duplicates separate.
    let pca = Pca::fit(rows, 2, params.seed);
    let coords = pca.project(rows);
    let kc = pca.components.len().max(1);
    let max = coords.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-12);
    let mut rng = Rng::new(params.seed);
    let init: Vec<Vec2> = (0..n)
        .map(|i| {
            let c = &coords[i * kc..(i + 1) * kc];
            let x = c[0] * 10.0 / max + rng.normal() * 1e-4;
            Vec2::new(
                x,
                c.get(1).copied().unwrap_or(0.0) * 10.0 / max + rng.normal() * 1e-4,
            )
        })
        .collect();
    drop(coords);
    let y = SharedPositions::new(&init);
    drop(init);

    // Edges too weak to be sampled once in the whole run are dropped, as in umap-learn.
    let w_max = fuzzy.iter().fold(0.0f32, |m, e| m.max(e.2));
    let mut edges: Vec<EdgeState> = fuzzy
        .into_iter()
        .filter(|e| e.2 >= w_max / n_epochs as f32)
        .map(|(i, j, w)| {
            let per_sample = w_max / w;
            EdgeState {
                i,
                j,
                per_sample,
                next_sample: per_sample,
                next_negative: per_sample / params.negative_sample_rate.max(1) as f32,
            }
        })
        .collect();
    let negative_rate = params.negative_sample_rate as f32;
    let snapshot_every = monitor.snapshot_every();

    for epoch in 0..n_epochs {
        let alpha = 1.0 - epoch as f32 / n_epochs as f32;
        let now = epoch as f32;
        edges
            .par_chunks_mut(SGD_CHUNK)
            .enumerate()
            .for_each(|(c, chunk)| {
                let mut rng = Rng::new(
                    params.seed
                        ^ (epoch as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)
                        ^ (c as u64 + 1).wrapping_mul(0xd1b5_4a32_d192_ed03),
                );
                for e in chunk {
                    if e.next_sample > now {
                        continue;
                    }
                    // Each sample moves both ends and pushes a random end away from
                    // negative samples (umap-learn lists every edge from both ends; picking
                    // the end at random keeps the balance at half the work).
                    let r = rng.next_u64();
                    let (h, t) = if r & 1 == 0 { (e.i, e.j) } else { (e.j, e.i) };
                    let (h, t) = (h as usize, t as usize);
                    let (ph, pt) = (y.get(h), y.get(t));
                    let dx = ph - pt;
                    let d2 = dx.length_squared();
                    if d2 > 0.0 {
                        let pb = d2.powf(b);
                        let coeff = -2.0 * a * b * (pb / d2) / (a * pb + 1.0);
                        let g = clip(coeff * dx) * alpha;
                        y.add(h, g);
                        y.add(t, -g);
                    }
                    e.next_sample += e.per_sample;
                    let neg_per_sample = e.per_sample / negative_rate;
                    let negatives = ((now - e.next_negative) / neg_per_sample).max(0.0) as usize;
                    // The negative samples' positions are loaded together first: random
                    // reads miss the cache, and issued back to back their misses overlap.
                    let mut left = negatives;
                    while left > 0 {
                        let batch = left.min(NEGATIVE_BATCH);
                        left -= batch;
                        let mut far = [Vec2::ZERO; NEGATIVE_BATCH];
                        let mut valid = [false; NEGATIVE_BATCH];
                        for s in 0..batch {
                            let k = rng.below(n);
                            valid[s] = k != h;
                            far[s] = y.get(k);
                        }
                        for s in 0..batch {
                            if !valid[s] {
                                continue;
                            }
                            let ph = y.get(h);
                            let dx = ph - far[s];
                            let d2 = dx.length_squared();
                            if d2 > 0.0 {
                                let coeff = 2.0 * b / ((0.001 + d2) * (a * d2.powf(b) + 1.0));
                                y.add(h, clip(coeff * dx) * alpha);
                            }
                        }
                    }
                    e.next_negative += negatives as f32 * neg_per_sample;
                }
            });
        if !monitor.epoch_done(epoch + 1, n_epochs) {
            return Err(Cancelled);
        }
        if snapshot_every > 0 && (epoch + 1) % snapshot_every == 0 && epoch + 1 < n_epochs {
            let mut p = y.to_vec();
            normalize_positions(&mut p);
            monitor.snapshot(epoch + 1, &p);
        }
    }
    let mut p = y.to_vec();
    normalize_positions(&mut p);
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::DenseRows;

    fn blobs(n: usize, d: usize) -> Vec<f32> {
        let mut rng = Rng::new(4);
        (0..n * d)
            .map(|t| ((t / d) % 3) as f32 * 2.0 + rng.normal() * 0.3)
            .collect()
    }

    #[test]
    fn deterministic_on_one_thread() {
        let data = blobs(300, 8);
        let rows = DenseRows::new(&data, 8);
        let params = UmapParams {
            n_epochs: 50,
            ..Default::default()
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let a = pool.install(|| umap_2d(&rows, &params));
        let b = pool.install(|| umap_2d(&rows, &params));
        assert_eq!(a, b);
        assert!(
            a.iter()
                .flat_map(|p| p.to_array())
                .all(|v| v.is_finite() && v.abs() <= 1.0 + 1e-5)
        );
    }

    /// Share of each point's 10 nearest layout neighbours with its label.
    fn label_purity(p: &[Vec2], labels: &[i32]) -> f64 {
        let mut agree = 0usize;
        for (i, a) in p.iter().enumerate() {
            let mut d: Vec<(f32, usize)> = p
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(j, b)| (a.distance_squared(*b), j))
                .collect();
            d.sort_by(|x, y| x.0.total_cmp(&y.0));
            agree += d[..10]
                .iter()
                .filter(|(_, j)| labels[*j] == labels[i])
                .count();
        }
        agree as f64 / (10 * p.len()) as f64
    }

    #[test]
    fn labels_pull_a_supervised_layout_apart() {
        // Structureless points with random labels (one in ten unknown): UMAP alone mixes
        // them; supervised, each label gathers.
        let (n, d) = (600, 8);
        let mut rng = Rng::new(9);
        let data: Vec<f32> = (0..n * d).map(|_| rng.normal()).collect();
        let labels: Vec<i32> = (0..n)
            .map(|_| match rng.below(10) {
                0 => -1,
                k => (k % 3) as i32,
            })
            .collect();
        let rows = DenseRows::new(&data, d);
        let params = UmapParams {
            n_epochs: 200,
            ..Default::default()
        };
        let graph = umap_knn(&rows, params.n_neighbors, params.seed);
        let plain = umap_2d_with_graph(&rows, &graph, &params);
        let supervised = umap_2d_supervised(&rows, &graph, &params, &labels, &Unmonitored).unwrap();
        let known: Vec<usize> = (0..n).filter(|&i| labels[i] >= 0).collect();
        let pick = |p: &[Vec2]| known.iter().map(|&i| p[i]).collect::<Vec<_>>();
        let known_labels: Vec<i32> = known.iter().map(|&i| labels[i]).collect();
        let (before, after) = (
            label_purity(&pick(&plain), &known_labels),
            label_purity(&pick(&supervised), &known_labels),
        );
        assert!(before < 0.5, "unsupervised purity {before}");
        // umap-learn's own intersection gives about the same on noise: the graph of the
        // points links each to only ~5 of its label among 14 neighbours.
        assert!(
            after > 0.7 && after > before + 0.35,
            "supervised purity {after} (unsupervised {before})"
        );
    }

    #[test]
    fn degenerate_inputs_give_a_layout() {
        let params = UmapParams {
            n_epochs: 30,
            ..Default::default()
        };
        for n in [1usize, 2, 3, 15, 16] {
            let data = blobs(n, 4);
            let p = umap_2d(&DenseRows::new(&data, 4), &params);
            assert_eq!(p.len(), n);
            assert!(
                p.iter().flat_map(|p| p.to_array()).all(|v| v.is_finite()),
                "n = {n}"
            );
        }
        let same = vec![0.5f32; 40 * 4];
        let p = umap_2d(&DenseRows::new(&same, 4), &params);
        assert!(p.iter().flat_map(|p| p.to_array()).all(|v| v.is_finite()));
        let dup: Vec<f32> = blobs(20, 4).into_iter().chain(blobs(20, 4)).collect();
        let p = umap_2d(&DenseRows::new(&dup, 4), &params);
        assert!(p.iter().flat_map(|p| p.to_array()).all(|v| v.is_finite()));
    }

    struct Watch {
        epochs: std::sync::Mutex<Vec<usize>>,
        snapshots: std::sync::Mutex<Vec<(usize, usize)>>,
        stop_after: usize,
    }

    impl UmapMonitor for Watch {
        fn epoch_done(&self, done: usize, total: usize) -> bool {
            assert!(done <= total);
            self.epochs.lock().unwrap().push(done);
            done < self.stop_after
        }
        fn snapshot_every(&self) -> usize {
            10
        }
        fn snapshot(&self, epoch: usize, positions: &[Vec2]) {
            assert!(
                positions
                    .iter()
                    .flat_map(|p| p.to_array())
                    .all(|v| v.is_finite() && v.abs() <= 1.0 + 1e-5)
            );
            self.snapshots
                .lock()
                .unwrap()
                .push((epoch, positions.len()));
        }
    }

    #[test]
    fn reports_progress_snapshots_and_cancels() {
        let data = blobs(200, 8);
        let rows = DenseRows::new(&data, 8);
        let graph = umap_knn(&rows, 15, 1);
        let params = UmapParams {
            n_epochs: 40,
            ..Default::default()
        };
        let watch = Watch {
            epochs: Default::default(),
            snapshots: Default::default(),
            stop_after: usize::MAX,
        };
        let done = umap_2d_monitored(&rows, &graph, &params, &watch).unwrap();
        assert_eq!(done.len(), 200);
        assert_eq!(*watch.epochs.lock().unwrap(), (1..=40).collect::<Vec<_>>());
        assert_eq!(
            *watch.snapshots.lock().unwrap(),
            vec![(10, 200), (20, 200), (30, 200)]
        );

        let stop = Watch {
            epochs: Default::default(),
            snapshots: Default::default(),
            stop_after: 15,
        };
        assert_eq!(
            umap_2d_monitored(&rows, &graph, &params, &stop),
            Err(Cancelled)
        );
        assert_eq!(stop.epochs.lock().unwrap().len(), 15);
    }

    #[test]
    fn curve_parameters_match_umap_learn() {
        // umap-learn: find_ab_params(1.0, 0.1) = (1.577, 0.895).
        let (a, b) = find_ab(1.0, 0.1);
        assert!(
            (a - 1.577).abs() < 0.02 && (b - 0.895).abs() < 0.01,
            "{a} {b}"
        );
    }
}
