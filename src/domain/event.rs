//! Events of the two feeds: the contract's envelope (`event_id`, `seq`,
//! `type`, `at`, `data`) around a typed change.
//!
//! An event type this version does not know is kept as
//! [`RailwayChange::Unknown`] / [`CustomsChange::Unknown`] so that clients
//! can skip and count it; data that does not fit the schema of a known type is
//! an error of that one event, never of its batch.

use chrono::{DateTime, Utc};
use serde::de::Error as _;
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

use super::codes::{HoldOutcome, TrainStatus};
use super::ids::{ContainerNo, DeclarationNo};
use super::model::{
    Container, Cutoffs, Declaration, Hold, Inspection, Status, Train, Transshipment,
};
use super::text::FeedText;
use super::time::{rfc3339, rfc3339_patch};

/// What a feed delivers to the board: a whole snapshot, events after it,
/// or word that it has told everything up to an instant (a quiet feed
/// still moves the board's horizon).
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// Every train (with its containers) the railway lists now.
    RailwaySnapshot(Vec<Train>),
    /// Every declaration customs lists now.
    CustomsSnapshot(Vec<Declaration>),
    /// Railway events, oldest first.
    RailwayEvents(Vec<Event<RailwayChange>>),
    /// Customs events, oldest first.
    CustomsEvents(Vec<Event<CustomsChange>>),
    /// The railway had nothing more to tell as of its clock's instant.
    RailwayCaughtUp(DateTime<Utc>),
    /// Customs had nothing more to tell as of its clock's instant.
    CustomsCaughtUp(DateTime<Utc>),
}

impl From<Vec<Event<RailwayChange>>> for Delivery {
    fn from(events: Vec<Event<RailwayChange>>) -> Self {
        Delivery::RailwayEvents(events)
    }
}

impl From<Vec<Event<CustomsChange>>> for Delivery {
    fn from(events: Vec<Event<CustomsChange>>) -> Self {
        Delivery::CustomsEvents(events)
    }
}

/// The typed `data` of one feed's events.
pub trait Change: Sized {
    /// The event `type` string.
    fn event_type(&self) -> &str;
    /// Whether this version knows the type.
    fn is_known(&self) -> bool;
    /// Reads `data` for an event of `event_type`.
    fn from_data(event_type: &str, data: &RawValue) -> Result<Self, serde_json::Error>;
    /// Writes `data`.
    fn write_data<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error>;
}

/// One event: envelope and change.
#[derive(Debug, Clone, PartialEq)]
pub struct Event<C> {
    /// Unique; a redelivered event keeps its id.
    pub event_id: FeedText,
    /// Grows within the feed.
    pub seq: u64,
    /// When the change happened.
    pub at: DateTime<Utc>,
    /// Station code where it happened (railway).
    pub station: Option<FeedText>,
    /// What changed.
    pub change: C,
}

struct Data<'a, C>(&'a C);

impl<C: Change> Serialize for Data<'_, C> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.write_data(s)
    }
}

struct At<'a>(&'a DateTime<Utc>);

impl Serialize for At<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        rfc3339::serialize(self.0, s)
    }
}

impl<C: Change> Serialize for Event<C> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let fields = if self.station.is_some() { 6 } else { 5 };
        let mut out = s.serialize_struct("Event", fields)?;
        out.serialize_field("event_id", &self.event_id)?;
        out.serialize_field("seq", &self.seq)?;
        out.serialize_field("type", self.change.event_type())?;
        out.serialize_field("at", &At(&self.at))?;
        if let Some(station) = &self.station {
            out.serialize_field("station", station)?;
        }
        out.serialize_field("data", &Data(&self.change))?;
        out.end()
    }
}

#[derive(Deserialize)]
struct Envelope {
    event_id: FeedText,
    seq: u64,
    #[serde(rename = "type")]
    event_type: FeedText,
    #[serde(with = "rfc3339")]
    at: DateTime<Utc>,
    #[serde(default)]
    station: Option<FeedText>,
    data: Box<RawValue>,
}

impl<'de, C: Change> Deserialize<'de> for Event<C> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let envelope = Envelope::deserialize(d)?;
        let change = C::from_data(&envelope.event_type, &envelope.data).map_err(|e| {
            D::Error::custom(format_args!(
                "event {} ({}): {e}",
                envelope.event_id, envelope.event_type
            ))
        })?;
        Ok(Event {
            event_id: envelope.event_id,
            seq: envelope.seq,
            at: envelope.at,
            station: envelope.station,
            change,
        })
    }
}

