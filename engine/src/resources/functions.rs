//! Lambda-like functions: a local command, a Lambda-Invoke-API endpoint, or a built-in; their
//! errors as Lambda reports them (`errorType`, `errorMessage`), which become the workflow's
//! error names so that Retry and Catch behave as in AWS.

use super::builtin;
use super::client::Outgoing;
use super::config::Function;
use super::http::HttpTask;
use crate::failure::Failure;
use serde_json::{json, Value};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// A function's own failure, as Lambda reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionError {
    pub error_type: String,
    pub error_message: String,
    pub stack_trace: Vec<String>,
    /// The error payload exactly as a Lambda runtime returned it (an endpoint's answer), when
    /// there is one: AWS passes it on as the cause.
    pub reported: Option<String>,
}

impl FunctionError {
    pub fn new(error_type: impl Into<String>, error_message: impl Into<String>) -> Self {
        FunctionError {
            error_type: error_type.into(),
            error_message: error_message.into(),
            stack_trace: Vec::new(),
            reported: None,
        }
    }

    /// The workflow error: the `errorType` as its name, Lambda's error object as its cause.
    /// A runtime's own payload is the cause as it came (`legacy`: a function ARN as the
    /// Resource) or as compact JSON (`lambda:invoke`), as AWS records them; asl's own
    /// runtimes (commands, built-ins) report what AWS's Python runtime does.
    pub fn into_failure(self, request_id: &str, legacy: bool) -> Failure {
        if let Some(raw) = self.reported {
            let cause = if legacy {
                raw
            } else {
                serde_json::from_str::<Value>(&raw)
                    .map(|v| v.to_string())
                    .unwrap_or(raw)
            };
            return Failure::from_task(self.error_type, cause);
        }
        let mut cause = json!({
            "errorMessage": self.error_message,
            "errorType": self.error_type,
            "requestId": request_id,
        });
        if !self.stack_trace.is_empty() {
            cause["stackTrace"] = json!(self.stack_trace);
        }
        Failure::from_task(self.error_type, cause.to_string())
    }

    /// A function's error object (`{"errorType", "errorMessage", ...}`), if `v` is one.
    fn from_value(v: &Value) -> Option<FunctionError> {
        let t = v.get("errorType").and_then(|t| t.as_str())?;
        Some(FunctionError {
            reported: None,
            error_type: t.to_string(),
            error_message: v
                .get("errorMessage")
                .and_then(|m| m.as_str())
                .unwrap_or("")
                .to_string(),
            stack_trace: v
                .get("stackTrace")
                .and_then(|s| s.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
        })
    }
}

/// Either the function's result, its own error, or a failure of the service around it.
pub enum Outcome {
    Ok(Value, Invoked),
    FunctionError(FunctionError),
    Service(Failure),
}

/// What an Invoke call asks for besides the event (`lambda:invoke`'s Parameters).
#[derive(Debug, Clone, Default)]
pub struct InvokeOptions {
    /// `Qualifier`, or the one the function name carries (`name:alias`).
    pub qualifier: Option<String>,
    /// `LogType: Tail`: the answer carries the end of the function's log.
    pub log_tail: bool,
    /// `ClientContext`, base64 as given (checked by the caller).
    pub client_context: Option<String>,
}

/// What Lambda says of an invocation besides its payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Invoked {
    /// `X-Amz-Executed-Version`: `$LATEST` for a local function, which has no versions.
    pub executed_version: String,
    /// `X-Amz-Log-Result`: the last 4 KB of the invocation's log, base64, when asked for.
    pub log_result: Option<String>,
}

/// Lambda's `LogResult` holds the last 4 KB of the log.
const LOG_TAIL_BYTES: usize = 4096;

/// An invocation's log as Lambda writes it (START, what the function wrote, END, REPORT); its
/// last 4 KB, base64.
fn log_tail(request_id: &str, written: &[u8], took: Duration) -> String {
    use base64::Engine;
    let mut log = format!("START RequestId: {request_id} Version: $LATEST\n").into_bytes();
    log.extend_from_slice(written);
    if !written.is_empty() && !written.ends_with(b"\n") {
        log.push(b'\n');
    }
    log.extend_from_slice(
        format!(
            "END RequestId: {request_id}\nREPORT RequestId: {request_id}\tDuration: {:.2} ms\t\n",
            took.as_secs_f64() * 1000.0
        )
        .as_bytes(),
    );
    let tail = &log[log.len().saturating_sub(LOG_TAIL_BYTES)..];
    base64::engine::general_purpose::STANDARD.encode(tail)
}

