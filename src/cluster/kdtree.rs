//! A static 2-D k-d tree for exact k-nearest-neighbour queries (core distances).
//!
//! Hand-written (≈100 lines) rather than a dependency: the kd-tree crates are general
//! (any dimension, fixed-point, serialisation) and pull in far more than this needs.

use glam::Vec2;

/// Points in k-d order: the median of every slice is its node, split alternately by x, y.
pub struct KdTree2 {
    points: Vec<Vec2>,
    ids: Vec<u32>,
}

const LEAF: usize = 8;

impl KdTree2 {
    pub fn new(points: &[Vec2]) -> Self {
        let mut order: Vec<u32> = (0..points.len() as u32).collect();
        build(&mut order, points, 0);
        Self {
            points: order.iter().map(|&i| points[i as usize]).collect(),
            ids: order,
        }
    }

    /// The `k` nearest points to `q` as (squared distance, index), nearest first; includes a
    /// point at `q` itself if there is one.
    pub fn nearest(&self, q: Vec2, k: usize) -> Vec<(f32, u32)> {
        let mut best: Vec<(f32, u32)> = Vec::with_capacity(k + 1);
        if k > 0 {
            self.search(0, self.points.len(), 0, q, k, &mut best);
        }
        best
    }

    fn search(
        &self,
        lo: usize,
        hi: usize,
        axis: usize,
        q: Vec2,
        k: usize,
        best: &mut Vec<(f32, u32)>,
    ) {
        if hi - lo <= LEAF {
            for t in lo..hi {
                offer(best, k, dist2(self.points[t], q), self.ids[t]);
            }
            return;
        }
        let mid = lo + (hi - lo) / 2;
        let split = self.points[mid][axis];
        offer(best, k, dist2(self.points[mid], q), self.ids[mid]);
        let diff = q[axis] - split;
        let (near, far) = if diff < 0.0 {
            ((lo, mid), (mid + 1, hi))
        } else {
            ((mid + 1, hi), (lo, mid))
        };
        self.search(near.0, near.1, 1 - axis, q, k, best);
        if best.len() < k || diff * diff < best[best.len() - 1].0 {
            self.search(far.0, far.1, 1 - axis, q, k, best);
        }
    }
}

fn dist2(a: Vec2, b: Vec2) -> f32 {
    a.distance_squared(b)
}

/// Inserts into a sorted list of at most `k` (distance, id) pairs.
fn offer(best: &mut Vec<(f32, u32)>, k: usize, d: f32, id: u32) {
    if best.len() == k && d >= best[k - 1].0 {
        return;
    }
    let at = best.partition_point(|e| e.0 <= d);
    best.insert(at, (d, id));
    best.truncate(k);
}

fn build(order: &mut [u32], points: &[Vec2], axis: usize) {
    if order.len() <= LEAF {
        return;
    }
    let mid = order.len() / 2;
    order.select_nth_unstable_by(mid, |&a, &b| {
        points[a as usize][axis].total_cmp(&points[b as usize][axis])
    });
    let (left, right) = order.split_at_mut(mid);
    let right = &mut right[1..];
    if left.len() > 10_000 {
        rayon::join(
            || build(left, points, 1 - axis),
            || build(right, points, 1 - axis),
        );
    } else {
        build(left, points, 1 - axis);
        build(right, points, 1 - axis);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Rng;
    use glam::vec2;

    #[test]
    fn nearest_matches_brute_force() {
        let mut rng = Rng::new(9);
        let mut pts: Vec<Vec2> = (0..3000)
            .map(|_| vec2(rng.normal(), rng.normal() * 3.0))
            .collect();
        pts.extend(vec![vec2(0.5, 0.5); 20]);
        let tree = KdTree2::new(&pts);
        for qi in (0..pts.len()).step_by(37) {
            let got = tree.nearest(pts[qi], 12);
            let mut all: Vec<f32> = pts.iter().map(|p| dist2(*p, pts[qi])).collect();
            all.sort_by(f32::total_cmp);
            let want: Vec<f32> = all[..12].to_vec();
            let got_d: Vec<f32> = got.iter().map(|e| e.0).collect();
            assert_eq!(got_d, want, "query {qi}");
        }
        assert!(KdTree2::new(&[]).nearest(vec2(0.0, 0.0), 3).is_empty());
    }
}
