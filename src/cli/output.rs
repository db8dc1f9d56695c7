//! How results reach stdout: JSON with --json, otherwise a list of fields (like
//! PowerShell's Format-List) or a table.

use crate::wrap::{self, Overlong};
use comfy_table::{ColumnConstraint, ContentArrangement, LineStyle, Table, Width, presets};
use serde::Serialize;
use std::io::{IsTerminal, Write};

pub struct Output {
    pub json: bool,
}

impl Output {
    /// Prints `value` as JSON, or as the human text `human` makes of it.
    pub fn show<T: Serialize>(
        &self,
        value: &T,
        human: impl FnOnce(&T) -> String,
    ) -> anyhow::Result<()> {
        let text = if self.json {
            serde_json::to_string_pretty(value)?
        } else {
            human(value)
        };
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{}", text.trim_end())?;
        Ok(())
    }
}

/// `Name : value` lines with the colons aligned.
pub fn fields(rows: &[(&str, String)]) -> String {
    let width = rows.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    rows.iter()
        .map(|(name, value)| format!("{name:<width$} : {value}\n"))
        .collect()
}

/// The width tables wrap to when stdout is not a terminal.
const NOT_A_TERMINAL_WIDTH: u16 = 100;

/// The narrowest a column of prose is wrapped to.
const MIN_PROSE_WIDTH: usize = 24;
/// The space around each column's text.
const COLUMN_PADDING: usize = 3;

/// Rows under `headers`, fitted to the terminal's width (or, off a terminal,
/// 100 columns): prose wraps, identifiers (ids, hashes, times: no spaces) stay
/// whole so they can be copied. When the identifiers cannot stand side by
/// side in that width, each row becomes a block of `Header : value` lines.
pub fn table(headers: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let rows: Vec<Vec<String>> = rows.into_iter().collect();
    // The terminal's width, or off a terminal one that reads well in a log
    // or a mail.
    let width = match std::io::stdout().is_terminal() {
        true => Table::new().width().unwrap_or(NOT_A_TERMINAL_WIDTH),
        false => NOT_A_TERMINAL_WIDTH,
    };
    fit(headers, rows, usize::from(width))
}

/// `table` for a given width.
fn fit(headers: &[&str], rows: Vec<Vec<String>>, width: usize) -> String {
    let longest = |index: usize| {
        rows.iter()
            .filter_map(|row| row.get(index))
            .chain(headers.get(index).map(|h| h.to_string()).as_ref())
            .map(|cell| cell.chars().count())
            .max()
            .unwrap_or(0)
    };
    let prose = |index: usize| {
        rows.iter()
            .any(|row| row.get(index).is_some_and(|cell| cell.contains(' ')))
    };
    // The longest word of a column: a hash in a message must not be cut.
    let longest_word = |index: usize| {
        rows.iter()
            .filter_map(|row| row.get(index))
            .flat_map(|cell| cell.split_whitespace())
            .map(|word| word.chars().count())
            .max()
            .unwrap_or(0)
    };
    // Identifiers keep their width; prose wraps, but never below a readable
    // width (or its own, if shorter) nor through a word.
    let needed: usize = (0..headers.len())
        .map(|index| match prose(index) {
            false => longest(index),
            true => longest(index).min(MIN_PROSE_WIDTH).max(longest_word(index)),
        })
        .map(|column| column + COLUMN_PADDING)
        .sum();
    if needed > width {
        return records(headers, &rows, width);
    }
    let mut table = Table::new();
    table
        .load_style(presets::NOTHING.header_separator(LineStyle::none().fill('-').junction(' ')))
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(headers.to_vec())
        .set_width(u16::try_from(width).unwrap_or(u16::MAX));
    for (index, column) in table.column_iter_mut().enumerate() {
        match prose(index) {
            false => column.set_constraint(ColumnConstraint::ContentWidth),
            true => column.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(
                u16::try_from(longest_word(index)).unwrap_or(u16::MAX),
            ))),
        };
    }
    for row in rows {
        table.add_row(row);
    }
    table
        .lines()
        .map(|line| line.trim_end().to_string() + "\n")
        .collect()
}

