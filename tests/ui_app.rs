//! The board program's update logic without a terminal: keys to actions,
//! navigation, the filter and command lines, freezing, the wall, and where
//! the selection goes when the lists change.

mod ui_fixture;

use chrono::Duration;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use greenchannel::domain::{HoldActionKind, Risk, Role};
use greenchannel::feeds::health::FeedState;
use greenchannel::feeds::{Feed, FeedMessage};
use greenchannel::triage::{Intent, Outcome, Report};
use greenchannel::ui::app::{Confirm, Effect, InputKind, Screen};
use greenchannel::ui::keymap::Action;
use greenchannel::ui::theme::ThemeName;
use greenchannel::ui::views::{ListSort, ParcelSort};
use greenchannel::ui::zone::Zone;
use ui_fixture::{Local, app, display, later, now, options_of};

fn board_app(wall: bool) -> Local {
    app(options_of(&display(ThemeName::Default, wall), false))
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn char_key(c: char) -> KeyEvent {
    let shift = if c.is_ascii_uppercase() {
        KeyModifiers::SHIFT
    } else {
        KeyModifiers::NONE
    };
    KeyEvent::new(KeyCode::Char(c), shift)
}

fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}

/// Presses a key and prepares the lists, as the event loop does before
/// drawing; returns the effect.
fn press(app: &mut Local, event: KeyEvent) -> Option<Effect> {
    let effect = app.on_key(event);
    app.prepare();
    effect
}

/// Types text into the line being edited, key by key; none may have an
/// effect.
fn type_text(app: &mut Local, text: &str) {
    for c in text.chars() {
        assert_eq!(press(app, char_key(c)), None, "typing {c:?}");
    }
}

/// Types a whole `:` command (or `/` filter) and Enter.
fn enter_line(app: &mut Local, prompt: char, text: &str) -> Option<Effect> {
    assert_eq!(press(app, char_key(prompt)), None);
    type_text(app, text);
    press(app, key(KeyCode::Enter))
}

/// The declaration number on `row` of the parcels list.
fn parcel_at(app: &Local, row: usize) -> String {
    let key = app.views.parcels.get(row).expect("listed");
    app.board
        .parcel(key as u32)
        .expect("listed")
        .declaration_no()
        .to_string()
}

#[test]
fn default_keys_map_to_their_actions() {
    let app = board_app(false);
    let map = &app.options.keymap;
    let cases = [
        (char_key('j'), Action::Down),
        (char_key('k'), Action::Up),
        (char_key('g'), Action::Top),
        (char_key('G'), Action::Bottom),
        (key(KeyCode::PageDown), Action::PageDown),
        (key(KeyCode::PageUp), Action::PageUp),
        (key(KeyCode::Enter), Action::Open),
        (key(KeyCode::Esc), Action::Back),
        (key(KeyCode::Tab), Action::NextScreen),
        (
            KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT),
            Action::PreviousScreen,
        ),
        (char_key('1'), Action::ShowDepartures),
        (char_key('2'), Action::ShowTrain),
        (char_key('3'), Action::ShowParcels),
        (char_key('4'), Action::ShowDetail),
        (char_key('5'), Action::ShowHolds),
        (char_key('/'), Action::Filter),
        (char_key(':'), Action::Command),
        (char_key('f'), Action::Freeze),
        (char_key('m'), Action::Mouse),
        (char_key('q'), Action::Quit),
        (ctrl('l'), Action::Redraw),
        (ctrl('c'), Action::Quit),
    ];
    for (event, action) in cases {
        assert_eq!(map.action(&event), Some(action), "{event:?}");
    }
    assert_eq!(map.action(&char_key('z')), None);
}

