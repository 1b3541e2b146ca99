//! `greenchannel hold`: triage from scripts. `list` and `show` read what
//! customs holds now; the actions (`claim`, `unclaim`, `note`, `priority`,
//! `escalate`, `defer`) take the board's own path: the same rules refuse
//! the same things before anything is sent, each intent gets its key and
//! the hold version customs last showed, goes on the officer's desk (on
//! the disk first) and is sent by the same sender, several declarations at
//! once, in the order given.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::mpsc;

use super::{Exit, table};
use crate::domain::text::json_for_terminal;
use crate::domain::time::rfc3339_opt;
use crate::domain::{
    Declaration, DeclarationNo, FeedText, Hold, HoldActionKind, Lang, Note, Officer, Train,
};
use crate::feeds::client::{ApiClient, FeedError};
use crate::feeds::deadline::Deadline;
use crate::triage::desk::Desk;
use crate::triage::rules::{self, Refusal};
use crate::triage::sender::{self, SendPolicy};
use crate::triage::{Intent, Origin, Outcome};

/// Held parcels asked for per page of `listHolds`.
const PAGE_SIZE: u32 = 1000;

/// Pages of `listHolds` read at most (a million held parcels).
const MAX_PAGES: usize = 1000;

/// A held parcel as the commands show it.
#[derive(Debug, Clone, Serialize)]
pub struct HeldParcel {
    /// Inventory number.
    pub declaration_no: DeclarationNo,
    /// The train customs manifests it on.
    pub train_id: Option<FeedText>,
    /// Its container.
    pub container_no: Option<FeedText>,
    /// The train's customs release cut-off, when the railway knows it.
    #[serde(with = "rfc3339_opt")]
    pub release_cutoff: Option<DateTime<Utc>>,
    /// The hold, whole.
    pub hold: Hold,
}

impl HeldParcel {
    fn new(d: Declaration, trains: &BTreeMap<String, Train>) -> Option<HeldParcel> {
        let hold = d.hold?;
        let release_cutoff = d
            .train_id
            .as_ref()
            .and_then(|t| trains.get(t.as_str()))
            .map(|t| t.cutoffs.customs_release);
        Some(HeldParcel {
            declaration_no: d.declaration_no,
            train_id: d.train_id,
            container_no: d.container_no.map(|c| c.text().clone()),
            release_cutoff,
            hold,
        })
    }
}

/// Which held parcels `list` shows.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// On this train (its id or number).
    pub train: Option<String>,
    /// Claimed by the officer behind the token.
    pub mine: bool,
    /// Claimed by nobody.
    pub unclaimed: bool,
}

impl ListFilter {
    fn keeps(&self, p: &HeldParcel, officer: Option<&Officer>) -> bool {
        let on_train = self.train.as_deref().is_none_or(|wanted| {
            p.train_id.as_deref().is_some_and(|id| {
                id.eq_ignore_ascii_case(wanted)
                    || id
                        .to_ascii_uppercase()
                        .starts_with(&format!("{}-", wanted.to_ascii_uppercase()))
            })
        });
        let claimed_by = p.hold.claimed_by.as_deref();
        let mine = !self.mine || officer.is_some_and(|o| claimed_by == Some(o.officer_id.as_str()));
        let unclaimed = !self.unclaimed || claimed_by.is_none();
        on_train && mine && unclaimed
    }
}

