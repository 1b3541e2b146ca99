//! `greenchannel journal`: the audit trail of triage on this machine for
//! the configured customs API — who asked for what, when, under which
//! idempotency key, and what customs answered — read from the journals
//! without touching them; and `journal discard`, which gives up an action
//! that will never go through.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::{Exit, table};
use crate::domain::text::json_for_terminal;
use crate::domain::time::{self, rfc3339};
use crate::domain::{FeedText, HoldActionKind};
use crate::triage::desk::Desk;
use crate::triage::journal::{self, Journal};
use crate::triage::{Entry, Outcome};

/// One action of the trail.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    /// The idempotency key.
    pub key: String,
    /// Who asked.
    pub officer_id: FeedText,
    /// When.
    #[serde(with = "rfc3339")]
    pub at: DateTime<Utc>,
    /// What.
    pub action: HoldActionKind,
    /// On which parcel.
    pub declaration_no: String,
    /// The note, if any.
    pub note: Option<FeedText>,
    /// The hold version the officer saw.
    pub expected_version: Option<u64>,
    /// Where it stands, and what customs answered.
    pub outcome: Outcome,
    /// The journal it is in.
    #[serde(skip)]
    pub file: PathBuf,
    /// The order it was made in, in its journal.
    #[serde(skip)]
    order: u64,
}

impl Line {
    fn of(entry: &Entry, file: &Path) -> Line {
        let intent = &entry.intent;
        Line {
            key: intent.key.clone(),
            officer_id: intent.origin.officer_id.clone(),
            at: intent.at,
            action: intent.action.clone(),
            declaration_no: intent.declaration_no.clone(),
            note: intent.note.clone(),
            expected_version: intent.expected_version,
            outcome: entry.outcome.clone(),
            file: file.to_path_buf(),
            order: entry.order,
        }
    }

    /// What customs answered, in words.
    pub fn answer(&self) -> String {
        match &self.outcome {
            Outcome::Done { hold: Some(h) } => format!("recorded, hold version {}", h.version),
            Outcome::Done { hold: None } => "recorded".to_owned(),
            Outcome::Refused { code, message } => format!("refused: {code} {message}"),
            Outcome::Pending {
                attempts,
                last_error,
            } => format!(
                "pending after {attempts} attempt(s){}",
                last_error
                    .as_deref()
                    .map_or(String::new(), |e| format!(": {e}"))
            ),
            Outcome::Stuck {
                attempts,
                last_error,
            } => format!(
                "stuck after {attempts} attempt(s){}",
                last_error
                    .as_deref()
                    .map_or(String::new(), |e| format!(": {e}"))
            ),
            Outcome::Discarded => "discarded".to_owned(),
        }
    }

    /// The action and its answer on one line.
    pub fn summary(&self) -> String {
        format!(
            "{} {} {}{} — {}",
            self.at.format("%Y-%m-%d %H:%M:%S UTC"),
            self.officer_id,
            self.action.as_str(),
            self.note
                .as_ref()
                .map_or(String::new(), |n| format!(" «{n}»")),
            self.answer()
        )
    }
}

/// Every action in the journals of one customs API on this machine,
/// oldest first (with how many lines could not be read).
pub fn trail(journal_dir: &Path, customs_url: &str) -> (Vec<Line>, usize) {
    let mut lines = Vec::new();
    let mut unreadable = 0;
    for path in journal::files_of(journal_dir, customs_url) {
        match journal::read(&path) {
            Ok(replayed) => {
                unreadable += replayed.unreadable;
                lines.extend(
                    replayed
                        .outbox
                        .entries()
                        .into_iter()
                        .map(|e| Line::of(e, &path)),
                );
            }
            Err(_) => unreadable += 1,
        }
    }
    lines.sort_by(|a, b| (a.at, &a.file, a.order).cmp(&(b.at, &b.file, b.order)));
    (lines, unreadable)
}

/// Which actions the trail shows.
#[derive(Debug, Clone, Default)]
pub struct TrailFilter {
    /// Only those without an answer (pending or stuck).
    pub pending: bool,
    /// Only those refused.
    pub refused: bool,
    /// Only those made since then.
    pub since: Option<DateTime<Utc>>,
}

