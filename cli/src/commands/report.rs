//! `asl report EXEC`: the load report of an execution and all its children, computed from the
//! stored history: per state and per HTTP endpoint, requests, failures, requests per second
//! and the latency percentiles Locust prints.

use crate::args::ReportArgs;
use crate::render;
use anyhow::Context;
use asl::history::store::Store;
use asl::report::{self, Report, Row, PERCENTILES};

pub fn run(a: ReportArgs, store: &Store) -> anyhow::Result<i32> {
    let r = build(store, &a.execution)?;
    if let Some(path) = &a.html {
        std::fs::write(path, crate::html::page(&r))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&r)?);
    } else if a.csv {
        out!("{}", csv(&r));
    } else {
        out!("{}", text(&r));
        if let Some(path) = &a.html {
            outln!("HTML report: {}", path.display());
        }
    }
    Ok(0)
}

/// The report of an execution (ARN, name or prefix) and everything below it.
pub fn build(store: &Store, execution: &str) -> anyhow::Result<Report> {
    let root = store.find_execution(execution)?;
    let family = store.family(&root.arn)?;
    let events = family
        .iter()
        .map(|e| store.raw_events(&e.arn))
        .collect::<Result<Vec<_>, _>>()?;
    let mut r = report::build(&root.arn, &events);
    r.status = Some(root.status.clone());
    r.running = family.iter().filter(|e| e.status == "RUNNING").count() as u64;
    Ok(r)
}

fn header() -> Vec<String> {
    let mut h: Vec<String> = [
        "Type",
        "Name",
        "# reqs",
        "# fails",
        "Avg",
        "Min",
        "Max",
        "req/s",
        "failures/s",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    h.extend(PERCENTILES.iter().map(|p| format!("{p}%")));
    h
}

fn cells(r: &Row) -> Vec<String> {
    let mut c = vec![
        r.kind.clone(),
        r.name.clone(),
        r.requests.to_string(),
        r.failures.to_string(),
        format!("{:.1}", r.avg_ms),
        format!("{:.1}", r.min_ms),
        format!("{:.1}", r.max_ms),
        format!("{:.2}", r.requests_per_second),
        format!("{:.2}", r.failures_per_second),
    ];
    c.extend(r.percentiles_ms.iter().map(|(_, ms)| format!("{ms:.1}")));
    c
}

/// Tables for people, as Locust lays them out (times in milliseconds).
pub fn text(r: &Report) -> String {
    let mut out = format!(
        "Report of {} ({} execution(s), {:.1} s)\n",
        r.execution_arn, r.executions, r.duration_s
    );
    if let Some(s) = r.status.as_deref().filter(|s| *s != "SUCCEEDED") {
        out.push_str(&format!("The run is {s}"));
        if r.running > 0 {
            out.push_str(&format!(
                "; {} of its executions are still RUNNING (asl stop ends them)",
                r.running
            ));
        }
        out.push_str(".\n");
    }
    let mut t = render::table(&[
        "Type",
        "Name",
        "# reqs",
        "# fails",
        "Avg ms",
        "Min ms",
        "Max ms",
        "req/s",
        "failures/s",
    ]);
    for row in r
        .states
        .iter()
        .chain(&r.endpoints)
        .chain(std::iter::once(&r.total))
    {
        t.add_row(cells(row).into_iter().take(9).collect::<Vec<_>>());
    }
    out.push_str(&format!("{t}\n"));
    let mut head = vec!["Type".to_string(), "Name".to_string()];
    head.extend(PERCENTILES.iter().map(|p| format!("{p}%")));
    let mut p = comfy_table::Table::new();
    p.load_style(comfy_table::presets::UTF8_FULL_CONDENSED)
        .set_header(head);
    for row in r
        .states
        .iter()
        .chain(&r.endpoints)
        .chain(std::iter::once(&r.total))
    {
        let mut c = vec![row.kind.clone(), row.name.clone()];
        c.extend(row.percentiles_ms.iter().map(|(_, ms)| format!("{ms:.1}")));
        p.add_row(c);
    }
    out.push_str("Response time percentiles (ms)\n");
    out.push_str(&format!("{p}\n"));
    if r.total.aborted > 0 {
        out.push_str(&format!(
            "Aborted: {} request(s) cut short without an answer (in flight when a failure elsewhere or a stop ended their task), not counted above\n",
            r.total.aborted
        ));
    }
    let errors: Vec<String> = r
        .total
        .errors
        .iter()
        .map(|(e, n)| format!("  {n:>8}  {e}"))
        .collect();
    if !errors.is_empty() {
        out.push_str("Failures\n");
        out.push_str(&errors.join("\n"));
        out.push('\n');
    }
    out
}

/// CSV, one row per state and endpoint and the aggregate (Locust's stats CSV columns).
pub fn csv(r: &Report) -> String {
    let quote = |s: &str| {
        if s.contains([',', '"', '\n']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let mut out = header()
        .iter()
        .map(|h| quote(h))
        .collect::<Vec<_>>()
        .join(",");
    out.push('\n');
    for row in r
        .states
        .iter()
        .chain(&r.endpoints)
        .chain(std::iter::once(&r.total))
    {
        out.push_str(
            &cells(row)
                .iter()
                .map(|c| quote(c))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push('\n');
    }
    out
}
