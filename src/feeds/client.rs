//! HTTP to one upstream API: snapshot pages, events, `whoami` and triage
//! actions, with every answer the contract allows turned into a value or a
//! [`FeedError`].

use std::collections::HashMap;
use std::fmt;
use std::time::Duration as StdDuration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::{DATE, ETAG, HeaderMap, IF_NONE_MATCH, RETRY_AFTER};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use super::Feed;
use crate::domain::time::rfc3339;
use crate::domain::{ApiError, Change, Event, HoldActionRequest, HoldActionResult, Officer};

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

/// Why a request gave nothing usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedError {
    /// `401`: no token, or one the server does not know.
    Unauthorized(String),
    /// `403`: the token may not do this.
    Forbidden(String),
    /// `429`: wait at least this long.
    RateLimited { retry_after: StdDuration },
    /// `5xx`: overloaded or in maintenance.
    Unavailable {
        /// The status.
        status: u16,
        /// How long the server asked to wait, if it said.
        retry_after: Option<StdDuration>,
    },
    /// `410 cursor_expired`: take a fresh snapshot.
    CursorExpired,
    /// Another `4xx`, with the contract's error code.
    Refused {
        /// The status.
        status: u16,
        /// The `error` code.
        code: String,
        /// The `message`, for logs.
        message: String,
    },
    /// No answer: refused connection, timeout, dropped connection.
    Transport(String),
    /// An answer that is not what the contract says.
    Malformed(String),
}

