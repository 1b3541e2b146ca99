//! The objects of the two upstream APIs, as the contract writes them.
//!
//! Field by field these follow `railway.openapi.yaml` and
//! `customs.openapi.yaml`: a field the contract allows to be `null` is written
//! as `null` when empty, a field it only allows to be absent is left out.
//! Unknown fields are ignored on reading; unknown enumeration values are kept
//! (see [`super::codes`]). Every instant is UTC in memory. Every string is
//! [`FeedText`], made safe for a terminal as it is decoded; the cursors and
//! page tokens, which are only ever sent back, are bounded [`Cursor`]s and
//! [`PageToken`]s.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use super::codes::{
    HoldActionKind, HoldReason, InspectionMethod, InspectionStatus, Procedure, ReceiptStatus, Role,
    TrainStatus, TransshipmentStatus,
};
use super::ids::{ContainerNo, DeclarationNo, PreNo, StandardWagonNo, StationCode, WagonNo};
use super::text::FeedText;
use super::time::{rfc3339, rfc3339_opt};

/// A railway station on the route.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Station {
    /// `AKR`, `708507`, `722400`.
    pub code: StationCode,
    /// Name as the railway writes it.
    pub name: FeedText,
    /// Offset the station writes its times in, e.g. `+08:00`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utc_offset: Option<FeedText>,
}

/// The two deadlines a parcel must meet to leave on a train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cutoffs {
    /// A container not on a broad-gauge wagon by then misses the train.
    #[serde(with = "rfc3339")]
    pub transshipment: DateTime<Utc>,
    /// A parcel not released by customs by then misses the train.
    #[serde(with = "rfc3339")]
    pub customs_release: DateTime<Utc>,
}

/// A train leaving the border station, with the containers booked on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Train {
    /// Train number plus service date, e.g. `X8017-20261126`.
    pub train_id: FeedText,
    /// E.g. `X8017`.
    pub train_no: FeedText,
    /// The service, e.g. "Alashankou-Tashkent cross-border e-commerce".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<FeedText>,
    /// Where it leaves from.
    pub origin: Station,
    /// Where it goes.
    pub destination: Station,
    /// Station codes along the way.
    #[serde(default)]
    pub route: Vec<StationCode>,
    /// Departure in the timetable.
    #[serde(with = "rfc3339")]
    pub scheduled_departure: DateTime<Utc>,
    /// Departure as now expected, when it differs.
    #[serde(default, with = "rfc3339_opt")]
    pub estimated_departure: Option<DateTime<Utc>>,
    /// When it left.
    #[serde(default, with = "rfc3339_opt")]
    pub actual_departure: Option<DateTime<Utc>>,
    /// Where the train is in its life.
    pub status: TrainStatus,
    /// The deadlines for its parcels.
    pub cutoffs: Cutoffs,
    /// How many containers are planned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containers_planned: Option<u32>,
    /// The containers booked on it (in snapshots and `getTrain`).
    #[serde(default)]
    pub containers: Vec<Container>,
    /// Feed seq of the last change included in this object.
    pub seq: u64,
}

impl Train {
    /// The departure as now expected: estimated if known, else scheduled.
    pub fn expected_departure(&self) -> DateTime<Utc> {
        self.actual_departure
            .or(self.estimated_departure)
            .unwrap_or(self.scheduled_departure)
    }
}

/// A container booked on a train.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Container {
    /// ISO 6346 number.
    pub container_no: ContainerNo,
    /// ISO 6346 size and type code, e.g. `45G1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_type: Option<FeedText>,
    /// The train it is booked on.
    pub train_id: Option<FeedText>,
    /// Slot in the train consist, once known.
    #[serde(default)]
    pub position: Option<u32>,
    /// Seal number.
    #[serde(default)]
    pub seal_no: Option<FeedText>,
    /// Arrival in the border station's yard; `None` while en route.
    #[serde(default, with = "rfc3339_opt")]
    pub arrived_at: Option<DateTime<Utc>>,
    /// Expected arrival in the yard, while en route.
    #[serde(default, with = "rfc3339_opt")]
    pub eta: Option<DateTime<Utc>>,
    /// Where it is in the transshipment shed.
    pub transshipment: Transshipment,
    /// Feed seq of the last change included in this object.
    pub seq: u64,
}

