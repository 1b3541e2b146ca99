//! HTTP to one upstream API: snapshot pages, events, `whoami` and triage
//! actions, with every answer the contract allows turned into a value or a
//! [`FeedError`].
//!
//! Everything a server says is decoded here and nowhere else: its text
//! becomes [`FeedText`], the numbers it gives are bounded (a wait it asks
//! for, [`ServerWait`]; the size of an answer, [`MAX_BODY_BYTES`]; its
//! clock's distance from ours, [`MAX_SKEW`]), one record that does not
//! decode is reported and the rest kept, and no error leaves a client with
//! the token in it, even when a server quotes it back.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration as StdDuration;

use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::{DATE, ETAG, HeaderMap, IF_NONE_MATCH, RETRY_AFTER};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use super::Feed;
use crate::domain::time::rfc3339;
use crate::domain::{
    ApiError, Change, Cursor, Declaration, Event, FeedText, HoldActionRequest, HoldActionResult,
    Officer, PageToken, Train,
};

/// A bearer token. Never printed, never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Wraps a token (surrounding whitespace removed); `None` when empty.
    pub fn new(text: &str) -> Option<Token> {
        let text = text.trim();
        (!text.is_empty()).then(|| Token(text.to_owned()))
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// The longest answer read, in bytes after decompression: a snapshot page
/// of a thousand declarations is about a megabyte.
pub const MAX_BODY_BYTES: usize = 64 << 20;

/// How far a server's `Date` may be from this machine's clock and still be
/// believed: a `Date` further off tells nothing of the skew.
pub const MAX_SKEW: chrono::Duration = chrono::Duration::days(30);

/// How long a server asked to wait (`Retry-After`), bounded: what it asks
/// beyond [`ServerWait::MAX`] is cut to that, so that no server can stop a
/// feed for ever or overflow a clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerWait {
    wait: StdDuration,
    asked_seconds: u64,
}

impl ServerWait {
    /// The longest wait taken from a server.
    pub const MAX: StdDuration = StdDuration::from_secs(600);

    /// A wait of `seconds`, as asked, at most [`Self::MAX`].
    pub fn seconds(seconds: u64) -> ServerWait {
        ServerWait {
            wait: StdDuration::from_secs(seconds).min(Self::MAX),
            asked_seconds: seconds,
        }
    }

    /// The wait to take.
    pub fn get(self) -> StdDuration {
        self.wait
    }

    /// Whether the server asked for more than is taken.
    pub fn was_cut(self) -> bool {
        StdDuration::from_secs(self.asked_seconds) > self.wait
    }
}

impl fmt::Display for ServerWait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}s", self.wait.as_secs())?;
        if self.was_cut() {
            write!(f, " (asked {}s)", self.asked_seconds)?;
        }
        Ok(())
    }
}

/// Why a request gave nothing usable. Every text in it is [`FeedText`]
/// with the token taken out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedError {
    /// `401`: no token, or one the server does not know.
    Unauthorized(FeedText),
    /// `403`: the token may not do this.
    Forbidden(FeedText),
    /// `429`: wait at least this long.
    RateLimited {
        /// How long.
        retry_after: ServerWait,
    },
    /// `5xx`: overloaded or in maintenance.
    Unavailable {
        /// The status.
        status: u16,
        /// How long the server asked to wait, if it said.
        retry_after: Option<ServerWait>,
    },
    /// `410 cursor_expired`: take a fresh snapshot.
    CursorExpired,
    /// Another `4xx`, with the contract's error code.
    Refused {
        /// The status.
        status: u16,
        /// The `error` code.
        code: FeedText,
        /// The `message`, for logs.
        message: FeedText,
    },
    /// No answer: refused connection, timeout, dropped connection.
    Transport(FeedText),
    /// An answer that is not what the contract says.
    Malformed(FeedText),
}

