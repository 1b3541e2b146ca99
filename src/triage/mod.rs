//! Officers' triage actions on held parcels: what was asked ([`Intent`]),
//! where each stands ([`Outbox`], pure), the record kept on disk
//! ([`journal`]), the one place that writes both ([`desk`]), what may be
//! asked at all ([`rules`]) and the sender that delivers them
//! ([`sender`]).
//!
//! Every intent gets an idempotency key when it is made and keeps it until
//! the server has answered, across retries and restarts: an answer lost
//! with its connection is asked again under the same key, and the action
//! is recorded once. Every intent also names the customs API and the
//! officer it was made for ([`Origin`]), and is only ever sent there.

pub mod desk;
pub mod journal;
pub mod rules;
pub mod sender;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{FeedText, Hold, HoldActionKind, HoldActionRequest};

/// Where intents are sent, and for whom: the customs API's base URL and
/// the officer its token belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Origin {
    /// The customs API's base URL, as requests use it (no trailing `/`).
    pub customs_url: String,
    /// The officer (`whoami`).
    pub officer_id: FeedText,
}

impl Origin {
    /// The origin of intents made against `customs_url` by `officer_id`.
    pub fn new(customs_url: &str, officer_id: &FeedText) -> Origin {
        Origin {
            customs_url: customs_url.trim_end_matches('/').to_owned(),
            officer_id: officer_id.clone(),
        }
    }
}

/// An action an officer asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    /// The idempotency key (a UUID), made once.
    pub key: String,
    /// Where it is to be sent and for whom (empty in a journal written
    /// before intents named it: such an intent is never sent).
    #[serde(flatten, default)]
    pub origin: Origin,
    /// The parcel.
    pub declaration_no: String,
    /// What.
    pub action: HoldActionKind,
    /// The note (for `note`, or beside another action).
    pub note: Option<FeedText>,
    /// The hold version the officer saw.
    pub expected_version: Option<u64>,
    /// When it was asked.
    pub at: DateTime<Utc>,
}

impl Intent {
    /// A new intent with a fresh key.
    pub fn new(
        origin: &Origin,
        declaration_no: &str,
        action: HoldActionKind,
        note: Option<FeedText>,
        expected_version: Option<u64>,
        at: DateTime<Utc>,
    ) -> Intent {
        Intent {
            key: uuid::Uuid::new_v4().to_string(),
            origin: origin.clone(),
            declaration_no: declaration_no.to_owned(),
            action,
            note,
            expected_version,
            at,
        }
    }

    /// The request body, expecting the hold at `expected_version`.
    pub fn request(&self, expected_version: Option<u64>) -> HoldActionRequest {
        HoldActionRequest {
            action: self.action.clone(),
            note: self.note.clone(),
            expected_version,
        }
    }
}

/// Where an intent stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Outcome {
    /// Not answered yet (being sent, or waiting to retry).
    Pending {
        /// Attempts so far.
        attempts: u32,
        /// Why the last attempt did not get an answer.
        last_error: Option<String>,
    },
    /// Not answered after the most attempts one run makes: no longer
    /// tried by itself (the officer may try again or discard it; the next
    /// start tries again).
    Stuck {
        /// Attempts made.
        attempts: u32,
        /// Why the last attempt did not get an answer.
        last_error: Option<String>,
    },
    /// Recorded by customs.
    Done {
        /// The hold after it (`None`: customs answered `2xx` with a body
        /// that could not be read; the action is recorded all the same).
        hold: Option<Box<Hold>>,
    },
    /// Refused by customs (or by this terminal): final.
    Refused {
        /// The contract's error code, e.g. `claimed_by_other`.
        code: FeedText,
        /// The server's words.
        message: FeedText,
    },
    /// Given up by the officer before customs answered: never sent again.
    Discarded,
}

impl Outcome {
    /// The first state of every intent.
    pub const NEW: Outcome = Outcome::Pending {
        attempts: 0,
        last_error: None,
    };

    /// No answer yet (pending or stuck): it may still be sent.
    pub fn is_unanswered(&self) -> bool {
        matches!(self, Outcome::Pending { .. } | Outcome::Stuck { .. })
    }

    /// Being tried.
    pub fn is_pending(&self) -> bool {
        matches!(self, Outcome::Pending { .. })
    }

