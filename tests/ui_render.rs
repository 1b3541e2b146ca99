//! What the board draws: every screen at 80×24 and 160×48, in colour and
//! in monochrome, as text with a map of the styles (a text snapshot alone
//! does not show colour), and assertions on the styles that carry meaning:
//! the risk classes, the selection bar without colour, the stale-feed
//! alarm, and ASCII mode.

mod ui_fixture;

use chrono::Duration;
use crossterm::event::{KeyCode, KeyEvent};
use greenchannel::domain::{Lang, Risk, Stage, StageState};
use greenchannel::feeds::health::FeedHealth;
use greenchannel::feeds::{Feed, FeedMessage};
use greenchannel::triage::{Outcome, Report};
use greenchannel::ui::app::{Confirm, Effect};
use greenchannel::ui::keymap::Action;
use greenchannel::ui::render;
use greenchannel::ui::theme::{Theme, ThemeName};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier, Style};
use ui_fixture::{Local, app, display, later, now, options_of};
use unicode_width::UnicodeWidthStr;

/// The sizes every screen is drawn at.
const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

/// The board as drawn at a size.
struct Drawn {
    /// The TestBackend's view: one quoted line per row.
    text: String,
    buffer: Buffer,
}

fn draw(app: &Local, width: u16, height: u16) -> Drawn {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal.draw(|frame| app.draw(frame)).expect("draws");
    Drawn {
        text: terminal.backend().to_string(),
        buffer: terminal.backend().buffer().clone(),
    }
}

impl Drawn {
    /// The text of row `y` from column `from` up to `to`.
    fn text_at(&self, y: u16, from: u16, to: u16) -> String {
        self.cells(y)
            .into_iter()
            .filter(|(x, _)| (from..to).contains(x))
            .map(|(_, symbol)| symbol)
            .collect()
    }

    /// Row `y` as text.
    fn row(&self, y: u16) -> String {
        self.text_at(y, 0, self.buffer.area.width)
    }

    /// The cells of row `y` that show a symbol (not those hidden under a
    /// double-width one), with their columns.
    fn cells(&self, y: u16) -> Vec<(u16, &str)> {
        let mut out = Vec::new();
        let mut x = 0;
        while x < self.buffer.area.width {
            let cell = &self.buffer[(x, y)];
            out.push((x, cell.symbol()));
            x += (UnicodeWidthStr::width(cell.symbol()) as u16).max(1);
        }
        out
    }

    /// The column where `needle` starts in row `y`.
    fn find(&self, y: u16, needle: &str) -> Option<u16> {
        let cells = self.cells(y);
        (0..cells.len()).find_map(|i| {
            let mut text = String::new();
            for (_, symbol) in &cells[i..] {
                if text.len() >= needle.len() {
                    break;
                }
                text.push_str(symbol);
            }
            text.starts_with(needle).then_some(cells[i].0)
        })
    }

    /// The first row containing `needle`.
    fn row_with(&self, needle: &str) -> Option<u16> {
        (0..self.buffer.area.height).find(|y| self.find(*y, needle).is_some())
    }

    /// The style of the cell at (`x`, `y`), as [`shown`].
    fn style(&self, x: u16, y: u16) -> Shown {
        shown(self.buffer[(x, y)].style())
    }

    /// A map of the styles: one letter per cell (`.` for the terminal's
    /// own), then what each letter stands for.
    fn styles(&self) -> String {
        let mut legend: Vec<(Color, Color, Modifier)> = Vec::new();
        let mut out = String::new();
        let area = self.buffer.area;
        for y in 0..area.height {
            out.push('"');
            for x in 0..area.width {
                let cell = &self.buffer[(x, y)];
                let key = (cell.fg, cell.bg, cell.modifier);
                if key == (Color::Reset, Color::Reset, Modifier::empty()) {
                    out.push('.');
                    continue;
                }
                let n = legend.iter().position(|k| *k == key).unwrap_or_else(|| {
                    legend.push(key);
                    legend.len() - 1
                });
                out.push(*LETTERS.get(n).expect("fewer styles than letters") as char);
            }
            out.push_str("\"\n");
        }
        for (n, (fg, bg, modifier)) in legend.iter().enumerate() {
            out.push_str(&format!(
                "{}: fg={fg} bg={bg} {modifier:?}\n",
                LETTERS[n] as char
            ));
        }
        out
    }

