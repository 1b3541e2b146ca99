//! The commands for scripts and for officers at a shell: `hold` (triage
//! without the board, on the same desk and rules as its keys) and
//! `journal` (the officer's audit trail). Each reads what it needs, acts,
//! prints text or JSON on stdout (progress on stderr), and says with its
//! exit code what happened.

pub mod hold;
pub mod journal;

use std::io::Write as _;

use crate::domain::text::fit;

/// How a command that acts on holds ended, for scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// Everything asked for was done.
    Done = 0,
    /// Something was refused (by customs, or before it was sent).
    Refused = 1,
    /// Customs could not be reached for something (it stays in the
    /// journal, to be sent by the next board or command).
    Unreachable = 3,
}

/// Prints `text` on stdout; a reader that stops early (`| head`) is not an
/// error.
pub fn print(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// A plain-text table: a header and rows, each column as wide as its
/// widest cell (at most `max` columns of the terminal), two spaces apart.
pub fn table(header: &[&str], rows: &[Vec<String>], max: usize) -> String {
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            rows.iter()
                .map(|r| crate::domain::text::width(&r[c]))
                .chain([crate::domain::text::width(header[c])])
                .max()
                .unwrap_or(0)
                .min(max)
        })
        .collect();
    let line = |cells: Vec<String>| -> String {
        let mut out = String::new();
        for (c, cell) in cells.into_iter().enumerate() {
            let cell = fit(&cell, widths[c]);
            let pad = widths[c].saturating_sub(crate::domain::text::width(&cell));
            out.push_str(&cell);
            if c + 1 < widths.len() {
                out.push_str(&" ".repeat(pad + 2));
            }
        }
        out.trim_end().to_owned() + "\n"
    };
    let mut out = line(header.iter().map(|h| (*h).to_owned()).collect());
    for row in rows {
        out.push_str(&line(row.clone()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_line_up_wide_text() {
        let rows = vec![
            vec!["94022026E000012345".to_owned(), "义乌小商品".to_owned()],
            vec!["9402".to_owned(), "x".to_owned()],
        ];
        let text = table(&["DECLARATION", "ENTERPRISE"], &rows, 40);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "DECLARATION         ENTERPRISE");
        assert_eq!(lines[1], "94022026E000012345  义乌小商品");
        assert_eq!(lines[2], "9402                x");
        assert!(Exit::Unreachable > Exit::Refused && Exit::Refused > Exit::Done);
    }
}
