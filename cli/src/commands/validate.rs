//! `asl validate FILE...`: every problem of every file, each at its JSON pointer.

use crate::args::ValidateArgs;
use crate::load::{self, LoadError};
use serde_json::json;

pub fn run(a: ValidateArgs) -> anyhow::Result<i32> {
    let subs = load::parse_subs(&a.subs)?;
    let mut report = Vec::new();
    let mut any_invalid = false;
    for file in &a.files {
        let problems: Vec<(String, String)> = match load::definition(file, &subs) {
            Ok(_) => Vec::new(),
            Err(LoadError::Read(e)) => vec![(String::new(), format!("{e:#}"))],
            Err(LoadError::Json(m)) => vec![(String::new(), m)],
            Err(LoadError::Invalid(d)) => d.into_iter().map(|d| (d.pointer, d.message)).collect(),
        };
        any_invalid |= !problems.is_empty();
        report.push((file.display().to_string(), problems));
    }
    if a.json {
        let v: Vec<_> = report
            .iter()
            .map(|(file, problems)| {
                json!({
                    "file": file,
                    "valid": problems.is_empty(),
                    "problems": problems.iter().map(|(p, m)| json!({"pointer": p, "message": m})).collect::<Vec<_>>(),
                })
            })
            .collect();
        outln!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        for (file, problems) in &report {
            if problems.is_empty() {
                outln!("{file}: ok");
            }
            for (pointer, message) in problems {
                if pointer.is_empty() {
                    outln!("{file}: {message}");
                } else {
                    outln!("{file}: {pointer}: {message}");
                }
            }
        }
    }
    Ok(if any_invalid { 2 } else { 0 })
}
