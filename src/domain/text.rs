//! Text from upstream made safe and fitting for a terminal.
//!
//! Anything an upstream system writes (names, notes, reasons, even
//! identifiers) may carry control characters, ANSI CSI/OSC escape
//! sequences or bidi overrides. [`clean`] removes what a terminal would
//! interpret; [`fit`] cuts to a display width, counting double-width (CJK)
//! characters as two columns and ending with an ellipsis.

use std::borrow::Cow;

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Characters a terminal would act on, or that reorder what follows.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
            | '\u{2066}'..='\u{2069}' // bidi isolates
            | '\u{200E}' | '\u{200F}' | '\u{061C}' // directional marks
        )
}

/// The text without control characters and bidi controls; an escape
/// sequence loses its ESC and so prints as plain text. Line breaks and
/// tabs become spaces.
pub fn clean(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .filter_map(|c| match c {
                '\n' | '\r' | '\t' => Some(' '),
                c if is_unsafe(c) => None,
                c => Some(c),
            })
            .collect(),
    )
}

/// Display width in terminal columns.
pub fn width(text: &str) -> usize {
    UnicodeWidthStr::width(text)
}

/// Cleaned text cut to at most `columns` display columns, ending in `…`
/// when cut.
pub fn fit(text: &str, columns: usize) -> String {
    let text = clean(text);
    if width(&text) <= columns {
        return text.into_owned();
    }
    if columns == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > columns - 1 {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// Cleaned text cut to its last `columns` display columns, starting with
/// `…` when cut: the end of a line being typed stays in sight.
pub fn fit_tail(text: &str, columns: usize) -> String {
    let text = clean(text);
    if width(&text) <= columns {
        return text.into_owned();
    }
    if columns == 0 {
        return String::new();
    }
    let mut tail = Vec::new();
    let mut used = 0;
    for c in text.chars().rev() {
        let w = c.width().unwrap_or(0);
        if used + w > columns - 1 {
            break;
        }
        tail.push(c);
        used += w;
    }
    std::iter::once('…').chain(tail.into_iter().rev()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_of_a_long_line_stays_in_sight() {
        assert_eq!(fit_tail("short", 10), "short");
        assert_eq!(fit_tail("0123456789abc", 5), "…9abc");
        assert_eq!(fit_tail("备注已开箱", 5), "…开箱");
        assert_eq!(fit_tail("abc", 0), "");
    }

    #[test]
    fn escape_sequences_and_controls_are_defused() {
        assert_eq!(clean("\u{1b}[2J\u{1b}[31mred"), "[2J[31mred");
        assert_eq!(clean("\u{1b}]0;PWNED\u{7}title"), "]0;PWNEDtitle");
        assert_eq!(clean("a\u{202e}gnp.exe\u{202c}b"), "agnp.exeb");
        assert_eq!(clean("line\nbreak\ttab\r"), "line break tab ");
        assert_eq!(clean("NUL\u{0}DEL\u{7f}C1\u{9b}"), "NULDELC1");
        assert!(matches!(clean("plain 阿拉山口 🚂"), Cow::Borrowed(_)));
    }

    #[test]
    fn fitting_counts_double_width_columns() {
        assert_eq!(fit("阿拉山口海关", 20), "阿拉山口海关");
        assert_eq!(width("阿拉山口海关"), 12);
        assert_eq!(fit("阿拉山口海关", 7), "阿拉山…");
        assert_eq!(width(&fit("阿拉山口海关", 7)), 7);
        assert_eq!(fit("ABCDEFGH", 5), "ABCD…");
        assert_eq!(fit("ABC", 0), "");
        assert_eq!(fit(&"W".repeat(3000), 10).chars().count(), 10);
    }
}