impl FeedError {
    /// The error with `secret` replaced wherever a server echoed it.
    fn redacted(self, secret: &str) -> FeedError {
        let clean = |text: FeedText| redact(text, secret);
        match self {
            FeedError::Unauthorized(m) => FeedError::Unauthorized(clean(m)),
            FeedError::Forbidden(m) => FeedError::Forbidden(clean(m)),
            FeedError::Refused {
                status,
                code,
                message,
            } => FeedError::Refused {
                status,
                code: clean(code),
                message: clean(message),
            },
            FeedError::Transport(m) => FeedError::Transport(clean(m)),
            FeedError::Malformed(m) => FeedError::Malformed(clean(m)),
            other => other,
        }
    }

    /// Worth retrying after a wait (as opposed to needing a person).
    pub fn is_transient(&self) -> bool {
        !matches!(self, FeedError::Unauthorized(_) | FeedError::Forbidden(_))
    }

    /// The least wait the server asked for.
    pub fn retry_after(&self) -> Option<StdDuration> {
        match self {
            FeedError::RateLimited { retry_after } => Some(retry_after.get()),
            FeedError::Unavailable { retry_after, .. } => retry_after.map(ServerWait::get),
            _ => None,
        }
    }
}

/// `text` with every copy of `secret` replaced (a server may quote the
/// token back, even split by characters that cleaning removes).
fn redact(text: FeedText, secret: &str) -> FeedText {
    let secret = FeedText::new(secret);
    if secret.is_empty() || !text.contains(secret.as_str()) {
        return text;
    }
    FeedText::new(&text.replace(secret.as_str(), "<token>"))
}

impl fmt::Display for FeedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FeedError::Unauthorized(m) => write!(f, "401 unauthorized: {m}"),
            FeedError::Forbidden(m) => write!(f, "403 forbidden: {m}"),
            FeedError::RateLimited { retry_after } => {
                write!(f, "429 rate limited, retry after {retry_after}")
            }
            FeedError::Unavailable { status, .. } => write!(f, "{status} unavailable"),
            FeedError::CursorExpired => f.write_str("410 cursor expired"),
            FeedError::Refused {
                status,
                code,
                message,
            } => write!(f, "{status} {code}: {message}"),
            FeedError::Transport(m) => write!(f, "no answer: {m}"),
            FeedError::Malformed(m) => write!(f, "malformed answer: {m}"),
        }
    }
}

impl std::error::Error for FeedError {}

/// An answer with what its headers told.
#[derive(Debug, Clone)]
pub struct Answer<T> {
    /// The body.
    pub body: T,
    /// The server's `Date`, when sent.
    server_date: Option<DateTime<Utc>>,
    /// Our clock when the answer came.
    pub received_at: DateTime<Utc>,
}

impl<T> Answer<T> {
    /// Local clock minus the server's (positive: we are ahead), when the
    /// server's `Date` is within [`MAX_SKEW`] of ours.
    pub fn skew(&self) -> Option<chrono::Duration> {
        let skew = self.received_at - self.server_date?;
        (skew.abs() <= MAX_SKEW).then_some(skew)
    }
}

/// One snapshot page, each object decoded on its own: one that does not
/// decode is reported in `bad` and the rest are kept.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The objects that decoded.
    pub items: Vec<T>,
    /// Why each of the others did not.
    pub bad: Vec<FeedText>,
    /// The next page's token.
    pub next_page_token: Option<PageToken>,
    /// The snapshot's event cursor (first page).
    pub cursor: Option<Cursor>,
}

/// One batch of events, each decoded on its own.
#[derive(Debug, Clone)]
pub struct Batch<C> {
    /// The events that decoded, oldest first.
    pub events: Vec<Event<C>>,
    /// Why each of the others did not.
    pub bad: Vec<FeedText>,
    /// The cursor for the next poll.
    pub next: Cursor,
    /// More events wait.
    pub has_more: bool,
    /// The server's clock.
    pub server_time: DateTime<Utc>,
}

