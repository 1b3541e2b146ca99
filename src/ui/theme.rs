//! Colours, modifiers and glyphs. Meaning is never in colour alone: every
//! colour has a symbol or a word beside it, so the board reads in
//! monochrome; without colour (`NO_COLOR`) the colours are dropped here and
//! the modifiers (bold, reverse) kept, so the selection bar stays visible.

use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::border;
use serde::{Deserialize, Serialize};

use crate::domain::{Risk, StageState};

/// A palette to choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThemeName {
    /// The 16 ANSI colours on the terminal's own background (tmux, 8/16
    /// colour consoles, light or dark).
    #[default]
    Default,
    /// 24-bit colours for a dark background.
    Truecolor,
    /// For a light background.
    Light,
    /// No colour at all (also what `NO_COLOR` gives).
    Mono,
}

impl ThemeName {
    /// Reads a theme name.
    pub fn parse(text: &str) -> Option<ThemeName> {
        match text.trim().to_ascii_lowercase().as_str() {
            "default" | "ansi" => Some(ThemeName::Default),
            "truecolor" | "24bit" => Some(ThemeName::Truecolor),
            "light" => Some(ThemeName::Light),
            "mono" | "monochrome" | "none" => Some(ThemeName::Mono),
            _ => None,
        }
    }
}

/// The glyphs, with an ASCII set for terminals without box drawing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Glyphs {
    /// A stage done.
    pub done: &'static str,
    /// A stage under way.
    pub progress: &'static str,
    /// A stage stopped.
    pub blocked: &'static str,
    /// A stage not started.
    pub waiting: &'static str,
    /// A stage in an unknown state.
    pub unknown: &'static str,
    /// Progress bar, filled.
    pub bar_full: &'static str,
    /// Progress bar, empty.
    pub bar_empty: &'static str,
    /// Large digits are drawn with this.
    pub big: &'static str,
    /// Separator between header items.
    pub separator: &'static str,
    /// The selected row's marker.
    pub pointer: &'static str,
    /// Borders.
    pub border: border::Set<'static>,
}

const UNICODE: Glyphs = Glyphs {
    done: "✓",
    progress: "▶",
    blocked: "✗",
    waiting: "·",
    unknown: "?",
    bar_full: "█",
    bar_empty: "░",
    big: "█",
    separator: " │ ",
    pointer: "▶ ",
    border: border::PLAIN,
};

const ASCII: Glyphs = Glyphs {
    done: "+",
    progress: ">",
    blocked: "x",
    waiting: ".",
    unknown: "?",
    bar_full: "#",
    bar_empty: "-",
    big: "#",
    separator: " | ",
    pointer: "> ",
    border: border::Set {
        top_left: "+",
        top_right: "+",
        bottom_left: "+",
        bottom_right: "+",
        vertical_left: "|",
        vertical_right: "|",
        horizontal_top: "-",
        horizontal_bottom: "-",
    },
};

/// Styles for every role on screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    /// Ordinary text.
    pub normal: Style,
    /// Less important text.
    pub dim: Style,
    /// Titles and column headers.
    pub title: Style,
    /// Borders.
    pub border: Style,
    /// The selected row.
    pub selected: Style,
    /// The header bar.
    pub header: Style,
    /// Alarms: a stale or down feed.
    pub alert: Style,
    /// Badges (FROZEN).
    pub badge: Style,
    /// Keys in hints.
    pub key: Style,
    /// Text being typed.
    pub input: Style,
    risk: [Style; 5],
    stage: [Style; 5],
    /// The glyphs.
    pub glyphs: Glyphs,
    /// Only ASCII on screen.
    pub ascii: bool,
}

/// The ASCII stand-in of a glyph the board draws with; `None` for
/// everything else (data, such as Chinese names, is left alone).
pub fn ascii_fallback(symbol: &str) -> Option<&'static str> {
    Some(match symbol {
        "·" | "•" => ".",
        "—" | "–" | "─" | "━" | "░" => "-",
        "│" | "┃" => "|",
        "┌" | "┐" | "└" | "┘" | "├" | "┤" | "┬" | "┴" | "┼" => "+",
        "→" | "▶" | "›" => ">",
        "←" => "<",
        "↑" => "^",
        "↓" => "v",
        "…" => "~",
        "✓" => "+",
        "✗" => "x",
        "█" | "▓" | "■" => "#",
        "×" => "x",
        _ => return None,
    })
}

