//! The durable sink: events numbered here and handed to the store's batching writer.

use super::store::{MemoEntry, WriterHandle};
use super::{Event, EventKind, HistorySink};
use chrono::{DateTime, Utc};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

pub struct DurableHistory {
    arn: Arc<str>,
    last_id: AtomicU64,
    writer: WriterHandle,
}

impl DurableHistory {
    /// `last_id` is the id of the last event already stored (0 for a new execution).
    pub fn new(arn: &str, writer: WriterHandle, last_id: u64) -> Self {
        DurableHistory {
            arn: Arc::from(arn),
            last_id: AtomicU64::new(last_id),
            writer,
        }
    }

    fn send(
        &self,
        previous_event_id: u64,
        timestamp: DateTime<Utc>,
        kind: EventKind,
        memo: Option<MemoEntry>,
    ) -> u64 {
        let id = self.last_id.fetch_add(1, Ordering::Relaxed) + 1;
        self.writer.event(
            self.arn.clone(),
            Event {
                id,
                previous_event_id,
                timestamp,
                kind,
            },
            memo,
        );
        id
    }
}

impl HistorySink for DurableHistory {
    fn record(&self, previous_event_id: u64, timestamp: DateTime<Utc>, kind: EventKind) -> u64 {
        self.send(previous_event_id, timestamp, kind, None)
    }

    fn record_with_memo(
        &self,
        previous_event_id: u64,
        timestamp: DateTime<Utc>,
        kind: EventKind,
        memo: MemoEntry,
    ) -> u64 {
        self.send(previous_event_id, timestamp, kind, Some(memo))
    }

    fn durable(&self) -> bool {
        true
    }
}
