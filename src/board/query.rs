//! Finding parcels by what people type: terms that must all match (a
//! train, a container, a waybill, an inventory number, an enterprise, a
//! status, a risk class, or free text matching any of them). Fast on a
//! million parcels: what many parcels share (their train, container,
//! status, risk class, enterprise) is matched once per distinct value, what
//! each has alone (waybill, number) is compared without allocating, and the
//! parcels are read in parallel parts.

use super::parcel::Parcel;
use super::store::FastMap;
use super::{Board, ParcelKey};
use crate::domain::{Lang, Risk};

/// One term of a query (text lowercased).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// Any field contains the text.
    Any(String),
    /// The train's id contains it.
    Train(String),
    /// The container's number contains it.
    Container(String),
    /// The waybill contains it.
    Waybill(String),
    /// The inventory number contains it.
    Declaration(String),
    /// The enterprise's name or code contains it.
    Enterprise(String),
    /// The status code or its label (either language) contains it.
    Status(String),
    /// The risk class is this.
    Risk(Risk),
}

/// Whether `haystack` contains `needle` (lowercase), ignoring ASCII case;
/// other text is lowercased whole.
fn contains(haystack: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    if !haystack.is_ascii() {
        return haystack.to_lowercase().contains(needle);
    }
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    h.len() >= n.len()
        && h.windows(n.len())
            .any(|w| w.iter().zip(n).all(|(a, b)| a.to_ascii_lowercase() == *b))
}

/// What a term asks of one parcel, made ready for a million: its answers
/// for what parcels share (their train, container, status and risk class)
/// worked out once per value before the parcels are read.
enum Check {
    /// The train (by board key) passes.
    Train(Vec<bool>),
    /// The container (by board key) passes.
    Container(Vec<bool>),
    /// The status (by code id) passes.
    Status(Vec<bool>),
    /// The risk class passes.
    Risk([bool; Risk::ALL.len()]),
    /// The waybill contains the text.
    Waybill(String),
    /// The inventory number contains the text.
    Declaration(String),
    /// The enterprise's name or code contains the text.
    Enterprise(String),
    /// Any of them.
    Any {
        needle: String,
        train: Vec<bool>,
        container: Vec<bool>,
        status: Vec<bool>,
        risk: [bool; Risk::ALL.len()],
    },
}

/// Whether the entry of `key` in a table passes (no key: no).
fn passes(table: &[bool], key: u32) -> bool {
    table.get(key as usize).copied().unwrap_or(false)
}

impl Check {
    fn of(term: &Term, board: &Board) -> Check {
        let trains = |needle: &str| -> Vec<bool> {
            let mut table = Vec::new();
            for (key, t) in board.trains() {
                if key >= table.len() {
                    table.resize(key + 1, false);
                }
                table[key] = contains(&t.train_id, needle);
            }
            table
        };
        let containers = |needle: &str| -> Vec<bool> {
            let mut table = Vec::new();
            for (key, c) in board.containers() {
                if key >= table.len() {
                    table.resize(key + 1, false);
                }
                table[key] = contains(&c.container_no, needle);
            }
            table
        };
        let statuses = |needle: &str| -> Vec<bool> {
            let codes = &board.store.codes;
            (0..codes.len() as u32)
                .map(|id| {
                    let s = codes.code(id);
                    contains(&s.code(), needle)
                        || contains(&s.label(Lang::En), needle)
                        || contains(&s.label(Lang::Zh), needle)
                })
                .collect()
        };
        match term {
            Term::Train(v) => Check::Train(trains(v)),
            Term::Container(v) => Check::Container(containers(v)),
            Term::Status(v) => Check::Status(statuses(v)),
            Term::Risk(r) => Check::Risk(Risk::ALL.map(|risk| risk == *r)),
            Term::Waybill(v) => Check::Waybill(v.clone()),
            Term::Declaration(v) => Check::Declaration(v.clone()),
            Term::Enterprise(v) => Check::Enterprise(v.clone()),
            Term::Any(v) => Check::Any {
                needle: v.clone(),
                train: trains(v),
                container: containers(v),
                status: statuses(v),
                risk: Risk::ALL.map(|risk| risk.as_str().contains(v.as_str())),
            },
        }
    }

    /// Whether a parcel passes; `names` remembers the answers for the
    /// enterprise names read so far (one string per name and chunk of
    /// the store).
    fn passes(&self, p: &Parcel, names: &mut FastMap<usize, bool>) -> bool {
        let row = p.row();
        let risk = usize::from(row.risk).min(Risk::ALL.len() - 1);
        let mut by_name = |name: &str, needle: &str| {
            *names
                .entry(name.as_ptr() as usize)
                .or_insert_with(|| contains(name, needle))
        };
        match self {
            Check::Train(table) => passes(table, row.train),
            Check::Container(table) => passes(table, row.container),
            Check::Status(table) => passes(table, row.status),
            Check::Risk(classes) => classes[risk],
            Check::Waybill(v) => contains(p.heading().waybill_no, v),
            Check::Declaration(v) => p.with_number(|n| contains(n, v)),
            Check::Enterprise(v) => {
                let heading = p.heading();
                by_name(heading.ebc_name, v) || contains(heading.ebc_code, v)
            }
            Check::Any {
                needle,
                train,
                container,
                status,
                risk: classes,
            } => {
                passes(train, row.train)
                    || passes(container, row.container)
                    || passes(status, row.status)
                    || classes[risk]
                    || p.with_number(|n| contains(n, needle))
                    || {
                        let heading = p.heading();
                        contains(heading.waybill_no, needle) || by_name(heading.ebc_name, needle)
                    }
            }
        }
    }
}

/// Terms that must all match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    terms: Vec<Term>,
}

impl Query {
    /// A query of `terms`.
    pub fn new(terms: Vec<Term>) -> Query {
        Query { terms }
    }

    /// Whether it keeps every parcel.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The terms.
    pub fn terms(&self) -> &[Term] {
        &self.terms
    }

    /// Whether one parcel matches (for a few; [`Board::search`] for many).
    pub fn matches(&self, p: &Parcel) -> bool {
        let checks: Vec<Check> = self.terms.iter().map(|t| Check::of(t, p.board())).collect();
        let mut names = FastMap::default();
        checks.iter().all(|c| c.passes(p, &mut names))
    }
}

impl Board {
    /// The keys of the parcels `query` keeps, in key order. A million are
    /// read in parallel parts.
    pub fn search(&self, query: &Query) -> Vec<ParcelKey> {
        let checks: Vec<Check> = query.terms.iter().map(|t| Check::of(t, self)).collect();
        let parts = crate::parallel::over_ranges(self.store.slots(), |range| {
            let mut names = FastMap::default();
            self.store
                .rows_in(range)
                .map(|(key, _)| Parcel::new(self, key))
                .filter(|p| checks.iter().all(|c| c.passes(p, &mut names)))
                .map(|p| p.key())
                .collect::<Vec<_>>()
        });
        parts.concat()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_is_matched_without_allocating_and_other_text_lowercased() {
        assert!(contains("YT1234567890", "yt123"));
        assert!(contains("94022026E000012345", "e0000"));
        assert!(!contains("94022026E000012345", "i0000"));
        assert!(contains("义乌小商品", "义乌"));
        assert!(contains("ÉCOLE", "éco"));
        assert!(contains("anything", ""));
        assert!(!contains("ab", "abc"));
    }
}
