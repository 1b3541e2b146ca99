//! Delivers triage intents to customs, one at a time and in order (a claim
//! before the note that follows it). An intent without an answer (timeout,
//! dropped connection, 5xx, 429) is asked again under the same key after a
//! wait, so customs records it once; a refusal (409, 422, 403…) is final.
//! Every step is written to the journal before it is reported.

use std::collections::VecDeque;

use tokio::sync::mpsc;

use super::journal::Journal;
use super::{Intent, Outcome, Report};
use crate::domain::FeedText;
use crate::feeds::Backoff;
use crate::feeds::client::{ApiClient, FeedError, Recorded};

/// The outcome of one attempt. Any `2xx` is recorded (even with a body
/// that cannot be read); a refusal, or an answer the contract does not
/// give to an action (a `410`), is final; no answer, `429` and `5xx` are
/// asked again.
fn outcome_of(answer: Result<Recorded, FeedError>, attempts: u32) -> Outcome {
    let refused = |code: &str, message: FeedText| Outcome::Refused {
        code: FeedText::new(code),
        message,
    };
    match answer {
        Ok(Recorded { result, .. }) => Outcome::Done {
            hold: result.ok().map(|r| Box::new(r.hold)),
        },
        Err(FeedError::Refused { code, message, .. }) => Outcome::Refused { code, message },
        Err(FeedError::Forbidden(message)) => refused("forbidden", message),
        Err(FeedError::Unauthorized(message)) => refused("unauthorized", message),
        Err(FeedError::CursorExpired) => refused("gone", FeedText::new("410 to an action")),
        Err(other) => Outcome::Pending {
            attempts,
            last_error: Some(other.to_string()),
        },
    }
}

/// Writes to the journal, if there is one; a failure is logged, not
/// fatal (the action is still sent, it only will not outlive a restart).
fn write_down(
    journal: &mut Option<Journal>,
    write: impl FnOnce(&mut Journal) -> std::io::Result<()>,
) {
    if let Some(journal) = journal.as_mut()
        && let Err(e) = write(journal)
    {
        tracing::warn!("triage journal {}: {e}", journal.path().display());
    }
}

/// Sends intents until the board program goes away: those left pending
/// in the journal first, then each new one.
pub async fn run(
    client: ApiClient,
    mut journal: Option<Journal>,
    pending: Vec<Intent>,
    mut intents: mpsc::Receiver<Intent>,
    reports: mpsc::Sender<Report>,
    backoff: Backoff,
) {
    let mut queue: VecDeque<(Intent, u32)> = pending.into_iter().map(|i| (i, 0)).collect();
    // When the front intent may be tried again (after a failed attempt).
    let mut not_before: Option<tokio::time::Instant> = None;
    // A new intent is written down before anything is sent.
    let take =
        |intent: Intent, queue: &mut VecDeque<(Intent, u32)>, journal: &mut Option<Journal>| {
            write_down(journal, |j| j.intent(&intent));
            queue.push_back((intent, 0));
        };
    loop {
        // Take new intents; wait for one if there is nothing to send.
        if queue.is_empty() {
            match intents.recv().await {
                Some(intent) => take(intent, &mut queue, &mut journal),
                None => return,
            }
        }
        while let Ok(intent) = intents.try_recv() {
            take(intent, &mut queue, &mut journal);
        }
        if let Some(deadline) = not_before {
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => {}
                intent = intents.recv() => match intent {
                    Some(intent) => {
                        take(intent, &mut queue, &mut journal);
                        continue;
                    }
                    None => return,
                },
            }
        }
        let (intent, attempts) = queue.front_mut().expect("not empty");
        *attempts += 1;
        let answer = client
            .hold_action(&intent.declaration_no, &intent.key, &intent.request())
            .await;
        let retry_after = answer.as_ref().err().and_then(FeedError::retry_after);
        let outcome = outcome_of(answer, *attempts);
        write_down(&mut journal, |j| j.outcome(&intent.key, &outcome));
        let report = Report {
            key: intent.key.clone(),
            outcome: outcome.clone(),
        };
        if outcome.is_pending() {
            // The same intent again, under the same key, after a wait.
            let wait = backoff
                .after(*attempts)
                .max(retry_after.unwrap_or_default());
            not_before = Some(tokio::time::Instant::now() + wait);
        } else {
            queue.pop_front();
            not_before = None;
        }
        if reports.send(report).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_become_outcomes() {
        let refused = outcome_of(
            Err(FeedError::Refused {
                status: 409,
                code: "claimed_by_other".into(),
                message: "claimed by ALK-0233".into(),
            }),
            1,
        );
        assert!(matches!(refused, Outcome::Refused { ref code, .. } if code == "claimed_by_other"));
        let lost = outcome_of(Err(FeedError::Transport("connection closed".into())), 2);
        assert!(matches!(lost, Outcome::Pending { attempts: 2, .. }));
        let busy = outcome_of(
            Err(FeedError::Unavailable {
                status: 503,
                retry_after: None,
            }),
            1,
        );
        assert!(busy.is_pending());
        let viewer = outcome_of(
            Err(FeedError::Forbidden("this token may only read".into())),
            1,
        );
        assert!(!viewer.is_pending());
    }
}