/// Every parcel held now (customs `listHolds`), with its train's release
/// cut-off, most urgent first: the nearest cut-off, then the longest held.
pub async fn held(customs: &ApiClient, railway: &ApiClient) -> Result<Vec<HeldParcel>, FeedError> {
    let mut declarations = Vec::new();
    let mut token = None;
    for _ in 0..MAX_PAGES {
        let page = customs.holds_page(token.as_ref(), PAGE_SIZE).await?;
        declarations.extend(page.items);
        match page.next_page_token {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    let trains = trains_of(
        railway,
        declarations.iter().filter_map(|d| d.train_id.as_deref()),
    )
    .await;
    let mut held: Vec<HeldParcel> = declarations
        .into_iter()
        .filter_map(|d| HeldParcel::new(d, &trains))
        .collect();
    held.sort_by(|a, b| {
        (
            a.release_cutoff.is_none(),
            a.release_cutoff,
            a.hold.placed_at,
        )
            .cmp(&(
                b.release_cutoff.is_none(),
                b.release_cutoff,
                b.hold.placed_at,
            ))
    });
    Ok(held)
}

/// The trains of these ids the railway can tell of (one it cannot is left
/// out: its parcels show no cut-off).
async fn trains_of<'a>(
    railway: &ApiClient,
    ids: impl Iterator<Item = &'a str>,
) -> BTreeMap<String, Train> {
    let mut trains = BTreeMap::new();
    let wanted: std::collections::BTreeSet<&str> = ids.collect();
    for id in wanted {
        if let Ok(train) = railway.train(id).await {
            trains.insert(id.to_owned(), train);
        }
    }
    trains
}

/// `hold list`: the held parcels the filter keeps, as text or JSON.
pub fn list_output(
    held: &[HeldParcel],
    filter: &ListFilter,
    officer: Option<&Officer>,
    json: bool,
    now: DateTime<Utc>,
) -> String {
    let kept: Vec<&HeldParcel> = held.iter().filter(|p| filter.keeps(p, officer)).collect();
    if json {
        return json_for_terminal(&kept) + "\n";
    }
    let rows: Vec<Vec<String>> = kept
        .iter()
        .map(|p| {
            let h = &p.hold;
            vec![
                p.declaration_no.to_string(),
                p.train_id.as_deref().unwrap_or("-").to_owned(),
                h.reason_code.label(Lang::En).into_owned(),
                crate::domain::risk::duration_text(now - h.placed_at, Lang::En),
                h.claimed_by.as_deref().unwrap_or("unclaimed").to_owned(),
                flags(h),
                h.version.to_string(),
                p.release_cutoff.map_or("-".to_owned(), |at| until(at, now)),
                h.notes.last().map_or(String::new(), note_line),
            ]
        })
        .collect();
    let header = [
        "DECLARATION",
        "TRAIN",
        "REASON",
        "HELD FOR",
        "CLAIMED BY",
        "FLAGS",
        "V",
        "RELEASE CUT-OFF",
        "LAST NOTE",
    ];
    let mut out = table(&header, &rows, 60);
    out.push_str(&format!("{} held\n", kept.len()));
    out
}

/// `P`, `E`, `D` for priority inspection, escalated, deferral asked.
fn flags(h: &Hold) -> String {
    let mark = |on: bool, c: char| if on { c } else { '·' };
    [
        mark(h.priority_inspection, 'P'),
        mark(h.escalated, 'E'),
        mark(h.defer_requested, 'D'),
    ]
    .iter()
    .collect()
}

fn note_line(n: &Note) -> String {
    format!("{}: {}", n.officer_id, n.text)
}

fn until(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let left = crate::domain::risk::duration_text(at - now, Lang::En);
    if at >= now {
        format!("in {left}")
    } else {
        format!("{left} ago")
    }
}

/// One parcel as `hold show` tells it.
#[derive(Debug, Serialize)]
pub struct Shown {
    /// The declaration, whole, as customs has it.
    pub declaration: Declaration,
    /// Its train's release cut-off.
    #[serde(with = "rfc3339_opt")]
    pub release_cutoff: Option<DateTime<Utc>>,
    /// This officer's actions on it, from the journal, oldest first.
    pub mine: Vec<super::journal::Line>,
}

/// `hold show`: one parcel, its hold and notes, and this officer's
/// actions on it.
pub fn show_output(shown: &Shown, json: bool, now: DateTime<Utc>) -> String {
    if json {
        return json_for_terminal(shown) + "\n";
    }
    let d = &shown.declaration;
    let mut out = String::new();
    let mut field = |name: &str, value: String| out.push_str(&format!("{name:<13}{value}\n"));
    field("declaration", d.declaration_no.to_string());
    field("waybill", d.waybill_no.to_string());
    field("enterprise", format!("{} ({})", d.ebc.name, d.ebc.code));
    field(
        "train",
        d.train_id.as_deref().unwrap_or("-").to_owned()
            + &shown.release_cutoff.map_or(String::new(), |at| {
                format!(" · customs release cut-off {}", until(at, now))
            }),
    );
    field(
        "container",
        d.container_no
            .as_ref()
            .map_or("-".to_owned(), ToString::to_string),
    );
    field(
        "status",
        format!("{} {}", d.status.code, d.status.code.label(Lang::En)),
    );
    match &d.hold {
        None => field("hold", "none".to_owned()),
        Some(h) => {
            field(
                "hold",
                format!(
                    "{} — {} (held for {})",
                    h.reason_code.label(Lang::En),
                    h.reason,
                    crate::domain::risk::duration_text(now - h.placed_at, Lang::En)
                ),
            );
            field(
                "claimed by",
                h.claimed_by.as_deref().unwrap_or("unclaimed").to_owned(),
            );
            field("flags", flags(h));
            field("version", h.version.to_string());
            for n in &h.notes {
                field(
                    "note",
                    format!("{} {}", n.at.format("%Y-%m-%d %H:%M UTC"), note_line(n)),
                );
            }
        }
    }
    for line in &shown.mine {
        field("my action", line.summary());
    }
    out
}

/// What a script asked to do.
#[derive(Debug, Clone)]
pub struct Ask {
    /// The action.
    pub kind: HoldActionKind,
    /// On these parcels, in this order.
    pub declarations: Vec<String>,
    /// The note (needed for `note`, optional beside the others).
    pub note: Option<String>,
    /// No question before a consequential action.
    pub yes: bool,
    /// Take no action at all.
    pub read_only: bool,
}

/// Where one parcel's action ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Ended {
    /// Refused before anything was sent.
    RefusedHere {
        /// Machine-readable, like the contract's codes.
        code: String,
        /// Why, in words.
        message: String,
    },
    /// Customs could not be asked (the parcel could not be read).
    NotAsked {
        /// Why.
        message: String,
    },
    /// Sent; where it stands (an unanswered one stays in the journal).
    Sent {
        /// The idempotency key.
        key: String,
        /// Where it stands.
        outcome: Outcome,
    },
}

