//! What a layout's first view shows and how big its thumbnails are, read from the layout
//! itself, so a 1k–1M collection opens as a mosaic of recognisable images rather than
//! dots around a few outliers.
//!
//! - **Robust bounds**: the 1st to 99th percentile of each axis (every point below 200
//!   points). UMAP puts a few images far from the rest; fitting them squeezes the whole
//!   collection into a corner. They sit off-screen in the first view instead, one zoom out
//!   away.
//! - **Density-based size**: a thumbnail is drawn as wide as the typical spacing of images
//!   where they lie (`1 / √density`, the density read from the distance to the 4th nearest
//!   neighbour, see [`typical_spacing`]), so images in a cluster tile it instead of being
//!   sized for the spread of the whole square (`1.2 / √N`, which in a UMAP of tight
//!   clusters leaves most of a screen empty). Never smaller than what the same images
//!   evenly spread over the robust bounds would get. The median is over up to 4096 evenly spaced images, each searched
//!   against all images in a uniform grid: a few milliseconds at 1M, so it is computed when
//!   a layout is opened rather than stored in the cache.
//!
//! Layouts that know their own cell (the grid, metadata layouts) keep it.
//! Rejected: the nearest neighbour's distance (near-duplicates pair up at distance ~0),
//! the mean instead of the median (dominated by outliers), and a k-d tree
//! (the grid answers nearest-neighbour queries on 2-D layouts with less code, and
//! [`super::spatial`] already has it).

use super::spatial::SpatialHash;
use glam::Vec2;

/// Thumbnail side over the typical spacing of neighbours: 1 would tile a regular cluster
/// edge to edge, but UMAP's clusters are irregular and denser inside than their spacing
/// says (gaps and overlaps): at 2 a cluster reads as one mosaic and most of each image
/// stays in view. On the 785 Tux Paint stamps at 1080p, 1 draws 9% of the pixels, 2 draws
/// 13% (with cards; the old fixed 1.2 / √N, fitted to every outlier, without cards: 3.4%).
pub const SPACING_FACTOR: f32 = 2.0;

/// Share of points left outside the robust bounds on each side of each axis.
const TAIL: f64 = 0.01;

/// Images sampled for the median spacing.
const SAMPLES: usize = 4096;

/// A box in layout space: (min corner, max corner).
pub type Bounds = (Vec2, Vec2);

/// The thumbnail size a layout of `n` images gets when nothing else is known: what fits
/// `n` thumbnails in the normalised square.
pub fn uniform_cell(n: usize) -> f32 {
    1.2 / (n.max(1) as f32).sqrt()
}

/// The box holding all but the outermost 1% of points on each side of each axis (all of
/// them below 200 points); `None` when no point is finite.
pub fn robust_bounds(positions: &[Vec2]) -> Option<Bounds> {
    let (mut lo, mut hi) = (Vec2::ZERO, Vec2::ZERO);
    for a in 0..2 {
        let mut v: Vec<f32> = positions
            .iter()
            .map(|p| p[a])
            .filter(|x| x.is_finite())
            .collect();
        if v.is_empty() {
            return None;
        }
        let cut = if v.len() < 200 {
            0
        } else {
            (v.len() as f64 * TAIL) as usize
        };
        let last = v.len() - 1 - cut;
        let (_, low, _) = v.select_nth_unstable_by(cut, f32::total_cmp);
        lo[a] = *low;
        let (_, high, _) = v.select_nth_unstable_by(last, f32::total_cmp);
        hi[a] = *high;
    }
    Some((lo, hi))
}

/// Neighbours counted for the local density around an image.
const K: usize = 4;

/// The typical distance between neighbouring images, `1 / √(local density)`: the median
/// over a sample of the distance r to the [`K`]-th nearest neighbour, where K images in a
/// disc of radius r make a density of K / (π r²). The K-th neighbour rather than the
/// first, because near-duplicates sit in tight pairs whose nearest-neighbour distance says
/// nothing about how crowded the map is. `None` below K + 1 distinct finite points.
pub fn typical_spacing(positions: &[Vec2]) -> Option<f32> {
    let n = positions.len();
    if n <= K {
        return None;
    }
    let (lo, hi) = robust_bounds(positions)?;
    let area = (hi - lo).element_product().max(f32::MIN_POSITIVE);
    // About four points per bucket inside the robust box: the 3×3 buckets around a point
    // hold its K nearest unless it is isolated (then the sample is skipped).
    let bucket = (4.0 * area / n as f32).sqrt();
    let hash = SpatialHash::new(positions, bucket);
    let stride = n.div_ceil(SAMPLES).max(1);
    let mut radii: Vec<f32> = (0..n)
        .step_by(stride)
        .filter_map(|i| {
            let q = positions[i];
            if !q.is_finite() {
                return None;
            }
            // The K smallest distances seen, ascending.
            let mut best = [f32::INFINITY; K];
            hash.for_each_near(q, |j, p| {
                let d = p.distance(q);
                if j != i && d > 0.0 && d < best[K - 1] {
                    let at = best.partition_point(|b| *b <= d);
                    best.copy_within(at..K - 1, at + 1);
                    best[at] = d;
                }
            });
            best[K - 1].is_finite().then_some(best[K - 1])
        })
        .collect();
    if radii.is_empty() {
        return None;
    }
    let mid = radii.len() / 2;
    let (_, median, _) = radii.select_nth_unstable_by(mid, f32::total_cmp);
    Some(*median * (std::f32::consts::PI / K as f32).sqrt())
}

