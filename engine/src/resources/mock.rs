//! Mocked task responses in AWS Step Functions Local's MockConfigFile format.
//!
//! Responses are numbered by invocation of the state (`"0"`, `"1-2"`, ...), the count shared
//! across Map iterations and retries. An invocation past the last number gets the last response.

use crate::failure::Failure;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;

/// Why a mock configuration could not be used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Error {
    #[error("{0}")]
    Invalid(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    Return(Value),
    Throw(Failure),
}

impl Response {
    /// The task result for `resource`: a legacy Lambda ARN yields the Invoke response's `Payload`.
    pub fn apply(&self, resource: &str) -> Result<Value, Failure> {
        match self {
            Response::Throw(f) => Err(f.clone()),
            Response::Return(v) => {
                if super::is_legacy_lambda(resource) {
                    if let Some(p) = v.get("Payload") {
                        return Ok(p.clone());
                    }
                }
                Ok(v.clone())
            }
        }
    }
}

/// The mocks of one test case: per state, its numbered responses.
#[derive(Debug, Default)]
pub struct MockSet {
    /// The name of the test case the mocks come from.
    pub case: String,
    states: HashMap<String, Vec<(u32, u32, Response)>>,
    counters: Mutex<HashMap<String, u32>>,
}

impl MockSet {
    /// Selects a test case from a MockConfigFile. `machine` is the state machine's name;
    /// when the file holds one state machine (or it has one test case), naming it is optional.
    pub fn from_config(
        config: &Value,
        machine: Option<&str>,
        test_case: Option<&str>,
    ) -> Result<MockSet, Error> {
        let invalid = |m: String| Error::Invalid(m);
        let machines = config
            .get("StateMachines")
            .and_then(|v| v.as_object())
            .ok_or_else(|| invalid("the mock config has no \"StateMachines\" object".into()))?;
        let sm = match machine.and_then(|m| machines.get(m)) {
            Some(sm) => sm,
            None if machines.len() == 1 => machines.values().next().expect("one"),
            None => {
                return Err(invalid(format!(
                    "the mock config has no state machine named {:?} (it has: {}); name it with --state-machine-name",
                    machine.unwrap_or(""),
                    machines.keys().cloned().collect::<Vec<_>>().join(", ")
                )))
            }
        };
        let cases = sm
            .get("TestCases")
            .and_then(|v| v.as_object())
            .ok_or_else(|| {
                invalid("the state machine in the mock config has no \"TestCases\"".into())
            })?;
        let (case_name, case) = match test_case {
            Some(name) => (
                name.to_string(),
                cases.get(name).ok_or_else(|| {
                    invalid(format!(
                        "no test case named {name:?} (there are: {})",
                        cases.keys().cloned().collect::<Vec<_>>().join(", ")
                    ))
                })?,
            ),
            None if cases.len() == 1 => {
                let (k, v) = cases.iter().next().expect("one");
                (k.clone(), v)
            }
            None => {
                return Err(invalid(format!(
                    "the mock config has {} test cases: choose one with --test-case ({})",
                    cases.len(),
                    cases.keys().cloned().collect::<Vec<_>>().join(", ")
                )))
            }
        };
        let responses = config.get("MockedResponses").and_then(|v| v.as_object());
        let case = case.as_object().ok_or_else(|| {
            invalid(format!(
                "test case {case_name:?} must be an object of state names and mocked responses"
            ))
        })?;
        let mut states = HashMap::new();
        for (state, response_name) in case {
            let response_name = response_name.as_str().ok_or_else(|| {
                invalid(format!(
                    "the mock of state {state:?} must name a mocked response"
                ))
            })?;
            let numbered = responses
                .and_then(|r| r.get(response_name))
                .and_then(|r| r.as_object())
                .ok_or_else(|| {
                    invalid(format!(
                        "state {state:?} uses mocked response {response_name:?}, which MockedResponses does not define"
                    ))
                })?;
            let mut list = Vec::new();
            for (key, body) in numbered {
                let (from, to) = parse_range(key).ok_or_else(|| {
                    invalid(format!(
                        "mocked response {response_name:?}: {key:?} is not an invocation number or range such as \"0\" or \"1-2\""
                    ))
                })?;
                list.push((
                    from,
                    to,
                    parse_response(body).map_err(|m| {
                        invalid(format!("mocked response {response_name:?}/{key}: {m}"))
                    })?,
                ));
            }
            list.sort_by_key(|(from, _, _)| *from);
            states.insert(state.clone(), list);
        }
        Ok(MockSet {
            case: case_name,
            states,
            counters: Mutex::new(HashMap::new()),
        })
    }

    /// Whether the state has a mock in this test case.
    /// The states the test case mocks.
    pub fn states(&self) -> impl Iterator<Item = &str> {
        self.states.keys().map(String::as_str)
    }

    pub fn has(&self, state: &str) -> bool {
        self.states.contains_key(state)
    }

