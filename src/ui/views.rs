//! Lists derived from the board for each screen (departures, a train's
//! containers, parcels, holds), filtered and sorted. They are recomputed
//! only when the board or the filter or sort changed, and the parcel list
//! (which may hold a million rows) only while it is on screen, and at most
//! once a second (or once per ten times what making it costs) while the
//! feeds stream, so drawing never scans the whole board and a session
//! elsewhere holds no copy of it.

use std::time::Instant;

use chrono::{DateTime, Duration, Utc};

use crate::board::parcel::Parcel;
use crate::board::query::{Query, Term};
use crate::board::tally::Bucket;
use crate::board::{Board, ContainerEntry, ParcelKey, TrainEntry};
use crate::domain::{Lang, Risk, TransshipmentStatus};

/// A parcel filter as typed: terms that must all match, e.g.
/// `train:X8017 risk:at_risk 义乌`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    text: String,
    query: Query,
}

impl Filter {
    /// Reads a filter; an unknown `field:` or risk name is an error.
    pub fn parse(text: &str) -> Result<Filter, String> {
        let mut terms = Vec::new();
        for word in text.split_whitespace() {
            let term = match word.split_once(':') {
                Some((field, value)) if !value.is_empty() => {
                    let value = value.to_lowercase();
                    match field.to_lowercase().as_str() {
                        "train" | "t" => Term::Train(value),
                        "container" | "c" => Term::Container(value),
                        "waybill" | "w" => Term::Waybill(value),
                        "declaration" | "decl" | "d" => Term::Declaration(value),
                        "enterprise" | "ebc" | "e" => Term::Enterprise(value),
                        "status" | "s" => Term::Status(value),
                        "risk" | "r" => {
                            Term::Risk(Risk::parse(&value.replace('-', "_")).ok_or_else(|| {
                                format!("risk:{value}? on_track, watch, at_risk, late, held")
                            })?)
                        }
                        other => {
                            return Err(format!(
                                "{other}:? train, container, waybill, declaration, enterprise, status, risk"
                            ));
                        }
                    }
                }
                _ => Term::Any(word.to_lowercase()),
            };
            terms.push(term);
        }
        Ok(Filter {
            text: text.trim().to_owned(),
            query: Query::new(terms),
        })
    }

    /// A filter of one field.
    pub fn field(field: &str, value: &str) -> Filter {
        Filter::parse(&format!("{field}:{value}")).unwrap_or_default()
    }

    /// The filter as typed.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether it keeps everything.
    pub fn is_empty(&self) -> bool {
        self.query.is_empty()
    }

    /// What it asks the board.
    pub fn query(&self) -> &Query {
        &self.query
    }

    /// Whether a parcel passes.
    pub fn matches(&self, p: &Parcel) -> bool {
        self.query.matches(p)
    }
}

/// How the parcels table is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ParcelSort {
    /// Worst class first, then least slack.
    #[default]
    Urgency,
    /// By slack.
    Slack,
    /// By stage reached.
    Stage,
    /// By train, then container.
    Train,
    /// By container.
    Container,
    /// By inventory number.
    Declaration,
}

impl ParcelSort {
    const ORDER: [ParcelSort; 6] = [
        ParcelSort::Urgency,
        ParcelSort::Slack,
        ParcelSort::Stage,
        ParcelSort::Train,
        ParcelSort::Container,
        ParcelSort::Declaration,
    ];

    /// The next column.
    pub fn next(self) -> ParcelSort {
        let i = ParcelSort::ORDER
            .iter()
            .position(|s| *s == self)
            .unwrap_or(0);
        ParcelSort::ORDER[(i + 1) % ParcelSort::ORDER.len()]
    }

    /// The column's name.
    pub fn name(self, lang: Lang) -> &'static str {
        let (en, zh) = match self {
            ParcelSort::Urgency => ("urgency", "紧急程度"),
            ParcelSort::Slack => ("slack", "余量"),
            ParcelSort::Stage => ("stage", "环节"),
            ParcelSort::Train => ("train", "班列"),
            ParcelSort::Container => ("container", "集装箱"),
            ParcelSort::Declaration => ("declaration", "清单编号"),
        };
        if lang == Lang::Zh { zh } else { en }
    }
}

