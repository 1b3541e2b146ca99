//! The triage journal: an append-only file of JSON lines, one for each
//! intent when it is made and one for each answer. Read back at start, it
//! gives the outbox again, and the intents still without an answer are
//! sent again under their own keys (a crash or a restart loses nothing and
//! records nothing twice).

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Intent, Outbox, Outcome};

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
enum Record {
    /// An intent was made.
    Intent(Intent),
    /// Where an intent stands now.
    Outcome { key: String, outcome: Outcome },
}

/// The journal file, held by this board alone.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    /// Locked while the board runs (the lock goes with the handle).
    _lock: File,
}

/// How many journals one user may have in use at once (boards started
/// side by side take the next free one).
const MAX_JOURNALS: usize = 9;

/// What reading a journal found.
#[derive(Debug, Default)]
pub struct Replayed {
    /// The outbox as the journal tells it.
    pub outbox: Outbox,
    /// Lines that could not be read (a torn last line, say), skipped.
    pub unreadable: usize,
}

/// Where the journal lives unless the settings say: the user's state
/// directory.
pub fn default_path(home: Option<&Path>, state_home: Option<&Path>) -> Option<PathBuf> {
    let base = match state_home {
        Some(state) => state.to_path_buf(),
        None => home?.join(".local/state"),
    };
    Some(base.join("greenchannel/triage-journal.jsonl"))
}

impl Journal {
    /// Opens the journal at `path`, or, while another board of the same
    /// user holds it, the first free one beside it (`…-2.jsonl`, `…-3.jsonl`,
    /// …): each board keeps its own, and whichever board starts next takes
    /// over an idle one with what it left unanswered.
    pub fn open(path: &Path) -> io::Result<(Journal, Replayed)> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        for n in 1..=MAX_JOURNALS {
            let candidate = numbered(path, n);
            let lock = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(lock_path(&candidate))?;
            match lock.try_lock() {
                Ok(()) => return Journal::open_locked(&candidate, lock),
                Err(std::fs::TryLockError::WouldBlock) => continue,
                Err(std::fs::TryLockError::Error(e)) => return Err(e),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::ResourceBusy,
            format!("{MAX_JOURNALS} boards already keep journals beside this one"),
        ))
    }

    /// Reads a journal this board holds the lock of, and rewrites it with
    /// only what is still worth keeping (intents without an answer and the
    /// latest answered ones), so that it does not grow without bound.
    fn open_locked(path: &Path, lock: File) -> io::Result<(Journal, Replayed)> {
        let mut replayed = Replayed::default();
        if path.exists() {
            let reader = BufReader::new(File::open(path)?);
            for line in reader.lines() {
                let line = line?;
                if line.trim().is_empty() {
                    continue;
                }
                match serde_json::from_str::<Record>(&line) {
                    Ok(Record::Intent(intent)) => replayed.outbox.submit(intent),
                    Ok(Record::Outcome { key, outcome }) => replayed.outbox.update(&key, outcome),
                    Err(_) => replayed.unreadable += 1,
                }
            }
        }
        // Compact: write what is kept to a new file, then move it in place.
        let mut fresh = path.as_os_str().to_os_string();
        fresh.push(".new");
        let fresh = PathBuf::from(fresh);
        {
            let mut out = File::create(&fresh)?;
            for entry in replayed.outbox.entries() {
                write_record(&mut out, &Record::Intent(entry.intent.clone()))?;
                write_record(
                    &mut out,
                    &Record::Outcome {
                        key: entry.intent.key.clone(),
                        outcome: entry.outcome.clone(),
                    },
                )?;
            }
            out.sync_all()?;
        }
        std::fs::rename(&fresh, path)?;
        let file = OpenOptions::new().append(true).open(path)?;
        Ok((
            Journal {
                path: path.to_path_buf(),
                file,
                _lock: lock,
            },
            replayed,
        ))
    }

    /// Where the journal is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes down a new intent (before it is sent).
    pub fn intent(&mut self, intent: &Intent) -> io::Result<()> {
        self.append(&Record::Intent(intent.clone()))
    }

    /// Writes down where an intent stands.
    pub fn outcome(&mut self, key: &str, outcome: &Outcome) -> io::Result<()> {
        self.append(&Record::Outcome {
            key: key.to_owned(),
            outcome: outcome.clone(),
        })
    }

    /// Adds a line and waits until it is on the disk.
    fn append(&mut self, record: &Record) -> io::Result<()> {
        write_record(&mut self.file, record)?;
        self.file.sync_data()
    }
}

