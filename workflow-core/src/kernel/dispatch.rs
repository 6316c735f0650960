//! [`Command`] and [`Kernel::dispatch`]: tracing, the idempotency choreography, and the commit of a
//! command's transaction together with its outbox events (and its idempotency result).

use super::Kernel;
use super::error::KernelError;
use super::outbox;
use crate::ids;
use crate::ports::{IdempotencyAcquire, Session, WorkflowEvent};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use tracing::Instrument;

mod sealed {
    /// Only this crate can name it, so only this crate can implement [`super::Command`].
    pub struct Token;
}

/// A kernel command: a struct with a typed result. The eleven commands of the engine implement it; the
/// trait is sealed.
pub trait Command: Send + Sized + 'static {
    /// What the command returns (cached as JSON under its idempotency key).
    type Output: Serialize + DeserializeOwned + Send + 'static;
    /// The command type (`run.create`, ...), the scope of idempotency keys.
    const TYPE: &'static str;

    #[doc(hidden)]
    fn idempotency_key(&self) -> Option<&str> {
        None
    }

    #[doc(hidden)]
    fn handle(
        self,
        kernel: &Kernel,
        idempotency: Option<&Idempotency>,
        token: sealed::Token,
    ) -> impl Future<Output = Result<Self::Output, KernelError>> + Send;
}

pub(crate) use sealed::Token;

/// The idempotency key a dispatch holds.
#[doc(hidden)]
pub struct Idempotency {
    pub(crate) key: String,
    pub(crate) command: &'static str,
    completed: AtomicBool,
}

impl Kernel {
    /// Runs a command. Commands with an idempotency key run at most once per `(key, command type)`: a
    /// repeat returns the first result without running anything, and a repeat while the first is still
    /// running fails with [`KernelError::IdempotencyInProgress`].
    pub async fn dispatch<C: Command>(&self, command: C) -> Result<C::Output, KernelError> {
        let span = tracing::info_span!(
            "command",
            command = C::TYPE,
            idempotency_key = command.idempotency_key()
        );
        self.dispatch_idempotent(command).instrument(span).await
    }

    async fn dispatch_idempotent<C: Command>(&self, command: C) -> Result<C::Output, KernelError> {
        let Some(key) = command.idempotency_key().map(str::to_owned) else {
            return command.handle(self, None, Token).await;
        };
        if key.trim().is_empty() {
            return Err(KernelError::InvalidCommand {
                command: C::TYPE,
                detail: "the idempotency key is empty".into(),
            });
        }
        let now = self.ports().clock.now();
        let stale = self.ports().config.idempotency_stale_in_progress;
        let acquired = self
            .ports()
            .persistence
            .session()
            .await?
            .acquire_idempotency_key(&key, C::TYPE, now, stale)
            .await?;
        match acquired {
            IdempotencyAcquire::Replay(result) => {
                tracing::debug!("replaying the cached result");
                serde_json::from_value(result).map_err(|e| KernelError::UndecodableReplay {
                    command: C::TYPE,
                    key,
                    detail: e.to_string(),
                })
            }
            IdempotencyAcquire::InProgress => Err(KernelError::IdempotencyInProgress {
                command: C::TYPE,
                key,
            }),
            IdempotencyAcquire::Acquired => {
                let idempotency = Idempotency {
                    key,
                    command: C::TYPE,
                    completed: AtomicBool::new(false),
                };
                match command.handle(self, Some(&idempotency), Token).await {
                    Ok(output) => {
                        if !idempotency.completed.load(Ordering::Acquire) {
                            let result = serde_json::to_value(&output).unwrap_or_default();
                            let mut session = self.ports().persistence.session().await?;
                            session
                                .complete_idempotency_key(&idempotency.key, C::TYPE, &result)
                                .await?;
                        }
                        Ok(output)
                    }
                    Err(error) => {
                        self.release_idempotency(&idempotency).await;
                        Err(error)
                    }
                }
            }
        }
    }

    async fn release_idempotency(&self, idempotency: &Idempotency) {
        let released = async {
            let mut session = self.ports().persistence.session().await?;
            session
                .release_idempotency_key(&idempotency.key, idempotency.command)
                .await
        };
        if let Err(error) = released.await {
            tracing::warn!(key = %idempotency.key, %error, "could not release an idempotency key");
        }
    }

    /// The causation id of a dispatch: its idempotency key, or a fresh UUID.
    pub(crate) fn causation_id(idempotency: Option<&Idempotency>) -> String {
        idempotency.map_or_else(ids::uuid, |i| i.key.clone())
    }

    /// Appends `events` to the outbox, stores the command's result under its idempotency key (if any) and
    /// commits, all in the transaction `tx`.
    pub(crate) async fn commit<O: Serialize>(
        &self,
        mut tx: Box<dyn Session>,
        events: &[WorkflowEvent],
        causation_id: &str,
        idempotency: Option<(&Idempotency, &O)>,
    ) -> Result<(), KernelError> {
        let now = self.ports().clock.now();
        outbox::append(&mut *tx, events, causation_id, now).await?;
        if let Some((idempotency, output)) = idempotency {
            let result = serde_json::to_value(output).unwrap_or_default();
            tx.complete_idempotency_key(&idempotency.key, idempotency.command, &result)
                .await?;
        }
        tx.commit().await?;
        if let Some((idempotency, _)) = idempotency {
            idempotency.completed.store(true, Ordering::Release);
        }
        Ok(())
    }
}
