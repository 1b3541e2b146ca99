//! One SSH session: a screen of the shared board of its own — its size,
//! selection, filter, language, zone and theme, from what its client says
//! of its terminal — drawn only when its view changes, under the
//! officer's own identity and triage desk. It reads the board, never
//! changes it; its frames go through a queue it never waits on, and a
//! client that stops reading for too long is let go. It ends when the
//! officer quits, the client goes, no key is pressed for the idle
//! timeout, or the server stops, and puts the client's terminal back.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use crossterm::event::{DisableMouseCapture, EnableMouseCapture, Event};
use ratatui::layout::Size;
use russh::server::{Handle, Msg};
use russh::{Channel, ChannelMsg, ChannelReadHalf, Disconnect};
use tokio::sync::{broadcast, watch};

use super::Context;
use super::input::Decoder;
use super::keys::Entry;
use super::outgoing::{self, Offered, Outgoing};
use super::screen::{self, Screen};
use crate::domain::{Lang, Officer, Role};
use crate::station::officers::{Line, LineState};
use crate::station::servers_now;
use crate::triage::Report;
use crate::ui::app::{App, Effect};
use crate::ui::{self, Display, render};

/// The client's environment variables a session takes, and the longest
/// value of each it reads.
pub const ACCEPTED_ENV: &[&str] = &["LANG", "LC_ALL", "LC_MESSAGES", "NO_COLOR", "TZ"];
const MAX_ENV_VALUE: usize = 256;

/// How long a client may take from opening the session to asking for a
/// shell.
const SETUP_WITHIN: Duration = Duration::from_secs(10);

/// How often the clock moves on (the header shows seconds).
const TICK: Duration = Duration::from_millis(500);

/// A client whose frames have waited this long is let go.
const TOO_SLOW: Duration = Duration::from_secs(60);

/// How long the last words and the channel's closing may take.
const CLOSE_WITHIN: Duration = Duration::from_secs(5);

/// Terminals that show no colour and no box drawing, by `TERM` prefix:
/// the board is drawn for them in monochrome and ASCII.
const PLAIN_TERMINALS: &[&str] = &["dumb", "vt52", "vt100", "vt102", "vt220"];

/// Who opened the session, and from where.
#[derive(Debug, Clone)]
pub struct Visitor {
    /// A number for the log.
    pub id: u64,
    /// Their entry in the keys file.
    pub entry: Arc<Entry>,
    /// The user name they logged in as (`wall` asks for the wall).
    pub user: String,
    /// Their address.
    pub peer: SocketAddr,
}

/// What the client said of its terminal before asking for a shell.
#[derive(Debug, Default)]
struct ClientTerminal {
    term: String,
    size: Option<Size>,
    env: Vec<(String, String)>,
}

impl ClientTerminal {
    fn var(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// Whether its `TERM` shows no colour and no box drawing.
    fn is_plain(&self) -> bool {
        PLAIN_TERMINALS
            .iter()
            .any(|prefix| self.term.starts_with(prefix))
    }
}

/// Why a session ended: what its client is told (none when it is not
/// listening), and what the log says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Quit,
    Gone,
    Idle,
    TooSlow,
    Stopping,
}

impl Ending {
    fn words(self, idle: Duration) -> (Option<String>, String) {
        match self {
            Ending::Quit => (None, "quit".to_owned()),
            Ending::Gone => (None, "the client went away".to_owned()),
            Ending::Idle => {
                let said = format!("no key pressed for {}: session ended", spoken(idle));
                (Some(said.clone()), said)
            }
            Ending::TooSlow => (
                None,
                format!(
                    "the client read nothing for {} s: let go",
                    TOO_SLOW.as_secs()
                ),
            ),
            Ending::Stopping => (
                Some("the server is stopping".to_owned()),
                "the server is stopping".to_owned(),
            ),
        }
    }
}

/// A duration as said to a person: minutes, or seconds under one.
fn spoken(duration: Duration) -> String {
    let seconds = duration.as_secs_f64().round() as u64;
    if seconds < 60 {
        format!("{seconds} s")
    } else {
        format!("{} min", seconds / 60)
    }
}

