//! [`EventWakeups`]: how a reader of the outbox (an SSE server, `wf events --follow`) learns that any
//! process appended events: on PostgreSQL a `LISTEN` on the events channel, which every store notifies
//! (coalesced, at most every 100 ms per process) while some reader holds the shared advisory lock
//! `(7271, 0)`, as this one does on its listening connection; a store notices a new reader within 5 s.
//! SQLite has no notifications, so readers poll.

use super::connect::{ConnectError, redact};

/// Notifications of new outbox events from every process writing to one database.
pub struct EventWakeups {
    #[cfg(feature = "postgres")]
    listener: Option<sqlx::postgres::PgListener>,
}

impl std::fmt::Debug for EventWakeups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventWakeups")
            .field("notified", &self.is_notified())
            .finish()
    }
}

impl EventWakeups {
    /// Listens on `url`'s database (PostgreSQL); for a SQLite URL there is nothing to listen to and
    /// [`next`](Self::next) never returns, so the caller's poll interval decides.
    ///
    /// # Errors
    /// [`ConnectError::Connect`] when PostgreSQL cannot be reached or the `LISTEN` fails.
    pub async fn connect(url: &str) -> Result<EventWakeups, ConnectError> {
        #[cfg(feature = "postgres")]
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let failed = |source| ConnectError::Connect {
                url: redact(url),
                source,
            };
            let mut listener = sqlx::postgres::PgListener::connect(url)
                .await
                .map_err(failed)?;
            listener
                .listen(crate::sql::EVENTS_CHANNEL)
                .await
                .map_err(failed)?;
            announce(&mut listener).await.map_err(failed)?;
            return Ok(EventWakeups {
                listener: Some(listener),
            });
        }
        let _ = redact(url);
        Ok(EventWakeups {
            #[cfg(feature = "postgres")]
            listener: None,
        })
    }

    /// Whether wake-ups come from the database (PostgreSQL) rather than from polling alone.
    pub fn is_notified(&self) -> bool {
        #[cfg(feature = "postgres")]
        return self.listener.is_some();
        #[cfg(not(feature = "postgres"))]
        false
    }

    /// Waits for the next notification. A lost connection is re-established (by sqlx's listener) and
    /// reported as a wake-up, since events may have been appended meanwhile.
    pub async fn next(&mut self) {
        #[cfg(feature = "postgres")]
        if let Some(listener) = &mut self.listener {
            if let Err(error) = listener.recv().await {
                tracing::warn!(%error, "event notifications interrupted; reconnecting");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                // A new session lost the old one's lock (sqlx re-`LISTEN`s by itself).
                if let Err(error) = announce(listener).await {
                    tracing::warn!(%error, "cannot announce this event reader again");
                }
            }
            return;
        }
        std::future::pending::<()>().await
    }
}

/// Takes the readers' shared advisory lock on the listener's session, so stores notify the channel.
#[cfg(feature = "postgres")]
async fn announce(listener: &mut sqlx::postgres::PgListener) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_lock_shared($1, 0)")
        .bind(crate::sql::READER_LOCK_CLASS)
        .execute(listener)
        .await
        .map(drop)
}
