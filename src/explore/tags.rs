//! Tags the user writes ("keep", "mislabelled"), stored in the cache as data, never as a
//! derived product: `user/tags.json` maps each image's relative path to its tags.
//!
//! Keyed by path rather than row so tags survive a re-prepare, added or removed images and
//! a cache format change (nothing under `user/` is ever rebuilt). Tags of paths that are
//! not in the dataset now (an image moved away for a while) are kept in the file as they
//! were. JSON (through serde) escapes every name, so a tag called `"); rm -rf` or `../x`
//! is only ever text. In memory each tag is a [`Bits`] over the rows, which the filter's
//! `tag:NAME` and the facet counts use directly.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::bits::Bits;
use crate::cache::strings::Names;
use crate::cache::{CacheDir, CacheError};

/// Where the tags live in the cache.
pub const TAGS_FILE: &str = "user/tags.json";

/// The longest tag name, in characters.
pub const MAX_TAG_CHARS: usize = 100;

#[derive(Serialize, Deserialize, Default)]
struct TagFile {
    version: u32,
    /// Relative image path → its tags, sorted.
    images: BTreeMap<String, Vec<String>>,
}

/// The user's tags of one dataset.
#[derive(Clone, Debug, Default)]
pub struct UserTags {
    /// Tag name (as first written) → the rows that carry it.
    tags: BTreeMap<String, Bits>,
    /// Tags of paths not in the dataset now, kept verbatim.
    elsewhere: BTreeMap<String, Vec<String>>,
    len: usize,
}

/// Why a tag name is refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TagError {
    #[error("a tag needs a name")]
    Empty,
    #[error("tag '{0}' contains '|', which joins tags in exports: choose another character")]
    Pipe(String),
    #[error("tag names cannot hold control characters (tabs, line breaks)")]
    Control,
    #[error("tag names are at most {MAX_TAG_CHARS} characters")]
    TooLong,
}

/// A tag name as stored: trimmed and checked.
pub fn clean_name(name: &str) -> Result<String, TagError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(TagError::Empty);
    }
    if name.contains('|') {
        return Err(TagError::Pipe(name.to_string()));
    }
    if name.chars().any(char::is_control) {
        return Err(TagError::Control);
    }
    if name.chars().count() > MAX_TAG_CHARS {
        return Err(TagError::TooLong);
    }
    Ok(name.to_string())
}

impl UserTags {
    /// No tags, for `len` images.
    pub fn new(len: usize) -> Self {
        Self {
            len,
            ..Self::default()
        }
    }

    /// Reads the cache's tags for the images `paths` (row order); none yet is no tags.
    pub fn load(dir: &CacheDir, paths: &Names) -> Result<Self, CacheError> {
        let mut tags = Self::new(paths.len());
        if !dir.root.join(TAGS_FILE).is_file() {
            return Ok(tags);
        }
        let file: TagFile = dir.read_json(TAGS_FILE)?;
        let row_of: rustc_hash::FxHashMap<&str, usize> =
            paths.iter().enumerate().map(|(i, p)| (p, i)).collect();
        for (path, names) in file.images {
            match row_of.get(path.as_str()) {
                Some(&row) => {
                    for name in &names {
                        if let Ok(name) = clean_name(name) {
                            tags.set(&name, [row], true);
                        }
                    }
                }
                None => {
                    tags.elsewhere.insert(path, names);
                }
            }
        }
        Ok(tags)
    }