#[test]
fn moving_keys_move_the_selection() {
    let mut app = board_app(false);
    let trains = app.views.departures.len();
    assert!(trains >= 5, "{trains} departures");
    assert_eq!(app.selected_row(Screen::Departures), Some(0));
    press(&mut app, char_key('j'));
    press(&mut app, char_key('j'));
    assert_eq!(app.selected_row(Screen::Departures), Some(2));
    press(&mut app, char_key('k'));
    assert_eq!(app.selected_row(Screen::Departures), Some(1));
    press(&mut app, char_key('G'));
    assert_eq!(app.selected_row(Screen::Departures), Some(trains - 1));
    press(&mut app, char_key('j'));
    assert_eq!(
        app.selected_row(Screen::Departures),
        Some(trains - 1),
        "past the end"
    );
    press(&mut app, char_key('g'));
    assert_eq!(app.selected_row(Screen::Departures), Some(0));
    press(&mut app, char_key('k'));
    assert_eq!(
        app.selected_row(Screen::Departures),
        Some(0),
        "before the start"
    );

    // A page is what the terminal shows.
    press(&mut app, char_key('3'));
    app.page_rows = 10;
    press(&mut app, key(KeyCode::PageDown));
    assert_eq!(app.selected_row(Screen::Parcels), Some(10));
    press(&mut app, key(KeyCode::PageDown));
    assert_eq!(app.selected_row(Screen::Parcels), Some(20));
    press(&mut app, key(KeyCode::PageUp));
    assert_eq!(app.selected_row(Screen::Parcels), Some(10));
    // The other lists kept their own cursor.
    assert_eq!(app.selected_row(Screen::Departures), Some(0));
}

#[test]
fn tab_and_numbers_switch_screens() {
    let mut app = board_app(false);
    let mut seen = vec![app.screen];
    for _ in 0..6 {
        press(&mut app, key(KeyCode::Tab));
        seen.push(app.screen);
    }
    assert_eq!(
        seen,
        [
            Screen::Departures,
            Screen::Train,
            Screen::Parcels,
            Screen::Detail,
            Screen::Holds,
            Screen::Feeds,
            Screen::Departures
        ]
    );
    press(
        &mut app,
        KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT),
    );
    assert_eq!(app.screen, Screen::Feeds);
    for (c, screen) in ['1', '2', '3', '4', '5', '6'].into_iter().zip(Screen::ALL) {
        press(&mut app, char_key(c));
        assert_eq!(app.screen, screen, "key {c}");
    }
    // A screen reached by number shows something: the first train, the
    // selected parcel.
    assert!(app.train.is_some());
    assert_eq!(app.detail, app.parcel);
}

#[test]
fn enter_opens_and_esc_goes_back() {
    let mut app = board_app(false);
    press(&mut app, char_key('j'));
    let train = app.train.clone().expect("a train selected");
    press(&mut app, key(KeyCode::Enter));
    assert_eq!(app.screen, Screen::Train);
    assert_eq!(app.train.as_deref(), Some(train.as_str()));
    assert!(!app.views.containers.is_empty(), "the train's containers");

    // Enter on a container shows its parcels.
    let container = app.container.clone().expect("a container selected");
    press(&mut app, key(KeyCode::Enter));
    assert_eq!(app.screen, Screen::Parcels);
    assert!(!app.views.parcels.is_empty());
    for k in app.views.parcels.iter() {
        let p = app.board.parcel(k as u32).expect("listed");
        assert_eq!(
            p.container_no().map(|c| c.as_ref()),
            Some(container.as_str())
        );
    }

    // Enter on a parcel shows it.
    press(&mut app, char_key('j'));
    let parcel = app.parcel.clone().expect("a parcel selected");
    press(&mut app, key(KeyCode::Enter));
    assert_eq!(app.screen, Screen::Detail);
    assert_eq!(app.detail.as_deref(), Some(parcel.as_str()));

    // Esc retraces the steps; on the parcels it first drops the filter.
    press(&mut app, key(KeyCode::Esc));
    assert_eq!(app.screen, Screen::Parcels);
    assert_eq!(app.parcel.as_deref(), Some(parcel.as_str()));
    press(&mut app, key(KeyCode::Esc));
    assert_eq!(app.screen, Screen::Parcels);
    assert!(app.filter.is_empty());
    assert_eq!(app.views.parcels.len(), app.board.parcel_count());
    press(&mut app, key(KeyCode::Esc));
    assert_eq!(app.screen, Screen::Train);
    press(&mut app, key(KeyCode::Esc));
    assert_eq!(app.screen, Screen::Departures);
    press(&mut app, key(KeyCode::Esc));
    assert_eq!(app.screen, Screen::Departures, "nowhere further back");
}