pub async fn invoke(
    f: &Function,
    payload: &Value,
    request_id: &str,
    http: &HttpTask,
    opts: &InvokeOptions,
) -> Outcome {
    let started = std::time::Instant::now();
    let local = |v: Value, written: &[u8]| {
        Outcome::Ok(
            v,
            Invoked {
                executed_version: "$LATEST".into(),
                log_result: opts
                    .log_tail
                    .then(|| log_tail(request_id, written, started.elapsed())),
            },
        )
    };
    match f {
        Function::Builtin(name) => match builtin::call(name, payload, http).await {
            Ok(v) => local(v, b""),
            Err(e) => Outcome::FunctionError(e),
        },
        Function::Command {
            argv,
            env,
            timeout_seconds,
        } => run_command(argv, env, *timeout_seconds, payload, request_id, local).await,
        Function::Endpoint { url, name } => {
            call_endpoint(url, name, payload, request_id, http, opts).await
        }
    }
}

/// Lambda's largest synchronous response.
const MAX_RESPONSE_BYTES: usize = 6_291_556;
/// What is kept of a program's standard error (for its error message).
const MAX_STDERR_BYTES: usize = 1 << 20;

/// Reads `r` to its end, keeping its first `cap` bytes; whether there was more.
async fn read_capped(r: Option<impl tokio::io::AsyncRead + Unpin>, cap: usize) -> (Vec<u8>, bool) {
    use tokio::io::AsyncReadExt;
    let Some(mut r) = r else {
        return (Vec::new(), false);
    };
    let mut kept = Vec::new();
    let mut more = false;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = cap.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
                more |= n > room;
            }
        }
    }
    (kept, more)
}

async fn run_command(
    argv: &[String],
    env: &[(String, String)],
    timeout_seconds: u64,
    payload: &Value,
    request_id: &str,
    done: impl FnOnce(Value, &[u8]) -> Outcome,
) -> Outcome {
    let mut cmd = tokio::process::Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("AWS_LAMBDA_REQUEST_ID", request_id)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return Outcome::FunctionError(FunctionError::new(
                "Runtime.InvalidEntrypoint",
                format!("cannot run {:?}: {e}", argv[0]),
            ))
        }
    };
    let stdin = child.stdin.take();
    let input = payload.to_string();
    // The input is fed while the output is read, both inside the time limit: a program that
    // reads neither (or not all of) a large input must not hold the task past its limit.
    let feed = async move {
        if let Some(mut stdin) = stdin {
            // A program that does not read its input is not an error.
            let _ = stdin.write_all(input.as_bytes()).await;
        } // dropped: the program sees the end of its input
    };
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let finished = async {
        // Both outputs are read to their end (so the program never blocks on a full pipe),
        // but only so much of each is kept.
        let ((), (out, too_large), (err, _), status) = tokio::join!(
            feed,
            read_capped(stdout, MAX_RESPONSE_BYTES),
            read_capped(stderr, MAX_STDERR_BYTES),
            child.wait()
        );
        status.map(|status| {
            (
                std::process::Output {
                    status,
                    stdout: out,
                    stderr: err,
                },
                too_large,
            )
        })
    };
    let limit = Duration::from_secs(timeout_seconds);
    let out = match tokio::time::timeout(limit, finished).await {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => {
            return Outcome::FunctionError(FunctionError::new(
                "Runtime.ExitError",
                format!("RequestId: {request_id} Error: {e}"),
            ))
        }
        Err(_) => {
            return Outcome::FunctionError(FunctionError::new(
                "Sandbox.Timedout",
                format!(
                "RequestId: {request_id} Error: Task timed out after {timeout_seconds}.00 seconds"
            ),
            ))
        }
    };
    let (out, too_large) = out;
    if too_large {
        return Outcome::FunctionError(FunctionError::new(
            "Function.ResponseSizeTooLarge",
            format!(
                "Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."
            ),
        ));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        // The program's own error object, on stdout or as the last line of stderr.
        let reported = serde_json::from_str::<Value>(stdout.trim())
            .ok()
            .and_then(|v| FunctionError::from_value(&v))
            .or_else(|| {
                stderr
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .and_then(|l| serde_json::from_str::<Value>(l.trim()).ok())
                    .and_then(|v| FunctionError::from_value(&v))
            });
        return Outcome::FunctionError(reported.unwrap_or_else(|| {
            let code = out
                .status
                .code()
                .map(|c| format!("exit status {c}"))
                .unwrap_or_else(|| "killed by a signal".into());
            let tail: String = stderr.lines().rev().take(3).collect::<Vec<_>>().join(" | ");
            FunctionError::new(
                "Runtime.ExitError",
                format!(
                    "RequestId: {request_id} Error: Runtime exited with error: {code}{}",
                    if tail.is_empty() {
                        String::new()
                    } else {
                        format!(" ({tail})")
                    }
                ),
            )
        }));
    }
    let text = stdout.trim();
    if text.is_empty() {
        return done(Value::Null, &out.stderr);
    }
    match serde_json::from_str::<Value>(text) {
        Ok(v) => done(v, &out.stderr),
        Err(e) => Outcome::FunctionError(FunctionError::new(
            "Runtime.InvalidResponse",
            format!(
                "the function printed something that is not JSON ({e}): {}",
                shorten(text)
            ),
        )),
    }
}

