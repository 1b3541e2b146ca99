//! An officer's triage desk: the journal and the outbox behind one lock,
//! the one place that changes either. The board's keys, the `hold` command
//! and the sender all go through it, so every intent is on the disk before
//! anyone sees it queued, and every change of where it stands is written
//! down before it is reported.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use super::journal::{self, Journal, Record};
use super::{Intent, Origin, Outbox, Outcome, Report};

/// The journal, and where every intent of one API and officer stands.
#[derive(Debug)]
struct Ledger {
    origin: Origin,
    journal: Option<Journal>,
    outbox: Outbox,
}

#[derive(Debug)]
struct Shared {
    ledger: Mutex<Ledger>,
    /// Told whenever there may be something new to send.
    work: Notify,
}

/// An officer's triage desk (cheap to clone: clones share it).
#[derive(Debug, Clone)]
pub struct Desk {
    shared: Arc<Shared>,
}

/// A desk, and what opening its journal found.
#[derive(Debug)]
pub struct Opened {
    /// The desk.
    pub desk: Desk,
    /// The journal file, or why there is none (intents then do not
    /// survive a restart).
    pub journal: Result<PathBuf, String>,
    /// Journal lines that could not be read, skipped.
    pub unreadable: usize,
    /// Unanswered intents in the journal made for another API or officer
    /// (never sent from here).
    pub foreign: usize,
}

impl Desk {
    /// The desk of `origin`, its journal in `dir` (none: no journal).
    /// What the journal left unanswered is tried again, the stuck included.
    pub fn open(dir: Option<&Path>, origin: Origin) -> Opened {
        let opened = match dir {
            Some(dir) => {
                let path = journal::path_for(dir, &origin);
                Journal::open(&path).map_err(|e| format!("{}: {e}", path.display()))
            }
            None => Err("no state directory (set HOME or triage.journal_dir)".to_owned()),
        };
        Desk::with_journal(opened, origin)
    }

    /// The desk of `origin` on a journal already open (or none, and why).
    pub fn with_journal(
        opened: Result<(Journal, journal::Replayed), String>,
        origin: Origin,
    ) -> Opened {
        let (journal, path, mut replayed) = match opened {
            Ok((journal, replayed)) => {
                let path = journal.path().to_path_buf();
                (Some(journal), Ok(path), replayed)
            }
            Err(e) => (None, Err(e), journal::Replayed::default()),
        };
        let stuck: Vec<String> = replayed
            .outbox
            .unanswered()
            .iter()
            .filter(|e| !e.outcome.is_pending())
            .map(|e| e.intent.key.clone())
            .collect();
        for key in stuck {
            replayed.outbox.update(&key, Outcome::NEW);
        }
        let foreign = replayed
            .outbox
            .unanswered()
            .iter()
            .filter(|e| e.intent.origin != origin)
            .count();
        Opened {
            desk: Desk {
                shared: Arc::new(Shared {
                    ledger: Mutex::new(Ledger {
                        origin,
                        journal,
                        outbox: replayed.outbox,
                    }),
                    work: Notify::new(),
                }),
            },
            journal: path,
            unreadable: replayed.unreadable,
            foreign,
        }
    }

    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        // A panic elsewhere while holding it leaves the ledger consistent
        // (every change is one call): keep going.
        self.shared
            .ledger
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whom and where this desk sends for.
    pub fn origin(&self) -> Origin {
        self.ledger().origin.clone()
    }

    /// A copy of the outbox, for the view.
    pub fn outbox(&self) -> Outbox {
        self.ledger().outbox.clone()
    }

    /// Takes an intent: on the disk first, then queued. Refused (and not
    /// sent) when it is for another API or officer, or when the journal
    /// cannot be written.
    pub fn submit(&self, intent: Intent) -> Result<(), String> {
        let mut ledger = self.ledger();
        if intent.origin != ledger.origin {
            return Err(format!(
                "made for {} at {}, not for this desk",
                intent.origin.officer_id, intent.origin.customs_url
            ));
        }
        if let Some(journal) = ledger.journal.as_mut() {
            journal
                .append(&Record::Intent(intent.clone()))
                .map_err(|e| format!("the triage journal cannot be written ({e}): not sent"))?;
        }
        ledger.outbox.submit(intent);
        drop(ledger);
        self.shared.work.notify_one();
        Ok(())
    }

    /// Records where an intent stands (written down first; a journal that
    /// cannot be written is logged, the answer still counts) and says it.
    pub fn record(&self, key: &str, outcome: Outcome) -> Option<Report> {
        let mut ledger = self.ledger();
        let ledger = &mut *ledger;
        let entry = ledger.outbox.get(key)?;
        let declaration_no = entry.intent.declaration_no.clone();
        ledger.outbox.update(key, outcome);
        let now = ledger.outbox.get(key)?.outcome.clone();
        if let Some(journal) = ledger.journal.as_mut() {
            let written = journal
                .append(&Record::Outcome {
                    key: key.to_owned(),
                    outcome: now.clone(),
                })
                .and_then(|()| journal.compact_if_grown(&ledger.outbox));
            if let Err(e) = written {
                tracing::warn!("triage journal {}: {e}", journal.path().display());
            }
        }
        Some(Report {
            key: key.to_owned(),
            declaration_no,
            outcome: now,
        })
    }

