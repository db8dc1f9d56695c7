//! `events`: the local event log.

use super::output::{Output, table};
use crate::domain::{format_time, parse_time};
use crate::engine::LocalServer;
use clap::Args;
use time::OffsetDateTime;

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Only events at or after this time (RFC 3339, e.g. 2026-11-24T08:00:00Z).
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    since: Option<OffsetDateTime>,
    /// Only events with this id (e.g. 1014).
    #[arg(long, value_name = "N")]
    id: Option<u32>,
}

pub fn run(args: EventsArgs, server: &LocalServer, out: &Output) -> anyhow::Result<()> {
    let events = server.events(args.since, args.id)?;
    out.show(&events, |events| {
        if events.is_empty() {
            return "No events.".to_string();
        }
        table(
            &["Time (UTC)", "Level", "Id", "Message"],
            events.iter().map(|e| {
                vec![
                    format_time(e.time),
                    e.level.as_str().to_string(),
                    e.id.to_string(),
                    e.message.clone(),
                ]
            }),
        )
    })
}
