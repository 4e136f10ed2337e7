//! img2dataset's `webdataset` output read in place: `{shard}.tar` files holding `KEY.jpg`
//! (or png/webp), `KEY.txt` (the caption) and `KEY.json` (url, key, status, width, …), with
//! `{shard}.parquet` beside each tar describing every sample, failed downloads included.
//!
//! Nothing is extracted. Each tar is indexed in one sequential pass over its headers (the
//! [`tar`] crate reads ustar, GNU long names and pax headers, and seeks past each member's
//! data), tars in parallel on the rayon pool. An image member becomes an [`ImageFile`] named
//! `SHARD.tar/KEY.jpg` whose [`Member`] is the data's offset and length, so thumbnailing, the
//! lightbox and taking away read exactly those bytes with one seek. Members are listed in the
//! tar's order within the sorted listing, so a thumbnail chunk reads a contiguous stretch of
//! one tar: the disk sees a sequential read, as when streaming the tar.
//!
//! `KEY.txt` / `KEY.json` members become [`SidecarFile`]s, read by offset later by
//! [`super::sidecars`] and only where needed (a shard table already describes most samples).
//! The key a member is joined by is its file stem ([`super::coords::key_of`]), what
//! clip-retrieval's webdataset mode writes as `image_path`.
//!
//! Rejected: decoding thumbnails during the index pass. A re-opened dataset would read every
//! byte of every tar again to find nothing new; the header pass reads 1–2 % of a tar of
//! photos, and the decode pass then reads only the members without a cached thumbnail.
//! Also rejected: extracting to a temporary folder (doubles the disk a 10 M-image
//! collection needs, and the user's folder is read-only to us).
//!
//! Bad tars never stop preparation: a file that is not a tar, a header that fails its
//! checksum, or a tar that ends inside a member keeps the members read before the damage,
//! and the rest is listed by name with the reason.

use std::path::Path;

use rayon::prelude::*;

use super::paths::{ImageFile, Listing, Member, SidecarFile, looks_like_image_name, mtime_ns};

/// What one tar holds, or what was wrong with it.
#[derive(Debug, Default)]
struct TarIndex {
    images: Vec<ImageFile>,
    sidecars: Vec<SidecarFile>,
    problems: Vec<(String, String)>,
}

/// Indexes every tar in `listing.tars` (relative to `folder`), in parallel, adding their
/// members to the listing's images and sidecars and their damage to its problems.
pub(crate) fn index_tars(folder: &Path, listing: &mut Listing) {
    let indices: Vec<TarIndex> = listing
        .tars
        .par_iter()
        .map(|rel| index_tar(&folder.join(rel), rel))
        .collect();
    for index in indices {
        listing.images.extend(index.images);
        listing.sidecars.extend(index.sidecars);
        listing.problems.extend(index.problems);
    }
}

/// One pass over the headers of the tar at `abs` (`rel` from the listed folder).
fn index_tar(abs: &Path, rel: &str) -> TarIndex {
    let mut out = TarIndex::default();
    let file = match std::fs::File::open(abs) {
        Ok(f) => f,
        Err(e) => {
            out.problems.push((rel.into(), format!("cannot open: {e}")));
            return out;
        }
    };
    let (tar_len, tar_mtime) = match file.metadata() {
        Ok(m) => (m.len(), mtime_ns(&m)),
        Err(e) => {
            out.problems.push((rel.into(), format!("cannot read: {e}")));
            return out;
        }
    };
    let mut archive = tar::Archive::new(file);
    let entries = match archive.entries_with_seek() {
        Ok(e) => e,
        Err(e) => {
            out.problems
                .push((rel.into(), format!("not a readable tar: {e}")));
            return out;
        }
    };
    let mut members = 0usize;
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                out.problems
                    .push((rel.into(), damage(members, &e.to_string())));
                break;
            }
        };
        members += 1;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = match entry.path() {
            Ok(p) => p.to_string_lossy().trim_start_matches("./").to_string(),
            Err(e) => {
                out.problems
                    .push((rel.into(), format!("member {members}: bad name: {e}")));
                continue;
            }
        };
        let (offset, len) = (entry.raw_file_position(), entry.size());
        let member_rel = format!("{rel}/{name}");
        if offset.saturating_add(len) > tar_len {
            out.problems.push((
                member_rel,
                format!(
                    "the tar ends inside this member (it is {} bytes, {} are there): the tar is truncated",
                    len,
                    tar_len.saturating_sub(offset)
                ),
            ));
            break;
        }
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".txt") || lower.ends_with(".json") {
            out.sidecars.push(SidecarFile {
                rel: member_rel,
                abs: abs.to_path_buf(),
                member: Some((offset, len)),
            });
        } else if looks_like_image_name(&lower) {
            out.images.push(ImageFile {
                rel: member_rel,
                abs: abs.to_path_buf(),
                size: len,
                mtime_ns: tar_mtime,
                member: Some(Member::Tar { offset, len }),
            });
        }
    }
    if members == 0 && out.problems.is_empty() {
        out.problems
            .push((rel.into(), "an empty tar: it holds no members".into()));
    }
    out
}

/// Why reading stopped after `members` members.
fn damage(members: usize, why: &str) -> String {
    if members == 0 {
        format!("not a tar archive ({why})")
    } else {
        format!("damaged after {members} member(s), the rest is not read ({why})")
    }
}

