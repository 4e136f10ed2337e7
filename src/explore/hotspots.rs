//! The hotspots as the user sees them: the clusters prepare found, as the user edited
//! them (renamed, deleted, merged, reordered, made from a selection).
//!
//! Edits are the user's data, so they live under `user/` (`user/hotspots.json`, written
//! atomically) as the whole edited list, each hotspot's members and representative by
//! image path (rows move when images are added). The file carries the fingerprint of the
//! clustering it was made on: a re-prepare that keeps the clustering keeps the edits; a
//! new clustering (other UMAP parameters, other images) shows the new hotspots and leaves
//! the file as it is, untouched, with [`stale_edits`] telling the window to say so.
//! Rejected: replaying an edit log onto each new clustering: "merge 3 into 1" means
//! nothing once the clusters are different ones.
//!
//! Names given before edits existed (`clusters/umap.names.json`, by cluster id) are still
//! read when there is no edit file, so no rename is lost across the version change.

use glam::Vec2;
use rustc_hash::FxHashMap;

use crate::cache::PreparedDataset;
use crate::cluster::{Hotspot, Hotspots};

/// Where names given before hotspot edits existed live (read, never written now).
pub const HOTSPOT_NAMES: &str = "clusters/umap.names.json";
/// Where the user's edited hotspots live.
pub const HOTSPOT_EDITS: &str = "user/hotspots.json";
/// The longest hotspot name, in characters.
pub const MAX_NAME_CHARS: usize = 120;

/// Hotspot names the user gave, for the hotspots of one fingerprint (the old format).
#[derive(serde::Serialize, serde::Deserialize)]
struct HotspotNames {
    fingerprint: String,
    names: Vec<(u32, String)>,
}

/// The edited hotspot list, members by path.
#[derive(serde::Serialize, serde::Deserialize)]
struct EditFile {
    version: u32,
    fingerprint: String,
    hotspots: Vec<EditedSpot>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct EditedSpot {
    label: String,
    label_source: String,
    representative: String,
    members: Vec<String>,
}

/// One change to the hotspot list; indices are positions in the list shown.
#[derive(Clone, Debug, PartialEq)]
pub enum Edit {
    Rename(usize, String),
    Delete(Vec<usize>),
    /// Merges these into the first of them (which keeps its name).
    Merge(Vec<usize>),
    /// Moves hotspot `k` up (negative) or down by so many places.
    Move(usize, i32),
    /// A new hotspot, first in the list, of these images (taken out of their hotspots).
    FromRows(String, Vec<usize>),
}

/// A hotspot name as stored: trimmed, without control characters, not too long.
pub fn clean_name(name: &str) -> Result<String, String> {
    super::clean_name(name, "hotspot", MAX_NAME_CHARS)
}

/// The fingerprint of the hotspots on disk now ("" for none).
fn fingerprint(prepared: &PreparedDataset) -> String {
    prepared
        .manifest()
        .clusters
        .get(&prepared.hotspot_source())
        .map(|c| c.fingerprint.clone())
        .unwrap_or_default()
}

/// The user's edit file, when there is one that reads.
fn read_edits(prepared: &PreparedDataset) -> Option<EditFile> {
    if !prepared.dir.root.join(HOTSPOT_EDITS).is_file() {
        return None;
    }
    prepared
        .dir
        .read_json::<EditFile>(HOTSPOT_EDITS)
        .map_err(|e| eprintln!("clip-plot: {HOTSPOT_EDITS} is unreadable, left as it is: {e}"))
        .ok()
}

/// Whether the user's hotspot edits were made on another clustering than the one now
/// (they are kept on disk but not shown).
pub fn stale_edits(prepared: &PreparedDataset) -> bool {
    read_edits(prepared).is_some_and(|e| e.fingerprint != fingerprint(prepared))
}

/// The dataset's hotspots as the user edited them (None: not computed yet).
pub fn load(prepared: &PreparedDataset) -> Option<Hotspots> {
    let mut h = prepared.hotspots(&prepared.hotspot_source()).ok()??;
    let now = fingerprint(prepared);
    if let Some(edits) = read_edits(prepared).filter(|e| e.fingerprint == now) {
        return Some(with_finer(
            from_edits(prepared, &edits, h.assignment.len()),
            &h,
        ));
    }
    if let Ok(names) = prepared.dir.read_json::<HotspotNames>(HOTSPOT_NAMES)
        && names.fingerprint == now
    {
        for (id, name) in names.names {
            if let Some(spot) = h.hotspots.iter_mut().find(|s| s.id == id) {
                spot.label = name;
            }
        }
    }
    Some(h)
}

/// The hotspots an edit file describes, over the dataset's images now.
fn from_edits(prepared: &PreparedDataset, edits: &EditFile, n: usize) -> Hotspots {
    let row_of: FxHashMap<&str, usize> = prepared
        .images
        .iter()
        .enumerate()
        .map(|(i, p)| (p, i))
        .collect();
    let groups = edits
        .hotspots
        .iter()
        .map(|e| Group {
            label: e.label.clone(),
            label_source: e.label_source.clone(),
            top_category: None,
            rows: e
                .members
                .iter()
                .filter_map(|p| row_of.get(p.as_str()).copied())
                .collect(),
            kept: row_of
                .get(e.representative.as_str())
                .map(|&medoid| (medoid, None)),
        })
        .collect();
    let positions = prepared
        .layout(&prepared.hotspot_source())
        .unwrap_or_default();
    rebuild(groups, n, &positions)
}

/// Saves `hotspots` as the user's edited list, atomically.
pub fn save_edits(prepared: &PreparedDataset, hotspots: &Hotspots) -> Result<(), String> {
    let path = |i: usize| prepared.images.get(i).unwrap_or_default().to_string();
    let members: Vec<Vec<String>> = members_of(hotspots)
        .into_iter()
        .map(|rows| rows.into_iter().map(path).collect())
        .collect();
    let file = EditFile {
        version: 1,
        fingerprint: fingerprint(prepared),
        hotspots: hotspots
            .hotspots
            .iter()
            .zip(members)
            .map(|(s, members)| EditedSpot {
                label: s.label.clone(),
                label_source: s.label_source.clone(),
                representative: path(s.medoid),
                members,
            })
            .collect(),
    };
    let dir = &prepared.dir;
    dir.write_json(&dir.root.join(HOTSPOT_EDITS), &file)
        .map_err(|e| e.to_string())
}

/// Each hotspot's member rows, in list order.
fn members_of(h: &Hotspots) -> Vec<Vec<usize>> {
    let slot: FxHashMap<i32, usize> = h
        .hotspots
        .iter()
        .enumerate()
        .map(|(k, s)| (s.id as i32, k))
        .collect();
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); h.hotspots.len()];
    for (i, id) in h.assignment.iter().enumerate() {
        if let Some(&k) = slot.get(id) {
            rows[k].push(i);
        }
    }
    rows
}

