//! Real task resources through `asl run`: the HTTP task against a local server on 127.0.0.1:0,
//! command functions, a Lambda-Invoke-API endpoint, and the errors of each, as workflow errors
//! that Retry and Catch see.

use axum::extract::{Path as UrlPath, Query, Request};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{any, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Output};

/// A local server, in a thread of its own, for the life of the test.
struct Server {
    addr: SocketAddr,
}

impl Server {
    fn start() -> Server {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let app = Router::new()
                    .route("/echo", any(echo))
                    .route("/status/{code}", any(status))
                    .route("/token", post(token))
                    .route("/token/echo", any(token_echo))
                    .route("/redirect/{code}", any(redirect))
                    .route("/away/{port}", any(away))
                    .route("/loop", any(redirect_loop))
                    .route("/binary/{kind}", any(binary))
                    .route("/huge", any(huge))
                    .route("/2015-03-31/functions/{name}/invocations", post(lambda));
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                axum::serve(listener, app).await.unwrap();
            });
        });
        Server {
            addr: rx.recv().unwrap(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

/// Echoes what it received.
async fn echo(Query(q): Query<Vec<(String, String)>>, req: Request) -> impl IntoResponse {
    let method = req.method().to_string();
    let raw_query = req.uri().query().unwrap_or("").to_string();
    let host_count = req.headers().get_all("host").iter().count();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for k in req.headers().keys() {
        *counts.entry(k.to_string()).or_default() += req.headers().get_all(k).iter().count();
    }
    let headers: HashMap<String, String> = req
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let body = axum::body::to_bytes(req.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        [("x-served-by", "echo")],
        Json(json!({
            "method": method,
            "query": q,
            "raw_query": raw_query,
            "headers": headers,
            "host_count": host_count,
            "counts": counts,
            "body": String::from_utf8_lossy(&body),
        })),
    )
}

async fn status(UrlPath(code): UrlPath<u16>) -> impl IntoResponse {
    (
        StatusCode::from_u16(code).unwrap(),
        Json(json!({"message": format!("status {code}")})),
    )
}

/// Sends the client on to `/echo?hop={code}` with the given 3xx status.
async fn redirect(UrlPath(code): UrlPath<u16>) -> impl IntoResponse {
    (
        StatusCode::from_u16(code).unwrap(),
        [("location", format!("/echo?hop={code}"))],
    )
}

/// Sends the client to `/echo` on the same port but another host name (`localhost`).
async fn away(UrlPath(port): UrlPath<u16>) -> impl IntoResponse {
    (
        StatusCode::FOUND,
        [("location", format!("http://localhost:{port}/echo"))],
    )
}

/// A binary answer: `png` (image/png), `octet` (application/octet-stream) or `bytes` (invalid
/// UTF-8 as text/plain).
async fn binary(UrlPath(kind): UrlPath<String>) -> impl IntoResponse {
    let t = match kind.as_str() {
        "png" => "image/png",
        "octet" => "application/octet-stream",
        _ => "text/plain",
    };
    ([("content-type", t)], vec![0x89u8, 0x50, 0xff, 0xfe, 0x00])
}

/// 20 MiB of text: past what asl reads of an answer.
async fn huge() -> impl IntoResponse {
    ([("content-type", "text/plain")], vec![b'x'; 20 << 20])
}

async fn redirect_loop() -> impl IntoResponse {
    (StatusCode::FOUND, [("location", "/loop")])
}

async fn token(headers: HeaderMap) -> impl IntoResponse {
    // client credentials, sent as basic auth
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if auth.starts_with("Basic ") {
        // A new token each time: a test can tell a cached token from a fetched one.
        static ISSUED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = ISSUED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Json(json!({"access_token": format!("tok-{n}"), "token_type": "bearer"})).into_response()
    } else {
        StatusCode::UNAUTHORIZED.into_response()
    }
}

/// A token that tells what its request carried: method, query, one header, the form.
async fn token_echo(req: Request) -> impl IntoResponse {
    let method = req.method().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let extra = req
        .headers()
        .get("x-tenant")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_string();
    let body = axum::body::to_bytes(req.into_body(), 1 << 20)
        .await
        .unwrap();
    let token = format!(
        "{method}|{query}|{extra}|{}",
        String::from_utf8_lossy(&body)
    );
    Json(json!({"access_token": token}))
}

async fn lambda(
    UrlPath(name): UrlPath<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    Json(event): Json<Value>,
) -> impl IntoResponse {
    if name == "versioned" {
        // What Lambda answers for a qualified call asking for the log's tail.
        let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("-");
        let seen = json!({"qualifier": q.get("Qualifier"), "logType": header("x-amz-log-type"),
                          "clientContext": header("x-amz-client-context")});
        return (
            [
                ("x-amz-executed-version", "7"),
                ("x-amz-log-result", "bG9nIGxpbmUK"),
            ],
            Json(seen),
        )
            .into_response();
    }
    if name == "failing" {
        return (
            [("x-amz-function-error", "Unhandled")],
            Json(json!({"errorType": "ValueError", "errorMessage": "bad value"})),
        )
            .into_response();
    }
    if name == "node" {
        // A Node.js runtime's error payload, spaced as the runtime wrote it.
        return (
            [("x-amz-function-error", "Unhandled")],
            r#"{"errorType": "TypeError", "errorMessage": "x is undefined", "trace": ["at handler"]}"#,
        )
            .into_response();
    }
    if name == "timedout" {
        // An error without an errorType, as Lambda reports a function that timed out.
        return (
            [("x-amz-function-error", "Unhandled")],
            r#"{"errorMessage":"RequestId: 1 Error: Task timed out after 3.00 seconds"}"#,
        )
            .into_response();
    }
    if name == "throttled" {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [
                ("x-amzn-errortype", "TooManyRequestsException:http://internal.amazon.com/"),
                ("x-amzn-requestid", "req-429"),
            ],
            Json(json!({"Reason": "ConcurrentInvocationLimitExceeded", "Type": "User", "message": "Rate Exceeded."})),
        )
            .into_response();
    }
    Json(json!({"function": name, "event": event})).into_response()
}

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// Runs a one-Task workflow (plus optional Catch) and returns the `--json` outcome.
    fn run(&self, def: Value, input: Value, resources: Option<Value>) -> Value {
        let wf = self.file("wf.asl.json", &def.to_string());
        let mut args: Vec<String> = vec![
            "run".into(),
            wf.display().to_string(),
            "--json".into(),
            "--input".into(),
            input.to_string(),
            "--wait-scale".into(),
            "0".into(),
        ];
        if let Some(r) = resources {
            let f = self.file("resources.json", &r.to_string());
            args.push("--resources".into());
            args.push(f.display().to_string());
        }
        let o = self.asl(&args);
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {}\n{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            )
        })
    }

    fn asl(&self, args: &[String]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_asl"))
            .env("ASL_DB", self.dir.path().join("asl.db"))
            .args(args)
            .output()
            .unwrap()
    }
}

