//! HDBSCAN (Campello, Moulavi & Sander, 2013) on 2-D layout positions, built for 1M points.
//!
//! 1. Core distance of every point: the distance to its `min_samples`-th nearest neighbour
//!    (itself counted, as the `hdbscan` library does), from a k-d tree.
//! 2. The minimum spanning tree under mutual reachability max(core a, core b, |a − b|).
//!    In the plane it is found among a sparse candidate set: the Delaunay triangulation
//!    (which holds the Euclidean MST) and every point's core neighbours (which hold the edges
//!    the core distances flatten), so Kruskal sorts ~4N edges instead of N²/2. Duplicated
//!    points, which a triangulation drops, are tied in by their core-neighbour edges.
//! 3. The single-linkage hierarchy, condensed with `min_cluster_size`: a split where both
//!    sides keep at least that many points makes two clusters, otherwise the small side's
//!    points fall out of the cluster. All iterative: single-linkage trees can be a million
//!    levels deep.
//! 4. Excess-of-mass selection of the most stable clusters; the root is never selected, so
//!    one blob gives no clusters rather than one cluster of everything. The same tree also
//!    gives the leaf selection (the condensed tree's leaves: the finest groups that still
//!    have `min_cluster_size` points), which the hotspots use for a browsable number of
//!    groups and for the finer labels shown when zoomed in.

use glam::Vec2;
use rayon::prelude::*;

use super::kdtree::KdTree2;

/// Parameters of [`hdbscan_2d`].
#[derive(Clone, Copy, Debug)]
pub struct HdbscanParams {
    /// The smallest group that counts as a cluster (at least 2).
    pub min_cluster_size: usize,
    /// Neighbours defining the core distance (at least 1).
    pub min_samples: usize,
}

/// Two selections of clusters from one condensed tree: a cluster number for every point,
/// −1 for noise, clusters numbered from 0 in order of their first member.
#[derive(Clone, Debug, PartialEq)]
pub struct Selections {
    /// Excess of mass: the most stable clusters.
    pub eom: Vec<i32>,
    /// The leaves of the condensed tree: finer, each inside one of `eom`'s clusters or
    /// equal to it.
    pub leaf: Vec<i32>,
}

/// A cluster label for every point by excess of mass, −1 for noise; clusters numbered
/// from 0 in order of their first member.
pub fn hdbscan_2d(points: &[Vec2], params: HdbscanParams) -> Vec<i32> {
    hdbscan_selections(points, params).eom
}