/// One hotspot while editing: its members and what stays when they do not change.
struct Group {
    label: String,
    label_source: String,
    top_category: Option<(String, f32)>,
    rows: Vec<usize>,
    /// The representative and centroid to keep (None: recompute from the members).
    kept: Option<(usize, Option<Vec2>)>,
}

/// The hotspots as editable groups, in list order.
fn groups_of(h: &Hotspots) -> Vec<Group> {
    let rows = members_of(h);
    h.hotspots
        .iter()
        .zip(rows)
        .map(|(s, rows)| Group {
            label: s.label.clone(),
            label_source: s.label_source.clone(),
            top_category: s.top_category.clone(),
            rows,
            kept: Some((s.medoid, Some(s.centroid))),
        })
        .collect()
}

/// Hotspots numbered in list order from `groups` over `n` images; the representative of
/// a changed group is its member nearest the members' mean in `positions`.
fn rebuild(groups: Vec<Group>, n: usize, positions: &[Vec2]) -> Hotspots {
    let mut assignment = vec![-1i32; n];
    let mut hotspots = Vec::new();
    for g in groups.into_iter().filter(|g| !g.rows.is_empty()) {
        let id = hotspots.len() as u32;
        for &i in &g.rows {
            if let Some(a) = assignment.get_mut(i) {
                *a = id as i32;
            }
        }
        let placed: Vec<(usize, Vec2)> = g
            .rows
            .iter()
            .filter_map(|&i| Some((i, *positions.get(i)?)))
            .collect();
        let mean = if placed.is_empty() {
            Vec2::ZERO
        } else {
            // Summed in f64: a million positions summed in f32 lose the low digits.
            let sum = placed.iter().fold([0.0f64; 2], |s, (_, p)| {
                [s[0] + f64::from(p.x), s[1] + f64::from(p.y)]
            });
            let k = placed.len() as f64;
            Vec2::new((sum[0] / k) as f32, (sum[1] / k) as f32)
        };
        let nearest = placed
            .iter()
            .min_by(|a, b| {
                a.1.distance_squared(mean)
                    .total_cmp(&b.1.distance_squared(mean))
            })
            .map_or(g.rows[0], |(i, _)| *i);
        let (medoid, centroid) = match g.kept {
            Some((m, c)) if g.rows.contains(&m) => (m, c.unwrap_or(mean)),
            _ => (nearest, mean),
        };
        hotspots.push(Hotspot {
            id,
            label: g.label,
            label_source: g.label_source,
            size: g.rows.len(),
            medoid,
            centroid,
            top_category: g.top_category,
        });
    }
    Hotspots {
        hotspots,
        assignment,
        ..Default::default()
    }
}