fn task(resource: &str, params: Value) -> Value {
    json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": resource, "Parameters": params,
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": true},
        "Caught": {"Type": "Pass", "End": true}}})
}

const HTTP: &str = "arn:aws:states:::http:invoke";
const BASIC: &str = "arn:aws:events:us-east-1:123456789012:connection/basic/1";

/// A resources file with the connection `BASIC`: basic authentication as `u`/`p`.
fn basic_connection() -> Value {
    json!({"connections": {BASIC: {"basic": {"username": "u", "password": "p"}}}})
}

#[test]
fn http_task_sends_every_field_and_returns_aws_result_shape() {
    let s = Server::start();
    let env = Env::new();
    let out = env.run(
        task(
            HTTP,
            json!({
                "ApiEndpoint": s.url("/echo"), "Method": "POST",
                "Headers": {"x-trace": "abc"},
                "QueryParameters": {"page": "2", "tag": ["a", "b"]},
                "RequestBody": {"order": {"size": "large"}}
            }),
        ),
        json!({}),
        None,
    );
    assert_eq!(out["status"], "SUCCEEDED", "{out}");
    let r = &out["output"];
    assert_eq!(r["StatusCode"], 200);
    assert_eq!(r["StatusText"], "OK");
    assert_eq!(r["Headers"]["x-served-by"], json!(["echo"]));
    assert_eq!(r["Headers"]["content-type"], json!(["application/json"]));
    let b = &r["ResponseBody"];
    assert_eq!(b["method"], "POST");
    assert_eq!(
        b["query"],
        json!([["page", "2"], ["tag", "a"], ["tag", "b"]])
    );
    assert_eq!(b["headers"]["x-trace"], "abc");
    // What Step Functions sends with every request.
    assert_eq!(
        b["headers"]["content-type"],
        "application/json; charset=UTF-8"
    );
    assert_eq!(
        b["headers"]["user-agent"],
        "Amazon|StepFunctions|HttpInvoke|us-east-1"
    );
    assert_eq!(b["headers"]["range"], "bytes=0-262144");
    assert_eq!(
        serde_json::from_str::<Value>(b["body"].as_str().unwrap()).unwrap(),
        json!({"order": {"size": "large"}})
    );
}

#[test]
fn http_task_sends_url_credentials_and_head_and_refuses_headers_aws_refuses() {
    let s = Server::start();
    let env = Env::new();
    // Credentials in the URL go as basic authentication (percent-decoded).
    let url = format!("http://ada:p%40ss@{}/echo", s.addr);
    let out = env.run(
        task(HTTP, json!({"ApiEndpoint": url, "Method": "GET"})),
        json!({}),
        None,
    );
    let h = &out["output"]["ResponseBody"]["headers"];
    assert_eq!(h["authorization"], "Basic YWRhOnBAc3M=", "{out}");
    assert_eq!(out["output"]["ResponseBody"]["host_count"], 1, "{out}");
    // Headers AWS does not let a definition set fail with States.Runtime, before anything is
    // sent.
    for name in [
        "Host",
        "authorization",
        "Cache-Control",
        "X-Amz-Date",
        "x-amzn-trace-id",
        "X-Forwarded-For",
        "Referer",
    ] {
        let out = env.run(
            task(
                HTTP,
                json!({"ApiEndpoint": s.url("/echo"), "Method": "GET",
                "Headers": {name: "x"}}),
            ),
            json!({}),
            None,
        );
        // States.Runtime, which States.ALL does not catch: the execution fails.
        assert_eq!(out["error"], "States.Runtime", "{name}: {out}");
        assert!(out["cause"].as_str().unwrap().contains(name), "{out}");
    }
    // A content type of the definition's own replaces the default, once.
    let out = env.run(
        task(
            HTTP,
            json!({"ApiEndpoint": s.url("/echo"), "Method": "POST",
            "Headers": {"Content-Type": "application/vnd.pizza+json", "User-Agent": "mine",
                        "Content-Length": "3"},
            "RequestBody": {"n": 1}}),
        ),
        json!({}),
        None,
    );
    let b = &out["output"]["ResponseBody"];
    let h = &b["headers"];
    assert_eq!(h["content-type"], "application/vnd.pizza+json", "{out}");
    // "Step Functions sets the User-Agent, Range, and Host headers": over the task's own.
    assert_eq!(
        h["user-agent"], "Amazon|StepFunctions|HttpInvoke|us-east-1",
        "{out}"
    );
    assert_eq!(b["counts"]["user-agent"], 1, "{out}");
    // A Content-Length of the task's own is not sent: the body goes whole.
    assert_eq!(h["content-length"], "7", "{out}");
    assert_eq!(b["body"], r#"{"n":1}"#, "{out}");
    // HEAD: the answer's headers, no body, and the connection still fine for the next request.
    for _ in 0..2 {
        let out = env.run(
            task(
                HTTP,
                json!({"ApiEndpoint": s.url("/echo"), "Method": "HEAD"}),
            ),
            json!({}),
            None,
        );
        assert_eq!(out["output"]["StatusCode"], 200, "{out}");
        assert_eq!(out["output"]["ResponseBody"], "", "{out}");
        assert_eq!(out["output"]["Headers"]["x-served-by"], json!(["echo"]));
    }
}

#[test]
fn http_task_goes_through_the_proxy_the_environment_names() {
    // The local server stands in for the proxy: a request for a host that cannot resolve
    // (`.invalid`) only succeeds through it.
    let s = Server::start();
    let env = Env::new();
    let def = task(
        HTTP,
        json!({"ApiEndpoint": "http://pizza.invalid/echo", "Method": "GET"}),
    );
    let wf = env.file("proxy.asl.json", &def.to_string());
    let o = Command::new(env!("CARGO_BIN_EXE_asl"))
        .env("ASL_DB", env.dir.path().join("asl.db"))
        .env("HTTP_PROXY", format!("http://{}", s.addr))
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .args(["run", wf.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    let out: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(out["output"]["StatusCode"], 200, "{out}");
    assert_eq!(
        out["output"]["ResponseBody"]["headers"]["host"],
        "pizza.invalid"
    );
}

#[test]
fn http_task_url_encodes_bodies_with_the_array_format() {
    let s = Server::start();
    let env = Env::new();
    let out = env.run(
        task(HTTP, json!({
            "ApiEndpoint": s.url("/echo"), "Method": "PUT",
            "RequestBody": {"ids": [1, 2], "name": "x y"},
            "Transform": {"RequestBodyEncoding": "URL_ENCODED", "RequestEncodingOptions": {"ArrayFormat": "BRACKETS"}}
        })),
        json!({}),
        None,
    );
    let b = &out["output"]["ResponseBody"];
    assert_eq!(b["method"], "PUT");
    assert_eq!(
        b["headers"]["content-type"],
        "application/x-www-form-urlencoded"
    );
    // Spaces as %20, as in AWS's own example.
    assert_eq!(b["body"], "ids%5B%5D=1&ids%5B%5D=2&name=x%20y");
}

#[test]
fn http_errors_are_states_http_errors() {
    let s = Server::start();
    let env = Env::new();
    // A non-2xx answer: States.Http.StatusCode.NNN, caught by Catch.
    let out = env.run(
        task(
            HTTP,
            json!({"ApiEndpoint": s.url("/status/404"), "Method": "GET"}),
        ),
        json!({}),
        None,
    );
    assert_eq!(out["status"], "SUCCEEDED");
    assert_eq!(out["output"]["Error"], "States.Http.StatusCode.404");
    let cause: Value = serde_json::from_str(out["output"]["Cause"].as_str().unwrap()).unwrap();
    assert_eq!(cause["StatusCode"], 404);
    assert_eq!(cause["ResponseBody"], json!({"message": "status 404"}));
    // Nobody listening: States.Http.Socket.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let out = env.run(
        task(
            HTTP,
            json!({"ApiEndpoint": format!("http://{closed}/x"), "Method": "GET"}),
        ),
        json!({}),
        None,
    );
    assert_eq!(out["output"]["Error"], "States.Http.Socket", "{out}");
    // A malformed URL: a located runtime error, not a hang.
    let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": HTTP,
        "Parameters": {"ApiEndpoint": "not a url", "Method": "GET"}, "End": true}}});
    let out = env.run(def, json!({}), None);
    assert_eq!(out["status"], "FAILED");
    assert_eq!(out["error"], "States.Runtime");
    assert!(
        out["cause"]
            .as_str()
            .unwrap()
            .contains("ApiEndpoint \"not a url\" is not a valid URL"),
        "{out}"
    );
}

