//! The feed clients against the simulator over loopback, with every fault
//! the contract allows switched on (one at a time, then all together): the
//! board they keep ends in the same state as a clean read of the feeds.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use greenchannel::board::{Board, BoardDigest, BoardSettings};
use greenchannel::config::Config;
use greenchannel::domain::{HoldActionKind, HoldActionRequest};
use greenchannel::feeds::client::{ApiClient, FeedError, Timeouts, Token};
use greenchannel::feeds::deadline::Deadline;
use greenchannel::feeds::poller::{PollSettings, Poller};
use greenchannel::feeds::{Backoff, Feed, FeedMessage};
use greenchannel::sim::{RunningSim, SimConfig};
use serde_json::{Value, json};
use tokio::sync::mpsc;

fn client(sim: &RunningSim, feed: Feed, token: &str) -> ApiClient {
    let base = match feed {
        Feed::Railway => sim.railway_url(),
        Feed::Customs => sim.customs_url(),
    };
    let timeouts = Timeouts {
        connect: StdDuration::from_secs(2),
        request: StdDuration::from_secs(5),
    };
    ApiClient::new(feed, &base, Token::new(token), timeouts).expect("client")
}

/// Quick polling and short waits, so a test takes seconds.
fn fast() -> PollSettings {
    PollSettings {
        page_size: 97,
        event_batch: 50,
        poll_interval: StdDuration::from_millis(20),
        backoff: Backoff {
            initial: StdDuration::from_millis(10),
            max: StdDuration::from_millis(200),
        },
    }
}

fn settings() -> BoardSettings {
    Config::default()
        .compressed(SimConfig::default().time_compression)
        .board_settings()
}

