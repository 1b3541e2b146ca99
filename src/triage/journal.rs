//! The triage journal: an append-only file of JSON lines, one for each
//! intent when it is made and one for each change of where it stands,
//! each on the disk (`fsync`) before anyone is told. Read back at start,
//! it gives the outbox again, and the intents still without an answer are
//! sent again under their own keys (a crash or a restart loses nothing and
//! records nothing twice).
//!
//! One journal per customs API and officer ([`path_for`]): an intent is
//! never replayed to another API or under another officer's token. Reading
//! survives anything a crash can leave (a torn last line, half a multi-byte
//! character, a record glued to a partial one): what cannot be read is
//! skipped and counted, never a reason to refuse to open. The file is
//! rewritten with only what is worth keeping when it opens and whenever
//! it has grown well past that, so it does not grow without bound.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Intent, Origin, Outbox, Outcome};

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum Record {
    /// An intent was made.
    Intent(Intent),
    /// Where an intent stands now.
    Outcome {
        /// The intent's key.
        key: String,
        /// Where it stands.
        outcome: Outcome,
    },
}

/// A journal file, held by this process alone while open.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    /// Locked while the journal is open (the lock goes with the handle).
    _lock: File,
    /// Records in the file now.
    records: usize,
    /// An append failed part way: the next one starts on a new line.
    torn_tail: bool,
}

/// How many journals one officer may have open at once on one machine
/// (boards started side by side take the next free one).
const MAX_JOURNALS: usize = 9;

/// What reading a journal found.
#[derive(Debug, Default, Clone)]
pub struct Replayed {
    /// The outbox as the journal tells it.
    pub outbox: Outbox,
    /// Lines that could not be read (a torn line, say), skipped.
    pub unreadable: usize,
}

/// Where the journals live unless the settings say: the user's state
/// directory.
pub fn default_dir(home: Option<&Path>, state_home: Option<&Path>) -> Option<PathBuf> {
    let base = match state_home {
        Some(state) => state.to_path_buf(),
        None => home?.join(".local/state"),
    };
    Some(base.join("greenchannel/journals"))
}

/// The directory of the journals: the setting if given, else the default.
pub fn dir_from(setting: &str, home: Option<&Path>, state_home: Option<&Path>) -> Option<PathBuf> {
    if setting.is_empty() {
        default_dir(home, state_home)
    } else {
        Some(PathBuf::from(setting))
    }
}

/// The journal of one customs API and officer in `dir`: a directory per
/// API (its host and path, and a hash of the whole URL), a file per
/// officer.
pub fn path_for(dir: &Path, origin: &Origin) -> PathBuf {
    let officer = slug(&origin.officer_id, 40);
    let officer = if officer == origin.officer_id.as_str() && !officer.starts_with('.') {
        officer
    } else {
        // Changed to fit a file name: keep different officers apart.
        format!(
            "{officer}-{:08x}",
            fnv1a(origin.officer_id.as_bytes()) as u32
        )
    };
    api_dir(dir, &origin.customs_url).join(format!("{officer}.jsonl"))
}

/// The directory in `dir` of one customs API's journals: its host and path,
/// and a hash of the whole URL.
fn api_dir(dir: &Path, customs_url: &str) -> PathBuf {
    let url = customs_url.trim_end_matches('/');
    let bare = url.split_once("://").map_or(url, |(_, rest)| rest);
    dir.join(format!(
        "{}-{:08x}",
        slug(bare, 60),
        fnv1a(url.as_bytes()) as u32
    ))
}

/// Every journal of one customs API in `dir` (every officer's).
pub fn files_of(dir: &Path, customs_url: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(api_dir(dir, customs_url))
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    found.sort();
    found
}

