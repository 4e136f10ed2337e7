//! The CPU side of culling, picking and the lasso: a spatial hash of the layout shown, and
//! each image's extent. Queries cost what the view holds, not N.

use glam::Vec2;
use rayon::prelude::*;

use super::Camera;
use crate::cache::PreparedDataset;
use crate::layout::spatial::{SpatialHash, in_polygon};

/// A layout's positions bucketed for queries, with each image's half extent.
pub struct LayoutIndex {
    hash: SpatialHash,
    positions: Vec<Vec2>,
    /// Half extent of each image for a cell of 1 (aspect kept), as the renderer draws it.
    half: std::sync::Arc<[Vec2]>,
    cell: f32,
    /// What the first view shows: all but the outermost images (see `layout::density`).
    robust: Option<(Vec2, Vec2)>,
}

/// Each image's half extent for a cell of 1, from the atlas records.
pub fn half_extents(prepared: &PreparedDataset) -> std::sync::Arc<[Vec2]> {
    half_extents_of(prepared.thumb_records())
}

/// Each image's half extent for a cell of 1, from its thumbnail record.
pub fn half_extents_of(records: &[crate::cache::ThumbRecord]) -> std::sync::Arc<[Vec2]> {
    records
        .iter()
        .map(|r| {
            let size = Vec2::new(f32::from(r.small_w.max(1)), f32::from(r.small_h.max(1)));
            0.5 * size / size.max_element()
        })
        .collect()
}

/// What one view shows.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Visible {
    /// The visible images (ascending when `cull`).
    pub ids: Vec<u32>,
    /// Draw only `ids`; false when (nearly) all images are visible and drawing everything
    /// is cheaper than uploading the list.
    pub cull: bool,
    /// How many images are visible.
    pub count: usize,
    /// Size of a thumbnail's longer side on screen, pixels.
    pub thumb_px: f32,
}

impl LayoutIndex {
    /// Indexes `positions` (one per image, drawn `cell` units wide) with extents `half`.
    pub fn new(positions: Vec<Vec2>, cell: f32, half: std::sync::Arc<[Vec2]>) -> Self {
        Self {
            hash: SpatialHash::new(&positions, cell),
            robust: crate::layout::density::robust_bounds(&positions),
            positions,
            half,
            cell,
        }
    }

    /// The first view on a `size` target: the layout's robust bounds (outliers may lie
    /// off-screen) with half a thumbnail to spare; the whole square when it has no point.
    pub fn fit(&self, size: (u32, u32)) -> Camera {
        match self.robust {
            Some((lo, hi)) => {
                let margin = Vec2::splat(0.5 * self.cell);
                Camera::fit((lo - margin, hi + margin), size)
            }
            None => Camera::fit_all(),
        }
    }

    pub fn positions(&self) -> &[Vec2] {
        &self.positions
    }

    pub fn cell(&self) -> f32 {
        self.cell
    }

    /// The images a `size` target shows through `camera` with thumbnails scaled by
    /// `size_scale`. Above half of all images the list is dropped (draw everything).
    /// The list for the draw call: the visible ids when culling pays.
    pub fn draw_list(v: &Visible) -> Option<&[u32]> {
        v.cull.then_some(v.ids.as_slice())
    }

    pub fn visible(&self, camera: &Camera, size: (u32, u32), size_scale: f32) -> Visible {
        let reach = Vec2::splat(0.5 * self.cell * size_scale);
        let (lo, hi) = camera.visible_box(size.0, size.1);
        let (lo, hi) = (lo - reach, hi + reach);
        let thumb_px = self.cell * size_scale * camera.pixels_per_unit(size.0, size.1);
        let n = self.positions.len();
        let mut ids = Vec::new();
        self.hash.for_each_in_box(lo, hi, |i, _| ids.push(i as u32));
        let count = ids.len();
        let cull = count * 2 <= n;
        if cull {
            ids.par_sort_unstable();
        }
        Visible {
            ids,
            cull,
            count,
            thumb_px,
        }
    }

    /// Every image and its position in bucket order (near images near in the lists).
    pub fn bucketed(&self) -> (&[u32], &[Vec2]) {
        (&self.hash.members, &self.hash.sorted)
    }

