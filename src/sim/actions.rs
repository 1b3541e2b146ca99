//! Officers' triage actions on held parcels, with the rules of the
//! contract: idempotency keys, expected versions, claims, roles, and the
//! `hold.updated` event every action causes.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Duration, Utc};

use super::world::World;
use crate::domain::event::HoldChanged;
use crate::domain::{
    CustomsChange, DeclarationNo, FeedText, Hold, HoldActionKind, HoldActionRequest,
    HoldActionResult, Note, Officer, Role,
};

/// How long an idempotency key is remembered (wall clock).
const KEY_RETENTION: Duration = Duration::hours(24);

/// A refused action: status, error code and message for the error body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionError {
    /// HTTP status.
    pub status: u16,
    /// Machine-readable code.
    pub error: &'static str,
    /// For logs.
    pub message: String,
}

fn refuse(status: u16, error: &'static str, message: impl Into<String>) -> ActionError {
    ActionError {
        status,
        error,
        message: message.into(),
    }
}

/// What an accepted action answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionOutcome {
    /// Recorded now (`201`).
    Recorded(HoldActionResult),
    /// Recorded before under the same key (`200`).
    Replayed(HoldActionResult),
}

#[derive(Debug)]
struct Remembered {
    declaration_no: String,
    officer_id: String,
    request: HoldActionRequest,
    result: HoldActionResult,
}

/// The answers given per idempotency key.
#[derive(Debug, Default)]
pub struct IdempotencyStore {
    answers: HashMap<String, Remembered>,
    order: VecDeque<(DateTime<Utc>, String)>,
    recorded: u64,
}

impl IdempotencyStore {
    /// Forgets keys older than a day.
    pub fn trim(&mut self, now: DateTime<Utc>) {
        while let Some((at, key)) = self.order.front() {
            if now - *at <= KEY_RETENTION {
                break;
            }
            self.answers.remove(key);
            self.order.pop_front();
        }
    }
}

impl World {
    /// Records an officer's action on a held parcel, or says why not.
    pub fn hold_action(
        &mut self,
        officer: &Officer,
        declaration_no: &str,
        key: &str,
        request: HoldActionRequest,
    ) -> Result<ActionOutcome, ActionError> {
        if !officer.role.may_act() {
            return Err(refuse(403, "forbidden", "this token may only read"));
        }
        if let Some(seen) = self.idempotency.answers.get(key) {
            let same = seen.declaration_no == declaration_no
                && seen.officer_id == *officer.officer_id
                && seen.request == request;
            return if same {
                Ok(ActionOutcome::Replayed(seen.result.clone()))
            } else {
                Err(refuse(
                    400,
                    "idempotency_key_reused",
                    "this Idempotency-Key was used for another action",
                ))
            };
        }
        let serial = self
            .filed_serial(declaration_no)
            .ok_or_else(|| refuse(404, "not_found", format!("no declaration {declaration_no}")))?;
        let hold = self.parcels[&serial].hold.as_deref().ok_or_else(|| {
            refuse(
                422,
                "not_held",
                format!("{declaration_no} has no open hold"),
            )
        })?;
        if let Some(expected) = request.expected_version
            && expected != hold.version
        {
            return Err(refuse(
                409,
                "version_conflict",
                format!("hold is at version {}, not {expected}", hold.version),
            ));
        }
        let claimant = hold.claimed_by.as_deref();
        let by_other = claimant.is_some_and(|c| c != officer.officer_id.as_str());
        match &request.action {
            HoldActionKind::Claim
            | HoldActionKind::RequestPriorityInspection
            | HoldActionKind::Escalate
            | HoldActionKind::DeferToNextTrain
                if by_other =>
            {
                return Err(refuse(
                    409,
                    "claimed_by_other",
                    format!("claimed by {}", claimant.unwrap_or_default()),
                ));
            }
            HoldActionKind::Unclaim if claimant.is_none() => {
                return Err(refuse(422, "invalid_action", "the hold is not claimed"));
            }
            HoldActionKind::Unclaim if by_other && officer.role != Role::Supervisor => {
                return Err(refuse(
                    403,
                    "forbidden",
                    "only a supervisor may release another officer's claim",
                ));
            }
            HoldActionKind::Note if request.note.as_deref().is_none_or(|n| n.trim().is_empty()) => {
                return Err(refuse(422, "invalid_action", "a note needs text"));
            }
            HoldActionKind::Unknown(action) => {
                return Err(refuse(
                    400,
                    "bad_request",
                    format!("unknown action {action:?}"),
                ));
            }
            _ => {}
        }
        let hold = self.apply_hold_action(
            serial,
            &officer.officer_id,
            &request.action,
            request.note.clone(),
        );
        self.idempotency.recorded += 1;
        let result = HoldActionResult {
            action_id: format!(
                "A{:06}-{}",
                self.idempotency.recorded,
                &key[..key.len().min(8)]
            )
            .into(),
            declaration_no: DeclarationNo::new(declaration_no),
            action: request.action.clone(),
            recorded_at: Some(self.now),
            hold,
        };
        self.idempotency.answers.insert(
            key.to_owned(),
            Remembered {
                declaration_no: declaration_no.to_owned(),
                officer_id: officer.officer_id.to_string(),
                request,
                result: result.clone(),
            },
        );
        self.idempotency.order.push_back((self.now, key.to_owned()));
        Ok(ActionOutcome::Recorded(result))
    }

