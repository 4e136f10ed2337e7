//! Metadata tables as spreadsheets and scripts write them: CSV with `,` `;` tab or `|`
//! between fields (Excel and LibreOffice write `;` where the decimal mark is a comma),
//! `.tsv`, JSON Lines, with or without a byte-order mark, in UTF-8 or Windows-1252.
//!
//! - The delimiter is the candidate found most often outside quotes in the header line
//!   (`,` on a tie or when none is there: a one-column file); `.tsv` is always tab. The
//!   header decides because it holds at least the `filename` column and its neighbours'
//!   names, which seldom contain a delimiter; sniffing the body (csv's own heuristics,
//!   Python's `csv.Sniffer`) is fooled by free-text columns full of commas.
//! - Bytes that are not UTF-8 are read as Windows-1252 (what Excel on Windows saves as
//!   "CSV"), with a notice naming the file. Latin-1 is its subset except for 0x80–0x9F,
//!   where Windows-1252 has € “ ” – and the like; no other 8-bit code page is guessed
//!   (a wrong guess would be silent). A hand-written table of those 32 code points rather
//!   than encoding_rs, a large crate for one mapping.
//! - JSON Lines (`.jsonl`, `.ndjson`): one object a line, nested objects flattened as `a.b`,
//!   lists joined with `|` (the list separator of PixPlot's `tags`), numbers and booleans
//!   as written; a line that is not an object is skipped and counted.

use std::path::Path;

use super::DatasetError;
use super::table::Table;

fn table_error(path: &Path, why: impl std::fmt::Display) -> DatasetError {
    DatasetError::BadTable {
        path: path.to_path_buf(),
        why: why.to_string(),
    }
}

/// Reads a delimited or JSON Lines table (chosen by extension; delimited otherwise),
/// pushing one-line notes (encoding guessed, lines skipped) to `notices`.
pub fn read_text_table(path: &Path, notices: &mut Vec<String>) -> Result<Table, DatasetError> {
    let bytes = std::fs::read(path).map_err(|e| table_error(path, e))?;
    let text = decode(&bytes, path, notices);
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    match extension.as_deref() {
        Some("jsonl" | "ndjson") => Ok(read_json_lines(&text, path, notices)),
        Some("tsv" | "tab") => read_delimited(&text, b'\t', path),
        _ => read_delimited(&text, sniff_delimiter(&text), path),
    }
}

/// The text of `bytes` without a byte-order mark: UTF-8, else Windows-1252 (noted).
fn decode(bytes: &[u8], path: &Path, notices: &mut Vec<String>) -> String {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(_) => {
            notices.push(format!(
                "{} is not UTF-8: read as Windows-1252 (save it as UTF-8 to be sure of its \
                 accents)",
                path.display()
            ));
            bytes.iter().map(|&b| windows_1252(b)).collect()
        }
    }
}

/// Windows-1252's characters for 0x80–0x9F (the five it leaves undefined kept as the
/// C1 controls, as browsers do); every other byte is the Latin-1 code point.
const CP1252_HIGH: [char; 32] = [
    '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž', '\u{8f}',
    '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}', 'ž', 'Ÿ',
];

fn windows_1252(b: u8) -> char {
    match b {
        0x80..=0x9f => CP1252_HIGH[usize::from(b - 0x80)],
        _ => char::from(b),
    }
}

/// The header line's most frequent delimiter outside quotes (`,` `;` tab `|`); `,` when
/// none beats it.
fn sniff_delimiter(text: &str) -> u8 {
    let candidates = [b',', b';', b'\t', b'|'];
    let mut counts = [0usize; 4];
    let mut quoted = false;
    for &b in text.as_bytes() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            _ if !quoted => {
                if let Some(k) = candidates.iter().position(|c| *c == b) {
                    counts[k] += 1;
                }
            }
            _ => {}
        }
    }
    let best = (0..4).max_by_key(|&k| (counts[k], std::cmp::Reverse(k)));
    best.filter(|&k| counts[k] > 0)
        .map_or(b',', |k| candidates[k])
}

/// A delimited table with a header row. Short rows are padded, long rows truncated.
fn read_delimited(text: &str, delimiter: u8, path: &Path) -> Result<Table, DatasetError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let columns: Vec<String> = reader
        .headers()
        .map_err(|e| table_error(path, e))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let mut cells = vec![Vec::new(); columns.len()];
    for record in reader.records() {
        let record = record.map_err(|e| table_error(path, e))?;
        for (c, column) in cells.iter_mut().enumerate() {
            column.push(record.get(c).unwrap_or("").trim().to_string());
        }
    }
    Ok(Table { columns, cells })
}

