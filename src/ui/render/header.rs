//! The header: the port, the clock with its zone, each feed's health (a
//! loud banner when a feed is stale or down), clock skew, the officer, and
//! the screen tabs with the board's totals.

use crate::board::Board;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::common::{short, styled, words};
use crate::domain::text::fit;
use crate::domain::{Risk, Role};
use crate::feeds::Feed;
use crate::feeds::health::{FeedHealth, FeedState};
use crate::ui::app::{App, Screen};
use crate::ui::keymap::Action;
use crate::ui::labels::Labels;

/// The feeds that are not ok, with their state.
pub fn troubled_feeds(app: &App) -> Vec<(&FeedHealth, FeedState)> {
    app.health
        .iter()
        .map(|h| (h, app.feed_state(h)))
        .filter(|(_, state)| *state != FeedState::Ok)
        .collect()
}

/// A feed's name in the board's words.
fn feed_name(feed: Feed, w: &Labels) -> &'static str {
    match feed {
        Feed::Railway => w.railway,
        Feed::Customs => w.customs,
    }
}

/// A feed in trouble as the alarms shout it: `CUSTOMS STALE`.
pub fn feed_alarm(feed: Feed, state: FeedState, w: &Labels) -> String {
    let word = if state == FeedState::Down {
        w.down
    } else {
        w.stale
    };
    format!("{} {word}", feed_name(feed, w).to_uppercase())
}

/// What the feeds did wrong lately, one notice per feed, for a while
/// after it happened (the Feeds screen keeps the whole count).
pub fn notices(app: &App) -> Vec<(Feed, &str)> {
    app.health
        .iter()
        .filter_map(|h| {
            h.oddities
                .notice(app.local_now())
                .map(|notice| (h.feed, notice))
        })
        .collect()
}

/// Lines the header needs: the status line, one per feed in trouble, one
/// per recent notice, and the tabs (not on the wall, which takes no keys).
pub fn height(app: &App) -> u16 {
    1 + troubled_feeds(app).len() as u16 + notices(app).len() as u16 + u16::from(!app.options.wall)
}

/// The screen's name in the tabs.
pub fn screen_name(screen: Screen, app: &App) -> &'static str {
    let w = words(app);
    match screen {
        Screen::Departures => w.departures,
        Screen::Train => w.train,
        Screen::Parcels => w.parcels,
        Screen::Detail => w.detail,
        Screen::Holds => w.holds,
        Screen::Feeds => w.feeds,
    }
}

