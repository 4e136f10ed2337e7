//! Reading `.npy` embedding files, memory-mapped.
//!
//! `ndarray-npy` covers f32/f64 little-endian C-order arrays, but clip-retrieval writes
//! float16, and users hand us big-endian or Fortran-order files now and then. The header
//! format is tiny (a magic string, a version, and a Python dict literal), so we parse it here
//! and read rows straight out of the memory map: a 1M×512 float16 file is never copied whole.

use std::fs::File;
use std::path::{Path, PathBuf};

use half::f16;
use half::slice::HalfFloatSliceExt as _;
use memmap2::Mmap;

use super::DatasetError;

/// Element type of an embedding array.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NpyDtype {
    F16,
    F32,
    F64,
}

impl NpyDtype {
    fn size_bytes(self) -> usize {
        match self {
            Self::F16 => 2,
            Self::F32 => 4,
            Self::F64 => 8,
        }
    }
}

/// A memory-mapped numeric `.npy` array viewed as rows × cols (a 1-D array is one row).
pub struct NpyArray {
    path: PathBuf,
    map: Mmap,
    data_offset: usize,
    dtype: NpyDtype,
    is_big_endian: bool,
    is_fortran_order: bool,
    rows: usize,
    cols: usize,
    ndim: usize,
}

impl std::fmt::Debug for NpyArray {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NpyArray")
            .field("path", &self.path)
            .field("dtype", &self.dtype)
            .field("rows", &self.rows)
            .field("cols", &self.cols)
            .finish()
    }
}

fn bad(path: &Path, why: impl Into<String>) -> DatasetError {
    DatasetError::BadNpy {
        path: path.to_path_buf(),
        why: why.into(),
    }
}

