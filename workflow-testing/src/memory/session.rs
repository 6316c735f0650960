//! A session on the in-memory store and its [`Tx`]: a transaction holds the store's lock until it commits
//! or is dropped (then its undo log puts every changed row back); autocommit takes the lock per operation.
//! The [`Executor`] operations are in `executor.rs`.

use super::tables::Tables;
use async_trait::async_trait;
use std::sync::Arc;
use tokio::sync::{Mutex, OwnedMutexGuard};
use workflow_core::ports::*;

enum Mode {
    Transaction(OwnedMutexGuard<Tables>),
    Autocommit(Arc<Mutex<Tables>>),
}

/// A session on an [`InMemoryStore`](super::InMemoryStore).
pub(crate) struct MemorySession {
    mode: Mode,
    pub(super) max_attempts: i32,
    committed: bool,
}

impl MemorySession {
    pub(crate) async fn transaction(tables: Arc<Mutex<Tables>>, max_attempts: i32) -> Self {
        let mut guard = tables.lock_owned().await;
        guard.begin();
        MemorySession {
            mode: Mode::Transaction(guard),
            max_attempts,
            committed: false,
        }
    }

    pub(crate) fn autocommit(tables: Arc<Mutex<Tables>>, max_attempts: i32) -> Self {
        MemorySession {
            mode: Mode::Autocommit(tables),
            max_attempts,
            committed: false,
        }
    }

    /// Runs `op` on the tables this session sees.
    pub(super) async fn with<T>(&mut self, op: impl FnOnce(&mut Tables) -> T) -> T {
        match &mut self.mode {
            Mode::Transaction(guard) => op(guard),
            Mode::Autocommit(tables) => op(&mut *tables.lock().await),
        }
    }
}

impl Drop for MemorySession {
    fn drop(&mut self) {
        if let Mode::Transaction(guard) = &mut self.mode
            && !self.committed
        {
            guard.rollback();
        }
    }
}

#[async_trait]
impl Tx for MemorySession {
    async fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        if let Mode::Transaction(guard) = &mut self.mode {
            guard.commit();
        }
        self.committed = true;
        Ok(())
    }
}
