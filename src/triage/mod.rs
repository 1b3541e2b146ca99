//! Officers' triage actions on held parcels: what was asked ([`Intent`]),
//! where each stands ([`Outbox`], pure), the record kept on disk
//! ([`journal`]) and the sender that delivers them ([`sender`]).
//!
//! Every intent gets an idempotency key when it is made and keeps it until
//! the server has answered, across retries and restarts: an answer lost
//! with its connection is asked again under the same key, and the action
//! is recorded once.

pub mod journal;
pub mod sender;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{FeedText, Hold, HoldActionKind, HoldActionRequest};

/// An action an officer asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    /// The idempotency key (a UUID), made once.
    pub key: String,
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
        declaration_no: &str,
        action: HoldActionKind,
        note: Option<FeedText>,
        expected_version: Option<u64>,
        at: DateTime<Utc>,
    ) -> Intent {
        Intent {
            key: uuid::Uuid::new_v4().to_string(),
            declaration_no: declaration_no.to_owned(),
            action,
            note,
            expected_version,
            at,
        }
    }

    /// The request body.
    pub fn request(&self) -> HoldActionRequest {
        HoldActionRequest {
            action: self.action.clone(),
            note: self.note.clone(),
            expected_version: self.expected_version,
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
}

impl Outcome {
    /// No answer yet.
    pub fn is_pending(&self) -> bool {
        matches!(self, Outcome::Pending { .. })
    }
}

/// An intent with where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// What was asked.
    pub intent: Intent,
    /// Where it stands.
    pub outcome: Outcome,
    /// The order it was made in on this terminal (instants can tie).
    pub order: u64,
}

/// Every intent of this terminal, by key. Pure.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outbox {
    entries: BTreeMap<String, Entry>,
    made: u64,
}

/// Finished entries kept for display before the oldest go.
const KEEP_FINISHED: usize = 200;

impl Outbox {
    /// Adds an intent, pending.
    pub fn submit(&mut self, intent: Intent) {
        self.made += 1;
        self.entries.insert(
            intent.key.clone(),
            Entry {
                intent,
                outcome: Outcome::Pending {
                    attempts: 0,
                    last_error: None,
                },
                order: self.made,
            },
        );
    }

    /// Records where an intent stands now.
    pub fn update(&mut self, key: &str, outcome: Outcome) {
        if let Some(entry) = self.entries.get_mut(key) {
            entry.outcome = outcome;
        }
        self.forget_old();
    }

    fn forget_old(&mut self) {
        let finished = self
            .entries
            .values()
            .filter(|e| !e.outcome.is_pending())
            .count();
        if finished <= KEEP_FINISHED {
            return;
        }
        let mut oldest: Vec<(u64, String)> = self
            .entries
            .values()
            .filter(|e| !e.outcome.is_pending())
            .map(|e| (e.order, e.intent.key.clone()))
            .collect();
        oldest.sort();
        for (_, key) in &oldest[..finished - KEEP_FINISHED] {
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

    /// Intents still waiting for an answer, oldest first.
    pub fn pending(&self) -> Vec<&Entry> {
        self.sorted(|e| e.outcome.is_pending())
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
}

/// What the sender tells the board program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The intent's key.
    pub key: String,
    /// Where it stands now.
    pub outcome: Outcome,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        "2026-11-26T03:30:00Z".parse::<DateTime<Utc>>().unwrap() + chrono::Duration::minutes(minute)
    }

    #[test]
    fn intents_keep_their_key_until_answered() {
        let mut outbox = Outbox::default();
        let claim = Intent::new(
            "94022026E000012345",
            HoldActionKind::Claim,
            None,
            Some(3),
            at(0),
        );
        let key = claim.key.clone();
        assert!(uuid::Uuid::parse_str(&key).is_ok());
        outbox.submit(claim);
        assert_eq!(outbox.pending().len(), 1);
        outbox.update(
            &key,
            Outcome::Pending {
                attempts: 1,
                last_error: Some("no answer".into()),
            },
        );
        assert_eq!(
            outbox.pending()[0].outcome,
            Outcome::Pending {
                attempts: 1,
                last_error: Some("no answer".into()),
            },
            "the attempt is recorded"
        );
        assert_eq!(outbox.pending()[0].intent.key, key, "a retry keeps the key");
        outbox.update(
            &key,
            Outcome::Refused {
                code: "claimed_by_other".into(),
                message: "claimed by ALK-0233".into(),
            },
        );
        assert!(outbox.pending().is_empty());
        assert_eq!(outbox.about("94022026E000012345").len(), 1);
        assert_eq!(outbox.about("94022026E000099999").len(), 0);
    }

    #[test]
    fn finished_entries_do_not_grow_without_bound() {
        let mut outbox = Outbox::default();
        for i in 0..(KEEP_FINISHED as i64 + 50) {
            let note = Intent::new(
                "94022026E000012345",
                HoldActionKind::Note,
                Some("n".into()),
                None,
                at(i),
            );
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
        assert_eq!(outbox.entries.len(), KEEP_FINISHED);
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
                Intent::new(
                    "94022026E000012345",
                    action,
                    Some(format!("{i}").into()),
                    None,
                    at(0),
                )
            })
            .collect();
        for intent in &made {
            outbox.submit(intent.clone());
        }
        let pending: Vec<&Intent> = outbox.pending().into_iter().map(|e| &e.intent).collect();
        assert_eq!(pending, made.iter().collect::<Vec<_>>());
        assert_eq!(outbox.about("94022026E000012345")[0].intent, made[19]);
    }

    #[test]
    fn requests_carry_the_expected_version() {
        let intent = Intent::new(
            "94022026E000012345",
            HoldActionKind::Escalate,
            None,
            Some(7),
            at(0),
        );
        assert_eq!(intent.request().expected_version, Some(7));
        assert_eq!(intent.request().action, HoldActionKind::Escalate);
    }
}
