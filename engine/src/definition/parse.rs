//! From raw JSON to the typed model, collecting every problem with its JSON pointer.

use super::choice::parse_rule;
use super::model::*;
use super::Diagnostic;
use crate::expr::intrinsics::{self, Call};
use crate::expr::jtemplate::JTemplate;
use crate::expr::path::Path;
use crate::expr::template::{escape_pointer, Template};
use crate::failure::{names, KNOWN_STATES_ERRORS};
use chrono::{DateTime, FixedOffset};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// The problems found so far, the definition's default query language (true: JSONata), and
/// the query language of the state being parsed (`{% %}` strings are expressions only there).
/// The last field holds every state name of the definition, in all its scopes.
#[derive(Default)]
pub(crate) struct Diags(pub Vec<Diagnostic>, pub bool, pub bool, pub HashSet<String>);

impl Diags {
    pub fn push(&mut self, pointer: impl AsRef<str>, message: impl Into<String>) {
        self.0.push(Diagnostic {
            pointer: pointer.as_ref().to_string(),
            message: message.into(),
        });
    }
}

pub(crate) fn parse_definition(v: &Value) -> Result<StateMachine, Vec<Diagnostic>> {
    let mut d = Diags::default();
    let Some(m) = v.as_object() else {
        d.push("", "a definition must be a JSON object");
        return Err(d.0);
    };
    check_fields(
        m,
        "",
        &[
            "StartAt",
            "States",
            "Comment",
            "Version",
            "TimeoutSeconds",
            "QueryLanguage",
        ],
        "a state machine",
        &mut d,
    );
    check_query_language(m, "", &mut d);
    d.1 = m.get("QueryLanguage").and_then(|q| q.as_str()) == Some("JSONata");
    // "State names MUST be unique within the scope of the whole state machine."
    let mut all = Vec::new();
    state_names(m, "", &mut all);
    let mut first: HashMap<&str, &str> = HashMap::new();
    for (name, ptr) in &all {
        if let Some(earlier) = first.insert(name, ptr) {
            d.push(
                ptr,
                format!("the state name {name:?} is used already at {earlier} (names are unique in the whole state machine)"),
            );
            first.insert(name, earlier);
        }
    }
    d.3 = all.into_iter().map(|(n, _)| n).collect();
    check_variable_scopes(m, "", &HashMap::new(), &mut d);
    check_states_reserved(m, "", d.1, &mut d);
    check_express_children(m, "", &mut d);
    let machine = parse_machine(m, "", &mut d);
    if d.0.is_empty() {
        machine.ok_or_else(|| d.0.clone())
    } else {
        Err(d.0)
    }
}

/// Every state name in a machine and the machines inside it (Parallel branches, Map
/// processors), with its JSON pointer, in document order.
fn state_names(m: &Map<String, Value>, ptr: &str, out: &mut Vec<(String, String)>) {
    let Some(Value::Object(states)) = m.get("States") else {
        return;
    };
    for (name, st) in states {
        let sptr = format!("{ptr}/States/{}", escape_pointer(name));
        out.push((name.clone(), sptr.clone()));
        if let Some(Value::Array(branches)) = st.get("Branches") {
            for (i, b) in branches.iter().enumerate() {
                if let Some(b) = b.as_object() {
                    state_names(b, &format!("{sptr}/Branches/{i}"), out);
                }
            }
        }
        for key in ["ItemProcessor", "Iterator"] {
            if let Some(Value::Object(p)) = st.get(key) {
                state_names(p, &format!("{sptr}/{key}"), out);
            }
        }
    }
}

/// "A variable assigned in an inner scope cannot have the same name as one assigned in an
/// outer scope" (AWS, workflow variables): a Parallel branch or an inline Map's iterations
/// may not assign a variable that the machines around them assign. (A DISTRIBUTED Map's
/// children are executions of their own, which see no outer variables.)
fn check_variable_scopes(
    m: &Map<String, Value>,
    ptr: &str,
    outer: &HashMap<String, String>,
    d: &mut Diags,
) {
    let Some(Value::Object(states)) = m.get("States") else {
        return;
    };
    // Every assignment of this machine: the state's, its choice rules', its catchers'.
    let mut here: HashMap<String, String> = HashMap::new();
    for (name, st) in states {
        let sptr = format!("{ptr}/States/{}", escape_pointer(name));
        let mut assigns = vec![(sptr.clone(), st.get("Assign"))];
        for (list, what) in [("Choices", "Choices"), ("Catch", "Catch")] {
            if let Some(Value::Array(rules)) = st.get(list) {
                for (i, r) in rules.iter().enumerate() {
                    assigns.push((format!("{sptr}/{what}/{i}"), r.get("Assign")));
                }
            }
        }
        for (aptr, a) in assigns {
            let Some(Value::Object(vars)) = a else {
                continue;
            };
            for key in vars.keys() {
                let var = key.strip_suffix(".$").unwrap_or(key);
                let at = format!("{aptr}/Assign/{}", escape_pointer(key));
                if let Some(earlier) = outer.get(var) {
                    d.push(
                        &at,
                        format!("the variable {var:?} is assigned in an outer scope ({earlier}): a Parallel branch or a Map iteration cannot assign a variable of the same name"),
                    );
                }
                here.entry(var.to_string()).or_insert(at);
            }
        }
    }
    let mut inner = outer.clone();
    for (k, v) in here {
        inner.entry(k).or_insert(v);
    }
    for (name, st) in states {
        let sptr = format!("{ptr}/States/{}", escape_pointer(name));
        if let Some(Value::Array(branches)) = st.get("Branches") {
            for (i, b) in branches.iter().enumerate() {
                if let Some(b) = b.as_object() {
                    check_variable_scopes(b, &format!("{sptr}/Branches/{i}"), &inner, d);
                }
            }
        }
        for key in ["ItemProcessor", "Iterator"] {
            if let Some(Value::Object(p)) = st.get(key) {
                let distributed = p
                    .get("ProcessorConfig")
                    .and_then(|c| c.get("Mode"))
                    .and_then(|m| m.as_str())
                    == Some("DISTRIBUTED");
                let scope = if distributed { &HashMap::new() } else { &inner };
                check_variable_scopes(p, &format!("{sptr}/{key}"), scope, d);
            }
        }
    }
}

/// A DISTRIBUTED Map whose children are EXPRESS executions cannot hold what an EXPRESS state
/// machine cannot: `.sync` and `.waitForTaskToken` tasks.
fn check_express_children(m: &Map<String, Value>, ptr: &str, d: &mut Diags) {
    let Some(Value::Object(states)) = m.get("States") else {
        return;
    };
    for (name, st) in states {
        let sptr = format!("{ptr}/States/{}", escape_pointer(name));
        if let Some(Value::Array(branches)) = st.get("Branches") {
            for (i, b) in branches.iter().enumerate() {
                if let Some(b) = b.as_object() {
                    check_express_children(b, &format!("{sptr}/Branches/{i}"), d);
                }
            }
        }
        for key in ["ItemProcessor", "Iterator"] {
            let Some(Value::Object(p)) = st.get(key) else {
                continue;
            };
            let pptr = format!("{sptr}/{key}");
            let config = p.get("ProcessorConfig");
            let express = config
                .and_then(|c| c.get("ExecutionType"))
                .and_then(|t| t.as_str())
                == Some("EXPRESS");
            if express {
                for (at, resource) in super::express_refusals(&Value::Object(p.clone())) {
                    d.push(
                        format!("{pptr}{at}"),
                        format!("an EXPRESS child workflow does not support the service integration pattern of {resource:?} (.sync, .waitForTaskToken and activities are STANDARD's)"),
                    );
                }
            } else {
                check_express_children(p, &pptr, d);
            }
        }
    }
}

