//! Points bucketed on a uniform grid (a counting sort into compressed rows): the neighbour
//! queries of the jittered layout, and the viewer's culling, picking and lasso.

use super::bounds;
use glam::Vec2;

/// Points bucketed on a uniform grid of `cell`-sized squares.
pub struct SpatialHash {
    lo: Vec2,
    cell: f32,
    w: usize,
    h: usize,
    starts: Vec<u32>,
    /// Point indices, bucket by bucket.
    pub members: Vec<u32>,
    /// Positions in `members` order.
    pub sorted: Vec<Vec2>,
}

impl SpatialHash {
    /// Buckets `p` on squares of side `cell` (widened when that would make more than about
    /// four buckets per point, so memory stays O(N) however spread the points are).
    pub fn new(p: &[Vec2], cell: f32) -> Self {
        let [lo, hi] = bounds(p.iter().copied());
        // An axis with no finite coordinate (lo > hi there) collapses to 0.
        let empty = lo.cmpgt(hi);
        let (lo, hi) = (
            Vec2::select(empty, Vec2::ZERO, lo),
            Vec2::select(empty, Vec2::ZERO, hi),
        );
        let max_cells = (4 * p.len()).max(16) as f32;
        let mut cell = if cell.is_finite() {
            cell.max(f32::MIN_POSITIVE)
        } else {
            1.0
        };
        while ((hi - lo) / cell + 1.0).element_product() > max_cells {
            cell *= 1.5;
        }
        let w = ((hi.x - lo.x) / cell) as usize + 1;
        let h = ((hi.y - lo.y) / cell) as usize + 1;
        let key = |q: &Vec2| {
            // NaN casts to 0: such points land in the first bucket and match no query box.
            let b = (*q - lo) / cell;
            (b.y as usize).min(h - 1) * w + (b.x as usize).min(w - 1)
        };
        let mut starts = vec![0u32; w * h + 1];
        for q in p {
            starts[key(q) + 1] += 1;
        }
        for c in 0..w * h {
            starts[c + 1] += starts[c];
        }
        let mut fill = starts.clone();
        let mut members = vec![0u32; p.len()];
        for (i, q) in p.iter().enumerate() {
            let k = key(q);
            members[fill[k] as usize] = i as u32;
            fill[k] += 1;
        }
        let sorted = members.iter().map(|&m| p[m as usize]).collect();
        Self {
            lo,
            cell,
            w,
            h,
            starts,
            members,
            sorted,
        }
    }

    /// How many points are bucketed.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// The box the buckets cover: (min corner, max corner), every finite point inside.
    pub fn bounds(&self) -> (Vec2, Vec2) {
        let extent = Vec2::new(self.w as f32, self.h as f32) * self.cell;
        (self.lo, self.lo + extent)
    }

    /// Whether no point is bucketed.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    fn bucket_x(&self, x: f32) -> isize {
        (((x - self.lo.x) / self.cell).floor() as isize).clamp(0, self.w as isize - 1)
    }

    fn bucket_y(&self, y: f32) -> isize {
        (((y - self.lo.y) / self.cell).floor() as isize).clamp(0, self.h as isize - 1)
    }

    /// Calls `f` with the index and position of every point in the 3×3 buckets around `q`.
    pub fn for_each_near(&self, q: Vec2, mut f: impl FnMut(usize, Vec2)) {
        let (cx, cy) = (self.bucket_x(q.x), self.bucket_y(q.y));
        for y in (cy - 1).max(0)..=(cy + 1).min(self.h as isize - 1) {
            for x in (cx - 1).max(0)..=(cx + 1).min(self.w as isize - 1) {
                self.visit_bucket(y as usize * self.w + x as usize, &mut f);
            }
        }
    }

    fn visit_bucket(&self, c: usize, f: &mut impl FnMut(usize, Vec2)) {
        let range = self.starts[c] as usize..self.starts[c + 1] as usize;
        for (&m, &pos) in self.members[range.clone()].iter().zip(&self.sorted[range]) {
            f(m as usize, pos);
        }
    }

    /// Calls `f` with every point inside the box `lo..=hi`; the work is proportional to the
    /// buckets the box touches and the points in them, not to N.
    pub fn for_each_in_box(&self, lo: Vec2, hi: Vec2, mut f: impl FnMut(usize, Vec2)) {
        if self.is_empty() || !lo.cmple(hi).all() {
            return;
        }
        let (x0, x1) = (self.bucket_x(lo.x), self.bucket_x(hi.x));
        let (y0, y1) = (self.bucket_y(lo.y), self.bucket_y(hi.y));
        for y in y0..=y1 {
            for x in x0..=x1 {
                self.visit_bucket(y as usize * self.w + x as usize, &mut |i, q| {
                    if q.cmpge(lo).all() && q.cmple(hi).all() {
                        f(i, q);
                    }
                });
            }
        }
    }
}

