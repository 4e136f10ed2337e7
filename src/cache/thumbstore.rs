//! Incremental, crash-safe storage of thumbnails as they are made.
//!
//! Prepare thumbnails images in chunks of [`CHUNK_IMAGES`]; each finished chunk is four files
//! in `thumbs/chunks/`: `cNNNNNN.cells` (BC1 small cells, 512 bytes each), `.large` (the large
//! level's JPEG/PNG blobs back to back), `.app` (appearance features, f32) and `.json` (one
//! entry per image: its path, size and mtime, and where its data are, or why it failed).
//! The `.json` is written last, atomically: a chunk without one is an interrupted chunk and
//! is deleted. Images are keyed by (relative path, size, mtime), so a changed file is redone
//! and an unchanged one never is: adding 20 images to a prepared dataset decodes 20 images.
//!
//! Chunks are never rewritten; entries of deleted images stay as garbage until the cache is
//! cleared (a compaction pass is future work).

use rustc_hash::FxHashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::atomic::{atomic_write, clean_temp_files};
use crate::thumbs::{APPEARANCE_DIM, LargeFormat, Thumb, atlas};

/// Images per chunk: small enough that a kill loses little work, big enough that a million
/// images make a thousand files, not a million.
pub const CHUNK_IMAGES: usize = 1024;

/// Identity of a source file: if any part changes, the image is thumbnailed again.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FileKey {
    pub rel: String,
    pub size: u64,
    pub mtime_ns: i64,
}

impl FileKey {
    /// Reads size and mtime of `abs`; `None` when the file cannot be read.
    pub fn of(rel: &str, abs: &Path) -> Option<Self> {
        let meta = std::fs::metadata(abs).ok()?;
        Some(Self {
            rel: rel.to_string(),
            size: meta.len(),
            mtime_ns: crate::dataset::paths::mtime_ns(&meta),
        })
    }
}

/// Where one image's thumbnails are inside its chunk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredThumb {
    /// Index among the chunk's successful entries (cell and appearance slot).
    pub slot: u32,
    pub small_w: u16,
    pub small_h: u16,
    pub large_w: u16,
    pub large_h: u16,
    pub large_format: LargeFormat,
    pub large_offset: u64,
    pub large_len: u32,
    pub source_w: u32,
    pub source_h: u32,
}

/// One image's line in a chunk index.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ChunkEntry {
    pub key: FileKey,
    pub result: Result<StoredThumb, String>,
}

#[derive(Serialize, Deserialize)]
struct ChunkIndex {
    entries: Vec<ChunkEntry>,
}

/// A found thumbnail: chunk id plus where inside it.
#[derive(Clone, Debug)]
pub struct ThumbRef {
    pub chunk: u32,
    pub result: Result<StoredThumb, String>,
}

/// All finished chunks of a cache.
pub struct ThumbStore {
    dir: PathBuf,
    by_key: FxHashMap<FileKey, ThumbRef>,
    next_chunk: u32,
}

