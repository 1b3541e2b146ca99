//! A soak, shortened: the real board (the `greenchannel` binary in tmux,
//! as an officer runs it) against the simulator compressed so that a week
//! of the port passes in half a minute, faults on. The board's resident
//! memory, open files and CPU are sampled every half second; after a
//! warm-up they must stay flat, and at the end the board must still be
//! following the feeds. The long form is `scripts/soak`.

mod common;

use std::time::{Duration, Instant};

use common::tmux::*;
use greenchannel::config::Config;
use greenchannel::sim::SimConfig;
use serde_json::json;

/// Wall time the simulated week takes.
const RUN: Duration = Duration::from_secs(30);
/// The simulator's time compression: a week in 28 s, within [`RUN`].
const COMPRESSION: f64 = 7.0 * 86_400.0 / 28.0;
/// Samples before this are the warm-up (the first snapshot, the board
/// filling up to its steady size).
const WARM_UP: Duration = Duration::from_secs(8);
/// Between samples.
const EVERY: Duration = Duration::from_millis(500);
/// Resident memory may grow this much after the warm-up: the median of the
/// last third over the median of the first third after it.
const RSS_GROWTH: f64 = 1.06;
/// Plus this much, for the allocator's slack, KiB.
const RSS_SLACK_KIB: u64 = 512;
/// Open files may be this many more than the most seen in the warm-up
/// (a connection being replaced).
const FD_SLACK: usize = 4;

/// One look at the board's process.
#[derive(Debug, Clone, Copy)]
struct Sample {
    at: Duration,
    rss_kib: u64,
    fds: usize,
    /// User and system CPU time so far, clock ticks.
    cpu_ticks: u64,
}

fn sample(pid: u32, at: Duration) -> Option<Sample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces): utime and
    // stime are the 14th and 15th of the line, the 12th and 13th here.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let cpu_ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Sample {
        at,
        rss_kib,
        fds,
        cpu_ticks,
    })
}

/// `getconf CLK_TCK`: the unit of the CPU times in `/proc`.
fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(100.0)
}

fn median(mut values: Vec<u64>) -> u64 {
    values.sort_unstable();
    values[values.len() / 2]
}

/// CPU ticks per second of wall time over `samples`.
fn cpu_rate(samples: &[Sample]) -> f64 {
    let (first, last) = (samples[0], samples[samples.len() - 1]);
    (last.cpu_ticks - first.cpu_ticks) as f64 / (last.at - first.at).as_secs_f64()
}

/// Board settings (as environment) for a world `COMPRESSION` times
/// faster than the real one: every duration of judgement divided by it,
/// as [`Config::compressed`] divides them.
fn compressed_settings() -> Vec<String> {
    let config = Config::default().compressed(COMPRESSION);
    let priors = &config.risk.priors;
    [
        (
            "RISK_WATCH_MARGIN_MINUTES",
            config.risk.watch_margin_minutes,
        ),
        ("RISK_PRIORS_DECLARATION", priors.declaration),
        ("RISK_PRIORS_REVIEW", priors.review),
        ("RISK_PRIORS_INSPECTION", priors.inspection),
        ("RISK_PRIORS_HOLD", priors.hold),
        ("RISK_PRIORS_RELEASE", priors.release),
        ("RISK_PRIORS_YARD_TO_QUEUE", priors.yard_to_queue),
        ("RISK_PRIORS_LIFT", priors.lift),
        (
            "BOARD_KEEP_DEPARTED_MINUTES",
            config.board.keep_departed_minutes,
        ),
    ]
    .iter()
    .map(|(name, minutes)| format!("GREENCHANNEL_{name}={minutes}"))
    .collect()
}