/// `edited` with the computed finer groups of `computed` (edits change hotspots only).
fn with_finer(mut edited: Hotspots, computed: &Hotspots) -> Hotspots {
    edited.finer = computed.finer.clone();
    edited.finer_assignment = computed.finer_assignment.clone();
    edited
}

/// `h` with `edit` applied; `positions` is the layout the clusters were found in (for a
/// new or merged hotspot's representative). Renumbers the hotspots in list order.
pub fn apply(h: &Hotspots, edit: &Edit, positions: &[Vec2]) -> Result<Hotspots, String> {
    let mut groups = groups_of(h);
    let count = groups.len();
    let check = |k: usize| {
        if k < count {
            Ok(k)
        } else {
            Err(format!("there is no hotspot {k} (there are {count})"))
        }
    };
    match edit {
        Edit::Rename(k, name) => groups[check(*k)?].label = clean_name(name)?,
        Edit::Delete(ks) => {
            for &k in ks {
                groups[check(k)?].rows.clear();
            }
        }
        Edit::Merge(ks) => {
            let Some((&into, rest)) = ks.split_first() else {
                return Err("choose the hotspots to merge".into());
            };
            check(into)?;
            for &k in rest.iter().filter(|&&k| k != into) {
                let rows = std::mem::take(&mut groups[check(k)?].rows);
                groups[into].rows.extend(rows);
            }
            let g = &mut groups[into];
            g.rows.sort_unstable();
            g.rows.dedup();
            g.top_category = None;
            g.kept = g.kept.map(|(m, _)| (m, None));
        }
        Edit::Move(k, by) => {
            let from = check(*k)?;
            let to = (from as i64 + i64::from(*by)).clamp(0, count as i64 - 1) as usize;
            let g = groups.remove(from);
            groups.insert(to, g);
        }
        Edit::FromRows(name, rows) => {
            let label = clean_name(name)?;
            let taken: rustc_hash::FxHashSet<usize> = rows
                .iter()
                .copied()
                .filter(|&i| i < h.assignment.len())
                .collect();
            if taken.is_empty() {
                return Err("select some images first".into());
            }
            for g in &mut groups {
                let before = g.rows.len();
                g.rows.retain(|i| !taken.contains(i));
                if g.rows.len() != before {
                    g.top_category = None;
                    g.kept = g.kept.map(|(m, _)| (m, None));
                }
            }
            let mut rows: Vec<usize> = taken.into_iter().collect();
            rows.sort_unstable();
            groups.insert(
                0,
                Group {
                    label,
                    label_source: "user".into(),
                    top_category: None,
                    rows,
                    kept: None,
                },
            );
        }
    }
    Ok(with_finer(
        rebuild(groups, h.assignment.len(), positions),
        h,
    ))
}

/// One hotspot as `export --hotspots` writes it.
#[derive(serde::Serialize)]
struct ExportedHotspot<'a> {
    id: u32,
    label: &'a str,
    size: usize,
    representative: &'a str,
    members: Vec<&'a str>,
}

