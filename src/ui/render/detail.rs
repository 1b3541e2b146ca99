//! One parcel: who sent what, where it is on its path and since when, its
//! hold and the officers' notes, its goods, and every event from both
//! feeds in order.

use crate::board::Board;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::common::{block, countdown, short, styled, words};
use super::parcels::slack_text;
use crate::board::parcel::{Happened, Moment, Parcel};
use crate::domain::{Lang, Risk, Stage, StageState};
use crate::triage::Outcome;
use crate::ui::app::App;

/// A label padded to 12 display columns (Chinese labels are double width).
fn padded(label: &str) -> String {
    let pad = 12usize.saturating_sub(crate::domain::text::width(label));
    format!("{label}{} ", " ".repeat(pad))
}

fn field(label: &str, value: impl Into<String>, app: &App) -> Line<'static> {
    let theme = &app.options.theme;
    Line::from(vec![
        styled(padded(label), theme.dim),
        styled(value.into(), theme.normal),
    ])
}

/// What a moment says, in words, and which feed said it (true: customs).
fn happened(what: &Happened, lang: Lang) -> (String, bool) {
    let en = lang == Lang::En;
    let pick = |e: &str, z: &str| if en { e.to_owned() } else { z.to_owned() };
    match what {
        Happened::Filed => (pick("filed with customs", "申报"), true),
        Happened::Status(code) => (format!("{} {}", code.code(), code.label(lang)), true),
        Happened::Rebooked { train_id } => (
            format!("{} {}", pick("moved to train", "改配班列"), train_id),
            true,
        ),
        Happened::InspectionSelected => (pick("selected for inspection", "布控查验"), true),
        Happened::InspectionStarted => (pick("inspection started", "开始查验"), true),
        Happened::InspectionCompleted(status) => (
            format!("{} {}", pick("inspection", "查验"), status.label(lang)),
            true,
        ),
        Happened::HoldPlaced(reason) => (
            format!("{}: {}", pick("held", "扣留"), reason.label(lang)),
            true,
        ),
        Happened::HoldUpdated { by } => (
            format!(
                "{} {}",
                pick("hold updated by", "扣留更新"),
                by.as_deref().map_or_else(|| "-".to_owned(), str::to_owned)
            ),
            true,
        ),
        Happened::HoldLifted(outcome) => (
            format!(
                "{}: {}",
                pick("hold lifted", "解除扣留"),
                outcome.label(lang)
            ),
            true,
        ),
        Happened::ContainerBooked { train_id } => (
            format!(
                "{} {}",
                pick("container booked on", "集装箱配车"),
                train_id
                    .as_deref()
                    .map_or_else(|| "-".to_owned(), str::to_owned)
            ),
            false,
        ),
        Happened::ContainerArrived => (pick("container arrived in the yard", "集装箱到站"), false),
        Happened::ContainerRebooked { train_id } => (
            format!("{} {}", pick("container moved to", "集装箱改配"), train_id),
            false,
        ),
        Happened::Shed(status) => (
            format!("{} {}", pick("shed:", "换装:"), status.label(lang)),
            false,
        ),
    }
}

