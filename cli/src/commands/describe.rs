//! `asl describe EXEC`: one execution, as DescribeExecution gives it.

use crate::args::DescribeArgs;
use crate::render;
use asl::history::store::Store;

pub fn run(a: DescribeArgs, store: &Store) -> anyhow::Result<i32> {
    let r = store.find_execution(&a.execution)?;
    let v = render::describe(&r);
    if a.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(0);
    }
    let mut t = render::table(&["field", "value"]);
    for (k, val) in v.as_object().into_iter().flatten() {
        let text = match val {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        t.add_row(vec![k.clone(), text]);
    }
    println!("{t}");
    Ok(0)
}