/// `value` with every string and key made [`FeedText`]: the `data` of an
/// event type this version does not know is kept, and must be as safe to
/// print as the rest of what the feeds decode.
fn safe_json(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(text) => Value::String(FeedText::new(&text).as_str().to_owned()),
        Value::Array(items) => Value::Array(items.into_iter().map(safe_json).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(key, field)| (FeedText::new(&key).as_str().to_owned(), safe_json(field)))
                .collect(),
        ),
        other => other,
    }
}

/// Declares a feed's change enum: one variant per event type, plus `Unknown`.
macro_rules! changes {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident($payload:ty) = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub enum $name {
            $( $(#[$vmeta])* $variant($payload), )+
            /// An event type this version does not know.
            Unknown {
                /// The `type` as written.
                event_type: FeedText,
                /// The `data` as written, its text made safe like all
                /// feed text (keys included).
                data: serde_json::Value,
            },
        }

        impl $name {
            /// Every event type this version knows.
            pub const KNOWN_TYPES: &'static [&'static str] = &[$($text),+];
        }

        impl Change for $name {
            fn event_type(&self) -> &str {
                match self {
                    $( $name::$variant(_) => $text, )+
                    $name::Unknown { event_type, .. } => event_type,
                }
            }

            fn is_known(&self) -> bool {
                !matches!(self, $name::Unknown { .. })
            }

            fn from_data(event_type: &str, data: &RawValue) -> Result<Self, serde_json::Error> {
                Ok(match event_type {
                    $( $text => $name::$variant(serde_json::from_str(data.get())?), )+
                    other => $name::Unknown {
                        event_type: FeedText::new(other),
                        data: safe_json(serde_json::from_str(data.get())?),
                    },
                })
            }

            fn write_data<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self {
                    $( $name::$variant(data) => data.serialize(s), )+
                    $name::Unknown { data, .. } => data.serialize(s),
                }
            }
        }
    };
}

changes!(
    /// A change in the railway feed.
    RailwayChange {
        /// A new train on the board.
        TrainScheduled(TrainScheduled) = "train.scheduled",
        /// Estimated departure, status or cut-offs changed.
        TrainUpdated(TrainUpdated) = "train.updated",
        /// The train left.
        TrainDeparted(TrainDeparted) = "train.departed",
        /// The train will not run.
        TrainCancelled(TrainCancelled) = "train.cancelled",
        /// A container is booked on a train.
        ContainerBooked(ContainerBooked) = "container.booked",
        /// A container reached the border station's yard.
        ContainerArrived(ContainerArrived) = "container.arrived",
        /// A container moved to another train.
        ContainerRebooked(ContainerRebooked) = "container.rebooked",
        /// A container entered the shed queue.
        TransshipmentQueued(TransshipmentChanged) = "transshipment.queued",
        /// Lifting started.
        TransshipmentStarted(TransshipmentChanged) = "transshipment.started",
        /// The container is on its broad-gauge wagon.
        TransshipmentCompleted(TransshipmentChanged) = "transshipment.completed",
        /// The shed will not move the container.
        TransshipmentBlocked(TransshipmentChanged) = "transshipment.blocked",
        /// The block is gone.
        TransshipmentUnblocked(TransshipmentChanged) = "transshipment.unblocked",
    }
);

changes!(
    /// A change in the customs feed.
    CustomsChange {
        /// A new parcel, whole.
        DeclarationFiled(DeclarationFiled) = "declaration.filed",
        /// A new receipt status.
        StatusChanged(StatusChanged) = "declaration.status",
        /// Moved to another train or container.
        DeclarationRebooked(DeclarationRebooked) = "declaration.rebooked",
        /// Selected for inspection.
        InspectionSelected(InspectionChanged) = "inspection.selected",
        /// Inspection started.
        InspectionStarted(InspectionChanged) = "inspection.started",
        /// Inspection ended.
        InspectionCompleted(InspectionChanged) = "inspection.completed",
        /// A hold was placed.
        HoldPlaced(HoldChanged) = "hold.placed",
        /// A hold changed (often an officer's triage action).
        HoldUpdated(HoldChanged) = "hold.updated",
        /// A hold ended.
        HoldLifted(HoldLifted) = "hold.lifted",
    }
);

