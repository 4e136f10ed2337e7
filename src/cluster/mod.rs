//! Hotspots: clusters of the UMAP layout, each with a representative image and a label.
//!
//! Clusters come from [`hdbscan::hdbscan_2d`] on the 2-D positions (what the user sees as a
//! group is what gets a hotspot). As PixPlot does, only the `max_clusters` largest are
//! kept; the rest of their points count as unclustered. Each hotspot gets:
//! - a **representative** (the "medoid"): the member whose embedding is most similar (cosine)
//!   to the cluster's mean embedding, an O(members·D) stand-in for the true medoid's
//!   O(members²·D);
//! - a **label** ([`labels`]): the most distinctive caption words (class-based TF-IDF) when
//!   the metadata has captions, else the most frequent category or tag, else "Cluster N".

pub mod hdbscan;
pub mod kdtree;
pub mod labels;

use glam::Vec2;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::dataset::Table;
use crate::layout::Rows;
pub use hdbscan::{HdbscanParams, Selections, hdbscan_2d, hdbscan_selections};

/// How hotspots are found.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct HotspotParams {
    /// Smallest cluster; 0 chooses max(15, N/200).
    pub min_cluster_size: usize,
    /// At most this many hotspots (the largest clusters).
    pub max_clusters: usize,
}

impl Default for HotspotParams {
    fn default() -> Self {
        Self {
            min_cluster_size: 0,
            max_clusters: 20,
        }
    }
}

impl HotspotParams {
    /// The minimum cluster size used for `n` points.
    pub fn min_cluster_size_for(&self, n: usize) -> usize {
        if self.min_cluster_size > 0 {
            self.min_cluster_size.max(2)
        } else {
            (n / 200).max(15)
        }
    }
}

/// One hotspot, as cached in `clusters/umap.json` and drawn by the viewer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hotspot {
    /// Its number in the per-image cluster column (0 is the largest).
    pub id: u32,
    pub label: String,
    /// Where the label comes from: "captions", "category", "tags" or "none".
    pub label_source: String,
    pub size: usize,
    /// Index (in the prepared image order) of the representative image.
    pub medoid: usize,
    /// Mean position of the members in the layout the clusters were found in.
    pub centroid: Vec2,
    /// The most frequent category among the members and its share, when there is one.
    pub top_category: Option<(String, f32)>,
}

/// Hotspots and every image's cluster (−1: none); the finer groups inside them (the
/// condensed tree's leaves) and every image's finer group, for the labels that appear as
/// the camera zooms in. The user edits the hotspots; the finer groups stay as computed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Hotspots {
    pub hotspots: Vec<Hotspot>,
    #[serde(skip)]
    pub assignment: Vec<i32>,
    #[serde(default)]
    pub finer: Vec<Hotspot>,
    #[serde(skip)]
    pub finer_assignment: Vec<i32>,
}

/// A box in layout space: (min corner, max corner); empty when min > max.
pub type Bounds = (Vec2, Vec2);

impl Hotspots {
    /// Each hotspot's member box in a layout (`positions`, one per image): for labels and
    /// fly-to. A hotspot with no member there gets an empty box.
    pub fn boxes(&self, positions: &[Vec2]) -> Vec<Bounds> {
        self.boxes_where(positions, |_| true)
    }

    /// As [`Self::boxes`], over the images `keep` lets through only (a picture that hides
    /// what its filters leave out labels only what it shows).
    pub fn boxes_where(&self, positions: &[Vec2], keep: impl Fn(usize) -> bool) -> Vec<Bounds> {
        boxes_of(&self.hotspots, &self.assignment, positions, keep)
    }

    /// The finer groups' member boxes, as [`Self::boxes_where`].
    pub fn finer_boxes_where(
        &self,
        positions: &[Vec2],
        keep: impl Fn(usize) -> bool,
    ) -> Vec<Bounds> {
        boxes_of(&self.finer, &self.finer_assignment, positions, keep)
    }

