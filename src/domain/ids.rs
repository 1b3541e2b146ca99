//! Identifiers of the domain, with the validation rules of `DOMAIN.md`.
//!
//! Each identifier keeps the text as the upstream system wrote it (made safe
//! for a terminal, like all [`FeedText`]) and validates on demand: a bad
//! identifier is shown and flagged, never dropped.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::text::FeedText;

/// Why an identifier failed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdError {
    /// Wrong number of characters.
    Length { expected: usize, found: usize },
    /// A character that may not stand at this position.
    Character { position: usize, found: char },
    /// The check digit does not match the rest.
    CheckDigit { expected: u32, found: u32 },
    /// A date part that is not a calendar date.
    Date,
}

impl fmt::Display for IdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdError::Length { expected, found } => {
                write!(f, "{found} characters, expected {expected}")
            }
            IdError::Character { position, found } => {
                write!(f, "unexpected {found:?} at position {}", position + 1)
            }
            IdError::CheckDigit { expected, found } => {
                write!(f, "check digit {found}, expected {expected}")
            }
            IdError::Date => write!(f, "not a calendar date"),
        }
    }
}

impl std::error::Error for IdError {}

macro_rules! identifier {
    ($(#[$meta:meta])* $name:ident, $check:path) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(FeedText);

        impl $name {
            /// Wraps the text as written (made safe for a terminal), valid
            /// or not.
            pub fn new(text: impl AsRef<str>) -> Self {
                $name(FeedText::new(text.as_ref()))
            }

            /// The text as written upstream.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The text, as shared feed text.
            pub fn text(&self) -> &FeedText {
                &self.0
            }

            /// Checks the identifier against its rules.
            pub fn validate(&self) -> Result<(), IdError> {
                $check(&self.0)
            }

            /// Whether [`Self::validate`] passes.
            pub fn is_valid(&self) -> bool {
                self.validate().is_ok()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                $name::new(text)
            }
        }
    };
}

identifier!(
    /// ISO 6346 container number: owner code, category `U`, serial, check digit.
    ContainerNo,
    check_container_no
);
identifier!(
    /// Broad-gauge (1520 mm) wagon number: 8 digits, the last a Luhn check digit.
    WagonNo,
    check_wagon_no
);
identifier!(
    /// Chinese standard-gauge (1435 mm) wagon number: 7 digits.
    StandardWagonNo,
    check_standard_wagon_no
);
identifier!(
    /// Customs inventory number (invtNo): customs code, year, `E`/`I`, serial.
    DeclarationNo,
    check_declaration_no
);
identifier!(
    /// China E-Port number: `B`, filing date `YYYYMMDD`, 9-digit serial.
    PreNo,
    check_pre_no
);
identifier!(
    /// Station code: a Chinese telegraph code (`AKR`) or a 6-digit ESR code.
    StationCode,
    check_station_code
);

fn expect_len(text: &str, expected: usize) -> Result<(), IdError> {
    let found = text.chars().count();
    if found == expected {
        Ok(())
    } else {
        Err(IdError::Length { expected, found })
    }
}

fn expect_digits(text: &str, range: std::ops::Range<usize>) -> Result<(), IdError> {
    for (position, c) in text.chars().enumerate() {
        if range.contains(&position) && !c.is_ascii_digit() {
            return Err(IdError::Character { position, found: c });
        }
    }
    Ok(())
}

fn digit(c: char) -> u32 {
    c.to_digit(10).expect("checked digit")
}

/// ISO 6346 letter values: A=10, then up by one skipping multiples of 11.
fn iso6346_letter_value(c: char) -> u32 {
    let mut value = 10;
    for _ in 'A'..c {
        value += 1;
        if value % 11 == 0 {
            value += 1;
        }
    }
    value
}

/// The ISO 6346 check digit of the first ten characters of a container number.
pub fn iso6346_check_digit(first_ten: &str) -> Option<u32> {
    let mut sum = 0;
    for (position, c) in first_ten.chars().enumerate() {
        let value = match c {
            'A'..='Z' => iso6346_letter_value(c),
            '0'..='9' => digit(c),
            _ => return None,
        };
        sum += value << position;
    }
    Some(sum % 11 % 10)
}

fn check_container_no(text: &str) -> Result<(), IdError> {
    expect_len(text, 11)?;
    for (position, c) in text.chars().enumerate() {
        let ok = match position {
            0..=2 => c.is_ascii_uppercase(),
            3 => matches!(c, 'U' | 'J' | 'Z'),
            _ => c.is_ascii_digit(),
        };
        if !ok {
            return Err(IdError::Character { position, found: c });
        }
    }
    let expected = iso6346_check_digit(&text[..10]).expect("validated characters");
    let found = digit(text.as_bytes()[10] as char);
    if expected == found {
        Ok(())
    } else {
        Err(IdError::CheckDigit { expected, found })
    }
}

/// The check digit of a broad-gauge wagon number's first seven digits.
pub fn wagon_check_digit(first_seven: &str) -> Option<u32> {
    let mut sum = 0;
    for (i, c) in first_seven.chars().enumerate() {
        let product = c.to_digit(10)? * if i % 2 == 0 { 2 } else { 1 };
        sum += product / 10 + product % 10;
    }
    Some((10 - sum % 10) % 10)
}

fn check_wagon_no(text: &str) -> Result<(), IdError> {
    expect_len(text, 8)?;
    expect_digits(text, 0..8)?;
    let expected = wagon_check_digit(&text[..7]).expect("validated digits");
    let found = digit(text.as_bytes()[7] as char);
    if expected == found {
        Ok(())
    } else {
        Err(IdError::CheckDigit { expected, found })
    }
}

impl WagonNo {
    /// The wagon kind (first digit): 4 is a flat wagon, which carries containers.
    pub fn kind(&self) -> Option<u32> {
        self.0.chars().next().and_then(|c| c.to_digit(10))
    }
}

fn check_standard_wagon_no(text: &str) -> Result<(), IdError> {
    expect_len(text, 7)?;
    expect_digits(text, 0..7)
}

fn check_declaration_no(text: &str) -> Result<(), IdError> {
    expect_len(text, 18)?;
    expect_digits(text, 0..8)?;
    let flag = text.chars().nth(8).expect("length checked");
    if !matches!(flag, 'E' | 'I') {
        return Err(IdError::Character {
            position: 8,
            found: flag,
        });
    }
    expect_digits(text, 9..18)
}

impl DeclarationNo {
    /// The 4-digit customs code (9402 is Alashankou customs).
    pub fn customs_code(&self) -> Option<&str> {
        self.0.get(..4)
    }

    /// Whether the inventory is an export (`E`).
    pub fn is_export(&self) -> bool {
        self.0.as_bytes().get(8) == Some(&b'E')
    }
}

fn check_pre_no(text: &str) -> Result<(), IdError> {
    expect_len(text, 18)?;
    let first = text.chars().next().expect("length checked");
    if first != 'B' {
        return Err(IdError::Character {
            position: 0,
            found: first,
        });
    }
    expect_digits(text, 1..18)?;
    chrono::NaiveDate::parse_from_str(&text[1..9], "%Y%m%d")
        .map(|_| ())
        .map_err(|_| IdError::Date)
}

/// The check digit (6th digit) of a 5-digit ESR station code.
pub fn esr_check_digit(first_five: &str) -> Option<u32> {
    let digits: Vec<u32> = first_five
        .chars()
        .map(|c| c.to_digit(10))
        .collect::<Option<_>>()?;
    let weighted =
        |start: u32| -> u32 { digits.iter().zip(start..).map(|(d, w)| d * w).sum::<u32>() % 11 };
    let first = weighted(1);
    if first < 10 {
        return Some(first);
    }
    let second = weighted(3);
    Some(if second < 10 { second } else { 0 })
}

fn check_station_code(text: &str) -> Result<(), IdError> {
    let len = text.chars().count();
    if len == 3 {
        for (position, c) in text.chars().enumerate() {
            if !c.is_ascii_uppercase() {
                return Err(IdError::Character { position, found: c });
            }
        }
        return Ok(());
    }
    expect_len(text, 6)?;
    expect_digits(text, 0..6)?;
    let expected = esr_check_digit(&text[..5]).expect("validated digits");
    let found = digit(text.as_bytes()[5] as char);
    if expected == found {
        Ok(())
    } else {
        Err(IdError::CheckDigit { expected, found })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_numbers_from_domain_notes() {
        assert!(ContainerNo::from("CSQU3054383").is_valid());
        assert!(ContainerNo::from("MEDU8707688").is_valid());
        assert_eq!(
            ContainerNo::from("MSCU6639871").validate(),
            Err(IdError::CheckDigit {
                expected: 0,
                found: 1
            })
        );
    }

    #[test]
    fn container_number_shape() {
        assert!(matches!(
            ContainerNo::from("CSQU305438").validate(),
            Err(IdError::Length { .. })
        ));
        assert!(matches!(
            ContainerNo::from("CSQX3054383").validate(),
            Err(IdError::Character { position: 3, .. })
        ));
        assert!(matches!(
            ContainerNo::from("csqu3054383").validate(),
            Err(IdError::Character { position: 0, .. })
        ));
        assert!(matches!(
            ContainerNo::from("CSQU30543８3").validate(),
            Err(IdError::Character { .. })
        ));
    }

    #[test]
    fn iso6346_letter_values_skip_multiples_of_eleven() {
        let values: Vec<u32> = ['A', 'B', 'K', 'L', 'U', 'V', 'Z']
            .into_iter()
            .map(iso6346_letter_value)
            .collect();
        assert_eq!(values, [10, 12, 21, 23, 32, 34, 38]);
    }

    #[test]
    fn wagon_numbers_from_domain_notes() {
        assert!(WagonNo::from("28087658").is_valid());
        assert_eq!(
            WagonNo::from("28087659").validate(),
            Err(IdError::CheckDigit {
                expected: 8,
                found: 9
            })
        );
        assert!(WagonNo::from("2808765").validate().is_err());
        assert!(WagonNo::from("2808765A").validate().is_err());
        assert_eq!(WagonNo::from("28087658").kind(), Some(2));
    }

    #[test]
    fn standard_gauge_wagons_have_seven_digits() {
        assert!(StandardWagonNo::from("5012345").is_valid());
        assert!(StandardWagonNo::from("50123456").validate().is_err());
    }

    #[test]
    fn declaration_numbers() {
        let no = DeclarationNo::from("94022026E000012345");
        assert!(no.is_valid());
        assert_eq!(no.customs_code(), Some("9402"));
        assert!(no.is_export());
        assert!(DeclarationNo::from("94022026I000012345").is_valid());
        assert!(
            DeclarationNo::from("94022026X000012345")
                .validate()
                .is_err()
        );
        assert!(DeclarationNo::from("94022026E00001234").validate().is_err());
        assert!(
            DeclarationNo::from("9402202AE000012345")
                .validate()
                .is_err()
        );
    }

    #[test]
    fn e_port_numbers() {
        assert!(PreNo::from("B20261126000000042").is_valid());
        assert_eq!(
            PreNo::from("B20261332000000042").validate(),
            Err(IdError::Date)
        );
        assert!(PreNo::from("A20261126000000042").validate().is_err());
        assert!(PreNo::from("B2026112600000004").validate().is_err());
    }

    #[test]
    fn station_codes_from_domain_notes() {
        assert!(StationCode::from("AKR").is_valid());
        assert!(StationCode::from("708507").is_valid());
        assert!(StationCode::from("722400").is_valid());
        assert!(matches!(
            StationCode::from("708508").validate(),
            Err(IdError::CheckDigit { expected: 7, .. })
        ));
        assert!(StationCode::from("akr").validate().is_err());
        assert!(StationCode::from("70850").validate().is_err());
    }

    #[test]
    fn esr_second_weighting_when_first_gives_ten() {
        // 1,2,3,4,5 weights on 10008: 1+0+0+0+40 = 41 % 11 = 8.
        assert_eq!(esr_check_digit("10008"), Some(8));
        // 90000: 9 % 11 = 9; 00009: 45 % 11 = 1.
        assert_eq!(esr_check_digit("00009"), Some(1));
        // 00002: 10 % 11 = 10, then 3..7 weights: 14 % 11 = 3.
        assert_eq!(esr_check_digit("00002"), Some(3));
    }

    #[test]
    fn identifiers_round_trip_as_written() {
        let json = r#""MSCU6639871""#;
        let no: ContainerNo = serde_json::from_str(json).unwrap();
        assert_eq!(no.as_str(), "MSCU6639871");
        assert_eq!(serde_json::to_string(&no).unwrap(), json);
    }
}
