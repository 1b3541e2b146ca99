//! The `greenchannel` command.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};
use color_eyre::eyre::{Result, WrapErr, eyre};

use greenchannel::SETTINGS_CHECKS;
use greenchannel::board::Board;
use greenchannel::cli;
use greenchannel::config::Config;
use greenchannel::domain::{HoldActionKind, Lang, time};
use greenchannel::feeds::client::Token;
use greenchannel::feeds::{self, Feed};
use greenchannel::sim::{self, SimConfig};
use greenchannel::status::{FeedRead, StatusReport};
use greenchannel::triage::journal;
use greenchannel::triage::sender::SendPolicy;
use greenchannel::ui::{self, Display};

/// Live board of cross-border e-commerce parcels at the Alashankou rail
/// border port: declaration → inspection → transshipment → release.
///
/// Without a command, the board against the configured APIs.
#[derive(Parser)]
#[command(
    name = "greenchannel",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    board: BoardArgs,
}

#[derive(Subcommand)]
enum Command {
    /// The board against the configured railway and customs APIs.
    Board(BoardArgs),
    /// The board against a simulator started in this process.
    Demo(DemoArgs),
    /// One board for the whole port, served over SSH: each officer's key
    /// opens a screen of their own under their own customs token.
    Serve(ServeArgs),
    /// Read both feeds once, print the board, exit 0 (on track), 1 (watch,
    /// at risk), 2 (late, held) or 3 (a feed could not be read in time).
    Status(StatusArgs),
    /// Serve the simulated railway and customs APIs.
    Sim(SimArgs),
    /// Triage from scripts: list and show the held parcels; claim, release,
    /// note, ask for priority inspection, escalate or defer them (exit 0
    /// all recorded, 1 something refused, 3 customs not reached).
    #[command(subcommand)]
    Hold(HoldCommand),
    /// The triage journals of this machine for the customs API: who asked
    /// for what, when, under which key, and what customs answered.
    Journal(JournalArgs),
}

#[derive(Subcommand)]
enum HoldCommand {
    /// The parcels held now, most urgent first.
    List(HoldListArgs),
    /// One parcel: its hold, notes, and your actions on it.
    Show(HoldShowArgs),
    /// Claim holds.
    Claim(HoldActArgs),
    /// Release claims (a colleague's only as a supervisor).
    Unclaim(HoldActArgs),
    /// Add a note (--note TEXT).
    Note(HoldActArgs),
    /// Ask for priority inspection (asks first, or --yes).
    Priority(HoldActArgs),
    /// Escalate to a supervisor (asks first, or --yes).
    Escalate(HoldActArgs),
    /// Ask to defer to the next train (asks first, or --yes).
    Defer(HoldActArgs),
}

impl HoldCommand {
    /// The triage action of an acting command.
    fn action(&self) -> Option<(HoldActionKind, &HoldActArgs)> {
        let (kind, args) = match self {
            HoldCommand::List(_) | HoldCommand::Show(_) => return None,
            HoldCommand::Claim(a) => (HoldActionKind::Claim, a),
            HoldCommand::Unclaim(a) => (HoldActionKind::Unclaim, a),
            HoldCommand::Note(a) => (HoldActionKind::Note, a),
            HoldCommand::Priority(a) => (HoldActionKind::RequestPriorityInspection, a),
            HoldCommand::Escalate(a) => (HoldActionKind::Escalate, a),
            HoldCommand::Defer(a) => (HoldActionKind::DeferToNextTrain, a),
        };
        Some((kind, args))
    }
}

