//! The `greenchannel` command.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use color_eyre::eyre::{Result, WrapErr, eyre};

use greenchannel::domain::time;
use greenchannel::sim::{self, SimConfig};

/// Live board of cross-border e-commerce parcels at the Alashankou rail
/// border port: declaration → inspection → transshipment → release.
#[derive(Parser)]
#[command(name = "greenchannel", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the simulated railway and customs APIs.
    Sim(SimArgs),
}

#[derive(Args)]
struct SimArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7400")]
    listen: SocketAddr,
    /// Scenario seed (overrides the config file).
    #[arg(long)]
    seed: Option<u64>,
    /// Simulator settings (TOML; see config/sim.toml).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Scenario start instant (RFC 3339); default now.
    #[arg(long, value_name = "TIME")]
    start: Option<String>,
    /// Start with the scenario clock paused (resume with POST /control/clock).
    #[arg(long)]
    paused: bool,
    /// Switch a fault on (repeatable): duplicates, reorder, rate_limit,
    /// outages, slow, cursor_expiry, unknown_codes, hostile_text,
    /// mixed_offsets, lost_answers, or all.
    #[arg(long = "fault", value_name = "NAME")]
    faults: Vec<String>,
    /// Real-world durations are divided by this (1 = the real timetable).
    #[arg(long)]
    time_compression: Option<f64>,
    /// Parcels in every container (overrides the configured range).
    #[arg(long)]
    parcels_per_container: Option<u32>,
}

impl SimArgs {
    fn config(&self) -> Result<SimConfig> {
        let mut config = match &self.config {
            Some(path) => SimConfig::load(path)?,
            None => SimConfig::default(),
        };
        if let Some(seed) = self.seed {
            config.seed = seed;
        }
        if let Some(compression) = self.time_compression {
            config.time_compression = compression;
        }
        if let Some(n) = self.parcels_per_container {
            config.timetable.parcels_per_container_min = n;
            config.timetable.parcels_per_container_max = n;
        }
        for name in &self.faults {
            config.faults.set(name, true).map_err(|e| eyre!(e))?;
        }
        config.validate()?;
        Ok(config)
    }
}

async fn run_sim(args: SimArgs) -> Result<()> {
    let config = args.config()?;
    let start = match &args.start {
        Some(text) => time::parse(text).wrap_err("--start")?,
        None => chrono::Utc::now(),
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .wrap_err_with(|| format!("cannot listen on {}", args.listen))?;
    let running = sim::spawn(&config, start, args.paused, listener)?;
    let stats = running.state.world().stats();
    println!("greenchannel simulator on http://{}", running.addr);
    println!("  railway API   {}", running.railway_url());
    println!("  customs API   {}", running.customs_url());
    println!("  control       {}/status", running.control_url());
    println!(
        "  scenario      seed {}, {} trains, {} parcels on the board{}",
        config.seed,
        stats.trains,
        stats.parcels_on_board,
        if args.paused { ", clock paused" } else { "" }
    );
    let faults = config.faults.active();
    if !faults.is_empty() {
        println!("  faults        {}", faults.join(", "));
    }
    println!("  tokens        {}", token_list(&config));
    tokio::signal::ctrl_c().await?;
    running.stop();
    Ok(())
}

fn token_list(config: &SimConfig) -> String {
    config
        .tokens
        .iter()
        .map(|t| format!("{} ({})", t.token, t.role))
        .collect::<Vec<_>>()
        .join(", ")
}

fn main() -> Result<()> {
    color_eyre::install()?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("GREENCHANNEL_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new()?;
    match cli.command {
        Command::Sim(args) => runtime.block_on(run_sim(args)),
    }
}