#[test]
fn http_task_takes_query_strings_and_refuses_forms_it_would_drop() {
    let s = Server::start();
    let env = Env::new();
    let run = |params: Value| env.run(task(HTTP, params), json!({}), None);
    // A query string, after the endpoint's own.
    let out = run(
        json!({"ApiEndpoint": s.url("/echo?x=1"), "Method": "GET", "QueryParameters": "a=b&c=d%20e"}),
    );
    assert_eq!(
        out["output"]["ResponseBody"]["query"],
        json!([["x", "1"], ["a", "b"], ["c", "d e"]]),
        "{out}"
    );
    // Forms asl cannot send as AWS would: a runtime error that says so, not a silent drop.
    for (field, value) in [
        ("QueryParameters", json!([["a", "b"]])),
        ("QueryParameters", json!(5)),
        ("Headers", json!("X-A: b")),
        ("Headers", json!([{"X-A": "b"}])),
    ] {
        let mut p = json!({"ApiEndpoint": s.url("/echo"), "Method": "GET"});
        p[field] = value.clone();
        let out = run(p);
        assert_eq!(out["error"], "States.Runtime", "{field} {value}: {out}");
        assert!(out["cause"].as_str().unwrap().contains(field), "{out}");
    }
    // Transform takes the values AWS documents, and no others.
    for t in [
        json!({"RequestBodyEncoding": "url_encoded"}),
        json!({"RequestBodyEncoding": 5}),
        json!({"RequestBodyEncoding": "URL_ENCODED", "RequestEncodingOptions": {"ArrayFormat": "commas"}}),
    ] {
        let out = run(
            json!({"ApiEndpoint": s.url("/echo"), "Method": "POST", "RequestBody": {"a": [1, 2]}, "Transform": t}),
        );
        assert_eq!(out["error"], "States.Runtime", "{t}: {out}");
        assert!(
            out["cause"].as_str().unwrap().contains("Transform."),
            "{out}"
        );
    }
    let out = run(json!({"ApiEndpoint": s.url("/echo"), "Method": "POST",
        "Headers": {"Content-Type": "application/x-www-form-urlencoded"},
        "RequestBody": {"a": [1, 2]},
        "Transform": {"RequestBodyEncoding": "URL_ENCODED", "RequestEncodingOptions": {"ArrayFormat": "COMMAS"}}}));
    assert_eq!(out["output"]["ResponseBody"]["body"], "a=1%2C2", "{out}");
}

#[test]
fn http_task_authenticates_with_configured_connections() {
    let s = Server::start();
    let env = Env::new();
    let resources = json!({"connections": {
        "arn:aws:events:us-east-1:123456789012:connection/key/1": {"apiKey": {"name": "x-api-key", "value": "s3cret"}},
        "arn:aws:events:us-east-1:123456789012:connection/basic/1": {"basic": {"username": "u", "password": "p"}},
        "arn:aws:events:us-east-1:123456789012:connection/oauth/1": {"oauth": {"tokenUrl": s.url("/token"), "clientId": "id", "clientSecret": "sec"}}
    }});
    let call = |conn: &str| {
        env.run(
            task(HTTP, json!({"ApiEndpoint": s.url("/echo"), "Method": "GET",
                "Authentication": {"ConnectionArn": format!("arn:aws:events:us-east-1:123456789012:connection/{conn}/1")}})),
            json!({}),
            Some(resources.clone()),
        )["output"]["ResponseBody"]["headers"]
            .clone()
    };
    assert_eq!(call("key")["x-api-key"], "s3cret");
    // A header the task also sets goes once, with the connection's value, as AWS merges them
    // ("Step Functions uses the corresponding values specified in the EventBridge connection").
    // (`Authorization` itself is refused in a task's Headers.)
    let out = env.run(
        task(HTTP, json!({"ApiEndpoint": s.url("/echo"), "Method": "GET",
            "Headers": {"X-Api-Key": "fromdef"},
            "Authentication": {"ConnectionArn": "arn:aws:events:us-east-1:123456789012:connection/key/1"}})),
        json!({}),
        Some(resources.clone()),
    );
    let b = &out["output"]["ResponseBody"];
    assert_eq!(b["headers"]["x-api-key"], "s3cret", "{out}");
    assert_eq!(b["counts"]["x-api-key"], 1, "{out}");
    assert_eq!(call("basic")["authorization"], "Basic dTpw");
    assert!(call("oauth")["authorization"]
        .as_str()
        .unwrap()
        .starts_with("Bearer tok-"));
    // One process keeps its OAuth token until an answer is 401 or 407 ("OAUTH tokens are
    // refreshed when a 401 or 407 response is returned").
    let oauth =
        json!({"ConnectionArn": "arn:aws:events:us-east-1:123456789012:connection/oauth/1"});
    let get = |name: &str, path: &str, next: &str| {
        json!({"Type": "Task", "Resource": HTTP,
            "Parameters": {"ApiEndpoint": s.url(path), "Method": "GET", "Authentication": oauth},
            "ResultSelector": {"auth.$": "$.ResponseBody.headers.authorization"},
            "ResultPath": format!("$.{name}"),
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": null, "Next": next}],
            "Next": next})
    };
    let def = json!({"StartAt": "A", "States": {
        "A": get("a", "/echo", "B"), "B": get("b", "/echo", "Refused"),
        "Refused": get("refused", "/status/401", "C"), "C": get("c", "/echo", "Done"),
        "Done": {"Type": "Succeed"}}});
    let out = env.run(def, json!({}), Some(resources.clone()));
    let o = &out["output"];
    assert_eq!(o["a"]["auth"], o["b"]["auth"], "cached: {out}");
    assert_ne!(
        o["b"]["auth"], o["c"]["auth"],
        "refreshed after the 401: {out}"
    );
    assert!(o["c"]["auth"].as_str().unwrap().starts_with("Bearer tok-"));
}

