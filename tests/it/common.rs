//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `tests/fixtures/<name>`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Copies a folder recursively (symlinks are not followed).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Every file below `dir` with its size and mtime, to prove nothing was written there.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (u64, std::time::SystemTime)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            let meta = std::fs::symlink_metadata(entry.path()).unwrap();
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                out.insert(entry.path(), (meta.len(), meta.modified().unwrap()));
            }
        }
    }
    out
}

/// The binary under test.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_clip-plot-view"))
}

/// The tuxpaint fixture prepared once per test run (every test that needs it shares the
/// preparation, the slow part); returns its cache, which tests must not change.
pub fn shared_tuxpaint_cache() -> &'static Path {
    static CACHE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    CACHE.get_or_init(|| {
        let cache = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("shared-tuxpaint-{}", std::process::id()));
        clip_plot::prepare::prepare(
            &clip_plot::prepare::PrepareOptions::new(clip_plot::dataset::DatasetOptions {
                root: fixture("tuxpaint"),
                cache: Some(cache.clone()),
                logo: Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/logo.png")),
                ..Default::default()
            }),
            &clip_plot::prepare::NoProgress,
        )
        .unwrap();
        cache
    })
}

/// A copy of the shared prepared tuxpaint cache in `dir/cache`, for a test to change.
pub fn prepared_tuxpaint_copy(dir: &Path) -> PathBuf {
    let cache = dir.join("cache");
    copy_dir(shared_tuxpaint_cache(), &cache);
    cache
}
