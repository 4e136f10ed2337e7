//! Which dots a frame can leave out: an image drawn as a point or a flat dot whose every
//! pixel a later, covering image paints over changes nothing on screen, so it is not
//! listed for the draw.
//!
//! A million images in an overview land on far fewer pixels (90k on the 1M demo at
//! 1080p), and a software rasteriser pays per primitive, however many share a pixel:
//! lavapipe shades vertices on one thread. The CPU has the positions already (the layout
//! index) and two cores to spare.
//!
//! Two parallel passes over the visible images, in the draw order (index order: later
//! images on top):
//! 1. each image that covers (shown, and opaque or on a card) raises the mark of every
//!    pixel it surely covers to its index + 1, an atomic max, so the result does not
//!    depend on the threads' order;
//! 2. an image is kept when some pixel it may touch has no mark above its own.
//!
//! "Surely covers" and "may touch" are the GPU's coverage rule (a pixel belongs to a
//! primitive when its centre lies inside) shrunk and grown by a thousandth of a pixel,
//! so rounding between the CPU's transform and the rasteriser's can only keep an image
//! that was covered, never drop one that shows. A point covers the pixel its centre is
//! in (Vulkan's one-pixel point square); a flat dot the pixels whose centres lie in its
//! rectangle. The transform is the shader's own ([`Camera::transform`]).
//!
//! Rejected:
//! - splatting the mean colours into an image on the CPU and drawing it as one texture:
//!   it would repeat the shader's colouring (colour-by, dimming, selection, hover) in
//!   Rust, two copies that drift apart;
//! - a compute pass on the GPU: not in every downlevel backend we open (GL), and on
//!   lavapipe it runs on the same CPU cores as this;
//! - textured thumbnails: from 3 pixels up an image's pixels differ and overlaps are
//!   partial; the depth test (front to back) rejects their hidden fragments instead.

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

use glam::Vec2;
use rayon::prelude::*;

use super::Camera;
use super::index::{LayoutIndex, Visible};

/// What each image is drawn as, for its footprint in pixels; thumbnails `size_scale` ×
/// the layout's cell.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Dots {
    /// One pixel at the centre.
    Points { size_scale: f32 },
    /// A flat rectangle of the image's extent.
    Flat { size_scale: f32 },
}

impl Dots {
    fn size_scale(self) -> f32 {
        match self {
            Self::Points { size_scale } | Self::Flat { size_scale } => size_scale,
        }
    }
}

/// Rounding allowance between the CPU's transform and the rasteriser's, pixels.
const SLACK: f32 = 1e-3;

