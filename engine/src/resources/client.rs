//! The one HTTP client of the task resources: the HTTP task, the built-in functions and Lambda
//! Invoke API endpoints all send through [`Client::send`].
//!
//! `http://` goes straight to hyper's HTTP/1.1 connections, kept alive in a pool here: the layers
//! reqwest puts around hyper (its redirect and retry services, boxed futures) cost about a tenth
//! of a local request's CPU, and load generators mostly hit plain local APIs. `https://` goes
//! through reqwest (rustls, HTTP/2). Both follow redirects here, the same way.

use base64::Engine as _;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, StatusCode};
use reqwest::Url;
use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// AWS gives an HTTP task 60 seconds before `States.Http.Socket`.
pub const SOCKET_TIMEOUT: Duration = Duration::from_secs(60);
/// As many redirects as reqwest (and curl's default) follow.
const MAX_REDIRECTS: usize = 10;
const MAX_IDLE_PER_HOST: usize = 1024;

/// A request to send.
pub struct Outgoing {
    pub method: Method,
    pub url: Url,
    pub headers: HeaderMap,
    pub body: Option<Bytes>,
}

impl Outgoing {
    pub fn new(method: Method, url: Url) -> Self {
        Outgoing {
            method,
            url,
            headers: HeaderMap::new(),
            body: None,
        }
    }

    /// Adds a header; a name or value HTTP does not allow is an error that names it.
    pub fn header(&mut self, name: &str, value: &str) -> Result<(), String> {
        let (n, v) = header_pair(name, value)?;
        self.headers.append(n, v);
        Ok(())
    }

    /// Sets a header, replacing any of the same name (whatever its case).
    pub fn set_header(&mut self, name: &str, value: &str) -> Result<(), String> {
        let (n, v) = header_pair(name, value)?;
        self.headers.insert(n, v);
        Ok(())
    }
}

fn header_pair(name: &str, value: &str) -> Result<(header::HeaderName, HeaderValue), String> {
    let n = header::HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("{name:?} is not a valid header name"))?;
    let v = HeaderValue::from_str(value)
        .map_err(|_| format!("the value of header {name:?} is not valid in HTTP"))?;
    Ok((n, v))
}

/// A whole answer: its body is read to the end.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

type Sender = SendRequest<Full<Bytes>>;

/// Idle keep-alive connections to one `host:port`, oldest first, each with when it was last
/// put back.
struct Idle {
    host: String,
    port: u16,
    senders: VecDeque<(Sender, Instant)>,
}

/// A connection idle for this long is closed (reqwest's default too).
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);

pub struct Client {
    /// Built on first use: loading the system's root certificates costs milliseconds that a
    /// run without HTTPS should not pay.
    tls: OnceLock<reqwest::Client>,
    idle: Mutex<Vec<Idle>>,
    /// `scheme://host:port` texts already parsed, for [`Client::parse_url`].
    origins: Mutex<HashMap<String, Url>>,
    /// A proxy is configured in the environment (`HTTP_PROXY`, `ALL_PROXY`): plain `http://`
    /// then goes through reqwest too, which applies it (and `NO_PROXY`).
    http_proxy: bool,
}

impl Default for Client {
    fn default() -> Self {
        let set = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
        Client {
            tls: OnceLock::new(),
            idle: Mutex::new(Vec::new()),
            origins: Mutex::new(HashMap::new()),
            http_proxy: ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]
                .iter()
                .any(|k| set(k)),
        }
    }
}

/// At most this many origins are remembered; past it the memory starts again.
const MAX_ORIGINS: usize = 256;

impl Client {
    /// `Url::parse(text)`, faster for the URLs a workflow sends over and over to the same
    /// origin: the origin (`http://host:port`, parsed once, with its IDNA pass over the host)
    /// is remembered and the rest joined to it, which gives the same URL as long as the rest is
    /// an absolute path (or a query) and the origin holds no character that could change where
    /// it ends. Anything else goes to `Url::parse` as it is.
    pub fn parse_url(&self, text: &str) -> Result<Url, url::ParseError> {
        let Some((origin, rest)) = split_origin(text) else {
            return Url::parse(text);
        };
        let cached = self
            .origins
            .lock()
            .ok()
            .and_then(|o| o.get(origin).cloned());
        let base = match cached {
            Some(b) => b,
            None => {
                let b = Url::parse(origin)?;
                if let Ok(mut o) = self.origins.lock() {
                    if o.len() >= MAX_ORIGINS {
                        o.clear();
                    }
                    o.insert(origin.to_string(), b.clone());
                }
                b
            }
        };
        if rest.is_empty() {
            Ok(base)
        } else {
            base.join(rest)
        }
    }

