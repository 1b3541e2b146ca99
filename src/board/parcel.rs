//! One parcel as the board shows it: [`Parcel`], a handle that reads the
//! compact store (its number, train, container, codes, verdict, details
//! and moments decoded when asked), where it stands on the customs side,
//! and its timeline.

use chrono::{DateTime, Duration, Utc};

use super::store::{Heading, MarkKind, NONE, Number, ParcelKey, Particulars, Row};
use super::{Board, ContainerEntry, TrainEntry};
use crate::domain::risk::{Assessment, CustomsPhase};
use crate::domain::text::SharedText;
use crate::domain::{
    DeclarationNo, FeedText, Hold, HoldOutcome, HoldReason, Inspection, InspectionStatus,
    ReceiptStatus, Risk, Stage, StagePath, StageState,
};

/// Interned text shared by many parcels.
pub type Text = SharedText;

/// Something that happened to a parcel or its container, for its timeline.
#[derive(Debug, Clone, PartialEq)]
pub enum Happened {
    /// Filed with customs.
    Filed,
    /// A new receipt status.
    Status(ReceiptStatus),
    /// Moved to another train (and container).
    Rebooked { train_id: Text },
    /// Selected for inspection.
    InspectionSelected,
    /// Inspection started.
    InspectionStarted,
    /// Inspection ended.
    InspectionCompleted(InspectionStatus),
    /// A hold was placed.
    HoldPlaced(HoldReason),
    /// A hold changed (by an officer, when known).
    HoldUpdated { by: Option<Text> },
    /// A hold ended.
    HoldLifted(HoldOutcome),
    /// The container was booked on a train.
    ContainerBooked { train_id: Option<Text> },
    /// The container reached the yard.
    ContainerArrived,
    /// The container moved to another train.
    ContainerRebooked { train_id: Text },
    /// The container's shed status changed.
    Shed(crate::domain::TransshipmentStatus),
}

/// A dated entry of a timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Moment {
    /// When (the event's `at`).
    pub at: DateTime<Utc>,
    /// What.
    pub what: Happened,
}

/// The longest timeline kept per container; the oldest moments go first.
pub const TIMELINE_LIMIT: usize = 32;

/// Adds a moment to a timeline, keeping it in time order and bounded.
pub(super) fn record(timeline: &mut Vec<Moment>, at: DateTime<Utc>, what: Happened) {
    let position = timeline.partition_point(|m| m.at <= at);
    timeline.insert(position, Moment { at, what });
    if timeline.len() > TIMELINE_LIMIT {
        timeline.remove(0);
    }
}

/// When a stage started and ended (`None`: not known, or not yet).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Span {
    /// Started.
    pub started: Option<DateTime<Utc>>,
    /// Ended.
    pub ended: Option<DateTime<Utc>>,
}

impl Span {
    /// A span from its ends.
    pub fn new(started: Option<DateTime<Utc>>, ended: Option<DateTime<Utc>>) -> Self {
        Span { started, ended }
    }
}

/// A parcel on the board, read from the store.
#[derive(Debug, Clone, Copy)]
pub struct Parcel<'a> {
    board: &'a Board,
    key: ParcelKey,
    row: &'a Row,
}

impl<'a> Parcel<'a> {
    pub(super) fn new(board: &'a Board, key: ParcelKey) -> Parcel<'a> {
        Parcel {
            board,
            key,
            row: board.store.row(key),
        }
    }

    /// Its key on the board.
    pub fn key(&self) -> ParcelKey {
        self.key
    }

    /// The board it is on.
    pub fn board(&self) -> &'a Board {
        self.board
    }

