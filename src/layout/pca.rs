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

use rayon::prelude::*;

use super::{Rng, Rows, normalize_positions};

/// Rows used to fit the components.
pub const FIT_SAMPLE: usize = 20_000;
const OVERSAMPLE: usize = 6;
const ITERATIONS: usize = 8;

/// Projects every row onto the first two principal components, positions normalised to fit
/// [-1, 1] with the aspect ratio kept. Deterministic for a given `seed`.
pub fn pca_2d(rows: &dyn Rows, seed: u64) -> Vec<[f32; 2]> {
    let n = rows.len();
    let d = rows.dim();
    if n == 0 {
        return Vec::new();
    }
    if d == 0 || n == 1 {
        return vec![[0.0, 0.0]; n];
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

    let k = (2 + OVERSAMPLE).min(d);
    let mut rng = Rng::new(seed);
    // q: k columns of length d, stored column-major as k vectors.
    let mut q: Vec<Vec<f32>> = (0..k)
        .map(|_| (0..d).map(|_| rng.normal()).collect())
        .collect();
    orthonormalize(&mut q);
    for _ in 0..ITERATIONS {
        q = gram_times(&centered, d, &q);
        orthonormalize(&mut q);
    }
    // Small problem: C = Qᵀ XᵀX Q (k×k), symmetric.
    let xq = gram_times(&centered, d, &q);
    let mut c = vec![vec![0.0f64; k]; k];
    for a in 0..k {
        for b in 0..k {
            c[a][b] = q[a]
                .iter()
                .zip(&xq[b])
                .map(|(x, y)| f64::from(*x) * f64::from(*y))
                .sum();
        }
    }
    let (values, vectors) = jacobi_eigen(c);
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
    let components: Vec<Vec<f32>> = order
        .iter()
        .take(2)
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
    let second = components.get(1).cloned().unwrap_or_else(|| vec![0.0; d]);
    let mut positions: Vec<[f32; 2]> = (0..n)
        .into_par_iter()
        .map_init(
            || vec![0.0f32; d],
            |buf, i| {
                rows.row(i, buf);
                let mut p = [0.0f32; 2];
                for ((v, mu), (a, b)) in
                    buf.iter().zip(&mean).zip(components[0].iter().zip(&second))
                {
                    let x = v - mu;
                    p[0] += x * a;
                    p[1] += x * b;
                }
                p
            },
        )
        .collect();
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
                    let t: f32 = row.iter().zip(qj).map(|(a, b)| a * b).sum();
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

/// Modified Gram–Schmidt; a column that collapses is replaced by a unit axis.
fn orthonormalize(q: &mut [Vec<f32>]) {
    for i in 0..q.len() {
        for j in 0..i {
            let dot: f32 = q[i].iter().zip(&q[j]).map(|(a, b)| a * b).sum();
            let (head, tail) = q.split_at_mut(i);
            for (a, b) in tail[0].iter_mut().zip(&head[j]) {
                *a -= dot * b;
            }
        }
        let norm = q[i].iter().map(|v| v * v).sum::<f32>().sqrt();
        if norm > 1e-12 {
            for v in &mut q[i] {
                *v /= norm;
            }
        } else {
            let d = q[i].len();
            q[i] = (0..d).map(|t| if t == i % d { 1.0 } else { 0.0 }).collect();
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
        let max = p.iter().flatten().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!((max - 1.0).abs() < 1e-5);
        assert_eq!(p, pca_2d(&rows, 1), "deterministic");
    }

    #[test]
    fn degenerate_inputs_do_not_panic() {
        let one = [1.0f32, 2.0, 3.0];
        assert_eq!(pca_2d(&DenseRows::new(&one, 3), 0), vec![[0.0, 0.0]]);
        let same = vec![0.5f32; 30];
        let p = pca_2d(&DenseRows::new(&same, 3), 0);
        assert!(p.iter().flatten().all(|v| v.is_finite()));
    }
}
