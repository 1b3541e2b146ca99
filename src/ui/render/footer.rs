//! The footer: the line being typed, or a message, or the keys that work
//! on this screen (from the keymap, so always true).

use crate::board::Board;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::common::{styled, words};
use crate::domain::text::{fit, fit_tail, width};
use crate::ui::app::{App, InputKind, Screen};

/// Draws the footer line.
pub fn render(frame: &mut Frame, area: Rect, app: &App, board: &Board) {
    let theme = &app.options.theme;
    let w = words(app);
    let lang = app.options.lang;
    let line = if let Some(input) = &app.input {
        let (prompt, what) = match &input.kind {
            InputKind::Filter => ("/", w.filter.to_owned()),
            InputKind::Command => (":", w.command.to_owned()),
            InputKind::Note(parcel) => (">", format!("{} {parcel}", w.notes)),
        };
        let room = (area.width as usize).saturating_sub(width(&what) + 6);
        Line::from(vec![
            styled(format!("{what} "), theme.dim),
            styled(prompt, theme.key),
            styled(fit_tail(&input.text, room), theme.input),
            styled("█", theme.key),
        ])
    } else if let Some(message) = &app.message {
        Line::from(styled(
            fit(message, area.width as usize),
            theme.risk(crate::domain::Risk::AtRisk),
        ))
    } else if app.options.wall {
        Line::from(styled(
            format!(
                "{} {}",
                app.options
                    .keymap
                    .hint(crate::ui::keymap::Action::Quit)
                    .unwrap_or_default(),
                crate::ui::keymap::Action::Quit.describe(lang)
            ),
            theme.dim,
        ))
    } else {
        let mut spans: Vec<Span> = Vec::new();
        for action in app.hints(board) {
            if let Some(key) = app.options.keymap.hint(action) {
                spans.push(styled(key, theme.key));
                spans.push(styled(format!(" {}  ", action.brief(lang)), theme.dim));
            }
        }
        let sort = match app.screen {
            Screen::Departures => Some(app.sorting.departures.name(lang)),
            Screen::Parcels => Some(app.sorting.parcels.name(lang)),
            Screen::Holds => Some(app.sorting.holds.name(lang)),
            _ => None,
        };
        if let Some(sort) = sort {
            let arrow = if app.sorting.reversed { "↑" } else { "↓" };
            spans.push(styled(format!("{} {sort}{arrow}", w.sorted_by), theme.dim));
        }
        Line::from(spans)
    };
    frame.render_widget(Paragraph::new(line), area);
}