/// A board kept by both pollers, as the board program keeps it.
struct Follower {
    board: Arc<Mutex<Board>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Follower {
    fn start(sim: &RunningSim) -> Follower {
        let now = sim.state.world().now();
        let board = Arc::new(Mutex::new(Board::new(settings(), now)));
        let (tx, mut rx) = mpsc::channel::<FeedMessage>(64);
        let mut tasks = Vec::new();
        for feed in Feed::BOTH {
            let poller = Poller::new(client(sim, feed, "demo-viewer"), fast());
            tasks.push(tokio::spawn(poller.run(tx.clone())));
        }
        let (kept, state) = (Arc::clone(&board), Arc::clone(&sim.state));
        tasks.push(tokio::spawn(async move {
            while let Some(message) = rx.recv().await {
                if let FeedMessage::Delivered { delivery, .. } = message {
                    let now = state.world().now();
                    let mut board = kept.lock().expect("board lock");
                    board.apply(delivery, now);
                    board.tick(now);
                }
            }
        }));
        Follower { board, tasks }
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The feeds' facts (trains, containers, parcels; no verdicts, which rest
/// on what each board has learned).
fn facts(digest: BoardDigest) -> (Vec<String>, Vec<String>, Vec<String>) {
    (digest.trains, digest.containers, digest.parcels)
}

/// A board read afresh from the simulator, with no fault on.
async fn clean_read(sim: &RunningSim) -> Board {
    let now = sim.state.world().now();
    let mut board = Board::new(settings(), now);
    for feed in Feed::BOTH {
        let mut poller = Poller::new(client(sim, feed, "demo-viewer"), fast());
        let deadline = Deadline::after(StdDuration::from_secs(60));
        let deliveries = poller.read_once(3, deadline).await.expect("a clean read");
        for delivery in deliveries {
            board.apply(delivery, now);
        }
    }
    board.tick(now);
    board
}

fn first_difference(a: &[String], b: &[String]) -> String {
    let only_a = a.iter().find(|l| !b.contains(l));
    let only_b = b.iter().find(|l| !a.contains(l));
    format!("only kept: {only_a:?}\nonly read: {only_b:?}")
}

/// Runs the scenario with `faults` on, then off, and waits for the kept
/// board to equal a clean read.
async fn survives(faults: Value) {
    let sim = common::start_sim(SimConfig::default()).await;
    let follower = Follower::start(&sim);
    common::faults(&sim, faults.clone()).await;
    for _ in 0..12 {
        common::advance(&sim, 20.0).await;
        tokio::time::sleep(StdDuration::from_millis(120)).await;
    }
    common::faults(
        &sim,
        json!({
            "duplicates": false, "reorder": false, "rate_limit": false, "outages": false,
            "slow": false, "cursor_expiry": false, "unknown_codes": false,
            "hostile_text": false, "mixed_offsets": false, "lost_answers": false,
        }),
    )
    .await;
    let clean = facts(clean_read(&sim).await.digest());
    let deadline = Instant::now() + StdDuration::from_secs(30);
    loop {
        let kept = {
            let board = follower.board.lock().expect("board lock");
            board.check_tallies().expect("tallies match a recount");
            facts(board.digest())
        };
        if kept == clean {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "with {faults}: the kept board never matched a clean read\ntrains: {}\ncontainers: {}\nparcels: {}",
            first_difference(&kept.0, &clean.0),
            first_difference(&kept.1, &clean.1),
            first_difference(&kept.2, &clean.2),
        );
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn clean_feeds() {
    survives(json!({})).await;
}

#[tokio::test]
async fn duplicated_events() {
    survives(json!({"duplicates": true})).await;
}

#[tokio::test]
async fn feeds_out_of_order() {
    survives(json!({"reorder": true, "reorder_lag_seconds": 30.0})).await;
}

#[tokio::test]
async fn rate_limited() {
    survives(json!({"rate_limit": true, "rate_limit_share": 0.4, "retry_after_seconds": 0})).await;
}

#[tokio::test]
async fn outages() {
    survives(json!({"outages": true, "outage_every_seconds": 1.0, "outage_seconds": 0.4})).await;
}

#[tokio::test]
async fn slow_answers() {
    survives(json!({"slow": true, "slow_share": 0.3, "slow_ms": 150})).await;
}

#[tokio::test]
async fn cursors_expire() {
    survives(json!({"cursor_expiry": true, "cursor_expiry_share": 0.3})).await;
}

#[tokio::test]
async fn unknown_codes_types_and_fields() {
    survives(json!({"unknown_codes": true})).await;
}

#[tokio::test]
async fn hostile_text() {
    survives(json!({"hostile_text": true})).await;
}

#[tokio::test]
async fn mixed_offsets() {
    survives(json!({"mixed_offsets": true})).await;
}

#[tokio::test]
async fn every_fault_at_once() {
    survives(json!({
        "duplicates": true, "reorder": true, "reorder_lag_seconds": 30.0,
        "rate_limit": true, "rate_limit_share": 0.3, "retry_after_seconds": 0,
        "outages": true, "outage_every_seconds": 1.0, "outage_seconds": 0.3,
        "slow": true, "slow_share": 0.2, "slow_ms": 150,
        "cursor_expiry": true, "cursor_expiry_share": 0.2,
        "unknown_codes": true, "hostile_text": true, "mixed_offsets": true,
        "lost_answers": true,
    }))
    .await;
}

/// An action whose answer is lost is retried with the same key: recorded
/// once, and the second answer is the first one's result.
#[tokio::test]
async fn a_lost_answer_is_retried_under_the_same_key() {
    let sim = common::start_sim(SimConfig::default()).await;
    common::faults(
        &sim,
        json!({"lost_answers": true, "lost_answer_share": 1.0}),
    )
    .await;
    let holds = common::get_json(&format!("{}/v1/holds", sim.customs_url()), "demo-officer").await;
    let held = holds["declarations"]
        .as_array()
        .expect("a list")
        .iter()
        .find(|d| d["hold"]["claimed_by"].is_null())
        .expect("an unclaimed hold")["declaration_no"]
        .as_str()
        .expect("a number")
        .to_owned();
    let customs = client(&sim, Feed::Customs, "demo-officer");
    let key = uuid::Uuid::new_v4().to_string();
    let claim = HoldActionRequest {
        action: HoldActionKind::Claim,
        note: None,
        expected_version: None,
    };
    let lost = customs.hold_action(&held, &key, &claim).await.unwrap_err();
    assert!(matches!(lost, FeedError::Transport(_)), "{lost:?}");
    common::faults(&sim, json!({"lost_answers": false})).await;
    let recorded = customs.hold_action(&held, &key, &claim).await.unwrap();
    assert!(
        !recorded.created,
        "the first attempt was recorded; this is its answer"
    );
    let result = recorded.result.expect("a readable answer");
    assert_eq!(result.hold.claimed_by.as_deref(), Some("ALK-0417"));
}
