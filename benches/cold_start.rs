//! Cold start at a million parcels over loopback: from the moment the
//! feed clients are made until every parcel of the simulator's snapshot is
//! on the board and judged, with the board fed the way the terminal loop
//! feeds it (deliveries taken while it is not busy, work in 8 ms slices).
//!
//! `cargo bench --bench cold_start` generates the million-parcel scenario
//! (held still, so the snapshot is the whole story), serves it on a
//! loopback port in this process, then times the real pollers and the
//! board. Prints a table; the README quotes the figures.

mod common;

use std::time::{Duration, Instant};

use greenchannel::board::Board;
use greenchannel::config::Config;
use greenchannel::domain::Delivery;
use greenchannel::feeds::{self, Feed, FeedMessage};
use greenchannel::sim::{self, SimConfig};
use tokio::sync::mpsc;

/// How long the loop lets the board work before it looks at the feeds
/// again, as the terminal does.
const WORK_SLICE: Duration = Duration::from_millis(8);

/// Past this the run counts as failed.
const GIVE_UP: Duration = Duration::from_secs(300);

/// Hands a delivery to the board, noting when the customs snapshot came.
fn receive(
    board: &mut Board,
    delivery: Delivery,
    snapshot_received: &mut Option<Duration>,
    started: Instant,
) {
    if matches!(delivery, Delivery::CustomsSnapshot(_)) {
        snapshot_received.get_or_insert(started.elapsed());
    }
    board.receive(delivery);
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if !common::measuring("cold_start") {
        return;
    }
    let start = common::start();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let running =
        sim::spawn(&SimConfig::million_parcels(), start, true, listener).expect("simulator");
    let expected = running.state.world().stats().parcels_on_board;

    let mut config = Config::default();
    config.railway.url = running.railway_url();
    config.customs.url = running.customs_url();
    let token = || greenchannel::feeds::client::Token::new("demo-viewer");

    let started = Instant::now();
    let (to_board, mut from_feeds) = mpsc::channel::<FeedMessage>(256);
    let mut tasks = Vec::new();
    for feed in [Feed::Railway, Feed::Customs] {
        let client = feeds::client(feed, &config, token()).expect("client");
        tasks.push(tokio::spawn(
            feeds::poller(client, &config).run(to_board.clone()),
        ));
    }
    let mut board = Board::new(config.board_settings(), start);
    let mut slices = Vec::new();
    let mut first_parcel = None;
    let mut snapshot_received = None;
    loop {
        assert!(
            started.elapsed() < GIVE_UP,
            "no full board after {GIVE_UP:?}"
        );
        if board.parcel_count() >= expected && !board.has_work() {
            break;
        }
        // The loop takes what the feeds sent, unless the board is busy.
        while !board.is_busy() {
            match from_feeds.try_recv() {
                Ok(FeedMessage::Delivered { delivery, .. }) => {
                    receive(&mut board, delivery, &mut snapshot_received, started);
                }
                Ok(FeedMessage::Health(_)) => {}
                Err(_) => break,
            }
        }
        if board.has_work() {
            let clock = Instant::now();
            board.work(start, WORK_SLICE);
            slices.push(clock.elapsed());
            if board.parcel_count() > 0 {
                first_parcel.get_or_insert(started.elapsed());
            }
        } else {
            // Nothing to do: wait for the feeds as the loop does.
            match from_feeds.recv().await {
                Some(FeedMessage::Delivered { delivery, .. }) => {
                    receive(&mut board, delivery, &mut snapshot_received, started);
                }
                Some(FeedMessage::Health(_)) => {}
                None => panic!("the pollers stopped"),
            }
        }
    }
    let cold_start = started.elapsed();
    for task in tasks {
        task.abort();
    }
    slices.sort_unstable();
    let worst = slices.last().copied().unwrap_or_default();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("## Cold start: one-million-parcel scenario over loopback");
    println!();
    println!("| measure | value |");
    println!("| --- | --- |");
    println!("| parcels on the board | {} |", board.parcel_count());
    println!(
        "| from the feed clients made to every parcel on the board and judged | {:.1} s |",
        cold_start.as_secs_f64()
    );
    println!(
        "| customs snapshot fetched and decoded (all pages) | {:.1} s |",
        snapshot_received.unwrap_or_default().as_secs_f64()
    );
    println!(
        "| first parcel on the board | {:.1} s |",
        first_parcel.unwrap_or_default().as_secs_f64()
    );
    println!(
        "| board work slices of {} ms: count / worst | {} / {:.1} ms |",
        WORK_SLICE.as_millis(),
        slices.len(),
        ms(worst)
    );
}
