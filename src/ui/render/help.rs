//! The help overlay, generated from the keymap (so it is always true),
//! with the filter fields and the commands; in two columns when one does
//! not fit the terminal's height.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph, Wrap};

use super::common::{block, styled, words};
use crate::domain::Lang;
use crate::domain::text::fit;
use crate::ui::app::App;
use crate::ui::keymap::Action;

/// Every action with its keys.
fn entries(app: &App, keys_per_action: usize, key_width: usize) -> Vec<Line<'static>> {
    let theme = &app.options.theme;
    let lang = app.options.lang;
    Action::ALL
        .into_iter()
        .filter_map(|action| {
            let keys: Vec<String> = app
                .options
                .keymap
                .keys(action)
                .iter()
                .take(keys_per_action)
                .map(|k| k.to_string())
                .collect();
            (!keys.is_empty()).then(|| {
                Line::from(vec![
                    styled(
                        format!("{:<key_width$} ", fit(&keys.join(" "), key_width)),
                        theme.key,
                    ),
                    styled(action.describe(lang).to_owned(), theme.normal),
                ])
            })
        })
        .collect()
}

/// The filter fields and the commands.
fn syntax(app: &App) -> Vec<Line<'static>> {
    let theme = &app.options.theme;
    let (filter, commands) = match app.options.lang {
        Lang::En => (
            "filter: text, or train: container: waybill: declaration: enterprise: status: risk:",
            "commands: :train X8017  :held  :risk at_risk  :parcels TEXT  :tz almaty  :lang zh  :q",
        ),
        Lang::Zh => (
            "筛选：文字，或 train: container: waybill: declaration: enterprise: status: risk:",
            "命令：:train X8017  :held  :risk at_risk  :parcels 文字  :tz almaty  :lang en  :q",
        ),
    };
    vec![
        Line::from(styled(filter, theme.dim)),
        Line::from(styled(commands, theme.dim)),
    ]
}

/// Draws the help over the screen.
pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let theme = &app.options.theme;
    let title = format!(" {} ", words(app).help);
    let wide = entries(app, 4, 20);
    let one_column = wide.len() + 3 + 2 <= area.height as usize;
    let width = 92.min(area.width);
    // Two columns: the keys, a blank row if there is room, the syntax
    // (wrapped to up to four rows), the borders.
    let half = wide.len().div_ceil(2);
    let spacer = usize::from(half + 1 + 4 + 2 <= area.height as usize);
    let height = if one_column {
        wide.len() + 3 + 2
    } else {
        half + spacer + 4 + 2
    }
    .min(area.height as usize) as u16;
    let [row] = Layout::vertical([Constraint::Length(height)])
        .flex(Flex::Center)
        .areas(area);
    let [popup] = Layout::horizontal([Constraint::Length(width)])
        .flex(Flex::Center)
        .areas(row);
    frame.render_widget(Clear, popup);
    let outer = block(title, theme);
    let inner = outer.inner(popup);
    frame.render_widget(outer, popup);
    if one_column {
        let mut lines = wide;
        lines.push(Line::default());
        lines.extend(syntax(app));
        frame.render_widget(Paragraph::new(lines), inner);
        return;
    }
    let narrow = entries(app, 2, 14);
    let [columns, rest] = Layout::vertical([
        Constraint::Length((half + spacer) as u16),
        Constraint::Fill(1),
    ])
    .areas(inner);
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(columns);
    frame.render_widget(Paragraph::new(narrow[..half].to_vec()), left);
    frame.render_widget(Paragraph::new(narrow[half..].to_vec()), right);
    frame.render_widget(Paragraph::new(syntax(app)).wrap(Wrap { trim: true }), rest);
}