    /// The labels in a layout where the hotspots' member boxes are `boxes` and the finer
    /// groups' `finer_boxes`, thumbnails `cell` wide: centred over the top of each box; the
    /// finer ones at level 1, shown when zoomed in far enough (see `render::text`).
    pub fn map_labels(
        &self,
        boxes: &[Bounds],
        finer_boxes: &[Bounds],
        cell: f32,
    ) -> Vec<crate::layout::meta::MapLabel> {
        let label = |s: &Hotspot, (lo, hi): &Bounds, level: u8| crate::layout::meta::MapLabel {
            text: s.label.clone(),
            x: lo.midpoint(*hi).x,
            y: hi.y,
            count: s.size,
            level,
            // What the group covers on screen: its members' box and their thumbnails.
            extent: (*hi - *lo).max_element() + cell,
        };
        let placed = |b: &&Bounds| b.0.x <= b.1.x;
        let coarse = self.hotspots.iter().zip(boxes).filter(|(_, b)| placed(b));
        let finer = self
            .finer
            .iter()
            .zip(finer_boxes)
            .filter(|(_, b)| placed(b));
        coarse
            .map(|(s, b)| label(s, b, 0))
            .chain(finer.map(|(s, b)| label(s, b, 1)))
            .collect()
    }
}

/// The member box of each of `spots` (numbered by `id` in `assignment`) at `positions`,
/// counting only the images `keep` lets through.
fn boxes_of(
    spots: &[Hotspot],
    assignment: &[i32],
    positions: &[Vec2],
    keep: impl Fn(usize) -> bool,
) -> Vec<Bounds> {
    let mut boxes = vec![(Vec2::INFINITY, Vec2::NEG_INFINITY); spots.len()];
    let slot_of: rustc_hash::FxHashMap<i32, usize> = spots
        .iter()
        .enumerate()
        .map(|(k, s)| (s.id as i32, k))
        .collect();
    for (i, (&c, p)) in assignment.iter().zip(positions).enumerate() {
        let Some(&k) = slot_of.get(&c) else {
            continue;
        };
        if !keep(i) {
            continue;
        }
        let (lo, hi) = &mut boxes[k];
        (*lo, *hi) = (lo.min(*p), hi.max(*p));
    }
    boxes
}

/// Fewer coarse clusters than this and the finer leaf selection is used for the hotspots
/// (a collection of eight visible groups that excess of mass merges into three).
pub const MIN_HOTSPOTS: usize = 5;

/// Finer labels (the condensed tree's leaves inside the hotspots) kept at most.
const MAX_FINER: usize = 80;

/// Clusters `positions` (a layout of `rows`) into labelled hotspots, and finer groups
/// inside them for the labels shown when zoomed in.
pub fn hotspots(
    positions: &[Vec2],
    rows: &dyn Rows,
    metadata: &Table,
    params: &HotspotParams,
) -> Hotspots {
    let n = positions.len();
    let mcs = params.min_cluster_size_for(n);
    let found = hdbscan_selections(
        positions,
        HdbscanParams {
            min_cluster_size: mcs,
            // The core distance needs few neighbours; more only costs time at 1M.
            min_samples: mcs.min(16),
        },
    );
    let count = |labels: &[i32]| labels.iter().copied().max().map_or(0, |m| (m + 1).max(0));
    let use_leaves =
        count(&found.eom) < MIN_HOTSPOTS as i32 && count(&found.leaf) > count(&found.eom);
    let coarse = if use_leaves { &found.leaf } else { &found.eom };
    let (assignment, members) = largest(coarse, params.max_clusters);
    // Leaves strictly inside a hotspot (not the hotspot itself) label it finer.
    let finer_raw: Vec<i32> = if use_leaves {
        vec![-1; n]
    } else {
        nested_leaves(&found.leaf, &assignment, &members)
    };
    let (finer_assignment, finer_members) = largest(&finer_raw, MAX_FINER);
    // One labelling for both, so no finer label repeats a hotspot's or another's.
    let mut all = members.clone();
    all.extend(finer_members.iter().cloned());
    let labels = labels::label_clusters(metadata, &all);
    let medoids = representatives(rows, &all);
    let describe = |c: usize, m: &[usize], id: usize| {
        let mut centroid = [0.0f64; 2];
        for &i in m {
            centroid[0] += f64::from(positions[i].x);
            centroid[1] += f64::from(positions[i].y);
        }
        let len = m.len().max(1) as f64;
        Hotspot {
            id: id as u32,
            label: labels[c].label.clone(),
            label_source: labels[c].source.to_string(),
            size: m.len(),
            medoid: medoids[c],
            centroid: Vec2::new((centroid[0] / len) as f32, (centroid[1] / len) as f32),
            top_category: labels[c].top_category.clone(),
        }
    };
    let hotspots = members
        .iter()
        .enumerate()
        .map(|(c, m)| describe(c, m, c))
        .collect();
    let finer = finer_members
        .iter()
        .enumerate()
        .map(|(c, m)| describe(members.len() + c, m, c))
        .collect();
    Hotspots {
        hotspots,
        assignment,
        finer,
        finer_assignment,
    }
}