    /// Applies an action that passed the rules: changes the hold, bumps its
    /// version and writes `hold.updated`. Also used by simulated colleagues.
    pub(super) fn apply_hold_action(
        &mut self,
        serial: u64,
        officer_id: &str,
        action: &HoldActionKind,
        note: Option<FeedText>,
    ) -> Hold {
        let now = self.now;
        let seq = self.customs.next_seq();
        let p = self
            .parcels
            .get_mut(&serial)
            .expect("acting on a known parcel");
        let hold = p.hold.as_mut().expect("acting on an open hold");
        match action {
            HoldActionKind::Claim => {
                hold.claimed_by = Some(officer_id.into());
                hold.claimed_at = Some(now);
            }
            HoldActionKind::Unclaim => {
                hold.claimed_by = None;
                hold.claimed_at = None;
            }
            HoldActionKind::RequestPriorityInspection => hold.priority_inspection = true,
            HoldActionKind::Escalate => hold.escalated = true,
            HoldActionKind::DeferToNextTrain => hold.defer_requested = true,
            HoldActionKind::Note | HoldActionKind::Unknown(_) => {}
        }
        if let Some(text) = note.filter(|n| !n.trim().is_empty()) {
            hold.notes.push(Note {
                officer_id: officer_id.into(),
                at: now,
                text,
            });
        }
        hold.version += 1;
        let hold = (**hold).clone();
        p.seq = seq;
        let number = DeclarationNo::new(super::parcels::declaration_no(p.year(), serial));
        let defer = *action == HoldActionKind::DeferToNextTrain;
        if defer {
            p.defer = true;
        }
        let updated = CustomsChange::HoldUpdated(HoldChanged {
            declaration_no: number,
            hold: hold.clone(),
            by: Some(officer_id.into()),
        });
        self.log_customs(seq, |_| updated);
        match action {
            HoldActionKind::DeferToNextTrain => self.hasten_hold(serial, self.cfg.minutes(5.0)),
            HoldActionKind::RequestPriorityInspection => {
                let soon = self.cfg.minutes(30.0);
                self.hasten_hold(serial, soon);
            }
            _ => {}
        }
        hold
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::config::SimConfig;

    fn officer(id: &str, role: Role) -> Officer {
        Officer {
            officer_id: id.into(),
            name: id.into(),
            role,
        }
    }

    fn request(action: HoldActionKind) -> HoldActionRequest {
        HoldActionRequest {
            action,
            note: None,
            expected_version: None,
        }
    }

    fn world_with_unclaimed_hold() -> (World, String) {
        let world = World::new(
            &SimConfig::triage(),
            "2026-11-26T03:30:00Z".parse().unwrap(),
        );
        let (held, _) = world.holds_page(None, 1);
        let number = held[0].declaration_no.to_string();
        (world, number)
    }

    #[test]
    fn same_key_twice_records_once() {
        let (mut world, number) = world_with_unclaimed_hold();
        let wang = officer("ALK-0417", Role::Officer);
        let head = world.customs.head();
        let first = world
            .hold_action(&wang, &number, "k1", request(HoldActionKind::Claim))
            .unwrap();
        let again = world
            .hold_action(&wang, &number, "k1", request(HoldActionKind::Claim))
            .unwrap();
        let (ActionOutcome::Recorded(a), ActionOutcome::Replayed(b)) = (first, again) else {
            panic!("expected recorded then replayed");
        };
        assert_eq!(a, b);
        assert_eq!(world.customs.head(), head + 1, "one hold.updated");
        assert_eq!(a.hold.claimed_by.as_deref(), Some("ALK-0417"));
    }

    #[test]
    fn the_rules_of_the_contract() {
        let (mut world, number) = world_with_unclaimed_hold();
        let wang = officer("ALK-0417", Role::Officer);
        let li = officer("ALK-0233", Role::Officer);
        let zhang = officer("ALK-0001", Role::Supervisor);
        let wall = officer("ALK-WALL1", Role::Viewer);
        let status = |r: Result<ActionOutcome, ActionError>| match r {
            Ok(ActionOutcome::Recorded(_)) => (201, ""),
            Ok(ActionOutcome::Replayed(_)) => (200, ""),
            Err(e) => (e.status, e.error),
        };
        let claim = || request(HoldActionKind::Claim);
        assert_eq!(
            status(world.hold_action(&wall, &number, "a", claim())),
            (403, "forbidden")
        );
        assert_eq!(
            status(world.hold_action(&wang, &number, "b", claim())),
            (201, "")
        );
        assert_eq!(
            status(world.hold_action(&li, &number, "c", claim())),
            (409, "claimed_by_other")
        );
        let mut note = request(HoldActionKind::Note);
        note.note = Some("来自李建国的备注".into());
        assert_eq!(
            status(world.hold_action(&li, &number, "d", note)),
            (201, "")
        );
        assert_eq!(
            status(world.hold_action(&li, &number, "e", request(HoldActionKind::Note))),
            (422, "invalid_action")
        );
        assert_eq!(
            status(world.hold_action(&li, &number, "f", request(HoldActionKind::Unclaim))),
            (403, "forbidden")
        );
        let mut stale = claim();
        stale.expected_version = Some(1);
        assert_eq!(
            status(world.hold_action(&wang, &number, "g", stale)),
            (409, "version_conflict")
        );
        assert_eq!(
            status(world.hold_action(&zhang, &number, "h", request(HoldActionKind::Unclaim))),
            (201, "")
        );
        assert_eq!(
            status(world.hold_action(&wang, &number, "h", claim())),
            (400, "idempotency_key_reused")
        );
        assert_eq!(
            status(world.hold_action(&wang, "94022026E999999999", "i", claim())),
            (404, "not_found")
        );
        let (free, _) = world.declaration_page(None, None, 1000);
        let not_held = free.iter().find(|d| d.hold.is_none()).unwrap();
        assert_eq!(
            status(world.hold_action(&wang, not_held.declaration_no.as_str(), "j", claim())),
            (422, "not_held")
        );
    }

    #[test]
    fn deferral_moves_the_parcel_to_the_next_train() {
        let (mut world, number) = world_with_unclaimed_hold();
        let before = world.declaration_by_no(&number).unwrap().train_id;
        let wang = officer("ALK-0417", Role::Officer);
        world
            .hold_action(
                &wang,
                &number,
                "x",
                request(HoldActionKind::DeferToNextTrain),
            )
            .unwrap();
        let now = world.now();
        world.advance_to(now + Duration::minutes(5));
        let after = world.declaration_by_no(&number).unwrap();
        assert!(after.hold.is_none());
        assert_ne!(after.train_id, before);
    }
}