/// Both selections (see [`Selections`]) of the HDBSCAN tree of `points`.
pub fn hdbscan_selections(points: &[Vec2], params: HdbscanParams) -> Selections {
    let n = points.len();
    let mcs = params.min_cluster_size.max(2);
    if n < mcs.max(3) {
        return Selections {
            eom: vec![-1; n],
            leaf: vec![-1; n],
        };
    }
    let k = params.min_samples.clamp(1, n);
    let tree = KdTree2::new(points);
    let near: Vec<Vec<(f32, u32)>> = points.par_iter().map(|p| tree.nearest(*p, k)).collect();
    let core: Vec<f32> = near
        .iter()
        .map(|nb| nb.last().map_or(0.0, |e| e.0.sqrt()))
        .collect();
    let dist = |a: usize, b: usize| points[a].distance(points[b]);
    let reach = |a: usize, b: usize| dist(a, b).max(core[a]).max(core[b]);

    // Candidate edges: Delaunay + core neighbours.
    let mut edges: Vec<(f32, u32, u32)> = Vec::with_capacity(n * (3 + k));
    let finite: Vec<delaunator::Point> = points
        .iter()
        .map(|p| delaunator::Point {
            x: f64::from(if p.x.is_finite() { p.x } else { 0.0 }),
            y: f64::from(if p.y.is_finite() { p.y } else { 0.0 }),
        })
        .collect();
    let tri = delaunator::triangulate(&finite);
    for (e, &a) in tri.triangles.iter().enumerate() {
        let b = tri.triangles[if e % 3 == 2 { e - 2 } else { e + 1 }];
        // Each interior edge appears twice (once per triangle): keep one.
        let twin = tri.halfedges[e];
        if twin == delaunator::EMPTY || e < twin {
            edges.push((reach(a, b), a as u32, b as u32));
        }
    }
    for (a, nb) in near.iter().enumerate() {
        for &(_, b) in nb {
            if b as usize != a {
                edges.push((reach(a, b as usize), a as u32, b));
            }
        }
    }
    drop(near);
    edges.par_sort_unstable_by(|x, y| x.0.total_cmp(&y.0).then((x.1, x.2).cmp(&(y.1, y.2))));

    // Kruskal → single-linkage merges. Node ids: points 0..n, merges n.. in order.
    let mut uf = UnionFind::new(n);
    let mut node_of_root: Vec<u32> = (0..n as u32).collect();
    let mut merges: Vec<Merge> = Vec::with_capacity(n - 1);
    let mut join = |a: usize, b: usize, d: f32, merges: &mut Vec<Merge>| {
        let (ra, rb) = (uf.find(a), uf.find(b));
        if ra == rb {
            return;
        }
        let (na, nb) = (node_of_root[ra], node_of_root[rb]);
        let s = node_size(na, n, &merges[..]) + node_size(nb, n, &merges[..]);
        merges.push(Merge {
            left: na,
            right: nb,
            dist: d,
            size: s,
        });
        let r = uf.union(ra, rb);
        node_of_root[r] = (n + merges.len() - 1) as u32;
    };
    for &(d, a, b) in &edges {
        join(a as usize, b as usize, d, &mut merges);
        if merges.len() == n - 1 {
            break;
        }
    }
    drop(edges);
    // Anything still apart (non-finite positions) joins at the top.
    if merges.len() < n - 1 {
        let top = merges.iter().map(|m| m.dist).fold(0.0f32, f32::max) * 2.0 + 1.0;
        for a in 1..n {
            join(0, a, top, &mut merges);
        }
    }
    condense_and_select(&merges, n, mcs)
}

#[derive(Clone, Copy, Debug)]
struct Merge {
    left: u32,
    right: u32,
    dist: f32,
    size: u32,
}

fn node_size(node: u32, n: usize, merges: &[Merge]) -> u32 {
    if (node as usize) < n {
        1
    } else {
        merges[node as usize - n].size
    }
}

struct UnionFind {
    parent: Vec<u32>,
    rank: Vec<u8>,
}

impl UnionFind {
    fn new(n: usize) -> Self {
        Self {
            parent: (0..n as u32).collect(),
            rank: vec![0; n],
        }
    }
    fn find(&mut self, mut a: usize) -> usize {
        while self.parent[a] as usize != a {
            let p = self.parent[a] as usize;
            self.parent[a] = self.parent[p];
            a = p;
        }
        a
    }
    fn union(&mut self, a: usize, b: usize) -> usize {
        let (a, b) = if self.rank[a] < self.rank[b] {
            (b, a)
        } else {
            (a, b)
        };
        self.parent[b] = a as u32;
        if self.rank[a] == self.rank[b] {
            self.rank[a] += 1;
        }
        a
    }
}

