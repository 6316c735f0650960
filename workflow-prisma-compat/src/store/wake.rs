//! Waking workers of other processes on PostgreSQL: `NOTIFY` on the jobs and runs channels, coalesced;
//! and telling event readers (`wf serve`, see [`EventWakeups`](crate::EventWakeups)) that events were
//! appended, on the events channel, coalesced over a longer window ([`EVENTS_WINDOW`]), and only while a
//! reader is present: readers hold a shared advisory lock, which a store looks for at most every
//! [`READERS_RECHECK`], so a database nobody streams from pays nothing for it.
//!
//! Every notification costs a transaction in each listening backend (it reads the notification queue), so
//! one per committed stage would add a commit per stage per worker process. Instead each process sends at
//! most one notification per channel per [`WAKE_WINDOW`]: the first request of a quiet channel goes out at
//! once, requests during the window are folded into one sent when it ends. A worker of another process
//! then hears of new work within 20 ms, and the cost stays bounded however fast stages complete. Workers
//! of this process are woken in-process at once and ignore their own notifications (the payload names the
//! sending store).

use crate::sql::{EVENTS_CHANNEL, JOBS_CHANNEL, READER_LOCK_CLASS, RUNS_CHANNEL};
use sqlx::PgPool;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;
use workflow_core::ports::Signal;

/// The shortest interval between two notifications of one channel from one store.
pub(crate) const WAKE_WINDOW: Duration = Duration::from_millis(20);

/// The shortest interval between two notifications of the events channel from one store: event readers
/// hear of new events within 100 ms, and a busy worker sends at most ten such statements a second.
pub(crate) const EVENTS_WINDOW: Duration = Duration::from_millis(100);

/// How long a store trusts what it last saw of event readers (present or absent).
pub(crate) const READERS_RECHECK: Duration = Duration::from_secs(5);

/// Sends coalesced `NOTIFY`s for one store.
pub(crate) struct RemoteWake {
    pool: PgPool,
    /// The payload of this store's notifications, so that its own listener can skip them.
    pub(crate) instance: String,
    jobs: Mutex<ChannelState>,
    runs: Mutex<ChannelState>,
    events: Mutex<ChannelState>,
    /// When event readers were last looked for, and whether there were any.
    readers: Mutex<Option<(Instant, bool)>>,
}

#[derive(Default)]
struct ChannelState {
    last_sent: Option<Instant>,
    trailing: bool,
}

impl RemoteWake {
    pub(crate) fn new(pool: PgPool) -> Arc<Self> {
        Arc::new(RemoteWake {
            pool,
            instance: workflow_core::ids::uuid(),
            jobs: Mutex::default(),
            runs: Mutex::default(),
            events: Mutex::default(),
            readers: Mutex::default(),
        })
    }

    /// The state, channel and window of a signal other processes hear of (`Suspended` concerns only this
    /// process).
    fn channel(&self, signal: Signal) -> Option<(&Mutex<ChannelState>, &'static str, Duration)> {
        match signal {
            Signal::Jobs => Some((&self.jobs, JOBS_CHANNEL, WAKE_WINDOW)),
            Signal::Runs => Some((&self.runs, RUNS_CHANNEL, WAKE_WINDOW)),
            Signal::Events => Some((&self.events, EVENTS_CHANNEL, EVENTS_WINDOW)),
            Signal::Suspended => None,
        }
    }

    /// Tells other processes about `signal` (events only while a reader is present).
    pub(crate) fn request(self: &Arc<Self>, signal: Signal) {
        if signal != Signal::Events {
            return self.send_coalesced(signal);
        }
        let known = *self.readers.lock().unwrap_or_else(|p| p.into_inner());
        match known {
            Some((seen, present)) if seen.elapsed() < READERS_RECHECK => {
                if present {
                    self.send_coalesced(signal);
                }
            }
            _ => {
                let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                    return;
                };
                // Claim the recheck, so that a burst of events looks only once.
                *self.readers.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some((Instant::now(), known.is_some_and(|(_, present)| present)));
                let wake = self.clone();
                runtime.spawn(async move {
                    let present = wake.readers_present().await;
                    *wake.readers.lock().unwrap_or_else(|p| p.into_inner()) =
                        Some((Instant::now(), present));
                    if present {
                        wake.send_coalesced(signal);
                    }
                });
            }
        }
    }

    /// Whether any session holds the event readers' lock.
    async fn readers_present(&self) -> bool {
        let query = sqlx::query_scalar::<_, bool>(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = CAST($1::bigint AS oid) \
             AND objid = 0 AND objsubid = 2 AND granted)",
        )
        .bind(READER_LOCK_CLASS as i64)
        .fetch_one(&self.pool)
        .await;
        query.unwrap_or_else(|error| {
            tracing::debug!(%error, "cannot look for event readers; notifying them anyway");
            true
        })
    }

    fn send_coalesced(self: &Arc<Self>, signal: Signal) {
        let Some((state, channel, window)) = self.channel(signal) else {
            return;
        };
        if self.pool.is_closed() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
        if state.trailing {
            return;
        }
        let now = Instant::now();
        let delay = match state.last_sent {
            Some(sent) if now < sent + window => {
                state.trailing = true;
                sent + window - now
            }
            _ => {
                state.last_sent = Some(now);
                Duration::ZERO
            }
        };
        drop(state);
        let wake = self.clone();
        runtime.spawn(async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
                let Some((state, _, _)) = wake.channel(signal) else {
                    return;
                };
                let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
                state.trailing = false;
                state.last_sent = Some(Instant::now());
            }
            wake.send(channel).await;
        });
    }

    async fn send(&self, channel: &'static str) {
        let sent = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(channel)
            .bind(&self.instance)
            .execute(&self.pool)
            .await;
        match sent {
            Ok(_) => {}
            Err(error) if self.pool.is_closed() => {
                tracing::debug!(%error, "the pool closed; no wake-up sent");
            }
            Err(error) => {
                tracing::warn!(%error, channel, "could not wake workers of other processes; their tick finds the work")
            }
        }
    }
}
