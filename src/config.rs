//! The settings of greenchannel: a TOML file (`config/greenchannel.toml` is
//! the commented example), overridden by `GREENCHANNEL_<SECTION>_<KEY>`
//! environment variables, overridden by flags.
//!
//! Tokens are never settings: they come from `GREENCHANNEL_RAILWAY_TOKEN` /
//! `GREENCHANNEL_CUSTOMS_TOKEN` or from a `token_file` named here.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::Duration;
use serde::{Deserialize, Serialize};

use crate::board::BoardSettings;
use crate::domain::Lang;
use crate::domain::risk::Step;

/// Everything greenchannel is told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The railway API.
    pub railway: ApiConfig,
    /// The customs API.
    pub customs: ApiConfig,
    /// How both feeds are polled.
    pub feeds: FeedsConfig,
    /// How risk is judged.
    pub risk: RiskConfig,
    /// What the board keeps.
    pub board: BoardConfig,
    /// How the board is shown.
    pub ui: UiConfig,
    /// Triage actions.
    pub triage: TriageConfig,
    /// `greenchannel status`.
    pub status: StatusConfig,
    /// `greenchannel serve`: the board over SSH.
    pub serve: ServeConfig,
    /// Keys of actions, replacing the defaults (`freeze = ["f", "ctrl-z"]`).
    pub keys: BTreeMap<String, KeySpec>,
}

/// Triage actions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TriageConfig {
    /// Where the journals of triage actions are kept (one per customs API
    /// and officer); empty: in the user's state directory
    /// (`~/.local/state/greenchannel/journals/`).
    pub journal_dir: String,
    /// Attempts at sending an action that gets no answer before it is
    /// stuck (shown, and tried again only when asked or at the next start).
    pub max_attempts: u32,
}

impl Default for TriageConfig {
    fn default() -> Self {
        TriageConfig {
            journal_dir: String::new(),
            max_attempts: 10,
        }
    }
}

/// `greenchannel status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StatusConfig {
    /// The whole read (both feeds and whoami) ends within this; a feed not
    /// read by then counts as unreadable (exit 3).
    pub deadline_seconds: f64,
}

impl Default for StatusConfig {
    fn default() -> Self {
        StatusConfig {
            deadline_seconds: 30.0,
        }
    }
}

/// `greenchannel serve`: the board over SSH.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServeConfig {
    /// The address to listen on (`--listen` overrides it).
    pub listen: String,
    /// The officers' keys (TOML; `config/officers.toml` is the example).
    pub keys_file: String,
    /// The server's host key, made once; empty: in the state directory.
    pub host_key: String,
    /// A session without a key pressed for this long ends (walls excepted).
    pub idle_timeout_minutes: f64,
    /// Sessions at once; more are refused.
    pub max_sessions: u32,
    /// Failed logins from one address within a minute before it is
    /// refused until the minute is over.
    pub failed_logins_per_minute: u32,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            listen: "127.0.0.1:2222".to_owned(),
            keys_file: String::new(),
            host_key: String::new(),
            idle_timeout_minutes: 120.0,
            max_sessions: 200,
            failed_logins_per_minute: 5,
        }
    }
}

/// One key or several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum KeySpec {
    /// `freeze = "f"`.
    One(String),
    /// `freeze = ["f", "ctrl-z"]`.
    Many(Vec<String>),
}

/// How the board is shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UiConfig {
    /// Wall terminal: read-only, cycling pages, no keyboard needed.
    pub wall: bool,
    /// No triage actions.
    pub read_only: bool,
    /// `default` (16 ANSI colours), `truecolor`, `light` or `mono`.
    pub theme: String,
    /// No box drawing or block glyphs.
    pub ascii: bool,
    /// Clock zone: `beijing`, `xinjiang`, `almaty`, `tashkent`, `utc`.
    pub tz: String,
    /// `en` or `zh`; empty: from `LANG`.
    pub lang: String,
    /// How long the wall shows each page.
    pub wall_cycle_seconds: f64,
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig {
            wall: false,
            read_only: false,
            theme: "default".to_owned(),
            ascii: false,
            tz: "beijing".to_owned(),
            lang: String::new(),
            wall_cycle_seconds: 15.0,
        }
    }
}

/// Where one API is and how to authenticate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// Base URL; paths such as `/v1/events` are relative to it.
    pub url: String,
    /// A file holding the bearer token (used when the environment has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
}