#[test]
fn the_filter_line_takes_every_key_as_text() {
    let mut app = board_app(false);
    assert_eq!(press(&mut app, char_key('/')), None);
    assert_eq!(
        app.input.as_ref().map(|i| &i.kind),
        Some(&InputKind::Filter)
    );
    // Command keys typed into the line are text: q does not quit, 3 does
    // not switch screens, j does not move.
    type_text(&mut app, "q3j");
    assert_eq!(app.input.as_ref().map(|i| i.text.as_str()), Some("q3j"));
    assert_eq!(app.screen, Screen::Departures);
    assert_eq!(app.selected_row(Screen::Departures), Some(0));
    // Backspace and Ctrl-U edit; Esc leaves without filtering.
    press(&mut app, key(KeyCode::Backspace));
    assert_eq!(app.input.as_ref().map(|i| i.text.as_str()), Some("q3"));
    press(&mut app, ctrl('u'));
    assert_eq!(app.input.as_ref().map(|i| i.text.as_str()), Some(""));
    press(&mut app, key(KeyCode::Esc));
    assert!(app.input.is_none());
    assert!(app.filter.is_empty());
    assert_eq!(app.screen, Screen::Departures);

    // Enter filters, on the parcels.
    assert_eq!(enter_line(&mut app, '/', "risk:held"), None);
    assert!(app.input.is_none());
    assert_eq!(app.screen, Screen::Parcels);
    assert_eq!(app.filter.text(), "risk:held");
    let held = app.board.totals().with_risk(Risk::Held) as usize;
    assert!(held > 0);
    assert_eq!(app.views.parcels.len(), held);
    for k in app.views.parcels.iter() {
        assert_eq!(
            app.board.parcel(k as u32).expect("listed").risk(),
            Risk::Held
        );
    }

    // Outside the line, q quits.
    assert_eq!(press(&mut app, char_key('q')), Some(Effect::Quit));
}

#[test]
fn a_bad_filter_says_why_and_keeps_the_old_one() {
    let mut app = board_app(false);
    enter_line(&mut app, '/', "risk:late");
    assert_eq!(app.filter.text(), "risk:late");
    enter_line(&mut app, '/', "colour:red");
    assert_eq!(app.filter.text(), "risk:late");
    let message = app.message.clone().expect("a message");
    assert!(message.contains("colour"), "{message}");
    // The next key clears it.
    press(&mut app, char_key('j'));
    assert_eq!(app.message, None);
}

#[test]
fn commands_open_trains_filter_and_set_the_clock() {
    let mut app = board_app(false);
    // The second train's number as on the departures board, e.g. X8309.
    let second = app
        .board
        .train(app.views.departures.get(1).expect("listed"))
        .expect("listed");
    let number = second.train.as_ref().expect("known").train_no.to_string();
    let id = second.train_id.to_string();
    assert_ne!(number, id);
    assert_eq!(enter_line(&mut app, ':', &format!("train {number}")), None);
    assert_eq!(app.screen, Screen::Train);
    assert_eq!(app.train.as_deref(), Some(id.as_str()));
    assert_eq!(app.message, None);

    enter_line(&mut app, ':', "risk at_risk");
    assert_eq!(app.screen, Screen::Parcels);
    let at_risk = app.board.totals().with_risk(Risk::AtRisk) as usize;
    assert!(at_risk > 0);
    assert_eq!(app.views.parcels.len(), at_risk);
    for k in app.views.parcels.iter() {
        assert_eq!(
            app.board.parcel(k as u32).expect("listed").risk(),
            Risk::AtRisk
        );
    }

    enter_line(&mut app, ':', "held");
    assert_eq!(app.screen, Screen::Holds);
    enter_line(&mut app, ':', "tz almaty");
    assert_eq!(app.zone, Zone::Almaty);
    enter_line(&mut app, ':', "train X0000");
    assert_eq!(app.screen, Screen::Holds);
    assert_eq!(app.message.as_deref(), Some("no train X0000"));
    assert_eq!(enter_line(&mut app, ':', "q"), Some(Effect::Quit));
}

