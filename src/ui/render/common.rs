//! Pieces every screen draws with: countdowns, stage cells, progress bars,
//! risk cells, and tables that keep the selection in view.

use crate::board::Board;
use chrono::{DateTime, Duration, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Row, Table, TableState};

use crate::board::parcel::Parcel;
use crate::board::tally::{Bucket, Tally};
use crate::domain::text::fit;
use crate::domain::{Lang, Risk, Stage, StageState};
use crate::ui::app::App;
use crate::ui::labels::{Labels, labels};
use crate::ui::theme::Theme;

/// The labels in the app's language.
pub fn words(app: &App) -> &'static Labels {
    labels(app.options.lang)
}

/// A duration in a few characters: `45s`, `12m`, `1h05`.
pub fn short(d: Duration) -> String {
    let s = d.num_seconds().abs();
    if s < 60 {
        format!("{s}s")
    } else if s < 100 * 60 {
        format!("{}m", s / 60)
    } else {
        format!("{}h{:02}", s / 3600, s / 60 % 60)
    }
}

/// Time to an instant: `in 12m`, or `12m ago` once passed.
pub fn countdown(at: DateTime<Utc>, now: DateTime<Utc>, lang: Lang) -> String {
    match (at >= now, lang) {
        (true, Lang::En) => format!("in {}", short(at - now)),
        (false, Lang::En) => format!("{} ago", short(now - at)),
        (true, Lang::Zh) => format!("{}后", short(at - now)),
        (false, Lang::Zh) => format!("已过{}", short(now - at)),
    }
}

/// A countdown styled by urgency: passed is an alert, near is a warning.
pub fn countdown_span(
    at: DateTime<Utc>,
    now: DateTime<Utc>,
    margin: Duration,
    theme: &Theme,
    lang: Lang,
) -> Span<'static> {
    let style = if at < now {
        theme.risk(Risk::Late)
    } else if at - now < margin {
        theme.risk(Risk::AtRisk)
    } else {
        theme.normal
    };
    Span::styled(countdown(at, now, lang), style)
}

/// The word and mark of a risk class, in its style.
pub fn risk_cell(risk: Risk, app: &App) -> Cell<'static> {
    let theme = &app.options.theme;
    let text = format!("{} {}", theme.risk_mark(risk), risk.label(app.options.lang));
    Cell::from(text).style(theme.risk(risk))
}

/// The four stage cells of a parcel: glyph, and time in stage when under
/// way.
pub fn stage_cells(p: &Parcel, app: &App, board: &Board, width: usize) -> Line<'static> {
    let theme = &app.options.theme;
    let spans_of = board.stage_times(p);
    let now = app.shown_at();
    let mut spans = Vec::new();
    for (i, stage) in Stage::ALL.into_iter().enumerate() {
        let state = p.path.state(stage);
        let mut text = theme.stage_glyph(state).to_owned();
        if state == StageState::Blocked && p.is_held() && stage == Stage::Inspection {
            text = "H".to_owned();
        }
        if state == StageState::InProgress
            && let Some(started) = spans_of[i].started
        {
            text.push_str(&short(now - started));
        }
        spans.push(Span::styled(
            format!("{:<width$}", fit(&text, width - 1)),
            theme.stage(state),
        ));
    }
    Line::from(spans)
}

/// A bar of a tally: one letter per part of the path still to go (D, I, T,
/// R), the filled glyph for ready, in proportion.
pub fn progress_bar(tally: &Tally, width: usize, theme: &Theme) -> Line<'static> {
    if tally.parcels == 0 || width == 0 {
        return Line::from(Span::styled(
            theme.glyphs.bar_empty.repeat(width),
            theme.dim,
        ));
    }
    let parts = [
        (Bucket::Declaration, "D", StageState::Blocked),
        (Bucket::Inspection, "I", StageState::Unknown),
        (Bucket::Transshipment, "T", StageState::InProgress),
        (Bucket::Release, "R", StageState::InProgress),
        (Bucket::Ready, theme.glyphs.bar_full, StageState::Done),
    ];
    let total = f64::from(tally.parcels);
    let mut spans = Vec::new();
    let mut used = 0;
    for (n, (bucket, glyph, state)) in parts.iter().enumerate() {
        let count = tally.in_bucket(*bucket);
        let cells = if n == parts.len() - 1 {
            width - used
        } else {
            let share = (f64::from(count) / total * width as f64).round() as usize;
            // Anything present shows at least one cell.
            share.max(usize::from(count > 0)).min(width - used)
        };
        used += cells;
        if cells > 0 {
            spans.push(Span::styled(glyph.repeat(cells), theme.stage(*state)));
        }
    }
    Line::from(spans)
}

