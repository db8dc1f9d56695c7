//! How results reach stdout: JSON with --json, otherwise a list of fields (like
//! PowerShell's Format-List) or a table.

use comfy_table::{ColumnConstraint, ContentArrangement, LineStyle, Table, presets};
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

pub fn table(headers: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut table = Table::new();
    table
        .load_style(presets::NOTHING.header_separator(LineStyle::none().fill('-').junction(' ')))
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(headers.to_vec());
    let rows: Vec<Vec<String>> = rows.into_iter().collect();
    let longest = |index: usize| {
        rows.iter()
            .filter_map(|row| row.get(index))
            .chain(headers.get(index).map(|h| h.to_string()).as_ref())
            .map(|cell| cell.chars().count())
            .max()
            .unwrap_or(0)
    };
    // Identifiers (ids, hashes, times: no spaces) stay whole; prose wraps,
    // but never below a readable width (or its own, if shorter).
    let mut needed = 0;
    for (index, column) in table.column_iter_mut().enumerate() {
        let prose = rows
            .iter()
            .any(|row| row.get(index).is_some_and(|cell| cell.contains(' ')));
        let width = match prose {
            false => longest(index),
            true => longest(index).min(MIN_PROSE_WIDTH),
        };
        needed += width + COLUMN_PADDING;
        if !prose {
            column.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
    // The terminal's width, or off a terminal one that reads well in a log
    // or a mail; wider only when the identifiers alone need it.
    let target = match std::io::stdout().is_terminal() {
        true => table.width().unwrap_or(NOT_A_TERMINAL_WIDTH),
        false => NOT_A_TERMINAL_WIDTH,
    };
    table.set_width(target.max(u16::try_from(needed).unwrap_or(u16::MAX)));
    for row in rows {
        table.add_row(row);
    }
    table
        .lines()
        .map(|line| line.trim_end().to_string() + "\n")
        .collect()
}

/// An optional value as the tables show it.
pub fn or_dash(value: Option<impl ToString>) -> String {
    value.map_or_else(|| "-".to_string(), |v| v.to_string())
}

pub fn yes_no(value: bool) -> String {
    if value { "True" } else { "False" }.to_string()
}
