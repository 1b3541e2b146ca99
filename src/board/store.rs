//! Where the board keeps a million parcels: compactly. A parcel is a fixed
//! row of numbers (its inventory number packed in eight bytes, keys of its
//! train and container, codes, instants in milliseconds, its verdict); its
//! details (waybill, enterprise, goods…) are encoded in chunks of an arena
//! filled in the order parcels arrive and freed whole once every parcel in
//! one has left; its history keeps its latest moments as twelve-byte marks.
//! Repeated text is interned: across the board for the few words events
//! carry (train ids, officers, codes), per chunk for the details.
//!
//! The store only keeps: what a parcel's verdict is, how it is counted and
//! when it is judged again are the board's and the judge's business.

use std::collections::HashMap;
use std::hash::BuildHasher;

use chrono::{DateTime, Utc};
use foldhash::fast::RandomState;

use super::{ContainerEntry, TrainEntry};
use crate::domain::text::{SafeText, SharedText};
use crate::domain::{
    DeclarationNo, FeedText, Hold, Inspection, Procedure, ReceiptStatus, StagePath, StageState,
};

/// A map with a fast hash that a server cannot aim at (the seed is random).
pub type FastMap<K, V> = HashMap<K, V, RandomState>;

/// A parcel's slot in the store.
pub type ParcelKey = u32;

/// No key.
pub const NONE: u32 = u32::MAX;

/// An instant to the millisecond: what the store keeps of a `DateTime`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Stamp(i64);

impl Stamp {
    /// No instant.
    pub const NONE: Stamp = Stamp(i64::MIN);

    /// An instant, to the millisecond.
    pub fn of(at: DateTime<Utc>) -> Stamp {
        Stamp(at.timestamp_millis())
    }

    /// An instant if there is one.
    pub fn of_opt(at: Option<DateTime<Utc>>) -> Stamp {
        at.map_or(Stamp::NONE, Stamp::of)
    }

    /// The instant.
    pub fn at(self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.0).unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// The instant, unless there is none.
    pub fn get(self) -> Option<DateTime<Utc>> {
        (self != Stamp::NONE).then(|| self.at())
    }

    /// Milliseconds since the epoch.
    pub fn millis(self) -> i64 {
        self.0
    }
}

/// An inventory number in eight bytes: packed (customs code, year, E/I,
/// serial) when it is of the standard form, else the place of its text in
/// the store's table of other numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Number(u64);

/// The top bit: the number is an index into the table of other numbers.
const OTHER: u64 = 1 << 63;

impl Number {
    /// The packed bits: standard numbers order as their text does, and
    /// before every other number (those in the order the board met them).
    pub fn bits(self) -> u64 {
        self.0
    }

    /// A standard number, packed; `None` for any other text.
    fn pack(text: &str) -> Option<Number> {
        if !DeclarationNo::new(text).is_valid() {
            return None;
        }
        let b = text.as_bytes();
        let digits = |range: std::ops::Range<usize>| -> u64 {
            b[range].iter().fold(0, |n, d| n * 10 + u64::from(d - b'0'))
        };
        // E before I, as in the text.
        let import = u64::from(b[8] == b'I');
        Some(Number(
            (digits(0..4) << 45) | (digits(4..8) << 31) | (import << 30) | digits(9..18),
        ))
    }

    /// Writes a standard number into `out`; `false` for another one.
    fn unpack(self, out: &mut [u8; 18]) -> bool {
        if self.0 & OTHER != 0 {
            return false;
        }
        fn put(digits: &mut [u8], mut n: u64) {
            for d in digits.iter_mut().rev() {
                *d = b'0' + (n % 10) as u8;
                n /= 10;
            }
        }
        put(&mut out[0..4], (self.0 >> 45) & 0x3fff);
        put(&mut out[4..8], (self.0 >> 31) & 0x3fff);
        out[8] = if (self.0 >> 30) & 1 == 1 { b'I' } else { b'E' };
        put(&mut out[9..18], self.0 & 0x3fff_ffff);
        true
    }
}

/// The inventory numbers that are not of the standard form (shown, never
/// dropped), by place.
#[derive(Debug, Default)]
struct OtherNumbers {
    texts: Vec<FeedText>,
    places: FastMap<FeedText, u64>,
}

/// Interned text with small ids: the words events carry again and again.
#[derive(Debug, Default)]
pub struct Words {
    texts: Vec<SharedText>,
    ids: FastMap<SharedText, u32>,
}

impl Words {
    /// The id of `text`, interning it.
    pub fn id(&mut self, text: &impl SafeText) -> u32 {
        if let Some(id) = self.ids.get(text.safe()) {
            return *id;
        }
        let shared = SharedText::new(text);
        let id = self.texts.len() as u32;
        self.texts.push(shared.clone());
        self.ids.insert(shared, id);
        id
    }

    /// The text of an id.
    pub fn text(&self, id: u32) -> &SharedText {
        &self.texts[id as usize]
    }

    /// The shared copy of `text`.
    pub fn shared(&mut self, text: &impl SafeText) -> SharedText {
        let id = self.id(text);
        self.texts[id as usize].clone()
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.texts.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }
}

/// Receipt codes by small id: the known ones first, then every other code
/// met (kept as written).
#[derive(Debug)]
pub struct Codes {
    codes: Vec<ReceiptStatus>,
    ids: FastMap<ReceiptStatus, u32>,
}