/// What `index`'s view through `camera` on a `size` target shows, without the images a
/// later covering image hides in every pixel they touch (`cull` on). `covers(i)`: image
/// `i` hides what lies under it.
///
/// When the view holds at least half of the layout's box (an overview, where dots are
/// drawn), every image is visited in parallel: cheaper than collecting the box query's
/// list on one thread first. Otherwise the box query's images are.
pub fn uncovered(
    index: &LayoutIndex,
    camera: &Camera,
    size: (u32, u32),
    dots: Dots,
    covers: impl Fn(usize) -> bool + Sync,
) -> Visible {
    let size_scale = dots.size_scale();
    let (lo, hi) = camera.visible_box(size.0, size.1);
    let reach = Vec2::splat(0.5 * index.cell() * size_scale);
    let (lo, hi) = (lo - reach, hi + reach);
    let (layout_lo, layout_hi) = index.bounds();
    let shown = (hi.min(layout_hi) - lo.max(layout_lo)).max(Vec2::ZERO);
    let overview = 2.0 * shown.element_product() >= (layout_hi - layout_lo).element_product();
    let raster = Raster::new(index, camera, size, dots);
    let marks: Vec<AtomicU32> = (0..raster.w * raster.h)
        .map(|_| AtomicU32::new(0))
        .collect();
    let positions = index.positions();
    // Candidates with their positions, in bucket order: images near on screen are near in
    // the list, so the marks each thread touches stay in its cache (in index order every
    // image is a cache miss: a third of the time at 1M).
    let boxed: (Vec<u32>, Vec<Vec2>);
    let (ids, at, count): (&[u32], &[Vec2], usize) = if overview {
        let (members, sorted) = index.bucketed();
        // Counted in a pass of its own: folded into the marking pass below, the 1M
        // overview took 125 ms a frame instead of 70 (measured).
        let in_view = |p: &&Vec2| p.cmpge(lo).all() && p.cmple(hi).all();
        (members, sorted, sorted.par_iter().filter(in_view).count())
    } else {
        let visible = index.visible(camera, size, size_scale);
        let at = visible.ids.iter().map(|&i| positions[i as usize]).collect();
        let count = visible.count;
        boxed = (visible.ids, at);
        (&boxed.0, &boxed.1, count)
    };
    ids.par_iter().zip(at).for_each(|(&i, &p)| {
        if covers(i as usize) {
            raster.for_each_pixel(i, p, -SLACK, |px| {
                marks[px].fetch_max(i + 1, Relaxed);
                true
            });
        }
    });
    let mut ids: Vec<u32> = (ids.par_iter().zip(at))
        .filter(|&(&i, &p)| {
            let mut shows = false;
            raster.for_each_pixel(i, p, SLACK, |px| {
                shows = marks[px].load(Relaxed) <= i + 1;
                !shows
            });
            shows
        })
        .map(|(&i, _)| i)
        .collect();
    // The draw order.
    ids.par_sort_unstable();
    Visible {
        ids,
        cull: true,
        count,
        thumb_px: index.cell() * size_scale * camera.pixels_per_unit(size.0, size.1),
    }
}

/// Images' rectangles in the target's pixels.
struct Raster<'a> {
    half: &'a [Vec2],
    /// Layout units to pixels: pixel = (p − centre) × scale + offset (y down).
    centre: Vec2,
    scale: Vec2,
    offset: Vec2,
    /// Half extent for a half extent of 1, pixels (0: a point).
    extent: Vec2,
    w: usize,
    h: usize,
}

impl<'a> Raster<'a> {
    fn new(index: &'a LayoutIndex, camera: &Camera, size: (u32, u32), dots: Dots) -> Self {
        let (w, h) = (size.0.max(1) as usize, size.1.max(1) as usize);
        let target = Vec2::new(w as f32, h as f32);
        // The shader's clip = (p − centre) × clip_scale; pixels are (clip.x + 1, 1 − clip.y)
        // × target / 2.
        let (centre, clip_scale) = camera.transform(size.0, size.1);
        let scale = clip_scale * Vec2::new(0.5, -0.5) * target;
        let per_unit = camera.pixels_per_unit(size.0, size.1);
        let extent = match dots {
            Dots::Points { .. } => Vec2::ZERO,
            Dots::Flat { size_scale } => Vec2::splat(index.cell() * size_scale * per_unit),
        };
        Self {
            half: index.half_extents(),
            centre,
            scale,
            offset: 0.5 * target,
            extent,
            w,
            h,
        }
    }

