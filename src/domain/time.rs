//! Instants on the wire and in memory.
//!
//! Every instant is held as `DateTime<Utc>`. The contract writes RFC 3339 with
//! an explicit offset (customs `+08:00`, the railway the offset of the station
//! where a thing happened), so reading accepts any offset and refuses a time
//! without one. Writing uses the offset chosen by the writer for the duration
//! of one serialization ([`with_offset`]): UTC by default (our own JSON
//! output), Beijing time for the simulated customs system, and so on.

use std::cell::Cell;

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};

/// Beijing time, the only legal time in China: what customs writes.
pub const BEIJING: FixedOffset = hours(8);
/// Xinjiang local time, used informally around Alashankou.
pub const XINJIANG: FixedOffset = hours(6);
/// Kazakhstan (Dostyk) since 1 March 2024, and Uzbekistan (Tashkent).
pub const KAZAKHSTAN: FixedOffset = hours(5);

const fn hours(h: i32) -> FixedOffset {
    match FixedOffset::east_opt(h * 3600) {
        Some(offset) => offset,
        None => panic!("offset out of range"),
    }
}

/// Which offset timestamps are written in while serializing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetStyle {
    /// Every timestamp in this offset.
    Fixed(FixedOffset),
    /// Timestamps alternate between two offsets (a server whose parts do not
    /// agree on a zone; legal under the contract).
    Alternate(FixedOffset, FixedOffset),
}

impl Default for OffsetStyle {
    fn default() -> Self {
        OffsetStyle::Fixed(FixedOffset::east_opt(0).expect("zero offset"))
    }
}

thread_local! {
    static STYLE: Cell<OffsetStyle> = Cell::new(OffsetStyle::default());
    static TOGGLE: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` (typically one `serde_json` call) writing timestamps in `style`.
pub fn with_offset<R>(style: OffsetStyle, f: impl FnOnce() -> R) -> R {
    struct Restore(OffsetStyle);
    impl Drop for Restore {
        fn drop(&mut self) {
            STYLE.with(|s| s.set(self.0));
        }
    }
    let _restore = Restore(STYLE.with(|s| s.replace(style)));
    f()
}

fn current_offset() -> FixedOffset {
    match STYLE.with(Cell::get) {
        OffsetStyle::Fixed(offset) => offset,
        OffsetStyle::Alternate(a, b) => {
            if TOGGLE.with(|t| t.replace(!t.get())) {
                a
            } else {
                b
            }
        }
    }
}

/// Writes an instant as RFC 3339 in the current offset style.
pub fn format(at: &DateTime<Utc>) -> String {
    at.with_timezone(&current_offset())
        .to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A timestamp that is not RFC 3339 with an explicit offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeError(pub String);

impl std::fmt::Display for TimeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not an RFC 3339 time with an offset: {:?}", self.0)
    }
}

impl std::error::Error for TimeError {}

/// Reads an RFC 3339 timestamp in any offset into UTC.
pub fn parse(text: &str) -> Result<DateTime<Utc>, TimeError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| TimeError(text.chars().take(64).collect()))
}

/// `#[serde(with = "rfc3339")]` for `DateTime<Utc>` fields.
pub mod rfc3339 {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    /// Writes in the current offset style.
    pub fn serialize<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format(at))
    }

    /// Reads any explicit offset.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        super::parse(&text).map_err(D::Error::custom)
    }
}

/// `#[serde(with = "rfc3339_opt", default)]` for `Option<DateTime<Utc>>` fields
/// that the contract allows to be `null` or absent.
pub mod rfc3339_opt {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    /// Writes `null` for `None`.
    pub fn serialize<S: Serializer>(at: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => s.serialize_str(&super::format(at)),
            None => s.serialize_none(),
        }
    }

    /// Reads `null` as `None`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        match Option::<std::borrow::Cow<str>>::deserialize(d)? {
            Some(text) => super::parse(&text).map(Some).map_err(D::Error::custom),
            None => Ok(None),
        }
    }
}

/// `#[serde(with = "rfc3339_patch", default, skip_serializing_if = "Option::is_none")]`
/// for a field of a partial update where absent means "unchanged" (`None`),
/// `null` means "cleared" (`Some(None)`) and a time means "set".
pub mod rfc3339_patch {
    use chrono::{DateTime, Utc};
    use serde::{Deserializer, Serializer};

    /// Writes the inner value; an absent field is skipped by the caller.
    pub fn serialize<S: Serializer>(
        at: &Option<Option<DateTime<Utc>>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        super::rfc3339_opt::serialize(&at.flatten(), s)
    }

    /// Present (even `null`) becomes `Some`.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<DateTime<Utc>>>, D::Error> {
        super::rfc3339_opt::deserialize(d).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn reads_any_offset_into_utc() {
        let beijing = parse("2026-11-26T12:30:00+08:00").unwrap();
        let dostyk = parse("2026-11-26T09:30:00+05:00").unwrap();
        let utc = parse("2026-11-26T04:30:00Z").unwrap();
        assert_eq!(beijing, dostyk);
        assert_eq!(beijing, utc);
        assert_eq!(utc, Utc.with_ymd_and_hms(2026, 11, 26, 4, 30, 0).unwrap());
    }

    #[test]
    fn refuses_times_without_offset_or_garbage() {
        assert!(parse("2026-11-26T12:30:00").is_err());
        assert!(parse("2026-11-26").is_err());
        assert!(parse("yesterday").is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn writes_in_the_chosen_offset() {
        let at = Utc.with_ymd_and_hms(2026, 11, 26, 4, 30, 0).unwrap();
        assert_eq!(format(&at), "2026-11-26T04:30:00Z");
        let beijing = with_offset(OffsetStyle::Fixed(BEIJING), || format(&at));
        assert_eq!(beijing, "2026-11-26T12:30:00+08:00");
        let both = with_offset(OffsetStyle::Alternate(BEIJING, KAZAKHSTAN), || {
            [format(&at), format(&at)]
        });
        assert!(both.contains(&"2026-11-26T12:30:00+08:00".to_string()));
        assert!(both.contains(&"2026-11-26T09:30:00+05:00".to_string()));
        // The style is restored afterwards.
        assert_eq!(format(&at), "2026-11-26T04:30:00Z");
    }

    #[test]
    fn style_is_restored_after_a_panic() {
        let result = std::panic::catch_unwind(|| {
            with_offset(OffsetStyle::Fixed(BEIJING), || panic!("boom"))
        });
        assert!(result.is_err());
        let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(format(&at), "2026-01-01T00:00:00Z");
    }
}