/// The thumbnail size (longer side, layout units) for a layout with no cell of its own:
/// [`SPACING_FACTOR`] × the typical spacing of neighbours; at least 0.6 × √(area / N) of
/// the robust bounds (what N images evenly spread there would get as [`uniform_cell`]
/// gives the whole square), at most four times [`uniform_cell`].
pub fn thumb_cell(positions: &[Vec2]) -> f32 {
    let n = positions.len().max(1) as f32;
    let uniform = uniform_cell(positions.len());
    let Some(spacing) = typical_spacing(positions) else {
        return uniform;
    };
    let floor = robust_bounds(positions)
        .map(|(lo, hi)| 0.6 * ((hi - lo).element_product() / n).sqrt())
        .filter(|f| *f > 0.0)
        .unwrap_or(uniform);
    (spacing * SPACING_FACTOR).clamp(floor.min(4.0 * uniform), 4.0 * uniform)
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::vec2;

    /// A `side × side` lattice with spacing `step`, from (x0, y0).
    fn lattice(side: usize, step: f32, x0: f32, y0: f32) -> Vec<Vec2> {
        (0..side * side)
            .map(|i| vec2(x0 + (i % side) as f32 * step, y0 + (i / side) as f32 * step))
            .collect()
    }

    #[test]
    fn the_size_follows_the_spacing_of_neighbours() {
        // Neighbours 0.1 apart (the 4 nearest on a lattice), which reads as a density of
        // 4 / (π 0.1²); the uniform size would be 1.2 / √400 = 0.06.
        let p = lattice(20, 0.1, -1.0, -1.0);
        let spacing = typical_spacing(&p).unwrap();
        let want = 0.1 * (std::f32::consts::PI / 4.0).sqrt();
        assert!((spacing - want).abs() < 1e-4, "{spacing} vs {want}");
        assert!((thumb_cell(&p) - want * SPACING_FACTOR).abs() < 1e-4);
        // Near-duplicates in pairs do not shrink it: every point gets a twin 0.001 away.
        let mut twins = p.clone();
        twins.extend(p.iter().map(|q| *q + vec2(0.001, 0.0)));
        let s2 = typical_spacing(&twins).unwrap();
        assert!(s2 > 0.6 * spacing, "{s2} vs {spacing}");
        // Two tight clusters in opposite corners: thumbnails as big as the same images
        // evenly spread would get (0.6 × √(area / N)), overlapping in the clusters rather
        // than dots 0.009 wide.
        let mut two = lattice(20, 0.01, -1.0, -1.0);
        two.extend(lattice(20, 0.01, 0.81, 0.81));
        let (lo, hi) = robust_bounds(&two).unwrap();
        let floor = 0.6 * ((hi[0] - lo[0]) * (hi[1] - lo[1]) / 800.0).sqrt();
        assert!((thumb_cell(&two) - floor).abs() < 1e-6 && floor > 0.03);
        // Degenerate layouts fall back to the uniform size.
        assert_eq!(thumb_cell(&[vec2(0.0, 0.0)]), uniform_cell(1));
        assert_eq!(thumb_cell(&[vec2(0.3, 0.3); 50]), uniform_cell(50));
        assert_eq!(thumb_cell(&[]), uniform_cell(0));
    }

    #[test]
    fn outliers_fall_outside_the_robust_bounds() {
        let mut p = lattice(30, 0.01, 0.0, 0.0);
        p.push(vec2(50.0, -50.0));
        p.push(vec2(f32::NAN, 0.0));
        let (lo, hi) = robust_bounds(&p).unwrap();
        assert!(hi[0] < 0.3 && lo[1] > -0.01, "{lo:?} {hi:?}");
        assert!(lo[0] < 0.01 && hi[1] > 0.28);
        // Small layouts keep every point.
        let small = [vec2(0.0, 0.0), vec2(1.0, 5.0), vec2(-2.0, 1.0)];
        assert_eq!(
            robust_bounds(&small),
            Some((vec2(-2.0, 0.0), vec2(1.0, 5.0)))
        );
        assert_eq!(robust_bounds(&[vec2(f32::NAN, 1.0)]), None);
    }
}