/// "Attempting to access `$states.result` or `$states.errorOutput` in fields and states where
/// they are not accessible will be caught at creation, update, or validation" (AWS, JSONata):
/// `$states.result` is a Task's, Map's or Parallel's, in its `Output` and `Assign`;
/// `$states.errorOutput` is a catcher's, in its `Output` and `Assign`.
fn check_states_reserved(m: &Map<String, Value>, ptr: &str, jsonata: bool, d: &mut Diags) {
    let Some(Value::Object(states)) = m.get("States") else {
        return;
    };
    for (name, st) in states {
        let Some(st) = st.as_object() else {
            continue;
        };
        let sptr = format!("{ptr}/States/{}", escape_pointer(name));
        let own = match st.get("QueryLanguage").and_then(|q| q.as_str()) {
            Some(q) => q == "JSONata",
            None => jsonata,
        };
        if own {
            let with_result = matches!(
                st.get("Type").and_then(|t| t.as_str()),
                Some("Task" | "Map" | "Parallel")
            );
            for (k, v) in st {
                let result_here = with_result && matches!(k.as_str(), "Output" | "Assign");
                match k.as_str() {
                    "Catch" => {
                        let Value::Array(catchers) = v else { continue };
                        for (i, c) in catchers.iter().enumerate() {
                            let Some(c) = c.as_object() else { continue };
                            for (ck, cv) in c {
                                let error_here = matches!(ck.as_str(), "Output" | "Assign");
                                let at = format!("{sptr}/Catch/{i}/{}", escape_pointer(ck));
                                reserved_uses(cv, &at, false, error_here, d);
                            }
                        }
                    }
                    // Their own machines, checked below.
                    "ItemProcessor" | "Iterator" | "Branches" => {}
                    _ => reserved_uses(
                        v,
                        &format!("{sptr}/{}", escape_pointer(k)),
                        result_here,
                        false,
                        d,
                    ),
                }
            }
        }
        if let Some(Value::Array(branches)) = st.get("Branches") {
            for (i, b) in branches.iter().enumerate() {
                if let Some(b) = b.as_object() {
                    check_states_reserved(b, &format!("{sptr}/Branches/{i}"), jsonata, d);
                }
            }
        }
        for key in ["ItemProcessor", "Iterator"] {
            if let Some(Value::Object(p)) = st.get(key) {
                check_states_reserved(p, &format!("{sptr}/{key}"), jsonata, d);
            }
        }
    }
}

/// Reports each `{% %}` expression under `v` that reads `$states.result` or
/// `$states.errorOutput` where it is not accessible.
fn reserved_uses(v: &Value, ptr: &str, result: bool, error: bool, d: &mut Diags) {
    match v {
        Value::String(s) if s.trim_start().starts_with("{%") => {
            for (field, allowed, where_) in [
                (
                    "result",
                    result,
                    "the Output and Assign of a Task, Map or Parallel state",
                ),
                ("errorOutput", error, "the Output and Assign of a Catch"),
            ] {
                if !allowed && reads_states_field(s, field) {
                    d.push(
                        ptr,
                        format!("$states.{field} is not accessible here: only in {where_}"),
                    );
                }
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                reserved_uses(x, &format!("{ptr}/{i}"), result, error, d);
            }
        }
        Value::Object(o) => {
            for (k, x) in o {
                reserved_uses(x, &format!("{ptr}/{}", escape_pointer(k)), result, error, d);
            }
        }
        _ => {}
    }
}

