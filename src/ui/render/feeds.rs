//! Feeds: what each feed did, and what it did wrong that the board
//! survived (malformed records and unknown event types skipped, cursors
//! expired, rate limits, failures, lag, clock skew), side by side.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Row};

use super::common::{countdown, short, styled, table, words};
use crate::domain::Lang;
use crate::domain::text::{fit, width};
use crate::feeds::health::{FeedHealth, FeedState};
use crate::ui::app::App;

/// One row of the screen: what it tells, in both languages, and its cell
/// for one feed.
struct Fact {
    en: &'static str,
    zh: &'static str,
    cell: fn(&FeedHealth, &App) -> String,
}

fn count(n: u64) -> String {
    if n == 0 {
        "·".to_owned()
    } else {
        n.to_string()
    }
}

fn signed(d: chrono::Duration) -> String {
    let sign = if d.num_milliseconds() < 0 { "-" } else { "+" };
    format!("{sign}{}", short(d))
}

const FACTS: &[Fact] = &[
    Fact {
        en: "state",
        zh: "状态",
        cell: |h, app| {
            let w = words(app);
            match app.feed_state(h) {
                FeedState::Ok => w.ok,
                FeedState::Stale => w.stale,
                FeedState::Down => w.down,
            }
            .to_owned()
        },
    },
    Fact {
        en: "last good answer",
        zh: "最近成功",
        cell: |h, app| {
            h.last_success.map_or("-".to_owned(), |at| {
                let ago = short((app.local_now() - at).max(chrono::Duration::zero()));
                match app.options.lang {
                    Lang::En => format!("{ago} ago"),
                    Lang::Zh => format!("{ago}前"),
                }
            })
        },
    },
    Fact {
        en: "last error",
        zh: "最近错误",
        cell: |h, _| h.last_error.clone().unwrap_or_else(|| "·".to_owned()),
    },
    Fact {
        en: "failures in a row",
        zh: "连续失败",
        cell: |h, _| count(u64::from(h.failures)),
    },
    Fact {
        en: "next attempt",
        zh: "下次尝试",
        cell: |h, app| {
            h.retry_at.map_or("·".to_owned(), |at| {
                countdown(at, app.local_now(), app.options.lang)
            })
        },
    },
    Fact {
        en: "events in the last minute",
        zh: "近一分钟事件",
        cell: |h, app| h.events_per_minute(app.local_now()).to_string(),
    },
    Fact {
        en: "lag: latest / worst",
        zh: "延迟：最近 / 最差",
        cell: |h, _| {
            let lag = |d: Option<chrono::Duration>| d.map_or("-".to_owned(), short);
            format!("{} / {}", lag(h.lag), lag(h.oddities.max_lag))
        },
    },
    Fact {
        en: "clock skew (ours − server's)",
        zh: "时钟偏差（本机 − 服务器）",
        cell: |h, _| h.skew.map_or("-".to_owned(), signed),
    },
    Fact {
        en: "snapshots taken again (410)",
        zh: "重取快照（410）",
        cell: |h, _| count(h.oddities.resnapshots),
    },
    Fact {
        en: "malformed records skipped",
        zh: "跳过的错误记录",
        cell: |h, _| count(h.oddities.malformed),
    },
    Fact {
        en: "the latest one",
        zh: "最近一条",
        cell: |h, _| {
            h.oddities
                .last_malformed
                .as_ref()
                .map_or("·".to_owned(), ToString::to_string)
        },
    },
    Fact {
        en: "unknown event types skipped",
        zh: "跳过的未知事件类型",
        cell: |h, _| {
            let kinds: Vec<String> = h
                .oddities
                .unknown_types
                .iter()
                .map(|(kind, n)| format!("{kind} ×{n}"))
                .collect();
            if kinds.is_empty() {
                "·".to_owned()
            } else {
                kinds.join(", ")
            }
        },
    },
    Fact {
        en: "rate limited (429)",
        zh: "限流（429）",
        cell: |h, _| count(h.oddities.rate_limited),
    },
    Fact {
        en: "failed requests",
        zh: "失败请求",
        cell: |h, _| count(h.oddities.failed_requests),
    },
];

/// Draws the Feeds screen.
pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let theme = &app.options.theme;
    let w = words(app);
    let lang = app.options.lang;
    let label_width = FACTS
        .iter()
        .map(|f| width(if lang == Lang::Zh { f.zh } else { f.en }))
        .max()
        .unwrap_or(0)
        .min(32) as u16;
    let value_width = (area.width.saturating_sub(label_width + 6) / 2) as usize;
    let header = vec!["", w.railway, w.customs];
    let widths = [
        Constraint::Length(label_width),
        Constraint::Fill(1),
        Constraint::Fill(1),
    ];
    let row = |i: usize| -> Row<'static> {
        let fact = &FACTS[i];
        let label = if lang == Lang::Zh { fact.zh } else { fact.en };
        let mut cells = vec![Cell::from(fit(label, label_width as usize)).style(theme.dim)];
        for health in &app.health {
            let text = (fact.cell)(health, app);
            let style = match (i, app.feed_state(health)) {
                (0, FeedState::Ok) => theme.normal,
                (0, _) => theme.alert,
                _ => theme.normal,
            };
            cells.push(Cell::from(fit(&text, value_width)).style(style));
        }
        Row::new(cells)
    };
    let title = Line::from(styled(format!(" {} ", w.feeds), theme.title));
    table(
        frame,
        area,
        title,
        header,
        &widths,
        FACTS.len(),
        None,
        row,
        theme,
    );
}