impl Ended {
    fn exit(&self) -> Exit {
        match self {
            Ended::RefusedHere { .. } => Exit::Refused,
            Ended::NotAsked { .. } => Exit::Unreachable,
            Ended::Sent { outcome, .. } => match outcome {
                Outcome::Done { .. } => Exit::Done,
                Outcome::Refused { .. } | Outcome::Discarded => Exit::Refused,
                Outcome::Pending { .. } | Outcome::Stuck { .. } => Exit::Unreachable,
            },
        }
    }

    fn words(&self) -> String {
        match self {
            Ended::RefusedHere { message, .. } => format!("refused here: {message}"),
            Ended::NotAsked { message } => format!("not sent: {message}"),
            Ended::Sent { outcome, .. } => match outcome {
                Outcome::Done { hold: Some(h) } => format!("recorded (hold version {})", h.version),
                Outcome::Done { hold: None } => "recorded".to_owned(),
                Outcome::Refused { code, message } => format!("refused: {code} {message}"),
                Outcome::Pending { last_error, .. } | Outcome::Stuck { last_error, .. } => {
                    format!(
                        "no answer yet ({}); kept in the journal, sent again by the next board or command",
                        last_error.as_deref().unwrap_or("not sent")
                    )
                }
                Outcome::Discarded => "discarded".to_owned(),
            },
        }
    }
}