/// A container's passage through the transshipment shed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transshipment {
    /// Where it is in the shed.
    pub status: TransshipmentStatus,
    /// Entered the shed queue.
    #[serde(default, with = "rfc3339_opt")]
    pub queued_at: Option<DateTime<Utc>>,
    /// Lifting started.
    #[serde(default, with = "rfc3339_opt")]
    pub started_at: Option<DateTime<Utc>>,
    /// On the broad-gauge wagon.
    #[serde(default, with = "rfc3339_opt")]
    pub completed_at: Option<DateTime<Utc>>,
    /// Standard-gauge (1435 mm) wagon it came on.
    #[serde(default)]
    pub from_wagon: Option<StandardWagonNo>,
    /// Broad-gauge (1520 mm) wagon it goes on.
    #[serde(default)]
    pub to_wagon: Option<WagonNo>,
    /// Shed track.
    #[serde(default)]
    pub track: Option<FeedText>,
    /// Why the shed will not move it.
    #[serde(default)]
    pub blocked_reason: Option<FeedText>,
}

/// An enterprise: e-commerce business or logistics company.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    /// Customs registration code.
    pub code: FeedText,
    /// Name, usually Chinese.
    pub name: FeedText,
}

/// One line of goods in a parcel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoodsLine {
    /// Line number, from 1.
    pub line: u32,
    /// Chinese 10-digit commodity code.
    pub hs_code: FeedText,
    /// Description as declared (often Chinese).
    pub name: FeedText,
    /// Quantity.
    pub qty: f64,
    /// Unit of the quantity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<FeedText>,
    /// Decimal string, e.g. `"35.20"`.
    pub value: FeedText,
    /// ISO 4217 code.
    pub currency: FeedText,
}

/// A receipt status with the time customs gave it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// The receipt code.
    pub code: ReceiptStatus,
    /// When it was given.
    #[serde(with = "rfc3339")]
    pub at: DateTime<Utc>,
    /// Free text from customs.
    #[serde(default)]
    pub note: Option<FeedText>,
}

/// An inspection a parcel was selected for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inspection {
    /// Where it stands.
    pub status: InspectionStatus,
    /// How it is done.
    pub method: InspectionMethod,
    /// When risk targeting selected the parcel.
    #[serde(with = "rfc3339")]
    pub selected_at: DateTime<Utc>,
    /// When it began.
    #[serde(default, with = "rfc3339_opt")]
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    #[serde(default, with = "rfc3339_opt")]
    pub completed_at: Option<DateTime<Utc>>,
}

/// A note an officer wrote on a hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// Who wrote it.
    pub officer_id: FeedText,
    /// When.
    #[serde(with = "rfc3339")]
    pub at: DateTime<Utc>,
    /// What.
    pub text: FeedText,
}

/// An open hold (detention) on a parcel, and the triage around it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    /// Machine-readable reason.
    pub reason_code: HoldReason,
    /// Reason for people.
    pub reason: FeedText,
    /// When the hold was placed.
    #[serde(with = "rfc3339")]
    pub placed_at: DateTime<Utc>,
    /// The officer handling it.
    #[serde(default)]
    pub claimed_by: Option<FeedText>,
    /// Since when.
    #[serde(default, with = "rfc3339_opt")]
    pub claimed_at: Option<DateTime<Utc>>,
    /// Priority inspection was asked for.
    #[serde(default)]
    pub priority_inspection: bool,
    /// Escalated to a supervisor.
    #[serde(default)]
    pub escalated: bool,
    /// Moving it to the next train was asked for.
    #[serde(default)]
    pub defer_requested: bool,
    /// Officers' notes, oldest first.
    #[serde(default)]
    pub notes: Vec<Note>,
    /// Grows with every change to the hold.
    pub version: u64,
}

