//! The four stages of a parcel's path and how its state maps onto them
//! (the table in `DOMAIN.md`). One function, [`stage_path`], shared by the
//! board and the simulator.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::codes::{InspectionStatus, Lang, ReceiptStatus, TransshipmentStatus};

/// A stage of the path: declaration → inspection → transshipment → release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Filed and accepted by customs.
    Declaration,
    /// Reviewed, and inspected if selected.
    Inspection,
    /// The container lifted onto a broad-gauge wagon.
    Transshipment,
    /// Released by customs.
    Release,
}

impl Stage {
    /// The stages in path order.
    pub const ALL: [Stage; 4] = [
        Stage::Declaration,
        Stage::Inspection,
        Stage::Transshipment,
        Stage::Release,
    ];

    /// The wire / JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Declaration => "declaration",
            Stage::Inspection => "inspection",
            Stage::Transshipment => "transshipment",
            Stage::Release => "release",
        }
    }

    /// A label for people.
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Stage::Declaration, Lang::En) => "declaration",
            (Stage::Inspection, Lang::En) => "inspection",
            (Stage::Transshipment, Lang::En) => "transshipment",
            (Stage::Release, Lang::En) => "release",
            (Stage::Declaration, Lang::Zh) => "申报",
            (Stage::Inspection, Lang::Zh) => "查验",
            (Stage::Transshipment, Lang::Zh) => "换装",
            (Stage::Release, Lang::Zh) => "放行",
        }
    }

    /// A one-character name for column headers.
    pub fn short(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Stage::Declaration, Lang::En) => "D",
            (Stage::Inspection, Lang::En) => "I",
            (Stage::Transshipment, Lang::En) => "T",
            (Stage::Release, Lang::En) => "R",
            (Stage::Declaration, Lang::Zh) => "申",
            (Stage::Inspection, Lang::Zh) => "验",
            (Stage::Transshipment, Lang::Zh) => "换",
            (Stage::Release, Lang::Zh) => "放",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How far a parcel is in one stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageState {
    /// Nothing has happened in this stage yet.
    NotStarted,
    /// Under way.
    InProgress,
    /// Stopped: needs an officer or a new filing, or left the flow.
    Blocked,
    /// Finished.
    Done,
    /// An unknown code or value: the rule cannot place it.
    Unknown,
}

impl StageState {
    /// A label for people.
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (StageState::NotStarted, Lang::En) => "not started",
            (StageState::InProgress, Lang::En) => "in progress",
            (StageState::Blocked, Lang::En) => "blocked",
            (StageState::Done, Lang::En) => "done",
            (StageState::Unknown, Lang::En) => "unknown",
            (StageState::NotStarted, Lang::Zh) => "未开始",
            (StageState::InProgress, Lang::Zh) => "进行中",
            (StageState::Blocked, Lang::Zh) => "受阻",
            (StageState::Done, Lang::Zh) => "完成",
            (StageState::Unknown, Lang::Zh) => "未知",
        }
    }

    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            StageState::NotStarted => "not_started",
            StageState::InProgress => "in_progress",
            StageState::Blocked => "blocked",
            StageState::Done => "done",
            StageState::Unknown => "unknown",
        }
    }
}

/// What the stage rules read from a parcel, its hold and its container.
#[derive(Debug, Clone, Copy)]
pub struct StageInputs<'a> {
    /// The latest receipt status.
    pub status: &'a ReceiptStatus,
    /// The inspection, when the parcel was selected.
    pub inspection: Option<&'a InspectionStatus>,
    /// Whether an open hold is on the parcel.
    pub hold_open: bool,
    /// The container's shed status, when the railway knows the container.
    pub transshipment: Option<&'a TransshipmentStatus>,
}

/// The state of each of the four stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StagePath {
    states: [StageState; 4],
}

impl StagePath {
    /// Builds a path from its four states, in stage order.
    pub fn new(states: [StageState; 4]) -> Self {
        StagePath { states }
    }

