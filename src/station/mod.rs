//! The station: what keeps a board going, started in one place for the
//! local board and the server alike — both feeds' pollers, who a customs
//! token belongs to (asked of customs), and an officer's triage desk with
//! its sender. For the server it also keeps the one board every session
//! reads ([`shared`]) and each officer's line to customs ([`officers`]).

pub mod officers;
pub mod shared;

use std::future::Future;
use std::path::Path;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::board::Board;
use crate::config::Config;
use crate::domain::Officer;
use crate::feeds::client::ApiClient;
use crate::feeds::health::FeedHealth;
use crate::feeds::{self, FeedMessage};
use crate::triage::desk::{Desk, Opened};
use crate::triage::sender::{self, SendPolicy};
use crate::triage::{Origin, Outcome, Report};

/// Tasks that are stopped when this is dropped, so that nothing is left
/// running behind whoever started them.
#[derive(Debug, Default)]
pub struct Tasks(Vec<JoinHandle<()>>);

impl Tasks {
    /// Runs `task` until it ends or this is dropped.
    pub fn spawn(&mut self, task: impl Future<Output = ()> + Send + 'static) {
        self.0.retain(|t| !t.is_finished());
        self.0.push(tokio::spawn(task));
    }
}

impl Drop for Tasks {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// Starts both feeds' pollers: what they deliver and their health come
/// out of the receiver, railway and customs interleaved.
pub fn start_feeds(
    config: &Config,
    railway: ApiClient,
    customs: ApiClient,
    tasks: &mut Tasks,
) -> mpsc::Receiver<FeedMessage> {
    let (to_board, from_feeds) = mpsc::channel(256);
    for client in [railway, customs] {
        let poller = feeds::poller(client, config);
        tasks.spawn(poller.run(to_board.clone()));
    }
    from_feeds
}

/// Asks customs whose token `customs` carries, again with back-off until
/// it answers; the receiver gets the officer (or closes when customs
/// refuses the token for good).
pub fn look_up_officer(
    customs: ApiClient,
    config: &Config,
    tasks: &mut Tasks,
) -> mpsc::Receiver<Officer> {
    let (found, officer) = mpsc::channel(1);
    tasks.spawn(feeds::officer::look_up(
        customs,
        feeds::backoff(config),
        found,
    ));
    officer
}

/// An officer's triage, open: the desk every action goes through, whom
/// and where it sends for, and what its sender reports.
#[derive(Debug)]
pub struct Triage {
    /// The desk (journal and outbox).
    pub desk: Desk,
    /// Whom and where the desk sends for.
    pub origin: Origin,
    /// What opening the journal found that the officer should be told.
    pub notice: Option<String>,
    /// Where each action stands, as the sender learns it.
    pub reports: mpsc::Receiver<Report>,
}

/// Opens `officer`'s desk (its journal in `journal_dir`; none: actions do
/// not survive a restart) and starts its sender to `customs`.
pub fn open_triage(
    customs: &ApiClient,
    officer: &Officer,
    journal_dir: Option<&Path>,
    policy: SendPolicy,
    tasks: &mut Tasks,
) -> Triage {
    let origin = Origin::new(customs.base_url(), &officer.officer_id);
    let opened = Desk::open(journal_dir, origin.clone());
    let (report, reports) = mpsc::channel(64);
    tasks.spawn(sender::run(
        customs.clone(),
        opened.desk.clone(),
        report,
        policy,
    ));
    Triage {
        notice: opened_notice(&opened),
        desk: opened.desk,
        origin,
        reports,
    }
}

/// What the officer is told about the journal when triage opens.
fn opened_notice(opened: &Opened) -> Option<String> {
    let mut notes = Vec::new();
    match &opened.journal {
        Ok(path) if opened.unreadable > 0 => notes.push(format!(
            "triage journal {}: {} unreadable line(s) skipped",
            path.display(),
            opened.unreadable
        )),
        Ok(_) => {}
        Err(e) => notes.push(format!(
            "triage journal {e}; actions will not survive a restart"
        )),
    }
    if opened.foreign > 0 {
        notes.push(format!(
            "{} unanswered action(s) in the journal were made for another API or officer: not sent",
            opened.foreign
        ));
    }
    (!notes.is_empty()).then(|| notes.join(" · "))
}

/// Puts the hold customs answered an action with on the board, before the
/// feed tells it.
pub fn take_answer(board: &mut Board, report: &Report, now: DateTime<Utc>) {
    if let Outcome::Done { hold: Some(hold) } = &report.outcome {
        board.hold_answered(&report.declaration_no, hold, now);
    }
}

/// The board's clock: this machine's, corrected by the skew the servers'
/// `Date` showed (customs first, else the railway).
pub fn servers_now(health: &[FeedHealth; 2]) -> DateTime<Utc> {
    Utc::now() - board_skew(health)
}

/// How far this machine's clock is ahead of the board's clock: the skew
/// customs showed, else the railway's. The board's clock plus this is
/// this machine's, whatever each feed's own skew.
pub fn board_skew(health: &[FeedHealth; 2]) -> chrono::Duration {
    health[1].skew.or(health[0].skew).unwrap_or_default()
}