/// Runs a session on `channel` until it ends.
pub async fn run(channel: Channel<Msg>, handle: Handle, visitor: Visitor, context: Arc<Context>) {
    let (mut input, output) = channel.split();
    let terminal = match tokio::time::timeout(SETUP_WITHIN, wait_for_shell(&mut input)).await {
        Ok(Ok(terminal)) => terminal,
        refused => {
            let why = match refused {
                Ok(Err(why)) => why,
                _ => "no shell asked for in time",
            };
            tracing::info!(session = visitor.id, "session refused: {why}");
            let _ = tokio::time::timeout(CLOSE_WITHIN, async {
                let _ = output
                    .data_bytes(Bytes::from(format!("greenchannel: {why}\r\n")))
                    .await;
                let _ = output.exit_status(1).await;
                let _ = output.eof().await;
                let _ = output.close().await;
            })
            .await;
            return;
        }
    };
    let (outgoing, writer) = outgoing::start(output);
    let mut writer = tokio::spawn(writer);
    let mut session = match Session::new(&terminal, &visitor, &context, outgoing) {
        Ok(session) => session,
        Err(e) => {
            tracing::warn!(session = visitor.id, "session not started: {e}");
            writer.abort();
            return;
        }
    };
    tracing::info!(
        session = visitor.id,
        officer = visitor.entry.officer_id,
        peer = %visitor.peer,
        "session started: {}x{} {:?}, {}{}",
        session.screen.size().width,
        session.screen.size().height,
        terminal.term,
        if session.app.options.wall { "wall" } else { "board" },
        if session.app.options.lang == Lang::Zh { ", zh" } else { "" },
    );
    // An officer with a customs token has a line: who customs says they
    // are, and their desk.
    let line = visitor
        .entry
        .token_file
        .as_ref()
        .and_then(|_| context.lines.get(&visitor.entry.officer_id));
    let ending = session.run(&mut input, &context, line).await;
    let (said, logged) = ending.words(context.idle_timeout);
    tracing::info!(
        session = visitor.id,
        officer = visitor.entry.officer_id,
        "session ended: {logged}"
    );
    let closed = if ending == Ending::TooSlow {
        false
    } else {
        session.outgoing.finish(screen::closing(said.as_deref()));
        tokio::time::timeout(CLOSE_WITHIN, &mut writer)
            .await
            .is_ok()
    };
    if !closed {
        // A writer waiting on a window that will never open is let go
        // with the connection.
        writer.abort();
        let _ = tokio::time::timeout(
            CLOSE_WITHIN,
            handle.disconnect(Disconnect::ByApplication, logged, String::new()),
        )
        .await;
    }
}

/// Takes the client's pty, environment and shell request; anything else
/// asked of the session is refused with why.
async fn wait_for_shell(input: &mut ChannelReadHalf) -> Result<ClientTerminal, &'static str> {
    let mut terminal = ClientTerminal::default();
    loop {
        match input.wait().await {
            Some(ChannelMsg::RequestPty {
                term,
                col_width,
                row_height,
                ..
            }) => {
                terminal.term = term.chars().take(MAX_ENV_VALUE).collect();
                terminal.size = Some(screen::bounded(col_width, row_height));
            }
            Some(ChannelMsg::SetEnv {
                variable_name,
                variable_value,
                ..
            }) => {
                if ACCEPTED_ENV.contains(&variable_name.as_str())
                    && variable_value.len() <= MAX_ENV_VALUE
                    && terminal.env.len() < ACCEPTED_ENV.len()
                {
                    terminal.env.push((variable_name, variable_value));
                }
            }
            Some(ChannelMsg::RequestShell { .. }) if terminal.size.is_some() => {
                return Ok(terminal);
            }
            Some(ChannelMsg::RequestShell { .. }) => {
                return Err("the board needs a terminal: ssh -t");
            }
            Some(ChannelMsg::Exec { .. } | ChannelMsg::RequestSubsystem { .. }) => {
                return Err("this server shows the board and runs no commands");
            }
            Some(ChannelMsg::Eof | ChannelMsg::Close) | None => return Err("the client went away"),
            Some(_) => {}
        }
    }
}

/// A running session.
struct Session {
    app: App,
    screen: Screen,
    outgoing: Outgoing,
    decoder: Decoder,
    /// The officer's desk, once their line has one.
    desk: Option<crate::triage::desk::Desk>,
    /// Who the keys file says this is, shown until customs says.
    identity: Officer,
    /// Since when frames have had to wait for the client.
    behind_since: Option<Instant>,
    last_key: Instant,
}

