//! Delivers a desk's intents to customs, one at a time and in the order
//! they were made (a claim before the note that follows it). An intent
//! without an answer (timeout, dropped connection, 5xx, 429) is asked
//! again under the same key after a wait, so customs records it once, up
//! to a number of attempts: then it is stuck, shown, and blocks nothing
//! behind it. An answer is final: any `2xx` is recorded (even with a body
//! that cannot be read), a refusal or an answer the contract does not give
//! to an action (a `410`) is refused. Every step is written to the journal
//! (by the desk) before it is reported.

use std::time::Duration as StdDuration;

use tokio::sync::mpsc;

use super::desk::Desk;
use super::{Outcome, Report};
use crate::config::Config;
use crate::domain::FeedText;
use crate::feeds::Backoff;
use crate::feeds::client::{ApiClient, FeedError, Recorded};

/// How hard the sender tries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SendPolicy {
    /// Waits between attempts.
    pub backoff: Backoff,
    /// Attempts before an intent is stuck.
    pub max_attempts: u32,
}

impl SendPolicy {
    /// The policy of the settings.
    pub fn of(config: &Config) -> SendPolicy {
        SendPolicy {
            backoff: crate::feeds::backoff(config),
            max_attempts: config.triage.max_attempts,
        }
    }
}

/// The outcome of attempt number `attempt`.
fn outcome_of(answer: Result<Recorded, FeedError>, attempt: u32, policy: &SendPolicy) -> Outcome {
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
        Err(other) if attempt >= policy.max_attempts => Outcome::Stuck {
            attempts: attempt,
            last_error: Some(other.to_string()),
        },
        Err(other) => Outcome::Pending {
            attempts: attempt,
            last_error: Some(other.to_string()),
        },
    }
}

/// Sends the desk's intents until the receiver of the reports goes away.
pub async fn run(client: ApiClient, desk: Desk, reports: mpsc::Sender<Report>, policy: SendPolicy) {
    // The intent waiting to be tried again, and from when.
    let mut not_before: Option<(String, tokio::time::Instant)> = None;
    loop {
        let Some((intent, attempts, version)) = desk.next() else {
            tokio::select! {
                () = desk.changed() => continue,
                () = reports.closed() => return,
            }
        };
        if let Some((key, at)) = &not_before
            && *key == intent.key
            && *at > tokio::time::Instant::now()
        {
            // Woken early by a discard or a new intent: look again.
            tokio::select! {
                () = tokio::time::sleep_until(*at) => {}
                () = desk.changed() => continue,
                () = reports.closed() => return,
            }
        }
        let attempt = attempts + 1;
        let answer = client
            .hold_action(
                &intent.declaration_no,
                &intent.key,
                &intent.request(version),
            )
            .await;
        let asked_wait = answer.as_ref().err().and_then(FeedError::retry_after);
        let outcome = outcome_of(answer, attempt, &policy);
        not_before = outcome.is_pending().then(|| {
            let wait = policy
                .backoff
                .after(attempt)
                .max(asked_wait.unwrap_or(StdDuration::ZERO));
            (intent.key.clone(), tokio::time::Instant::now() + wait)
        });
        let Some(report) = desk.record(&intent.key, outcome) else {
            continue;
        };
        if reports.send(report).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feeds::client::ServerWait;

    const POLICY: SendPolicy = SendPolicy {
        backoff: Backoff {
            initial: StdDuration::from_secs(1),
            max: StdDuration::from_secs(60),
        },
        max_attempts: 3,
    };

    #[test]
    fn answers_become_outcomes() {
        let refused = outcome_of(
            Err(FeedError::Refused {
                status: 409,
                code: "claimed_by_other".into(),
                message: "claimed by ALK-0233".into(),
            }),
            1,
            &POLICY,
        );
        assert!(matches!(refused, Outcome::Refused { ref code, .. } if code == "claimed_by_other"));
        let lost = outcome_of(
            Err(FeedError::Transport("connection closed".into())),
            2,
            &POLICY,
        );
        assert!(matches!(lost, Outcome::Pending { attempts: 2, .. }));
        let busy = outcome_of(
            Err(FeedError::RateLimited {
                retry_after: ServerWait::seconds(5),
            }),
            1,
            &POLICY,
        );
        assert!(busy.is_pending());
        let viewer = outcome_of(
            Err(FeedError::Forbidden("this token may only read".into())),
            1,
            &POLICY,
        );
        assert!(!viewer.is_unanswered());
    }

    #[test]
    fn what_would_block_everything_behind_it_ends() {
        // A 2xx whose body does not parse is recorded; a 410 is final.
        let unreadable = outcome_of(
            Ok(Recorded {
                created: true,
                result: Err("expected value at line 1".into()),
            }),
            1,
            &POLICY,
        );
        assert_eq!(unreadable, Outcome::Done { hold: None });
        let gone = outcome_of(Err(FeedError::CursorExpired), 1, &POLICY);
        assert!(matches!(gone, Outcome::Refused { ref code, .. } if code == "gone"));
        // No answer, again and again: stuck after the last attempt.
        let last = outcome_of(Err(FeedError::Transport("timed out".into())), 3, &POLICY);
        assert!(
            matches!(last, Outcome::Stuck { attempts: 3, .. }),
            "{last:?}"
        );
    }
}