    /// A box holding every image's centre (min corner, max corner).
    pub fn bounds(&self) -> (Vec2, Vec2) {
        self.hash.bounds()
    }

    /// Each image's half extent for a cell of 1.
    pub fn half_extents(&self) -> &[Vec2] {
        &self.half
    }

    /// The topmost image (the one drawn last) under layout point `p`.
    pub fn pick(&self, p: Vec2, size_scale: f32) -> Option<usize> {
        self.pick_where(p, size_scale, |_| true)
    }

    /// As [`Self::pick`], among the images `keep` accepts (hidden ones are not picked).
    pub fn pick_where(
        &self,
        p: Vec2,
        size_scale: f32,
        keep: impl Fn(usize) -> bool,
    ) -> Option<usize> {
        let cell = self.cell * size_scale;
        let reach = Vec2::splat(0.5 * cell);
        let mut best: Option<usize> = None;
        self.hash.for_each_in_box(p - reach, p + reach, |i, q| {
            let inside = (p - q).abs().cmple(self.half[i] * cell).all();
            if inside && best.is_none_or(|b| i > b) && keep(i) {
                best = Some(i);
            }
        });
        best
    }

    /// Images whose centre lies inside `polygon` (layout space), ascending.
    pub fn lasso(&self, polygon: &[Vec2]) -> Vec<u32> {
        if polygon.len() < 3 {
            return Vec::new();
        }
        let [lo, hi] = crate::layout::bounds(polygon.iter().copied());
        let mut ids = Vec::new();
        self.hash.for_each_in_box(lo, hi, |i, q| {
            if in_polygon(q, polygon) {
                ids.push(i as u32);
            }
        });
        ids.sort_unstable();
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(n: usize) -> LayoutIndex {
        // n × n images on a grid filling [-1, 1]², square thumbnails.
        let step = 2.0 / n as f32;
        let positions: Vec<Vec2> = (0..n * n)
            .map(|k| {
                let (x, y) = ((k % n) as f32, (k / n) as f32);
                Vec2::new(-1.0 + (x + 0.5) * step, -1.0 + (y + 0.5) * step)
            })
            .collect();
        let half = vec![Vec2::splat(0.5); n * n].into();
        LayoutIndex::new(positions, step, half)
    }

    #[test]
    fn zoomed_in_views_list_only_what_they_show() {
        let index = grid(100);
        let all = index.visible(&Camera::fit_all(), (800, 800), 1.0);
        assert!(!all.cull);
        assert_eq!(all.count, 10_000);
        // A view 0.2 units across shows about 10 × 10 thumbnails (+ a ring cut by the edges).
        let close = Camera {
            centre: Vec2::ZERO,
            span: 0.2,
        };
        let v = index.visible(&close, (400, 400), 1.0);
        assert!(v.cull);
        let ids = v.ids;
        assert!((100..=144).contains(&ids.len()), "{}", ids.len());
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert!((v.thumb_px - 40.0).abs() < 0.5, "{}", v.thumb_px);
    }

    #[test]
    fn picking_finds_the_image_under_the_point() {
        let index = grid(10);
        // Image 0 is centred at (-0.9, -0.9) and 0.2 wide.
        let pick = |x, y, scale| index.pick(Vec2::new(x, y), scale);
        assert_eq!(pick(-0.9, -0.9, 1.0), Some(0));
        assert_eq!(pick(-0.81, -0.99, 1.0), Some(0));
        assert_eq!(pick(-0.9, -0.7, 1.0), Some(10));
        assert_eq!(pick(1.5, 0.0, 1.0), None);
        // Thumbnails at half size leave gaps between them.
        assert_eq!(pick(-0.81, -0.9, 0.5), None);
    }

    #[test]
    fn lasso_selects_centres_inside() {
        let index = grid(10);
        let triangle = [
            Vec2::new(-1.0, -1.0),
            Vec2::new(0.0, -1.0),
            Vec2::new(-1.0, 0.0),
        ];
        let picked = index.lasso(&triangle);
        // Centres (-0.9 + 0.2 i, -0.9 + 0.2 j) with i + j < 4 lie inside: 10 of them.
        assert_eq!(picked.len(), 10, "{picked:?}");
        assert!(index.lasso(&triangle[..2]).is_empty());
    }
}
