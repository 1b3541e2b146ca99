//! The risk of missing the train: how long each step takes (learned from
//! the feeds, starting from priors), when a parcel will be ready, and how it
//! is classed, with a reason a person understands.
//!
//! Pure: the caller passes `now` and the facts; nothing here reads a clock.

mod estimates;
mod shed;
mod words;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

pub use estimates::{Estimates, LONGEST_STEP, Step};
pub use shed::{ShedOutlook, ShedState, project_shed};
pub use words::duration_text;

use super::codes::{HoldReason, Lang, ReceiptStatus};
use super::model::Cutoffs;
use super::stage::StagePath;

/// How a parcel stands against its train's cut-offs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    /// Ready, or projected to make every cut-off with room to spare.
    OnTrack,
    /// Projected to make it, but with less slack than the margin.
    Watch,
    /// Projected to miss a cut-off.
    AtRisk,
    /// A cut-off its unfinished stage needs has passed.
    Late,
    /// An open hold or a detention code: needs an officer.
    Held,
}

impl Risk {
    /// Every class, from calm to urgent.
    pub const ALL: [Risk; 5] = [
        Risk::OnTrack,
        Risk::Watch,
        Risk::AtRisk,
        Risk::Late,
        Risk::Held,
    ];

    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::OnTrack => "on_track",
            Risk::Watch => "watch",
            Risk::AtRisk => "at_risk",
            Risk::Late => "late",
            Risk::Held => "held",
        }
    }

    /// Reads a JSON name.
    pub fn parse(text: &str) -> Option<Risk> {
        Risk::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// A label for people.
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Risk::OnTrack, Lang::En) => "on track",
            (Risk::Watch, Lang::En) => "watch",
            (Risk::AtRisk, Lang::En) => "at risk",
            (Risk::Late, Lang::En) => "late",
            (Risk::Held, Lang::En) => "held",
            (Risk::OnTrack, Lang::Zh) => "正常",
            (Risk::Watch, Lang::Zh) => "关注",
            (Risk::AtRisk, Lang::Zh) => "有风险",
            (Risk::Late, Lang::Zh) => "已超时",
            (Risk::Held, Lang::Zh) => "扣留",
        }
    }

    /// Needs attention (anything but on track).
    pub fn is_flagged(self) -> bool {
        self != Risk::OnTrack
    }
}
/// Where a parcel is on the customs side, with since when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CustomsPhase {
    /// Being filed (1, 2, 3).
    Filing { since: DateTime<Utc> },
    /// Filing failed, rejected or hit an exception (4, 100, negative).
    FilingBlocked { since: DateTime<Utc> },
    /// Accepted, under review (120, 300).
    Review { since: DateTime<Utc>, manual: bool },
    /// Selected for inspection or being inspected.
    Inspection { since: DateTime<Utc> },
    /// Held (open hold or detention code).
    Held { since: DateTime<Utc> },
    /// Review or inspection done, waiting for release (399, passed).
    AwaitingRelease { since: DateTime<Utc> },
    /// Released (800, 899).
    Released,
    /// Returned (700): leaves the flow.
    Returned,
    /// A code this version does not know.
    Unknown,
}

/// Which cut-off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cutoff {
    /// The container must be on a broad-gauge wagon.
    Transshipment,
    /// The parcel must be released by customs.
    CustomsRelease,
}

/// What holds a parcel back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Blocker {
    /// Its container, as the shed sees it.
    Shed(ShedOutlook),
    /// Customs, in this phase.
    Customs(CustomsPhase),
    /// The railway does not know its train.
    TrainUnknown,
    /// It has no train.
    NoTrain,
}

/// Why a parcel is not on track.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// On track.
    None,
    /// An open hold or a detention code.
    Held {
        /// The hold's reason, when there is an open hold.
        hold: Option<HoldReasonCode>,
        /// The release cut-off, when the train is known.
        cutoff: Option<DateTime<Utc>>,
    },
    /// A cut-off it needs has passed.
    CutoffPassed {
        /// Which.
        cutoff: Cutoff,
        /// When it passed.
        at: DateTime<Utc>,
        /// What it is still waiting on.
        waiting_on: Blocker,
    },
    /// Projected to miss, or close to, a cut-off.
    Tight {
        /// Which.
        cutoff: Cutoff,
        /// When it falls.
        at: DateTime<Utc>,
        /// What it is waiting on.
        waiting_on: Blocker,
    },
    /// Returned by customs: will not leave.
    Returned,
    /// Nothing can be projected.
    Unprojectable(Blocker),
}

