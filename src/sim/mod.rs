//! The upstream simulator: the railway and customs APIs of the contract,
//! served from a seeded scenario of Alashankou → Tashkent trains, with every
//! failure the contract allows available on request.
//!
//! It is the demo's default upstream and the test bed of the feed clients.

pub mod actions;
pub mod catalog;
pub mod config;
pub mod feed;
pub mod hostile;
pub mod http;
pub mod paging;
mod parcels;
pub mod world;

use std::net::SocketAddr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tower::ServiceExt;

pub use config::{Faults, SimConfig};
pub use http::SimState;
pub use world::World;

/// A simulator serving on a socket.
pub struct RunningSim {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its state (world, clock), for tests that look inside.
    pub state: Arc<SimState>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningSim {
    /// Base URL of the railway API.
    pub fn railway_url(&self) -> String {
        format!("http://{}/railway", self.addr)
    }

    /// Base URL of the customs API.
    pub fn customs_url(&self) -> String {
        format!("http://{}/customs", self.addr)
    }

    /// Base URL of the control endpoint.
    pub fn control_url(&self) -> String {
        format!("http://{}/control", self.addr)
    }

    /// Stops serving.
    pub fn stop(self) {
        self.task.abort();
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Builds the world at `start` and serves it on `listener` in the background.
pub fn spawn(
    config: &SimConfig,
    start: DateTime<Utc>,
    paused: bool,
    listener: TcpListener,
) -> std::io::Result<RunningSim> {
    let addr = listener.local_addr()?;
    let state = Arc::new(SimState::new(config, start, paused));
    let task = tokio::spawn(serve(listener, Arc::clone(&state)));
    Ok(RunningSim { addr, state, task })
}

/// Serves until the task is dropped. Each connection gets a
/// [`http::ConnectionKiller`] so that the `lost_answers` fault can drop it
/// after recording an action.
async fn serve(listener: TcpListener, state: Arc<SimState>) {
    let app = http::router(state);
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let app = app.clone();
        tokio::spawn(async move {
            let kill = Arc::new(Notify::new());
            let killer = http::ConnectionKiller(Arc::clone(&kill));
            let service = hyper::service::service_fn(move |mut request| {
                request.extensions_mut().insert(killer.clone());
                app.clone().oneshot(request)
            });
            let builder = auto::Builder::new(TokioExecutor::new());
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                result = connection => {
                    if let Err(e) = result {
                        tracing::debug!("connection ended: {e}");
                    }
                }
                () = kill.notified() => tracing::debug!("connection dropped (lost answer)"),
            }
        });
    }
}