#[test]
fn http_task_merges_the_connections_parameters_as_aws_does() {
    let s = Server::start();
    let env = Env::new();
    const CONN: &str = "arn:aws:events:us-east-1:123456789012:connection/params/1";
    const OAUTH: &str = "arn:aws:events:us-east-1:123456789012:connection/oauth-params/1";
    const BROKEN: &str = "arn:aws:events:us-east-1:123456789012:connection/broken/1";
    let resources = json!({"connections": {
        CONN: {"apiKey": {"name": "x-api-key", "value": "k"},
               "invocationHttpParameters": {
                   "headers": {"X-Trace": "from-connection", "x-tenant": "acme"},
                   "queryString": {"page": "9", "region": "eu"},
                   "body": {"size": "large", "source": "connection"}}},
        OAUTH: {"oauth": {"tokenUrl": s.url("/token/echo?fixed=1"), "clientId": "id", "clientSecret": "sec",
                          "scope": "orders", "httpMethod": "PUT",
                          "httpParameters": {"headers": {"x-tenant": "acme"},
                                             "queryString": {"audience": "api"},
                                             "body": {"resource": "pizza"}}}},
        BROKEN: {"oauth": {"tokenUrl": s.url("/status/500"), "clientId": "id", "clientSecret": "sec"}}
    }});
    let call = |params: Value| env.run(task(HTTP, params), json!({}), Some(resources.clone()));
    // Headers, query parameters and body keys of the connection join the task's; where both
    // name one, the connection's value is sent (AWS: "Merging EventBridge connection and HTTP
    // Task definition data").
    let out = call(json!({"ApiEndpoint": s.url("/echo"), "Method": "POST",
        "Headers": {"x-trace": "from-task", "x-keep": "1"},
        "QueryParameters": {"page": "2", "q": "x"},
        "RequestBody": {"size": "small", "crust": "thin"},
        "InvocationConfig": {"ConnectionArn": CONN}}));
    let b = &out["output"]["ResponseBody"];
    assert_eq!(b["headers"]["x-trace"], "from-connection", "{out}");
    assert_eq!(b["counts"]["x-trace"], 1, "{out}");
    assert_eq!(b["headers"]["x-keep"], "1");
    assert_eq!(b["headers"]["x-tenant"], "acme");
    assert_eq!(b["headers"]["x-api-key"], "k");
    assert_eq!(
        b["query"],
        json!([["q", "x"], ["page", "9"], ["region", "eu"]]),
        "{out}"
    );
    assert_eq!(
        serde_json::from_str::<Value>(b["body"].as_str().unwrap()).unwrap(),
        json!({"size": "large", "crust": "thin", "source": "connection"})
    );
    // Without a clash the task's query is left as it is written, the connection's appended.
    let out = call(
        json!({"ApiEndpoint": s.url("/echo?flag&a=%20"), "Method": "GET",
        "Authentication": {"ConnectionArn": CONN}}),
    );
    assert_eq!(
        out["output"]["ResponseBody"]["raw_query"], "flag&a=%20&page=9&region=eu",
        "{out}"
    );
    // A task without a body sends the connection's; URL_ENCODED applies after the merge.
    let out = call(json!({"ApiEndpoint": s.url("/echo"), "Method": "POST",
        "Headers": {"content-type": "application/x-www-form-urlencoded"},
        "Transform": {"RequestBodyEncoding": "URL_ENCODED"},
        "Authentication": {"ConnectionArn": CONN}}));
    assert_eq!(
        out["output"]["ResponseBody"]["body"], "size=large&source=connection",
        "{out}"
    );
    // A string body and connection body parameters: AWS fails the task with States.Runtime,
    // which no Catch takes.
    let out = call(json!({"ApiEndpoint": s.url("/echo"), "Method": "POST",
        "RequestBody": "plain text", "Authentication": {"ConnectionArn": CONN}}));
    assert_eq!(out["status"], "FAILED", "{out}");
    assert_eq!(out["error"], "States.Runtime");
    assert!(out["cause"].as_str().unwrap().contains("a string"), "{out}");
    // The token request of an OAuth connection: its method, and its header, query and body
    // parameters beside the client credentials grant.
    let out = call(json!({"ApiEndpoint": s.url("/echo"), "Method": "GET",
        "Authentication": {"ConnectionArn": OAUTH}}));
    let auth = out["output"]["ResponseBody"]["headers"]["authorization"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        auth,
        "Bearer PUT|fixed=1&audience=api|acme|grant_type=client_credentials&scope=orders&resource=pizza",
        "{out}"
    );
    // A connection whose authorization fails cannot be used: AWS's connection error.
    let out = call(json!({"ApiEndpoint": s.url("/echo"), "Method": "GET",
        "Authentication": {"ConnectionArn": BROKEN}}));
    assert_eq!(out["status"], "SUCCEEDED", "{out}");
    assert_eq!(
        out["output"]["Error"],
        "Events.ConnectionResource.InvalidConnectionState"
    );
    assert!(
        out["output"]["Cause"].as_str().unwrap().contains("500"),
        "{out}"
    );
}