#[test]
fn an_unknown_command_leaves_a_message() {
    let mut app = board_app(false);
    assert_eq!(enter_line(&mut app, ':', "teleport X8017"), None);
    assert_eq!(app.screen, Screen::Departures);
    let message = app.message.clone().expect("a message");
    assert!(message.starts_with("teleport?"), "{message}");
}

#[test]
fn freezing_holds_deliveries_back_until_thawed() {
    let mut app = board_app(false);
    assert_eq!(press(&mut app, char_key('f')), None);
    assert!(app.is_frozen());
    let before = app.board.digest();
    let revision = app.board.revision();
    let feeds = [Feed::Railway, Feed::Customs];
    for (feed, delivery) in feeds.into_iter().zip(later()) {
        app.on_feed(FeedMessage::Delivered { feed, delivery });
    }
    // The clock moves on, the display does not.
    app.tick(now() + Duration::seconds(10));
    app.prepare();
    assert_eq!(app.board.revision(), revision);
    assert!(
        app.board.digest() == before,
        "the board changed while frozen"
    );
    assert_eq!(app.shown_at(), now());

    press(&mut app, char_key('f'));
    assert!(!app.is_frozen());
    assert!(app.board.revision() > revision);
    assert!(
        app.board.digest() != before,
        "the deliveries were not applied"
    );
    assert_eq!(app.shown_at(), now() + Duration::seconds(10));
}

/// A thaw hands what was held back to the board; the loop works it
/// through in slices, so the key that thawed is not held up by it.
#[test]
fn a_thaw_leaves_the_held_back_work_to_the_loops_slices() {
    let mut local = board_app(false);
    press(&mut local, char_key('f'));
    let feeds = [Feed::Railway, Feed::Customs];
    for (feed, delivery) in feeds.into_iter().zip(later()) {
        local.on_feed(FeedMessage::Delivered { feed, delivery });
    }
    let before = local.board.digest();
    let Local { app, board } = &mut local;
    app.on_key(char_key('f'), board);
    app.settle(board);
    assert!(!app.is_frozen());
    assert!(board.has_work(), "the thawed deliveries wait for the loop");
    assert!(
        board.digest() == before,
        "nothing applied by the key itself"
    );
    while board.work(app.now, std::time::Duration::from_millis(8)) {}
    assert!(board.digest() != before, "the slices applied them");
}

#[test]
fn the_wall_ignores_navigation_and_asks_before_quitting() {
    let mut app = board_app(true);
    let train = app.train.clone();
    for event in [
        char_key('j'),
        char_key('G'),
        key(KeyCode::Enter),
        key(KeyCode::Tab),
        char_key('3'),
        char_key('/'),
        char_key(':'),
        char_key('f'),
        char_key('?'),
    ] {
        assert_eq!(press(&mut app, event), None, "{event:?}");
        assert_eq!(app.screen, Screen::Departures, "{event:?}");
        assert_eq!(app.train, train, "{event:?}");
        assert!(app.input.is_none(), "{event:?}");
        assert!(!app.is_frozen() && !app.help, "{event:?}");
    }
    assert_eq!(press(&mut app, char_key('q')), None);
    assert!(app.confirm_quit);
    assert_eq!(press(&mut app, char_key('n')), None);
    assert!(!app.confirm_quit);
    assert_eq!(press(&mut app, char_key('q')), None);
    assert_eq!(press(&mut app, char_key('y')), Some(Effect::Quit));
    // Redrawing is allowed.
    assert_eq!(press(&mut app, ctrl('l')), Some(Effect::Redraw));
}

#[test]
fn the_wall_turns_its_pages_with_the_clock() {
    let mut app = board_app(true);
    let pages = app.wall_pages();
    assert!(pages.len() > 1, "{pages:?}");
    let first = app.wall_page();
    assert_eq!(
        (first.page, first.index, first.count),
        (pages[0], 0, pages.len())
    );
    app.tick(now() + Duration::seconds(14));
    assert_eq!(app.wall_page(), first);
    app.tick(now() + Duration::seconds(15));
    assert_eq!(app.wall_page().page, pages[1]);
    assert_eq!(app.wall_page().index, 1);
}