/// How the departures and holds lists are sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListSort {
    /// Most urgent first.
    #[default]
    Urgency,
    /// By time (departure, or when the hold was placed).
    Time,
}

impl ListSort {
    /// The other one.
    pub fn next(self) -> ListSort {
        match self {
            ListSort::Urgency => ListSort::Time,
            ListSort::Time => ListSort::Urgency,
        }
    }

    /// The column's name.
    pub fn name(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (ListSort::Urgency, Lang::En) => "urgency",
            (ListSort::Time, Lang::En) => "time",
            (ListSort::Urgency, Lang::Zh) => "紧急程度",
            (ListSort::Time, Lang::Zh) => "时间",
        }
    }
}

/// How each list is sorted, and whether reversed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sorting {
    /// Departures.
    pub departures: ListSort,
    /// Parcels.
    pub parcels: ParcelSort,
    /// Holds.
    pub holds: ListSort,
    /// Reversed (applies to the list on screen when toggled).
    pub reversed: bool,
}

/// Trains with parcels at risk, late or held.
pub fn needs_attention(t: &TrainEntry) -> bool {
    t.tally.with_risk(Risk::AtRisk) + t.tally.with_risk(Risk::Late) + t.tally.with_risk(Risk::Held)
        > 0
}

/// The shed order of a container (for sorting a train's containers).
pub fn shed_rank(c: &ContainerEntry) -> u8 {
    match c.shed_status() {
        Some(TransshipmentStatus::Blocked) => 0,
        Some(TransshipmentStatus::InProgress) => 1,
        Some(TransshipmentStatus::Queued) => 2,
        Some(TransshipmentStatus::Pending) => 3,
        Some(TransshipmentStatus::Unknown(_)) | None => 4,
        Some(TransshipmentStatus::Done) => 5,
    }
}

/// Board keys in a list, four bytes each: the list of a million parcels
/// is 4 MB.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keys(Vec<u32>);

impl Keys {
    /// A list without rows.
    pub const EMPTY: Keys = Keys(Vec::new());

    /// Rows in the list.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it has no rows.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The key on a row.
    pub fn get(&self, row: usize) -> Option<usize> {
        self.0.get(row).map(|k| *k as usize)
    }

    /// The keys, in order.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().map(|k| *k as usize)
    }

    /// The row of a key.
    pub fn position(&self, key: usize) -> Option<usize> {
        self.iter().position(|k| k == key)
    }
}

impl FromIterator<usize> for Keys {
    /// Board keys fit in 32 bits: the board holds at most a few million
    /// objects (a snapshot is bounded by `MAX_SNAPSHOT_OBJECTS`).
    fn from_iter<I: IntoIterator<Item = usize>>(keys: I) -> Keys {
        Keys(
            keys.into_iter()
                .filter_map(|k| u32::try_from(k).ok())
                .collect(),
        )
    }
}

impl From<Vec<ParcelKey>> for Keys {
    fn from(keys: Vec<ParcelKey>) -> Keys {
        Keys(keys)
    }
}

/// What a session's lists are made of, besides the board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inputs {
    /// The parcel filter.
    pub filter: Filter,
    /// How the lists are sorted.
    pub sorting: Sorting,
    /// The train whose containers are listed.
    pub train: Option<usize>,
    /// Whether the parcel list is wanted (its screen is shown).
    pub parcels: bool,
}

/// The lists of every screen, as of a board revision.
#[derive(Debug, Default)]
pub struct Views {
    /// Train keys for the departures board.
    pub departures: Keys,
    /// Container keys of the open train.
    pub containers: Keys,
    /// Parcel keys passing the filter, sorted; empty unless wanted.
    pub parcels: Keys,
    /// Held parcel keys, sorted.
    pub holds: Keys,
    revision: Option<u64>,
    retirements: u64,
    inputs: Option<Inputs>,
    parcels_made: Option<ParcelsMade>,
}

