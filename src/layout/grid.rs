//! Grid layouts: every image on its own cell, neighbourhoods kept from a source layout.
//!
//! [`grid_cells`] is a balanced k-d partition: the cell rectangle is halved along its longer
//! side, the points split at the matching quantile of that coordinate (a linear-time
//! selection), and both halves recurse in parallel. Every point ends in exactly one cell
//! (a bijection onto the first N cells' worth of room), in O(N log N): 1M points take about a
//! second, where an optimal assignment (Jonker–Volgenant, as PixPlot's lapjv) is cubic and
//! stops at a few thousand images. Points that are close in the source layout stay close:
//! they share every split until their rectangles get small.
//!
//! [`jitter`] is the other way of not overlapping: the source positions themselves, pushed
//! apart until no two are closer than a thumbnail.

use glam::Vec2;
use rayon::prelude::*;

use super::spatial::SpatialHash;
use super::{bounds, normalize_positions};

/// Columns and rows of a near-square grid of at least `n` cells whose shape follows
/// `aspect` (width / height).
pub fn grid_shape(n: usize, aspect: f32) -> (usize, usize) {
    if n == 0 {
        return (0, 0);
    }
    let aspect = if aspect.is_finite() {
        aspect.clamp(0.25, 4.0)
    } else {
        1.0
    };
    let cols = ((n as f64 * f64::from(aspect)).sqrt().ceil() as usize).clamp(1, n);
    (cols, n.div_ceil(cols))
}

/// The aspect ratio (width / height) of the bounding box of `positions`.
fn aspect_of(positions: &[Vec2]) -> f32 {
    let [lo, hi] = bounds(positions.iter().copied());
    let Vec2 { x: w, y: h } = hi - lo;
    if w > 0.0 && h > 0.0 { w / h } else { 1.0 }
}

/// A cell (column, row) for every point, all different, on a `cols × rows` grid shaped like
/// the layout. Rows grow with y, columns with x.
pub fn grid_cells(positions: &[Vec2]) -> (Vec<[u32; 2]>, usize, usize) {
    let (cols, rows) = grid_shape(positions.len(), aspect_of(positions));
    (grid_cells_in(positions, cols, rows), cols, rows)
}

/// As [`grid_cells`] on a given `cols × rows` grid (at least N cells).
pub fn grid_cells_in(positions: &[Vec2], cols: usize, rows: usize) -> Vec<[u32; 2]> {
    let n = positions.len();
    let mut order: Vec<u32> = (0..n as u32).collect();
    let mut cells = vec![[0u32; 2]; n];
    let rect = Rect {
        c0: 0,
        r0: 0,
        w: cols.max(1),
        h: rows.max(n.div_ceil(cols.max(1))),
    };
    partition(&mut order, &mut cells, positions, rect);
    let mut out = vec![[0u32; 2]; n];
    for (item, cell) in order.iter().zip(&cells) {
        out[*item as usize] = *cell;
    }
    out
}

#[derive(Clone, Copy)]
struct Rect {
    c0: usize,
    r0: usize,
    w: usize,
    h: usize,
}

