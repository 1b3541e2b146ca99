//! Keys as data: every key maps to an [`Action`] through a keymap that the
//! `[keys]` section of the settings can change. The help overlay and the
//! footer hints are generated from the same keymap, so they are always true.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::{Deserialize, Serialize};

use crate::domain::Lang;

/// Something the officer asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Selection up one row.
    Up,
    /// Selection down one row.
    Down,
    /// First row.
    Top,
    /// Last row.
    Bottom,
    /// A page up.
    PageUp,
    /// A page down.
    PageDown,
    /// Open what is selected.
    Open,
    /// Back to where it was opened from.
    Back,
    /// Next screen.
    NextScreen,
    /// Previous screen.
    PreviousScreen,
    /// The departures board.
    ShowDepartures,
    /// The selected train.
    ShowTrain,
    /// The parcels table.
    ShowParcels,
    /// The selected parcel.
    ShowDetail,
    /// The holds queue.
    ShowHolds,
    /// Type a filter.
    Filter,
    /// Type a command.
    Command,
    /// Sort by the next column.
    Sort,
    /// Reverse the sort.
    ReverseSort,
    /// Hold the display still (or let it go).
    Freeze,
    /// Show or hide the help.
    Help,
    /// Let the mouse select text (or give it back to the board).
    Mouse,
    /// Redraw the whole screen.
    Redraw,
    /// Quit.
    Quit,
    /// Claim the held parcel.
    Claim,
    /// Give up a claim.
    Unclaim,
    /// Add a note to the hold.
    Note,
    /// Ask for priority inspection.
    Priority,
    /// Escalate to a supervisor.
    Escalate,
    /// Ask for the parcel to go on the next train.
    Defer,
}

impl Action {
    /// Every action, in help order.
    pub const ALL: [Action; 30] = [
        Action::Up,
        Action::Down,
        Action::Top,
        Action::Bottom,
        Action::PageUp,
        Action::PageDown,
        Action::Open,
        Action::Back,
        Action::NextScreen,
        Action::PreviousScreen,
        Action::ShowDepartures,
        Action::ShowTrain,
        Action::ShowParcels,
        Action::ShowDetail,
        Action::ShowHolds,
        Action::Filter,
        Action::Command,
        Action::Sort,
        Action::ReverseSort,
        Action::Freeze,
        Action::Help,
        Action::Mouse,
        Action::Redraw,
        Action::Quit,
        Action::Claim,
        Action::Unclaim,
        Action::Note,
        Action::Priority,
        Action::Escalate,
        Action::Defer,
    ];

    /// The name used in the `[keys]` settings.
    pub fn name(self) -> &'static str {
        match self {
            Action::Up => "up",
            Action::Down => "down",
            Action::Top => "top",
            Action::Bottom => "bottom",
            Action::PageUp => "page_up",
            Action::PageDown => "page_down",
            Action::Open => "open",
            Action::Back => "back",
            Action::NextScreen => "next_screen",
            Action::PreviousScreen => "previous_screen",
            Action::ShowDepartures => "show_departures",
            Action::ShowTrain => "show_train",
            Action::ShowParcels => "show_parcels",
            Action::ShowDetail => "show_detail",
            Action::ShowHolds => "show_holds",
            Action::Filter => "filter",
            Action::Command => "command",
            Action::Sort => "sort",
            Action::ReverseSort => "reverse_sort",
            Action::Freeze => "freeze",
            Action::Help => "help",
            Action::Mouse => "mouse",
            Action::Redraw => "redraw",
            Action::Quit => "quit",
            Action::Claim => "claim",
            Action::Unclaim => "unclaim",
            Action::Note => "note",
            Action::Priority => "priority",
            Action::Escalate => "escalate",
            Action::Defer => "defer",
        }
    }

    /// What it does, for the help and the hints.
    pub fn describe(self, lang: Lang) -> &'static str {
        let (en, zh) = match self {
            Action::Up => ("up", "上移"),
            Action::Down => ("down", "下移"),
            Action::Top => ("first row", "首行"),
            Action::Bottom => ("last row", "末行"),
            Action::PageUp => ("page up", "上一页"),
            Action::PageDown => ("page down", "下一页"),
            Action::Open => ("open", "打开"),
            Action::Back => ("back", "返回"),
            Action::NextScreen => ("next screen", "下一屏"),
            Action::PreviousScreen => ("previous screen", "上一屏"),
            Action::ShowDepartures => ("departures", "发车"),
            Action::ShowTrain => ("train", "班列"),
            Action::ShowParcels => ("parcels", "包裹"),
            Action::ShowDetail => ("parcel detail", "包裹详情"),
            Action::ShowHolds => ("holds", "扣留"),
            Action::Filter => ("filter", "筛选"),
            Action::Command => ("command", "命令"),
            Action::Sort => ("sort", "排序"),
            Action::ReverseSort => ("reverse sort", "反向排序"),
            Action::Freeze => ("freeze", "冻结"),
            Action::Help => ("help", "帮助"),
            Action::Mouse => ("mouse select", "鼠标选择"),
            Action::Redraw => ("redraw", "重绘"),
            Action::Quit => ("quit", "退出"),
            Action::Claim => ("claim hold", "认领"),
            Action::Unclaim => ("release claim", "取消认领"),
            Action::Note => ("add note", "备注"),
            Action::Priority => ("priority inspection", "优先查验"),
            Action::Escalate => ("escalate", "上报"),
            Action::Defer => ("defer to next train", "改配下一班"),
        };
        if lang == Lang::Zh { zh } else { en }
    }

    /// A word or two for the footer, where room is short.
    pub fn brief(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Action::Claim, Lang::En) => "claim",
            (Action::Unclaim, Lang::En) => "unclaim",
            (Action::Note, Lang::En) => "note",
            (Action::Priority, Lang::En) => "priority",
            (Action::Defer, Lang::En) => "defer",
            (Action::Priority, Lang::Zh) => "优先",
            (Action::Defer, Lang::Zh) => "改配",
            _ => self.describe(lang),
        }
    }
}

