//! The resources file: what a workflow's Task states reach locally — functions (a command, a
//! Lambda-Invoke-API endpoint, or a built-in), state machines for nested executions, and the
//! connections of HTTP tasks. Every problem is reported with its JSON pointer.

use crate::definition::Diagnostic;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// How a function runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Function {
    /// A program: the event as JSON on stdin, the result as JSON on stdout; run without a shell.
    Command {
        argv: Vec<String>,
        env: Vec<(String, String)>,
        timeout_seconds: u64,
    },
    /// A server speaking the Lambda Invoke API (`POST /2015-03-31/functions/NAME/invocations`).
    Endpoint { url: String, name: String },
    /// A function of asl's own (see `builtin.rs`).
    Builtin(String),
}

/// A state machine that nested executions may start.
#[derive(Debug, Clone, PartialEq)]
pub struct Machine {
    pub definition: PathBuf,
    pub subs: Vec<(String, String)>,
    /// An EXPRESS state machine: the log level its executions' histories keep (`logLevel`,
    /// default ALL); `None` for a STANDARD one.
    pub express: Option<crate::history::level::LogLevel>,
}

/// An EventBridge-style connection: its credentials, and the parameters it adds to every
/// request it authorizes (`InvocationHttpParameters`).
#[derive(Debug, Clone, PartialEq)]
pub struct Connection {
    pub auth: Auth,
    pub invocation: HttpParameters,
}

/// Credentials of a connection.
#[derive(Debug, Clone, PartialEq)]
pub enum Auth {
    ApiKey {
        name: String,
        value: String,
    },
    Basic {
        username: String,
        password: String,
    },
    OAuth {
        token_url: String,
        client_id: String,
        client_secret: String,
        scope: Option<String>,
        /// The method of the token request (`HttpMethod`: GET, POST or PUT; POST by default).
        method: String,
        /// What the token request carries besides the client credentials
        /// (`OAuthHttpParameters`).
        parameters: HttpParameters,
    },
}

/// Header, query string and body parameters of a connection (EventBridge's
/// `HeaderParameters`, `QueryStringParameters` and `BodyParameters`), in the file's order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HttpParameters {
    pub headers: Vec<(String, String)>,
    pub query: Vec<(String, String)>,
    pub body: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    pub functions: HashMap<String, Function>,
    pub machines: HashMap<String, Machine>,
    pub connections: HashMap<String, Connection>,
    /// `--sub` values of the run, applied to nested state machines after their own.
    pub run_subs: Vec<(String, String)>,
}

/// The default `timeoutSeconds` of a command function (Lambda's default is 3 s; ours is kinder).
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 30;