/// Whether the expression text reads `$states.FIELD` (a whole name, not a longer one).
fn reads_states_field(expr: &str, field: &str) -> bool {
    let needle = format!("$states.{field}");
    expr.match_indices(&needle).any(|(at, _)| {
        !expr[at + needle.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

fn check_query_language(m: &Map<String, Value>, ptr: &str, d: &mut Diags) {
    match m.get("QueryLanguage") {
        None => {}
        Some(Value::String(s)) if s == "JSONPath" => {}
        Some(Value::String(s)) if s == "JSONata" => {}
        Some(_) => d.push(
            format!("{ptr}/QueryLanguage"),
            "QueryLanguage must be \"JSONPath\" or \"JSONata\"",
        ),
    }
}

fn check_fields(m: &Map<String, Value>, ptr: &str, allowed: &[&str], what: &str, d: &mut Diags) {
    for k in m.keys() {
        if !allowed.contains(&k.as_str()) {
            d.push(
                format!("{ptr}/{}", escape_pointer(k)),
                format!("{k:?} is not a field of {what}"),
            );
        }
    }
}

/// Parses `StartAt` + `States` (a whole machine, a branch, or an item processor).
fn parse_machine(m: &Map<String, Value>, ptr: &str, d: &mut Diags) -> Option<StateMachine> {
    let errors_before = d.0.len();
    for key in ["Comment", "Version"] {
        if let Some(v) = m.get(key).filter(|v| !v.is_string()) {
            d.push(
                format!("{ptr}/{key}"),
                format!("{key} must be a string, not {v}"),
            );
        }
    }
    let states_obj = match m.get("States") {
        Some(Value::Object(s)) if !s.is_empty() => s,
        Some(Value::Object(_)) => {
            d.push(
                format!("{ptr}/States"),
                "States must hold at least one state",
            );
            return None;
        }
        Some(_) => {
            d.push(format!("{ptr}/States"), "States must be an object");
            return None;
        }
        None => {
            d.push(ptr, "States is required");
            return None;
        }
    };
    let names: HashMap<String, usize> = states_obj
        .keys()
        .enumerate()
        .map(|(i, k)| (k.clone(), i))
        .collect();
    let start_at = match m.get("StartAt") {
        Some(Value::String(s)) => match names.get(s) {
            Some(&i) => Some(i),
            None => {
                d.push(
                    format!("{ptr}/StartAt"),
                    format!("no state named {s:?}{}", d.suggest(s, &names)),
                );
                None
            }
        },
        Some(_) => {
            d.push(format!("{ptr}/StartAt"), "StartAt must be a string");
            None
        }
        None => {
            d.push(ptr, "StartAt is required");
            None
        }
    };
    let timeout_seconds = match m.get("TimeoutSeconds") {
        None => None,
        Some(v) => match v.as_u64().filter(|n| *n > 0) {
            Some(n) => Some(n),
            None => {
                d.push(
                    format!("{ptr}/TimeoutSeconds"),
                    "TimeoutSeconds must be a positive integer",
                );
                None
            }
        },
    };
    let mut states = Vec::with_capacity(states_obj.len());
    for (name, sv) in states_obj {
        let sptr = format!("{ptr}/States/{}", escape_pointer(name));
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            d.push(&sptr, "a state name must have 1 to 80 characters");
        }
        if let Some(c) = sv.get("Comment").filter(|c| !c.is_string()) {
            d.push(
                format!("{sptr}/Comment"),
                format!("Comment must be a string, not {c}"),
            );
        }
        if let Some(s) = parse_state(name, sv, &sptr, &names, d) {
            states.push(s);
        }
    }
    if d.0.len() > errors_before {
        return None;
    }
    let start_at = start_at?;
    // AWS's MISSING_END_STATE: something must end the machine.
    if !states.iter().any(|s| {
        matches!(s.transition, Transition::End)
            || matches!(s.kind, Kind::Succeed | Kind::Fail { .. })
    }) {
        d.push(
            format!("{ptr}/States"),
            "no state ends this state machine: give one End: true, or a Succeed or Fail state",
        );
        return None;
    }
    // Every state must be reachable from StartAt.
    let mut seen = HashSet::new();
    let mut stack = vec![start_at];
    while let Some(i) = stack.pop() {
        if !seen.insert(i) {
            continue;
        }
        let s = &states[i];
        if let Transition::Next(n) = s.transition {
            stack.push(n);
        }
        for c in &s.catch {
            stack.push(c.next);
        }
        if let Kind::Choice { choices, default } = &s.kind {
            stack.extend(choices.iter().map(|c| c.next));
            stack.extend(default.iter().copied());
        }
    }
    for (i, s) in states.iter().enumerate() {
        if !seen.contains(&i) {
            d.push(
                format!("{ptr}/States/{}", escape_pointer(&s.name)),
                "state is not reachable from StartAt",
            );
        }
    }
    if d.0.len() > errors_before {
        return None;
    }
    Some(StateMachine {
        start_at,
        states,
        names,
        timeout_seconds,
        comment: m.get("Comment").and_then(|c| c.as_str()).map(String::from),
    })
}

/// A state name's length limit, in characters.
const MAX_NAME_CHARS: usize = 80;

/// Past this many problems a definition gets no more "did you mean" suggestions: each costs
/// a pass over every state name, and a definition with thousands of bad references would
/// take minutes to check.
const MAX_SUGGESTIONS_AFTER: usize = 50;

impl Diags {
    /// ` (did you mean "X"?)` when a state name is one or two edits from `name`, or nothing.
    fn suggest(&self, name: &str, names: &HashMap<String, usize>) -> String {
        let len = name.chars().count();
        // A name longer than a state name may be is not a misspelt one.
        if self.0.len() >= MAX_SUGGESTIONS_AFTER || len > MAX_NAME_CHARS {
            return String::new();
        }
        names
            .keys()
            .filter_map(|n| {
                // Two edits change the length by two at most (a char is at least one byte).
                if n.len() + 2 < len || n.chars().take(len + 3).count() > len + 2 {
                    return None;
                }
                let e = edit_distance(n, name, 2)?;
                (e < len.min(n.chars().count())).then_some((e, n))
            })
            .min()
            .map(|(_, n)| format!(" (did you mean {n:?}?)"))
            .unwrap_or_default()
    }
}

/// The edit distance between `a` and `b`, when it is at most `limit`.
fn edit_distance(a: &str, b: &str, limit: usize) -> Option<usize> {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        // Every later row is at least this row's least.
        if cur.iter().min().is_some_and(|&m| m > limit) {
            return None;
        }
        prev = cur;
    }
    Some(prev[b.len()]).filter(|&e| e <= limit)
}

const COMMON: &[&str] = &["Type", "Comment"];
const IO: &[&str] = &["InputPath", "OutputPath"];
const FLOW: &[&str] = &["Next", "End"];

fn allowed_fields(ty: &str) -> Option<Vec<&'static str>> {
    let specific: &[&str] = match ty {
        "Pass" => &["Parameters", "ResultPath", "Result"],
        "Task" => &[
            "Resource",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
            "TimeoutSeconds",
            "TimeoutSecondsPath",
            "HeartbeatSeconds",
            "HeartbeatSecondsPath",
            "Credentials",
        ],
        "Choice" => &["Choices", "Default"],
        "Wait" => &["Seconds", "SecondsPath", "Timestamp", "TimestampPath"],
        "Succeed" => &[],
        "Fail" => &["Error", "ErrorPath", "Cause", "CausePath"],
        "Parallel" => &[
            "Branches",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
        ],
        "Map" => &[
            "Iterator",
            "ItemProcessor",
            "ItemsPath",
            "ItemSelector",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
            "MaxConcurrency",
            "MaxConcurrencyPath",
            "ToleratedFailureCount",
            "ToleratedFailureCountPath",
            "ToleratedFailurePercentage",
            "ToleratedFailurePercentagePath",
            "ItemReader",
            "ItemBatcher",
            "ResultWriter",
            "Label",
        ],
        _ => return None,
    };
    let mut all: Vec<&str> = COMMON.to_vec();
    all.extend_from_slice(specific);
    all.push("QueryLanguage");
    if ty != "Fail" {
        all.push("Output");
    }
    if !matches!(ty, "Succeed" | "Fail") {
        all.push("Assign");
    }
    // A JSONata Map takes its items from `Items` (AWS lists `Arguments` for Task and Parallel).
    if matches!(ty, "Task" | "Parallel") {
        all.push("Arguments");
    }
    if ty == "Map" {
        all.push("Items");
    }
    if ty != "Fail" {
        all.extend_from_slice(IO);
    }
    if !matches!(ty, "Choice" | "Succeed" | "Fail") {
        all.extend_from_slice(FLOW);
    }
    Some(all)
}

fn parse_state(
    name: &str,
    v: &Value,
    ptr: &str,
    names: &HashMap<String, usize>,
    d: &mut Diags,
) -> Option<State> {
    let jsonata = match v.get("QueryLanguage").and_then(|q| q.as_str()) {
        Some("JSONata") => true,
        Some(_) => false,
        None => d.1,
    };
    let outer = std::mem::replace(&mut d.2, jsonata);
    let state = parse_state_fields(name, v, ptr, names, d);
    d.2 = outer;
    state
}

fn parse_state_fields(
    name: &str,
    v: &Value,
    ptr: &str,
    names: &HashMap<String, usize>,
    d: &mut Diags,
) -> Option<State> {
    let Some(m) = v.as_object() else {
        d.push(ptr, "a state must be an object");
        return None;
    };
    let ty = match m.get("Type") {
        Some(Value::String(t)) => t.as_str(),
        Some(_) => {
            d.push(format!("{ptr}/Type"), "Type must be a string");
            return None;
        }
        None => {
            d.push(ptr, "Type is required");
            return None;
        }
    };
    let Some(allowed) = allowed_fields(ty) else {
        d.push(
            format!("{ptr}/Type"),
            format!(
                "unknown state type {ty:?}: expected Pass, Task, Choice, Wait, Succeed, Fail, Parallel or Map"
            ),
        );
        return None;
    };
    check_fields(m, ptr, &allowed, &format!("a {ty} state"), d);
    check_query_language(m, ptr, d);
    let jsonata = match m.get("QueryLanguage").and_then(|q| q.as_str()) {
        Some("JSONata") => true,
        Some("JSONPath") if d.1 => {
            d.push(
                format!("{ptr}/QueryLanguage"),
                "a state cannot use JSONPath when the state machine's QueryLanguage is JSONata",
            );
            false
        }
        Some(_) => false,
        None => d.1,
    };
    let language_fields: &[&str] = if jsonata {
        &[
            "InputPath",
            "OutputPath",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "ItemsPath",
            "TimeoutSecondsPath",
            "HeartbeatSecondsPath",
            "SecondsPath",
            "TimestampPath",
            "ErrorPath",
            "CausePath",
            "MaxConcurrencyPath",
            "ToleratedFailureCountPath",
            "ToleratedFailurePercentagePath",
            // "Result (Optional, JSONPath only)" (the Pass state's page)
            "Result",
        ]
    } else {
        &["Arguments", "Output", "Items"]
    };
    for f in language_fields {
        if m.contains_key(*f) {
            d.push(
                format!("{ptr}/{f}"),
                format!(
                    "{f} is a field of {} states; this state's QueryLanguage is {}",
                    if jsonata { "JSONPath" } else { "JSONata" },
                    if jsonata { "JSONata" } else { "JSONPath" }
                ),
            );
        }
    }
    let jfield = |key: &str, d: &mut Diags| -> Option<JTemplate> {
        let v = m.get(key)?;
        match JTemplate::compile(v) {
            Ok(t) => Some(t),
            Err(errors) => {
                for (p, msg) in errors {
                    d.push(format!("{ptr}/{key}{p}"), msg);
                }
                None
            }
        }
    };
    let arguments = if jsonata {
        jfield("Arguments", d)
    } else {
        None
    };
    // A payload is an object (or an array), or one expression that gives it.
    if let Some(JTemplate::Literal(v)) = &arguments {
        if !v.is_object() && !v.is_array() {
            d.push(
                format!("{ptr}/Arguments"),
                "Arguments must be a JSON object or a {% %} expression",
            );
        }
    }
    let output = if jsonata { jfield("Output", d) } else { None };
    let assign = parse_assign(m.get("Assign"), jsonata, ptr, d);
    let before = d.0.len();

    let resolve = |target: &str, field_ptr: String, d: &mut Diags| -> Option<usize> {
        match names.get(target) {
            Some(&i) => Some(i),
            None if d.3.contains(target) => {
                d.push(
                    field_ptr,
                    format!("{target:?} is a state of another scope (a Parallel branch or Map processor, or the one around it): a transition stays in its own States"),
                );
                None
            }
            None => {
                d.push(
                    field_ptr,
                    format!("no state named {target:?}{}", d.suggest(target, names)),
                );
                None
            }
        }
    };

    let transition = if matches!(ty, "Choice" | "Succeed" | "Fail") {
        Transition::Terminal
    } else {
        match (m.get("Next"), m.get("End")) {
            (Some(_), Some(Value::Bool(true))) => {
                d.push(ptr, "a state cannot have both Next and End");
                Transition::End
            }
            (Some(Value::String(n)), _) => match resolve(n, format!("{ptr}/Next"), d) {
                Some(i) => Transition::Next(i),
                None => Transition::End,
            },
            (Some(_), _) => {
                d.push(format!("{ptr}/Next"), "Next must be a string");
                Transition::End
            }
            (None, Some(Value::Bool(true))) => Transition::End,
            (None, Some(_)) => {
                d.push(format!("{ptr}/End"), "End must be true when present");
                Transition::End
            }
            (None, None) => {
                d.push(ptr, format!("a {ty} state must have Next or \"End\": true"));
                Transition::End
            }
        }
    };

    let input_path = path_field(m, "InputPath", ptr, false, d);
    let output_path = path_field(m, "OutputPath", ptr, false, d);
    let result_path = path_field(m, "ResultPath", ptr, true, d);
    let parameters = template_field(m, "Parameters", ptr, d);
    let result_selector = template_field(m, "ResultSelector", ptr, d);
    let retry = parse_retry(m, ptr, d);
    let catch = parse_catch(m, ptr, names, jsonata, d);

    let kind = match ty {
        "Pass" => Kind::Pass {
            result: m.get("Result").cloned(),
        },
        "Succeed" => Kind::Succeed,
        "Fail" => Kind::Fail {
            error: text_field(m, "Error", ptr, d),
            cause: text_field(m, "Cause", ptr, d),
        },
        "Task" => {
            let resource = match m.get("Resource") {
                Some(Value::String(r)) if !r.is_empty() => r.clone(),
                Some(_) => {
                    d.push(
                        format!("{ptr}/Resource"),
                        "Resource must be a non-empty string",
                    );
                    String::new()
                }
                None => {
                    d.push(ptr, "a Task state must have Resource");
                    String::new()
                }
            };
            // The integration patterns StartExecution has; AWS refuses any other at creation.
            if let Some(mode) = resource.strip_prefix("arn:aws:states:::states:startExecution") {
                if !matches!(mode, "" | ".sync" | ".sync:2" | ".waitForTaskToken") {
                    d.push(
                        format!("{ptr}/Resource"),
                        format!(
                            "The resource provided {resource} is not recognized. The value is not a valid resource ARN, or the resource is not available in this region. (startExecution takes no suffix, .sync, .sync:2 or .waitForTaskToken)"
                        ),
                    );
                }
                // Which state machine to start is not optional (given as a value, a path or
                // an expression); a whole-object expression is checked when it runs.
                for field in ["Parameters", "Arguments"] {
                    if let Some(Value::Object(p)) = m.get(field) {
                        if !p.contains_key("StateMachineArn")
                            && !p.contains_key("StateMachineArn.$")
                        {
                            d.push(
                                format!("{ptr}/{field}"),
                                "The field 'StateMachineArn' is required but was missing",
                            );
                        }
                    }
                }
                if m.get("Parameters").is_none() && m.get("Arguments").is_none() {
                    d.push(
                        ptr,
                        "The field 'StateMachineArn' is required but was missing (startExecution needs Parameters or Arguments naming the state machine)",
                    );
                }
            }
            let timeout = number_field(m, "TimeoutSeconds", ptr, true, d);
            let heartbeat = number_field(m, "HeartbeatSeconds", ptr, true, d);
            if let (Some(Number::Literal(t)), Some(Number::Literal(h))) = (&timeout, &heartbeat) {
                if h >= t {
                    d.push(
                        format!("{ptr}/HeartbeatSeconds"),
                        "HeartbeatSeconds must be smaller than TimeoutSeconds",
                    );
                }
            }
            Kind::Task(Box::new(Task {
                resource,
                timeout,
                heartbeat,
                credentials: m.get("Credentials").cloned(),
            }))
        }
        "Choice" => {
            let mut choices = Vec::new();
            match m.get("Choices") {
                Some(Value::Array(list)) if !list.is_empty() => {
                    for (i, r) in list.iter().enumerate() {
                        let rptr = format!("{ptr}/Choices/{i}");
                        let assign = parse_assign(r.get("Assign"), jsonata, &rptr, d);
                        if jsonata {
                            let cond = r.get("Condition").map(JTemplate::compile);
                            let next = r.get("Next").and_then(|n| n.as_str());
                            let output = match r.get("Output").map(JTemplate::compile) {
                                Some(Ok(t)) => Some(t),
                                Some(Err(errors)) => {
                                    for (p, msg) in errors {
                                        d.push(format!("{rptr}/Output{p}"), msg)
                                    }
                                    None
                                }
                                None => None,
                            };
                            if let Some(o) = r.as_object() {
                                for k in o.keys() {
                                    if !matches!(
                                        k.as_str(),
                                        "Condition" | "Next" | "Assign" | "Output" | "Comment"
                                    ) {
                                        d.push(
                                            format!("{rptr}/{k}"),
                                            format!(
                                                "{k:?} is not a field of a JSONata choice rule"
                                            ),
                                        );
                                    }
                                }
                            }
                            if let Some(Ok(c)) = &cond {
                                if !c.is_expr() && !matches!(c, JTemplate::Literal(Value::Bool(_)))
                                {
                                    d.push(
                                        format!("{rptr}/Condition"),
                                        "Condition must be a {% %} expression (or true or false)",
                                    );
                                }
                            }
                            match (cond, next) {
                                (Some(Ok(c)), Some(n)) => {
                                    if let Some(n) = resolve(n, format!("{rptr}/Next"), d) {
                                        choices.push(Choice {
                                            rule: ChoiceRule::Condition(c),
                                            next: n,
                                            assign,
                                            output,
                                        });
                                    }
                                }
                                (Some(Err(errors)), _) => {
                                    for (p, msg) in errors {
                                        d.push(format!("{rptr}/Condition{p}"), msg)
                                    }
                                }
                                _ => d.push(
                                    &rptr,
                                    "a choice rule of a JSONata state needs Condition and Next",
                                ),
                            }
                            continue;
                        }
                        if let Some((rule, Some(next))) = parse_rule(r, &rptr, true, d) {
                            if let Some(n) = resolve(&next, format!("{rptr}/Next"), d) {
                                choices.push(Choice {
                                    rule,
                                    next: n,
                                    assign,
                                    output: None,
                                });
                            }
                        }
                    }
                }
                Some(_) => d.push(
                    format!("{ptr}/Choices"),
                    "Choices must be a non-empty array of rules",
                ),
                None => d.push(ptr, "a Choice state must have Choices"),
            }
            let default = match m.get("Default") {
                None => None,
                Some(Value::String(s)) => resolve(s, format!("{ptr}/Default"), d),
                Some(_) => {
                    d.push(format!("{ptr}/Default"), "Default must be a string");
                    None
                }
            };
            Kind::Choice { choices, default }
        }
        "Wait" => parse_wait(m, ptr, d).map(Kind::Wait)?,
        "Parallel" => {
            let mut branches = Vec::new();
            match m.get("Branches") {
                Some(Value::Array(list)) if !list.is_empty() => {
                    for (i, b) in list.iter().enumerate() {
                        let bptr = format!("{ptr}/Branches/{i}");
                        let Some(bm) = b.as_object() else {
                            d.push(bptr, "a branch must be an object");
                            continue;
                        };
                        check_fields(
                            bm,
                            &bptr,
                            &["StartAt", "States", "Comment", "QueryLanguage"],
                            "a branch",
                            d,
                        );
                        if let Some(sm) = parse_machine(bm, &bptr, d) {
                            branches.push(Arc::new(sm));
                        }
                    }
                }
                Some(_) => d.push(
                    format!("{ptr}/Branches"),
                    "Branches must be a non-empty array",
                ),
                None => d.push(ptr, "a Parallel state must have Branches"),
            }
            Kind::Parallel { branches }
        }
        "Map" => Kind::Map(Box::new(parse_map(m, ptr, d)?)),
        _ => return None,
    };
    if ty == "Map" && parameters.is_some() && m.contains_key("ItemSelector") {
        d.push(
            format!("{ptr}/Parameters"),
            "a Map state cannot have both Parameters and ItemSelector",
        );
    }
    if d.0.len() > before {
        return None;
    }
    // A Map's legacy Parameters is its ItemSelector.
    let (kind, parameters) = match kind {
        Kind::Map(mut map) if parameters.is_some() => {
            map.item_selector = parameters;
            (Kind::Map(map), None)
        }
        k => (k, parameters),
    };
    let kind = match kind {
        Kind::Map(mut map) if jsonata => {
            map.items = jfield("Items", d);
            // "a JSON array, a JSON object, or a JSONata expression"
            if let Some(JTemplate::Literal(v)) = &map.items {
                if !v.is_array() && !v.is_object() {
                    d.push(
                        format!("{ptr}/Items"),
                        "Items must be a JSON array, a JSON object or a {% %} expression",
                    );
                }
            }
            map.item_selector_jsonata = jfield("ItemSelector", d);
            map.item_selector = None;
            Kind::Map(map)
        }
        k => k,
    };
    Some(State {
        name: name.to_string(),
        jsonata,
        arguments,
        output,
        assign,
        kind,
        input_path,
        output_path,
        parameters,
        result_selector,
        result_path,
        retry,
        catch,
        transition,
    })
}

fn path_field(
    m: &Map<String, Value>,
    key: &str,
    ptr: &str,
    reference: bool,
    d: &mut Diags,
) -> PathField {
    match m.get(key) {
        None => PathField::Root,
        Some(Value::Null) => PathField::Null,
        Some(Value::String(s)) => {
            let parsed = if reference {
                Path::parse_reference(s)
            } else {
                Path::parse(s)
            };
            match parsed {
                Ok(p) if p.is_root() => PathField::Root,
                Ok(p) if reference && p.is_context() => {
                    d.push(
                        format!("{ptr}/{key}"),
                        format!("{key} cannot write to the context object"),
                    );
                    PathField::Root
                }
                Ok(p) if reference && p.is_variable() => {
                    d.push(
                        format!("{ptr}/{key}"),
                        format!("{key} writes into the state's input ($...), not a variable: assign variables with Assign"),
                    );
                    PathField::Root
                }
                Ok(p) => PathField::Path(p),
                Err(e) => {
                    d.push(format!("{ptr}/{key}"), e);
                    PathField::Root
                }
            }
        }
        Some(_) => {
            d.push(
                format!("{ptr}/{key}"),
                format!("{key} must be a path or null"),
            );
            PathField::Root
        }
    }
}

fn template_field(m: &Map<String, Value>, key: &str, ptr: &str, d: &mut Diags) -> Option<Template> {
    let v = m.get(key)?;
    match Template::compile(v) {
        Ok(t) => Some(t),
        Err(errors) => {
            for e in errors {
                d.push(format!("{ptr}/{key}{}", e.pointer), e.message);
            }
            None
        }
    }
}

/// A count given literally must be a whole number (`1.5` is no count).
fn whole(n: Option<Number>, key: &str, ptr: &str, d: &mut Diags) -> Option<Number> {
    if let Some(Number::Literal(v)) = &n {
        if v.fract() != 0.0 {
            d.push(
                format!("{ptr}/{key}"),
                format!("{key} must be a non-negative integer"),
            );
            return None;
        }
    }
    n
}

/// `Key` or `KeyPath` (exactly one), for positive numbers.
fn number_field(
    m: &Map<String, Value>,
    key: &str,
    ptr: &str,
    positive_int: bool,
    d: &mut Diags,
) -> Option<Number> {
    let path_key = format!("{key}Path");
    if let Some(t) = jsonata_expr(m.get(key), &format!("{ptr}/{key}"), d) {
        return t.map(Number::Jsonata);
    }
    match (m.get(key), m.get(&path_key)) {
        (Some(_), Some(_)) => {
            d.push(
                ptr,
                format!("a state cannot have both {key} and {path_key}"),
            );
            None
        }
        (Some(v), None) => {
            let ok = if positive_int {
                v.as_u64().filter(|n| *n > 0).map(|n| n as f64)
            } else {
                v.as_f64().filter(|n| *n >= 0.0)
            };
            match ok {
                Some(n) => Some(Number::Literal(n)),
                None => {
                    d.push(
                        format!("{ptr}/{key}"),
                        if positive_int {
                            format!("{key} must be a positive integer")
                        } else {
                            format!("{key} must be a non-negative number")
                        },
                    );
                    None
                }
            }
        }
        (None, Some(Value::String(s))) => match Path::parse_reference(s) {
            Ok(p) => Some(Number::Path(p)),
            Err(e) => {
                d.push(format!("{ptr}/{path_key}"), e);
                None
            }
        },
        (None, Some(_)) => {
            d.push(
                format!("{ptr}/{path_key}"),
                format!("{path_key} must be a path"),
            );
            None
        }
        (None, None) => None,
    }
}

/// `Error`/`ErrorPath`, `Cause`/`CausePath` of a Fail state.
/// `Some(compiled)` when the value is a `{% %}` string (`Some(None)` when it does not compile).
fn jsonata_expr(v: Option<&Value>, ptr: &str, d: &mut Diags) -> Option<Option<JTemplate>> {
    // In a JSONPath state a `{% %}` string is no expression: a string where a number belongs
    // is refused as such, and a Fail state's Error or Cause is the text as written.
    if !d.2 {
        return None;
    }
    let s = v?.as_str()?;
    crate::expr::jtemplate::expression_text(s)?;
    Some(match JTemplate::compile(&Value::String(s.to_string())) {
        Ok(t) => Some(t),
        Err(errors) => {
            for (_, msg) in errors {
                d.push(ptr, msg);
            }
            None
        }
    })
}

fn text_field(m: &Map<String, Value>, key: &str, ptr: &str, d: &mut Diags) -> Option<Text> {
    let path_key = format!("{key}Path");
    match (m.get(key), m.get(&path_key)) {
        (Some(_), Some(_)) => {
            d.push(
                ptr,
                format!("a Fail state cannot have both {key} and {path_key}"),
            );
            None
        }
        (Some(Value::String(s)), None) => {
            match jsonata_expr(m.get(key), &format!("{ptr}/{key}"), d) {
                Some(t) => t.map(Text::Jsonata),
                None => Some(Text::Literal(s.clone())),
            }
        }
        (Some(_), None) => {
            d.push(format!("{ptr}/{key}"), format!("{key} must be a string"));
            None
        }
        (None, Some(Value::String(s))) => {
            // "a reference path ... or an intrinsic function that returns a string. These
            // intrinsics are: ..." (the Fail state's page)
            const STRING_INTRINSICS: [&str; 7] = [
                "States.Format",
                "States.JsonToString",
                "States.ArrayGetItem",
                "States.Base64Encode",
                "States.Base64Decode",
                "States.Hash",
                "States.UUID",
            ];
            let parsed = if intrinsics::looks_like_call(s) {
                Call::parse(s).and_then(|c| {
                    if STRING_INTRINSICS.contains(&c.name()) {
                        Ok(Text::Call(Box::new(c)))
                    } else {
                        Err(format!(
                            "{path_key} takes a reference path or one of {}, not {}",
                            STRING_INTRINSICS.join(", "),
                            c.name()
                        ))
                    }
                })
            } else {
                Path::parse_reference(s).map(Text::Path)
            };
            match parsed {
                Ok(t) => Some(t),
                Err(e) => {
                    d.push(format!("{ptr}/{path_key}"), e);
                    None
                }
            }
        }
        (None, Some(_)) => {
            d.push(
                format!("{ptr}/{path_key}"),
                format!("{path_key} must be a path or an intrinsic function"),
            );
            None
        }
        (None, None) => None,
    }
}

fn parse_wait(m: &Map<String, Value>, ptr: &str, d: &mut Diags) -> Option<Wait> {
    let present: Vec<&str> = ["Seconds", "SecondsPath", "Timestamp", "TimestampPath"]
        .into_iter()
        .filter(|k| m.contains_key(*k))
        .collect();
    if present.len() != 1 {
        d.push(
            ptr,
            if present.is_empty() {
                "a Wait state needs one of Seconds, SecondsPath, Timestamp or TimestampPath"
                    .to_string()
            } else {
                format!("a Wait state takes only one of {}", present.join(", "))
            },
        );
        return None;
    }
    let key = present[0];
    let v = &m[key];
    let fptr = format!("{ptr}/{key}");
    if let Some(t) = jsonata_expr(Some(v), &fptr, d) {
        let t = t?;
        return Some(if key == "Seconds" {
            Wait::SecondsJsonata(t)
        } else {
            Wait::TimestampJsonata(t)
        });
    }
    match key {
        "Seconds" => match v.as_u64() {
            Some(n) if n <= crate::states::wait::MAX_SECONDS => Some(Wait::Seconds(n)),
            _ => {
                d.push(
                    fptr,
                    "Seconds must be an integer from 0 to 99999999 (AWS's range)",
                );
                None
            }
        },
        "Timestamp" => match v.as_str().and_then(parse_timestamp) {
            Some(t) => Some(Wait::Timestamp(t)),
            None => {
                d.push(
                    fptr,
                    "Timestamp must be an ISO-8601 timestamp such as 2016-08-18T17:33:00Z",
                );
                None
            }
        },
        _ => match v.as_str().map(Path::parse_reference) {
            Some(Ok(p)) => Some(if key == "SecondsPath" {
                Wait::SecondsPath(p)
            } else {
                Wait::TimestampPath(p)
            }),
            Some(Err(e)) => {
                d.push(fptr, e);
                None
            }
            None => {
                d.push(fptr, format!("{key} must be a path"));
                None
            }
        },
    }
}

/// Parses an RFC 3339 timestamp as ASL requires it: uppercase `T`, and `Z` or an offset.
pub(crate) fn parse_timestamp(s: &str) -> Option<DateTime<FixedOffset>> {
    let b = s.as_bytes();
    if b.len() < 20 || b[10] != b'T' {
        return None;
    }
    let last = *b.last()?;
    if last != b'Z' && !b[19..].iter().any(|c| matches!(c, b'+' | b'-')) {
        return None;
    }
    DateTime::parse_from_rfc3339(s).ok()
}

fn error_equals(m: &Map<String, Value>, ptr: &str, d: &mut Diags) -> Vec<String> {
    let Some(list) = m.get("ErrorEquals").and_then(|v| v.as_array()) else {
        d.push(ptr, "ErrorEquals must be a non-empty array of error names");
        return Vec::new();
    };
    if list.is_empty() {
        d.push(
            format!("{ptr}/ErrorEquals"),
            "ErrorEquals must name at least one error",
        );
    }
    let mut out = Vec::new();
    for (i, e) in list.iter().enumerate() {
        let eptr = format!("{ptr}/ErrorEquals/{i}");
        match e.as_str() {
            Some(s) => {
                if s == names::ALL && list.len() > 1 {
                    d.push(&eptr, "States.ALL must appear alone in ErrorEquals");
                }
                if s.starts_with("States.")
                    && !KNOWN_STATES_ERRORS.contains(&s)
                    && !is_http_error(s)
                {
                    d.push(&eptr, format!("unknown error name {s:?}"));
                }
                out.push(s.to_string());
            }
            None => d.push(eptr, "an error name must be a string"),
        }
    }
    out
}

/// The HTTP task's error names: `States.Http.Socket`, `States.Http.StatusCode.NNN`.
fn is_http_error(s: &str) -> bool {
    s == "States.Http.Socket"
        || s.strip_prefix("States.Http.StatusCode.")
            .is_some_and(|c| c.len() == 3 && c.chars().all(|ch| ch.is_ascii_digit()))
}

fn parse_retry(m: &Map<String, Value>, ptr: &str, d: &mut Diags) -> Vec<Retrier> {
    let Some(v) = m.get("Retry") else {
        return Vec::new();
    };
    let Some(list) = v.as_array() else {
        d.push(format!("{ptr}/Retry"), "Retry must be an array of retriers");
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, r) in list.iter().enumerate() {
        let rptr = format!("{ptr}/Retry/{i}");
        let Some(rm) = r.as_object() else {
            d.push(rptr, "a retrier must be an object");
            continue;
        };
        check_fields(
            rm,
            &rptr,
            &[
                "ErrorEquals",
                "IntervalSeconds",
                "MaxAttempts",
                "BackoffRate",
                "MaxDelaySeconds",
                "JitterStrategy",
                "Comment",
            ],
            "a retrier",
            d,
        );
        let errs = error_equals(rm, &rptr, d);
        if errs.iter().any(|e| e == names::ALL) && i + 1 != list.len() {
            d.push(
                format!("{rptr}/ErrorEquals"),
                "a retrier with States.ALL must be the last one",
            );
        }
        let int = |k: &str, min: u64, max: u64, default: u64, d: &mut Diags| -> u64 {
            match rm.get(k) {
                None => default,
                Some(v) => match v.as_u64().filter(|n| *n >= min && *n <= max) {
                    Some(n) => n,
                    None => {
                        d.push(
                            format!("{rptr}/{k}"),
                            format!("{k} must be an integer from {min} to {max}"),
                        );
                        default
                    }
                },
            }
        };
        let interval = int("IntervalSeconds", 1, 99_999_999, 1, d);
        let max_attempts = int("MaxAttempts", 0, 99_999_999, 3, d);
        // "greater than 0 and less than 31622401" (a year)
        let max_delay = rm
            .get("MaxDelaySeconds")
            .map(|_| int("MaxDelaySeconds", 1, 31_622_400, 1, d));
        let backoff = match rm.get("BackoffRate") {
            None => 2.0,
            Some(v) => match v.as_f64().filter(|n| *n >= 1.0) {
                Some(n) => n,
                None => {
                    d.push(
                        format!("{rptr}/BackoffRate"),
                        "BackoffRate must be a number at least 1.0",
                    );
                    2.0
                }
            },
        };
        let jitter_full = match rm.get("JitterStrategy") {
            None => false,
            Some(Value::String(s)) if s == "FULL" => true,
            Some(Value::String(s)) if s == "NONE" => false,
            Some(_) => {
                d.push(
                    format!("{rptr}/JitterStrategy"),
                    "JitterStrategy must be \"FULL\" or \"NONE\"",
                );
                false
            }
        };
        out.push(Retrier {
            error_equals: errs,
            interval_seconds: interval as f64,
            max_attempts: max_attempts as u32,
            backoff_rate: backoff,
            max_delay_seconds: max_delay.map(|n| n as f64),
            jitter_full,
        });
    }
    out
}

fn parse_catch(
    m: &Map<String, Value>,
    ptr: &str,
    names_map: &HashMap<String, usize>,
    jsonata: bool,
    d: &mut Diags,
) -> Vec<Catcher> {
    let Some(v) = m.get("Catch") else {
        return Vec::new();
    };
    let Some(list) = v.as_array() else {
        d.push(format!("{ptr}/Catch"), "Catch must be an array of catchers");
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, c) in list.iter().enumerate() {
        let cptr = format!("{ptr}/Catch/{i}");
        let Some(cm) = c.as_object() else {
            d.push(cptr, "a catcher must be an object");
            continue;
        };
        check_fields(
            cm,
            &cptr,
            &[
                "ErrorEquals",
                "Next",
                "ResultPath",
                "Comment",
                "Output",
                "Assign",
            ],
            "a catcher",
            d,
        );
        let errs = error_equals(cm, &cptr, d);
        if errs.iter().any(|e| e == names::ALL) && i + 1 != list.len() {
            d.push(
                format!("{cptr}/ErrorEquals"),
                "a catcher with States.ALL must be the last one",
            );
        }
        let next = match cm.get("Next") {
            Some(Value::String(n)) => match names_map.get(n) {
                Some(&i) => Some(i),
                None => {
                    d.push(
                        format!("{cptr}/Next"),
                        format!("no state named {n:?}{}", d.suggest(n, names_map)),
                    );
                    None
                }
            },
            _ => {
                d.push(&cptr, "a catcher must have Next");
                None
            }
        };
        let result_path = path_field(cm, "ResultPath", &cptr, true, d);
        if jsonata && cm.contains_key("ResultPath") {
            d.push(
                format!("{cptr}/ResultPath"),
                "ResultPath is a field of JSONPath catchers; this state's QueryLanguage is JSONata (use Output)",
            );
        }
        if let Some(next) = next {
            let mut jfield = |key: &str| -> Option<JTemplate> {
                match JTemplate::compile(cm.get(key)?) {
                    Ok(t) => Some(t),
                    Err(errors) => {
                        for (p, msg) in errors {
                            d.push(format!("{cptr}/{key}{p}"), msg);
                        }
                        None
                    }
                }
            };
            let output = if jsonata {
                jfield("Output")
            } else {
                if cm.contains_key("Output") {
                    d.push(
                        format!("{cptr}/Output"),
                        "Output is a field of JSONata catchers; this state's QueryLanguage is JSONPath (use ResultPath)",
                    );
                }
                None
            };
            let assign = parse_assign(cm.get("Assign"), jsonata, &cptr, d);
            out.push(Catcher {
                error_equals: errs,
                next,
                result_path,
                output,
                assign,
            });
        }
    }
    out
}

fn parse_map(m: &Map<String, Value>, ptr: &str, d: &mut Diags) -> Option<MapState> {
    let (key, proc) = match (m.get("ItemProcessor"), m.get("Iterator")) {
        (Some(_), Some(_)) => {
            d.push(
                ptr,
                "a Map state cannot have both ItemProcessor and Iterator",
            );
            return None;
        }
        (Some(p), None) => ("ItemProcessor", p),
        (None, Some(p)) => ("Iterator", p),
        (None, None) => {
            d.push(
                ptr,
                "a Map state must have ItemProcessor (or the legacy Iterator)",
            );
            return None;
        }
    };
    let pptr = format!("{ptr}/{key}");
    let Some(pm) = proc.as_object() else {
        d.push(pptr, format!("{key} must be an object"));
        return None;
    };
    check_fields(
        pm,
        &pptr,
        &[
            "StartAt",
            "States",
            "Comment",
            "ProcessorConfig",
            "QueryLanguage",
        ],
        &format!("an {key}"),
        d,
    );
    let mut distributed = false;
    let mut express = false;
    if let Some(pc) = pm.get("ProcessorConfig") {
        let cptr = format!("{pptr}/ProcessorConfig");
        match pc.as_object() {
            Some(pc) => {
                check_fields(
                    pc,
                    &cptr,
                    &["Mode", "ExecutionType"],
                    "a ProcessorConfig",
                    d,
                );
                match pc.get("Mode") {
                    None => {}
                    Some(v) if v == "INLINE" => {}
                    Some(v) if v == "DISTRIBUTED" => distributed = true,
                    Some(other) => d.push(
                        format!("{cptr}/Mode"),
                        format!("Mode must be INLINE or DISTRIBUTED, not {other}"),
                    ),
                }
                match pc.get("ExecutionType") {
                    // "You must provide this field if you specified DISTRIBUTED".
                    None if distributed => d.push(
                        &cptr,
                        "a DISTRIBUTED Map needs ExecutionType (STANDARD or EXPRESS)",
                    ),
                    None => {}
                    Some(Value::String(t)) if t == "STANDARD" => {}
                    Some(Value::String(t)) if t == "EXPRESS" => express = true,
                    Some(other) => d.push(
                        format!("{cptr}/ExecutionType"),
                        format!("ExecutionType must be STANDARD or EXPRESS, not {other}"),
                    ),
                }
            }
            None => d.push(cptr, "ProcessorConfig must be an object"),
        }
    }
    let processor = parse_machine(pm, &pptr, d)?;
    let items_path = match m.get("ItemsPath") {
        None => None,
        Some(Value::String(s)) => match Path::parse_reference(s) {
            Ok(p) if p.is_root() => None,
            Ok(p) => Some(p),
            Err(e) => {
                d.push(format!("{ptr}/ItemsPath"), e);
                None
            }
        },
        Some(_) => {
            d.push(format!("{ptr}/ItemsPath"), "ItemsPath must be a path");
            None
        }
    };
    let item_selector = template_field(m, "ItemSelector", ptr, d);
    let max_concurrency = match (m.get("MaxConcurrency"), m.get("MaxConcurrencyPath")) {
        (Some(Value::String(_)), None) => number_field(m, "MaxConcurrency", ptr, false, d),
        (Some(v), None) => match v.as_u64() {
            Some(n) => Some(Number::Literal(n as f64)),
            None => {
                d.push(
                    format!("{ptr}/MaxConcurrency"),
                    "MaxConcurrency must be a non-negative integer",
                );
                None
            }
        },
        _ => number_field(m, "MaxConcurrency", ptr, false, d),
    };
    let tolerated_failure_count = whole(
        number_field(m, "ToleratedFailureCount", ptr, false, d),
        "ToleratedFailureCount",
        ptr,
        d,
    );
    let tolerated_failure_percentage = number_field(m, "ToleratedFailurePercentage", ptr, false, d);
    if let Some(Number::Literal(p)) = &tolerated_failure_percentage {
        if *p > 100.0 {
            d.push(
                format!("{ptr}/ToleratedFailurePercentage"),
                "ToleratedFailurePercentage must be between 0 and 100",
            );
        }
    }
    let item_reader = m
        .get("ItemReader")
        .and_then(|v| parse_item_reader(v, &format!("{ptr}/ItemReader"), d));
    let item_batcher = m
        .get("ItemBatcher")
        .and_then(|v| parse_item_batcher(v, &format!("{ptr}/ItemBatcher"), d));
    let result_writer = m
        .get("ResultWriter")
        .and_then(|v| parse_result_writer(v, &format!("{ptr}/ResultWriter"), d));
    if !distributed {
        for key in ["ItemReader", "ItemBatcher", "ResultWriter"] {
            if m.contains_key(key) {
                d.push(
                    format!("{ptr}/{key}"),
                    format!("{key} needs a DISTRIBUTED Map (ItemProcessor.ProcessorConfig.Mode)"),
                );
            }
        }
    }
    if let Some(label) = m.get("Label").filter(|l| !l.is_string()) {
        d.push(
            format!("{ptr}/Label"),
            format!("Label must be a string, not {label}"),
        );
    }
    if let Some(Value::String(label)) = m.get("Label") {
        if label.chars().count() > 40
            || label.chars().any(|c| {
                c.is_whitespace() || c.is_control() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c)
            })
        {
            d.push(
                format!("{ptr}/Label"),
                "Label must be at most 40 characters, without spaces, brackets, wildcards or special characters",
            );
        }
    }
    let mut processor_source = proc.clone();
    if let Some(o) = processor_source.as_object_mut() {
        o.remove("ProcessorConfig");
    }
    Some(MapState {
        items: None,
        item_selector_jsonata: None,
        items_path,
        item_selector,
        processor: Arc::new(processor),
        distributed,
        max_concurrency,
        tolerated_failure_count,
        tolerated_failure_percentage,
        label: m.get("Label").and_then(|v| v.as_str()).map(String::from),
        express,
        processor_source: Arc::new(processor_source),
        item_reader,
        item_batcher,
        result_writer,
    })
}