/// A page as it comes, its objects still raw.
#[derive(Deserialize)]
struct RawPage {
    #[serde(alias = "trains", alias = "declarations")]
    items: Vec<Box<RawValue>>,
    next_page_token: Option<PageToken>,
    #[serde(default)]
    cursor: Option<Cursor>,
}

/// A batch as it comes, its events still raw.
#[derive(Deserialize)]
struct RawBatch {
    events: Vec<Box<RawValue>>,
    next: Cursor,
    has_more: bool,
    #[serde(with = "rfc3339")]
    server_time: DateTime<Utc>,
}

/// What customs answered to a triage action it recorded (`2xx`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// Recorded now (`201`), not before under the same key (`200`).
    pub created: bool,
    /// The result, or why its body could not be read (the action is
    /// recorded all the same).
    pub result: Result<HoldActionResult, FeedText>,
}

/// ETags and bodies of snapshot pages, kept up to a byte budget, so that a
/// page that has not changed comes back as `304` and is reused.
#[derive(Debug, Default)]
pub struct PageCache {
    pages: HashMap<String, (String, Bytes)>,
    bytes: usize,
}

/// Snapshot pages kept for `If-None-Match` (a million parcels are a
/// gigabyte of JSON: only small boards are cached).
const PAGE_CACHE_BUDGET: usize = 32 << 20;

impl PageCache {
    fn get(&self, key: &str) -> Option<&(String, Bytes)> {
        self.pages.get(key)
    }

    fn put(&mut self, key: String, etag: String, body: Bytes) {
        if let Some((_, old)) = self.pages.remove(&key) {
            self.bytes -= old.len();
        }
        if self.bytes + body.len() <= PAGE_CACHE_BUDGET {
            self.bytes += body.len();
            self.pages.insert(key, (etag, body));
        }
    }
}

/// The HTTP client of one API. Every answer is decoded here, and every
/// error it returns has had the token taken out.
#[derive(Debug, Clone)]
pub struct ApiClient {
    feed: Feed,
    http: reqwest::Client,
    base: String,
    token: Option<Token>,
}

/// Timeouts of every request.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// Connecting.
    pub connect: StdDuration,
    /// The whole request.
    pub request: StdDuration,
}

/// What one request brought back.
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    received_at: DateTime<Utc>,
}

impl Reply {
    fn answer<T>(&self, body: T) -> Answer<T> {
        Answer {
            body,
            server_date: date(&self.headers),
            received_at: self.received_at,
        }
    }
}

impl ApiClient {
    /// A client of the API at `base` (e.g. `https://host/customs`).
    pub fn new(
        feed: Feed,
        base: &str,
        token: Option<Token>,
        timeouts: Timeouts,
    ) -> Result<ApiClient, FeedError> {
        let http = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.request)
            .user_agent(concat!("greenchannel/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| FeedError::Transport(FeedText::new(&e.to_string())))?;
        Ok(ApiClient {
            feed,
            http,
            base: base.trim_end_matches('/').to_owned(),
            token,
        })
    }

    /// Which feed this client reads.
    pub fn feed(&self) -> Feed {
        self.feed
    }

    /// The base URL, as requests use it.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(Token(token)) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Never lets the token out, even when a server quotes it back.
    fn redact(&self, error: FeedError) -> FeedError {
        match &self.token {
            Some(Token(token)) => error.redacted(token),
            None => error,
        }
    }

    fn redact_text(&self, text: FeedText) -> FeedText {
        match &self.token {
            Some(Token(token)) => redact(text, token),
            None => text,
        }
    }

    /// Sends a request and reads the whole answer, at most
    /// [`MAX_BODY_BYTES`] of it.
    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Reply, FeedError> {
        let mut response = request.send().await.map_err(transport)?;
        let status = response.status();
        let headers = response.headers().clone();
        let too_large = || {
            FeedError::Malformed(FeedText::new(&format!(
                "an answer larger than {} MiB",
                MAX_BODY_BYTES >> 20
            )))
        };
        if response
            .content_length()
            .is_some_and(|n| n > MAX_BODY_BYTES as u64)
        {
            return Err(too_large());
        }
        let mut body = BytesMut::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Reply {
            status,
            headers,
            body: body.freeze(),
            received_at: Utc::now(),
        })
    }

