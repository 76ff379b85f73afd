//! History events in the shape of AWS's GetExecutionHistory, and the narrow interface through
//! which the engine reports them.

pub mod activities;
pub mod callbacks;
pub mod codec;
mod durable;
pub mod level;
pub mod machines;
mod memory;
pub mod store;

pub use durable::{DurableHistory, Progress};
pub use memory::MemoryHistory;
pub use store::{MemoEntry, Store};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};
use std::borrow::Cow;

/// One event of an execution's history.
#[derive(Debug, Clone)]
pub struct Event {
    pub id: u64,
    pub previous_event_id: u64,
    pub timestamp: DateTime<Utc>,
    pub kind: EventKind<'static>,
}

/// What happened. State entry and exit are kept typed because they are the hot path; the
/// rest carry their `*EventDetails` object as AWS names it.
/// Payloads are borrowed while the engine reports them, so a sink that only encodes them
/// copies nothing; a sink that keeps them takes ownership (`into_owned`).
#[derive(Debug, Clone)]
pub enum EventKind<'a> {
    StateEntered {
        state_type: &'static str,
        name: Cow<'a, str>,
        /// `None`: the output of the event just before it in its chain (the previous state's
        /// exit), which durable histories store once.
        input: Option<Cow<'a, Value>>,
    },
    StateExited {
        state_type: &'static str,
        name: Cow<'a, str>,
        output: Cow<'a, Value>,
        /// The variables the state's (or its catcher's) `Assign` set.
        assigned: Option<Cow<'a, Map<String, Value>>>,
    },
    Other {
        event_type: Cow<'static, str>,
        details: Option<(&'static str, Details)>,
    },
}

/// The details object of an event.
#[derive(Debug, Clone)]
pub enum Details {
    Value(Value),
    /// Already written as the history codec stores it ([`codec::DetailsWriter`]): the hot task
    /// events are written straight to text, without building a map first.
    Stored(Vec<u8>),
}

impl Details {
    /// The details as AWS gives them.
    pub fn to_aws(&self) -> Value {
        match self {
            Details::Value(v) => v.clone(),
            Details::Stored(b) => codec::untext(serde_json::from_slice(b).unwrap_or(Value::Null)),
        }
    }
}

impl<'a> EventKind<'a> {
    /// The same event, owning its payloads.
    pub fn into_owned(self) -> EventKind<'static> {
        match self {
            EventKind::StateEntered {
                state_type,
                name,
                input,
            } => EventKind::StateEntered {
                state_type,
                name: Cow::Owned(name.into_owned()),
                input: input.map(|i| Cow::Owned(i.into_owned())),
            },
            EventKind::StateExited {
                state_type,
                name,
                output,
                assigned,
            } => EventKind::StateExited {
                state_type,
                name: Cow::Owned(name.into_owned()),
                output: Cow::Owned(output.into_owned()),
                assigned: assigned.map(|a| Cow::Owned(a.into_owned())),
            },
            EventKind::Other {
                event_type,
                details,
            } => EventKind::Other {
                event_type,
                details,
            },
        }
    }

    pub fn other(event_type: impl Into<Cow<'static, str>>) -> Self {
        EventKind::Other {
            event_type: event_type.into(),
            details: None,
        }
    }

    pub fn with_details(
        event_type: impl Into<Cow<'static, str>>,
        key: &'static str,
        details: Value,
    ) -> Self {
        EventKind::Other {
            event_type: event_type.into(),
            details: Some((key, Details::Value(details))),
        }
    }

    /// An event whose details are already written ([`codec::DetailsWriter`]).
    pub fn with_stored_details(
        event_type: impl Into<Cow<'static, str>>,
        key: &'static str,
        details: Vec<u8>,
    ) -> Self {
        EventKind::Other {
            event_type: event_type.into(),
            details: Some((key, Details::Stored(details))),
        }
    }

    /// The event's `type`, such as `PassStateEntered` or `TaskScheduled`.
    pub fn event_type(&self) -> String {
        match self {
            EventKind::StateEntered { state_type, .. } => format!("{state_type}StateEntered"),
            EventKind::StateExited { state_type, .. } => format!("{state_type}StateExited"),
            EventKind::Other { event_type, .. } => event_type.to_string(),
        }
    }
}

