//! The time zone the board shows times in, always labelled.

use chrono::{DateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

use crate::domain::Lang;

/// A zone an officer may choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// Beijing time (Asia/Shanghai), the legal time in China.
    Beijing,
    /// Xinjiang local time (Asia/Urumqi).
    Xinjiang,
    /// Kazakhstan (Asia/Almaty): Dostyk.
    Almaty,
    /// Uzbekistan (Asia/Tashkent).
    Tashkent,
    /// UTC.
    Utc,
}

impl Zone {
    /// Every zone.
    pub const ALL: [Zone; 5] = [
        Zone::Beijing,
        Zone::Xinjiang,
        Zone::Almaty,
        Zone::Tashkent,
        Zone::Utc,
    ];

    /// Reads a zone: its short name or its IANA name, any case.
    pub fn parse(text: &str) -> Option<Zone> {
        let text = text.trim().to_ascii_lowercase();
        Zone::ALL
            .into_iter()
            .find(|z| z.name() == text || z.tz().name().eq_ignore_ascii_case(&text))
    }

    /// The short name used in settings.
    pub fn name(self) -> &'static str {
        match self {
            Zone::Beijing => "beijing",
            Zone::Xinjiang => "xinjiang",
            Zone::Almaty => "almaty",
            Zone::Tashkent => "tashkent",
            Zone::Utc => "utc",
        }
    }

    fn tz(self) -> Tz {
        match self {
            Zone::Beijing => chrono_tz::Asia::Shanghai,
            Zone::Xinjiang => chrono_tz::Asia::Urumqi,
            Zone::Almaty => chrono_tz::Asia::Almaty,
            Zone::Tashkent => chrono_tz::Asia::Tashkent,
            Zone::Utc => chrono_tz::UTC,
        }
    }

    /// The label shown beside every clock, e.g. `Beijing UTC+8`.
    pub fn label(self, at: DateTime<Utc>, lang: Lang) -> String {
        let seconds = self
            .tz()
            .offset_from_utc_datetime(&at.naive_utc())
            .fix()
            .local_minus_utc();
        let offset = match (seconds / 3600, seconds % 3600 / 60) {
            (0, 0) => String::new(),
            (h, 0) => format!("{h:+}"),
            (h, m) => format!("{h:+}:{:02}", m.abs()),
        };
        let place = match (self, lang) {
            (Zone::Beijing, Lang::En) => "Beijing",
            (Zone::Xinjiang, Lang::En) => "Xinjiang",
            (Zone::Almaty, Lang::En) => "Almaty",
            (Zone::Tashkent, Lang::En) => "Tashkent",
            (Zone::Utc, _) => "UTC",
            (Zone::Beijing, Lang::Zh) => "北京时间",
            (Zone::Xinjiang, Lang::Zh) => "新疆时间",
            (Zone::Almaty, Lang::Zh) => "阿拉木图",
            (Zone::Tashkent, Lang::Zh) => "塔什干",
        };
        if self == Zone::Utc {
            place.to_owned()
        } else {
            format!("{place} UTC{offset}")
        }
    }

    /// `at` in this zone, formatted (strftime).
    pub fn format(self, at: DateTime<Utc>, pattern: &str) -> String {
        at.with_timezone(&self.tz()).format(pattern).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_read_by_short_or_iana_name() {
        assert_eq!(Zone::parse("Beijing"), Some(Zone::Beijing));
        assert_eq!(Zone::parse("asia/tashkent"), Some(Zone::Tashkent));
        assert_eq!(Zone::parse("UTC"), Some(Zone::Utc));
        assert_eq!(Zone::parse("mars"), None);
    }

    #[test]
    fn clocks_are_labelled_with_their_offset() {
        let at: DateTime<Utc> = "2026-11-26T03:30:00Z".parse().unwrap();
        assert_eq!(Zone::Beijing.format(at, "%H:%M"), "11:30");
        assert_eq!(Zone::Beijing.label(at, Lang::En), "Beijing UTC+8");
        assert_eq!(Zone::Xinjiang.format(at, "%H:%M"), "09:30");
        // Kazakhstan has been on +05:00 since 1 March 2024.
        assert_eq!(Zone::Almaty.label(at, Lang::En), "Almaty UTC+5");
        assert_eq!(Zone::Tashkent.format(at, "%H:%M"), "08:30");
        assert_eq!(Zone::Utc.label(at, Lang::Zh), "UTC");
        assert_eq!(Zone::Beijing.label(at, Lang::Zh), "北京时间 UTC+8");
    }
}
