//! The HTML load report: one self-contained page (no scripts from elsewhere) with the tables
//! and SVG charts of throughput, latency, failures and the executions running over time.

use asl::report::Report;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A line chart of `series` (name, colour, values per second).
fn chart(title: &str, unit: &str, series: &[(&str, &str, Vec<f64>)]) -> String {
    let (w, h, pad) = (640.0, 220.0, 40.0);
    let n = series.iter().map(|s| s.2.len()).max().unwrap_or(0).max(2);
    let max = series
        .iter()
        .flat_map(|s| s.2.iter().copied())
        .fold(0.0f64, f64::max)
        .max(1e-9);
    let x = |i: usize| pad + (w - 2.0 * pad) * i as f64 / (n - 1) as f64;
    let y = |v: f64| h - pad - (h - 2.0 * pad) * v / max;
    let mut svg = format!(
        "<figure><figcaption>{}</figcaption><svg viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\">\
         <line x1=\"{pad}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#999\"/>\
         <line x1=\"{pad}\" y1=\"{pad}\" x2=\"{pad}\" y2=\"{}\" stroke=\"#999\"/>\
         <text x=\"4\" y=\"{}\" font-size=\"11\">{:.1} {unit}</text><text x=\"4\" y=\"{}\" font-size=\"11\">0</text>\
         <text x=\"{}\" y=\"{}\" font-size=\"11\">{} s</text>",
        esc(title),
        h - pad,
        w - pad,
        h - pad,
        h - pad,
        pad - 4.0,
        max,
        h - pad,
        w - pad - 20.0,
        h - 8.0,
        n - 1
    );
    for (k, (name, colour, values)) in series.iter().enumerate() {
        let points: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
            .collect();
        svg.push_str(&format!(
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\" data-series=\"{}\"/>\
             <text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"{colour}\">{}</text>",
            points.join(" "),
            esc(name),
            pad + 10.0 + 120.0 * k as f64,
            pad - 8.0,
            esc(name)
        ));
    }
    svg.push_str("</svg></figure>");
    svg
}

pub fn page(r: &Report) -> String {
    let col =
        |f: &dyn Fn(&asl::report::Second) -> f64| r.timeline.iter().map(f).collect::<Vec<f64>>();
    let mut rows = String::new();
    for row in r
        .states
        .iter()
        .chain(&r.endpoints)
        .chain(std::iter::once(&r.total))
    {
        let p = |q: f64| {
            row.percentiles_ms
                .iter()
                .find(|(x, _)| *x == q)
                .map(|(_, v)| *v)
                .unwrap_or(0.0)
        };
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.2}</td><td>{:.1}</td><td>{:.1}</td><td>{:.1}</td><td>{:.1}</td><td>{:.1}</td></tr>",
            esc(&row.kind), esc(&row.name), row.requests, row.failures, row.requests_per_second,
            row.avg_ms, p(50.0), p(95.0), p(99.0), row.max_ms
        ));
    }
    let data = serde_json::to_string(r)
        .unwrap_or_default()
        .replace("</", "<\\/");
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>asl load report</title>\
         <style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}td:nth-child(2){{text-align:left}}figure{{display:inline-block;margin:1em}}</style>\
         </head><body><h1>Load report</h1><p>{} — {} execution(s), {:.1} s</p>\
         <table><tr><th>Type</th><th>Name</th><th># reqs</th><th># fails</th><th>req/s</th><th>avg ms</th><th>p50</th><th>p95</th><th>p99</th><th>max</th></tr>{}</table>\
         {}{}{}{}\
         <script type=\"application/json\" id=\"report-data\">{}</script></body></html>",
        esc(&r.execution_arn),
        r.executions,
        r.duration_s,
        rows,
        chart("Requests per second", "req/s", &[("requests", "#2a6", col(&|s| s.requests as f64))]),
        chart("Response time", "ms", &[("p50", "#26a", col(&|s| s.p50_ms)), ("p95", "#a62", col(&|s| s.p95_ms))]),
        chart("Failures per second", "fail/s", &[("failures", "#c22", col(&|s| s.failures as f64))]),
        chart("Concurrency", "", &[("executions running", "#62a", col(&|s| s.executions_running as f64)), ("tasks in flight", "#aa2", col(&|s| s.tasks_in_flight as f64))]),
        data
    )
}