    /// What the snapshots keep: the text, then the styles.
    fn snapshot(&self) -> String {
        format!("{}\nstyles:\n{}", self.text, self.styles())
    }
}

/// A style as a terminal shows it: foreground, background (the
/// terminal's own when not set) and modifiers.
type Shown = (Color, Color, Modifier);

fn shown(style: Style) -> Shown {
    (
        style.fg.unwrap_or(Color::Reset),
        style.bg.unwrap_or(Color::Reset),
        style.add_modifier,
    )
}

const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// The colour theme and the monochrome one, with the names of their
/// snapshots.
fn modes() -> [(&'static str, Theme); 2] {
    [
        ("colour", Theme::new(ThemeName::Default, false, false)),
        ("mono", Theme::new(ThemeName::Mono, false, false)),
    ]
}

/// An app of the fixture in the default theme.
fn board_app(wall: bool) -> Local {
    app(options_of(&display(ThemeName::Default, wall), false))
}

/// Snapshots `app` at both sizes in colour and in monochrome (text and
/// styles), and checks that the two modes show the same text.
fn snapshot_everywhere(name: &str, mut app: Local) {
    app.prepare();
    for (width, height) in SIZES {
        let mut texts = Vec::new();
        for (mode, theme) in modes() {
            app.options.theme = theme;
            let drawn = draw(&app, width, height);
            insta::assert_snapshot!(format!("{name}_{width}x{height}_{mode}"), drawn.snapshot());
            texts.push(drawn.text);
        }
        assert_eq!(
            texts[0], texts[1],
            "{name} {width}x{height}: monochrome shows other text than colour"
        );
    }
}

/// Drives the app with actions, preparing its lists after each (as the
/// event loop does before each frame).
fn drive(app: &mut Local, actions: &[Action]) {
    for action in actions {
        app.act(*action);
        app.prepare();
    }
}

// ----- every screen ----------------------------------------------------------

#[test]
fn departures() {
    let mut app = board_app(false);
    drive(&mut app, &[Action::Down]);
    snapshot_everywhere("departures", app);
}

#[test]
fn train() {
    let mut app = board_app(false);
    drive(&mut app, &[Action::Open, Action::Down]);
    snapshot_everywhere("train", app);
}

#[test]
fn parcels() {
    let mut app = board_app(false);
    drive(&mut app, &[Action::ShowParcels, Action::Down]);
    snapshot_everywhere("parcels", app);
}

#[test]
fn detail_of_a_held_parcel() {
    let mut app = board_app(false);
    drive(&mut app, DETAIL);
    snapshot_everywhere("detail", app);
}

#[test]
fn holds() {
    let mut app = board_app(false);
    drive(&mut app, &[Action::ShowHolds, Action::Down]);
    snapshot_everywhere("holds", app);
}

#[test]
fn wall() {
    snapshot_everywhere("wall", board_app(true));
}

// ----- overlays, states and the footer ----------------------------------------

/// Snapshots `app` at one size in colour (text and styles).
fn snapshot_once(name: &str, mut app: Local, (width, height): (u16, u16)) -> Drawn {
    app.prepare();
    let drawn = draw(&app, width, height);
    insta::assert_snapshot!(format!("{name}_{width}x{height}"), drawn.snapshot());
    drawn
}

#[test]
fn help_overlay() {
    for size in SIZES {
        let mut app = board_app(false);
        drive(&mut app, &[Action::Help]);
        snapshot_once("help", app, size);
    }
}

#[test]
fn wall_asks_before_quitting() {
    let mut app = board_app(true);
    drive(&mut app, &[Action::Quit]);
    assert!(app.confirm_quit);
    snapshot_once("wall_confirm_quit", app, (80, 24));
}

#[test]
fn terminal_too_small() {
    let drawn = snapshot_once("too_small", board_app(false), (60, 12));
    assert!(drawn.text.contains("terminal too small"), "{}", drawn.text);
}

/// The holds with this terminal's actions in each state: the first
/// claimed and recorded, the second asked for priority inspection and
/// still being retried, the third refused because a colleague has it.
fn holds_with_my_actions() -> Local {
    let mut app = board_app(false);
    drive(&mut app, &[Action::ShowHolds]);
    let refused = Outcome::Refused {
        code: "claimed_by_other".into(),
        message: "claimed by ALK-0352".into(),
    };
    let retrying = Outcome::Pending {
        attempts: 2,
        last_error: Some("connection closed".to_owned()),
    };
    let steps = [
        (Action::Claim, None),
        (Action::Priority, Some(retrying)),
        (Action::Claim, Some(refused)),
    ];
    for (action, outcome) in steps {
        let mut effect = app.act(action);
        if app.confirm.is_some() {
            effect = app.on_key(KeyEvent::from(KeyCode::Char('y')));
        }
        let Some(Effect::Send(intent)) = effect else {
            panic!("{action:?} sends: {effect:?}");
        };
        app.queued(intent.clone());
        // Recorded: the hold as customs answers it.
        let outcome = outcome.unwrap_or_else(|| {
            let key = app
                .board
                .parcel_key(&intent.declaration_no)
                .expect("on the board");
            let mut hold = app
                .board
                .parcel(key)
                .and_then(|p| p.hold().cloned())
                .expect("held");
            hold.claimed_by = Some("ALK-0417".into());
            hold.version += 1;
            Outcome::Done {
                hold: Some(Box::new(hold)),
            }
        });
        app.on_triage(Report {
            key: intent.key,
            declaration_no: intent.declaration_no,
            outcome,
        });
        drive(&mut app, &[Action::Down]);
    }
    app.message = None;
    app
}

#[test]
fn holds_show_this_terminals_actions() {
    for size in SIZES {
        let drawn = snapshot_once("holds_my_actions", holds_with_my_actions(), size);
        let expected = if size.0 < 140 {
            // Narrow: a mark beside the flags.
            ["··· ✓", "··· …", "··· ✗"]
        } else {
            [
                "claim ✓",
                "priority inspection…",
                "claim ✗ claimed_by_other",
            ]
        };
        for (row, expected) in (4..).zip(expected) {
            assert!(
                drawn.row(row).contains(expected),
                "{size:?} {expected}: {}",
                drawn.text
            );
        }
    }
}

#[test]
fn a_consequential_action_asks_first() {
    let mut app = board_app(false);
    drive(&mut app, &[Action::ShowHolds, Action::Escalate]);
    let Some(Confirm::Send(intent)) = app.confirm.clone() else {
        panic!("asks first: {:?}", app.confirm);
    };
    // The question in the popup, not the footer's "e escalate".
    let question = format!("escalate {}? y / n", intent.declaration_no);
    let drawn = snapshot_once("confirm_escalate", app, (80, 24));
    assert!(drawn.text.contains(&question), "{}", drawn.text);
}

#[test]
fn a_note_is_typed_in_the_footer() {
    let mut app = board_app(false);
    drive(&mut app, &[Action::ShowHolds, Action::Note]);
    for c in "seal intact".chars() {
        app.on_key(KeyEvent::from(KeyCode::Char(c)));
    }
    let drawn = snapshot_once("note_input", app, (80, 24));
    assert!(drawn.row(23).contains("seal intact"), "{}", drawn.text);
}

/// The customs feed failing for a while: its last success 90 s ago (stale
/// after 20 s, down after 120 s), a 503 since.
fn customs_stale(app: &mut Local) {
    let mut customs = FeedHealth::new(Feed::Customs);
    customs.succeeded(now() - Duration::seconds(90), Some(Duration::zero()));
    customs.failed(
        now() - Duration::seconds(60),
        "503 Service Unavailable".to_owned(),
        false,
        now() + Duration::seconds(5),
    );
    app.health[1] = customs;
}

#[test]
fn stale_feed_header() {
    for size in SIZES {
        let mut app = board_app(false);
        customs_stale(&mut app);
        snapshot_once("stale_feed", app, size);
    }
}

/// The customs feed having done wrong a while ago (counted) and just now
/// (announced): records skipped, an unknown event type, a cursor expired,
/// rate limits, lag.
fn customs_odd(app: &mut Local, notice_at: chrono::DateTime<chrono::Utc>) {
    let customs = &mut app.health[1];
    customs.snapshot_taken(now() - Duration::minutes(30));
    customs.snapshot_taken(now() - Duration::minutes(20));
    customs.failed(
        now() - Duration::minutes(15),
        "429 rate limited, retry after 600s (asked 86400s)".to_owned(),
        true,
        now() - Duration::minutes(5),
    );
    customs.succeeded(now() - Duration::seconds(2), Some(Duration::zero()));
    customs.received(now(), 12, Some(Duration::seconds(3)));
    customs.oddities.unknown_types(
        now() - Duration::minutes(10),
        ["declaration.audit_flag", "declaration.audit_flag"].into_iter(),
    );
    customs.oddities.malformed(
        notice_at,
        vec![greenchannel::domain::FeedText::new(
            "event c-0001-7 (hold.updated): missing field `version`",
        )],
    );
}

#[test]
fn feeds_screen_counts_what_the_feeds_did_wrong() {
    let mut app = board_app(false);
    customs_odd(&mut app, now() - Duration::minutes(1));
    drive(&mut app, &[Action::ShowFeeds]);
    for size in SIZES {
        let drawn = snapshot_once("feeds", app_clone(&app), size);
        if size.0 < 160 {
            continue;
        }
        for expected in [
            "snapshots taken again",
            "missing field `version`",
            "declaration.audit_flag ×2",
        ] {
            assert!(drawn.text.contains(expected), "{expected}:\n{}", drawn.text);
        }
    }
}

/// The app again, as the fixture builds it, with the same health and screen.
fn app_clone(app: &Local) -> Local {
    let mut copy = board_app(false);
    copy.health = app.health.clone();
    copy.screen = app.screen;
    copy
}

#[test]
fn a_new_oddity_is_announced_in_the_header_for_a_while() {
    let mut app = board_app(false);
    customs_odd(&mut app, now() - Duration::seconds(3));
    let drawn = draw(&app, 160, 48);
    let notice = "CUSTOMS: 1 malformed record(s) skipped";
    assert!(drawn.row(1).contains(notice), "{}", drawn.text);
    assert!(drawn.row(1).contains("6 Feeds"), "{}", drawn.text);
    // A minute later, only the Feeds screen keeps it.
    let mut later = board_app(false);
    customs_odd(&mut later, now() - Duration::minutes(1));
    assert!(!draw(&later, 160, 48).text.contains(notice));
}

#[test]
fn stale_feed_on_the_wall() {
    let mut app = board_app(true);
    customs_stale(&mut app);
    snapshot_once("wall_stale_feed", app, (160, 48));
}

#[test]
fn the_chinese_wall_names_the_stale_feed_in_chinese() {
    let mut app = board_app(true);
    app.options.lang = Lang::Zh;
    customs_stale(&mut app);
    app.prepare();
    let drawn = draw(&app, 160, 48);
    // Below the header's status and alarm lines, the banner's middle line.
    let banner = drawn.row(3);
    assert!(banner.contains("海关 数据过期"), "{banner:?}");
    assert!(
        !drawn.text.to_lowercase().contains("customs"),
        "{}",
        drawn.text
    );
}

#[test]
fn frozen_badge() {
    let mut app = board_app(false);
    drive(&mut app, &[Action::Freeze]);
    assert!(app.is_frozen());
    // One size is enough here: `the_frozen_badge_shows_at_every_size`
    // checks the badge at the others.
    snapshot_once("frozen", app, (160, 48));
}

#[test]
fn a_frozen_board_stays_still_while_deliveries_arrive() {
    let mut app = board_app(false);
    drive(&mut app, &[Action::ShowParcels, Action::Freeze]);
    let before = draw(&app, 160, 48);
    for (feed, delivery) in [Feed::Railway, Feed::Customs].into_iter().zip(later()) {
        app.on_feed(FeedMessage::Delivered { feed, delivery });
    }
    app.tick(now() + Duration::seconds(10));
    app.prepare();
    let frozen = draw(&app, 160, 48);
    // The header's clock goes on; everything below it holds still.
    assert_ne!(before.row(0), frozen.row(0));
    for y in 1..48 {
        assert_eq!(before.row(y), frozen.row(y), "row {y}");
    }
    drive(&mut app, &[Action::Freeze]);
    let thawed = draw(&app, 160, 48);
    assert!(
        (1..48).any(|y| thawed.row(y) != frozen.row(y)),
        "nothing moved after thawing:\n{}",
        thawed.text
    );
}

#[test]
fn filter_input_line() {
    let mut app = board_app(false);
    drive(&mut app, &[Action::ShowParcels, Action::Filter]);
    for c in "risk:at_risk 义乌".chars() {
        assert_eq!(app.on_key(KeyEvent::from(KeyCode::Char(c))), None);
    }
    snapshot_once("filter_input", app, (80, 24));
}

/// Opens the first hold's parcel (a held parcel with a hold, goods and a
/// timeline).
const DETAIL: &[Action] = &[Action::ShowHolds, Action::Open];

#[test]
fn chinese_labels() {
    for (screen, actions, size) in [
        ("departures", &[][..], (80, 24)),
        ("parcels", &[Action::ShowParcels][..], (160, 48)),
        ("holds", &[Action::ShowHolds][..], (80, 24)),
        ("detail", DETAIL, (160, 48)),
    ] {
        let mut app = board_app(false);
        app.options.lang = Lang::Zh;
        drive(&mut app, actions);
        snapshot_once(&format!("zh_{screen}"), app, size);
    }
}

// ----- styles that carry meaning ----------------------------------------------

/// The risk classes the parcels table must highlight, with their words.
const FLAGGED: [(Risk, &str); 3] = [
    (Risk::AtRisk, "! at risk"),
    (Risk::Late, "✗ late"),
    (Risk::Held, "H held"),
];

/// The Parcels screen at 80×24 (first row selected) in `app`'s theme:
/// the drawing, the row of the selection, and for each flagged class the
/// rows showing it (not the selected one) with the column of the risk cell.
fn parcels_by_risk(mut app: Local) -> (Drawn, u16, Vec<(Risk, u16, u16)>) {
    drive(&mut app, &[Action::ShowParcels, Action::Top]);
    let drawn = draw(&app, 80, 24);
    let header = drawn.row_with("Declaration").expect("table header");
    let column = drawn.find(header, "Risk").expect("risk column");
    let pointer = app.options.theme.glyphs.pointer.trim();
    let selected = drawn
        .row_with(pointer)
        .filter(|y| *y > header)
        .expect("a selected row");
    let mut found = Vec::new();
    for y in header + 1..23 {
        let word = drawn.text_at(y, column, column + 10);
        for (risk, text) in FLAGGED {
            if word.trim_end() == text && y != selected {
                found.push((risk, y, column));
            }
        }
    }
    for (risk, text) in FLAGGED {
        assert!(
            found.iter().any(|(r, _, _)| *r == risk),
            "no unselected {text:?} row on the parcels screen:\n{}",
            drawn.text
        );
    }
    (drawn, selected, found)
}

/// The style of each cell of the risk words of `found`.
fn risk_cells<'a>(
    drawn: &'a Drawn,
    found: &'a [(Risk, u16, u16)],
) -> impl Iterator<Item = (Risk, u16, u16, Shown)> + 'a {
    found.iter().flat_map(move |(risk, y, column)| {
        let text = FLAGGED.iter().find(|(r, _)| r == risk).expect("flagged").1;
        let width = text.chars().count() as u16;
        (*column..column + width).map(move |x| (*risk, x, *y, drawn.style(x, *y)))
    })
}

