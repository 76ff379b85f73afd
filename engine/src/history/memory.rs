//! The in-memory history: every event of one execution, in order.

use super::{Event, EventKind, HistorySink};
use chrono::{DateTime, Utc};
use std::sync::Mutex;

#[derive(Default)]
pub struct MemoryHistory {
    events: Mutex<Vec<Event>>,
}

impl MemoryHistory {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn events(&self) -> Vec<Event> {
        self.events.lock().map(|e| e.clone()).unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        self.events.lock().map(|e| e.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl HistorySink for MemoryHistory {
    fn record(&self, previous_event_id: u64, timestamp: DateTime<Utc>, kind: EventKind<'_>) -> u64 {
        let mut events = match self.events.lock() {
            Ok(e) => e,
            Err(poisoned) => poisoned.into_inner(),
        };
        let id = events.len() as u64 + 1;
        let kind = match kind {
            // Keep every event whole: resolve "same as the previous output".
            EventKind::StateEntered {
                state_type,
                name,
                input: None,
            } => {
                let input = events
                    .get((previous_event_id as usize).wrapping_sub(1))
                    .and_then(|e| match &e.kind {
                        EventKind::StateExited { output, .. } => Some(output.clone()),
                        _ => None,
                    });
                EventKind::StateEntered {
                    state_type,
                    name: std::borrow::Cow::Owned(name.into_owned()),
                    input,
                }
            }
            k => k.into_owned(),
        };
        events.push(Event {
            id,
            previous_event_id,
            timestamp,
            kind,
        });
        id
    }
}
