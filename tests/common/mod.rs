//! Shared helpers of the integration tests: a simulator on a loopback port
//! with its clock held still, and small HTTP helpers.

#![allow(dead_code)]

use chrono::{DateTime, Utc};
use greenchannel::sim::{self, RunningSim, SimConfig};
use serde_json::Value;

/// The instant every test scenario starts at.
pub fn start() -> DateTime<Utc> {
    "2026-11-26T03:30:00Z".parse().expect("valid instant")
}

/// A world for triage: holds are common and no simulated colleague claims
/// one by itself.
pub fn triage_config() -> SimConfig {
    SimConfig {
        customs: greenchannel::sim::config::CustomsConfig {
            direct_hold_share: 0.2,
            colleague_claim_share: 0.0,
            ..Default::default()
        },
        ..SimConfig::default()
    }
}

/// A simulator on 127.0.0.1 (any free port), its clock paused at [`start`].
pub async fn start_sim(config: SimConfig) -> RunningSim {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    sim::spawn(&config, start(), true, listener).expect("simulator starts")
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
