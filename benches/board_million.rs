//! Applying a one-million-parcel scenario to the board, and the memory the
//! board takes.
//!
//! `cargo bench --bench board_million` builds the same scenario as
//! `sim_million` (the real timetable, about a million filed parcels), gives
//! the board both snapshots, opens and filters the parcel list, then
//! follows both feeds' events over forty minutes of scenario time in
//! batches of up to 1000, the board working in 8 ms slices as the program
//! has it. Everything a client would read is turned into JSON and parsed
//! back before the clock starts, so only the board is measured; the
//! client's decoding is measured on its own, beside plain serde_json on the
//! same bytes. Prints a table; the README quotes the figures.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration as Elapsed, Instant};

use chrono::{DateTime, Duration, Utc};
use greenchannel::board::Board;
use greenchannel::config::Config;
use greenchannel::domain::{
    Change, CustomsChange, Declaration, Delivery, Event, RailwayChange, Train,
};
use greenchannel::feeds::Feed;
use greenchannel::sim::feed::FeedLog;
use greenchannel::sim::world::TrainFilter;
use greenchannel::sim::{SimConfig, World};
use greenchannel::ui::views::{Filter, Inputs, ParcelSort, Sorting, Views};

/// The system allocator, counting the bytes currently allocated: the heap
/// the board holds is the growth of that count while the board is built,
/// whatever the allocator keeps resident of what was freed meanwhile.
struct Counting;

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call goes to `System` unchanged; only the count is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `System.alloc`, with the caller's layout.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `System.alloc_zeroed`, with the caller's layout.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's pointer came from this allocator, so from
        // `System`, with this layout.
        unsafe { System.dealloc(ptr, layout) };
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as `System.realloc`, with the caller's pointer and layout.
        let moved = unsafe { System.realloc(ptr, layout, new_size) };
        if !moved.is_null() {
            LIVE_BYTES.fetch_add(new_size, Ordering::Relaxed);
            LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        moved
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Heap bytes allocated now.
fn live_bytes() -> usize {
    LIVE_BYTES.load(Ordering::Relaxed)
}

#[cfg(target_env = "gnu")]
unsafe extern "C" {
    /// glibc: hands the heap's free pages back to the system.
    fn malloc_trim(pad: usize) -> i32;
}

/// Resident memory of this process, in bytes, once the allocator has
/// handed back the pages it holds free, so that what was freed is not
/// counted.
fn resident_bytes() -> usize {
    // SAFETY: `malloc_trim` only releases memory no allocation uses.
    #[cfg(target_env = "gnu")]
    unsafe {
        malloc_trim(0);
    }
    common::status_kib("VmRSS:").map_or(0, |kib| kib as usize * 1024)
}

/// Scenario time over which the events are followed.
const FOLLOW_MINUTES: i64 = 40;

/// Events per poll, as `feeds.event_batch` by default.
const BATCH: usize = 1000;

/// Through JSON, as a client receives it.
fn reparse<T: serde::de::DeserializeOwned>(world: &World, value: &impl serde::Serialize) -> T {
    serde_json::from_str(&world.to_json(value)).expect("simulator JSON parses")
}

/// Both snapshots as a client has them; the simulator's own copies and the
/// JSON are dropped before this returns.
fn snapshot(world: &World) -> (Vec<Train>, Vec<Declaration>) {
    let (trains, _) = world.train_page(&TrainFilter::default(), None, usize::MAX);
    let trains = reparse(world, &trains);
    let (declarations, _) = world.declaration_page(None, None, usize::MAX);
    (trains, reparse(world, &declarations))
}

/// Parses what a feed logged after `after`; returns the seq read up to.
fn read_events<C: Change>(log: &FeedLog, after: u64, into: &mut Vec<Event<C>>) -> u64 {
    let batch = log.read(after, usize::MAX, DateTime::<Utc>::MAX_UTC);
    into.extend(
        batch
            .events
            .iter()
            .map(|json| serde_json::from_str::<Event<C>>(json).expect("event parses")),
    );
    batch.last_seq
}

/// The deliveries of both feeds over `FOLLOW_MINUTES`, each with the time
/// it is applied at (its newest event): the customs events in batches of
/// `BATCH`, each preceded by the railway events up to its newest (the
/// railway feed is quiet, a few events a minute), so that the feeds take
/// turns and time only moves forward.
fn follow(world: &mut World) -> Vec<(Delivery, DateTime<Utc>)> {
    let start = world.now();
    let (mut railway_seq, mut customs_seq) =
        (world.railway_log().head(), world.customs_log().head());
    let mut railway: Vec<Event<RailwayChange>> = Vec::new();
    let mut customs: Vec<Event<CustomsChange>> = Vec::new();
    // The feeds keep fifteen minutes of events: read them every minute.
    for minute in 1..=FOLLOW_MINUTES {
        world.advance_to(start + Duration::minutes(minute));
        railway_seq = read_events(world.railway_log(), railway_seq, &mut railway);
        customs_seq = read_events(world.customs_log(), customs_seq, &mut customs);
    }
    let newest = |at: Option<DateTime<Utc>>| at.expect("batches are not empty");
    let mut deliveries = Vec::new();
    let mut railway = railway.into_iter().peekable();
    let mut railway_until = |until: DateTime<Utc>, deliveries: &mut Vec<_>| {
        let due: Vec<_> = std::iter::from_fn(|| railway.next_if(|e| e.at <= until)).collect();
        for batch in due.chunks(BATCH) {
            let at = newest(batch.last().map(|e| e.at));
            deliveries.push((Delivery::RailwayEvents(batch.to_vec()), at));
        }
    };
    for batch in customs.chunks(BATCH) {
        let at = newest(batch.last().map(|e| e.at));
        railway_until(at, &mut deliveries);
        deliveries.push((Delivery::CustomsEvents(batch.to_vec()), at));
    }
    railway_until(DateTime::<Utc>::MAX_UTC, &mut deliveries);
    deliveries
}

/// How long the terminal loop lets the board work at a time.
const WORK_SLICE: Elapsed = Elapsed::from_millis(8);

/// Lets the board work in slices, as the terminal loop does, until it
/// has nothing left to do at `at`; the time of each slice.
fn work_slices(board: &mut Board, at: DateTime<Utc>, slices: &mut Vec<Elapsed>) {
    loop {
        let clock = Instant::now();
        let more = board.work(at, WORK_SLICE);
        slices.push(clock.elapsed());
        if !more {
            break;
        }
    }
}

fn ms(d: Elapsed) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Worst and total of some slices.
fn worst_and_total(slices: &[Elapsed]) -> (Elapsed, Elapsed) {
    (
        slices.iter().max().copied().unwrap_or_default(),
        slices.iter().sum(),
    )
}

/// A page of declarations as plain serde_json reads it: the same types,
/// without the client's per-record decoding.
#[derive(serde::Deserialize)]
struct PlainPage {
    #[allow(dead_code)]
    declarations: Vec<Declaration>,
}

/// Pages of `PAGE` declarations, as JSON bodies, from the first
/// `DECODE_SAMPLE` of the snapshot.
fn page_bodies(declarations: &[Declaration]) -> Vec<Vec<u8>> {
    declarations[..DECODE_SAMPLE.min(declarations.len())]
        .chunks(PAGE)
        .enumerate()
        .map(|(i, page)| {
            serde_json::to_vec(&serde_json::json!({
                "declarations": page,
                "next_page_token": format!("p{i}"),
                "cursor": "c1",
            }))
            .expect("serialises")
        })
        .collect()
}

/// Declarations decoded side by side.
const DECODE_SAMPLE: usize = 100_000;

/// Declarations per snapshot page, as the client asks by default.
const PAGE: usize = 1000;

/// Decodes every body the client's way and plain serde_json's way, each
/// three times; the best time of each.
fn decode_side_by_side(bodies: &[Vec<u8>]) -> (Elapsed, Elapsed) {
    let client =
        greenchannel::feeds::client(Feed::Customs, &Config::default(), None).expect("a client");
    let mut best = (Elapsed::MAX, Elapsed::MAX);
    for _ in 0..3 {
        let clock = Instant::now();
        for body in bodies {
            let page = client.decode_page::<Declaration>(body).expect("decodes");
            assert!(page.bad.is_empty());
            std::hint::black_box(page);
        }
        best.0 = best.0.min(clock.elapsed());
        let clock = Instant::now();
        for body in bodies {
            let page: PlainPage = serde_json::from_slice(body).expect("decodes");
            std::hint::black_box(page);
        }
        best.1 = best.1.min(clock.elapsed());
    }
    best
}

/// The parcel list as the terminal makes it: the time to make it with
/// `filter` and `sorting`, and its length.
fn parcel_list(
    board: &Board,
    filter: &str,
    sorting: Sorting,
    now: DateTime<Utc>,
) -> (Elapsed, usize) {
    let inputs = Inputs {
        filter: Filter::parse(filter).expect("a filter"),
        sorting,
        train: None,
        parcels: true,
    };
    let mut views = Views::default();
    let clock = Instant::now();
    views.refresh(board, &inputs, now, false);
    (clock.elapsed(), views.parcels.len())
}

fn main() {
    if !common::measuring("board_million") {
        return;
    }
    let started = Instant::now();
    let start = common::start();
    let mut world = World::new(&SimConfig::million_parcels(), start);
    let stats = world.stats();

    // Decoding: the client's per-record decoding against plain serde_json
    // on the same page bodies (the bodies are gone before memory is read).
    let (decode_client, decode_plain, decoded) = {
        let (_, declarations) = snapshot(&world);
        let bodies = page_bodies(&declarations);
        drop(declarations);
        let (client, plain) = decode_side_by_side(&bodies);
        (client, plain, bodies.len() * PAGE)
    };

    // Memory: the heap count and the resident size are read before the
    // snapshot is built and again once the board holds it and the snapshot
    // is gone (the board consumes it; nothing else is allocated meanwhile).
    // The heap growth is exactly what the board holds. The resident growth
    // adds the allocator's overhead per allocation and the pages it cannot
    // hand back because the board's allocations lie among the freed
    // snapshot's, as they do in the program.
    let (heap_before, resident_before) = (live_bytes(), resident_bytes());
    let (trains, declarations) = snapshot(&world);
    let snapshot_trains = trains.len();

    let mut board = Board::new(Config::default().board_settings(), start);
    let clock = Instant::now();
    board.apply(Delivery::RailwaySnapshot(trains), start);
    let railway_snapshot = clock.elapsed();
    let mut snapshot_slices = Vec::new();
    let clock = Instant::now();
    board.receive(Delivery::CustomsSnapshot(declarations));
    work_slices(&mut board, start, &mut snapshot_slices);
    let customs_snapshot = clock.elapsed();
    let heap = live_bytes() - heap_before;
    let resident = resident_bytes().saturating_sub(resident_before);
    let parts = board.memory();
    let parcels = board.parcel_count();
    board.check_tallies().expect("tallies after the snapshot");

    // Opening the parcels screen, and filtering it.
    let urgency = Sorting::default();
    let first_open = parcel_list(&board, "", urgency, start);
    let filters: Vec<(&str, (Elapsed, usize))> =
        ["73", "义乌", "train:X83", "risk:at_risk", "yt99"]
            .into_iter()
            .map(|f| (f, parcel_list(&board, f, urgency, start)))
            .collect();
    let by_train = parcel_list(
        &board,
        "",
        Sorting {
            parcels: ParcelSort::Train,
            ..Sorting::default()
        },
        start,
    );

    let deliveries = follow(&mut world);
    let batches = deliveries.len();
    let (mut railway_events, mut customs_events) = (0, 0);
    // As the loop takes them: before each batch, what time brought up to
    // its instant (reviews due, the shed projected anew, learned
    // durations); then the batch received and worked through, its events
    // applied and the parcels they touch judged again. Both in 8 ms slices.
    let (mut event_slices, mut time_slices) = (Vec::new(), Vec::new());
    let mut batch_times = Vec::with_capacity(batches);
    let mut now = start;
    for (delivery, at) in deliveries {
        match &delivery {
            Delivery::RailwayEvents(events) => railway_events += events.len(),
            Delivery::CustomsEvents(events) => customs_events += events.len(),
            _ => unreachable!("only events are replayed"),
        }
        work_slices(&mut board, at, &mut time_slices);
        let before = event_slices.len();
        board.receive(delivery);
        work_slices(&mut board, at, &mut event_slices);
        batch_times.push(event_slices[before..].iter().sum::<Elapsed>());
        now = at;
    }
    let events = railway_events + customs_events;
    let (worst_batch, applied) = worst_and_total(&batch_times);
    let (worst_event_slice, _) = worst_and_total(&event_slices);
    let (worst_time_slice, timed) = worst_and_total(&time_slices);
    let scenario = (now - start).to_std().unwrap_or_default();

    // Idle: time moves on a second at a time, nothing arrives.
    const IDLE_TICKS: u32 = 20;
    let clock = Instant::now();
    for second in 1..=IDLE_TICKS {
        board.work(now + Duration::seconds(second.into()), WORK_SLICE);
    }
    let idle = clock.elapsed() / IDLE_TICKS;
    let now = now + Duration::seconds(IDLE_TICKS.into());
    let clock = Instant::now();
    board.review_all(now);
    let review_all = clock.elapsed();
    board
        .check_tallies()
        .expect("tallies after following the feeds");
    let parcels_at_end = board.parcel_count();
    // What the board holds now: the heap its drop gives back.
    let heap_now = live_bytes();
    drop(board);
    let heap_at_end = heap_now - live_bytes();

    println!("## Board: one-million-parcel scenario");
    println!();
    println!(
        "world: {} trains, {} containers, {} filed parcels on the board; snapshot of {snapshot_trains} trains",
        stats.trains, stats.containers, stats.parcels_on_board
    );
    println!(
        "events over {FOLLOW_MINUTES} min of scenario time: {railway_events} railway, {customs_events} customs, in {batches} batches of up to {BATCH}"
    );
    println!();
    let mib = |bytes: usize| bytes as f64 / (1024.0 * 1024.0);
    let per = |bytes: usize| bytes as f64 / parcels as f64;
    println!("| measure | value |");
    println!("| --- | --- |");
    println!("| parcels on the board | {parcels} |");
    println!(
        "| board memory after the snapshot: heap held | {:.0} MiB, {:.0} bytes per parcel |",
        mib(heap),
        per(heap)
    );
    for (part, bytes) in parts {
        println!("| … of which {part} | {:.0} bytes per parcel |", per(bytes));
    }
    println!(
        "| board memory after the snapshot: resident growth | {:.0} MiB, {:.0} bytes per parcel |",
        mib(resident),
        per(resident)
    );
    println!(
        "| board memory after following the feeds: heap held | {:.0} MiB, {:.0} bytes per parcel |",
        mib(heap_at_end),
        heap_at_end as f64 / parcels_at_end as f64
    );
    println!(
        "| decode {decoded} declarations in pages of {PAGE}: the client / plain serde_json | {:.2} s / {:.2} s ({:.2}×) |",
        decode_client.as_secs_f64(),
        decode_plain.as_secs_f64(),
        decode_client.as_secs_f64() / decode_plain.as_secs_f64()
    );
    println!(
        "| apply the railway snapshot ({snapshot_trains} trains) | {:.1} ms |",
        ms(railway_snapshot)
    );
    let (snapshot_worst, _) = worst_and_total(&snapshot_slices);
    println!(
        "| apply and judge the customs snapshot ({parcels} declarations), in {} slices of {} ms: total / worst slice | {:.2} s / {:.1} ms |",
        snapshot_slices.len(),
        WORK_SLICE.as_millis(),
        customs_snapshot.as_secs_f64(),
        ms(snapshot_worst)
    );
    println!(
        "| first open of Parcels (every parcel, by urgency) | {:.0} ms ({} rows) |",
        ms(first_open.0),
        first_open.1
    );
    for (filter, (took, rows)) in &filters {
        println!("| filter `{filter}` | {:.0} ms ({rows} rows) |", ms(*took));
    }
    println!(
        "| every parcel sorted by train and container | {:.0} ms |",
        ms(by_train.0)
    );
    println!(
        "| events received and worked through in slices, each parcel they touch judged again ({batches} batches of up to {BATCH}): total / worst batch / worst slice | {events} in {:.2} s / {:.1} ms / {:.1} ms |",
        applied.as_secs_f64(),
        ms(worst_batch),
        ms(worst_event_slice)
    );
    println!(
        "| events per second | {:.0} |",
        events as f64 / applied.as_secs_f64()
    );
    println!(
        "| what time brings over {:.0} min of scenario (reviews due, shed projected, durations learned), in {} slices: total / worst slice | {:.2} s / {:.1} ms |",
        scenario.as_secs_f64() / 60.0,
        time_slices.len(),
        timed.as_secs_f64(),
        ms(worst_time_slice)
    );
    println!(
        "| … as a share of one core in real time | {:.2} % |",
        timed.as_secs_f64() / scenario.as_secs_f64() * 100.0
    );
    println!(
        "| idle tick (a second later, nothing new) | {:.0} µs |",
        idle.as_secs_f64() * 1e6
    );
    println!(
        "| review_all (every parcel judged again) | {:.2} s |",
        review_all.as_secs_f64()
    );
    println!();
    println!("total run time {:.0} s", started.elapsed().as_secs_f64());
}