impl FeedError {
    /// The error with `secret` replaced wherever a server echoed it.
    fn redacted(self, secret: &str) -> FeedError {
        let clean = |text: String| text.replace(secret, "<token>");
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
            FeedError::RateLimited { retry_after } => Some(*retry_after),
            FeedError::Unavailable { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

impl fmt::Display for FeedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FeedError::Unauthorized(m) => write!(f, "401 unauthorized: {m}"),
            FeedError::Forbidden(m) => write!(f, "403 forbidden: {m}"),
            FeedError::RateLimited { retry_after } => {
                write!(
                    f,
                    "429 rate limited, retry after {}s",
                    retry_after.as_secs()
                )
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
    pub server_date: Option<DateTime<Utc>>,
    /// Our clock when the answer came.
    pub received_at: DateTime<Utc>,
}

impl<T> Answer<T> {
    /// Local clock minus the server's (positive: we are ahead).
    pub fn skew(&self) -> Option<chrono::Duration> {
        self.server_date.map(|d| self.received_at - d)
    }
}

/// One snapshot page, objects still raw (each parsed on its own).
#[derive(Debug, Clone, Deserialize)]
pub struct RawPage {
    /// The objects of the page, under `trains` or `declarations`.
    #[serde(alias = "trains", alias = "declarations")]
    pub items: Vec<Box<RawValue>>,
    /// The next page's token.
    pub next_page_token: Option<String>,
    /// The snapshot's event cursor (first page).
    #[serde(default)]
    pub cursor: Option<String>,
}

/// One batch of events, each still raw (parsed on its own).
#[derive(Debug, Clone, Deserialize)]
pub struct RawBatch {
    /// The events, oldest first.
    pub events: Vec<Box<RawValue>>,
    /// The cursor for the next poll.
    pub next: String,
    /// More events wait.
    pub has_more: bool,
    /// The server's clock.
    #[serde(with = "rfc3339")]
    pub server_time: DateTime<Utc>,
}

impl RawBatch {
    /// Parses each event; the ones that do not parse are returned as
    /// errors beside the good ones, never dropping the batch.
    pub fn parse<C: Change>(&self) -> (Vec<Event<C>>, Vec<String>) {
        let mut good = Vec::with_capacity(self.events.len());
        let mut bad = Vec::new();
        parse_each(&self.events, &mut good, &mut bad);
        (good, bad)
    }
}

/// Parses each raw object into `good`; the reasons of those that do not
/// parse go to `bad`.
pub(crate) fn parse_each<T: serde::de::DeserializeOwned>(
    items: &[Box<RawValue>],
    good: &mut Vec<T>,
    bad: &mut Vec<String>,
) {
    for item in items {
        match serde_json::from_str(item.get()) {
            Ok(object) => good.push(object),
            Err(e) => bad.push(e.to_string()),
        }
    }
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

/// The HTTP client of one API.
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
            .map_err(|e| FeedError::Transport(e.to_string()))?;
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

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(Token(token)) => request.bearer_auth(token),
            None => request,
        }
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(StatusCode, HeaderMap, Bytes, DateTime<Utc>), FeedError> {
        let response = request
            .send()
            .await
            .map_err(|e| self.redact(transport(e)))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|e| self.redact(transport(e)))?;
        Ok((status, headers, body, Utc::now()))
    }

    /// Never lets the token out, even when a server quotes it back.
    fn redact(&self, error: FeedError) -> FeedError {
        match &self.token {
            Some(Token(token)) => error.redacted(token),
            None => error,
        }
    }

    fn check(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Result<(), FeedError> {
        check(status, headers, body).map_err(|e| self.redact(e))
    }

    /// One snapshot page (`page_token` `None` for the first), using and
    /// refreshing `cache` for `If-None-Match`.
    pub async fn snapshot_page(
        &self,
        page_token: Option<&str>,
        page_size: u32,
        cache: &mut PageCache,
    ) -> Result<Answer<RawPage>, FeedError> {
        let path = self.feed.snapshot_path();
        let key = format!("{path}?{page_size}&{}", page_token.unwrap_or(""));
        let mut request = self
            .request(reqwest::Method::GET, path)
            .query(&[("page_size", page_size.to_string())]);
        if let Some(token) = page_token {
            request = request.query(&[("page_token", token)]);
        }
        if let Some((etag, _)) = cache.get(&key) {
            request = request.header(IF_NONE_MATCH, etag.as_str());
        }
        let (status, headers, body, received_at) = self.send(request).await?;
        let body = if status == StatusCode::NOT_MODIFIED {
            match cache.get(&key) {
                Some((_, cached)) => cached.clone(),
                None => return Err(FeedError::Malformed("304 for a page never fetched".into())),
            }
        } else {
            self.check(status, &headers, &body)?;
            if let Some(etag) = headers.get(ETAG).and_then(|v| v.to_str().ok()) {
                cache.put(key, etag.to_owned(), body.clone());
            }
            body
        };
        Ok(Answer {
            body: parse_json(&body)?,
            server_date: date(&headers),
            received_at,
        })
    }

    /// Events after `cursor`.
    pub async fn events(&self, cursor: &str, limit: u32) -> Result<Answer<RawBatch>, FeedError> {
        let request = self
            .request(reqwest::Method::GET, "/v1/events")
            .query(&[("after", cursor), ("limit", &limit.to_string())]);
        self.json(request).await
    }

    /// The officer and role behind the token (customs).
    pub async fn whoami(&self) -> Result<Officer, FeedError> {
        let request = self.request(reqwest::Method::GET, "/v1/whoami");
        self.json(request).await.map(|a| a.body)
    }

    /// Records a triage action; `Ok(true)` when recorded now (`201`),
    /// `Ok(false)` when it was already recorded under this key (`200`).
    pub async fn hold_action(
        &self,
        declaration_no: &str,
        idempotency_key: &str,
        action: &HoldActionRequest,
    ) -> Result<(bool, HoldActionResult), FeedError> {
        let request = self
            .request(
                reqwest::Method::POST,
                &format!("/v1/holds/{declaration_no}/actions"),
            )
            .header("Idempotency-Key", idempotency_key)
            .json(action);
        let (status, headers, body, _) = self.send(request).await?;
        self.check(status, &headers, &body)?;
        Ok((status == StatusCode::CREATED, parse_json(&body)?))
    }

    async fn json<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<Answer<T>, FeedError> {
        let (status, headers, body, received_at) = self.send(request).await?;
        self.check(status, &headers, &body)?;
        Ok(Answer {
            body: parse_json(&body)?,
            server_date: date(&headers),
            received_at,
        })
    }
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
    FeedError::Transport(format!("{what} ({cause})"))
}

fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, FeedError> {
    serde_json::from_slice(body).map_err(|e| FeedError::Malformed(e.to_string()))
}

fn date(headers: &HeaderMap) -> Option<DateTime<Utc>> {
    let text = headers.get(DATE)?.to_str().ok()?;
    DateTime::parse_from_rfc2822(text)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

fn retry_after(headers: &HeaderMap) -> Option<StdDuration> {
    headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(StdDuration::from_secs)
}

/// Turns a non-2xx answer into its error.
fn check(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Result<(), FeedError> {
    if status.is_success() {
        return Ok(());
    }
    let error: Option<ApiError> = serde_json::from_slice(body).ok();
    let code = error.as_ref().map_or_else(String::new, |e| e.error.clone());
    let message = error
        .and_then(|e| e.message)
        .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned());
    Err(match status.as_u16() {
        401 => FeedError::Unauthorized(message),
        403 => FeedError::Forbidden(message),
        410 => FeedError::CursorExpired,
        429 => FeedError::RateLimited {
            retry_after: retry_after(headers).unwrap_or(StdDuration::from_secs(1)),
        },
        s if s >= 500 => FeedError::Unavailable {
            status: s,
            retry_after: retry_after(headers),
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

    #[test]
    fn tokens_never_show() {
        let token = Token::new("  demo-officer \n").unwrap();
        assert_eq!(format!("{token:?}"), "Token(<redacted>)");
        assert!(Token::new("   ").is_none());
    }

    #[test]
    fn answers_become_errors_by_the_contract() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "7".parse().unwrap());
        let body = br#"{"error":"rate_limited","message":"slow down"}"#;
        assert_eq!(
            check(StatusCode::TOO_MANY_REQUESTS, &headers, body),
            Err(FeedError::RateLimited {
                retry_after: StdDuration::from_secs(7)
            })
        );
        assert_eq!(
            check(
                StatusCode::GONE,
                &HeaderMap::new(),
                br#"{"error":"cursor_expired"}"#
            ),
            Err(FeedError::CursorExpired)
        );
        assert!(matches!(
            check(StatusCode::BAD_GATEWAY, &HeaderMap::new(), b"<html>"),
            Err(FeedError::Unavailable {
                status: 502,
                retry_after: None
            })
        ));
        let refused = check(
            StatusCode::CONFLICT,
            &HeaderMap::new(),
            br#"{"error":"claimed_by_other","message":"claimed by ALK-0233"}"#,
        )
        .unwrap_err();
        assert_eq!(
            refused.to_string(),
            "409 claimed_by_other: claimed by ALK-0233"
        );
        assert!(
            !check(StatusCode::UNAUTHORIZED, &HeaderMap::new(), b"")
                .unwrap_err()
                .is_transient()
        );
    }

    #[test]
    fn a_token_quoted_back_is_redacted() {
        let error = FeedError::Forbidden("Bearer secret-7f3a may not read this".into());
        assert_eq!(
            error.redacted("secret-7f3a").to_string(),
            "403 forbidden: Bearer <token> may not read this"
        );
    }

    #[test]
    fn a_bad_event_does_not_spoil_its_batch() {
        let batch: RawBatch = serde_json::from_str(
            r#"{"events":[
                {"event_id":"c-1","seq":1,"type":"hold.lifted","at":"2026-11-26T10:00:00+08:00","data":{"declaration_no":"94022026E000012345","outcome":"released"}},
                {"event_id":"c-2","seq":2,"type":"hold.lifted","at":"not a time","data":{}},
                {"event_id":"c-3","seq":3,"type":"weather.changed","at":"2026-11-26T10:00:00+08:00","data":{}}
            ],"next":"x","has_more":false,"server_time":"2026-11-26T10:00:05+08:00"}"#,
        )
        .unwrap();
        let (good, bad) = batch.parse::<crate::domain::CustomsChange>();
        assert_eq!(good.len(), 2);
        assert_eq!(bad.len(), 1);
    }
}