/// A hold reason kept without its text (`Copy`, for reasons).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HoldReasonCode(pub u8);

impl HoldReasonCode {
    /// Encodes a hold reason; unknown reasons share one code.
    pub fn of(reason: &HoldReason) -> Self {
        let index = HoldReason::KNOWN
            .iter()
            .position(|r| r == reason)
            .map_or(u8::MAX, |i| i as u8);
        HoldReasonCode(index)
    }

    fn label(self, lang: Lang) -> std::borrow::Cow<'static, str> {
        match HoldReason::KNOWN.get(usize::from(self.0)) {
            Some(reason) => reason.label(lang),
            None => match lang {
                Lang::En => "other reason".into(),
                Lang::Zh => "其它原因".into(),
            },
        }
    }
}

/// What the rules read about one parcel.
#[derive(Debug, Clone, Copy)]
pub struct ParcelFacts<'a> {
    /// Its four stages.
    pub path: StagePath,
    /// Where it is on the customs side.
    pub customs: CustomsPhase,
    /// Its latest receipt status.
    pub status: &'a ReceiptStatus,
    /// The reason of an open hold.
    pub hold: Option<&'a HoldReason>,
    /// Its train's cut-offs, when the railway knows the train; `Err(true)`
    /// when it names a train the railway does not know, `Err(false)` when
    /// it names none.
    pub cutoffs: Result<Cutoffs, bool>,
    /// Its container, as the shed sees it.
    pub shed: ShedOutlook,
}

/// The settings of the rules.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RiskPolicy {
    /// Less slack than this is `watch`.
    pub watch_margin: Duration,
}

/// The verdict on one parcel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assessment {
    /// The class.
    pub risk: Risk,
    /// Time to spare before the tighter cut-off (negative: projected late).
    pub slack: Option<Duration>,
    /// Why, for people.
    pub reason: Reason,
    /// When to look again if nothing else happens.
    pub review_at: Option<DateTime<Utc>>,
}

/// When the parcel will be released, from its customs phase.
fn project_release(
    phase: CustomsPhase,
    estimates: &Estimates,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let left = |step: Step, since: DateTime<Utc>| estimates.remaining(step, now - since);
    let typical = |step: Step| estimates.typical(step);
    let remaining = match phase {
        CustomsPhase::Filing { since } => {
            left(Step::Declaration, since) + typical(Step::Review) + typical(Step::Release)
        }
        CustomsPhase::FilingBlocked { since } => {
            // Re-filed from scratch once someone fixes it.
            left(Step::Declaration, since)
                + typical(Step::Declaration)
                + typical(Step::Review)
                + typical(Step::Release)
        }
        CustomsPhase::Review { since, .. } => left(Step::Review, since) + typical(Step::Release),
        CustomsPhase::Inspection { since } => {
            left(Step::Inspection, since) + typical(Step::Release)
        }
        CustomsPhase::Held { since } => left(Step::Hold, since) + typical(Step::Release),
        CustomsPhase::AwaitingRelease { since } => left(Step::Release, since),
        CustomsPhase::Released | CustomsPhase::Returned | CustomsPhase::Unknown => return None,
    };
    Some(now + remaining)
}

