//! What the benchmarks share: when to run, where the scenario starts, and
//! this process's memory as the kernel reports it. Each benchmark uses
//! what it needs of it.
#![allow(dead_code)]

use chrono::{DateTime, Utc};

/// Whether to measure: `cargo bench` passes `--bench`; `cargo test
/// --all-targets` runs benchmark binaries too, without it, and an
/// unoptimised run there would take minutes and measure nothing.
pub fn measuring(name: &str) -> bool {
    let measuring = std::env::args().any(|arg| arg == "--bench");
    if !measuring {
        eprintln!("{name} is a benchmark: cargo bench --bench {name}");
    }
    measuring
}

/// Where both scenarios start.
pub fn start() -> DateTime<Utc> {
    "2026-11-26T03:30:00Z".parse().expect("instant")
}

/// A field of `/proc/self/status` in KiB (`VmRSS:`, `VmHWM:`).
pub fn status_kib(field: &str) -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