#[test]
fn risk_classes_are_highlighted_in_colour() {
    let colour = Theme::new(ThemeName::Default, false, false);
    // What the theme promises: at risk red and bold, late also reversed,
    // held magenta, bold and underlined.
    let bold = Modifier::BOLD;
    for (risk, want) in [
        (Risk::AtRisk, (Color::Red, Color::Reset, bold)),
        (
            Risk::Late,
            (Color::Red, Color::Reset, bold | Modifier::REVERSED),
        ),
        (
            Risk::Held,
            (Color::Magenta, Color::Reset, bold | Modifier::UNDERLINED),
        ),
    ] {
        assert_eq!(shown(colour.risk(risk)), want, "{risk:?}");
    }
    let (drawn, _, found) = parcels_by_risk(board_app(false));
    for (risk, x, y, style) in risk_cells(&drawn, &found) {
        assert_eq!(
            style,
            shown(colour.risk(risk)),
            "{risk:?} at ({x}, {y}): {:?}",
            drawn.row(y)
        );
    }
}

#[test]
fn without_colour_risk_and_selection_keep_their_modifiers() {
    // As with NO_COLOR set: the default theme without its colours.
    let app = app(options_of(&display(ThemeName::Default, false), true));
    let colour = Theme::new(ThemeName::Default, false, false);
    let (drawn, selected, found) = parcels_by_risk(app);
    for (risk, x, y, style) in risk_cells(&drawn, &found) {
        assert_eq!(
            style,
            (Color::Reset, Color::Reset, colour.risk(risk).add_modifier),
            "{risk:?} at ({x}, {y}): {:?}",
            drawn.row(y)
        );
    }
    // The selection bar is still there: reversed from border to border.
    for x in 1..79 {
        assert!(
            drawn.style(x, selected).2.contains(Modifier::REVERSED),
            "selected row {selected} at column {x} not reversed: {:?}",
            drawn.row(selected)
        );
    }
    // And no colour anywhere.
    for y in 0..24 {
        for x in 0..80 {
            let (fg, bg, _) = drawn.style(x, y);
            assert_eq!(
                (fg, bg),
                (Color::Reset, Color::Reset),
                "colour at ({x}, {y}): {:?}",
                drawn.row(y)
            );
        }
    }
}

