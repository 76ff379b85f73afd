//! The HTTP task (`arn:aws:states:::http:invoke`): AWS's parameters in, AWS's result shape
//! out, through one shared client (connection pooling, keep-alive, HTTP/2 over TLS).

use super::client::{basic_auth, Client, Outgoing};
use super::config::{Auth, Config};
use crate::failure::Failure;
use hyper::Method;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Mutex;

pub struct HttpTask {
    client: Client,
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

/// A request the engine will not send: its own `States.Runtime`, which nothing catches.
fn bad_parameters(msg: impl Into<String>) -> Failure {
    Failure::runtime(msg.into())
}

impl HttpTask {
    pub fn new() -> Self {
        HttpTask {
            client: Client::default(),
            tokens: Mutex::new(HashMap::new()),
        }
    }

    /// The shared client, for the other resources that speak HTTP.
    pub fn client(&self) -> &Client {
        &self.client
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
            "GET" => Method::GET,
            "POST" => Method::POST,
            "PUT" => Method::PUT,
            "DELETE" => Method::DELETE,
            "PATCH" => Method::PATCH,
            "OPTIONS" => Method::OPTIONS,
            "HEAD" => Method::HEAD,
            other => return Err(bad_parameters(format!("unsupported Method {other:?}"))),
        };
        let mut url = self.client.parse_url(endpoint).map_err(|e| {
            bad_parameters(format!("ApiEndpoint {endpoint:?} is not a valid URL: {e}"))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad_parameters(format!(
                "ApiEndpoint {endpoint:?} must be an http(s) URL"
            )));
        }
        // The connection: `InvocationConfig` (what AWS recommends) or `Authentication`. One
        // the resources file does not configure sends no credentials and adds nothing: local
        // APIs mostly need none, and the definition stays deployable as it is.
        let connection = ["InvocationConfig", "Authentication"]
            .iter()
            .find_map(|f| p.get(*f).and_then(|a| a.get("ConnectionArn")))
            .and_then(|c| c.as_str())
            .and_then(|arn| Some((arn, config.connections.get(arn)?)));
        let added = connection.map(|(_, c)| &c.invocation);
        match p.get("QueryParameters") {
            None | Some(Value::Null) => {}
            Some(Value::Object(q)) => {
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
            // A query string as it is written (`a=b&c=d`), after any the endpoint has.
            Some(Value::String(q)) => {
                let q = q.trim_start_matches('?');
                if !q.is_empty() {
                    let joined = match url.query() {
                        Some(old) if !old.is_empty() => format!("{old}&{q}"),
                        _ => q.to_string(),
                    };
                    url.set_query(Some(&joined));
                }
            }
            Some(other) => {
                return Err(bad_parameters(format!(
                    "QueryParameters must be an object or a query string; asl does not send a value of type {} (AWS's encoding of that form is not documented)",
                    crate::exec::json_type(other)
                )))
            }
        }
        if let Some(extra) = added.filter(|a| !a.query.is_empty()) {
            merge_query(&mut url, &extra.query);
        }
        let mut req = Outgoing::new(method, url);
        let mut has_content_type = false;
        match p.get("Headers") {
            None | Some(Value::Null) => {}
            Some(Value::Object(h)) => {
                for (k, v) in h {
                    if let Some(why) = forbidden_header(k) {
                        return Err(bad_parameters(format!(
                            "The header '{k}' is not allowed in an HTTP Task's Headers ({why}): AWS fails the task with States.Runtime"
                        )));
                    }
                    has_content_type |= k.eq_ignore_ascii_case("content-type");
                    req.header(k, &scalar_text(v)).map_err(bad_parameters)?;
                }
            }
            Some(other) => {
                return Err(bad_parameters(format!(
                    "Headers must be an object of names and values; asl does not send a value of type {} (AWS's encoding of that form is not documented)",
                    crate::exec::json_type(other)
                )))
            }
        }
        // The connection's headers join the task's; where both name one, the connection's
        // value is sent ("Step Functions uses the values specified in the connection").
        for (k, v) in added.map(|a| a.headers.as_slice()).unwrap_or_default() {
            has_content_type |= k.eq_ignore_ascii_case("content-type");
            req.set_header(k, v).map_err(bad_parameters)?;
        }
        // The body's length is the body's, not what the task says it is.
        req.headers.remove(hyper::header::CONTENT_LENGTH);
        // What Step Functions itself sends with every request, over the task's own ("Step
        // Functions sets the User-Agent, Range, and Host headers"; static values: no parsing).
        req.headers.insert(
            hyper::header::USER_AGENT,
            hyper::header::HeaderValue::from_static(USER_AGENT),
        );
        req.headers.insert(
            hyper::header::RANGE,
            hyper::header::HeaderValue::from_static("bytes=0-262144"),
        );
        // The OAuth connection the request goes with, whose token a 401 or 407 retires.
        let mut oauth_arn: Option<&str> = None;
        if let Some((arn, conn)) = connection {
            self.authenticate(&mut req, arn, &conn.auth).await?;
            if matches!(conn.auth, Auth::OAuth { .. }) {
                oauth_arn = Some(arn);
            }
        }
        let transform = p.get("Transform");
        if let Some(t) = transform {
            check_transform(t)?;
        }
        let body = merge_body(
            p.get("RequestBody"),
            added.map(|a| a.body.as_slice()).unwrap_or_default(),
        )?;
        if let Some(body) = body.as_deref() {
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
                if !has_content_type {
                    req.header("content-type", "application/x-www-form-urlencoded")
                        .map_err(bad_parameters)?;
                }
                req.body = Some(form_encode(body, format).into());
            } else {
                match body {
                    Value::String(s) => req.body = Some(s.clone().into()),
                    other => {
                        if !has_content_type {
                            req.headers.insert(
                                hyper::header::CONTENT_TYPE,
                                hyper::header::HeaderValue::from_static(
                                    "application/json; charset=UTF-8",
                                ),
                            );
                        }
                        req.body = Some(other.to_string().into());
                    }
                }
            }
        }
        let reply = self.client.send(req).await.map_err(|e| {
            if e.starts_with(super::client::BODY_TOO_LARGE) {
                // Its result would be far over the payload quota, as AWS would find it.
                Failure::from_task(
                    crate::failure::names::DATA_LIMIT_EXCEEDED,
                    "The state/task 'http' returned a result with a size exceeding the maximum number of bytes service limit.",
                )
            } else {
                socket_error(e)
            }
        })?;
        let status = reply.status;
        // "OAUTH tokens are refreshed when a 401 or 407 response is returned": the next call
        // (a retry, say) asks for a new one.
        if matches!(status.as_u16(), 401 | 407) {
            if let Some(arn) = oauth_arn {
                if let Ok(mut tokens) = self.tokens.lock() {
                    tokens.remove(arn);
                }
            }
        }
        let mut headers = Map::with_capacity(reply.headers.keys_len());
        for (name, value) in &reply.headers {
            let v = Value::String(String::from_utf8_lossy(value.as_bytes()).into_owned());
            match headers.get_mut(name.as_str()) {
                Some(Value::Array(list)) => list.push(v),
                _ => {
                    headers.insert(name.as_str().to_string(), Value::Array(vec![v]));
                }
            }
        }
        let bytes = reply.body;
        if let Some(t) = reply
            .headers
            .get("content-type")
            .and_then(|t| t.to_str().ok())
            .filter(|t| unsupported_content_type(t))
        {
            return Err(bad_parameters(format!(
                "The HTTP Task does not support responses of content type '{t}' (binary data)"
            )));
        }
        let body = match serde_json::from_slice::<Value>(&bytes) {
            Ok(v) if !bytes.is_empty() => v,
            _ => Value::String(String::from_utf8(bytes.to_vec()).map_err(|_| {
                bad_parameters("The HTTP Task's response can not be read as a valid string")
            })?),
        };
        // Built field by field: `json!` would serialize the headers and the body over again.
        let mut result = Map::with_capacity(4);
        result.insert("Headers".into(), Value::Object(headers));
        result.insert("ResponseBody".into(), body);
        result.insert("StatusCode".into(), status.as_u16().into());
        result.insert(
            "StatusText".into(),
            status.canonical_reason().unwrap_or("").into(),
        );
        let result = Value::Object(result);
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
        req: &mut Outgoing,
        arn: &str,
        auth: &Auth,
    ) -> Result<(), Failure> {
        let value = match auth {
            Auth::ApiKey { name, value } => {
                // The connection's value wins over a header of the same name in the task, as
                // AWS merges them.
                return req.set_header(name, value).map_err(bad_parameters);
            }
            Auth::Basic { username, password } => basic_auth(username, password),
            Auth::OAuth { .. } => {
                let cached = self.tokens.lock().ok().and_then(|t| t.get(arn).cloned());
                let token = match cached {
                    Some(t) => t,
                    None => {
                        let t = self.fetch_token(arn, auth).await?;
                        if let Ok(mut tokens) = self.tokens.lock() {
                            tokens.insert(arn.to_string(), t.clone());
                        }
                        t
                    }
                };
                format!("Bearer {token}")
            }
        };
        req.set_header("authorization", &value)
            .map_err(bad_parameters)
    }