fn summary(p: &Parcel, app: &App) -> Vec<Line<'static>> {
    let theme = &app.options.theme;
    let w = words(app);
    let lang = app.options.lang;
    let now = app.shown_at();
    let a = &p.assessment();
    let mut lines = vec![
        Line::from(vec![
            styled(format!("{}  ", p.declaration_no()), theme.title),
            styled(
                format!("{} {}", p.status().code(), p.status().label(lang)),
                theme.normal,
            ),
        ]),
        Line::from(vec![
            styled(
                format!("{} {} ", theme.risk_mark(a.risk), a.risk.label(lang)),
                theme.risk(a.risk),
            ),
            styled(format!("{} ", slack_text(a.slack)), theme.risk(a.risk)),
            styled(
                if a.risk.is_flagged() {
                    a.reason.text(now, lang)
                } else {
                    String::new()
                },
                theme.normal,
            ),
        ]),
        Line::default(),
    ];
    // The path: each stage with its state and times.
    let times = p.stage_times();
    for (i, stage) in Stage::ALL.into_iter().enumerate() {
        let state = p.path().state(stage);
        // A stage not started has no times, whatever came before it.
        let span = if state == StageState::NotStarted {
            crate::board::parcel::Span::default()
        } else {
            times[i]
        };
        let mut when = String::new();
        if let Some(start) = span.started {
            when.push_str(&app.zone.format(start, "%H:%M:%S"));
        }
        if let Some(end) = span.ended {
            when.push_str(&format!(" → {}", app.zone.format(end, "%H:%M:%S")));
        } else if state == StageState::InProgress
            && let Some(start) = span.started
        {
            when.push_str(&format!("  ({} {})", w.in_stage, short(now - start)));
        }
        lines.push(Line::from(vec![
            styled(
                format!(" {} ", theme.stage_glyph(state)),
                theme.stage(state),
            ),
            styled(format!("{} ", padded(stage.label(lang))), theme.normal),
            styled(padded(state.label(lang)), theme.stage(state)),
            styled(when, theme.dim),
        ]));
    }
    lines.push(Line::default());
    let d = &p.particulars();
    lines.push(field(w.waybill, d.waybill_no.to_string(), app));
    lines.push(field(
        w.enterprise,
        format!("{} ({})", &d.ebc_name, &d.ebc_code),
        app,
    ));
    if let Some((code, name)) = &d.logistics {
        lines.push(field(w.logistics, format!("{} ({})", name, code), app));
    }
    let route = format!(
        "{} → {} · {}",
        d.origin_region
            .as_deref()
            .map_or("-".to_owned(), str::to_owned),
        d.destination_country
            .as_deref()
            .map_or("-".to_owned(), str::to_owned),
        d.procedure.label(lang)
    );
    lines.push(field("", route, app));
    let train = match p.train().and_then(|t| t.train.as_ref()) {
        Some(t) => format!(
            "{} · {} {}",
            &t.train_id,
            w.departure,
            countdown(t.expected_departure(), now, lang)
        ),
        None => format!(
            "{} ({})",
            p.train_id().map_or("-".to_owned(), |t| t.to_string()),
            w.not_known
        ),
    };
    lines.push(field(w.train, train, app));
    let container = p.container();
    let shed = container
        .and_then(|c| c.container.as_ref())
        .map(|c| {
            let t = &c.transshipment;
            let wagons = match (&t.from_wagon, &t.to_wagon) {
                (Some(from), Some(to)) => {
                    format!(" · {} {} → {}", w.wagon, from.as_str(), to.as_str())
                }
                (Some(from), None) => format!(" · {} {}", w.wagon, from.as_str()),
                _ => String::new(),
            };
            format!("{}{wagons}", t.status.label(lang))
        })
        .unwrap_or_else(|| w.not_known.to_owned());
    lines.push(field(
        w.container,
        format!(
            "{} · {shed}",
            p.container_no().map_or("-".to_owned(), |c| c.to_string())
        ),
        app,
    ));
    if let Some((value, currency)) = &d.total_value {
        let weight = d
            .gross_weight_kg
            .as_deref()
            .map_or(String::new(), |kg| format!(" · {} {} kg", w.weight, kg));
        lines.push(field(
            w.value,
            format!(
                "{} {}{weight}",
                value,
                currency.as_deref().unwrap_or_default()
            ),
            app,
        ));
    }
    lines
}

/// The flags of a hold in words, and its version.
fn flags_text(hold: &crate::domain::Hold, lang: Lang) -> String {
    let en = lang == Lang::En;
    let mut flags = Vec::new();
    if hold.priority_inspection {
        flags.push(if en {
            "priority inspection"
        } else {
            "优先查验"
        });
    }
    if hold.escalated {
        flags.push(if en { "escalated" } else { "已上报" });
    }
    if hold.defer_requested {
        flags.push(if en { "deferral asked" } else { "申请改配" });
    }
    if flags.is_empty() {
        flags.push(if en { "none" } else { "无" });
    }
    format!("{} (v{})", flags.join(", "), hold.version)
}

fn hold_lines(p: &Parcel, app: &App) -> Vec<Line<'static>> {
    let theme = &app.options.theme;
    let w = words(app);
    let lang = app.options.lang;
    let now = app.shown_at();
    let Some(hold) = p.hold() else {
        return vec![Line::from(styled(w.none, theme.dim))];
    };
    let mut lines = vec![
        Line::from(styled(
            format!("{} — {}", hold.reason_code.label(lang), &hold.reason),
            theme.risk(Risk::Held),
        )),
        field(
            w.placed,
            format!(
                "{} ({})",
                short(now - hold.placed_at),
                app.zone.format(hold.placed_at, "%H:%M")
            ),
            app,
        ),
        field(
            w.claimed_by,
            hold.claimed_by
                .as_deref()
                .map_or_else(|| w.unclaimed.to_owned(), str::to_owned),
            app,
        ),
        field(w.flags, flags_text(hold, app.options.lang), app),
    ];
    for note in &hold.notes {
        lines.push(Line::from(vec![
            styled(
                format!(
                    "{} {} ",
                    app.zone.format(note.at, "%H:%M"),
                    &note.officer_id
                ),
                theme.dim,
            ),
            styled(note.text.to_string(), theme.normal),
        ]));
    }
    lines
}

