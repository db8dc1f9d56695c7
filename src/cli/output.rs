//! How results reach stdout: JSON with --json, otherwise a list of fields (like
//! PowerShell's Format-List) or a table.

use comfy_table::{ContentArrangement, LineStyle, Table, presets};
use serde::Serialize;
use std::io::Write;

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

pub fn table(headers: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut table = Table::new();
    table
        .load_style(presets::NOTHING.header_separator(LineStyle::none().fill('-').junction(' ')))
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(headers.to_vec());
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
