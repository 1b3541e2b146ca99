//! The `hostile_text` fault: text that a terminal must never interpret
//! (control characters, ANSI CSI and OSC sequences, bidi overrides), very
//! long and double-width text, emoji, combining marks.
//!
//! The simulator keeps its world in the domain's own objects, whose text is
//! always made safe ([`FeedText`]). So hostile text stands in them as a
//! marker, a sample's number between two private-use characters, and is
//! written out as it really is only when an answer is written
//! ([`expand`]): what reaches the client is exactly as hostile as before.

use std::sync::LazyLock;

use fastrand::Rng;

use crate::domain::FeedText;

const OPEN: char = '\u{F8F0}';
const CLOSE: char = '\u{F8F1}';

/// The hostile samples, as a server would send them.
static SAMPLES: LazyLock<Vec<String>> = LazyLock::new(|| {
    vec![
        "\u{1b}[2J\u{1b}[H\u{1b}[31m清屏测试 screen wipe".to_owned(),
        "\u{1b}]0;PWNED title\u{7}窗口标题".to_owned(),
        "\u{1b}]52;c;cm0gLXJmIC8K\u{7}clipboard OSC 52".to_owned(),
        "\u{202e}fdp.exe\u{202c} 双向覆盖 bidi override".to_owned(),
        format!("超长品名{}", "很长的描述".repeat(400)),
        "太阳能板🚂🇺🇿👨‍👩‍👧‍👦 emoji 和 ZWJ".to_owned(),
        "NUL\u{0}BEL\u{7}BS\u{8}\u{8}CR\rLF\nTAB\tDEL\u{7f}".to_owned(),
        "e\u{301}\u{301}\u{301}\u{301} Zalgơ̸̢ combining".to_owned(),
        "\u{200b}\u{feff}零宽\u{200d}字符 zero-width".to_owned(),
        format!("{}{}", "W".repeat(3000), "\u{1b}[?1049h"),
    ]
});

/// Each sample as the inside of a JSON string.
static ESCAPED: LazyLock<Vec<String>> = LazyLock::new(|| {
    SAMPLES
        .iter()
        .map(|s| {
            let quoted = serde_json::to_string(s).expect("text serializes");
            quoted[1..quoted.len() - 1].to_owned()
        })
        .collect()
});

/// Every hostile sample, as sent.
pub fn samples() -> &'static [String] {
    &SAMPLES
}

/// A hostile text, as the marker that stands for it in the world.
pub fn text(rng: &mut Rng) -> FeedText {
    FeedText::new(&format!("{OPEN}{}{CLOSE}", rng.usize(..SAMPLES.len())))
}

/// Writes the hostile samples in place of their markers in `json`.
pub fn expand(json: String) -> String {
    if !json.contains(OPEN) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 4096);
    let mut rest = json.as_str();
    while let Some(start) = rest.find(OPEN) {
        out.push_str(&rest[..start]);
        let after = &rest[start + OPEN.len_utf8()..];
        let sample = after.find(CLOSE).and_then(|end| {
            let n: usize = after[..end].parse().ok()?;
            Some((ESCAPED.get(n)?, &after[end + CLOSE.len_utf8()..]))
        });
        match sample {
            Some((escaped, tail)) => {
                out.push_str(escaped);
                rest = tail;
            }
            None => {
                out.push(OPEN);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_become_the_samples_on_the_wire() {
        let mut rng = Rng::with_seed(3);
        let marker = text(&mut rng);
        let json = serde_json::to_string(&serde_json::json!({ "name": marker.as_str() })).unwrap();
        let wire: serde_json::Value = serde_json::from_str(&expand(json)).unwrap();
        let name = wire["name"].as_str().unwrap();
        assert!(samples().iter().any(|s| s == name), "{name:?}");
        // Read back by a client, it is safe again.
        let read: FeedText = serde_json::from_value(wire["name"].clone()).unwrap();
        assert_eq!(read, FeedText::new(name));
        assert_eq!(expand("plain \u{F8F0}x".to_owned()), "plain \u{F8F0}x");
    }

    #[test]
    fn every_sample_is_hostile_or_awkward() {
        let unsafe_ones = samples()
            .iter()
            .filter(|s| FeedText::new(s).as_str() != s.as_str())
            .count();
        assert!(unsafe_ones >= 6, "{unsafe_ones}");
    }
}
