//! The terminal UI: the board on screen for ssh sessions, wall terminals
//! and triage. [`app`] holds the state and changes it (pure), [`render`]
//! draws it (pure), [`keymap`] turns keys into actions; this module owns
//! the terminal and the event loop, and draws only when something changed
//! or a visible clock ticks.

pub mod app;
pub mod keymap;
pub mod labels;
pub mod render;
pub mod settings;
pub mod theme;
pub mod views;
pub mod zone;

use std::io::{self, Stdout, Write};
use std::time::{Duration as StdDuration, Instant};

use chrono::{Duration, Utc};
use crossterm::event::{DisableMouseCapture, EnableMouseCapture, Event, EventStream};
use crossterm::terminal::{
    BeginSynchronizedUpdate, EndSynchronizedUpdate, EnterAlternateScreen, LeaveAlternateScreen,
    disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, execute, queue};
use futures_util::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

use crate::board::Board;
use crate::config::Config;
use crate::domain::Lang;
use crate::feeds;
use crate::feeds::client::ApiClient;
use crate::station::{self, Tasks, Triage};
use crate::triage::sender::SendPolicy;
use app::{App, Effect, Options};
use keymap::Keymap;
use theme::{Theme, ThemeName};
use zone::Zone;

/// How the board is to be shown, from settings and flags.
#[derive(Debug, Clone)]
pub struct Display {
    /// Wall terminal.
    pub wall: bool,
    /// No triage actions.
    pub read_only: bool,
    /// Palette.
    pub theme: ThemeName,
    /// No box drawing or blocks.
    pub ascii: bool,
    /// Clock zone.
    pub zone: Zone,
    /// Language.
    pub lang: Lang,
    /// Seconds per wall page.
    pub wall_cycle_seconds: f64,
}

/// Builds the app's options.
pub fn options(display: &Display, keymap: Keymap, config: &Config, no_color: bool) -> Options {
    Options {
        wall: display.wall,
        read_only: display.read_only || display.wall,
        theme: Theme::new(display.theme, no_color, display.ascii),
        lang: display.lang,
        limits: feeds::health_limits(config),
        wall_cycle: Duration::milliseconds((display.wall_cycle_seconds * 1000.0) as i64),
        keymap,
    }
}

/// Puts the terminal back as it was. Safe to call more than once.
pub fn restore_terminal() {
    let mut out = io::stdout();
    let _ = execute!(
        out,
        DisableMouseCapture,
        LeaveAlternateScreen,
        cursor::Show,
        EndSynchronizedUpdate
    );
    let _ = disable_raw_mode();
}

fn setup_terminal(mouse: bool) -> io::Result<Terminal<CrosstermBackend<Stdout>>> {
    // Our theme drops colours for NO_COLOR itself and keeps bold and
    // reverse; crossterm's own handling would reset those too.
    crossterm::style::force_color_output(true);
    enable_raw_mode()?;
    let mut out = io::stdout();
    execute!(out, EnterAlternateScreen, cursor::Hide)?;
    if mouse {
        execute!(out, EnableMouseCapture)?;
    }
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        previous(info);
    }));
    Terminal::new(CrosstermBackend::new(out))
}

/// One frame, inside synchronized output so ssh and tmux never show half
/// a frame.
fn draw(
    terminal: &mut Terminal<CrosstermBackend<Stdout>>,
    app: &mut App,
    board: &Board,
) -> io::Result<()> {
    app.prepare(board);
    queue!(terminal.backend_mut(), BeginSynchronizedUpdate)?;
    terminal.draw(|frame| render::draw(frame, app, board))?;
    execute!(terminal.backend_mut(), EndSynchronizedUpdate)?;
    app.dirty = false;
    Ok(())
}

/// The board's clock: local time corrected by the servers' `Date`.
fn clock(app: &App) -> chrono::DateTime<Utc> {
    station::servers_now(&app.health)
}

