//! A session's screen: ratatui draws the board into bytes for the client
//! at the size the client gave (never the server's own terminal, which it
//! has none of), each frame inside synchronized output like the local
//! board, and only the cells that changed. A frame in which nothing
//! changed is not sent at all.

use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::terminal::{
    BeginSynchronizedUpdate, EndSynchronizedUpdate, EnterAlternateScreen, LeaveAlternateScreen,
};
use crossterm::{Command, cursor, queue};
use ratatui::backend::{Backend, ClearType, CrosstermBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Rect, Size};
use ratatui::{Frame, Terminal, TerminalOptions, Viewport};

/// The widest and tallest screen drawn: a client that says more gets
/// this much (each screen holds two buffers of its cells).
pub const MAX_SIZE: Size = Size {
    width: 400,
    height: 200,
};

/// A client's size, within [`MAX_SIZE`] (at least one cell).
pub fn bounded(columns: u32, rows: u32) -> Size {
    let fit = |n: u32, max: u16| u16::try_from(n).unwrap_or(max).clamp(1, max);
    Size {
        width: fit(columns, MAX_SIZE.width),
        height: fit(rows, MAX_SIZE.height),
    }
}

/// The bytes drawn and not yet taken, shared by the backend that writes
/// them and the screen that takes them.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Sink {
    fn bytes(&self) -> MutexGuard<'_, Vec<u8>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.bytes())
    }
}

impl io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.bytes().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Crossterm's drawing into a sink, answering size and cursor questions
/// from what the client said instead of asking a terminal.
struct SshBackend {
    out: CrosstermBackend<Sink>,
    size: Size,
    cursor: Position,
    /// Some cell was drawn since this was last cleared.
    drew: bool,
}

impl Backend for SshBackend {
    type Error = io::Error;

    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        let mut content = content.peekable();
        self.drew |= content.peek().is_some();
        self.out.draw(content)
    }

    fn hide_cursor(&mut self) -> io::Result<()> {
        self.out.hide_cursor()
    }

    fn show_cursor(&mut self) -> io::Result<()> {
        self.out.show_cursor()
    }

    fn get_cursor_position(&mut self) -> io::Result<Position> {
        Ok(self.cursor)
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        self.cursor = position.into();
        self.out.set_cursor_position(self.cursor)
    }

    fn clear(&mut self) -> io::Result<()> {
        self.out.clear()
    }

    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        self.out.clear_region(clear_type)
    }

    fn size(&self) -> io::Result<Size> {
        Ok(self.size)
    }

    fn window_size(&mut self) -> io::Result<WindowSize> {
        Ok(WindowSize {
            columns_rows: self.size,
            pixels: Size::default(),
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A session's screen.
pub struct Screen {
    terminal: Terminal<SshBackend>,
    sink: Sink,
}

impl Screen {
    /// A screen of `size`, blank.
    pub fn new(size: Size) -> io::Result<Screen> {
        let sink = Sink::default();
        let backend = SshBackend {
            out: CrosstermBackend::new(sink.clone()),
            size,
            cursor: Position::ORIGIN,
            drew: false,
        };
        let area = Rect::from((Position::ORIGIN, size));
        let terminal = Terminal::with_options(
            backend,
            TerminalOptions {
                viewport: Viewport::Fixed(area),
            },
        )?;
        Ok(Screen { terminal, sink })
    }

    /// Its size.
    pub fn size(&self) -> Size {
        self.terminal.backend().size
    }

    /// The client's terminal changed size: the next frame is drawn whole.
    pub fn resize(&mut self, size: Size) -> io::Result<()> {
        self.terminal.backend_mut().size = size;
        self.terminal.resize(Rect::from((Position::ORIGIN, size)))
    }

    /// Clears the client's screen: the next frame is drawn whole.
    pub fn redraw_all(&mut self) -> io::Result<()> {
        self.resize(self.size())
    }

    /// A command (mouse capture on or off) sent with the next frame.
    pub fn command(&mut self, command: impl Command) -> io::Result<()> {
        queue!(self.sink, command)
    }

    /// Draws a frame inside synchronized output; `None` when nothing on
    /// the screen changed (and no command waits).
    pub fn frame(&mut self, draw: impl FnOnce(&mut Frame)) -> io::Result<Option<Bytes>> {
        let waiting = self.sink.take();
        self.terminal.backend_mut().drew = false;
        queue!(self.sink, BeginSynchronizedUpdate)?;
        self.sink.bytes().extend_from_slice(&waiting);
        self.terminal.draw(draw)?;
        queue!(self.sink, EndSynchronizedUpdate)?;
        let bytes = self.sink.take();
        let drew = self.terminal.backend().drew;
        Ok((drew || !waiting.is_empty()).then(|| Bytes::from(bytes)))
    }
}

/// What a session sends first: the alternate screen, the cursor hidden,
/// the mouse captured when asked.
pub fn opening(mouse: bool) -> io::Result<Bytes> {
    let mut out = Vec::new();
    queue!(out, EnterAlternateScreen, cursor::Hide)?;
    if mouse {
        queue!(out, EnableMouseCapture)?;
    }
    Ok(Bytes::from(out))
}

/// What a session sends last: the client's terminal as it was, and a
/// line saying why the session ended, if there is something to say.
pub fn closing(words: Option<&str>) -> Bytes {
    let mut out = Vec::new();
    // Writing into a Vec does not fail.
    let _ = queue!(
        out,
        EndSynchronizedUpdate,
        DisableMouseCapture,
        LeaveAlternateScreen,
        cursor::Show
    );
    if let Some(words) = words {
        out.extend_from_slice(format!("greenchannel: {words}\r\n").as_bytes());
    }
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::widgets::Paragraph;

    fn text(frame: &Bytes) -> String {
        String::from_utf8_lossy(frame).into_owned()
    }

    #[test]
    fn frames_carry_only_what_changed_and_none_when_nothing_did() {
        let mut screen = Screen::new(Size::new(20, 3)).unwrap();
        let draw = |word: &'static str| {
            move |f: &mut Frame| f.render_widget(Paragraph::new(word), f.area())
        };
        let first = screen.frame(draw("hello")).unwrap().expect("drawn");
        assert!(text(&first).contains("hello"));
        assert!(
            text(&first).starts_with("\x1b[?2026h"),
            "synchronized output"
        );
        assert!(screen.frame(draw("hello")).unwrap().is_none(), "unchanged");
        let second = screen.frame(draw("help!")).unwrap().expect("changed");
        assert!(text(&second).contains("p!") && !text(&second).contains("hel"));
        screen.resize(Size::new(30, 4)).unwrap();
        let whole = screen.frame(draw("help!")).unwrap().expect("redrawn");
        assert!(text(&whole).contains("help!"));
        screen.command(EnableMouseCapture).unwrap();
        assert!(
            screen.frame(draw("help!")).unwrap().is_some(),
            "a command waits"
        );
    }

    #[test]
    fn sizes_from_the_client_are_bounded() {
        assert_eq!(bounded(80, 24), Size::new(80, 24));
        assert_eq!(bounded(0, 0), Size::new(1, 1));
        assert_eq!(bounded(u32::MAX, 100_000), MAX_SIZE);
    }
}