/// Whether `q` lies inside the closed polygon `poly` (even–odd rule).
pub fn in_polygon(q: Vec2, poly: &[Vec2]) -> bool {
    let mut inside = false;
    let mut j = poly.len().wrapping_sub(1);
    for i in 0..poly.len() {
        let (a, b) = (poly[i], poly[j]);
        if (a.y > q.y) != (b.y > q.y) && q.x < (b.x - a.x) * (q.y - a.y) / (b.y - a.y) + a.x {
            inside = !inside;
        }
        j = i;
    }
    inside
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Rng;
    use glam::vec2;

    #[test]
    fn box_query_matches_brute_force() {
        let mut rng = Rng::new(9);
        let p: Vec<Vec2> = (0..5000)
            .map(|_| vec2(rng.normal(), rng.normal() * 0.3))
            .collect();
        let hash = SpatialHash::new(&p, 0.05);
        for (lo, hi) in [
            (vec2(-0.5, -0.1), vec2(0.2, 0.3)),
            (vec2(-9.0, -9.0), vec2(9.0, 9.0)),
            (vec2(3.0, 3.0), vec2(4.0, 4.0)),
            (vec2(0.1, 0.1), vec2(0.0, 0.0)),
        ] {
            let mut got = Vec::new();
            hash.for_each_in_box(lo, hi, |i, _| got.push(i));
            got.sort_unstable();
            let want: Vec<usize> = (0..p.len())
                .filter(|&i| {
                    p[i][0] >= lo[0] && p[i][0] <= hi[0] && p[i][1] >= lo[1] && p[i][1] <= hi[1]
                })
                .collect();
            assert_eq!(got, want);
        }
    }

    #[test]
    fn degenerate_inputs_do_not_panic() {
        let empty = SpatialHash::new(&[], 0.1);
        empty.for_each_in_box(vec2(-1.0, -1.0), vec2(1.0, 1.0), |_, _| panic!("empty"));
        let same = SpatialHash::new(&[vec2(0.5, 0.5); 10], 0.0);
        let mut n = 0;
        same.for_each_in_box(vec2(0.0, 0.0), vec2(1.0, 1.0), |_, _| n += 1);
        assert_eq!(n, 10);
        let nan = SpatialHash::new(&[vec2(f32::NAN, 0.0), vec2(0.0, 0.0)], 0.1);
        let mut hits = Vec::new();
        nan.for_each_in_box(vec2(-1.0, -1.0), vec2(1.0, 1.0), |i, _| hits.push(i));
        assert_eq!(hits, vec![1]);
    }

    #[test]
    fn polygon_containment() {
        let square = [
            vec2(0.0, 0.0),
            vec2(1.0, 0.0),
            vec2(1.0, 1.0),
            vec2(0.0, 1.0),
        ];
        assert!(in_polygon(vec2(0.5, 0.5), &square));
        assert!(!in_polygon(vec2(1.5, 0.5), &square));
        let l_shape = [
            vec2(0.0, 0.0),
            vec2(2.0, 0.0),
            vec2(2.0, 1.0),
            vec2(1.0, 1.0),
            vec2(1.0, 2.0),
            vec2(0.0, 2.0),
        ];
        assert!(in_polygon(vec2(0.5, 1.5), &l_shape));
        assert!(!in_polygon(vec2(1.5, 1.5), &l_shape));
        assert!(!in_polygon(vec2(0.5, 0.5), &[]));
    }
}