#[test]
fn the_selection_follows_its_parcel_when_the_list_resorts() {
    let mut app = board_app(false);
    press(&mut app, char_key('3'));
    for _ in 0..12 {
        press(&mut app, char_key('j'));
    }
    let parcel = app.parcel.clone().expect("selected");
    assert_eq!(parcel_at(&app, 12), parcel);
    let order = app.views.parcels.clone();
    press(&mut app, char_key('s'));
    assert_eq!(app.sorting.parcels, ParcelSort::Slack);
    assert_ne!(app.views.parcels, order, "sorting by slack changed nothing");
    assert_eq!(app.parcel.as_deref(), Some(parcel.as_str()));
    let row = app.selected_row(Screen::Parcels).expect("still listed");
    assert_eq!(parcel_at(&app, row), parcel);
    press(&mut app, char_key('S'));
    assert!(app.sorting.reversed);
    let reversed = app.selected_row(Screen::Parcels).expect("still listed");
    assert_eq!(reversed, app.views.parcels.len() - 1 - row);
    assert_eq!(app.parcel.as_deref(), Some(parcel.as_str()));

    // Sorting elsewhere sorts that list.
    press(&mut app, char_key('5'));
    press(&mut app, char_key('s'));
    assert_eq!(app.sorting.holds, ListSort::Time);
}

#[test]
fn the_selection_stays_in_place_when_its_parcel_leaves_the_list() {
    let mut app = board_app(false);
    press(&mut app, char_key('3'));
    for _ in 0..5 {
        press(&mut app, char_key('j'));
    }
    let parcel = app.parcel.clone().expect("selected");
    let slot = app.board.parcel_key(&parcel).expect("known");
    let train = app
        .board
        .parcel(slot)
        .expect("known")
        .train_id()
        .map(|t| t.to_string());
    // Another train's parcels: the selected one is filtered out, the
    // cursor stays on the sixth row.
    let other = app
        .views
        .departures
        .iter()
        .filter_map(|k| app.board.train(k))
        .map(|t| t.train_id.to_string())
        .find(|t| Some(t.as_str()) != train.as_deref())
        .expect("another train");
    enter_line(&mut app, '/', &format!("train:{other}"));
    assert!(app.views.parcels.len() > 5);
    assert_eq!(app.selected_row(Screen::Parcels), Some(5));
    assert_eq!(app.parcel.as_deref(), Some(parcel_at(&app, 5).as_str()));

    // Fewer rows than that: the last one.
    press(&mut app, key(KeyCode::Esc));
    app.page_rows = 35;
    press(&mut app, char_key('g'));
    press(&mut app, key(KeyCode::PageDown));
    assert_eq!(app.selected_row(Screen::Parcels), Some(35));
    enter_line(&mut app, '/', "risk:late");
    let late = app.views.parcels.len();
    assert!((1..35).contains(&late), "{late} late");
    assert_eq!(app.selected_row(Screen::Parcels), Some(late - 1));
}

#[test]
fn help_closes_on_the_next_key_without_acting_on_it() {
    let mut app = board_app(false);
    press(&mut app, char_key('?'));
    assert!(app.help);
    press(&mut app, char_key('j'));
    assert!(!app.help);
    assert_eq!(app.selected_row(Screen::Departures), Some(0));
    // A key bound to nothing closes it too.
    press(&mut app, char_key('?'));
    assert_eq!(press(&mut app, char_key('x')), None);
    assert!(!app.help);
}

#[test]
fn m_gives_the_mouse_back_and_takes_it_again() {
    let mut app = board_app(false);
    assert!(app.mouse);
    assert_eq!(press(&mut app, char_key('m')), Some(Effect::Mouse(false)));
    assert_eq!(press(&mut app, char_key('m')), Some(Effect::Mouse(true)));
}