impl Config {
    /// Reads a resources file; relative paths in it are relative to the file.
    pub fn load(path: &Path) -> Result<Config, Vec<Diagnostic>> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            vec![Diagnostic {
                pointer: String::new(),
                message: format!("cannot read {}: {e}", path.display()),
            }]
        })?;
        let value: Value = serde_json::from_str(&text).map_err(|e| {
            vec![Diagnostic {
                pointer: String::new(),
                message: format!("not valid JSON: {e}"),
            }]
        })?;
        Config::from_value(&value, path.parent().unwrap_or(Path::new(".")))
    }

    pub fn from_value(v: &Value, base: &Path) -> Result<Config, Vec<Diagnostic>> {
        let mut errs = Vec::new();
        let mut push = |p: String, m: String| {
            errs.push(Diagnostic {
                pointer: p,
                message: m,
            })
        };
        let mut cfg = Config::default();
        let Some(top) = v.as_object() else {
            push(
                String::new(),
                "a resources file must be a JSON object".into(),
            );
            return Err(errs);
        };
        for k in top.keys() {
            if !matches!(k.as_str(), "functions" | "stateMachines" | "connections") {
                push(
                    format!("/{k}"),
                    format!("{k:?} is not a section of a resources file (functions, stateMachines, connections)"),
                );
            }
        }
        for (name, f) in section(top, "functions", &mut push) {
            let ptr = format!("/functions/{name}");
            match parse_function(name, f, &ptr) {
                Ok(func) => {
                    cfg.functions.insert(name.clone(), func);
                }
                Err((p, m)) => push(p, m),
            }
        }
        for (name, m) in section(top, "stateMachines", &mut push) {
            let ptr = format!("/stateMachines/{name}");
            let Some(obj) = m.as_object() else {
                push(
                    ptr,
                    "a state machine must be an object with \"definition\"".into(),
                );
                continue;
            };
            let Some(def) = obj.get("definition").and_then(|d| d.as_str()) else {
                push(
                    ptr,
                    "a state machine needs \"definition\": the path of its ASL file".into(),
                );
                continue;
            };
            let level = match obj.get("logLevel") {
                None => Some(crate::history::level::LogLevel::All),
                Some(l) => {
                    let level = l.as_str().and_then(crate::history::level::LogLevel::parse);
                    if level.is_none() {
                        push(
                            format!("{ptr}/logLevel"),
                            "logLevel must be ALL, ERROR, FATAL or OFF".into(),
                        );
                    }
                    level
                }
            };
            let express = match obj.get("type").and_then(|t| t.as_str()) {
                None | Some("STANDARD") => None,
                Some("EXPRESS") => level,
                Some(other) => {
                    push(
                        format!("{ptr}/type"),
                        format!("type must be STANDARD or EXPRESS, not {other:?}"),
                    );
                    None
                }
            };
            let subs = obj
                .get("substitutions")
                .and_then(|s| s.as_object())
                .map(|s| {
                    s.iter()
                        .map(|(k, v)| {
                            let v = v
                                .as_str()
                                .map(String::from)
                                .unwrap_or_else(|| v.to_string());
                            (k.clone(), v)
                        })
                        .collect()
                })
                .unwrap_or_default();
            cfg.machines.insert(
                name.clone(),
                Machine {
                    definition: base.join(def),
                    subs,
                    express,
                },
            );
        }
        for (arn, c) in section(top, "connections", &mut push) {
            let ptr = format!("/connections/{}", arn.replace('~', "~0").replace('/', "~1"));
            match parse_connection(c, &ptr) {
                Ok(conn) => {
                    cfg.connections.insert(arn.clone(), conn);
                }
                Err((p, m)) => push(p, m),
            }
        }
        if errs.is_empty() {
            Ok(cfg)
        } else {
            Err(errs)
        }
    }

    /// The function a `FunctionName` or legacy Resource ARN names: the key itself, or the
    /// name inside `arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`.
    pub fn function(&self, name_or_arn: &str) -> Option<&Function> {
        if let Some(f) = self.functions.get(name_or_arn) {
            return Some(f);
        }
        let name = function_name(name_or_arn);
        self.functions.get(name)
    }

    /// The state machine a name or ARN (`...:stateMachine:NAME`) names.
    pub fn machine(&self, name_or_arn: &str) -> Option<(&str, &Machine)> {
        let name = name_or_arn
            .rsplit_once(":stateMachine:")
            .map(|(_, n)| n)
            .unwrap_or(name_or_arn);
        self.machines
            .get_key_value(name)
            .or_else(|| self.machines.get_key_value(name_or_arn))
            .map(|(k, m)| (k.as_str(), m))
    }
}

/// `NAME` out of a Lambda function ARN or a `NAME:QUALIFIER` (with or without a qualifier),
/// or the text itself.
pub fn function_name(name_or_arn: &str) -> &str {
    let rest = match name_or_arn.split_once(":function:") {
        Some((_, rest)) => rest,
        None => name_or_arn.strip_prefix("function:").unwrap_or(name_or_arn),
    };
    rest.split(':').next().unwrap_or(rest)
}

fn section<'a>(
    top: &'a Map<String, Value>,
    key: &str,
    push: &mut impl FnMut(String, String),
) -> Vec<(&'a String, &'a Value)> {
    match top.get(key) {
        None => Vec::new(),
        Some(Value::Object(m)) => m.iter().collect(),
        Some(_) => {
            push(format!("/{key}"), format!("{key} must be an object"));
            Vec::new()
        }
    }
}