/// `Parameters` of an `ItemReader` or `ResultWriter` in a JSONPath state (a payload
/// template), `Arguments` in a JSONata state; `what` names the owner for messages.
fn parameters_field(
    m: &Map<String, Value>,
    ptr: &str,
    what: &str,
    d: &mut Diags,
) -> Option<Payload> {
    let (key, other) = if d.2 {
        ("Arguments", "Parameters")
    } else {
        ("Parameters", "Arguments")
    };
    if m.contains_key(other) {
        d.push(
            format!("{ptr}/{other}"),
            format!(
                "in a {} state {what} takes {key}, not {other}",
                if d.2 { "JSONata" } else { "JSONPath" }
            ),
        );
    }
    match m.get(key) {
        None => None,
        Some(Value::Object(_)) if !d.2 => template_field(m, key, ptr, d).map(Payload::Path),
        Some(v @ (Value::Object(_) | Value::String(_))) if d.2 => {
            jsonata_payload(v, &format!("{ptr}/{key}"), d).map(Payload::Jsonata)
        }
        Some(_) => {
            d.push(format!("{ptr}/{key}"), format!("{key} must be an object"));
            None
        }
    }
}

/// A JSONata state's payload: an object (or array, or `{% %}` string) with expressions.
fn jsonata_payload(v: &Value, ptr: &str, d: &mut Diags) -> Option<JTemplate> {
    match JTemplate::compile(v) {
        Ok(t) => Some(t),
        Err(errors) => {
            for (p, msg) in errors {
                d.push(format!("{ptr}{p}"), msg);
            }
            None
        }
    }
}