#[test]
fn ctrl_l_redraws() {
    let mut app = board_app(false);
    assert_eq!(press(&mut app, ctrl('l')), Some(Effect::Redraw));
}

#[test]
fn ctrl_c_quits_even_while_typing() {
    let mut app = board_app(false);
    press(&mut app, char_key('/'));
    type_text(&mut app, "X83");
    assert_eq!(press(&mut app, ctrl('c')), Some(Effect::Quit));
}

// ----- triage ----------------------------------------------------------------

/// The app on the Holds screen, the first hold selected.
fn on_holds(app: &mut Local) -> String {
    press(app, char_key('5'));
    assert_eq!(app.screen, Screen::Holds);
    app.hold.clone().expect("the fixture has held parcels")
}

fn hold_version(app: &Local, parcel: &str) -> u64 {
    let key = app.board.parcel_key(parcel).expect("on the board");
    app.board
        .parcel(key)
        .expect("listed")
        .hold()
        .expect("held")
        .version
}

/// Presses a key that sends an intent, and queues it as the event loop
/// does once the desk has it on the disk.
fn send(app: &mut Local, key: KeyEvent) -> Intent {
    match press(app, key) {
        Some(Effect::Send(intent)) => {
            app.queued(intent.clone());
            intent
        }
        other => panic!("expected an intent to send, got {other:?}"),
    }
}

#[test]
fn claim_sends_at_once_with_the_version_seen() {
    let mut app = board_app(false);
    let parcel = on_holds(&mut app);
    let intent = send(&mut app, char_key('c'));
    assert_eq!(intent.declaration_no, parcel);
    assert_eq!(intent.action, HoldActionKind::Claim);
    assert_eq!(intent.expected_version, Some(hold_version(&app, &parcel)));
    assert_eq!(intent.key.len(), 36, "a UUID idempotency key");
    let pending = app.outbox.pending();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].intent, intent);

    // A second claim is a new intent with its own key.
    let again = send(&mut app, char_key('c'));
    assert_ne!(again.key, intent.key);
}

#[test]
fn consequential_actions_are_confirmed_first() {
    let mut app = board_app(false);
    let parcel = on_holds(&mut app);
    for (sent_before, (c, action)) in [
        ('p', HoldActionKind::RequestPriorityInspection),
        ('e', HoldActionKind::Escalate),
        ('d', HoldActionKind::DeferToNextTrain),
    ]
    .into_iter()
    .enumerate()
    {
        assert_eq!(press(&mut app, char_key(c)), None, "{c} asks first");
        assert!(
            matches!(&app.confirm, Some(Confirm::Send(i)) if i.action == action),
            "{:?}",
            app.confirm
        );
        // Anything but y cancels, and is not taken as a command.
        assert_eq!(
            press(&mut app, char_key('q')),
            None,
            "{c}: q cancels, not quits"
        );
        assert!(app.confirm.is_none());
        assert_eq!(app.outbox.entries().len(), sent_before, "{c}: nothing sent");

        press(&mut app, char_key(c));
        let intent = send(&mut app, char_key('y'));
        assert_eq!(
            (intent.action, intent.declaration_no.as_str()),
            (action, parcel.as_str())
        );
    }
    assert_eq!(app.outbox.pending().len(), 3);
}

#[test]
fn a_note_is_typed_then_sent() {
    let mut app = board_app(false);
    let parcel = on_holds(&mut app);
    assert_eq!(press(&mut app, char_key('n')), None);
    assert!(matches!(
        app.input.as_ref().map(|i| &i.kind),
        Some(InputKind::Note(p)) if *p == parcel
    ));
    // Keys are text while typing: q and c do not quit or claim.
    type_text(&mut app, "seal ok; 3 cartons, qc done");
    let intent = send(&mut app, key(KeyCode::Enter));
    assert_eq!(intent.action, HoldActionKind::Note);
    assert_eq!(intent.note.as_deref(), Some("seal ok; 3 cartons, qc done"));
    assert_eq!(app.outbox.pending().len(), 1);

    // An empty note, or Esc, sends nothing.
    press(&mut app, char_key('n'));
    type_text(&mut app, "   ");
    assert_eq!(press(&mut app, key(KeyCode::Enter)), None);
    press(&mut app, char_key('n'));
    type_text(&mut app, "never mind");
    assert_eq!(press(&mut app, key(KeyCode::Esc)), None);
    assert_eq!(app.outbox.entries().len(), 1);
}

