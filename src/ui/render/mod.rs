//! Drawing: the whole screen is a pure function of the [`App`] and the
//! board it shows. One module per region.
//!
//! ```text
//! ┌──────────────────────────────────────────────────────────────────────┐
//! │ port │ clock zone │ railway ok │ customs ok │ skew │ officer  FROZEN │ header
//! │ ✗ CUSTOMS STALE — last good 2m ago — 503 unavailable                  │ one per feed in trouble
//! │  1 Departures  2 Train  3 Parcels  4 Parcel  5 Holds   totals·filter │ tabs
//! ├──────────────────────────────────────────────────────────────────────┤
//! │                                                                      │
//! │                     the screen (or the wall page)                    │ body
//! │                                                                      │
//! ├──────────────────────────────────────────────────────────────────────┤
//! │ Enter open  Esc back  / filter  s sort  f freeze  ? help  q quit     │ footer
//! └──────────────────────────────────────────────────────────────────────┘
//! ```

mod bigtext;
pub mod common;
mod departures;
mod detail;
mod feeds;
mod footer;
pub mod header;
mod help;
mod holds;
mod parcels;
mod train;
mod wall;

use crate::board::Board;
use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};

use super::app::{App, Confirm, Screen};
use super::keymap::Action;
use super::theme::Theme;
use crate::domain::{Lang, Risk};
use crate::triage::Outcome;
use common::{block, styled, words};

/// The smallest terminal the board draws in.
pub const MIN_WIDTH: u16 = 64;
/// The smallest terminal the board draws in.
pub const MIN_HEIGHT: u16 = 16;

/// Draws everything.
pub fn draw(frame: &mut Frame, app: &App, board: &Board) {
    draw_screen(frame, app, board);
    if app.options.theme.ascii {
        asciify(frame);
    }
}

fn draw_screen(frame: &mut Frame, app: &App, board: &Board) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(frame, area, app);
        return;
    }
    let [top, body, bottom] = Layout::vertical([
        Constraint::Length(header::height(app)),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    header::render(frame, top, app, board);
    if app.options.wall {
        wall::render(frame, body, app, board);
    } else {
        match app.screen {
            Screen::Departures => departures::render(frame, body, app, board),
            Screen::Train => train::render(frame, body, app, board),
            Screen::Parcels => parcels::render(frame, body, app, board),
            Screen::Detail => detail::render(frame, body, app, board),
            Screen::Holds => holds::render(frame, body, app, board),
            Screen::Feeds => feeds::render(frame, body, app),
        }
    }
    footer::render(frame, bottom, app, board);
    if app.help {
        help::render(frame, body, app);
    }
    if app.confirm_quit {
        confirm(frame, body, app, words(app).quit_wall.to_owned());
    }
    if let Some(step) = &app.confirm {
        let lang = app.options.lang;
        let mark = if lang == Lang::Zh { "？" } else { "?" };
        let question = match step {
            Confirm::Send(intent) => format!(
                "{} {}{mark} y / n",
                intent.action.label(lang),
                intent.declaration_no
            ),
            Confirm::Discard(entry) => format!(
                "{} {} {}{mark} y / n",
                Action::Discard.brief(lang),
                entry.intent.action.label(lang),
                entry.intent.declaration_no
            ),
        };
        confirm(frame, body, app, question);
    }
}

/// This terminal's latest action on a parcel, as shown beside it.
pub struct TriageState {
    /// What and where it stands: `claim ✓`, `escalate…`, `claim ✗ claimed_by_other`.
    pub text: String,
    /// Where it stands, in one glyph.
    pub mark: &'static str,
    /// Its style.
    pub style: Style,
}

/// Where a triage action stands, in one glyph, and its style.
pub fn outcome_mark(outcome: &Outcome, theme: &Theme) -> (&'static str, Style) {
    match outcome {
        Outcome::Pending { .. } => ("…", theme.key),
        Outcome::Stuck { .. } => ("!", theme.risk(Risk::Late)),
        Outcome::Done { .. } => (theme.glyphs.done, theme.risk(Risk::OnTrack)),
        Outcome::Refused { .. } => (theme.glyphs.blocked, theme.risk(Risk::AtRisk)),
        Outcome::Discarded => ("-", theme.dim),
    }
}

/// This terminal's latest action on `declaration_no`, if any.
pub fn triage_state(app: &App, declaration_no: &str) -> Option<TriageState> {
    let entry = app.outbox.latest_about(declaration_no)?;
    let action = entry.intent.action.label(app.options.lang);
    let (mark, style) = outcome_mark(&entry.outcome, &app.options.theme);
    let text = match &entry.outcome {
        Outcome::Pending { .. } => format!("{action}{mark}"),
        Outcome::Stuck { .. } => format!("{action} {mark} {}", words(app).stuck),
        Outcome::Done { .. } => format!("{action} {mark}"),
        Outcome::Refused { code, .. } => format!("{action} {mark} {code}"),
        Outcome::Discarded => format!("{action} {mark} {}", words(app).discarded),
    };
    Some(TriageState { text, mark, style })
}

/// In ASCII mode, every glyph the board draws with becomes its ASCII
/// stand-in, wherever it came from (chrome, labels, data).
fn asciify(frame: &mut Frame) {
    for cell in &mut frame.buffer_mut().content {
        if let Some(ascii) = super::theme::ascii_fallback(cell.symbol()) {
            cell.set_symbol(ascii);
        }
    }
}

/// The rows a table on `screen` shows in a terminal of `height` lines.
pub fn table_rows(height: u16, app: &App) -> usize {
    height.saturating_sub(header::height(app) + 1 + 3) as usize
}

fn too_small(frame: &mut Frame, area: Rect, app: &App) {
    let theme = &app.options.theme;
    let text = vec![
        Line::from(styled(words(app).too_small, theme.alert)),
        Line::from(format!(
            "{}×{} < {MIN_WIDTH}×{MIN_HEIGHT}",
            area.width, area.height
        )),
    ];
    frame.render_widget(Paragraph::new(text).centered(), area);
}

/// A yes-or-no question over the screen.
fn confirm(frame: &mut Frame, area: Rect, app: &App, text: String) {
    let theme = &app.options.theme;
    let [row] = Layout::vertical([Constraint::Length(3)])
        .flex(Flex::Center)
        .areas(area);
    let width = (crate::domain::text::width(&text) as u16 + 6).min(area.width);
    let [popup] = Layout::horizontal([Constraint::Length(width)])
        .flex(Flex::Center)
        .areas(row);
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(Line::from(styled(text, theme.title)).centered()).block(block("", theme)),
        popup,
    );
}