/// When the parcel list was made, for which board, and how long it took.
#[derive(Debug, Clone, Copy)]
struct ParcelsMade {
    at: DateTime<Utc>,
    revision: u64,
    cost: std::time::Duration,
}

impl ParcelsMade {
    /// Whether a moving board may have it remade: a second after it was
    /// made, or ten times as long as making it took, whichever is later,
    /// so a big board costs the loop at most a tenth of its time.
    fn due(&self, now: DateTime<Utc>) -> bool {
        let wait = Duration::from_std(self.cost * 10)
            .unwrap_or(Duration::MAX)
            .max(Duration::seconds(1));
        now - self.at >= wait || now < self.at
    }
}

impl Views {
    /// Brings the lists up to the board and the inputs. The parcel list is
    /// made only while wanted, and waits (see [`ParcelsMade::due`]) for a
    /// moving board. `still`: a board that moved on is not followed (a
    /// frozen display), unless parcels left it.
    pub fn refresh(&mut self, board: &Board, inputs: &Inputs, now: DateTime<Utc>, still: bool) {
        let inputs_changed = self.inputs.as_ref() != Some(inputs);
        // Parcels that left the board leave keys that name nothing (or,
        // once reused, another parcel): recompute at once then.
        let retired = board.retirements() != self.retirements;
        let board_changed = self.revision != Some(board.revision()) && (!still || retired);
        let sorting = inputs.sorting;
        if inputs_changed || board_changed {
            self.departures = departures(board, sorting);
            self.containers = inputs
                .train
                .map_or_else(Keys::default, |k| containers(board, k));
            self.holds = holds(board, sorting);
            self.revision = Some(board.revision());
        }
        if !inputs.parcels {
            // Out of sight, the list is let go rather than kept up.
            self.parcels = Keys::default();
            self.parcels_made = None;
        } else {
            let remake = match self.parcels_made {
                None => true,
                Some(_) if inputs_changed || retired => true,
                Some(made) => made.revision != board.revision() && !still && made.due(now),
            };
            if remake {
                let started = Instant::now();
                self.parcels = parcels(board, &inputs.filter, sorting);
                self.parcels_made = Some(ParcelsMade {
                    at: now,
                    revision: board.revision(),
                    cost: started.elapsed(),
                });
            }
        }
        self.retirements = board.retirements();
        self.inputs = Some(inputs.clone());
    }

    /// Forgets everything, so the next refresh recomputes all.
    pub fn invalidate(&mut self) {
        self.revision = None;
        self.inputs = None;
        self.parcels_made = None;
    }
}

fn departures(board: &Board, sorting: Sorting) -> Keys {
    let mut keys = board.departures();
    if sorting.departures == ListSort::Urgency {
        // Trains with parcels in trouble first, departed ones last, each
        // group in departure order (the sort is stable).
        keys.sort_by_key(|k| {
            let t = board.train(*k).expect("listed");
            (t.is_gone(), !needs_attention(t))
        });
    }
    if sorting.reversed {
        keys.reverse();
    }
    keys.into_iter().collect()
}

fn containers(board: &Board, train: usize) -> Keys {
    let Some(t) = board.train(train) else {
        return Keys::default();
    };
    let mut keys: Vec<u32> = t.containers.keys().to_vec();
    keys.sort_by_key(|k| {
        let c = board.container(*k as usize).expect("member");
        (
            shed_rank(c),
            c.container.as_ref().and_then(|c| c.position),
            c.container_no.clone(),
        )
    });
    keys.into()
}

fn holds(board: &Board, sorting: Sorting) -> Keys {
    let mut held: Vec<Parcel> = board.held().collect();
    match sorting.holds {
        ListSort::Urgency => held.sort_by_key(|p| (p.slack().unwrap_or(Duration::MAX), p.number())),
        ListSort::Time => held.sort_by_key(|p| (p.hold().map(|h| h.placed_at), p.number())),
    }
    let mut keys: Vec<ParcelKey> = held.iter().map(|p| p.key()).collect();
    if sorting.reversed {
        keys.reverse();
    }
    keys.into()
}