fn fg(color: Color) -> Style {
    Style::new().fg(color)
}

impl Theme {
    /// The theme `name`, without colour when `no_color`, in ASCII when
    /// `ascii`.
    pub fn new(name: ThemeName, no_color: bool, ascii: bool) -> Theme {
        let bold = Modifier::BOLD;
        let theme = match name {
            ThemeName::Default | ThemeName::Mono => Theme {
                normal: Style::new(),
                dim: fg(Color::DarkGray),
                title: Style::new().add_modifier(bold),
                border: fg(Color::DarkGray),
                selected: Style::new().add_modifier(Modifier::REVERSED | bold),
                header: Style::new().add_modifier(Modifier::REVERSED),
                alert: Style::new()
                    .fg(Color::White)
                    .bg(Color::Red)
                    .add_modifier(bold),
                badge: Style::new()
                    .fg(Color::Black)
                    .bg(Color::Yellow)
                    .add_modifier(bold),
                key: fg(Color::Cyan).add_modifier(bold),
                input: Style::new().add_modifier(Modifier::UNDERLINED),
                risk: [
                    fg(Color::Green),
                    fg(Color::Yellow),
                    fg(Color::Red).add_modifier(bold),
                    fg(Color::Red).add_modifier(bold | Modifier::REVERSED),
                    fg(Color::Magenta).add_modifier(bold | Modifier::UNDERLINED),
                ],
                stage: [
                    fg(Color::DarkGray),
                    fg(Color::Cyan),
                    fg(Color::Red).add_modifier(bold),
                    fg(Color::Green),
                    fg(Color::Yellow),
                ],
                glyphs: UNICODE,
                ascii: false,
            },
            ThemeName::Light => Theme {
                normal: Style::new(),
                dim: fg(Color::Gray),
                title: Style::new().add_modifier(bold),
                border: fg(Color::Gray),
                selected: Style::new().add_modifier(Modifier::REVERSED | bold),
                header: Style::new().fg(Color::White).bg(Color::Blue),
                alert: Style::new()
                    .fg(Color::White)
                    .bg(Color::Red)
                    .add_modifier(bold),
                badge: Style::new()
                    .fg(Color::White)
                    .bg(Color::Magenta)
                    .add_modifier(bold),
                key: fg(Color::Blue).add_modifier(bold),
                input: Style::new().add_modifier(Modifier::UNDERLINED),
                risk: [
                    fg(Color::Green),
                    fg(Color::Blue).add_modifier(bold),
                    fg(Color::Red).add_modifier(bold),
                    fg(Color::Red).add_modifier(bold | Modifier::REVERSED),
                    fg(Color::Magenta).add_modifier(bold | Modifier::UNDERLINED),
                ],
                stage: [
                    fg(Color::Gray),
                    fg(Color::Blue),
                    fg(Color::Red).add_modifier(bold),
                    fg(Color::Green),
                    fg(Color::Magenta),
                ],
                glyphs: UNICODE,
                ascii: false,
            },
            ThemeName::Truecolor => {
                let rgb = |r, g, b| fg(Color::Rgb(r, g, b));
                Theme {
                    normal: rgb(220, 224, 230),
                    dim: rgb(120, 128, 140),
                    title: rgb(240, 244, 248).add_modifier(bold),
                    border: rgb(70, 80, 95),
                    selected: Style::new()
                        .fg(Color::Rgb(16, 20, 26))
                        .bg(Color::Rgb(150, 200, 255))
                        .add_modifier(bold),
                    header: Style::new()
                        .fg(Color::Rgb(235, 240, 245))
                        .bg(Color::Rgb(28, 52, 84)),
                    alert: Style::new()
                        .fg(Color::Rgb(255, 255, 255))
                        .bg(Color::Rgb(190, 30, 30))
                        .add_modifier(bold),
                    badge: Style::new()
                        .fg(Color::Rgb(20, 20, 20))
                        .bg(Color::Rgb(250, 200, 60))
                        .add_modifier(bold),
                    key: rgb(110, 200, 250).add_modifier(bold),
                    input: rgb(250, 250, 250).add_modifier(Modifier::UNDERLINED),
                    risk: [
                        rgb(90, 200, 120),
                        rgb(245, 195, 70),
                        rgb(250, 90, 70).add_modifier(bold),
                        rgb(255, 70, 70).add_modifier(bold | Modifier::REVERSED),
                        rgb(200, 120, 255).add_modifier(bold | Modifier::UNDERLINED),
                    ],
                    stage: [
                        rgb(90, 98, 110),
                        rgb(100, 180, 255),
                        rgb(250, 90, 70).add_modifier(bold),
                        rgb(90, 200, 120),
                        rgb(245, 195, 70),
                    ],
                    glyphs: UNICODE,
                    ascii: false,
                }
            }
        };
        let theme = if no_color || name == ThemeName::Mono {
            theme.without_colour()
        } else {
            theme
        };
        if ascii {
            Theme {
                glyphs: ASCII,
                ascii: true,
                ..theme
            }
        } else {
            theme
        }
    }

