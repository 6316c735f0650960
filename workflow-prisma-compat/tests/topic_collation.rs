//! AI topic prefixes on a PostgreSQL database whose collation is not code-point order (ICU `en-US`, which
//! sorts punctuation before digits and letters): an index range `prefix <= topic < successor` would miss
//! rows there (`workflow.r9.stage.a` sorts after `workflow.r:`, the successor of `workflow.r9`), so the
//! store matches prefixes exactly, and the conformance scenario for prefixes passes on it as on the
//! C-collated test database.

use async_trait::async_trait;
use sqlx::AssertSqlSafe;
use std::sync::Arc;
use workflow_prisma_compat::PgStore;
use workflow_prisma_compat::testing::{PlannedQuery, postgres_query_plan, postgres_url};
use workflow_testing::conformance::{Backend, BackendFactory, ai_calls};

/// Stores on one database (the scenario makes one).
struct OnDatabase(String);

#[async_trait]
impl BackendFactory for OnDatabase {
    async fn create(&self) -> Backend {
        Backend::of(Arc::new(
            PgStore::connect(&self.0)
                .await
                .expect("open the ICU database"),
        ))
    }
}

#[tokio::test]
async fn prefixes_are_exact_on_a_language_collation() {
    let Some(url) = postgres_url(module_path!()) else {
        return;
    };
    let admin = sqlx::PgPool::connect(&url)
        .await
        .expect("PostgreSQL answers");
    let name = format!("wf_icu_{}", uuid::Uuid::new_v4().simple());
    let create = format!(
        "CREATE DATABASE \"{name}\" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
    );
    sqlx::raw_sql(AssertSqlSafe(create))
        .execute(&admin)
        .await
        .expect("create an ICU database");
    let icu_url = with_database(&url, &name);

    // Under en-US the range is wrong: a topic under the prefix sorts after the prefix's successor.
    let store = PgStore::connect(&icu_url)
        .await
        .expect("open the ICU database");
    let inverted: bool = sqlx::query_scalar("SELECT 'workflow.r9.stage.a' > 'workflow.r:'")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert!(inverted, "en-US orders punctuation as assumed");

    ai_calls::topic_prefixes_match_exactly(&OnDatabase(icu_url.clone())).await;
    let plan =
        postgres_query_plan(&store, &PlannedQuery::AiUsageByTopic("workflow.r1.".into())).await;
    assert!(
        !plan.contains("topic >="),
        "no prefix range on a language collation:\n{plan}"
    );

    store.pool().close().await;
    sqlx::raw_sql(AssertSqlSafe(format!(
        "DROP DATABASE \"{name}\" WITH (FORCE)"
    )))
    .execute(&admin)
    .await
    .expect("drop the ICU database");
}

/// `url` with its database name replaced by `name` (query parameters kept).
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
    match query {
        Some(query) => format!("{server}/{name}?{query}"),
        None => format!("{server}/{name}"),
    }
}