#[test]
fn a_week_of_the_port_with_faults_leaves_the_board_flat() {
    let mut config = SimConfig {
        time_compression: COMPRESSION,
        ..SimConfig::default()
    };
    // Fewer parcels a container than a real train carries, so that the
    // debug build keeps up with a week in half a minute; `scripts/soak`
    // runs the full world.
    config.timetable.parcels_per_container_min = 1;
    config.timetable.parcels_per_container_max = 2;
    // The world's clock this machine's, as a port's servers are.
    let sim = Sim::with(config, chrono::Utc::now());
    let settings = compressed_settings();
    let env: Vec<&str> = settings.iter().map(String::as_str).collect();
    let board = Board::start_with(&sim, (160, 48), &[], &env);
    board.wait_ready();
    let pid = board.pid();

    // Faults on, at rates a week of a real link might show, compressed
    // into the run; then the world's clock set going.
    sim.faults(json!({
        "duplicates": true, "reorder": true, "reorder_lag_seconds": 0.5,
        "rate_limit": true, "rate_limit_share": 0.05, "retry_after_seconds": 1,
        "outages": true, "outage_every_seconds": 10.0, "outage_seconds": 1.0,
        "slow": true, "slow_share": 0.05, "slow_ms": 300,
        "cursor_expiry": true, "cursor_expiry_share": 0.02,
        "unknown_codes": true, "hostile_text": true, "mixed_offsets": true,
        "torn_pages": true, "torn_page_share": 0.05,
    }));
    // Sets the world's clock going (again); its status.
    let run_clock = |sim: &Sim| {
        sim.runtime.block_on(common::control(
            &sim.running,
            "clock",
            json!({"pause": false}),
        ))
    };
    let started_at = run_clock(&sim)["now"].as_str().expect("now").to_owned();

    let began = Instant::now();
    let mut samples = Vec::new();
    while began.elapsed() < RUN {
        std::thread::sleep(EVERY);
        let taken = sample(pid, began.elapsed());
        samples.push(taken.unwrap_or_else(|| {
            panic!(
                "the board (pid {pid}) ended during the soak\n{}",
                board.screen_and_history()
            )
        }));
    }
    let ended_at = run_clock(&sim)["now"].as_str().expect("now").to_owned();
    let elapsed = chrono::DateTime::parse_from_rfc3339(&ended_at).expect("RFC 3339")
        - chrono::DateTime::parse_from_rfc3339(&started_at).expect("RFC 3339");
    let simulated_days = elapsed.num_milliseconds() as f64 / 1000.0 * COMPRESSION / 86_400.0;
    assert!(
        simulated_days >= 7.0,
        "a week simulated: {simulated_days:.1} days"
    );

    let settled: Vec<Sample> = samples
        .iter()
        .copied()
        .filter(|s| s.at >= WARM_UP)
        .collect();
    let warm_up: Vec<Sample> = samples.iter().copied().filter(|s| s.at < WARM_UP).collect();
    let third = settled.len() / 3;
    let (first, last) = (&settled[..third], &settled[settled.len() - third..]);
    let report = format!(
        "{simulated_days:.1} simulated days in {:?}; samples (s, RSS KiB, fds, CPU ticks):\n{}",
        RUN,
        samples
            .iter()
            .map(|s| format!(
                "{:.1} {} {} {}",
                s.at.as_secs_f64(),
                s.rss_kib,
                s.fds,
                s.cpu_ticks
            ))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let rss_first = median(first.iter().map(|s| s.rss_kib).collect());
    let rss_last = median(last.iter().map(|s| s.rss_kib).collect());
    assert!(
        rss_last as f64 <= rss_first as f64 * RSS_GROWTH + RSS_SLACK_KIB as f64,
        "resident memory grew from {rss_first} KiB to {rss_last} KiB\n{report}"
    );
    let fds_warm_up = warm_up.iter().map(|s| s.fds).max().unwrap_or(0);
    let fds_most = settled.iter().map(|s| s.fds).max().unwrap_or(0);
    assert!(
        fds_most <= fds_warm_up + FD_SLACK,
        "open files grew from {fds_warm_up} to {fds_most}\n{report}"
    );
    // CPU: the last third costs no more than the first (plus a tenth of
    // a core), so no work grows with what the board has seen.
    let ticks = clock_ticks_per_second();
    let (cpu_first, cpu_last) = (cpu_rate(first) / ticks, cpu_rate(last) / ticks);
    assert!(
        cpu_last <= cpu_first * 1.5 + 0.10,
        "CPU grew from {:.0}% to {:.0}% of a core\n{report}",
        cpu_first * 100.0,
        cpu_last * 100.0
    );
    // Still following: every train the railway lists as upcoming now is
    // on the departures board.
    // (With the clock held, a feed held back by `reorder` would stay so.)
    sim.faults(json!({
        "duplicates": false, "reorder": false, "rate_limit": false, "outages": false,
        "slow": false, "cursor_expiry": false, "torn_pages": false,
    }));
    sim.runtime.block_on(common::control(
        &sim.running,
        "clock",
        json!({"pause": true}),
    ));
    let upcoming = sim.upcoming_trains();
    board.wait_for(
        &format!("the trains upcoming at the end of the week: {upcoming:?}"),
        |s| upcoming.iter().all(|(_, no)| s.contains(no.as_str())),
    );

    eprintln!(
        "soak: RSS {rss_first} → {rss_last} KiB, fds ≤ {fds_most} (warm-up {fds_warm_up}), \
         CPU {:.0}% → {:.0}% of a core\n{report}",
        cpu_first * 100.0,
        cpu_last * 100.0
    );
}
