//! PCA to two dimensions, the linear layout, in seconds for a million rows.
//!
//! How it works: the principal directions are estimated from an evenly spaced sample of at
//! most [`FIT_SAMPLE`] rows (the top two directions of 512-d embeddings are pinned down to
//! well under a degree by 20k rows) with randomised subspace iteration: a random D×k block
//! (k = 2 plus oversampling) is multiplied by XᵀX a few times and re-orthonormalised, then
//! the small k×k problem is solved exactly with Jacobi rotations. Every row is then projected
//! once, in parallel. Cost: O(sample·D·k·iterations + N·D), never O(N·D²).
//!
//! Rejected: the full D×D covariance (N·D² = 2.6·10¹¹ multiply-adds at 1M×512) and a LAPACK
//! dependency (a C toolchain and BLAS for one 2-D projection).

use glam::Vec2;
use rayon::prelude::*;

use super::{Rng, Rows, dot, normalize_positions};

/// Rows used to fit the components.
pub const FIT_SAMPLE: usize = 20_000;
const OVERSAMPLE: usize = 6;
const ITERATIONS: usize = 8;

/// A fitted PCA: the sample mean and unit principal directions, strongest first.
#[derive(Clone, Debug, PartialEq)]
pub struct Pca {
    pub mean: Vec<f32>,
    pub components: Vec<Vec<f32>>,
}

impl Pca {
    /// Fits the first `k` principal directions of `rows` (fewer when D < k).
    pub fn fit(rows: &dyn Rows, k: usize, seed: u64) -> Self {
        let n = rows.len();
        let d = rows.dim();
        if n == 0 || d == 0 {
            return Self {
                mean: vec![0.0; d],
                components: Vec::new(),
            };
        }
        let m = n.min(FIT_SAMPLE);
        let sample: Vec<f32> = {
            let mut s = vec![0.0f32; m * d];
            s.par_chunks_mut(d).enumerate().for_each(|(j, out)| {
                rows.row(j * n / m, out);
            });
            s
        };
        let mut mean = vec![0.0f64; d];
        for row in sample.chunks_exact(d) {
            for (a, v) in mean.iter_mut().zip(row) {
                *a += f64::from(*v);
            }
        }
        let mean: Vec<f32> = mean.iter().map(|v| (*v / m as f64) as f32).collect();
        let centered: Vec<f32> = sample
            .par_chunks_exact(d)
            .flat_map_iter(|row| row.iter().zip(&mean).map(|(v, mu)| v - mu))
            .collect();

        let wanted = k.min(d);
        let cols = (wanted + OVERSAMPLE).min(d);
        let mut rng = Rng::new(seed);
        // q: `cols` vectors of length d.
        let mut q: Vec<Vec<f32>> = (0..cols)
            .map(|_| (0..d).map(|_| rng.normal()).collect())
            .collect();
        orthonormalize(&mut q);
        for _ in 0..ITERATIONS {
            q = gram_times(&centered, d, &q);
            orthonormalize(&mut q);
        }
        // Small problem: C = Qᵀ XᵀX Q, symmetric.
        let xq = gram_times(&centered, d, &q);
        let mut c = vec![vec![0.0f64; cols]; cols];
        for a in 0..cols {
            for b in 0..cols {
                c[a][b] = q[a]
                    .iter()
                    .zip(&xq[b])
                    .map(|(x, y)| f64::from(*x) * f64::from(*y))
                    .sum();
            }
        }
        let (values, vectors) = jacobi_eigen(c);
        let mut order: Vec<usize> = (0..cols).collect();
        order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
        let components = order
            .iter()
            .take(wanted)
            .map(|&e| {
                let mut comp = vec![0.0f32; d];
                for (j, qj) in q.iter().enumerate() {
                    let w = vectors[j][e] as f32;
                    for (c, v) in comp.iter_mut().zip(qj) {
                        *c += w * v;
                    }
                }
                // Fix the sign: the largest entry is positive, so reruns agree.
                let max = comp
                    .iter()
                    .copied()
                    .max_by(|a, b| a.abs().total_cmp(&b.abs()))
                    .unwrap_or(1.0);
                if max < 0.0 {
                    for c in &mut comp {
                        *c = -*c;
                    }
                }
                comp
            })
            .collect();
        Self { mean, components }
    }

