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

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::dataset::Table;
use crate::layout::Rows;
pub use hdbscan::{HdbscanParams, hdbscan_2d};

/// How hotspots are found.
#[derive(Clone, Copy, Debug)]
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
    pub centroid: [f32; 2],
    /// The most frequent category among the members and its share, when there is one.
    pub top_category: Option<(String, f32)>,
}

/// Hotspots and every image's cluster (−1: none).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Hotspots {
    pub hotspots: Vec<Hotspot>,
    #[serde(skip)]
    pub assignment: Vec<i32>,
}

/// A box in layout space: (min corner, max corner); empty when min > max.
pub type Bounds = ([f32; 2], [f32; 2]);

impl Hotspots {
    /// Each hotspot's member box in a layout (`positions`, one per image): for labels and
    /// fly-to. A hotspot with no member there gets an empty box.
    pub fn boxes(&self, positions: &[[f32; 2]]) -> Vec<Bounds> {
        self.boxes_where(positions, |_| true)
    }

    /// As [`Self::boxes`], over the images `keep` lets through only (a picture that hides
    /// what its filters leave out labels only what it shows).
    pub fn boxes_where(&self, positions: &[[f32; 2]], keep: impl Fn(usize) -> bool) -> Vec<Bounds> {
        let mut boxes = vec![([f32::INFINITY; 2], [f32::NEG_INFINITY; 2]); self.hotspots.len()];
        let slot_of: rustc_hash::FxHashMap<i32, usize> = self
            .hotspots
            .iter()
            .enumerate()
            .map(|(k, s)| (s.id as i32, k))
            .collect();
        for (i, (&c, p)) in self.assignment.iter().zip(positions).enumerate() {
            let Some(&k) = slot_of.get(&c) else {
                continue;
            };
            if !keep(i) {
                continue;
            }
            let (lo, hi) = &mut boxes[k];
            for a in 0..2 {
                lo[a] = lo[a].min(p[a]);
                hi[a] = hi[a].max(p[a]);
            }
        }
        boxes
    }

    /// The hotspots' labels in a layout whose member boxes are `boxes` (see [`Self::boxes`]):
    /// centred over the top of each box.
    pub fn map_labels(&self, boxes: &[Bounds]) -> Vec<crate::layout::meta::MapLabel> {
        self.hotspots
            .iter()
            .zip(boxes)
            .filter(|(_, (lo, hi))| lo[0] <= hi[0])
            .map(|(s, (lo, hi))| crate::layout::meta::MapLabel {
                text: s.label.clone(),
                x: (lo[0] + hi[0]) / 2.0,
                y: hi[1],
                count: s.size,
            })
            .collect()
    }
}

/// Clusters `positions` (a layout of `rows`) into labelled hotspots.
pub fn hotspots(
    positions: &[[f32; 2]],
    rows: &dyn Rows,
    metadata: &Table,
    params: &HotspotParams,
) -> Hotspots {
    let n = positions.len();
    let mcs = params.min_cluster_size_for(n);
    let raw = hdbscan_2d(
        positions,
        HdbscanParams {
            min_cluster_size: mcs,
            // The core distance needs few neighbours; more only costs time at 1M.
            min_samples: mcs.min(16),
        },
    );
    // Keep the largest `max_clusters`, renumbered by size (ties by first member).
    let count = raw
        .iter()
        .copied()
        .max()
        .map_or(0, |m| (m + 1).max(0) as usize);
    let mut sizes: Vec<(usize, usize)> = vec![(0, 0); count];
    for &l in &raw {
        if l >= 0 {
            sizes[l as usize].0 += 1;
        }
    }
    for (c, s) in sizes.iter_mut().enumerate() {
        s.1 = c;
    }
    sizes.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut renumber = vec![-1i32; count];
    for (new, &(_, old)) in sizes.iter().take(params.max_clusters).enumerate() {
        renumber[old] = new as i32;
    }
    let assignment: Vec<i32> = raw
        .iter()
        .map(|&l| if l >= 0 { renumber[l as usize] } else { -1 })
        .collect();
    let k = sizes.len().min(params.max_clusters);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); k];
    for (i, &c) in assignment.iter().enumerate() {
        if c >= 0 {
            members[c as usize].push(i);
        }
    }
    let medoids = representatives(rows, &members);
    let labels = labels::label_clusters(metadata, &members);
    let hotspots = members
        .iter()
        .enumerate()
        .map(|(c, m)| {
            let mut centroid = [0.0f64; 2];
            for &i in m {
                centroid[0] += f64::from(positions[i][0]);
                centroid[1] += f64::from(positions[i][1]);
            }
            let len = m.len().max(1) as f64;
            Hotspot {
                id: c as u32,
                label: labels[c].label.clone(),
                label_source: labels[c].source.to_string(),
                size: m.len(),
                medoid: medoids[c],
                centroid: [(centroid[0] / len) as f32, (centroid[1] / len) as f32],
                top_category: labels[c].top_category.clone(),
            }
        })
        .collect();
    Hotspots {
        hotspots,
        assignment,
    }
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