    /// Attempts made so far.
    pub fn attempts(&self) -> u32 {
        match self {
            Outcome::Pending { attempts, .. } | Outcome::Stuck { attempts, .. } => *attempts,
            _ => 0,
        }
    }

    /// The state's name, as the journal writes it.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Pending { .. } => "pending",
            Outcome::Stuck { .. } => "stuck",
            Outcome::Done { .. } => "done",
            Outcome::Refused { .. } => "refused",
            Outcome::Discarded => "discarded",
        }
    }
}

/// An intent with where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// What was asked.
    pub intent: Intent,
    /// Where it stands.
    pub outcome: Outcome,
    /// The order it was made in (instants can tie).
    pub order: u64,
}

/// Intents by key, with where each stands. Pure.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outbox {
    entries: BTreeMap<String, Entry>,
    made: u64,
}

/// Answered entries kept (for display and for chaining versions) before
/// the oldest go; unanswered ones are always kept.
pub const KEEP_ANSWERED: usize = 200;

impl Outbox {
    /// Adds an intent, pending (an intent already there is left as is).
    pub fn submit(&mut self, intent: Intent) {
        if self.entries.contains_key(&intent.key) {
            return;
        }
        self.made += 1;
        self.entries.insert(
            intent.key.clone(),
            Entry {
                intent,
                outcome: Outcome::NEW,
                order: self.made,
            },
        );
    }

    /// Records where an intent stands now. An answer from customs stands:
    /// only another answer replaces it (a late answer to an intent the
    /// officer discarded is the truth and replaces the discard).
    pub fn update(&mut self, key: &str, outcome: Outcome) {
        if let Some(entry) = self.entries.get_mut(key) {
            let answered = matches!(
                entry.outcome,
                Outcome::Done { .. } | Outcome::Refused { .. }
            );
            let discarded = entry.outcome == Outcome::Discarded;
            let is_answer = matches!(outcome, Outcome::Done { .. } | Outcome::Refused { .. });
            if (!answered && !discarded) || is_answer {
                entry.outcome = outcome;
            }
        }
        self.forget_old();
    }

    fn forget_old(&mut self) {
        let answered = self
            .entries
            .values()
            .filter(|e| !e.outcome.is_unanswered())
            .count();
        if answered <= KEEP_ANSWERED {
            return;
        }
        let mut oldest: Vec<(u64, String)> = self
            .entries
            .values()
            .filter(|e| !e.outcome.is_unanswered())
            .map(|e| (e.order, e.intent.key.clone()))
            .collect();
        oldest.sort();
        for (_, key) in &oldest[..answered - KEEP_ANSWERED] {
            self.entries.remove(key);
        }
    }

    /// The entries that `keep`, in the order they were made.
    fn sorted(&self, keep: impl Fn(&Entry) -> bool) -> Vec<&Entry> {
        let mut entries: Vec<&Entry> = self.entries.values().filter(|e| keep(e)).collect();
        entries.sort_by_key(|e| e.order);
        entries
    }

    /// Every entry, oldest first.
    pub fn entries(&self) -> Vec<&Entry> {
        self.sorted(|_| true)
    }

    /// Intents still without an answer (pending or stuck), oldest first.
    pub fn unanswered(&self) -> Vec<&Entry> {
        self.sorted(|e| e.outcome.is_unanswered())
    }

    /// Intents being tried, oldest first.
    pub fn pending(&self) -> Vec<&Entry> {
        self.sorted(|e| e.outcome.is_pending())
    }

    /// The next intent to send: the oldest pending one made for `origin`.
    pub fn next_for(&self, origin: &Origin) -> Option<&Entry> {
        self.entries
            .values()
            .filter(|e| e.outcome.is_pending() && e.intent.origin == *origin)
            .min_by_key(|e| e.order)
    }

    /// The intents about one parcel, newest first.
    pub fn about(&self, declaration_no: &str) -> Vec<&Entry> {
        let mut entries = self.sorted(|e| e.intent.declaration_no == declaration_no);
        entries.reverse();
        entries
    }

    /// The latest intent about one parcel.
    pub fn latest_about(&self, declaration_no: &str) -> Option<&Entry> {
        self.entries
            .values()
            .filter(|e| e.intent.declaration_no == declaration_no)
            .max_by_key(|e| e.order)
    }

