//! greenchannel: a live board of cross-border e-commerce parcels on their way
//! from declaration to departure at the Alashankou rail border port.
//!
//! Data flows one way: the upstream APIs (here [`sim`], the simulator) →
//! events → board state → view. [`domain`] holds the pure model every other
//! module depends on; [`station`] keeps a board going for the local
//! terminal and for the ssh sessions of [`serve`] alike.

pub mod board;
pub mod cli;
pub mod config;
pub mod domain;
pub mod feeds;
pub mod parallel;
pub mod serve;
pub mod sim;
pub mod station;
pub mod status;
pub mod triage;
pub mod ui;

/// The checks each module makes of its own words in the settings (the
/// config module knows none of them), for [`config::Config::load`].
pub const SETTINGS_CHECKS: &[config::Check] = &[ui::settings::check];