/// `stateExitedEventDetails`; with `assignedVariables` (each value as JSON text, as AWS gives
/// them) when the state assigned any.
pub(crate) fn exited_details(
    name: &str,
    output: String,
    assigned: Option<&Map<String, Value>>,
) -> Value {
    let mut d = json!({"name": name, "output": output, "outputDetails": {"truncated": false}});
    if let Some(a) = assigned {
        let texts: Map<String, Value> = a
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(json_text(v))))
            .collect();
        d["assignedVariables"] = Value::Object(texts);
        d["assignedVariablesDetails"] = json!({"truncated": false});
    }
    d
}

/// Timestamps as AWS renders them: ISO 8601 with milliseconds, in UTC.
pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Payload fields (`input`, `output`, `parameters`) are JSON text in AWS's events.
pub fn json_text(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

impl Event {
    /// The event as GetExecutionHistory returns it.
    pub fn to_aws(&self) -> Value {
        let mut m = Map::new();
        m.insert(
            "timestamp".into(),
            Value::String(self.timestamp.to_rfc3339_opts(SecondsFormat::Millis, true)),
        );
        m.insert("type".into(), Value::String(self.kind.event_type()));
        m.insert("id".into(), json!(self.id));
        m.insert("previousEventId".into(), json!(self.previous_event_id));
        match &self.kind {
            EventKind::StateEntered { name, input, .. } => {
                let text = input
                    .as_ref()
                    .map(|i| json_text(i))
                    .unwrap_or_else(|| "null".into());
                m.insert(
                    "stateEnteredEventDetails".into(),
                    json!({"name": name, "input": text, "inputDetails": {"truncated": false}}),
                );
            }
            EventKind::StateExited {
                name,
                output,
                assigned,
                ..
            } => {
                m.insert(
                    "stateExitedEventDetails".into(),
                    exited_details(name, json_text(output.as_ref()), assigned.as_deref()),
                );
            }
            EventKind::Other {
                details: Some((key, details)),
                ..
            } => {
                m.insert((*key).to_string(), details.to_aws());
            }
            EventKind::Other { details: None, .. } => {}
        }
        Value::Object(m)
    }
}

/// Where the engine reports events. Returns the id given to the event.
pub trait HistorySink: Send + Sync {
    fn record(&self, previous_event_id: u64, timestamp: DateTime<Utc>, kind: EventKind<'_>) -> u64;

    /// Whether recorded events are kept. When not, the engine only numbers events (their ids
    /// appear in error causes) and skips building them.
    fn keeps_events(&self) -> bool {
        true
    }

    /// Records an event together with what a resumed run needs to skip the work it stands for.
    fn record_with_memo(
        &self,
        previous_event_id: u64,
        timestamp: DateTime<Utc>,
        kind: EventKind<'_>,
        _memo: MemoEntry<'_>,
    ) -> u64 {
        self.record(previous_event_id, timestamp, kind)
    }

    /// Hands on whatever the sink buffers, so that readers see it and a crash cannot lose it.
    /// The engine calls it before it waits (Wait, a task, a retry's back-off) and at the end.
    fn sync(&self) {}

    /// Completes once every event up to `id` is committed: a task waits for its chain's
    /// last state exit before it does anything outside, so that after a crash the work that
    /// finished before it is replayed, not done again.
    fn until_durable(
        &self,
        _id: u64,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        Box::pin(std::future::ready(()))
    }

    /// Whether the sink persists events, so that state instance keys are worth computing.
    fn durable(&self) -> bool {
        false
    }

    /// Gives the next id without an event, for sinks that keep none.
    fn skip(&self) -> u64 {
        self.record(0, DateTime::<Utc>::MIN_UTC, EventKind::other("Skipped"))
    }
}

/// A sink that keeps nothing but still numbers events (for runs without history).
#[derive(Default)]
pub struct NullHistory {
    next: std::sync::atomic::AtomicU64,
}

impl HistorySink for NullHistory {
    fn record(&self, _: u64, _: DateTime<Utc>, _: EventKind<'_>) -> u64 {
        self.skip()
    }

    fn keeps_events(&self) -> bool {
        false
    }

    fn skip(&self) -> u64 {
        self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1
    }
}
