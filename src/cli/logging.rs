//! Diagnostics that fit where they go: colour only on a terminal without
//! `NO_COLOR`; under systemd (`JOURNAL_STREAM`) each line carries its
//! sd-daemon priority so `journalctl -p warning` works; JSON lines for log
//! shippers. Every event of the state's event log is also a log line.

use clap::ValueEnum;
use std::io::IsTerminal;
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
    let journal = std::env::var_os("JOURNAL_STREAM").is_some();
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
        let priority = match *event.metadata().level() {
            Level::ERROR => 3,
            Level::WARN => 4,
            Level::INFO => 6,
            _ => 7,
        };
        write!(writer, "<{priority}>")?;
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
