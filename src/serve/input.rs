//! What the client types, as terminal events: the bytes of the session's
//! channel read as keys and mouse reports (terminput's parser, crossterm's
//! own), a sequence split between two packets included. A lone escape at
//! the end of a packet is the Esc key, as a terminal sends it.

use crossterm::event::Event;

/// The longest sequence waited for; a longer one is dropped.
const MAX_PENDING: usize = 64;

/// The escape byte that starts every sequence.
const ESC: u8 = 0x1b;

/// Reads a session's input into events.
#[derive(Debug, Default)]
pub struct Decoder {
    pending: Vec<u8>,
}

impl Decoder {
    /// The events in `bytes` (with what an earlier packet left unfinished).
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Event> {
        let mut events = Vec::new();
        for (i, byte) in bytes.iter().enumerate() {
            self.pending.push(*byte);
            let more = i + 1 < bytes.len();
            // An escape with more behind it starts a sequence.
            if self.pending == [ESC] && more {
                continue;
            }
            match terminput::Event::parse_from(&self.pending) {
                Ok(Some(event)) => {
                    self.pending.clear();
                    if let Ok(event) = terminput_crossterm::to_crossterm(event) {
                        events.push(event);
                    }
                }
                Ok(None) if self.pending.len() < MAX_PENDING => {}
                Ok(None) | Err(_) => self.pending.clear(),
            }
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEventKind};

    fn keys(events: &[Event]) -> Vec<KeyCode> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Key(KeyEvent { code, .. }) => Some(*code),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn keys_arrows_and_escape() {
        let mut decoder = Decoder::default();
        assert_eq!(keys(&decoder.feed(b"j")), [KeyCode::Char('j')]);
        assert_eq!(
            keys(&decoder.feed(b"\x1b[A\x1b[B")),
            [KeyCode::Up, KeyCode::Down]
        );
        assert_eq!(keys(&decoder.feed(b"\x1b")), [KeyCode::Esc]);
        assert_eq!(
            keys(&decoder.feed(b"\r\t\x7f")),
            [KeyCode::Enter, KeyCode::Tab, KeyCode::Backspace]
        );
        assert_eq!(keys(&decoder.feed("义".as_bytes())), [KeyCode::Char('义')]);
        let ctrl_l = decoder.feed(b"\x0c");
        assert!(matches!(
            ctrl_l[0],
            Event::Key(KeyEvent { code: KeyCode::Char('l'), modifiers, .. }) if modifiers.contains(KeyModifiers::CONTROL)
        ));
    }

    #[test]
    fn a_sequence_split_between_packets() {
        let mut decoder = Decoder::default();
        assert!(decoder.feed(b"\x1b[").is_empty());
        assert_eq!(keys(&decoder.feed(b"5~")), [KeyCode::PageUp]);
        let mouse = decoder.feed(b"\x1b[<65;10;5M");
        assert!(matches!(&mouse[..], [Event::Mouse(m)] if m.kind == MouseEventKind::ScrollDown));
    }

    #[test]
    fn garbage_is_dropped_and_bounded() {
        let mut decoder = Decoder::default();
        let mut junk = b"\x1b[".to_vec();
        junk.extend(std::iter::repeat_n(b'1', 500));
        decoder.feed(&junk);
        assert!(decoder.pending.len() < MAX_PENDING);
        assert_eq!(keys(&decoder.feed(b"q")), [KeyCode::Char('q')]);
    }
}