impl NpyArray {
    /// Opens and validates `path`; the data stay on disk, mapped.
    pub fn open(path: &Path) -> Result<Self, DatasetError> {
        let file = File::open(path).map_err(|e| bad(path, format!("cannot open: {e}")))?;
        // SAFETY: the user's files are read-only to us and we only read; if another process
        // truncates the file while we run, reads may fault, which mmap-based readers accept.
        #[allow(unsafe_code)]
        let map = unsafe { Mmap::map(&file) }.map_err(|e| bad(path, format!("cannot map: {e}")))?;
        let header = parse_header(&map).map_err(|why| bad(path, why))?;
        let ndim = header.shape.len();
        let (rows, cols) = match header.shape.as_slice() {
            [d] => (1, *d),
            [n, d] => (*n, *d),
            [] => return Err(bad(path, "is a scalar, not an array of embeddings")),
            s => {
                return Err(bad(
                    path,
                    format!(
                        "has {} dimensions {s:?}; expected N×D (2-D) or D (1-D)",
                        s.len()
                    ),
                ));
            }
        };
        let needed = rows
            .checked_mul(cols)
            .and_then(|n| n.checked_mul(header.dtype.size_bytes()))
            .and_then(|n| n.checked_add(header.data_offset))
            .ok_or_else(|| bad(path, "shape overflows"))?;
        if map.len() < needed {
            return Err(bad(
                path,
                format!(
                    "is truncated: its header promises {rows}×{cols} values ({needed} bytes) but the file has {} bytes; re-export it",
                    map.len()
                ),
            ));
        }
        Ok(Self {
            path: path.to_path_buf(),
            map,
            data_offset: header.data_offset,
            dtype: header.dtype,
            is_big_endian: header.is_big_endian,
            is_fortran_order: header.is_fortran_order,
            rows,
            cols,
            ndim,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
    pub fn rows(&self) -> usize {
        self.rows
    }
    pub fn cols(&self) -> usize {
        self.cols
    }
    pub fn ndim(&self) -> usize {
        self.ndim
    }
    pub fn dtype(&self) -> NpyDtype {
        self.dtype
    }

    fn data(&self) -> &[u8] {
        &self.map[self.data_offset..]
    }

    /// Copies row `row` into `out` (length `cols`) as f32.
    pub fn read_row(&self, row: usize, out: &mut [f32]) {
        debug_assert_eq!(out.len(), self.cols);
        let size = self.dtype.size_bytes();
        let data = self.data();
        if !self.is_fortran_order && !self.is_big_endian {
            let start = row * self.cols * size;
            let bytes = &data[start..start + self.cols * size];
            match self.dtype {
                NpyDtype::F16 => match bytemuck::try_cast_slice::<u8, f16>(bytes) {
                    Ok(halves) => halves.convert_to_f32_slice(out),
                    Err(_) => {
                        for (o, b) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                            *o = f16::from_le_bytes([b[0], b[1]]).to_f32();
                        }
                    }
                },
                NpyDtype::F32 => {
                    for (o, b) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                        *o = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                    }
                }
                NpyDtype::F64 => {
                    for (o, b) in out.iter_mut().zip(bytes.chunks_exact(8)) {
                        let mut a = [0u8; 8];
                        a.copy_from_slice(b);
                        *o = f64::from_le_bytes(a) as f32;
                    }
                }
            }
            return;
        }
        for (col, o) in out.iter_mut().enumerate() {
            let index = if self.is_fortran_order {
                col * self.rows + row
            } else {
                row * self.cols + col
            };
            *o = self.element(&data[index * size..(index + 1) * size]);
        }
    }

    fn element(&self, b: &[u8]) -> f32 {
        let mut a = [0u8; 8];
        let n = b.len();
        a[..n].copy_from_slice(b);
        if self.is_big_endian {
            a[..n].reverse();
        }
        match self.dtype {
            NpyDtype::F16 => f16::from_le_bytes([a[0], a[1]]).to_f32(),
            NpyDtype::F32 => f32::from_le_bytes([a[0], a[1], a[2], a[3]]),
            NpyDtype::F64 => f64::from_le_bytes(a) as f32,
        }
    }
}

struct Header {
    dtype: NpyDtype,
    is_big_endian: bool,
    is_fortran_order: bool,
    shape: Vec<usize>,
    data_offset: usize,
}

fn parse_header(bytes: &[u8]) -> Result<Header, String> {
    const MAGIC: &[u8] = b"\x93NUMPY";
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err("is not a .npy file (no \\x93NUMPY magic)".into());
    }
    let major = bytes[6];
    let (header_len, start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err("is truncated inside its header".into());
            }
            (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            )
        }
        v => return Err(format!("has unsupported .npy format version {v}")),
    };
    let end = start + header_len;
    if bytes.len() < end {
        return Err("is truncated inside its header".into());
    }
    let text = std::str::from_utf8(&bytes[start..end])
        .map_err(|_| "has a header that is not text".to_string())?;
    let descr = dict_value(text, "descr").ok_or("has no 'descr' in its header")?;
    let descr = descr.trim_start();
    let quote = descr.chars().next().ok_or("has an empty 'descr'")?;
    let descr = descr[1..]
        .split(quote)
        .next()
        .ok_or("has a malformed 'descr'")?;
    let (is_big_endian, code) = match descr.as_bytes().first() {
        Some(b'>') => (true, &descr[1..]),
        Some(b'<' | b'=' | b'|') => (false, &descr[1..]),
        _ => (false, descr),
    };
    let dtype = match code {
        "f2" | "e" => NpyDtype::F16,
        "f4" | "f" => NpyDtype::F32,
        "f8" | "d" => NpyDtype::F64,
        c if c.starts_with('c') => {
            return Err(format!(
                "holds complex numbers ({descr}); embeddings must be real float16/32/64"
            ));
        }
        other => {
            return Err(format!(
                "holds '{other}' values; embeddings must be float16, float32 or float64 (convert with arr.astype('float32'))"
            ));
        }
    };
    let fortran =
        dict_value(text, "fortran_order").ok_or("has no 'fortran_order' in its header")?;
    let is_fortran_order = fortran.trim().starts_with("True");
    let shape_text = dict_value(text, "shape").ok_or("has no 'shape' in its header")?;
    let inner = shape_text
        .trim()
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .ok_or("has a malformed 'shape'")?;
    let mut shape = Vec::new();
    for part in inner.split(',') {
        let p = part.trim();
        if p.is_empty() {
            continue;
        }
        shape.push(
            p.trim_end_matches('L')
                .parse::<usize>()
                .map_err(|_| format!("has a malformed shape entry '{p}'"))?,
        );
    }
    Ok(Header {
        dtype,
        is_big_endian,
        is_fortran_order,
        shape,
        data_offset: end,
    })
}