    /// One snapshot page (`page_token` `None` for the first), using and
    /// refreshing `cache` for `If-None-Match`.
    pub async fn snapshot_page<T: DeserializeOwned>(
        &self,
        page_token: Option<&PageToken>,
        page_size: u32,
        cache: &mut PageCache,
    ) -> Result<Answer<Page<T>>, FeedError> {
        self.read_snapshot_page(page_token, page_size, cache)
            .await
            .map_err(|e| self.redact(e))
    }

    async fn read_snapshot_page<T: DeserializeOwned>(
        &self,
        page_token: Option<&PageToken>,
        page_size: u32,
        cache: &mut PageCache,
    ) -> Result<Answer<Page<T>>, FeedError> {
        let path = self.feed.snapshot_path();
        let key = format!(
            "{path}?{page_size}&{}",
            page_token.map_or("", PageToken::as_str)
        );
        let mut request = self
            .request(reqwest::Method::GET, path)
            .query(&[("page_size", page_size.to_string())]);
        if let Some(token) = page_token {
            request = request.query(&[("page_token", token.as_str())]);
        }
        if let Some((etag, _)) = cache.get(&key) {
            request = request.header(IF_NONE_MATCH, etag.as_str());
        }
        let reply = self.send(request).await?;
        let body = if reply.status == StatusCode::NOT_MODIFIED {
            match cache.get(&key) {
                Some((_, cached)) => cached.clone(),
                None => return Err(malformed("304 for a page never fetched")),
            }
        } else {
            check(&reply)?;
            if let Some(etag) = reply.headers.get(ETAG).and_then(|v| v.to_str().ok()) {
                cache.put(key, etag.to_owned(), reply.body.clone());
            }
            reply.body.clone()
        };
        Ok(reply.answer(self.decode_page(&body)?))
    }

    /// Decodes a snapshot page's body, each object on its own (the token
    /// taken out of every reason).
    pub fn decode_page<T: DeserializeOwned>(&self, body: &[u8]) -> Result<Page<T>, FeedError> {
        let raw: RawPage = parse_json(body).map_err(|e| self.redact(e))?;
        let (items, bad) = self.decode_each(&raw.items);
        Ok(Page {
            items,
            bad,
            next_page_token: raw.next_page_token,
            cursor: raw.cursor,
        })
    }

    /// Decodes an event batch's body, each event on its own (the token
    /// taken out of every reason).
    pub fn decode_batch<C: Change>(&self, body: &[u8]) -> Result<Batch<C>, FeedError> {
        let raw: RawBatch = parse_json(body).map_err(|e| self.redact(e))?;
        let (events, bad) = self.decode_each(&raw.events);
        Ok(Batch {
            events,
            bad,
            next: raw.next,
            has_more: raw.has_more,
            server_time: raw.server_time,
        })
    }

    /// Events after `cursor`.
    pub async fn events<C: Change>(
        &self,
        cursor: &Cursor,
        limit: u32,
    ) -> Result<Answer<Batch<C>>, FeedError> {
        let request = self
            .request(reqwest::Method::GET, "/v1/events")
            .query(&[("after", cursor.as_str()), ("limit", &limit.to_string())]);
        let read = async {
            let reply = self.send(request).await?;
            check(&reply)?;
            Ok(reply.answer(self.decode_batch(&reply.body)?))
        };
        read.await.map_err(|e| self.redact(e))
    }