/// One parcel's line in the result.
#[derive(Debug, Clone, Serialize)]
pub struct Done {
    /// The parcel.
    pub declaration_no: String,
    /// The action.
    pub action: HoldActionKind,
    /// Where it ended.
    #[serde(flatten)]
    pub ended: Ended,
}

/// What `hold <action>` did: a line per parcel, and the exit code.
#[derive(Debug, Clone)]
pub struct Acted {
    /// Per parcel, in the order asked.
    pub done: Vec<Done>,
    /// Unanswered intents of earlier runs this one sent too.
    pub earlier: usize,
}

impl Acted {
    /// 0 all recorded, 1 something refused, 3 something unanswered.
    pub fn exit(&self) -> Exit {
        self.done
            .iter()
            .map(|d| d.ended.exit())
            .max()
            .unwrap_or(Exit::Done)
    }

    /// As text (a line per parcel) or JSON.
    pub fn output(&self, json: bool) -> String {
        if json {
            return json_for_terminal(&self.done) + "\n";
        }
        let rows: Vec<Vec<String>> = self
            .done
            .iter()
            .map(|d| {
                vec![
                    d.declaration_no.clone(),
                    d.action.as_str().to_owned(),
                    d.ended.words(),
                ]
            })
            .collect();
        table(&["DECLARATION", "ACTION", "RESULT"], &rows, 100)
    }
}

/// How a command talks to the person running it: questions (answered
/// `None` when nobody can answer), and progress on stderr.
pub trait Console {
    /// Asks a yes-or-no question; `None` when there is no one to ask.
    fn ask(&mut self, question: &str) -> Option<bool>;
    /// Tells of progress.
    fn progress(&mut self, line: &str);
}