#[test]
fn http_task_follows_redirects_as_browsers_do() {
    let s = Server::start();
    let env = Env::new();
    let post = |code: u16| {
        let out = env.run(
            task(
                HTTP,
                json!({"ApiEndpoint": s.url(&format!("/redirect/{code}")), "Method": "POST",
                "InvocationConfig": {"ConnectionArn": BASIC}, "RequestBody": {"n": 1}}),
            ),
            json!({}),
            Some(basic_connection()),
        );
        assert_eq!(out["status"], "SUCCEEDED", "{out}");
        assert_eq!(out["output"]["StatusCode"], 200, "{out}");
        out["output"]["ResponseBody"].clone()
    };
    // 301, 302 and 303 after a POST: a GET without the body or its content type.
    for code in [301, 302, 303] {
        let b = post(code);
        assert_eq!(b["method"], "GET", "{code}: {b}");
        assert_eq!(b["query"], json!([["hop", code.to_string()]]));
        assert_eq!(b["body"], "", "{code}");
        assert!(b["headers"].get("content-type").is_none(), "{code}: {b}");
        // Same host: the credentials (of the connection, through InvocationConfig) go along.
        assert_eq!(b["headers"]["authorization"], "Basic dTpw", "{code}");
    }
    // 307 and 308 repeat the request as it was.
    for code in [307, 308] {
        let b = post(code);
        assert_eq!(b["method"], "POST", "{code}: {b}");
        assert_eq!(b["body"], r#"{"n":1}"#, "{code}");
        assert_eq!(
            b["headers"]["content-type"],
            "application/json; charset=UTF-8"
        );
    }
    // Another host: the credentials stay behind; the page that redirected is the Referer.
    let out = env.run(
        task(
            HTTP,
            json!({"ApiEndpoint": s.url(&format!("/away/{}", s.addr.port())), "Method": "GET",
            "InvocationConfig": {"ConnectionArn": BASIC}}),
        ),
        json!({}),
        Some(basic_connection()),
    );
    let h = &out["output"]["ResponseBody"]["headers"];
    assert_eq!(out["output"]["StatusCode"], 200, "{out}");
    assert!(h.get("authorization").is_none(), "{h}");
    assert_eq!(h["host"], format!("localhost:{}", s.addr.port()));
    assert_eq!(h["referer"], s.url(&format!("/away/{}", s.addr.port())));
    // A redirect loop ends after 10 hops, as a socket error naming the URL.
    let out = env.run(
        task(
            HTTP,
            json!({"ApiEndpoint": s.url("/loop"), "Method": "GET"}),
        ),
        json!({}),
        None,
    );
    assert_eq!(out["output"]["Error"], "States.Http.Socket", "{out}");
    assert!(
        out["output"]["Cause"]
            .as_str()
            .unwrap()
            .contains("/loop): too many redirects"),
        "{out}"
    );
    // A 3xx without a Location is an answer like any other: not 2xx, so an error.
    let out = env.run(
        task(
            HTTP,
            json!({"ApiEndpoint": s.url("/status/304"), "Method": "GET"}),
        ),
        json!({}),
        None,
    );
    assert_eq!(
        out["output"]["Error"], "States.Http.StatusCode.304",
        "{out}"
    );
}

/// A server that answers each connection's first request (keep-alive, as far as the client can
/// tell) and then hangs up: the next request must not be lost on the dead connection.
fn one_answer_per_connection() -> (SocketAddr, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                match conn.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let body = r#"{"ok":true}"#;
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            // Dropping `conn` closes it.
        }
    });
    (addr, accepted)
}

#[test]
fn http_task_reconnects_when_a_kept_alive_connection_was_closed() {
    let (addr, accepted) = one_answer_per_connection();
    let env = Env::new();
    let get = |name: &str, next: Value| {
        let mut s = json!({"Type": "Task", "Resource": HTTP,
            "Parameters": {"ApiEndpoint": format!("http://{addr}/{name}"), "Method": "GET"},
            "ResultSelector": {"ok.$": "$.ResponseBody.ok"}, "ResultPath": format!("$.{name}")});
        match next {
            Value::String(n) => s["Next"] = json!(n),
            _ => s["End"] = json!(true),
        }
        s
    };
    let def = json!({"StartAt": "a", "States": {
        "a": get("a", json!("b")), "b": get("b", json!("c")), "c": get("c", Value::Null)}});
    let out = env.run(def, json!({}), None);
    assert_eq!(out["status"], "SUCCEEDED", "{out}");
    assert_eq!(
        out["output"],
        json!({"a": {"ok": true}, "b": {"ok": true}, "c": {"ok": true}})
    );
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 3);
}

fn script(env: &Env, name: &str, body: &str) -> String {
    env.file(name, body).display().to_string()
}

#[test]
fn command_functions_success_errors_crashes_and_time_outs() {
    let env = Env::new();
    let ok = script(
        &env,
        "ok.py",
        "import json,sys\ne=json.load(sys.stdin)\nprint(json.dumps({'doubled': e['n']*2}))\n",
    );
    let err = script(&env, "err.py", "import json\nprint(json.dumps({'errorType':'OrderRejected','errorMessage':'no pizza'}))\nraise SystemExit(1)\n");
    let crash = script(
        &env,
        "crash.py",
        "import sys\nsys.stderr.write('segfault-ish\\n')\nraise SystemExit(3)\n",
    );
    let text = script(&env, "text.py", "print('hello')\n");
    let resources = json!({"functions": {
        "ok": {"command": ["python3", ok]},
        "err": {"command": ["python3", err]},
        "crash": {"command": ["python3", crash]},
        "text": {"command": ["python3", text]},
        "slow": {"command": ["sleep", "30"], "timeoutSeconds": 1},
        "missing": {"command": ["/no/such/program"]},
        "not-executable": {"command": [text.clone()]}
    }});
    let invoke = |name: &str| {
        env.run(
            task(
                "arn:aws:states:::lambda:invoke",
                json!({"FunctionName": name, "Payload": {"n": 21}}),
            ),
            json!({}),
            Some(resources.clone()),
        )["output"]
            .clone()
    };
    let ok = invoke("ok");
    assert_eq!(ok["Payload"], json!({"doubled": 42}));
    assert_eq!(ok["StatusCode"], 200);
    assert_eq!(ok["ExecutedVersion"], "$LATEST");
    assert!(ok.get("LogResult").is_none(), "{ok}");
    // LogType Tail: what the program wrote to standard error, in Lambda's log lines, base64.
    let logs = script(
        &env,
        "logs.py",
        "import sys\nsys.stderr.write('working on it\\n')\nprint('{}')\n",
    );
    let out = env.run(
        task(
            "arn:aws:states:::lambda:invoke",
            json!({"FunctionName": "logs:prod", "LogType": "Tail"}),
        ),
        json!({}),
        Some(json!({"functions": {"logs": {"command": ["python3", logs]}}})),
    )["output"]
        .clone();
    use base64::Engine;
    let log = base64::engine::general_purpose::STANDARD
        .decode(out["LogResult"].as_str().unwrap_or_default())
        .unwrap();
    let log = String::from_utf8(log).unwrap();
    assert!(log.starts_with("START RequestId: "), "{log}");
    assert!(log.contains("\nworking on it\nEND RequestId: "), "{log}");
    assert!(log.contains("REPORT RequestId: "), "{log}");
    assert_eq!(
        out["SdkHttpMetadata"]["AllHttpHeaders"]["X-Amz-Log-Result"],
        json!([out["LogResult"]])
    );
    let e = invoke("err");
    assert_eq!(e["Error"], "OrderRejected");
    let cause: Value = serde_json::from_str(e["Cause"].as_str().unwrap()).unwrap();
    assert_eq!(cause["errorMessage"], "no pizza");
    assert_eq!(invoke("crash")["Error"], "Runtime.ExitError");
    assert!(invoke("crash")["Cause"]
        .as_str()
        .unwrap()
        .contains("exit status 3"));
    assert_eq!(invoke("text")["Error"], "Runtime.InvalidResponse");
    assert_eq!(invoke("slow")["Error"], "Sandbox.Timedout");
    assert_eq!(invoke("missing")["Error"], "Runtime.InvalidEntrypoint");
    // A file that exists but may not be executed (the script, mode 0644).
    let not_executable = invoke("not-executable");
    assert_eq!(not_executable["Error"], "Runtime.InvalidEntrypoint");
    assert!(not_executable["Cause"]
        .as_str()
        .unwrap()
        .contains("Permission denied"));
    // An input larger than a pipe holds (64 KiB), to a program that never reads it: the time limit
    // still holds (the input used to be written before the limit started).
    let big = "x".repeat(200_000);
    let started = std::time::Instant::now();
    let slow = env.run(
        task(
            "arn:aws:states:::lambda:invoke",
            json!({"FunctionName": "slow", "Payload": {"big": big}}),
        ),
        json!({}),
        Some(resources.clone()),
    );
    assert_eq!(slow["output"]["Error"], "Sandbox.Timedout", "{slow}");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert_eq!(
        invoke("nobody")["Error"],
        "Lambda.ResourceNotFoundException"
    );
    // A legacy function ARN as Resource returns the payload itself.
    let out = env.run(
        json!({"StartAt": "T", "States": {"T": {"Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:ok", "End": true}}}),
        json!({"n": 5}),
        Some(resources.clone()),
    );
    assert_eq!(out["output"], json!({"doubled": 10}));
}