/// Draws the header in `area` (of [`height`] lines).
pub fn render(frame: &mut Frame, area: Rect, app: &App, board: &Board) {
    let theme = &app.options.theme;
    let w = words(app);
    let lang = app.options.lang;
    let now = app.now;
    let wide = area.width >= 120;
    // Narrow: the separators give their spaces to the officer's role.
    let sep = if wide {
        theme.glyphs.separator
    } else {
        theme.glyphs.separator.trim()
    };

    // Line 1, most important first so that a narrow terminal cuts the
    // least: port, clock, badges, feeds, skew, officer. Each span has its
    // whole style (an alarm is not patched over the bar's reverse).
    let port = if wide { w.port } else { w.port_short };
    let mut spans = vec![
        styled(
            format!(" {port} "),
            theme.header.add_modifier(ratatui::style::Modifier::BOLD),
        ),
        styled(sep, theme.header),
        styled(
            format!(
                "{} {}",
                app.zone.format(now, "%H:%M:%S"),
                app.zone.label(now, lang)
            ),
            theme.header,
        ),
    ];
    if app.is_frozen() {
        spans.push(styled(" ", theme.header));
        spans.push(styled(format!(" {} ", w.frozen), theme.badge));
    }
    let viewer = app.officer.as_ref().is_some_and(|o| o.role == Role::Viewer);
    if app.read_only() && !viewer && !app.options.wall {
        spans.push(styled(format!(" [{}]", w.read_only), theme.header));
    }
    for health in &app.health {
        let state = app.feed_state(health);
        spans.push(styled(sep, theme.header));
        let word = match state {
            FeedState::Ok => w.ok,
            FeedState::Stale => w.stale,
            FeedState::Down => w.down,
        };
        let text = format!("{} {word}", feed_name(health.feed, w));
        let style = if state == FeedState::Ok {
            theme.header
        } else {
            theme.alert
        };
        spans.push(styled(text, style));
    }
    let skew = app
        .health
        .iter()
        .filter_map(|h| h.skew)
        .max_by_key(|s| s.num_milliseconds().abs());
    // Skew is shown when it matters, or when there is room.
    if let Some(skew) = skew.filter(|s| wide || s.num_seconds().abs() >= 2) {
        let sign = if skew.num_milliseconds() >= 0 {
            "+"
        } else {
            "-"
        };
        spans.push(styled(sep, theme.header));
        spans.push(styled(
            format!("{} {sign}{}", w.skew, short(skew)),
            theme.header,
        ));
    }
    spans.push(styled(sep, theme.header));
    let who = match &app.officer {
        Some(o) if wide => format!(
            "{} {} {}",
            fit(&o.officer_id, 12),
            fit(&o.name, 20),
            o.role.label(lang)
        ),
        Some(o) => format!("{} {}", fit(&o.officer_id, 12), o.role.label(lang)),
        None => w.no_officer.to_owned(),
    };
    spans.push(styled(who, theme.header));
    // The bar runs the whole width.
    let used: usize = spans.iter().map(|s| s.width()).sum();
    spans.push(styled(
        " ".repeat((area.width as usize).saturating_sub(used)),
        theme.header,
    ));
    frame.render_widget(Paragraph::new(Line::from(spans)), row(area, 0));

    // One loud line per feed in trouble, with how long and why.
    for (n, (health, state)) in troubled_feeds(app).into_iter().enumerate() {
        let age = health.age(app.local_now()).map_or_else(
            || "never answered".to_owned(),
            |a| format!("last good {} ago", short(a)),
        );
        let error = health.last_error.as_deref().unwrap_or("");
        let text = format!(
            " {} {} — {age} — {}",
            theme.glyphs.blocked,
            feed_alarm(health.feed, state, w),
            fit(error, (area.width as usize).saturating_sub(40))
        );
        frame.render_widget(
            Paragraph::new(fit(&text, area.width as usize)).style(theme.alert),
            row(area, 1 + n as u16),
        );
    }

    // A line per feed that did something wrong lately.
    let troubled = troubled_feeds(app).len() as u16;
    for (n, (feed, notice)) in notices(app).into_iter().enumerate() {
        let see = match app.options.keymap.hint(Action::ShowFeeds) {
            Some(key) if !app.options.wall => format!(" · {key} {}", w.feeds),
            _ => String::new(),
        };
        let text = format!(
            " {} {}: {notice}{see}",
            theme.glyphs.pointer,
            feed_name(feed, w).to_uppercase()
        );
        frame.render_widget(
            Paragraph::new(fit(&text, area.width as usize)).style(theme.key),
            row(area, 1 + troubled + n as u16),
        );
    }

    if app.options.wall {
        return;
    }
    // Last line: tabs and totals.
    let tabs_row = row(area, area.height.saturating_sub(1));
    let mut spans = Vec::new();
    for (n, screen) in Screen::ALL.into_iter().enumerate() {
        // Narrow: only the screen shown has its name; the totals need room.
        let name = if wide || screen == app.screen {
            format!(" {} {} ", n + 1, screen_name(screen, app))
        } else {
            format!(" {} ", n + 1)
        };
        let style = if screen == app.screen {
            theme.selected
        } else {
            theme.dim
        };
        spans.push(styled(name, style));
    }
    let t = board.totals();
    spans.push(Span::raw(" "));
    spans.push(styled(
        format!("{} {}", t.parcels, w.parcels.to_lowercase()),
        theme.normal,
    ));
    for risk in [Risk::Late, Risk::Held, Risk::AtRisk, Risk::Watch] {
        spans.push(Span::raw(" · "));
        let n = t.with_risk(risk);
        let text = if wide {
            format!("{} {n}", risk.label(lang))
        } else {
            format!("{n}{}", theme.risk_mark(risk))
        };
        spans.push(styled(
            text,
            if n > 0 { theme.risk(risk) } else { theme.dim },
        ));
    }
    if !app.filter.is_empty() {
        spans.push(Span::raw(" · "));
        spans.push(styled(
            format!("{} {}", w.filter, fit(app.filter.text(), 30)),
            theme.key,
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), tabs_row);
}

fn row(area: Rect, n: u16) -> Rect {
    Rect {
        y: area.y + n.min(area.height.saturating_sub(1)),
        height: 1,
        ..area
    }
}
