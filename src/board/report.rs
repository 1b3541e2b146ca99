//! The board as a report: the JSON of `greenchannel status --json` and its
//! compact text form.
