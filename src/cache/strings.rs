//! Lists of strings that open without parsing: the image paths (`images.bin`) and the
//! metadata columns (`metadata.bin`), memory-mapped.
//!
//! A table is `CPSTRS01`, the count `n` (u64), `n + 1` byte offsets (u64, little-endian),
//! then the strings' UTF-8 bytes back to back. Opening maps the file and checks the header,
//! that the offsets never decrease and stay inside the file, and that the bytes are UTF-8
//! (one vectorised pass): a million paths open in milliseconds, where parsing them from JSON
//! took most of a second and allocated a million strings. A file of several tables (the
//! metadata's columns) is the tables back to back, each padded to 8 bytes, after a header
//! naming the columns.
//!
//! Rejected: JSON (parse time and allocations at every open), a pointer-free `Vec<String>`
//! built at open (the same allocations), and an embedded database (a build dependency for
//! what is an offset array).

use std::ops::Range;
use std::path::Path;

use memmap2::Mmap;

use super::{CacheError, atomic_write_with};

const MAGIC: &[u8; 8] = b"CPSTRS01";

/// Writes `strings` as one table to `out`.
fn encode(strings: &[&str], out: &mut Vec<u8>) {
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(strings.len() as u64).to_le_bytes());
    let mut offset = 0u64;
    out.extend_from_slice(&offset.to_le_bytes());
    for s in strings {
        offset += s.len() as u64;
        out.extend_from_slice(&offset.to_le_bytes());
    }
    for s in strings {
        out.extend_from_slice(s.as_bytes());
    }
    while !out.len().is_multiple_of(8) {
        out.push(0);
    }
}

/// Writes one table of `strings` to `path`, atomically.
pub fn write(path: &Path, strings: &[&str]) -> std::io::Result<()> {
    let mut bytes = Vec::new();
    encode(strings, &mut bytes);
    atomic_write_with(path, |w| std::io::Write::write_all(w, &bytes))
}

/// Writes named columns (each one string per image) to `path`, atomically: a table of the
/// names, then one table per column.
pub fn write_columns(
    path: &Path,
    names: &[String],
    columns: &[Vec<String>],
) -> std::io::Result<()> {
    let mut bytes = Vec::new();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    encode(&names, &mut bytes);
    for column in columns {
        let cells: Vec<&str> = column.iter().map(String::as_str).collect();
        encode(&cells, &mut bytes);
    }
    atomic_write_with(path, |w| std::io::Write::write_all(w, &bytes))
}

/// A file of tables, mapped.
pub struct Strings {
    map: Mmap,
    /// Where each table's offsets and bytes are.
    tables: Vec<Table>,
}

#[derive(Clone, Copy)]
struct Table {
    count: usize,
    offsets: usize,
    bytes: usize,
}

/// One table of a [`Strings`] file.
#[derive(Clone, Copy)]
pub struct StringList<'a> {
    map: &'a [u8],
    table: Table,
}

impl Strings {
    /// Maps `path` and checks every table in it.
    pub fn open(path: &Path) -> Result<Self, CacheError> {
        let map = super::map_file(path)?;
        let corrupt = |why: String| CacheError::Corrupt {
            path: path.to_path_buf(),
            why,
        };
        let mut tables = Vec::new();
        let mut at = 0usize;
        while at < map.len() {
            let (table, end) = check(&map, at).map_err(corrupt)?;
            tables.push(table);
            at = end.div_ceil(8) * 8;
        }
        if at != map.len() {
            return Err(corrupt("is truncated".into()));
        }
        Ok(Self { map, tables })
    }

    /// Table `k` of the file.
    pub fn table(&self, k: usize) -> Option<StringList<'_>> {
        Some(StringList {
            map: &self.map,
            table: *self.tables.get(k)?,
        })
    }

    pub fn tables(&self) -> usize {
        self.tables.len()
    }
}

fn read_u64(map: &[u8], at: usize) -> Option<u64> {
    let b: [u8; 8] = map.get(at..at + 8)?.try_into().ok()?;
    Some(u64::from_le_bytes(b))
}

/// Checks the table at byte `at`; returns it and where its bytes end.
fn check(map: &[u8], at: usize) -> Result<(Table, usize), String> {
    if map.get(at..at + 8) != Some(MAGIC.as_slice()) {
        return Err(format!("no string table at byte {at}"));
    }
    let count = read_u64(map, at + 8)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or("truncated header")?;
    let offsets = at + 16;
    let bytes = count
        .checked_add(1)
        .and_then(|n| n.checked_mul(8))
        .and_then(|n| n.checked_add(offsets))
        .filter(|&b| b <= map.len())
        .ok_or_else(|| format!("{count} strings do not fit in the file"))?;
    let offset = |i: usize| read_u64(map, offsets + 8 * i).unwrap_or(u64::MAX);
    let mut last = 0u64;
    for i in 0..=count {
        let o = offset(i);
        if o < last || (i == 0 && o != 0) {
            return Err(format!("offset {i} goes backwards"));
        }
        last = o;
    }
    let end = usize::try_from(last)
        .ok()
        .and_then(|l| bytes.checked_add(l))
        .filter(|&e| e <= map.len())
        .ok_or("the strings run past the end of the file")?;
    std::str::from_utf8(&map[bytes..end]).map_err(|e| format!("not UTF-8: {e}"))?;
    Ok((
        Table {
            count,
            offsets,
            bytes,
        },
        end,
    ))
}

impl<'a> StringList<'a> {
    pub fn len(&self) -> usize {
        self.table.count
    }

    pub fn is_empty(&self) -> bool {
        self.table.count == 0
    }

