//! The PostgreSQL listener: one connection `LISTEN`s for new jobs and new pending runs and wakes this
//! process's waiters (skipping the notifications this store sent itself, whose waiters were woken
//! in-process); it reconnects with backoff after errors and ends when the pool is closed.

use super::Signals;
use crate::sql::{JOBS_CHANNEL, RUNS_CHANNEL};
use sqlx::postgres::{PgListener, PgPool};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::AbortHandle;
use workflow_core::ports::Signal;

/// Starts the listener; abort the handle to stop it.
pub(crate) fn spawn(pool: PgPool, signals: Arc<Signals>, own: Option<String>) -> AbortHandle {
    tokio::spawn(listen(pool, signals, own)).abort_handle()
}

async fn listen(pool: PgPool, signals: Arc<Signals>, own: Option<String>) {
    let mut backoff = Duration::from_millis(100);
    while !pool.is_closed() {
        match PgListener::connect_with(&pool).await {
            Ok(mut listener) => match listener.listen_all([JOBS_CHANNEL, RUNS_CHANNEL]).await {
                Ok(()) => {
                    backoff = Duration::from_millis(100);
                    // Work may have arrived while no one listened.
                    signals.notify(Signal::Jobs);
                    signals.notify(Signal::Runs);
                    loop {
                        match listener.recv().await {
                            Ok(notification) if own.as_deref() == Some(notification.payload()) => {}
                            Ok(notification) if notification.channel() == RUNS_CHANNEL => {
                                signals.notify(Signal::Runs)
                            }
                            Ok(_) => signals.notify(Signal::Jobs),
                            Err(error) => {
                                if !pool.is_closed() {
                                    tracing::warn!(%error, "job notifications interrupted; reconnecting");
                                }
                                break;
                            }
                        }
                    }
                }
                Err(error) => tracing::warn!(%error, "cannot LISTEN for jobs"),
            },
            Err(error) if pool.is_closed() => {
                tracing::debug!(%error, "the pool closed; the job listener stops");
                return;
            }
            Err(error) => tracing::warn!(%error, "cannot connect the job listener"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}