#[test]
fn function_errors_drive_retry_by_their_own_names() {
    let env = Env::new();
    let counter = env.dir.path().join("count");
    let flaky = script(
        &env,
        "flaky.py",
        &format!(
            "import json,os\np={:?}\nn=int(open(p).read()) if os.path.exists(p) else 0\nopen(p,'w').write(str(n+1))\n\
             if n < 2:\n    print(json.dumps({{'errorType':'Transient','errorMessage':'try again'}}))\n    raise SystemExit(1)\n\
             print(json.dumps({{'attempt': n}}))\n",
            counter.display().to_string()
        ),
    );
    let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "flaky"}, "OutputPath": "$.Payload",
        "Retry": [{"ErrorEquals": ["Transient"], "IntervalSeconds": 1, "MaxAttempts": 3}], "End": true}}});
    let out = env.run(
        def,
        json!({}),
        Some(json!({"functions": {"flaky": {"command": ["python3", flaky]}}})),
    );
    assert_eq!(out["status"], "SUCCEEDED", "{out}");
    assert_eq!(out["output"], json!({"attempt": 2}));
}

#[test]
fn lambda_invoke_api_endpoints() {
    let s = Server::start();
    let env = Env::new();
    let resources = json!({"functions": {
        "remote": {"endpoint": s.url("")},
        "failing": {"endpoint": s.url("")},
        "node": {"endpoint": s.url("")},
        "throttled": {"endpoint": s.url("")},
        "timedout": {"endpoint": s.url("")}
    }});
    let out = env.run(
        task("arn:aws:states:::lambda:invoke", json!({"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:remote", "Payload": {"x": 1}})),
        json!({}),
        Some(resources.clone()),
    );
    assert_eq!(
        out["output"]["Payload"],
        json!({"function": "remote", "event": {"x": 1}})
    );
    let out = env.run(
        task(
            "arn:aws:states:::lambda:invoke",
            json!({"FunctionName": "failing", "Payload": {}}),
        ),
        json!({}),
        Some(resources.clone()),
    );
    assert_eq!(out["output"]["Error"], "ValueError");
    let call = |name: &str| {
        env.run(
            task(
                "arn:aws:states:::lambda:invoke",
                json!({"FunctionName": name, "Payload": {}}),
            ),
            json!({}),
            Some(resources.clone()),
        )["output"]
            .clone()
    };
    // A runtime's own error payload is the cause, as it came (compact for lambda:invoke).
    let node = call("node");
    assert_eq!(node["Error"], "TypeError");
    assert_eq!(
        node["Cause"],
        r#"{"errorType":"TypeError","errorMessage":"x is undefined","trace":["at handler"]}"#
    );
    // A function error without an errorType is Lambda.Unknown, its cause saying so before the
    // payload, as AWS records it.
    let unknown = call("timedout");
    assert_eq!(unknown["Error"], "Lambda.Unknown");
    assert_eq!(
        unknown["Cause"],
        r#"The cause could not be determined because Lambda did not return an error type. Returned payload: {"errorMessage":"RequestId: 1 Error: Task timed out after 3.00 seconds"}"#
    );
    // The Invoke API's own errors are Lambda.<its error code>, with the SDK's message, so
    // that a Retry on Lambda.TooManyRequestsException fires.
    let throttled = call("throttled");
    assert_eq!(throttled["Error"], "Lambda.TooManyRequestsException");
    assert_eq!(
        throttled["Cause"],
        "Rate Exceeded. (Service: AWSLambda; Status Code: 429; Error Code: TooManyRequestsException; Request ID: req-429; Proxy: null)"
    );
    // An endpoint that answers 404 without an error type: the function is not found.
    let nowhere = env.run(
        task(
            "arn:aws:states:::lambda:invoke",
            json!({"FunctionName": "nowhere", "Payload": {}}),
        ),
        json!({}),
        Some(json!({"functions": {"nowhere": {"endpoint": s.url("/no/such/prefix")}}})),
    )["output"]
        .clone();
    assert_eq!(
        nowhere["Error"], "Lambda.ResourceNotFoundException",
        "{nowhere}"
    );
    // A qualified name, LogType Tail and ClientContext go to the Invoke API as Lambda takes
    // them (`?Qualifier=`, `X-Amz-Log-Type`, `X-Amz-Client-Context`); the version it ran and
    // the log's tail come back in the result, as AWS gives them.
    let context = "eyJjdXN0b20iOnsidGVuYW50IjoiYWNtZSJ9fQ=="; // {"custom":{"tenant":"acme"}}
    let out = env.run(
        task(
            "arn:aws:states:::lambda:invoke",
            json!({"FunctionName": "versioned:live", "Payload": {}, "LogType": "Tail",
                   "ClientContext": context}),
        ),
        json!({}),
        Some(json!({"functions": {"versioned": {"endpoint": s.url("")}}})),
    )["output"]
        .clone();
    assert_eq!(
        out["Payload"],
        json!({"qualifier": "live", "logType": "Tail", "clientContext": context}),
        "{out}"
    );
    assert_eq!(out["ExecutedVersion"], "7");
    assert_eq!(out["LogResult"], "bG9nIGxpbmUK");
    let h = &out["SdkHttpMetadata"]["HttpHeaders"];
    assert_eq!(h["X-Amz-Log-Result"], "bG9nIGxpbmUK");
    assert_eq!(h["X-Amz-Executed-Version"], "7");
    let keys: Vec<&String> = out.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "ExecutedVersion",
            "LogResult",
            "Payload",
            "SdkHttpMetadata",
            "SdkResponseMetadata",
            "StatusCode"
        ]
    );
    // What Lambda refuses: a LogType it does not know, a ClientContext that is not base64 JSON,
    // a Qualifier other than the one the name carries.
    let refused = |params: Value| {
        env.run(
            task("arn:aws:states:::lambda:invoke", params),
            json!({}),
            Some(json!({"functions": {"versioned": {"endpoint": s.url("")}}})),
        )["output"]
            .clone()
    };
    let bad = refused(json!({"FunctionName": "versioned", "LogType": "Head"}));
    assert_eq!(bad["Error"], "Lambda.InvalidParameterValueException");
    assert!(
        bad["Cause"].as_str().unwrap().contains("'logType'"),
        "{bad}"
    );
    let bad = refused(json!({"FunctionName": "versioned", "ClientContext": "not base64!"}));
    assert_eq!(bad["Error"], "Lambda.InvalidRequestContentException");
    assert!(
        bad["Cause"]
            .as_str()
            .unwrap()
            .starts_with("Client context must be a valid Base64-encoded JSON object."),
        "{bad}"
    );
    let bad = refused(json!({"FunctionName": "versioned:live", "Qualifier": "old"}));
    assert_eq!(bad["Error"], "Lambda.InvalidParameterValueException");
    // `function:NAME[:QUALIFIER]` is one of the names Lambda takes; an empty Qualifier is none.
    let out = refused(json!({"FunctionName": "function:versioned:live", "Qualifier": ""}));
    assert_eq!(out["Payload"]["qualifier"], "live", "{out}");
    // The legacy form passes the payload on exactly as the runtime wrote it.
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:node",
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": true},
        "Caught": {"Type": "Pass", "End": true}}});
    let out = env.run(def, json!({}), Some(resources));
    assert_eq!(
        out["output"]["Cause"],
        r#"{"errorType": "TypeError", "errorMessage": "x is undefined", "trace": ["at handler"]}"#
    );
}

