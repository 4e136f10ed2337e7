//! Layout algorithms: pure functions from embeddings to 2-D positions.
//!
//! They read rows through the small [`Rows`] trait instead of a `&[f32]` matrix (a change
//! from the design): a million float16 embeddings stay memory-mapped and are converted row
//! by row, rather than expanded into a 2 GB f32 copy first.

use glam::Vec2;

pub mod density;
pub mod file;
pub mod grid;
pub mod kind;
pub mod knn;
pub mod meta;
pub mod pca;
pub mod quality;
pub mod spatial;
pub mod umap;

pub use pca::{Pca, pca_2d};

/// Row access to an N×D matrix of embeddings.
pub trait Rows: Sync {
    fn len(&self) -> usize;
    fn dim(&self) -> usize;
    /// Copies row `i` into `out` (length `dim`).
    fn row(&self, i: usize, out: &mut [f32]);
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A dense row-major matrix.
pub struct DenseRows<'a> {
    data: &'a [f32],
    dim: usize,
}

impl<'a> DenseRows<'a> {
    pub fn new(data: &'a [f32], dim: usize) -> Self {
        Self { data, dim }
    }
}

impl Rows for DenseRows<'_> {
    fn len(&self) -> usize {
        self.data.len().checked_div(self.dim).unwrap_or(0)
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn row(&self, i: usize, out: &mut [f32]) {
        out.copy_from_slice(&self.data[i * self.dim..(i + 1) * self.dim]);
    }
}

impl Rows for crate::dataset::Embeddings {
    fn len(&self) -> usize {
        crate::dataset::Embeddings::len(self)
    }
    fn dim(&self) -> usize {
        crate::dataset::Embeddings::dim(self)
    }
    fn row(&self, i: usize, out: &mut [f32]) {
        self.read_row(i, out);
    }
}

/// The bounding box `[lo, hi]` of the finite coordinates of `points` (per axis; infinite
/// when an axis has none).
pub fn bounds(points: impl IntoIterator<Item = Vec2>) -> [Vec2; 2] {
    let (mut lo, mut hi) = (Vec2::INFINITY, Vec2::NEG_INFINITY);
    for p in points {
        let finite = p.is_finite_mask();
        lo = Vec2::select(finite, lo.min(p), lo);
        hi = Vec2::select(finite, hi.max(p), hi);
    }
    [lo, hi]
}

/// Centres positions on their bounding box and scales both axes by the same factor so the
/// longer side spans [-1, 1]: no axis is stretched (PixPlot stretched each independently).
pub fn normalize_positions(positions: &mut [Vec2]) {
    let [lo, hi] = bounds(positions.iter().copied());
    if !lo.x.is_finite() {
        positions.iter_mut().for_each(|p| *p = Vec2::ZERO);
        return;
    }
    let centre = lo.midpoint(hi);
    let half = ((hi - lo).max_element() / 2.0).max(f32::MIN_POSITIVE);
    for p in positions.iter_mut() {
        // A coordinate that is not finite goes to the middle.
        *p = Vec2::select(p.is_finite_mask(), (*p - centre) / half, Vec2::ZERO);
    }
}

/// Dot product with eight independent accumulators, so the compiler can use SIMD lanes
/// (a plain `sum()` must add in order and stays scalar).
pub(crate) fn dot(x: &[f32], y: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (xc, yc) = (x.chunks_exact(8), y.chunks_exact(8));
    let tail: f32 = xc
        .remainder()
        .iter()
        .zip(yc.remainder())
        .map(|(a, b)| a * b)
        .sum();
    for (a, b) in xc.zip(yc) {
        for l in 0..8 {
            acc[l] += a[l] * b[l];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// A small deterministic generator (SplitMix64) for seeds, sampling and the demo.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9e37_79b9_7f4a_7c15)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
    /// Uniform integer in [0, n).
    pub fn below(&mut self, n: usize) -> usize {
        (((self.next_u64() >> 32) * n as u64) >> 32) as usize
    }
    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f32 {
        let u = self.uniform().max(1e-7);
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::vec2;

    #[test]
    fn normalisation_keeps_aspect() {
        let mut p = vec![vec2(0.0, 0.0), vec2(4.0, 1.0), vec2(2.0, 0.5)];
        normalize_positions(&mut p);
        assert_eq!(p, vec![vec2(-1.0, -0.25), vec2(1.0, 0.25), vec2(0.0, 0.0)]);
    }
}
