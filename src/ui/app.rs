//! The state of one screen of the board and the one function that changes
//! it for each action, feed message or tick. Pure: it is tested without a
//! terminal; the event loop turns its effects into I/O. The board is not
//! its own: it reads the board it is given, so many screens (ssh
//! sessions) can show one; only a screen that has a board to itself (the
//! local terminal) hands it deliveries, held back while frozen.

use chrono::{DateTime, Duration, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};

use super::keymap::{Action, Keymap};
use super::theme::Theme;
use super::views::{Filter, Inputs, Keys, Sorting, Views};
use super::zone::Zone;
use crate::board::Board;
use crate::domain::{Delivery, HoldActionKind, Lang, Officer};
use crate::feeds::health::{FeedHealth, HealthLimits};
use crate::feeds::{Feed, FeedMessage};
use crate::triage::rules::{self, Refusal};
use crate::triage::{Entry, Intent, Origin, Outbox, Outcome, Report};

/// How the board is shown, fixed for a run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Wall terminal: read-only, cycling, no keyboard needed.
    pub wall: bool,
    /// No triage actions.
    pub read_only: bool,
    /// Colours and glyphs.
    pub theme: Theme,
    /// Language of the labels.
    pub lang: Lang,
    /// When feeds count as stale and down.
    pub limits: HealthLimits,
    /// How long the wall shows each page.
    pub wall_cycle: Duration,
    /// The keys.
    pub keymap: Keymap,
}

/// A screen of the board.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// Upcoming trains.
    Departures,
    /// One train's containers.
    Train,
    /// The parcels table.
    Parcels,
    /// One parcel.
    Detail,
    /// The triage queue.
    Holds,
    /// What each feed did, and did wrong.
    Feeds,
}

impl Screen {
    /// In tab order.
    pub const ALL: [Screen; 6] = [
        Screen::Departures,
        Screen::Train,
        Screen::Parcels,
        Screen::Detail,
        Screen::Holds,
        Screen::Feeds,
    ];

    /// The actions that mean something here, for the footer: help and
    /// quit first, so that even a narrow terminal says how to get out.
    pub fn hints(self) -> &'static [Action] {
        match self {
            Screen::Departures | Screen::Train | Screen::Holds => &[
                Action::Help,
                Action::Quit,
                Action::Open,
                Action::Back,
                Action::NextScreen,
                Action::Filter,
                Action::Command,
                Action::Sort,
                Action::Freeze,
            ],
            Screen::Parcels => &[
                Action::Help,
                Action::Quit,
                Action::Open,
                Action::Back,
                Action::Filter,
                Action::Sort,
                Action::ReverseSort,
                Action::Freeze,
            ],
            Screen::Detail => &[
                Action::Help,
                Action::Quit,
                Action::Back,
                Action::Up,
                Action::Down,
                Action::NextScreen,
                Action::Freeze,
            ],
            Screen::Feeds => &[
                Action::Help,
                Action::Quit,
                Action::Back,
                Action::NextScreen,
                Action::Freeze,
            ],
        }
    }
}

/// A line being typed at the bottom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// What it is for.
    pub kind: InputKind,
    /// What is typed so far.
    pub text: String,
}

/// What a typed line is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputKind {
    /// A parcel filter (`/`).
    Filter,
    /// A command (`:`).
    Command,
    /// A note on the hold of this parcel.
    Note(String),
}

/// The page the wall shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WallPage {
    /// One train with parcels in trouble (board key).
    Spotlight(usize),
    /// The holds.
    Holds,
    /// Everything on track: the departures.
    AllClear,
}

/// The wall page showing, and its place among the pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WallPlace {
    /// The page.
    pub page: WallPage,
    /// Its place, from 0.
    pub index: usize,
    /// How many pages there are.
    pub count: usize,
}

/// A triage step that asks `y / n` first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirm {
    /// Send this intent.
    Send(Intent),
    /// Give up this unanswered intent.
    Discard(Entry),
}

/// What the event loop must do after an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Leave.
    Quit,
    /// Clear the terminal and draw everything again.
    Redraw,
    /// Turn mouse capture on (true) or off.
    Mouse(bool),
    /// Hand a triage intent to the desk (on the disk, then queued).
    Send(Intent),
    /// Give up an unanswered intent (by key).
    Discard(String),
    /// Try a stuck intent again (by key).
    Retry(String),
}

/// The display held still.
#[derive(Debug)]
struct Frozen {
    at: DateTime<Utc>,
    queued: Vec<FeedMessage>,
}