    /// Nothing asked yet (or all forgotten).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// One entry by key.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.get(key)
    }

    /// The hold version to send with an intent: the version the officer
    /// saw, moved on by the officer's own actions on the same hold that
    /// customs recorded since (made before this one, from that very
    /// version). A claim, a note and an escalation typed in one second,
    /// all seeing version 3, go as 3, 4 and 5; a colleague's change in
    /// between still gets `version_conflict`.
    pub fn expected_version(&self, key: &str) -> Option<u64> {
        let target = self.entries.get(key)?;
        let mut moves: Vec<(u64, u64)> = Vec::new();
        for entry in self.sorted(|e| {
            e.intent.declaration_no == target.intent.declaration_no
                && e.intent.origin == target.intent.origin
                && e.order <= target.order
        }) {
            let mut version = entry.intent.expected_version;
            if let Some(v) = version.as_mut() {
                while let Some((_, to)) = moves.iter().find(|(from, _)| from == v) {
                    *v = *to;
                }
            }
            if entry.order == target.order {
                return version;
            }
            if let (Some(from), Outcome::Done { hold: Some(hold) }) = (version, &entry.outcome)
                && hold.version > from
            {
                moves.push((from, hold.version));
            }
        }
        target.intent.expected_version
    }
}

/// What the sender tells the board program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The intent's key.
    pub key: String,
    /// The parcel.
    pub declaration_no: String,
    /// Where it stands now.
    pub outcome: Outcome,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        "2026-11-26T03:30:00Z".parse::<DateTime<Utc>>().unwrap() + chrono::Duration::minutes(minute)
    }

    fn origin() -> Origin {
        Origin::new("http://customs.example/api/", &"ALK-0417".into())
    }

    fn intent(action: HoldActionKind, version: Option<u64>) -> Intent {
        Intent::new(
            &origin(),
            "94022026E000012345",
            action,
            None,
            version,
            at(0),
        )
    }

    fn hold_at(version: u64) -> Box<Hold> {
        Box::new(Hold {
            reason_code: crate::domain::HoldReason::Undervalued,
            reason: "undervalued".into(),
            placed_at: at(0),
            claimed_by: None,
            claimed_at: None,
            priority_inspection: false,
            escalated: false,
            defer_requested: false,
            notes: Vec::new(),
            version,
        })
    }

    #[test]
    fn intents_keep_their_key_until_answered() {
        let mut outbox = Outbox::default();
        let claim = intent(HoldActionKind::Claim, Some(3));
        let key = claim.key.clone();
        assert!(uuid::Uuid::parse_str(&key).is_ok());
        assert_eq!(claim.origin.customs_url, "http://customs.example/api");
        outbox.submit(claim);
        assert_eq!(outbox.pending().len(), 1);
        outbox.update(
            &key,
            Outcome::Pending {
                attempts: 1,
                last_error: Some("no answer".into()),
            },
        );
        assert_eq!(outbox.pending()[0].outcome.attempts(), 1);
        assert_eq!(outbox.pending()[0].intent.key, key, "a retry keeps the key");
        outbox.update(
            &key,
            Outcome::Refused {
                code: "claimed_by_other".into(),
                message: "claimed by ALK-0233".into(),
            },
        );
        assert!(outbox.unanswered().is_empty());
        assert_eq!(outbox.about("94022026E000012345").len(), 1);
        assert_eq!(outbox.about("94022026E000099999").len(), 0);
    }

    #[test]
    fn answered_entries_do_not_grow_without_bound() {
        let mut outbox = Outbox::default();
        for _ in 0..(KEEP_ANSWERED + 50) {
            let note = intent(HoldActionKind::Note, None);
            let key = note.key.clone();
            outbox.submit(note);
            outbox.update(
                &key,
                Outcome::Refused {
                    code: "not_held".into(),
                    message: FeedText::default(),
                },
            );
        }
        let stuck = intent(HoldActionKind::Claim, None);
        let key = stuck.key.clone();
        outbox.submit(stuck);
        outbox.update(
            &key,
            Outcome::Stuck {
                attempts: 10,
                last_error: None,
            },
        );
        assert_eq!(outbox.entries.len(), KEEP_ANSWERED + 1);
        assert_eq!(outbox.unanswered().len(), 1, "the unanswered one stays");
    }

    #[test]
    fn intents_made_at_the_same_instant_keep_their_order() {
        // A paused or coarse clock gives many intents one instant; the
        // claim must still go before the note, and the note show as the
        // latest.
        let mut outbox = Outbox::default();
        let made: Vec<Intent> = (0..20)
            .map(|i| {
                let action = if i == 0 {
                    HoldActionKind::Claim
                } else {
                    HoldActionKind::Note
                };
                intent(action, None)
            })
            .collect();
        for intent in &made {
            outbox.submit(intent.clone());
        }
        let pending: Vec<&Intent> = outbox.pending().into_iter().map(|e| &e.intent).collect();
        assert_eq!(pending, made.iter().collect::<Vec<_>>());
        assert_eq!(outbox.next_for(&origin()).unwrap().intent, made[0]);
        assert_eq!(outbox.about("94022026E000012345")[0].intent, made[19]);
    }

    #[test]
    fn only_intents_made_here_are_sent_here() {
        let mut outbox = Outbox::default();
        let elsewhere = Origin::new("https://customs.prod/api", &"ALK-0417".into());
        let mut foreign = intent(HoldActionKind::Claim, None);
        foreign.origin = elsewhere.clone();
        outbox.submit(foreign.clone());
        assert_eq!(outbox.next_for(&origin()), None);
        assert_eq!(outbox.next_for(&elsewhere).unwrap().intent, foreign);
        let someone_else = Origin::new("http://customs.example/api", &"ALK-0233".into());
        assert_eq!(outbox.next_for(&someone_else), None);
    }

    #[test]
    fn own_recorded_actions_move_the_expected_version_on() {
        let mut outbox = Outbox::default();
        let claim = intent(HoldActionKind::Claim, Some(3));
        let note = intent(HoldActionKind::Note, Some(3));
        let escalate = intent(HoldActionKind::Escalate, Some(3));
        for i in [&claim, &note, &escalate] {
            outbox.submit(i.clone());
        }
        assert_eq!(outbox.expected_version(&claim.key), Some(3));
        outbox.update(
            &claim.key,
            Outcome::Done {
                hold: Some(hold_at(4)),
            },
        );
        assert_eq!(outbox.expected_version(&note.key), Some(4));
        outbox.update(
            &note.key,
            Outcome::Done {
                hold: Some(hold_at(5)),
            },
        );
        assert_eq!(outbox.expected_version(&escalate.key), Some(5));
        // An intent made after the board showed version 5 stays at 5.
        let later = intent(HoldActionKind::DeferToNextTrain, Some(5));
        outbox.submit(later.clone());
        assert_eq!(outbox.expected_version(&later.key), Some(5));
        // A refused action moves nothing; no version sends none.
        let stale = intent(HoldActionKind::Claim, Some(1));
        outbox.submit(stale.clone());
        assert_eq!(outbox.expected_version(&stale.key), Some(1));
        let blind = intent(HoldActionKind::Note, None);
        outbox.submit(blind.clone());
        assert_eq!(outbox.expected_version(&blind.key), None);
    }

    #[test]
    fn an_answer_outranks_a_discard_and_nothing_else_does() {
        let mut outbox = Outbox::default();
        let claim = intent(HoldActionKind::Claim, None);
        outbox.submit(claim.clone());
        outbox.update(&claim.key, Outcome::Discarded);
        outbox.update(&claim.key, Outcome::NEW);
        assert_eq!(outbox.get(&claim.key).unwrap().outcome, Outcome::Discarded);
        outbox.update(&claim.key, Outcome::Done { hold: None });
        assert_eq!(
            outbox.get(&claim.key).unwrap().outcome,
            Outcome::Done { hold: None },
            "customs recorded it after all"
        );
        outbox.update(&claim.key, Outcome::Discarded);
        assert!(matches!(
            outbox.get(&claim.key).unwrap().outcome,
            Outcome::Done { .. }
        ));
    }

    #[test]
    fn requests_carry_the_expected_version_given() {
        let intent = intent(HoldActionKind::Escalate, Some(7));
        assert_eq!(intent.request(Some(9)).expected_version, Some(9));
        assert_eq!(intent.request(None).action, HoldActionKind::Escalate);
    }
}