#[derive(Args)]
struct HoldListArgs {
    #[command(flatten)]
    feeds: FeedArgs,
    /// Only the holds on this train (id or number, e.g. X8017).
    #[arg(long, value_name = "TRAIN")]
    train: Option<String>,
    /// Only the holds you have claimed.
    #[arg(long)]
    mine: bool,
    /// Only the holds nobody has claimed.
    #[arg(long)]
    unclaimed: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct HoldShowArgs {
    #[command(flatten)]
    feeds: FeedArgs,
    /// The inventory number.
    declaration: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct HoldActArgs {
    #[command(flatten)]
    feeds: FeedArgs,
    /// The inventory numbers, acted on in this order.
    #[arg(required = true, value_name = "DECLARATION")]
    declarations: Vec<String>,
    /// The note (needed for `note`; beside any other action too).
    #[arg(long, value_name = "TEXT")]
    note: Option<String>,
    /// Do not ask before priority inspection, escalation or deferral.
    #[arg(long)]
    yes: bool,
    /// Take no action (as on a wall terminal; also `ui.read_only`).
    #[arg(long)]
    read_only: bool,
    /// Seconds to wait for customs' answers; what is unanswered by then
    /// stays in the journal and is sent by the next board or command.
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    wait: f64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct JournalArgs {
    #[command(flatten)]
    feeds: FeedArgs,
    #[command(subcommand)]
    command: Option<JournalCommand>,
    /// Only the actions without an answer (pending or stuck).
    #[arg(long)]
    pending: bool,
    /// Only the actions refused.
    #[arg(long)]
    refused: bool,
    /// Only the actions made since then (RFC 3339, or 30m, 2h, 1d ago).
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum JournalCommand {
    /// Give up an unanswered action that will never go through (asks
    /// first, or --yes).
    Discard {
        #[command(flatten)]
        feeds: FeedArgs,
        /// Its idempotency key (the first 8 characters or more).
        id: String,
        /// Do not ask.
        #[arg(long)]
        yes: bool,
    },
}

/// How the board is shown (each also settable in `[ui]`).
#[derive(Args, Clone, Default)]
struct ShowArgs {
    /// Wall terminal: read-only, cycling pages, large countdowns.
    #[arg(long)]
    wall: bool,
    /// No triage actions from this terminal.
    #[arg(long)]
    read_only: bool,
    /// default (16 ANSI colours), truecolor, light or mono.
    #[arg(long, value_name = "THEME")]
    theme: Option<String>,
    /// Clock zone: beijing, xinjiang, almaty, tashkent, utc.
    #[arg(long, value_name = "ZONE")]
    tz: Option<String>,
    /// Language: en or zh (default from LANG).
    #[arg(long, value_name = "LANG")]
    lang: Option<String>,
    /// No box drawing or block glyphs.
    #[arg(long)]
    ascii: bool,
}

impl ShowArgs {
    /// The display from the settings and these flags.
    fn display(&self, config: &Config) -> Result<Display> {
        let theme_name = self.theme.as_deref().unwrap_or(&config.ui.theme);
        let theme = ui::settings::theme(theme_name)
            .ok_or_else(|| eyre!("--theme {theme_name}? default, truecolor, light, mono"))?;
        let zone_name = self.tz.as_deref().unwrap_or(&config.ui.tz);
        let zone = ui::settings::zone(zone_name)
            .ok_or_else(|| eyre!("--tz {zone_name}? beijing, xinjiang, almaty, tashkent, utc"))?;
        let lang = match self.lang.as_deref() {
            Some("en") => Lang::En,
            Some("zh") => Lang::Zh,
            Some(other) => return Err(eyre!("--lang {other}? en or zh")),
            None => config.lang(std::env::var("LANG").ok().as_deref()),
        };
        Ok(Display {
            wall: self.wall || config.ui.wall,
            read_only: self.read_only || config.ui.read_only,
            theme,
            ascii: self.ascii || config.ui.ascii,
            zone,
            lang,
            wall_cycle_seconds: config.ui.wall_cycle_seconds,
        })
    }
}

#[derive(Args, Clone, Default)]
struct BoardArgs {
    #[command(flatten)]
    feeds: FeedArgs,
    #[command(flatten)]
    show: ShowArgs,
}

#[derive(Args)]
struct DemoArgs {
    #[command(flatten)]
    show: ShowArgs,
    /// Board settings (TOML); durations of judgement are scaled to the
    /// simulator's compression.
    #[arg(long, value_name = "FILE", env = "GREENCHANNEL_CONFIG")]
    config: Option<PathBuf>,
    /// Scenario seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Scenario start instant (RFC 3339); default now.
    #[arg(long, value_name = "TIME")]
    start: Option<String>,
    /// Switch a simulator fault on (repeatable; see `greenchannel sim --help`).
    #[arg(long = "fault", value_name = "NAME")]
    faults: Vec<String>,
}

/// Where the feeds are. Tokens come from GREENCHANNEL_RAILWAY_TOKEN and
/// GREENCHANNEL_CUSTOMS_TOKEN or from a token_file in the settings, never
/// from flags.
#[derive(Args, Clone, Default)]
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
        let mut config = Config::load(self.config.as_deref(), std::env::vars(), SETTINGS_CHECKS)?;
        if let Some(url) = &self.railway_url {
            config.railway.url = url.clone();
        }
        if let Some(url) = &self.customs_url {
            config.customs.url = url.clone();
        }
        config.validate(SETTINGS_CHECKS)?;
        Ok(config)
    }
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    feeds: FeedArgs,
    /// Address to listen on (overrides `[serve] listen`; port 0: any).
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// The officers' keys file (overrides `[serve] keys_file`).
    #[arg(long, value_name = "FILE")]
    keys: Option<PathBuf>,
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
    /// Seconds the whole read may take, whatever the servers do (overrides
    /// `[status] deadline_seconds`); a feed not read by then: exit 3.
    #[arg(long, value_name = "SECONDS")]
    deadline: Option<f64>,
}

impl StatusArgs {
    /// The settings, `--deadline` over `[status] deadline_seconds`.
    fn config(&self) -> Result<Config> {
        let mut config = self.feeds.config()?;
        if let Some(seconds) = self.deadline {
            config.status.deadline_seconds = seconds;
            config.validate(SETTINGS_CHECKS)?;
        }
        Ok(config)
    }
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
    /// mixed_offsets, lost_answers, torn_pages, or all.
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
        switch_on(&mut config, &self.faults)?;
        config.validate()?;
        Ok(config)
    }
}

/// Switches on the simulator's faults named by `--fault`.
fn switch_on(config: &mut SimConfig, faults: &[String]) -> Result<()> {
    for name in faults {
        config.faults.set(name, true).map_err(|e| eyre!(e))?;
    }
    Ok(())
}

/// Where the simulated scenario starts: `--start`, else now.
fn scenario_start(start: Option<&str>) -> Result<chrono::DateTime<chrono::Utc>> {
    match start {
        Some(text) => Ok(time::parse(text).wrap_err("--start")?),
        None => Ok(chrono::Utc::now()),
    }
}

/// A feed's client as configured, its token from the environment or its
/// `token_file`.
fn client(feed: Feed, config: &Config) -> Result<feeds::client::ApiClient> {
    let token = feeds::token(feed, config, |name| std::env::var(name).ok())?;
    Ok(feeds::client(feed, config, token)?)
}

async fn run_sim(args: SimArgs) -> Result<()> {
    let config = args.config()?;
    let start = scenario_start(args.start.as_deref())?;
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

/// Attempts at a feed before `status` counts it as unreadable.
const STATUS_ATTEMPTS: u32 = 3;

/// Reads both feeds once, all by one deadline, and reports; the exit code
/// says how it stands.
async fn run_status(args: StatusArgs) -> Result<i32> {
    let config = args.config()?;
    let deadline = feeds::read_deadline(&config);
    let customs_client = client(Feed::Customs, &config)?;
    let mut railway = feeds::poller(client(Feed::Railway, &config)?, &config);
    let mut customs = feeds::poller(customs_client.clone(), &config);
    let (railway_read, customs_read, officer) = tokio::join!(
        railway.read_once(STATUS_ATTEMPTS, deadline),
        customs.read_once(STATUS_ATTEMPTS, deadline),
        deadline.run(customs_client.whoami())
    );
    let railway_read = railway_read.map_err(|e| e.to_string());
    let customs_read = customs_read.map_err(|e| e.to_string());
    // whoami is asked of customs: unanswered by the deadline, customs was
    // not read in time (any other failure only leaves the officer unknown).
    let (customs_read, officer) = match officer {
        Ok(officer) => (customs_read, officer.ok()),
        Err(late) => (customs_read.and(Err(format!("whoami {late}"))), None),
    };
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
            Err(e) => reads.push((feed, FeedRead::Failed(poller.health().clone(), e))),
        }
    }
    board.review_all(now);
    let limits = feeds::health_limits(&config);
    let report = StatusReport::new(&board, &reads, &limits, officer, args.all, now);
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

/// Asks on the terminal, when there is one; tells of progress on stderr.
struct Terminal;

impl cli::hold::Console for Terminal {
    fn ask(&mut self, question: &str) -> Option<bool> {
        use std::io::IsTerminal as _;
        if !std::io::stdin().is_terminal() {
            return None;
        }
        eprint!("{question} [y/N] ");
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer).ok()?;
        Some(matches!(answer.trim(), "y" | "Y" | "yes"))
    }

