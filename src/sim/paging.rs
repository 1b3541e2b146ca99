//! Page tokens of the snapshot lists.
//!
//! A token is the position of the last object of a page in the list's sort
//! order, written as fixed-width digits so that text order is list order.
//! Any string is therefore a position: the next page starts at the first
//! object whose token sorts after it. A client that sends back what it got
//! pages through the list; a token this server never wrote is answered, not
//! refused, as the contract defines no error for it.

/// The token of position `n`.
pub fn token(n: u64) -> String {
    format!("{n:020}")
}

/// The first position whose token sorts after `after`; `None` when every
/// position sorts before it.
pub fn first_after(after: &str) -> Option<u64> {
    if token(u64::MAX).as_str() <= after {
        return None;
    }
    // `token` is monotonic, so binary search for the first position past it.
    let (mut low, mut high) = (0u64, u64::MAX);
    while low < high {
        let mid = low + (high - low) / 2;
        if token(mid).as_str() > after {
            high = mid;
        } else {
            low = mid + 1;
        }
    }
    Some(low)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_sort_like_positions() {
        assert!(token(9) < token(10));
        assert!(token(123) < token(u64::MAX));
    }

    #[test]
    fn a_token_we_wrote_continues_after_it() {
        for n in [0, 1, 41, 12_345, 1 << 40] {
            assert_eq!(first_after(&token(n)), Some(n + 1));
        }
        assert_eq!(first_after(&token(u64::MAX)), None);
    }

    #[test]
    fn any_string_is_a_position() {
        assert_eq!(first_after(""), Some(0));
        assert_eq!(first_after("1"), Some(10u64.pow(19)));
        assert_eq!(first_after("5"), None, "every token starts with 0 or 1");
        assert_eq!(first_after("[Filtered]"), None);
        assert_eq!(first_after("zzz"), None);
        assert_eq!(first_after("-1"), Some(0));
        assert_eq!(first_after("00000000000000000041x"), Some(42));
    }
}
