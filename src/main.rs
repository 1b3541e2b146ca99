//! The `greenchannel` command.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use color_eyre::eyre::{Result, WrapErr, eyre};

use greenchannel::board::Board;
use greenchannel::config::Config;
use greenchannel::domain::time;
use greenchannel::feeds::{self, Feed};
use greenchannel::sim::{self, SimConfig};
use greenchannel::status::{FeedRead, StatusReport};

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
    /// Read both feeds once, print the board, exit 0 (on track), 1 (watch,
    /// at risk), 2 (late, held) or 3 (a feed could not be read).
    Status(StatusArgs),
    /// Serve the simulated railway and customs APIs.
    Sim(SimArgs),
}

/// Where the feeds are. Tokens come from GREENCHANNEL_RAILWAY_TOKEN and
/// GREENCHANNEL_CUSTOMS_TOKEN or from a token_file in the settings, never
/// from flags.
#[derive(Args)]
struct FeedArgs {
    /// Settings file (TOML; see config/greenchannel.toml).
    #[arg(long, value_name = "FILE", env = "GREENCHANNEL_CONFIG")]
    config: Option<PathBuf>,
    /// Base URL of the railway API (overrides the settings).
    #[arg(long, value_name = "URL")]
    railway_url: Option<String>,
    /// Base URL of the customs API (overrides the settings).
    #[arg(long, value_name = "URL")]
    customs_url: Option<String>,
}

impl FeedArgs {
    fn config(&self) -> Result<Config> {
        let mut config = Config::load(self.config.as_deref(), std::env::vars())?;
        if let Some(url) = &self.railway_url {
            config.railway.url = url.clone();
        }
        if let Some(url) = &self.customs_url {
            config.customs.url = url.clone();
        }
        config.validate()?;
        Ok(config)
    }
}

#[derive(Args)]
struct StatusArgs {
    #[command(flatten)]
    feeds: FeedArgs,
    /// Print the board as JSON.
    #[arg(long)]
    json: bool,
    /// List every parcel, not only those not on track.
    #[arg(long)]
    all: bool,
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

/// Reads both feeds once and reports; the exit code says how it stands.
async fn run_status(args: StatusArgs) -> Result<i32> {
    let config = args.feeds.config()?;
    let client = |feed| -> Result<_> {
        let token = feeds::token(feed, &config, |name| std::env::var(name).ok())?;
        Ok(feeds::client(feed, &config, token)?)
    };
    let customs_client = client(Feed::Customs)?;
    let mut railway = feeds::poller(client(Feed::Railway)?, &config);
    let mut customs = feeds::poller(customs_client.clone(), &config);
    let (railway_read, customs_read, officer) = tokio::join!(
        railway.read_once(3),
        customs.read_once(3),
        customs_client.whoami()
    );
    // Judge at the servers' time: the local clock may be off.
    let skew = customs
        .health()
        .skew
        .or(railway.health().skew)
        .unwrap_or_default();
    let now = chrono::Utc::now() - skew;
    let mut board = Board::new(config.board_settings(), now);
    let mut reads = Vec::new();
    for (feed, read, poller) in [
        (Feed::Railway, railway_read, &railway),
        (Feed::Customs, customs_read, &customs),
    ] {
        match read {
            Ok(deliveries) => {
                for delivery in deliveries {
                    board.apply(delivery, now);
                }
                reads.push((feed, FeedRead::Read(poller.health().clone())));
            }
            Err(e) => reads.push((
                feed,
                FeedRead::Failed(poller.health().clone(), e.to_string()),
            )),
        }
    }
    board.review_all(now);
    let limits = feeds::health_limits(&config);
    let report = StatusReport::new(&board, &reads, &limits, officer.ok(), args.all, now);
    let text = if args.json {
        report.json() + "\n"
    } else {
        report.text(25)
    };
    // A reader that stops early (`| head`) is not an error.
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(e.into());
    }
    Ok(report.exit_code())
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
        Command::Status(args) => {
            // Like a monitoring plugin: anything that stops the read is 3.
            let code = runtime.block_on(run_status(args)).unwrap_or_else(|e| {
                eprintln!("greenchannel status: {e}");
                3
            });
            std::process::exit(code);
        }
    }
}