fn shorten(s: &str) -> String {
    if s.chars().count() > 200 {
        format!("{}…", s.chars().take(200).collect::<String>())
    } else {
        s.to_string()
    }
}

async fn call_endpoint(
    url: &str,
    name: &str,
    payload: &Value,
    request_id: &str,
    http: &HttpTask,
    opts: &InvokeOptions,
) -> Outcome {
    let mut target = format!("{url}/2015-03-31/functions/{name}/invocations");
    if let Some(q) = &opts.qualifier {
        target.push_str("?Qualifier=");
        target.push_str(
            &percent_encoding::utf8_percent_encode(q, percent_encoding::NON_ALPHANUMERIC)
                .to_string(),
        );
    }
    let unreachable = |e: &dyn std::fmt::Display| {
        Outcome::Service(Failure::from_task(
            "Lambda.SdkClientException",
            format!("Unable to execute HTTP request: {target}: {e}"),
        ))
    };
    let mut req = match reqwest::Url::parse(&target) {
        Ok(u) => Outgoing::new(hyper::Method::POST, u),
        Err(e) => return unreachable(&e),
    };
    let headers = [
        ("content-type", Some("application/json")),
        ("x-amz-log-type", opts.log_tail.then_some("Tail")),
        ("x-amz-client-context", opts.client_context.as_deref()),
    ];
    for (k, v) in headers {
        if let Some(v) = v {
            if let Err(e) = req.header(k, v) {
                return unreachable(&e);
            }
        }
    }
    req.body = Some(payload.to_string().into());
    let resp = match http.client().send(req).await {
        Ok(r) => r,
        Err(e) => return unreachable(&e),
    };
    let status = resp.status;
    let function_error = resp.headers.get("x-amz-function-error").is_some();
    let header = |n: &str| resp.headers.get(n).and_then(|v| v.to_str().ok());
    let service_request_id = header("x-amzn-requestid").unwrap_or(request_id).to_string();
    // Lambda's own error code, as its API gives it (`TooManyRequestsException:...`).
    let error_code = header("x-amzn-errortype")
        .map(|t| t.split(':').next().unwrap_or(t).trim().to_string())
        .filter(|t| !t.is_empty());
    let bytes = resp.body;
    let body: Value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    if !status.is_success() {
        // A failure of the Invoke API itself: `Lambda.<code>`, with the SDK's message.
        let code = error_code.unwrap_or_else(|| {
            match status.as_u16() {
                404 => "ResourceNotFoundException",
                429 => "TooManyRequestsException",
                413 => "RequestTooLargeException",
                400 => "InvalidRequestContentException",
                _ => "ServiceException",
            }
            .to_string()
        });
        let message = ["message", "Message", "errorMessage"]
            .iter()
            .find_map(|k| body.get(*k).and_then(|m| m.as_str()).map(String::from))
            .unwrap_or_else(|| match &body {
                Value::String(s) if !s.is_empty() => s.clone(),
                _ if code == "ResourceNotFoundException" => format!("Function not found: {name}"),
                _ => format!("{target} answered {status}"),
            });
        return Outcome::Service(Failure::from_task(
            format!("Lambda.{code}"),
            format!(
                "{message} (Service: AWSLambda; Status Code: {}; Error Code: {code}; Request ID: {service_request_id}; Proxy: null)",
                status.as_u16()
            ),
        ));
    }
    if function_error {
        let raw = String::from_utf8_lossy(&bytes).into_owned();
        let e = match FunctionError::from_value(&body) {
            Some(mut e) => {
                e.reported = Some(raw);
                e
            }
            // No errorType: AWS names the error Lambda.Unknown and says why, payload after.
            None => FunctionError {
                reported: Some(format!(
                    "The cause could not be determined because Lambda did not return an error type. Returned payload: {raw}"
                )),
                ..FunctionError::new("Lambda.Unknown", body.to_string())
            },
        };
        return Outcome::FunctionError(e);
    }
    let invoked = Invoked {
        executed_version: header("x-amz-executed-version")
            .unwrap_or("$LATEST")
            .to_string(),
        log_result: opts
            .log_tail
            .then(|| header("x-amz-log-result").unwrap_or("").to_string()),
    };
    Outcome::Ok(body, invoked)
}