/// Places `items` (indices into `pos`) into `rect`, writing the cell of `items[k]` to
/// `cells[k]`. Needs `items.len() <= rect.w * rect.h`.
fn partition(items: &mut [u32], cells: &mut [[u32; 2]], pos: &[Vec2], rect: Rect) {
    let n = items.len();
    if n == 0 {
        return;
    }
    if rect.w * rect.h == 1 || n == 1 {
        // One item left: the cell of its rectangle nearest the rectangle's centre.
        cells[0] = [(rect.c0 + rect.w / 2) as u32, (rect.r0 + rect.h / 2) as u32];
        return;
    }
    let axis = usize::from(rect.h > rect.w);
    let (first, second) = if axis == 0 {
        let wl = rect.w / 2;
        (
            Rect { w: wl, ..rect },
            Rect {
                c0: rect.c0 + wl,
                w: rect.w - wl,
                ..rect
            },
        )
    } else {
        let hl = rect.h / 2;
        (
            Rect { h: hl, ..rect },
            Rect {
                r0: rect.r0 + hl,
                h: rect.h - hl,
                ..rect
            },
        )
    };
    let cap_first = first.w * first.h;
    let cap_second = second.w * second.h;
    // Empty cells are shared out in proportion to the room on each side.
    let want = ((n as f64) * cap_first as f64 / (cap_first + cap_second) as f64).round() as usize;
    let n_first = want.clamp(n.saturating_sub(cap_second), cap_first.min(n));
    if n_first > 0 && n_first < n {
        items.select_nth_unstable_by(n_first, |&a, &b| {
            let (pa, pb) = (pos[a as usize][axis], pos[b as usize][axis]);
            pa.total_cmp(&pb).then(a.cmp(&b))
        });
    }
    let (items_a, items_b) = items.split_at_mut(n_first);
    let (cells_a, cells_b) = cells.split_at_mut(n_first);
    if n > 4096 {
        rayon::join(
            || partition(items_a, cells_a, pos, first),
            || partition(items_b, cells_b, pos, second),
        );
    } else {
        partition(items_a, cells_a, pos, first);
        partition(items_b, cells_b, pos, second);
    }
}

/// The grid layout of `source`: every point at the centre of its own cell, normalised to
/// [-1, 1] like the other layouts. Returns the positions and the cell size in layout units.
pub fn grid_layout(source: &[Vec2]) -> (Vec<Vec2>, f32) {
    let (cells, cols, rows) = grid_cells(source);
    let mut p: Vec<Vec2> = cells
        .iter()
        .map(|c| Vec2::new(c[0] as f32 + 0.5, c[1] as f32 + 0.5))
        .collect();
    // Normalise the whole grid (not only the occupied cells) so the cell size is exact.
    let half = (cols.max(rows) as f32 / 2.0).max(0.5);
    let centre = Vec2::new(cols as f32, rows as f32) / 2.0;
    for q in &mut p {
        *q = (*q - centre) / half;
    }
    (p, 1.0 / half)
}

/// Sweeps of [`jitter`] that separate even piles of duplicates (measured: 30 leave a pile of
/// 100 identical points overlapping, 60 do not).
pub const JITTER_SWEEPS: usize = 60;

/// Pushes the points of `source` apart until no two are closer than a thumbnail of side
/// `spacing` (in normalised units; 0 picks one so thumbnails cover about 40% of the
/// layout's box), keeping the overall shape. A few Jacobi sweeps over a uniform spatial hash,
/// each O(N) and parallel. Returns normalised positions and the thumbnail side.
pub fn jitter(source: &[Vec2], spacing: f32, sweeps: usize) -> (Vec<Vec2>, f32) {
    let mut p = source.to_vec();
    normalize_positions(&mut p);
    let n = p.len();
    if n < 2 {
        return (p, 2.0);
    }
    let area = {
        let a = aspect_of(&p);
        if a >= 1.0 { 4.0 / a } else { 4.0 * a }
    };
    let d = if spacing > 0.0 {
        spacing
    } else {
        (0.4 * area / n as f32).sqrt()
    };
    for _ in 0..sweeps {
        let hash = SpatialHash::new(&p, d);
        // Visited in cell order, reading positions from the hash's sorted copy: neighbours
        // are then close in memory too (3× faster at 1M than visiting in index order).
        let moves: Vec<Vec2> = (0..n)
            .into_par_iter()
            .map(|k| {
                let i = hash.members[k] as usize;
                let pi = hash.sorted[k];
                let mut m = Vec2::ZERO;
                hash.for_each_near(pi, |j, pj| {
                    if j == i {
                        return;
                    }
                    let dx = pi - pj;
                    let dist = dx.length();
                    if dist >= d {
                        return;
                    }
                    let push = (d - dist) / 2.0;
                    if dist > 1e-9 {
                        m += dx / dist * push;
                    } else {
                        // Coincident points: a fixed direction from the pair's indices.
                        let angle = (i.min(j) as f32 * 2.399_963)
                            + if i < j { 0.0 } else { std::f32::consts::PI };
                        m += Vec2::from_angle(angle) * push;
                    }
                });
                m
            })
            .collect();
        let mut largest = 0.0f32;
        for (k, m) in moves.iter().enumerate() {
            // Damped, so crowds expand smoothly instead of oscillating.
            let q = &mut p[hash.members[k] as usize];
            *q += 0.5 * m;
            largest = largest.max(m.abs().max_element());
        }
        // Done when no point moves more than a few percent of a thumbnail.
        if largest < 0.05 * d {
            break;
        }
    }
    let before = bbox_half(&p);
    normalize_positions(&mut p);
    (p, d / before.max(f32::MIN_POSITIVE))
}

