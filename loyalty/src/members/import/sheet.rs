//! Reading the file an old system exported: CSV (UTF-8, or GB18030 as
//! Excel on a Chinese Windows saves it; commas, semicolons or tabs) or an
//! XLSX spreadsheet (through `calamine`, cell by cell), into rows of text
//! with the line numbers the owner sees in their spreadsheet.
//!
//! An upload is hostile until read: a spreadsheet is refused when its
//! parts would unpack to more than [`MAX_UNPACKED`], and only the first
//! [`MAX_COLUMNS`] columns of at most [`MAX_ROWS`] rows are kept, so a small
//! file that claims a huge sheet costs nothing.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};

use crate::{Error, Result};

/// The most rows one file may hold.
pub const MAX_ROWS: usize = 500_000;
/// The columns read; an export has a dozen.
pub const MAX_COLUMNS: usize = 64;
/// The most a spreadsheet's parts may unpack to.
pub const MAX_UNPACKED: u64 = 256 * 1024 * 1024;

/// A file's header and its rows, each with its line in the file (the
/// header is line 1). Rows with nothing in them are left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sheet {
    pub header: Vec<String>,
    pub rows: Vec<(usize, Vec<String>)>,
}

/// Reads `bytes`: an XLSX spreadsheet when they are one (a ZIP), else
/// text. Old binary spreadsheets (XLS) are refused: Excel saves them again
/// as XLSX or CSV.
pub fn read(bytes: &[u8]) -> Result<Sheet> {
    const ZIP: &[u8] = b"PK\x03\x04";
    const OLE: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0];
    if bytes.starts_with(ZIP) {
        spreadsheet(bytes)
    } else if bytes.starts_with(OLE) {
        Err(Error::ImportUnreadable)
    } else {
        text(bytes)
    }
}

fn spreadsheet(bytes: &[u8]) -> Result<Sheet> {
    // What the parts say they unpack to, before anything is unpacked.
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| Error::ImportUnreadable)?;
    let mut unpacked: u64 = 0;
    for i in 0..zip.len() {
        let part = zip.by_index_raw(i).map_err(|_| Error::ImportUnreadable)?;
        unpacked = unpacked.saturating_add(part.size());
    }
    if unpacked > MAX_UNPACKED {
        return Err(Error::ImportTooBig);
    }
    let mut book: Xlsx<_> =
        calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(|_| Error::ImportUnreadable)?;
    let first = book
        .sheet_names()
        .first()
        .cloned()
        .ok_or(Error::ImportEmpty)?;
    let mut cells = book
        .worksheet_cells_reader(&first)
        .map_err(|_| Error::ImportUnreadable)?;
    // Cells come row by row, left to right; rows with nothing are skipped.
    let mut lines: Vec<(usize, Vec<String>)> = Vec::new();
    while let Some(cell) = cells.next_cell().map_err(|_| Error::ImportUnreadable)? {
        let (row, col) = cell.get_position();
        let (line, col) = (row as usize + 1, col as usize);
        if col >= MAX_COLUMNS {
            continue;
        }
        let text = cell_text(&Data::from(cell.get_value().clone()));
        if text.is_empty() {
            continue;
        }
        if lines.last().is_none_or(|(l, _)| *l != line) {
            // The header and MAX_ROWS rows; one more says the file is too long.
            if lines.len() > MAX_ROWS {
                return Err(Error::ImportTooManyRows { max: MAX_ROWS });
            }
            lines.push((line, Vec::new()));
        }
        let row = &mut lines.last_mut().expect("pushed above").1;
        if row.len() <= col {
            row.resize(col + 1, String::new());
        }
        row[col] = text;
    }
    collect(&mut lines.into_iter())
}

/// A cell as the text the owner sees: whole numbers without `.0` (phone
/// numbers are often stored as numbers), dates as `YYYY-MM-DD`.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty | Data::Error(_) => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.trim().to_owned(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => excel_date(d.as_f64()).unwrap_or_default(),
    }
}

/// An Excel serial date (days since 1899-12-30) as `YYYY-MM-DD`, with the
/// time of day when it has one.
fn excel_date(serial: f64) -> Option<String> {
    let epoch = jiff::civil::date(1899, 12, 30);
    let days = serial.floor();
    let date = epoch
        .checked_add(jiff::Span::new().days(days as i64))
        .ok()?;
    let seconds = ((serial - days) * 86_400.0).round() as i64;
    if seconds == 0 {
        return Some(date.to_string());
    }
    let time = jiff::civil::Time::midnight()
        .checked_add(jiff::Span::new().seconds(seconds.min(86_399)))
        .ok()?;
    Some(format!("{date} {}", time.strftime("%H:%M:%S")))
}