/// Runs the board against the two APIs until the officer quits, the
/// session hangs up, or the process is told to stop. Triage actions are
/// written to a journal in `journal_dir` (one per customs API and officer;
/// none when read-only). The board is this terminal's own.
pub async fn run(
    config: &Config,
    display: &Display,
    keymap: Keymap,
    railway: ApiClient,
    customs: ApiClient,
    journal_dir: Option<&std::path::Path>,
) -> io::Result<()> {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let options = options(display, keymap, config, no_color);
    let mut board = Board::new(config.board_settings(), Utc::now());
    let mut app = App::new(options, display.zone, Utc::now());

    // Stopped (aborted) when the board ends, however it ends.
    let mut tasks = Tasks::default();
    let mut from_feeds = station::start_feeds(config, railway, customs.clone(), &mut tasks);
    let mut officer_rx = station::look_up_officer(customs.clone(), config, &mut tasks);
    // Triage opens once customs says who the token is.
    let mut triage: Option<Triage> = None;

    let mut terminal = setup_terminal(app.mouse)?;
    let mut events = EventStream::new();
    let mut ticker = tokio::time::interval(StdDuration::from_millis(500));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut terminate = signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut hangup = signal(tokio::signal::unix::SignalKind::hangup())?;
    let mut interrupt = signal(tokio::signal::unix::SignalKind::interrupt())?;
    app.page_rows = render::table_rows(terminal.size()?.height, &app);

    // Drawn at most this often while the board streams (keys draw at
    // once), so a slow link is not flooded with frames.
    let mut drawn_at = Instant::now() - FRAME;
    let outcome = loop {
        let mut key_pressed = false;
        tokio::select! {
            // The feeds wait while the board works through what it took.
            message = from_feeds.recv(), if !board.is_busy() => {
                let Some(message) = message else { break Ok(()) };
                // Take everything already waiting before drawing once, each
                // at the servers' time as the health before it told it.
                let mut next = Some(message);
                while let Some(message) = next {
                    app.now = clock(&app);
                    app.on_feed(message, &mut board);
                    next = from_feeds.try_recv().ok();
                }
            }
            event = events.next() => {
                let effect = match event {
                    Some(Ok(Event::Key(key))) if key.is_press() => {
                        key_pressed = true;
                        app.on_key(key, &board)
                    }
                    Some(Ok(Event::Mouse(mouse))) => app.on_mouse(mouse, &board),
                    Some(Ok(Event::Resize(_, height))) => {
                        app.page_rows = render::table_rows(height, &app);
                        app.dirty = true;
                        None
                    }
                    Some(Ok(_)) => None,
                    // The terminal is gone (an ssh session that dropped).
                    Some(Err(_)) | None => break Ok(()),
                };
                app.settle(&mut board);
                let desk = triage.as_ref().map(|t| &t.desk);
                match effect {
                    Some(Effect::Quit) => break Ok(()),
                    Some(Effect::Redraw) => {
                        terminal.clear()?;
                        app.dirty = true;
                    }
                    Some(Effect::Mouse(on)) => {
                        if on {
                            execute!(terminal.backend_mut(), EnableMouseCapture)?;
                        } else {
                            execute!(terminal.backend_mut(), DisableMouseCapture)?;
                        }
                    }
                    Some(Effect::Send(intent)) => match desk.map(|d| d.submit(intent.clone())) {
                        // On the disk: now it is shown queued.
                        Some(Ok(())) => app.queued(intent),
                        Some(Err(why)) => app.message = Some(why),
                        None => {}
                    },
                    Some(Effect::Discard(key)) => {
                        if let Some(report) = desk.and_then(|d| d.discard(&key)) {
                            app.on_triage(report);
                        }
                    }
                    Some(Effect::Retry(key)) => {
                        if let Some(report) = desk.and_then(|d| d.retry(&key)) {
                            app.on_triage(report);
                        }
                    }
                    None => {}
                }
            }
            Some(report) = next_report(&mut triage) => {
                station::take_answer(&mut board, &report, app.now);
                app.on_triage(report);
            }
            Some(officer) = officer_rx.recv() => {
                let may_act = officer.role.may_act() && !app.options.read_only;
                if may_act {
                    let opened = station::open_triage(
                        &customs,
                        &officer,
                        journal_dir,
                        SendPolicy::of(config),
                        &mut tasks,
                    );
                    app.message = opened.notice.clone();
                    app.outbox = opened.desk.outbox();
                    app.triage_origin = Some(opened.origin.clone());
                    triage = Some(opened);
                }
                app.officer = Some(officer);
                app.dirty = true;
            }
            _ = ticker.tick() => app.work(clock(&app), WORK_SLICE, &mut board),
            // Work left (a snapshot going in, parcels to judge): a slice
            // at a time, between keys and feeds.
            _ = std::future::ready(()), if app.has_work(&board) => {
                app.work(clock(&app), WORK_SLICE, &mut board);
            }
            // A frame held back is drawn once its time comes.
            _ = tokio::time::sleep_until((drawn_at + FRAME).into()), if app.dirty => {}
            _ = terminate.recv() => break Ok(()),
            _ = hangup.recv() => break Ok(()),
            _ = interrupt.recv() => break Ok(()),
        }
        if app.dirty && (key_pressed || drawn_at.elapsed() >= FRAME) {
            drawn_at = Instant::now();
            if let Err(e) = draw(&mut terminal, &mut app, &board) {
                // A terminal that went away (the session dropped without a
                // hang-up) ends the board like a hang-up does.
                break if terminal_gone(&e) { Ok(()) } else { Err(e) };
            }
        }
    };
    drop(tasks);
    restore_terminal();
    let _ = io::stdout().flush();
    // Not dropped: ratatui's drop shows the cursor and, when that fails on a
    // terminal that is gone, prints to that terminal and panics.
    std::mem::forget(terminal);
    outcome
}

/// The next report of the triage sender, once triage is open.
async fn next_report(triage: &mut Option<Triage>) -> Option<crate::triage::Report> {
    match triage {
        Some(triage) => triage.reports.recv().await,
        None => std::future::pending().await,
    }
}

/// Whether a write error means the terminal is no longer there.
fn terminal_gone(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::BrokenPipe | io::ErrorKind::NotConnected | io::ErrorKind::UnexpectedEof
    ) || error.raw_os_error() == Some(EIO)
}

/// The longest the board works before the loop looks at keys and feeds
/// again (half a frame at 60 Hz).
const WORK_SLICE: StdDuration = StdDuration::from_millis(8);

/// The shortest time between two frames drawn while the board streams.
const FRAME: StdDuration = StdDuration::from_millis(100);

/// What a write to a terminal whose session ended gets (EIO, the same
/// number on Linux and the BSDs).
const EIO: i32 = 5;

fn signal(kind: tokio::signal::unix::SignalKind) -> io::Result<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(kind)
}