fn parse_item_reader(v: &Value, ptr: &str, d: &mut Diags) -> Option<ItemReader> {
    let Some(m) = v.as_object() else {
        d.push(ptr, "ItemReader must be an object");
        return None;
    };
    check_fields(
        m,
        ptr,
        &["Resource", "Parameters", "Arguments", "ReaderConfig"],
        "an ItemReader",
        d,
    );
    let resource = match m.get("Resource").and_then(|r| r.as_str()) {
        Some("arn:aws:states:::s3:getObject") => ReaderResource::GetObject,
        Some("arn:aws:states:::s3:listObjectsV2") => ReaderResource::ListObjectsV2,
        Some(other) => {
            d.push(
                format!("{ptr}/Resource"),
                format!("unsupported ItemReader resource {other:?}: use arn:aws:states:::s3:getObject or arn:aws:states:::s3:listObjectsV2"),
            );
            return None;
        }
        None => {
            d.push(ptr, "an ItemReader needs a Resource");
            return None;
        }
    };
    let parameters = parameters_field(m, ptr, "an ItemReader", d);
    let mut reader = ItemReader {
        resource,
        parameters,
        input_type: None,
        csv_headers: None,
        csv_delimiter: b',',
        max_items: None,
        items_pointer: None,
    };
    let Some(rc) = m.get("ReaderConfig") else {
        if resource == ReaderResource::GetObject {
            d.push(
                ptr,
                "an ItemReader with s3:getObject needs ReaderConfig.InputType",
            );
        }
        return Some(reader);
    };
    let cptr = format!("{ptr}/ReaderConfig");
    let Some(rc) = rc.as_object() else {
        d.push(cptr, "ReaderConfig must be an object");
        return None;
    };
    check_fields(
        rc,
        &cptr,
        &[
            "InputType",
            "CSVHeaderLocation",
            "CSVHeaders",
            "CSVDelimiter",
            "MaxItems",
            "MaxItemsPath",
            "ItemsPointer",
        ],
        "a ReaderConfig",
        d,
    );
    reader.input_type = match rc.get("InputType").and_then(|t| t.as_str()) {
        None => None,
        Some("JSON") => Some(InputType::Json),
        Some("JSONL") => Some(InputType::Jsonl),
        Some("CSV") => Some(InputType::Csv),
        Some("MANIFEST") => Some(InputType::Manifest),
        Some(other) => {
            d.push(
                format!("{cptr}/InputType"),
                format!("InputType must be CSV, JSON, JSONL or MANIFEST, not {other:?}"),
            );
            None
        }
    };
    if resource == ReaderResource::GetObject && reader.input_type.is_none() {
        d.push(&cptr, "an ItemReader with s3:getObject needs InputType");
    }
    let location = rc.get("CSVHeaderLocation").and_then(|t| t.as_str());
    match (location, rc.get("CSVHeaders")) {
        (None | Some("FIRST_ROW"), None) => {}
        (Some("GIVEN"), Some(Value::Array(h))) => {
            let headers: Vec<String> = h
                .iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect();
            if headers.len() != h.len() || headers.is_empty() {
                d.push(
                    format!("{cptr}/CSVHeaders"),
                    "CSVHeaders must be a non-empty array of strings",
                );
            }
            reader.csv_headers = Some(headers);
        }
        (Some("GIVEN"), _) => d.push(
            &cptr,
            "CSVHeaderLocation GIVEN needs CSVHeaders, an array of strings",
        ),
        (None | Some("FIRST_ROW"), Some(_)) => d.push(
            format!("{cptr}/CSVHeaders"),
            "CSVHeaders needs CSVHeaderLocation GIVEN",
        ),
        (Some(other), _) => d.push(
            format!("{cptr}/CSVHeaderLocation"),
            format!("CSVHeaderLocation must be FIRST_ROW or GIVEN, not {other:?}"),
        ),
    }
    reader.csv_delimiter = match rc.get("CSVDelimiter").and_then(|t| t.as_str()) {
        None | Some("COMMA") => b',',
        Some("PIPE") => b'|',
        Some("SEMICOLON") => b';',
        Some("SPACE") => b' ',
        Some("TAB") => b'\t',
        Some(other) => {
            d.push(
                format!("{cptr}/CSVDelimiter"),
                format!("CSVDelimiter must be COMMA, PIPE, SEMICOLON, SPACE or TAB, not {other:?}"),
            );
            b','
        }
    };
    reader.max_items = whole(
        number_field(rc, "MaxItems", &cptr, false, d),
        "MaxItems",
        &cptr,
        d,
    );
    match rc.get("ItemsPointer") {
        None => {}
        Some(Value::String(p)) if p.is_empty() || p.starts_with('/') => {
            reader.items_pointer = Some(p.clone())
        }
        Some(_) => d.push(
            format!("{cptr}/ItemsPointer"),
            "ItemsPointer must be a JSON pointer (\"/items\")",
        ),
    }
    Some(reader)
}

