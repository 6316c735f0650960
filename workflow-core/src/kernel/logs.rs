//! Stage log lines written to `workflow_logs` as they are made (autocommit, on a task of their own, in
//! order). The task starts with the first line, so a stage that logs nothing costs nothing.

use super::validate;
use crate::definition::record::{LogEntry, Recorder};
use crate::ids::{RunId, StageRecordId};
use crate::ports::{Clock, NewLog, Store};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::Instrument;

struct Shared {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    run_id: RunId,
    stage_record_id: StageRecordId,
    sender: mpsc::UnboundedSender<Option<LogEntry>>,
    state: Mutex<WriterState>,
}

/// The receiving end before the first line, and the writing task after it.
struct WriterState {
    receiver: Option<mpsc::UnboundedReceiver<Option<LogEntry>>>,
    task: Option<JoinHandle<()>>,
}

/// Writes each log line of a running stage to `workflow_logs` as it is made. `finish` ends the writer with
/// a `None` after the last entry: the channel is FIFO, so every earlier line is written, however many
/// copies of the sender the stage's context still holds.
pub(crate) struct LogWriter {
    shared: Arc<Shared>,
}

impl Shared {
    fn send(self: &Arc<Self>, entry: &LogEntry) {
        let _ = self.sender.send(Some(entry.clone()));
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(mut receiver) = state.receiver.take() {
            let shared = self.clone();
            let writer = async move {
                while let Some(Some(entry)) = receiver.recv().await {
                    shared.write(entry).await;
                }
            };
            state.task = Some(tokio::spawn(writer.in_current_span()));
        }
    }

    async fn write(&self, entry: LogEntry) {
        let log = NewLog {
            workflow_run_id: Some(self.run_id.clone()),
            workflow_stage_id: Some(self.stage_record_id.clone()),
            level: entry.level,
            message: validate::scrub_text(entry.message),
            metadata: entry.fields.map(validate::scrub_json),
        };
        let written = async {
            self.store
                .executor()
                .await?
                .create_logs(vec![log], self.clock.now())
                .await
        };
        if let Err(error) = written.await {
            tracing::warn!(run_id = %self.run_id, %error, "could not write a stage log line");
        }
    }
}

impl LogWriter {
    pub(crate) fn start(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        run_id: RunId,
        stage_record_id: StageRecordId,
    ) -> Self {
        let (sender, receiver) = mpsc::unbounded_channel::<Option<LogEntry>>();
        LogWriter {
            shared: Arc::new(Shared {
                store,
                clock,
                run_id,
                stage_record_id,
                sender,
                state: Mutex::new(WriterState {
                    receiver: Some(receiver),
                    task: None,
                }),
            }),
        }
    }

    pub(crate) fn recorder(&self) -> Recorder {
        let shared = self.shared.clone();
        Recorder::with_log_writer(Arc::new(move |entry: &LogEntry| shared.send(entry)))
    }

    /// Waits until every log line is written.
    pub(crate) async fn finish(self) {
        let _ = self.shared.sender.send(None);
        let task = self
            .shared
            .state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .task
            .take();
        if let Some(task) = task
            && let Err(error) = task.await
        {
            tracing::warn!(%error, "the stage log writer stopped");
        }
    }
}