/// Does what a script asked, on the officer's desk, within `wait` for the
/// answers.
#[allow(clippy::too_many_arguments)]
pub async fn act(
    ask: Ask,
    customs: &ApiClient,
    officer: &Officer,
    journal_dir: Option<&Path>,
    policy: SendPolicy,
    wait: StdDuration,
    lang: Lang,
    console: &mut dyn Console,
) -> Acted {
    let refuse_all = |refusal: Refusal| Acted {
        done: ask
            .declarations
            .iter()
            .map(|no| Done {
                declaration_no: no.clone(),
                action: ask.kind.clone(),
                ended: Ended::RefusedHere {
                    code: refusal.code().to_owned(),
                    message: refusal.text(lang),
                },
            })
            .collect(),
        earlier: 0,
    };
    if ask.read_only {
        return refuse_all(Refusal::ReadOnly);
    }
    if let Err(refusal) = rules::may_act(officer) {
        return refuse_all(refusal);
    }
    let note = match (&ask.kind, ask.note.as_deref()) {
        (HoldActionKind::Note, text) => match rules::note_text(text) {
            Ok(note) => Some(note),
            Err(refusal) => return refuse_all(refusal),
        },
        (_, text) => text.and_then(|t| rules::note_text(Some(t)).ok()),
    };

    // Each parcel as customs has it now: the rules, and the version to expect.
    let mut ended: Vec<Option<Ended>> = Vec::new();
    let mut versions: Vec<Option<u64>> = Vec::new();
    for number in &ask.declarations {
        let (end, version) = judge(customs, officer, &ask.kind, number, lang).await;
        ended.push(end);
        versions.push(version);
    }
    let asked: Vec<&String> = ask
        .declarations
        .iter()
        .zip(&ended)
        .filter(|(_, e)| e.is_none())
        .map(|(n, _)| n)
        .collect();
    if !asked.is_empty() && rules::asks_first(&ask.kind) && !ask.yes {
        let question = format!(
            "{} {} held parcel(s): {}?",
            ask.kind.label(lang),
            asked.len(),
            asked
                .iter()
                .map(|n| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        let refusal = match console.ask(&question) {
            Some(true) => None,
            Some(false) => Some("not confirmed"),
            None => Some("asks first: confirm with --yes"),
        };
        if let Some(why) = refusal {
            for end in ended.iter_mut().filter(|e| e.is_none()) {
                *end = Some(Ended::RefusedHere {
                    code: "not_confirmed".to_owned(),
                    message: why.to_owned(),
                });
            }
        }
    }

    // On the desk (on the disk first), then sent.
    let origin = Origin::new(customs.base_url(), &officer.officer_id);
    let opened = Desk::open(journal_dir, origin.clone());
    if let Err(why) = &opened.journal {
        console.progress(&format!(
            "triage journal {why}; unanswered actions will not survive this command"
        ));
    }
    let desk = opened.desk;
    let earlier = desk.outbox().unanswered().len() - opened.foreign;
    if earlier > 0 {
        console.progress(&format!(
            "{earlier} action(s) left unanswered by an earlier run go first"
        ));
    }
    let now = Utc::now();
    let mut keys: Vec<Option<String>> = vec![None; ended.len()];
    for (i, number) in ask.declarations.iter().enumerate() {
        if ended[i].is_some() {
            continue;
        }
        let intent = Intent::new(
            &origin,
            number,
            ask.kind.clone(),
            note.clone(),
            versions[i],
            now,
        );
        match desk.submit(intent.clone()) {
            Ok(()) => {
                console.progress(&format!(
                    "queued {} {number} (key {})",
                    ask.kind.as_str(),
                    intent.key
                ));
                keys[i] = Some(intent.key);
            }
            Err(why) => {
                ended[i] = Some(Ended::RefusedHere {
                    code: "journal".to_owned(),
                    message: why,
                })
            }
        }
    }
    let waiting: Vec<String> = keys.iter().flatten().cloned().collect();
    let outcomes = send(customs, &desk, policy, &waiting, wait, console).await;
    let done = ask
        .declarations
        .iter()
        .zip(ended)
        .zip(keys)
        .map(|((number, end), key)| Done {
            declaration_no: number.clone(),
            action: ask.kind.clone(),
            ended: end.unwrap_or_else(|| {
                let key = key.expect("sent when not ended here");
                let outcome = outcomes.get(&key).cloned().unwrap_or(Outcome::NEW);
                Ended::Sent { key, outcome }
            }),
        })
        .collect();
    Acted { done, earlier }
}

/// Reads a parcel and judges the action on it by the rules: `None` and the
/// version to expect when it may be sent.
async fn judge(
    customs: &ApiClient,
    officer: &Officer,
    kind: &HoldActionKind,
    number: &str,
    lang: Lang,
) -> (Option<Ended>, Option<u64>) {
    if !DeclarationNo::new(number).is_valid() {
        let message = format!("{number:?} is not an inventory number (8 digits, E or I, 9 digits)");
        return (
            Some(Ended::RefusedHere {
                code: "bad_request".to_owned(),
                message,
            }),
            None,
        );
    }
    match customs.declaration(number).await {
        Ok(d) => match rules::check(officer, kind, number, d.hold.as_ref()) {
            Ok(version) => (None, Some(version)),
            Err(refusal) => (
                Some(Ended::RefusedHere {
                    code: refusal.code().to_owned(),
                    message: refusal.text(lang),
                }),
                None,
            ),
        },
        Err(FeedError::Refused { status: 404, .. }) => (
            Some(Ended::RefusedHere {
                code: "not_found".to_owned(),
                message: format!("customs knows no declaration {number}"),
            }),
            None,
        ),
        Err(e) => (
            Some(Ended::NotAsked {
                message: e.to_string(),
            }),
            None,
        ),
    }
}

/// Runs the sender until every key in `waiting` is answered or stuck, or
/// `wait` has passed; where each stands then.
async fn send(
    customs: &ApiClient,
    desk: &Desk,
    policy: SendPolicy,
    waiting: &[String],
    wait: StdDuration,
    console: &mut dyn Console,
) -> BTreeMap<String, Outcome> {
    let mut outcomes: BTreeMap<String, Outcome> = BTreeMap::new();
    if waiting.is_empty() {
        return outcomes;
    }
    let (report_tx, mut reports) = mpsc::channel(64);
    let task = tokio::spawn(sender::run(
        customs.clone(),
        desk.clone(),
        report_tx,
        policy,
    ));
    let total = waiting.len();
    let collect = async {
        while outcomes.len() < total || outcomes.values().any(Outcome::is_pending) {
            let Some(report) = reports.recv().await else {
                break;
            };
            if !waiting.contains(&report.key) {
                continue;
            }
            let settled = outcomes.values().filter(|o| !o.is_pending()).count();
            if !report.outcome.is_pending() {
                console.progress(&format!(
                    "[{}/{total}] {} {}",
                    settled + 1,
                    report.declaration_no,
                    Ended::Sent {
                        key: report.key.clone(),
                        outcome: report.outcome.clone()
                    }
                    .words()
                ));
            }
            outcomes.insert(report.key, report.outcome);
        }
    };
    let _ = Deadline::after(wait).run(collect).await;
    task.abort();
    // What the desk knows now (an intent never tried is still new).
    let outbox = desk.outbox();
    waiting
        .iter()
        .filter_map(|key| outbox.get(key).map(|e| (key.clone(), e.outcome.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parcel(train: &str, claimed_by: Option<&str>) -> HeldParcel {
        HeldParcel {
            declaration_no: DeclarationNo::new("94022026E000012345"),
            train_id: Some(train.into()),
            container_no: None,
            release_cutoff: None,
            hold: Hold {
                reason_code: crate::domain::HoldReason::Undervalued,
                reason: "undervalued".into(),
                placed_at: "2026-11-26T03:30:00Z".parse().unwrap(),
                claimed_by: claimed_by.map(Into::into),
                claimed_at: None,
                priority_inspection: true,
                escalated: false,
                defer_requested: true,
                notes: Vec::new(),
                version: 3,
            },
        }
    }

    #[test]
    fn the_list_filter_keeps_what_it_says() {
        let wang = Officer {
            officer_id: "ALK-0417".into(),
            name: "Wang Fang".into(),
            role: crate::domain::Role::Officer,
        };
        let mine = parcel("X8017-20261126", Some("ALK-0417"));
        let free = parcel("X8019-20261126", None);
        let by_train = ListFilter {
            train: Some("x8017".to_owned()),
            ..ListFilter::default()
        };
        assert!(by_train.keeps(&mine, None));
        assert!(!by_train.keeps(&free, None));
        let only_mine = ListFilter {
            mine: true,
            ..ListFilter::default()
        };
        assert!(only_mine.keeps(&mine, Some(&wang)));
        assert!(!only_mine.keeps(&free, Some(&wang)));
        let unclaimed = ListFilter {
            unclaimed: true,
            ..ListFilter::default()
        };
        assert!(unclaimed.keeps(&free, None) && !unclaimed.keeps(&mine, None));
        assert_eq!(flags(&mine.hold), "P·D");
    }

    #[test]
    fn the_exit_code_tells_the_worst() {
        let done = |ended| Done {
            declaration_no: "94022026E000012345".to_owned(),
            action: HoldActionKind::Claim,
            ended,
        };
        let recorded = done(Ended::Sent {
            key: "k".to_owned(),
            outcome: Outcome::Done { hold: None },
        });
        let refused = done(Ended::RefusedHere {
            code: "not_held".to_owned(),
            message: "not held".to_owned(),
        });
        let unanswered = done(Ended::Sent {
            key: "k".to_owned(),
            outcome: Outcome::NEW,
        });
        let acted = |done: Vec<Done>| Acted { done, earlier: 0 }.exit();
        assert_eq!(acted(vec![recorded.clone()]), Exit::Done);
        assert_eq!(
            acted(vec![recorded.clone(), refused.clone()]),
            Exit::Refused
        );
        assert_eq!(
            acted(vec![refused, unanswered, recorded]),
            Exit::Unreachable
        );
    }
}