fn parse_item_batcher(v: &Value, ptr: &str, d: &mut Diags) -> Option<ItemBatcher> {
    let Some(m) = v.as_object() else {
        d.push(ptr, "ItemBatcher must be an object");
        return None;
    };
    check_fields(
        m,
        ptr,
        &[
            "MaxItemsPerBatch",
            "MaxItemsPerBatchPath",
            "MaxInputBytesPerBatch",
            "MaxInputBytesPerBatchPath",
            "BatchInput",
        ],
        "an ItemBatcher",
        d,
    );
    let batcher = ItemBatcher {
        max_items_per_batch: number_field(m, "MaxItemsPerBatch", ptr, true, d),
        max_input_bytes_per_batch: number_field(m, "MaxInputBytesPerBatch", ptr, true, d),
        batch_input: match m.get("BatchInput") {
            Some(v) if d.2 => {
                jsonata_payload(v, &format!("{ptr}/BatchInput"), d).map(Payload::Jsonata)
            }
            _ => template_field(m, "BatchInput", ptr, d).map(Payload::Path),
        },
    };
    if batcher.max_items_per_batch.is_none() && batcher.max_input_bytes_per_batch.is_none() {
        d.push(
            ptr,
            "an ItemBatcher needs MaxItemsPerBatch or MaxInputBytesPerBatch (or their Path forms)",
        );
    }
    Some(batcher)
}