/// Deliveries held while frozen before the display thaws by itself.
const FROZEN_LIMIT: usize = 10_000;

/// Everything a screen of the board knows and shows.
#[derive(Debug)]
pub struct App {
    /// Each feed's health (railway, customs).
    pub health: [FeedHealth; 2],
    /// Who is signed in.
    pub officer: Option<Officer>,
    /// How things are shown.
    pub options: Options,
    /// Time zone of the clocks.
    pub zone: Zone,
    /// The screen shown.
    pub screen: Screen,
    history: Vec<Screen>,
    /// The train the Train screen shows (and the departures cursor).
    pub train: Option<String>,
    /// The container under the cursor on the Train screen.
    pub container: Option<String>,
    /// The parcel under the cursor on the Parcels screen.
    pub parcel: Option<String>,
    /// The parcel the Detail screen shows.
    pub detail: Option<String>,
    /// The held parcel under the cursor.
    pub hold: Option<String>,
    /// Scroll of the Detail screen.
    pub detail_scroll: u16,
    /// The parcel filter.
    pub filter: Filter,
    /// A line being typed.
    pub input: Option<Input>,
    /// How lists are sorted.
    pub sorting: Sorting,
    frozen: Option<Frozen>,
    /// Deliveries let go by a thaw, for the board's owner to apply
    /// ([`App::settle`]).
    thawed: Option<Vec<FeedMessage>>,
    /// The help overlay is up.
    pub help: bool,
    /// Asking whether to quit (wall).
    pub confirm_quit: bool,
    /// A triage step waiting for yes or no.
    pub confirm: Option<Confirm>,
    /// Where this terminal's triage actions go and for whom, once its
    /// desk is open (none: no actions yet, or read-only).
    pub triage_origin: Option<Origin>,
    /// This terminal's triage actions and where they stand.
    pub outbox: Outbox,
    /// Mouse captured by the board.
    pub mouse: bool,
    /// A message for the footer (errors of commands and filters).
    pub message: Option<String>,
    /// The wall's page and since when.
    pub wall_page: (usize, DateTime<Utc>),
    /// The lists of each screen.
    pub views: Views,
    /// Rows a page up or down moves.
    pub page_rows: usize,
    /// The row each list's cursor was last on.
    rows: [usize; Screen::ALL.len()],
    /// The clock the board is judged and shown at.
    pub now: DateTime<Utc>,
    /// Something changed since the last draw.
    pub dirty: bool,
}

fn feed_index(feed: Feed) -> usize {
    match feed {
        Feed::Railway => 0,
        Feed::Customs => 1,
    }
}

impl App {
    /// A screen of the board starting at `now`.
    pub fn new(options: Options, zone: Zone, now: DateTime<Utc>) -> App {
        App {
            health: [
                FeedHealth::new(Feed::Railway),
                FeedHealth::new(Feed::Customs),
            ],
            officer: None,
            mouse: !options.wall,
            options,
            zone,
            screen: Screen::Departures,
            history: Vec::new(),
            train: None,
            container: None,
            parcel: None,
            detail: None,
            hold: None,
            detail_scroll: 0,
            filter: Filter::default(),
            input: None,
            sorting: Sorting::default(),
            frozen: None,
            thawed: None,
            help: false,
            confirm_quit: false,
            confirm: None,
            triage_origin: None,
            outbox: Outbox::default(),
            message: None,
            wall_page: (0, now),
            views: Views::default(),
            page_rows: 20,
            rows: [0; Screen::ALL.len()],
            now,
            dirty: true,
        }
    }

    /// The instant shown: the freeze time while frozen.
    pub fn shown_at(&self) -> DateTime<Utc> {
        self.frozen.as_ref().map_or(self.now, |f| f.at)
    }

    /// The local clock, by which health times are written: the board's
    /// clock is this machine's corrected by one skew (customs', else the
    /// railway's), so that skew undoes it — not each feed's own, which
    /// differs when the two servers' clocks do.
    pub fn local_now(&self) -> DateTime<Utc> {
        self.now + crate::station::board_skew(&self.health)
    }

    /// A feed's state now.
    pub fn feed_state(&self, health: &FeedHealth) -> crate::feeds::health::FeedState {
        health.state(self.local_now(), &self.options.limits)
    }

    /// Whether the display is held still.
    pub fn is_frozen(&self) -> bool {
        self.frozen.is_some()
    }