/// Text fit for a file name: letters, digits, `.`, `-` and `_`.
fn slug(text: &str, max: usize) -> String {
    text.chars()
        .take(max)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// FNV-1a, 64 bits: a hash that stays the same across versions and
/// machines (file names depend on it).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Reads a journal without taking it (for listing): what it holds.
pub fn read(path: &Path) -> io::Result<Replayed> {
    let mut bytes = Vec::new();
    match File::open(path) {
        Ok(mut file) => {
            file.read_to_end(&mut bytes)?;
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    Ok(replay(&bytes))
}

/// The outbox a journal's bytes tell of; lines that cannot be read
/// (invalid UTF-8, not a record) are skipped and counted.
fn replay(bytes: &[u8]) -> Replayed {
    let mut replayed = Replayed::default();
    for line in bytes.split(|b| *b == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let record = std::str::from_utf8(line)
            .ok()
            .and_then(|text| serde_json::from_str::<Record>(text).ok());
        match record {
            Some(Record::Intent(intent)) => replayed.outbox.submit(intent),
            Some(Record::Outcome { key, outcome }) => replayed.outbox.update(&key, outcome),
            None => replayed.unreadable += 1,
        }
    }
    replayed
}

/// The records that keep an outbox: each intent and where it stands.
fn records_of(outbox: &Outbox) -> Vec<Record> {
    let mut records = Vec::new();
    for entry in outbox.entries() {
        records.push(Record::Intent(entry.intent.clone()));
        if entry.outcome != Outcome::NEW {
            records.push(Record::Outcome {
                key: entry.intent.key.clone(),
                outcome: entry.outcome.clone(),
            });
        }
    }
    records
}

fn line_of(record: &Record) -> io::Result<Vec<u8>> {
    let mut line = serde_json::to_vec(record).map_err(io::Error::other)?;
    line.push(b'\n');
    Ok(line)
}

impl Journal {
    /// Opens the journal at `path`, or, while another process of the same
    /// officer holds it, the first free one beside it (`…-2.jsonl`,
    /// `…-3.jsonl`, …): each keeps its own, and whichever starts next takes
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
            format!("{MAX_JOURNALS} journals of this officer are open already"),
        ))
    }

    /// Opens the journal at `path` itself, failing (`ResourceBusy`) while
    /// another process holds it.
    pub fn open_exact(path: &Path) -> io::Result<(Journal, Replayed)> {
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(lock_path(path))?;
        match lock.try_lock() {
            Ok(()) => Journal::open_locked(path, lock),
            Err(std::fs::TryLockError::WouldBlock) => Err(io::Error::new(
                io::ErrorKind::ResourceBusy,
                "held by another process",
            )),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }

    /// Reads a journal this process holds the lock of, and rewrites it
    /// with only what is still worth keeping.
    fn open_locked(path: &Path, lock: File) -> io::Result<(Journal, Replayed)> {
        let replayed = read(path)?;
        let file = rewrite(path, &records_of(&replayed.outbox))?;
        let journal = Journal {
            path: path.to_path_buf(),
            file,
            _lock: lock,
            records: records_of(&replayed.outbox).len(),
            torn_tail: false,
        };
        Ok((journal, replayed))
    }

    /// Where the journal is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Adds a record and waits until it is on the disk.
    pub fn append(&mut self, record: &Record) -> io::Result<()> {
        let mut line = line_of(record)?;
        if self.torn_tail {
            // What a failed append left becomes a line of its own, skipped
            // when read, instead of spoiling this record.
            line.insert(0, b'\n');
        }
        self.torn_tail = true;
        self.file.write_all(&line)?;
        self.file.sync_data()?;
        self.torn_tail = false;
        self.records += 1;
        Ok(())
    }

    /// Rewrites the file with only what `outbox` keeps, once it holds
    /// more than twice that and a margin: the journal stays small
    /// however long the board runs.
    pub fn compact_if_grown(&mut self, outbox: &Outbox) -> io::Result<()> {
        let kept = records_of(outbox);
        if self.records <= 2 * kept.len() + 256 {
            return Ok(());
        }
        self.file = rewrite(&self.path, &kept)?;
        self.records = kept.len();
        self.torn_tail = false;
        Ok(())
    }

    /// Records in the file now.
    pub fn records(&self) -> usize {
        self.records
    }
}

/// Writes `records` to a new file, puts it in place of `path` atomically
/// (and durably), and opens it to append.
fn rewrite(path: &Path, records: &[Record]) -> io::Result<File> {
    let mut fresh = path.as_os_str().to_os_string();
    fresh.push(".new");
    let fresh = PathBuf::from(fresh);
    {
        let mut out = File::create(&fresh)?;
        let mut bytes = Vec::new();
        for record in records {
            bytes.extend(line_of(record)?);
        }
        out.write_all(&bytes)?;
        out.sync_all()?;
    }
    std::fs::rename(&fresh, path)?;
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    OpenOptions::new().append(true).open(path)
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

/// Every journal file under `dir` (all APIs and officers), for listing
/// and for clearing the demo's.
pub fn all_in(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(apis) = std::fs::read_dir(dir) else {
        return found;
    };
    for api in apis.flatten() {
        let Ok(files) = std::fs::read_dir(api.path()) else {
            continue;
        };
        for file in files.flatten() {
            let path = file.path();
            if path.extension().is_some_and(|e| e == "jsonl") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// Removes the journals under `dir` that no process holds (the demo's,
/// whose simulated world is gone with its process).
pub fn clear_idle(dir: &Path) -> io::Result<()> {
    for path in all_in(dir) {
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(lock_path(&path))?;
        if lock.try_lock().is_ok() {
            std::fs::remove_file(&path)?;
            std::fs::remove_file(lock_path(&path))?;
        }
    }
    if let Ok(apis) = std::fs::read_dir(dir) {
        for api in apis.flatten() {
            // Only empty ones go.
            let _ = std::fs::remove_dir(api.path());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::HoldActionKind;

    fn dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "greenchannel-journal-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn origin() -> Origin {
        Origin::new("http://127.0.0.1:7400/customs", &"ALK-0417".into())
    }

    fn intent(action: HoldActionKind) -> Intent {
        Intent::new(
            &origin(),
            "94022026E000012345",
            action,
            None,
            Some(2),
            "2026-11-26T03:30:00Z".parse().unwrap(),
        )
    }

    fn refused() -> Outcome {
        Outcome::Refused {
            code: "not_held".into(),
            message: "no open hold".into(),
        }
    }

    #[test]
    fn pending_intents_come_back_with_their_keys() {
        let path = path_for(&dir("pending"), &origin());
        let claim = intent(HoldActionKind::Claim);
        let note = intent(HoldActionKind::Note);
        {
            let (mut journal, replayed) = Journal::open(&path).unwrap();
            assert!(replayed.outbox.pending().is_empty());
            journal.append(&Record::Intent(claim.clone())).unwrap();
            journal.append(&Record::Intent(note.clone())).unwrap();
            journal
                .append(&Record::Outcome {
                    key: note.key.clone(),
                    outcome: refused(),
                })
                .unwrap();
        }
        let (_journal, replayed) = Journal::open(&path).unwrap();
        let pending = replayed.outbox.pending();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].intent, claim, "same key, same request");
        assert_eq!(replayed.outbox.about("94022026E000012345").len(), 2);
    }

    #[test]
    fn a_torn_line_is_skipped_and_the_journal_still_opens() {
        let path = path_for(&dir("torn"), &origin());
        let claim = intent(HoldActionKind::Claim);
        let note = intent(HoldActionKind::Note);
        {
            let (mut journal, _) = Journal::open(&path).unwrap();
            journal.append(&Record::Intent(claim.clone())).unwrap();
        }
        // A crash while writing: half a line that ends inside a multi-byte
        // character ("已联系" cut after its first byte).
        let torn = line_of(&Record::Intent(Intent {
            note: Some("已联系".into()),
            ..note.clone()
        }))
        .unwrap();
        let cut = torn.iter().position(|b| *b >= 0x80).unwrap() + 1;
        OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(&torn[..cut])
            .unwrap();
        let (mut journal, replayed) = Journal::open(&path).unwrap();
        assert_eq!(replayed.unreadable, 1);
        assert_eq!(replayed.outbox.pending()[0].intent, claim);
        // The next record is not glued to the torn one: opening rewrote
        // the file without it.
        journal.append(&Record::Intent(note.clone())).unwrap();
        drop(journal);
        let again = read(&path).unwrap();
        assert_eq!(again.unreadable, 0);
        assert_eq!(again.outbox.pending().len(), 2);
    }

    #[test]
    fn an_append_that_failed_part_way_does_not_spoil_the_next() {
        let path = path_for(&dir("partial"), &origin());
        let claim = intent(HoldActionKind::Claim);
        let note = intent(HoldActionKind::Note);
        let (mut journal, _) = Journal::open(&path).unwrap();
        // What a write that failed after some bytes leaves behind.
        journal
            .file
            .write_all(b"{\"record\":\"intent\",\"ke")
            .unwrap();
        journal.torn_tail = true;
        journal.append(&Record::Intent(claim.clone())).unwrap();
        journal.append(&Record::Intent(note.clone())).unwrap();
        let replayed = read(&path).unwrap();
        assert_eq!(replayed.unreadable, 1);
        assert_eq!(replayed.outbox.pending().len(), 2);
    }

    #[test]
    fn garbage_of_every_kind_never_stops_a_journal_opening() {
        let path = path_for(&dir("garbage"), &origin());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(
            &path,
            b"\xff\xfe\x00junk\n{\"record\":\"outcome\"}\n\n   \n{\"record\":\"intent\"",
        )
        .unwrap();
        let (_journal, replayed) = Journal::open(&path).unwrap();
        assert_eq!(replayed.unreadable, 3);
        assert!(replayed.outbox.is_empty());
    }

    #[test]
    fn the_journal_is_compacted_while_it_runs() {
        let path = path_for(&dir("compact"), &origin());
        let (mut journal, _) = Journal::open(&path).unwrap();
        let mut outbox = Outbox::default();
        for _ in 0..2000 {
            let note = intent(HoldActionKind::Note);
            journal.append(&Record::Intent(note.clone())).unwrap();
            outbox.submit(note.clone());
            journal
                .append(&Record::Outcome {
                    key: note.key.clone(),
                    outcome: refused(),
                })
                .unwrap();
            outbox.update(&note.key, refused());
            journal.compact_if_grown(&outbox).unwrap();
        }
        let bound = 2 * 2 * crate::triage::KEEP_ANSWERED + 256;
        assert!(journal.records() <= bound, "{}", journal.records());
        let lines = std::fs::read_to_string(&path).unwrap().lines().count();
        assert_eq!(lines, journal.records());
        let kept = |outbox: &Outbox| -> Vec<(String, Outcome)> {
            outbox
                .entries()
                .iter()
                .map(|e| (e.intent.key.clone(), e.outcome.clone()))
                .collect()
        };
        assert!(kept(&read(&path).unwrap().outbox) == kept(&outbox));
    }

    #[test]
    fn journals_are_kept_per_api_and_officer() {
        let dir = dir("per_api");
        let demo = path_for(
            &dir,
            &Origin::new("http://127.0.0.1:41234/customs", &"ALK-0417".into()),
        );
        let prod = path_for(
            &dir,
            &Origin::new("https://customs.alk/api", &"ALK-0417".into()),
        );
        let colleague = path_for(
            &dir,
            &Origin::new("https://customs.alk/api", &"ALK-0233".into()),
        );
        assert_ne!(demo.parent(), prod.parent());
        assert_eq!(prod.parent(), colleague.parent());
        assert_ne!(prod, colleague);
        assert_eq!(prod.file_name().unwrap(), "ALK-0417.jsonl");
        let api = prod
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy();
        assert!(api.starts_with("customs.alk_api-"), "{api}");
        assert_eq!(api.len(), "customs.alk_api-".len() + 8, "{api}");
        // A hostile officer id stays one file in that directory.
        let odd = path_for(
            &dir,
            &Origin::new("https://customs.alk/api", &"../../etc/x".into()),
        );
        assert_eq!(odd.parent(), prod.parent());
        assert!(
            odd.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".._.._etc_x-")
        );
    }

    #[test]
    fn side_by_side_processes_keep_their_own_journals() {
        let path = path_for(&dir("side_by_side"), &origin());
        let claim = intent(HoldActionKind::Claim);
        let (first, _) = Journal::open(&path).unwrap();
        let (mut second, _) = Journal::open(&path).unwrap();
        assert_eq!(first.path(), path);
        assert_eq!(second.path(), path.with_file_name("ALK-0417-2.jsonl"));
        second.append(&Record::Intent(claim.clone())).unwrap();
        drop(second);
        // The second's unanswered claim is taken over by the next to start
        // while the first still runs.
        let (third, replayed) = Journal::open(&path).unwrap();
        assert_eq!(third.path(), path.with_file_name("ALK-0417-2.jsonl"));
        assert_eq!(replayed.outbox.pending()[0].intent, claim);
        drop((first, third));
        assert_eq!(all_in(path.parent().unwrap().parent().unwrap()).len(), 2);
        clear_idle(path.parent().unwrap().parent().unwrap()).unwrap();
        assert!(all_in(path.parent().unwrap().parent().unwrap()).is_empty());
    }

    #[test]
    fn the_default_dir_is_in_the_state_directory() {
        assert_eq!(
            default_dir(Some(Path::new("/home/wang")), None),
            Some(PathBuf::from(
                "/home/wang/.local/state/greenchannel/journals"
            ))
        );
        assert_eq!(
            default_dir(Some(Path::new("/home/wang")), Some(Path::new("/var/state"))),
            Some(PathBuf::from("/var/state/greenchannel/journals"))
        );
        assert_eq!(default_dir(None, None), None);
    }
}
