//! Generating a one-million-parcel scenario and serving its snapshot.
//!
//! `cargo bench --bench sim_million` builds the real timetable (about ten
//! trains a day, 41-55 containers each) with thousands of parcels per
//! container, so that about a million filed parcels are on the board, then
//! serves it on a loopback port and pages through both snapshots over HTTP
//! as a client would. Prints time and memory; the README quotes the figures.

mod common;

use std::time::Instant;

use greenchannel::sim::{self, SimConfig};

/// Peak and current resident memory of this process, in MiB.
fn memory_mib() -> (f64, f64) {
    let mib = |field| common::status_kib(field).map_or(f64::NAN, |kib| kib as f64 / 1024.0);
    (mib("VmHWM:"), mib("VmRSS:"))
}

/// A snapshot page, skimmed: the objects are counted, not built.
#[derive(serde::Deserialize)]
struct Page {
    #[serde(alias = "declarations", alias = "trains")]
    objects: Vec<serde::de::IgnoredAny>,
    next_page_token: Option<String>,
}

struct Fetched {
    pages: usize,
    objects: usize,
    bytes: usize,
    seconds: f64,
}

/// Pages through one snapshot list, as the feed client does.
async fn fetch_all(client: &reqwest::Client, url: &str) -> Fetched {
    let started = Instant::now();
    let (mut pages, mut objects, mut bytes) = (0, 0, 0);
    let mut token: Option<String> = None;
    loop {
        let mut request = client
            .get(url)
            .bearer_auth("demo-viewer")
            .query(&[("page_size", "1000")]);
        if let Some(t) = &token {
            request = request.query(&[("page_token", t)]);
        }
        let body = request
            .send()
            .await
            .expect("simulator answers")
            .bytes()
            .await
            .expect("body");
        bytes += body.len();
        let page: Page = serde_json::from_slice(&body).expect("JSON page");
        pages += 1;
        objects += page.objects.len();
        match page.next_page_token {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    Fetched {
        pages,
        objects,
        bytes,
        seconds: started.elapsed().as_secs_f64(),
    }
}

#[tokio::main]
async fn main() {
    if !common::measuring("sim_million") {
        return;
    }
    let config = SimConfig::million_parcels();
    let start = common::start();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");

    let (_, before) = memory_mib();
    let generation = Instant::now();
    let running = sim::spawn(&config, start, true, listener).expect("simulator");
    let generation = generation.elapsed().as_secs_f64();
    let (peak_after_generation, resident) = memory_mib();
    let stats = running.state.world().stats();

    let declarations = format!("{}/v1/declarations", running.customs_url());
    let plain = reqwest::Client::builder()
        .no_gzip()
        .build()
        .expect("client");
    let customs_plain = fetch_all(&plain, &declarations).await;
    // The feed client asks for gzip.
    let gzip = reqwest::Client::builder().build().expect("client");
    let customs = fetch_all(&gzip, &declarations).await;
    let railway = fetch_all(&gzip, &format!("{}/v1/trains", running.railway_url())).await;
    let (peak, _) = memory_mib();
    assert_eq!(
        customs.objects, customs_plain.objects,
        "same snapshot twice"
    );

    println!("## Simulator: one-million-parcel scenario");
    println!();
    println!(
        "world: {} trains, {} containers, {} parcels in memory, {} filed parcels on the board, {} open holds",
        stats.trains, stats.containers, stats.parcels, stats.parcels_on_board, stats.open_holds
    );
    println!();
    println!("| measure | value |");
    println!("| --- | --- |");
    println!("| generate the scenario (warm-up included) | {generation:.1} s |");
    println!(
        "| resident memory of the world | {:.0} MiB (peak {:.0} MiB) |",
        resident - before,
        peak_after_generation
    );
    let mib = |bytes: usize| bytes as f64 / (1024.0 * 1024.0);
    println!(
        "| customs snapshot over HTTP, plain: {} declarations, {} pages of 1000, {:.0} MiB | {:.1} s, {:.0} declarations/s |",
        customs_plain.objects,
        customs_plain.pages,
        mib(customs_plain.bytes),
        customs_plain.seconds,
        customs_plain.objects as f64 / customs_plain.seconds
    );
    println!(
        "| customs snapshot over HTTP, gzip (decompressed by the client) | {:.1} s, {:.0} declarations/s |",
        customs.seconds,
        customs.objects as f64 / customs.seconds
    );
    println!(
        "| railway snapshot over HTTP: {} trains, {} pages | {:.2} s |",
        railway.objects, railway.pages, railway.seconds
    );
    println!("| peak resident memory after serving | {peak:.0} MiB |");
}
