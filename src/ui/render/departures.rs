//! Departures: upcoming trains (those with parcels in trouble first), their
//! countdowns to each cut-off and to departure, how far their parcels are
//! on the path, their risks and the shed.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Row};

use super::common::{countdown_span, progress_bar, risk_counts, short_count, styled, table, words};
use crate::board::{Board, TrainEntry};
use crate::domain::TransshipmentStatus;
use crate::domain::text::fit;
use crate::ui::app::{App, Screen};
use crate::ui::theme::Theme;

/// Shed counts of a train's containers: queued, lifting, done, of all.
pub fn shed_counts(board: &Board, train: &TrainEntry) -> (usize, usize, usize, usize) {
    let mut counts = (0, 0, 0, train.containers.len());
    for key in train.containers.keys() {
        match board.container(*key as usize).and_then(|c| c.shed_status()) {
            Some(TransshipmentStatus::Queued) => counts.0 += 1,
            Some(TransshipmentStatus::InProgress) => counts.1 += 1,
            Some(TransshipmentStatus::Done) => counts.2 += 1,
            _ => {}
        }
    }
    counts
}

fn shed_line(board: &Board, train: &TrainEntry, theme: &Theme) -> Line<'static> {
    let (queued, lifting, done, all) = shed_counts(board, train);
    let g = &theme.glyphs;
    Line::from(format!(
        "{queued}q {lifting}{} {done}{}/{all}",
        g.progress, g.done
    ))
}

/// Columns of the risk counts: four six-digit counts abbreviated
/// (`12.3k~`) fit the wide board; the narrow one shows the most urgent.
const RISK_WIDE: u16 = 27;
const RISK_NARROW: u16 = 16;

/// Draws the departures board.
pub fn render(frame: &mut Frame, area: Rect, app: &App, board: &Board) {
    let theme = &app.options.theme;
    let w = words(app);
    let lang = app.options.lang;
    let now = app.shown_at();
    let margin = board.watch_margin();
    let wide = area.width >= 140;
    let widths: Vec<Constraint> = if wide {
        vec![
            Constraint::Length(15),
            Constraint::Length(16),
            Constraint::Length(9),
            Constraint::Length(19),
            Constraint::Fill(1),
            Constraint::Length(7),
            Constraint::Length(RISK_WIDE),
            Constraint::Length(15),
        ]
    } else {
        vec![
            Constraint::Length(8),
            Constraint::Length(15),
            Constraint::Fill(1),
            Constraint::Length(7),
            Constraint::Length(RISK_NARROW),
        ]
    };
    let header = if wide {
        vec![
            w.train, w.departs, w.status, w.cutoffs, "D I T R", w.parcels, w.risk, w.shed,
        ]
    } else {
        vec![w.train, w.departs, "D I T R", w.parcels, w.risk]
    };
    // The bar takes what the fixed columns leave, less the column gaps,
    // the borders, the pointer and a cell or two of margin.
    let fixed: usize = widths
        .iter()
        .map(|c| match c {
            Constraint::Length(n) => usize::from(*n),
            _ => 0,
        })
        .sum();
    let chrome = if wide { 12 } else { 10 };
    let bar_width = (area.width as usize)
        .saturating_sub(fixed + chrome)
        .clamp(4, 60);
    let list = &app.views.departures;
    let row = |i: usize| -> Row<'static> {
        let Some(t) = list.get(i).and_then(|k| board.train(k)) else {
            return Row::new(Vec::<Cell>::new());
        };
        let Some(train) = &t.train else {
            return Row::new(Vec::<Cell>::new());
        };
        let departs = train.expected_departure();
        let departure = Line::from(vec![
            styled(
                format!("{} ", app.zone.format(departs, "%H:%M")),
                theme.normal,
            ),
            countdown_span(departs, now, margin, theme, lang),
        ]);
        let id = if wide {
            &train.train_id
        } else {
            &train.train_no
        };
        let style = if t.is_gone() { theme.dim } else { theme.normal };
        let mut cells = vec![Cell::from(fit(id, 15)).style(style), Cell::from(departure)];
        if wide {
            cells.push(Cell::from(fit(&train.status.label(lang), 9)).style(style));
            cells.push(Cell::from(Line::from(vec![
                countdown_span(train.cutoffs.transshipment, now, margin, theme, lang),
                styled(" / ", theme.dim),
                countdown_span(train.cutoffs.customs_release, now, margin, theme, lang),
            ])));
        }
        cells.push(Cell::from(progress_bar(&t.tally, bar_width, theme)));
        cells.push(Cell::from(short_count(t.tally.parcels)));
        let risk_width = if wide { RISK_WIDE } else { RISK_NARROW };
        cells.push(Cell::from(risk_counts(&t.tally, theme, risk_width.into())));
        if wide {
            cells.push(Cell::from(shed_line(board, t, theme)));
        }
        Row::new(cells)
    };
    let title = Line::from(vec![
        styled(format!(" {} ", w.departures), theme.title),
        styled(
            format!("· {} {} ", w.sorted_by, app.sorting.departures.name(lang)),
            theme.dim,
        ),
    ]);
    table(
        frame,
        area,
        title,
        header,
        &widths,
        list.len(),
        app.selected_row(Screen::Departures, board),
        row,
        theme,
    );
}