#[test]
fn a_stale_feed_raises_the_alarm_in_the_header() {
    for (mode, theme) in modes() {
        let mut app = board_app(false);
        app.options.theme = theme.clone();
        customs_stale(&mut app);
        app.prepare();
        let drawn = draw(&app, 80, 24);
        let alarm = drawn.row(1);
        assert!(alarm.contains("CUSTOMS STALE"), "{mode}: {alarm:?}");
        assert!(
            alarm.contains("503 Service Unavailable"),
            "{mode}: {alarm:?}"
        );
        for x in 0..80 {
            assert_eq!(
                drawn.style(x, 1),
                shown(theme.alert),
                "{mode}: alarm line at column {x}"
            );
        }
    }
}

#[test]
fn header_alarms_and_badges_keep_their_own_style() {
    let mut wrong = Vec::new();
    for (mode, theme) in modes() {
        let mut app = board_app(false);
        app.options.theme = theme.clone();
        customs_stale(&mut app);
        drive(&mut app, &[Action::Freeze]);
        let drawn = draw(&app, 160, 48);
        for (text, want) in [("customs STALE", theme.alert), (" FROZEN ", theme.badge)] {
            let at = drawn.find(0, text).expect("in the header");
            let (got, want) = (drawn.style(at, 0), shown(want));
            if got != want {
                wrong.push(format!("{mode} {text:?}: {got:?}, not {want:?}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn ascii_mode_draws_only_ascii() {
    let mut shown = display(ThemeName::Default, false);
    shown.ascii = true;
    let mut app = app(options_of(&shown, false));
    app.prepare();
    let drawn = draw(&app, 160, 48);
    // The departures show no text from upstream but train numbers.
    let mut strangers: Vec<String> = Vec::new();
    for y in 0..48 {
        for (x, symbol) in drawn.cells(y) {
            if !symbol.is_ascii() {
                strangers.push(format!("{symbol:?} at ({x}, {y})"));
            }
        }
    }
    assert!(
        strangers.is_empty(),
        "not ASCII: {}\n{}",
        strangers.join(", "),
        drawn.text
    );
}

/// Box drawing, block elements, geometric shapes and check marks: what
/// ASCII mode is for terminals without.
fn is_drawing(c: char) -> bool {
    matches!(c, '\u{2500}'..='\u{25FF}' | '\u{2713}' | '\u{2717}')
}

/// Screens and overlays to draw, as the actions that reach them (on the
/// wall when the flag says so).
const EVERYWHERE: [(&str, bool, &[Action]); 9] = [
    ("departures", false, &[]),
    ("feeds", false, &[Action::ShowFeeds]),
    ("train", false, &[Action::Open]),
    ("parcels", false, &[Action::ShowParcels, Action::Bottom]),
    ("detail", false, DETAIL),
    ("holds", false, &[Action::ShowHolds]),
    ("help", false, &[Action::Help]),
    ("filter line", false, &[Action::ShowParcels, Action::Filter]),
    ("wall", true, &[]),
];

#[test]
fn ascii_mode_has_no_box_drawing_or_blocks_anywhere() {
    let mut strangers = Vec::new();
    for (name, wall, actions) in EVERYWHERE {
        let mut shown = display(ThemeName::Default, wall);
        shown.ascii = true;
        let mut app = app(options_of(&shown, false));
        customs_stale(&mut app);
        drive(&mut app, actions);
        for (width, height) in SIZES {
            let drawn = draw(&app, width, height);
            for y in 0..height {
                for (x, symbol) in drawn.cells(y) {
                    if symbol.chars().any(is_drawing) {
                        strangers
                            .push(format!("{name} {width}x{height}: {symbol:?} at ({x}, {y})"));
                    }
                }
            }
        }
    }
    assert!(strangers.is_empty(), "{}", strangers.join("\n"));
}

#[test]
fn every_screen_draws_at_any_size() {
    let sizes = [
        (1, 1),
        (30, 8),
        (63, 16),
        (64, 15),
        (64, 16),
        (79, 23),
        (100, 30),
        (119, 35),
        (120, 35),
        (139, 40),
        (140, 40),
        (240, 70),
    ];
    for lang in [Lang::En, Lang::Zh] {
        let words = greenchannel::ui::labels::labels(lang);
        for (name, wall, actions) in EVERYWHERE {
            let mut app = board_app(wall);
            app.options.lang = lang;
            drive(&mut app, actions);
            for (width, height) in sizes {
                let drawn = draw(&app, width, height);
                let small = width < render::MIN_WIDTH || height < render::MIN_HEIGHT;
                let says_so = drawn.text.contains(words.too_small);
                // Too small to say so: 1×1 only must not panic.
                if width > 20 {
                    assert_eq!(
                        small, says_so,
                        "{name} {lang:?} {width}x{height}:\n{}",
                        drawn.text
                    );
                }
                if !small {
                    assert!(
                        drawn.row(0).contains(words.port_short),
                        "{name} {lang:?} {width}x{height}:\n{}",
                        drawn.text
                    );
                }
            }
        }
    }
}

#[test]
fn the_frozen_badge_shows_at_every_size() {
    for (width, height) in SIZES {
        let mut app = board_app(false);
        drive(&mut app, &[Action::Freeze]);
        let drawn = draw(&app, width, height);
        assert!(
            drawn.row(0).contains("FROZEN"),
            "{width}x{height}: {:?}",
            drawn.row(0)
        );
    }
}

#[test]
fn stage_header_lines_up_with_the_stage_cells() {
    for lang in [Lang::En, Lang::Zh] {
        let words = greenchannel::ui::labels::labels(lang);
        for (width, height) in SIZES {
            let mut app = board_app(false);
            app.options.lang = lang;
            drive(&mut app, &[Action::ShowParcels]);
            let drawn = draw(&app, width, height);
            let header = drawn.row_with(words.declaration).expect("table header");
            // The stage header: the four stage letters in order.
            let letters: Vec<&str> = Stage::ALL.iter().map(|s| s.short(lang)).collect();
            let cells = drawn.cells(header);
            let start = cells
                .iter()
                .enumerate()
                .find(|(i, (_, symbol))| {
                    *symbol == letters[0]
                        && cells[i + 1..]
                            .iter()
                            .filter(|(_, s)| s.trim() != "")
                            .take(3)
                            .map(|(_, s)| *s)
                            .eq(letters[1..].iter().copied())
                })
                .map(|(_, (x, _))| *x)
                .expect("stage header");
            let end = drawn.find(header, words.slack).expect("slack header");
            let marks = |y: u16| -> Vec<u16> {
                drawn
                    .cells(y)
                    .into_iter()
                    .filter(|(x, symbol)| (start..end).contains(x) && symbol.trim() != "")
                    .map(|(x, _)| x)
                    .collect()
            };
            // A row whose four stages show a glyph each and no time.
            let row = (header + 1..height)
                .map(marks)
                .find(|m| m.len() == 4)
                .expect("a row of four stage glyphs");
            assert_eq!(
                marks(header),
                row,
                "{lang:?} {width}x{height}: the stage header is not over the stage cells\n{}",
                drawn.text
            );
        }
    }
}

#[test]
fn at_80x24_the_footer_says_how_to_get_help_and_quit() {
    let mut wanting = Vec::new();
    for actions in [
        &[][..],
        &[Action::Open],
        &[Action::ShowParcels],
        DETAIL,
        &[Action::ShowHolds],
    ] {
        let mut app = board_app(false);
        drive(&mut app, actions);
        let footer = draw(&app, 80, 24).row(23);
        if !(footer.contains("? help") && footer.contains("q quit")) {
            wanting.push(format!("{:?}: {footer:?}", app.screen));
        }
    }
    assert!(wanting.is_empty(), "{}", wanting.join("\n"));
}

#[test]
fn at_80x24_the_help_shows_every_key() {
    let mut app = board_app(false);
    drive(&mut app, &[Action::Help]);
    let drawn = draw(&app, 80, 24);
    let keymap = &app.options.keymap;
    // Each action's first key and its description on one row.
    let rows: Vec<String> = (0..24).map(|y| drawn.row(y)).collect();
    let missing: Vec<&str> = Action::ALL
        .into_iter()
        .filter(|action| {
            let key = keymap.keys(*action)[0].to_string();
            let description = action.describe(Lang::En);
            !rows.iter().any(|row| {
                row.find(&format!("{key} "))
                    .is_some_and(|at| row[at..].contains(description))
            })
        })
        .map(|action| action.name())
        .collect();
    assert!(
        missing.is_empty(),
        "not in the help: {missing:?}\n{}",
        drawn.text
    );
}

#[test]
fn column_headers_are_whole() {
    for (width, height) in SIZES {
        let mut app = board_app(false);
        app.prepare();
        let drawn = draw(&app, width, height);
        let header = drawn.row_with("Departs").expect("departures header");
        assert!(
            drawn.find(header, "Parcels ").is_some(),
            "departures {width}x{height}: {:?}",
            drawn.row(header)
        );
    }
    let mut app = board_app(false);
    drive(&mut app, &[Action::Open]);
    let drawn = draw(&app, 160, 48);
    let header = drawn.row_with("Shed state").expect("train header");
    assert!(
        drawn.find(header, "Parcels ").is_some(),
        "train 160x48: {:?}",
        drawn.row(header)
    );
}

#[test]
fn the_train_title_counts_its_containers() {
    let mut app = board_app(false);
    drive(&mut app, &[Action::Open]);
    let drawn = draw(&app, 80, 24);
    let count = format!("{} containers", app.views.containers.len());
    assert!(drawn.text.contains(&count), "no {count:?}:\n{}", drawn.text);
}

#[test]
fn detail_fields_line_up_in_chinese() {
    let zh = &greenchannel::ui::labels::ZH;
    for (width, height) in SIZES {
        let mut app = board_app(false);
        app.options.lang = Lang::Zh;
        drive(&mut app, DETAIL);
        let drawn = draw(&app, width, height);
        let mut columns = Vec::new();
        for label in [
            zh.waybill,
            zh.enterprise,
            zh.logistics,
            zh.train,
            zh.container,
            zh.value,
        ] {
            let y = (0..height)
                .find(|y| drawn.find(*y, label) == Some(1))
                .unwrap_or_else(|| panic!("no {label} field:\n{}", drawn.text));
            let value = drawn
                .cells(y)
                .into_iter()
                .find(|(x, symbol)| *x > label.width() as u16 && symbol.trim() != "")
                .expect("a value")
                .0;
            columns.push((label, value));
        }
        assert!(
            columns.iter().all(|(_, x)| *x == columns[0].1),
            "{width}x{height}: values start at {columns:?}\n{}",
            drawn.text
        );
    }
}

#[test]
fn chinese_detail_names_stage_states_and_feeds_in_chinese() {
    let mut app = board_app(false);
    app.options.lang = Lang::Zh;
    drive(&mut app, DETAIL);
    let drawn = draw(&app, 160, 48);
    // The English words for the stage states and the feeds.
    let words: Vec<String> = [
        StageState::NotStarted,
        StageState::InProgress,
        StageState::Blocked,
        StageState::Done,
        StageState::Unknown,
    ]
    .into_iter()
    .map(|state| state.label(Lang::En))
    .chain(["railway", "customs"])
    .map(|word| format!(" {word} "))
    .collect();
    let english: Vec<String> = (0..48)
        .map(|y| drawn.row(y))
        .filter(|row| words.iter().any(|word| row.contains(word.as_str())))
        .collect();
    assert!(
        english.is_empty(),
        "English on the Chinese screen:\n{}",
        english.join("\n")
    );
}

#[test]
fn detail_timeline_tells_each_moment_once() {
    let mut app = board_app(false);
    drive(&mut app, DETAIL);
    let drawn = draw(&app, 160, 48);
    let title = drawn.row_with("│ Timeline ").expect("timeline");
    let left = drawn.find(title, "│ Timeline ").expect("timeline title") + 1;
    let moments: Vec<String> = (title + 1..47)
        .map(|y| drawn.text_at(y, left, 159).trim().to_owned())
        .take_while(|line| !line.is_empty())
        .collect();
    assert!(moments.len() > 3, "{moments:?}");
    let mut seen = std::collections::BTreeSet::new();
    let twice: Vec<&String> = moments.iter().filter(|m| !seen.insert(*m)).collect();
    assert!(
        twice.is_empty(),
        "told twice: {twice:?}\n{}",
        moments.join("\n")
    );
}
