//! `asl describe EXEC`: one execution, as DescribeExecution gives it.

use crate::args::DescribeArgs;
use crate::render;
use asl::history::store::Store;

pub fn run(a: DescribeArgs, store: &Store) -> anyhow::Result<i32> {
    let r = store.find_execution(&a.execution)?;
    let mut v = render::describe(&r);
    // A DISTRIBUTED Map's Map Runs and how far they got (DescribeMapRun's shape).
    let map_runs = store.map_runs(&r.arn)?;
    if !map_runs.is_empty() {
        v["mapRuns"] = serde_json::Value::Array(map_runs);
    }
    if let Some(m) = r.options.get("mapRunArn") {
        v["mapRunArn"] = m.clone();
    }
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(0);
    }
    let mut t = render::table(&["field", "value"]);
    for (k, val) in v.as_object().into_iter().flatten() {
        let text = match val {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        t.add_row(vec![k.clone(), clip(&text)]);
    }
    outln!("{t}");
    Ok(0)
}

/// A long value (an input, an output) cut for the table: `--json` gives it whole.
fn clip(s: &str) -> String {
    const MAX: usize = 500;
    if s.len() <= MAX {
        return s.to_string();
    }
    let cut: String = s.chars().take(MAX).collect();
    format!("{cut}… ({} bytes in all; --json gives all)", s.len())
}