/// Writes the hotspots (with the user's names) and their members by file name as JSON,
/// atomically; how many were written.
pub fn export_json(
    prepared: &PreparedDataset,
    hotspots: Option<&Hotspots>,
    path: &std::path::Path,
) -> Result<usize, crate::cache::CacheError> {
    let empty = Hotspots::default();
    let h = hotspots.unwrap_or(&empty);
    let name = |i: usize| prepared.images.get(i).unwrap_or("");
    let spots: Vec<ExportedHotspot> = h
        .hotspots
        .iter()
        .map(|s| ExportedHotspot {
            id: s.id,
            label: &s.label,
            size: s.size,
            representative: name(s.medoid),
            members: (0..h.assignment.len())
                .filter(|&i| h.assignment[i] == s.id as i32)
                .map(name)
                .collect(),
        })
        .collect();
    prepared.dir.write_json(path, &spots)?;
    Ok(spots.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spot(id: u32, label: &str, medoid: usize, size: usize) -> Hotspot {
        Hotspot {
            id,
            label: label.into(),
            label_source: "captions".into(),
            size,
            medoid,
            centroid: Vec2::ZERO,
            top_category: Some(("x".into(), 1.0)),
        }
    }

    /// Three hotspots over eight images: 0 = {0,1,2}, 1 = {3,4}, 2 = {5,6}; image 7 in none.
    fn three() -> (Hotspots, Vec<Vec2>) {
        let h = Hotspots {
            hotspots: vec![
                spot(0, "Owls", 1, 3),
                spot(1, "Cats", 3, 2),
                spot(2, "Dogs", 6, 2),
            ],
            assignment: vec![0, 0, 0, 1, 1, 2, 2, -1],
            ..Default::default()
        };
        let positions = (0..8).map(|i| Vec2::new(i as f32, 0.0)).collect();
        (h, positions)
    }

    fn labels(h: &Hotspots) -> Vec<(&str, usize)> {
        h.hotspots
            .iter()
            .map(|s| (s.label.as_str(), s.size))
            .collect()
    }

    #[test]
    fn merge_delete_move_and_make() {
        let (h, pos) = three();
        let merged = apply(&h, &Edit::Merge(vec![2, 0]), &pos).unwrap();
        // Into the first named (Dogs), which keeps its place and representative.
        assert_eq!(labels(&merged), [("Cats", 2), ("Dogs", 5)]);
        assert_eq!(merged.assignment, [1, 1, 1, 0, 0, 1, 1, -1]);
        assert_eq!(merged.hotspots[1].medoid, 6);
        assert_eq!(merged.hotspots[1].top_category, None);

        let deleted = apply(&h, &Edit::Delete(vec![1]), &pos).unwrap();
        assert_eq!(labels(&deleted), [("Owls", 3), ("Dogs", 2)]);
        assert_eq!(deleted.assignment, [0, 0, 0, -1, -1, 1, 1, -1]);

        let moved = apply(&h, &Edit::Move(2, -5), &pos).unwrap();
        assert_eq!(labels(&moved), [("Dogs", 2), ("Owls", 3), ("Cats", 2)]);
        assert_eq!(moved.assignment, [1, 1, 1, 2, 2, 0, 0, -1]);

        let made = apply(
            &h,
            &Edit::FromRows(" Mine ".into(), vec![2, 3, 4, 7, 99]),
            &pos,
        )
        .unwrap();
        assert_eq!(labels(&made), [("Mine", 4), ("Owls", 2), ("Dogs", 2)]);
        assert_eq!(made.assignment, [1, 1, 0, 0, 0, 2, 2, 0]);
        assert_eq!(made.hotspots[0].label_source, "user");
        // Members 2,3,4,7 at x = 2,3,4,7: mean 4, so image 4 represents them.
        assert_eq!(made.hotspots[0].medoid, 4);
        assert_eq!(
            made.hotspots[1].medoid, 1,
            "Owls keep theirs: image 1 is still in"
        );

        let renamed = apply(&h, &Edit::Rename(1, "Kittens".into()), &pos).unwrap();
        assert_eq!(labels(&renamed)[1], ("Kittens", 2));
    }

    #[test]
    fn bad_edits_are_refused() {
        let (h, pos) = three();
        assert!(apply(&h, &Edit::Delete(vec![3]), &pos).is_err());
        assert!(apply(&h, &Edit::Merge(vec![]), &pos).is_err());
        assert!(apply(&h, &Edit::Rename(0, "  ".into()), &pos).is_err());
        assert!(apply(&h, &Edit::Rename(0, "a\nb".into()), &pos).is_err());
        assert!(apply(&h, &Edit::FromRows("x".into(), vec![100]), &pos).is_err());
        assert_eq!(
            labels(&apply(&h, &Edit::Merge(vec![1]), &pos).unwrap()),
            labels(&h)
        );
    }
}
