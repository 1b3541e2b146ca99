//! How long each step of a parcel's path takes: learned from the feeds (a
//! rolling window, the chosen quantile of what is left given the time
//! already spent), starting from priors. Pure.

use std::collections::VecDeque;

use chrono::Duration;
use serde::{Deserialize, Serialize};

/// A step of the path whose duration is learned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Filed to accepted by customs (1/2/3 → 120).
    Declaration,
    /// Accepted to review concluded (120 → 399), manual review included.
    Review,
    /// Selected for inspection to inspection completed.
    Inspection,
    /// Hold placed to hold lifted.
    Hold,
    /// Review concluded (or hold lifted) to released (→ 800).
    Release,
    /// Arrived in the yard to queued in the shed.
    YardToQueue,
    /// Lifting one container.
    Lift,
}

impl Step {
    /// Every step.
    pub const ALL: [Step; 7] = [
        Step::Declaration,
        Step::Review,
        Step::Inspection,
        Step::Hold,
        Step::Release,
        Step::YardToQueue,
        Step::Lift,
    ];

    fn index(self) -> usize {
        self as usize
    }

    /// The config / JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Declaration => "declaration",
            Step::Review => "review",
            Step::Inspection => "inspection",
            Step::Hold => "hold",
            Step::Release => "release",
            Step::YardToQueue => "yard_to_queue",
            Step::Lift => "lift",
        }
    }
}

/// The most recent observations kept per step (a busy port makes
/// thousands an hour: a window this long keeps the quantiles steady).
const WINDOW: usize = 1024;
/// Observations needed before they replace the prior.
pub(super) const MIN_SAMPLES: usize = 12;

/// The longest any step of a parcel's path is believed to take: a train
/// leaves every few hours, so a month is already absurd.
pub const LONGEST_STEP: Duration = Duration::days(30);

/// Durations of one step: a prior, then a rolling window of observations.
#[derive(Debug, Clone)]
struct Durations {
    prior: Duration,
    recent: VecDeque<i64>,
    sorted: Vec<i64>,
}

impl Durations {
    fn new(prior: Duration) -> Self {
        Durations {
            prior,
            recent: VecDeque::with_capacity(WINDOW),
            sorted: Vec::new(),
        }
    }

    fn observe(&mut self, millis: i64) {
        if self.recent.len() == WINDOW {
            self.recent.pop_front();
        }
        self.recent.push_back(millis.max(0));
    }

    fn refresh(&mut self) {
        if self.recent.len() >= MIN_SAMPLES {
            self.sorted.clear();
            self.sorted.extend(self.recent.iter().copied());
            self.sorted.sort_unstable();
        } else {
            self.sorted.clear();
        }
    }

    /// The `quantile` of the durations, in milliseconds.
    fn typical(&self, quantile: f64) -> i64 {
        match self.sorted.len() {
            0 => self.prior.num_milliseconds(),
            n => self.sorted[((n - 1) as f64 * quantile).round() as usize],
        }
    }

    /// How much longer a step already `elapsed` long will take: the
    /// quantile of the durations longer than `elapsed`, minus `elapsed`.
    /// Past every observation, a tenth of the typical duration.
    fn remaining(&self, elapsed: i64, quantile: f64) -> i64 {
        let elapsed = elapsed.max(0);
        let floor = (self.typical(quantile) / 10).max(1);
        if self.sorted.is_empty() {
            return (self.prior.num_milliseconds() - elapsed).max(floor);
        }
        let longer = &self.sorted[self.sorted.partition_point(|d| *d <= elapsed)..];
        match longer.len() {
            0 => floor,
            n => (longer[((n - 1) as f64 * quantile).round() as usize] - elapsed).max(floor),
        }
    }
}

/// The quantiles a step's durations are compared at to tell whether they
/// moved: the middle and the projection's (the far tail moves with every
/// few observations, and projections do not use it).
fn profile(d: &Durations, quantile: f64) -> [i64; 2] {
    [d.typical(0.5), d.typical(quantile)]
}

/// Whether a quantile moved enough for the verdicts to be worth redoing:
/// by a tenth of it, and at least by `floor` milliseconds.
fn moved(old: i64, new: i64, floor: i64) -> bool {
    (new - old).abs() >= (old.abs() / 10).max(floor)
}

/// The least move of a quantile that calls for judging every parcel again,
/// unless set (see [`Estimates::with_tolerance`]).
const TOLERANCE: Duration = Duration::seconds(30);

/// Learned durations of every step.
#[derive(Debug, Clone)]
pub struct Estimates {
    steps: Vec<Durations>,
    quantile: f64,
    dirty: bool,
    /// Each step's profile when the verdicts last took it in.
    taken_in: Vec<[i64; 2]>,
    /// The least move of a quantile worth judging again for, ms.
    tolerance: i64,
}

impl Estimates {
    /// Starts from the priors; projections use the `quantile` (e.g. 0.8:
    /// four parcels in five are done sooner).
    pub fn new(priors: impl Fn(Step) -> Duration, quantile: f64) -> Self {
        let steps: Vec<Durations> = Step::ALL
            .iter()
            .map(|s| Durations::new(priors(*s)))
            .collect();
        let quantile = quantile.clamp(0.5, 0.99);
        let taken_in = steps.iter().map(|d| profile(d, quantile)).collect();
        Estimates {
            steps,
            quantile,
            dirty: false,
            taken_in,
            tolerance: TOLERANCE.num_milliseconds(),
        }
    }

    /// The same, telling of learned durations only once a quantile moved
    /// by at least `floor` (and a tenth): verdicts are judged against
    /// margins of minutes.
    pub fn with_tolerance(self, floor: Duration) -> Self {
        Estimates {
            tolerance: floor.num_milliseconds().max(1),
            ..self
        }
    }

    /// Records how long a step took. A duration longer than
    /// [`LONGEST_STEP`] comes from times no step could have (a server's
    /// placeholders, a clock gone wrong) and is not learned.
    pub fn observe(&mut self, step: Step, took: Duration) {
        if took > LONGEST_STEP {
            return;
        }
        self.steps[step.index()].observe(took.num_milliseconds());
        self.dirty = true;
    }

    /// Takes in the observations recorded since the last refresh; returns
    /// whether the durations moved enough since they last did to be worth
    /// judging every parcel again (see [`moved`]): a steady stream of
    /// observations that changes nothing costs nothing.
    pub fn refresh(&mut self) -> bool {
        if !self.dirty {
            return false;
        }
        for step in &mut self.steps {
            step.refresh();
        }
        self.dirty = false;
        let now: Vec<[i64; 2]> = self
            .steps
            .iter()
            .map(|d| profile(d, self.quantile))
            .collect();
        let changed = now.iter().zip(&self.taken_in).any(|(new, old)| {
            new.iter()
                .zip(old)
                .any(|(n, o)| moved(*o, *n, self.tolerance))
        });
        if changed {
            self.taken_in = now;
        }
        changed
    }

    /// How long the step usually takes (the projection quantile).
    pub fn typical(&self, step: Step) -> Duration {
        Duration::milliseconds(self.steps[step.index()].typical(self.quantile))
    }

    /// How much longer a step already `elapsed` long will take.
    pub fn remaining(&self, step: Step, elapsed: Duration) -> Duration {
        Duration::milliseconds(
            self.steps[step.index()].remaining(elapsed.num_milliseconds(), self.quantile),
        )
    }

    /// Observations currently used for a step (0 while on the prior).
    pub fn samples(&self, step: Step) -> usize {
        self.steps[step.index()].sorted.len()
    }
}