/// Each row as a block of `Header : value` lines (like PowerShell's
/// Format-List), blocks apart by an empty line: prose wraps under its value,
/// an identifier stays whole on its line.
fn records(headers: &[&str], rows: &[Vec<String>], width: usize) -> String {
    let label = headers
        .iter()
        .map(|header| header.chars().count())
        .max()
        .unwrap_or(0);
    let indent = label + " : ".len();
    let room = width.saturating_sub(indent).max(MIN_PROSE_WIDTH);
    let blocks: Vec<String> = rows
        .iter()
        .map(|row| {
            let mut block = String::new();
            for (header, value) in headers.iter().zip(row) {
                let mut lines = wrap::lines(value, room, "", Overlong::Keep).into_iter();
                let first = lines.next().unwrap_or_default();
                block.push_str(&format!("{header:<label$} : {first}\n"));
                for line in lines {
                    block.push_str(&format!("{:indent$}{line}\n", ""));
                }
            }
            block
        })
        .collect();
    blocks.join("\n")
}

/// An optional value as the tables show it.
pub fn or_dash(value: Option<impl ToString>) -> String {
    value.map_or_else(|| "-".to_string(), |v| v.to_string())
}

pub fn yes_no(value: bool) -> String {
    if value { "True" } else { "False" }.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "BB61F1A5118389730FCC98292FB7300661163566E7BFF77F73793157144FF855";

    fn widest(text: &str) -> usize {
        text.lines()
            .map(|line| line.chars().count())
            .max()
            .unwrap_or(0)
    }

    fn certificates() -> Vec<Vec<String>> {
        (0..2)
            .map(|_| {
                [
                    HASH,
                    "CN=Entra Connect Sync Provisioning",
                    "2027-01-01T00:14:54Z",
                    "Software",
                    "Unusable: private key missing",
                ]
                .map(String::from)
                .to_vec()
            })
            .collect()
    }

    const HEADERS: [&str; 5] = [
        "SHA-256 hash",
        "Subject",
        "Not after (UTC)",
        "Store",
        "Status",
    ];

    #[test]
    fn identifiers_too_wide_to_stand_side_by_side_become_records() {
        let text = fit(&HEADERS, certificates(), 100);
        assert!(widest(&text) <= 100, "{text}");
        assert_eq!(
            text.matches(&format!("SHA-256 hash    : {HASH}\n")).count(),
            2,
            "{text}"
        );
        assert!(
            text.contains("Status          : Unusable: private key missing\n"),
            "{text}"
        );
        assert_eq!(
            text.matches("\n\n").count(),
            1,
            "one empty line between two records: {text}"
        );
    }

    #[test]
    fn a_wide_enough_width_keeps_the_table() {
        let text = fit(&HEADERS, certificates(), 160);
        assert!(text.starts_with(" SHA-256 hash "), "{text}");
        assert_eq!(
            text.lines().filter(|line| line.contains(HASH)).count(),
            2,
            "{text}"
        );
        assert!(widest(&text) <= 160, "{text}");
    }

    #[test]
    fn prose_in_a_record_wraps_under_its_value() {
        let rows = vec![vec!["1200".to_string(), "word ".repeat(40)]];
        let text = records(&["Id", "Message"], &rows, 40);
        assert!(widest(&text) <= 40, "{text}");
        let continued = text.lines().nth(2).unwrap_or_default();
        assert!(continued.starts_with("          word"), "{text}");
        // An identifier longer than the room stays whole.
        assert_eq!(
            wrap::lines(&format!("a {HASH} b"), 20, "", Overlong::Keep),
            ["a", HASH, "b"]
        );
    }

    #[test]
    fn a_hash_in_prose_is_never_cut() {
        let message = format!("Created certificate {HASH} (CN=Entra Connect Sync) in the store.");
        let rows = vec![vec![
            "2026-12-01T08:00:00Z".to_string(),
            "Information".to_string(),
            "1100".to_string(),
            message,
        ]];
        let text = fit(&["Time (UTC)", "Level", "Id", "Message"], rows.clone(), 100);
        assert!(widest(&text) <= 100, "{text}");
        assert!(text.lines().any(|line| line.contains(HASH)), "{text}");
        // With room for the hash beside the rest (just), a table.
        let text = fit(&["Time (UTC)", "Level", "Id", "Message"], rows, 111);
        assert!(text.starts_with(" Time (UTC) "), "{text}");
        assert!(text.lines().any(|line| line.contains(HASH)), "{text}");
    }
}