    /// The state of one stage.
    pub fn state(&self, stage: Stage) -> StageState {
        self.states[stage as usize]
    }

    /// The first stage not done, in path order; `None` when ready to leave.
    pub fn current(&self) -> Option<Stage> {
        Stage::ALL
            .into_iter()
            .find(|stage| self.state(*stage) != StageState::Done)
    }

    /// All four stages done.
    pub fn is_ready(&self) -> bool {
        self.current().is_none()
    }

    /// Any stage blocked.
    pub fn is_blocked(&self) -> bool {
        self.states.contains(&StageState::Blocked)
    }

    /// The stages with their states, in path order.
    pub fn iter(&self) -> impl Iterator<Item = (Stage, StageState)> + '_ {
        Stage::ALL
            .into_iter()
            .map(|stage| (stage, self.state(stage)))
    }
}

/// Maps a parcel's state onto the four stages (the table in `DOMAIN.md`).
pub fn stage_path(inputs: StageInputs<'_>) -> StagePath {
    StagePath::new([
        declaration_state(inputs.status),
        inspection_state(&inputs),
        transshipment_state(inputs.transshipment),
        release_state(inputs.status),
    ])
}

fn declaration_state(status: &ReceiptStatus) -> StageState {
    use ReceiptStatus::*;
    match status {
        Stored | Declaring | SentToCustoms => StageState::InProgress,
        SendFailed | Rejected | Exception(_) => StageState::Blocked,
        Unknown(_) => match status.number() {
            Some(n) if n < 0 => StageState::Blocked,
            Some(n) if n >= 120 => StageState::Done,
            _ => StageState::Unknown,
        },
        _ => StageState::Done,
    }
}

fn inspection_state(inputs: &StageInputs<'_>) -> StageState {
    use ReceiptStatus::*;
    let status = inputs.status;
    if inputs.hold_open || status.is_detained() {
        return StageState::Blocked;
    }
    if status.is_released() {
        return StageState::Done;
    }
    if let Some(inspection) = inputs.inspection {
        return match inspection {
            InspectionStatus::Selected | InspectionStatus::InProgress => StageState::InProgress,
            InspectionStatus::Passed => StageState::Done,
            InspectionStatus::Failed => StageState::Blocked,
            InspectionStatus::Unknown(_) => StageState::Unknown,
        };
    }
    match status {
        ManualReview | Inspection => StageState::InProgress,
        // 399 reached and no inspection selected; a returned parcel was
        // reviewed before it was refused.
        ReviewConcluded | Returned => StageState::Done,
        Unknown(_) => StageState::Unknown,
        _ => StageState::NotStarted,
    }
}

fn transshipment_state(container: Option<&TransshipmentStatus>) -> StageState {
    match container {
        None => StageState::NotStarted,
        Some(TransshipmentStatus::Done) => StageState::Done,
        Some(TransshipmentStatus::Blocked) => StageState::Blocked,
        Some(
            TransshipmentStatus::Pending
            | TransshipmentStatus::Queued
            | TransshipmentStatus::InProgress,
        ) => StageState::InProgress,
        Some(TransshipmentStatus::Unknown(_)) => StageState::Unknown,
    }
}