impl CustomsChange {
    /// The parcel it is about (none for a type this build does not know).
    pub fn declaration_no(&self) -> Option<&DeclarationNo> {
        match self {
            CustomsChange::DeclarationFiled(f) => Some(&f.declaration.declaration_no),
            CustomsChange::StatusChanged(StatusChanged { declaration_no, .. })
            | CustomsChange::InspectionSelected(InspectionChanged { declaration_no, .. })
            | CustomsChange::InspectionStarted(InspectionChanged { declaration_no, .. })
            | CustomsChange::InspectionCompleted(InspectionChanged { declaration_no, .. })
            | CustomsChange::HoldPlaced(HoldChanged { declaration_no, .. })
            | CustomsChange::HoldUpdated(HoldChanged { declaration_no, .. }) => {
                Some(declaration_no)
            }
            CustomsChange::DeclarationRebooked(r) => Some(&r.declaration_no),
            CustomsChange::HoldLifted(l) => Some(&l.declaration_no),
            CustomsChange::Unknown { .. } => None,
        }
    }
}

/// `train.scheduled`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainScheduled {
    /// The new train.
    pub train: Box<Train>,
}

/// `train.updated`: only the fields present changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainUpdated {
    /// The train.
    pub train_id: FeedText,
    /// New status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<TrainStatus>,
    /// `Some(None)`: the estimate was withdrawn.
    #[serde(
        default,
        with = "rfc3339_patch",
        skip_serializing_if = "Option::is_none"
    )]
    pub estimated_departure: Option<Option<DateTime<Utc>>>,
    /// New cut-offs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cutoffs: Option<Cutoffs>,
}

/// `train.departed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainDeparted {
    /// The train.
    pub train_id: FeedText,
    /// When it left.
    #[serde(with = "rfc3339")]
    pub actual_departure: DateTime<Utc>,
}

/// `train.cancelled`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainCancelled {
    /// The train.
    pub train_id: FeedText,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<FeedText>,
}

/// `container.booked`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerBooked {
    /// The container, whole.
    pub container: Box<Container>,
}

/// `container.arrived`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerArrived {
    /// The container.
    pub container_no: ContainerNo,
    /// The train it is booked on.
    #[serde(default)]
    pub train_id: Option<FeedText>,
    /// Arrival in the yard.
    #[serde(with = "rfc3339")]
    pub arrived_at: DateTime<Utc>,
}

/// `container.rebooked`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerRebooked {
    /// The container.
    pub container_no: ContainerNo,
    /// The train it was booked on.
    #[serde(default)]
    pub from_train_id: Option<FeedText>,
    /// The train it is booked on now.
    pub to_train_id: FeedText,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<FeedText>,
}

/// `transshipment.*`: the container's shed record after the change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransshipmentChanged {
    /// The container.
    pub container_no: ContainerNo,
    /// The whole record after the change.
    pub transshipment: Transshipment,
}

/// `declaration.filed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeclarationFiled {
    /// The new declaration, whole.
    pub declaration: Box<Declaration>,
}

/// `declaration.status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusChanged {
    /// The parcel.
    pub declaration_no: DeclarationNo,
    /// Its new status.
    pub status: Status,
}

/// `declaration.rebooked`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeclarationRebooked {
    /// The parcel.
    pub declaration_no: DeclarationNo,
    /// Its new train.
    pub train_id: FeedText,
    /// Its new container.
    #[serde(default)]
    pub container_no: Option<ContainerNo>,
}

/// `inspection.*`: the inspection after the change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InspectionChanged {
    /// The parcel.
    pub declaration_no: DeclarationNo,
    /// The whole inspection after the change.
    pub inspection: Inspection,
}

/// `hold.placed` / `hold.updated`: the whole hold after the change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HoldChanged {
    /// The parcel.
    pub declaration_no: DeclarationNo,
    /// The whole hold after the change.
    pub hold: Hold,
    /// The officer whose action caused it, if any.
    #[serde(default)]
    pub by: Option<FeedText>,
}