    fn progress(&mut self, line: &str) {
        eprintln!("{line}");
    }
}

/// `hold`: lists, shows, or acts on held parcels; the exit code says how
/// it went.
async fn run_hold(command: HoldCommand) -> Result<cli::Exit> {
    use cli::hold;
    if let Some((kind, args)) = command.action() {
        let config = args.feeds.config()?;
        let customs = client(Feed::Customs, &config)?;
        let lang = config.lang(std::env::var("LANG").ok().as_deref());
        let ask = hold::Ask {
            kind,
            declarations: args.declarations.clone(),
            note: args.note.clone(),
            yes: args.yes,
            read_only: args.read_only || config.ui.read_only,
        };
        let officer = match customs.whoami().await {
            Ok(officer) => officer,
            Err(e) => {
                eprintln!("customs did not say who this token is: {e}");
                return Ok(if e.is_transient() {
                    cli::Exit::Unreachable
                } else {
                    cli::Exit::Refused
                });
            }
        };
        let wait = std::time::Duration::try_from_secs_f64(args.wait.max(0.0))
            .unwrap_or(feeds::deadline::Deadline::MAX);
        let dir = journal_dir(&config);
        let acted = hold::act(
            ask,
            &customs,
            &officer,
            dir.as_deref(),
            SendPolicy::of(&config),
            wait,
            lang,
            &mut Terminal,
        )
        .await;
        cli::print(&acted.output(args.json))?;
        return Ok(acted.exit());
    }
    let now = chrono::Utc::now();
    match command {
        HoldCommand::List(args) => {
            let config = args.feeds.config()?;
            let customs = client(Feed::Customs, &config)?;
            let railway = client(Feed::Railway, &config)?;
            let officer = if args.mine {
                Some(customs.whoami().await?)
            } else {
                None
            };
            let held = hold::held(&customs, &railway).await?;
            let filter = hold::ListFilter {
                train: args.train,
                mine: args.mine,
                unclaimed: args.unclaimed,
            };
            cli::print(&hold::list_output(
                &held,
                &filter,
                officer.as_ref(),
                args.json,
                now,
            ))?;
        }
        HoldCommand::Show(args) => {
            let config = args.feeds.config()?;
            let customs = client(Feed::Customs, &config)?;
            let railway = client(Feed::Railway, &config)?;
            let declaration = customs.declaration(&args.declaration).await?;
            let release_cutoff = match declaration.train_id.as_deref() {
                Some(id) => railway
                    .train(id)
                    .await
                    .ok()
                    .map(|t| t.cutoffs.customs_release),
                None => None,
            };
            let mine = match (journal_dir(&config), customs.whoami().await) {
                (Some(dir), Ok(officer)) => cli::journal::trail(&dir, customs.base_url())
                    .0
                    .into_iter()
                    .filter(|l| {
                        l.declaration_no == args.declaration && l.officer_id == officer.officer_id
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let shown = hold::Shown {
                declaration,
                release_cutoff,
                mine,
            };
            cli::print(&hold::show_output(&shown, args.json, now))?;
        }
        _ => unreachable!("the acting commands are handled above"),
    }
    Ok(cli::Exit::Done)
}

/// `journal`: prints the trail, or discards one action.
fn run_journal(args: JournalArgs) -> Result<cli::Exit> {
    use cli::journal;
    let feeds = match &args.command {
        Some(JournalCommand::Discard { feeds, .. }) => feeds,
        None => &args.feeds,
    };
    let config = feeds.config()?;
    let dir = journal_dir(&config)
        .ok_or_else(|| eyre!("no state directory: set HOME or triage.journal_dir"))?;
    let customs_url = config.customs.url.trim_end_matches('/');
    let (lines, unreadable) = journal::trail(&dir, customs_url);
    if unreadable > 0 {
        eprintln!("{unreadable} journal line(s) could not be read and are left out");
    }
    match args.command {
        None => {
            let since = args
                .since
                .as_deref()
                .map(|text| journal::since(text, chrono::Utc::now()))
                .transpose()
                .map_err(|e| eyre!(e))?;
            let filter = journal::TrailFilter {
                pending: args.pending,
                refused: args.refused,
                since,
            };
            cli::print(&journal::output(&lines, &filter, args.json))?;
            Ok(cli::Exit::Done)
        }
        Some(JournalCommand::Discard { id, yes, .. }) => {
            let line = journal::find(&lines, &id).map_err(|e| eyre!(e))?;
            if !yes {
                let question = format!("discard {}?", line.summary());
                match cli::hold::Console::ask(&mut Terminal, &question) {
                    Some(true) => {}
                    Some(false) => return Ok(cli::Exit::Refused),
                    None => return Err(eyre!("asks first: confirm with --yes")),
                }
            }
            let exit = journal::discard(line).map_err(|e| eyre!(e))?;
            eprintln!(
                "discarded {} ({} {})",
                line.key,
                line.action.as_str(),
                line.declaration_no
            );
            Ok(exit)
        }
    }
}

/// The board against the configured APIs.
async fn run_board(args: BoardArgs) -> Result<()> {
    let config = args.feeds.config()?;
    let display = args.show.display(&config)?;
    let (railway, customs) = (
        client(Feed::Railway, &config)?,
        client(Feed::Customs, &config)?,
    );
    let journal_dir = journal_dir(&config);
    show_board(&config, &display, railway, customs, journal_dir.as_deref()).await
}

/// The board on this terminal until the officer leaves it, with the keys
/// the settings give and the triage journals in `journal_dir`.
async fn show_board(
    config: &Config,
    display: &ui::Display,
    railway: feeds::client::ApiClient,
    customs: feeds::client::ApiClient,
    journal_dir: Option<&Path>,
) -> Result<()> {
    let keymap = ui::settings::keymap(config).map_err(|e| eyre!(e))?;
    ui::run(config, display, keymap, railway, customs, journal_dir).await?;
    Ok(())
}

/// The board against a simulator in this process, on a loopback port.
async fn run_demo(args: DemoArgs) -> Result<()> {
    let mut sim_config = SimConfig {
        seed: args.seed,
        ..SimConfig::default()
    };
    switch_on(&mut sim_config, &args.faults)?;
    let start = scenario_start(args.start.as_deref())?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let running = sim::spawn(&sim_config, start, false, listener)?;
    let mut config = Config::load(args.config.as_deref(), std::env::vars(), SETTINGS_CHECKS)?
        .compressed(sim_config.time_compression);
    config.railway.url = running.railway_url();
    config.customs.url = running.customs_url();
    config.validate(SETTINGS_CHECKS)?;
    let display = args.show.display(&config)?;
    // The demo's own tokens: a wall or read-only board signs in as viewer.
    let customs_token = if display.wall || display.read_only {
        "demo-viewer"
    } else {
        "demo-officer"
    };
    let railway = feeds::client(Feed::Railway, &config, Token::new("demo-viewer"))?;
    let customs = feeds::client(Feed::Customs, &config, Token::new(customs_token))?;
    // The demo keeps its journals apart from the real ones; what an earlier
    // demo left is of no use (its simulated world is gone with it).
    let journal_dir = journal_dir(&config).map(|dir| dir.join("demo"));
    if let Some(dir) = &journal_dir {
        journal::clear_idle(dir).wrap_err_with(|| format!("demo journals {}", dir.display()))?;
    }
    show_board(&config, &display, railway, customs, journal_dir.as_deref()).await?;
    running.stop();
    Ok(())
}

/// `serve`: the board over SSH until SIGTERM or SIGINT.
async fn run_serve(args: ServeArgs) -> Result<()> {
    use greenchannel::serve;
    let config = args.feeds.config()?;
    // Every screen's defaults come from the settings; each session's own
    // terminal (TERM, NO_COLOR, LANG, TZ) says the rest.
    let display = ShowArgs::default().display(&config)?;
    let keymap = ui::settings::keymap(&config).map_err(|e| eyre!(e))?;
    let keys_file = args
        .keys
        .or_else(|| {
            (!config.serve.keys_file.is_empty()).then(|| config.serve.keys_file.clone().into())
        })
        .ok_or_else(|| eyre!("no keys file: --keys FILE or [serve] keys_file"))?;
    let keys = serve::keys::Keys::load(&keys_file).map_err(|e| eyre!(e))?;
    let host_key_file = if config.serve.host_key.is_empty() {
        state_dir()
            .ok_or_else(|| {
                eyre!("no state directory for the host key: set HOME or [serve] host_key")
            })?
            .join("ssh_host_ed25519_key")
    } else {
        PathBuf::from(&config.serve.host_key)
    };
    let host_key = serve::host_key::load_or_make(&host_key_file).map_err(|e| eyre!(e))?;
    let listen = match args.listen {
        Some(addr) => addr,
        None => config.serve.listen.parse()?,
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .wrap_err_with(|| format!("cannot listen on {listen}"))?;
    println!(
        "greenchannel serve on {} ({} keys, host key {})",
        listener.local_addr()?,
        keys.len(),
        host_key
            .public_key()
            .fingerprint(russh::keys::HashAlg::Sha256)
    );
    std::io::stdout().flush()?;
    let serving = serve::Serving {
        railway: client(Feed::Railway, &config)?,
        customs: client(Feed::Customs, &config)?,
        journal_dir: journal_dir(&config),
        config,
        keymap,
        display,
        keys,
        host_key,
    };
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let stop = async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    };
    serve::run(serving, listener, stop)
        .await
        .map_err(|e| eyre!(e))
}

/// The user's state directory for greenchannel (`$XDG_STATE_HOME` or
/// `~/.local/state`, then `greenchannel`).
fn state_dir() -> Option<PathBuf> {
    let var = |name| std::env::var_os(name).map(PathBuf::from);
    journal::default_dir(var("HOME").as_deref(), var("XDG_STATE_HOME").as_deref())
        .and_then(|journals| journals.parent().map(Path::to_path_buf))
}

/// Where the triage journals go: the setting, else the user's state
/// directory.
fn journal_dir(config: &Config) -> Option<PathBuf> {
    let var = |name| std::env::var_os(name).map(PathBuf::from);
    journal::dir_from(
        &config.triage.journal_dir,
        var("HOME").as_deref(),
        var("XDG_STATE_HOME").as_deref(),
    )
}

fn token_list(config: &SimConfig) -> String {
    config
        .tokens
        .iter()
        .map(|t| format!("{} ({})", t.token, t.role))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Logs go to stderr for the simulator, the server and the status mode
/// (`default_level` unless GREENCHANNEL_LOG says); the board owns the
/// terminal, so its logs go to a file, and only when asked for
/// (GREENCHANNEL_LOG=debug, GREENCHANNEL_LOG_FILE=path).
fn init_logging(to_file: bool, default_level: &str) -> Result<()> {
    let filter = || {
        tracing_subscriber::EnvFilter::try_from_env("GREENCHANNEL_LOG")
            .unwrap_or_else(|_| default_level.into())
    };
    if !to_file {
        use std::io::IsTerminal as _;
        // Colours only for a person at a terminal, not for journald.
        tracing_subscriber::fmt()
            .with_env_filter(filter())
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .init();
    } else if std::env::var_os("GREENCHANNEL_LOG").is_some() {
        let path = std::env::var_os("GREENCHANNEL_LOG_FILE")
            .map_or_else(|| PathBuf::from("greenchannel.log"), PathBuf::from);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .wrap_err_with(|| format!("log file {}", path.display()))?;
        tracing_subscriber::fmt()
            .with_env_filter(filter())
            .with_ansi(false)
            .with_writer(std::sync::Mutex::new(file))
            .init();
    }
    Ok(())
}

fn main() -> Result<()> {
    color_eyre::install()?;
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Like a monitoring plugin, `status` says 3 for anything that
            // stops it, a bad flag included.
            let status = std::env::args().nth(1).as_deref() == Some("status");
            let usage = !matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            );
            if status && usage {
                let _ = e.print();
                std::process::exit(3);
            }
            e.exit();
        }
    };
    let on_terminal = matches!(
        cli.command,
        None | Some(Command::Board(_)) | Some(Command::Demo(_))
    );
    // A server's log is its journal: who logged in, who was refused.
    let default_level = if matches!(cli.command, Some(Command::Serve(_))) {
        "warn,greenchannel=info"
    } else {
        "warn"
    };
    init_logging(on_terminal, default_level)?;
    let runtime = tokio::runtime::Runtime::new()?;
    match cli.command {
        None => runtime.block_on(run_board(cli.board)),
        Some(Command::Board(args)) => runtime.block_on(run_board(args)),
        Some(Command::Demo(args)) => runtime.block_on(run_demo(args)),
        Some(Command::Serve(args)) => runtime.block_on(run_serve(args)),
        Some(Command::Sim(args)) => runtime.block_on(run_sim(args)),
        Some(Command::Status(args)) => {
            // Like a monitoring plugin: anything that stops the read is 3.
            let code = runtime.block_on(run_status(args)).unwrap_or_else(|e| {
                eprintln!("greenchannel status: {e}");
                3
            });
            std::process::exit(code);
        }
        Some(Command::Hold(command)) => {
            let code = runtime.block_on(run_hold(command)).unwrap_or_else(|e| {
                eprintln!("greenchannel hold: {e}");
                cli::Exit::Unreachable
            });
            std::process::exit(code as i32);
        }
        Some(Command::Journal(args)) => {
            let code = run_journal(args).unwrap_or_else(|e| {
                eprintln!("greenchannel journal: {e}");
                cli::Exit::Refused
            });
            std::process::exit(code as i32);
        }
    }
}