impl Session {
    fn new(
        terminal: &ClientTerminal,
        visitor: &Visitor,
        context: &Context,
        outgoing: Outgoing,
    ) -> std::io::Result<Session> {
        let config = &context.config;
        let defaults = &context.display;
        let plain = terminal.is_plain();
        let no_color = terminal.var("NO_COLOR").is_some() || plain;
        let lang_variable = ["LC_ALL", "LC_MESSAGES", "LANG"]
            .into_iter()
            .find_map(|name| terminal.var(name));
        // A viewer's key, or the user `wall`, gets the wall.
        let wall = defaults.wall || visitor.entry.role == Role::Viewer || visitor.user == "wall";
        let display = Display {
            wall,
            read_only: defaults.read_only || wall,
            theme: defaults.theme,
            ascii: defaults.ascii || plain,
            zone: terminal
                .var("TZ")
                .and_then(ui::settings::zone)
                .unwrap_or(defaults.zone),
            lang: config.lang(lang_variable),
            wall_cycle_seconds: config.ui.wall_cycle_seconds,
        };
        let options = ui::options(&display, context.keymap.clone(), config, no_color);
        let now = servers_now(&context.board.health().borrow());
        let mut app = App::new(options, display.zone, now);
        app.health = context.board.health().borrow().clone();
        let identity = Officer {
            officer_id: visitor.entry.officer_id.as_str().into(),
            name: visitor.entry.name.as_str().into(),
            role: Role::Viewer,
        };
        if visitor.entry.token_file.is_none() {
            app.officer = Some(identity.clone());
        }
        let size = terminal.size.unwrap_or(Size::new(80, 24));
        app.page_rows = render::table_rows(size.height, &app);
        let screen = Screen::new(size)?;
        if outgoing.offer(screen::opening(app.mouse)?) != Offered::Queued {
            return Err(std::io::ErrorKind::BrokenPipe.into());
        }
        Ok(Session {
            app,
            screen,
            outgoing,
            decoder: Decoder::default(),
            desk: None,
            identity,
            behind_since: None,
            last_key: Instant::now(),
        })
    }

