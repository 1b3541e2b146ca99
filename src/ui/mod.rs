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
use std::time::Duration as StdDuration;

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
use tokio::sync::mpsc;

use crate::board::Board;
use crate::config::Config;
use crate::domain::Lang;
use crate::feeds::client::ApiClient;
use crate::feeds::{self, FeedMessage};
use crate::triage::Origin;
use crate::triage::desk::{Desk, Opened};
use crate::triage::sender::{self, SendPolicy};
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
fn draw(terminal: &mut Terminal<CrosstermBackend<Stdout>>, app: &mut App) -> io::Result<()> {
    app.prepare();
    queue!(terminal.backend_mut(), BeginSynchronizedUpdate)?;
    terminal.draw(|frame| render::draw(frame, app))?;
    execute!(terminal.backend_mut(), EndSynchronizedUpdate)?;
    app.dirty = false;
    Ok(())
}

/// The board's clock: local time corrected by the servers' `Date`.
fn clock(app: &App) -> chrono::DateTime<Utc> {
    let skew = app.health[1]
        .skew
        .or(app.health[0].skew)
        .unwrap_or_default();
    Utc::now() - skew
}

/// Runs the board against the two APIs until the officer quits, the
/// session hangs up, or the process is told to stop. Triage actions are
/// written to a journal in `journal_dir` (one per customs API and officer;
/// none when read-only).
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
    let board = Board::new(config.board_settings(), Utc::now());
    let mut app = App::new(board, options, display.zone, Utc::now());

    let (to_board, mut from_feeds) = mpsc::channel::<FeedMessage>(256);
    let mut tasks = Vec::new();
    for client in [railway, customs.clone()] {
        let poller = feeds::poller(client, config);
        tasks.push(tokio::spawn(poller.run(to_board.clone())));
    }
    let (officer_tx, mut officer_rx) = mpsc::channel(1);
    tasks.push(tokio::spawn(feeds::officer::look_up(
        customs.clone(),
        feeds::backoff(config),
        officer_tx,
    )));
    // Triage opens once customs says who the token is.
    let (report_tx, mut report_rx) = mpsc::channel(64);
    let mut desk: Option<Desk> = None;

    let mut terminal = setup_terminal(app.mouse)?;
    let mut events = EventStream::new();
    let mut ticker = tokio::time::interval(StdDuration::from_millis(500));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut terminate = signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut hangup = signal(tokio::signal::unix::SignalKind::hangup())?;
    let mut interrupt = signal(tokio::signal::unix::SignalKind::interrupt())?;
    app.page_rows = render::table_rows(terminal.size()?.height, &app);

    let outcome = loop {
        tokio::select! {
            message = from_feeds.recv() => {
                let Some(message) = message else { break Ok(()) };
                // Take everything already waiting before drawing once, each
                // at the servers' time as the health before it told it.
                let mut next = Some(message);
                while let Some(message) = next {
                    app.now = clock(&app);
                    app.on_feed(message);
                    next = from_feeds.try_recv().ok();
                }
            }
            event = events.next() => {
                let effect = match event {
                    Some(Ok(Event::Key(key))) if key.is_press() => app.on_key(key),
                    Some(Ok(Event::Mouse(mouse))) => app.on_mouse(mouse),
                    Some(Ok(Event::Resize(_, height))) => {
                        app.page_rows = render::table_rows(height, &app);
                        app.dirty = true;
                        None
                    }
                    Some(Ok(_)) => None,
                    // The terminal is gone (an ssh session that dropped).
                    Some(Err(_)) | None => break Ok(()),
                };
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
                    Some(Effect::Send(intent)) => match desk.as_ref().map(|d| d.submit(intent.clone())) {
                        // On the disk: now it is shown queued.
                        Some(Ok(())) => app.queued(intent),
                        Some(Err(why)) => app.message = Some(why),
                        None => {}
                    },
                    Some(Effect::Discard(key)) => {
                        if let Some(report) = desk.as_ref().and_then(|d| d.discard(&key)) {
                            app.on_triage(report);
                        }
                    }
                    Some(Effect::Retry(key)) => {
                        if let Some(report) = desk.as_ref().and_then(|d| d.retry(&key)) {
                            app.on_triage(report);
                        }
                    }
                    None => {}
                }
            }
            Some(report) = report_rx.recv() => app.on_triage(report),
            Some(officer) = officer_rx.recv() => {
                let may_act = officer.role.may_act() && !app.options.read_only;
                if may_act {
                    let origin = Origin::new(customs.base_url(), &officer.officer_id);
                    let opened = Desk::open(journal_dir, origin.clone());
                    app.message = opened_message(&opened);
                    app.outbox = opened.desk.outbox();
                    app.triage_origin = Some(origin);
                    tasks.push(tokio::spawn(sender::run(
                        customs.clone(),
                        opened.desk.clone(),
                        report_tx.clone(),
                        SendPolicy::of(config),
                    )));
                    desk = Some(opened.desk);
                }
                app.officer = Some(officer);
                app.dirty = true;
            }
            _ = ticker.tick() => app.tick(clock(&app)),
            _ = terminate.recv() => break Ok(()),
            _ = hangup.recv() => break Ok(()),
            _ = interrupt.recv() => break Ok(()),
        }
        if app.dirty
            && let Err(e) = draw(&mut terminal, &mut app)
        {
            // A terminal that went away (the session dropped without a
            // hang-up) ends the board like a hang-up does.
            break if terminal_gone(&e) { Ok(()) } else { Err(e) };
        }
    };
    for task in tasks {
        task.abort();
    }
    restore_terminal();
    let _ = io::stdout().flush();
    // Not dropped: ratatui's drop shows the cursor and, when that fails on a
    // terminal that is gone, prints to that terminal and panics.
    std::mem::forget(terminal);
    outcome
}

/// What the officer is told about the journal when triage opens.
fn opened_message(opened: &Opened) -> Option<String> {
    let mut notes = Vec::new();
    match &opened.journal {
        Ok(path) if opened.unreadable > 0 => notes.push(format!(
            "triage journal {}: {} unreadable line(s) skipped",
            path.display(),
            opened.unreadable
        )),
        Ok(_) => {}
        Err(e) => notes.push(format!(
            "triage journal {e}; actions will not survive a restart"
        )),
    }
    if opened.foreign > 0 {
        notes.push(format!(
            "{} unanswered action(s) in the journal were made for another API or officer: not sent",
            opened.foreign
        ));
    }
    (!notes.is_empty()).then(|| notes.join(" · "))
}

/// Whether a write error means the terminal is no longer there.
fn terminal_gone(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::BrokenPipe | io::ErrorKind::NotConnected | io::ErrorKind::UnexpectedEof
    ) || error.raw_os_error() == Some(EIO)
}

/// What a write to a terminal whose session ended gets (EIO, the same
/// number on Linux and the BSDs).
const EIO: i32 = 5;

fn signal(kind: tokio::signal::unix::SignalKind) -> io::Result<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(kind)
}