    /// Every style without its colours, modifiers kept.
    fn without_colour(self) -> Theme {
        let strip = |s: Style| Style {
            fg: None,
            bg: None,
            underline_color: None,
            ..s
        };
        Theme {
            normal: strip(self.normal),
            dim: strip(self.dim),
            title: strip(self.title),
            border: strip(self.border),
            selected: strip(self.selected),
            header: strip(self.header),
            alert: strip(self.alert).add_modifier(Modifier::REVERSED),
            badge: strip(self.badge).add_modifier(Modifier::REVERSED),
            key: strip(self.key),
            input: strip(self.input),
            risk: self.risk.map(strip),
            stage: self.stage.map(strip),
            glyphs: self.glyphs,
            ascii: self.ascii,
        }
    }

    /// The style of a risk class.
    pub fn risk(&self, risk: Risk) -> Style {
        self.risk[risk as usize]
    }

    /// The style of a stage state.
    pub fn stage(&self, state: StageState) -> Style {
        self.stage[match state {
            StageState::NotStarted => 0,
            StageState::InProgress => 1,
            StageState::Blocked => 2,
            StageState::Done => 3,
            StageState::Unknown => 4,
        }]
    }

    /// The glyph of a stage state.
    pub fn stage_glyph(&self, state: StageState) -> &'static str {
        let g = &self.glyphs;
        match state {
            StageState::NotStarted => g.waiting,
            StageState::InProgress => g.progress,
            StageState::Blocked => g.blocked,
            StageState::Done => g.done,
            StageState::Unknown => g.unknown,
        }
    }

    /// The short mark of a risk class, beside its word.
    pub fn risk_mark(&self, risk: Risk) -> &'static str {
        match risk {
            Risk::OnTrack => " ",
            Risk::Watch => "~",
            Risk::AtRisk => "!",
            Risk::Late => self.glyphs.blocked,
            Risk::Held => "H",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_colour_keeps_bold_and_reverse() {
        let theme = Theme::new(ThemeName::Default, true, false);
        assert_eq!(theme.selected.fg, None);
        assert!(theme.selected.add_modifier.contains(Modifier::REVERSED));
        assert!(
            theme
                .risk(Risk::AtRisk)
                .add_modifier
                .contains(Modifier::BOLD)
        );
        assert_eq!(theme.risk(Risk::AtRisk).fg, None);
        assert_eq!(theme.alert.bg, None);
        assert!(theme.alert.add_modifier.contains(Modifier::REVERSED));
    }

    #[test]
    fn every_risk_class_differs_without_colour() {
        let theme = Theme::new(ThemeName::Mono, false, false);
        let flagged = [Risk::AtRisk, Risk::Late, Risk::Held];
        for (i, a) in flagged.iter().enumerate() {
            for b in &flagged[i + 1..] {
                assert_ne!(theme.risk(*a), theme.risk(*b), "{a:?} and {b:?}");
            }
        }
    }

    #[test]
    fn ascii_mode_has_no_box_drawing_or_blocks() {
        let theme = Theme::new(ThemeName::Default, false, true);
        let g = theme.glyphs;
        let all = [
            g.done,
            g.progress,
            g.blocked,
            g.waiting,
            g.unknown,
            g.bar_full,
            g.bar_empty,
            g.big,
            g.separator,
            g.pointer,
            g.border.top_left,
            g.border.horizontal_top,
            g.border.vertical_left,
        ];
        assert!(all.iter().all(|s| s.is_ascii()), "{all:?}");
    }
}
