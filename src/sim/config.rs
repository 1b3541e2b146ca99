//! The simulator's settings: the scenario, the demo tokens and the faults.
//!
//! Durations are in minutes of the real world (a train takes about an hour in
//! the shed); `time_compression` divides them all so that a demo shows trains
//! come and go within minutes. The commented example is `config/sim.toml`.

use std::path::Path;

use chrono::Duration;
use fastrand::Rng;
use serde::{Deserialize, Serialize};

use crate::domain::Role;

/// Everything the simulator is told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    /// Same seed and same clock, same data.
    pub seed: u64,
    /// Real-world durations are divided by this (1 = the real timetable).
    pub time_compression: f64,
    /// How long the event feeds keep events (wall-clock minutes, not
    /// compressed); an older cursor gets `410`.
    pub event_retention_minutes: f64,
    /// The most events a feed keeps, whatever their age.
    pub event_retention_max: usize,
    /// Trains, containers and parcels.
    pub timetable: TimetableConfig,
    /// The transshipment shed.
    pub shed: ShedConfig,
    /// Customs review, inspection, holds and release.
    pub customs: CustomsConfig,
    /// Bearer tokens the simulator accepts.
    pub tokens: Vec<TokenConfig>,
    /// Failures the contract allows, each switchable on its own.
    pub faults: Faults,
}

/// A duration drawn from a log-normal distribution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spread {
    /// Half of the draws are shorter, in minutes.
    pub median: f64,
    /// Log-normal sigma: 0 always gives the median, 1 is very spread out.
    pub spread: f64,
}

const fn spread(median: f64, spread: f64) -> Spread {
    Spread { median, spread }
}

/// The rolling timetable of Alashankou → Tashkent trains.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TimetableConfig {
    /// One train every so many minutes (real: ~10 a day).
    pub train_interval_minutes: f64,
    /// A train appears on the board this long before departure.
    pub announce_minutes_before: f64,
    /// A departed train stays in the snapshot this long.
    pub keep_departed_minutes: f64,
    /// Containers per train, at least.
    pub containers_min: u32,
    /// Containers per train, at most.
    pub containers_max: u32,
    /// Parcels per container, at least.
    pub parcels_per_container_min: u32,
    /// Parcels per container, at most.
    pub parcels_per_container_max: u32,
    /// Number of the first train of each service day (`X8017`).
    pub first_train_no: u32,
    /// Transshipment cut-off, minutes before departure.
    pub transshipment_cutoff_minutes: f64,
    /// Customs release cut-off, minutes before departure.
    pub release_cutoff_minutes: f64,
    /// When containers reach the yard, minutes before departure.
    pub container_arrival: Spread,
    /// Share of containers that arrive late, close to the cut-off.
    pub late_container_share: f64,
    /// When parcels are filed, minutes before departure.
    pub filing: Spread,
    /// Share of parcels filed late, close to the cut-off.
    pub late_filing_share: f64,
    /// Share of containers moved to the next train before they arrive.
    pub container_rebook_share: f64,
    /// Share of trains whose departure moves.
    pub delay_share: f64,
    /// How far it moves, minutes.
    pub delay: Spread,
    /// Share of trains cancelled.
    pub cancel_share: f64,
}

/// The transshipment shed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShedConfig {
    /// Gantry cranes working at once.
    pub cranes: u32,
    /// Lifting one container, minutes.
    pub lift: Spread,
    /// From the yard into the shed queue, minutes.
    pub yard_to_queue: Spread,
}