    /// Calls `f` with the pixels (row-major index) of image `i` at `p` while it returns
    /// true: those whose centres lie in its rectangle grown by `grow` pixels (shrunk when
    /// negative).
    fn for_each_pixel(&self, i: u32, p: Vec2, grow: f32, mut f: impl FnMut(usize) -> bool) {
        let centre = (p - self.centre) * self.scale + self.offset;
        if self.extent == Vec2::ZERO {
            // A point: the pixel its centre is in, unless the centre is within `grow` of
            // that pixel's edge (then the general rule below decides). Most images, and
            // the fast path: a million of them are culled every frame in an overview.
            let cell = centre.floor();
            let inner = centre - cell;
            let clear = inner.cmpgt(Vec2::splat(grow.abs())).all()
                && inner.cmplt(Vec2::splat(1.0 - grow.abs())).all();
            if clear {
                let inside = cell.cmpge(Vec2::ZERO).all()
                    && cell.cmplt(Vec2::new(self.w as f32, self.h as f32)).all();
                if inside {
                    f(cell.y as usize * self.w + cell.x as usize);
                }
                return;
            }
        }
        // A point is the one-pixel square around its centre.
        let half = if self.extent == Vec2::ZERO {
            Vec2::splat(0.5)
        } else {
            self.half.get(i as usize).copied().unwrap_or(Vec2::ZERO) * self.extent
        };
        let lo = (centre - half - grow - 0.5).ceil().max(Vec2::ZERO);
        let hi = (centre + half + grow - 0.5)
            .floor()
            .min(Vec2::new(self.w as f32 - 1.0, self.h as f32 - 1.0));
        if !(lo.cmple(hi).all() && lo.is_finite() && hi.is_finite()) {
            return;
        }
        for y in lo.y as usize..=hi.y as usize {
            for x in lo.x as usize..=hi.x as usize {
                if !f(y * self.w + x) {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_under_a_later_covering_point_are_left_out() {
        // A 10 × 10 pixel view of [-1, 1]²: a pixel is 0.2 units.
        let positions = vec![
            Vec2::new(-0.95, -0.95), // 0: pixel (0, 9), alone
            Vec2::new(0.01, 0.01),   // 1: pixel (5, 4)
            Vec2::new(0.02, 0.03),   // 2: same pixel, later
            Vec2::new(0.03, 0.02),   // 3: same pixel, later still, see-through
            Vec2::new(0.55, 0.55),   // 4: pixel (7, 2)
            Vec2::new(0.56, 0.57),   // 5: same pixel, hidden
            Vec2::new(5.0, 5.0),     // 6: off-screen
        ];
        let index = LayoutIndex::new(positions, 0.01, vec![Vec2::splat(0.5); 7].into());
        let camera = Camera {
            centre: Vec2::ZERO,
            span: 2.0,
        };
        let size = (10, 10);
        let covers = |i: usize| i != 3 && i != 5;
        let kept = uncovered(
            &index,
            &camera,
            size,
            Dots::Points { size_scale: 1.0 },
            covers,
        );
        // 1 lies under 2; 3 lets 2 through; 4 shows because 5 covers nothing.
        assert_eq!(kept.ids, vec![0, 2, 3, 4, 5]);
        assert!(kept.cull);
        // Zoomed in on the two shared pixels: what lies outside is left out too.
        let close = Camera {
            centre: Vec2::new(0.3, 0.3),
            span: 0.8,
        };
        let kept = uncovered(
            &index,
            &close,
            (4, 4),
            Dots::Points { size_scale: 1.0 },
            covers,
        );
        assert_eq!(kept.ids, vec![2, 3, 4, 5]);
    }

    #[test]
    fn flat_dots_are_left_out_only_when_covered_everywhere() {
        // A 10 × 10 pixel view of [-1, 1]², thumbnails 0.4 units (2 pixels) wide, their
        // edges between pixel centres.
        let positions = vec![
            Vec2::new(0.0, 0.0),   // 0: 1.2 px square over pixels 4–5 × 4–5: under 1
            Vec2::new(0.0, 0.0),   // 1: 2 px square over pixels 4–5 × 4–5
            Vec2::new(-0.6, -0.6), // 2: pixels 1–2 × 7–8
            Vec2::new(-0.4, -0.6), // 3: pixels 2–3 × 7–8: over half of 2
        ];
        let half = vec![
            Vec2::splat(0.3),
            Vec2::splat(0.5),
            Vec2::splat(0.5),
            Vec2::splat(0.5),
        ];
        let index = LayoutIndex::new(positions, 0.4, half.into());
        let camera = Camera {
            centre: Vec2::ZERO,
            span: 2.0,
        };
        let flat = Dots::Flat { size_scale: 1.0 };
        let kept = uncovered(&index, &camera, (10, 10), flat, |_| true);
        assert_eq!(kept.ids, vec![1, 2, 3]);
        // Nothing covers: everything stays.
        let kept = uncovered(&index, &camera, (10, 10), flat, |_| false);
        assert_eq!(kept.ids, vec![0, 1, 2, 3]);
    }
}
