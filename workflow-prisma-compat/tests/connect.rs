//! Opening stores from URLs: TLS as the build allows it, and the refusals that name what is wrong.

use workflow_prisma_compat::testing::PostgresBackend;
use workflow_prisma_compat::{ConnectError, open};
use workflow_testing::conformance::BackendFactory;

/// `sslmode=require` without the `tls-rustls` feature is refused with the feature named, not with a driver
/// message about how sqlx was built.
#[cfg(not(feature = "tls-rustls"))]
#[tokio::test]
async fn tls_without_the_feature_names_the_feature() {
    let Some(backend) = PostgresBackend::from_env("tls_without_the_feature_names_the_feature")
    else {
        return;
    };
    let url = backend.schema_url("sslmode=require").await;
    let error = open(&url).await.expect_err("no TLS in this build");
    assert!(
        matches!(error, ConnectError::TlsNotCompiledIn { .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().ends_with(
            "the connection requires TLS and this build of workflow-prisma-compat has none; enable its `tls-rustls` feature"
        ),
        "{error}"
    );
    backend.cleanup().await;
}

/// With `tls-rustls`, `sslmode=require` connects over TLS (the test server has `ssl = on`), applies the
/// migrations and serves the store; the session reports TLS in `pg_stat_ssl`.
#[cfg(feature = "tls-rustls")]
#[tokio::test]
async fn tls_rustls_connects_with_sslmode_require() {
    let Some(backend) = PostgresBackend::from_env("tls_rustls_connects_with_sslmode_require")
    else {
        return;
    };
    let url = backend.schema_url("sslmode=require").await;
    let opened = open(&url).await.expect("TLS connection");
    assert_eq!(opened.store.kind(), "postgres");
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let (ssl,): (bool,) =
        sqlx::query_as("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(ssl, "the session is encrypted");
    pool.close().await;
    backend.cleanup().await;
}

#[tokio::test]
async fn unsupported_urls_are_refused_with_the_accepted_forms() {
    let error = open("mysql://root@db/wf").await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "unsupported database URL \"mysql://root@db/wf\": use sqlite:<path> (or a plain file path) or postgres://user@host/database"
    );
}
