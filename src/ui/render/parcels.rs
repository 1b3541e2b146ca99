//! Parcels: every parcel (or those the filter keeps), each with its path as
//! four stage cells, the slack to its cut-off, its risk and the reason.

use crate::board::Board;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Row};

use super::common::{risk_cell, short, stage_cells, styled, table, words};
use crate::domain::text::fit;
use crate::ui::app::{App, Screen};

/// Slack in a few characters, signed (none under a second).
pub fn slack_text(slack: Option<chrono::Duration>) -> String {
    match slack {
        Some(s) if s.num_seconds() == 0 => "0s".to_owned(),
        Some(s) if s < chrono::Duration::zero() => format!("-{}", short(s)),
        Some(s) => format!("+{}", short(s)),
        None => String::new(),
    }
}

/// The stage column's header, each stage's letter over its cell.
pub fn stage_header(lang: crate::domain::Lang, cell: usize) -> String {
    crate::domain::Stage::ALL
        .into_iter()
        .map(|stage| {
            let letter = stage.short(lang);
            let pad = cell.saturating_sub(crate::domain::text::width(letter));
            format!("{letter}{}", " ".repeat(pad))
        })
        .collect()
}

/// Draws the parcels table.
pub fn render(frame: &mut Frame, area: Rect, app: &App, board: &Board) {
    let theme = &app.options.theme;
    let w = words(app);
    let lang = app.options.lang;
    let now = app.shown_at();
    let wide = area.width >= 140;
    let cell = if wide { 7 } else { 5 };
    let widths: Vec<Constraint> = if wide {
        vec![
            Constraint::Length(18),
            Constraint::Length(15),
            Constraint::Length(11),
            Constraint::Length(4 * cell as u16),
            Constraint::Length(7),
            Constraint::Length(11),
            Constraint::Fill(1),
        ]
    } else {
        vec![
            Constraint::Length(18),
            Constraint::Length(4 * cell as u16),
            Constraint::Length(6),
            Constraint::Length(10),
            Constraint::Fill(1),
        ]
    };
    let stages = stage_header(lang, cell);
    let header = if wide {
        vec![
            w.declaration,
            w.train,
            w.container,
            &stages,
            w.slack,
            w.risk,
            w.reason,
        ]
    } else {
        vec![w.declaration, &stages, w.slack, w.risk, w.reason]
    };
    let list = &app.views.parcels;
    let row = |i: usize| -> Row<'static> {
        let Some(p) = list.get(i).and_then(|k| board.parcel(k as u32)) else {
            return Row::new(Vec::<Cell>::new());
        };
        let a = &p.assessment();
        let reason = if a.risk.is_flagged() {
            a.reason.text(now, lang)
        } else {
            String::new()
        };
        let mut cells = vec![Cell::from(p.declaration_no().to_string())];
        if wide {
            cells.push(Cell::from(fit(p.train_id().map_or("-", AsRef::as_ref), 15)));
            cells.push(Cell::from(fit(
                p.container_no().map_or("-", AsRef::as_ref),
                11,
            )));
        }
        cells.push(Cell::from(stage_cells(&p, app, cell)));
        cells.push(Cell::from(slack_text(a.slack)).style(theme.risk(a.risk)));
        cells.push(risk_cell(a.risk, app));
        cells.push(Cell::from(fit(&reason, 200)));
        Row::new(cells)
    };
    let mut title = vec![
        styled(format!(" {} ", w.parcels), theme.title),
        styled(format!("· {} {} ", list.len(), w.rows), theme.dim),
    ];
    if !app.filter.is_empty() {
        title.push(styled(
            format!("· {} {} ", w.filter, fit(app.filter.text(), 40)),
            theme.key,
        ));
    }
    table(
        frame,
        area,
        Line::from(title),
        header,
        &widths,
        list.len(),
        app.selected_row(Screen::Parcels, board),
        row,
        theme,
    );
}