    /// Sends `req`, following redirects, and reads the whole answer. The error says what went
    /// wrong (refused, timed out, too many redirects) with the URL.
    pub async fn send(&self, mut req: Outgoing) -> Result<Reply, String> {
        match tokio::time::timeout(SOCKET_TIMEOUT, self.follow(&mut req)).await {
            Ok(r) => r,
            Err(_) => Err(format!(
                "error sending request for url ({}): operation timed out (no answer within {} s)",
                req.url,
                SOCKET_TIMEOUT.as_secs()
            )),
        }
    }

    async fn follow(&self, req: &mut Outgoing) -> Result<Reply, String> {
        let mut hops = 0;
        loop {
            let reply = if req.url.scheme() == "http" && !self.http_proxy {
                self.plain(req).await?
            } else {
                self.tls(req).await?
            };
            let Some(next) = redirect_target(req, &reply) else {
                return Ok(reply);
            };
            if hops == MAX_REDIRECTS {
                return Err(format!(
                    "error following redirect for url ({}): too many redirects",
                    req.url
                ));
            }
            hops += 1;
            redirect(req, reply.status, next);
        }
    }

    /// `https://` (and anything else reqwest knows) through reqwest, redirects left to us.
    async fn tls(&self, req: &Outgoing) -> Result<Reply, String> {
        let client = self.tls.get_or_init(|| {
            install_crypto();
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .pool_max_idle_per_host(MAX_IDLE_PER_HOST)
                .tcp_nodelay(true)
                .build()
                .unwrap_or_default()
        });
        let mut r = client
            .request(req.method.clone(), req.url.clone())
            .headers(req.headers.clone());
        if let Some(body) = &req.body {
            r = r.body(body.clone());
        }
        let mut resp = r.send().await.map_err(|e| describe(&e))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| describe(&e))? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(body_too_large(&req.url));
            }
            body.extend_from_slice(&chunk);
        }
        let body = Bytes::from(body);
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    /// `http://` over a pooled HTTP/1.1 connection. A kept-alive connection the server has
    /// closed meanwhile is dropped and the request sent on another, as long as it was not sent.
    async fn plain(&self, req: &Outgoing) -> Result<Reply, String> {
        let url = &req.url;
        let host = url
            .host_str()
            .ok_or_else(|| format!("{url}: the URL has no host"))?;
        let port = url.port_or_known_default().unwrap_or(80);
        let mut request = plain_request(req, host)?;
        loop {
            let (mut sender, reused) = match self.take_idle(host, port) {
                Some(s) => (s, true),
                None => (connect(url, port).await?, false),
            };
            if let Err(e) = sender.ready().await {
                if reused {
                    continue;
                }
                return Err(hyper_error(url, &e));
            }
            match sender.try_send_request(request).await {
                Ok(resp) => {
                    let (parts, body) = resp.into_parts();
                    let body = http_body_util::Limited::new(body, MAX_BODY_BYTES)
                        .collect()
                        .await
                        .map_err(|e| {
                            if e.is::<http_body_util::LengthLimitError>() {
                                body_too_large(url)
                            } else {
                                format!("error reading the answer of ({url}): {e}")
                            }
                        })?
                        .to_bytes();
                    if !sender.is_closed() {
                        self.put_idle(host, port, sender);
                    }
                    return Ok(Reply {
                        status: parts.status,
                        headers: parts.headers,
                        body,
                    });
                }
                Err(mut e) => match e.take_message() {
                    Some(unsent) if reused => request = unsent,
                    _ => return Err(hyper_error(url, e.error())),
                },
            }
        }
    }

    /// The most recently used idle connection to `host:port` that is still open.
    fn take_idle(&self, host: &str, port: u16) -> Option<Sender> {
        let mut idle = self.idle.lock().ok()?;
        let entry = idle.iter_mut().find(|i| i.port == port && i.host == host)?;
        while let Some((s, _)) = entry.senders.pop_back() {
            if !s.is_closed() {
                return Some(s);
            }
        }
        None
    }

    /// Puts a connection back, and closes those idle for longer than [`IDLE_TIMEOUT`].
    fn put_idle(&self, host: &str, port: u16, sender: Sender) {
        let Ok(mut idle) = self.idle.lock() else {
            return;
        };
        let now = Instant::now();
        let entry = match idle.iter().position(|i| i.port == port && i.host == host) {
            Some(i) => &mut idle[i],
            None => {
                idle.push(Idle {
                    host: host.to_string(),
                    port,
                    senders: VecDeque::new(),
                });
                let last = idle.len() - 1;
                &mut idle[last]
            }
        };
        while let Some((s, at)) = entry.senders.front() {
            if s.is_closed() || now.duration_since(*at) > IDLE_TIMEOUT {
                entry.senders.pop_front();
            } else {
                break;
            }
        }
        if entry.senders.len() < MAX_IDLE_PER_HOST {
            entry.senders.push_back((sender, now));
        }
    }
}

