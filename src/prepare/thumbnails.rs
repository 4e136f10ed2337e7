//! Stage 2, thumbnails: decode what the store has not seen, on the rayon pool, in chunks.
//!
//! Images are keyed by (path, size, mtime) in the [`ThumbStore`]; only new or changed ones are
//! decoded. The pool decodes one chunk while a writer thread stores the previous one, so the
//! pool never waits for the disk, and a kill loses at most the chunk in flight. The store of
//! a large level other than the default lives in its own folder
//! ([`crate::cache::CacheDir::chunks_for`]), so `--large-px` never mixes sizes (it has no fingerprint: the store is keyed by file).
//!
//! Then [`shown`] decides which images make it onto the map: those with a stored thumbnail;
//! the others are skipped with the decoder's reason.

use rayon::prelude::*;

use super::run::Run;
use super::{PrepareError, io};
use crate::cache::thumbstore::{CHUNK_IMAGES, FileKey, StoredThumb, ThumbStore};
use crate::dataset::{Dataset, ImageFile, Skipped};
use crate::thumbs::thumb_from_bytes;

/// The store after this run, and how many images were decoded.
pub(crate) struct Thumbnails {
    pub store: ThumbStore,
    pub keys: Vec<FileKey>,
    pub decoded: usize,
}

/// Decodes every one of `images` the store has no current entry for.
pub(crate) fn run(run: &Run, images: &[ImageFile]) -> Result<Thumbnails, PrepareError> {
    let chunks_dir = run.cache.chunks_for(run.opts.large_px);
    let mut store = ThumbStore::open(&chunks_dir).map_err(io(&chunks_dir))?;
    let keys: Vec<FileKey> = images
        .iter()
        .map(|image| FileKey {
            rel: image.rel.clone(),
            size: image.size,
            mtime_ns: image.mtime_ns,
        })
        .collect();
    let todo: Vec<usize> = (0..keys.len())
        .filter(|&i| store.get(&keys[i]).is_none())
        .collect();
    let progress = run.progress;
    progress.begin("thumbnails", todo.len() as u64);
    std::thread::scope(|scope| -> Result<(), PrepareError> {
        let (send, receive) = std::sync::mpsc::sync_channel::<Vec<_>>(1);
        let store = &mut store;
        let chunks_dir = &chunks_dir;
        let writer = scope.spawn(move || -> Result<(), PrepareError> {
            for results in receive {
                store.write_chunk(results).map_err(io(chunks_dir))?;
            }
            Ok(())
        });
        for batch in todo.chunks(CHUNK_IMAGES) {
            if progress.cancelled() {
                break; // finished chunks are stored; checked again below
            }
            let mut results = Vec::with_capacity(batch.len());
            for window in batch.chunks(TABLE_WINDOW) {
                results.extend(decode_window(run, images, &keys, window));
            }
            if send.send(results).is_err() {
                break; // the writer failed; its error is reported below
            }
        }
        drop(send);
        writer.join().unwrap_or_else(|_| {
            Err(PrepareError::Io {
                path: chunks_dir.clone(),
                source: std::io::Error::other("the chunk writer thread panicked"),
            })
        })
    })?;
    progress.end();
    run.check_cancelled()?;
    Ok(Thumbnails {
        store,
        keys,
        decoded: todo.len(),
    })
}

/// Images decoded together: table rows are read for a window at a time, one pass per row
/// group, so this bounds the encoded bytes held at once.
const TABLE_WINDOW: usize = 128;

/// Decodes the images `window` (indices into `images`) on the pool.
fn decode_window(
    run: &Run,
    images: &[ImageFile],
    keys: &[FileKey],
    window: &[usize],
) -> Vec<(FileKey, Result<crate::thumbs::Thumb, String>)> {
    let listed: Vec<&ImageFile> = window.iter().map(|&i| &images[i]).collect();
    let rows = crate::dataset::image_table::read_table_rows(&listed);
    (window.par_iter().zip(rows))
        .map(|(&i, row)| {
            let bytes = match row {
                Some(row) => row,
                None => images[i].source().read().map_err(|e| e.to_string()),
            };
            let thumb = bytes
                .map_err(|e| format!("cannot read: {e}"))
                .and_then(|bytes| thumb_from_bytes(bytes, run.opts.large_px));
            run.progress.advance(1);
            (keys[i].clone(), thumb)
        })
        .collect()
}

/// The images on the map: (dataset row, chunk, where its thumbnails are).
pub(crate) type Shown = Vec<(usize, u32, StoredThumb)>;

/// Which images have a thumbnail; the others join `skipped` with their reason.
pub(crate) fn shown(
    dataset: &Dataset,
    thumbs: &Thumbnails,
    skipped: &mut Vec<Skipped>,
) -> Result<Shown, PrepareError> {
    let mut shown = Vec::with_capacity(dataset.images.len());
    for (i, key) in thumbs.keys.iter().enumerate() {
        let rel = &dataset.images[i].rel;
        match thumbs.store.get(key).map(|r| (r.chunk, &r.result)) {
            Some((chunk, Ok(stored))) => shown.push((i, chunk, stored.clone())),
            Some((_, Err(reason))) => skipped.push(Skipped {
                path: rel.clone(),
                reason: reason.clone(),
            }),
            None => skipped.push(Skipped {
                path: rel.clone(),
                reason: "was not thumbnailed".into(),
            }),
        }
    }
    if shown.is_empty() {
        let reason = skipped.first().map_or_else(
            || "unknown".to_string(),
            |s| format!("{}: {}", s.path, s.reason),
        );
        return Err(PrepareError::NoUsableImages {
            found: dataset.images.len(),
            reason,
        });
    }
    Ok(shown)
}
