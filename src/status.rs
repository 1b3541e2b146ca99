//! The headless mode for scripts and monitoring: `greenchannel status`
//! reads both feeds once, judges every parcel, prints the board as JSON or
//! as a compact text summary, and exits like a monitoring plugin.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::board::parcel::Parcel;
use crate::board::tally::{Bucket, Tally};
use crate::board::{Board, TrainEntry};
use crate::domain::risk::duration_text;
use crate::domain::text::{fit, json_for_terminal};
use crate::domain::time::rfc3339_opt;
use crate::domain::{Cutoffs, Lang, Officer, Risk, StageState, time};
use crate::feeds::Feed;
use crate::feeds::health::{FeedHealth, FeedState, HealthLimits, Oddities};

/// How one feed was read.
#[derive(Debug, Clone)]
pub enum FeedRead {
    /// Read; with its health.
    Read(FeedHealth),
    /// Could not be read: why.
    Failed(FeedHealth, String),
}

/// The JSON of a feed.
#[derive(Debug, Serialize)]
pub struct FeedReport {
    state: FeedState,
    #[serde(with = "rfc3339_opt")]
    last_success: Option<DateTime<Utc>>,
    error: Option<String>,
    /// What the feed did wrong that the read survived.
    diagnostics: Oddities,
}

/// Counts by stage, in the JSON.
#[derive(Debug, Serialize)]
pub struct StageCounts {
    declaration: u32,
    inspection: u32,
    transshipment: u32,
    release: u32,
    ready: u32,
}

/// Counts by risk, in the JSON.
#[derive(Debug, Serialize)]
pub struct RiskCounts {
    on_track: u32,
    watch: u32,
    at_risk: u32,
    late: u32,
    held: u32,
}

/// The JSON of a train.
#[derive(Debug, Serialize)]
pub struct TrainReport {
    train_id: String,
    train_no: String,
    status: String,
    #[serde(with = "time::rfc3339")]
    scheduled_departure: DateTime<Utc>,
    #[serde(with = "rfc3339_opt")]
    estimated_departure: Option<DateTime<Utc>>,
    cutoffs: Cutoffs,
    parcels: u32,
    stages: StageCounts,
    risk: RiskCounts,
}

/// The JSON of a parcel.
#[derive(Debug, Serialize)]
pub struct ParcelReport {
    declaration_no: String,
    train_id: Option<String>,
    container_no: Option<String>,
    stage: &'static str,
    state: &'static str,
    status_code: String,
    risk: Risk,
    slack_seconds: Option<i64>,
    reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hold: Option<HoldReport>,
}

/// The triage of a held parcel, in the JSON: who has it, its flags, its
/// version (to expect in an action) and the last note.
#[derive(Debug, Serialize)]
pub struct HoldReport {
    claimed_by: Option<String>,
    priority_inspection: bool,
    escalated: bool,
    defer_requested: bool,
    version: u64,
    last_note: Option<crate::domain::Note>,
}

impl HoldReport {
    fn of(hold: &crate::domain::Hold) -> HoldReport {
        HoldReport {
            claimed_by: hold.claimed_by.as_ref().map(ToString::to_string),
            priority_inspection: hold.priority_inspection,
            escalated: hold.escalated,
            defer_requested: hold.defer_requested,
            version: hold.version,
            last_note: hold.notes.last().cloned(),
        }
    }
}

/// The whole report.
#[derive(Debug, Serialize)]
pub struct StatusReport {
    #[serde(with = "time::rfc3339")]
    generated_at: DateTime<Utc>,
    officer: Option<Officer>,
    feeds: BTreeMap<&'static str, FeedReport>,
    trains: Vec<TrainReport>,
    parcels: Vec<ParcelReport>,
    #[serde(skip)]
    totals: Tally,
    #[serde(skip)]
    unreadable: bool,
}

fn stage_counts(t: &Tally) -> StageCounts {
    StageCounts {
        declaration: t.in_bucket(Bucket::Declaration),
        inspection: t.in_bucket(Bucket::Inspection),
        transshipment: t.in_bucket(Bucket::Transshipment),
        release: t.in_bucket(Bucket::Release),
        ready: t.in_bucket(Bucket::Ready),
    }
}

fn risk_counts(t: &Tally) -> RiskCounts {
    RiskCounts {
        on_track: t.with_risk(Risk::OnTrack),
        watch: t.with_risk(Risk::Watch),
        at_risk: t.with_risk(Risk::AtRisk),
        late: t.with_risk(Risk::Late),
        held: t.with_risk(Risk::Held),
    }
}

