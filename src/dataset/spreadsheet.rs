//! Metadata from spreadsheets as archivists keep them: `.xlsx` (and `.xlsm`, `.xlsb`,
//! `.xls`, `.ods`), read with calamine. The first sheet; its first non-empty row is the
//! header. Every cell becomes text as the sheet shows it: numbers without a trailing `.0`
//! (a year typed as 1971 stays "1971"), dates as ISO `YYYY-MM-DD` (with the time when it
//! is not midnight; Excel stores them as day counts, which nobody wants to read), errors
//! such as `#N/A` as empty cells.

use std::path::Path;

use calamine::{Data, Reader as _, open_workbook_auto};

use super::{DatasetError, Table};

/// File extensions read as spreadsheets.
pub const EXTENSIONS: [&str; 5] = ["xlsx", "xlsm", "xlsb", "xls", "ods"];

/// Whether `path` is named like a spreadsheet.
pub fn is_spreadsheet(path: &Path) -> bool {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .is_some_and(|e| EXTENSIONS.contains(&e.as_str()))
}

fn bad(path: &Path, why: impl std::fmt::Display) -> DatasetError {
    DatasetError::BadTable {
        path: path.to_path_buf(),
        why: why.to_string(),
    }
}

/// Reads the first sheet of a workbook.
pub fn read_spreadsheet(path: &Path) -> Result<Table, DatasetError> {
    let mut book = open_workbook_auto(path).map_err(|e| bad(path, e))?;
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(|| bad(path, "has no sheet"))?
        .map_err(|e| bad(path, e))?;
    let mut rows = range
        .rows()
        .map(|row| row.iter().map(cell_text).collect::<Vec<_>>())
        .skip_while(|row| row.iter().all(String::is_empty));
    let Some(header) = rows.next() else {
        return Err(bad(path, "its first sheet is empty"));
    };
    let width = header
        .iter()
        .rposition(|h| !h.is_empty())
        .map_or(0, |w| w + 1);
    let mut table = Table {
        columns: header[..width]
            .iter()
            .map(|h| h.trim().to_string())
            .collect(),
        cells: vec![Vec::new(); width],
    };
    for row in rows.filter(|row| !row.iter().all(String::is_empty)) {
        for (c, column) in table.cells.iter_mut().enumerate() {
            column.push(row.get(c).cloned().unwrap_or_default());
        }
    }
    Ok(table)
}

/// A cell as the sheet shows it.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::DateTime(t) if t.is_datetime() => {
            let (y, mo, d, h, mi, s, _) = t.to_ymd_hms_milli();
            if (h, mi, s) == (0, 0, 0) {
                format!("{y:04}-{mo:02}-{d:02}")
            } else {
                format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
            }
        }
        Data::Error(_) | Data::Empty => String::new(),
        Data::String(s) => s.trim().to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_read_as_the_sheet_shows_them() {
        assert_eq!(cell_text(&Data::Float(1971.0)), "1971");
        assert_eq!(cell_text(&Data::Float(2.5)), "2.5");
        assert_eq!(cell_text(&Data::Int(7)), "7");
        assert_eq!(cell_text(&Data::String(" owl.jpg ".into())), "owl.jpg");
        assert_eq!(cell_text(&Data::Error(calamine::CellErrorType::NA)), "");
        // 1 January 1970 is day 25569 in Excel's 1900 system.
        let date =
            calamine::ExcelDateTime::new(25569.0, calamine::ExcelDateTimeType::DateTime, false);
        assert_eq!(cell_text(&Data::DateTime(date)), "1970-01-01");
        let noon =
            calamine::ExcelDateTime::new(25569.5, calamine::ExcelDateTimeType::DateTime, false);
        assert_eq!(cell_text(&Data::DateTime(noon)), "1970-01-01 12:00:00");
    }
}