/// Classes one parcel at `now`.
pub fn assess(
    facts: &ParcelFacts<'_>,
    estimates: &Estimates,
    policy: &RiskPolicy,
    now: DateTime<Utc>,
) -> Assessment {
    let calm = |review_at| Assessment {
        risk: Risk::OnTrack,
        slack: None,
        reason: Reason::None,
        review_at,
    };
    if facts.path.is_ready() {
        return calm(None);
    }
    if facts.customs == CustomsPhase::Returned {
        return Assessment {
            risk: Risk::Late,
            slack: None,
            reason: Reason::Returned,
            review_at: None,
        };
    }
    let held = facts.hold.is_some() || facts.status.is_detained();
    let cutoffs = match facts.cutoffs {
        Ok(cutoffs) => cutoffs,
        Err(named) => {
            let blocker = if named {
                Blocker::TrainUnknown
            } else {
                Blocker::NoTrain
            };
            return Assessment {
                risk: if held { Risk::Held } else { Risk::Watch },
                slack: None,
                reason: if held {
                    Reason::Held {
                        hold: facts.hold.map(HoldReasonCode::of),
                        cutoff: None,
                    }
                } else {
                    Reason::Unprojectable(blocker)
                },
                review_at: Some(now + Duration::minutes(1)),
            };
        }
    };

    let released = facts.customs == CustomsPhase::Released;
    let shed_done = facts.shed == ShedOutlook::Done;
    // Slack against each cut-off the parcel still needs.
    let customs_slack = (!released).then(|| {
        let ready = project_release(facts.customs, estimates, now);
        (
            ready.map(|r| cutoffs.customs_release - r),
            Blocker::Customs(facts.customs),
        )
    });
    let shed_slack = (!shed_done).then(|| {
        let ready = facts.shed.done_at();
        (
            ready.map(|r| cutoffs.transshipment - r),
            Blocker::Shed(facts.shed),
        )
    });
    let review = |slack: Option<Duration>| {
        let pace = slack.map_or(Duration::minutes(1), |s| s.abs() / 4);
        let mut at = now + pace.clamp(Duration::seconds(5), Duration::minutes(5));
        for cutoff in [cutoffs.transshipment, cutoffs.customs_release] {
            if cutoff > now && cutoff < at {
                at = cutoff;
            }
        }
        Some(at)
    };

    // A cut-off that an unfinished stage needs has passed.
    let passed = [
        (
            customs_slack.map(|(_, b)| b),
            Cutoff::CustomsRelease,
            cutoffs.customs_release,
        ),
        (
            shed_slack.map(|(_, b)| b),
            Cutoff::Transshipment,
            cutoffs.transshipment,
        ),
    ]
    .into_iter()
    .find_map(|(blocker, cutoff, at)| blocker.filter(|_| now >= at).map(|b| (cutoff, at, b)));
    if let Some((cutoff, at, waiting_on)) = passed {
        let risk = if held { Risk::Held } else { Risk::Late };
        return Assessment {
            risk,
            slack: Some(at - now),
            reason: if held {
                Reason::Held {
                    hold: facts.hold.map(HoldReasonCode::of),
                    cutoff: Some(cutoffs.customs_release),
                }
            } else {
                Reason::CutoffPassed {
                    cutoff,
                    at,
                    waiting_on,
                }
            },
            review_at: Some(now + Duration::minutes(5)),
        };
    }

    // The tighter of the two projections.
    let mut worst: Option<(Option<Duration>, Cutoff, DateTime<Utc>, Blocker)> = None;
    for (slack, cutoff, at) in [
        (
            customs_slack,
            Cutoff::CustomsRelease,
            cutoffs.customs_release,
        ),
        (shed_slack, Cutoff::Transshipment, cutoffs.transshipment),
    ] {
        let Some((slack, blocker)) = slack else {
            continue;
        };
        let tighter = match (&worst, slack) {
            (None, _) => true,
            // An unprojectable one (blocked, unknown) is the worry.
            (Some((Some(_), ..)), None) => true,
            (Some((Some(w), ..)), Some(s)) => s < *w,
            (Some((None, ..)), _) => false,
        };
        if tighter {
            worst = Some((slack, cutoff, at, blocker));
        }
    }
    let Some((slack, cutoff, at, blocker)) = worst else {
        return calm(review(None));
    };
    if held {
        return Assessment {
            risk: Risk::Held,
            slack,
            reason: Reason::Held {
                hold: facts.hold.map(HoldReasonCode::of),
                cutoff: Some(cutoffs.customs_release),
            },
            review_at: review(slack),
        };
    }
    let risk = match slack {
        None => {
            // Cannot be projected (shed blocked, unknown container or code):
            // at risk when the cut-off is within the margin.
            if at - now < policy.watch_margin {
                Risk::AtRisk
            } else {
                Risk::Watch
            }
        }
        Some(s) if s < Duration::zero() => Risk::AtRisk,
        Some(s) if s < policy.watch_margin => Risk::Watch,
        Some(_) => return calm(review(slack)),
    };
    let reason = match slack {
        None => Reason::Unprojectable(blocker),
        Some(_) => Reason::Tight {
            cutoff,
            at,
            waiting_on: blocker,
        },
    };
    Assessment {
        risk,
        slack,
        reason,
        review_at: review(slack),
    }
}