    /// Its row in the store.
    pub(super) fn row(&self) -> &'a Row {
        self.row
    }

    /// Its inventory number, packed (orders as the text does for standard
    /// numbers).
    pub fn number(&self) -> Number {
        self.row.number
    }

    /// Its inventory number.
    pub fn declaration_no(&self) -> DeclarationNo {
        self.with_number(|n| DeclarationNo::new(n))
    }

    /// Calls `f` with its inventory number's text (without allocating).
    pub fn with_number<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        let mut buf = [0u8; 18];
        f(self.board.store.number_text(self.row.number, &mut buf))
    }

    /// The train customs manifests it on.
    pub fn train(&self) -> Option<&'a TrainEntry> {
        (self.row.train != NONE).then(|| &self.board.store.trains[self.row.train as usize])
    }

    /// Board key of its train.
    pub fn train_key(&self) -> Option<usize> {
        (self.row.train != NONE).then_some(self.row.train as usize)
    }

    /// The container customs says it is in.
    pub fn container(&self) -> Option<&'a ContainerEntry> {
        (self.row.container != NONE)
            .then(|| &self.board.store.containers[self.row.container as usize])
    }

    /// Board key of its container.
    pub fn container_key(&self) -> Option<usize> {
        (self.row.container != NONE).then_some(self.row.container as usize)
    }

    /// Its train's id.
    pub fn train_id(&self) -> Option<&'a Text> {
        self.train().map(|t| &t.train_id)
    }

    /// Its container's number.
    pub fn container_no(&self) -> Option<&'a Text> {
        self.container().map(|c| &c.container_no)
    }

    /// Latest receipt status.
    pub fn status(&self) -> &'a ReceiptStatus {
        self.board.store.codes.code(self.row.status)
    }

    /// Board id of its latest receipt status (equal ids, equal codes).
    pub fn status_id(&self) -> u32 {
        self.row.status
    }

    /// When it was given.
    pub fn status_at(&self) -> DateTime<Utc> {
        self.row.status_at.at()
    }

    /// Customs' note on it.
    pub fn status_note(&self) -> Option<&'a FeedText> {
        self.board.store.note(self.key)
    }

    /// The inspection, if selected.
    pub fn inspection(&self) -> Option<&'a Inspection> {
        self.board.store.inspection(self.key)
    }

    /// The open hold.
    pub fn hold(&self) -> Option<&'a Hold> {
        self.board.store.hold(self.key)
    }

    /// Feed seq of the last change applied.
    pub fn seq(&self) -> u64 {
        self.row.seq
    }

    /// Its four stages, as of the last change.
    pub fn path(&self) -> StagePath {
        self.row.path.path()
    }

    /// Its risk class, as of the last judgement.
    pub fn risk(&self) -> Risk {
        Risk::ALL[usize::from(self.row.risk).min(Risk::ALL.len() - 1)]
    }

    /// Time to spare before the tighter cut-off, as of the last judgement.
    pub fn slack(&self) -> Option<Duration> {
        (self.row.slack != i32::MIN).then(|| Duration::seconds(i64::from(self.row.slack)))
    }

    /// The verdict with its reason, as of the board's clock (the class and
    /// the slack as last judged; the reason in words from the facts now).
    pub fn assessment(&self) -> Assessment {
        let mut assessment = self.board.judge_now(self.key);
        assessment.risk = self.risk();
        assessment.slack = self.slack();
        assessment
    }

    /// Whether an open hold or a detention code stops it.
    pub fn is_held(&self) -> bool {
        self.row.hold != NONE || self.status().is_detained()
    }

    /// Its details, decoded.
    pub fn particulars(&self) -> Particulars {
        self.board.store.details.read(self.row.details)
    }

    /// The enterprise and the waybill (without decoding the rest).
    pub fn heading(&self) -> Heading<'a> {
        self.board.store.details.heading(self.row.details)
    }

    /// When the enterprise filed it.
    pub fn filed_at(&self) -> Option<DateTime<Utc>> {
        self.board.store.details.filed_at(self.row.details)
    }

    /// What happened to it, oldest first: the moments its current state
    /// tells (filed, inspection, hold, status) and the latest ones the
    /// feeds told since it came to the board.
    pub fn timeline(&self) -> Vec<Moment> {
        let store = &self.board.store;
        let mut moments = Vec::new();
        // The history keeps whole seconds: a moment it holds is the same
        // moment as the state's within the second.
        let mut push = |at: DateTime<Utc>, what: Happened| {
            if !moments
                .iter()
                .any(|m: &Moment| m.at.timestamp() == at.timestamp() && m.what == what)
            {
                moments.push(Moment { at, what });
            }
        };
        // Filing comes first; then the marks oldest first, so moments of
        // one second keep the feeds' order.
        if let Some(at) = self.filed_at() {
            push(at, Happened::Filed);
        }
        let marks: Vec<_> = store.history.iter(self.row.history).collect();
        for (at, kind, value) in marks.into_iter().rev() {
            let word = || store.words.text(value).clone();
            let what = match kind {
                MarkKind::Filed => Happened::Filed,
                MarkKind::Status => Happened::Status(store.codes.code(value).clone()),
                MarkKind::Rebooked => Happened::Rebooked { train_id: word() },
                MarkKind::InspectionSelected => Happened::InspectionSelected,
                MarkKind::InspectionStarted => Happened::InspectionStarted,
                MarkKind::InspectionCompleted => {
                    Happened::InspectionCompleted(InspectionStatus::parse(&word()))
                }
                MarkKind::HoldPlaced => Happened::HoldPlaced(HoldReason::parse(&word())),
                MarkKind::HoldUpdated => Happened::HoldUpdated {
                    by: (value != super::store::MARK_NOBODY).then(word),
                },
                MarkKind::HoldLifted => Happened::HoldLifted(HoldOutcome::parse(&word())),
            };
            push(at, what);
        }
        if let Some(i) = self.inspection() {
            push(i.selected_at, Happened::InspectionSelected);
            if let Some(at) = i.started_at {
                push(at, Happened::InspectionStarted);
            }
            if let Some(at) = i.completed_at {
                push(at, Happened::InspectionCompleted(i.status.clone()));
            }
        }
        if let Some(h) = self.hold() {
            push(h.placed_at, Happened::HoldPlaced(h.reason_code.clone()));
        }
        push(self.status_at(), Happened::Status(self.status().clone()));
        moments.sort_by_key(|m| m.at.timestamp());
        moments
    }

    /// When the feeds last told of it.
    pub fn last_heard(&self) -> DateTime<Utc> {
        let latest = self.board.store.history.iter(self.row.history).next();
        latest.map_or(self.status_at(), |(at, ..)| at.max(self.status_at()))
    }

    /// When it last reached a status matching `is`.
    fn reached(&self, is: impl Fn(&ReceiptStatus) -> bool) -> Option<DateTime<Utc>> {
        let store = &self.board.store;
        let statuses = store
            .history
            .iter(self.row.history)
            .filter(|(_, kind, _)| *kind == MarkKind::Status)
            .map(|(at, _, code)| (at, store.codes.code(code)));
        if is(self.status()) {
            // The current status: its own time, or when the run of matching
            // statuses that led to it began.
            let mut since = self.status_at();
            for (at, code) in statuses {
                if !is(code) {
                    break;
                }
                since = since.min(at);
            }
            return Some(since);
        }
        statuses
            .into_iter()
            .find(|(_, code)| is(code))
            .map(|(at, _)| at)
    }

    /// Where it is on the customs side, with since when.
    pub fn customs_phase(&self) -> CustomsPhase {
        use ReceiptStatus::*;
        let status = self.status();
        let status_at = self.status_at();
        let since = |is: fn(&ReceiptStatus) -> bool| self.reached(is).unwrap_or(status_at);
        if status.is_released() {
            return CustomsPhase::Released;
        }
        if *status == Returned {
            return CustomsPhase::Returned;
        }
        if let Some(hold) = self.hold() {
            return CustomsPhase::Held {
                since: hold.placed_at,
            };
        }
        if status.is_detained() {
            return CustomsPhase::Held { since: status_at };
        }
        if let Some(inspection) = self.inspection() {
            match inspection.status {
                InspectionStatus::Selected | InspectionStatus::InProgress => {
                    return CustomsPhase::Inspection {
                        since: inspection.selected_at,
                    };
                }
                InspectionStatus::Failed => {
                    return CustomsPhase::Held {
                        since: inspection.completed_at.unwrap_or(status_at),
                    };
                }
                InspectionStatus::Passed => {
                    return CustomsPhase::AwaitingRelease {
                        since: inspection.completed_at.unwrap_or(status_at),
                    };
                }
                InspectionStatus::Unknown(_) => {}
            }
        }
        match status {
            Stored | Declaring | SentToCustoms => CustomsPhase::Filing {
                since: self
                    .filed_at()
                    .unwrap_or_else(|| since(|s| matches!(s, Stored | Declaring | SentToCustoms))),
            },
            SendFailed | Rejected | Exception(_) => {
                CustomsPhase::FilingBlocked { since: status_at }
            }
            Accepted | ManualReview => CustomsPhase::Review {
                since: since(|s| matches!(s, Accepted | ManualReview)),
                manual: *status == ManualReview,
            },
            ReviewConcluded => CustomsPhase::AwaitingRelease { since: status_at },
            Inspection => CustomsPhase::Inspection { since: status_at },
            _ => CustomsPhase::Unknown,
        }
    }

    /// When each of its four stages started and ended: customs stages from
    /// its own moments, transshipment from its container.
    pub fn stage_times(&self) -> [Span; 4] {
        use ReceiptStatus::*;
        let accepted = self.reached(|s| {
            !matches!(
                s,
                Stored | Declaring | SentToCustoms | SendFailed | Rejected
            ) && s.number().is_some_and(|n| n >= 120)
        });
        let filed = self.filed_at().or_else(|| {
            self.timeline()
                .iter()
                .find(|m| matches!(m.what, Happened::Filed | Happened::Status(_)))
                .map(|m| m.at)
        });
        let concluded = self
            .inspection()
            .and_then(|i| {
                i.completed_at
                    .filter(|_| i.status == InspectionStatus::Passed)
            })
            .or_else(|| self.reached(|s| *s == ReviewConcluded));
        let released = self.reached(ReceiptStatus::is_released);
        let path = self.path();
        let declaration_done = path.state(Stage::Declaration) == StageState::Done;
        let inspection_done = path.state(Stage::Inspection) == StageState::Done;
        let shed = self
            .container()
            .and_then(|c| c.container.as_ref())
            .map(|c| &c.transshipment);
        [
            Span::new(filed, accepted.filter(|_| declaration_done)),
            Span::new(accepted, concluded.filter(|_| inspection_done)),
            shed.map_or_else(Span::default, |t| {
                Span::new(t.queued_at.or(t.started_at), t.completed_at)
            }),
            Span::new(concluded, released),
        ]
    }
}
