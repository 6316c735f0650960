//! [`Command`] and [`Kernel::dispatch`]: tracing, input checks before anything is written, and the unit of
//! work of a command (its transaction, idempotency key, outbox events, commit and wake-ups).

use super::Kernel;
use super::error::KernelError;
use super::unit::UnitOfWork;
use crate::ids;
use crate::ports::IdempotencyAcquire;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::future::Future;
use tracing::Instrument;

mod sealed {
    /// Only this crate can name it, so only this crate can implement [`super::Command`].
    pub struct Token;
}

pub(crate) use sealed::Token;

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

    /// Refuses bad input before anything is written (the detail names the field).
    #[doc(hidden)]
    fn check(&self) -> Result<(), KernelError> {
        Ok(())
    }

    /// Why a cached result cannot answer this command (the key was reused for another request), if so.
    #[doc(hidden)]
    fn replay_conflict<'u>(
        &'u self,
        cached: &'u Self::Output,
        unit: &'u mut UnitOfWork<'_>,
    ) -> impl Future<Output = Result<Option<String>, KernelError>> + Send + 'u {
        let _ = (cached, unit);
        async { Ok(None) }
    }

    #[doc(hidden)]
    fn execute(
        self,
        kernel: &Kernel,
        token: Token,
    ) -> impl Future<Output = Result<Self::Output, KernelError>> + Send;
}

impl Kernel {
    /// Runs a command. Commands with an idempotency key run at most once per `(key, command type)`: a
    /// repeat with the same request returns the first result without running anything, a repeat with a
    /// different request fails with [`KernelError::IdempotencyConflict`], and a repeat while the first is
    /// still running fails with [`KernelError::IdempotencyInProgress`].
    pub async fn dispatch<C: Command>(&self, command: C) -> Result<C::Output, KernelError> {
        let span = tracing::info_span!(
            "command",
            command = C::TYPE,
            idempotency_key = command.idempotency_key()
        );
        async {
            if let Some(key) = command.idempotency_key() {
                super::validate::idempotency_key(C::TYPE, key)?;
            }
            command.check()?;
            command.execute(self, Token).await
        }
        .instrument(span)
        .await
    }

    /// The causation id of a dispatch: its idempotency key, or a fresh UUID.
    pub(crate) fn causation_id(key: Option<&str>) -> String {
        key.map_or_else(ids::uuid, str::to_owned)
    }

    /// Runs a one-transaction command: takes its idempotency key in the same transaction (so a concurrent
    /// repeat waits for this one and then replays it), runs `handler`, stores the result under the key and
    /// commits. An error rolls everything back, key included.
    pub(crate) async fn in_unit<C: Command>(
        &self,
        command: C,
        handler: impl AsyncFnOnce(C, &mut UnitOfWork<'_>) -> Result<C::Output, KernelError>,
    ) -> Result<C::Output, KernelError> {
        let key = command.idempotency_key().map(str::to_owned);
        let mut unit = UnitOfWork::begin(self, Self::causation_id(key.as_deref())).await?;
        // Every way out ends the transaction before returning: a dropped one would keep its locks until
        // the driver got round to the rollback.
        match Self::unit_body(&mut unit, key, command, handler).await {
            Ok((output, Finish::Commit)) => {
                unit.commit().await?;
                Ok(output)
            }
            Ok((output, Finish::RollBack)) => {
                unit.rollback().await;
                Ok(output)
            }
            Err(error) => {
                unit.rollback().await;
                Err(error)
            }
        }
    }

    /// [`in_unit`](Self::in_unit) inside its transaction: the idempotency key, the handler, the result
    /// stored under the key; says whether to commit (a replay writes nothing).
    async fn unit_body<C: Command>(
        unit: &mut UnitOfWork<'_>,
        key: Option<String>,
        command: C,
        handler: impl AsyncFnOnce(C, &mut UnitOfWork<'_>) -> Result<C::Output, KernelError>,
    ) -> Result<(C::Output, Finish), KernelError> {
        if let Some(key) = &key {
            let stale = unit.kernel.ports().config.idempotency_stale_in_progress;
            let acquired = unit
                .tx
                .acquire_idempotency_key(key, C::TYPE, unit.now, stale)
                .await?;
            match acquired {
                IdempotencyAcquire::Replay(result) => {
                    let cached: C::Output = serde_json::from_value(result).map_err(|e| {
                        KernelError::UndecodableReplay {
                            command: C::TYPE,
                            key: key.clone(),
                            detail: e.to_string(),
                        }
                    })?;
                    if let Some(difference) = command.replay_conflict(&cached, unit).await? {
                        return Err(KernelError::IdempotencyConflict {
                            command: C::TYPE,
                            key: key.clone(),
                            detail: difference,
                        });
                    }
                    tracing::debug!("replaying the cached result");
                    return Ok((cached, Finish::RollBack));
                }
                IdempotencyAcquire::InProgress => {
                    return Err(KernelError::IdempotencyInProgress {
                        command: C::TYPE,
                        key: key.clone(),
                    });
                }
                IdempotencyAcquire::Acquired => {}
            }
        }
        let output = handler(command, unit).await?;
        if let Some(key) = &key {
            let result = serde_json::to_value(&output).unwrap_or_default();
            unit.tx
                .complete_idempotency_key(key, C::TYPE, &result)
                .await?;
        }
        Ok((output, Finish::Commit))
    }
}

/// How [`Kernel::in_unit`] ends its transaction.
enum Finish {
    Commit,
    RollBack,
}
