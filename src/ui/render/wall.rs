//! The wall terminal: no keyboard needed. It cycles through the trains with
//! parcels at risk, late or held (a large countdown, the parcels in trouble
//! on top) and the holds; a banner shouts when a feed is stale.

use crate::board::Board;
use std::collections::HashMap;
use std::collections::hash_map::Entry;

use chrono::{DateTime, Duration, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row};

use super::common::{countdown, risk_cell, styled, table, tally_line, words};
use super::header::{feed_alarm, troubled_feeds};
use super::parcels::slack_text;
use super::{bigtext, departures, holds};
use crate::board::parcel::Parcel;
use crate::domain::Risk;
use crate::domain::risk::{Assessment, Reason};
use crate::domain::text::fit;
use crate::ui::app::{App, WallPage};

/// A countdown for large digits: `mm:ss` within the hour, else `h:mm`.
pub fn big_countdown(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let left = at - now;
    let sign = if left < Duration::zero() { "-" } else { "" };
    let s = left.num_seconds().abs();
    if s < 3600 {
        format!("{sign}{:02}:{:02}", s / 60, s % 60)
    } else {
        format!("{sign}{}h{:02}", s / 3600, s / 60 % 60)
    }
}

/// Draws the banner of feeds in trouble (3 lines) in `area`.
fn banner(frame: &mut Frame, area: Rect, app: &App) {
    let theme = &app.options.theme;
    let w = words(app);
    let troubled = troubled_feeds(app);
    let what: Vec<String> = troubled
        .iter()
        .map(|(health, state)| feed_alarm(health.feed, *state, w))
        .collect();
    let text = format!(
        "{}  {}  {}",
        theme.glyphs.blocked,
        what.join(" · "),
        theme.glyphs.blocked
    );
    let lines = vec![
        Line::default(),
        Line::from(text).centered(),
        Line::default(),
    ];
    frame.render_widget(Paragraph::new(lines).style(theme.alert), area);
}

fn spotlight(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    board: &Board,
    key: usize,
    page: (usize, usize),
) {
    let theme = &app.options.theme;
    let w = words(app);
    let lang = app.options.lang;
    let now = app.shown_at();
    let Some(entry) = board.train(key) else {
        return;
    };
    let Some(train) = &entry.train else { return };
    let [top, list] = Layout::vertical([Constraint::Length(8), Constraint::Fill(1)]).areas(area);
    let departs = train.expected_departure();
    let next_cutoff = [train.cutoffs.transshipment, train.cutoffs.customs_release]
        .into_iter()
        .filter(|c| *c > now)
        .min();
    let (big_at, big_what) = match next_cutoff {
        Some(at) => (at, w.next_cutoff),
        None => (departs, w.departure),
    };
    let big = big_countdown(big_at, now);
    let big_style = if big_at - now < board.watch_margin() {
        theme.risk(Risk::AtRisk)
    } else {
        theme.title
    };
    let mut lines = vec![Line::from(vec![
        styled(format!("{}  ", train.train_id), theme.title),
        styled(
            format!("{} {}  ", w.departure, app.zone.format(departs, "%H:%M")),
            theme.normal,
        ),
        styled(format!("{}  ", countdown(departs, now, lang)), theme.normal),
        styled(format!("{}/{}", page.0 + 1, page.1), theme.dim),
    ])];
    let digits = bigtext::lines(&big, theme.glyphs.big, big_style);
    let fits = bigtext::width(&big) + 2 < top.width as usize;
    if fits {
        lines.extend(digits);
    } else {
        lines.push(Line::from(styled(big.clone(), big_style)));
    }
    lines.push(Line::from(styled(
        format!("{big_what} · {}", countdown(big_at, now, lang)),
        theme.dim,
    )));
    lines.push(tally_line(&entry.tally, w, theme));
    frame.render_widget(Paragraph::new(lines), top);

    // The train's parcels in trouble, worst first, one row per container
    // and reason (a wall is read from across the room, not scrolled).
    let mut flagged: Vec<Parcel> = entry
        .parcels
        .keys()
        .iter()
        .filter_map(|k| board.parcel(*k))
        .filter(|p| p.risk().is_flagged())
        .collect();
    flagged.sort_by_cached_key(|p| {
        (
            std::cmp::Reverse(p.risk()),
            p.slack().unwrap_or(Duration::MAX),
            p.number(),
        )
    });
    // Parcels join the first group of their reason, container and risk,
    // but for held ones, which always start their own.
    let mut groups: Vec<(Parcel, Assessment, usize)> = Vec::new();
    let mut first_group: HashMap<(Reason, Option<usize>, Risk), usize> = HashMap::new();
    for p in flagged {
        let a = p.assessment();
        match first_group.entry((a.reason, p.container_key(), a.risk)) {
            Entry::Occupied(first) if !p.is_held() => groups[*first.get()].2 += 1,
            Entry::Occupied(_) => groups.push((p, a, 1)),
            Entry::Vacant(first) => {
                first.insert(groups.len());
                groups.push((p, a, 1));
            }
        }
    }
    let widths = [
        Constraint::Length(22),
        Constraint::Length(11),
        Constraint::Length(7),
        Constraint::Length(11),
        Constraint::Fill(1),
    ];
    let row = |i: usize| -> Row<'static> {
        let (p, a, count) = &groups[i];
        let count = *count;
        let who = if count > 1 {
            format!("{} +{}", p.declaration_no(), count - 1)
        } else {
            p.declaration_no().to_string()
        };
        Row::new(vec![
            Cell::from(who),
            Cell::from(fit(p.container_no().map_or("-", AsRef::as_ref), 11)),
            Cell::from(slack_text(a.slack)).style(theme.risk(a.risk)),
            risk_cell(a.risk, app),
            Cell::from(fit(&a.reason.text(now, lang), 200)),
        ])
    };
    let title = Line::from(styled(
        format!(" {} · {} ", train.train_id, w.parcels),
        theme.title,
    ));
    table(
        frame,
        list,
        title,
        vec![w.declaration, w.container, w.slack, w.risk, w.reason],
        &widths,
        groups.len(),
        None,
        row,
        theme,
    );
}

/// Draws the wall in `area` (below the header).
pub fn render(frame: &mut Frame, area: Rect, app: &App, board: &Board) {
    let theme = &app.options.theme;
    let w = words(app);
    let troubled = !troubled_feeds(app).is_empty();
    let [alarm, body] = Layout::vertical([
        Constraint::Length(if troubled { 3 } else { 0 }),
        Constraint::Fill(1),
    ])
    .areas(area);
    if troubled {
        banner(frame, alarm, app);
    }
    let shown = app.wall_page(board);
    match shown.page {
        WallPage::Spotlight(key) => {
            spotlight(frame, body, app, board, key, (shown.index, shown.count))
        }
        WallPage::Holds => holds::render(frame, body, app, board),
        WallPage::AllClear => {
            let [title, list] =
                Layout::vertical([Constraint::Length(2), Constraint::Fill(1)]).areas(body);
            frame.render_widget(
                Paragraph::new(Line::from(styled(
                    format!("{} {}", theme.glyphs.done, w.all_clear),
                    theme.risk(Risk::OnTrack),
                ))),
                title,
            );
            departures::render(frame, list, app, board);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_countdowns() {
        let now: DateTime<Utc> = "2026-11-26T03:30:00Z".parse().unwrap();
        assert_eq!(big_countdown(now + Duration::seconds(754), now), "12:34");
        assert_eq!(big_countdown(now + Duration::minutes(135), now), "2h15");
        assert_eq!(big_countdown(now - Duration::seconds(30), now), "-00:30");
    }
}
