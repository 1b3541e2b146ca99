//! The board of the UI tests: the simulator's world (default seed) from
//! 2026-11-26T03:30:00Z, its snapshot and a few minutes of both feeds'
//! events applied, and an app over it with the clock held at the end,
//! driven as the local terminal's event loop drives it ([`Local`]).

use std::sync::OnceLock;

use chrono::{DateTime, Duration, Utc};
use greenchannel::board::Board;
use greenchannel::config::Config;
use greenchannel::domain::Lang;
use greenchannel::domain::{Declaration, Delivery, Event, Officer, Role, Train};
use greenchannel::feeds::Feed;
use greenchannel::feeds::health::FeedHealth;
use greenchannel::sim::feed::FeedLog;
use greenchannel::sim::world::TrainFilter;
use greenchannel::sim::{SimConfig, World};
use greenchannel::triage::{Origin, Report};
use greenchannel::ui::app::{App, Effect, Options, Screen, WallPage, WallPlace};
use greenchannel::ui::keymap::Keymap;
use greenchannel::ui::theme::ThemeName;
use greenchannel::ui::zone::Zone;
use greenchannel::ui::{Display, options};

/// Where the scenario starts.
fn start() -> DateTime<Utc> {
    "2026-11-26T03:30:00Z".parse().expect("instant")
}

/// The minutes of events on the board.
const MINUTES: i64 = 6;
/// The minute of events held back (for deliveries in the tests).
const LATER: i64 = 1;

/// The clock of every app: the end of the events on the board.
pub fn now() -> DateTime<Utc> {
    start() + Duration::minutes(MINUTES)
}

struct Recorded {
    snapshot: [Delivery; 2],
    events: [Delivery; 2],
    later: [Delivery; 2],
}

fn reparse<T: serde::de::DeserializeOwned>(world: &World, value: &impl serde::Serialize) -> T {
    serde_json::from_str(&world.to_json(value)).expect("simulator JSON parses")
}

fn events<C: greenchannel::domain::Change>(log: &FeedLog, after: u64, until: u64) -> Vec<Event<C>> {
    let batch = log.read(after, usize::MAX, DateTime::<Utc>::MAX_UTC);
    batch
        .events
        .iter()
        .map(|json| serde_json::from_str::<Event<C>>(json).expect("event parses"))
        .filter(|e| e.seq <= until)
        .collect()
}

fn recorded() -> &'static Recorded {
    static RECORDED: OnceLock<Recorded> = OnceLock::new();
    RECORDED.get_or_init(|| {
        let mut world = World::new(&SimConfig::default(), start());
        let (trains, _) = world.train_page(&TrainFilter::default(), None, usize::MAX);
        let (declarations, _) = world.declaration_page(None, None, usize::MAX);
        let snapshot = [
            Delivery::RailwaySnapshot(reparse::<Vec<Train>>(&world, &trains)),
            Delivery::CustomsSnapshot(reparse::<Vec<Declaration>>(&world, &declarations)),
        ];
        let heads = (world.railway_log().head(), world.customs_log().head());
        world.advance_to(now());
        let middle = (world.railway_log().head(), world.customs_log().head());
        world.advance_to(now() + Duration::minutes(LATER));
        let end = (world.railway_log().head(), world.customs_log().head());
        Recorded {
            snapshot,
            events: [
                Delivery::RailwayEvents(events(world.railway_log(), heads.0, middle.0)),
                Delivery::CustomsEvents(events(world.customs_log(), heads.1, middle.1)),
            ],
            later: [
                Delivery::RailwayEvents(events(world.railway_log(), middle.0, end.0)),
                Delivery::CustomsEvents(events(world.customs_log(), middle.1, end.1)),
            ],
        }
    })
}

/// The settings of a board beside the simulator (its durations
/// compressed as the simulator's are).
fn config() -> Config {
    Config::default().compressed(SimConfig::default().time_compression)
}

/// The board of the fixture at [`now`].
fn board() -> Board {
    let r = recorded();
    let mut board = Board::new(config().board_settings(), start());
    for delivery in r.snapshot.iter().chain(&r.events) {
        board.apply(delivery.clone(), now());
    }
    board.tick(now());
    board
}

/// The minute of events after [`now`], not on the board.
pub fn later() -> [Delivery; 2] {
    recorded().later.clone()
}