#[cfg(test)]
mod tests {
    use super::estimates::MIN_SAMPLES;
    use super::*;
    use crate::domain::stage::{StageInputs, stage_path};
    use crate::domain::{InspectionStatus, TransshipmentStatus};

    fn t(minutes: i64) -> DateTime<Utc> {
        "2026-11-26T03:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::minutes(minutes)
    }

    fn priors() -> Estimates {
        let mut e = Estimates::new(
            |step| {
                Duration::minutes(match step {
                    Step::Declaration => 10,
                    Step::Review => 20,
                    Step::Inspection => 60,
                    Step::Hold => 120,
                    Step::Release => 10,
                    Step::YardToQueue => 10,
                    Step::Lift => 5,
                })
            },
            0.8,
        );
        e.refresh();
        e
    }

    fn policy() -> RiskPolicy {
        RiskPolicy {
            watch_margin: Duration::minutes(15),
        }
    }

    /// Train leaving at t(120): transshipment cut-off t(60), release t(90).
    fn cutoffs() -> Cutoffs {
        Cutoffs {
            transshipment: t(60),
            customs_release: t(90),
        }
    }

    fn path(code: &str, shed: Option<TransshipmentStatus>, hold: bool) -> StagePath {
        let status = ReceiptStatus::parse(code);
        stage_path(StageInputs {
            status: &status,
            inspection: None::<&InspectionStatus>,
            hold_open: hold,
            transshipment: shed.as_ref(),
        })
    }

    #[test]
    fn a_held_parcel_is_held_with_its_reason() {
        let status = ReceiptStatus::DetainedOther;
        let reason = HoldReason::XrayAnomaly;
        let facts = ParcelFacts {
            path: path("599", Some(TransshipmentStatus::Done), true),
            customs: CustomsPhase::Held { since: t(-30) },
            status: &status,
            hold: Some(&reason),
            cutoffs: Ok(cutoffs()),
            shed: ShedOutlook::Done,
        };
        let a = assess(&facts, &priors(), &policy(), t(0));
        assert_eq!(a.risk, Risk::Held);
        // 90 min left for 90 more of hold (the prior, 120, minus the 30
        // already spent) and 10 of release: 10 min short.
        assert_eq!(a.slack, Some(Duration::minutes(-10)));
        assert_eq!(
            a.reason.text(t(0), Lang::En),
            "held: X-ray anomaly, release cut-off in 90 min"
        );
        assert_eq!(
            a.reason.text(t(0), Lang::Zh),
            "扣留：机检图像异常，距放行截止90分钟"
        );
    }

    #[test]
    fn a_parcel_past_its_cutoff_is_late() {
        let status = ReceiptStatus::ReviewConcluded;
        let facts = ParcelFacts {
            path: path("399", Some(TransshipmentStatus::Done), false),
            customs: CustomsPhase::AwaitingRelease { since: t(80) },
            status: &status,
            hold: None,
            cutoffs: Ok(cutoffs()),
            shed: ShedOutlook::Done,
        };
        let a = assess(&facts, &priors(), &policy(), t(95));
        assert_eq!(a.risk, Risk::Late);
        assert_eq!(a.slack, Some(Duration::minutes(-5)));
        assert_eq!(
            a.reason.text(t(95), Lang::En),
            "waiting for release for 15 min, release cut-off passed 5 min ago"
        );
        // Released, it is ready and on track whatever the clock says.
        let released = ReceiptStatus::Released;
        let done = ParcelFacts {
            path: path("800", Some(TransshipmentStatus::Done), false),
            customs: CustomsPhase::Released,
            status: &released,
            ..facts
        };
        assert_eq!(
            assess(&done, &priors(), &policy(), t(95)).risk,
            Risk::OnTrack
        );
    }