/// The `max` largest clusters of `raw`, renumbered by size (ties by first member): every
/// point's new number (−1: none) and each cluster's members.
fn largest(raw: &[i32], max: usize) -> (Vec<i32>, Vec<Vec<usize>>) {
    let count = raw
        .iter()
        .copied()
        .max()
        .map_or(0, |m| (m + 1).max(0) as usize);
    let mut sizes: Vec<(usize, usize)> = (0..count).map(|c| (0, c)).collect();
    for &l in raw {
        if l >= 0 {
            sizes[l as usize].0 += 1;
        }
    }
    sizes.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    // Numbers with no point (left out by the caller) are no cluster.
    sizes.retain(|s| s.0 > 0);
    let mut renumber = vec![-1i32; count];
    for (new, &(_, old)) in sizes.iter().take(max).enumerate() {
        renumber[old] = new as i32;
    }
    let assignment: Vec<i32> = raw
        .iter()
        .map(|&l| if l >= 0 { renumber[l as usize] } else { -1 })
        .collect();
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); sizes.len().min(max)];
    for (i, &c) in assignment.iter().enumerate() {
        if c >= 0 {
            members[c as usize].push(i);
        }
    }
    (assignment, members)
}

/// The leaf clusters that lie inside a hotspot and are not all of it (−1 elsewhere).
fn nested_leaves(leaf: &[i32], assignment: &[i32], members: &[Vec<usize>]) -> Vec<i32> {
    let mut size: rustc_hash::FxHashMap<i32, usize> = Default::default();
    for (&l, &a) in leaf.iter().zip(assignment) {
        if l >= 0 && a >= 0 {
            *size.entry(l).or_default() += 1;
        }
    }
    leaf.iter()
        .zip(assignment)
        .map(|(&l, &a)| {
            let whole = a >= 0 && size.get(&l).copied() == Some(members[a as usize].len());
            if l >= 0 && a >= 0 && !whole { l } else { -1 }
        })
        .collect()
}

/// For each cluster, the member most similar (cosine) to the cluster's mean unit embedding.
/// Without embeddings (`rows` empty or of another length), the first member.
pub fn representatives(rows: &dyn Rows, members: &[Vec<usize>]) -> Vec<usize> {
    let d = rows.dim();
    members
        .par_iter()
        .map(|m| {
            let Some(&first) = m.first() else {
                return 0;
            };
            if d == 0 || m.iter().any(|&i| i >= rows.len()) {
                return first;
            }
            let mut buf = vec![0.0f32; d];
            let unit = |i: usize, buf: &mut Vec<f32>| {
                rows.row(i, buf);
                let norm = buf.iter().map(|v| v * v).sum::<f32>().sqrt();
                if norm > 0.0 {
                    buf.iter_mut().for_each(|v| *v /= norm);
                }
            };
            let mut mean = vec![0.0f64; d];
            for &i in m {
                unit(i, &mut buf);
                for (a, v) in mean.iter_mut().zip(&buf) {
                    *a += f64::from(*v);
                }
            }
            let mean: Vec<f32> = mean.iter().map(|v| *v as f32).collect();
            let mut best = (f32::NEG_INFINITY, first);
            for &i in m {
                unit(i, &mut buf);
                let s = crate::layout::dot(&buf, &mean);
                if s > best.0 {
                    best = (s, i);
                }
            }
            best.1
        })
        .collect()
}
