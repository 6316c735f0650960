//! `wf runs list|show|cancel|rerun`.

use super::CliError;
use super::follow;
use crate::cli::{CancelArgs, ListArgs, RerunArgs, RunsCommand, ShowArgs};
use crate::context::Context;
use crate::output::{self, Table};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};
use workflow_core::kernel::{KernelError, RunCancel, RunRerunFrom};
use workflow_core::ports::{Registry, RunFilter};
use workflow_core::query::RunView;
use workflow_prisma_compat::Migrations;

pub(super) async fn run(
    url: Option<String>,
    registry: Registry,
    command: RunsCommand,
    json: bool,
) -> Result<(), CliError> {
    let context = Context::open(url, registry, Migrations::Require).await?;
    match command {
        RunsCommand::List(args) => list(&context, args, json).await,
        RunsCommand::Show(args) => show(&context, args, json).await,
        RunsCommand::Cancel(args) => cancel(&context, args, json).await,
        RunsCommand::Rerun(args) => rerun(&context, args, json).await,
    }
}

async fn list(context: &Context, args: ListArgs, json: bool) -> Result<(), CliError> {
    let filter = RunFilter {
        status: args.status,
        workflow_id: args.workflow.map(Into::into),
        created_from: args.since,
        created_before: args.until,
        annotation: args.annotation,
        before_id: args.cursor.map(Into::into),
        limit: Some(usize::from(args.limit)),
    };
    let page = context.queries().runs(&filter).await?;
    if json {
        return Ok(output::json(&page)?);
    }
    let mut table = Table::new(vec![
        "ID", "WORKFLOW", "STATUS", "CREATED", "DURATION", "COST",
    ]);
    for run in &page.runs {
        table.row(vec![
            run.id.to_string(),
            run.workflow_id.to_string(),
            run.status.to_string(),
            output::time(Some(run.created_at)),
            output::millis(run.duration),
            format!("${:.4}", run.total_cost),
        ]);
    }
    if table.is_empty() {
        println!("No runs match.");
    } else {
        println!("{}", table.render());
    }
    if let Some(cursor) = page.next_cursor {
        println!("next page: --cursor {cursor}");
    }
    Ok(())
}

async fn show(context: &Context, args: ShowArgs, json: bool) -> Result<(), CliError> {
    let queries = context.queries();
    if args.follow {
        follow::run_progress(&queries, &context.url, &args.run_id, json).await?;
    }
    let view = queries
        .run(&args.run_id)
        .await?
        .ok_or_else(|| CliError::NoSuchRun(args.run_id.clone()))?;
    let logs = if args.logs {
        Some(queries.logs(&args.run_id).await?)
    } else {
        None
    };
    if json {
        let mut value = serde_json::to_value(&view).map_err(std::io::Error::other)?;
        if let Some(logs) = &logs {
            value["logs"] = serde_json::to_value(logs).map_err(std::io::Error::other)?;
        }
        return Ok(output::json(&value)?);
    }
    print_view(&view);
    for log in logs.iter().flatten() {
        println!(
            "{}  {:<5}  {}",
            output::time(Some(log.created_at)),
            log.level,
            log.message
        );
    }
    Ok(())
}

/// The human form of `wf runs show`.
fn print_view(view: &RunView) {
    let run = &view.run;
    println!("run       {}", run.id);
    println!("workflow  {} ({})", run.workflow_id, run.workflow_name);
    println!("status    {}", run.status);
    println!("created   {}", output::time(Some(run.created_at)));
    println!("started   {}", output::time(run.started_at));
    println!("finished  {}", output::time(run.completed_at));
    println!("duration  {}", output::millis(run.duration));
    println!(
        "cost      ${:.4}, {} tokens (the stages' recorded usage)",
        run.total_cost, run.total_tokens
    );
    println!(
        "AI calls  {} logged, {} in / {} out tokens, ${:.4}",
        view.ai_usage.calls,
        view.ai_usage.input_tokens,
        view.ai_usage.output_tokens,
        view.ai_usage.cost
    );
    let mut stages = Table::new(vec![
        "GROUP", "STAGE", "STATUS", "ATTEMPT", "STARTED", "DURATION", "ERROR",
    ]);
    for stage in &view.stages {
        stages.row(vec![
            stage.execution_group.to_string(),
            stage.stage_id.to_string(),
            stage.status.to_string(),
            stage.attempt.to_string(),
            output::time(stage.started_at),
            output::millis(stage.duration),
            stage.error_message.clone().unwrap_or_default(),
        ]);
    }
    println!();
    println!("{}", stages.render());
    if !view.annotations.is_empty() {
        println!();
        let mut annotations = Table::new(vec!["KEY", "VALUE", "SCOPE", "ACTOR"]);
        for row in &view.annotations {
            annotations.row(vec![
                row.key.clone(),
                row.value.to_string(),
                row.scope.clone(),
                row.actor_id.clone().unwrap_or_default(),
            ]);
        }
        println!("{}", annotations.render());
    }
    if let Some(output) = &run.output {
        println!();
        println!("output    {output}");
    }
}