    /// An OAuth client-credentials grant: the access token the token endpoint gives. The
    /// client's id and secret go as basic authentication, the connection's OAuth parameters
    /// with the request (its body parameters in the form, beside `grant_type` and `scope`).
    ///
    /// A connection whose authorization fails is one EventBridge cannot use: AWS fails the
    /// task with `Events.ConnectionResource.InvalidConnectionState`.
    async fn fetch_token(&self, arn: &str, auth: &Auth) -> Result<String, Failure> {
        let Auth::OAuth {
            token_url,
            client_id,
            client_secret,
            scope,
            method,
            parameters,
        } = auth
        else {
            return Err(bad_parameters("not an OAuth connection"));
        };
        let unusable = |why: String| {
            Failure::from_task(
                "Events.ConnectionResource.InvalidConnectionState",
                format!("The connection {arn} could not be authorized: {why}"),
            )
        };
        let mut form = vec![("grant_type".to_string(), "client_credentials".to_string())];
        if let Some(s) = scope {
            form.push(("scope".to_string(), s.clone()));
        }
        for (k, v) in &parameters.body {
            form.retain(|(name, _)| name != k);
            form.push((k.clone(), v.clone()));
        }
        let body = form
            .iter()
            .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let mut url = reqwest::Url::parse(token_url)
            .map_err(|e| unusable(format!("its token URL {token_url:?} is not valid: {e}")))?;
        if !parameters.query.is_empty() {
            merge_query(&mut url, &parameters.query);
        }
        let verb = match method.as_str() {
            "GET" => Method::GET,
            "PUT" => Method::PUT,
            _ => Method::POST,
        };
        let mut req = Outgoing::new(verb, url);
        req.header("authorization", &basic_auth(client_id, client_secret))
            .and_then(|_| req.header("content-type", "application/x-www-form-urlencoded"))
            .map_err(|e| unusable(e.to_string()))?;
        for (k, v) in &parameters.headers {
            req.set_header(k, v).map_err(|e| unusable(e.to_string()))?;
        }
        req.body = Some(body.into());
        let reply = self
            .client
            .send(req)
            .await
            .map_err(|e| unusable(format!("its token request failed: {e}")))?;
        if !reply.status.is_success() {
            return Err(unusable(format!(
                "its token endpoint answered {}",
                reply.status
            )));
        }
        let v: Value = serde_json::from_slice(&reply.body)
            .map_err(|e| unusable(format!("its token endpoint's answer is not JSON: {e}")))?;
        v.get("access_token")
            .and_then(|t| t.as_str())
            .map(str::to_string)
            .ok_or_else(|| unusable("its token endpoint's answer has no access_token".into()))
    }
}