/// `http(s)://authority` and the rest, when joining the rest to the parsed authority gives what
/// parsing the whole would: the authority is plain (letters, digits, `.`, `-`, `:`, brackets for
/// IPv6), and the rest is empty, a query, or a path starting with a single `/`.
fn split_origin(text: &str) -> Option<(&str, &str)> {
    let after = text
        .strip_prefix("http://")
        .or_else(|| text.strip_prefix("https://"))?;
    let end = after.find(['/', '?']).unwrap_or(after.len());
    let authority = &after[..end];
    if authority.is_empty()
        || !authority
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
    {
        return None;
    }
    let split = text.len() - after.len() + end;
    let rest = &text[split..];
    // `join` reads `\` as `/` and skips tabs and line breaks, so either could turn the rest
    // into `//host`, where parsing the whole would keep it a path.
    if rest.starts_with("//") || rest.contains(['\\', '\t', '\r', '\n']) {
        return None;
    }
    Some((&text[..split], rest))
}

/// The request as it goes on the wire: origin-form target, `Host`, and `Accept: */*` unless
/// the caller set one (as reqwest sends).
fn plain_request(req: &Outgoing, host: &str) -> Result<hyper::Request<Full<Bytes>>, String> {
    let url = &req.url;
    let target = &url[url::Position::BeforePath..url::Position::AfterQuery];
    let mut r = hyper::Request::builder()
        .method(req.method.clone())
        .uri(target)
        .body(Full::new(req.body.clone().unwrap_or_default()))
        .map_err(|e| format!("{url}: {e}"))?;
    let headers = r.headers_mut();
    for (name, value) in &req.headers {
        headers.append(name, value.clone());
    }
    if !headers.contains_key(header::HOST) {
        let authority = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        };
        headers.insert(
            header::HOST,
            HeaderValue::from_str(&authority).map_err(|e| format!("{url}: {e}"))?,
        );
    }
    if !headers.contains_key(header::ACCEPT) {
        headers.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
    }
    // Credentials in the URL (`http://user:pass@host/`) go as basic authentication, as
    // reqwest sends them.
    if (!url.username().is_empty() || url.password().is_some())
        && !headers.contains_key(header::AUTHORIZATION)
    {
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        let user = decode(url.username());
        let password = url.password().map(decode).unwrap_or_default();
        let v = basic_auth(&user, &password);
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&v).map_err(|e| format!("{url}: {e}"))?,
        );
    }
    Ok(r)
}

/// The most of an answer's body read: far past any payload a state may hold (256 KiB) or a
/// function may return (6 MB), so that a server sending without end cannot fill the memory.
pub const MAX_BODY_BYTES: usize = 16 << 20;

/// How an error about a body over [`MAX_BODY_BYTES`] begins.
pub const BODY_TOO_LARGE: &str = "the answer's body is larger than";

fn body_too_large(url: &Url) -> String {
    format!("{BODY_TOO_LARGE} {MAX_BODY_BYTES} bytes ({url})")
}