impl TrailFilter {
    fn keeps(&self, line: &Line) -> bool {
        (!self.pending || line.outcome.is_unanswered())
            && (!self.refused || matches!(line.outcome, Outcome::Refused { .. }))
            && self.since.is_none_or(|since| line.at >= since)
    }
}

/// An instant as given to `--since`: RFC 3339, or a while ago (`30m`,
/// `2h`, `1d`).
pub fn since(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    if let Ok(at) = time::parse(text) {
        return Ok(at);
    }
    let text = text.trim();
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let amount: i64 = number
        .parse()
        .ok()
        .filter(|n| (0..=100_000).contains(n))
        .ok_or_else(|| {
            format!("--since {text:?}: an RFC 3339 time or a while ago like 30m, 2h, 1d")
        })?;
    let ago = match unit {
        "m" => Duration::minutes(amount),
        "h" => Duration::hours(amount),
        "d" => Duration::days(amount),
        _ => return Err(format!("--since {text:?}: the unit is m, h or d")),
    };
    Ok(now - ago)
}

/// `journal`: the trail, as text or JSON.
pub fn output(lines: &[Line], filter: &TrailFilter, json: bool) -> String {
    let kept: Vec<&Line> = lines.iter().filter(|l| filter.keeps(l)).collect();
    if json {
        return json_for_terminal(&kept) + "\n";
    }
    let rows: Vec<Vec<String>> = kept
        .iter()
        .map(|l| {
            vec![
                l.at.format("%Y-%m-%d %H:%M:%S").to_string(),
                l.officer_id.to_string(),
                l.action.as_str().to_owned(),
                l.declaration_no.clone(),
                l.note.as_ref().map_or(String::new(), ToString::to_string),
                l.key.clone(),
                l.answer(),
            ]
        })
        .collect();
    let header = [
        "AT (UTC)",
        "OFFICER",
        "ACTION",
        "DECLARATION",
        "NOTE",
        "KEY",
        "ANSWER",
    ];
    let mut out = table(&header, &rows, 60);
    out.push_str(&format!("{} action(s)\n", kept.len()));
    out
}

/// The one action whose key starts with `id` (at least 8 characters).
pub fn find<'a>(lines: &'a [Line], id: &str) -> Result<&'a Line, String> {
    if id.len() < 8 {
        return Err("give at least the first 8 characters of the key".to_owned());
    }
    let matching: Vec<&Line> = lines.iter().filter(|l| l.key.starts_with(id)).collect();
    match matching.as_slice() {
        [one] => Ok(one),
        [] => Err(format!("no action with a key starting {id}")),
        _ => Err(format!(
            "{} actions have keys starting {id}: give more of it",
            matching.len()
        )),
    }
}

/// `journal discard`: gives up an unanswered action, in the journal it is
/// in (which no running board or command may hold).
pub fn discard(line: &Line) -> Result<Exit, String> {
    if !line.outcome.is_unanswered() {
        return Err(format!(
            "{} is answered already: {}",
            line.key,
            line.answer()
        ));
    }
    let (journal, replayed) = Journal::open_exact(&line.file).map_err(|e| {
        if e.kind() == std::io::ErrorKind::ResourceBusy {
            format!(
                "{} is held by a running board or command of {}: discard it there (x on the board)",
                line.file.display(),
                line.officer_id
            )
        } else {
            format!("{}: {e}", line.file.display())
        }
    })?;
    let origin = replayed
        .outbox
        .get(&line.key)
        .map(|e| e.intent.origin.clone())
        .ok_or_else(|| format!("{} is no longer in {}", line.key, line.file.display()))?;
    let desk = Desk::with_journal(Ok((journal, replayed)), origin);
    match desk.desk.discard(&line.key) {
        Some(_) => Ok(Exit::Done),
        None => Err(format!("{} could not be discarded", line.key)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_an_instant_or_a_while_ago() {
        let now: DateTime<Utc> = "2026-11-26T12:00:00Z".parse().unwrap();
        assert_eq!(
            since("2026-11-26T10:00:00+08:00", now).unwrap(),
            "2026-11-26T02:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(since("2h", now).unwrap(), now - Duration::hours(2));
        assert_eq!(since("30m", now).unwrap(), now - Duration::minutes(30));
        assert!(since("2w", now).is_err());
        assert!(since("yesterday", now).is_err());
        assert!(since("99999999999h", now).is_err());
    }
}