impl Default for Codes {
    fn default() -> Self {
        let mut codes = Codes {
            codes: Vec::new(),
            ids: FastMap::default(),
        };
        for known in ReceiptStatus::known() {
            codes.id(known);
        }
        codes
    }
}

impl Codes {
    /// The id of a code.
    pub fn id(&mut self, code: &ReceiptStatus) -> u32 {
        if let Some(id) = self.ids.get(code) {
            return *id;
        }
        let id = self.codes.len() as u32;
        self.codes.push(code.clone());
        self.ids.insert(code.clone(), id);
        id
    }

    /// The code of an id.
    pub fn code(&self, id: u32) -> &ReceiptStatus {
        &self.codes[id as usize]
    }

    /// How many codes have ids.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// Whether none has (never: the known codes always do).
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }
}

// ----- sets of parcels ---------------------------------------------------------

/// A set of parcel keys as one bit per key: a few allocations however many
/// it holds (a tree of them would be thousands of small ones, each keeping
/// a page of freed memory resident), in key order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct KeySet {
    words: Vec<u64>,
    len: usize,
}

impl KeySet {
    /// Adds a key; whether it was new.
    pub fn insert(&mut self, key: ParcelKey) -> bool {
        let (word, bit) = (key as usize / 64, 1u64 << (key % 64));
        if word >= self.words.len() {
            self.words.resize(word + 1, 0);
        }
        let new = self.words[word] & bit == 0;
        self.words[word] |= bit;
        self.len += usize::from(new);
        new
    }

    /// Takes a key out; whether it was in.
    pub fn remove(&mut self, key: ParcelKey) -> bool {
        let (word, bit) = (key as usize / 64, 1u64 << (key % 64));
        let was = self.words.get(word).is_some_and(|w| w & bit != 0);
        if was {
            self.words[word] &= !bit;
            self.len -= 1;
        }
        was
    }

    /// Whether a key is in.
    pub fn contains(&self, key: ParcelKey) -> bool {
        self.words
            .get(key as usize / 64)
            .is_some_and(|w| w & (1u64 << (key % 64)) != 0)
    }

    /// How many keys are in.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The keys, in order.
    pub fn iter(&self) -> impl Iterator<Item = ParcelKey> + '_ {
        self.words.iter().enumerate().flat_map(|(i, word)| {
            let mut bits = *word;
            std::iter::from_fn(move || {
                (bits != 0).then(|| {
                    let bit = bits.trailing_zeros();
                    bits &= bits - 1;
                    (i * 64) as u32 + bit
                })
            })
        })
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.words.capacity() * 8
    }
}

// ----- the details arena -----------------------------------------------------

/// Bytes per chunk of the details arena.
const CHUNK_BYTES: usize = 1 << 20;

/// Where a parcel's details are: chunk (12 bits) and offset (20 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place(u32);

impl Place {
    fn new(chunk: usize, offset: usize) -> Place {
        Place(((chunk as u32) << 20) | offset as u32)
    }

    fn chunk(self) -> usize {
        (self.0 >> 20) as usize
    }

    fn offset(self) -> usize {
        (self.0 & 0xf_ffff) as usize
    }
}

/// One chunk: the encoded details of the parcels written while it was
/// open, the text they share, and how many of them are still on the board.
/// The shared text lies end to end in one string: a chunk is a handful of
/// allocations, never one per string (each small one left among freed
/// memory would keep a page of it resident).
#[derive(Debug, Default)]
struct Chunk {
    bytes: Vec<u8>,
    /// The shared text, end to end.
    text: String,
    /// Where each shared string ends in `text` (it starts where the one
    /// before ends).
    ends: Vec<u32>,
    /// While the chunk is open: the id of each string by its hash (a
    /// string whose hash meets another's is kept twice, no worse).
    lookup: Option<FastMap<u64, u32>>,
    live: u32,
}

impl Chunk {
    fn string(&mut self, text: &str, hasher: &RandomState) -> u32 {
        let hash = hasher.hash_one(text);
        let lookup = self.lookup.get_or_insert_with(FastMap::default);
        if let Some(id) = lookup.get(&hash)
            && shared_text(&self.text, &self.ends, *id) == text
        {
            return *id;
        }
        let id = self.ends.len() as u32;
        self.text.push_str(text);
        self.ends.push(self.text.len() as u32);
        lookup.insert(hash, id);
        id
    }

    /// A shared string by id.
    fn shared(&self, id: usize) -> &str {
        shared_text(&self.text, &self.ends, id as u32)
    }
}

fn shared_text<'a>(text: &'a str, ends: &[u32], id: u32) -> &'a str {
    let id = id as usize;
    let start = if id == 0 { 0 } else { ends[id - 1] as usize };
    // Written from whole `FeedText`s, so on character boundaries.
    text.get(start..ends[id] as usize).unwrap_or("")
}

