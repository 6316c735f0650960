//! `wf migrate [apply|status]`: the schema's migrations, recorded in `_prisma_migrations` exactly as
//! Prisma records them (so `prisma migrate status` agrees with `wf migrate status`).

use super::CliError;
use crate::cli::{MigrateAction, MigrateArgs};
use crate::context::database_url;
use crate::output;
use serde_json::json;
use workflow_prisma_compat::migrate::MigrationStatus;
use workflow_prisma_compat::{migration_status, open};

pub(super) async fn run(
    url: Option<String>,
    args: MigrateArgs,
    json: bool,
) -> Result<(), CliError> {
    let url = database_url(url)?;
    let before = migration_status(&url).await?;
    match args.action {
        MigrateAction::Status => {
            if json {
                output::json(&before)?;
            } else {
                print_status(&before);
            }
        }
        MigrateAction::Apply => {
            if !before.is_up_to_date() {
                open(&url).await?;
            }
            // `open` succeeds only when every migration is applied: what was pending now is.
            let applied = before.pending.clone();
            let mut after = before;
            after.applied.append(&mut after.pending);
            if json {
                output::json(&json!({ "applied": applied, "status": after }))?;
            } else {
                if applied.is_empty() {
                    println!("Database is up to date; nothing to apply.");
                }
                for name in &applied {
                    println!("Applied {name}");
                }
                print_status(&after);
            }
        }
    }
    Ok(())
}

fn print_status(status: &MigrationStatus) {
    for name in &status.applied {
        println!("applied   {name}");
    }
    for name in &status.pending {
        println!("pending   {name}");
    }
    for name in &status.modified {
        println!("modified  {name}  (applied with another checksum)");
    }
    for name in &status.failed {
        println!(
            "failed    {name}  (unfinished in _prisma_migrations; see `prisma migrate resolve`)"
        );
    }
}