/// Keys that members of different tars share, each with two of the tars, sorted.
pub(crate) fn shared_keys(images: &[ImageFile]) -> Vec<(String, String, String)> {
    let mut seen: rustc_hash::FxHashMap<&str, &str> = Default::default();
    let mut shared = Vec::new();
    for image in images.iter().filter(|i| i.member.is_some()) {
        let key = super::coords::key_of(&image.rel);
        let tar = image.rel.strip_suffix(file_of(&image.rel)).unwrap_or("");
        let tar = tar.trim_end_matches('/');
        match seen.insert(key, tar) {
            Some(other) if other != tar => {
                shared.push((key.to_string(), other.to_string(), tar.to_string()))
            }
            _ => {}
        }
    }
    shared.sort();
    shared.dedup_by(|a, b| a.0 == b.0);
    shared
}

fn file_of(rel: &str) -> &str {
    rel.rsplit('/').next().unwrap_or(rel)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tar with `members` (name, bytes), as tar's Builder writes them (ustar).
    fn tar_bytes(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, bytes) in members {
            let mut header = tar::Header::new_ustar();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, name, *bytes).unwrap();
        }
        builder.into_inner().unwrap()
    }

    #[test]
    fn members_are_indexed_by_offset_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let long = format!("{}/000000001.jpg", "d".repeat(120)); // needs a GNU long name
        let bytes = tar_bytes(&[
            ("000000000.jpg", b"jpeg bytes"),
            ("000000000.txt", b"a caption"),
            ("000000000.json", b"{}"),
            (&long, b"second"),
            ("notes.cls", b"7"),
        ]);
        std::fs::write(dir.path().join("00000.tar"), &bytes).unwrap();
        let index = index_tar(&dir.path().join("00000.tar"), "00000.tar");
        assert!(index.problems.is_empty(), "{:?}", index.problems);
        let names: Vec<&str> = index.images.iter().map(|i| i.rel.as_str()).collect();
        assert_eq!(
            names,
            ["00000.tar/000000000.jpg", &format!("00000.tar/{long}")]
        );
        assert_eq!(index.images[0].source().read().unwrap(), b"jpeg bytes");
        assert_eq!(index.images[1].source().read().unwrap(), b"second");
        assert_eq!(index.images[0].size, 10);
        let sidecars: Vec<&str> = index.sidecars.iter().map(|s| s.rel.as_str()).collect();
        assert_eq!(
            sidecars,
            ["00000.tar/000000000.txt", "00000.tar/000000000.json"]
        );
        assert_eq!(index.sidecars[0].source().read().unwrap(), b"a caption");
    }

    #[test]
    fn damaged_tars_keep_what_was_read_and_name_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let big = vec![7u8; 5000];
        let whole = tar_bytes(&[("a.jpg", b"first"), ("b.jpg", &big), ("c.jpg", b"third")]);
        // Cut inside b.jpg's data.
        std::fs::write(dir.path().join("cut.tar"), &whole[..2048]).unwrap();
        let cut = index_tar(&dir.path().join("cut.tar"), "cut.tar");
        assert_eq!(cut.images.len(), 1);
        assert_eq!(cut.images[0].source().read().unwrap(), b"first");
        assert_eq!(cut.problems.len(), 1);
        assert_eq!(cut.problems[0].0, "cut.tar/b.jpg");
        assert!(
            cut.problems[0].1.contains("truncated"),
            "{:?}",
            cut.problems
        );

        // A damaged header after the first member.
        let mut broken = whole.clone();
        broken[1024..1536].fill(b'x');
        std::fs::write(dir.path().join("broken.tar"), &broken).unwrap();
        let broken = index_tar(&dir.path().join("broken.tar"), "broken.tar");
        assert_eq!(broken.images.len(), 1);
        assert!(
            broken.problems[0].1.contains("damaged after 1"),
            "{:?}",
            broken.problems
        );

        std::fs::write(
            dir.path().join("text.tar"),
            "this is not a tar at all".repeat(40),
        )
        .unwrap();
        let text = index_tar(&dir.path().join("text.tar"), "text.tar");
        assert!(text.images.is_empty());
        assert_eq!(text.problems[0].0, "text.tar");
        assert!(
            text.problems[0].1.contains("not a tar"),
            "{:?}",
            text.problems
        );

        std::fs::write(dir.path().join("empty.tar"), b"").unwrap();
        let empty = index_tar(&dir.path().join("empty.tar"), "empty.tar");
        assert!(empty.images.is_empty() && empty.problems[0].1.contains("empty"));
    }

    #[test]
    fn keys_in_two_tars_are_found() {
        let image = |rel: &str| ImageFile {
            rel: rel.into(),
            abs: "/x".into(),
            size: 1,
            mtime_ns: 0,
            member: Some(Member::Tar { offset: 0, len: 1 }),
        };
        let images = [
            image("a/00000.tar/000000001.jpg"),
            image("a/00000.tar/000000002.jpg"),
            image("a/00001.tar/000000001.jpg"),
        ];
        assert_eq!(
            shared_keys(&images),
            [(
                "000000001".to_string(),
                "a/00000.tar".to_string(),
                "a/00001.tar".to_string()
            )]
        );
    }
}