/// How the feeds are polled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeedsConfig {
    /// Between event polls when the feed has nothing more.
    pub poll_interval_seconds: f64,
    /// Events asked for per poll (1..=5000).
    pub event_batch: u32,
    /// Objects per snapshot page (1..=1000).
    pub page_size: u32,
    /// Connecting may take this long.
    pub connect_timeout_seconds: f64,
    /// A whole request may take this long.
    pub request_timeout_seconds: f64,
    /// First wait after a failure; doubles with each failure (with jitter).
    pub backoff_initial_seconds: f64,
    /// The longest wait after failures.
    pub backoff_max_seconds: f64,
    /// A feed without success for this long is stale.
    pub stale_after_seconds: f64,
    /// A feed failing for this long is down.
    pub down_after_seconds: f64,
}

/// How risk is judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RiskConfig {
    /// Less slack than this before a cut-off is `watch`.
    pub watch_margin_minutes: f64,
    /// Projections use this quantile of learned durations.
    pub quantile: f64,
    /// Gantry cranes working in the shed.
    pub cranes: u32,
    /// Durations assumed until enough are observed, minutes.
    pub priors: Priors,
}

/// Prior durations of each step, minutes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Priors {
    /// Filed to accepted.
    pub declaration: f64,
    /// Accepted to review concluded.
    pub review: f64,
    /// Inspection.
    pub inspection: f64,
    /// Hold placed to lifted.
    pub hold: f64,
    /// Concluded to released.
    pub release: f64,
    /// Arrived to queued in the shed.
    pub yard_to_queue: f64,
    /// Lifting one container.
    pub lift: f64,
}

/// What the board keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BoardConfig {
    /// A departed train stays on the board this long.
    pub keep_departed_minutes: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            railway: ApiConfig {
                url: "http://127.0.0.1:7400/railway".to_owned(),
                token_file: None,
            },
            customs: ApiConfig {
                url: "http://127.0.0.1:7400/customs".to_owned(),
                token_file: None,
            },
            feeds: FeedsConfig::default(),
            risk: RiskConfig::default(),
            board: BoardConfig::default(),
            ui: UiConfig::default(),
            triage: TriageConfig::default(),
            status: StatusConfig::default(),
            serve: ServeConfig::default(),
            keys: BTreeMap::new(),
        }
    }
}

impl Default for ApiConfig {
    fn default() -> Self {
        Config::default().railway
    }
}

impl Default for FeedsConfig {
    fn default() -> Self {
        FeedsConfig {
            poll_interval_seconds: 2.0,
            event_batch: 1000,
            page_size: 1000,
            connect_timeout_seconds: 5.0,
            request_timeout_seconds: 30.0,
            backoff_initial_seconds: 1.0,
            backoff_max_seconds: 60.0,
            stale_after_seconds: 20.0,
            down_after_seconds: 120.0,
        }
    }
}

impl Default for RiskConfig {
    fn default() -> Self {
        RiskConfig {
            watch_margin_minutes: 20.0,
            quantile: 0.8,
            cranes: 4,
            priors: Priors::default(),
        }
    }
}

impl Default for Priors {
    fn default() -> Self {
        Priors {
            declaration: 15.0,
            review: 30.0,
            inspection: 75.0,
            hold: 150.0,
            release: 15.0,
            yard_to_queue: 10.0,
            lift: 5.0,
        }
    }
}

impl Priors {
    /// Each step's prior, minutes, to change in place.
    fn by_step_mut(&mut self) -> [(Step, &mut f64); 7] {
        [
            (Step::Declaration, &mut self.declaration),
            (Step::Review, &mut self.review),
            (Step::Inspection, &mut self.inspection),
            (Step::Hold, &mut self.hold),
            (Step::Release, &mut self.release),
            (Step::YardToQueue, &mut self.yard_to_queue),
            (Step::Lift, &mut self.lift),
        ]
    }

    /// Each step's prior, minutes.
    fn by_step(&self) -> [(Step, f64); 7] {
        self.clone().by_step_mut().map(|(step, m)| (step, *m))
    }
}

impl Default for BoardConfig {
    fn default() -> Self {
        BoardConfig {
            keep_departed_minutes: 120.0,
        }
    }
}