fn parse_result_writer(v: &Value, ptr: &str, d: &mut Diags) -> Option<ResultWriter> {
    let Some(m) = v.as_object() else {
        d.push(ptr, "ResultWriter must be an object");
        return None;
    };
    check_fields(
        m,
        ptr,
        &["Resource", "Parameters", "Arguments", "WriterConfig"],
        "a ResultWriter",
        d,
    );
    let key = if d.2 { "Arguments" } else { "Parameters" };
    match (m.get("Resource"), m.get(key)) {
        (None, None) if !m.contains_key("WriterConfig") => {
            d.push(
                ptr,
                format!("a ResultWriter needs Resource and {key}, or WriterConfig"),
            );
        }
        (None, None) => {}
        (Some(Value::String(r)), Some(_)) if r == "arn:aws:states:::s3:putObject" => {}
        (Some(Value::String(r)), _) if r != "arn:aws:states:::s3:putObject" => d.push(
            format!("{ptr}/Resource"),
            format!("unsupported ResultWriter resource {r:?}: use arn:aws:states:::s3:putObject"),
        ),
        _ => d.push(ptr, format!("a ResultWriter needs both Resource and {key}")),
    }
    let parameters = parameters_field(m, ptr, "a ResultWriter", d);
    let exporting = parameters.is_some();
    let mut transformation = if exporting {
        Transformation::None
    } else {
        Transformation::Compact
    };
    let mut jsonl = false;
    if let Some(wc) = m.get("WriterConfig") {
        let wptr = format!("{ptr}/WriterConfig");
        let Some(wc) = wc.as_object() else {
            d.push(wptr, "WriterConfig must be an object");
            return None;
        };
        check_fields(
            wc,
            &wptr,
            &["Transformation", "OutputType"],
            "a WriterConfig",
            d,
        );
        match wc.get("Transformation").and_then(|t| t.as_str()) {
            None => {}
            Some("NONE") => transformation = Transformation::None,
            Some("COMPACT") => transformation = Transformation::Compact,
            Some("FLATTEN") => transformation = Transformation::Flatten,
            Some(other) => d.push(
                format!("{wptr}/Transformation"),
                format!("Transformation must be NONE, COMPACT or FLATTEN, not {other:?}"),
            ),
        }
        match wc.get("OutputType").and_then(|t| t.as_str()) {
            None | Some("JSON") => {}
            Some("JSONL") => jsonl = true,
            Some(other) => d.push(
                format!("{wptr}/OutputType"),
                format!("OutputType must be JSON or JSONL, not {other:?}"),
            ),
        }
    }
    Some(ResultWriter {
        parameters,
        transformation,
        jsonl,
    })
}