/// A key with its modifiers, as written in settings (`q`, `ctrl-l`, `pgdn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    code: KeyCode,
    ctrl: bool,
    alt: bool,
}

impl Key {
    /// The key of a terminal event (Shift folds into the character).
    pub fn of(event: &KeyEvent) -> Key {
        let code = match event.code {
            // Shift-Tab arrives as BackTab on most terminals.
            KeyCode::Tab if event.modifiers.contains(KeyModifiers::SHIFT) => KeyCode::BackTab,
            code => code,
        };
        Key {
            code,
            ctrl: event.modifiers.contains(KeyModifiers::CONTROL),
            alt: event.modifiers.contains(KeyModifiers::ALT),
        }
    }

    /// Reads a key as written in settings.
    pub fn parse(text: &str) -> Result<Key, String> {
        let mut ctrl = false;
        let mut alt = false;
        let mut rest = text.trim();
        loop {
            let lower = rest.to_ascii_lowercase();
            if lower.starts_with("ctrl-") && rest.len() > 5 {
                ctrl = true;
                rest = &rest[5..];
            } else if lower.starts_with("alt-") && rest.len() > 4 {
                alt = true;
                rest = &rest[4..];
            } else {
                break;
            }
        }
        let code = match rest.to_ascii_lowercase().as_str() {
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "backtab" | "shift-tab" => KeyCode::BackTab,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "pgup" | "pageup" => KeyCode::PageUp,
            "pgdn" | "pagedown" => KeyCode::PageDown,
            "space" => KeyCode::Char(' '),
            "backspace" => KeyCode::Backspace,
            "delete" | "del" => KeyCode::Delete,
            f if f.len() >= 2 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => {
                KeyCode::F(f[1..].parse().expect("checked"))
            }
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => KeyCode::Char(if ctrl { c.to_ascii_lowercase() } else { c }),
                    _ => return Err(format!("{text:?} is not a key")),
                }
            }
        };
        Ok(Key { code, ctrl, alt })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("Ctrl-")?;
        }
        if self.alt {
            f.write_str("Alt-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("Space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("Enter"),
            KeyCode::Esc => f.write_str("Esc"),
            KeyCode::Tab => f.write_str("Tab"),
            KeyCode::BackTab => f.write_str("Shift-Tab"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::Home => f.write_str("Home"),
            KeyCode::End => f.write_str("End"),
            KeyCode::PageUp => f.write_str("PgUp"),
            KeyCode::PageDown => f.write_str("PgDn"),
            KeyCode::F(n) => write!(f, "F{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// Keys of each action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    keys: HashMap<Key, Action>,
    by_action: BTreeMap<Action, Vec<Key>>,
}

fn default_keys(action: Action) -> &'static [&'static str] {
    match action {
        Action::Up => &["up", "k"],
        Action::Down => &["down", "j"],
        Action::Top => &["g", "home"],
        Action::Bottom => &["G", "end"],
        Action::PageUp => &["pgup", "ctrl-b"],
        Action::PageDown => &["pgdn", "ctrl-f", "space"],
        Action::Open => &["enter"],
        Action::Back => &["esc", "backspace"],
        Action::NextScreen => &["tab"],
        Action::PreviousScreen => &["backtab"],
        Action::ShowDepartures => &["1"],
        Action::ShowTrain => &["2"],
        Action::ShowParcels => &["3"],
        Action::ShowDetail => &["4"],
        Action::ShowHolds => &["5"],
        Action::Filter => &["/"],
        Action::Command => &[":"],
        Action::Sort => &["s"],
        Action::ReverseSort => &["S"],
        Action::Freeze => &["f"],
        Action::Help => &["?"],
        Action::Mouse => &["m"],
        Action::Redraw => &["ctrl-l"],
        Action::Quit => &["q", "ctrl-c"],
        Action::Claim => &["c"],
        Action::Unclaim => &["u"],
        Action::Note => &["n"],
        Action::Priority => &["p"],
        Action::Escalate => &["e"],
        Action::Defer => &["d"],
    }
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap::with(&BTreeMap::new()).expect("the default keys are valid")
    }
}

impl Keymap {
    /// The default keys, with `overrides` (action name → keys) from the
    /// `[keys]` settings replacing an action's keys.
    pub fn with(overrides: &BTreeMap<String, Vec<String>>) -> Result<Keymap, String> {
        for name in overrides.keys() {
            if !Action::ALL.iter().any(|a| a.name() == name) {
                let known: Vec<&str> = Action::ALL.iter().map(|a| a.name()).collect();
                return Err(format!(
                    "keys.{name}: no such action (actions: {})",
                    known.join(", ")
                ));
            }
        }
        let mut keys = HashMap::new();
        let mut by_action: BTreeMap<Action, Vec<Key>> = BTreeMap::new();
        for action in Action::ALL {
            let written: Vec<String> = match overrides.get(action.name()) {
                Some(keys) => keys.clone(),
                None => default_keys(action).iter().map(|k| k.to_string()).collect(),
            };
            for text in written {
                let key = Key::parse(&text).map_err(|e| format!("keys.{}: {e}", action.name()))?;
                if let Some(other) = keys.insert(key, action)
                    && other != action
                {
                    return Err(format!(
                        "keys.{}: {key} is already the key of {}",
                        action.name(),
                        other.name()
                    ));
                }
                by_action.entry(action).or_default().push(key);
            }
        }
        Ok(Keymap { keys, by_action })
    }

    /// The action of a key, if any.
    pub fn action(&self, event: &KeyEvent) -> Option<Action> {
        self.keys.get(&Key::of(event)).copied()
    }

    /// The keys of an action, first the one shown in hints.
    pub fn keys(&self, action: Action) -> &[Key] {
        self.by_action.get(&action).map_or(&[], Vec::as_slice)
    }

    /// The first key of an action, as text (for hints).
    pub fn hint(&self, action: Action) -> Option<String> {
        self.keys(action).first().map(Key::to_string)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn default_keys_follow_the_k9s_grammar() {
        let map = Keymap::default();
        let none = KeyModifiers::NONE;
        assert_eq!(
            map.action(&press(KeyCode::Char('j'), none)),
            Some(Action::Down)
        );
        assert_eq!(
            map.action(&press(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some(Action::Bottom)
        );
        assert_eq!(
            map.action(&press(KeyCode::Char('/'), none)),
            Some(Action::Filter)
        );
        assert_eq!(
            map.action(&press(KeyCode::Char(':'), none)),
            Some(Action::Command)
        );
        assert_eq!(
            map.action(&press(KeyCode::Char('l'), KeyModifiers::CONTROL)),
            Some(Action::Redraw)
        );
        assert_eq!(
            map.action(&press(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Action::Quit)
        );
        assert_eq!(
            map.action(&press(KeyCode::Tab, KeyModifiers::SHIFT)),
            Some(Action::PreviousScreen)
        );
        assert_eq!(map.action(&press(KeyCode::Char('x'), none)), None);
        assert_eq!(map.hint(Action::Freeze).as_deref(), Some("f"));
    }

    #[test]
    fn settings_replace_an_actions_keys() {
        let overrides = BTreeMap::from([(
            "freeze".to_owned(),
            vec!["ctrl-z".to_owned(), "F2".to_owned()],
        )]);
        let map = Keymap::with(&overrides).unwrap();
        assert_eq!(
            map.action(&press(KeyCode::Char('z'), KeyModifiers::CONTROL)),
            Some(Action::Freeze)
        );
        assert_eq!(
            map.action(&press(KeyCode::F(2), KeyModifiers::NONE)),
            Some(Action::Freeze)
        );
        assert_eq!(
            map.action(&press(KeyCode::Char('f'), KeyModifiers::NONE)),
            None
        );
        assert_eq!(map.hint(Action::Freeze).as_deref(), Some("Ctrl-z"));
    }

    #[test]
    fn bad_settings_say_what_is_wrong() {
        let unknown = BTreeMap::from([("teleport".to_owned(), vec!["t".to_owned()])]);
        assert!(
            Keymap::with(&unknown)
                .unwrap_err()
                .contains("keys.teleport")
        );
        let clash = BTreeMap::from([("freeze".to_owned(), vec!["q".to_owned()])]);
        assert!(
            Keymap::with(&clash)
                .unwrap_err()
                .contains("q is already the key of freeze")
        );
        let garbage = BTreeMap::from([("freeze".to_owned(), vec!["hyper-x".to_owned()])]);
        assert!(Keymap::with(&garbage).unwrap_err().contains("not a key"));
    }
}
