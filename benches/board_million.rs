//! Applying a one-million-parcel scenario to the board, and the memory the
//! board takes.
//!
//! `cargo bench --bench board_million` builds the same scenario as
//! `sim_million` (the real timetable, about a million filed parcels), gives
//! the board both snapshots, then follows both feeds' events over forty
//! minutes of scenario time in batches of up to 1000, ticking after each
//! batch as the program does. Everything a client would read is turned into
//! JSON and parsed back before the clock starts, so only the board is
//! measured. Prints a table; the README quotes the figures.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration as Elapsed, Instant};

use chrono::{DateTime, Duration, Utc};
use greenchannel::board::{Applied, Board};
use greenchannel::config::Config;
use greenchannel::domain::{
    Change, CustomsChange, Declaration, Delivery, Event, RailwayChange, Train,
};
use greenchannel::sim::feed::FeedLog;
use greenchannel::sim::world::TrainFilter;
use greenchannel::sim::{SimConfig, World};

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

fn add(total: &mut Applied, one: Applied) {
    total.applied += one.applied;
    total.stale += one.stale;
    total.unknown_types += one.unknown_types;
    total.orphans += one.orphans;
}

fn ms(d: Elapsed) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    if !common::measuring("board_million") {
        return;
    }
    let started = Instant::now();
    let start = common::start();
    let mut world = World::new(&SimConfig::million_parcels(), start);
    let stats = world.stats();

    // Memory: the heap count and the resident size are read before the
    // snapshot is built and again once the board holds it and the snapshot
    // is gone (`apply` consumes it; nothing else is allocated meanwhile).
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
    let clock = Instant::now();
    board.apply(Delivery::CustomsSnapshot(declarations), start);
    let customs_snapshot = clock.elapsed();
    let clock = Instant::now();
    board.tick(start);
    let first_tick = clock.elapsed();
    let heap = live_bytes() - heap_before;
    let resident = resident_bytes().saturating_sub(resident_before);
    let parcels = board.parcel_count();
    board.check_tallies().expect("tallies after the snapshot");

    let deliveries = follow(&mut world);
    let batches = deliveries.len();
    let mut totals = Applied::default();
    let (mut railway_events, mut customs_events) = (0, 0);
    let mut times = Vec::with_capacity(batches);
    let mut now = start;
    for (delivery, at) in deliveries {
        match &delivery {
            Delivery::RailwayEvents(events) => railway_events += events.len(),
            Delivery::CustomsEvents(events) => customs_events += events.len(),
            _ => unreachable!("only events are replayed"),
        }
        let clock = Instant::now();
        add(&mut totals, board.apply(delivery, at));
        board.tick(at);
        times.push(clock.elapsed());
        now = at;
    }
    let events = railway_events + customs_events;
    // Most events change the board; the others are the closing statuses
    // of parcels on trains that had left before the snapshot (orphans).
    assert!(
        totals.applied as usize * 10 >= events * 8 && totals.stale == 0,
        "the board ignored too many events: {totals:?}"
    );
    let following: Elapsed = times.iter().sum();
    let mean = following / batches as u32;
    times.sort_unstable();
    let (median, worst) = (times[batches / 2], times[batches - 1]);

    // Idle: time moves on a second at a time, nothing arrives.
    const IDLE_TICKS: u32 = 20;
    let clock = Instant::now();
    for second in 1..=IDLE_TICKS {
        board.tick(now + Duration::seconds(second.into()));
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
        "events over {FOLLOW_MINUTES} min of scenario time: {railway_events} railway, {customs_events} customs; applied {}, stale {}, orphans {}, unknown types {}",
        totals.applied, totals.stale, totals.orphans, totals.unknown_types
    );
    println!();
    let mib = |bytes: usize| bytes as f64 / (1024.0 * 1024.0);
    println!("| measure | value |");
    println!("| --- | --- |");
    println!("| parcels on the board | {parcels} |");
    println!(
        "| board memory after the snapshot: heap held | {:.0} MiB, {:.0} bytes per parcel |",
        mib(heap),
        heap as f64 / parcels as f64
    );
    println!(
        "| board memory after the snapshot: resident growth | {:.0} MiB, {:.0} bytes per parcel |",
        mib(resident),
        resident as f64 / parcels as f64
    );
    println!(
        "| board memory after following the feeds: heap held | {:.0} MiB, {:.0} bytes per parcel |",
        mib(heap_at_end),
        heap_at_end as f64 / parcels_at_end as f64
    );
    println!(
        "| apply the railway snapshot ({snapshot_trains} trains) | {:.1} ms |",
        ms(railway_snapshot)
    );
    println!(
        "| apply the customs snapshot ({parcels} declarations) | {:.2} s |",
        customs_snapshot.as_secs_f64()
    );
    println!(
        "| first tick after the snapshot | {:.2} s |",
        first_tick.as_secs_f64()
    );
    println!(
        "| events applied ({railway_events} railway, {customs_events} customs), in {batches} batches of up to {BATCH}, each followed by a tick | {events} in {:.1} s |",
        following.as_secs_f64()
    );
    println!(
        "| events per second (apply + tick) | {:.0} |",
        events as f64 / following.as_secs_f64()
    );
    println!(
        "| time per batch, apply + tick: mean / median / worst | {:.1} / {:.1} / {:.0} ms |",
        ms(mean),
        ms(median),
        ms(worst)
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