/// The stage a parcel is counted under and the state it is in there.
pub fn stage_and_state(parcel: &Parcel) -> (&'static str, &'static str) {
    let path = parcel.path();
    let state = match path.current().map(|stage| path.state(stage)) {
        None => "done",
        Some(StageState::Blocked) if parcel.is_held() => "held",
        Some(other) => other.as_str(),
    };
    (Bucket::of(&path).as_str(), state)
}

fn train_report(t: &TrainEntry) -> Option<TrainReport> {
    let train = t.train.as_ref()?;
    Some(TrainReport {
        train_id: train.train_id.to_string(),
        train_no: train.train_no.to_string(),
        status: train.status.as_str().to_owned(),
        scheduled_departure: train.scheduled_departure,
        estimated_departure: train.estimated_departure,
        cutoffs: train.cutoffs,
        parcels: t.tally.parcels,
        stages: stage_counts(&t.tally),
        risk: risk_counts(&t.tally),
    })
}

fn parcel_report(parcel: &Parcel, now: DateTime<Utc>) -> ParcelReport {
    let (stage, state) = stage_and_state(parcel);
    let a = parcel.assessment();
    ParcelReport {
        declaration_no: parcel.declaration_no().to_string(),
        train_id: parcel.train_id().map(|t| t.to_string()),
        container_no: parcel.container_no().map(|c| c.to_string()),
        stage,
        state,
        status_code: parcel.status().code().into_owned(),
        risk: a.risk,
        slack_seconds: a.slack.map(|s| s.num_seconds()),
        reason: a.risk.is_flagged().then(|| a.reason.text(now, Lang::En)),
        hold: parcel.hold().map(HoldReport::of),
    }
}

impl StatusReport {
    /// Reports the board at `now`: every train the railway knows, in
    /// departure order, and the parcels not on track (or `all`), most
    /// urgent first.
    pub fn new(
        board: &Board,
        feeds: &[(Feed, FeedRead)],
        limits: &HealthLimits,
        officer: Option<Officer>,
        all: bool,
        now: DateTime<Utc>,
    ) -> StatusReport {
        let mut unreadable = false;
        let feeds = feeds
            .iter()
            .map(|(feed, read)| {
                // On the servers' clock, like `generated_at`.
                let served =
                    |h: &FeedHealth| h.last_success.map(|t| t - h.skew.unwrap_or_default());
                let report = match read {
                    FeedRead::Read(h) => FeedReport {
                        state: h.state(now + h.skew.unwrap_or_default(), limits),
                        last_success: served(h),
                        error: None,
                        diagnostics: h.oddities.clone(),
                    },
                    FeedRead::Failed(h, error) => {
                        unreadable = true;
                        FeedReport {
                            state: FeedState::Down,
                            last_success: served(h),
                            error: Some(error.clone()),
                            diagnostics: h.oddities.clone(),
                        }
                    }
                };
                (feed.as_str(), report)
            })
            .collect();
        let trains = board
            .departures()
            .into_iter()
            .filter_map(|k| board.train(k).and_then(train_report))
            .collect();
        let mut parcels: Vec<Parcel> = if all {
            board.parcels().collect()
        } else {
            board.flagged().collect()
        };
        // Most urgent first: the worst class, then the least slack, then
        // by inventory number.
        parcels.sort_by_cached_key(|p| {
            (
                std::cmp::Reverse(p.risk()),
                p.slack().unwrap_or(Duration::MAX),
                p.number(),
            )
        });
        StatusReport {
            generated_at: now,
            officer,
            feeds,
            trains,
            parcels: parcels.iter().map(|p| parcel_report(p, now)).collect(),
            totals: *board.totals(),
            unreadable,
        }
    }

    /// 0 nothing at risk, 1 something on watch or at risk, 2 something
    /// late or held, 3 a feed could not be read.
    pub fn exit_code(&self) -> i32 {
        let t = &self.totals;
        if self.unreadable {
            3
        } else if t.with_risk(Risk::Late) + t.with_risk(Risk::Held) > 0 {
            2
        } else if t.with_risk(Risk::Watch) + t.with_risk(Risk::AtRisk) > 0 {
            1
        } else {
            0
        }
    }

    /// The report as JSON, safe to print on a terminal (see
    /// [`json_for_terminal`]).
    pub fn json(&self) -> String {
        json_for_terminal(self)
    }