    /// Whether triage actions are allowed.
    pub fn read_only(&self) -> bool {
        self.options.read_only
            || self.options.wall
            || self.officer.as_ref().is_none_or(|o| !o.role.may_act())
    }

    // ----- feeds and time --------------------------------------------------

    /// Takes a feed's health.
    pub fn on_health(&mut self, health: FeedHealth) {
        let i = feed_index(health.feed);
        self.health[i] = health;
        self.dirty = true;
    }

    /// Takes word that a board shared with others moved on (shown unless
    /// frozen).
    pub fn board_changed(&mut self) {
        self.dirty |= self.frozen.is_none();
    }

    /// Takes a feed message for a board this screen has to itself:
    /// deliveries are held back while frozen, health is not.
    pub fn on_feed(&mut self, message: FeedMessage, board: &mut Board) {
        match message {
            FeedMessage::Health(health) => self.on_health(*health),
            // Word that a feed is caught up changes nothing shown: it is
            // taken at once, frozen or not.
            FeedMessage::Delivered {
                delivery: delivery @ (Delivery::RailwayCaughtUp(_) | Delivery::CustomsCaughtUp(_)),
                ..
            } => {
                board.receive(delivery);
            }
            delivered => match &mut self.frozen {
                Some(frozen) if frozen.queued.len() < FROZEN_LIMIT => frozen.queued.push(delivered),
                Some(_) => {
                    self.thaw();
                    self.settle(board);
                    self.apply(delivered, board);
                }
                None => self.apply(delivered, board),
            },
        }
    }

    /// Hands a delivery to the board, which applies it as it works.
    fn apply(&mut self, message: FeedMessage, board: &mut Board) {
        if let FeedMessage::Delivered { delivery, .. } = message {
            board.receive(delivery);
        }
    }

    /// Hands what a thaw let go to a board this screen has to itself
    /// (after each key); the loop works it through in slices, as it does
    /// any delivery, so a long freeze never holds the keys up at once.
    pub fn settle(&mut self, board: &mut Board) {
        if let Some(queued) = self.thawed.take() {
            for message in queued {
                self.apply(message, board);
            }
            self.dirty = true;
        }
    }

    /// Moves the clock of a board this screen has to itself (the board
    /// finishes everything it has to do, unless frozen) and of the screen.
    pub fn tick(&mut self, now: DateTime<Utc>, board: &mut Board) {
        self.advance(now, None, board);
    }

    /// Moves the clock of a board this screen has to itself and lets the
    /// board work for at most `budget` (applying what arrived, judging
    /// what is due), so the loop keeps answering keys while a large
    /// snapshot goes in.
    pub fn work(&mut self, now: DateTime<Utc>, budget: std::time::Duration, board: &mut Board) {
        self.advance(now, Some(budget), board);
    }

    /// Whether a board this screen has to itself has work waiting that
    /// [`App::work`] would do.
    pub fn has_work(&self, board: &Board) -> bool {
        self.frozen.is_none() && board.has_work()
    }

    fn advance(
        &mut self,
        now: DateTime<Utc>,
        budget: Option<std::time::Duration>,
        board: &mut Board,
    ) {
        if self.frozen.is_none() {
            let before = board.revision();
            match budget {
                Some(budget) => {
                    board.work(now, budget);
                }
                None => board.tick(now),
            }
            self.dirty |= board.revision() != before;
        }
        self.move_clock(now);
    }

    /// Moves the screen's clock: the wall turns its pages, and the
    /// seconds shown tick.
    pub fn move_clock(&mut self, now: DateTime<Utc>) {
        let second_changed = now.timestamp() != self.now.timestamp();
        self.now = now;
        if self.options.wall && now - self.wall_page.1 >= self.options.wall_cycle {
            self.wall_page = (self.wall_page.0 + 1, now);
            self.dirty = true;
        }
        // The header clock and the countdowns show seconds.
        self.dirty |= second_changed && self.frozen.is_none();
    }

    /// Brings the screen's lists up to date (before drawing), and keeps
    /// each cursor on a row: the first row when none is chosen, the same
    /// row position when the chosen one left the list. While frozen the
    /// lists hold still.
    pub fn prepare(&mut self, board: &Board) {
        let inputs = Inputs {
            filter: self.filter.clone(),
            sorting: self.sorting,
            train: self.train.as_deref().and_then(|t| board.train_key(t)),
            parcels: self.screen == Screen::Parcels && !self.options.wall,
        };
        self.views
            .refresh(board, &inputs, self.now, self.is_frozen());
        for screen in [
            Screen::Departures,
            Screen::Train,
            Screen::Parcels,
            Screen::Holds,
        ] {
            let list = self.list(screen);
            if list.is_empty() {
                continue;
            }
            let row = match self.selected_row(screen, board) {
                Some(row) => row,
                None => {
                    let row = self.rows[screen as usize].min(list.len() - 1);
                    self.select(screen, list.get(row), board);
                    row
                }
            };
            self.rows[screen as usize] = row;
        }
    }

