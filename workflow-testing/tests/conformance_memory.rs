//! The backend conformance suite (every kernel command and transition) on the in-memory backend.

use workflow_testing::conformance::InMemoryBackend;

workflow_testing::conformance_suite!(InMemoryBackend);
