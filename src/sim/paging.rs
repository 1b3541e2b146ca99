//! Page tokens of the snapshot lists.
//!
//! A token is the position of the last object of a page in the list's sort
//! order, written as fixed-width digits so that text order is list order;
//! the next page starts at the first object whose token sorts after it, so
//! a token stays good while the list changes. A string that is not a token
//! this server writes is refused (`400`), like an unknown cursor: a client
//! that sent a corrupted token must hear of it, not read an empty last page.

/// The token of position `n`.
pub fn token(n: u64) -> String {
    format!("{n:020}")
}

/// Reads a token back to its position; `None` for anything this server
/// does not write.
pub fn position(text: &str) -> Option<u64> {
    if text.len() == 20 && text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse().ok()
    } else {
        None
    }
}

/// A token of a pair of positions (e.g. cut-off, then serial).
pub fn pair_token(first: u64, second: u64) -> String {
    format!("{}.{}", token(first), token(second))
}

/// Reads a pair token back.
pub fn pair_position(text: &str) -> Option<(u64, u64)> {
    let (first, second) = text.split_once('.')?;
    Some((position(first)?, position(second)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_sort_like_positions() {
        assert!(token(9) < token(10));
        assert!(token(123) < token(u64::MAX));
        assert!(pair_token(1, 99) < pair_token(2, 0));
    }

    #[test]
    fn tokens_read_back() {
        for n in [0, 1, 41, 12_345, u64::MAX] {
            assert_eq!(position(&token(n)), Some(n));
        }
        assert_eq!(pair_position(&pair_token(7, 8)), Some((7, 8)));
    }

    #[test]
    fn anything_else_is_refused() {
        for text in [
            "",
            "41",
            "zzz",
            "[Filtered]",
            "-0000000000000000001",
            "99999999999999999999",
        ] {
            assert_eq!(position(text), None, "{text:?}");
        }
        assert_eq!(pair_position("00000000000000000001"), None);
    }
}
