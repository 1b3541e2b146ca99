//! Lists derived from the board for each screen (departures, a train's
//! containers, parcels, holds), filtered and sorted. They are recomputed
//! only when the board or the filter or sort changed, and the parcel list
//! (which may hold a million rows) only while it is on screen, and at most
//! once a second (or once per ten times what making it costs) while the
//! feeds stream, so drawing never scans the whole board.

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

/// The lists of every screen, as of a board revision. Keys are board
/// keys (a train's, a container's, a parcel's).
#[derive(Debug, Default)]
pub struct Views {
    /// Train keys for the departures board.
    pub departures: Vec<u32>,
    /// Container keys of the open train.
    pub containers: Vec<u32>,
    /// Parcel keys passing the filter, sorted (kept only while the
    /// parcels are on screen).
    pub parcels: Vec<ParcelKey>,
    /// Held parcel keys, sorted.
    pub holds: Vec<ParcelKey>,
    revision: Option<u64>,
    retirements: u64,
    inputs: Option<(Filter, Sorting, Option<usize>)>,
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
    /// Brings the lists up to the board, the filter and the sort. The
    /// parcel list is made only while `parcels_shown`, and waits (see
    /// [`ParcelsMade::due`]) for a moving board.
    pub fn refresh(
        &mut self,
        board: &Board,
        filter: &Filter,
        sorting: Sorting,
        train: Option<usize>,
        parcels_shown: bool,
        now: DateTime<Utc>,
    ) {
        let inputs = (filter.clone(), sorting, train);
        let inputs_changed = self.inputs.as_ref() != Some(&inputs);
        let board_changed = self.revision != Some(board.revision());
        if inputs_changed || board_changed {
            self.departures = departures(board, sorting);
            self.containers = train.map_or_else(Vec::new, |k| containers(board, k));
            self.holds = holds(board, sorting);
            self.revision = Some(board.revision());
            self.inputs = Some(inputs);
        }
        self.refresh_parcels(board, filter, sorting, parcels_shown, inputs_changed, now);
    }

    fn refresh_parcels(
        &mut self,
        board: &Board,
        filter: &Filter,
        sorting: Sorting,
        shown: bool,
        inputs_changed: bool,
        now: DateTime<Utc>,
    ) {
        let current = self
            .parcels_made
            .is_some_and(|made| made.revision == board.revision());
        if !shown {
            // Out of sight, a list that no longer matches the board is
            // dropped rather than kept up.
            if !current {
                self.parcels = Vec::new();
                self.parcels_made = None;
            }
            return;
        }
        // Parcels that left the board leave keys that name nothing (or,
        // once reused, another parcel): remake at once then.
        let retired = board.retirements() != self.retirements;
        let remake = match self.parcels_made {
            None => true,
            Some(_) if inputs_changed || retired => true,
            Some(made) => !current && made.due(now),
        };
        if remake {
            let started = Instant::now();
            self.parcels = parcels(board, filter, sorting);
            self.retirements = board.retirements();
            self.parcels_made = Some(ParcelsMade {
                at: now,
                revision: board.revision(),
                cost: started.elapsed(),
            });
        }
    }

    /// Forgets everything, so the next refresh recomputes all.
    pub fn invalidate(&mut self) {
        self.revision = None;
        self.inputs = None;
        self.parcels_made = None;
    }
}

fn departures(board: &Board, sorting: Sorting) -> Vec<u32> {
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
    keys.into_iter().map(|k| k as u32).collect()
}

fn containers(board: &Board, train: usize) -> Vec<u32> {
    let Some(t) = board.train(train) else {
        return Vec::new();
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
    keys
}

fn holds(board: &Board, sorting: Sorting) -> Vec<ParcelKey> {
    let mut held: Vec<Parcel> = board.held().collect();
    match sorting.holds {
        ListSort::Urgency => held.sort_by_key(|p| (p.slack().unwrap_or(Duration::MAX), p.number())),
        ListSort::Time => held.sort_by_key(|p| (p.hold().map(|h| h.placed_at), p.number())),
    }
    let mut keys: Vec<ParcelKey> = held.iter().map(|p| p.key()).collect();
    if sorting.reversed {
        keys.reverse();
    }
    keys
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

fn parcels(board: &Board, filter: &Filter, sorting: Sorting) -> Vec<ParcelKey> {
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
    keys
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
