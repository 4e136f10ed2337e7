//! Preparation spread over many machines: `prepare --shard I/N` thumbnails the I-th of N
//! slices of the images into a cache of its own, and `prepare --merge CACHE…` joins the
//! shards' thumbnail stores into one cache, then runs every later stage as usual.
//!
//! Thumbnailing is nearly all of a big prepare's time and is independent per image, so it is
//! what is spread; the layouts need every embedding at once and run after the merge (or come
//! from `--coords`, computed by a cluster engine). Any engine that can run N commands on a
//! shared file system will do: a Slurm array, a Kubernetes job, `xargs -P`.
//!
//! **Slices** are deterministic: every machine lists and joins the same dataset, so they agree
//! on the list of images without talking to each other. The sorted list is cut into N runs of
//! nearly equal length at unit boundaries, a unit being one image file or one whole tar
//! shard (a tar is read by one machine, sequentially, never by several). Shards count from
//! 1 (`--shard 1/3` … `--shard 3/3`), as people name parts; give a Slurm array `--array=1-N`.
//! Rejected: hashing names to shards (balanced only on average, and it scatters a tar's
//! members over every machine).
//!
//! **A shard cache** is an ordinary thumbnail store ([`ThumbStore`]) plus `shard.json`
//! (which slice, of which dataset, at which large size). Its default place is
//! `CACHE/shards/I-of-N` under the dataset's cache, so `--merge` without a list finds them.
//!
//! **Merging** checks that the caches are the N distinct shards of one split of this dataset
//! made with the same `--large-px` (else one message naming what is missing or different),
//! then imports their chunks ([`ThumbStore::import`]: hard links where possible, nothing
//! decoded, merging twice adds nothing). The normal thumbnail stage then finds every image in
//! the store: an image that changed since its shard ran is thumbnailed again, the rest
//! never. The shard caches are only read.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::run::Run;
use super::{PrepareError, PrepareOptions, PrepareReport, Progress, io, scan, thumbnails};
use crate::cache::thumbstore::ThumbStore;
use crate::cache::{CacheDir, EmbeddingOrigin};
use crate::dataset::ImageFile;

/// The file that marks a shard cache.
pub const SHARD_FILE: &str = "shard.json";

/// The `index`-th of `count` slices, counting from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;
    /// `I/N`, 1 ≤ I ≤ N.
    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "--shard {text}: give I/N, the I-th of N shards counting from 1 (1/3, 2/3, 3/3)"
            )
        };
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count): (usize, usize) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Self { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// What a shard cache holds (`shard.json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ShardInfo {
    pub shard: Shard,
    /// The dataset's images folder, absolute.
    pub images_dir: String,
    /// Images in the whole dataset, and in this slice.
    pub dataset_images: usize,
    pub images: usize,
    pub large_px: u32,
}

/// The default cache of `shard` under the dataset's cache.
pub fn default_dir(cache: &Path, shard: Shard) -> PathBuf {
    cache
        .join("shards")
        .join(format!("{}-of-{}", shard.index, shard.count))
}

/// Which of `images` (sorted, as listed) belong to `shard`: the runs of units whose first
/// image falls in the shard's share of the list.
pub fn slice(images: &[ImageFile], shard: Shard) -> Vec<usize> {
    let n = images.len();
    let mut out = Vec::new();
    let mut start = 0;
    while start < n {
        let mut end = start + 1;
        if images[start].member.is_some() {
            while end < n && images[end].abs == images[start].abs {
                end += 1;
            }
        }
        if start * shard.count / n == shard.index - 1 {
            out.extend(start..end);
        }
        start = end;
    }
    out
}

