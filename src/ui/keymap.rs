//! Keys as data: every key maps to an [`Action`] through a keymap that the
//! `[keys]` section of the settings can change. The help overlay and the
//! footer hints are generated from the same keymap, so they are always true.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use crate::domain::{HoldActionKind, Lang};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Declares the actions, one line each: the name used in the `[keys]`
/// settings, the default keys, what it does in English and Chinese, and
/// optionally a shorter word for the footer, whether it asks `y / n`
/// first, and the triage action it asks customs for.
macro_rules! actions {
    (
        $(
            $(#[$doc:meta])*
            $variant:ident = $name:literal, [$($key:literal),*], ($en:literal, $zh:literal)
            $(, brief ($ben:literal, $bzh:literal))?
            $(, confirm $confirm:literal)?
            $(, triage $kind:ident)?
            ;
        )+
    ) => {
        /// Something the officer asks for.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action {
            $( $(#[$doc])* $variant, )+
        }

        impl Action {
            /// Every action, in help order.
            pub const ALL: [Action; [$($name),+].len()] = [$(Action::$variant),+];

            /// The name used in the `[keys]` settings.
            pub fn name(self) -> &'static str {
                match self {
                    $( Action::$variant => $name, )+
                }
            }

            /// The keys it has unless the settings say otherwise.
            fn default_keys(self) -> &'static [&'static str] {
                match self {
                    $( Action::$variant => &[$($key),*], )+
                }
            }

            /// What it does, for the help and the hints.
            pub fn describe(self, lang: Lang) -> &'static str {
                let (en, zh) = match self {
                    $( Action::$variant => ($en, $zh), )+
                };
                if lang == Lang::Zh { zh } else { en }
            }

            /// A word or two for the footer, where room is short.
            pub fn brief(self, lang: Lang) -> &'static str {
                let (en, zh) = match self {
                    $( Action::$variant => actions!(@brief ($en, $zh) $(($ben, $bzh))?), )+
                };
                if lang == Lang::Zh { zh } else { en }
            }

            /// Whether it asks `y / n` before it acts (the consequential
            /// triage actions do, by the triage rules).
            pub fn confirms(self) -> bool {
                let own = match self {
                    $( Action::$variant => false $(|| $confirm)?, )+
                };
                own || self.triage().is_some_and(|kind| crate::triage::rules::asks_first(&kind))
            }

            /// The triage action it asks customs for, if any.
            pub fn triage(self) -> Option<HoldActionKind> {
                match self {
                    $( Action::$variant => actions!(@triage $($kind)?), )+
                }
            }
        }
    };
    (@brief ($en:literal, $zh:literal)) => { ($en, $zh) };
    (@brief ($en:literal, $zh:literal) ($ben:literal, $bzh:literal)) => { ($ben, $bzh) };
    (@triage) => { None };
    (@triage $kind:ident) => { Some(HoldActionKind::$kind) };
}