/// Condenses the single-linkage tree and selects clusters by excess of mass and by leaves.
fn condense_and_select(merges: &[Merge], n: usize, mcs: usize) -> Selections {
    // λ = 1/distance; merges at distance 0 (duplicates) get a finite λ beyond every other,
    // and do not split clusters: piles of identical points are one cluster, not many.
    let min_positive = merges
        .iter()
        .map(|m| m.dist)
        .filter(|&d| d > 0.0)
        .fold(f32::INFINITY, f32::min);
    let lambda_zero = if min_positive.is_finite() {
        2.0 / min_positive
    } else {
        1.0
    };
    let lambda_of = |d: f32| if d > 0.0 { 1.0 / d } else { lambda_zero };
    // Condensed clusters: parent, birth λ, stability; cluster 0 is the root.
    let mut parent: Vec<u32> = vec![u32::MAX];
    let mut birth: Vec<f32> = vec![0.0];
    let mut stability: Vec<f64> = vec![0.0];
    // The condensed cluster each point fell out of.
    let mut fell_from: Vec<u32> = vec![0; n];
    let root = (n + merges.len() - 1) as u32;
    // Work: (node, cluster it belongs to) to split; (node, cluster, λ) whose points fall.
    let mut split_stack: Vec<(u32, u32, f32)> = vec![(root, 0, 0.0)];
    let mut fall_stack: Vec<(u32, u32, f32)> = Vec::new();
    let size_of = |node: u32| node_size(node, n, merges) as usize;
    while let Some((node, cluster, lambda_above)) = split_stack.pop() {
        let c = cluster as usize;
        if (node as usize) < n {
            // A point reached through distance-0 merges: it stays to the end.
            fell_from[node as usize] = cluster;
            stability[c] += f64::from(lambda_above - birth[c]);
            continue;
        }
        let m = merges[node as usize - n];
        let lambda = lambda_of(m.dist);
        if m.dist <= 0.0 {
            split_stack.push((m.left, cluster, lambda));
            split_stack.push((m.right, cluster, lambda));
            continue;
        }
        let (sl, sr) = (size_of(m.left), size_of(m.right));
        let big_l = sl >= mcs;
        let big_r = sr >= mcs;
        if big_l && big_r {
            for (child, s) in [(m.left, sl), (m.right, sr)] {
                let id = parent.len() as u32;
                parent.push(cluster);
                birth.push(lambda);
                stability.push(0.0);
                stability[c] += f64::from(lambda - birth[c]) * s as f64;
                split_stack.push((child, id, lambda));
            }
        } else {
            for (child, big) in [(m.left, big_l), (m.right, big_r)] {
                if big {
                    split_stack.push((child, cluster, lambda));
                } else {
                    fall_stack.push((child, cluster, lambda));
                }
            }
        }
        while let Some((node, cluster, lambda)) = fall_stack.pop() {
            if (node as usize) < n {
                fell_from[node as usize] = cluster;
                let c = cluster as usize;
                stability[c] += f64::from(lambda - birth[c]);
            } else {
                let m = merges[node as usize - n];
                fall_stack.push((m.left, cluster, lambda));
                fall_stack.push((m.right, cluster, lambda));
            }
        }
    }

    // Excess of mass, children before parents (children have larger ids).
    let k = parent.len();
    let mut subtree: Vec<f64> = vec![0.0; k];
    let mut selected = vec![false; k];
    let mut child_sum: Vec<f64> = vec![0.0; k];
    for c in (1..k).rev() {
        if child_sum[c] > stability[c] {
            subtree[c] = child_sum[c];
        } else {
            subtree[c] = stability[c];
            selected[c] = true;
        }
        child_sum[parent[c] as usize] += subtree[c];
    }
    let mut leaf = vec![true; k];
    leaf[0] = false;
    for c in 1..k {
        leaf[parent[c] as usize] = false;
    }
    Selections {
        eom: label_points(&parent, &selected, &fell_from),
        leaf: label_points(&parent, &leaf, &fell_from),
    }
}