/// Customs review, inspection, holds and release of each parcel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CustomsConfig {
    /// Filed (2) to delivered to customs (3).
    pub send: Spread,
    /// Share of filings whose delivery fails (4) and is retried.
    pub send_failed_share: f64,
    /// Delivered (3) to accepted (120).
    pub accept: Spread,
    /// Share rejected (100) and filed again.
    pub rejected_share: f64,
    /// Correcting and filing again after a rejection.
    pub refile: Spread,
    /// Share hitting a processing exception (negative code) for a while.
    pub exception_share: f64,
    /// Automatic review: accepted (120) to concluded (399).
    pub auto_review: Spread,
    /// Share reviewed by hand (300).
    pub manual_review_share: f64,
    /// Manual review.
    pub manual_review: Spread,
    /// Share selected for inspection after review.
    pub inspection_share: f64,
    /// Selected to inspection started.
    pub inspection_wait: Spread,
    /// Inspection itself.
    pub inspection: Spread,
    /// Share of inspections that fail and end in a hold.
    pub inspection_fail_share: f64,
    /// Share held without inspection (documents, sanctions).
    pub direct_hold_share: f64,
    /// Placing to lifting a hold.
    pub hold: Spread,
    /// Of lifted holds, the share returned (refused export).
    pub hold_returned_share: f64,
    /// Of lifted holds, the share taken out of the container.
    pub hold_removed_share: f64,
    /// Concluded (or hold lifted) to released (800).
    pub release: Spread,
    /// Departure to clearance closed (899).
    pub close: Spread,
    /// Share of holds a simulated colleague claims.
    pub colleague_claim_share: f64,
    /// Hold placed to a colleague's claim.
    pub colleague_claim: Spread,
}

/// A bearer token and the officer it stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// The bearer token.
    pub token: String,
    /// The officer's id, e.g. `ALK-0417`.
    pub officer_id: String,
    /// The officer's name.
    pub name: String,
    /// What the token may do.
    pub role: Role,
}

/// Failures the contract allows a server, each switchable on its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Redeliver events: repeats inside a batch and a `next` cursor that
    /// steps back.
    pub duplicates: bool,
    /// Deliver one feed's events late, alternating between the feeds, so
    /// the two feeds disagree in order.
    pub reorder: bool,
    /// How late, seconds.
    pub reorder_lag_seconds: f64,
    /// Answer `429` with `Retry-After` to a share of requests.
    pub rate_limit: bool,
    /// Which share.
    pub rate_limit_share: f64,
    /// The `Retry-After` of a `429`, seconds.
    pub retry_after_seconds: u32,
    /// Spells of `503`.
    pub outages: bool,
    /// A spell starts every so many seconds.
    pub outage_every_seconds: f64,
    /// And lasts this long.
    pub outage_seconds: f64,
    /// Answer a share of requests slowly.
    pub slow: bool,
    /// Which share.
    pub slow_share: f64,
    /// How slowly, milliseconds.
    pub slow_ms: u64,
    /// Answer `410 cursor_expired` to a share of event reads.
    pub cursor_expiry: bool,
    /// Which share.
    pub cursor_expiry_share: f64,
    /// Unknown receipt codes, event types and fields.
    pub unknown_codes: bool,
    /// Control characters, ANSI CSI/OSC sequences, bidi overrides, very long
    /// strings, CJK and emoji in free text and identifiers.
    pub hostile_text: bool,
    /// Write times in both `+08:00` and `+05:00`.
    pub mixed_offsets: bool,
    /// Record a share of hold actions, then drop the connection unanswered.
    pub lost_answers: bool,
    /// Which share.
    pub lost_answer_share: f64,
    /// Send half of a share of snapshot pages and event batches, then
    /// drop the connection (a connection reset mid-answer).
    pub torn_pages: bool,
    /// Which share.
    pub torn_page_share: f64,
}

/// The on/off faults by name: how to read each switch and how to reach it.
type Switch = (
    &'static str,
    fn(&Faults) -> bool,
    fn(&mut Faults) -> &mut bool,
);

const SWITCHES: [Switch; 11] = [
    ("duplicates", |f| f.duplicates, |f| &mut f.duplicates),
    ("reorder", |f| f.reorder, |f| &mut f.reorder),
    ("rate_limit", |f| f.rate_limit, |f| &mut f.rate_limit),
    ("outages", |f| f.outages, |f| &mut f.outages),
    ("slow", |f| f.slow, |f| &mut f.slow),
    (
        "cursor_expiry",
        |f| f.cursor_expiry,
        |f| &mut f.cursor_expiry,
    ),
    (
        "unknown_codes",
        |f| f.unknown_codes,
        |f| &mut f.unknown_codes,
    ),
    ("hostile_text", |f| f.hostile_text, |f| &mut f.hostile_text),
    (
        "mixed_offsets",
        |f| f.mixed_offsets,
        |f| &mut f.mixed_offsets,
    ),
    ("lost_answers", |f| f.lost_answers, |f| &mut f.lost_answers),
    ("torn_pages", |f| f.torn_pages, |f| &mut f.torn_pages),
];

