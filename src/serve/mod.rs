//! `greenchannel serve`: one board for the whole port, over SSH. One pair
//! of pollers keeps one board ([`crate::station::shared`]); each officer in
//! the keys file has one line to customs under their own token, with one
//! triage desk and sender ([`crate::station::officers`]); each SSH session
//! is a screen of that board of its own ([`session`]). Only public keys
//! the keys file knows get in ([`keys`], [`connection`]); an address that
//! fails too often is refused for a while ([`limiter`]); the host key is
//! made once and kept ([`host_key`]).

mod connection;
pub mod host_key;
pub mod input;
pub mod keys;
pub mod limiter;
mod outgoing;
mod screen;
mod session;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use russh::MethodKind;
use russh::keys::PrivateKey;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::board::Board;
use crate::config::Config;
use crate::feeds::client::{ApiClient, Token};
use crate::feeds::{self, Feed};
use crate::station::officers::{Lines, Signing};
use crate::station::shared::{Keeper, SharedBoard};
use crate::station::{self, Tasks};
use crate::triage::sender::SendPolicy;
use crate::ui::Display;
use crate::ui::keymap::Keymap;
use connection::Connection;
use keys::Keys;
use limiter::Limiter;

/// How long a client may take to say it speaks SSH.
const HANDSHAKE_WITHIN: Duration = Duration::from_secs(30);

/// Between keepalives to a client that says nothing; after
/// [`KEEPALIVES`] unanswered, it is gone.
const KEEPALIVE: Duration = Duration::from_secs(15);
const KEEPALIVES: usize = 4;

/// A connection on which nothing moves for this long (no answer to
/// keepalives, a write that never goes through) is closed.
const INACTIVE: Duration = Duration::from_secs(120);

/// How long the sessions get to say goodbye when the server stops.
const STOP_WITHIN: Duration = Duration::from_secs(3);

/// The largest customs token file read.
const MAX_TOKEN_BYTES: u64 = 64 << 10;

/// What every session shares.
pub struct Context {
    board: SharedBoard,
    lines: Lines,
    keys: Keys,
    config: Config,
    keymap: Keymap,
    /// The server's defaults for a screen (theme, zone, glyphs).
    display: Display,
    idle_timeout: Duration,
    /// Becomes true when the server stops.
    stopping: watch::Receiver<bool>,
}

/// What the server is started with.
pub struct Serving {
    /// The settings.
    pub config: Config,
    /// The keys of the board.
    pub keymap: Keymap,
    /// The defaults of every screen (theme, zone, glyphs).
    pub display: Display,
    /// The officers' keys.
    pub keys: Keys,
    /// The server's host key.
    pub host_key: PrivateKey,
    /// The railway feed, under the server's own token.
    pub railway: ApiClient,
    /// The customs feed, under the server's own token.
    pub customs: ApiClient,
    /// Where the officers' triage journals go.
    pub journal_dir: Option<PathBuf>,
}

/// Serves the board to SSH clients on `listener` until `stop` is done.
/// Refuses to start (with why) when an officer's token cannot be read.
pub async fn run(
    serving: Serving,
    listener: TcpListener,
    stop: impl Future<Output = ()>,
) -> Result<(), String> {
    let Serving {
        config,
        keymap,
        display,
        keys,
        host_key,
        railway,
        customs,
        journal_dir,
    } = serving;
    let signings = signings(&keys, &config)?;
    let mut tasks = Tasks::default();
    let from_feeds = station::start_feeds(&config, railway, customs, &mut tasks);
    let keeper = Keeper::new(Board::new(config.board_settings(), Utc::now()));
    tasks.spawn(keeper.clone().keep(from_feeds));
    let lines = Lines::start(
        signings,
        &keeper,
        journal_dir,
        SendPolicy::of(&config),
        feeds::backoff(&config),
    );
    let (stopping, stop_seen) = watch::channel(false);
    let max_sessions = config.serve.max_sessions as usize;
    let limiter = Arc::new(Mutex::new(Limiter::new(
        config.serve.failed_logins_per_minute,
    )));
    let ssh = Arc::new(russh::server::Config {
        methods: (&[MethodKind::PublicKey][..]).into(),
        keys: vec![host_key],
        auth_rejection_time: Duration::from_secs(1),
        auth_rejection_time_initial: Some(Duration::ZERO),
        max_auth_attempts: 6,
        inactivity_timeout: Some(INACTIVE),
        keepalive_interval: Some(KEEPALIVE),
        keepalive_max: KEEPALIVES,
        nodelay: true,
        ..Default::default()
    });
    let context = Arc::new(Context {
        board: keeper.reader(),
        lines,
        keys,
        idle_timeout: Duration::try_from_secs_f64(config.serve.idle_timeout_minutes * 60.0)
            .unwrap_or(Duration::MAX),
        config,
        keymap,
        display,
        stopping: stop_seen,
    });
    let room = Arc::new(Semaphore::new(max_sessions));
    let mut connections = JoinSet::new();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (socket, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors, say: not a reason to spin.
                        tracing::warn!("accept: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let allowed = limiter
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .allows(peer.ip(), Instant::now());
                if !allowed {
                    tracing::warn!(peer = %peer, "refused: too many failed logins in the last minute");
                    continue;
                }
                let Ok(permit) = room.clone().try_acquire_owned() else {
                    tracing::warn!(peer = %peer, "refused: {max_sessions} connections already");
                    continue;
                };
                let handler = Connection::new(context.clone(), limiter.clone(), peer);
                let ssh = ssh.clone();
                connections.spawn(async move {
                    let _permit = permit;
                    match tokio::time::timeout(
                        HANDSHAKE_WITHIN,
                        russh::server::run_stream(ssh, socket, handler),
                    )
                    .await
                    {
                        Ok(Ok(session)) => {
                            if let Err(e) = session.await {
                                tracing::debug!(peer = %peer, "connection ended: {e}");
                            }
                        }
                        Ok(Err(e)) => tracing::debug!(peer = %peer, "no SSH: {e}"),
                        Err(_) => tracing::debug!(peer = %peer, "no SSH within {HANDSHAKE_WITHIN:?}"),
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            () = &mut stop => break,
        }
    }
    stopping.send_replace(true);
    let _ = tokio::time::timeout(STOP_WITHIN, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    connections.abort_all();
    drop(tasks);
    Ok(())
}

/// Each officer's line to customs, under the token of their token file.
fn signings(keys: &Keys, config: &Config) -> Result<Vec<Signing>, String> {
    keys.officers()
        .into_iter()
        .filter_map(|entry| {
            let path = entry.token_file.as_ref()?;
            let signing = read_token(path)
                .and_then(|token| {
                    feeds::client(Feed::Customs, config, Some(token)).map_err(|e| e.to_string())
                })
                .map(|customs| Signing {
                    officer_id: entry.officer_id.clone(),
                    customs,
                    may_act: entry.role.may_act() && !config.ui.read_only,
                })
                .map_err(|e| {
                    format!(
                        "officer {}: token_file {}: {e}",
                        entry.officer_id,
                        path.display()
                    )
                });
            Some(signing)
        })
        .collect()
}

/// A customs token from its file (at most [`MAX_TOKEN_BYTES`]).
fn read_token(path: &Path) -> Result<Token, String> {
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(MAX_TOKEN_BYTES).read_to_string(&mut text))
        .map_err(|e| e.to_string())?;
    Token::new(&text).ok_or_else(|| "empty".to_owned())
}
