//! Work over a long range split across the machine's cores (at most four),
//! for the few jobs that read a whole million-parcel board at once:
//! filtering and sorting the parcel list. Short ranges stay on the calling
//! thread.

use std::ops::Range;

/// Below this, splitting costs more than it saves.
const WORTH_SPLITTING: usize = 1 << 16;

/// The most threads one job takes.
const MOST_THREADS: usize = 4;

/// Runs `work` over consecutive parts of `0..len`, in parallel when `len`
/// is long; the results in the order of the parts.
pub fn over_ranges<T: Send>(len: usize, work: impl Fn(Range<usize>) -> T + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(MOST_THREADS);
    if len < WORTH_SPLITTING || threads < 2 {
        return vec![work(0..len)];
    }
    let part = len.div_ceil(threads);
    let work = &work;
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let range = (i * part).min(len)..((i + 1) * part).min(len);
                scope.spawn(move || work(range))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

/// Makes the items of each part of `0..len` and sorts them, in parallel
/// when `len` is long; all of them in order.
pub fn sorted<T: Ord + Send + Copy>(
    len: usize,
    make: impl Fn(Range<usize>) -> Vec<T> + Sync,
) -> Vec<T> {
    let mut parts = over_ranges(len, |range| {
        let mut part = make(range);
        part.sort_unstable();
        part
    });
    if parts.len() == 1 {
        return parts.pop().unwrap_or_default();
    }
    let mut out = Vec::with_capacity(parts.iter().map(Vec::len).sum());
    merge(parts, &mut out);
    out
}

/// Merges sorted parts into `out`.
fn merge<T: Ord + Copy>(parts: Vec<Vec<T>>, out: &mut Vec<T>) {
    let mut heads: Vec<std::iter::Peekable<std::vec::IntoIter<T>>> = parts
        .into_iter()
        .map(|p| p.into_iter().peekable())
        .collect();
    loop {
        let next = heads
            .iter_mut()
            .enumerate()
            .filter_map(|(i, h)| h.peek().map(|v| (*v, i)))
            .min();
        match next {
            Some((_, i)) => out.extend(heads[i].next()),
            None => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_ranges_are_split_in_order_and_cover_everything() {
        let len = WORTH_SPLITTING * 3 + 7;
        let parts = over_ranges(len, |range| range);
        assert_eq!(parts.first().map(|r| r.start), Some(0));
        assert_eq!(parts.last().map(|r| r.end), Some(len));
        for pair in parts.windows(2) {
            assert_eq!(pair[0].end, pair[1].start);
        }
        assert_eq!(over_ranges(10, |range| range), vec![0..10]);
    }

    #[test]
    fn sorting_in_parts_sorts() {
        let items: Vec<u64> = (0..200_000u64)
            .map(|i| i.wrapping_mul(2_654_435_761) % 100_003)
            .collect();
        let mut expected = items.clone();
        expected.sort_unstable();
        assert_eq!(sorted(items.len(), |range| items[range].to_vec()), expected);
        assert_eq!(sorted(3, |range| items[range].to_vec()), {
            let mut few = items[..3].to_vec();
            few.sort_unstable();
            few
        });
    }
}