/// The names of the faults, for flags and messages.
pub const FAULT_NAMES: &[&str] = &{
    let mut names = [""; SWITCHES.len()];
    let mut i = 0;
    while i < SWITCHES.len() {
        names[i] = SWITCHES[i].0;
        i += 1;
    }
    names
};

impl Faults {
    /// Switches one fault by name (see [`FAULT_NAMES`]; `all` switches all).
    pub fn set(&mut self, name: &str, on: bool) -> Result<(), String> {
        let name = name.trim().replace('-', "_");
        if name == "all" {
            for (_, _, flag) in SWITCHES {
                *flag(self) = on;
            }
            return Ok(());
        }
        let (_, _, flag) = SWITCHES
            .iter()
            .find(|(known, _, _)| *known == name)
            .ok_or_else(|| {
                format!(
                    "unknown fault {name:?}; known: all, {}",
                    FAULT_NAMES.join(", ")
                )
            })?;
        *flag(self) = on;
        Ok(())
    }

    /// The names of the faults that are on.
    pub fn active(&self) -> Vec<&'static str> {
        SWITCHES
            .iter()
            .filter_map(|(name, on, _)| on(self).then_some(*name))
            .collect()
    }
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            duplicates: false,
            reorder: false,
            reorder_lag_seconds: 20.0,
            rate_limit: false,
            rate_limit_share: 0.1,
            retry_after_seconds: 1,
            outages: false,
            outage_every_seconds: 60.0,
            outage_seconds: 8.0,
            slow: false,
            slow_share: 0.2,
            slow_ms: 2500,
            cursor_expiry: false,
            cursor_expiry_share: 0.05,
            unknown_codes: false,
            hostile_text: false,
            mixed_offsets: false,
            lost_answers: false,
            lost_answer_share: 0.5,
            torn_pages: false,
            torn_page_share: 0.1,
        }
    }
}

impl Default for TimetableConfig {
    fn default() -> Self {
        TimetableConfig {
            train_interval_minutes: 144.0,
            announce_minutes_before: 720.0,
            keep_departed_minutes: 120.0,
            containers_min: 41,
            containers_max: 55,
            parcels_per_container_min: 4,
            parcels_per_container_max: 8,
            first_train_no: 8017,
            transshipment_cutoff_minutes: 60.0,
            release_cutoff_minutes: 30.0,
            container_arrival: spread(300.0, 0.35),
            late_container_share: 0.04,
            filing: spread(480.0, 0.25),
            late_filing_share: 0.02,
            container_rebook_share: 0.01,
            delay_share: 0.25,
            delay: spread(20.0, 0.6),
            cancel_share: 0.01,
        }
    }
}

impl Default for ShedConfig {
    fn default() -> Self {
        ShedConfig {
            cranes: 4,
            lift: spread(5.0, 0.25),
            yard_to_queue: spread(10.0, 0.4),
        }
    }
}

impl Default for CustomsConfig {
    fn default() -> Self {
        CustomsConfig {
            send: spread(3.0, 0.5),
            send_failed_share: 0.01,
            accept: spread(8.0, 0.5),
            rejected_share: 0.005,
            refile: spread(40.0, 0.5),
            exception_share: 0.003,
            auto_review: spread(15.0, 0.6),
            manual_review_share: 0.06,
            manual_review: spread(60.0, 0.5),
            inspection_share: 0.04,
            inspection_wait: spread(30.0, 0.5),
            inspection: spread(45.0, 0.5),
            inspection_fail_share: 0.35,
            direct_hold_share: 0.006,
            hold: spread(150.0, 0.7),
            hold_returned_share: 0.1,
            hold_removed_share: 0.2,
            release: spread(10.0, 0.5),
            close: spread(60.0, 0.3),
            colleague_claim_share: 0.6,
            colleague_claim: spread(25.0, 0.6),
        }
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 1,
            time_compression: 30.0,
            event_retention_minutes: 15.0,
            event_retention_max: 2_000_000,
            timetable: TimetableConfig::default(),
            shed: ShedConfig::default(),
            customs: CustomsConfig::default(),
            tokens: default_tokens(),
            faults: Faults::default(),
        }
    }
}