fn bbox_half(p: &[Vec2]) -> f32 {
    let [lo, hi] = bounds(p.iter().copied());
    ((hi - lo).max_element() / 2.0).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Rng;
    use glam::vec2;

    fn blobs(n: usize) -> Vec<Vec2> {
        let mut rng = Rng::new(3);
        (0..n)
            .map(|i| {
                let c = (i % 5) as f32;
                Vec2::new(
                    c * 3.0 + rng.normal(),
                    (c * 1.7).sin() * 4.0 + rng.normal() * 0.5,
                )
            })
            .collect()
    }

    #[test]
    fn grid_is_a_bijection_onto_cells() {
        for n in [0usize, 1, 2, 3, 15, 16, 17, 1000, 12_345] {
            let pos = blobs(n);
            let (cells, cols, rows) = grid_cells(&pos);
            assert!(
                cols * rows >= n && (n == 0 || cols * (rows - 1) < n),
                "n = {n}"
            );
            let mut seen = std::collections::HashSet::new();
            for c in &cells {
                assert!((c[0] as usize) < cols && (c[1] as usize) < rows);
                assert!(seen.insert(*c), "cell {c:?} used twice (n = {n})");
            }
        }
    }

    #[test]
    fn identical_points_still_get_their_own_cells() {
        let pos = vec![vec2(0.3f32, 0.3); 50];
        let (cells, _, _) = grid_cells(&pos);
        let set: std::collections::HashSet<_> = cells.iter().collect();
        assert_eq!(set.len(), 50);
        let (p, cell) = grid_layout(&pos);
        assert!(
            p.iter()
                .flat_map(|p| p.to_array())
                .all(|v| v.is_finite() && v.abs() <= 1.0)
        );
        assert!(cell > 0.0);
    }

    #[test]
    fn grid_keeps_neighbourhoods() {
        let pos = blobs(4000);
        let (grid, _) = grid_layout(&pos);
        let recall = crate::layout::quality::knn_recall_2d(&pos, &grid, 10);
        // Random cells would give ~10/4000.
        assert!(recall > 0.3, "10-NN recall of the grid: {recall}");
    }

    #[test]
    fn jitter_separates_points_and_keeps_shape() {
        let mut pos = blobs(3000);
        pos.extend(vec![vec2(1.0f32, 1.0); 100]); // a pile of duplicates
        let (p, side) = jitter(&pos, 0.0, JITTER_SWEEPS);
        assert!(
            p.iter()
                .flat_map(|p| p.to_array())
                .all(|v| v.is_finite() && v.abs() <= 1.0 + 1e-5)
        );
        let hash = SpatialHash::new(&p, side);
        let mut close = 0;
        for i in 0..p.len() {
            hash.for_each_near(p[i], |j, _| {
                let d = p[i].distance(p[j]);
                if j != i && d < 0.5 * side {
                    close += 1;
                }
            });
        }
        assert!(close < p.len() / 50, "{close} pairs still overlap by half");
        let recall = crate::layout::quality::knn_recall_2d(&pos[..3000], &p[..3000], 10);
        assert!(recall > 0.3, "{recall}");
    }
}