    /// Every row's coordinates on the components: `n × components.len()`, row-major.
    pub fn project(&self, rows: &dyn Rows) -> Vec<f32> {
        let k = self.components.len();
        let d = rows.dim();
        let mut out = vec![0.0f32; rows.len() * k];
        if k == 0 {
            return out;
        }
        out.par_chunks_mut(k).enumerate().for_each_init(
            || vec![0.0f32; d],
            |buf, (i, o)| {
                rows.row(i, buf);
                for (x, mu) in buf.iter_mut().zip(&self.mean) {
                    *x -= mu;
                }
                for (slot, comp) in o.iter_mut().zip(&self.components) {
                    *slot = dot(buf, comp);
                }
            },
        );
        out
    }
}

/// Projects every row onto the first two principal components, positions normalised to fit
/// [-1, 1] with the aspect ratio kept. Deterministic for a given `seed`.
pub fn pca_2d(rows: &dyn Rows, seed: u64) -> Vec<Vec2> {
    let n = rows.len();
    if n == 0 {
        return Vec::new();
    }
    if rows.dim() == 0 || n == 1 {
        return vec![Vec2::ZERO; n];
    }
    let pca = Pca::fit(rows, 2, seed);
    let k = pca.components.len();
    let coords = pca.project(rows);
    let mut positions: Vec<Vec2> = coords
        .chunks_exact(k.max(1))
        .map(|c| Vec2::new(c[0], c.get(1).copied().unwrap_or(0.0)))
        .collect();
    positions.resize(n, Vec2::ZERO);
    normalize_positions(&mut positions);
    positions
}

/// `XᵀX q` for each column q, X being `m×d` row-major. Rows are summed in fixed blocks and
/// the blocks added in order, so the result does not depend on thread scheduling.
fn gram_times(x: &[f32], d: usize, q: &[Vec<f32>]) -> Vec<Vec<f32>> {
    const BLOCK_ROWS: usize = 512;
    let k = q.len();
    let partials: Vec<Vec<Vec<f32>>> = x
        .par_chunks(BLOCK_ROWS * d)
        .map(|block| {
            let mut acc = vec![vec![0.0f32; d]; k];
            for row in block.chunks_exact(d) {
                for (j, qj) in q.iter().enumerate() {
                    let t = dot(row, qj);
                    for (o, v) in acc[j].iter_mut().zip(row) {
                        *o += t * v;
                    }
                }
            }
            acc
        })
        .collect();
    let mut total = vec![vec![0.0f32; d]; k];
    for part in partials {
        for (tj, pj) in total.iter_mut().zip(part) {
            for (a, b) in tj.iter_mut().zip(pj) {
                *a += b;
            }
        }
    }
    total
}

/// Gram–Schmidt with re-orthogonalisation ("twice is enough"), so that columns that are
/// nearly dependent (rank-deficient data) still come out orthonormal; a column that
/// collapses is replaced by a pseudo-random one and orthogonalised again.
fn orthonormalize(q: &mut [Vec<f32>]) {
    let mut rng = Rng::new(0x0b5e_55ed);
    for i in 0..q.len() {
        for _attempt in 0..4 {
            let before = q[i].iter().map(|v| v * v).sum::<f32>().sqrt();
            for _pass in 0..2 {
                for j in 0..i {
                    let dot: f32 = q[i].iter().zip(&q[j]).map(|(a, b)| a * b).sum();
                    let (head, tail) = q.split_at_mut(i);
                    for (a, b) in tail[0].iter_mut().zip(&head[j]) {
                        *a -= dot * b;
                    }
                }
            }
            let norm = q[i].iter().map(|v| v * v).sum::<f32>().sqrt();
            if norm > 1e-4 * before && norm > 1e-30 {
                for v in &mut q[i] {
                    *v /= norm;
                }
                break;
            }
            let d = q[i].len();
            q[i] = (0..d).map(|_| rng.normal()).collect();
        }
    }
}