async fn cancel(context: &Context, args: CancelArgs, json: bool) -> Result<(), CliError> {
    if context.queries().run_record(&args.run_id).await?.is_none() {
        return Err(CliError::NoSuchRun(args.run_id));
    }
    let mut command = RunCancel::new(args.run_id.clone());
    if let Some(reason) = args.reason {
        command = command.reason(reason);
    }
    let result = context.kernel().dispatch(command).await?;
    if json {
        output::json(&json!({ "workflowRunId": args.run_id, "cancelled": result.cancelled }))?;
    } else if result.cancelled {
        println!("Cancelled run {}.", args.run_id);
    } else {
        println!(
            "Run {} had already finished; nothing to cancel.",
            args.run_id
        );
    }
    Ok(())
}

async fn rerun(context: &Context, args: RerunArgs, json: bool) -> Result<(), CliError> {
    let command = RunRerunFrom::new(args.run_id.clone(), args.from.clone());
    let result = match context.kernel().dispatch(command).await {
        Ok(result) => result,
        Err(KernelError::RunNotFound(id)) => return Err(CliError::NoSuchRun(id.to_string())),
        Err(KernelError::WorkflowNotFound(workflow)) => {
            return Err(CliError::NeedsWorkflows(format!(
                "rerun needs the definition of workflow `{workflow}`, which this binary does not have: \
                 run `runs rerun` from your own binary built with workflow_cli::run(registry)"
            )));
        }
        Err(error) => return Err(error.into()),
    };
    if json {
        output::json(&result)?;
    } else {
        println!(
            "Rerunning run {} from stage {} (stages reset: {}).",
            result.workflow_run_id,
            result.from_stage_id,
            result
                .deleted_stages
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(())
}

/// RFC 3339, or a date (midnight UTC).
pub(crate) fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(day.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc());
    }
    Err(format!(
        "{text:?} is not a time: use RFC 3339 (2026-12-01T09:00:00Z) or a date (2026-12-01)"
    ))
}

/// `KEY=VALUE`, the value as JSON when it parses, else as a string.
pub(crate) fn parse_annotation(text: &str) -> Result<(String, Value), String> {
    let (key, value) = text
        .split_once('=')
        .filter(|(key, _)| !key.is_empty())
        .ok_or_else(|| format!("{text:?} must have the form KEY=VALUE"))?;
    let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
    Ok((key.to_owned(), value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_annotations_parse_or_say_why_not() {
        assert_eq!(
            parse_time("2026-12-01").unwrap().to_rfc3339(),
            "2026-12-01T00:00:00+00:00"
        );
        assert_eq!(
            parse_time("2026-12-01T10:00:00+01:00")
                .unwrap()
                .to_rfc3339(),
            "2026-12-01T09:00:00+00:00"
        );
        let error = parse_time("yesterday").unwrap_err();
        assert!(error.contains("\"yesterday\" is not a time"), "{error}");
        assert_eq!(
            parse_annotation("tier=3").unwrap(),
            ("tier".into(), json!(3))
        );
        assert_eq!(
            parse_annotation("tenant=acme").unwrap(),
            ("tenant".into(), json!("acme"))
        );
        assert!(parse_annotation("=x").is_err() && parse_annotation("novalue").is_err());
    }
}