/// The `n`th journal at `path`: `path` itself, then `stem-2.ext`, ….
fn numbered(path: &Path, n: usize) -> PathBuf {
    if n == 1 {
        return path.to_path_buf();
    }
    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    let name = match path.extension() {
        Some(ext) => format!("{stem}-{n}.{}", ext.to_string_lossy()),
        None => format!("{stem}-{n}"),
    };
    path.with_file_name(name)
}

/// The lock file beside a journal.
fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    path.with_file_name(name)
}

fn write_record(out: &mut File, record: &Record) -> io::Result<()> {
    let mut line = serde_json::to_string(record).map_err(io::Error::other)?;
    line.push('\n');
    out.write_all(line.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::HoldActionKind;

    fn path(name: &str) -> PathBuf {
        std::env::temp_dir()
            .join(format!(
                "greenchannel-journal-{}-{name}",
                std::process::id()
            ))
            .join("journal.jsonl")
    }

    #[test]
    fn pending_intents_come_back_with_their_keys() {
        let path = path("pending");
        let at = "2026-11-26T03:30:00Z".parse().unwrap();
        let claim = Intent::new(
            "94022026E000012345",
            HoldActionKind::Claim,
            None,
            Some(2),
            at,
        );
        let note = Intent::new(
            "94022026E000012345",
            HoldActionKind::Note,
            Some("已联系企业".into()),
            None,
            at,
        );
        {
            let (mut journal, replayed) = Journal::open(&path).unwrap();
            assert!(replayed.outbox.pending().is_empty());
            journal.intent(&claim).unwrap();
            journal.intent(&note).unwrap();
            journal
                .outcome(
                    &note.key,
                    &Outcome::Refused {
                        code: "not_held".into(),
                        message: "no open hold".into(),
                    },
                )
                .unwrap();
        }
        // A torn last line (a crash while writing) is skipped, not fatal.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"record\":\"intent\",\"key\":")
            .unwrap();
        let (_journal, replayed) = Journal::open(&path).unwrap();
        assert_eq!(replayed.unreadable, 1);
        let pending = replayed.outbox.pending();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].intent, claim, "same key, same request");
        assert_eq!(replayed.outbox.about("94022026E000012345").len(), 2);
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn boards_side_by_side_keep_their_own_journals() {
        let path = path("side_by_side");
        let at = "2026-11-26T03:30:00Z".parse().unwrap();
        let claim = Intent::new("94022026E000012345", HoldActionKind::Claim, None, None, at);
        let (first, _) = Journal::open(&path).unwrap();
        let (mut second, _) = Journal::open(&path).unwrap();
        assert_eq!(first.path(), path);
        assert_eq!(second.path(), path.with_file_name("journal-2.jsonl"));
        second.intent(&claim).unwrap();
        drop(second);
        // The second board's unanswered claim is taken over by the next
        // board to start while the first still runs.
        let (third, replayed) = Journal::open(&path).unwrap();
        assert_eq!(third.path(), path.with_file_name("journal-2.jsonl"));
        assert_eq!(replayed.outbox.pending()[0].intent, claim);
        drop((first, third));
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn the_default_path_is_in_the_state_directory() {
        assert_eq!(
            default_path(Some(Path::new("/home/wang")), None),
            Some(PathBuf::from(
                "/home/wang/.local/state/greenchannel/triage-journal.jsonl"
            ))
        );
        assert_eq!(
            default_path(Some(Path::new("/home/wang")), Some(Path::new("/var/state"))),
            Some(PathBuf::from(
                "/var/state/greenchannel/triage-journal.jsonl"
            ))
        );
        assert_eq!(default_path(None, None), None);
    }
}