    /// Gives up an unanswered intent: never sent again (customs may still
    /// have recorded an attempt whose answer was lost).
    pub fn discard(&self, key: &str) -> Option<Report> {
        let unanswered = self
            .ledger()
            .outbox
            .get(key)
            .is_some_and(|e| e.outcome.is_unanswered());
        if !unanswered {
            return None;
        }
        let report = self.record(key, Outcome::Discarded);
        self.shared.work.notify_one();
        report
    }

    /// Tries a stuck intent again, from its first attempt.
    pub fn retry(&self, key: &str) -> Option<Report> {
        let stuck = self
            .ledger()
            .outbox
            .get(key)
            .is_some_and(|e| matches!(e.outcome, Outcome::Stuck { .. }));
        if !stuck {
            return None;
        }
        let report = self.record(key, Outcome::NEW);
        self.shared.work.notify_one();
        report
    }

    /// The next intent to send, its attempts so far, and the hold version
    /// to send with it.
    pub fn next(&self) -> Option<(Intent, u32, Option<u64>)> {
        let ledger = self.ledger();
        let entry = ledger.outbox.next_for(&ledger.origin)?;
        let version = ledger.outbox.expected_version(&entry.intent.key);
        Some((entry.intent.clone(), entry.outcome.attempts(), version))
    }

    /// Waits until something may have changed what there is to send.
    pub async fn changed(&self) {
        self.shared.work.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::HoldActionKind;

    fn origin() -> Origin {
        Origin::new("http://127.0.0.1:7400/customs", &"ALK-0417".into())
    }

    fn intent(origin: &Origin, action: HoldActionKind) -> Intent {
        Intent::new(
            origin,
            "94022026E000012345",
            action,
            None,
            Some(2),
            "2026-11-26T03:30:00Z".parse().unwrap(),
        )
    }

    fn dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("greenchannel-desk-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn an_intent_is_on_the_disk_before_it_is_queued() {
        let dir = dir("on_disk");
        let opened = Desk::open(Some(&dir), origin());
        let path = opened.journal.clone().unwrap();
        let claim = intent(&origin(), HoldActionKind::Claim);
        opened.desk.submit(claim.clone()).unwrap();
        // Another reader (a crash right now) finds it.
        let on_disk = journal::read(&path).unwrap();
        assert_eq!(on_disk.outbox.pending()[0].intent, claim);
        assert_eq!(opened.desk.next().unwrap().0, claim);
    }

    #[test]
    fn an_intent_for_another_api_or_officer_is_refused() {
        let opened = Desk::open(Some(&dir("foreign")), origin());
        let prod = Origin::new("https://customs.alk/api", &"ALK-0417".into());
        let err = opened
            .desk
            .submit(intent(&prod, HoldActionKind::Claim))
            .unwrap_err();
        assert!(err.contains("https://customs.alk/api"), "{err}");
        assert!(opened.desk.next().is_none());
    }

    #[test]
    fn stuck_intents_are_tried_again_at_the_next_start() {
        let dir = dir("stuck");
        let claim = intent(&origin(), HoldActionKind::Claim);
        {
            let opened = Desk::open(Some(&dir), origin());
            opened.desk.submit(claim.clone()).unwrap();
            let stuck = Outcome::Stuck {
                attempts: 10,
                last_error: Some("503".into()),
            };
            opened.desk.record(&claim.key, stuck).unwrap();
            assert!(opened.desk.next().is_none(), "stuck: not tried by itself");
        }
        let opened = Desk::open(Some(&dir), origin());
        let (again, attempts, _) = opened.desk.next().unwrap();
        assert_eq!((again, attempts), (claim, 0));
    }

    #[test]
    fn discarded_and_retried() {
        let opened = Desk::open(Some(&dir("discard")), origin());
        let desk = opened.desk;
        let claim = intent(&origin(), HoldActionKind::Claim);
        let note = intent(&origin(), HoldActionKind::Note);
        desk.submit(claim.clone()).unwrap();
        desk.submit(note.clone()).unwrap();
        let stuck = Outcome::Stuck {
            attempts: 10,
            last_error: None,
        };
        desk.record(&claim.key, stuck);
        assert_eq!(desk.next().unwrap().0, note, "a stuck one blocks no other");
        assert!(
            desk.retry(&note.key).is_none(),
            "only a stuck one is retried"
        );
        assert_eq!(desk.retry(&claim.key).unwrap().outcome, Outcome::NEW);
        assert_eq!(desk.next().unwrap().0, claim);
        assert_eq!(
            desk.discard(&claim.key).unwrap().outcome,
            Outcome::Discarded
        );
        assert!(desk.discard(&claim.key).is_none(), "once");
        assert_eq!(desk.next().unwrap().0, note);
    }

    #[test]
    fn without_a_journal_the_desk_still_works() {
        let opened = Desk::open(None, origin());
        assert!(opened.journal.is_err());
        let claim = intent(&origin(), HoldActionKind::Claim);
        opened.desk.submit(claim.clone()).unwrap();
        assert_eq!(opened.desk.next().unwrap().0, claim);
    }
}