/// How the board is shown in the tests (all but theme and wall).
pub fn display(theme: ThemeName, wall: bool) -> Display {
    Display {
        wall,
        read_only: false,
        theme,
        ascii: false,
        zone: Zone::Beijing,
        lang: Lang::En,
        wall_cycle_seconds: 15.0,
    }
}

/// The options of `display`, without colour when `no_color` (as with
/// `NO_COLOR`).
pub fn options_of(display: &Display, no_color: bool) -> Options {
    options(display, Keymap::default(), &config(), no_color)
}

/// Where the fixture's officer sends triage actions.
pub fn origin() -> Origin {
    Origin::new("http://127.0.0.1:7400/customs", &"ALK-0417".into())
}

/// An app and the board it has to itself, as the local terminal's event
/// loop holds them: each call hands the app the board, and what the app
/// lets go of after a key (a thaw) goes onto the board.
#[derive(Debug)]
pub struct Local {
    /// The app.
    pub app: App,
    /// Its board.
    pub board: Board,
}

impl std::ops::Deref for Local {
    type Target = App;

    fn deref(&self) -> &App {
        &self.app
    }
}

impl std::ops::DerefMut for Local {
    fn deref_mut(&mut self) -> &mut App {
        &mut self.app
    }
}

#[allow(dead_code)]
impl Local {
    /// A key, then what a thaw let go onto the board.
    pub fn on_key(&mut self, key: crossterm::event::KeyEvent) -> Option<Effect> {
        let was_frozen = self.app.is_frozen();
        let effect = self.app.on_key(key, &self.board);
        self.settle(was_frozen);
        effect
    }

    /// An action, then what a thaw let go onto the board.
    pub fn act(&mut self, action: greenchannel::ui::keymap::Action) -> Option<Effect> {
        let was_frozen = self.app.is_frozen();
        let effect = self.app.act(action, &self.board);
        self.settle(was_frozen);
        effect
    }

    /// What a thaw let go, handed to the board and worked through at the
    /// time shown, as the loop does in slices.
    fn settle(&mut self, was_frozen: bool) {
        self.app.settle(&mut self.board);
        if was_frozen && !self.app.is_frozen() {
            self.board.tick(self.app.now);
        }
    }

    /// A feed message.
    pub fn on_feed(&mut self, message: greenchannel::feeds::FeedMessage) {
        self.app.on_feed(message, &mut self.board);
    }

    /// The clock moves on.
    pub fn tick(&mut self, at: DateTime<Utc>) {
        self.app.tick(at, &mut self.board);
    }

    /// The desk's word: the hold customs answered onto the board, the
    /// rest to the app.
    pub fn on_triage(&mut self, report: Report) {
        greenchannel::station::take_answer(&mut self.board, &report, self.app.now);
        self.app.on_triage(report);
    }

    /// The lists, before drawing.
    pub fn prepare(&mut self) {
        self.app.prepare(&self.board);
    }

    /// The row of a list's selection.
    pub fn selected_row(&self, screen: Screen) -> Option<usize> {
        self.app.selected_row(screen, &self.board)
    }

    /// The wall's pages.
    pub fn wall_pages(&self) -> Vec<WallPage> {
        self.app.wall_pages(&self.board)
    }

    /// The wall's page now.
    pub fn wall_page(&self) -> WallPlace {
        self.app.wall_page(&self.board)
    }

    /// The whole screen drawn.
    pub fn draw(&self, frame: &mut ratatui::Frame) {
        greenchannel::ui::render::draw(frame, &self.app, &self.board);
    }
}

/// An app over the fixture's board, both feeds fresh, an officer signed
/// in, its lists prepared.
pub fn app(options: Options) -> Local {
    let mut app = Local {
        app: App::new(options, Zone::Beijing, now()),
        board: board(),
    };
    app.health = Feed::BOTH.map(|feed| {
        let mut health = FeedHealth::new(feed);
        health.succeeded(now(), Some(Duration::zero()));
        health
    });
    app.officer = Some(Officer {
        officer_id: "ALK-0417".into(),
        name: "Aygul Nurlanovna".into(),
        role: Role::Officer,
    });
    // The desk the event loop opens once customs says who the token is.
    if !app.read_only() {
        app.triage_origin = Some(origin());
    }
    app.tick(now());
    app.prepare();
    app
}
