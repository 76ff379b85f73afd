//! The durable sink: events are numbered and encoded here, into a buffer that the store's
//! writer thread takes and commits (at least every 100 ms, at once when it grows large, and
//! on `sync`), so the engine neither copies payloads nor sends a message per event.

use super::codec;
use super::store::{MemoEntry, Pending, WriterHandle};
use super::{EventKind, HistorySink};
use chrono::{DateTime, Utc};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// A buffer this large is handed to the writer at once.
pub(super) const HAND_OVER_BYTES: usize = 256 * 1024;

pub struct DurableHistory {
    last_id: AtomicU64,
    pending: Arc<Mutex<Pending>>,
    writer: WriterHandle,
    progress: Option<Arc<Progress>>,
    committed: Arc<super::store::Committed>,
}

/// Live counters over the executions of a run, for a progress display.
#[derive(Debug, Default)]
pub struct Progress {
    pub executions_started: AtomicU64,
    pub executions_ended: AtomicU64,
    pub tasks_started: AtomicU64,
    pub tasks_ended: AtomicU64,
    pub tasks_failed: AtomicU64,
}

impl Progress {
    fn count(&self, kind: &EventKind<'_>) {
        let EventKind::Other { event_type, .. } = kind else {
            return;
        };
        let c = match event_type.as_ref() {
            "ExecutionStarted" => &self.executions_started,
            "ExecutionSucceeded" | "ExecutionFailed" | "ExecutionTimedOut" | "ExecutionAborted" => {
                &self.executions_ended
            }
            "TaskStarted" | "LambdaFunctionStarted" => &self.tasks_started,
            "TaskSucceeded" | "LambdaFunctionSucceeded" => &self.tasks_ended,
            "TaskFailed" | "TaskTimedOut" | "LambdaFunctionFailed" | "LambdaFunctionTimedOut" => {
                self.tasks_failed.fetch_add(1, Ordering::Relaxed);
                &self.tasks_ended
            }
            _ => return,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
}

impl DurableHistory {
    /// `last_id` is the id of the last event already stored (0 for a new execution).
    pub fn new(arn: &str, writer: WriterHandle, last_id: u64) -> Self {
        let pending = Pending::new(Arc::from(arn));
        pending.committed.upto.store(last_id, Ordering::Relaxed);
        let committed = pending.committed.clone();
        let pending = Arc::new(Mutex::new(pending));
        writer.register(pending.clone());
        DurableHistory {
            last_id: AtomicU64::new(last_id),
            pending,
            writer,
            progress: None,
            committed,
        }
    }

    /// Counts executions and tasks into `progress` as events are recorded.
    pub fn with_progress(mut self, progress: Option<Arc<Progress>>) -> Self {
        self.progress = progress;
        self
    }

    /// The id of the last event given out.
    pub fn last_id(&self) -> u64 {
        self.last_id.load(Ordering::Relaxed)
    }

    fn push(
        &self,
        previous_event_id: u64,
        timestamp: DateTime<Utc>,
        kind: &EventKind<'_>,
        memo: Option<&MemoEntry<'_>>,
    ) -> u64 {
        if let Some(p) = &self.progress {
            p.count(kind);
        }
        let (id, big) = {
            let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            // Numbered under the lock, so that ids are appended in order: the chunk that
            // starts last holds the last event (`Store::event_count` relies on it).
            let id = self.last_id.fetch_add(1, Ordering::Relaxed) + 1;
            p.append(id, |out| {
                codec::encode_parts(id, previous_event_id, timestamp, kind, memo, out)
            });
            (id, p.wake_at(HAND_OVER_BYTES))
        };
        if big {
            self.writer.wake();
        }
        id
    }
}

impl HistorySink for DurableHistory {
    fn record(&self, previous_event_id: u64, timestamp: DateTime<Utc>, kind: EventKind<'_>) -> u64 {
        self.push(previous_event_id, timestamp, &kind, None)
    }

    fn record_with_memo(
        &self,
        previous_event_id: u64,
        timestamp: DateTime<Utc>,
        kind: EventKind<'_>,
        memo: MemoEntry<'_>,
    ) -> u64 {
        self.push(previous_event_id, timestamp, &kind, Some(&memo))
    }

    fn durable(&self) -> bool {
        true
    }

    /// An id without an event (one an EXPRESS execution's log level leaves out).
    fn skip(&self) -> u64 {
        self.last_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn sync(&self) {
        self.writer.wake();
    }

    fn until_durable(
        &self,
        target: u64,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            loop {
                // Registered before the check, so that a commit in between is not missed.
                let moved = self.committed.moved.notified();
                if self.committed.upto.load(Ordering::Acquire) >= target {
                    return;
                }
                self.writer.wake();
                moved.await;
            }
        })
    }
}
