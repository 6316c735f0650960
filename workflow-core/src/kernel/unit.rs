//! [`UnitOfWork`]: one transaction of a command, the events it emits, the wake-ups it owes and the
//! cleanups that must wait for its commit. Commands never commit themselves: `dispatch` (or
//! [`Kernel::transact`] for commands that work in several steps) commits the unit.

use super::Kernel;
use super::error::KernelError;
use super::outbox;
use crate::ports::{Signal, Tx, WorkflowEvent};
use chrono::{DateTime, Utc};
use std::collections::HashSet;

/// The transaction of a command and what goes with it. Public only so the sealed [`super::Command`]
/// trait can name it; the module is private, so nothing outside the crate can.
#[doc(hidden)]
pub struct UnitOfWork<'k> {
    pub kernel: &'k Kernel,
    pub tx: Box<dyn Tx>,
    /// The kernel clock when the unit began.
    pub now: DateTime<Utc>,
    /// The causation id of every event of the unit.
    pub causation: String,
    events: Vec<WorkflowEvent>,
    signals: HashSet<Signal>,
    blob_prefixes_to_delete: Vec<String>,
    abandoned: bool,
}

impl<'k> UnitOfWork<'k> {
    /// Opens the transaction.
    pub async fn begin(kernel: &'k Kernel, causation: String) -> Result<Self, KernelError> {
        let tx = kernel.ports().store.begin().await?;
        Ok(UnitOfWork {
            kernel,
            tx,
            now: kernel.ports().clock.now(),
            causation,
            events: Vec::new(),
            signals: HashSet::new(),
            blob_prefixes_to_delete: Vec::new(),
            abandoned: false,
        })
    }

    /// Queues an event for the outbox (appended in order at commit).
    pub fn emit(&mut self, event: WorkflowEvent) {
        self.events.push(event);
    }

    /// Queues events.
    pub fn emit_all(&mut self, events: impl IntoIterator<Item = WorkflowEvent>) {
        self.events.extend(events);
    }

    /// Wakes waiters of `signal` after the commit.
    pub fn signal(&mut self, signal: Signal) {
        self.signals.insert(signal);
    }

    /// Deletes the blobs under `prefix` after the commit (from an external blob store; the store's own
    /// blobs are deleted in the transaction by the caller).
    pub fn delete_blobs_after_commit(&mut self, prefix: String) {
        self.blob_prefixes_to_delete.push(prefix);
    }

    /// An event of `run_id` at the unit's time.
    pub fn event(&self, run_id: &str, kind: crate::ports::EventKind) -> WorkflowEvent {
        WorkflowEvent {
            kind,
            timestamp: self.now,
            workflow_run_id: run_id.into(),
        }
    }

    /// Appends the events queued so far now (so that events written directly by a later step follow them).
    pub async fn flush_events(&mut self) -> Result<(), KernelError> {
        if self.events.is_empty() {
            return Ok(());
        }
        let rows = outbox::rows(&std::mem::take(&mut self.events), &self.causation);
        self.tx.append_outbox(rows, self.now).await?;
        self.signals.insert(Signal::Events);
        Ok(())
    }

    /// Makes the unit roll back instead of committing (a guard found that nothing may be written).
    pub fn abandon(&mut self) {
        self.abandoned = true;
    }

    /// Appends the queued events, commits, then wakes waiters and runs the cleanups (an abandoned unit
    /// rolls back and does none of it).
    pub async fn commit(mut self) -> Result<(), KernelError> {
        if self.abandoned {
            self.rollback().await;
            return Ok(());
        }
        if !self.events.is_empty() {
            let rows = outbox::rows(&self.events, &self.causation);
            self.tx.append_outbox(rows, self.now).await?;
            self.signals.insert(Signal::Events);
        }
        self.tx.commit().await?;
        let ports = self.kernel.ports();
        for signal in self.signals {
            ports.store.notify(signal);
        }
        for prefix in self.blob_prefixes_to_delete {
            if let Err(error) = ports.blobs.delete_prefix(&prefix).await {
                tracing::warn!(%prefix, %error, "could not delete blobs after commit");
            }
        }
        Ok(())
    }

    /// Rolls the transaction back now (its locks are released when this returns), writing nothing. A
    /// failed rollback is logged: the driver discards the connection, which ends the transaction too.
    pub async fn rollback(self) {
        if let Err(error) = self.tx.rollback().await {
            tracing::warn!(%error, "could not roll back a transaction");
        }
    }
}

impl Kernel {
    /// Runs `work` in a unit of work and commits it (for commands that work in several transactions).
    /// An error rolls the transaction back before it is returned.
    pub(crate) async fn transact<T>(
        &self,
        causation: &str,
        work: impl AsyncFnOnce(&mut UnitOfWork<'_>) -> Result<T, KernelError>,
    ) -> Result<T, KernelError> {
        let mut unit = UnitOfWork::begin(self, causation.to_owned()).await?;
        match work(&mut unit).await {
            Ok(value) => {
                unit.commit().await?;
                Ok(value)
            }
            Err(error) => {
                unit.rollback().await;
                Err(error)
            }
        }
    }
}
