//! Stage log lines written to `workflow_logs` as they are made.

use crate::definition::record::{LogEntry, Recorder};
use crate::ports::{Clock, NewLog, Persistence};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Writes each log line of a running stage to `workflow_logs` as it is made, in order, on its own task.
/// `finish` ends the writer with a `None` after the last entry: the channel is FIFO, so every earlier line
/// is written, however many copies of the sender the stage's context still holds.
pub(crate) struct LogWriter {
    sender: mpsc::UnboundedSender<Option<LogEntry>>,
    task: tokio::task::JoinHandle<()>,
}

impl LogWriter {
    pub(crate) fn start(
        persistence: Arc<dyn Persistence>,
        clock: Arc<dyn Clock>,
        run_id: String,
        stage_record_id: String,
    ) -> Self {
        let (sender, mut receiver) = mpsc::unbounded_channel::<Option<LogEntry>>();
        let task = tokio::spawn(async move {
            while let Some(Some(entry)) = receiver.recv().await {
                let log = NewLog {
                    workflow_run_id: Some(run_id.clone()),
                    workflow_stage_id: Some(stage_record_id.clone()),
                    level: entry.level.as_str().to_owned(),
                    message: entry.message,
                    metadata: entry.fields,
                };
                let written = async {
                    persistence
                        .session()
                        .await?
                        .create_log(log, clock.now())
                        .await
                };
                if let Err(error) = written.await {
                    tracing::warn!(run_id = %run_id, %error, "could not write a stage log line");
                }
            }
        });
        LogWriter { sender, task }
    }

    pub(crate) fn recorder(&self) -> Recorder {
        let sender = self.sender.clone();
        Recorder::with_log_writer(Arc::new(move |entry: &LogEntry| {
            let _ = sender.send(Some(entry.clone()));
        }))
    }

    /// Waits until every log line is written.
    pub(crate) async fn finish(self) {
        let _ = self.sender.send(None);
        if let Err(error) = self.task.await {
            tracing::warn!(%error, "the stage log writer stopped");
        }
    }
}