/// `prepare --shard`: thumbnails one slice into its own cache.
pub(crate) fn run(
    opts: &PrepareOptions,
    shard: Shard,
    progress: &dyn Progress,
) -> Result<PrepareReport, PrepareError> {
    let dir = match &opts.dataset.cache {
        Some(c) => crate::dataset::paths::absolute(c),
        None => default_dir(&super::cache_dir_for(&opts.dataset), shard),
    };
    let mut run = Run::new(opts, progress, CacheDir::new(dir));
    let dataset = scan::run(&mut run)?;
    run.lap("scan");
    let mine = slice(&dataset.images, shard);
    let images: Vec<ImageFile> = mine.iter().map(|&i| dataset.images[i].clone()).collect();
    let thumbs = thumbnails::run(&run, &images)?;
    run.lap("thumbnails");
    let mut skipped = Vec::new();
    for (image, key) in images.iter().zip(&thumbs.keys) {
        if let Some(Err(reason)) = thumbs.store.get(key).map(|r| &r.result) {
            skipped.push(crate::dataset::Skipped {
                path: image.rel.clone(),
                reason: reason.clone(),
            });
        }
    }
    let info = ShardInfo {
        shard,
        images_dir: dataset.paths.images.display().to_string(),
        dataset_images: dataset.images.len(),
        images: images.len(),
        large_px: opts.large_px,
    };
    let path = run.cache.root.join(SHARD_FILE);
    run.cache.write_json(&path, &info)?;
    let mut notices = dataset.notices.clone();
    notices.push(format!(
        "shard {shard} holds {} of the {} images; when all {} shards are done, join them: clip-plot-view prepare DATASET --merge{}",
        images.len(),
        dataset.images.len(),
        shard.count,
        if opts.dataset.cache.is_some() {
            " CACHE1 CACHE2 …"
        } else {
            ""
        }
    ));
    Ok(PrepareReport {
        cache_dir: run.cache.root.clone(),
        images: images.len(),
        thumbnailed: thumbs.decoded,
        skipped,
        notices,
        stage_seconds: run.laps().to_vec(),
        embedding_origin: EmbeddingOrigin::Provided,
        shard: Some(shard),
    })
}

/// The shard caches `--merge` names, or with none named those under `CACHE/shards/`.
fn merge_dirs(opts: &PrepareOptions, cache: &Path) -> Result<Vec<PathBuf>, PrepareError> {
    if opts.merge.iter().any(|p| !p.as_os_str().is_empty()) {
        return Ok(opts
            .merge
            .iter()
            .map(|p| crate::dataset::paths::absolute(p))
            .collect());
    }
    let shards = cache.join("shards");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&shards)
        .map_err(|_| {
            PrepareError::Options(format!(
                "--merge: no shard caches named and none in {}: give them, e.g. --merge c1 c2 c3",
                shards.display()
            ))
        })?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join(SHARD_FILE).is_file())
        .collect();
    dirs.sort();
    Ok(dirs)
}

/// Reads and checks the shard caches: all N shards of one split of this dataset, once each.
fn check(
    dirs: &[PathBuf],
    images_dir: &Path,
    large_px: u32,
) -> Result<Vec<ShardInfo>, PrepareError> {
    let wrong = PrepareError::Options;
    let mut infos = Vec::new();
    for dir in dirs {
        let path = dir.join(SHARD_FILE);
        let info: ShardInfo = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| {
                wrong(format!(
                    "{} is not a shard cache (it has no readable {SHARD_FILE}): make shards with `prepare DATASET --shard I/N`",
                    dir.display()
                ))
            })?;
        if Path::new(&info.images_dir) != images_dir {
            return Err(wrong(format!(
                "{} is a shard of the images in {}, not of {}",
                dir.display(),
                info.images_dir,
                images_dir.display()
            )));
        }
        if info.large_px != large_px {
            return Err(wrong(format!(
                "{} was made with --large-px {}, this prepare uses {large_px}: give the same --large-px",
                dir.display(),
                info.large_px
            )));
        }
        infos.push(info);
    }
    let Some(count) = infos.first().map(|i| i.shard.count) else {
        return Err(wrong("--merge: no shard caches to merge".into()));
    };
    if let Some(other) = infos.iter().find(|i| i.shard.count != count) {
        return Err(wrong(format!(
            "the shard caches come from different splits (into {count} and into {}): merge the shards of one split",
            other.shard.count
        )));
    }
    let mut seen = vec![0usize; count];
    for info in &infos {
        seen[info.shard.index - 1] += 1;
    }
    let named = |keep: fn(usize) -> bool| -> Vec<String> {
        (seen.iter().enumerate())
            .filter(|(_, n)| keep(**n))
            .map(|(i, _)| format!("{}/{count}", i + 1))
            .collect()
    };
    let twice = named(|n| n > 1);
    if !twice.is_empty() {
        return Err(wrong(format!(
            "shard(s) {} are given more than once",
            twice.join(", ")
        )));
    }
    let missing = named(|n| n == 0);
    if !missing.is_empty() {
        return Err(wrong(format!(
            "shard(s) {} are missing: run `prepare DATASET --shard I/{count}` for them, then merge all {count}",
            missing.join(", ")
        )));
    }
    Ok(infos)
}