/// The text after `'key':` in a Python dict literal, up to the end of the dict.
fn dict_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    for quote in ['\'', '"'] {
        let pat = format!("{quote}{key}{quote}");
        if let Some(i) = text.find(&pat) {
            let rest = &text[i + pat.len()..];
            let colon = rest.find(':')?;
            return Some(&rest[colon + 1..]);
        }
    }
    None
}

/// Writes a little-endian C-order float32 or float16 `.npy` (used by tests, the demo and
/// the cache; the cache goes through [`crate::cache::atomic_write`]).
pub fn encode_npy_f32(rows: usize, cols: usize, data: &[f32]) -> Vec<u8> {
    encode(rows, cols, "<f4", data.len() * 4, |out| {
        for v in data {
            out.extend_from_slice(&v.to_le_bytes());
        }
    })
}

/// As [`encode_npy_f32`], stored as float16 (what clip-retrieval writes).
pub fn encode_npy_f16(rows: usize, cols: usize, data: &[f32]) -> Vec<u8> {
    encode(rows, cols, "<f2", data.len() * 2, |out| {
        for v in data {
            out.extend_from_slice(&f16::from_f32(*v).to_le_bytes());
        }
    })
}

fn encode(
    rows: usize,
    cols: usize,
    descr: &str,
    payload: usize,
    write: impl FnOnce(&mut Vec<u8>),
) -> Vec<u8> {
    let mut dict =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    // Pad so that the data start on a 64-byte boundary, as numpy does.
    while (10 + dict.len() + 1) % 64 != 0 {
        dict.push(' ');
    }
    dict.push('\n');
    let mut out = Vec::with_capacity(10 + dict.len() + payload);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    write(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    #[test]
    fn reads_f16_and_f32_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<f32> = (0..12).map(|i| i as f32 * 0.5).collect();
        for (name, bytes) in [
            ("a.npy", encode_npy_f32(3, 4, &data)),
            ("b.npy", encode_npy_f16(3, 4, &data)),
        ] {
            let a = NpyArray::open(&write(dir.path(), name, &bytes)).unwrap();
            assert_eq!((a.rows(), a.cols()), (3, 4));
            let mut row = vec![0.0; 4];
            a.read_row(2, &mut row);
            assert_eq!(row, vec![4.0, 4.5, 5.0, 5.5]);
        }
    }

    #[test]
    fn reads_big_endian_fortran_order() {
        let dir = tempfile::tempdir().unwrap();
        // 2×3 matrix [[1,2,3],[4,5,6]] stored column-major, big-endian float64.
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        let dict = "{'descr': '>f8', 'fortran_order': True, 'shape': (2, 3), }\n";
        bytes.extend_from_slice(&(dict.len() as u16).to_le_bytes());
        bytes.extend_from_slice(dict.as_bytes());
        for v in [1.0f64, 4.0, 2.0, 5.0, 3.0, 6.0] {
            bytes.extend_from_slice(&v.to_be_bytes());
        }
        let a = NpyArray::open(&write(dir.path(), "f.npy", &bytes)).unwrap();
        let mut row = vec![0.0; 3];
        a.read_row(1, &mut row);
        assert_eq!(row, vec![4.0, 5.0, 6.0]);
    }

    #[test]
    fn refuses_bad_files_with_reasons() {
        let dir = tempfile::tempdir().unwrap();
        let full = encode_npy_f32(4, 4, &[0.0; 16]);
        let truncated = write(dir.path(), "t.npy", &full[..full.len() - 7]);
        let err = NpyArray::open(&truncated).unwrap_err().to_string();
        assert!(err.contains("truncated") && err.contains("t.npy"), "{err}");

        let mut c = full.clone();
        let pos = full.windows(3).position(|w| w == b"<f4").unwrap();
        c[pos..pos + 3].copy_from_slice(b"<c8");
        let err = NpyArray::open(&write(dir.path(), "c.npy", &c))
            .unwrap_err()
            .to_string();
        assert!(err.contains("complex"), "{err}");

        let err = NpyArray::open(&write(dir.path(), "g.npy", b"garbage"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a .npy"), "{err}");
    }
}