/// Eigen-decomposition of a small symmetric matrix by cyclic Jacobi rotations.
/// Returns (eigenvalues, eigenvectors as columns).
fn jacobi_eigen(mut a: Vec<Vec<f64>>) -> (Vec<f64>, Vec<Vec<f64>>) {
    let n = a.len();
    let mut v: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..n).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
        .collect();
    for _sweep in 0..64 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i][j] * a[i][j])
            .sum();
        if off < 1e-22 {
            break;
        }
        for p in 0..n {
            for r in p + 1..n {
                if a[p][r].abs() < 1e-300 {
                    continue;
                }
                let theta = (a[r][r] - a[p][p]) / (2.0 * a[p][r]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for row in a.iter_mut() {
                    let (akp, akr) = (row[p], row[r]);
                    row[p] = c * akp - s * akr;
                    row[r] = s * akp + c * akr;
                }
                let (row_p, row_r) = (a[p].clone(), a[r].clone());
                for (k, (apk, ark)) in row_p.into_iter().zip(row_r).enumerate() {
                    a[p][k] = c * apk - s * ark;
                    a[r][k] = s * apk + c * ark;
                }
                for row in v.iter_mut() {
                    let (vkp, vkr) = (row[p], row[r]);
                    row[p] = c * vkp - s * vkr;
                    row[r] = s * vkp + c * vkr;
                }
            }
        }
    }
    ((0..n).map(|i| a[i][i]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::super::DenseRows;
    use super::*;
    use glam::vec2;

    #[test]
    fn finds_the_dominant_directions() {
        // Points spread 10× along (1,1,0,0) and 3× along (0,0,1,-1), little elsewhere.
        let mut rng = Rng::new(7);
        let n = 2000;
        let d = 4;
        let mut data = Vec::with_capacity(n * d);
        for _ in 0..n {
            let a = rng.normal() * 10.0;
            let b = rng.normal() * 3.0;
            let noise: Vec<f32> = (0..d).map(|_| rng.normal() * 0.1).collect();
            data.extend_from_slice(&[
                a + noise[0] + 5.0,
                a + noise[1],
                b + noise[2],
                -b + noise[3],
            ]);
        }
        let rows = DenseRows::new(&data, d);
        let p = pca_2d(&rows, 1);
        // The first coordinate tracks a (= x0 + x1), the second b (= x2 - x3).
        let corr = |f: &dyn Fn(usize) -> f32, axis: usize| {
            let xs: Vec<f32> = (0..n).map(f).collect();
            let ys: Vec<f32> = p.iter().map(|q| q[axis]).collect();
            let mx = xs.iter().sum::<f32>() / n as f32;
            let my = ys.iter().sum::<f32>() / n as f32;
            let cov: f32 = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum();
            let vx: f32 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
            let vy: f32 = ys.iter().map(|y| (y - my) * (y - my)).sum();
            (cov / (vx * vy).sqrt()).abs()
        };
        assert!(corr(&|i| data[i * d] + data[i * d + 1], 0) > 0.99);
        assert!(corr(&|i| data[i * d + 2] - data[i * d + 3], 1) > 0.99);
        let max = p
            .iter()
            .flat_map(|p| p.to_array())
            .fold(0.0f32, |m, v| m.max(v.abs()));
        assert!((max - 1.0).abs() < 1e-5);
        assert_eq!(p, pca_2d(&rows, 1), "deterministic");
    }

    #[test]
    fn reduction_keeps_distances_of_low_rank_data() {
        // 500 points in a random 3-d subspace of 10-d: 3 components keep every distance.
        let mut rng = Rng::new(5);
        let basis: Vec<f32> = (0..30).map(|_| rng.normal()).collect();
        let (n, d) = (500, 10);
        let mut data = Vec::with_capacity(n * d);
        for _ in 0..n {
            let z = [rng.normal() * 3.0, rng.normal() * 2.0, rng.normal()];
            for t in 0..d {
                data.push((0..3).map(|j| z[j] * basis[j * d + t]).sum::<f32>());
            }
        }
        let rows = DenseRows::new(&data, d);
        let pca = Pca::fit(&rows, 3, 9);
        assert_eq!(pca.components.len(), 3);
        let low = pca.project(&rows);
        let dist = |v: &[f32], w: usize, a: usize, b: usize| {
            (0..w)
                .map(|t| (v[a * w + t] - v[b * w + t]).powi(2))
                .sum::<f32>()
                .sqrt()
        };
        for (a, b) in [(0, 1), (7, 300), (42, 499)] {
            let (hi, lo) = (dist(&data, d, a, b), dist(&low, 3, a, b));
            assert!((hi - lo).abs() < 1e-3 * hi.max(1.0), "{hi} vs {lo}");
        }
    }

    #[test]
    fn degenerate_inputs_do_not_panic() {
        let one = [1.0f32, 2.0, 3.0];
        assert_eq!(pca_2d(&DenseRows::new(&one, 3), 0), vec![vec2(0.0, 0.0)]);
        let same = vec![0.5f32; 30];
        let p = pca_2d(&DenseRows::new(&same, 3), 0);
        assert!(p.iter().flat_map(|p| p.to_array()).all(|v| v.is_finite()));
    }
}
