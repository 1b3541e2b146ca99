//! One SSH connection: public-key authentication against the keys file
//! (nothing else is offered), the failed login it counts and logs when it
//! ends without one, and the one session channel it may open, with the
//! pty, environment and shell requests of that session answered.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use russh::keys::HashAlg;
use russh::server::{Auth, ChannelOpenHandle, Msg, PublicKeyOffer, Session, VerifiedPublicKey};
use russh::{Channel, ChannelId};

use super::Context;
use super::keys::Entry;
use super::limiter::Limiter;
use super::session::{self, ACCEPTED_ENV, Visitor};

/// Session numbers, for the log.
static SESSIONS: AtomicU64 = AtomicU64::new(1);

/// Counts a failed login when dropped, unless a key was accepted: a
/// connection that tried keys and got in with none is one failure,
/// however it ends.
#[derive(Debug)]
struct Attempt {
    limiter: Arc<Mutex<Limiter>>,
    peer: SocketAddr,
    tried: bool,
    accepted: bool,
}

impl Drop for Attempt {
    fn drop(&mut self) {
        if self.tried && !self.accepted {
            tracing::warn!(peer = %self.peer, "failed login: no key the keys file knows");
            self.limiter
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .failed(self.peer.ip(), Instant::now());
        }
    }
}

/// A user name as far as it is read (and logged, quoted).
fn shortened(user: &str) -> String {
    user.chars().take(32).collect()
}

/// A connection's handler.
pub struct Connection {
    context: Arc<Context>,
    attempt: Attempt,
    /// Who logged in, and as which user.
    visitor: Option<(Arc<Entry>, String)>,
    /// The session channel, once open (one per connection).
    session: Option<ChannelId>,
}

impl Connection {
    /// The handler of a connection from `peer`.
    pub fn new(context: Arc<Context>, limiter: Arc<Mutex<Limiter>>, peer: SocketAddr) -> Self {
        Connection {
            context,
            attempt: Attempt {
                limiter,
                peer,
                tried: false,
                accepted: false,
            },
            visitor: None,
            session: None,
        }
    }

    fn known(&self, key: &russh::keys::PublicKey) -> Option<Arc<Entry>> {
        self.context.keys.find(key).cloned()
    }
}

impl russh::server::Handler for Connection {
    type Error = russh::Error;

    async fn auth_publickey_offered(
        &mut self,
        user: &str,
        offer: PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        self.attempt.tried = true;
        if self.known(offer.public_key).is_some() {
            return Ok(Auth::Accept);
        }
        tracing::warn!(
            peer = %self.attempt.peer,
            user = ?shortened(user),
            "key refused: {}",
            offer.public_key.fingerprint(HashAlg::Sha256)
        );
        Ok(Auth::reject())
    }

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        self.attempt.tried = true;
        let Some(entry) = self.known(key.public_key) else {
            return Ok(Auth::reject());
        };
        self.attempt.accepted = true;
        let user = shortened(user);
        tracing::info!(
            peer = %self.attempt.peer,
            officer = entry.officer_id,
            user = ?user,
            "logged in"
        );
        self.visitor = Some((entry, user));
        Ok(Auth::Accept)
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let Some((entry, user)) = self.visitor.clone().filter(|_| self.session.is_none()) else {
            // Dropping the reply refuses the channel.
            return Ok(());
        };
        self.session = Some(channel.id());
        reply.accept().await;
        let visitor = Visitor {
            id: SESSIONS.fetch_add(1, Ordering::Relaxed),
            entry,
            user,
            peer: self.attempt.peer,
        };
        tokio::spawn(session::run(
            channel,
            session.handle(),
            visitor,
            self.context.clone(),
        ));
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn pty_request(
        &mut self,
        channel: ChannelId,
        _term: &str,
        _columns: u32,
        _rows: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)
    }

    async fn env_request(
        &mut self,
        channel: ChannelId,
        variable_name: &str,
        _variable_value: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        if ACCEPTED_ENV.contains(&variable_name) {
            session.channel_success(channel)
        } else {
            session.channel_failure(channel)
        }
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        _data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        _name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)
    }
}
