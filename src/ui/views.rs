//! Lists derived from the board for each screen (departures, a train's
//! containers, parcels, holds), filtered and sorted. They are recomputed
//! only when the board or the filter or sort changed, and the parcel list
//! (which may hold a million rows) only while the Parcels screen is shown
//! and at most once a second while the feeds stream, so drawing never
//! scans the whole board and a session elsewhere holds no copy of it.

use chrono::{DateTime, Duration, Utc};

use crate::board::parcel::Parcel;
use crate::board::tally::Bucket;
use crate::board::{Board, ContainerEntry, TrainEntry};
use crate::domain::{Lang, Risk, TransshipmentStatus};

/// One term of a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Term {
    /// Any field contains the text.
    Any(String),
    Train(String),
    Container(String),
    Waybill(String),
    Declaration(String),
    Enterprise(String),
    Status(String),
    Risk(Risk),
}

/// A parcel filter: terms that must all match, e.g.
/// `train:X8017 risk:at_risk 义乌`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    text: String,
    terms: Vec<Term>,
}

fn has(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(needle)
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
            terms,
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
        self.terms.is_empty()
    }

    /// Whether a parcel passes.
    pub fn matches(&self, p: &Parcel) -> bool {
        self.terms.iter().all(|term| {
            let train = || p.train_id.as_deref().unwrap_or("");
            let container = || p.container_no.as_deref().unwrap_or("");
            let status = || {
                format!(
                    "{} {} {}",
                    p.status.code(),
                    p.status.label(Lang::En),
                    p.status.label(Lang::Zh)
                )
            };
            match term {
                Term::Train(v) => has(train(), v),
                Term::Container(v) => has(container(), v),
                Term::Waybill(v) => has(&p.particulars.waybill_no, v),
                Term::Declaration(v) => has(p.declaration_no.as_str(), v),
                Term::Enterprise(v) => has(&p.particulars.ebc.1, v) || has(&p.particulars.ebc.0, v),
                Term::Status(v) => has(&status(), v),
                Term::Risk(r) => p.assessment.risk == *r,
                Term::Any(v) => {
                    has(train(), v)
                        || has(container(), v)
                        || has(&p.particulars.waybill_no, v)
                        || has(p.declaration_no.as_str(), v)
                        || has(&p.particulars.ebc.1, v)
                        || has(&status(), v)
                        || p.assessment.risk.as_str().contains(v.as_str())
                }
            }
        })
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

fn urgency(p: &Parcel) -> (std::cmp::Reverse<Risk>, Duration) {
    (
        std::cmp::Reverse(p.assessment.risk),
        p.assessment.slack.unwrap_or(Duration::MAX),
    )
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
    parcels_at: Option<DateTime<Utc>>,
}

impl Views {
    /// Brings the lists up to the board and the inputs. The parcel list
    /// waits up to a second for a moving board, and is let go when not
    /// wanted. `still`: a board that moved on is not followed (a frozen
    /// display), unless parcels left it.
    pub fn refresh(&mut self, board: &Board, inputs: &Inputs, now: DateTime<Utc>, still: bool) {
        let inputs_changed = self.inputs.as_ref() != Some(inputs);
        // Parcels that left the board leave keys that name nothing (or,
        // once reused, another parcel): recompute at once then.
        let retired = board.retirements() != self.retirements;
        let board_changed = self.revision != Some(board.revision()) && (!still || retired);
        if !inputs_changed && !board_changed {
            return;
        }
        let sorting = inputs.sorting;
        self.departures = departures(board, sorting);
        self.containers = inputs
            .train
            .map_or_else(Keys::default, |k| containers(board, k));
        self.holds = holds(board, sorting);
        let due = self
            .parcels_at
            .is_none_or(|at| now - at >= Duration::seconds(1) || now < at);
        if !inputs.parcels {
            self.parcels = Keys::default();
            self.parcels_at = None;
            self.revision = Some(board.revision());
        } else if inputs_changed || due || retired {
            self.parcels = parcels(board, &inputs.filter, sorting);
            self.parcels_at = Some(now);
            self.revision = Some(board.revision());
        }
        self.retirements = board.retirements();
        self.inputs = Some(inputs.clone());
    }

    /// Forgets everything, so the next refresh recomputes all.
    pub fn invalidate(&mut self) {
        self.revision = None;
        self.inputs = None;
        self.parcels_at = None;
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
    let mut keys = t.containers.keys().to_vec();
    keys.sort_by_key(|k| {
        let c = board.container(*k).expect("member");
        (
            shed_rank(c),
            c.container.as_ref().and_then(|c| c.position),
            c.container_no.clone(),
        )
    });
    keys.into_iter().collect()
}

fn holds(board: &Board, sorting: Sorting) -> Keys {
    let mut keys: Vec<usize> = board
        .flagged()
        .filter(|(_, p)| p.is_held())
        .map(|(k, _)| k)
        .collect();
    match sorting.holds {
        ListSort::Urgency => keys.sort_by_key(|k| {
            let p = board.parcel(*k).expect("listed");
            (
                p.assessment.slack.unwrap_or(Duration::MAX),
                p.declaration_no.to_string(),
            )
        }),
        ListSort::Time => keys.sort_by_key(|k| {
            let p = board.parcel(*k).expect("listed");
            (
                p.hold.as_ref().map(|h| h.placed_at),
                p.declaration_no.to_string(),
            )
        }),
    }
    if sorting.reversed {
        keys.reverse();
    }
    keys.into_iter().collect()
}

/// The parcels passing `filter`, sorted.
pub fn parcels(board: &Board, filter: &Filter, sorting: Sorting) -> Keys {
    let mut rows: Vec<(usize, &Parcel)> =
        board.parcels().filter(|(_, p)| filter.matches(p)).collect();
    let number = |p: &Parcel| p.declaration_no.as_str().to_owned();
    match sorting.parcels {
        ParcelSort::Urgency => rows.sort_by_cached_key(|(_, p)| (urgency(p), number(p))),
        ParcelSort::Slack => rows
            .sort_by_cached_key(|(_, p)| (p.assessment.slack.unwrap_or(Duration::MAX), number(p))),
        ParcelSort::Stage => rows.sort_by_cached_key(|(_, p)| (Bucket::of(&p.path), number(p))),
        ParcelSort::Train => rows
            .sort_by_cached_key(|(_, p)| (p.train_id.clone(), p.container_no.clone(), number(p))),
        ParcelSort::Container => {
            rows.sort_by_cached_key(|(_, p)| (p.container_no.clone(), number(p)))
        }
        ParcelSort::Declaration => rows.sort_by_cached_key(|(_, p)| number(p)),
    }
    let mut keys: Vec<usize> = rows.into_iter().map(|(k, _)| k).collect();
    if sorting.reversed {
        keys.reverse();
    }
    keys.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_read_fields_and_free_text() {
        let f = Filter::parse("train:X8017 risk:at-risk 义乌").unwrap();
        assert_eq!(f.terms.len(), 3);
        assert_eq!(f.terms[1], Term::Risk(Risk::AtRisk));
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
