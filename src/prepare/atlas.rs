//! Stage 3, atlas: pack the shown images' small cells into BC1 pages (mip levels after level
//! 0 in the same file), write the per-image index, the image list and the aligned metadata.
//!
//! The pages are reused when exactly these thumbnails were packed before (the fingerprint
//! covers every shown image's path, chunk and slot); the cells are copied from the store as
//! they are, never decoded. Pages are independent, so they are packed in parallel.

use rustc_hash::FxHashMap;
use serde_json::json;

use rayon::prelude::*;

use super::run::{Run, fingerprint};
use super::thumbnails::{Shown, Thumbnails};
use super::{PrepareError, PrepareOptions, io};
use crate::cache::thumbstore::ChunkData;
use crate::cache::{
    FORMAT_VERSION, Fingerprint, ThumbRecord, ThumbsInfo, atomic_write, encode_thumb_index,
};
use crate::dataset::{Dataset, Table};
use crate::thumbs::atlas;

/// Version of the pages' layout: 2 added the mip levels after level 0, so pages of older
/// caches are packed again (from the stored cells, no decoding).
const ATLAS_VERSION: u32 = 2;

/// The options the pages depend on.
pub(crate) fn covers(opts: &PrepareOptions) -> serde_json::Value {
    json!({ "large_px": opts.large_px, "format": FORMAT_VERSION, "atlas": ATLAS_VERSION })
}

/// What the atlas stage leaves for the next ones.
pub(crate) struct Packed {
    pub info: ThumbsInfo,
    /// The chunks' cells and appearance features, when they had to be read.
    pub chunk_data: FxHashMap<u32, ChunkData>,
    /// Relative path of every shown image (`images.bin`).
    pub images: Vec<String>,
    /// Metadata rows of the shown images.
    pub metadata: Table,
}

/// Packs the pages (unless current) and writes `images.bin` and `metadata.bin`.
pub(crate) fn run(
    run: &Run,
    dataset: &Dataset,
    thumbs: &Thumbnails,
    shown: &Shown,
) -> Result<Packed, PrepareError> {
    run.progress.begin("atlas", shown.len() as u64);
    let mut packed = Fingerprint::default();
    for (i, chunk, stored) in shown {
        packed
            .add_str(&dataset.images[*i].rel)
            .add_u64(u64::from(*chunk))
            .add_u64(u64::from(stored.slot));
    }
    let fp = fingerprint("atlas", &covers(run.opts), &[&packed.hex()]);
    let pages = shown.len().div_ceil(atlas::CELLS_PER_PAGE as usize) as u32;
    let cache = &run.cache;
    let current = run
        .previous
        .as_ref()
        .is_some_and(|m| m.thumbs.as_ref().is_some_and(|t| t.fingerprint == fp))
        && cache.thumb_index().is_file()
        && (0..pages).all(|p| cache.page(p).is_file());
    // Appearance features are read from the same chunks when there are no embeddings.
    let needs_appearance = dataset.embeddings.is_none();
    let chunk_data = if current && !needs_appearance {
        FxHashMap::default()
    } else {
        let mut ids: Vec<u32> = shown.iter().map(|s| s.1).collect();
        ids.sort_unstable();
        ids.dedup();
        let dir = thumbs.store.dir();
        ids.par_iter()
            .map(|&c| {
                thumbs
                    .store
                    .read_chunk_data(c, needs_appearance)
                    .map(|d| (c, d))
            })
            .collect::<Result<_, _>>()
            .map_err(io(dir))?
    };
    if !current {
        write_pages(run, shown, &chunk_data)?;
    }
    let images: Vec<String> = shown
        .iter()
        .map(|(i, _, _)| dataset.images[*i].rel.clone())
        .collect();
    let names: Vec<&str> = images.iter().map(String::as_str).collect();
    crate::cache::strings::write(&cache.images(), &names).map_err(io(&cache.images()))?;
    let shown_files: Vec<_> = shown.iter().map(|(i, _, _)| &dataset.images[*i]).collect();
    let members = cache.members();
    crate::cache::members::write(&members, &shown_files, &dataset.paths.images)
        .map_err(io(&members))?;
    let metadata = Table {
        columns: dataset.metadata.columns.clone(),
        cells: dataset
            .metadata
            .cells
            .iter()
            .map(|col| shown.iter().map(|(i, _, _)| col[*i].clone()).collect())
            .collect(),
    };
    let path = cache.metadata();
    crate::cache::strings::write_columns(&path, &metadata.columns, &metadata.cells)
        .map_err(io(&path))?;
    for legacy in cache.legacy_lists() {
        let _ = std::fs::remove_file(legacy); // an older cache's lists, superseded
    }
    run.progress.end();
    Ok(Packed {
        info: ThumbsInfo {
            fingerprint: fp,
            pages,
            page_px: atlas::PAGE_PX,
            cell_px: atlas::CELL_PX,
            large_px: run.opts.large_px,
            page_format: "bc1-rgba-srgb".into(),
        },
        chunk_data,
        images,
        metadata,
    })
}

/// Writes every page (level 0 and its mips) and `thumbs/index.bin`.
fn write_pages(
    run: &Run,
    shown: &Shown,
    chunk_data: &FxHashMap<u32, ChunkData>,
) -> Result<(), PrepareError> {
    let cache = &run.cache;
    let records: Vec<ThumbRecord> = shown
        .iter()
        .enumerate()
        .map(|(j, (_, chunk, s))| {
            let (page, x, y) = atlas::cell_of(j);
            ThumbRecord {
                page,
                cell_x: x as u16,
                cell_y: y as u16,
                small_w: s.small_w,
                small_h: s.small_h,
                large_w: s.large_w,
                large_h: s.large_h,
                chunk: *chunk,
                large_format: s.large_format as u32,
                large_offset: s.large_offset,
                large_len: s.large_len,
                source_w: s.source_w,
                source_h: s.source_h,
                reserved: 0,
            }
        })
        .collect();
    let per_page = atlas::CELLS_PER_PAGE as usize;
    shown
        .par_chunks(per_page)
        .enumerate()
        .try_for_each(|(p, members)| {
            let mut page = atlas::empty_page();
            let mut cells = Vec::with_capacity(members.len());
            for (k, (_, chunk, stored)) in members.iter().enumerate() {
                let (_, x, y) = atlas::cell_of(p * per_page + k);
                if let Some(data) = chunk_data.get(chunk) {
                    atlas::place_cell(&mut page, data.cell(stored.slot), x, y);
                    let (w, h) = (u32::from(stored.small_w), u32::from(stored.small_h));
                    cells.push((x, y, w, h));
                }
            }
            // Its mip levels follow level 0 in the same file.
            let mips = atlas::build_mips(&page, &cells);
            page.extend_from_slice(&mips);
            run.progress.advance(members.len() as u64);
            let path = cache.page(p as u32);
            atomic_write(&path, &page).map_err(io(&path))
        })?;
    let path = cache.thumb_index();
    atomic_write(&path, &encode_thumb_index(&records)).map_err(io(&path))
}
