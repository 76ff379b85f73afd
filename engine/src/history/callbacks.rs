//! Task tokens through the database, so that `asl task success|failure|heartbeat` works from
//! any process: the token is registered before the task is sent, and the writer thread tells
//! the waiting task what happened to it.

use super::store::{Store, WriterHandle};
use crate::exec::{Callbacks, TokenEvent};
use crate::failure::{names, Failure};
use std::sync::Arc;

pub struct StoreCallbacks {
    store: Arc<Store>,
    writer: WriterHandle,
}

impl StoreCallbacks {
    pub fn new(store: Arc<Store>, writer: WriterHandle) -> Self {
        StoreCallbacks { store, writer }
    }
}

impl StoreCallbacks {
    /// Has the writer report what happens to `token`.
    fn watch(&self, token: &str) -> tokio::sync::mpsc::UnboundedReceiver<TokenEvent> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        self.writer.watch_token(
            token.to_string(),
            Box::new(move |event| {
                let _ = tx.send(event);
            }),
        );
        rx
    }
}

impl Callbacks for StoreCallbacks {
    fn register(
        &self,
        token: &str,
        execution_arn: &str,
        state_name: &str,
        instance: Option<&str>,
    ) -> Result<(tokio::sync::mpsc::UnboundedReceiver<TokenEvent>, bool), Failure> {
        let answered = self
            .store
            .register_token(token, execution_arn, state_name, instance)
            .map_err(|e| {
                Failure::new(
                    names::TASK_FAILED,
                    format!("cannot record the task token: {e}"),
                )
            })?;
        Ok((self.watch(token), answered))
    }

    fn queue_activity(
        &self,
        token: &str,
        execution_arn: &str,
        state_name: &str,
        instance: Option<&str>,
        activity_arn: &str,
        input: &str,
    ) -> Result<Option<tokio::sync::mpsc::UnboundedReceiver<TokenEvent>>, Failure> {
        let queued = self
            .store
            .queue_activity_task(
                token,
                execution_arn,
                state_name,
                instance,
                activity_arn,
                input,
            )
            .map_err(|e| {
                Failure::new(
                    names::TASK_FAILED,
                    format!("cannot queue the activity task: {e}"),
                )
            })?;
        Ok(queued.then(|| self.watch(token)))
    }

    fn close(&self, token: &str) {
        self.writer.close_token(token.to_string());
    }
}