fn release_state(status: &ReceiptStatus) -> StageState {
    match status {
        ReceiptStatus::Released | ReceiptStatus::Closed => StageState::Done,
        ReceiptStatus::Returned => StageState::Blocked,
        ReceiptStatus::Unknown(_) => StageState::Unknown,
        _ => StageState::NotStarted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use StageState::*;

    fn path(
        code: &str,
        inspection: Option<InspectionStatus>,
        hold_open: bool,
        shed: Option<TransshipmentStatus>,
    ) -> [StageState; 4] {
        let status = ReceiptStatus::parse(code);
        let p = stage_path(StageInputs {
            status: &status,
            inspection: inspection.as_ref(),
            hold_open,
            transshipment: shed.as_ref(),
        });
        Stage::ALL.map(|s| p.state(s))
    }

    #[test]
    fn declaration_column_of_the_table() {
        for code in ["1", "2", "3"] {
            assert_eq!(path(code, None, false, None)[0], InProgress, "{code}");
        }
        for code in ["4", "100", "-1", "-20"] {
            assert_eq!(path(code, None, false, None)[0], Blocked, "{code}");
        }
        for code in [
            "120", "300", "399", "500", "501", "599", "700", "800", "899", "450",
        ] {
            assert_eq!(path(code, None, false, None)[0], Done, "{code}");
        }
        assert_eq!(path("abc", None, false, None)[0], Unknown);
        assert_eq!(path("50", None, false, None)[0], Unknown);
    }

    #[test]
    fn inspection_column_of_the_table() {
        assert_eq!(path("120", None, false, None)[1], NotStarted);
        assert_eq!(path("300", None, false, None)[1], InProgress);
        assert_eq!(path("399", None, false, None)[1], Done);
        assert_eq!(path("500", None, false, None)[1], InProgress);
        for code in ["501", "502", "503", "599"] {
            assert_eq!(path(code, None, false, None)[1], Blocked, "{code}");
        }
        let selected = Some(InspectionStatus::Selected);
        assert_eq!(path("399", selected.clone(), false, None)[1], InProgress);
        assert_eq!(
            path("500", Some(InspectionStatus::InProgress), false, None)[1],
            InProgress
        );
        assert_eq!(
            path("500", Some(InspectionStatus::Passed), false, None)[1],
            Done
        );
        assert_eq!(
            path("500", Some(InspectionStatus::Failed), false, None)[1],
            Blocked
        );
        assert_eq!(path("399", None, true, None)[1], Blocked, "open hold");
        assert_eq!(path("800", selected, false, None)[1], Done, "released");
        assert_eq!(
            path("500", Some(InspectionStatus::parse("paused")), false, None)[1],
            Unknown
        );
        assert_eq!(path("450", None, false, None)[1], Unknown);
    }

    #[test]
    fn transshipment_column_of_the_table() {
        use TransshipmentStatus as T;
        assert_eq!(path("800", None, false, Some(T::Done))[2], Done);
        for shed in [T::Pending, T::Queued, T::InProgress] {
            assert_eq!(path("800", None, false, Some(shed.clone()))[2], InProgress);
        }
        assert_eq!(path("800", None, false, Some(T::Blocked))[2], Blocked);
        assert_eq!(
            path("800", None, false, Some(T::parse("weighing")))[2],
            Unknown
        );
        assert_eq!(
            path("800", None, false, None)[2],
            NotStarted,
            "container unknown"
        );
    }

    #[test]
    fn release_column_of_the_table() {
        assert_eq!(path("800", None, false, None)[3], Done);
        assert_eq!(path("899", None, false, None)[3], Done);
        assert_eq!(path("700", None, false, None)[3], Blocked);
        assert_eq!(path("399", None, false, None)[3], NotStarted);
        assert_eq!(path("999", None, false, None)[3], Unknown);
    }

    #[test]
    fn current_stage_is_the_first_unfinished() {
        let status = ReceiptStatus::Released;
        let queued = TransshipmentStatus::Queued;
        let p = stage_path(StageInputs {
            status: &status,
            inspection: None,
            hold_open: false,
            transshipment: Some(&queued),
        });
        assert_eq!(p.current(), Some(Stage::Transshipment));
        let done = TransshipmentStatus::Done;
        let p = stage_path(StageInputs {
            transshipment: Some(&done),
            ..StageInputs {
                status: &status,
                inspection: None,
                hold_open: false,
                transshipment: None,
            }
        });
        assert!(p.is_ready());
        assert!(!p.is_blocked());
    }
}