actions! {
    /// Selection up one row.
    Up = "up", ["up", "k"], ("up", "上移");
    /// Selection down one row.
    Down = "down", ["down", "j"], ("down", "下移");
    /// First row.
    Top = "top", ["g", "home"], ("first row", "首行");
    /// Last row.
    Bottom = "bottom", ["G", "end"], ("last row", "末行");
    /// A page up.
    PageUp = "page_up", ["pgup", "ctrl-b"], ("page up", "上一页");
    /// A page down.
    PageDown = "page_down", ["pgdn", "ctrl-f", "space"], ("page down", "下一页");
    /// Open what is selected.
    Open = "open", ["enter"], ("open", "打开");
    /// Back to where it was opened from.
    Back = "back", ["esc", "backspace"], ("back", "返回");
    /// Next screen.
    NextScreen = "next_screen", ["tab"], ("next screen", "下一屏");
    /// Previous screen.
    PreviousScreen = "previous_screen", ["backtab"], ("previous screen", "上一屏");
    /// The departures board.
    ShowDepartures = "show_departures", ["1"], ("departures", "发车");
    /// The selected train.
    ShowTrain = "show_train", ["2"], ("train", "班列");
    /// The parcels table.
    ShowParcels = "show_parcels", ["3"], ("parcels", "包裹");
    /// The selected parcel.
    ShowDetail = "show_detail", ["4"], ("parcel detail", "包裹详情");
    /// The holds queue.
    ShowHolds = "show_holds", ["5"], ("holds", "扣留");
    /// What the feeds did, and did wrong.
    ShowFeeds = "show_feeds", ["6"], ("feeds", "数据源");
    /// Type a filter.
    Filter = "filter", ["/"], ("filter", "筛选");
    /// Type a command.
    Command = "command", [":"], ("command", "命令");
    /// Sort by the next column.
    Sort = "sort", ["s"], ("sort", "排序");
    /// Reverse the sort.
    ReverseSort = "reverse_sort", ["S"], ("reverse sort", "反向排序");
    /// Hold the display still (or let it go).
    Freeze = "freeze", ["f"], ("freeze", "冻结");
    /// Show or hide the help.
    Help = "help", ["?"], ("help", "帮助");
    /// Let the mouse select text (or give it back to the board).
    Mouse = "mouse", ["m"], ("mouse select", "鼠标选择");
    /// Redraw the whole screen.
    Redraw = "redraw", ["ctrl-l"], ("redraw", "重绘");
    /// Quit.
    Quit = "quit", ["q", "ctrl-c"], ("quit", "退出");
    /// Claim the held parcel.
    Claim = "claim", ["c"], ("claim hold", "认领"), brief ("claim", "认领"), triage Claim;
    /// Give up a claim.
    Unclaim = "unclaim", ["u"], ("release claim", "取消认领"), brief ("unclaim", "取消认领"),
        triage Unclaim;
    /// Add a note to the hold.
    Note = "note", ["n"], ("add note", "备注"), brief ("note", "备注"), triage Note;
    /// Ask for priority inspection.
    Priority = "priority", ["p"], ("priority inspection", "优先查验"), brief ("priority", "优先"),
        triage RequestPriorityInspection;
    /// Escalate to a supervisor.
    Escalate = "escalate", ["e"], ("escalate", "上报"), triage Escalate;
    /// Ask for the parcel to go on the next train.
    Defer = "defer", ["d"], ("defer to next train", "改配下一班"), brief ("defer", "改配"),
        triage DeferToNextTrain;
    /// Try this terminal's stuck action on the parcel again.
    Retry = "retry", ["R"], ("retry my stuck action", "重试卡住的操作"), brief ("retry", "重试");
    /// Give up this terminal's unanswered action on the parcel.
    Discard = "discard", ["x"], ("discard my action", "放弃未答复的操作"),
        brief ("discard", "放弃"), confirm true;
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
                None => action
                    .default_keys()
                    .iter()
                    .map(|k| k.to_string())
                    .collect(),
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
        assert_eq!(map.action(&press(KeyCode::Char('z'), none)), None);
        assert_eq!(map.hint(Action::Freeze).as_deref(), Some("f"));
    }

    #[test]
    fn every_action_is_whole_in_both_languages() {
        for action in Action::ALL {
            assert!(!action.default_keys().is_empty(), "{action:?}");
            for lang in [Lang::En, Lang::Zh] {
                assert!(!action.describe(lang).is_empty(), "{action:?}");
                assert!(!action.brief(lang).is_empty(), "{action:?}");
            }
        }
        assert_eq!(Action::Escalate.brief(Lang::En), "escalate");
        assert_eq!(Action::Claim.triage(), Some(HoldActionKind::Claim));
        assert!(Action::Defer.confirms() && Action::Discard.confirms());
        assert!(!Action::Claim.confirms() && Action::Retry.triage().is_none());
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
