//! The hotspots as the user sees them: the clusters prepare found, with the names the
//! user gave them (`clusters/umap.names.json`, kept against the clusters' fingerprint, so
//! a re-prepare that does not change the clustering keeps them).

use crate::cache::PreparedDataset;
use crate::cluster::Hotspots;
use crate::layout::kind::HOTSPOT_SOURCE;

/// Where the user's hotspot names live in the cache.
pub const HOTSPOT_NAMES: &str = "clusters/umap.names.json";

/// Hotspot names the user gave, for the hotspots of one fingerprint.
#[derive(serde::Serialize, serde::Deserialize)]
struct HotspotNames {
    fingerprint: String,
    names: Vec<(u32, String)>,
}

/// The fingerprint of the hotspots on disk now ("" for none).
fn fingerprint(prepared: &PreparedDataset) -> String {
    prepared
        .manifest()
        .clusters
        .get(HOTSPOT_SOURCE)
        .map(|c| c.fingerprint.clone())
        .unwrap_or_default()
}

/// The dataset's hotspots with the user's names (None: not computed yet).
pub fn load(prepared: &PreparedDataset) -> Option<Hotspots> {
    let mut h = prepared.hotspots(HOTSPOT_SOURCE).ok()??;
    if let Ok(names) = prepared.dir.read_json::<HotspotNames>(HOTSPOT_NAMES)
        && names.fingerprint == fingerprint(prepared)
    {
        for (id, name) in names.names {
            if let Some(spot) = h.hotspots.iter_mut().find(|s| s.id == id) {
                spot.label = name;
            }
        }
    }
    Some(h)
}

/// Remembers the labels of `hotspots` as the user's names, atomically.
pub fn save_names(prepared: &PreparedDataset, hotspots: &Hotspots) -> Result<(), String> {
    let names = HotspotNames {
        fingerprint: fingerprint(prepared),
        names: hotspots
            .hotspots
            .iter()
            .map(|s| (s.id, s.label.clone()))
            .collect(),
    };
    let dir = &prepared.dir;
    dir.write_json(&dir.root.join(HOTSPOT_NAMES), &names)
        .map_err(|e| e.to_string())
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
    let name = |i: usize| prepared.images.get(i).map_or("", String::as_str);
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