/// One parcel's export declaration ("one ticket").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Declaration {
    /// Customs inventory number.
    pub declaration_no: DeclarationNo,
    /// E-Port number.
    #[serde(default)]
    pub pre_no: Option<PreNo>,
    /// Logistics waybill number of the parcel.
    pub waybill_no: FeedText,
    /// Supervision mode.
    pub procedure: Procedure,
    /// The e-commerce enterprise.
    pub ebc: Party,
    /// The logistics enterprise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logistics: Option<Party>,
    /// Province the goods come from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_region: Option<FeedText>,
    /// ISO 3166 country code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_country: Option<FeedText>,
    /// The train the parcel is manifested on.
    pub train_id: Option<FeedText>,
    /// The container it is packed in.
    pub container_no: Option<ContainerNo>,
    /// What is in it.
    pub goods: Vec<GoodsLine>,
    /// Decimal string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_value: Option<FeedText>,
    /// ISO 4217 code of `total_value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<FeedText>,
    /// Decimal string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gross_weight_kg: Option<FeedText>,
    /// When the enterprise filed it.
    #[serde(default, with = "rfc3339_opt", skip_serializing_if = "Option::is_none")]
    pub filed_at: Option<DateTime<Utc>>,
    /// Latest receipt status.
    pub status: Status,
    /// `None` while not selected for inspection.
    #[serde(default)]
    pub inspection: Option<Inspection>,
    /// `None` while not held.
    #[serde(default)]
    pub hold: Option<Hold>,
    /// Feed seq of the last change included in this object.
    pub seq: u64,
}

/// The officer behind a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Officer {
    /// E.g. `ALK-0417`.
    pub officer_id: FeedText,
    /// Name.
    pub name: FeedText,
    /// What the token may do.
    pub role: Role,
}

/// An officer's triage action, as sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldActionRequest {
    /// What to do.
    pub action: HoldActionKind,
    /// The note (required for `note`).
    #[serde(default)]
    pub note: Option<FeedText>,
    /// The hold version the officer saw.
    #[serde(default)]
    pub expected_version: Option<u64>,
}

/// A recorded triage action and the hold after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldActionResult {
    /// The server's id of the action.
    pub action_id: FeedText,
    /// The parcel.
    pub declaration_no: DeclarationNo,
    /// What was done.
    pub action: HoldActionKind,
    /// When it was recorded.
    #[serde(default, with = "rfc3339_opt", skip_serializing_if = "Option::is_none")]
    pub recorded_at: Option<DateTime<Utc>>,
    /// The hold after the action.
    pub hold: Hold,
}

/// A page of a train snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainPage {
    /// The trains on this page.
    pub trains: Vec<Train>,
    /// Token of the next page, `None` on the last.
    pub next_page_token: Option<PageToken>,
    /// Event cursor of the snapshot (first page only).
    #[serde(default)]
    pub cursor: Option<Cursor>,
    /// The server's clock.
    #[serde(with = "rfc3339")]
    pub server_time: DateTime<Utc>,
}

/// A page of declarations (snapshot or held list).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeclarationPage {
    /// The declarations on this page.
    pub declarations: Vec<Declaration>,
    /// Token of the next page, `None` on the last.
    pub next_page_token: Option<PageToken>,
    /// Event cursor of the snapshot (first page of a snapshot only).
    #[serde(default)]
    pub cursor: Option<Cursor>,
    /// The server's clock.
    #[serde(with = "rfc3339")]
    pub server_time: DateTime<Utc>,
}

/// The error body of every 4xx/5xx answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// Machine-readable code, e.g. `cursor_expired`.
    pub error: FeedText,
    /// For logs, not logic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<FeedText>,
}

/// Declares an opaque string a server hands out to be sent back as it
/// came (never shown): it can only be built with its length checked.
macro_rules! opaque {
    ($(#[$meta:meta])* $name:ident, $max:expr) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(Box<str>);

        impl $name {
            /// The most characters one may have.
            pub const MAX_CHARS: usize = $max;

            /// Takes `text` if it has 1 to [`Self::MAX_CHARS`] characters.
            pub fn new(text: &str) -> Result<Self, String> {
                let chars = text.chars().count();
                if (1..=Self::MAX_CHARS).contains(&chars) {
                    Ok($name(text.into()))
                } else {
                    Err(format!(
                        "{} of {chars} characters (1 to {} allowed)",
                        stringify!($name),
                        Self::MAX_CHARS
                    ))
                }
            }

            /// The text, to send back.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), &*self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = std::borrow::Cow::<str>::deserialize(d)?;
                $name::new(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

opaque!(
    /// An event cursor (the contract's `after` takes at most 256 characters).
    Cursor,
    256
);

opaque!(
    /// A snapshot page token.
    PageToken,
    1024
);
