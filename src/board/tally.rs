//! Counts of parcels by stage and by risk, kept per train, per container and
//! for the whole board, and moved as parcels change (never recounted).

use serde::Serialize;

use crate::domain::{Risk, Stage, StagePath};

/// Where a parcel is counted: its first unfinished stage, or ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Bucket {
    /// Not yet accepted by customs.
    Declaration,
    /// Under review or inspection.
    Inspection,
    /// Container not yet on a broad-gauge wagon.
    Transshipment,
    /// Not yet released.
    Release,
    /// All four stages done.
    Ready,
}

impl Bucket {
    /// Every bucket, in path order (ready last).
    pub const ALL: [Bucket; 5] = [
        Bucket::Declaration,
        Bucket::Inspection,
        Bucket::Transshipment,
        Bucket::Release,
        Bucket::Ready,
    ];

    /// The bucket of a path.
    pub fn of(path: &StagePath) -> Bucket {
        match path.current() {
            Some(Stage::Declaration) => Bucket::Declaration,
            Some(Stage::Inspection) => Bucket::Inspection,
            Some(Stage::Transshipment) => Bucket::Transshipment,
            Some(Stage::Release) => Bucket::Release,
            None => Bucket::Ready,
        }
    }

    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Bucket::Ready => "ready",
            Bucket::Declaration => "declaration",
            Bucket::Inspection => "inspection",
            Bucket::Transshipment => "transshipment",
            Bucket::Release => "release",
        }
    }
}

/// Parcel counts by bucket and by risk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// All parcels counted.
    pub parcels: u32,
    /// By bucket, in path order (ready last).
    pub stages: [u32; 5],
    /// By risk, in [`Risk::ALL`] order.
    pub risk: [u32; 5],
}

impl Tally {
    /// Parcels in a bucket.
    pub fn in_bucket(&self, bucket: Bucket) -> u32 {
        self.stages[bucket as usize]
    }

    /// Parcels of a risk class.
    pub fn with_risk(&self, risk: Risk) -> u32 {
        self.risk[risk as usize]
    }

    /// Parcels not on track.
    pub fn flagged(&self) -> u32 {
        self.parcels - self.with_risk(Risk::OnTrack)
    }

    pub(super) fn add(&mut self, bucket: Bucket, risk: Risk) {
        self.parcels += 1;
        self.stages[bucket as usize] += 1;
        self.risk[risk as usize] += 1;
    }

    pub(super) fn remove(&mut self, bucket: Bucket, risk: Risk) {
        self.parcels -= 1;
        self.stages[bucket as usize] -= 1;
        self.risk[risk as usize] -= 1;
    }
}

/// A list of member keys that supports O(1) removal: each member remembers
/// its slot.
#[derive(Debug, Clone, Default)]
pub struct Members {
    keys: Vec<u32>,
}

impl Members {
    /// Adds a member; returns its slot.
    pub fn add(&mut self, key: u32) -> u32 {
        self.keys.push(key);
        (self.keys.len() - 1) as u32
    }

    /// Removes the member at `slot`; returns the member that moved into
    /// the slot (whose slot must be updated), if any.
    pub fn remove(&mut self, slot: u32) -> Option<u32> {
        let slot = slot as usize;
        self.keys.swap_remove(slot);
        self.keys.get(slot).copied()
    }

    /// The members, in no particular order.
    pub fn keys(&self) -> &[u32] {
        &self.keys
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_remove_in_constant_time_and_report_the_mover() {
        let mut m = Members::default();
        let a = m.add(10);
        let _b = m.add(20);
        let _c = m.add(30);
        assert_eq!(m.remove(a), Some(30), "30 moved into slot 0");
        assert_eq!(m.keys(), &[30, 20]);
        assert_eq!(m.remove(1), None, "the last slot moves nobody");
        assert_eq!(m.keys(), &[30]);
    }

    #[test]
    fn tallies_add_and_remove() {
        let mut t = Tally::default();
        t.add(Bucket::Inspection, Risk::Held);
        t.add(Bucket::Ready, Risk::OnTrack);
        assert_eq!(t.parcels, 2);
        assert_eq!(t.flagged(), 1);
        t.remove(Bucket::Inspection, Risk::Held);
        assert_eq!(t.in_bucket(Bucket::Inspection), 0);
        assert_eq!(t.with_risk(Risk::OnTrack), 1);
    }
}
