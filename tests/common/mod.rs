//! Shared helpers of the integration tests: a simulator on a loopback port
//! with its clock held still, its demo tokens, and small HTTP helpers.

#![allow(dead_code)]

pub mod plug;
pub mod tmux;

use chrono::{DateTime, Utc};
use greenchannel::sim::{self, RunningSim, SimConfig};
use serde_json::Value;

/// The demo token of the night-duty wall (a viewer).
pub const VIEWER: &str = "demo-viewer";
/// The demo token of officer Wang Fang (`ALK-0417`).
pub const OFFICER: &str = "demo-officer";
/// The demo token of officer Li Jianguo (`ALK-0233`).
pub const OFFICER_2: &str = "demo-officer-2";
/// The demo token of supervisor Zhang Wei (`ALK-0001`).
pub const SUPERVISOR: &str = "demo-supervisor";

/// The instant every test scenario starts at.
pub fn start() -> DateTime<Utc> {
    "2026-11-26T03:30:00Z".parse().expect("valid instant")
}

/// A world for triage: holds are common and no simulated colleague claims
/// one by itself.
pub fn triage_config() -> SimConfig {
    SimConfig::triage()
}

/// A simulator on 127.0.0.1 (any free port), its clock paused at [`start`].
pub async fn start_sim(config: SimConfig) -> RunningSim {
    start_sim_at(config, start()).await
}

/// A simulator on 127.0.0.1 (any free port), its clock paused at `start`.
pub async fn start_sim_at(config: SimConfig, start: DateTime<Utc>) -> RunningSim {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    sim::spawn(&config, start, true, listener).expect("simulator starts")
}

/// An HTTP client that never follows redirects and gives up after 10 s.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client builds")
}

/// GET with a bearer token.
pub async fn get(url: &str, token: &str) -> reqwest::Response {
    client()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

/// GET with a bearer token, expecting 200 and a JSON body.
pub async fn get_json(url: &str, token: &str) -> Value {
    let response = get(url, token).await;
    let status = response.status();
    let body = response.text().await.expect("body");
    assert_eq!(status, 200, "GET {url}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {url}: {e}: {body}"))
}

/// POST a JSON body to the simulator's control endpoint.
pub async fn control(sim: &RunningSim, path: &str, body: Value) -> Value {
    let url = format!("{}/{path}", sim.control_url());
    let response = client()
        .post(&url)
        .json(&body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    assert!(
        response.status().is_success(),
        "POST {url}: {}",
        response.status()
    );
    response.json().await.expect("control answers JSON")
}

/// Moves the paused scenario clock forward.
pub async fn advance(sim: &RunningSim, seconds: f64) {
    control(
        sim,
        "clock",
        serde_json::json!({ "advance_seconds": seconds }),
    )
    .await;
}

/// Switches faults (a JSON object of `Faults` fields).
pub async fn faults(sim: &RunningSim, settings: Value) {
    control(sim, "faults", settings).await;
}

/// Walks a paged list: `fetch` reads the page a token names (`None` for the
/// first page) and answers it with the token of the next page (`None` on the
/// last). Fails after `max_pages` pages instead of walking on forever.
pub async fn walk_pages<P>(
    what: &str,
    max_pages: usize,
    mut fetch: impl AsyncFnMut(Option<&str>) -> (P, Option<String>),
) -> Vec<P> {
    let mut pages = Vec::new();
    let mut token: Option<String> = None;
    while pages.len() < max_pages {
        let (page, next) = fetch(token.as_deref()).await;
        pages.push(page);
        match next {
            Some(next) => token = Some(next),
            None => return pages,
        }
    }
    panic!("{what}: more than {max_pages} pages");
}

/// The `next_page_token` of a page read as JSON: a string, or `null` on the
/// last page.
pub fn next_page_token(page: &Value) -> Option<String> {
    match page.get("next_page_token") {
        Some(Value::Null) => None,
        Some(Value::String(next)) => Some(next.clone()),
        other => panic!("next_page_token must be a string or null, got {other:?}"),
    }
}