/// `prepare --merge`: imports the shards' thumbnails into this cache's store. Returns how
/// many chunks were added.
pub(crate) fn merge(run: &Run, images_dir: &Path) -> Result<usize, PrepareError> {
    let dirs = merge_dirs(run.opts, &run.cache.root)?;
    check(&dirs, images_dir, run.opts.large_px)?;
    let chunks = run.cache.chunks_for(run.opts.large_px);
    let mut store = ThumbStore::open(&chunks).map_err(io(&chunks))?;
    let mut added = 0;
    for dir in &dirs {
        let theirs = CacheDir::new(dir).chunks_for(run.opts.large_px);
        added += store.import(&theirs).map_err(io(&theirs))?;
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(rels: &[&str]) -> Vec<ImageFile> {
        rels.iter()
            .map(|r| {
                let (abs, member) = match r.split_once(".tar/") {
                    Some((tar, _)) => (
                        PathBuf::from(format!("/d/{tar}.tar")),
                        Some(crate::dataset::Member::Tar { offset: 0, len: 1 }),
                    ),
                    None => (PathBuf::from(format!("/d/{r}")), None),
                };
                ImageFile {
                    rel: r.to_string(),
                    abs,
                    size: 1,
                    mtime_ns: 0,
                    member,
                }
            })
            .collect()
    }

    #[test]
    fn shards_parse_from_one() {
        assert_eq!("2/3".parse::<Shard>(), Ok(Shard { index: 2, count: 3 }));
        for bad in ["0/3", "4/3", "3", "a/b", "1/0"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn slices_cover_everything_once_and_keep_tars_whole() {
        let mut rels: Vec<String> = (0..10).map(|i| format!("a{i:02}.jpg")).collect();
        rels.extend((0..7).map(|i| format!("t/00000.tar/{i}.jpg")));
        rels.extend((0..5).map(|i| format!("t/00001.tar/{i}.jpg")));
        let refs: Vec<&str> = rels.iter().map(String::as_str).collect();
        let images = files(&refs);
        for count in 1..=6 {
            let slices: Vec<Vec<usize>> = (1..=count)
                .map(|index| slice(&images, Shard { index, count }))
                .collect();
            let mut all: Vec<usize> = slices.concat();
            all.sort_unstable();
            assert_eq!(all, (0..images.len()).collect::<Vec<_>>(), "{count}");
            for s in &slices {
                for tar in ["00000.tar", "00001.tar"] {
                    let has = s.iter().filter(|&&i| images[i].rel.contains(tar)).count();
                    let all = images.iter().filter(|i| i.rel.contains(tar)).count();
                    assert!(has == 0 || has == all, "{tar} split over shards of {count}");
                }
            }
        }
        // Files alone split evenly.
        let even: Vec<usize> = (1..=3)
            .map(|index| slice(&images[..9], Shard { index, count: 3 }).len())
            .collect();
        assert_eq!(even, [3, 3, 3]);
    }
}