    /// One page of the parcels held now, most urgent train first (customs
    /// `listHolds`).
    pub async fn holds_page(
        &self,
        page_token: Option<&PageToken>,
        page_size: u32,
    ) -> Result<Page<Declaration>, FeedError> {
        let mut request = self
            .request(reqwest::Method::GET, "/v1/holds")
            .query(&[("page_size", page_size.to_string())]);
        if let Some(token) = page_token {
            request = request.query(&[("page_token", token.as_str())]);
        }
        let read = async {
            let reply = self.send(request).await?;
            check(&reply)?;
            self.decode_page(&reply.body)
        };
        read.await.map_err(|e| self.redact(e))
    }

    /// One declaration (customs `getDeclaration`).
    pub async fn declaration(&self, declaration_no: &str) -> Result<Declaration, FeedError> {
        let request = self.request(
            reqwest::Method::GET,
            &format!("/v1/declarations/{declaration_no}"),
        );
        self.read_one(request).await
    }

    /// One train with its containers (railway `getTrain`).
    pub async fn train(&self, train_id: &str) -> Result<Train, FeedError> {
        let request = self.request(reqwest::Method::GET, &format!("/v1/trains/{train_id}"));
        self.read_one(request).await
    }

    async fn read_one<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, FeedError> {
        let read = async {
            let reply = self.send(request).await?;
            check(&reply)?;
            parse_json(&reply.body)
        };
        read.await.map_err(|e| self.redact(e))
    }

    /// The officer and role behind the token (customs).
    pub async fn whoami(&self) -> Result<Officer, FeedError> {
        let request = self.request(reqwest::Method::GET, "/v1/whoami");
        self.read_one(request).await
    }

    /// Records a triage action. An answer of `2xx` means it is recorded,
    /// even if its body cannot be read.
    pub async fn hold_action(
        &self,
        declaration_no: &str,
        idempotency_key: &str,
        action: &HoldActionRequest,
    ) -> Result<Recorded, FeedError> {
        let request = self
            .request(
                reqwest::Method::POST,
                &format!("/v1/holds/{declaration_no}/actions"),
            )
            .header("Idempotency-Key", idempotency_key)
            .json(action);
        let read = async {
            let reply = self.send(request).await?;
            check(&reply)?;
            Ok(Recorded {
                created: reply.status == StatusCode::CREATED,
                result: parse_json(&reply.body).map_err(|e| match e {
                    FeedError::Malformed(why) => self.redact_text(why),
                    other => FeedText::new(&other.to_string()),
                }),
            })
        };
        read.await.map_err(|e| self.redact(e))
    }

    /// Decodes each raw object on its own; the reasons of those that do
    /// not decode (token taken out) go beside the others.
    fn decode_each<T: DeserializeOwned>(&self, raw: &[Box<RawValue>]) -> (Vec<T>, Vec<FeedText>) {
        let mut good = Vec::with_capacity(raw.len());
        let mut bad = Vec::new();
        for item in raw {
            match serde_json::from_str(item.get()) {
                Ok(object) => good.push(object),
                Err(e) => bad.push(self.redact_text(FeedText::new(&e.to_string()))),
            }
        }
        (good, bad)
    }
}

fn malformed(why: &str) -> FeedError {
    FeedError::Malformed(FeedText::new(why))
}

fn transport(e: reqwest::Error) -> FeedError {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "answer cut off"
    } else {
        "request failed"
    };
    // The innermost cause says most (e.g. "connection refused").
    let mut cause: &dyn std::error::Error = &e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    FeedError::Transport(FeedText::new(&format!("{what} ({cause})")))
}

fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, FeedError> {
    serde_json::from_slice(body).map_err(|e| malformed(&e.to_string()))
}