    async fn run(
        &mut self,
        input: &mut ChannelReadHalf,
        context: &Context,
        line: Option<&Line>,
    ) -> Ending {
        let board = &context.board;
        let mut changes = board.changes();
        let mut health = board.health();
        let mut line_state = line.map(|l| l.state());
        let mut answers = line.map(|l| l.answers());
        if let Some(state) = &mut line_state {
            let now = state.borrow_and_update().clone();
            self.on_line(now);
        }
        let mut stopping = context.stopping.clone();
        let mut ticker = tokio::time::interval(TICK);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                message = input.wait() => match message {
                    Some(ChannelMsg::Data { data }) => {
                        self.last_key = Instant::now();
                        for event in self.decoder.feed(&data) {
                            if let Some(ending) = self.on_event(event, context).await {
                                return ending;
                            }
                        }
                    }
                    Some(ChannelMsg::WindowChange { col_width, row_height, .. }) => {
                        let size = screen::bounded(col_width, row_height);
                        if self.screen.resize(size).is_err() {
                            return Ending::Gone;
                        }
                        self.app.page_rows = render::table_rows(size.height, &self.app);
                        self.app.dirty = true;
                    }
                    Some(ChannelMsg::Eof | ChannelMsg::Close) | None => return Ending::Gone,
                    Some(_) => {}
                },
                Ok(()) = changes.changed() => self.app.board_changed(),
                Ok(()) = health.changed() => {
                    self.app.health = health.borrow_and_update().clone();
                    self.app.dirty = true;
                }
                Some(state) = next_state(&mut line_state) => self.on_line(state),
                Some(report) = next_answer(&mut answers) => self.app.on_triage(report),
                _ = ticker.tick() => {
                    self.app.move_clock(servers_now(&self.app.health));
                    if !self.app.options.wall && self.last_key.elapsed() >= context.idle_timeout {
                        return Ending::Idle;
                    }
                    if self.behind_since.is_some_and(|at| at.elapsed() >= TOO_SLOW) {
                        return Ending::TooSlow;
                    }
                }
                _ = stopping.changed() => return Ending::Stopping,
            }
            if self.app.dirty
                && let Some(ending) = self.draw(context).await
            {
                return ending;
            }
        }
    }

    /// A key or the mouse.
    async fn on_event(&mut self, event: Event, context: &Context) -> Option<Ending> {
        let board = context.board.read().await;
        let effect = match event {
            Event::Key(key) if key.is_press() => self.app.on_key(key, &board),
            Event::Mouse(mouse) => self.app.on_mouse(mouse, &board),
            _ => None,
        };
        drop(board);
        let desk = self.desk.as_ref();
        let done = match effect {
            Some(Effect::Quit) => return Some(Ending::Quit),
            Some(Effect::Redraw) => self.screen.redraw_all(),
            Some(Effect::Mouse(true)) => self.screen.command(EnableMouseCapture),
            Some(Effect::Mouse(false)) => self.screen.command(DisableMouseCapture),
            Some(Effect::Send(intent)) => {
                match desk.map(|d| d.submit(intent.clone())) {
                    // On the disk: now it is shown queued.
                    Some(Ok(())) => self.app.queued(intent),
                    Some(Err(why)) => self.app.message = Some(why),
                    None => {}
                }
                Ok(())
            }
            Some(Effect::Discard(key)) => {
                if let Some(report) = desk.and_then(|d| d.discard(&key)) {
                    self.app.on_triage(report);
                }
                Ok(())
            }
            Some(Effect::Retry(key)) => {
                if let Some(report) = desk.and_then(|d| d.retry(&key)) {
                    self.app.on_triage(report);
                }
                Ok(())
            }
            None => Ok(()),
        };
        self.app.dirty = true;
        done.err().map(|_| Ending::Gone)
    }

    /// The officer's line moved on: who customs says they are, their desk.
    fn on_line(&mut self, state: LineState) {
        match state {
            LineState::Asking => {}
            LineState::Known { officer, desk } => {
                if let Some(open) = desk.filter(|_| !self.app.options.read_only) {
                    self.app.message = open.notice.clone();
                    self.app.outbox = open.desk.outbox();
                    self.app.triage_origin = Some(open.origin.clone());
                    self.desk = Some(open.desk);
                }
                self.app.officer = Some(officer);
            }
            LineState::Refused(why) => {
                self.app.officer = Some(self.identity.clone());
                self.app.message = Some(why);
            }
        }
        self.app.dirty = true;
    }

    /// Draws what changed, unless the client has not yet read what it
    /// was sent: then the changes wait (the lists and screen stay as
    /// drawn) and are drawn together once it has.
    async fn draw(&mut self, context: &Context) -> Option<Ending> {
        if !self.outgoing.has_room() {
            self.behind_since.get_or_insert_with(Instant::now);
            return None;
        }
        self.behind_since = None;
        let board = context.board.read().await;
        self.app.prepare(&board);
        let app = &self.app;
        let frame = self.screen.frame(|f| render::draw(f, app, &board));
        drop(board);
        self.app.dirty = false;
        match frame {
            Ok(Some(frame)) => match self.outgoing.offer(frame) {
                Offered::Queued => None,
                Offered::Dropped => self.screen.redraw_all().err().map(|_| Ending::Gone),
                Offered::Gone => Some(Ending::Gone),
            },
            Ok(None) => None,
            Err(_) => Some(Ending::Gone),
        }
    }
}

/// The next state of the officer's line, if it has one.
async fn next_state(line: &mut Option<watch::Receiver<LineState>>) -> Option<LineState> {
    match line {
        Some(state) => match state.changed().await {
            Ok(()) => Some(state.borrow_and_update().clone()),
            Err(_) => {
                *line = None;
                None
            }
        },
        None => std::future::pending().await,
    }
}

/// The next answer to the officer's actions (those missed while behind
/// are skipped: the journal has them).
async fn next_answer(answers: &mut Option<broadcast::Receiver<Report>>) -> Option<Report> {
    match answers {
        Some(receiver) => loop {
            match receiver.recv().await {
                Ok(report) => return Some(report),
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => {
                    *answers = None;
                    return None;
                }
            }
        },
        None => std::future::pending().await,
    }
}