#[test]
fn the_senders_word_is_shown_and_kept() {
    let mut app = board_app(false);
    let parcel = on_holds(&mut app);
    let claim = send(&mut app, char_key('c'));
    app.on_triage(Report {
        key: claim.key.clone(),
        declaration_no: parcel.clone(),
        outcome: Outcome::Pending {
            attempts: 1,
            last_error: Some("connection closed".to_owned()),
        },
    });
    let message = app.message.clone().expect("a message");
    assert!(
        message.contains("retrying") && message.contains(&parcel),
        "{message}"
    );
    app.on_triage(Report {
        key: claim.key.clone(),
        declaration_no: parcel.clone(),
        outcome: Outcome::Refused {
            code: "claimed_by_other".into(),
            message: "claimed by ALK-0233".into(),
        },
    });
    let message = app.message.clone().expect("a message");
    assert!(message.contains("claimed_by_other"), "{message}");
    assert!(app.outbox.pending().is_empty());
    let about = app.outbox.about(&parcel);
    assert!(matches!(about[0].outcome, Outcome::Refused { .. }));
}

#[test]
fn triage_needs_a_held_parcel_and_a_role_that_may_act() {
    // Not on Holds or a detail: nothing to act on.
    let mut app = board_app(false);
    assert_eq!(app.screen, Screen::Departures);
    assert_eq!(press(&mut app, char_key('c')), None);
    assert!(
        app.message
            .as_deref()
            .is_some_and(|m| m.contains("choose a held parcel"))
    );

    // A viewer's token may only read.
    let mut app = board_app(false);
    on_holds(&mut app);
    app.officer.as_mut().expect("signed in").role = Role::Viewer;
    assert_eq!(press(&mut app, char_key('c')), None);
    assert!(
        app.message
            .as_deref()
            .is_some_and(|m| m.contains("may only read"))
    );

    // Before customs says who the token is, nothing is sent.
    let mut app = board_app(false);
    on_holds(&mut app);
    app.officer = None;
    assert_eq!(press(&mut app, char_key('e')), None);
    assert!(app.confirm.is_none());

    // The wall takes no triage keys at all.
    let mut app = board_app(true);
    for c in ['c', 'n', 'p', 'e', 'd', 'u'] {
        assert_eq!(press(&mut app, char_key(c)), None);
        assert!(app.input.is_none() && app.confirm.is_none());
    }
    assert!(app.outbox.entries().is_empty());
}

/// The railway and customs are different systems whose clocks may
/// disagree, or one may jump (here customs' runs ten minutes ahead of this
/// machine, the railway's on time): a feed that answered a second ago is
/// ok, judged by this machine's clock, whichever server's clock the board
/// keeps.
#[test]
fn feeds_whose_servers_clocks_disagree_are_judged_by_this_machines_clock() {
    let mut app = board_app(false);
    let local = now();
    app.health[0].succeeded(local, Some(Duration::zero()));
    app.health[1].succeeded(local, Some(Duration::minutes(-10)));
    // The board's clock is customs': this machine's plus ten minutes.
    app.tick(local + Duration::minutes(10) + Duration::seconds(1));
    for health in &app.health {
        assert_eq!(
            app.feed_state(health),
            FeedState::Ok,
            "{:?}, answered a second ago",
            health.feed
        );
    }
    let mut terminal =
        ratatui::Terminal::new(ratatui::backend::TestBackend::new(160, 48)).expect("terminal");
    terminal.draw(|frame| app.draw(frame)).expect("drawn");
    let header: String = (0..160)
        .map(|x| terminal.backend().buffer()[(x, 0)].symbol().to_owned())
        .collect();
    assert!(
        header.contains("railway ok") && header.contains("customs ok"),
        "{header}"
    );
}