/// Adds a connection's query parameters to `url`'s query, in place of any of the same name
/// ("Step Functions uses the values specified in the connection").
fn merge_query(url: &mut reqwest::Url, extra: &[(String, String)]) {
    let clash = url
        .query_pairs()
        .any(|(k, _)| extra.iter().any(|(name, _)| *name == *k));
    if !clash {
        // Appended after the query as it is written, which is left alone.
        let mut pairs = url.query_pairs_mut();
        for (k, v) in extra {
            pairs.append_pair(k, v);
        }
        return;
    }
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !extra.iter().any(|(name, _)| name == k))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut pairs = url.query_pairs_mut();
    pairs.clear();
    for (k, v) in kept.iter().chain(extra) {
        pairs.append_pair(k, v);
    }
}

/// The request body after the connection's body parameters are merged into it, as AWS does
/// before it applies `Transform`: the connection's value wins where both name a key; a task
/// without a body sends the connection's. AWS fails the task with `States.Runtime` when the
/// body is a string and the connection has body parameters; asl does the same for the other
/// bodies that are not objects (arrays, numbers), whose merge AWS does not define.
fn merge_body<'a>(
    body: Option<&'a Value>,
    extra: &[(String, String)],
) -> Result<Option<Cow<'a, Value>>, Failure> {
    if extra.is_empty() {
        return Ok(body.map(Cow::Borrowed));
    }
    let mut merged = match body {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(other) => {
            return Err(bad_parameters(format!(
                "The HTTP Task's RequestBody is {} and its connection has body parameters: AWS merges them only into a JSON object, and fails the task with States.Runtime",
                match other {
                    Value::String(_) => "a string".to_string(),
                    v => format!("of type {}", crate::exec::json_type(v)),
                }
            )))
        }
    };
    for (k, v) in extra {
        merged.insert(k.clone(), Value::String(v.clone()));
    }
    Ok(Some(Cow::Owned(Value::Object(merged))))
}