    fn list(&self, screen: Screen) -> &Keys {
        const NONE: &Keys = &Keys::EMPTY;
        match screen {
            Screen::Departures => &self.views.departures,
            Screen::Train => &self.views.containers,
            Screen::Parcels => &self.views.parcels,
            Screen::Holds => &self.views.holds,
            Screen::Detail | Screen::Feeds => NONE,
        }
    }

    /// Puts a list's cursor on the row of `key` (`None`: on no row).
    fn select(&mut self, screen: Screen, key: Option<usize>, board: &Board) {
        let parcel = |k: usize| {
            board
                .parcel(k as u32)
                .map(|p| p.declaration_no().to_string())
        };
        match screen {
            Screen::Departures => {
                self.train = key
                    .and_then(|k| board.train(k))
                    .map(|t| t.train_id.to_string())
            }
            Screen::Train => {
                self.container = key
                    .and_then(|k| board.container(k))
                    .map(|c| c.container_no.to_string())
            }
            Screen::Parcels => self.parcel = key.and_then(parcel),
            Screen::Holds => self.hold = key.and_then(parcel),
            Screen::Detail | Screen::Feeds => {}
        }
    }

    /// The board key of a list's selection.
    fn selected_key(&self, screen: Screen, board: &Board) -> Option<usize> {
        match screen {
            Screen::Departures => self.train.as_deref().and_then(|t| board.train_key(t)),
            Screen::Train => self
                .container
                .as_deref()
                .and_then(|c| board.container_key(c)),
            Screen::Parcels => self
                .parcel
                .as_deref()
                .and_then(|p| board.parcel_key(p))
                .map(|k| k as usize),
            Screen::Holds => self
                .hold
                .as_deref()
                .and_then(|p| board.parcel_key(p))
                .map(|k| k as usize),
            Screen::Detail | Screen::Feeds => None,
        }
    }

    /// The wall's pages now: each train in trouble, then the holds.
    pub fn wall_pages(&self, board: &Board) -> Vec<WallPage> {
        let mut pages: Vec<WallPage> = self
            .views
            .departures
            .iter()
            .filter(|k| {
                board
                    .train(*k)
                    .is_some_and(|t| !t.is_gone() && super::views::needs_attention(t))
            })
            .map(WallPage::Spotlight)
            .collect();
        if !self.views.holds.is_empty() {
            pages.push(WallPage::Holds);
        }
        if pages.is_empty() {
            pages.push(WallPage::AllClear);
        }
        pages
    }

    /// The wall page showing now.
    pub fn wall_page(&self, board: &Board) -> WallPlace {
        let pages = self.wall_pages(board);
        let index = self.wall_page.0 % pages.len();
        WallPlace {
            page: pages[index],
            index,
            count: pages.len(),
        }
    }

    // ----- input -------------------------------------------------------------

    /// Handles a key: typed into a line being edited, or mapped to an
    /// action.
    pub fn on_key(&mut self, key: KeyEvent, board: &Board) -> Option<Effect> {
        self.dirty = true;
        if let Some(confirm) = self.confirm.take() {
            let yes = matches!(key.code, KeyCode::Char('y') | KeyCode::Char('Y'));
            return yes.then_some(match confirm {
                Confirm::Send(intent) => Effect::Send(intent),
                Confirm::Discard(entry) => Effect::Discard(entry.intent.key),
            });
        }
        if self.confirm_quit {
            self.confirm_quit = false;
            return matches!(key.code, KeyCode::Char('y') | KeyCode::Char('Y'))
                .then_some(Effect::Quit);
        }
        if self.input.is_some() {
            return self.on_input_key(key, board);
        }
        self.message = None;
        let action = self.options.keymap.action(&key);
        // The help closes on any key, mapped or not, without acting on it
        // (but for quitting and redrawing).
        if self.help && !matches!(action, Some(Action::Quit | Action::Redraw)) {
            self.help = false;
            return None;
        }
        self.act(action?, board)
    }

