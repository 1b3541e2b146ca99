//! Each officer's line to customs, for `greenchannel serve`: who their
//! token is (asked of customs, and it must be the officer the keys file
//! names), and, when they may act, their one triage desk and sender, shared
//! by all their sessions. The hold each answer carries goes on the shared
//! board; the answer itself to every session of theirs.

use std::collections::HashMap;
use std::path::PathBuf;

use tokio::sync::{broadcast, watch};

use super::shared::Keeper;
use super::{Tasks, open_triage};
use crate::domain::Officer;
use crate::feeds::client::ApiClient;
use crate::feeds::{self, Backoff};
use crate::triage::desk::Desk;
use crate::triage::sender::SendPolicy;
use crate::triage::{Origin, Report};

/// Answers kept for a session that is behind in reading them.
const ANSWERS: usize = 64;

/// Where an officer's line stands.
#[derive(Debug, Clone)]
pub enum LineState {
    /// Customs has not yet said whose the token is.
    Asking,
    /// Customs said: the officer, and their desk if they may act.
    Known {
        /// As customs knows them.
        officer: Officer,
        /// Their triage, unless they may only read.
        desk: Option<OpenDesk>,
    },
    /// The token is refused, or is another officer's: why, for the footer.
    Refused(String),
}

/// An officer's triage desk, open.
#[derive(Debug, Clone)]
pub struct OpenDesk {
    /// The desk (journal and outbox).
    pub desk: Desk,
    /// Whom and where it sends for.
    pub origin: Origin,
    /// What opening the journal found that the officer should be told.
    pub notice: Option<String>,
}

/// An officer's line, as their sessions follow it.
#[derive(Debug, Clone)]
pub struct Line {
    state: watch::Receiver<LineState>,
    answers: broadcast::Sender<Report>,
}

impl Line {
    /// Where the line stands, as it changes.
    pub fn state(&self) -> watch::Receiver<LineState> {
        self.state.clone()
    }

    /// The answers to the officer's actions from now on.
    pub fn answers(&self) -> broadcast::Receiver<Report> {
        self.answers.subscribe()
    }
}

/// What an officer's line is started with.
#[derive(Debug, Clone)]
pub struct Signing {
    /// The officer the token must belong to.
    pub officer_id: String,
    /// Customs, under the officer's own token.
    pub customs: ApiClient,
    /// Whether to open a desk (not for viewers, nor when read-only).
    pub may_act: bool,
}

/// Every officer's line, by officer id.
#[derive(Debug, Default)]
pub struct Lines {
    lines: HashMap<String, Line>,
    tasks: Tasks,
}

impl Lines {
    /// Starts a line per officer: the lookups at once, desks and senders
    /// as customs answers.
    pub fn start(
        signings: Vec<Signing>,
        keeper: &Keeper,
        journal_dir: Option<PathBuf>,
        policy: SendPolicy,
        backoff: Backoff,
    ) -> Lines {
        let mut lines = Lines::default();
        for signing in signings {
            let (state, follow) = watch::channel(LineState::Asking);
            let (answers, _) = broadcast::channel(ANSWERS);
            lines.lines.insert(
                signing.officer_id.clone(),
                Line {
                    state: follow,
                    answers: answers.clone(),
                },
            );
            lines.tasks.spawn(run_line(
                signing,
                keeper.clone(),
                journal_dir.clone(),
                (policy, backoff),
                (state, answers),
            ));
        }
        lines
    }

    /// The line of an officer.
    pub fn get(&self, officer_id: &str) -> Option<&Line> {
        self.lines.get(officer_id)
    }
}

/// One officer's line: who the token is, then their desk and the answers.
async fn run_line(
    signing: Signing,
    keeper: Keeper,
    journal_dir: Option<PathBuf>,
    (policy, backoff): (SendPolicy, Backoff),
    (state, answers): (watch::Sender<LineState>, broadcast::Sender<Report>),
) {
    let Signing {
        officer_id,
        customs,
        may_act,
    } = signing;
    let (found, mut officer) = tokio::sync::mpsc::channel(1);
    let mut tasks = Tasks::default();
    tasks.spawn(feeds::officer::look_up(customs.clone(), backoff, found));
    let Some(officer) = officer.recv().await else {
        tracing::warn!("officer {officer_id}: customs refused the token");
        state.send_replace(LineState::Refused(format!(
            "customs refused the token of {officer_id}"
        )));
        return;
    };
    if officer.officer_id.as_str() != officer_id {
        tracing::error!(
            "officer {officer_id}: customs says the token is {}'s; no actions from this key",
            officer.officer_id
        );
        state.send_replace(LineState::Refused(format!(
            "customs says this token is {}'s, not {officer_id}'s: read only",
            officer.officer_id
        )));
        return;
    }
    if !(may_act && officer.role.may_act()) {
        state.send_replace(LineState::Known {
            officer,
            desk: None,
        });
        return;
    }
    let mut triage = open_triage(
        &customs,
        &officer,
        journal_dir.as_deref(),
        policy,
        &mut tasks,
    );
    state.send_replace(LineState::Known {
        officer,
        desk: Some(OpenDesk {
            desk: triage.desk.clone(),
            origin: triage.origin.clone(),
            notice: triage.notice.clone(),
        }),
    });
    while let Some(report) = triage.reports.recv().await {
        keeper.take_answer(&report).await;
        // No session of theirs now: the journal has it all the same.
        let _ = answers.send(report);
    }
}