/// `hold.lifted`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HoldLifted {
    /// The parcel.
    pub declaration_no: DeclarationNo,
    /// How the hold ended.
    pub outcome: HoldOutcome,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::codes::TransshipmentStatus;

    const ARRIVED: &str = r#"{"event_id":"r-1","seq":7,"type":"container.arrived","at":"2026-11-26T10:00:00+08:00","station":"AKR","data":{"container_no":"CSQU3054383","train_id":"X8017-20261126","arrived_at":"2026-11-26T10:00:00+08:00","extra":1}}"#;

    #[test]
    fn reads_a_known_event_and_ignores_unknown_fields() {
        let event: Event<RailwayChange> = serde_json::from_str(ARRIVED).unwrap();
        assert_eq!(event.seq, 7);
        assert_eq!(event.at.to_rfc3339(), "2026-11-26T02:00:00+00:00");
        match &event.change {
            RailwayChange::ContainerArrived(arrived) => {
                assert_eq!(arrived.container_no.as_str(), "CSQU3054383");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn keeps_unknown_event_types_with_their_data() {
        let json = r#"{"event_id":"c-9","seq":9,"type":"declaration.audited","at":"2026-11-26T10:00:00+08:00","data":{"x":[1,2]}}"#;
        let event: Event<CustomsChange> = serde_json::from_str(json).unwrap();
        assert_eq!(event.change.event_type(), "declaration.audited");
        let back = serde_json::to_value(&event).unwrap();
        assert_eq!(back["data"], serde_json::json!({"x": [1, 2]}));
        assert_eq!(back["type"], "declaration.audited");
    }

    #[test]
    fn unknown_data_is_made_safe_as_it_is_read() {
        let json = r#"{"event_id":"c-11","seq":11,"type":"declaration.audited","at":"2026-11-26T10:00:00+08:00","data":{"note\u202e":["\u001b]0;PWNED\u0007ok",{"x":"\u009b2J"}]}}"#;
        let event: Event<CustomsChange> = serde_json::from_str(json).unwrap();
        let CustomsChange::Unknown { data, .. } = &event.change else {
            panic!("unexpected {:?}", event.change);
        };
        assert_eq!(
            data,
            &serde_json::json!({"note": ["]0;PWNEDok", {"x": "2J"}]})
        );
    }

    #[test]
    fn malformed_data_of_a_known_type_is_an_error_naming_the_event() {
        let json = r#"{"event_id":"c-10","seq":10,"type":"declaration.status","at":"2026-11-26T10:00:00+08:00","data":{"declaration_no":"94022026E000012345"}}"#;
        let err = serde_json::from_str::<Event<CustomsChange>>(json).unwrap_err();
        assert!(err.to_string().contains("c-10"), "{err}");
        assert!(err.to_string().contains("declaration.status"), "{err}");
    }

    #[test]
    fn train_update_distinguishes_absent_from_null() {
        let absent: TrainUpdated =
            serde_json::from_str(r#"{"train_id":"X8017-20261126","status":"loading"}"#).unwrap();
        assert_eq!(absent.estimated_departure, None);
        assert_eq!(absent.status, Some(TrainStatus::Loading));
        let cleared: TrainUpdated =
            serde_json::from_str(r#"{"train_id":"X8017-20261126","estimated_departure":null}"#)
                .unwrap();
        assert_eq!(cleared.estimated_departure, Some(None));
        let set: TrainUpdated = serde_json::from_str(
            r#"{"train_id":"X8017-20261126","estimated_departure":"2026-11-26T13:00:00+08:00"}"#,
        )
        .unwrap();
        assert!(matches!(set.estimated_departure, Some(Some(_))));
        let written = serde_json::to_value(&absent).unwrap();
        assert!(written.get("estimated_departure").is_none());
        let written = serde_json::to_value(&cleared).unwrap();
        assert_eq!(written["estimated_departure"], serde_json::Value::Null);
    }

    #[test]
    fn events_round_trip() {
        let event: Event<RailwayChange> = Event {
            event_id: "r-2".into(),
            seq: 2,
            at: "2026-11-26T02:00:00Z".parse().unwrap(),
            station: Some("AKR".into()),
            change: RailwayChange::TransshipmentBlocked(TransshipmentChanged {
                container_no: "CSQU3054383".into(),
                transshipment: Transshipment {
                    status: TransshipmentStatus::Blocked,
                    queued_at: None,
                    started_at: None,
                    completed_at: None,
                    from_wagon: None,
                    to_wagon: None,
                    track: None,
                    blocked_reason: Some("customs hold".into()),
                },
            }),
        };
        let json = serde_json::to_string(&event).unwrap();
        assert!(json.contains(r#""type":"transshipment.blocked""#));
        let back: Event<RailwayChange> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, event);
    }
}