    fn range(&self, i: usize) -> Range<usize> {
        let at = |k: usize| read_u64(self.map, self.table.offsets + 8 * k).unwrap_or(0) as usize;
        self.table.bytes + at(i)..self.table.bytes + at(i + 1)
    }

    /// String `i` ("" past the end; the table was checked at open).
    pub fn get(&self, i: usize) -> &'a str {
        if i >= self.table.count {
            return "";
        }
        // Checked as a whole at open; a string boundary inside a character cannot happen
        // for offsets we wrote, and reads "" if a damaged file had one.
        std::str::from_utf8(&self.map[self.range(i)]).unwrap_or("")
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = &'a str> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// Every string, owned.
    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_string).collect()
    }
}

/// The images' paths: mapped from `images.bin`, or read from an older cache's JSON list.
pub enum Names {
    Mapped(Strings),
    Owned(Vec<String>),
}

impl Names {
    pub fn len(&self) -> usize {
        match self {
            Self::Mapped(s) => s.table(0).map_or(0, |t| t.len()),
            Self::Owned(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, i: usize) -> Option<&str> {
        match self {
            Self::Mapped(s) => s.table(0).filter(|t| i < t.len()).map(|t| t.get(i)),
            Self::Owned(v) => v.get(i).map(String::as_str),
        }
    }

    pub fn first(&self) -> Option<&str> {
        self.get(0)
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        (0..self.len()).map(|i| self.get(i).unwrap_or(""))
    }

    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_string).collect()
    }
}

impl std::fmt::Debug for Names {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter().take(20)).finish()?;
        write!(f, " ({} images)", self.len())
    }
}

impl std::ops::Index<usize> for Names {
    type Output = str;
    /// Path `i`; panics past the end, as a slice does.
    fn index(&self, i: usize) -> &str {
        match self.get(i) {
            Some(s) => s,
            None => panic!("image {i} of {}", self.len()),
        }
    }
}

/// The metadata columns: mapped from `metadata.bin` and read cell by cell (the lightbox,
/// the hover), made into a [`crate::dataset::Table`] only when something needs whole
/// columns (filters, export).
pub struct Metadata {
    columns: Vec<String>,
    mapped: Option<Strings>,
    table: std::sync::OnceLock<crate::dataset::Table>,
}

impl Metadata {
    /// From a mapped `metadata.bin` (a table of names, then one per column).
    pub fn mapped(strings: Strings, rows: usize, path: &Path) -> Result<Self, CacheError> {
        let columns = strings.table(0).map(|t| t.to_vec()).unwrap_or_default();
        let bad = (1..=columns.len()).find(|&k| strings.table(k).is_none_or(|t| t.len() != rows));
        if bad.is_some() || strings.tables() != columns.len() + 1 {
            return Err(CacheError::Corrupt {
                path: path.to_path_buf(),
                why: format!("does not hold {} columns of {rows} rows", columns.len()),
            });
        }
        Ok(Self {
            columns,
            mapped: Some(strings),
            table: std::sync::OnceLock::new(),
        })
    }

    /// From a table already in memory (an older cache's JSON).
    pub fn owned(table: crate::dataset::Table) -> Self {
        Self {
            columns: table.columns.clone(),
            mapped: None,
            table: std::sync::OnceLock::from(table),
        }
    }

    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Column `c`'s value for image `i` ("" where none).
    pub fn value(&self, c: usize, i: usize) -> &str {
        match &self.mapped {
            Some(s) => s.table(c + 1).map_or("", |t| t.get(i)),
            None => self
                .table()
                .cells
                .get(c)
                .and_then(|col| col.get(i))
                .map_or("", String::as_str),
        }
    }

    /// Column `name`'s values (case-insensitive), in memory.
    pub fn column(&self, name: &str) -> Option<&[String]> {
        self.table().column(name)
    }

    /// Every column, in memory (built on first use).
    pub fn table(&self) -> &crate::dataset::Table {
        self.table.get_or_init(|| crate::dataset::Table {
            columns: self.columns.clone(),
            cells: (1..=self.columns.len())
                .map(|k| {
                    self.mapped
                        .as_ref()
                        .and_then(|s| s.table(k))
                        .map(|t| t.to_vec())
                        .unwrap_or_default()
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_round_trip_and_damage_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("images.bin");
        write(
            &path,
            &[
                "a/owl.jpg",
                "",
                "café/ü.png",
                "shards/00000.tar/000000001.jpg",
            ],
        )
        .unwrap();
        let strings = Strings::open(&path).unwrap();
        let list = strings.table(0).unwrap();
        assert_eq!(
            list.to_vec(),
            [
                "a/owl.jpg",
                "",
                "café/ü.png",
                "shards/00000.tar/000000001.jpg"
            ]
        );
        assert_eq!(list.get(9), "");

        let names = vec!["category".to_string(), "year".to_string()];
        let columns = vec![
            vec!["birds".to_string(), "fish".to_string(), "".to_string()],
            vec!["1970".to_string(), "".to_string(), "1999".to_string()],
        ];
        let meta = dir.path().join("metadata.bin");
        write_columns(&meta, &names, &columns).unwrap();
        let strings = Strings::open(&meta).unwrap();
        assert_eq!(strings.tables(), 3);
        assert_eq!(strings.table(0).unwrap().to_vec(), names);
        assert_eq!(strings.table(2).unwrap().to_vec(), columns[1]);

        let bytes = std::fs::read(&path).unwrap();
        for cut in [4, 20, bytes.len() - 3] {
            std::fs::write(&path, &bytes[..cut]).unwrap();
            assert!(Strings::open(&path).is_err(), "cut at {cut}");
        }
        let mut bad = bytes.clone();
        bad[16 + 8] = 0xff; // an offset far past the end
        std::fs::write(&path, &bad).unwrap();
        assert!(Strings::open(&path).is_err());
    }
}