fn parse_function(name: &str, f: &Value, ptr: &str) -> Result<Function, (String, String)> {
    let err = |p: &str, m: &str| (p.to_string(), m.to_string());
    let Some(obj) = f.as_object() else {
        return Err(err(
            ptr,
            "a function must be an object with \"command\", \"endpoint\" or \"builtin\"",
        ));
    };
    let kinds: Vec<&str> = ["command", "endpoint", "builtin"]
        .into_iter()
        .filter(|k| obj.contains_key(*k))
        .collect();
    if kinds.len() != 1 {
        return Err(err(
            ptr,
            "a function needs exactly one of \"command\", \"endpoint\" or \"builtin\"",
        ));
    }
    // The fields each kind takes: a misspelt one is an error, not a default applied silently.
    let fields: &[&str] = match kinds[0] {
        "command" => &["command", "timeoutSeconds", "environment"],
        "endpoint" => &["endpoint", "functionName"],
        _ => &["builtin"],
    };
    if let Some(k) = obj.keys().find(|k| !fields.contains(&k.as_str())) {
        return Err(err(
            &format!("{ptr}/{k}"),
            &format!(
                "{k:?} is not a field of a {} function ({})",
                kinds[0],
                fields.join(", ")
            ),
        ));
    }
    match kinds[0] {
        "command" => {
            let argv: Option<Vec<String>> = obj["command"]
                .as_array()
                .map(|a| a.iter().map(|x| x.as_str().map(String::from)).collect())
                .unwrap_or(None);
            let argv = argv.filter(|a| !a.is_empty()).ok_or_else(|| {
                err(
                    &format!("{ptr}/command"),
                    "command must be a non-empty array of strings: the program and its arguments (no shell)",
                )
            })?;
            let timeout_seconds = match obj.get("timeoutSeconds") {
                None => DEFAULT_TIMEOUT_SECONDS,
                Some(t) => t.as_u64().filter(|n| *n > 0).ok_or_else(|| {
                    err(
                        &format!("{ptr}/timeoutSeconds"),
                        "timeoutSeconds must be a positive integer",
                    )
                })?,
            };
            if obj.get("environment").is_some_and(|e| !e.is_object()) {
                return Err(err(
                    &format!("{ptr}/environment"),
                    "environment must be an object of variable names and values",
                ));
            }
            let env = obj
                .get("environment")
                .and_then(|e| e.as_object())
                .map(|e| {
                    e.iter()
                        .map(|(k, v)| {
                            (
                                k.clone(),
                                v.as_str()
                                    .map(String::from)
                                    .unwrap_or_else(|| v.to_string()),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            Ok(Function::Command {
                argv,
                env,
                timeout_seconds,
            })
        }
        "endpoint" => {
            let url = obj["endpoint"]
                .as_str()
                .filter(|u| u.starts_with("http://") || u.starts_with("https://"));
            let url = url.ok_or_else(|| {
                err(
                    &format!("{ptr}/endpoint"),
                    "endpoint must be an http:// or https:// URL",
                )
            })?;
            let remote = obj
                .get("functionName")
                .and_then(|n| n.as_str())
                .unwrap_or(name);
            Ok(Function::Endpoint {
                url: url.trim_end_matches('/').to_string(),
                name: remote.to_string(),
            })
        }
        _ => {
            let b = obj["builtin"].as_str().unwrap_or("");
            if !super::builtin::NAMES.contains(&b) {
                return Err(err(
                    &format!("{ptr}/builtin"),
                    &format!(
                        "unknown built-in function {b:?} (there are: {})",
                        super::builtin::NAMES.join(", ")
                    ),
                ));
            }
            Ok(Function::Builtin(b.to_string()))
        }
    }
}

/// A connection: one of `apiKey`, `basic` or `oauth`, and `invocationHttpParameters`. Problems
/// come with the pointer (below `ptr`) of what is wrong.
fn parse_connection(c: &Value, ptr: &str) -> Result<Connection, (String, String)> {
    let s = |v: &Value, k: &str| v.get(k).and_then(|x| x.as_str()).map(String::from);
    let whole = |m: &str| (ptr.to_string(), m.to_string());
    let Some(obj) = c.as_object() else {
        return Err(whole("a connection must be an object"));
    };
    for k in obj.keys() {
        if !matches!(
            k.as_str(),
            "apiKey" | "basic" | "oauth" | "invocationHttpParameters"
        ) {
            return Err((
                format!("{ptr}/{k}"),
                format!("{k:?} is not a field of a connection (apiKey, basic, oauth, invocationHttpParameters)"),
            ));
        }
    }
    let invocation = match obj.get("invocationHttpParameters") {
        None => HttpParameters::default(),
        Some(p) => parse_http_parameters(p, &format!("{ptr}/invocationHttpParameters"))?,
    };
    let auth = if let Some(k) = c.get("apiKey") {
        match (s(k, "name"), s(k, "value")) {
            (Some(name), Some(value)) => Auth::ApiKey { name, value },
            _ => return Err(whole("apiKey needs \"name\" and \"value\"")),
        }
    } else if let Some(b) = c.get("basic") {
        match (s(b, "username"), s(b, "password")) {
            (Some(username), Some(password)) => Auth::Basic { username, password },
            _ => return Err(whole("basic needs \"username\" and \"password\"")),
        }
    } else if let Some(o) = c.get("oauth") {
        let (Some(token_url), Some(client_id), Some(client_secret)) =
            (s(o, "tokenUrl"), s(o, "clientId"), s(o, "clientSecret"))
        else {
            return Err(whole(
                "oauth needs \"tokenUrl\", \"clientId\" and \"clientSecret\" (client credentials)",
            ));
        };
        let method = match o.get("httpMethod") {
            None => "POST".to_string(),
            Some(Value::String(m)) if matches!(m.as_str(), "GET" | "POST" | "PUT") => m.clone(),
            Some(_) => {
                return Err((
                    format!("{ptr}/oauth/httpMethod"),
                    "httpMethod must be GET, POST or PUT (EventBridge's HttpMethod)".into(),
                ))
            }
        };
        let parameters = match o.get("httpParameters") {
            None => HttpParameters::default(),
            Some(p) => parse_http_parameters(p, &format!("{ptr}/oauth/httpParameters"))?,
        };
        Auth::OAuth {
            token_url,
            client_id,
            client_secret,
            scope: s(o, "scope"),
            method,
            parameters,
        }
    } else {
        return Err(whole(
            "a connection needs one of \"apiKey\", \"basic\" or \"oauth\"",
        ));
    };
    Ok(Connection { auth, invocation })
}

/// `{"headers": {...}, "queryString": {...}, "body": {...}}`, each a map of names to strings.
fn parse_http_parameters(v: &Value, ptr: &str) -> Result<HttpParameters, (String, String)> {
    let Some(obj) = v.as_object() else {
        return Err((
            ptr.to_string(),
            "must be an object with \"headers\", \"queryString\" and/or \"body\"".into(),
        ));
    };
    let mut out = HttpParameters::default();
    for (k, section) in obj {
        let target = match k.as_str() {
            "headers" => &mut out.headers,
            "queryString" => &mut out.query,
            "body" => &mut out.body,
            _ => {
                return Err((
                    format!("{ptr}/{k}"),
                    format!("{k:?} is not one of \"headers\", \"queryString\", \"body\""),
                ))
            }
        };
        let Some(map) = section.as_object() else {
            return Err((
                format!("{ptr}/{k}"),
                "must be an object of names and string values".into(),
            ));
        };
        for (name, value) in map {
            let Some(text) = value.as_str() else {
                return Err((
                    format!("{ptr}/{k}/{name}"),
                    "a connection parameter's value is a string, as in EventBridge".into(),
                ));
            };
            target.push((name.clone(), text.to_string()));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn loads_functions_machines_and_connections() {
        let cfg = Config::from_value(
            &json!({
                "functions": {
                    "echo": {"command": ["cat"], "timeoutSeconds": 5},
                    "remote": {"endpoint": "http://127.0.0.1:3001/"},
                    "gen": {"builtin": "pizza.generateOrders"}
                },
                "stateMachines": {"Child": {"definition": "child.asl.json", "substitutions": {"X": "1"}}},
                "connections": {"arn:aws:events:us-east-1:1:connection/c/1": {"apiKey": {"name": "x-api-key", "value": "k"}}}
            }),
            Path::new("/base"),
        )
        .unwrap();
        assert_eq!(
            cfg.function("arn:aws:lambda:us-east-1:123456789012:function:echo:$LATEST"),
            Some(&Function::Command {
                argv: vec!["cat".into()],
                env: vec![],
                timeout_seconds: 5
            })
        );
        assert!(
            matches!(cfg.function("remote"), Some(Function::Endpoint { url, .. }) if url == "http://127.0.0.1:3001")
        );
        let (name, m) = cfg
            .machine("arn:aws:states:us-east-1:123456789012:stateMachine:Child")
            .unwrap();
        assert_eq!(name, "Child");
        assert_eq!(m.definition, PathBuf::from("/base/child.asl.json"));
        assert_eq!(m.subs, vec![("X".to_string(), "1".to_string())]);
    }

    #[test]
    fn every_problem_is_located() {
        let errs = Config::from_value(
            &json!({
                "functions": {"a": {"command": "cat"}, "b": {"builtin": "nope"}, "c": {},
                              "d": {"command": ["cat"], "timeOutSeconds": 1},
                              "e": {"command": ["cat"], "environment": "A=1"}},
                "stateMachines": {"M": {}},
                "extra": 1
            }),
            Path::new("."),
        )
        .unwrap_err();
        let ptrs: Vec<&str> = errs.iter().map(|e| e.pointer.as_str()).collect();
        assert!(ptrs.contains(&"/functions/a/command"), "{errs:?}");
        assert!(ptrs.contains(&"/functions/b/builtin"), "{errs:?}");
        assert!(ptrs.contains(&"/functions/c"), "{errs:?}");
        assert!(ptrs.contains(&"/functions/d/timeOutSeconds"), "{errs:?}");
        assert!(ptrs.contains(&"/functions/e/environment"), "{errs:?}");
        assert!(ptrs.contains(&"/stateMachines/M"), "{errs:?}");
        assert!(ptrs.contains(&"/extra"), "{errs:?}");
    }
}
