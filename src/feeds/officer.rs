//! Who the customs token belongs to (`whoami`): asked again, with back-off,
//! until customs answers, since a board may start while customs is
//! unreachable.

use tokio::sync::mpsc;

use super::Backoff;
use super::client::ApiClient;
use crate::domain::Officer;

/// Asks customs who the token is until it answers (or says it never
/// will, `401`/`403`), and sends the officer to `to`.
pub async fn look_up(customs: ApiClient, backoff: Backoff, to: mpsc::Sender<Officer>) {
    let mut failures = 0;
    loop {
        match customs.whoami().await {
            Ok(officer) => {
                let _ = to.send(officer).await;
                return;
            }
            Err(e) if !e.is_transient() => {
                tracing::warn!("whoami: {e}");
                return;
            }
            Err(_) => {
                failures += 1;
                tokio::time::sleep(backoff.after(failures)).await;
            }
        }
    }
}
