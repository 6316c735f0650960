//! The backend conformance suite (every kernel command and transition) on the in-memory backend.

use workflow_core::testing::conformance::InMemoryBackend;

workflow_core::conformance_suite!(InMemoryBackend);