/// What the details of a parcel are made of, for the arena to encode.
#[derive(Debug, Clone, PartialEq)]
pub struct Particulars {
    /// When the enterprise filed it.
    pub filed_at: Option<DateTime<Utc>>,
    /// E-commerce enterprise: name and code.
    pub ebc_name: FeedText,
    /// Its customs code.
    pub ebc_code: FeedText,
    /// Logistics waybill.
    pub waybill_no: FeedText,
    /// Supervision mode.
    pub procedure: Procedure,
    /// E-Port number.
    pub pre_no: Option<FeedText>,
    /// Logistics enterprise: code and name.
    pub logistics: Option<(FeedText, FeedText)>,
    /// Province of origin.
    pub origin_region: Option<FeedText>,
    /// Destination country.
    pub destination_country: Option<FeedText>,
    /// Total value and its currency.
    pub total_value: Option<(FeedText, Option<FeedText>)>,
    /// Gross weight.
    pub gross_weight_kg: Option<FeedText>,
    /// Goods lines.
    pub goods: Vec<Goods>,
}

/// A goods line.
#[derive(Debug, Clone, PartialEq)]
pub struct Goods {
    /// HS code.
    pub hs_code: FeedText,
    /// Declared name.
    pub name: FeedText,
    /// Quantity.
    pub qty: f64,
    /// Unit.
    pub unit: Option<FeedText>,
    /// Decimal value.
    pub value: FeedText,
    /// Currency.
    pub currency: FeedText,
}

impl Particulars {
    /// The details a declaration tells.
    pub fn of(d: &crate::domain::Declaration) -> Particulars {
        Particulars {
            filed_at: d.filed_at,
            ebc_name: d.ebc.name.clone(),
            ebc_code: d.ebc.code.clone(),
            waybill_no: d.waybill_no.clone(),
            procedure: d.procedure.clone(),
            pre_no: d.pre_no.as_ref().map(|p| p.text().clone()),
            logistics: d
                .logistics
                .as_ref()
                .map(|p| (p.code.clone(), p.name.clone())),
            origin_region: d.origin_region.clone(),
            destination_country: d.destination_country.clone(),
            total_value: d
                .total_value
                .as_ref()
                .map(|v| (v.clone(), d.currency.clone())),
            gross_weight_kg: d.gross_weight_kg.clone(),
            goods: d
                .goods
                .iter()
                .map(|g| Goods {
                    hs_code: g.hs_code.clone(),
                    name: g.name.clone(),
                    qty: g.qty,
                    unit: g.unit.clone(),
                    value: g.value.clone(),
                    currency: g.currency.clone(),
                })
                .collect(),
        }
    }
}

/// Writes varints, strings and the like into a chunk's bytes.
struct Writer<'a> {
    chunk: &'a mut Chunk,
    hasher: &'a RandomState,
}

impl Writer<'_> {
    fn varint(&mut self, mut n: u64) {
        while n >= 0x80 {
            self.chunk.bytes.push((n as u8) | 0x80);
            n >>= 7;
        }
        self.chunk.bytes.push(n as u8);
    }

    /// Text kept once per chunk.
    fn shared(&mut self, text: &str) {
        let id = self.chunk.string(text, self.hasher);
        self.varint(u64::from(id));
    }

    fn shared_opt(&mut self, text: Option<&FeedText>) {
        match text {
            Some(text) => {
                let id = self.chunk.string(text, self.hasher);
                self.varint(u64::from(id) + 1);
            }
            None => self.varint(0),
        }
    }

    /// Text kept in place (unique to a parcel).
    fn inline(&mut self, text: &str) {
        self.varint(text.len() as u64);
        self.chunk.bytes.extend_from_slice(text.as_bytes());
    }

    fn inline_opt(&mut self, text: Option<&FeedText>) {
        match text {
            Some(text) => {
                self.varint(text.len() as u64 + 1);
                self.chunk.bytes.extend_from_slice(text.as_bytes());
            }
            None => self.varint(0),
        }
    }
}

/// The first fields of a parcel's details (what filters read), as the
/// store holds them: text that came in as [`FeedText`], so clean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heading<'a> {
    /// The enterprise's name.
    pub ebc_name: &'a str,
    /// The waybill.
    pub waybill_no: &'a str,
    /// The enterprise's customs code.
    pub ebc_code: &'a str,
}

/// Reads what a [`Writer`] wrote.
struct Reader<'a> {
    chunk: &'a Chunk,
    at: usize,
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> u64 {
        let mut n = 0u64;
        let mut shift = 0;
        loop {
            let byte = self.chunk.bytes[self.at];
            self.at += 1;
            n |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return n;
            }
            shift += 7;
        }
    }

    fn shared(&mut self) -> &'a str {
        let id = self.varint() as usize;
        self.chunk.shared(id)
    }

    fn shared_opt(&mut self) -> Option<&'a str> {
        match self.varint() {
            0 => None,
            id => Some(self.chunk.shared(id as usize - 1)),
        }
    }

    fn inline_len(&mut self, len: usize) -> &'a str {
        let bytes = &self.chunk.bytes[self.at..self.at + len];
        self.at += len;
        // Written from a `FeedText`'s own bytes.
        std::str::from_utf8(bytes).unwrap_or("")
    }

    fn inline(&mut self) -> &'a str {
        let len = self.varint() as usize;
        self.inline_len(len)
    }

    fn inline_opt(&mut self) -> Option<&'a str> {
        match self.varint() {
            0 => None,
            n => Some(self.inline_len(n as usize - 1)),
        }
    }
}

/// The details of every parcel, encoded in chunks.
#[derive(Debug, Default)]
pub struct Details {
    chunks: Vec<Chunk>,
    /// Chunks that were freed, to be used again.
    free: Vec<usize>,
    open: Option<usize>,
    /// Hashes the shared text (seeded at random, like the maps).
    hasher: RandomState,
}

