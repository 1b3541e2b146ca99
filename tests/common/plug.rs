//! A plug between a client and a server: a TCP relay on a loopback port of
//! its own that can be pulled (the port refuses connections and every
//! connection through it is reset, as when the server's machine dies) and
//! put back on the same port (the server is back).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// The relay; pulled when dropped.
pub struct Plug {
    /// Where clients connect.
    pub addr: SocketAddr,
    upstream: SocketAddr,
    /// The accepting task and every relayed connection, while plugged in.
    relay: Mutex<Option<JoinSet<()>>>,
}

impl Plug {
    /// A plug to `upstream` on a free loopback port, plugged in or not.
    pub async fn new(upstream: SocketAddr, plugged_in: bool) -> Arc<Plug> {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let plug = Arc::new(Plug {
            addr: listener.local_addr().expect("local address"),
            upstream,
            relay: Mutex::new(None),
        });
        if plugged_in {
            plug.serve(listener);
        }
        plug
    }

    /// `url` (of the server behind) with the plug's address instead.
    pub fn url(&self, url: &str) -> String {
        url.replace(&self.upstream.to_string(), &self.addr.to_string())
    }

    /// Whether connections go through now.
    pub fn is_plugged_in(&self) -> bool {
        self.relay.lock().expect("relay lock").is_some()
    }

    /// Stops listening and resets every connection: the port refuses.
    pub fn pull(&self) {
        if let Some(mut relay) = self.relay.lock().expect("relay lock").take() {
            relay.abort_all();
        }
    }

    /// Listens again on the same port.
    pub async fn plug_in(self: &Arc<Self>) {
        if self.is_plugged_in() {
            return;
        }
        let listener = TcpListener::bind(self.addr)
            .await
            .expect("the plug's port again");
        self.serve(listener);
    }

    fn serve(self: &Arc<Self>, listener: TcpListener) {
        let mut guard = self.relay.lock().expect("relay lock");
        let relay = guard.insert(JoinSet::new());
        let plug = Arc::clone(self);
        relay.spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    continue;
                };
                let upstream = plug.upstream;
                let mut guard = plug.relay.lock().expect("relay lock");
                let Some(relay) = guard.as_mut() else {
                    return;
                };
                relay.spawn(async move {
                    // Pulled, the connection is reset, not closed in order.
                    let _ = client.set_zero_linger();
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
    }
}

impl Drop for Plug {
    fn drop(&mut self) {
        if let Some(mut relay) = self.relay.get_mut().expect("relay lock").take() {
            relay.abort_all();
        }
    }
}
