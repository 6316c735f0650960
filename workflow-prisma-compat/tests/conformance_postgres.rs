//! The backend conformance suite on PostgreSQL (a fresh schema per scenario). Needs
//! `WORKFLOW_TEST_POSTGRES_URL`; without it every test says it was skipped (CI sets it, and sets
//! `WORKFLOW_TEST_REQUIRE_POSTGRES` so that a missing database fails instead).

use workflow_prisma_compat::testing::PostgresBackend;

workflow_testing::conformance_suite!(optional: PostgresBackend::from_env(module_path!()));