    /// The compact text summary (at most `limit` parcels listed).
    pub fn text(&self, limit: usize) -> String {
        let mut out = String::new();
        let t = &self.totals;
        let _ = writeln!(
            out,
            "greenchannel status {} UTC",
            self.generated_at.format("%Y-%m-%d %H:%M:%S")
        );
        let feeds: Vec<String> = self
            .feeds
            .iter()
            .map(|(name, f)| match &f.error {
                Some(e) => format!("{name} {} ({})", f.state.as_str(), fit(e, 60)),
                None => format!("{name} {}", f.state.as_str()),
            })
            .collect();
        let _ = writeln!(out, "feeds    {}", feeds.join(" · "));
        if let Some(o) = &self.officer {
            let _ = writeln!(out, "officer  {} {} ({})", o.officer_id, o.name, o.role);
        }
        let _ = writeln!(
            out,
            "parcels  {} · on track {} · watch {} · at risk {} · late {} · held {}",
            t.parcels,
            t.with_risk(Risk::OnTrack),
            t.with_risk(Risk::Watch),
            t.with_risk(Risk::AtRisk),
            t.with_risk(Risk::Late),
            t.with_risk(Risk::Held)
        );
        if !self.trains.is_empty() {
            let _ = writeln!(
                out,
                "\n{:<16} {:<10} {:>7} {:>5} {:>5} {:>5} {:>5} {:>6} {:>5} {:>5} {:>5} {:>5}",
                "TRAIN",
                "STATUS",
                "DEPARTS",
                "D",
                "I",
                "T",
                "R",
                "READY",
                "WATCH",
                "RISK",
                "LATE",
                "HELD"
            );
        }
        for train in &self.trains {
            let departs = train
                .estimated_departure
                .unwrap_or(train.scheduled_departure);
            let _ = writeln!(
                out,
                "{:<16} {:<10} {:>7} {:>5} {:>5} {:>5} {:>5} {:>6} {:>5} {:>5} {:>5} {:>5}",
                fit(&train.train_id, 16),
                fit(&train.status, 10),
                departs.format("%H:%M").to_string(),
                train.stages.declaration,
                train.stages.inspection,
                train.stages.transshipment,
                train.stages.release,
                train.stages.ready,
                train.risk.watch,
                train.risk.at_risk,
                train.risk.late,
                train.risk.held
            );
        }
        let flagged: Vec<&ParcelReport> = self
            .parcels
            .iter()
            .filter(|p| p.risk.is_flagged())
            .collect();
        if !flagged.is_empty() {
            let _ = writeln!(
                out,
                "\nnot on track ({} of {}; --json lists them all):",
                flagged.len().min(limit),
                flagged.len()
            );
        }
        for p in flagged.iter().take(limit) {
            let slack = p.slack_seconds.map_or_else(String::new, |s| {
                let sign = if s < 0 { "-" } else { "+" };
                format!("{sign}{}", duration_text(Duration::seconds(s), Lang::En))
            });
            let _ = writeln!(
                out,
                "{:<18} {:<16} {:<11} {:<25} {:<8} {:>8}  {}",
                fit(&p.declaration_no, 18),
                fit(p.train_id.as_deref().unwrap_or("-"), 16),
                fit(p.container_no.as_deref().unwrap_or("-"), 11),
                format!("{} {}", p.stage, p.state),
                p.risk.as_str(),
                slack,
                fit(p.reason.as_deref().unwrap_or(""), 70)
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn the_json_escapes_what_a_terminal_would_act_on_in_any_string() {
        let now = Utc::now();
        let board = Board::new(Config::default().board_settings(), now);
        let error = "503 \u{9b}2J\u{1b}]0;PWNED\u{7} \u{202e}lanigiro\u{7f}";
        let reads = [
            (
                Feed::Railway,
                FeedRead::Read(FeedHealth::new(Feed::Railway)),
            ),
            (
                Feed::Customs,
                FeedRead::Failed(FeedHealth::new(Feed::Customs), error.to_owned()),
            ),
        ];
        let limits = HealthLimits {
            stale_after: Duration::seconds(20),
            down_after: Duration::seconds(120),
        };
        let report = StatusReport::new(&board, &reads, &limits, None, false, now);
        let json = report.json();
        for escape in ["\\u009b", "\\u001b", "\\u0007", "\\u202e", "\\u007f"] {
            assert!(json.contains(escape), "{escape}: {json}");
        }
        assert!(!json.chars().any(|c| c.is_control() && c != '\n'), "{json}");
        let read: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(read["feeds"]["customs"]["error"], error);
    }
}
