//! The HTTP task (`arn:aws:states:::http:invoke`): AWS's parameters in, AWS's result shape
//! out, through one shared client (connection pooling, keep-alive, HTTP/2 over TLS).

use super::config::{Config, Connection};
use crate::failure::Failure;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// AWS gives an HTTP task 60 seconds before `States.Http.Socket`.
pub const SOCKET_TIMEOUT: Duration = Duration::from_secs(60);

pub struct HttpTask {
    /// Built on first use: loading the system's root certificates costs milliseconds that a
    /// run without HTTP should not pay.
    client: std::sync::OnceLock<reqwest::Client>,
    /// OAuth client-credentials tokens, per connection.
    tokens: Mutex<HashMap<String, String>>,
}

impl Default for HttpTask {
    fn default() -> Self {
        Self::new()
    }
}

fn socket_error(msg: impl std::fmt::Display) -> Failure {
    Failure::from_task("States.Http.Socket", msg.to_string())
}

fn bad_parameters(msg: impl Into<String>) -> Failure {
    Failure::from_task(crate::failure::names::RUNTIME, msg.into())
}

impl HttpTask {
    pub fn new() -> Self {
        HttpTask {
            client: std::sync::OnceLock::new(),
            tokens: Mutex::new(HashMap::new()),
        }
    }

    pub fn client(&self) -> &reqwest::Client {
        self.client.get_or_init(|| {
            install_crypto();
            reqwest::Client::builder()
                .timeout(SOCKET_TIMEOUT)
                .pool_max_idle_per_host(1024)
                .tcp_nodelay(true)
                .build()
                .unwrap_or_default()
        })
    }

    /// Performs the request the task's parameters describe.
    pub async fn invoke(&self, params: &Value, config: &Config) -> Result<Value, Failure> {
        let p = params
            .as_object()
            .ok_or_else(|| bad_parameters("the HTTP task's Parameters must be an object"))?;
        let endpoint = p
            .get("ApiEndpoint")
            .and_then(|v| v.as_str())
            .ok_or_else(|| bad_parameters("the HTTP task needs ApiEndpoint, a URL"))?;
        let method = p.get("Method").and_then(|v| v.as_str()).ok_or_else(|| {
            bad_parameters(
                "the HTTP task needs Method (GET, POST, PUT, DELETE, PATCH, OPTIONS or HEAD)",
            )
        })?;
        let method = match method.to_ascii_uppercase().as_str() {
            m @ ("GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "OPTIONS" | "HEAD") => {
                reqwest::Method::from_bytes(m.as_bytes()).map_err(bad_parameters_fmt)?
            }
            other => return Err(bad_parameters(format!("unsupported Method {other:?}"))),
        };
        let mut url = reqwest::Url::parse(endpoint).map_err(|e| {
            bad_parameters(format!("ApiEndpoint {endpoint:?} is not a valid URL: {e}"))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad_parameters(format!(
                "ApiEndpoint {endpoint:?} must be an http(s) URL"
            )));
        }
        if let Some(q) = p.get("QueryParameters").and_then(|q| q.as_object()) {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in q {
                match v {
                    Value::Array(items) => {
                        for item in items {
                            pairs.append_pair(k, &scalar_text(item));
                        }
                    }
                    other => {
                        pairs.append_pair(k, &scalar_text(other));
                    }
                }
            }
        }
        let mut req = self.client().request(method, url);
        if let Some(h) = p.get("Headers").and_then(|h| h.as_object()) {
            for (k, v) in h {
                req = req.header(k.as_str(), scalar_text(v));
            }
        }
        if let Some(arn) = p
            .get("Authentication")
            .and_then(|a| a.get("ConnectionArn"))
            .and_then(|c| c.as_str())
        {
            // A connection the resources file does not configure sends no credentials: local
            // APIs mostly need none, and the definition stays deployable as it is.
            if let Some(conn) = config.connections.get(arn) {
                req = self.authenticate(req, arn, conn).await?;
            }
        }
        if let Some(body) = p.get("RequestBody") {
            let transform = p.get("Transform");
            let url_encoded = transform
                .and_then(|t| t.get("RequestBodyEncoding"))
                .and_then(|e| e.as_str())
                == Some("URL_ENCODED");
            if url_encoded {
                let format = transform
                    .and_then(|t| t.get("RequestEncodingOptions"))
                    .and_then(|o| o.get("ArrayFormat"))
                    .and_then(|f| f.as_str())
                    .unwrap_or("INDICES");
                req = req
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(form_encode(body, format));
            } else {
                match body {
                    Value::String(s) => req = req.body(s.clone()),
                    other => {
                        req = req
                            .header("content-type", "application/json")
                            .body(other.to_string())
                    }
                }
            }
        }
        let resp = req.send().await.map_err(|e| socket_error(describe(&e)))?;
        let status = resp.status();
        let mut headers = Map::new();
        for (name, value) in resp.headers() {
            let v = Value::String(String::from_utf8_lossy(value.as_bytes()).into_owned());
            match headers.get_mut(name.as_str()) {
                Some(Value::Array(list)) => list.push(v),
                _ => {
                    headers.insert(name.as_str().to_string(), Value::Array(vec![v]));
                }
            }
        }
        let bytes = resp.bytes().await.map_err(|e| socket_error(describe(&e)))?;
        let body = match serde_json::from_slice::<Value>(&bytes) {
            Ok(v) if !bytes.is_empty() => v,
            _ => Value::String(String::from_utf8_lossy(&bytes).into_owned()),
        };
        let result = json!({
            "Headers": headers,
            "ResponseBody": body,
            "StatusCode": status.as_u16(),
            "StatusText": status.canonical_reason().unwrap_or(""),
        });
        if status.is_success() {
            Ok(result)
        } else {
            Err(Failure::from_task(
                format!("States.Http.StatusCode.{}", status.as_u16()),
                result.to_string(),
            ))
        }
    }