/// `Assign` of a state or of a choice rule: JSONata expressions, or a JSONPath template.
fn parse_assign(v: Option<&Value>, jsonata: bool, ptr: &str, d: &mut Diags) -> Option<Assign> {
    if let Some(Value::Object(m)) = v {
        for k in m.keys() {
            // A JSONPath Assign marks a path or intrinsic with `.$`; the name is what precedes.
            let name = if jsonata {
                k.as_str()
            } else {
                k.strip_suffix(".$").unwrap_or(k)
            };
            if !super::is_variable_name(name) {
                d.push(
                    format!("{ptr}/Assign/{}", escape_pointer(k)),
                    format!(
                        "{name:?} is not a variable name: a Unicode letter (ID_Start) or _, then letters, digits, marks or _ (ID_Continue), at most 80 characters"
                    ),
                );
            }
        }
    }
    match v? {
        v @ Value::Object(_) if jsonata => match JTemplate::compile(v) {
            Ok(t) => Some(Assign::Jsonata(t)),
            Err(errors) => {
                for (p, msg) in errors {
                    d.push(format!("{ptr}/Assign{p}"), msg);
                }
                None
            }
        },
        v @ Value::Object(_) => match Template::compile(v) {
            Ok(t) => Some(Assign::JsonPath(t)),
            Err(errors) => {
                for e in errors {
                    d.push(format!("{ptr}/Assign{}", e.pointer), e.message);
                }
                None
            }
        },
        _ => {
            d.push(
                format!("{ptr}/Assign"),
                "Assign must be an object of variables",
            );
            None
        }
    }
}
