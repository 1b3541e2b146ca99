//! The UI's own words among the settings: the theme, the clock zone and
//! the keys. The settings hold them as plain text; this module reads
//! them into its types and says what is wrong, naming the setting.

use super::keymap::Keymap;
use super::theme::ThemeName;
use super::zone::Zone;
use crate::config::Config;

/// What is wrong with the UI's settings (nothing: empty), for
/// [`Config::validate`].
pub fn check(config: &Config) -> Vec<String> {
    let mut problems = Vec::new();
    if theme(&config.ui.theme).is_none() {
        problems.push("ui.theme must be default, truecolor, light or mono".to_owned());
    }
    if zone(&config.ui.tz).is_none() {
        problems.push(
            "ui.tz must be beijing, xinjiang, almaty, tashkent or utc (or an IANA name of one)"
                .to_owned(),
        );
    }
    if let Err(e) = keymap(config) {
        problems.push(e);
    }
    problems
}

/// A theme's name as written (`default`, `truecolor`, `light`, `mono`).
pub fn theme(text: &str) -> Option<ThemeName> {
    ThemeName::parse(text)
}

/// A clock zone as written (its short or IANA name).
pub fn zone(text: &str) -> Option<Zone> {
    Zone::parse(text)
}

/// The keymap: the defaults with the `[keys]` settings.
pub fn keymap(config: &Config) -> Result<Keymap, String> {
    Keymap::with(&config.key_overrides())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_pass_and_bad_words_are_named() {
        assert!(check(&Config::default()).is_empty());
        let mut config = Config::default();
        config.ui.theme = "sepia".to_owned();
        config.ui.tz = "Europe/Paris".to_owned();
        let problems = check(&config);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("ui.theme"), "{problems:?}");
        assert!(problems[1].starts_with("ui.tz"), "{problems:?}");
    }
}
