//! An EXPRESS execution's history at its logging level: AWS keeps no event history of EXPRESS
//! executions, only what their log level sends to CloudWatch Logs. `ALL` keeps every event,
//! `ERROR` the error events, `FATAL` the execution's failure, timeout or abort, `OFF` none.
//! Events keep their ids (those an error's cause names), kept or not.

use super::{EventKind, HistorySink};
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// A log level of an EXPRESS state machine (`LoggingConfiguration.level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    All,
    Error,
    Fatal,
    Off,
}

impl LogLevel {
    pub fn parse(s: &str) -> Option<LogLevel> {
        Some(match s {
            "ALL" => LogLevel::All,
            "ERROR" => LogLevel::Error,
            "FATAL" => LogLevel::Fatal,
            "OFF" => LogLevel::Off,
            _ => return None,
        })
    }

    /// Whether an event of this type is logged at this level.
    pub fn keeps(self, event_type: &str) -> bool {
        let fatal = matches!(
            event_type,
            "ExecutionFailed" | "ExecutionTimedOut" | "ExecutionAborted"
        );
        match self {
            LogLevel::All => true,
            LogLevel::Error => {
                fatal
                    || event_type.ends_with("Failed")
                    || event_type.ends_with("TimedOut")
                    || event_type.ends_with("Aborted")
            }
            LogLevel::Fatal => fatal,
            LogLevel::Off => false,
        }
    }
}

/// Passes on the events its level keeps, numbering all of them. It is not `durable`: nothing
/// is resumed from a partial history, so no resume memo is recorded (the default
/// `record_with_memo` drops it).
pub struct LeveledHistory {
    inner: Arc<dyn HistorySink>,
    level: LogLevel,
}

impl LeveledHistory {
    pub fn new(inner: Arc<dyn HistorySink>, level: LogLevel) -> Self {
        LeveledHistory { inner, level }
    }
}

impl HistorySink for LeveledHistory {
    fn record(&self, previous_event_id: u64, timestamp: DateTime<Utc>, kind: EventKind<'_>) -> u64 {
        // A state's Entered and Exited events are never errors: only ALL keeps them (and the
        // type of the others is read as it is, without building a string per event).
        let keep = match &kind {
            _ if self.level == LogLevel::All => true,
            EventKind::StateEntered { .. } | EventKind::StateExited { .. } => false,
            EventKind::Other { event_type, .. } => self.level.keeps(event_type),
        };
        if keep {
            self.inner.record(previous_event_id, timestamp, kind)
        } else {
            self.inner.skip()
        }
    }

    fn keeps_events(&self) -> bool {
        self.level != LogLevel::Off
    }

    fn sync(&self) {
        self.inner.sync()
    }

    fn skip(&self) -> u64 {
        self.inner.skip()
    }
}

#[cfg(test)]
mod tests {
    use super::LogLevel;

    #[test]
    fn each_level_keeps_what_it_logs() {
        let kept = |level: LogLevel| {
            [
                "ExecutionStarted",
                "TaskScheduled",
                "TaskFailed",
                "TaskTimedOut",
                "MapIterationAborted",
                "ExecutionFailed",
                "ExecutionTimedOut",
                "ExecutionAborted",
                "ExecutionSucceeded",
            ]
            .into_iter()
            .filter(|t| level.keeps(t))
            .collect::<Vec<_>>()
        };
        assert_eq!(kept(LogLevel::All).len(), 9);
        assert_eq!(
            kept(LogLevel::Error),
            [
                "TaskFailed",
                "TaskTimedOut",
                "MapIterationAborted",
                "ExecutionFailed",
                "ExecutionTimedOut",
                "ExecutionAborted"
            ]
        );
        assert_eq!(
            kept(LogLevel::Fatal),
            ["ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"]
        );
        assert!(kept(LogLevel::Off).is_empty());
        assert_eq!(LogLevel::parse("FATAL"), Some(LogLevel::Fatal));
        assert_eq!(LogLevel::parse("fatal"), None);
    }
}
