//! The domain: trains, containers, parcels and their path to departure.
//!
//! Pure types and rules, no I/O. Everything else depends on this module and
//! it depends on nothing of ours.

pub mod codes;
pub mod event;
pub mod ids;
pub mod model;
pub mod risk;
pub mod stage;
pub mod text;
pub mod time;

pub use codes::{
    HoldActionKind, HoldOutcome, HoldReason, InspectionMethod, InspectionStatus, Lang, Procedure,
    ReceiptStatus, Role, TrainStatus, TransshipmentStatus,
};
pub use event::{Change, CustomsChange, Delivery, Event, RailwayChange};
pub use ids::{ContainerNo, DeclarationNo, IdError, PreNo, StandardWagonNo, StationCode, WagonNo};
pub use model::{
    ApiError, Container, Cursor, Cutoffs, Declaration, DeclarationPage, GoodsLine, Hold,
    HoldActionRequest, HoldActionResult, Inspection, Note, Officer, PageToken, Party, Station,
    Status, Train, TrainPage, Transshipment,
};
pub use risk::{Assessment, Estimates, Risk, RiskPolicy};
pub use stage::{Stage, StageInputs, StagePath, StageState, stage_path};
pub use text::FeedText;