impl Details {
    /// Encodes a parcel's details; where they are.
    pub fn write(&mut self, p: &Particulars) -> Place {
        let open = match self.open {
            Some(open) if self.chunks[open].bytes.len() < CHUNK_BYTES - 64 * 1024 => open,
            _ => self.open_chunk(),
        };
        let chunk = &mut self.chunks[open];
        chunk.live += 1;
        let offset = chunk.bytes.len();
        let mut w = Writer {
            chunk,
            hasher: &self.hasher,
        };
        // The filter reads the first fields without decoding the rest.
        w.chunk
            .bytes
            .extend_from_slice(&Stamp::of_opt(p.filed_at).0.to_le_bytes());
        w.shared(&p.ebc_name);
        w.inline(&p.waybill_no);
        w.shared(&p.ebc_code);
        w.shared(p.procedure.as_str());
        w.inline_opt(p.pre_no.as_ref());
        match &p.logistics {
            Some((code, name)) => {
                w.varint(1);
                w.shared(code);
                w.shared(name);
            }
            None => w.varint(0),
        }
        w.shared_opt(p.origin_region.as_ref());
        w.shared_opt(p.destination_country.as_ref());
        match &p.total_value {
            Some((value, currency)) => {
                w.inline_opt(Some(value));
                w.shared_opt(currency.as_ref());
            }
            None => w.inline_opt(None),
        }
        w.inline_opt(p.gross_weight_kg.as_ref());
        w.varint(p.goods.len() as u64);
        for g in &p.goods {
            w.shared(&g.hs_code);
            w.shared(&g.name);
            let whole = g.qty.fract() == 0.0 && (0.0..1e15).contains(&g.qty);
            if whole {
                w.varint((g.qty as u64) << 1);
            } else {
                w.varint(1);
                w.chunk
                    .bytes
                    .extend_from_slice(&g.qty.to_bits().to_le_bytes());
            }
            w.shared_opt(g.unit.as_ref());
            w.inline(&g.value);
            w.shared(&g.currency);
        }
        Place::new(open, offset)
    }

    fn open_chunk(&mut self) -> usize {
        // The chunk being closed keeps its strings, not their index.
        if let Some(old) = self.open {
            self.chunks[old].lookup = None;
            if self.chunks[old].live == 0 {
                self.free_chunk(old);
            }
        }
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                self.chunks.push(Chunk::default());
                self.chunks.len() - 1
            }
        };
        assert!(index < 1 << 12, "the details arena is full (4096 chunks)");
        self.chunks[index].bytes.reserve_exact(CHUNK_BYTES);
        self.open = Some(index);
        index
    }

    fn free_chunk(&mut self, index: usize) {
        self.chunks[index] = Chunk::default();
        self.free.push(index);
    }

    /// A parcel left (or its details were replaced): its chunk is freed
    /// once no parcel in it is left.
    pub fn release(&mut self, place: Place) {
        let index = place.chunk();
        let chunk = &mut self.chunks[index];
        chunk.live -= 1;
        if chunk.live == 0 && self.open != Some(index) {
            self.free_chunk(index);
        }
    }

    fn reader(&self, place: Place) -> Reader<'_> {
        Reader {
            chunk: &self.chunks[place.chunk()],
            at: place.offset(),
        }
    }

    /// When the parcel was filed.
    pub fn filed_at(&self, place: Place) -> Option<DateTime<Utc>> {
        let chunk = &self.chunks[place.chunk()];
        let at = place.offset();
        let mut raw = [0u8; 8];
        raw.copy_from_slice(&chunk.bytes[at..at + 8]);
        Stamp(i64::from_le_bytes(raw)).get()
    }

    /// The fields a filter reads, without decoding the rest.
    pub fn heading(&self, place: Place) -> Heading<'_> {
        let mut r = self.reader(place);
        r.at += 8;
        Heading {
            ebc_name: r.shared(),
            waybill_no: r.inline(),
            ebc_code: r.shared(),
        }
    }

    /// The whole details.
    pub fn read(&self, place: Place) -> Particulars {
        let filed_at = self.filed_at(place);
        let mut r = self.reader(place);
        r.at += 8;
        let ebc_name = FeedText::new(r.shared());
        let waybill_no = FeedText::new(r.inline());
        let ebc_code = FeedText::new(r.shared());
        let procedure = Procedure::parse(r.shared());
        let pre_no = r.inline_opt().map(FeedText::new);
        let logistics = match r.varint() {
            0 => None,
            _ => {
                let code = FeedText::new(r.shared());
                Some((code, FeedText::new(r.shared())))
            }
        };
        let origin_region = r.shared_opt().map(FeedText::new);
        let destination_country = r.shared_opt().map(FeedText::new);
        let total_value = r
            .inline_opt()
            .map(FeedText::new)
            .map(|value| (value, r.shared_opt().map(FeedText::new)));
        let gross_weight_kg = r.inline_opt().map(FeedText::new);
        let lines = r.varint() as usize;
        let mut goods = Vec::with_capacity(lines.min(64));
        for _ in 0..lines {
            let hs_code = FeedText::new(r.shared());
            let name = FeedText::new(r.shared());
            let qty = match r.varint() {
                1 => {
                    let mut raw = [0u8; 8];
                    raw.copy_from_slice(&r.chunk.bytes[r.at..r.at + 8]);
                    r.at += 8;
                    f64::from_bits(u64::from_le_bytes(raw))
                }
                whole => (whole >> 1) as f64,
            };
            let unit = r.shared_opt().map(FeedText::new);
            let value = FeedText::new(r.inline());
            let currency = FeedText::new(r.shared());
            goods.push(Goods {
                hs_code,
                name,
                qty,
                unit,
                value,
                currency,
            });
        }
        Particulars {
            filed_at,
            ebc_name,
            ebc_code,
            waybill_no,
            procedure,
            pre_no,
            logistics,
            origin_region,
            destination_country,
            total_value,
            gross_weight_kg,
            goods,
        }
    }

    /// Bytes held (chunks are reserved whole).
    pub fn bytes(&self) -> usize {
        self.chunks
            .iter()
            .map(|c| c.bytes.capacity() + c.text.capacity() + c.ends.capacity() * 4)
            .sum()
    }
}