fn text(bytes: &[u8]) -> Result<Sheet> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let decoded = match std::str::from_utf8(bytes) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => {
            let (s, _, bad) = encoding_rs::GB18030.decode(bytes);
            if bad {
                return Err(Error::ImportUnreadable);
            }
            s
        }
    };
    if decoded.contains('\0') {
        return Err(Error::ImportUnreadable);
    }
    let first = decoded.lines().next().unwrap_or_default();
    let delimiter = [b',', b'\t', b';']
        .into_iter()
        .max_by_key(|d| first.bytes().filter(|b| b == d).count())
        .unwrap_or(b',');
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(decoded.as_bytes());
    let mut failed = false;
    let mut lines = reader.records().map_while(|r| match r {
        Ok(record) => {
            let line = record.position().map_or(0, |p| p.line() as usize);
            Some((line, record.iter().map(|f| f.trim().to_owned()).collect()))
        }
        Err(_) => {
            failed = true;
            None
        }
    });
    let sheet = collect(&mut lines);
    drop(lines);
    if failed {
        return Err(Error::ImportUnreadable);
    }
    sheet
}

/// The first non-empty line is the header; the rest are rows.
fn collect(lines: &mut dyn Iterator<Item = (usize, Vec<String>)>) -> Result<Sheet> {
    let mut lines = lines.filter(|(_, cells)| cells.iter().any(|c| !c.is_empty()));
    let (_, header) = lines.next().ok_or(Error::ImportEmpty)?;
    let mut rows = Vec::new();
    for row in lines {
        if rows.len() == MAX_ROWS {
            return Err(Error::ImportTooManyRows { max: MAX_ROWS });
        }
        rows.push(row);
    }
    Ok(Sheet { header, rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_a_bom_quotes_and_blank_lines() {
        let sheet =
            read(b"\xEF\xBB\xBFphone,name\n13800138000,\"Li, Lei\"\n\n,\n13900139000,Wang\n")
                .unwrap();
        assert_eq!(sheet.header, ["phone", "name"]);
        assert_eq!(
            sheet.rows,
            [
                (2, vec!["13800138000".to_owned(), "Li, Lei".to_owned()]),
                (5, vec!["13900139000".to_owned(), "Wang".to_owned()]),
            ]
        );
    }

    #[test]
    fn excel_csv_in_gb18030_with_tabs() {
        let (bytes, _, _) = encoding_rs::GB18030.encode("手机号\t姓名\n13800138000\t李雷\n");
        let sheet = read(&bytes).unwrap();
        assert_eq!(sheet.header, ["手机号", "姓名"]);
        assert_eq!(sheet.rows[0].1, ["13800138000", "李雷"]);
    }

    #[test]
    fn a_sheet_that_claims_to_be_huge_costs_nothing() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write_string(0, 0, "phone").unwrap();
        sheet.write_string(1, 0, "13800138000").unwrap();
        // The last cell a sheet may have, and a column past those read.
        sheet.write_string(1_048_575, 16_383, "far away").unwrap();
        sheet.write_string(1, 100, "ignored").unwrap();
        let read = read(&book.save_to_buffer().unwrap()).unwrap();
        assert_eq!(read.header, ["phone"]);
        assert_eq!(read.rows, [(2, vec!["13800138000".to_owned()])]);
    }

    #[test]
    fn nothing_or_noise_is_refused() {
        assert!(matches!(read(b""), Err(Error::ImportEmpty)));
        assert!(matches!(read(b"\n\n"), Err(Error::ImportEmpty)));
        assert!(matches!(
            read(b"PK\x03\x04garbage"),
            Err(Error::ImportUnreadable)
        ));
        assert!(matches!(read(b"a\0b"), Err(Error::ImportUnreadable)));
    }

    #[test]
    fn excel_dates_become_days() {
        assert_eq!(excel_date(45_658.0).as_deref(), Some("2025-01-01"));
        assert_eq!(excel_date(45_658.5).as_deref(), Some("2025-01-01 12:00:00"));
    }
}