fn default_tokens() -> Vec<TokenConfig> {
    let token = |token: &str, officer_id: &str, name: &str, role: Role| TokenConfig {
        token: token.into(),
        officer_id: officer_id.into(),
        name: name.into(),
        role,
    };
    vec![
        token(
            "demo-viewer",
            "ALK-WALL1",
            "值班大屏 Night-duty wall",
            Role::Viewer,
        ),
        token("demo-officer", "ALK-0417", "王芳 Wang Fang", Role::Officer),
        token(
            "demo-officer-2",
            "ALK-0233",
            "李建国 Li Jianguo",
            Role::Officer,
        ),
        token(
            "demo-supervisor",
            "ALK-0001",
            "张伟 Zhang Wei",
            Role::Supervisor,
        ),
    ]
}

/// A settings file that could not be used.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl SimConfig {
    /// The scale test of the benchmarks: the real timetable (no time
    /// compression), containers of about 3,500 parcels filed soon after
    /// their train is announced, so that about a million parcels are on
    /// the board at once.
    pub fn million_parcels() -> SimConfig {
        let mut config = SimConfig {
            seed: 11,
            time_compression: 1.0,
            ..SimConfig::default()
        };
        config.timetable.parcels_per_container_min = 3_450;
        config.timetable.parcels_per_container_max = 3_650;
        config.timetable.filing.median = 690.0;
        config.timetable.filing.spread = 0.01;
        config.timetable.late_filing_share = 0.0;
        config
    }

    /// A world for triage: holds are common and no simulated colleague
    /// claims one by itself.
    pub fn triage() -> SimConfig {
        let mut config = SimConfig::default();
        config.customs.direct_hold_share = 0.2;
        config.customs.colleague_claim_share = 0.0;
        config
    }

    /// A real-world duration in minutes, compressed.
    pub(super) fn minutes(&self, minutes: f64) -> Duration {
        Duration::milliseconds((minutes * 60_000.0 / self.time_compression).round() as i64)
    }

    /// A compressed duration drawn from a log-normal spread with `rng`.
    pub(super) fn draw(&self, rng: &mut Rng, spread: Spread) -> Duration {
        // Box–Muller, clipped to three sigmas so no draw is absurd.
        let u1 = rng.f64().max(f64::MIN_POSITIVE);
        let u2 = rng.f64();
        let z = ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()).clamp(-3.0, 3.0);
        self.minutes(spread.median * (spread.spread * z).exp())
    }

    /// Reads a TOML settings file; the error names the file, line and key.
    pub fn load(path: &Path) -> Result<SimConfig, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("{}: {e}", path.display())))?;
        Self::parse(&text).map_err(|e| ConfigError(format!("{}: {e}", path.display())))
    }

    /// Reads TOML settings and checks them.
    pub fn parse(text: &str) -> Result<SimConfig, ConfigError> {
        let config: SimConfig = toml::from_str(text).map_err(|e| ConfigError(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks that the settings make a scenario that can run.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let t = &self.timetable;
        let mut problems = Vec::new();
        let mut need = |ok: bool, what: &str| {
            if !ok {
                problems.push(what.to_owned());
            }
        };
        need(
            self.time_compression.is_finite() && self.time_compression >= 1.0,
            "time_compression must be at least 1",
        );
        need(
            self.event_retention_minutes > 0.0,
            "event_retention_minutes must be positive",
        );
        need(
            self.event_retention_max > 0,
            "event_retention_max must be positive",
        );
        need(
            t.train_interval_minutes >= 1.0,
            "timetable.train_interval_minutes must be at least 1",
        );
        need(
            t.announce_minutes_before >= 2.0 * t.train_interval_minutes,
            "timetable.announce_minutes_before must be at least two train intervals",
        );
        need(
            t.announce_minutes_before > t.transshipment_cutoff_minutes
                && t.announce_minutes_before > t.release_cutoff_minutes,
            "timetable.announce_minutes_before must come before both cut-offs",
        );
        need(
            t.containers_min >= 1 && t.containers_min <= t.containers_max,
            "timetable.containers_min must be 1..=containers_max",
        );
        need(
            t.parcels_per_container_min >= 1
                && t.parcels_per_container_min <= t.parcels_per_container_max,
            "timetable.parcels_per_container_min must be 1..=parcels_per_container_max",
        );
        need(self.shed.cranes >= 1, "shed.cranes must be at least 1");
        need(!self.tokens.is_empty(), "tokens must not be empty");
        let shares = [
            ("timetable.late_container_share", t.late_container_share),
            ("timetable.late_filing_share", t.late_filing_share),
            ("timetable.container_rebook_share", t.container_rebook_share),
            ("timetable.delay_share", t.delay_share),
            ("timetable.cancel_share", t.cancel_share),
            ("customs.send_failed_share", self.customs.send_failed_share),
            ("customs.rejected_share", self.customs.rejected_share),
            ("customs.exception_share", self.customs.exception_share),
            (
                "customs.manual_review_share",
                self.customs.manual_review_share,
            ),
            ("customs.inspection_share", self.customs.inspection_share),
            (
                "customs.inspection_fail_share",
                self.customs.inspection_fail_share,
            ),
            ("customs.direct_hold_share", self.customs.direct_hold_share),
            (
                "customs.hold_returned_share",
                self.customs.hold_returned_share,
            ),
            (
                "customs.hold_removed_share",
                self.customs.hold_removed_share,
            ),
            (
                "customs.colleague_claim_share",
                self.customs.colleague_claim_share,
            ),
            ("faults.rate_limit_share", self.faults.rate_limit_share),
            ("faults.slow_share", self.faults.slow_share),
            (
                "faults.cursor_expiry_share",
                self.faults.cursor_expiry_share,
            ),
            ("faults.lost_answer_share", self.faults.lost_answer_share),
            ("faults.torn_page_share", self.faults.torn_page_share),
        ];
        for (name, share) in shares {
            need(
                (0.0..=1.0).contains(&share),
                &format!("{name} must be in 0..=1"),
            );
        }
        need(
            self.customs.hold_returned_share + self.customs.hold_removed_share <= 1.0,
            "customs.hold_returned_share + hold_removed_share must not exceed 1",
        );
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError(problems.join("; ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        SimConfig::default().validate().unwrap();
    }

    #[test]
    fn the_shipped_example_is_the_defaults() {
        let text = include_str!("../../config/sim.toml");
        assert_eq!(SimConfig::parse(text).unwrap(), SimConfig::default());
    }

    #[test]
    fn unknown_keys_are_named_with_their_line() {
        let err = SimConfig::parse("seed = 3\n[shed]\ncrane = 2\n").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("crane"), "{text}");
        assert!(text.contains("line 3"), "{text}");
    }

    #[test]
    fn wrong_types_and_impossible_values_are_refused() {
        let err = SimConfig::parse("seed = \"seven\"\n").unwrap_err();
        assert!(err.to_string().contains("seed"), "{err}");
        let err = SimConfig::parse("[shed]\ncranes = 0\n").unwrap_err();
        assert!(err.to_string().contains("shed.cranes"), "{err}");
        let err = SimConfig::parse("[customs]\ninspection_share = 1.5\n").unwrap_err();
        assert!(err.to_string().contains("inspection_share"), "{err}");
    }

    #[test]
    fn faults_switch_by_name() {
        let mut faults = Faults::default();
        faults.set("rate-limit", true).unwrap();
        assert_eq!(faults.active(), ["rate_limit"]);
        faults.set("all", true).unwrap();
        assert_eq!(faults.active().len(), FAULT_NAMES.len());
        assert!(
            faults
                .set("gremlins", true)
                .unwrap_err()
                .contains("gremlins")
        );
    }
}
