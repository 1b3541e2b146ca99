//! One train: its departure and cut-offs, and its containers with their
//! shed state, wagon, place in the shed queue, parcels by stage and risk.

use crate::board::Board;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row};

use super::common::{
    block, countdown, countdown_span, progress_bar, risk_counts, short, styled, table, tally_line,
    words,
};
use crate::board::ContainerEntry;
use crate::domain::TransshipmentStatus;
use crate::domain::risk::ShedOutlook;
use crate::domain::text::fit;
use crate::ui::app::{App, Screen};

/// A container's shed state in words, with its place in the queue.
fn shed_text(c: &ContainerEntry, app: &App) -> String {
    let w = words(app);
    let lang = app.options.lang;
    let now = app.shown_at();
    let Some(container) = &c.container else {
        return w.not_known.to_owned();
    };
    let status = &container.transshipment.status;
    match (status, c.outlook) {
        (TransshipmentStatus::Queued, ShedOutlook::Queued { ahead, .. }) => {
            format!("{} · {ahead} {}", status.label(lang), w.ahead)
        }
        (TransshipmentStatus::Pending, _) if container.arrived_at.is_none() => {
            match container.eta {
                Some(eta) => format!(
                    "{} · {} {}",
                    status.label(lang),
                    w.due,
                    countdown(eta, now, lang)
                ),
                None => status.label(lang).into_owned(),
            }
        }
        (TransshipmentStatus::Blocked, _) => format!(
            "{}: {}",
            status.label(lang),
            container
                .transshipment
                .blocked_reason
                .as_deref()
                .unwrap_or("")
        ),
        (TransshipmentStatus::Done, _) => match container.transshipment.completed_at {
            Some(at) => format!("{} {}", status.label(lang), app.zone.format(at, "%H:%M")),
            None => status.label(lang).into_owned(),
        },
        (TransshipmentStatus::InProgress, _) => match container.transshipment.started_at {
            Some(at) => format!("{} {}", w.lifting, short(now - at)),
            None => w.lifting.to_owned(),
        },
        _ => status.label(lang).into_owned(),
    }
}

/// Draws the train screen.
pub fn render(frame: &mut Frame, area: Rect, app: &App, board: &Board) {
    let theme = &app.options.theme;
    let w = words(app);
    let lang = app.options.lang;
    let now = app.shown_at();
    let Some(key) = app.train.as_deref().and_then(|t| board.train_key(t)) else {
        frame.render_widget(
            Paragraph::new(w.no_train).block(block(format!(" {} ", w.train), theme)),
            area,
        );
        return;
    };
    let entry = board.train(key).expect("keyed");
    let [summary, list] =
        Layout::vertical([Constraint::Length(4), Constraint::Fill(1)]).areas(area);

    let margin = board.watch_margin();
    let first = match &entry.train {
        Some(train) => {
            let departs = train.expected_departure();
            Line::from(vec![
                styled(format!("{}  ", train.train_id), theme.title),
                styled(format!("{} ", train.status.label(lang)), theme.normal),
                styled(format!("{} ", w.departure), theme.dim),
                styled(
                    format!("{} ", app.zone.format(departs, "%H:%M")),
                    theme.normal,
                ),
                countdown_span(departs, now, margin, theme, lang),
                styled(format!("   {} ", w.cutoffs), theme.dim),
                countdown_span(train.cutoffs.transshipment, now, margin, theme, lang),
                styled(" / ", theme.dim),
                countdown_span(train.cutoffs.customs_release, now, margin, theme, lang),
            ])
        }
        None => Line::from(styled(
            format!("{}  {}", entry.train_id, w.not_known),
            theme.risk(crate::domain::Risk::Watch),
        )),
    };
    frame.render_widget(
        Paragraph::new(vec![first, tally_line(&entry.tally, w, theme)]),
        Rect {
            height: 2,
            ..summary
        },
    );
    let bar_width = (summary.width as usize).saturating_sub(4).min(100);
    frame.render_widget(
        Paragraph::new(progress_bar(&entry.tally, bar_width, theme)),
        Rect {
            y: summary.y + 2,
            height: 1,
            ..summary
        },
    );

    let wide = area.width >= 120;
    let widths: Vec<Constraint> = if wide {
        vec![
            Constraint::Length(4),
            Constraint::Length(12),
            Constraint::Fill(2),
            Constraint::Length(9),
            Constraint::Length(8),
            Constraint::Fill(1),
            Constraint::Length(7),
            Constraint::Length(14),
        ]
    } else {
        vec![
            Constraint::Length(12),
            Constraint::Fill(2),
            Constraint::Fill(1),
            Constraint::Length(12),
        ]
    };
    let header = if wide {
        vec![
            "#",
            w.container,
            w.queue,
            w.wagon,
            w.arrival,
            "D I T R",
            w.parcels,
            w.risk,
        ]
    } else {
        vec![w.container, w.queue, "D I T R", w.risk]
    };
    let containers = &app.views.containers;
    let row = |i: usize| -> Row<'static> {
        let Some(c) = containers.get(i).and_then(|k| board.container(k)) else {
            return Row::new(Vec::<Cell>::new());
        };
        let shed = fit(&shed_text(c, app), 40);
        let bar = progress_bar(&c.tally, 16, theme);
        let record = c.container.as_ref();
        let mut cells = Vec::new();
        if wide {
            cells.push(Cell::from(
                record
                    .and_then(|r| r.position)
                    .map_or_else(String::new, |p| p.to_string()),
            ));
        }
        let number_style = if c.container_no.len() == 11
            && crate::domain::ContainerNo::from(&*c.container_no).is_valid()
        {
            theme.normal
        } else {
            theme.risk(crate::domain::Risk::Watch)
        };
        cells.push(Cell::from(fit(&c.container_no, 12)).style(number_style));
        cells.push(Cell::from(shed));
        if wide {
            let wagon = record
                .and_then(|r| r.transshipment.to_wagon.as_ref())
                .map_or_else(String::new, |w| w.to_string());
            cells.push(Cell::from(fit(&wagon, 9)));
            let arrived = record
                .and_then(|r| r.arrived_at)
                .map_or_else(String::new, |at| app.zone.format(at, "%H:%M"));
            cells.push(Cell::from(arrived));
        }
        cells.push(Cell::from(bar));
        if wide {
            cells.push(Cell::from(c.tally.parcels.to_string()));
        }
        let risk_width = if wide { 14 } else { 12 };
        cells.push(Cell::from(risk_counts(&c.tally, theme, risk_width)));
        Row::new(cells)
    };
    let title = Line::from(styled(
        format!(
            " {} · {} {} ",
            entry.train_id,
            containers.len(),
            w.containers
        ),
        theme.title,
    ));
    table(
        frame,
        list,
        title,
        header,
        &widths,
        containers.len(),
        app.selected_row(Screen::Train, board),
        row,
        theme,
    );
}