    #[test]
    fn a_container_deep_in_the_shed_queue_is_at_risk() {
        // 30 containers queued before ours, 4 cranes, 5 min a lift: ours
        // starts after 7 rounds and is done at t(40); cut-off at t(60).
        let mut shed = vec![ShedState::Queued { queued_at: t(-60) }; 30];
        shed.push(ShedState::Queued { queued_at: t(-1) });
        let outlook = project_shed(&shed, 4, &priors(), t(0));
        assert_eq!(
            outlook[30],
            ShedOutlook::Queued {
                ahead: 30,
                done_at: t(40)
            }
        );
        let status = ReceiptStatus::Released;
        let facts = ParcelFacts {
            path: path("800", Some(TransshipmentStatus::Queued), false),
            customs: CustomsPhase::Released,
            status: &status,
            hold: None,
            cutoffs: Ok(cutoffs()),
            shed: outlook[30],
        };
        // 20 min of slack: on track.
        assert_eq!(
            assess(&facts, &priors(), &policy(), t(0)).risk,
            Risk::OnTrack
        );
        // With 60 ahead it is done at t(80): 20 min past the cut-off.
        let mut deep = vec![ShedState::Queued { queued_at: t(-60) }; 60];
        deep.push(ShedState::Queued { queued_at: t(-1) });
        let outlook = project_shed(&deep, 4, &priors(), t(0));
        let facts = ParcelFacts {
            shed: outlook[60],
            ..facts
        };
        let a = assess(&facts, &priors(), &policy(), t(0));
        assert_eq!(a.risk, Risk::AtRisk);
        assert_eq!(a.slack, Some(Duration::minutes(-20)));
        assert_eq!(
            a.reason.text(t(0), Lang::En),
            "container not transshipped, 60 ahead in the shed queue, transshipment cut-off in 60 min"
        );
        // Close to the margin: watch.
        let mut near = vec![ShedState::Queued { queued_at: t(-60) }; 40];
        near.push(ShedState::Queued { queued_at: t(-1) });
        let outlook = project_shed(&near, 4, &priors(), t(0));
        let facts = ParcelFacts {
            shed: outlook[40],
            ..facts
        };
        assert_eq!(assess(&facts, &priors(), &policy(), t(0)).risk, Risk::Watch);
    }

    #[test]
    fn containers_still_to_come_queue_after_the_queue() {
        let shed = [
            ShedState::Lifting { started_at: t(-3) },
            ShedState::EnRoute { eta: Some(t(30)) },
            ShedState::Queued { queued_at: t(-5) },
            ShedState::InYard { arrived_at: t(-5) },
            ShedState::Done,
            ShedState::Blocked,
        ];
        let outlook = project_shed(&shed, 1, &priors(), t(0));
        // One crane: lifting done at t(2) (p80 of 5 min minus 3), then the
        // queued one (t(7)), then the yard one (ready t(5), starts t(7)),
        // then the one due at t(30) (+10 in the yard).
        assert_eq!(outlook[0], ShedOutlook::Lifting { done_at: t(2) });
        assert_eq!(
            outlook[2],
            ShedOutlook::Queued {
                ahead: 0,
                done_at: t(7)
            }
        );
        assert_eq!(outlook[3], ShedOutlook::InYard { done_at: t(12) });
        assert_eq!(
            outlook[1],
            ShedOutlook::EnRoute {
                eta: Some(t(30)),
                done_at: t(45)
            }
        );
        assert_eq!(outlook[4], ShedOutlook::Done);
        assert_eq!(outlook[5], ShedOutlook::Blocked);
    }

    #[test]
    fn unknown_train_or_container_is_watched_never_dropped() {
        let status = ReceiptStatus::Accepted;
        let facts = ParcelFacts {
            path: path("120", None, false),
            customs: CustomsPhase::Review {
                since: t(0),
                manual: false,
            },
            status: &status,
            hold: None,
            cutoffs: Err(true),
            shed: ShedOutlook::UnknownContainer,
        };
        let a = assess(&facts, &priors(), &policy(), t(0));
        assert_eq!(a.risk, Risk::Watch);
        assert_eq!(
            a.reason.text(t(0), Lang::En),
            "train not known to the railway"
        );
        let facts = ParcelFacts {
            cutoffs: Ok(cutoffs()),
            ..facts
        };
        let a = assess(&facts, &priors(), &policy(), t(0));
        assert_eq!(a.risk, Risk::Watch);
        assert_eq!(
            a.reason.text(t(0), Lang::En),
            "container not known to the railway"
        );
        // Within the margin of the cut-off it cannot be shown to make, at risk.
        assert_eq!(
            assess(&facts, &priors(), &policy(), t(50)).risk,
            Risk::AtRisk
        );
    }

