//! Holds: the triage queue, most urgent first (least time to the cut-off
//! the parcel needs), with who has claimed each.

use crate::board::Board;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Row};

use super::common::{countdown_span, short, styled, table, words};
use super::parcels::slack_text;
use crate::domain::Risk;
use crate::domain::text::fit;
use crate::ui::app::{App, Screen};

/// Draws the holds queue.
pub fn render(frame: &mut Frame, area: Rect, app: &App, board: &Board) {
    let theme = &app.options.theme;
    let w = words(app);
    let lang = app.options.lang;
    let now = app.shown_at();
    let margin = board.watch_margin();
    let wide = area.width >= 140;
    // The "my action" column appears once this terminal has acted.
    let mine_column = wide && !app.outbox.is_empty();
    let mut columns = if wide {
        vec![
            (w.declaration, Constraint::Length(18)),
            (w.train, Constraint::Length(15)),
            (w.reason, Constraint::Length(26)),
            (w.placed, Constraint::Length(9)),
            (w.claimed_by, Constraint::Length(14)),
            (w.cutoff_in, Constraint::Length(11)),
            (w.slack, Constraint::Length(7)),
            (w.flags, Constraint::Length(6)),
        ]
    } else {
        vec![
            (w.declaration, Constraint::Length(18)),
            (w.reason, Constraint::Fill(1)),
            (w.claimed_by, Constraint::Length(10)),
            (w.cutoff_in, Constraint::Length(10)),
            (w.flags, Constraint::Length(6)),
        ]
    };
    if mine_column {
        columns.push((w.mine, Constraint::Length(25)));
    }
    if wide {
        columns.push((w.notes, Constraint::Fill(1)));
    }
    let (header, widths): (Vec<&str>, Vec<Constraint>) = columns.into_iter().unzip();
    let list = &app.views.holds;
    let row = |i: usize| -> Row<'static> {
        let Some(p) = list.get(i).and_then(|k| board.parcel(k as u32)) else {
            return Row::new(Vec::<Cell>::new());
        };
        let hold = p.hold();
        let reason = hold.map_or_else(
            || p.status().label(lang).into_owned(),
            |h| h.reason_code.label(lang).into_owned(),
        );
        let claimed = hold
            .and_then(|h| h.claimed_by.as_deref())
            .map_or_else(|| w.unclaimed.to_owned(), |c| fit(c, 14));
        let claimed_style = if hold.is_some_and(|h| h.claimed_by.is_some()) {
            theme.normal
        } else {
            theme.risk(Risk::Held)
        };
        let flags = hold.map_or_else(String::new, |h| {
            format!(
                "{}{}{}",
                if h.priority_inspection { "P" } else { "·" },
                if h.escalated { "E" } else { "·" },
                if h.defer_requested { "D" } else { "·" }
            )
        });
        let cutoff = p
            .train()
            .and_then(|t| t.train.as_ref())
            .map(|t| t.cutoffs.customs_release);
        let cutoff_cell = match cutoff {
            Some(at) => Cell::from(Line::from(countdown_span(at, now, margin, theme, lang))),
            None => Cell::from(w.not_known),
        };
        let mut cells =
            vec![Cell::from(p.declaration_no().to_string()).style(theme.risk(Risk::Held))];
        if wide {
            cells.push(Cell::from(fit(p.train_id().map_or("-", AsRef::as_ref), 15)));
        }
        cells.push(Cell::from(fit(&reason, 26)));
        if wide {
            let held_for = hold.map_or_else(String::new, |h| short(now - h.placed_at));
            cells.push(Cell::from(held_for));
        }
        cells.push(Cell::from(claimed).style(claimed_style));
        cells.push(cutoff_cell);
        if wide {
            cells.push(Cell::from(slack_text(p.assessment().slack)));
        }
        // Narrow: where this terminal's action stands, as a mark beside
        // the flags.
        let mine = super::triage_state(app, p.declaration_no().as_str());
        cells.push(match (&mine, wide) {
            (Some(state), false) => {
                Cell::from(format!("{flags} {}", state.mark)).style(state.style)
            }
            _ => Cell::from(flags),
        });
        if mine_column {
            cells.push(match mine {
                Some(state) => Cell::from(fit(&state.text, 25)).style(state.style),
                None => Cell::from(""),
            });
        }
        if wide {
            let notes = hold.map_or(0, |h| h.notes.len());
            let last = hold
                .and_then(|h| h.notes.last())
                .map_or_else(String::new, |n| format!(" {}", n.text));
            cells.push(Cell::from(fit(&format!("{notes}{last}"), 80)));
        }
        Row::new(cells)
    };
    let title = Line::from(vec![
        styled(format!(" {} ", w.holds), theme.title),
        styled(
            format!(
                "· {} · {} {} ",
                list.len(),
                w.sorted_by,
                app.sorting.holds.name(lang)
            ),
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
        app.selected_row(Screen::Holds, board),
        row,
        theme,
    );
}