/// Counts by risk as short words, for rows: `3! 1✗ 2H 5~`.
pub fn risk_counts(tally: &Tally, theme: &Theme) -> Line<'static> {
    let mut spans = Vec::new();
    for risk in [Risk::Late, Risk::AtRisk, Risk::Held, Risk::Watch] {
        let n = tally.with_risk(risk);
        if n > 0 {
            spans.push(Span::styled(
                format!("{n}{}", theme.risk_mark(risk)),
                theme.risk(risk),
            ));
            spans.push(Span::raw(" "));
        }
    }
    if spans.is_empty() {
        spans.push(Span::styled(
            theme.glyphs.done.to_owned(),
            theme.risk(Risk::OnTrack),
        ));
    }
    Line::from(spans)
}

/// A tally's parcels and their counts by risk: `282 parcels  1✗ 4! 2H`.
pub fn tally_line(tally: &Tally, words: &Labels, theme: &Theme) -> Line<'static> {
    let mut line = risk_counts(tally, theme);
    line.spans.insert(
        0,
        styled(
            format!("{} {}  ", tally.parcels, words.parcels.to_lowercase()),
            theme.normal,
        ),
    );
    line
}

/// A bordered block with a title (in its own colours, not the border's).
pub fn block<'a>(title: impl Into<Line<'a>>, theme: &Theme) -> Block<'a> {
    let title_base = if theme.border.fg.is_some() {
        Style::new().fg(ratatui::style::Color::Reset)
    } else {
        Style::new()
    };
    Block::bordered()
        .border_set(theme.glyphs.border)
        .border_style(theme.border)
        .title_style(title_base.patch(theme.title))
        .title(title)
}

/// Draws a table of `rows` (only those in view are built: `row(i)`),
/// keeping the selected row in view.
#[allow(clippy::too_many_arguments)]
pub fn table(
    frame: &mut Frame,
    area: Rect,
    title: Line<'_>,
    header: Vec<&str>,
    widths: &[Constraint],
    total: usize,
    selected: Option<usize>,
    row: impl Fn(usize) -> Row<'static>,
    theme: &Theme,
) {
    let inner_rows = area.height.saturating_sub(3) as usize;
    // Stateless scrolling: the selection sits in the middle of the page.
    let offset = selected
        .map_or(0, |s| s.saturating_sub(inner_rows / 2))
        .min(total.saturating_sub(inner_rows));
    let rows: Vec<Row> = (offset..total.min(offset + inner_rows)).map(row).collect();
    let header = Row::new(header.into_iter().map(|h| Cell::from(h.to_owned()))).style(theme.title);
    let table = Table::new(rows, widths.to_vec())
        .header(header)
        .block(block(title, theme))
        .row_highlight_style(theme.selected)
        .highlight_symbol(theme.glyphs.pointer)
        .column_spacing(1);
    let mut state = TableState::default().with_selected(selected.map(|s| s - offset));
    frame.render_stateful_widget(table, area, &mut state);
}

/// A span of text in a style.
pub fn styled(text: impl Into<String>, style: Style) -> Span<'static> {
    Span::styled(text.into(), style)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_durations_fit_a_column() {
        assert_eq!(short(Duration::seconds(45)), "45s");
        assert_eq!(short(Duration::minutes(12)), "12m");
        assert_eq!(short(Duration::minutes(99)), "99m");
        assert_eq!(short(Duration::minutes(125)), "2h05");
        assert_eq!(short(Duration::seconds(-30)), "30s");
    }

    #[test]
    fn countdowns_say_before_and_after() {
        let now: DateTime<Utc> = "2026-11-26T03:30:00Z".parse().unwrap();
        assert_eq!(
            countdown(now + Duration::minutes(5), now, Lang::En),
            "in 5m"
        );
        assert_eq!(
            countdown(now - Duration::seconds(20), now, Lang::En),
            "20s ago"
        );
        assert_eq!(countdown(now + Duration::minutes(5), now, Lang::Zh), "5m后");
    }
}