/// Settings that could not be used, with where the problem is, never
/// with a value: a token pasted into the wrong setting (or variable) must
/// not be printed.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError(String);

impl ConfigError {
    /// The problem in words, every quoted value in them replaced.
    pub fn new(text: &str) -> ConfigError {
        ConfigError(without_quoted_values(text))
    }
}

/// `text` with each value in double quotes (as serde and toml quote
/// them: `string "…"`, with `\"` inside) said as `a string`. Text in
/// backquotes (keys, numbers, what was expected) is kept.
fn without_quoted_values(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '`' => {
                out.push(c);
                for c in chars.by_ref() {
                    out.push(c);
                    if c == '`' {
                        break;
                    }
                }
            }
            '"' => {
                let mut escaped = false;
                for c in chars.by_ref() {
                    match c {
                        _ if escaped => escaped = false,
                        '\\' => escaped = true,
                        '"' => break,
                        _ => {}
                    }
                }
                if let Some(kept) = out.strip_suffix("string ") {
                    out.truncate(kept.len());
                }
                out.push_str("a string");
            }
            c => out.push(c),
        }
    }
    out
}

/// A TOML error said by its line, column and key, without the source
/// line toml would show (which holds the value).
fn toml_error(source: &str, error: &toml::de::Error) -> ConfigError {
    let mut place = Vec::new();
    if let Some(before) = error.span().and_then(|span| source.get(..span.start)) {
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
        place.push(format!("line {line}, column {column}"));
    }
    if let Some(key) = key_path(error) {
        place.push(format!("at {key}"));
    }
    if place.is_empty() {
        return ConfigError::new(error.message());
    }
    ConfigError::new(&format!("{}: {}", place.join(", "), error.message()))
}

