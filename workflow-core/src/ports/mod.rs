//! Ports: the traits through which the engine reaches the outside world. Adapters implement them
//! (in-memory ones in [`crate::testing`], SQL ones in `workflow-prisma-compat`).

pub mod blob;
pub mod error;

pub use blob::BlobStore;
pub use error::StoreError;