    /// The response for the state's next invocation, counting it.
    pub fn next_response(&self, state: &str) -> Option<Response> {
        let list = self.states.get(state)?;
        let n = {
            let mut counters = self.counters.lock().ok()?;
            let c = counters.entry(state.to_string()).or_insert(0);
            let n = *c;
            *c += 1;
            n
        };
        // Step Functions Local: an invocation with no mocked response fails the execution.
        Some(
            list.iter()
                .find(|(from, to, _)| n >= *from && n <= *to)
                .map(|(_, _, r)| r.clone())
                .unwrap_or_else(|| {
                    Response::Throw(Failure::runtime(format!(
                        "test case '{}' has no mocked response for invocation {n} of state '{state}' (invocations count from 0, retries included)",
                        self.case
                    )))
                }),
        )
    }
}

fn parse_range(key: &str) -> Option<(u32, u32)> {
    match key.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
            (a <= b).then_some((a, b))
        }
        None => {
            let n = key.trim().parse().ok()?;
            Some((n, n))
        }
    }
}

/// A response holds one field, `Return` (any value) or `Throw` (an object with `Error` and
/// `Cause` strings), as Step Functions Local requires.
fn parse_response(v: &Value) -> Result<Response, String> {
    let fields = v
        .as_object()
        .ok_or("a response must be an object with \"Return\" or \"Throw\"")?;
    if fields.len() != 1 {
        return Err(format!(
            "a response must hold one field, \"Return\" or \"Throw\" (it has: {})",
            fields.keys().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    if let Some(r) = fields.get("Return") {
        return Ok(Response::Return(r.clone()));
    }
    if let Some(t) = fields.get("Throw") {
        let s = |k: &str| {
            t.get(k)
                .and_then(|x| x.as_str())
                .map(String::from)
                .ok_or(format!("\"Throw\" needs \"{k}\", a string"))
        };
        return Ok(Response::Throw(Failure::from_task(
            s("Error")?,
            s("Cause")?,
        )));
    }
    Err("a response must hold \"Return\" or \"Throw\"".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbered_responses_and_ranges() {
        let cfg = json!({
            "StateMachines": {"M": {"TestCases": {"T": {"S": "R"}}}},
            "MockedResponses": {"R": {
                "0": {"Throw": {"Error": "E", "Cause": "C"}},
                "1-2": {"Return": {"n": 1}},
                "3": {"Return": {"n": 3}}}}
        });
        let m = MockSet::from_config(&cfg, None, None).unwrap();
        assert_eq!(
            m.next_response("S"),
            Some(Response::Throw(Failure::from_task("E", "C")))
        );
        assert_eq!(
            m.next_response("S"),
            Some(Response::Return(json!({"n": 1})))
        );
        assert_eq!(
            m.next_response("S"),
            Some(Response::Return(json!({"n": 1})))
        );
        assert_eq!(
            m.next_response("S"),
            Some(Response::Return(json!({"n": 3})))
        );
        // Past the last one: no response, which fails the execution (States.Runtime).
        match m.next_response("S") {
            Some(Response::Throw(f)) => {
                assert_eq!(f.error, "States.Runtime");
                assert!(f.cause.contains("invocation 4 of state 'S'"), "{}", f.cause);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(m.next_response("Other"), None);
    }

    #[test]
    fn a_response_is_one_field_and_a_throw_has_error_and_cause() {
        let with = |r: Value| {
            json!({"StateMachines": {"M": {"TestCases": {"T": {"S": "R"}}}},
                   "MockedResponses": {"R": {"0": r}}})
        };
        for bad in [
            json!({"Return": 1, "Throw": {"Error": "E", "Cause": "C"}}),
            json!({"Return": 1, "Foo": 1}),
            json!({"Throw": "boom"}),
            json!({"Throw": {}}),
            json!({"Throw": {"Error": 42, "Cause": "C"}}),
            json!({"Throw": {"Error": "E"}}),
            json!("Return"),
        ] {
            assert!(
                MockSet::from_config(&with(bad.clone()), None, None).is_err(),
                "{bad}"
            );
        }
        // A state whose mocked response has no invocations at all: mocked, never run.
        let cfg = json!({"StateMachines": {"M": {"TestCases": {"T": {"S": "R"}}}},
                         "MockedResponses": {"R": {}}});
        let m = MockSet::from_config(&cfg, None, None).unwrap();
        assert!(m.has("S"));
        assert!(matches!(m.next_response("S"), Some(Response::Throw(_))));
    }

    #[test]
    fn errors_name_what_is_missing() {
        let cfg = json!({"StateMachines": {"A": {"TestCases": {"x": 5}}}});
        let e = MockSet::from_config(&cfg, Some("A"), Some("x")).unwrap_err();
        assert!(
            e.to_string().contains("test case \"x\" must be an object"),
            "{e}"
        );
        let cfg = json!({"StateMachines": {"A": {"TestCases": {"x": {}, "y": {}}}}});
        let e = MockSet::from_config(&cfg, Some("A"), None).unwrap_err();
        assert!(e.to_string().contains("--test-case"), "{e}");
        let cfg = json!({"StateMachines": {"A": {"TestCases": {"x": {"S": "Nope"}}}}, "MockedResponses": {}});
        let e = MockSet::from_config(&cfg, None, Some("x")).unwrap_err();
        assert!(e.to_string().contains("Nope"), "{e}");
    }
}