    fn on_input_key(&mut self, key: KeyEvent, board: &Board) -> Option<Effect> {
        // Ctrl-C quits everywhere, as the help says.
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            self.input = None;
            return self.act(Action::Quit, board);
        }
        let input = self.input.as_mut().expect("editing");
        match key.code {
            KeyCode::Esc => self.input = None,
            KeyCode::Enter => {
                let Input { kind, text } = self.input.take().expect("editing");
                return match kind {
                    InputKind::Filter => {
                        self.set_filter(&text, board);
                        None
                    }
                    InputKind::Command => self.run_command(&text, board),
                    InputKind::Note(parcel) => {
                        let note = rules::note_text(Some(&text)).ok()?;
                        let version = hold_version(board, &parcel);
                        self.triage_origin.clone().map(|origin| {
                            Effect::Send(Intent::new(
                                &origin,
                                &parcel,
                                HoldActionKind::Note,
                                Some(note),
                                version,
                                self.now,
                            ))
                        })
                    }
                };
            }
            KeyCode::Backspace => {
                input.text.pop();
            }
            KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                input.text.clear()
            }
            // Text typed into a line never doubles as a command key.
            KeyCode::Char(c)
                if !key.modifiers.contains(KeyModifiers::CONTROL)
                    && input.text.chars().count() < 200 =>
            {
                input.text.push(c);
            }
            _ => {}
        }
        None
    }

    /// Handles the mouse: the wheel moves the selection.
    pub fn on_mouse(&mut self, mouse: MouseEvent, board: &Board) -> Option<Effect> {
        match mouse.kind {
            MouseEventKind::ScrollDown => self.act(Action::Down, board),
            MouseEventKind::ScrollUp => self.act(Action::Up, board),
            _ => None,
        }
    }

    fn set_filter(&mut self, text: &str, board: &Board) {
        match Filter::parse(text) {
            Ok(filter) => {
                self.filter = filter;
                if self.screen != Screen::Parcels {
                    self.go(Screen::Parcels, board);
                }
            }
            Err(e) => self.message = Some(e),
        }
    }

    /// Runs a `:` command.
    fn run_command(&mut self, line: &str, board: &Board) -> Option<Effect> {
        let mut words = line.split_whitespace();
        let command = words.next().unwrap_or("").to_ascii_lowercase();
        let argument: Vec<&str> = words.collect();
        let argument = argument.join(" ");
        match command.as_str() {
            "q" | "quit" => return Some(Effect::Quit),
            "train" | "t" => {
                let wanted = argument.to_uppercase();
                let found = self
                    .views
                    .departures
                    .iter()
                    .filter_map(|k| board.train(k))
                    .find(|t| {
                        t.train_id.to_uppercase() == wanted
                            || t.train_id.to_uppercase().starts_with(&format!("{wanted}-"))
                    })
                    .map(|t| t.train_id.to_string());
                match found {
                    Some(train) => {
                        self.train = Some(train);
                        self.go(Screen::Train, board);
                    }
                    None => self.message = Some(format!("no train {argument}")),
                }
            }
            "held" | "holds" => self.go(Screen::Holds, board),
            "risk" => self.set_filter(&format!("risk:{argument}"), board),
            "parcels" | "p" => {
                self.set_filter(&argument, board);
                self.go(Screen::Parcels, board);
            }
            "departures" | "d" => self.go(Screen::Departures, board),
            "tz" => match Zone::parse(&argument) {
                Some(zone) => self.zone = zone,
                None => {
                    self.message = Some(format!(
                        "tz {argument}? beijing, xinjiang, almaty, tashkent, utc"
                    ))
                }
            },
            "lang" => match argument.as_str() {
                "en" => self.options.lang = Lang::En,
                "zh" => self.options.lang = Lang::Zh,
                _ => self.message = Some("lang en | lang zh".to_owned()),
            },
            "help" => self.help = true,
            "" => {}
            other => {
                self.message = Some(format!(
                    "{other}? train X8017 · held · risk at_risk · parcels TEXT · departures · tz ZONE · lang en|zh · q"
                ))
            }
        }
        None
    }

    /// Does what an action asks.
    pub fn act(&mut self, action: Action, board: &Board) -> Option<Effect> {
        self.dirty = true;
        if self.options.wall {
            return self.act_on_wall(action);
        }
        if self.help && !matches!(action, Action::Quit | Action::Redraw) {
            self.help = false;
            return None;
        }
        match action {
            Action::Up => self.move_cursor(-1, board),
            Action::Down => self.move_cursor(1, board),
            Action::PageUp => self.move_cursor(-(self.page_rows as i64), board),
            Action::PageDown => self.move_cursor(self.page_rows as i64, board),
            Action::Top => self.move_cursor(i64::MIN / 2, board),
            Action::Bottom => self.move_cursor(i64::MAX / 2, board),
            Action::Open => self.open(board),
            Action::Back => self.back(),
            Action::NextScreen | Action::PreviousScreen => {
                let i = Screen::ALL
                    .iter()
                    .position(|s| *s == self.screen)
                    .unwrap_or(0);
                let n = Screen::ALL.len();
                let next = if action == Action::NextScreen {
                    (i + 1) % n
                } else {
                    (i + n - 1) % n
                };
                self.go(Screen::ALL[next], board);
            }
            Action::ShowDepartures => self.go(Screen::Departures, board),
            Action::ShowTrain => self.go(Screen::Train, board),
            Action::ShowParcels => self.go(Screen::Parcels, board),
            Action::ShowDetail => self.go(Screen::Detail, board),
            Action::ShowHolds => self.go(Screen::Holds, board),
            Action::ShowFeeds => self.go(Screen::Feeds, board),
            Action::Filter => {
                self.input = Some(Input {
                    kind: InputKind::Filter,
                    text: self.filter.text().to_owned(),
                });
            }
            Action::Command => {
                self.input = Some(Input {
                    kind: InputKind::Command,
                    text: String::new(),
                });
            }
            Action::Sort => match self.screen {
                Screen::Departures => self.sorting.departures = self.sorting.departures.next(),
                Screen::Holds => self.sorting.holds = self.sorting.holds.next(),
                _ => self.sorting.parcels = self.sorting.parcels.next(),
            },
            Action::ReverseSort => self.sorting.reversed = !self.sorting.reversed,
            Action::Freeze => {
                if self.frozen.is_some() {
                    self.thaw();
                } else {
                    self.frozen = Some(Frozen {
                        at: self.now,
                        queued: Vec::new(),
                    });
                }
            }
            Action::Help => self.help = true,
            Action::Mouse => {
                self.mouse = !self.mouse;
                return Some(Effect::Mouse(self.mouse));
            }
            Action::Redraw => return Some(Effect::Redraw),
            Action::Quit => return Some(Effect::Quit),
            Action::Claim
            | Action::Unclaim
            | Action::Note
            | Action::Priority
            | Action::Escalate
            | Action::Defer => return self.triage(action, board),
            Action::Retry => return self.retry_mine(),
            Action::Discard => return self.discard_mine(),
        }
        None
    }

    // ----- triage --------------------------------------------------------------

    /// The parcel a triage action would be about: the selected hold, or the
    /// parcel shown.
    pub fn triage_target(&self) -> Option<&str> {
        match self.screen {
            Screen::Holds => self.hold.as_deref(),
            Screen::Detail => self.detail.as_deref(),
            _ => None,
        }
    }

    /// Why this terminal may not act now, in the officer's words.
    fn why_not_acting(&self) -> Option<String> {
        let lang = self.options.lang;
        let zh = lang == Lang::Zh;
        if self.options.read_only || self.options.wall {
            return Some(Refusal::ReadOnly.text(lang));
        }
        let Some(officer) = &self.officer else {
            return Some(if zh {
                "海关尚未确认本令牌的身份，请稍后再试".to_owned()
            } else {
                "customs has not yet said who this token is; try again shortly".to_owned()
            });
        };
        if let Err(refusal) = rules::may_act(officer) {
            return Some(refusal.text(lang));
        }
        self.triage_origin.is_none().then(|| {
            if zh {
                "操作日志尚未打开，请稍后再试".to_owned()
            } else {
                "the triage journal is not open yet; try again shortly".to_owned()
            }
        })
    }

    /// The held parcel in front of the officer and the hold version to
    /// expect, or a message why there is none or `kind` may not be asked.
    fn held_target(&mut self, kind: &HoldActionKind, board: &Board) -> Option<(String, u64)> {
        let lang = self.options.lang;
        let Some(parcel) = self.triage_target().map(str::to_owned) else {
            self.message = Some(match lang {
                Lang::En => "choose a held parcel first (5 Holds, or a parcel's detail)".to_owned(),
                Lang::Zh => "请先选择扣留包裹（5 扣留，或包裹详情）".to_owned(),
            });
            return None;
        };
        let officer = self.officer.as_ref()?;
        let hold = board
            .parcel_key(&parcel)
            .and_then(|k| board.parcel(k))
            .and_then(|p| p.hold());
        match rules::check(officer, kind, &parcel, hold) {
            Ok(version) => Some((parcel, version)),
            Err(refusal) => {
                self.message = Some(refusal.text(lang));
                None
            }
        }
    }

    /// Asks for a triage action on the parcel in front of the officer;
    /// the consequential ones (priority, escalate, defer) are confirmed
    /// first, a note opens a line to type it.
    fn triage(&mut self, action: Action, board: &Board) -> Option<Effect> {
        if let Some(why) = self.why_not_acting() {
            self.message = Some(why);
            return None;
        }
        let kind = action.triage()?;
        let origin = self.triage_origin.clone()?;
        let (parcel, version) = self.held_target(&kind, board)?;
        if kind == HoldActionKind::Note {
            self.input = Some(Input {
                kind: InputKind::Note(parcel),
                text: String::new(),
            });
            return None;
        }
        let intent = Intent::new(&origin, &parcel, kind, None, Some(version), self.now);
        if rules::asks_first(&intent.action) {
            self.confirm = Some(Confirm::Send(intent));
            None
        } else {
            Some(Effect::Send(intent))
        }
    }

    /// This terminal's latest unanswered action on the parcel in front of
    /// the officer (pending or stuck).
    fn mine_unanswered(&self) -> Option<&Entry> {
        let parcel = self.triage_target()?;
        self.outbox
            .latest_about(parcel)
            .filter(|e| e.outcome.is_unanswered())
    }

    fn nothing_of_mine(&mut self, stuck: bool) {
        let zh = self.options.lang == Lang::Zh;
        self.message = Some(
            match (stuck, zh) {
                (true, false) => "no stuck action of this terminal on this parcel",
                (true, true) => "本终端在此包裹上没有卡住的操作",
                (false, false) => "no unanswered action of this terminal on this parcel",
                (false, true) => "本终端在此包裹上没有未答复的操作",
            }
            .to_owned(),
        );
    }

    /// Tries this terminal's stuck action on the parcel again.
    fn retry_mine(&mut self) -> Option<Effect> {
        match self.mine_unanswered() {
            Some(entry) if matches!(entry.outcome, Outcome::Stuck { .. }) => {
                Some(Effect::Retry(entry.intent.key.clone()))
            }
            _ => {
                self.nothing_of_mine(true);
                None
            }
        }
    }

    /// Asks whether to give up this terminal's unanswered action on the
    /// parcel.
    fn discard_mine(&mut self) -> Option<Effect> {
        match self.mine_unanswered().cloned() {
            Some(entry) => self.confirm = Some(Confirm::Discard(entry)),
            None => self.nothing_of_mine(false),
        }
        None
    }

    /// An intent is on the disk and queued: shown from now on.
    pub fn queued(&mut self, intent: Intent) {
        self.outbox.submit(intent);
        self.dirty = true;
    }

    /// Takes the desk's word on an intent: where it stands (the board's
    /// owner puts the hold customs answered on the board).
    pub fn on_triage(&mut self, report: Report) {
        let lang = self.options.lang;
        let zh = lang == Lang::Zh;
        if let Some(entry) = self.outbox.get(&report.key) {
            let what = format!(
                "{} {}",
                entry.intent.action.label(lang),
                entry.intent.declaration_no
            );
            let word = |en: &str, zh_word: &str| {
                if zh {
                    zh_word.to_owned()
                } else {
                    en.to_owned()
                }
            };
            self.message = match &report.outcome {
                Outcome::Done { .. } => Some(format!("{what}: {}", word("recorded", "已记录"))),
                Outcome::Refused { code, message } => Some(format!("{what}: {code} {message}")),
                Outcome::Pending { last_error, .. } => last_error
                    .as_ref()
                    .map(|e| format!("{what}: {} ({e})", word("retrying", "重试中"))),
                Outcome::Stuck { attempts, .. } => Some(format!(
                    "{what}: {}",
                    if zh {
                        format!("尝试 {attempts} 次无答复 · R 重试 · x 放弃")
                    } else {
                        format!("no answer after {attempts} attempts · R retry · x discard")
                    }
                )),
                Outcome::Discarded => Some(format!("{what}: {}", word("discarded", "已放弃"))),
            };
        }
        self.outbox.update(&report.key, report.outcome);
        self.dirty = true;
    }

    /// The keys worth showing in the footer here.
    pub fn hints(&self, board: &Board) -> Vec<Action> {
        let mut hints = self.screen.hints().to_vec();
        if self.why_not_acting().is_none()
            && self
                .triage_target()
                .is_some_and(|p| hold_version(board, p).is_some())
        {
            hints.splice(
                2..2,
                [
                    Action::Claim,
                    Action::Note,
                    Action::Priority,
                    Action::Escalate,
                    Action::Defer,
                    Action::Unclaim,
                ],
            );
        }
        if let Some(entry) = self.mine_unanswered() {
            let stuck = matches!(entry.outcome, Outcome::Stuck { .. });
            let mine = if stuck {
                &[Action::Retry, Action::Discard][..]
            } else {
                &[Action::Discard][..]
            };
            hints.splice(2..2, mine.iter().copied());
        }
        hints
    }

    /// The wall takes no orders but quitting (after asking) and redrawing.
    fn act_on_wall(&mut self, action: Action) -> Option<Effect> {
        match action {
            Action::Quit => {
                self.confirm_quit = true;
                None
            }
            Action::Redraw => Some(Effect::Redraw),
            _ => None,
        }
    }

    /// Lets the display move again; what it held back waits for
    /// [`App::settle`].
    fn thaw(&mut self) {
        if let Some(frozen) = self.frozen.take() {
            self.thawed = Some(frozen.queued);
        }
    }

    fn go(&mut self, screen: Screen, board: &Board) {
        if screen != self.screen {
            self.history.push(self.screen);
            if self.history.len() > 32 {
                self.history.remove(0);
            }
            self.screen = screen;
        }
        // Nothing opened yet: the parcel under the Parcels cursor, or the
        // first parcel that list would show.
        if screen == Screen::Detail && self.detail.is_none() {
            self.detail = self.parcel.clone().or_else(|| {
                let first = super::views::parcels(board, &self.filter, self.sorting).get(0)?;
                board
                    .parcel(first as u32)
                    .map(|p| p.declaration_no().to_string())
            });
            self.detail_scroll = 0;
        }
    }

    fn back(&mut self) {
        if !self.filter.is_empty() && self.screen == Screen::Parcels {
            self.filter = Filter::default();
            return;
        }
        if let Some(previous) = self.history.pop() {
            self.screen = previous;
        }
    }

    fn open(&mut self, board: &Board) {
        match self.screen {
            Screen::Departures => {
                if self.train.is_some() {
                    self.go(Screen::Train, board);
                }
            }
            Screen::Train => {
                if let Some(container) = self.container.clone() {
                    self.filter = Filter::field("container", &container);
                    self.go(Screen::Parcels, board);
                }
            }
            Screen::Parcels => {
                if let Some(parcel) = self.parcel.clone() {
                    self.detail = Some(parcel);
                    self.detail_scroll = 0;
                    self.go(Screen::Detail, board);
                }
            }
            Screen::Holds => {
                if let Some(parcel) = self.hold.clone() {
                    self.detail = Some(parcel);
                    self.detail_scroll = 0;
                    self.go(Screen::Detail, board);
                }
            }
            Screen::Detail | Screen::Feeds => {}
        }
    }

    fn move_cursor(&mut self, by: i64, board: &Board) {
        let screen = self.screen;
        if screen == Screen::Detail {
            let scroll = i64::from(self.detail_scroll)
                .saturating_add(by)
                .clamp(0, 1000);
            self.detail_scroll = scroll as u16;
            return;
        }
        let list = self.list(screen);
        if list.is_empty() {
            self.select(screen, None, board);
            return;
        }
        let from = self
            .selected_row(screen, board)
            .map_or(if by > 0 { -1 } else { list.len() as i64 }, |i| i as i64);
        let row = from.saturating_add(by).clamp(0, list.len() as i64 - 1) as usize;
        let key = list.get(row);
        self.rows[screen as usize] = row;
        self.select(screen, key, board);
    }

    /// The row of the selection in a list (`None`: nothing selected, or
    /// not in the list). Cheap while the selection stays on the row
    /// [`App::prepare`] last found it on; searched for only once it moved.
    pub fn selected_row(&self, screen: Screen, board: &Board) -> Option<usize> {
        let key = self.selected_key(screen, board)?;
        let list = self.list(screen);
        let row = self.rows[screen as usize];
        if list.get(row) == Some(key) {
            Some(row)
        } else {
            list.position(key)
        }
    }
}

/// The version of the hold on `parcel`, if it is held.
fn hold_version(board: &Board, parcel: &str) -> Option<u64> {
    let key = board.parcel_key(parcel)?;
    board.parcel(key)?.hold().map(|h| h.version)
}