// ----- history ---------------------------------------------------------------

/// The most moments a parcel's history keeps (the latest).
pub const HISTORY_LIMIT: usize = 12;

/// What a mark records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum MarkKind {
    /// Filed (`value` unused).
    Filed = 0,
    /// A receipt status (`value`: code id).
    Status,
    /// Moved to a train (`value`: word id of the train id).
    Rebooked,
    /// Selected for inspection.
    InspectionSelected,
    /// Inspection started.
    InspectionStarted,
    /// Inspection ended (`value`: word id of its status).
    InspectionCompleted,
    /// A hold was placed (`value`: word id of the reason code).
    HoldPlaced,
    /// A hold changed (`value`: word id of the officer, or none).
    HoldUpdated,
    /// A hold ended (`value`: word id of the outcome).
    HoldLifted,
}

impl MarkKind {
    const ALL: [MarkKind; 9] = [
        MarkKind::Filed,
        MarkKind::Status,
        MarkKind::Rebooked,
        MarkKind::InspectionSelected,
        MarkKind::InspectionStarted,
        MarkKind::InspectionCompleted,
        MarkKind::HoldPlaced,
        MarkKind::HoldUpdated,
        MarkKind::HoldLifted,
    ];
}

/// One moment of a parcel's history, in twelve bytes: when (seconds), what
/// and its value, and the moment before it.
#[derive(Debug, Clone, Copy)]
struct Mark {
    /// Seconds since the epoch, as far as they go (to 2106).
    secs: u32,
    /// Kind (4 bits) and value (28 bits).
    what: u32,
    /// The moment before, or `NONE`.
    prev: u32,
}

/// Largest value a mark holds.
const MARK_VALUE: u32 = (1 << 28) - 1;

/// The value of a mark that names nobody (a hold changed by no officer).
pub const MARK_NOBODY: u32 = MARK_VALUE;

/// Every parcel's latest moments, as lists of marks in one vector.
#[derive(Debug, Default)]
pub struct History {
    marks: Vec<Mark>,
    free: Vec<u32>,
}

impl History {
    /// Adds a moment before `head` (a parcel's newest); the new head. The
    /// history keeps its latest [`HISTORY_LIMIT`].
    pub fn push(&mut self, head: u32, at: DateTime<Utc>, kind: MarkKind, value: u32) -> u32 {
        let secs = u32::try_from(at.timestamp().max(0)).unwrap_or(u32::MAX);
        let mark = Mark {
            secs,
            what: ((kind as u32) << 28) | value.min(MARK_VALUE),
            prev: head,
        };
        let index = match self.free.pop() {
            Some(index) => {
                self.marks[index as usize] = mark;
                index
            }
            None => {
                self.marks.push(mark);
                (self.marks.len() - 1) as u32
            }
        };
        // Cut what falls off the end.
        let mut kept = 1;
        let mut at = index;
        while self.marks[at as usize].prev != NONE {
            let prev = self.marks[at as usize].prev;
            if kept == HISTORY_LIMIT {
                self.marks[at as usize].prev = NONE;
                self.release(prev);
                break;
            }
            kept += 1;
            at = prev;
        }
        index
    }

    /// Frees a history (from its head).
    pub fn release(&mut self, mut head: u32) {
        while head != NONE {
            let prev = self.marks[head as usize].prev;
            self.free.push(head);
            head = prev;
        }
    }

    /// The moments from the newest: (instant, kind, value).
    pub fn iter(&self, head: u32) -> impl Iterator<Item = (DateTime<Utc>, MarkKind, u32)> + '_ {
        let mut at = head;
        std::iter::from_fn(move || {
            if at == NONE {
                return None;
            }
            let mark = self.marks[at as usize];
            at = mark.prev;
            let kind = MarkKind::ALL[(mark.what >> 28) as usize];
            let when = DateTime::from_timestamp(i64::from(mark.secs), 0)
                .unwrap_or(DateTime::<Utc>::MIN_UTC);
            Some((when, kind, mark.what & MARK_VALUE))
        })
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.marks.capacity() * std::mem::size_of::<Mark>() + self.free.capacity() * 4
    }
}

// ----- the rows --------------------------------------------------------------

/// A parcel's four stages in two bytes (three bits each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PackedPath(u16);