/// Every point's cluster under a selection of condensed clusters: its nearest selected
/// ancestor (a selected cluster wins over everything below it), numbered in order of first
/// member; −1 where none is selected.
fn label_points(parent: &[u32], selected: &[bool], fell_from: &[u32]) -> Vec<i32> {
    let k = parent.len();
    let mut owner: Vec<i32> = vec![-1; k];
    let mut next = 0i32;
    let mut cluster_id = vec![-1i32; k];
    for c in 1..k {
        let up = owner[parent[c] as usize];
        owner[c] = if up >= 0 {
            up
        } else if selected[c] {
            c as i32
        } else {
            -1
        };
    }
    let mut labels = vec![-1i32; fell_from.len()];
    for (p, &c) in fell_from.iter().enumerate() {
        let o = owner[c as usize];
        if o >= 0 {
            let id = &mut cluster_id[o as usize];
            if *id < 0 {
                *id = next;
                next += 1;
            }
            labels[p] = *id;
        }
    }
    labels
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Rng;
    use glam::vec2;

    fn blobs(centres: &[Vec2], per: usize, spread: f32, noise: usize) -> Vec<Vec2> {
        let mut rng = Rng::new(5);
        let mut p = Vec::new();
        for c in centres {
            for _ in 0..per {
                p.push(*c + spread * vec2(rng.normal(), rng.normal()));
            }
        }
        for _ in 0..noise {
            p.push(vec2(
                rng.uniform() * 40.0 - 20.0,
                rng.uniform() * 40.0 - 20.0,
            ));
        }
        p
    }

    #[test]
    fn finds_separated_blobs() {
        let centres = [
            vec2(0.0, 0.0),
            vec2(10.0, 0.0),
            vec2(0.0, 10.0),
            vec2(-8.0, -8.0),
        ];
        let pts = blobs(&centres, 500, 0.8, 200);
        let labels = hdbscan_2d(
            &pts,
            HdbscanParams {
                min_cluster_size: 50,
                min_samples: 10,
            },
        );
        let found: std::collections::HashSet<i32> =
            labels.iter().copied().filter(|&l| l >= 0).collect();
        assert_eq!(found.len(), 4, "{found:?}");
        // Each blob is (almost) one cluster.
        for b in 0..4 {
            let ls = &labels[b * 500..(b + 1) * 500];
            let first = ls[250];
            let same = ls.iter().filter(|&&l| l == first).count();
            assert!(first >= 0 && same > 450, "blob {b}: {same}");
        }
        // Most background noise is noise.
        let noise = labels[2000..].iter().filter(|&&l| l < 0).count();
        assert!(noise > 120, "{noise}");
    }

    #[test]
    fn leaves_split_what_excess_of_mass_keeps_together() {
        // Two pairs of touching blobs, the pairs far apart: excess of mass may keep each
        // pair as one cluster; the leaves are the four blobs, each inside one of them.
        let centres = [
            vec2(0.0, 0.0),
            vec2(3.2, 0.0),
            vec2(30.0, 0.0),
            vec2(33.2, 0.0),
        ];
        let pts = blobs(&centres, 300, 0.6, 0);
        let s = hdbscan_selections(
            &pts,
            HdbscanParams {
                min_cluster_size: 60,
                min_samples: 10,
            },
        );
        let distinct = |l: &[i32]| {
            l.iter()
                .copied()
                .filter(|&x| x >= 0)
                .collect::<std::collections::HashSet<i32>>()
                .len()
        };
        assert_eq!(distinct(&s.leaf), 4, "leaves");
        assert!(distinct(&s.eom) >= 2 && distinct(&s.eom) <= 4);
        // Nested: points of one leaf share one excess-of-mass cluster.
        for b in 0..4 {
            let leaf = s.leaf[b * 300 + 150];
            let members: Vec<usize> = (0..pts.len()).filter(|&i| s.leaf[i] == leaf).collect();
            let owner = s.eom[members[0]];
            assert!(members.iter().all(|&i| s.eom[i] == owner), "blob {b}");
        }
    }

    #[test]
    fn degenerate_inputs() {
        let p = HdbscanParams {
            min_cluster_size: 5,
            min_samples: 5,
        };
        assert!(hdbscan_2d(&[], p).is_empty());
        assert_eq!(hdbscan_2d(&[vec2(0.0, 0.0)], p), vec![-1]);
        assert_eq!(
            hdbscan_2d(&[vec2(0.0, 0.0), vec2(1.0, 1.0)], p),
            vec![-1, -1]
        );
        // All identical: one blob, no split, so no cluster (the root is never selected).
        let same = vec![vec2(0.5f32, 0.5); 100];
        assert_eq!(hdbscan_2d(&same, p), vec![-1; 100]);
        // Two piles of duplicates are two clusters.
        let mut two = vec![vec2(0.0f32, 0.0); 30];
        two.extend(vec![vec2(5.0f32, 5.0); 30]);
        let l = hdbscan_2d(&two, p);
        assert!(l[0] >= 0 && l[30] >= 0 && l[0] != l[30], "{l:?}");
        assert!(l[..30].iter().all(|&x| x == l[0]) && l[30..].iter().all(|&x| x == l[30]));
        // Non-finite positions do not panic.
        let mut odd = blobs(&[vec2(0.0, 0.0)], 50, 1.0, 0);
        odd.push(vec2(f32::NAN, 1.0));
        assert_eq!(hdbscan_2d(&odd, p).len(), 51);
    }
}
