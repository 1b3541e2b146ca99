//! The feed clients: the only place with HTTP. Each of the two upstream
//! APIs is read by a [`poller::Poller`] that turns what it gets into
//! deliveries for the board and health for the header.

pub mod client;
pub mod deadline;
pub mod health;
pub mod officer;
pub mod poller;

use std::time::Duration as StdDuration;

use serde::Serialize;

use crate::config::{ApiConfig, Config, ConfigError};
use crate::domain::Delivery;
use client::{ApiClient, FeedError, Timeouts, Token};
use deadline::Deadline;
use health::{FeedHealth, HealthLimits};
use poller::{PollSettings, Poller};

/// One of the two upstream APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Feed {
    /// The border station's railway API.
    Railway,
    /// The customs clearance API.
    Customs,
}

impl Feed {
    /// Both, railway first.
    pub const BOTH: [Feed; 2] = [Feed::Railway, Feed::Customs];

    /// Its place in [`Feed::BOTH`].
    pub fn index(self) -> usize {
        match self {
            Feed::Railway => 0,
            Feed::Customs => 1,
        }
    }

    /// The name.
    pub fn as_str(self) -> &'static str {
        match self {
            Feed::Railway => "railway",
            Feed::Customs => "customs",
        }
    }

    /// The snapshot list of the API.
    pub fn snapshot_path(self) -> &'static str {
        match self {
            Feed::Railway => "/v1/trains",
            Feed::Customs => "/v1/declarations",
        }
    }

    /// The environment variable holding the feed's token.
    pub fn token_variable(self) -> &'static str {
        match self {
            Feed::Railway => "GREENCHANNEL_RAILWAY_TOKEN",
            Feed::Customs => "GREENCHANNEL_CUSTOMS_TOKEN",
        }
    }

    fn api(self, config: &Config) -> &ApiConfig {
        match self {
            Feed::Railway => &config.railway,
            Feed::Customs => &config.customs,
        }
    }
}

/// What pollers tell the board's owner.
#[derive(Debug)]
pub enum FeedMessage {
    /// Something to apply to the board.
    Delivered {
        /// From which feed.
        feed: Feed,
        /// What.
        delivery: Delivery,
    },
    /// The feed's health after a request.
    Health(Box<FeedHealth>),
}

/// The token of a feed: its environment variable, else its `token_file`.
pub fn token(
    feed: Feed,
    config: &Config,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<Token>, ConfigError> {
    if let Some(token) = env(feed.token_variable()).as_deref().and_then(Token::new) {
        return Ok(Some(token));
    }
    match &feed.api(config).token_file {
        Some(path) => std::fs::read_to_string(path)
            .map(|text| Token::new(&text))
            .map_err(|e| {
                ConfigError::new(&format!(
                    "{}.token_file {}: {e}",
                    feed.as_str(),
                    path.display()
                ))
            }),
        None => Ok(None),
    }
}

/// A setting's seconds as a duration; more than a duration holds (the
/// settings allow any positive number, `inf` too) is the longest.
fn seconds(s: f64) -> StdDuration {
    StdDuration::try_from_secs_f64(s.max(0.0)).unwrap_or(StdDuration::MAX)
}

/// Waits that double after each failure in a row, up to a cap. The
/// pollers, the triage sender and the officer lookup all pace themselves
/// with it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The wait after the first failure.
    pub initial: StdDuration,
    /// The longest wait.
    pub max: StdDuration,
}

impl Backoff {
    /// The wait after `failures` failures in a row (none or one: `initial`).
    pub fn after(&self, failures: u32) -> StdDuration {
        let doublings = failures.saturating_sub(1).min(20);
        self.initial.saturating_mul(1 << doublings).min(self.max)
    }
}

/// The back-off of the settings.
pub fn backoff(config: &Config) -> Backoff {
    Backoff {
        initial: seconds(config.feeds.backoff_initial_seconds),
        max: seconds(config.feeds.backoff_max_seconds),
    }
}

/// The deadline of a one-off read (`greenchannel status`) as configured,
/// counted from now.
pub fn read_deadline(config: &Config) -> Deadline {
    Deadline::after(seconds(config.status.deadline_seconds))
}

/// The client of a feed as configured.
pub fn client(feed: Feed, config: &Config, token: Option<Token>) -> Result<ApiClient, FeedError> {
    let timeouts = Timeouts {
        connect: seconds(config.feeds.connect_timeout_seconds),
        request: seconds(config.feeds.request_timeout_seconds),
    };
    ApiClient::new(feed, &feed.api(config).url, token, timeouts)
}

/// The poller of a feed as configured.
pub fn poller(client: ApiClient, config: &Config) -> Poller {
    let f = &config.feeds;
    Poller::new(
        client,
        PollSettings {
            page_size: f.page_size,
            event_batch: f.event_batch,
            poll_interval: seconds(f.poll_interval_seconds),
            backoff: backoff(config),
        },
    )
}

/// When feeds count as stale and down, as configured.
pub fn health_limits(config: &Config) -> HealthLimits {
    let ms = |s: f64| chrono::Duration::milliseconds((s * 1000.0) as i64);
    HealthLimits {
        stale_after: ms(config.feeds.stale_after_seconds),
        down_after: ms(config.feeds.down_after_seconds),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_back_off_doubles_up_to_its_cap() {
        let backoff = Backoff {
            initial: StdDuration::from_secs(1),
            max: StdDuration::from_secs(30),
        };
        let waits: Vec<u64> = (0..8).map(|n| backoff.after(n).as_secs()).collect();
        assert_eq!(waits, [1, 1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(backoff.after(u32::MAX), StdDuration::from_secs(30));
    }

    #[test]
    fn seconds_beyond_a_duration_are_the_longest() {
        assert_eq!(seconds(2.5), StdDuration::from_millis(2500));
        assert_eq!(seconds(f64::INFINITY), StdDuration::MAX);
        assert_eq!(seconds(1e300), StdDuration::MAX);
    }
}
