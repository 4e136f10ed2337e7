//! Where the bytes of images that live inside containers are: `members.bin`.
//!
//! One record per shown image, in image order, of three little-endian u64: the length of
//! the container's part of the image's path (`shards/00000.tar` in
//! `shards/00000.tar/KEY.jpg`), then for a tar member the data's offset in the tar and its
//! length, for a row of a table of image bytes (img2dataset's `parquet` output) its row
//! group and row, the first word's top bit set; all three 0 for an image that is its own
//! file. The file exists only when some image is a member. Reading one image's source is one
//! 24-byte read at `24·i`, so opening a dataset loads nothing of it (a million members are
//! 24 MB we never parse), and the lightbox, the detail level and taking away read a member
//! with one seek into its tar (or one row group of its table) instead of walking the
//! container again.
//!
//! Rejected: the offsets in `images.json` (every open would parse them) and a JSON side list
//! (the same, and three times the size).

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::{CacheError, atomic_write, io_err};
use crate::dataset::{ImageFile, ImageSource, Member};

/// Bytes per image.
const RECORD: usize = 24;

/// The first word's flag for a table row.
const ROW: u64 = 1 << 63;

/// One image's record: the container's share of `rel` (flagged for a table), then where in
/// it; `None` for a file.
fn record(image: &ImageFile, images_dir: &Path) -> [u64; 3] {
    let Some(member) = image.member else {
        return [0; 3];
    };
    let container_rel_len = image
        .abs
        .strip_prefix(images_dir)
        .ok()
        .and_then(|p| p.to_str())
        .map(str::len)
        .filter(|&n| image.rel.as_bytes().get(n) == Some(&b'/'))
        .or_else(|| image.rel.find(".tar/").map(|n| n + 4))
        .or_else(|| image.rel.find(".parquet/").map(|n| n + 8))
        .unwrap_or(0) as u64;
    match member {
        Member::Tar { offset, len } => [container_rel_len, offset, len],
        Member::Row { group, row } => [container_rel_len | ROW, group.into(), row.into()],
    }
}

/// Writes `path` for `images` (the shown ones, in order), or removes it when none is a
/// member (a dataset that moved from tars to files keeps no stale offsets).
pub fn write(path: &Path, images: &[&ImageFile], images_dir: &Path) -> std::io::Result<()> {
    if images.iter().all(|i| i.member.is_none()) {
        return match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        };
    }
    let mut bytes = Vec::with_capacity(images.len() * RECORD);
    for image in images {
        for v in record(image, images_dir) {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
    }
    atomic_write(path, &bytes)
}

/// Where image `i` (path `rel` in `images_dir`) is: its file, or its stretch of a tar.
pub fn source(
    path: &Path,
    images_dir: &Path,
    i: usize,
    rel: &str,
) -> Result<ImageSource, CacheError> {
    let file = || ImageSource::File(images_dir.join(rel));
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(file()),
        Err(e) => return Err(io_err(path)(e)),
    };
    let mut buf = [0u8; RECORD];
    f.seek(SeekFrom::Start((i * RECORD) as u64))
        .and_then(|_| f.read_exact(&mut buf))
        .map_err(|e| CacheError::Corrupt {
            path: path.to_path_buf(),
            why: format!("has no record for image {i}: {e}"),
        })?;
    let v = |k: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&buf[8 * k..8 * k + 8]);
        u64::from_le_bytes(b)
    };
    let (first, a, b) = (v(0), v(1), v(2));
    let container_len = (first & !ROW) as usize;
    if container_len == 0 {
        return Ok(file());
    }
    let corrupt = |why: String| CacheError::Corrupt {
        path: path.to_path_buf(),
        why,
    };
    let container: PathBuf = match rel.get(..container_len) {
        Some(container_rel) => images_dir.join(container_rel),
        None => {
            return Err(corrupt(format!(
                "names a container longer than the path of image {i} ({rel})"
            )));
        }
    };
    let member = if first & ROW == 0 {
        Member::Tar { offset: a, len: b }
    } else {
        match (u32::try_from(a), u32::try_from(b)) {
            (Ok(group), Ok(row)) => Member::Row { group, row },
            _ => {
                return Err(corrupt(format!(
                    "has an impossible table row for image {i}"
                )));
            }
        }
    };
    Ok(ImageSource::Member { container, member })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_and_files_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let images_dir = dir.path().join("images");
        let member = ImageFile {
            rel: "s/00000.tar/a/000000007.jpg".into(),
            abs: images_dir.join("s/00000.tar"),
            size: 10,
            mtime_ns: 0,
            member: Some(Member::Tar {
                offset: 1536,
                len: 10,
            }),
        };
        let row = ImageFile {
            rel: "t/00001.parquet/000010042.jpg".into(),
            abs: images_dir.join("t/00001.parquet"),
            size: 10,
            mtime_ns: 0,
            member: Some(Member::Row { group: 3, row: 42 }),
        };
        let file = ImageFile {
            rel: "loose.png".into(),
            abs: images_dir.join("loose.png"),
            size: 3,
            mtime_ns: 0,
            member: None,
        };
        let path = dir.path().join("members.bin");
        write(&path, &[&file, &member, &row], &images_dir).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 72);
        assert_eq!(
            source(&path, &images_dir, 0, &file.rel).unwrap(),
            ImageSource::File(images_dir.join("loose.png"))
        );
        assert_eq!(
            source(&path, &images_dir, 1, &member.rel).unwrap(),
            ImageSource::Member {
                container: images_dir.join("s/00000.tar"),
                member: Member::Tar {
                    offset: 1536,
                    len: 10
                }
            }
        );
        assert_eq!(
            source(&path, &images_dir, 2, &row.rel).unwrap(),
            ImageSource::Member {
                container: images_dir.join("t/00001.parquet"),
                member: Member::Row { group: 3, row: 42 }
            }
        );
        assert!(source(&path, &images_dir, 3, "x").is_err());
        // Files only: the record file goes, and everything is a file.
        write(&path, &[&file], &images_dir).unwrap();
        assert!(!path.exists());
        assert_eq!(
            source(&path, &images_dir, 0, &file.rel).unwrap(),
            ImageSource::File(images_dir.join("loose.png"))
        );
    }
}
