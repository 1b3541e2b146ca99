//! The help overlay, generated from the keymap (so it is always true),
//! with the filter fields and the commands.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};

use super::common::{block, styled, words};
use crate::domain::Lang;
use crate::ui::app::App;
use crate::ui::keymap::Action;

/// The help lines.
pub fn lines(app: &App) -> Vec<Line<'static>> {
    let theme = &app.options.theme;
    let lang = app.options.lang;
    let mut lines = Vec::new();
    for action in Action::ALL {
        let keys: Vec<String> = app
            .options
            .keymap
            .keys(action)
            .iter()
            .map(|k| k.to_string())
            .collect();
        if keys.is_empty() {
            continue;
        }
        lines.push(Line::from(vec![
            styled(format!("{:<20} ", keys.join(" ")), theme.key),
            styled(action.describe(lang).to_owned(), theme.normal),
        ]));
    }
    lines.push(Line::default());
    let (filter, commands) = match lang {
        Lang::En => (
            "filter: text, or train: container: waybill: declaration: enterprise: status: risk:",
            "commands: :train X8017  :held  :risk at_risk  :parcels TEXT  :tz almaty  :lang zh  :q",
        ),
        Lang::Zh => (
            "筛选：文字，或 train: container: waybill: declaration: enterprise: status: risk:",
            "命令：:train X8017  :held  :risk at_risk  :parcels 文字  :tz almaty  :lang en  :q",
        ),
    };
    lines.push(Line::from(styled(filter, theme.dim)));
    lines.push(Line::from(styled(commands, theme.dim)));
    lines
}

/// Draws the help over the screen.
pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let lines = lines(app);
    let height = (lines.len() as u16 + 2).min(area.height);
    let width = 92.min(area.width);
    let [row] = Layout::vertical([Constraint::Length(height)])
        .flex(Flex::Center)
        .areas(area);
    let [popup] = Layout::horizontal([Constraint::Length(width)])
        .flex(Flex::Center)
        .areas(row);
    frame.render_widget(Clear, popup);
    let title = format!(" {} ", words(app).help);
    frame.render_widget(
        Paragraph::new(lines).block(block(title, &app.options.theme)),
        popup,
    );
}
