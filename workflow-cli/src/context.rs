//! What every subcommand starts from: the database URL, the opened store, a kernel for the commands that
//! write (cancel, rerun, worker) and the read-only [`Queries`].

use crate::commands::CliError;
use std::sync::Arc;
use workflow_core::ai::AiSetup;
use workflow_core::kernel::Kernel;
use workflow_core::ports::Registry;
use workflow_core::query::Queries;
use workflow_prisma_compat::{Migrations, Opened, open_with};

/// An opened database with the registry of this binary's workflows.
pub(crate) struct Context {
    pub url: String,
    pub db: Opened,
    pub registry: Registry,
}

impl Context {
    /// Opens `url`. Tools require a migrated database and change nothing (`wf migrate` migrates); a
    /// worker applies the migrations as every worker does.
    pub async fn open(
        url: Option<String>,
        registry: Registry,
        migrations: Migrations,
    ) -> Result<Context, CliError> {
        let url = database_url(url)?;
        let db = open_with(&url, migrations).await?;
        Ok(Context { url, db, registry })
    }

    /// The read-only queries (with AI usage from the same database).
    pub fn queries(&self) -> Queries {
        Queries::new(self.db.store.clone()).with_ai_calls(self.db.ai_calls.clone())
    }

    /// A kernel over the store and this binary's workflows (for commands that run no stage code).
    pub fn kernel(&self) -> Kernel {
        self.kernel_with_ai(AiSetup::default())
    }

    /// A kernel whose stages call models through `ai` (the worker's).
    pub fn kernel_with_ai(&self, ai: AiSetup) -> Kernel {
        Kernel::builder()
            .store(self.db.store.clone())
            .shared_registry(Arc::new(self.registry.clone()))
            .ai(ai)
            .build()
            .expect("the store and the registry are every port a kernel needs")
    }
}

/// The URL given, or the error that says how to give one.
pub(crate) fn database_url(url: Option<String>) -> Result<String, CliError> {
    url.filter(|url| !url.is_empty())
        .ok_or(CliError::NoDatabase)
}
