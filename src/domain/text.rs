//! Text from upstream made safe and fitting for a terminal.
//!
//! Anything an upstream system writes (names, notes, reasons, even
//! identifiers) may carry control characters, ANSI CSI/OSC escape
//! sequences or bidi overrides. [`clean`] removes what a terminal would
//! interpret; [`FeedText`] is text that went through it when it was built
//! (every string the feeds decode is one); [`fit`] cuts to a display width,
//! counting double-width (CJK) characters as two columns and ending with an
//! ellipsis; [`json_for_terminal`] writes JSON in which no string can act
//! on a terminal.

use std::borrow::Cow;
use std::fmt;
use std::io;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::ser::{Formatter, PrettyFormatter};
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

/// `value` as pretty-printed JSON that is safe to print on a terminal:
/// besides what JSON escapes itself (C0 controls, `"` and `\\`), every
/// character [`clean`] would remove (DEL, C1 controls, bidi controls) is
/// written as a `\uXXXX` escape, in keys and values alike. A JSON reader
/// gets the same strings back.
///
/// # Panics
///
/// If `value` cannot be written as JSON (a map whose keys are not strings).
pub fn json_for_terminal<T: Serialize + ?Sized>(value: &T) -> String {
    let mut out = Vec::new();
    let formatter = TerminalFormatter(PrettyFormatter::new());
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    value
        .serialize(&mut serializer)
        .expect("the value is writable as JSON");
    String::from_utf8(out).expect("JSON is UTF-8")
}

/// Pretty printing, with each string fragment split at the characters a
/// terminal would act on, which are written as escapes.
struct TerminalFormatter<'a>(PrettyFormatter<'a>);

impl Formatter for TerminalFormatter<'_> {
    fn write_string_fragment<W>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        let mut rest = fragment;
        while let Some((at, c)) = rest.char_indices().find(|(_, c)| is_unsafe(*c)) {
            let (safe, unsafe_and_after) = rest.split_at(at);
            writer.write_all(safe.as_bytes())?;
            // Every unsafe character is in the Basic Multilingual Plane.
            write!(writer, "\\u{:04x}", u32::from(c))?;
            rest = &unsafe_and_after[c.len_utf8()..];
        }
        writer.write_all(rest.as_bytes())
    }

    fn begin_array<W>(&mut self, writer: &mut W) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        self.0.begin_array(writer)
    }

    fn end_array<W>(&mut self, writer: &mut W) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        self.0.end_array(writer)
    }

    fn begin_array_value<W>(&mut self, writer: &mut W, first: bool) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        self.0.begin_array_value(writer, first)
    }

    fn end_array_value<W>(&mut self, writer: &mut W) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        self.0.end_array_value(writer)
    }

    fn begin_object<W>(&mut self, writer: &mut W) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        self.0.begin_object(writer)
    }

    fn end_object<W>(&mut self, writer: &mut W) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        self.0.end_object(writer)
    }

    fn begin_object_key<W>(&mut self, writer: &mut W, first: bool) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        self.0.begin_object_key(writer, first)
    }

    fn begin_object_value<W>(&mut self, writer: &mut W) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        self.0.begin_object_value(writer)
    }

    fn end_object_value<W>(&mut self, writer: &mut W) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        self.0.end_object_value(writer)
    }
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

/// The longest text kept from the network, in characters; longer text is
/// cut and ends in `…` (the contract's longest free text, a note, is 2000).
pub const MAX_FEED_CHARS: usize = 4096;

/// Text that came from the network (or from anyone but this program),
/// made safe for a terminal when it was built: without control characters,
/// escape sequences' ESC, C1 controls, DEL or bidi controls, and at most
/// [`MAX_FEED_CHARS`] characters. Every constructor, decoding included, runs
/// [`clean`], so a value of this type can be printed anywhere.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct FeedText(Box<str>);

impl FeedText {
    /// Cleans `text` (and cuts it to [`MAX_FEED_CHARS`]).
    pub fn new(text: &str) -> FeedText {
        let text = clean(text);
        match text.char_indices().nth(MAX_FEED_CHARS) {
            None => FeedText(text.into()),
            Some((cut, _)) => {
                let mut kept = String::with_capacity(cut + '…'.len_utf8());
                kept.push_str(&text[..cut]);
                kept.push('…');
                FeedText(kept.into_boxed_str())
            }
        }
    }

    /// The safe text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for FeedText {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for FeedText {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for FeedText {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FeedText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for FeedText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl From<&str> for FeedText {
    fn from(text: &str) -> Self {
        FeedText::new(text)
    }
}

impl From<String> for FeedText {
    fn from(text: String) -> Self {
        FeedText::new(&text)
    }
}