impl ThumbStore {
    /// Opens (or creates) `dir`, dropping chunks a killed run left unfinished.
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        clean_temp_files(dir);
        let mut next_chunk = 0;
        let mut finished = std::collections::HashSet::new();
        let mut all = Vec::new();
        for entry in std::fs::read_dir(dir)?.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some((stem, ext)) = name.split_once('.') else {
                continue;
            };
            let Some(id) = stem.strip_prefix('c').and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            next_chunk = next_chunk.max(id + 1);
            all.push((id, entry.path()));
            if ext == "json" {
                finished.insert(id);
            }
        }
        for (id, path) in &all {
            if !finished.contains(id) {
                let _ = std::fs::remove_file(path);
            }
        }
        let mut store = Self {
            dir: dir.to_path_buf(),
            by_key: FxHashMap::default(),
            next_chunk,
        };
        let mut ids: Vec<u32> = finished.into_iter().collect();
        ids.sort_unstable();
        for id in ids {
            let path = chunk_path(dir, id, "json");
            let index: ChunkIndex = match std::fs::read(&path)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
            {
                Some(i) => i,
                None => {
                    // Unreadable index: forget the chunk; its images are redone.
                    for ext in ["json", "cells", "large", "app"] {
                        let _ = std::fs::remove_file(chunk_path(dir, id, ext));
                    }
                    continue;
                }
            };
            // Later chunks win: a file redone after a change replaces its old entry.
            store.record(id, index.entries);
        }
        Ok(store)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn get(&self, key: &FileKey) -> Option<&ThumbRef> {
        self.by_key.get(key)
    }

    /// Writes one chunk of results (in any order) and records them.
    pub fn write_chunk(
        &mut self,
        results: Vec<(FileKey, Result<Thumb, String>)>,
    ) -> std::io::Result<()> {
        let id = self.next_chunk;
        self.next_chunk += 1;
        let mut cells = Vec::new();
        let mut large = Vec::new();
        let mut app = Vec::new();
        let mut entries = Vec::with_capacity(results.len());
        let mut slot = 0u32;
        for (key, result) in results {
            let result = result.map(|t| {
                cells.extend_from_slice(&t.small_cell);
                for v in &t.appearance {
                    app.extend_from_slice(&v.to_le_bytes());
                }
                let stored = StoredThumb {
                    slot,
                    small_w: t.small.width() as u16,
                    small_h: t.small.height() as u16,
                    large_w: t.large_size.0 as u16,
                    large_h: t.large_size.1 as u16,
                    large_format: t.large_format,
                    large_offset: large.len() as u64,
                    large_len: t.large_bytes.len() as u32,
                    source_w: t.source_size.0,
                    source_h: t.source_size.1,
                };
                large.extend_from_slice(&t.large_bytes);
                slot += 1;
                stored
            });
            entries.push(ChunkEntry { key, result });
        }
        atomic_write(&chunk_path(&self.dir, id, "large"), &large)?;
        atomic_write(&chunk_path(&self.dir, id, "cells"), &cells)?;
        atomic_write(&chunk_path(&self.dir, id, "app"), &app)?;
        let index = ChunkIndex { entries };
        let json = serde_json::to_vec(&index).map_err(std::io::Error::other)?;
        atomic_write(&chunk_path(&self.dir, id, "json"), &json)?;
        self.record(id, index.entries);
        Ok(())
    }

    /// Makes a written chunk's entries findable by key (a later chunk wins).
    fn record(&mut self, chunk: u32, entries: Vec<ChunkEntry>) {
        for e in entries {
            let result = e.result;
            self.by_key.insert(e.key, ThumbRef { chunk, result });
        }
    }

    /// Adds the finished chunks of the store in `other` (a shard's, [`crate::prepare`]'s
    /// `--merge`) under new ids, hard-linked where the file system allows, else copied; the
    /// index goes last, so an interrupted merge leaves only chunks the next open drops. A
    /// chunk whose every image this store has already is skipped: merging twice adds nothing.
    /// `other` is only read. Returns how many chunks were added.
    pub fn import(&mut self, other: &Path) -> std::io::Result<usize> {
        let named = |e: std::io::Error, path: &Path| {
            std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))
        };
        let mut ids: Vec<u32> = std::fs::read_dir(other)
            .map_err(|e| named(e, other))?
            .filter_map(Result::ok)
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_suffix(".json")?.strip_prefix('c')?.parse().ok()
            })
            .collect();
        ids.sort_unstable();
        let mut added = 0;
        for id in ids {
            let json_path = chunk_path(other, id, "json");
            let json = std::fs::read(&json_path).map_err(|e| named(e, &json_path))?;
            let index: ChunkIndex = serde_json::from_slice(&json)
                .map_err(|e| named(std::io::Error::other(e), &json_path))?;
            if index
                .entries
                .iter()
                .all(|e| self.by_key.contains_key(&e.key))
            {
                continue;
            }
            let new = self.next_chunk;
            self.next_chunk += 1;
            for ext in ["large", "cells", "app"] {
                let (from, to) = (chunk_path(other, id, ext), chunk_path(&self.dir, new, ext));
                let _ = std::fs::remove_file(&to);
                if std::fs::hard_link(&from, &to).is_err() {
                    let mut source = std::fs::File::open(&from).map_err(|e| named(e, &from))?;
                    super::atomic_write_with(&to, |w| std::io::copy(&mut source, w).map(|_| ()))?;
                }
            }
            atomic_write(&chunk_path(&self.dir, new, "json"), &json)?;
            self.record(new, index.entries);
            added += 1;
        }
        Ok(added)
    }

    /// Reads one chunk's BC1 cells, and its appearance features if asked to.
    pub fn read_chunk_data(&self, chunk: u32, with_appearance: bool) -> std::io::Result<ChunkData> {
        let cells = std::fs::read(chunk_path(&self.dir, chunk, "cells"))?;
        let app_bytes = if with_appearance {
            std::fs::read(chunk_path(&self.dir, chunk, "app"))?
        } else {
            Vec::new()
        };
        let appearance = app_bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        Ok(ChunkData { cells, appearance })
    }
}

/// The small-level cells and appearance features of one chunk.
pub struct ChunkData {
    pub cells: Vec<u8>,
    pub appearance: Vec<f32>,
}

impl ChunkData {
    pub fn cell(&self, slot: u32) -> &[u8] {
        let s = slot as usize * atlas::CELL_BYTES;
        &self.cells[s..s + atlas::CELL_BYTES]
    }
    pub fn appearance(&self, slot: u32) -> &[f32] {
        let s = slot as usize * APPEARANCE_DIM;
        &self.appearance[s..s + APPEARANCE_DIM]
    }
}

/// `dir/cNNNNNN.ext`.
pub fn chunk_path(dir: &Path, id: u32, ext: &str) -> PathBuf {
    dir.join(format!("c{id:06}.{ext}"))
}
