//! The feed clients against the simulator over loopback, with every fault
//! the contract allows switched on (one at a time, then all together): the
//! board they keep ends in the same state as a clean read of the feeds.
//! Then the server's machine down when the board starts, dying and coming
//! back ([`common::plug`]), and a page token expiring in the middle of a
//! snapshot.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use axum::response::IntoResponse;
use common::plug::Plug;
use std::time::{Duration as StdDuration, Instant};

use greenchannel::board::{Board, BoardDigest, BoardSettings};
use greenchannel::config::Config;
use greenchannel::domain::{HoldActionKind, HoldActionRequest};
use greenchannel::feeds::client::{ApiClient, FeedError, Timeouts, Token};
use greenchannel::feeds::deadline::Deadline;
use greenchannel::feeds::health::FeedHealth;
use greenchannel::feeds::poller::{PollSettings, Poller};
use greenchannel::feeds::{Backoff, Feed, FeedMessage};
use greenchannel::sim::config::FAULT_NAMES;
use greenchannel::sim::{RunningSim, SimConfig};
use serde_json::{Value, json};
use tokio::sync::mpsc;

fn client(sim: &RunningSim, feed: Feed, token: &str) -> ApiClient {
    client_at(&urls(sim), feed, token)
}

/// The base URLs of the railway and customs APIs of a simulator.
fn urls(sim: &RunningSim) -> [String; 2] {
    [sim.railway_url(), sim.customs_url()]
}

