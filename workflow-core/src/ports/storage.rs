//! [`StoragePorts`]: the three ports a storage backend provides.

use super::{BlobStore, JobTransport, Persistence};
use std::sync::Arc;

/// Persistence, job transport and blob store of one backend (often one object behind three `Arc`s).
#[derive(Clone)]
pub struct StoragePorts {
    /// Runs, stages, logs, annotations, outbox, idempotency keys.
    pub persistence: Arc<dyn Persistence>,
    /// The job queue.
    pub jobs: Arc<dyn JobTransport>,
    /// Blob storage.
    pub blobs: Arc<dyn BlobStore>,
}

impl StoragePorts {
    /// The ports of a store that implements all three.
    pub fn from_store<S: Persistence + JobTransport + BlobStore + 'static>(store: Arc<S>) -> Self {
        StoragePorts {
            persistence: store.clone(),
            jobs: store.clone(),
            blobs: store,
        }
    }
}

impl std::fmt::Debug for StoragePorts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoragePorts")
    }
}