fn goods_lines(p: &Parcel, app: &App) -> Vec<Line<'static>> {
    let theme = &app.options.theme;
    p.particulars()
        .goods
        .iter()
        .enumerate()
        .map(|(i, g)| {
            Line::from(vec![
                styled(format!("{:>2} {} ", i + 1, &g.hs_code), theme.dim),
                styled(g.name.to_string(), theme.normal),
                styled(
                    format!(
                        "  {} {} · {} {}",
                        g.qty,
                        g.unit.as_deref().map_or(String::new(), str::to_owned),
                        &g.value,
                        &g.currency
                    ),
                    theme.dim,
                ),
            ])
        })
        .collect()
}

fn timeline(p: &Parcel, app: &App) -> Vec<Line<'static>> {
    let theme = &app.options.theme;
    let lang = app.options.lang;
    let own = p.timeline();
    let mut moments: Vec<&Moment> = own.iter().collect();
    if let Some(c) = p.container() {
        moments.extend(c.timeline.iter());
    }
    moments.sort_by_key(|m| m.at.timestamp());
    moments
        .into_iter()
        .rev()
        .map(|m| {
            let (what, customs) = happened(&m.what, lang);
            let w = words(app);
            let feed = if customs { w.customs } else { w.railway };
            let pad = 8usize.saturating_sub(crate::domain::text::width(feed));
            Line::from(vec![
                styled(format!("{} ", app.zone.format(m.at, "%H:%M:%S")), theme.dim),
                styled(format!("{feed}{}", " ".repeat(pad)), theme.dim),
                Span::raw(what),
            ])
        })
        .collect()
}

/// Draws the detail of the chosen parcel.
pub fn render(frame: &mut Frame, area: Rect, app: &App, board: &Board) {
    let theme = &app.options.theme;
    let w = words(app);
    let parcel = app
        .detail
        .as_deref()
        .and_then(|d| board.parcel_key(d))
        .and_then(|k| board.parcel(k));
    let Some(p) = parcel else {
        frame.render_widget(
            Paragraph::new(w.no_parcel).block(block(format!(" {} ", w.detail), theme)),
            area,
        );
        return;
    };
    let title = |s: &str| Line::from(styled(format!(" {s} "), theme.title));
    let mut left = summary(&p, app);
    left.push(Line::default());
    left.push(title(w.hold));
    left.extend(hold_lines(&p, app));
    // This terminal's actions on the parcel, newest first.
    let mine = app.outbox.about(p.declaration_no().as_str());
    if !mine.is_empty() {
        left.push(Line::default());
        left.push(title(w.mine));
        for entry in mine {
            let (mark, style) = super::outcome_mark(&entry.outcome, theme);
            let state = match &entry.outcome {
                Outcome::Pending {
                    attempts,
                    last_error,
                }
                | Outcome::Stuck {
                    attempts,
                    last_error,
                } => format!(
                    "{mark} {attempts}{}",
                    last_error
                        .as_deref()
                        .map_or(String::new(), |e| format!(" {e}"))
                ),
                Outcome::Done { hold: Some(hold) } => format!("{mark} v{}", hold.version),
                Outcome::Done { hold: None } | Outcome::Discarded => mark.to_owned(),
                Outcome::Refused { code, message } => format!("{mark} {code} {message}"),
            };
            let note = entry
                .intent
                .note
                .as_deref()
                .map_or(String::new(), |n| format!(" «{}»", n));
            left.push(Line::from(vec![
                styled(
                    format!("{} ", app.zone.format(entry.intent.at, "%H:%M:%S")),
                    theme.dim,
                ),
                styled(
                    format!("{}{note} ", entry.intent.action.label(app.options.lang)),
                    theme.normal,
                ),
                styled(state, style),
            ]));
        }
    }
    let mut right = vec![title(w.goods)];
    right.extend(goods_lines(&p, app));
    right.push(Line::default());
    right.push(title(w.timeline));
    right.extend(timeline(&p, app));
    let scroll = (app.detail_scroll, 0);
    if area.width >= 120 {
        let [a, b] = Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
            .areas(area);
        frame.render_widget(
            Paragraph::new(left)
                .block(block(format!(" {} ", w.detail), theme))
                .wrap(Wrap { trim: false })
                .scroll(scroll),
            a,
        );
        frame.render_widget(
            Paragraph::new(right)
                .block(block(format!(" {} · {} ", w.goods, w.timeline), theme))
                .wrap(Wrap { trim: false })
                .scroll(scroll),
            b,
        );
    } else {
        left.push(Line::default());
        left.extend(right);
        frame.render_widget(
            Paragraph::new(left)
                .block(block(format!(" {} ", w.detail), theme))
                .wrap(Wrap { trim: false })
                .scroll(scroll),
            area,
        );
    }
}
