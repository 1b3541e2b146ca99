//! greenchannel: a live board of cross-border e-commerce parcels on their way
//! from declaration to departure at the Alashankou rail border port.

pub mod domain;
