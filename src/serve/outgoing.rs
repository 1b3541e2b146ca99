//! What a session sends its client, on its way: a queue of a few frames
//! that the session can only offer to, never wait on, and the writer that
//! empties it as fast as the client's SSH window allows. A client that
//! reads slowly, or not at all, fills its own queue and slows nobody
//! else: the session then stops drawing for it (see `session`). When the
//! session lets go of the queue, the writer sends the last words (the
//! client's terminal put back), the exit status, and closes the channel.

use bytes::Bytes;
use russh::ChannelWriteHalf;
use russh::server::Msg;
use tokio::sync::{mpsc, oneshot};

/// Frames that may wait for the client.
const FRAMES: usize = 4;

/// How an offered frame fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offered {
    /// On its way.
    Queued,
    /// The queue was full: dropped.
    Dropped,
    /// The writer is gone (so is the client).
    Gone,
}

/// A session's end of the queue.
#[derive(Debug)]
pub struct Outgoing {
    frames: mpsc::Sender<Bytes>,
    last_words: oneshot::Sender<Bytes>,
}

impl Outgoing {
    /// Offers a frame: queued, or dropped if the queue is full. Never
    /// waits.
    pub fn offer(&self, frame: Bytes) -> Offered {
        match self.frames.try_send(frame) {
            Ok(()) => Offered::Queued,
            Err(mpsc::error::TrySendError::Full(_)) => Offered::Dropped,
            Err(mpsc::error::TrySendError::Closed(_)) => Offered::Gone,
        }
    }

    /// Whether a frame offered now would be queued.
    pub fn has_room(&self) -> bool {
        self.frames.capacity() > 0
    }

    /// Lets go of the queue: once the frames in it are written, the
    /// writer sends `last_words` and closes the channel.
    pub fn finish(self, last_words: Bytes) {
        let _ = self.last_words.send(last_words);
    }
}

/// A queue to `channel` and its writer, which runs until the session
/// lets go of the queue (or the client goes).
pub fn start(channel: ChannelWriteHalf<Msg>) -> (Outgoing, impl Future<Output = ()>) {
    let (frames, queued) = mpsc::channel(FRAMES);
    let (last_words, said) = oneshot::channel();
    (
        Outgoing { frames, last_words },
        write_out(queued, said, channel),
    )
}

async fn write_out(
    mut queued: mpsc::Receiver<Bytes>,
    said: oneshot::Receiver<Bytes>,
    channel: ChannelWriteHalf<Msg>,
) {
    while let Some(frame) = queued.recv().await {
        if channel.data_bytes(frame).await.is_err() {
            return;
        }
    }
    if let Ok(words) = said.await {
        let _ = channel.data_bytes(words).await;
    }
    let _ = channel.exit_status(0).await;
    let _ = channel.eof().await;
    let _ = channel.close().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_drops_and_never_waits() {
        let (frames, mut queued) = mpsc::channel(FRAMES);
        let (last_words, mut said) = oneshot::channel();
        let outgoing = Outgoing { frames, last_words };
        for _ in 0..FRAMES {
            assert_eq!(
                outgoing.offer(Bytes::from_static(b"frame")),
                Offered::Queued
            );
        }
        assert!(!outgoing.has_room());
        assert_eq!(
            outgoing.offer(Bytes::from_static(b"one more")),
            Offered::Dropped
        );
        // The writer took one: room again.
        assert!(queued.try_recv().is_ok());
        assert!(outgoing.has_room());
        outgoing.finish(Bytes::from_static(b"bye"));
        assert_eq!(said.try_recv().unwrap(), Bytes::from_static(b"bye"));
        let (frames, queued) = mpsc::channel(FRAMES);
        drop(queued);
        let (last_words, _) = oneshot::channel();
        let gone = Outgoing { frames, last_words };
        assert_eq!(gone.offer(Bytes::new()), Offered::Gone);
    }
}
