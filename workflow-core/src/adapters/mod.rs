//! Adapters of the ports that need no database: [`FsBlobStore`] (blobs as files). The SQL adapters live in
//! `workflow-prisma-compat`; the in-memory ones in the `workflow-testing` crate.

mod fs_blob;

pub use fs_blob::FsBlobStore;