fn client_at(urls: &[String; 2], feed: Feed, token: &str) -> ApiClient {
    let base = &urls[feed.index()];
    let timeouts = Timeouts {
        connect: StdDuration::from_secs(2),
        request: StdDuration::from_secs(5),
    };
    ApiClient::new(feed, base, Token::new(token), timeouts).expect("client")
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

/// A board kept by both pollers, as the board program keeps it, and the
/// latest health of each feed.
struct Follower {
    board: Arc<Mutex<Board>>,
    health: Arc<Mutex<[FeedHealth; 2]>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Follower {
    fn start(sim: &RunningSim) -> Follower {
        Follower::start_at(sim, &urls(sim))
    }

    /// Reading the APIs at `urls` (railway, customs), the world of `sim`
    /// behind them.
    fn start_at(sim: &RunningSim, urls: &[String; 2]) -> Follower {
        let now = sim.state.world().now();
        let board = Arc::new(Mutex::new(Board::new(settings(), now)));
        let health = Arc::new(Mutex::new(Feed::BOTH.map(FeedHealth::new)));
        let (tx, mut rx) = mpsc::channel::<FeedMessage>(64);
        let mut tasks = Vec::new();
        for feed in Feed::BOTH {
            let poller = Poller::new(client_at(urls, feed, "demo-viewer"), fast());
            tasks.push(tokio::spawn(poller.run(tx.clone())));
        }
        let (kept, state) = (Arc::clone(&board), Arc::clone(&sim.state));
        let kept_health = Arc::clone(&health);
        tasks.push(tokio::spawn(async move {
            while let Some(message) = rx.recv().await {
                match message {
                    FeedMessage::Delivered { delivery, .. } => {
                        let now = state.world().now();
                        let mut board = kept.lock().expect("board lock");
                        board.apply(delivery, now);
                        board.tick(now);
                    }
                    FeedMessage::Health(health) => {
                        let index = health.feed.index();
                        kept_health.lock().expect("health lock")[index] = *health;
                    }
                }
            }
        }));
        Follower {
            board,
            health,
            tasks,
        }
    }

    /// The feeds' facts on the board now.
    fn facts(&self) -> (Vec<String>, Vec<String>, Vec<String>) {
        let board = self.board.lock().expect("board lock");
        board.check_tallies().expect("tallies match a recount");
        facts(board.digest())
    }

    /// The latest health of a feed.
    fn health(&self, feed: Feed) -> FeedHealth {
        self.health.lock().expect("health lock")[feed.index()].clone()
    }

    /// Waits until both feeds' health satisfies `ok`; fails after 30 s.
    async fn wait_for_health(&self, what: &str, ok: impl Fn(&FeedHealth) -> bool) {
        let deadline = Instant::now() + StdDuration::from_secs(30);
        loop {
            let health = Feed::BOTH.map(|feed| self.health(feed));
            if health.iter().all(&ok) {
                return;
            }
            assert!(Instant::now() < deadline, "{what}, never seen: {health:#?}");
            tokio::time::sleep(StdDuration::from_millis(50)).await;
        }
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
    common::faults(&sim, no_faults()).await;
    matches_a_clean_read(&sim, &follower, &format!("with {faults}")).await;
}

/// Waits for the kept board to equal a clean read of the simulator now;
/// fails after 30 s.
async fn matches_a_clean_read(sim: &RunningSim, follower: &Follower, what: &str) {
    let clean = facts(clean_read(sim).await.digest());
    let deadline = Instant::now() + StdDuration::from_secs(30);
    loop {
        let kept = follower.facts();
        if kept == clean {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: the kept board never matched a clean read\ntrains: {}\ncontainers: {}\nparcels: {}",
            first_difference(&kept.0, &clean.0),
            first_difference(&kept.1, &clean.1),
            first_difference(&kept.2, &clean.2),
        );
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
}

/// Every fault off, by the simulator's own list of them.
fn no_faults() -> Value {
    Value::Object(
        FAULT_NAMES
            .iter()
            .map(|name| ((*name).to_owned(), Value::Bool(false)))
            .collect(),
    )
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
async fn connections_reset_mid_answer() {
    survives(json!({"torn_pages": true, "torn_page_share": 0.3})).await;
}

/// A storm of `429`s (every request, `Retry-After: 1`): each poller waits
/// at least the second asked between requests instead of hammering (its
/// own back-off here starts at 10 ms), counts them for the Feeds screen,
/// and reads the feed once the storm is over.
#[tokio::test]
async fn a_429_storm_is_waited_out_not_hammered() {
    let sim = common::start_sim(SimConfig::default()).await;
    let follower = Follower::start(&sim);
    matches_a_clean_read(&sim, &follower, "before the storm").await;
    common::faults(
        &sim,
        json!({"rate_limit": true, "rate_limit_share": 1.0, "retry_after_seconds": 1}),
    )
    .await;
    let requests = |status: &Value| {
        ["railway", "customs"].map(|api| status["requests"][api].as_u64().expect("a count"))
    };
    let status = format!("{}/status", sim.control_url());
    let before = requests(&common::get_json(&status, common::VIEWER).await);
    tokio::time::sleep(StdDuration::from_secs(3)).await;
    let after = requests(&common::get_json(&status, common::VIEWER).await);
    for (api, (b, a)) in ["railway", "customs"].iter().zip(before.iter().zip(after)) {
        assert!(
            a - b <= 5,
            "{api}: {} requests in 3 s of Retry-After: 1",
            a - b
        );
    }
    for feed in Feed::BOTH {
        let health = follower.health(feed);
        assert!(health.oddities.rate_limited >= 2, "{health:#?}");
    }
    common::advance(&sim, 30.0).await;
    common::faults(&sim, json!({"rate_limit": false})).await;
    matches_a_clean_read(&sim, &follower, "after the storm").await;
}

/// Half the snapshot pages and event batches cut off by a reset connection
/// from the first request on: each snapshot goes on from the page that
/// failed, so it is read once (all over again after each reset, it would
/// almost never end), and the board ends as a clean read.
#[tokio::test]
async fn connections_reset_mid_snapshot() {
    let sim = common::start_sim(SimConfig::default()).await;
    common::faults(&sim, json!({"torn_pages": true, "torn_page_share": 0.5})).await;
    let pages = sim.state.world().stats().parcels_on_board / fast().page_size as usize;
    assert!(pages >= 8, "a customs snapshot of {pages} pages");
    // The world moves while the board reads, so that no page read before
    // comes back as `304` from the page cache: a snapshot started again
    // has to read every page anew.
    let clock = format!("{}/clock", sim.control_url());
    let ticker = tokio::spawn(async move {
        loop {
            let tick = json!({"advance_seconds": 2.0});
            let _ = common::client().post(&clock).json(&tick).send().await;
            tokio::time::sleep(StdDuration::from_millis(20)).await;
        }
    });
    let follower = Follower::start(&sim);
    follower
        .wait_for_health("each feed's snapshot read", |h| h.snapshots >= 1)
        .await;
    ticker.abort();
    let customs = follower.health(Feed::Customs);
    assert!(
        customs.oddities.failed_requests > 0,
        "pages were cut off: {customs:#?}"
    );
    assert_eq!(customs.snapshots, 1, "{customs:#?}");
    common::advance(&sim, 30.0).await;
    common::faults(&sim, no_faults()).await;
    matches_a_clean_read(&sim, &follower, "after resets mid-snapshot").await;
}

/// The server's machine is down when the board starts: both feeds say so
/// (never answered, could not connect) and the board is empty; once it is
/// up, the board fills and ends as a clean read.
#[tokio::test]
async fn a_server_down_at_start_is_read_once_it_comes_up() {
    let sim = common::start_sim(SimConfig::default()).await;
    let plug = Plug::new(sim.addr, false).await;
    let follower = Follower::start_at(&sim, &urls(&sim).map(|url| plug.url(&url)));
    follower
        .wait_for_health("both feeds failing, never answered", |h| {
            h.failures >= 2
                && h.last_success.is_none()
                && h.last_error
                    .as_deref()
                    .is_some_and(|e| e.contains("could not connect"))
        })
        .await;
    assert!(follower.facts().0.is_empty(), "nothing on the board yet");
    plug.plug_in().await;
    matches_a_clean_read(&sim, &follower, "once the server came up").await;
    for feed in Feed::BOTH {
        assert_eq!(follower.health(feed).failures, 0, "{feed:?} ok again");
    }
}

/// The server's machine dies mid-run: the board keeps what it had (the
/// feeds failing, not emptied); while it is away the world moves on; once
/// it is back the pollers go on from their cursors (no second snapshot)
/// and the board ends as a clean read, nothing lost.
#[tokio::test]
async fn a_server_that_dies_and_comes_back_goes_on_from_its_cursor() {
    let sim = common::start_sim(SimConfig::default()).await;
    let plug = Plug::new(sim.addr, true).await;
    let follower = Follower::start_at(&sim, &urls(&sim).map(|url| plug.url(&url)));
    matches_a_clean_read(&sim, &follower, "before the server died").await;
    let before = follower.facts();
    assert!(!before.2.is_empty(), "parcels on the board");
    plug.pull();
    common::advance(&sim, 90.0).await;
    follower
        .wait_for_health("both feeds failing", |h| h.failures >= 2)
        .await;
    assert_eq!(follower.facts(), before, "the last good board is kept");
    plug.plug_in().await;
    matches_a_clean_read(&sim, &follower, "after the server came back").await;
    assert_ne!(follower.facts(), before, "what happened meanwhile arrived");
    for feed in Feed::BOTH {
        let health = follower.health(feed);
        assert_eq!(health.snapshots, 1, "{feed:?} went on from its cursor");
        assert_eq!(health.failures, 0, "{feed:?} ok again");
    }
}

/// A page token that expires in the middle of a snapshot (`410` from a
/// server that keeps page tokens for a while; the contract's servers may
/// not, but a client meets them): the snapshot starts again from the first
/// page, rather than asking for the dead token again, and the board ends
/// as a clean read.
#[tokio::test]
async fn a_page_token_that_expires_mid_snapshot_starts_the_snapshot_again() {
    let sim = common::start_sim(SimConfig::default()).await;
    let expiring = ExpiringPageTokens::serve(&sim).await;
    let follower = Follower::start_at(&sim, &expiring.urls);
    follower
        .wait_for_health("each feed's snapshot read", |h| h.snapshots >= 1)
        .await;
    assert_eq!(
        expiring.gone.load(Ordering::Relaxed),
        1,
        "one page token expired, once"
    );
    matches_a_clean_read(&sim, &follower, "after a page token expired").await;
}

/// The simulator's own routes behind a layer that, once the third page of
/// a customs snapshot has been asked for, answers `410 cursor_expired` to
/// every page token until a snapshot starts again at its first page.
struct ExpiringPageTokens {
    urls: [String; 2],
    /// `410`s answered.
    gone: Arc<AtomicU32>,
    task: tokio::task::JoinHandle<()>,
}

impl ExpiringPageTokens {
    async fn serve(sim: &RunningSim) -> ExpiringPageTokens {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let gone = Arc::new(AtomicU32::new(0));
        // Page requests with a token so far, and whether tokens are dead.
        let pages = Arc::new(AtomicU32::new(0));
        let dead = Arc::new(AtomicBool::new(false));
        let counted = Arc::clone(&gone);
        let app = greenchannel::sim::http::router(Arc::clone(&sim.state)).layer(
            axum::middleware::from_fn(move |request: axum::extract::Request, next: axum::middleware::Next| {
                let (gone, pages, dead) = (Arc::clone(&counted), Arc::clone(&pages), Arc::clone(&dead));
                async move {
                    let snapshot = request.uri().path() == "/customs/v1/declarations";
                    let query = request.uri().query().unwrap_or("");
                    if snapshot && !query.contains("page_token=") {
                        dead.store(false, Ordering::Relaxed);
                    } else if snapshot {
                        let asked = pages.fetch_add(1, Ordering::Relaxed) + 1;
                        if asked == 3 && gone.load(Ordering::Relaxed) == 0 {
                            dead.store(true, Ordering::Relaxed);
                        }
                        if dead.load(Ordering::Relaxed) {
                            gone.fetch_add(1, Ordering::Relaxed);
                            let body = json!({"error": "cursor_expired", "message": "page token expired"});
                            let json = [(axum::http::header::CONTENT_TYPE, "application/json")];
                            return (axum::http::StatusCode::GONE, json, body.to_string()).into_response();
                        }
                    }
                    next.run(request).await
                }
            }),
        );
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serves");
        });
        ExpiringPageTokens {
            urls: [
                format!("http://{addr}/railway"),
                format!("http://{addr}/customs"),
            ],
            gone,
            task,
        }
    }
}

impl Drop for ExpiringPageTokens {
    fn drop(&mut self) {
        self.task.abort();
    }
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
        "lost_answers": true, "torn_pages": true, "torn_page_share": 0.2,
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
