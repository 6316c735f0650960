//! `wf runs show --follow`: the run's progress until it ends. On a terminal, a bar of finished stages
//! (indicatif) with the stages running now; otherwise one line per stage status change, so logs and
//! pipes read well. With `--json` it waits quietly and the final view is printed as JSON.

use super::CliError;
use super::{FOLLOW_POLL, follow_delay};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use workflow_core::ports::{RunRecord, StageRecord, Status};
use workflow_core::query::Queries;
use workflow_prisma_compat::EventWakeups;

pub(super) async fn run_progress(
    queries: &Queries,
    url: &str,
    run_id: &str,
    json: bool,
) -> Result<(), CliError> {
    let mut wakeups = EventWakeups::connect(url).await?;
    let delay = follow_delay(&wakeups, FOLLOW_POLL);
    let bar = (!json && std::io::stdout().is_terminal()).then(|| {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} stages  {msg}")
                .expect("the template is valid")
                .progress_chars("=> "),
        );
        bar
    });
    let mut seen: BTreeMap<String, Status> = BTreeMap::new();
    loop {
        let run = queries
            .run_record(run_id)
            .await?
            .ok_or_else(|| CliError::NoSuchRun(run_id.to_owned()))?;
        let stages = queries.stages(run_id).await?;
        let finished = finished_stages(&stages);
        match &bar {
            Some(bar) => {
                bar.set_length(stages.len() as u64);
                bar.set_position(finished);
                bar.set_message(running_now(&run, &stages));
                bar.tick();
            }
            None if !json => {
                for stage in &stages {
                    if seen.get(stage.stage_id.as_str()) != Some(&stage.status) {
                        println!(
                            "stage {} {} ({finished}/{} finished)",
                            stage.stage_id,
                            stage.status,
                            stages.len()
                        );
                    }
                }
            }
            None => {}
        }
        seen = stages
            .iter()
            .map(|stage| (stage.stage_id.to_string(), stage.status))
            .collect();
        if run.status.is_terminal() {
            if let Some(bar) = bar {
                bar.finish_with_message(format!("run {}", run.status));
            } else if !json {
                println!("run {} {}", run.id, run.status);
            }
            return Ok(());
        }
        let _ = tokio::time::timeout(delay, wakeups.next()).await;
    }
}

fn finished_stages(stages: &[StageRecord]) -> u64 {
    stages
        .iter()
        .filter(|stage| stage.status.is_terminal())
        .count() as u64
}

fn running_now(run: &RunRecord, stages: &[StageRecord]) -> String {
    let running: Vec<&str> = stages
        .iter()
        .filter(|stage| matches!(stage.status, Status::Running | Status::Suspended))
        .map(|stage| stage.stage_id.as_str())
        .collect();
    if running.is_empty() {
        format!("run {}", run.status)
    } else {
        format!("running: {}", running.join(", "))
    }
}