/// The dotted key of a TOML error: toml writes it below the message
/// (`in `risk.quantile``) when it has no source to show.
fn key_path(error: &toml::de::Error) -> Option<String> {
    let mut bare = error.clone();
    bare.set_input(None);
    let shown = bare.to_string();
    let key = shown
        .strip_prefix(error.message())?
        .trim()
        .strip_prefix("in `")?
        .strip_suffix('`')?;
    Some(key.to_owned())
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// Whether a duration setting may be zero.
enum Zero {
    Yes,
    No,
}

/// Environment variables of the project that are not settings: the
/// tokens, the settings file, logging, and the scripts' Python venv.
const NOT_SETTINGS: &[&str] = &[
    "GREENCHANNEL_RAILWAY_TOKEN",
    "GREENCHANNEL_CUSTOMS_TOKEN",
    "GREENCHANNEL_CONFIG",
    "GREENCHANNEL_LOG",
    "GREENCHANNEL_LOG_FILE",
    "GREENCHANNEL_VENV",
];

/// Sections a variable may name, longest first (`risk_priors` before
/// `risk`).
const SECTIONS: &[(&str, &[&str])] = &[
    ("risk_priors", &["risk", "priors"]),
    ("railway", &["railway"]),
    ("customs", &["customs"]),
    ("feeds", &["feeds"]),
    ("risk", &["risk"]),
    ("board", &["board"]),
    ("keys", &["keys"]),
    ("triage", &["triage"]),
    ("ui", &["ui"]),
    ("status", &["status"]),
    ("serve", &["serve"]),
];

/// A module's check of its own settings, given to [`Config::load`] and
/// [`Config::validate`]: this module holds plain values and knows no
/// module's words (a theme, a zone, a key); each says what is wrong in
/// its own, naming the setting, never quoting the value.
pub type Check = fn(&Config) -> Vec<String>;

fn minutes(m: f64) -> Duration {
    Duration::milliseconds((m * 60_000.0).round() as i64)
}

impl Config {
    /// Reads the file (if any), then applies `GREENCHANNEL_*` variables,
    /// and validates the result with the modules' `checks`.
    pub fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        checks: &[Check],
    ) -> Result<Config, ConfigError> {
        let mut config = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| ConfigError::new(&format!("{}: {e}", path.display())))?;
                Self::parse(&text)
                    .map_err(|e| ConfigError::new(&format!("{}: {}", path.display(), e.0)))?
            }
            None => Config::default(),
        };
        let mut overrides: Vec<(String, String)> = env
            .into_iter()
            .filter(|(name, _)| {
                name.starts_with("GREENCHANNEL_") && !NOT_SETTINGS.contains(&name.as_str())
            })
            .collect();
        overrides.sort();
        for (name, value) in overrides {
            config = config.with_env(&name, &value)?;
        }
        config.validate(checks)?;
        Ok(config)
    }

    /// Reads TOML settings (without checking them). An error names the
    /// line, the column and the key, never the value.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| toml_error(text, &e))
    }

    /// Applies one `GREENCHANNEL_<SECTION>_<KEY>` variable.
    fn with_env(self, name: &str, value: &str) -> Result<Config, ConfigError> {
        let setting = name
            .trim_start_matches("GREENCHANNEL_")
            .to_ascii_lowercase();
        let Some((path, key)) = SECTIONS.iter().find_map(|(prefix, path)| {
            setting
                .strip_prefix(prefix)
                .and_then(|rest| rest.strip_prefix('_'))
                .map(|key| (*path, key.to_owned()))
        }) else {
            let sections: Vec<&str> = SECTIONS.iter().map(|(prefix, _)| *prefix).collect();
            return Err(ConfigError::new(&format!(
                "{name}: not a setting (sections: {})",
                sections.join(", ")
            )));
        };
        // A TOML value if it reads as one (numbers, booleans), else text.
        let parsed = toml::from_str::<toml::Table>(&format!("v = {value}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(value.to_owned()));
        let mut table = toml::Table::try_from(&self).expect("settings serialize");
        let mut section = &mut table;
        for part in path {
            section = section
                .entry(part.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                .as_table_mut()
                .expect("sections are tables");
        }
        section.insert(key, parsed);
        table
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::new(&format!("{name}: {}", e.message())))
    }

    /// Checks values that parse but cannot work: the plain ones here, the
    /// modules' own words by their `checks`.
    pub fn validate(&self, checks: &[Check]) -> Result<(), ConfigError> {
        let f = &self.feeds;
        let mut problems = Vec::new();
        let mut need = |ok: bool, what: &str| {
            if !ok {
                problems.push(what.to_owned());
            }
        };
        for (name, api) in [("railway", &self.railway), ("customs", &self.customs)] {
            need(
                api.url.starts_with("http://") || api.url.starts_with("https://"),
                &format!("{name}.url must start with http:// or https://"),
            );
        }
        // Every duration is a number in its range: a day of waiting is
        // already absurd for a live board, and inf or NaN never work.
        let r = &self.risk;
        let durations = [
            (
                "feeds.poll_interval_seconds",
                f.poll_interval_seconds,
                Zero::No,
                3600.0,
            ),
            (
                "feeds.connect_timeout_seconds",
                f.connect_timeout_seconds,
                Zero::No,
                600.0,
            ),
            (
                "feeds.request_timeout_seconds",
                f.request_timeout_seconds,
                Zero::No,
                3600.0,
            ),
            (
                "feeds.backoff_initial_seconds",
                f.backoff_initial_seconds,
                Zero::No,
                3600.0,
            ),
            (
                "feeds.backoff_max_seconds",
                f.backoff_max_seconds,
                Zero::No,
                86_400.0,
            ),
            (
                "feeds.stale_after_seconds",
                f.stale_after_seconds,
                Zero::No,
                86_400.0,
            ),
            (
                "feeds.down_after_seconds",
                f.down_after_seconds,
                Zero::No,
                604_800.0,
            ),
            (
                "risk.watch_margin_minutes",
                r.watch_margin_minutes,
                Zero::Yes,
                1440.0,
            ),
            (
                "board.keep_departed_minutes",
                self.board.keep_departed_minutes,
                Zero::Yes,
                10_080.0,
            ),
            (
                "ui.wall_cycle_seconds",
                self.ui.wall_cycle_seconds,
                Zero::No,
                3600.0,
            ),
            (
                "serve.idle_timeout_minutes",
                self.serve.idle_timeout_minutes,
                Zero::No,
                10_080.0,
            ),
        ];
        for (name, value, zero, max) in durations {
            let low = match zero {
                Zero::Yes => value >= 0.0,
                Zero::No => value > 0.0,
            };
            let what = match zero {
                Zero::Yes => "not negative",
                Zero::No => "positive",
            };
            need(
                value.is_finite() && low && value <= max,
                &format!("{name} must be {what} and at most {max}"),
            );
        }
        need(
            r.priors
                .by_step()
                .iter()
                .all(|(_, m)| m.is_finite() && *m > 0.0 && *m <= 43_200.0),
            "risk.priors must each be positive and at most 43200 (30 days)",
        );
        need(
            (1..=5000).contains(&f.event_batch),
            "feeds.event_batch must be 1..=5000",
        );
        need(
            (1..=1000).contains(&f.page_size),
            "feeds.page_size must be 1..=1000",
        );
        need(
            f.backoff_initial_seconds <= f.backoff_max_seconds,
            "feeds.backoff_initial_seconds must be at most backoff_max_seconds",
        );
        need(
            f.stale_after_seconds <= f.down_after_seconds,
            "feeds.stale_after_seconds must be at most down_after_seconds",
        );
        need(
            (0.5..=0.99).contains(&self.risk.quantile),
            "risk.quantile must be 0.5..=0.99",
        );
        need(self.risk.cranes >= 1, "risk.cranes must be at least 1");
        need(
            matches!(self.ui.lang.as_str(), "" | "en" | "zh"),
            "ui.lang must be en or zh (or empty: from LANG)",
        );
        need(
            (1..=1000).contains(&self.triage.max_attempts),
            "triage.max_attempts must be 1..=1000",
        );
        let deadline = self.status.deadline_seconds;
        need(
            deadline > 0.0 && deadline <= 3600.0,
            "status.deadline_seconds (--deadline) must be positive and at most 3600",
        );
        let serve = &self.serve;
        need(
            serve.listen.parse::<std::net::SocketAddr>().is_ok(),
            "serve.listen must be an address and a port, e.g. 0.0.0.0:2222",
        );
        need(
            (1..=10_000).contains(&serve.max_sessions),
            "serve.max_sessions must be 1..=10000",
        );
        need(
            (1..=1000).contains(&serve.failed_logins_per_minute),
            "serve.failed_logins_per_minute must be 1..=1000",
        );
        for check in checks {
            problems.extend(check(self));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::new(&problems.join("; ")))
        }
    }

    /// Divides every duration of judgement by `factor`: for a simulator
    /// that runs its world that many times faster than the real one.
    pub fn compressed(mut self, factor: f64) -> Config {
        let r = &mut self.risk;
        r.watch_margin_minutes /= factor;
        for (_, m) in r.priors.by_step_mut() {
            *m /= factor;
        }
        self.board.keep_departed_minutes /= factor;
        self
    }

    /// The `[keys]` settings: each action's keys, as written.
    pub fn key_overrides(&self) -> BTreeMap<String, Vec<String>> {
        self.keys
            .iter()
            .map(|(action, spec)| {
                let keys = match spec {
                    KeySpec::One(key) => vec![key.clone()],
                    KeySpec::Many(keys) => keys.clone(),
                };
                (action.clone(), keys)
            })
            .collect()
    }

    /// The language: the setting, else `LANG` (`zh*` is Chinese).
    pub fn lang(&self, lang_variable: Option<&str>) -> Lang {
        match self.ui.lang.as_str() {
            "zh" => Lang::Zh,
            "en" => Lang::En,
            _ if lang_variable.is_some_and(|l| l.to_ascii_lowercase().starts_with("zh")) => {
                Lang::Zh
            }
            _ => Lang::En,
        }
    }

    /// The board's settings.
    pub fn board_settings(&self) -> BoardSettings {
        BoardSettings {
            watch_margin: minutes(self.risk.watch_margin_minutes),
            quantile: self.risk.quantile,
            priors: self
                .risk
                .priors
                .by_step()
                .map(|(step, m)| (step, minutes(m)))
                .to_vec(),
            cranes: self.risk.cranes,
            keep_departed: minutes(self.board.keep_departed_minutes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SETTINGS_CHECKS as CHECKS;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_shipped_example_is_the_defaults() {
        let text = include_str!("../config/greenchannel.toml");
        assert_eq!(Config::parse(text).unwrap(), Config::default());
        Config::default().validate(CHECKS).unwrap();
    }

    #[test]
    fn environment_overrides_the_file() {
        let config = Config::load(
            None,
            env(&[
                ("GREENCHANNEL_RAILWAY_URL", "https://rail.example/api"),
                ("GREENCHANNEL_FEEDS_POLL_INTERVAL_SECONDS", "5"),
                ("GREENCHANNEL_RISK_PRIORS_LIFT", "7.5"),
                ("GREENCHANNEL_RISK_CRANES", "6"),
                ("GREENCHANNEL_CUSTOMS_TOKEN", "never a setting"),
                ("PATH", "/usr/bin"),
            ]),
            CHECKS,
        )
        .unwrap();
        assert_eq!(config.railway.url, "https://rail.example/api");
        assert_eq!(config.feeds.poll_interval_seconds, 5.0);
        assert_eq!(config.risk.priors.lift, 7.5);
        assert_eq!(config.risk.cranes, 6);
    }

    #[test]
    fn bad_environment_names_the_variable() {
        let err = Config::load(
            None,
            env(&[("GREENCHANNEL_FEEDS_PAGE_SIZE", "many")]),
            CHECKS,
        )
        .unwrap_err();
        assert!(err.0.starts_with("GREENCHANNEL_FEEDS_PAGE_SIZE: "), "{err}");
        let err =
            Config::load(None, env(&[("GREENCHANNEL_FEEDS_SPEED", "1")]), CHECKS).unwrap_err();
        assert!(err.0.contains("GREENCHANNEL_FEEDS_SPEED"), "{err}");
        assert!(err.0.contains("speed"), "{err}");
        let err = Config::load(None, env(&[("GREENCHANNEL_WEATHER", "1")]), CHECKS).unwrap_err();
        assert!(err.0.contains("not a setting"), "{err}");
    }

    #[test]
    fn the_projects_other_variables_are_not_taken_for_settings() {
        let others = env(&[
            ("GREENCHANNEL_CUSTOMS_TOKEN", "t"),
            ("GREENCHANNEL_RAILWAY_TOKEN", "t"),
            ("GREENCHANNEL_CONFIG", "x.toml"),
            ("GREENCHANNEL_LOG", "debug"),
            ("GREENCHANNEL_LOG_FILE", "/tmp/greenchannel.log"),
            ("GREENCHANNEL_VENV", ".venv"),
        ]);
        assert_eq!(
            Config::load(None, others, CHECKS).unwrap(),
            Config::default()
        );
    }

    #[test]
    fn a_bad_file_names_the_file_line_and_key() {
        let dir = std::env::temp_dir().join(format!("greenchannel-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bad.toml");
        std::fs::write(
            &path,
            "[feeds]\npoll_interval_seconds = 2\npage_sise = 10\n",
        )
        .unwrap();
        let err = Config::load(Some(&path), Vec::new(), CHECKS).unwrap_err();
        assert!(err.0.contains("bad.toml"), "{err}");
        assert!(err.0.contains("line 3"), "{err}");
        assert!(err.0.contains("page_sise"), "{err}");
        std::fs::write(&path, "[risk]\nquantile = \"high\"\n").unwrap();
        let err = Config::load(Some(&path), Vec::new(), CHECKS).unwrap_err();
        assert!(err.0.contains("line 2"), "{err}");
        assert!(err.0.contains("quantile"), "{err}");
        std::fs::write(&path, "[risk]\nquantile = 2.0\n").unwrap();
        let err = Config::load(Some(&path), Vec::new(), CHECKS).unwrap_err();
        assert!(err.0.contains("risk.quantile"), "{err}");
        let err = Config::load(Some(&dir.join("missing.toml")), Vec::new(), CHECKS).unwrap_err();
        assert!(err.0.contains("missing.toml"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A token pasted where a setting goes.
    const PASTED: &str = "tok-8f2e91";

    #[test]
    fn a_token_pasted_into_the_file_is_never_shown() {
        let dir = std::env::temp_dir().join(format!("greenchannel-pasted-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("pasted.toml");
        // What each error must still say: where, and which setting (a value
        // that parses but does not validate is named by its setting only).
        let cases = [
            (
                "[customs]\ntoken = \"tok-8f2e91\"\n",
                &["pasted.toml", "line 2", "token"][..],
            ),
            ("[customs]\nurl = \"tok-8f2e91\"\n", &["customs.url"]),
            (
                "[risk]\nquantile = \"tok-8f2e91\"\n",
                &["pasted.toml", "line 2", "risk.quantile"],
            ),
            (
                "[risk]\n\nquantile = 'tok-8f2e91'\n",
                &["pasted.toml", "line 3", "risk.quantile"],
            ),
            (
                "[risk]\nquantile = \"x\\\"tok-8f2e91\"\n",
                &["pasted.toml", "line 2", "risk.quantile"],
            ),
            (
                "[risk]\nquantile = 0.8 tok-8f2e91\n",
                &["pasted.toml", "line 2"],
            ),
            (
                "[risk.priors]\nlift = \"\"\"tok-8f2e91\"\"\"\n",
                &["pasted.toml", "line 2", "risk.priors.lift"],
            ),
            (
                "[risk]\npriors = { lift = \"tok-8f2e91\" }\n",
                &["pasted.toml", "line 2", "risk.priors.lift"],
            ),
            (
                "[feeds]\npage_size = [\"tok-8f2e91\"]\n",
                &["pasted.toml", "line 2", "feeds.page_size"],
            ),
            ("[keys]\nfreeze = \"tok-8f2e91\"\n", &["keys.freeze"]),
            ("[ui]\ntheme = \"tok-8f2e91\"\n", &["ui.theme"]),
        ];
        for (text, says) in cases {
            std::fs::write(&path, text).unwrap();
            let err = Config::load(Some(&path), Vec::new(), CHECKS).unwrap_err();
            assert!(!err.0.contains(PASTED), "{text:?}: {err}");
            for needle in says {
                assert!(err.0.contains(needle), "{text:?}: {needle:?} in {err}");
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_token_pasted_into_a_variable_is_never_shown() {
        let names = [
            "GREENCHANNEL_RISK_QUANTILE",
            "GREENCHANNEL_RISK_PRIORS_LIFT",
            "GREENCHANNEL_FEEDS_PAGE_SIZE",
            "GREENCHANNEL_KEYS_FREEZE",
            "GREENCHANNEL_UI_THEME",
            "GREENCHANNEL_RAILWAY_URL",
            "GREENCHANNEL_RAILWAY_TOKEN_FILES",
        ];
        let values = [
            PASTED.to_owned(),
            format!("\"{PASTED}\""),
            format!("[\"{PASTED}\"]"),
            format!("{{ a = \"{PASTED}\" }}"),
        ];
        for name in names {
            for value in &values {
                let err = Config::load(None, env(&[(name, value)]), CHECKS).unwrap_err();
                assert!(!err.0.contains(PASTED), "{name}={value}: {err}");
            }
        }
    }

    #[test]
    fn quoted_values_are_left_out_of_errors() {
        for (said, kept) in [
            (
                r#"invalid type: string "x\"y", expected f64"#,
                "invalid type: a string, expected f64",
            ),
            (r#""tok" is not a key"#, "a string is not a key"),
            (r#"cut "off"#, "cut a string"),
            (
                "unknown field `page_sise`, expected `url`",
                "unknown field `page_sise`, expected `url`",
            ),
            (
                "invalid basic string, expected `\"`",
                "invalid basic string, expected `\"`",
            ),
        ] {
            assert_eq!(ConfigError::new(said).0, kept, "{said}");
        }
    }

    #[test]
    fn the_demo_settings_match_the_demo_simulator() {
        let text = include_str!("../config/demo.toml");
        let demo = Config::parse(text).unwrap();
        let compression = crate::sim::SimConfig::default().time_compression;
        assert_eq!(demo, Config::default().compressed(compression));
    }

    #[test]
    fn ui_settings_are_checked() {
        let err =
            Config::load(None, env(&[("GREENCHANNEL_UI_THEME", "sepia")]), CHECKS).unwrap_err();
        assert!(err.0.contains("ui.theme"), "{err}");
        let err =
            Config::load(None, env(&[("GREENCHANNEL_UI_TZ", "Europe/Paris")]), CHECKS).unwrap_err();
        assert!(err.0.contains("ui.tz"), "{err}");
        let config =
            Config::load(None, env(&[("GREENCHANNEL_KEYS_FREEZE", "ctrl-z")]), CHECKS).unwrap();
        assert!(crate::ui::settings::keymap(&config).is_ok());
        let err = Config::parse("[keys]\nfreeze = \"q\"\n")
            .unwrap()
            .validate(CHECKS)
            .unwrap_err();
        assert!(err.0.contains("q is already the key of freeze"), "{err}");
        assert_eq!(Config::default().lang(Some("zh_CN.UTF-8")), Lang::Zh);
        assert_eq!(Config::default().lang(Some("en_US.UTF-8")), Lang::En);
        assert_eq!(Config::default().lang(None), Lang::En);
    }

    #[test]
    fn durations_are_bounded_numbers() {
        for (variable, setting) in [
            (
                "GREENCHANNEL_RISK_WATCH_MARGIN_MINUTES",
                "risk.watch_margin_minutes",
            ),
            (
                "GREENCHANNEL_BOARD_KEEP_DEPARTED_MINUTES",
                "board.keep_departed_minutes",
            ),
            (
                "GREENCHANNEL_UI_WALL_CYCLE_SECONDS",
                "ui.wall_cycle_seconds",
            ),
            (
                "GREENCHANNEL_FEEDS_POLL_INTERVAL_SECONDS",
                "feeds.poll_interval_seconds",
            ),
            ("GREENCHANNEL_RISK_PRIORS_LIFT", "risk.priors"),
        ] {
            for value in ["inf", "nan", "1e300", "-1"] {
                let err = Config::load(None, env(&[(variable, value)]), CHECKS).unwrap_err();
                assert!(
                    err.to_string().contains(setting),
                    "{variable}={value}: {err}"
                );
            }
        }
        let zero = Config::load(
            None,
            env(&[("GREENCHANNEL_BOARD_KEEP_DEPARTED_MINUTES", "0")]),
            CHECKS,
        );
        assert!(zero.is_ok(), "a departed train may go at once");
    }

    #[test]
    fn serve_settings_are_bounded() {
        for (variable, value, setting) in [
            ("GREENCHANNEL_SERVE_LISTEN", "everywhere", "serve.listen"),
            ("GREENCHANNEL_SERVE_MAX_SESSIONS", "0", "serve.max_sessions"),
            (
                "GREENCHANNEL_SERVE_MAX_SESSIONS",
                "100000",
                "serve.max_sessions",
            ),
            (
                "GREENCHANNEL_SERVE_FAILED_LOGINS_PER_MINUTE",
                "0",
                "serve.failed_logins_per_minute",
            ),
            (
                "GREENCHANNEL_SERVE_IDLE_TIMEOUT_MINUTES",
                "0",
                "serve.idle_timeout_minutes",
            ),
            (
                "GREENCHANNEL_SERVE_IDLE_TIMEOUT_MINUTES",
                "inf",
                "serve.idle_timeout_minutes",
            ),
        ] {
            let err = Config::load(None, env(&[(variable, value)]), CHECKS).unwrap_err();
            assert!(err.0.contains(setting), "{variable}={value}: {err}");
        }
        let config = Config::load(
            None,
            env(&[
                ("GREENCHANNEL_SERVE_LISTEN", "0.0.0.0:2222"),
                ("GREENCHANNEL_SERVE_IDLE_TIMEOUT_MINUTES", "480"),
            ]),
            CHECKS,
        )
        .unwrap();
        assert_eq!(config.serve.listen, "0.0.0.0:2222");
        assert_eq!(config.serve.idle_timeout_minutes, 480.0);
    }

    #[test]
    fn compression_scales_judgement_not_feeds() {
        let config = Config::default().compressed(30.0);
        assert_eq!(config.risk.watch_margin_minutes, 20.0 / 30.0);
        assert_eq!(config.risk.priors.lift, 5.0 / 30.0);
        assert_eq!(config.feeds, FeedsConfig::default());
        assert_eq!(config.status, StatusConfig::default(), "not a judgement");
    }

    #[test]
    fn the_status_deadline_is_a_setting_and_bounded() {
        let deadline = |value: &str| {
            Config::load(
                None,
                env(&[("GREENCHANNEL_STATUS_DEADLINE_SECONDS", value)]),
                CHECKS,
            )
            .map(|config| config.status.deadline_seconds)
        };
        assert_eq!(Config::default().status.deadline_seconds, 30.0);
        assert_eq!(deadline("5"), Ok(5.0));
        assert_eq!(deadline("0.5"), Ok(0.5));
        assert_eq!(deadline("3600"), Ok(3600.0));
        for bad in ["0", "-1", "3600.5", "nan", "inf"] {
            let err = deadline(bad).unwrap_err();
            assert!(err.0.contains("status.deadline_seconds"), "{bad}: {err}");
        }
    }
}