impl PackedPath {
    const STATES: [StageState; 5] = [
        StageState::NotStarted,
        StageState::InProgress,
        StageState::Blocked,
        StageState::Done,
        StageState::Unknown,
    ];

    /// Packs a path.
    pub fn of(path: StagePath) -> PackedPath {
        let mut bits = 0u16;
        for (i, (_, state)) in path.iter().enumerate() {
            let code = Self::STATES.iter().position(|s| *s == state).unwrap_or(4) as u16;
            bits |= code << (i * 3);
        }
        PackedPath(bits)
    }

    /// The path.
    pub fn path(self) -> StagePath {
        StagePath::new(std::array::from_fn(|i| {
            Self::STATES[usize::from((self.0 >> (i * 3)) & 7).min(4)]
        }))
    }
}

/// One parcel, in 80 bytes.
#[derive(Debug, Clone, Copy)]
pub struct Row {
    /// Its inventory number.
    pub number: Number,
    /// Feed seq of the last change applied.
    pub seq: u64,
    /// When its status was given.
    pub status_at: Stamp,
    /// When its review is queued (the judge's), or none.
    pub review_at: Stamp,
    /// Board keys of its train and container.
    pub train: u32,
    /// Board key of its container.
    pub container: u32,
    /// Its slot in its train's members.
    pub train_slot: u32,
    /// Its slot in its container's members.
    pub container_slot: u32,
    /// Where its details are.
    pub details: Place,
    /// Its newest moment.
    pub history: u32,
    /// Its open hold (a key into the holds), or none.
    pub hold: u32,
    /// Its inspection (a key into the inspections), or none.
    pub inspection: u32,
    /// Its receipt status (a code id).
    pub status: u32,
    /// Slack before the tighter cut-off, seconds (`i32::MIN`: none).
    pub slack: i32,
    /// Its stages, as of the last change.
    pub path: PackedPath,
    /// Its risk class, as of the last judgement.
    pub risk: u8,
    /// Where it is counted: bucket (3 bits), risk (3 bits), counted (1).
    pub counted: u8,
}

/// The store.
#[derive(Debug, Default)]
pub struct Store {
    rows: Vec<Row>,
    free: Vec<u32>,
    live: usize,
    keys: FastMap<Number, u32>,
    others: OtherNumbers,
    /// Receipt codes.
    pub codes: Codes,
    /// Words events carry (train ids, officers, reasons…).
    pub words: Words,
    /// Parcels' details.
    pub details: Details,
    /// Parcels' latest moments.
    pub history: History,
    holds: slab::Slab<Hold>,
    inspections: slab::Slab<Inspection>,
    notes: FastMap<u32, FeedText>,
    /// Trains, by board key.
    pub trains: slab::Slab<TrainEntry>,
    /// Train keys by id.
    pub train_keys: FastMap<SharedText, usize>,
    /// Containers, by board key.
    pub containers: slab::Slab<ContainerEntry>,
    /// Container keys by number.
    pub container_keys: FastMap<SharedText, usize>,
    /// Parcels customs puts on no train: no train's departure lets them
    /// go, their age does.
    pub unplaced: KeySet,
    /// Containers the railway books on no train, likewise.
    pub unbooked: std::collections::BTreeSet<usize>,
}

impl Store {
    /// The packed number of an inventory number (interning one that is not
    /// of the standard form).
    pub fn number(&mut self, declaration_no: &DeclarationNo) -> Number {
        if let Some(n) = Number::pack(declaration_no.as_str()) {
            return n;
        }
        let text = declaration_no.text();
        if let Some(place) = self.others.places.get(text) {
            return Number(OTHER | *place);
        }
        let place = self.others.texts.len() as u64;
        self.others.texts.push(text.clone());
        self.others.places.insert(text.clone(), place);
        Number(OTHER | place)
    }

    /// The packed number of an inventory number, if the store has met it.
    pub fn find_number(&self, text: &str) -> Option<Number> {
        Number::pack(text).or_else(|| {
            self.others
                .places
                .get(text)
                .map(|place| Number(OTHER | *place))
        })
    }

    /// Writes an inventory number's text into `out` (a buffer of 18 for a
    /// standard one); the text.
    pub fn number_text<'a>(&'a self, number: Number, buf: &'a mut [u8; 18]) -> &'a str {
        if number.unpack(buf) {
            std::str::from_utf8(buf).unwrap_or("")
        } else {
            self.others.texts[(number.0 & !OTHER) as usize].as_str()
        }
    }

    /// The row of a number.
    pub fn key(&self, number: Number) -> Option<ParcelKey> {
        self.keys.get(&number).copied()
    }

    /// Adds a row; its key.
    pub fn insert(&mut self, row: Row) -> ParcelKey {
        let key = match self.free.pop() {
            Some(key) => {
                self.rows[key as usize] = row;
                key
            }
            None => {
                self.rows.push(row);
                (self.rows.len() - 1) as u32
            }
        };
        self.keys.insert(row.number, key);
        self.live += 1;
        key
    }

    /// Removes a row, with its details, history, hold, inspection and note.
    pub fn remove(&mut self, key: ParcelKey) {
        let row = self.rows[key as usize];
        self.details.release(row.details);
        self.history.release(row.history);
        self.set_hold(key, None);
        self.set_inspection(key, None);
        self.notes.remove(&key);
        self.keys.remove(&row.number);
        self.rows[key as usize].number = Number(u64::MAX);
        self.free.push(key);
        self.live -= 1;
    }

