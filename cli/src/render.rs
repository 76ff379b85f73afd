//! Shared rendering: tables for people, AWS-shaped JSON for scripts.

use asl::history::iso;
use asl::history::store::ExecutionRecord;
use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table};
use serde_json::{json, Map, Value};

pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.to_vec());
    // A terminal that reports no width (0 columns, as some do under `script`) would squeeze
    // every column to a character: lay the table out at its natural width instead.
    if t.width().is_some_and(|w| w < 20) {
        t.set_content_arrangement(ContentArrangement::Disabled);
    }
    t
}

/// DescribeExecution's shape (payloads as JSON text, as AWS returns them).
pub fn describe(r: &ExecutionRecord) -> Value {
    let mut m = Map::new();
    m.insert("executionArn".into(), json!(r.arn));
    m.insert("stateMachineArn".into(), json!(r.state_machine_arn));
    m.insert("name".into(), json!(r.name));
    m.insert("status".into(), json!(r.status));
    m.insert("startDate".into(), json!(iso(r.start)));
    if let Some(s) = r.stop {
        m.insert("stopDate".into(), json!(iso(s)));
    }
    m.insert("input".into(), json!(r.input));
    m.insert("inputDetails".into(), json!({"included": true}));
    if let Some(o) = &r.output {
        m.insert("output".into(), json!(o));
        m.insert("outputDetails".into(), json!({"included": true}));
    }
    if let Some(e) = &r.error {
        m.insert("error".into(), json!(e));
    }
    if let Some(c) = &r.cause {
        m.insert("cause".into(), json!(c));
    }
    if let Some(p) = &r.parent_arn {
        m.insert("parentExecutionArn".into(), json!(p));
    }
    m.insert("redriveCount".into(), json!(r.redrive_count));
    if let Some(d) = r.redrive {
        m.insert("redriveDate".into(), json!(iso(d)));
    }
    let (status, reason) = r.redrive_status(chrono::Utc::now());
    m.insert("redriveStatus".into(), json!(status));
    if let Some(reason) = reason {
        m.insert("redriveStatusReason".into(), json!(reason));
    }
    Value::Object(m)
}

/// A duration for people: `850 ms`, `12.4 s`, `3 m 05 s`.
pub fn duration(ms: i64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        format!("{} m {:02} s", ms / 60_000, (ms % 60_000) / 1000)
    }
}