impl From<&String> for FeedText {
    fn from(text: &String) -> Self {
        FeedText::new(text)
    }
}

impl PartialEq<str> for FeedText {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for FeedText {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for FeedText {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<FeedText> for String {
    fn eq(&self, other: &FeedText) -> bool {
        **self == *other.0
    }
}

impl Serialize for FeedText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for FeedText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = Cow::<str>::deserialize(d)?;
        Ok(FeedText::new(&text))
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::FeedText {}
    impl Sealed for super::SharedText {}
}

/// Text that went through [`clean`] when it was built: [`FeedText`] and
/// [`SharedText`], and nothing else.
pub trait SafeText: sealed::Sealed {
    /// The text.
    fn safe(&self) -> &str;
}

impl SafeText for FeedText {
    fn safe(&self) -> &str {
        &self.0
    }
}

impl SafeText for SharedText {
    fn safe(&self) -> &str {
        &self.0
    }
}

/// Safe text held once and shared (interned): built only from other safe
/// text.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SharedText(std::sync::Arc<str>);

impl SharedText {
    /// A shared copy of safe text.
    pub fn new(text: &impl SafeText) -> SharedText {
        SharedText(text.safe().into())
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether anything but the interner holds it.
    pub fn is_shared(&self) -> bool {
        std::sync::Arc::strong_count(&self.0) > 1
    }
}

impl std::ops::Deref for SharedText {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for SharedText {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for SharedText {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SharedText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SharedText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl Serialize for SharedText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
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
    fn json_for_a_terminal_escapes_what_a_terminal_would_act_on() {
        let escaped = [
            ("\u{0}", "\\u0000"),
            ("\u{1b}", "\\u001b"),
            ("\u{7}", "\\u0007"),
            ("\n", "\\n"),
            ("\t", "\\t"),
            ("\u{7f}", "\\u007f"),
            ("\u{80}", "\\u0080"),
            ("\u{85}", "\\u0085"),
            ("\u{9b}", "\\u009b"),
            ("\u{9f}", "\\u009f"),
            ("\u{202a}", "\\u202a"),
            ("\u{202b}", "\\u202b"),
            ("\u{202c}", "\\u202c"),
            ("\u{202d}", "\\u202d"),
            ("\u{202e}", "\\u202e"),
            ("\u{2066}", "\\u2066"),
            ("\u{2067}", "\\u2067"),
            ("\u{2068}", "\\u2068"),
            ("\u{2069}", "\\u2069"),
            ("\u{200e}", "\\u200e"),
            ("\u{200f}", "\\u200f"),
            ("\u{61c}", "\\u061c"),
            ("\"", "\\\""),
            ("\\", "\\\\"),
        ];
        for (c, escape) in escaped {
            // Alone, between safe text, and as a key.
            for text in [c.to_owned(), format!("阿拉山口{c}{c}ok")] {
                let value = serde_json::json!({ text.clone(): [text.clone()] });
                let json = json_for_terminal(&value);
                assert!(json.contains(escape), "{c:?}: {json}");
                assert_eq!(
                    json.chars().filter(|c| is_unsafe(*c) && *c != '\n').count(),
                    0,
                    "{c:?}: {json}"
                );
                let read: serde_json::Value = serde_json::from_str(&json).unwrap();
                assert_eq!(read, value, "{c:?}: read back the same");
            }
        }
        // Anything else is written as it is, and laid out as serde_json does.
        let safe = serde_json::json!({"name": "王芳 Wang Fang 🚂\u{a0}é", "n": [1, 2.5, null]});
        assert_eq!(
            json_for_terminal(&safe),
            serde_json::to_string_pretty(&safe).unwrap()
        );
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

    #[test]
    fn feed_text_is_clean_however_it_is_built() {
        let hostile = "\u{1b}]0;PWNED\u{7}\u{202e}gnahZ\u{9b}2J\u{7f}";
        let decoded: FeedText =
            serde_json::from_str(&serde_json::to_string(hostile).unwrap()).unwrap();
        for text in [
            decoded,
            FeedText::new(hostile),
            FeedText::from(hostile.to_owned()),
        ] {
            assert_eq!(text, "]0;PWNEDgnahZ2J");
            assert!(!text.chars().any(is_unsafe));
        }
        let long = FeedText::new(&"很".repeat(MAX_FEED_CHARS + 10));
        assert_eq!(long.chars().count(), MAX_FEED_CHARS + 1);
        assert!(long.ends_with('…'));
        let exact = FeedText::new(&"W".repeat(MAX_FEED_CHARS));
        assert_eq!(exact.len(), MAX_FEED_CHARS);
        assert_eq!(
            serde_json::to_string(&FeedText::new("阿拉山口")).unwrap(),
            "\"阿拉山口\""
        );
    }
}