/// `Transform` as AWS documents it: `RequestBodyEncoding` NONE or URL_ENCODED, and
/// `RequestEncodingOptions.ArrayFormat` INDICES, REPEAT, COMMAS or BRACKETS.
fn check_transform(t: &Value) -> Result<(), Failure> {
    let encoding = t.get("RequestBodyEncoding");
    if let Some(e) = encoding {
        if !matches!(e.as_str(), Some("NONE" | "URL_ENCODED")) {
            return Err(bad_parameters(format!(
                "Transform.RequestBodyEncoding must be NONE or URL_ENCODED, not {e}"
            )));
        }
    }
    if let Some(f) = t
        .get("RequestEncodingOptions")
        .and_then(|o| o.get("ArrayFormat"))
    {
        if !matches!(
            f.as_str(),
            Some("INDICES" | "REPEAT" | "COMMAS" | "BRACKETS")
        ) {
            return Err(bad_parameters(format!(
                "Transform.RequestEncodingOptions.ArrayFormat must be INDICES, REPEAT, COMMAS or BRACKETS, not {f}"
            )));
        }
    }
    Ok(())
}

/// `User-Agent` as Step Functions sends it.
const USER_AGENT: &str = "Amazon|StepFunctions|HttpInvoke|us-east-1";

/// Why AWS refuses a header in an HTTP Task's `Headers`, if it does.
fn forbidden_header(name: &str) -> Option<&'static str> {
    const FORBIDDEN: &[&str] = &[
        "a-im",
        "accept-charset",
        "accept-datetime",
        "accept-encoding",
        "authorization",
        "cache-control",
        "connection",
        "content-encoding",
        "content-md5",
        "date",
        "expect",
        "forwarded",
        "from",
        "host",
        "http2-settings",
        "if-match",
        "if-modified-since",
        "if-none-match",
        "if-range",
        "if-unmodified-since",
        "max-forwards",
        "origin",
        "pragma",
        "proxy-authorization",
        "referer",
        "server",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "via",
        "warning",
    ];
    if let Some(f) = FORBIDDEN.iter().find(|f| f.eq_ignore_ascii_case(name)) {
        return Some(if *f == "authorization" {
            "credentials go in a connection: Authentication or InvocationConfig"
        } else {
            "Step Functions sets or forbids it"
        });
    }
    ["x-forwarded-", "x-amz-", "x-amzn-"]
        .iter()
        .any(|p| {
            name.get(..p.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(p))
        })
        .then_some("AWS reserves it")
}

/// Responses AWS's HTTP Task refuses: binary content types.
fn unsupported_content_type(t: &str) -> bool {
    let t = t.trim().to_ascii_lowercase();
    t.starts_with("application/octet-stream")
        || ["image/", "video/", "audio/"]
            .iter()
            .any(|p| t.starts_with(p))
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn url_encoded_bodies_follow_the_array_format() {
        let body = json!({"a": [1, 2], "b": {"c": "x y"}});
        assert_eq!(
            form_encode(&body, "INDICES"),
            "a%5B0%5D=1&a%5B1%5D=2&b%5Bc%5D=x%20y"
        );
        assert_eq!(
            form_encode(&body, "BRACKETS"),
            "a%5B%5D=1&a%5B%5D=2&b%5Bc%5D=x%20y"
        );
        assert_eq!(form_encode(&body, "REPEAT"), "a=1&a=2&b%5Bc%5D=x%20y");
        assert_eq!(form_encode(&body, "COMMAS"), "a=1%2C2&b%5Bc%5D=x%20y");
        // The region in the User-Agent is asl's.
        assert!(USER_AGENT.ends_with(crate::exec::REGION));
        // AWS's own example: spaces as %20.
        assert_eq!(
            form_encode(&json!({"description": "Monthly subscription"}), "INDICES"),
            "description=Monthly%20subscription"
        );
    }

    /// A server that takes the connection and never answers: after the socket time-out (60 s
    /// of virtual time), `States.Http.Socket`, naming the URL and the time-out.
    #[tokio::test(start_paused = true)]
    async fn a_server_that_never_answers_times_out_as_a_socket_error() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let held = tokio::spawn(async move {
            let (socket, _) = listener.accept().await.unwrap();
            // Read nothing, answer nothing; keep the connection open.
            std::future::pending::<()>().await;
            drop(socket);
        });
        let url = format!("http://127.0.0.1:{port}/slow");
        let started = tokio::time::Instant::now();
        let f = HttpTask::new()
            .invoke(
                &json!({"ApiEndpoint": url, "Method": "GET"}),
                &Config::default(),
            )
            .await
            .unwrap_err();
        assert_eq!(f.error, "States.Http.Socket");
        assert!(f.cause.contains(&url), "{}", f.cause);
        assert!(f.cause.contains("timed out"), "{}", f.cause);
        assert!(started.elapsed() >= super::super::client::SOCKET_TIMEOUT);
        held.abort();
    }
}