    /// Writes the tags for the images `paths` (row order) atomically.
    pub fn save(&self, dir: &CacheDir, paths: &Names) -> Result<(), CacheError> {
        let mut images = self.elsewhere.clone();
        for (name, rows) in &self.tags {
            for row in rows.ones() {
                if let Some(path) = paths.get(row) {
                    images
                        .entry(path.to_string())
                        .or_default()
                        .push(name.clone());
                }
            }
        }
        for names in images.values_mut() {
            names.sort();
            names.dedup();
        }
        images.retain(|_, names| !names.is_empty());
        let file = TagFile { version: 1, images };
        let path = dir.root.join(TAGS_FILE);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| CacheError::Io {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        dir.write_json(&path, &file)
    }

    /// The stored spelling of `name` (tags match without regard to case).
    fn key(&self, name: &str) -> Option<&String> {
        let name = name.trim();
        self.tags.keys().find(|k| k.eq_ignore_ascii_case(name))
    }

    /// The rows tagged `name`.
    pub fn rows(&self, name: &str) -> Option<&Bits> {
        self.key(name).and_then(|k| self.tags.get(k))
    }

    /// Adds (`on`) or removes tag `name` on `rows`; returns how many rows changed.
    pub fn set(&mut self, name: &str, rows: impl IntoIterator<Item = usize>, on: bool) -> usize {
        let key = self.key(name).cloned().unwrap_or_else(|| name.to_string());
        let len = self.len;
        let bits = self
            .tags
            .entry(key.clone())
            .or_insert_with(|| Bits::empty(len));
        let mut changed = 0;
        for row in rows {
            if row < len && bits.get(row) != on {
                bits.set(row, on);
                changed += 1;
            }
        }
        if bits.count() == 0 {
            self.tags.remove(&key);
        }
        changed
    }

    /// Every tag with how many images carry it, by name.
    pub fn counts(&self) -> Vec<(String, usize)> {
        self.tags
            .iter()
            .map(|(k, b)| (k.clone(), b.count()))
            .collect()
    }

    /// The tags of row `row`, `|`-joined (the export's `user_tags` column).
    pub fn joined(&self, row: usize) -> String {
        let names: Vec<&str> = self
            .tags
            .iter()
            .filter(|(_, b)| b.get(row))
            .map(|(k, _)| k.as_str())
            .collect();
        names.join("|")
    }

    pub fn is_empty(&self) -> bool {
        self.tags.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert_eq!(clean_name("  keep "), Ok("keep".into()));
        assert_eq!(clean_name(" "), Err(TagError::Empty));
        assert!(matches!(clean_name("a|b"), Err(TagError::Pipe(_))));
        assert_eq!(clean_name("a\nb"), Err(TagError::Control));
        assert_eq!(clean_name(&"x".repeat(101)), Err(TagError::TooLong));
        assert!(clean_name("\"); rm -rf / ../x <b>").is_ok());
    }

    #[test]
    fn tags_round_trip_by_path_and_keep_absent_images() {
        let dir = tempfile::tempdir().unwrap();
        let cache = CacheDir::new(dir.path());
        let paths = Names::Owned(["a.jpg", "b.jpg", "c.jpg"].map(String::from).to_vec());
        let mut tags = UserTags::new(3);
        let odd = "\"); rm -rf / ../x <b>";
        assert_eq!(tags.set("Keep", [0, 2], true), 2);
        assert_eq!(tags.set("keep", [0], true), 0, "same tag, other case");
        tags.set(odd, [1], true);
        tags.save(&cache, &paths).unwrap();
        let text = std::fs::read_to_string(dir.path().join(TAGS_FILE)).unwrap();
        assert!(serde_json::from_str::<serde_json::Value>(&text).is_ok());

        // Re-prepared: c.jpg is gone, d.jpg is new, the rows moved.
        let paths2 = Names::Owned(["d.jpg", "b.jpg", "a.jpg"].map(String::from).to_vec());
        let mut back = UserTags::load(&cache, &paths2).unwrap();
        assert_eq!(
            back.rows("KEEP").unwrap().ones().collect::<Vec<_>>(),
            vec![2]
        );
        assert_eq!(back.rows(odd).unwrap().ones().collect::<Vec<_>>(), vec![1]);
        assert_eq!(back.joined(2), "Keep");
        back.set("new", [0], true);
        back.save(&cache, &paths2).unwrap();
        // c.jpg comes back: its tag was kept all along.
        let again = UserTags::load(&cache, &paths).unwrap();
        assert_eq!(
            again.rows("keep").unwrap().ones().collect::<Vec<_>>(),
            vec![0, 2]
        );
        assert_eq!(again.rows("new").map(Bits::count), None);
        assert_eq!(
            again.counts(),
            vec![(odd.to_string(), 1), ("Keep".to_string(), 2)]
        );
        // Removing the last member removes the tag.
        let mut t = again.clone();
        assert_eq!(t.set(odd, [1], false), 1);
        assert!(t.rows(odd).is_none());
    }
}