    #[test]
    fn learned_durations_replace_the_prior_and_condition_on_elapsed_time() {
        let mut e = priors();
        assert_eq!(e.typical(Step::Review), Duration::minutes(20));
        for minutes in 1..=20 {
            e.observe(Step::Review, Duration::minutes(minutes));
        }
        assert!(e.refresh());
        assert!(!e.refresh(), "nothing new");
        assert_eq!(e.samples(Step::Review), 20);
        assert_eq!(e.typical(Step::Review), Duration::minutes(16));
        // Already 18 minutes in: the p80 of the longer ones (19, 20) is 20.
        assert_eq!(
            e.remaining(Step::Review, Duration::minutes(18)),
            Duration::minutes(2)
        );
        // Past every observation: a tenth of the typical duration.
        assert_eq!(
            e.remaining(Step::Review, Duration::minutes(40)),
            Duration::seconds(96)
        );
    }

    #[test]
    fn only_durations_that_moved_call_for_judging_every_parcel_again() {
        let mut e = priors();
        for minutes in 1..=20 {
            e.observe(Step::Review, Duration::minutes(minutes));
        }
        assert!(e.refresh(), "learned: the prior is replaced");
        // The same again: the quantiles stay where they were.
        for minutes in 1..=20 {
            e.observe(Step::Review, Duration::minutes(minutes));
        }
        assert!(!e.refresh(), "nothing moved");
        assert_eq!(e.samples(Step::Review), 40);
        for _ in 0..40 {
            e.observe(Step::Review, Duration::minutes(30));
        }
        assert!(e.refresh(), "reviews take longer now");
        assert_eq!(e.typical(Step::Review), Duration::minutes(30));
    }

    #[test]
    fn a_long_queue_of_absurd_lifts_projects_without_overflow() {
        // A server's placeholder times (lifted from 0001 to 9999) would
        // teach lifts of thousands of years: they are not learned.
        let mut e = priors();
        for _ in 0..MIN_SAMPLES {
            e.observe(Step::Lift, Duration::days(365 * 9_000));
        }
        assert!(!e.refresh(), "nothing learned");
        // Month-long lifts queued at the end of time add up past the last
        // instant there is, where the projection stays.
        for _ in 0..MIN_SAMPLES {
            e.observe(Step::Lift, LONGEST_STEP);
        }
        e.refresh();
        let end = DateTime::<Utc>::MAX_UTC - Duration::days(60);
        let queue: Vec<ShedState> = (0..200)
            .map(|i| ShedState::Queued {
                queued_at: end + Duration::minutes(i),
            })
            .collect();
        let outlooks = project_shed(&queue, 4, &e, end);
        assert_eq!(
            outlooks.last(),
            Some(&ShedOutlook::Queued {
                ahead: 199,
                done_at: DateTime::<Utc>::MAX_UTC
            })
        );
    }

    #[test]
    fn reviews_come_sooner_when_slack_is_short_and_at_each_cutoff() {
        let status = ReceiptStatus::Accepted;
        let facts = ParcelFacts {
            path: path("120", Some(TransshipmentStatus::Done), false),
            customs: CustomsPhase::Review {
                since: t(0),
                manual: false,
            },
            status: &status,
            hold: None,
            cutoffs: Ok(cutoffs()),
            shed: ShedOutlook::Done,
        };
        let early = assess(&facts, &priors(), &policy(), t(0));
        assert_eq!(early.review_at, Some(t(5)));
        let close = assess(&facts, &priors(), &policy(), t(80));
        assert!(close.review_at.unwrap() - t(80) < Duration::minutes(5));
        assert!(
            close.review_at.unwrap() <= t(90),
            "at the cut-off at the latest"
        );
    }
}