/// One JSON object a line (blank lines ignored), columns in order of first appearance.
fn read_json_lines(text: &str, path: &Path, notices: &mut Vec<String>) -> Table {
    let mut table = Table::default();
    let mut skipped = Vec::new();
    let mut rows = 0usize;
    for (k, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let Ok(serde_json::Value::Object(object)) = serde_json::from_str(line) else {
            skipped.push(k + 1);
            continue;
        };
        let mut flat = Vec::new();
        flatten("", &serde_json::Value::Object(object), &mut flat);
        for (name, value) in flat {
            let c = match table.columns.iter().position(|c| *c == name) {
                Some(c) => c,
                None => {
                    table.columns.push(name);
                    table.cells.push(vec![String::new(); rows]);
                    table.columns.len() - 1
                }
            };
            if table.cells[c].len() == rows {
                table.cells[c].push(value);
            }
        }
        rows += 1;
        for column in &mut table.cells {
            column.resize(rows, String::new());
        }
    }
    if !skipped.is_empty() {
        let first: Vec<String> = skipped.iter().take(5).map(usize::to_string).collect();
        notices.push(format!(
            "{}: {} line(s) are not JSON objects and were skipped (line {}{})",
            path.display(),
            skipped.len(),
            first.join(", "),
            if skipped.len() > 5 { ", …" } else { "" }
        ));
    }
    table
}

/// `value`'s leaves as (`prefix.key`, text).
pub(crate) fn flatten(prefix: &str, value: &serde_json::Value, out: &mut Vec<(String, String)>) {
    use serde_json::Value;
    let text = match value {
        Value::Object(object) => {
            for (key, v) in object {
                let name = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&name, v, out);
            }
            return;
        }
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join("|"),
        other => other.to_string(),
    };
    out.push((prefix.to_string(), text));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(name: &str, bytes: &[u8]) -> (Table, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let mut notices = Vec::new();
        let table = read_text_table(&path, &mut notices).unwrap();
        (table, notices)
    }

    #[test]
    fn semicolons_tabs_and_pipes_are_found_from_the_header() {
        let (t, notes) = read(
            "m.csv",
            b"filename;category;description\nowl.jpg;birds;\"big, brown\"\n",
        );
        assert_eq!(t.columns, ["filename", "category", "description"]);
        assert_eq!(t.column("description").unwrap(), ["big, brown"]);
        assert!(notes.is_empty());
        let (t, _) = read("m.txt", b"filename\tyear\r\nowl.jpg\t1971\r\n");
        assert_eq!(t.column("year").unwrap(), ["1971"]);
        let (t, _) = read("m.csv", b"filename|tags\nowl.jpg|a\n");
        assert_eq!(t.column("tags").unwrap(), ["a"]);
        // A quoted header field holding other delimiters does not mislead.
        let (t, _) = read("m.csv", b"filename,\"notes; more | less\"\nowl.jpg,x\n");
        assert_eq!(t.columns, ["filename", "notes; more | less"]);
        // .tsv is tab, whatever the header holds; one column is fine.
        let (t, _) = read("m.tsv", b"filename\towner, first\nowl.jpg\tAnn\n");
        assert_eq!(t.column("owner, first").unwrap(), ["Ann"]);
        let (t, _) = read("m.csv", b"filename\nowl.jpg\n");
        assert_eq!(t.column("filename").unwrap(), ["owl.jpg"]);
    }

    #[test]
    fn a_byte_order_mark_and_windows_1252_are_read() {
        let (t, notes) = read(
            "m.csv",
            b"\xef\xbb\xbffilename,caption\ncaf\xc3\xa9.jpg,x\n",
        );
        assert_eq!(t.columns[0], "filename");
        assert_eq!(t.column("filename").unwrap(), ["café.jpg"]);
        assert!(notes.is_empty());
        // Excel's "CSV" on Windows: é is 0xE9, the euro sign 0x80, curly quotes 0x93/0x94.
        let (t, notes) = read(
            "m.csv",
            b"filename;price\ncaf\xe9.jpg;\x80 5 \x93cheap\x94\n",
        );
        assert_eq!(t.column("filename").unwrap(), ["café.jpg"]);
        assert_eq!(t.column("price").unwrap(), ["€ 5 “cheap”"]);
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("Windows-1252"), "{notes:?}");
    }

    #[test]
    fn json_lines_are_flattened_and_bad_lines_counted() {
        let text = br#"{"filename": "owl.jpg", "tags": ["night", "bird"], "exif": {"iso": 800}}

{"filename": "cat.jpg", "year": 1971, "ok": true, "gone": null}
not json
[1, 2]
"#;
        let (t, notes) = read("m.jsonl", text);
        assert_eq!(t.rows(), 2);
        assert_eq!(t.column("filename").unwrap(), ["owl.jpg", "cat.jpg"]);
        assert_eq!(t.column("tags").unwrap(), ["night|bird", ""]);
        assert_eq!(t.column("exif.iso").unwrap(), ["800", ""]);
        assert_eq!(t.column("year").unwrap(), ["", "1971"]);
        assert_eq!(t.column("ok").unwrap(), ["", "true"]);
        assert_eq!(t.column("gone").unwrap(), ["", ""]);
        assert_eq!(notes.len(), 1);
        assert!(
            notes[0].contains("2 line(s)") && notes[0].contains("line 4, 5"),
            "{notes:?}"
        );
    }
}
