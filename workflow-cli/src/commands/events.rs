//! `wf events [--run ID] [--follow] [--after CURSOR]`: outbox events, one run's by sequence (exact and
//! immediate) or every run's by event id (handed out once settled, 2 s behind; see
//! `Queries::feed`). Following wakes on PostgreSQL's event notifications and polls otherwise.

use super::CliError;
use crate::cli::EventsArgs;
use crate::context::Context;
use crate::output;
use std::time::Duration;
use workflow_core::ports::{OutboxRecord, Registry};
use workflow_prisma_compat::{EventWakeups, Migrations};

/// How long `wf events --follow` and `wf runs show --follow` wait between looks without a notification.
pub(crate) const FOLLOW_POLL: Duration = Duration::from_millis(250);

/// How long a follower waits for a wake-up before it looks anyway: a second when the database notifies
/// (the wake-up usually comes first), `poll` when it cannot (SQLite).
pub(crate) fn follow_delay(wakeups: &EventWakeups, poll: Duration) -> Duration {
    if wakeups.is_notified() {
        Duration::from_secs(1)
    } else {
        poll
    }
}

const PAGE: usize = 500;

pub(super) async fn run(
    url: Option<String>,
    registry: Registry,
    args: EventsArgs,
    json: bool,
) -> Result<(), CliError> {
    let context = Context::open(url, registry, Migrations::Require).await?;
    let queries = context.queries();
    let mut wakeups = EventWakeups::connect(&context.url).await?;
    let delay = follow_delay(&wakeups, FOLLOW_POLL);
    let stop = tokio::signal::ctrl_c();
    tokio::pin!(stop);
    match &args.run {
        Some(run_id) => {
            if queries.run_record(run_id).await?.is_none() {
                return Err(CliError::NoSuchRun(run_id.clone()));
            }
            let mut cursor = match &args.after {
                Some(after) => after.parse::<i32>().map_err(|_| {
                    CliError::Usage(format!(
                        "--after {after:?}: with --run, give a sequence number"
                    ))
                })?,
                None => 0,
            };
            loop {
                let page = queries.events(run_id, cursor, PAGE).await?;
                for event in &page {
                    print_event(event, json)?;
                    cursor = event.sequence;
                }
                if page.len() == PAGE {
                    continue;
                }
                if !args.follow {
                    return Ok(());
                }
                let finished = queries
                    .run_record(run_id)
                    .await?
                    .is_some_and(|run| run.status.is_terminal());
                if finished && queries.events(run_id, cursor, 1).await?.is_empty() {
                    return Ok(());
                }
                tokio::select! {
                    _ = &mut stop => return Ok(()),
                    _ = tokio::time::timeout(delay, wakeups.next()) => {}
                }
            }
        }
        None => {
            let mut cursor = args.after.clone();
            loop {
                let page = queries.feed(cursor.as_deref(), PAGE).await?;
                for event in &page.events {
                    print_event(event, json)?;
                }
                cursor = page.cursor;
                if page.events.len() == PAGE {
                    continue;
                }
                if !args.follow {
                    return Ok(());
                }
                tokio::select! {
                    _ = &mut stop => return Ok(()),
                    _ = tokio::time::timeout(delay, wakeups.next()) => {}
                }
            }
        }
    }
}

fn print_event(event: &OutboxRecord, json: bool) -> std::io::Result<()> {
    if json {
        return output::json_line(event);
    }
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{}  {}  #{:<3}  {}  {}",
        output::time(Some(event.occurred_at)),
        event.workflow_run_id,
        event.sequence,
        event.event_type,
        summary(event)
    )?;
    out.flush()
}

/// The stage and error of an event, when it has them.
fn summary(event: &OutboxRecord) -> String {
    let field = |name: &str| {
        event
            .payload
            .get(name)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    [field("stageId"), field("error")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("  ")
}