    async fn authenticate(
        &self,
        req: reqwest::RequestBuilder,
        arn: &str,
        conn: &Connection,
    ) -> Result<reqwest::RequestBuilder, Failure> {
        Ok(match conn {
            Connection::ApiKey { name, value } => req.header(name.as_str(), value.as_str()),
            Connection::Basic { username, password } => req.basic_auth(username, Some(password)),
            Connection::OAuth {
                token_url,
                client_id,
                client_secret,
                scope,
            } => {
                let cached = self.tokens.lock().ok().and_then(|t| t.get(arn).cloned());
                let token = match cached {
                    Some(t) => t,
                    None => {
                        let mut form = vec![("grant_type", "client_credentials".to_string())];
                        if let Some(s) = scope {
                            form.push(("scope", s.clone()));
                        }
                        let body = form
                            .iter()
                            .map(|(k, v)| format!("{k}={}", urlencode(v)))
                            .collect::<Vec<_>>()
                            .join("&");
                        let resp = self
                            .client()
                            .post(token_url)
                            .basic_auth(client_id, Some(client_secret))
                            .header("content-type", "application/x-www-form-urlencoded")
                            .body(body)
                            .send()
                            .await
                            .map_err(|e| {
                                socket_error(format!(
                                    "OAuth token request failed: {}",
                                    describe(&e)
                                ))
                            })?;
                        let v: Value = resp
                            .json_value()
                            .await
                            .map_err(|e| socket_error(format!("OAuth token response: {e}")))?;
                        let t = v
                            .get("access_token")
                            .and_then(|t| t.as_str())
                            .ok_or_else(|| {
                                socket_error("the OAuth token response has no access_token")
                            })?
                            .to_string();
                        if let Ok(mut tokens) = self.tokens.lock() {
                            tokens.insert(arn.to_string(), t.clone());
                        }
                        t
                    }
                };
                req.bearer_auth(token)
            }
        })
    }
}

trait JsonValue {
    async fn json_value(self) -> Result<Value, String>;
}

impl JsonValue for reqwest::Response {
    async fn json_value(self) -> Result<Value, String> {
        let bytes = self.bytes().await.map_err(|e| e.to_string())?;
        serde_json::from_slice(&bytes).map_err(|e| e.to_string())
    }
}

fn bad_parameters_fmt(e: impl std::fmt::Display) -> Failure {
    bad_parameters(e.to_string())
}

/// A reqwest error with its causes, which say what actually went wrong (refused, timed out).
fn describe(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(cause) = src {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        src = cause.source();
    }
    if e.is_timeout() {
        s.push_str(&format!(
            " (no answer within {} s)",
            SOCKET_TIMEOUT.as_secs()
        ));
    }
    s
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `URL_ENCODED` request bodies, with AWS's array formats.
pub fn form_encode(body: &Value, array_format: &str) -> String {
    let mut pairs: Vec<(String, String)> = Vec::new();
    fn walk(prefix: &str, v: &Value, format: &str, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}[{k}]")
                    };
                    walk(&key, v, format, out);
                }
            }
            Value::Array(items) => match format {
                "COMMAS" => out.push((
                    prefix.to_string(),
                    items.iter().map(scalar_text).collect::<Vec<_>>().join(","),
                )),
                "REPEAT" => {
                    for i in items {
                        walk(prefix, i, format, out);
                    }
                }
                "BRACKETS" => {
                    for i in items {
                        walk(&format!("{prefix}[]"), i, format, out);
                    }
                }
                _ => {
                    for (n, i) in items.iter().enumerate() {
                        walk(&format!("{prefix}[{n}]"), i, format, out);
                    }
                }
            },
            other => out.push((prefix.to_string(), scalar_text(other))),
        }
    }
    match body {
        Value::String(s) => return s.clone(),
        v => walk("", v, array_format, &mut pairs),
    }
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// rustls needs one process-wide crypto provider; ring builds with a C compiler alone.
fn install_crypto() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_encoded_bodies_follow_the_array_format() {
        let body = json!({"a": [1, 2], "b": {"c": "x y"}});
        assert_eq!(
            form_encode(&body, "INDICES"),
            "a%5B0%5D=1&a%5B1%5D=2&b%5Bc%5D=x+y"
        );
        assert_eq!(
            form_encode(&body, "BRACKETS"),
            "a%5B%5D=1&a%5B%5D=2&b%5Bc%5D=x+y"
        );
        assert_eq!(form_encode(&body, "REPEAT"), "a=1&a=2&b%5Bc%5D=x+y");
        assert_eq!(form_encode(&body, "COMMAS"), "a=1%2C2&b%5Bc%5D=x+y");
    }
}