/// An `Authorization` value for basic authentication.
pub fn basic_auth(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

async fn connect(url: &Url, port: u16) -> Result<Sender, String> {
    let fail = |e: &dyn std::fmt::Display| {
        format!("error sending request for url ({url}): tcp connect error: {e}")
    };
    let stream = match url.host() {
        Some(url::Host::Ipv4(ip)) => tokio::net::TcpStream::connect((ip, port)).await,
        Some(url::Host::Ipv6(ip)) => tokio::net::TcpStream::connect((ip, port)).await,
        Some(url::Host::Domain(d)) => tokio::net::TcpStream::connect((d, port)).await,
        None => return Err(format!("{url}: the URL has no host")),
    }
    .map_err(|e| fail(&e))?;
    let _ = stream.set_nodelay(true);
    let (sender, conn) = hyper::client::conn::http1::handshake::<_, Full<Bytes>>(
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .map_err(|e| fail(&e))?;
    tokio::spawn(async move {
        // Ends when the server closes or every sender is dropped; its errors reach the request.
        let _ = conn.await;
    });
    Ok(sender)
}

/// Where `reply` sends the request next: a 3xx with a `Location` that resolves to an http(s)
/// URL. (Any other 3xx is an answer like any other.)
fn redirect_target(req: &Outgoing, reply: &Reply) -> Option<Url> {
    if !matches!(reply.status.as_u16(), 301 | 302 | 303 | 307 | 308) {
        return None;
    }
    reply
        .headers
        .get(header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .and_then(|l| req.url.join(l).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
}

/// Turns `req` into the hop to `next`, as browsers and reqwest do: 303, and 301/302 after a
/// POST, become a GET without a body; credentials go only to the same scheme, host and port;
/// `Referer` names the page that redirected, unless that would take an https URL to http.
fn redirect(req: &mut Outgoing, status: StatusCode, next: Url) {
    let code = status.as_u16();
    let to_get = code == 303 && req.method != Method::HEAD
        || matches!(code, 301 | 302) && req.method == Method::POST;
    if to_get {
        req.method = Method::GET;
        req.body = None;
        for h in [
            header::CONTENT_TYPE,
            header::CONTENT_LENGTH,
            header::CONTENT_ENCODING,
            header::TRANSFER_ENCODING,
        ] {
            req.headers.remove(h);
        }
    }
    let same_origin = next.scheme() == req.url.scheme()
        && next.host_str() == req.url.host_str()
        && next.port_or_known_default() == req.url.port_or_known_default();
    if !same_origin {
        for h in [
            header::AUTHORIZATION,
            header::COOKIE,
            header::PROXY_AUTHORIZATION,
            header::WWW_AUTHENTICATE,
        ] {
            req.headers.remove(h);
        }
    }
    req.headers.remove(header::REFERER);
    if !(req.url.scheme() == "https" && next.scheme() == "http") {
        let mut referer = req.url.clone();
        referer.set_fragment(None);
        let _ = referer.set_username("");
        let _ = referer.set_password(None);
        if let Ok(v) = HeaderValue::from_str(referer.as_str()) {
            req.headers.insert(header::REFERER, v);
        }
    }
    req.url = next;
}

fn hyper_error(url: &Url, e: &hyper::Error) -> String {
    with_causes(
        format!("error sending request for url ({url}): {e}"),
        std::error::Error::source(e),
    )
}

/// A reqwest error with its causes, which say what actually went wrong (refused, timed out).
fn describe(e: &reqwest::Error) -> String {
    with_causes(e.to_string(), std::error::Error::source(e))
}

fn with_causes(mut s: String, mut src: Option<&(dyn std::error::Error + 'static)>) -> String {
    while let Some(cause) = src {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        src = cause.source();
    }
    s
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
    fn parse_url_agrees_with_url_parse() {
        let client = Client::default();
        let cases = [
            "http://127.0.0.1:8080/orders/1?x=1&y=%20z",
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080?q=1",
            "http://127.0.0.1:8080/",
            "http://localhost/a/../b/./c",
            "http://Example.COM:80/X",
            "http://h:0080/x",
            "http://127.1/x",
            "http://0x7f.1:9/x",
            "http://h/x y\"z<>`{}",
            "http://h/x#frag",
            "http://h//x",
            "http://h\\x/y",
            "http://u:p@h/x",
            "http://h:99999/x",
            "http://h:/x",
            "http://[::1]:8/x",
            "http://[::1/x",
            "http://h/%zz/%2e%2E/x",
            "http://h/a\tb\n/c",
            "http://api.local/\\evil.com/x",
            "http://api.local/\t/evil.com/x",
            "http://api.local/\n/evil.com/x",
            "http://api.local?\\x",
            "http://h/caf\u{e9}?q=\u{e9}",
            "http://b\u{fc}cher.de/x",
            "http://xn--bcher-kva.de/x",
            "http://h.-/x",
            "http:///x",
            "http://",
            "https://api.example.com/v1/items?page=2",
            "HTTP://h/x",
            " http://h/x ",
            "ftp://h/x",
        ];
        // Twice: the second round reads the remembered origins.
        for _ in 0..2 {
            for c in cases {
                let fast = client.parse_url(c).map(|u| u.to_string());
                let slow = Url::parse(c).map(|u| u.to_string());
                assert_eq!(fast, slow, "{c:?}");
            }
        }
    }
}