#[test]
fn a_resources_file_with_errors_is_a_located_error() {
    let env = Env::new();
    let wf = env.file("wf.asl.json", &task(HTTP, json!({})).to_string());
    let res = env.file(
        "bad.json",
        r#"{"functions": {"f": {"command": "not-a-list"}}, "extras": 1,
            "connections": {"c": {"basic": {"username": "u", "password": "p"},
                                  "invocationHttpParameters": {"headers": {"x-n": 1}}}}}"#,
    );
    let o = env.asl(&[
        "run".into(),
        wf.display().to_string(),
        "--resources".into(),
        res.display().to_string(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("/functions/f/command: command must be a non-empty array"),
        "{err}"
    );
    assert!(err.contains("/extras"), "{err}");
    assert!(
        err.contains("/connections/c/invocationHttpParameters/headers/x-n: a connection parameter's value is a string"),
        "{err}"
    );
    // Nothing was stored for a run that could not start.
    let o = env.asl(&["executions".into(), "--json".into()]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["executions"], json!([]));
}

#[test]
fn legacy_function_arns_report_lambda_function_events() {
    let env = Env::new();
    let ok = script(
        &env,
        "ok.py",
        "import json,sys\nprint(json.dumps(json.load(sys.stdin)))\n",
    );
    let wf = env.file(
        "legacy.asl.json",
        &json!({"StartAt": "T", "States": {"T": {"Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:ok", "TimeoutSeconds": 9, "End": true}}})
        .to_string(),
    );
    let res = env.file(
        "r.json",
        &json!({"functions": {"ok": {"command": ["python3", ok]}}}).to_string(),
    );
    let o = env.asl(&[
        "run".into(),
        wf.display().to_string(),
        "--name".into(),
        "legacy".into(),
        "--input".into(),
        r#"{"a": 1}"#.into(),
        "--resources".into(),
        res.display().to_string(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let h: Value = serde_json::from_slice(
        &env.asl(&["history".into(), "legacy".into(), "--json".into()])
            .stdout,
    )
    .unwrap();
    let events = h["events"].as_array().unwrap();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert!(
        types.contains(&"LambdaFunctionScheduled")
            && types.contains(&"LambdaFunctionStarted")
            && types.contains(&"LambdaFunctionSucceeded"),
        "{types:?}"
    );
    assert!(!types.contains(&"TaskScheduled"));
    let s = events
        .iter()
        .find(|e| e["type"] == "LambdaFunctionScheduled")
        .unwrap();
    assert_eq!(
        s["lambdaFunctionScheduledEventDetails"]["resource"],
        "arn:aws:lambda:us-east-1:123456789012:function:ok"
    );
    assert_eq!(
        s["lambdaFunctionScheduledEventDetails"]["input"],
        "{\"a\":1}"
    );
    assert_eq!(
        s["lambdaFunctionScheduledEventDetails"]["timeoutInSeconds"],
        9
    );
    let done = events
        .iter()
        .find(|e| e["type"] == "LambdaFunctionSucceeded")
        .unwrap();
    assert_eq!(
        done["lambdaFunctionSucceededEventDetails"]["output"],
        "{\"a\":1}"
    );
}

#[test]
fn wait_scale_zero_leaves_time_limits_alone() {
    // A function that answers at once, under a Task and an execution with time limits: with
    // waits scaled to nothing, the limits keep their length and the work finishes.
    let env = Env::new();
    let def = json!({"TimeoutSeconds": 300, "StartAt": "T", "States": {
        "W": {"Type": "Wait", "Seconds": 3600, "End": true},
        "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "TimeoutSeconds": 5,
              "HeartbeatSeconds": 2, "Parameters": {"FunctionName": "echo", "Payload": {"ok": 1}},
              "OutputPath": "$.Payload", "Next": "W"}}});
    let out = env.run(
        def,
        json!({}),
        Some(json!({"functions": {"echo": {"builtin": "echo"}}})),
    );
    assert_eq!(out["status"], "SUCCEEDED", "{out}");
    assert_eq!(out["output"], json!({"ok": 1}));
}

#[test]
fn a_result_over_the_quota_fails_the_task_and_is_caught_by_states_all() {
    // As recorded against AWS: the task fails (TaskFailed / LambdaFunctionFailed, never a
    // TaskSucceeded with the oversized result) with States.DataLimitExceeded naming the
    // resource, and a Catch on States.ALL takes it.
    let env = Env::new();
    let big = script(
        &env,
        "big.py",
        "import json\nprint(json.dumps({'blob': 'x' * 300000}))\n",
    );
    let resources = json!({"functions": {"big": {"command": ["python3", big]}}});
    let history_types = |env: &Env, arn: &str| -> Vec<String> {
        let o = env.asl(&["history".into(), arn.into(), "--json".into()]);
        let h: Value = serde_json::from_slice(&o.stdout).unwrap();
        h["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["type"].as_str().unwrap().to_string())
            .collect()
    };
    let out = env.run(
        task(
            "arn:aws:states:::lambda:invoke",
            json!({"FunctionName": "big"}),
        ),
        json!({}),
        Some(resources.clone()),
    );
    assert_eq!(out["status"], "SUCCEEDED", "{out}");
    assert_eq!(out["output"]["Error"], "States.DataLimitExceeded");
    assert_eq!(
        out["output"]["Cause"],
        "The state/task 'lambda' returned a result with a size exceeding the maximum number of bytes service limit."
    );
    let types = history_types(&env, out["executionArn"].as_str().unwrap());
    assert!(types.contains(&"TaskFailed".to_string()), "{types:?}");
    assert!(!types.contains(&"TaskSucceeded".to_string()), "{types:?}");

    let arn = "arn:aws:lambda:us-east-1:123456789012:function:big";
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": arn,
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": true},
        "Caught": {"Type": "Pass", "End": true}}});
    let out = env.run(def, json!({}), Some(resources));
    assert_eq!(out["status"], "SUCCEEDED", "{out}");
    assert_eq!(
        out["output"]["Cause"],
        format!("The state/task '{arn}' returned a result with a size exceeding the maximum number of bytes service limit.")
    );
    let types = history_types(&env, out["executionArn"].as_str().unwrap());
    assert!(
        types.contains(&"LambdaFunctionFailed".to_string()),
        "{types:?}"
    );
}

#[test]
fn a_string_payload_is_sent_as_the_bytes_it_holds() {
    // As recorded against AWS with a function that returns its event.
    let env = Env::new();
    let resources = json!({"functions": {"echo": {"builtin": "echo"}}});
    let echo = |payload: Value| {
        env.run(
            task(
                "arn:aws:states:::lambda:invoke",
                json!({"FunctionName": "echo", "Payload": payload}),
            ),
            json!({}),
            Some(resources.clone()),
        )["output"]
            .clone()
    };
    assert_eq!(echo(json!("0.0"))["Payload"], json!(0.0));
    assert_eq!(
        echo(json!("\"HelloWorld\""))["Payload"],
        json!("HelloWorld")
    );
    assert_eq!(echo(json!("[]"))["Payload"], json!([]));
    assert_eq!(echo(Value::Null)["Payload"], json!({}));
    assert_eq!(echo(json!({"a": "0.0"}))["Payload"], json!({"a": "0.0"}));
    let bad = echo(json!("not json"));
    assert_eq!(
        bad["Error"], "Lambda.InvalidRequestContentException",
        "{bad}"
    );
}

#[test]
fn http_task_refuses_binary_answers_as_aws_does() {
    let s = Server::start();
    let env = Env::new();
    for kind in ["png", "octet", "bytes"] {
        let out = env.run(
            task(
                HTTP,
                json!({"ApiEndpoint": s.url(&format!("/binary/{kind}")), "Method": "GET"}),
            ),
            json!({}),
            None,
        );
        assert_eq!(out["error"], "States.Runtime", "{kind}: {out}");
    }
}

#[test]
fn invocation_types_event_and_dry_run_answer_as_lambda_does() {
    let env = Env::new();
    let marker = env.dir.path().join("ran");
    let touch = script(
        &env,
        "touch.py",
        &format!(
            "open({:?}, 'a').write('x')\nprint('{{}}')\n",
            marker.display().to_string()
        ),
    );
    let resources = json!({"functions": {"touch": {"command": ["python3", touch]}}});
    let invoke = |kind: &str, name: &str| {
        env.run(
            task(
                "arn:aws:states:::lambda:invoke",
                json!({"FunctionName": name, "InvocationType": kind, "Payload": {}}),
            ),
            json!({}),
            Some(resources.clone()),
        )["output"]
            .clone()
    };
    let ran = || std::fs::read_to_string(&marker).unwrap_or_default().len();
    // DryRun: 204, nothing run; an unknown function is still an error.
    let out = invoke("DryRun", "touch");
    assert_eq!(out["StatusCode"], 204, "{out}");
    assert_eq!(out["Payload"], "");
    assert_eq!(ran(), 0);
    assert_eq!(
        invoke("DryRun", "nobody")["Error"],
        "Lambda.ResourceNotFoundException"
    );
    // Event: 202 and no payload; the function ran.
    let out = invoke("Event", "touch");
    assert_eq!(out["StatusCode"], 202, "{out}");
    assert_eq!(out["Payload"], "");
    assert_eq!(ran(), 1);
    assert_eq!(
        invoke("Event", "nobody")["Error"],
        "Lambda.ResourceNotFoundException"
    );
    assert_eq!(
        invoke("Sometimes", "touch")["Error"],
        "Lambda.InvalidParameterValueException"
    );
}

#[test]
fn an_answer_past_any_payload_is_not_read_to_the_end() {
    // asl stops reading at 16 MiB (a server sending without end cannot fill the memory): far
    // over the payload quota, so the task fails as AWS's would, with States.DataLimitExceeded.
    let s = Server::start();
    let env = Env::new();
    let out = env.run(
        task(
            HTTP,
            json!({"ApiEndpoint": s.url("/huge"), "Method": "GET"}),
        ),
        json!({}),
        None,
    );
    assert_eq!(out["output"]["Error"], "States.DataLimitExceeded", "{out}");
}

#[test]
fn a_command_that_prints_without_end_cannot_fill_the_memory() {
    // 8 MB on stdout (over Lambda's 6 MB response): Function.ResponseSizeTooLarge, with the
    // output read to its end but not kept.
    let env = Env::new();
    let big = script(
        &env,
        "big.py",
        "import sys\nsys.stdout.write('x' * (8 << 20))\n",
    );
    let out = env.run(
        task(
            "arn:aws:states:::lambda:invoke",
            json!({"FunctionName": "big", "Payload": {}}),
        ),
        json!({}),
        Some(json!({"functions": {"big": {"command": ["python3", big]}}})),
    );
    assert_eq!(
        out["output"]["Error"], "Function.ResponseSizeTooLarge",
        "{out}"
    );
}