/// Ranks of board keys (a train's or a container's) in the order of their
/// text, from 1; 0 for none.
fn ranks<'a>(entries: impl Iterator<Item = (usize, &'a str)>) -> Vec<u32> {
    let mut named: Vec<(usize, &str)> = entries.collect();
    named.sort_unstable_by(|a, b| a.1.cmp(b.1));
    let mut ranks = vec![0; named.iter().map(|(k, _)| k + 1).max().unwrap_or(0)];
    for (rank, (key, _)) in named.iter().enumerate() {
        ranks[*key] = rank as u32 + 1;
    }
    ranks
}

/// The parcels passing `filter`, sorted.
pub fn parcels(board: &Board, filter: &Filter, sorting: Sorting) -> Keys {
    let keys = board.search(filter.query());
    // Each parcel's place in the order as one 128-bit number (what it is
    // sorted by, then its inventory number), so sorting a million compares
    // integers.
    let slack = |p: &Parcel| -> u128 {
        p.slack()
            .map_or(u32::MAX, |s| {
                (s.num_seconds().clamp(-(1 << 31) + 1, (1 << 31) - 1) + (1 << 31)) as u32
            })
            .into()
    };
    let number = |p: &Parcel| u128::from(p.number().bits());
    let (trains, containers) = match sorting.parcels {
        ParcelSort::Train | ParcelSort::Container => (
            ranks(board.trains().map(|(k, t)| (k, t.train_id.as_str()))),
            ranks(
                board
                    .containers()
                    .map(|(k, c)| (k, c.container_no.as_str())),
            ),
        ),
        _ => (Vec::new(), Vec::new()),
    };
    let rank = |ranks: &[u32], key: Option<usize>| -> u128 {
        key.and_then(|k| ranks.get(k)).copied().unwrap_or(0).into()
    };
    let place = |p: &Parcel| -> u128 {
        match sorting.parcels {
            ParcelSort::Urgency => {
                let worst_first = (Risk::ALL.len() - p.risk() as usize) as u128;
                (worst_first << 96) | (slack(p) << 64) | number(p)
            }
            ParcelSort::Slack => (slack(p) << 64) | number(p),
            ParcelSort::Stage => ((Bucket::of(&p.path()) as u128) << 64) | number(p),
            ParcelSort::Train => {
                (rank(&trains, p.train_key()) << 96)
                    | (rank(&containers, p.container_key()) << 64)
                    | number(p)
            }
            ParcelSort::Container => (rank(&containers, p.container_key()) << 64) | number(p),
            ParcelSort::Declaration => number(p),
        }
    };
    let placed = crate::parallel::sorted(keys.len(), |range| {
        keys[range]
            .iter()
            .filter_map(|k| board.parcel(*k).map(|p| (place(&p), *k)))
            .collect()
    });
    let mut keys: Vec<ParcelKey> = placed.into_iter().map(|(_, k)| k).collect();
    if sorting.reversed {
        keys.reverse();
    }
    keys.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_read_fields_and_free_text() {
        let f = Filter::parse("train:X8017 risk:at-risk 义乌").unwrap();
        assert_eq!(f.query().terms().len(), 3);
        assert_eq!(f.query().terms()[1], Term::Risk(Risk::AtRisk));
        assert_eq!(f.text(), "train:X8017 risk:at-risk 义乌");
        assert!(Filter::parse("colour:red").unwrap_err().contains("colour"));
        assert!(
            Filter::parse("risk:doomed")
                .unwrap_err()
                .contains("on_track")
        );
        assert!(Filter::parse("   ").unwrap().is_empty());
    }

    #[test]
    fn parcel_sorts_cycle() {
        let mut sort = ParcelSort::default();
        let mut seen = vec![sort];
        for _ in 0..5 {
            sort = sort.next();
            seen.push(sort);
        }
        assert_eq!(sort.next(), ParcelSort::Urgency);
        seen.dedup();
        assert_eq!(seen.len(), 6);
    }
}
