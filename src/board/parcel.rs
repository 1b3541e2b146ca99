//! One parcel on the board: its state from the customs feed, its place
//! (train, container), its timeline, and the board's verdict on it.
//!
//! Kept compact for a board of a million parcels: repeated text (enterprise
//! names, goods, train ids) is interned, rare parts are boxed.

use chrono::{DateTime, Utc};

use crate::domain::risk::{Assessment, CustomsPhase};
use crate::domain::text::{SafeText, SharedText};
use crate::domain::{
    Declaration, DeclarationNo, FeedText, Hold, HoldOutcome, HoldReason, Inspection,
    InspectionStatus, Procedure, ReceiptStatus, StagePath,
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
    HoldUpdated { by: Option<Text>, version: u64 },
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

/// A goods line, interned.
#[derive(Debug, Clone, PartialEq)]
pub struct Goods {
    /// HS code.
    pub hs_code: Text,
    /// Declared name.
    pub name: Text,
    /// Quantity.
    pub qty: f64,
    /// Unit.
    pub unit: Option<Text>,
    /// Decimal value.
    pub value: FeedText,
    /// Currency.
    pub currency: Text,
}

/// What rarely changes and is only read for details and filters.
#[derive(Debug, Clone, PartialEq)]
pub struct Particulars {
    /// Logistics waybill.
    pub waybill_no: FeedText,
    /// E-Port number.
    pub pre_no: Option<crate::domain::PreNo>,
    /// Supervision mode.
    pub procedure: Procedure,
    /// E-commerce enterprise: code and name.
    pub ebc: (Text, Text),
    /// Logistics enterprise: code and name.
    pub logistics: Option<(Text, Text)>,
    /// Province of origin.
    pub origin_region: Option<Text>,
    /// Destination country.
    pub destination_country: Option<Text>,
    /// Goods lines.
    pub goods: Box<[Goods]>,
    /// Total value and currency.
    pub total_value: Option<(FeedText, Text)>,
    /// Gross weight.
    pub gross_weight_kg: Option<FeedText>,
    /// Filing time.
    pub filed_at: Option<DateTime<Utc>>,
}

/// A parcel on the board.
#[derive(Debug, Clone)]
pub struct Parcel {
    /// Inventory number.
    pub declaration_no: DeclarationNo,
    /// The train customs manifests it on.
    pub train_id: Option<Text>,
    /// The container customs says it is in.
    pub container_no: Option<Text>,
    /// Latest receipt status.
    pub status: ReceiptStatus,
    /// When it was given.
    pub status_at: DateTime<Utc>,
    /// Customs' note on it.
    pub status_note: Option<crate::domain::FeedText>,
    /// The inspection, if selected.
    pub inspection: Option<Box<Inspection>>,
    /// The open hold.
    pub hold: Option<Box<Hold>>,
    /// Feed seq of the last change applied.
    pub seq: u64,
    /// Details.
    pub particulars: Box<Particulars>,
    /// What happened to it, oldest first (customs side).
    pub timeline: Vec<Moment>,
    /// Its four stages, as of the last change.
    pub path: StagePath,
    /// The board's verdict, as of the last assessment.
    pub assessment: Assessment,
    /// Board keys of its train and container.
    pub(super) train: Option<usize>,
    pub(super) container: Option<usize>,
    /// Positions in its train's and container's member lists.
    pub(super) train_slot: u32,
    pub(super) container_slot: u32,
    /// The bucket it is counted in (train, container, stage, risk).
    pub(super) counted: Option<super::tally::Counted>,
    /// When its review is queued (epoch milliseconds); other queued
    /// entries for its key are stale.
    pub(super) queued_review: Option<i64>,
}

/// The longest timeline kept per parcel or container; the oldest moments
/// go first.
pub const TIMELINE_LIMIT: usize = 32;

/// Adds a moment to a timeline, keeping it in time order and bounded.
pub(super) fn record(timeline: &mut Vec<Moment>, at: DateTime<Utc>, what: Happened) {
    let position = timeline.partition_point(|m| m.at <= at);
    timeline.insert(position, Moment { at, what });
    if timeline.len() > TIMELINE_LIMIT {
        timeline.remove(0);
    }
}

impl Parcel {
    /// Whether an open hold or a detention code stops it.
    pub fn is_held(&self) -> bool {
        self.hold.is_some() || self.status.is_detained()
    }

    /// Adds a moment, keeping the timeline in time order and bounded.
    pub(super) fn record(&mut self, at: DateTime<Utc>, what: Happened) {
        record(&mut self.timeline, at, what);
    }

    /// When the feeds last told of it.
    pub fn last_heard(&self) -> DateTime<Utc> {
        self.timeline
            .last()
            .map_or(self.status_at, |m| m.at.max(self.status_at))
    }

    /// When the parcel last reached a status matching `is`.
    fn reached(&self, is: impl Fn(&ReceiptStatus) -> bool) -> Option<DateTime<Utc>> {
        if is(&self.status) {
            // The current status: its own time, or when the run of matching
            // statuses that led to it began.
            let mut since = self.status_at;
            for moment in self.timeline.iter().rev() {
                match &moment.what {
                    Happened::Status(code) if is(code) => since = since.min(moment.at),
                    Happened::Status(_) => break,
                    _ => {}
                }
            }
            return Some(since);
        }
        self.timeline.iter().rev().find_map(|m| match &m.what {
            Happened::Status(code) if is(code) => Some(m.at),
            _ => None,
        })
    }

    /// Where it is on the customs side, with since when.
    pub fn customs_phase(&self) -> CustomsPhase {
        use ReceiptStatus::*;
        let since = |is: fn(&ReceiptStatus) -> bool| self.reached(is).unwrap_or(self.status_at);
        if self.status.is_released() {
            return CustomsPhase::Released;
        }
        if self.status == Returned {
            return CustomsPhase::Returned;
        }
        if let Some(hold) = &self.hold {
            return CustomsPhase::Held {
                since: hold.placed_at,
            };
        }
        if self.status.is_detained() {
            return CustomsPhase::Held {
                since: self.status_at,
            };
        }
        if let Some(inspection) = &self.inspection {
            match inspection.status {
                InspectionStatus::Selected | InspectionStatus::InProgress => {
                    return CustomsPhase::Inspection {
                        since: inspection.selected_at,
                    };
                }
                InspectionStatus::Failed => {
                    return CustomsPhase::Held {
                        since: inspection.completed_at.unwrap_or(self.status_at),
                    };
                }
                InspectionStatus::Passed => {
                    return CustomsPhase::AwaitingRelease {
                        since: inspection.completed_at.unwrap_or(self.status_at),
                    };
                }
                InspectionStatus::Unknown(_) => {}
            }
        }
        match &self.status {
            Stored | Declaring | SentToCustoms => CustomsPhase::Filing {
                since: self
                    .particulars
                    .filed_at
                    .unwrap_or_else(|| since(|s| matches!(s, Stored | Declaring | SentToCustoms))),
            },
            SendFailed | Rejected | Exception(_) => CustomsPhase::FilingBlocked {
                since: self.status_at,
            },
            Accepted | ManualReview => CustomsPhase::Review {
                since: since(|s| matches!(s, Accepted | ManualReview)),
                manual: self.status == ManualReview,
            },
            ReviewConcluded => CustomsPhase::AwaitingRelease {
                since: self.status_at,
            },
            Inspection => CustomsPhase::Inspection {
                since: self.status_at,
            },
            _ => CustomsPhase::Unknown,
        }
    }

    /// When its customs stages (declaration, inspection, release) started
    /// and ended, as far as the feeds told; transshipment is its
    /// container's (see `Board::stage_times`).
    pub(super) fn customs_spans(&self) -> [Span; 4] {
        use ReceiptStatus::*;
        let accepted = self.reached(|s| {
            !matches!(
                s,
                Stored | Declaring | SentToCustoms | SendFailed | Rejected
            ) && s.number().is_some_and(|n| n >= 120)
        });
        let filed = self.particulars.filed_at.or_else(|| {
            self.timeline
                .iter()
                .find(|m| matches!(m.what, Happened::Filed | Happened::Status(_)))
                .map(|m| m.at)
        });
        let concluded = self
            .inspection
            .as_ref()
            .and_then(|i| {
                i.completed_at
                    .filter(|_| i.status == InspectionStatus::Passed)
            })
            .or_else(|| self.reached(|s| *s == ReviewConcluded));
        let released = self.reached(ReceiptStatus::is_released);
        let declaration_done =
            self.path.state(crate::domain::Stage::Declaration) == crate::domain::StageState::Done;
        let inspection_done =
            self.path.state(crate::domain::Stage::Inspection) == crate::domain::StageState::Done;
        [
            Span::new(filed, accepted.filter(|_| declaration_done)),
            Span::new(accepted, concluded.filter(|_| inspection_done)),
            Span::default(),
            Span::new(concluded, released),
        ]
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

/// Interns repeated text.
#[derive(Debug, Default)]
pub struct Interner {
    texts: std::collections::HashSet<Text>,
}

impl Interner {
    /// The shared copy of `text`.
    pub fn get(&mut self, text: &impl SafeText) -> Text {
        if let Some(shared) = self.texts.get(text.safe()) {
            return shared.clone();
        }
        let shared = SharedText::new(text);
        self.texts.insert(shared.clone());
        shared
    }

    /// Forgets texts nobody else holds any more.
    pub fn sweep(&mut self) {
        self.texts.retain(SharedText::is_shared);
    }
}

/// Builds the details of a declaration, interning repeated text.
pub(super) fn particulars(d: &Declaration, strings: &mut Interner) -> Particulars {
    let party = |p: &crate::domain::Party, strings: &mut Interner| {
        (strings.get(&p.code), strings.get(&p.name))
    };
    Particulars {
        waybill_no: d.waybill_no.clone(),
        pre_no: d.pre_no.clone(),
        procedure: d.procedure.clone(),
        ebc: party(&d.ebc, strings),
        logistics: d.logistics.as_ref().map(|p| party(p, strings)),
        origin_region: d.origin_region.as_ref().map(|r| strings.get(r)),
        destination_country: d.destination_country.as_ref().map(|c| strings.get(c)),
        goods: d
            .goods
            .iter()
            .map(|g| Goods {
                hs_code: strings.get(&g.hs_code),
                name: strings.get(&g.name),
                qty: g.qty,
                unit: g.unit.as_ref().map(|u| strings.get(u)),
                value: g.value.clone(),
                currency: strings.get(&g.currency),
            })
            .collect(),
        total_value: d.total_value.as_ref().map(|v| {
            let currency = d.currency.clone().unwrap_or_default();
            (v.clone(), strings.get(&currency))
        }),
        gross_weight_kg: d.gross_weight_kg.clone(),
        filed_at: d.filed_at,
    }
}

/// The moments a snapshot object tells of (its history is not in it).
pub(super) fn moments_of(d: &Declaration) -> Vec<Moment> {
    let mut moments = Vec::new();
    if let Some(at) = d.filed_at {
        moments.push(Moment {
            at,
            what: Happened::Filed,
        });
    }
    if let Some(i) = &d.inspection {
        moments.push(Moment {
            at: i.selected_at,
            what: Happened::InspectionSelected,
        });
        if let Some(at) = i.started_at {
            moments.push(Moment {
                at,
                what: Happened::InspectionStarted,
            });
        }
        if let Some(at) = i.completed_at {
            moments.push(Moment {
                at,
                what: Happened::InspectionCompleted(i.status.clone()),
            });
        }
    }
    if let Some(h) = &d.hold {
        moments.push(Moment {
            at: h.placed_at,
            what: Happened::HoldPlaced(h.reason_code.clone()),
        });
    }
    moments.push(Moment {
        at: d.status.at,
        what: Happened::Status(d.status.code.clone()),
    });
    moments.sort_by_key(|m| m.at);
    // Kept for the parcel's life, so without the growth slack.
    moments.shrink_to_fit();
    moments
}
