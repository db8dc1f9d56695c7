//! Diagnostics that fit where they go: colour only on a terminal without
//! `NO_COLOR`; under systemd (`JOURNAL_STREAM`) each line carries its
//! sd-daemon priority so `journalctl -p warning` works; JSON lines for log
//! shippers. Every event of the state's event log is also a log line.

use clap::ValueEnum;
use std::io::IsTerminal;
use std::sync::OnceLock;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::{Format, Full, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Lines for a person (or, under systemd, for the journal).
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Sets up diagnostics on stderr. Without `-v` a terminal gets none (results
/// say enough); a service or a log shipper gets the information level, which
/// carries every event.
pub fn init(verbosity: u8, format: LogFormat) {
    let journal = under_systemd();
    let level = match verbosity {
        0 if journal || format == LogFormat::Json => "entra_connect=info",
        0 => "off",
        1 => "entra_connect=info",
        _ => "entra_connect=debug",
    };
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::new(level));
    match (format, journal) {
        (LogFormat::Json, _) => builder.json().init(),
        (LogFormat::Text, true) => builder.event_format(Journal::default()).init(),
        (LogFormat::Text, false) => builder.with_ansi(colour()).init(),
    }
}

/// Whether stderr goes to the journal: systemd sets `JOURNAL_STREAM` for a
/// service whose output it collects.
fn under_systemd() -> bool {
    static JOURNAL: OnceLock<bool> = OnceLock::new();
    *JOURNAL.get_or_init(|| std::env::var_os("JOURNAL_STREAM").is_some())
}

/// The sd-daemon priority (sd-daemon(3)) of a line at `level`: the one place
/// that maps levels to the journal's priorities.
fn priority(level: Level) -> u8 {
    match level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        _ => 7,
    }
}

/// A plain stderr message (progress, a refusal, the final error) as it
/// should go out: under systemd each of its lines starts with its priority,
/// so journald files a failure as an error; elsewhere unchanged.
pub fn plain(level: Level, message: &str) -> String {
    prefixed(under_systemd(), level, message)
}

/// The line that reports the error a command ended with.
pub fn error_line(error: &anyhow::Error) -> String {
    let message = format!("error: {error:#}");
    let remedies = super::words::remedies_of(error);
    let mut said = super::words::with_remedies(&message, &remedies);
    // The ids Microsoft support asks for, on a line of their own.
    if let Some(ids) = super::words::support_ids_of(error) {
        said.push_str(&format!("\n  For Microsoft support: {ids}"));
    }
    plain(Level::ERROR, &said)
}

fn prefixed(journal: bool, level: Level, message: &str) -> String {
    if !journal {
        return message.to_string();
    }
    let priority = priority(level);
    message
        .split('\n')
        .map(|line| format!("<{priority}>{line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Colour only for a person at a terminal who has not asked for none.
fn colour() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    std::io::stderr().is_terminal() && !no_color
}

/// The journal's line format: `<priority>` then the plain line (journald
/// adds the time itself).
struct Journal {
    plain: Format<Full, ()>,
}

impl Default for Journal {
    fn default() -> Self {
        Journal {
            plain: Format::default().without_time().with_ansi(false),
        }
    }
}

impl<S, N> FormatEvent<S, N> for Journal
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        context: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        write!(writer, "<{}>", priority(*event.metadata().level()))?;
        self.plain.format_event(context, writer, event)
    }
}

/// Whether `error` is the reader of our output going away (`| head`): it
/// had what it wanted, so the command ends quietly, as git and ripgrep do.
pub fn reader_went_away(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_carry_their_priority_only_under_systemd() {
        assert_eq!(prefixed(false, Level::ERROR, "error: x"), "error: x");
        assert_eq!(
            prefixed(true, Level::ERROR, "error: x\n  because y"),
            "<3>error: x\n<3>  because y"
        );
        assert_eq!(
            prefixed(true, Level::WARN, "[ .. ] retrying"),
            "<4>[ .. ] retrying"
        );
        assert_eq!(prefixed(true, Level::INFO, "[ ok ] done"), "<6>[ ok ] done");
    }
}
