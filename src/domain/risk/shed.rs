//! The shed projection: cranes take the queue first in, first out, then
//! the containers still to come. Pure.

use chrono::{DateTime, Utc};

use super::estimates::{Estimates, Step};

/// The shed's projection for a parcel's container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShedOutlook {
    /// The railway does not know the container (yet).
    UnknownContainer,
    /// On a broad-gauge wagon.
    Done,
    /// Being lifted; done about then.
    Lifting { done_at: DateTime<Utc> },
    /// In the shed queue with `ahead` containers before it.
    Queued { ahead: u32, done_at: DateTime<Utc> },
    /// In the yard, not yet queued.
    InYard { done_at: DateTime<Utc> },
    /// Still on its way to the border station.
    EnRoute {
        eta: Option<DateTime<Utc>>,
        done_at: DateTime<Utc>,
    },
    /// The shed will not move it.
    Blocked,
    /// A shed status this version does not know.
    UnknownStatus,
}

impl ShedOutlook {
    pub(super) fn done_at(self) -> Option<DateTime<Utc>> {
        match self {
            ShedOutlook::Lifting { done_at }
            | ShedOutlook::Queued { done_at, .. }
            | ShedOutlook::InYard { done_at }
            | ShedOutlook::EnRoute { done_at, .. } => Some(done_at),
            _ => None,
        }
    }
}

/// One container as the shed projection reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShedState {
    /// Still on its way (with its ETA, if any).
    EnRoute { eta: Option<DateTime<Utc>> },
    /// In the yard since then.
    InYard { arrived_at: DateTime<Utc> },
    /// In the queue since then.
    Queued { queued_at: DateTime<Utc> },
    /// Lifting since then.
    Lifting { started_at: DateTime<Utc> },
    /// Done.
    Done,
    /// The shed will not move it.
    Blocked,
    /// A status this version does not know.
    Unknown,
}

/// Projects the shed: cranes take queued containers first in, first out;
/// containers still to come join after them. Returns one outlook per input,
/// in input order.
pub fn project_shed(
    containers: &[ShedState],
    cranes: u32,
    estimates: &Estimates,
    now: DateTime<Utc>,
) -> Vec<ShedOutlook> {
    let lift = estimates.typical(Step::Lift);
    // When each crane is free: after the container it is lifting.
    let mut free_at: Vec<DateTime<Utc>> = containers
        .iter()
        .filter_map(|c| match c {
            ShedState::Lifting { started_at } => {
                Some(now + estimates.remaining(Step::Lift, now - *started_at))
            }
            _ => None,
        })
        .collect();
    free_at.resize(free_at.len().max(cranes.max(1) as usize), now);
    free_at.sort_unstable();

    let mut queue: Vec<(DateTime<Utc>, usize)> = containers
        .iter()
        .enumerate()
        .filter_map(|(i, c)| match c {
            ShedState::Queued { queued_at } => Some((*queued_at, i)),
            _ => None,
        })
        .collect();
    queue.sort_unstable();

    let mut out: Vec<ShedOutlook> = containers
        .iter()
        .map(|c| match c {
            ShedState::Done => ShedOutlook::Done,
            ShedState::Blocked => ShedOutlook::Blocked,
            ShedState::Unknown => ShedOutlook::UnknownStatus,
            ShedState::Lifting { started_at } => ShedOutlook::Lifting {
                done_at: now + estimates.remaining(Step::Lift, now - *started_at),
            },
            // Filled in below.
            _ => ShedOutlook::UnknownStatus,
        })
        .collect();

    // The earliest free crane takes the next container. Lifts add up along
    // the queue: learned from absurd times, they would pass the last
    // instant there is, where the projection stays.
    let take = |ready: DateTime<Utc>, free_at: &mut Vec<DateTime<Utc>>| {
        let start = free_at[0].max(ready);
        let done = start
            .checked_add_signed(lift)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        free_at[0] = done;
        free_at.sort_unstable();
        done
    };
    for (ahead, (_, i)) in queue.iter().enumerate() {
        let done_at = take(now, &mut free_at);
        out[*i] = ShedOutlook::Queued {
            ahead: ahead as u32,
            done_at,
        };
    }
    // Containers still to come, in the order they will be ready to queue.
    let yard = estimates.typical(Step::YardToQueue);
    let mut coming: Vec<(DateTime<Utc>, usize)> = containers
        .iter()
        .enumerate()
        .filter_map(|(i, c)| match c {
            ShedState::InYard { arrived_at } => Some(((*arrived_at + yard).max(now), i)),
            ShedState::EnRoute { eta } => Some((eta.unwrap_or(now).max(now) + yard, i)),
            _ => None,
        })
        .collect();
    coming.sort_unstable();
    for (ready, i) in coming {
        let done_at = take(ready, &mut free_at);
        out[i] = match containers[i] {
            ShedState::InYard { .. } => ShedOutlook::InYard { done_at },
            ShedState::EnRoute { eta } => ShedOutlook::EnRoute { eta, done_at },
            _ => unreachable!("only yard and en-route containers are coming"),
        };
    }
    out
}