fn date(headers: &HeaderMap) -> Option<DateTime<Utc>> {
    let text = headers.get(DATE)?.to_str().ok()?;
    DateTime::parse_from_rfc2822(text)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// `Retry-After` in seconds (more than a `u64` holds counts as the most),
/// or as an HTTP date (counted from the server's `Date`, else from now),
/// bounded.
fn retry_after(headers: &HeaderMap) -> Option<ServerWait> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return Some(ServerWait::seconds(text.parse().unwrap_or(u64::MAX)));
    }
    let at = DateTime::parse_from_rfc2822(text).ok()?.with_timezone(&Utc);
    let from = date(headers).unwrap_or_else(Utc::now);
    Some(ServerWait::seconds(
        u64::try_from((at - from).num_seconds()).unwrap_or(0),
    ))
}

/// Turns a non-2xx answer into its error.
fn check(reply: &Reply) -> Result<(), FeedError> {
    let (status, body) = (reply.status, &reply.body);
    if status.is_success() {
        return Ok(());
    }
    let error: Option<ApiError> = serde_json::from_slice(body).ok();
    let code = error.as_ref().map(|e| e.error.clone()).unwrap_or_default();
    let message = error
        .and_then(|e| e.message)
        .unwrap_or_else(|| FeedText::new(&String::from_utf8_lossy(&body[..body.len().min(200)])));
    Err(match status.as_u16() {
        401 => FeedError::Unauthorized(message),
        403 => FeedError::Forbidden(message),
        410 => FeedError::CursorExpired,
        429 => FeedError::RateLimited {
            retry_after: retry_after(&reply.headers).unwrap_or(ServerWait::seconds(1)),
        },
        s if s >= 500 => FeedError::Unavailable {
            status: s,
            retry_after: retry_after(&reply.headers),
        },
        s => FeedError::Refused {
            status: s,
            code,
            message,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, headers: &[(&'static str, &str)], body: &[u8]) -> Reply {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, value.parse().unwrap());
        }
        Reply {
            status: StatusCode::from_u16(status).unwrap(),
            headers: map,
            body: Bytes::copy_from_slice(body),
            received_at: "2026-11-26T02:00:00Z".parse().unwrap(),
        }
    }

    fn client(token: &str) -> ApiClient {
        let timeouts = Timeouts {
            connect: StdDuration::from_secs(1),
            request: StdDuration::from_secs(1),
        };
        ApiClient::new(
            Feed::Customs,
            "http://127.0.0.1:9",
            Token::new(token),
            timeouts,
        )
        .unwrap()
    }

    #[test]
    fn tokens_never_show() {
        let token = Token::new("  demo-officer \n").unwrap();
        assert_eq!(format!("{token:?}"), "Token(<redacted>)");
        assert!(Token::new("   ").is_none());
    }

    #[test]
    fn answers_become_errors_by_the_contract() {
        let body = br#"{"error":"rate_limited","message":"slow down"}"#;
        assert_eq!(
            check(&reply(429, &[("retry-after", "7")], body)),
            Err(FeedError::RateLimited {
                retry_after: ServerWait::seconds(7)
            })
        );
        assert_eq!(
            check(&reply(410, &[], br#"{"error":"cursor_expired"}"#)),
            Err(FeedError::CursorExpired)
        );
        assert!(matches!(
            check(&reply(502, &[], b"<html>")),
            Err(FeedError::Unavailable {
                status: 502,
                retry_after: None
            })
        ));
        let refused = check(&reply(
            409,
            &[],
            br#"{"error":"claimed_by_other","message":"claimed by ALK-0233"}"#,
        ))
        .unwrap_err();
        assert_eq!(
            refused.to_string(),
            "409 claimed_by_other: claimed by ALK-0233"
        );
        assert!(!check(&reply(401, &[], b"")).unwrap_err().is_transient());
    }

    #[test]
    fn a_servers_wait_is_bounded() {
        for asked in ["86400", "18446744073709551615", "99999999999999999999999"] {
            let error = check(&reply(429, &[("retry-after", asked)], b"{}")).unwrap_err();
            let wait = error.retry_after().expect("a wait");
            assert!(wait <= ServerWait::MAX, "{asked}: {wait:?}");
            // Added to any clock, it cannot overflow.
            let _ = Utc::now() + chrono::Duration::from_std(wait).unwrap();
        }
        let error = check(&reply(429, &[("retry-after", "86400")], b"{}")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "429 rate limited, retry after 600s (asked 86400s)"
        );
        // Seconds beyond what a u64 holds are as long a wait as any, not none.
        let beyond =
            check(&reply(429, &[("retry-after", "99999999999999999999")], b"")).unwrap_err();
        assert_eq!(beyond.retry_after(), Some(ServerWait::MAX));
        // An HTTP date counts from the server's own clock.
        let dated = reply(
            503,
            &[
                ("date", "Thu, 26 Nov 2026 02:00:00 GMT"),
                ("retry-after", "Thu, 26 Nov 2026 02:00:30 GMT"),
            ],
            b"",
        );
        assert_eq!(
            check(&dated).unwrap_err().retry_after(),
            Some(StdDuration::from_secs(30))
        );
        // A number that is not one is no wait at all (a 429 waits 1 s).
        let junk = check(&reply(429, &[("retry-after", "soon")], b"")).unwrap_err();
        assert_eq!(junk.retry_after(), Some(StdDuration::from_secs(1)));
    }

    #[test]
    fn a_clock_far_off_tells_no_skew() {
        let answer = |date: &str| reply(200, &[("date", date)], b"").answer(());
        assert_eq!(
            answer("Thu, 26 Nov 2026 01:59:58 GMT").skew(),
            Some(chrono::Duration::seconds(2))
        );
        assert_eq!(answer("Fri, 31 Dec 9999 23:59:59 GMT").skew(), None);
    }

    #[test]
    fn a_token_quoted_back_is_redacted() {
        let error = FeedError::Forbidden("Bearer secret-7f3a may not read this".into());
        assert_eq!(
            error.redacted("secret-7f3a").to_string(),
            "403 forbidden: Bearer <token> may not read this"
        );
        // Split by an escape sequence, it is still found once cleaned.
        let split = FeedError::Malformed(FeedText::new("got secret\u{1b}-7f3a"));
        assert!(!split.redacted("secret-7f3a").to_string().contains("7f3a"));
    }

    #[test]
    fn a_bad_event_does_not_spoil_its_batch_nor_shows_the_token() {
        let client = client("secret-7f3a");
        let raw: RawBatch = serde_json::from_str(
            r#"{"events":[
                {"event_id":"c-1","seq":1,"type":"hold.lifted","at":"2026-11-26T10:00:00+08:00","data":{"declaration_no":"94022026E000012345","outcome":"released"}},
                {"event_id":"c-2","seq":2,"type":"hold.lifted","at":"secret-7f3a","data":{}},
                {"event_id":"c-3","seq":3,"type":"weather.changed","at":"2026-11-26T10:00:00+08:00","data":{}}
            ],"next":"x","has_more":false,"server_time":"2026-11-26T10:00:05+08:00"}"#,
        )
        .unwrap();
        let (good, bad): (Vec<Event<crate::domain::CustomsChange>>, _) =
            client.decode_each(&raw.events);
        assert_eq!(good.len(), 2);
        assert_eq!(bad.len(), 1);
        assert!(bad[0].contains("<token>"), "{}", bad[0]);
        assert!(!bad[0].contains("7f3a"), "{}", bad[0]);
    }

    #[test]
    fn cursors_and_page_tokens_are_bounded() {
        let long = format!(
            r#"{{"events":[],"next":"{}","has_more":false,"server_time":"2026-11-26T10:00:05+08:00"}}"#,
            "c".repeat(300)
        );
        assert!(parse_json::<RawBatch>(long.as_bytes()).is_err());
        let empty = r#"{"trains":[],"next_page_token":"","cursor":null}"#;
        assert!(parse_json::<RawPage>(empty.as_bytes()).is_err());
    }
}