    /// Reserves room for `more` parcels.
    pub fn reserve(&mut self, more: usize) {
        self.rows.reserve(more.saturating_sub(self.free.len()));
        self.keys.reserve(more);
    }

    /// Whether a key names a parcel.
    pub fn contains(&self, key: ParcelKey) -> bool {
        self.rows
            .get(key as usize)
            .is_some_and(|r| r.number.0 != u64::MAX)
    }

    /// One row.
    pub fn row(&self, key: ParcelKey) -> &Row {
        &self.rows[key as usize]
    }

    /// One row, to change.
    pub fn row_mut(&mut self, key: ParcelKey) -> &mut Row {
        &mut self.rows[key as usize]
    }

    /// Every parcel's key and row.
    pub fn rows(&self) -> impl Iterator<Item = (ParcelKey, &Row)> {
        self.rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r.number.0 != u64::MAX)
            .map(|(k, r)| (k as u32, r))
    }

    /// Slots of rows, live or free (a range for [`Store::rows_in`]).
    pub fn slots(&self) -> usize {
        self.rows.len()
    }

    /// The live rows among the slots of `range`.
    pub fn rows_in(
        &self,
        range: std::ops::Range<usize>,
    ) -> impl Iterator<Item = (ParcelKey, &Row)> {
        let start = range.start;
        self.rows[range]
            .iter()
            .enumerate()
            .filter(|(_, r)| r.number.0 != u64::MAX)
            .map(move |(k, r)| ((start + k) as u32, r))
    }

    /// Number of parcels.
    pub fn len(&self) -> usize {
        self.live
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// A parcel's open hold.
    pub fn hold(&self, key: ParcelKey) -> Option<&Hold> {
        let at = self.rows[key as usize].hold;
        (at != NONE).then(|| &self.holds[at as usize])
    }

    /// Sets or clears a parcel's hold.
    pub fn set_hold(&mut self, key: ParcelKey, hold: Option<Hold>) {
        // A copy, as for notes.
        #[allow(clippy::redundant_clone)]
        let hold = hold.clone();
        let row = &mut self.rows[key as usize];
        match (row.hold, hold) {
            (NONE, None) => {}
            (NONE, Some(hold)) => row.hold = self.holds.insert(hold) as u32,
            (at, Some(hold)) => self.holds[at as usize] = hold,
            (at, None) => {
                self.holds.remove(at as usize);
                row.hold = NONE;
            }
        }
    }

    /// A parcel's inspection.
    pub fn inspection(&self, key: ParcelKey) -> Option<&Inspection> {
        let at = self.rows[key as usize].inspection;
        (at != NONE).then(|| &self.inspections[at as usize])
    }

    /// Sets or clears a parcel's inspection.
    pub fn set_inspection(&mut self, key: ParcelKey, inspection: Option<Inspection>) {
        let row = &mut self.rows[key as usize];
        match (row.inspection, inspection) {
            (NONE, None) => {}
            (NONE, Some(i)) => row.inspection = self.inspections.insert(i) as u32,
            (at, Some(i)) => self.inspections[at as usize] = i,
            (at, None) => {
                self.inspections.remove(at as usize);
                row.inspection = NONE;
            }
        }
    }

    /// Customs' note on a parcel's status.
    pub fn note(&self, key: ParcelKey) -> Option<&FeedText> {
        self.notes.get(&key)
    }

    /// Sets or clears customs' note on a parcel's status.
    pub fn set_note(&mut self, key: ParcelKey, note: Option<FeedText>) {
        match note {
            Some(note) => {
                // A copy made now, so the store keeps none of the memory
                // the decoded snapshot is freed from (a kept string would
                // hold a whole page of it resident).
                self.notes.insert(key, note.clone());
            }
            None => {
                self.notes.remove(&key);
            }
        }
    }

    /// Bytes the parcels take, by part (rows, key map, details, history,
    /// and the holds, inspections and notes few parcels have).
    pub fn bytes(&self) -> [(&'static str, usize); 5] {
        use std::mem::size_of;
        let map = self.keys.capacity() * (size_of::<(Number, u32)>() + 1);
        let texts = |t: &FeedText| t.len() + 16;
        let few = self.holds.capacity() * size_of::<Hold>()
            + self
                .holds
                .iter()
                .map(|(_, h)| texts(&h.reason) + h.notes.len() * size_of::<crate::domain::Note>())
                .sum::<usize>()
            + self.inspections.capacity() * size_of::<Inspection>()
            + self.notes.capacity() * (size_of::<(u32, FeedText)>() + 1)
            + self.notes.values().map(texts).sum::<usize>();
        [
            ("rows", self.rows.capacity() * size_of::<Row>()),
            ("number map", map),
            ("details", self.details.bytes()),
            ("history", self.history.bytes()),
            ("holds, inspections, notes", few),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_numbers_pack_into_eight_bytes_and_back() {
        let mut store = Store::default();
        for text in [
            "94022026E000012345",
            "00000000I000000000",
            "99999999E999999999",
        ] {
            let n = store.number(&DeclarationNo::new(text));
            assert_eq!(n.0 & OTHER, 0, "{text} packed");
            let mut buf = [0u8; 18];
            assert_eq!(store.number_text(n, &mut buf), text);
        }
        let odd = store.number(&DeclarationNo::new("9402-2026-E-12"));
        assert_ne!(odd.0 & OTHER, 0);
        let mut buf = [0u8; 18];
        assert_eq!(store.number_text(odd, &mut buf), "9402-2026-E-12");
        assert_eq!(store.find_number("9402-2026-E-12"), Some(odd));
        assert_eq!(store.number(&DeclarationNo::new("9402-2026-E-12")), odd);
        assert_eq!(std::mem::size_of::<Row>(), 80);
    }

    #[test]
    fn details_come_back_as_written() {
        let mut details = Details::default();
        let p = Particulars {
            filed_at: Some("2026-11-26T03:30:00.250Z".parse().unwrap()),
            ebc_name: "义乌小商品进出口有限公司".into(),
            ebc_code: "3318960001".into(),
            waybill_no: "YT1234567890123".into(),
            procedure: Procedure::parse("9610"),
            pre_no: Some("B20261126000012345".into()),
            logistics: Some(("3301980002".into(), "圆通速递".into())),
            origin_region: Some("Zhejiang".into()),
            destination_country: None,
            total_value: Some(("35.20".into(), Some("USD".into()))),
            gross_weight_kg: Some("1.250".into()),
            goods: vec![
                Goods {
                    hs_code: "8541400000".into(),
                    name: "太阳能板".into(),
                    qty: 3.0,
                    unit: Some("pcs".into()),
                    value: "30.00".into(),
                    currency: "USD".into(),
                },
                Goods {
                    hs_code: "5208120000".into(),
                    name: "布料".into(),
                    qty: 2.5,
                    unit: None,
                    value: "5.20".into(),
                    currency: "USD".into(),
                },
            ],
        };
        let mut other = p.clone();
        other.waybill_no = "SF0000000001".into();
        other.filed_at = None;
        other.total_value = None;
        let a = details.write(&p);
        let b = details.write(&other);
        assert_eq!(details.read(a), p);
        assert_eq!(details.read(b), other);
        assert_eq!(details.filed_at(b), None);
        let heading = details.heading(b);
        assert_eq!(
            (heading.ebc_name, heading.waybill_no),
            ("义乌小商品进出口有限公司", "SF0000000001")
        );
        // Shared text is kept once per chunk.
        let chunk = &details.chunks[0];
        assert_eq!(
            (0..chunk.ends.len())
                .filter(|id| chunk.shared(*id) == "USD")
                .count(),
            1
        );
        details.release(a);
        details.release(b);
    }

    #[test]
    fn a_chunk_is_freed_when_its_last_parcel_leaves() {
        let mut details = Details::default();
        let p = Particulars {
            filed_at: None,
            ebc_name: "e".into(),
            ebc_code: "c".into(),
            waybill_no: "W".repeat(4000).into(),
            procedure: Procedure::parse("9610"),
            pre_no: None,
            logistics: None,
            origin_region: None,
            destination_country: None,
            total_value: None,
            gross_weight_kg: None,
            goods: Vec::new(),
        };
        let places: Vec<Place> = (0..600).map(|_| details.write(&p)).collect();
        assert!(details.chunks.len() >= 2, "{}", details.chunks.len());
        let first_chunk: Vec<Place> = places.iter().copied().filter(|p| p.chunk() == 0).collect();
        for place in &first_chunk {
            details.release(*place);
        }
        assert!(details.chunks[0].bytes.capacity() == 0, "chunk 0 freed");
        assert_eq!(details.free, [0]);
    }

    #[test]
    fn key_sets_hold_keys_in_order() {
        let mut set = KeySet::default();
        assert!(set.insert(130));
        assert!(set.insert(3));
        assert!(!set.insert(3), "already in");
        assert!(set.insert(64));
        assert_eq!(set.iter().collect::<Vec<_>>(), [3, 64, 130]);
        assert_eq!(set.len(), 3);
        assert!(set.remove(64));
        assert!(!set.remove(64));
        assert!(!set.remove(100_000), "far past the end");
        assert!(set.contains(130) && !set.contains(64) && !set.contains(u32::MAX));
        assert_eq!(set.iter().collect::<Vec<_>>(), [3, 130]);
        assert_eq!(set.len(), 2);
    }

    #[test]
    fn history_keeps_the_latest_moments() {
        let mut history = History::default();
        let mut head = NONE;
        let t = |s: i64| DateTime::<Utc>::from_timestamp(1_800_000_000 + s, 0).unwrap();
        for s in 0..20 {
            head = history.push(head, t(s), MarkKind::Status, s as u32);
        }
        let kept: Vec<u32> = history.iter(head).map(|(_, _, v)| v).collect();
        assert_eq!(kept, (8..20).rev().collect::<Vec<_>>());
        assert_eq!(
            history.marks.len(),
            HISTORY_LIMIT + 1,
            "what fell off is reused"
        );
        history.release(head);
        assert_eq!(history.free.len(), HISTORY_LIMIT + 1);
    }

    #[test]
    fn paths_pack_into_two_bytes() {
        let path = StagePath::new([
            StageState::Done,
            StageState::Blocked,
            StageState::NotStarted,
            StageState::Unknown,
        ]);
        assert_eq!(PackedPath::of(path).path(), path);
    }
}
