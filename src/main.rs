//! The `shelftalk` command: CLI parsing, tracing set-up, output and exit codes.
//! This is the only place that prints to stdout or exits.
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::exit)]

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use serde::Serialize;

use shelftalk::audit::AuditLog;
use shelftalk::config::Config;
use shelftalk::crypto::keyfiles::KeyDir;
use shelftalk::feedback::cells::{Counts, Day};
use shelftalk::feedback::simulate::{self, SimOptions};
use shelftalk::hq;
use shelftalk::hq::store::{Dim, HqStore, SqliteHq};
use shelftalk::import;
use shelftalk::ingest::{CatalogFormat, EventFormat, Rules};
use shelftalk::personalise::{self, StoreModel};
use shelftalk::profile::{self, Vault};
use shelftalk::store::{self, Store};
use shelftalk::sync;
use shelftalk::vocab::{CardScheme, LoyaltyNumber};

/// On-device personalised shelf-talker copy for retail kiosks.
///
/// shelftalk keeps shopper profiles encrypted in a local SQLite file, writes short marketing copy
/// with a local language model and syncs only anonymised, aggregated feedback to HQ.
#[derive(Parser, Debug)]
#[command(name = "shelftalk", version, propagate_version = true)]
struct Cli {
    /// Config file [default: firmware-config/kiosk.toml when present].
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory (database, runtime files; keys under keys/ unless key_dir is set).
    /// Overrides the config's data_dir.
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// More log output on stderr (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the kiosk: the shopper screen on this terminal, the copy engine, the control socket
    /// for `shelftalk console`, retention sweep and feedback sync. Stops on SIGINT/SIGTERM.
    Run,
    /// The technician console: attaches to the running daemon's control socket (PIN required).
    Console {
        #[command(subcommand)]
        cmd: Option<ConsoleCmd>,
    },
    /// Set up a demo data dir (keys, demo catalog and behaviour log, console PIN 2468) unless
    /// present, print loyalty codes to try, then run the kiosk on it.
    Demo {
        /// Directory holding the demo's catalog.csv and events.csv.
        #[arg(long, default_value = "demo", value_name = "DIR")]
        demo_dir: PathBuf,
    },
    /// Create, show and rotate the kiosk's keys.
    #[command(subcommand)]
    Keys(KeysCmd),
    /// Enrol, inspect and erase shoppers; run the retention sweep.
    #[command(subcommand)]
    Shopper(ShopperCmd),
    /// Print the effective configuration (after file, environment and flags).
    Config(JsonFlag),
    /// Import a product catalog or behaviour events, with data-quality checks and quarantine.
    #[command(subcommand)]
    Import(ImportCmd),
    /// Write copy for one product (streamed to the terminal), or pre-generate it (`copy warm`).
    #[command(args_conflicts_with_subcommands = true)]
    Copy {
        #[command(subcommand)]
        cmd: Option<CopyCmd>,
        #[command(flatten)]
        args: CopyArgs,
    },
    /// Ranked, explained picks for a shopper (or an anonymous visitor with scans).
    Recommend {
        /// For a shopper (omit for an anonymous visitor); the number is never an argument.
        #[command(flatten)]
        loyalty: LoyaltyInput,
        /// Products scanned in this visit.
        #[arg(long = "scan", value_name = "SKU")]
        scans: Vec<String>,
        /// How many picks.
        #[arg(short, default_value_t = 3)]
        n: usize,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// The journey MDP: estimate it from a behaviour log and print the model and policy.
    Mdp {
        #[command(subcommand)]
        cmd: MdpCmd,
    },
    /// Offline evaluation against a behaviour log.
    Eval {
        #[command(subcommand)]
        cmd: EvalCmd,
    },
    /// The health gate: keys, database integrity, model hash, a test generation through the
    /// guardrails, disk space, HQ reachability (warning only). Exit status 0 only when healthy.
    Selftest(JsonFlag),
    /// Install a new model or prompt pack beside the active one: verified, checked with a test
    /// generation through the guardrails, then switched atomically (a running kiosk picks it up
    /// between sessions). On failure the active content stays.
    #[command(subcommand)]
    Update(UpdateCmd),
    /// Set this kiosk up: data and key dirs (mode 0700), keys, the technician PIN and the
    /// kiosk's config file (--config, default <data-dir>/kiosk.toml); prints the command that
    /// enrols it at HQ. Running it again changes nothing; existing keys are never replaced.
    Provision {
        /// The store this kiosk stands in, as HQ's reports name it.
        #[arg(long = "store", value_name = "ID")]
        store_id: String,
        /// This kiosk's id, unique in the fleet (HQ enrols and reports by it).
        #[arg(long = "kiosk", value_name = "ID")]
        kiosk_id: String,
        /// Read the technician PIN from the first line of this file instead of asking.
        #[arg(long, value_name = "FILE")]
        pin_file: Option<PathBuf>,
        /// HQ's database file, as the printed `hq enroll` command names it.
        #[arg(long, default_value = "hq.db", value_name = "FILE")]
        hq_db: String,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Summary of the kiosk's database: products, shoppers, sealed rows, quarantine.
    Status(JsonFlag),
    /// List rows the importers rejected, with file, line, field and reason.
    Quarantine {
        #[command(subcommand)]
        cmd: QuarantineCmd,
    },
    /// Check the technician audit log's hash chain.
    Audit {
        #[command(subcommand)]
        cmd: AuditCmd,
    },
    /// Benchmarks that print each figure beside a baseline measured in the same run.
    #[command(subcommand)]
    Bench(BenchCmd),
    /// Local feedback: simulate shoppers, show totals.
    #[command(subcommand)]
    Feedback(FeedbackCmd),
    /// Send anonymised feedback batches to HQ; pull fleet priors.
    #[command(subcommand)]
    Sync(SyncCmd),
    /// The HQ server and its administration (works on HQ's own database file).
    #[command(subcommand)]
    Hq(HqCmd),
}

#[derive(Subcommand, Debug)]
enum ConsoleCmd {
    /// Store the technician PIN (4-12 digits) as a PBKDF2 hash in the config file in use.
    SetPin {
        /// Read the PIN from the first line of this file instead of asking.
        #[arg(long, value_name = "FILE")]
        pin_file: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum FeedbackCmd {
    /// Synthetic shoppers through the kiosk's recording path: picks from the imported catalog,
    /// styles by the bandit, impressions, interactions and some conversions, on closed days.
    Simulate {
        /// Kiosk sessions to simulate.
        #[arg(long)]
        sessions: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Spread the sessions over this many closed days.
        #[arg(long, default_value_t = 7)]
        days: u32,
        /// Picks shown per session.
        #[arg(long, default_value_t = 3)]
        picks: usize,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Local totals: recorded, waiting for the day to close, withheld by k-anonymity, in the
    /// outbox, acknowledged by HQ, dropped.
    Status(JsonFlag),
}

#[derive(Subcommand, Debug)]
enum SyncCmd {
    /// Close finished days into cells, batch and sign them, and send the outbox to HQ now.
    Now(JsonFlag),
    /// Outbox and sync state.
    Status(JsonFlag),
    /// Pull the fleet's Beta priors per segment and style into the local bandit.
    Priors(JsonFlag),
}

#[derive(Args, Debug)]
struct HqDb {
    /// HQ's SQLite database file (created if missing).
    #[arg(long, value_name = "FILE")]
    db: PathBuf,
}

#[derive(Subcommand, Debug)]
enum HqCmd {
    /// Serve the HQ HTTP API and dashboard.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8787", value_name = "ADDR")]
        listen: String,
        #[command(flatten)]
        db: HqDb,
        /// Largest accepted request body, bytes.
        #[arg(long, default_value_t = shelftalk::hq::DEFAULT_MAX_BODY)]
        max_body: usize,
    },
    /// Enrol (or re-key) a kiosk with the public key `shelftalk keys show-public` prints.
    Enroll {
        #[command(flatten)]
        db: HqDb,
        /// The kiosk's id, as its `provision` printed it.
        #[arg(long, value_name = "ID")]
        kiosk: String,
        /// The store the kiosk stands in.
        #[arg(long, value_name = "ID")]
        store: String,
        /// The kiosk's Ed25519 public key, hex (`shelftalk keys show-public`).
        #[arg(long, value_name = "HEX")]
        pubkey: String,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Disable a kiosk: its batches are refused until it is enabled again.
    Disable {
        #[command(flatten)]
        db: HqDb,
        /// The kiosk's id.
        #[arg(long, value_name = "ID")]
        kiosk: String,
    },
    /// Enable a disabled kiosk.
    Enable {
        #[command(flatten)]
        db: HqDb,
        /// The kiosk's id.
        #[arg(long, value_name = "ID")]
        kiosk: String,
    },
    /// Analyst bearer tokens (stored hashed).
    #[command(subcommand)]
    Token(HqTokenCmd),
    /// Feedback report from the HQ database (all days unless --from/--to).
    Report {
        #[command(flatten)]
        db: HqDb,
        /// First day, YYYY-MM-DD.
        #[arg(long)]
        from: Option<String>,
        /// Last day, YYYY-MM-DD.
        #[arg(long)]
        to: Option<String>,
        /// Comma-separated: store, kiosk, sku, style, segment, content_kind, day.
        #[arg(long, default_value = "style")]
        group_by: String,
        #[arg(long, default_value = "csv", value_parser = ["csv", "json"])]
        format: String,
    },
}

#[derive(Subcommand, Debug)]
enum HqTokenCmd {
    /// Create a token; it is printed once and stored only as a hash.
    Create {
        #[command(flatten)]
        db: HqDb,
        #[arg(long, default_value = "analyst")]
        name: String,
        #[command(flatten)]
        out: JsonFlag,
    },
}

#[derive(Subcommand, Debug)]
enum ImportCmd {
    /// Import products; rejected rows go to quarantine. Re-importing the same file changes nothing.
    Catalog {
        file: PathBuf,
        #[arg(long, value_enum, default_value = "auto")]
        format: CatalogFormat,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Import behaviour events or point-of-sale lines; identified customers' events are sealed
    /// into their shopper's rows, store statistics are kept without shopper ids.
    Events {
        file: PathBuf,
        #[arg(long, value_enum, default_value = "auto")]
        format: EventFormat,
        #[command(flatten)]
        out: JsonFlag,
    },
}

#[derive(Args, Debug)]
struct CopyArgs {
    /// The product.
    #[arg(long, value_name = "SKU")]
    sku: Option<String>,
    /// Write for a shopper's segment (the number is never an argument).
    #[command(flatten)]
    loyalty: LoyaltyInput,
    /// Write for a segment key such as `footwear/mid` (default: `all`).
    #[arg(long, value_name = "KEY")]
    segment: Option<String>,
    /// Copy style (concise, playful, premium, value); default: chosen by the style bandit.
    #[arg(long)]
    style: Option<String>,
    /// Decode the whole prompt for this request instead of reusing the style's cached prefix
    /// (reproducible audits with --seed).
    #[arg(long)]
    no_prefix_cache: bool,
    /// Bypass the copy cache (neither read nor written).
    #[arg(long)]
    no_cache: bool,
    /// Sampling seed.
    #[arg(long, default_value_t = 42)]
    seed: u32,
    #[command(flatten)]
    out: JsonFlag,
}

#[derive(Subcommand, Debug)]
enum CopyCmd {
    /// Pre-generate copy for the most viewed products × the most common segments, every style.
    Warm {
        /// Most viewed products to warm [default: config `copy_warm_top`].
        #[arg(long)]
        top: Option<usize>,
        /// Most common shopper segments to warm, plus `all` [default: config
        /// `copy_warm_segments`].
        #[arg(long)]
        segments: Option<usize>,
        #[command(flatten)]
        out: JsonFlag,
    },
}

#[derive(Subcommand, Debug)]
enum UpdateCmd {
    /// A GGUF model and the manifest describing it (name, size, sha256, prompt format).
    Model {
        /// The model file; copied into `<data_dir>/content/models/` under its sha256.
        #[arg(long, value_name = "FILE")]
        gguf: PathBuf,
        /// Its manifest (the format of `models/manifest.toml`); size and sha256 must match.
        #[arg(long, value_name = "FILE")]
        manifest: PathBuf,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// A prompt pack (TOML, every style with examples).
    Pack {
        /// The pack file (the format of `prompt-packs/default.toml`).
        #[arg(value_name = "FILE")]
        file: PathBuf,
        #[command(flatten)]
        out: JsonFlag,
    },
}

#[derive(Subcommand, Debug)]
enum MdpCmd {
    /// Fit P(s'|s,a) and R(s,a) from the log's sessions (with smoothing), solve by value
    /// iteration, print both.
    Fit {
        /// The behaviour log (REES46 or Online Retail CSV, or shelftalk's JSON lines).
        #[arg(long, value_name = "FILE")]
        events: PathBuf,
        #[arg(long, value_enum, default_value = "auto")]
        format: EventFormat,
        #[command(flatten)]
        out: JsonFlag,
    },
}

#[derive(Subcommand, Debug)]
enum EvalCmd {
    /// Leave-last-out replay per shopper: hit-rate@3 and NDCG@3 of the fused recommender and of
    /// a popularity-only baseline, in the same run.
    Recommend {
        /// The behaviour log (REES46 or Online Retail CSV, or shelftalk's JSON lines).
        #[arg(long, value_name = "FILE")]
        events: PathBuf,
        #[arg(long, value_enum, default_value = "auto")]
        format: EventFormat,
        #[command(flatten)]
        out: JsonFlag,
    },
}

#[derive(Subcommand, Debug)]
enum AuditCmd {
    /// Recompute every link of the audit log; fails naming the first broken line.
    Verify(JsonFlag),
}

#[derive(Subcommand, Debug)]
enum QuarantineCmd {
    /// Quarantined rows, newest import first.
    List {
        /// Only rows rejected by this rule (e.g. `bad_price`).
        #[arg(long)]
        rule: Option<String>,
        /// At most this many rows.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[command(flatten)]
        out: JsonFlag,
    },
}

#[derive(Subcommand, Debug)]
enum BenchCmd {
    /// The copy engine on the configured model: tokens/s, time to first token with and without
    /// the prefix cache, fresh-blurb and cache-hit latency, guardrail pass rate, peak memory.
    Copy {
        /// Catalog to draw products from (any catalog format); default: this kiosk's catalog.
        #[arg(long, value_name = "FILE")]
        catalog: Option<PathBuf>,
        /// Product × segment pairs.
        #[arg(long, default_value_t = 100)]
        pairs: usize,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Ranking one shopper over a 10,000-product catalog and feature recomputation from 1,000
    /// events: p50/p99 on one thread.
    Recommend {
        #[arg(long, default_value_t = 300)]
        iterations: usize,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Encrypted profile read+open and write+seal against plaintext rows, on one thread.
    Store {
        /// Shoppers to enrol and measure.
        #[arg(long, default_value_t = 20_000)]
        shoppers: usize,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// A week offline: aggregate 1,000,000 feedback events and sync them to a local HQ; then HQ
    /// ingest throughput in batches/s.
    Sync {
        #[arg(long, default_value_t = 1_000_000)]
        events: u64,
        #[command(flatten)]
        out: JsonFlag,
    },
}

#[derive(Args, Debug, Clone, Copy)]
struct JsonFlag {
    /// Print machine-readable JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand, Debug)]
enum KeysCmd {
    /// Create the key-encryption key, the lookup-token pepper and the Ed25519 device key
    /// (files mode 0600). Refuses to overwrite existing keys.
    Init(JsonFlag),
    /// Print the device's Ed25519 public key (hex), as HQ enrolment expects it.
    ShowPublic(JsonFlag),
    /// Make a new key-encryption key and re-wrap every shopper data key with it; the old key is
    /// destroyed. Sealed rows are not rewritten.
    Rotate(JsonFlag),
}

#[derive(Subcommand, Debug)]
enum ShopperCmd {
    /// Enrol a shopper by loyalty number (stored only as an HMAC token), or update consent.
    Enroll {
        #[command(flatten)]
        loyalty: LoyaltyInput,
        /// What the shopper agreed to: personalise, analytics (comma-separated), or none.
        #[arg(long, default_value = "personalise,analytics")]
        consent: String,
        /// The shopper asked to be erased before and now asks to join again: take them off the
        /// suppression list (without it, an erased shopper is refused).
        #[arg(long)]
        rejoin: bool,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Show a shopper's consent and profile features (never the loyalty number).
    Show {
        /// Looked up by its HMAC token, never printed.
        #[command(flatten)]
        loyalty: LoyaltyInput,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Erase a shopper: delete the wrapped data key and every row, checkpoint the WAL, rotate the
    /// key-encryption key.
    Erase {
        /// Looked up by its HMAC token.
        #[command(flatten)]
        loyalty: LoyaltyInput,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Write everything the kiosk holds about one shopper (consent and its log, profile, every
    /// event, decrypted) as JSON to a new file readable only by its owner (mode 0600): for
    /// access and portability requests. Never prints it to the terminal.
    Export {
        #[command(flatten)]
        loyalty: LoyaltyInput,
        /// The file to create (an existing file is not overwritten).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Erase every shopper not seen for `retention_days` (and perform a due key rotation).
    Sweep(JsonFlag),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        // The terminal belongs to a screen: log into the daemon's ring buffer instead.
        Command::Run | Command::Demo { .. } | Command::Console { cmd: None } => {
            let run = matches!(cli.command, Command::Run);
            shelftalk::daemon::logs::install_screen(run, cli.verbose, config_file(&cli).as_deref());
        }
        _ => init_tracing(cli.verbose),
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("{default},llama-cpp-2=error"))
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// The config file in use: `--config`, else `firmware-config/kiosk.toml` when present.
fn config_file(cli: &Cli) -> Option<PathBuf> {
    let default = Path::new("firmware-config/kiosk.toml");
    match &cli.config {
        Some(path) => Some(path.clone()),
        None if default.exists() => Some(default.to_path_buf()),
        None => None,
    }
}

fn load_config(cli: &Cli) -> Result<Config> {
    let file = config_file(cli);
    let mut config = Config::load(file.as_deref(), std::env::vars())?;
    if let Some(dir) = &cli.data_dir {
        config.data_dir = dir.clone();
    }
    config.validate()?;
    Ok(config)
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Prints `value` as JSON, or its human rendering. A closed pipe (`| head`) is not an error.
fn emit<T: Serialize>(json: bool, value: &T, human: impl FnOnce(&T) -> String) -> Result<()> {
    use std::io::Write;
    let text = if json {
        serde_json::to_string_pretty(value)?
    } else {
        human(value)
    };
    match writeln!(std::io::stdout().lock(), "{text}") {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

fn run(cli: Cli) -> Result<()> {
    if let Command::Demo { demo_dir } = &cli.command {
        return demo(&cli, demo_dir);
    }
    if let Command::Provision {
        store_id,
        kiosk_id,
        pin_file,
        hq_db,
        out,
    } = &cli.command
    {
        return provision(
            &cli,
            store_id,
            kiosk_id,
            pin_file.as_deref(),
            hq_db,
            out.json,
        );
    }
    let config = load_config(&cli)?;
    let file_in_use = config_file(&cli);
    match cli.command {
        Command::Run => Ok(runtime()?.block_on(shelftalk::daemon::run(config, file_in_use))?),
        Command::Demo { .. } | Command::Provision { .. } => Ok(()),
        Command::Console { cmd: None } => {
            Ok(runtime()?.block_on(shelftalk::daemon::console::run(&config.data_dir))?)
        }
        Command::Console {
            cmd: Some(ConsoleCmd::SetPin { pin_file }),
        } => {
            let Some(file) = file_in_use else {
                bail!(
                    "no config file in use; pass --config FILE to choose where the PIN hash goes"
                );
            };
            let pin = match pin_file {
                Some(p) => pin_from_file(&p)?,
                None => read_pin()?,
            };
            shelftalk::daemon::console::set_pin(&file, &pin)?;
            println!("console PIN set in {}", file.display());
            Ok(())
        }
        Command::Config(out) => emit(out.json, &config.redacted(), |c| {
            toml::to_string_pretty(c).unwrap_or_else(|e| format!("(cannot render: {e})"))
        }),
        Command::Keys(cmd) => keys(&config, cmd),
        Command::Shopper(cmd) => shopper(&config, cmd),
        Command::Import(cmd) => import(&config, cmd),
        Command::Selftest(out) => {
            let report = shelftalk::health::run(&config);
            emit(out.json, &report, |r| r.render())?;
            if !report.healthy {
                bail!("selftest failed");
            }
            Ok(())
        }
        Command::Update(cmd) => update(&config, cmd),
        Command::Copy {
            cmd: Some(CopyCmd::Warm { top, segments, out }),
            ..
        } => copy_warm(&config, top, segments, out.json),
        Command::Copy { cmd: None, args } => copy(&config, args),
        Command::Recommend {
            loyalty,
            scans,
            n,
            out,
        } => recommend(
            &config,
            loyalty.read(false, &config.scan.cards)?.as_ref(),
            &scans,
            n,
            out.json,
        ),
        Command::Mdp {
            cmd:
                MdpCmd::Fit {
                    events,
                    format,
                    out,
                },
        } => {
            let log = import::read_log(&events, format, &file_rules(&config))?;
            let sessions = shelftalk::recommend::group_sessions(
                log.events.iter().map(|(u, e)| (u.as_str(), e)),
            );
            let cfg = shelftalk::recommend::MdpConfig::default();
            let model = shelftalk::recommend::JourneyModel::fit(&sessions, &cfg)?;
            let policy = model.solve();
            let v =
                serde_json::json!({ "sessions": sessions.len(), "model": model, "policy": policy });
            emit(out.json, &v, |_| {
                format!("{} sessions\n{model}\n{policy}", sessions.len())
            })
        }
        Command::Eval {
            cmd:
                EvalCmd::Recommend {
                    events,
                    format,
                    out,
                },
        } => {
            let log = import::read_log(&events, format, &file_rules(&config))?;
            let catalog = shelftalk::recommend::CatalogIndex::new(log.products);
            let report = shelftalk::recommend::eval::leave_last_out(
                &log.events,
                &catalog,
                &shelftalk::recommend::RecommendConfig::default(),
                3,
            )?;
            emit(out.json, &report, |r| r.to_string())
        }
        Command::Bench(BenchCmd::Copy {
            catalog,
            pairs,
            out,
        }) => bench_copy(&config, catalog.as_deref(), pairs, out.json),
        Command::Bench(BenchCmd::Recommend { iterations, out }) => {
            let report = shelftalk::recommend::bench::run(
                &shelftalk::recommend::RecommendConfig::default(),
                iterations,
                7,
            )?;
            emit(out.json, &report, |r| r.to_string())
        }
        Command::Status(out) => {
            let store = open_store(&config)?;
            let s = store.summary()?;
            emit(out.json, &s, |s| {
                format!(
                    "database {} (schema v{}, {:.1} MB)\n  products: {} ({} created from behaviour events)\n  \
                     shoppers: {} with {} sealed rows\n  quarantined rows: {} over {} imports",
                    store.path().display(),
                    s.schema_version,
                    s.db_bytes as f64 / 1e6,
                    s.products,
                    s.products_from_events,
                    s.shoppers,
                    s.sealed_rows,
                    s.quarantined_rows,
                    s.imports
                )
            })
        }
        Command::Quarantine {
            cmd: QuarantineCmd::List { rule, limit, out },
        } => {
            let store = open_store(&config)?;
            let rows = store::quarantine::list(store.conn(), rule.as_deref(), limit)?;
            emit(out.json, &rows, |rows| {
                if rows.is_empty() {
                    return "no quarantined rows".to_string();
                }
                rows.iter()
                    .map(|q| {
                        format!(
                            "{}:{} [{}] {}: {} | {}",
                            q.file, q.line, q.rule, q.field, q.reason, q.excerpt
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        Command::Audit {
            cmd: AuditCmd::Verify(out),
        } => {
            let v = AuditLog::in_dir(&config.data_dir).verify()?;
            emit(out.json, &v, |v| {
                format!("audit log intact: {} entries, head {}", v.entries, v.head)
            })
        }
        Command::Bench(BenchCmd::Store { shoppers, out }) => {
            let report = shelftalk::bench::store(shoppers)?;
            emit(out.json, &report, |r| r.render())
        }
        Command::Bench(BenchCmd::Sync { events, out }) => {
            let report = runtime()?.block_on(shelftalk::bench::sync::run(events))?;
            emit(out.json, &report, |r| r.render())
        }
        Command::Feedback(cmd) => feedback(&config, cmd),
        Command::Sync(cmd) => sync(&config, cmd),
        Command::Hq(cmd) => hq(cmd),
    }
}

/// The first line of a PIN file.
fn pin_from_file(path: &Path) -> Result<String> {
    Ok(std::fs::read_to_string(path)
        .with_context(|| format!("reading {}", path.display()))?
        .lines()
        .next()
        .unwrap_or("")
        .to_string())
}

/// `shelftalk provision`: observe, plan, ask for the PIN only if the plan needs it, apply.
fn provision(
    cli: &Cli,
    store_id: &str,
    kiosk_id: &str,
    pin_file: Option<&Path>,
    hq_db: &str,
    json: bool,
) -> Result<()> {
    use shelftalk::provision::{self, Request};
    // The config file may not exist yet: start from it when it does, else from the defaults.
    let given = |data_dir: &Path| {
        cli.config
            .clone()
            .unwrap_or_else(|| data_dir.join("kiosk.toml"))
    };
    let defaults = Config::load(None, std::env::vars())?;
    let data_dir = cli
        .data_dir
        .clone()
        .unwrap_or_else(|| defaults.data_dir.clone());
    let data_dir = std::path::absolute(&data_dir)
        .with_context(|| format!("resolving {}", data_dir.display()))?;
    let config_file = given(&data_dir);
    let mut base = if config_file.exists() {
        Config::load(Some(&config_file), std::env::vars())?
    } else {
        defaults
    };
    base.data_dir = data_dir.clone();
    let req = Request {
        store_id: store_id.to_string(),
        kiosk_id: kiosk_id.to_string(),
        key_dir: base.key_dir(),
        data_dir,
        config_file,
    };
    let seen = provision::observe(&req)?;
    let file_pin = pin_file.map(pin_from_file).transpose()?;
    let plan = provision::plan(&req, &seen, file_pin.as_deref())?;
    let pin = match file_pin {
        None if plan.needs_pin() => Some(read_pin()?),
        other => other,
    };
    let report = provision::apply(&req, &plan, pin.as_deref(), hq_db)?;
    emit(json, &report, |r| r.render())
}

/// Where a command reads a shopper's loyalty number: standard input (asked without echo on a
/// terminal) or the first line of a file, never its own arguments, which show in `ps`, shell
/// history and sudo's log.
#[derive(Args, Debug, Default)]
struct LoyaltyInput {
    /// Read the shopper's loyalty number from standard input (asked without echo on a terminal).
    #[arg(long)]
    loyalty_stdin: bool,
    /// Read the shopper's loyalty number from the first line of FILE.
    #[arg(long, value_name = "FILE", conflicts_with = "loyalty_stdin")]
    loyalty_file: Option<PathBuf>,
    /// Refused: a number on the command line is visible to every user in `ps`.
    #[arg(long, hide = true, value_name = "ID")]
    loyalty: Option<String>,
}

impl LoyaltyInput {
    /// The number, if the command was asked for one (`required`: standard input by default).
    fn read(&self, required: bool, cards: &[CardScheme]) -> Result<Option<LoyaltyNumber>> {
        if self.loyalty.is_some() {
            bail!(
                "a loyalty number on the command line is visible in `ps`, shell history and \
                 sudo's log; pass --loyalty-stdin (then type it, or pipe it in) or \
                 --loyalty-file FILE"
            );
        }
        let text = match (&self.loyalty_file, self.loyalty_stdin || required) {
            (Some(path), _) => {
                let text =
                    zeroize::Zeroizing::new(std::fs::read_to_string(path).with_context(|| {
                        format!("cannot read the loyalty number from {}", path.display())
                    })?);
                zeroize::Zeroizing::new(text.lines().next().unwrap_or("").to_string())
            }
            (None, true) => read_secret("Loyalty number (not shown): ", |c| !c.is_control())?,
            (None, false) => return Ok(None),
        };
        let number =
            LoyaltyNumber::parse_card(&text, cards).map_err(|e| match &self.loyalty_file {
                Some(path) => anyhow::anyhow!("{e} (first line of {})", path.display()),
                None => anyhow::anyhow!("{e} (read from standard input)"),
            })?;
        Ok(Some(number))
    }
}

/// The loyalty number a shopper command needs (standard input unless `--loyalty-file`).
fn required(input: &LoyaltyInput, cards: &[CardScheme]) -> Result<LoyaltyNumber> {
    input
        .read(true, cards)?
        .context("a loyalty number is needed: pipe it in or pass --loyalty-file FILE")
}

/// Asks for the PIN on the terminal without echo (a line from stdin when it is not a terminal).
fn read_pin() -> Result<String> {
    Ok(read_secret("New technician PIN (4-12 digits): ", |c| c.is_ascii_digit())?.to_string())
}

/// Asks for a secret on the terminal without echo, keeping the characters `keep` accepts (a line
/// from stdin when it is not a terminal).
fn read_secret(prompt: &str, keep: fn(char) -> bool) -> Result<zeroize::Zeroizing<String>> {
    use std::io::BufRead;
    if !std::io::stdin().is_terminal() {
        let mut line = zeroize::Zeroizing::new(String::new());
        std::io::stdin().lock().read_line(&mut line)?;
        return Ok(zeroize::Zeroizing::new(line.trim().to_string()));
    }
    eprint!("{prompt}");
    crossterm::terminal::enable_raw_mode()?;
    let mut pin = zeroize::Zeroizing::new(String::new());
    let read = (|| -> Result<()> {
        use crossterm::event::{read, Event, KeyCode, KeyEventKind};
        loop {
            if let Event::Key(k) = read()? {
                if k.kind == KeyEventKind::Release {
                    continue;
                }
                match k.code {
                    KeyCode::Enter => return Ok(()),
                    KeyCode::Backspace => {
                        pin.pop();
                    }
                    KeyCode::Char(c) if keep(c) => pin.push(c),
                    KeyCode::Esc => bail!("cancelled"),
                    _ => {}
                }
            }
        }
    })();
    crossterm::terminal::disable_raw_mode()?;
    eprintln!();
    read.map(|()| pin)
}

/// `shelftalk demo`: set up the demo data dir, say what to type, run the kiosk.
fn demo(cli: &Cli, demo_dir: &Path) -> Result<()> {
    use shelftalk::daemon::demo;
    let data_dir = cli
        .data_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(".shelftalk"));
    let mut base = Config::load(None, std::env::vars())?;
    base.data_dir = data_dir.clone();
    base.validate()?;
    let setup = demo::prepare(&base, demo_dir)
        .with_context(|| format!("setting up the demo in {}", data_dir.display()))?;
    let mut config = Config::load(Some(&setup.config_file), std::env::vars())?;
    config.data_dir = data_dir;
    config.validate()?;
    println!(
        "shelftalk demo in {} ({})",
        config.data_dir.display(),
        if setup.created { "new" } else { "existing" }
    );
    println!("Type one of these loyalty codes and Enter at the kiosk for a personal session:");
    for code in &setup.loyalty_codes {
        println!("  {code}");
    }
    println!(
        "Or type a product code such as FW-RUN-0001. Keys: ←/→ choose, + / - vote, ? why, o opt out, d done."
    );
    println!(
        "Technician console, from another terminal: shelftalk --data-dir {} console  (demo PIN {})",
        config.data_dir.display(),
        demo::DEMO_PIN
    );
    println!(
        "Stop the kiosk with SIGTERM or Ctrl+\\ from another terminal: kill $(pgrep -n shelftalk)"
    );
    if std::io::stdin().is_terminal() {
        println!("Press Enter to start the kiosk…");
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
    }
    Ok(runtime()?.block_on(shelftalk::daemon::run(config, Some(setup.config_file)))?)
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn render_status(s: &sync::SyncStatus) -> String {
    let c = |c: &Counts| {
        format!(
            "{} impressions, {} taps, {} conversions",
            c.impressions, c.taps, c.conversions
        )
    };
    let when = |t: Option<i64>| t.map_or("never".to_string(), |t| format!("{t} (unix)"));
    format!(
        "kiosk {} (store {}) -> {}\n  recorded      {}\n  pending       {} (days not yet closed)\n  \
         withheld      {} (below k after roll-up; never sent)\n  outbox        {} batches, {} cells: {}\n  \
         acknowledged  {} batches: {}\n  dropped       {} batches: {}\n  next seq {}; last attempt {}; \
         last success {}{}\n  fleet priors: {}",
        s.kiosk_id,
        s.store_id,
        s.hq_url,
        c(&s.recorded),
        c(&s.pending),
        c(&s.withheld),
        s.outbox.batches,
        s.outbox.cells,
        c(&s.outbox.counts),
        s.acknowledged.batches,
        c(&s.acknowledged.counts),
        s.dropped.batches,
        c(&s.dropped.counts),
        s.next_seq,
        when(s.last_attempt),
        when(s.last_success),
        s.last_error
            .as_ref()
            .map(|e| format!("\n  last error: {e}"))
            .unwrap_or_default(),
        s.fleet_priors
    )
}

fn feedback(config: &Config, cmd: FeedbackCmd) -> Result<()> {
    let mut store = open_store(config)?;
    match cmd {
        FeedbackCmd::Simulate {
            sessions,
            seed,
            days,
            picks,
            out,
        } => {
            // The kiosk's own recommender and style bandit pick, as on the shopper screen.
            let vault = Vault::open(config)?;
            let model = StoreModel::load(&vault, config.recommend.clone(), now())?;
            let mut source = personalise::KioskPicks::new(model, &vault, seed, now())?;
            drop(vault);
            let categories = source.categories();
            let opts = SimOptions {
                sessions,
                seed,
                now: now(),
                days,
                window_secs: config.conversion_window_secs,
                picks_per_session: picks,
            };
            let r = simulate::run(store.conn_mut(), &mut source, &categories, &opts)?;
            emit(out.json, &r, |r| {
                format!(
                    "simulated {} sessions on {}..{}: {} impressions, {} interactions, {} conversions",
                    r.sessions, r.first_day, r.last_day, r.impressions, r.interactions, r.conversions
                )
            })
        }
        FeedbackCmd::Status(out) => {
            let s = sync::status(store.conn(), config)?;
            emit(out.json, &s, render_status)
        }
    }
}

fn sync_context(config: &Config) -> Result<sync::SyncContext> {
    let keys = KeyDir::new(config.key_dir()).load()?;
    Ok(sync::SyncContext::new(config.clone(), Arc::new(keys))?)
}

fn sync(config: &Config, cmd: SyncCmd) -> Result<()> {
    match cmd {
        SyncCmd::Now(out) => {
            let ctx = sync_context(config)?;
            let r = runtime()?.block_on(sync::run_once(&ctx, now()))?;
            emit(out.json, &r, |r| {
                format!(
                    "closed {} cells ({} impressions withheld by k-anonymity); wrote {} batches, \
                     rolled up {}, dropped {}; sent {} batches ({} duplicates): {} impressions; \
                     {} left in the outbox",
                    r.prepared.closed_cells,
                    r.prepared.withheld.impressions,
                    r.prepared.batches_written,
                    r.prepared.batches_rolled_up,
                    r.prepared.batches_dropped,
                    r.batches_sent,
                    r.duplicates,
                    r.sent.impressions,
                    r.outbox_left
                )
            })
        }
        SyncCmd::Status(out) => {
            let store = open_store(config)?;
            let s = sync::status(store.conn(), config)?;
            emit(out.json, &s, render_status)
        }
        SyncCmd::Priors(out) => {
            let ctx = sync_context(config)?;
            let n = runtime()?.block_on(sync::pull_priors(&ctx, now()))?;
            let v = serde_json::json!({ "priors": n });
            emit(out.json, &v, |_| format!("{n} fleet priors stored"))
        }
    }
}

fn hq(cmd: HqCmd) -> Result<()> {
    let open = |db: &HqDb| -> Result<SqliteHq> {
        SqliteHq::open(&db.db).with_context(|| format!("opening HQ database {}", db.db.display()))
    };
    match cmd {
        HqCmd::Serve {
            listen,
            db,
            max_body,
        } => {
            let store: Arc<dyn HqStore> = Arc::new(open(&db)?);
            runtime()?.block_on(async move {
                let listener = tokio::net::TcpListener::bind(&listen)
                    .await
                    .with_context(|| format!("binding {listen}"))?;
                eprintln!(
                    "shelftalk HQ listening on http://{}",
                    listener.local_addr()?
                );
                let opts = hq::ServeOptions {
                    max_body,
                    ..hq::ServeOptions::default()
                };
                hq::serve(listener, store, opts, async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await?;
                Ok(())
            })
        }
        HqCmd::Enroll {
            db,
            kiosk,
            store,
            pubkey,
            out,
        } => {
            let key = hq::parse_public_key(&pubkey)?;
            open(&db)?.enroll(&kiosk, &store, &key, now())?;
            let v = serde_json::json!({ "kiosk": kiosk, "store": store, "enrolled": true });
            emit(out.json, &v, |_| {
                format!("kiosk {kiosk} enrolled for store {store}")
            })
        }
        HqCmd::Disable { db, kiosk } => {
            open(&db)?.set_enabled(&kiosk, false)?;
            println!("kiosk {kiosk} disabled");
            Ok(())
        }
        HqCmd::Enable { db, kiosk } => {
            open(&db)?.set_enabled(&kiosk, true)?;
            println!("kiosk {kiosk} enabled");
            Ok(())
        }
        HqCmd::Token(HqTokenCmd::Create { db, name, out }) => {
            let token = hq::create_token(&open(&db)?, &name, now())?;
            let v = serde_json::json!({ "name": name, "token": token });
            emit(out.json, &v, |_| token.clone())
        }
        HqCmd::Report {
            db,
            from,
            to,
            group_by,
            format,
        } => {
            let day = |name: &str, v: Option<String>| -> Result<Option<Day>> {
                v.map(|s| {
                    Day::parse(&s)
                        .with_context(|| format!("--{name} must be YYYY-MM-DD, got {s:?}"))
                })
                .transpose()
            };
            let dims = Dim::parse_list(&group_by)?;
            let report = hq::report::build(&open(&db)?, day("from", from)?, day("to", to)?, &dims)?;
            if format == "json" {
                println!("{}", serde_json::to_string_pretty(&report.to_json())?);
            } else {
                print!("{}", report.to_csv()?);
            }
            Ok(())
        }
    }
}

/// A byte progress bar on an interactive stderr, nothing when piped.
fn progress_bar(path: &Path) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(0);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(path.display().to_string());
    bar
}

fn copy(config: &Config, args: CopyArgs) -> Result<()> {
    use shelftalk::copy::service::{CopyOrder, CopyProgress};
    use shelftalk::vocab::SegmentKey;
    use std::io::Write;
    let Some(sku) = args.sku.as_deref() else {
        bail!("--sku is required (or use `shelftalk copy warm`)");
    };
    let vault = Vault::open(config)?;
    let conn = vault.store.conn();
    let product = store::catalog::get(conn, sku)?
        .with_context(|| format!("no product with sku {sku:?} in the catalog"))?;
    let loyalty = args.loyalty.read(false, &config.scan.cards)?;
    if loyalty.is_some() && args.segment.is_some() {
        bail!("--segment and a shopper's loyalty number exclude each other: the shopper's segment is used");
    }
    let (segment, brand_fan) = match (&loyalty, &args.segment) {
        (Some(loyalty), _) => {
            let shopper = vault
                .find(loyalty)?
                .context("no shopper is enrolled with that loyalty number")?;
            let model = StoreModel::load(&vault, config.recommend.clone(), now())?;
            let features = model.features(&vault, Some(&shopper), &[], now())?;
            let fan =
                shopper.record.consent.personalise && features.is_fan_of(product.brand.as_deref());
            (features.segment(), fan)
        }
        (None, Some(key)) => (
            key.parse::<SegmentKey>()
                .map_err(|e| anyhow::anyhow!("--segment: {e}"))?,
            false,
        ),
        (None, None) => (SegmentKey::all(), false),
    };
    let style = match &args.style {
        Some(s) => s.parse().map_err(|e| anyhow::anyhow!("--style: {e}"))?,
        None => {
            let picker =
                personalise::Picker::new(&config.recommend, &shelftalk::feedback::priors(conn)?)?;
            let mut rng =
                <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(u64::from(args.seed));
            picker.choose(&segment, &mut rng).style
        }
    };
    let (service, model_sha) = personalise::start_copy(config, conn)?;
    if let Some(err) = service.engine_error() {
        eprintln!("warning: {err}; serving template copy");
    }
    let order = CopyOrder {
        product,
        segment,
        brand_fan,
        style,
        seed: args.seed,
    };
    let mut request = order.request();
    if args.no_prefix_cache {
        request = request.with_prefix_cache(false);
    }
    let stream = !args.out.json && std::io::stdout().is_terminal();
    let mut on_progress = |p: CopyProgress<'_>| {
        if stream {
            let mut out = std::io::stdout().lock();
            let _ = match p {
                CopyProgress::Token(t) => write!(out, "{t}"),
                CopyProgress::Restart => write!(out, "\r\x1b[2K"),
            };
            let _ = out.flush();
        }
    };
    let ttl = config.copy_cache_ttl().filter(|_| !args.no_cache);
    let policy = shelftalk::copy::cache::Policy {
        model_sha256: model_sha.as_deref().filter(|_| ttl.is_some()),
        ttl_secs: ttl.unwrap_or(0),
        now: now(),
    };
    let outcome =
        shelftalk::copy::cache::write_cached(conn, &service, &policy, &request, &mut on_progress)?;
    if stream {
        println!("\r\x1b[2K");
    }
    #[derive(Serialize)]
    struct Out<'a> {
        sku: &'a str,
        segment: &'a SegmentKey,
        #[serde(flatten)]
        outcome: &'a shelftalk::copy::CopyOutcome,
    }
    let out = Out {
        sku,
        segment: &order.segment,
        outcome: &outcome,
    };
    emit(args.out.json, &out, |o| {
        let timing = match &o.outcome.timings {
            Some(t) => format!(
                "first token {:.0} ms, {:.1} tokens/s, {} prompt tokens ({} from the prefix cache)",
                t.ttft_ms, t.tokens_per_sec, t.prompt_tokens, t.cached_tokens
            ),
            None => format!("{:.1} ms", o.outcome.elapsed_ms),
        };
        format!(
            "{}\n  style {}, segment {}, source {}, verdict {}, {timing}",
            o.outcome.text,
            o.outcome.style.as_str(),
            o.segment,
            o.outcome.source.as_str(),
            o.outcome.verdict.code()
        )
    })
}

fn update(config: &Config, cmd: UpdateCmd) -> Result<()> {
    use shelftalk::content::{self, Candidate};
    let (candidate, json) = match cmd {
        UpdateCmd::Model {
            gguf,
            manifest,
            out,
        } => (Candidate::Model { gguf, manifest }, out.json),
        UpdateCmd::Pack { file, out } => (Candidate::Pack(file), out.json),
    };
    let store = Store::open(&config.db_path())?;
    let switched = content::install(config, &candidate, |c| {
        let model = shelftalk::health::model_check(c)?;
        let generation = shelftalk::health::test_generation(config, &store, c)?;
        Ok(format!("{model}; {generation}"))
    })?;
    emit(json, &switched, |s| {
        format!(
            "switched to content generation {}: model {} (sha256 {}), prompt pack {}\n  check: {}",
            s.generation,
            s.model,
            &s.model_sha256[..12],
            s.pack,
            s.check
        )
    })
}

fn copy_warm(
    config: &Config,
    top: Option<usize>,
    segments: Option<usize>,
    json: bool,
) -> Result<()> {
    let Some(ttl_secs) = config.copy_cache_ttl() else {
        bail!("the copy cache is off (copy_cache_ttl_secs = 0); nothing to warm");
    };
    let top = top.unwrap_or(config.copy_warm_top as usize);
    let segments = segments.unwrap_or(config.copy_warm_segments as usize);
    let vault = Vault::open(config)?;
    let model = StoreModel::load(&vault, config.recommend.clone(), now())?;
    let plan = personalise::warm_plan(
        &vault,
        &model,
        (top, segments),
        shelftalk::daemon::copier::WARM_SEED,
        now(),
    )?;
    let (service, model_sha) = personalise::start_copy(config, vault.store.conn())?;
    let Some(sha) = model_sha else {
        bail!(
            "the language model is not available ({}); nothing to warm",
            service.engine_error().unwrap_or("unknown error")
        );
    };
    let bar = if std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new(plan.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let policy = shelftalk::copy::cache::Policy {
        model_sha256: Some(&sha),
        ttl_secs,
        now: now(),
    };
    let report =
        shelftalk::copy::cache::warm(vault.store.conn(), &service, &policy, &plan, &mut || {
            bar.inc(1)
        })?;
    bar.finish_and_clear();
    emit(json, &report, |r| {
        format!(
            "warmed {} product × segment × style entries in {:.1} s ({:.2} blurbs/s); sources {:?}",
            r.requests, r.seconds, r.blurbs_per_sec, r.sources
        )
    })
}

fn bench_copy(config: &Config, catalog: Option<&Path>, pairs: usize, json: bool) -> Result<()> {
    let scratch = shelftalk::bench::Scratch::new("copy")?;
    let store = Store::open(&scratch.0.join("bench.db"))?;
    let products = match catalog {
        Some(path) => {
            let src = shelftalk::ingest::open_source(path)?;
            shelftalk::ingest::read_catalog(
                src.reader,
                &path.display().to_string(),
                CatalogFormat::Auto,
                &file_rules(config),
            )?
            .filter_map(|row| match row {
                shelftalk::ingest::Row::Accepted { record, .. } => Some(record),
                shelftalk::ingest::Row::Quarantined(_) => None,
            })
            .collect::<Vec<_>>()
        }
        None => store::catalog::all(Vault::open(config)?.store.conn())?,
    };
    if products.is_empty() {
        bail!("no products to benchmark with; pass --catalog FILE or import a catalog first");
    }
    for p in &products {
        store::catalog::upsert(store.conn(), p, store::catalog::Origin::Catalog, now())?;
    }
    let (service, sha) = personalise::start_copy(config, store.conn())?;
    let Some(sha) = sha else {
        bail!(
            "the language model is not available: {}",
            service.engine_error().unwrap_or("unknown error")
        );
    };
    let report = shelftalk::copy::bench::run(
        &service,
        &products,
        &shelftalk::copy::bench::BenchOptions {
            pairs,
            ..Default::default()
        },
    )?;
    // Cache hits: one entry written, then read back 500 times through the serving path.
    let order = shelftalk::copy::service::CopyOrder {
        product: products[0].clone(),
        segment: shelftalk::vocab::SegmentKey::all(),
        brand_fan: false,
        style: shelftalk::vocab::Style::Concise,
        seed: 1,
    };
    let policy = shelftalk::copy::cache::Policy {
        model_sha256: Some(&sha),
        ttl_secs: 3600,
        now: now(),
    };
    let hits = shelftalk::copy::bench::cache_hits(store.conn(), &service, &policy, &order, 500)?;
    let pct = |q: f64| {
        hits.get(((hits.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    let v = serde_json::json!({ "engine": report, "cache_hit_ms_p50": pct(0.5), "cache_hit_ms_p99": pct(0.99),
                                "cache_hits": hits.len() });
    emit(json, &v, |v| {
        format!(
            "{report}\ncache hit: p50 {:.3} ms, p99 {:.3} ms over {} hits (target p99 < 20 ms)",
            v["cache_hit_ms_p50"].as_f64().unwrap_or(f64::NAN),
            v["cache_hit_ms_p99"].as_f64().unwrap_or(f64::NAN),
            hits.len()
        )
    })
}

/// Validation rules for reading files outside the store.
fn file_rules(config: &Config) -> Rules {
    config.rules(now())
}

fn recommend(
    config: &Config,
    loyalty: Option<&LoyaltyNumber>,
    scans: &[String],
    n: usize,
    json: bool,
) -> Result<()> {
    let vault = Vault::open(config)?;
    // The kiosk's own configuration and path: the same picks as the screen for this shopper.
    let model = StoreModel::load(&vault, config.recommend.clone(), now())?;
    let picker = personalise::Picker::new(
        &config.recommend,
        &shelftalk::feedback::priors(vault.store.conn())?,
    )?;
    let shopper = match loyalty {
        Some(l) => Some(
            vault
                .find(l)?
                .context("no shopper is enrolled with that loyalty number")?,
        ),
        None => None,
    };
    let personal = shopper
        .as_ref()
        .is_some_and(|s| s.record.consent.personalise);
    let features = model.features(&vault, shopper.as_ref(), scans, now())?;
    let segment = features.segment();
    let mut rng = rand::make_rng::<rand::rngs::StdRng>();
    let shelf = picker.picks(&model, &features, n, &mut rng);
    let picks: Vec<&shelftalk::recommend::Pick> = shelf.iter().map(|p| &p.pick).collect();
    #[derive(Serialize)]
    struct Out<'a> {
        segment: &'a shelftalk::vocab::SegmentKey,
        personalised: bool,
        picks: Vec<serde_json::Value>,
    }
    let out = Out {
        segment: &segment,
        personalised: personal,
        picks: shelf
            .iter()
            .map(|s| {
                let p = &s.pick;
                let product = model.product(&p.sku);
                serde_json::json!({
                    "sku": p.sku,
                    "name": product.map(|p| p.name.as_str()),
                    "brand": product.and_then(|p| p.brand.as_deref()),
                    "price": product.map(|p| p.price.display()),
                    "score": p.score,
                    "reason": p.display_reason,
                    "reasons": p.reasons,
                    "contributions": p.contributions,
                    "style": s.choice.style,
                    "style_probability": s.choice.propensity,
                    "brand_fan": s.brand_fan,
                })
            })
            .collect(),
    };
    emit(json, &out, |o| {
        let mut text = format!(
            "segment {} ({})",
            o.segment,
            if o.personalised {
                "personalised"
            } else {
                "not personalised"
            }
        );
        for (i, (p, v)) in picks.iter().zip(&o.picks).enumerate() {
            text.push_str(&format!(
                "\n{}. {} — {} {} ({:.3})\n   {}",
                i + 1,
                p.sku,
                v["name"].as_str().unwrap_or("?"),
                v["price"].as_str().unwrap_or("?"),
                p.score,
                p.display_reason
            ));
        }
        text
    })
}

fn import(config: &Config, cmd: ImportCmd) -> Result<()> {
    let mut vault = Vault::open(config)?;
    let rules = Rules {
        max_price: shelftalk::catalog::Minor(
            config.max_price.saturating_mul(100).min(i64::MAX as u64) as i64,
        ),
        now: now(),
        cards: config.scan.cards.clone(),
        ..Rules::default()
    };
    let (outcome, json) = match cmd {
        ImportCmd::Catalog { file, format, out } => {
            let bar = progress_bar(&file);
            (
                import::catalog(&mut vault, &file, format, &rules, now(), &bar)?,
                out.json,
            )
        }
        ImportCmd::Events { file, format, out } => {
            let bar = progress_bar(&file);
            (
                import::events(&mut vault, &file, format, &rules, now(), &bar)?,
                out.json,
            )
        }
    };
    emit(json, &outcome, |o| {
        let head = if o.already_imported {
            format!(
                "{}: already imported (same content); nothing changed. Earlier report:",
                o.file
            )
        } else {
            format!(
                "{}: {} products written, {} new events, {} new shoppers, {} rows of erased shoppers suppressed, {} kiosk impressions converted by purchases",
                o.file, o.products_written, o.events_new, o.shoppers_new, o.suppressed, o.conversions
            )
        };
        format!("{head}\ndata quality: {}", o.report.render())
    })
}

fn keys(config: &Config, cmd: KeysCmd) -> Result<()> {
    let dir = KeyDir::new(config.key_dir());
    match cmd {
        KeysCmd::Init(out) => {
            let ring = dir.init(&shelftalk::crypto::rng())?;
            #[derive(Serialize)]
            struct Init {
                key_dir: PathBuf,
                kek_id: u32,
                device_public_key: String,
            }
            let v = Init {
                key_dir: dir.path().to_path_buf(),
                kek_id: ring.kek.id(),
                device_public_key: ring.device_public_hex(),
            };
            emit(out.json, &v, |v| {
                format!(
                    "keys created in {}\ndevice public key: {}",
                    v.key_dir.display(),
                    v.device_public_key
                )
            })
        }
        KeysCmd::ShowPublic(out) => {
            let ring = dir.load()?;
            let v = serde_json::json!({ "kiosk_id": config.kiosk_id, "store_id": config.store_id,
                                        "public_key": ring.device_public_hex() });
            emit(out.json, &v, |_| ring.device_public_hex())
        }
        KeysCmd::Rotate(out) => {
            let mut vault = Vault::open(config)?;
            let r = vault.rotate()?;
            AuditLog::in_dir(&config.data_dir).append(
                now(),
                "cli",
                "rotate_keys",
                &format!(
                    "kek {} -> {}, {} data keys re-wrapped",
                    r.from_kek, r.to_kek, r.rewrapped
                ),
            )?;
            emit(out.json, &r, |r| {
                format!(
                    "key-encryption key rotated: {} -> {}; {} data keys re-wrapped; old key destroyed",
                    r.from_kek, r.to_kek, r.rewrapped
                )
            })
        }
    }
}

fn shopper(config: &Config, cmd: ShopperCmd) -> Result<()> {
    let mut vault = Vault::open(config)?;
    match cmd {
        ShopperCmd::Enroll {
            loyalty,
            consent,
            rejoin,
            out,
        } => {
            let consent = profile::parse_consent(&consent)?;
            let loyalty = required(&loyalty, &config.scan.cards)?;
            let (id, created) = vault.enroll(&loyalty, consent, rejoin, now())?;
            let v = serde_json::json!({ "shopper": id.short(), "created": created, "consent": consent });
            emit(out.json, &v, |_| {
                format!(
                    "{} shopper {} (personalise: {}, analytics: {})",
                    if created { "enrolled" } else { "updated" },
                    id.short(),
                    consent.personalise,
                    consent.analytics
                )
            })
        }
        ShopperCmd::Show { loyalty, out } => {
            let Some(shopper) = vault.find(&required(&loyalty, &config.scan.cards)?)? else {
                bail!("no shopper is enrolled with that loyalty number");
            };
            let summary = vault.summary(&shopper, now(), &config.recommend.features)?;
            emit(out.json, &summary, |s| {
                let list = |v: &[String]| {
                    if v.is_empty() {
                        "-".to_string()
                    } else {
                        v.join(", ")
                    }
                };
                format!(
                    "shopper {}\n  consent: personalise {}, analytics {}\n  enrolled {}, last seen {}\n  \
                     events: {} views, {} carts, {} purchases, {} returns over {} visits\n  \
                     segment {} (price band {}), interests: {}, brands: {}",
                    s.shopper,
                    s.consent.personalise,
                    s.consent.analytics,
                    s.created_day,
                    s.last_seen_day,
                    s.events.views,
                    s.events.carts,
                    s.events.purchases,
                    s.events.returns,
                    s.visits,
                    s.segment,
                    s.price_band.as_deref().unwrap_or("unknown"),
                    list(&s.interests),
                    list(&s.preferred_brands)
                )
            })
        }
        ShopperCmd::Export { loyalty, out, json } => {
            let Some(shopper) = vault.find(&required(&loyalty, &config.scan.cards)?)? else {
                bail!("no shopper is enrolled with that loyalty number");
            };
            let export = vault.export(&shopper, now(), &config.recommend.features)?;
            profile::write_export(&out, &export)?;
            #[derive(Serialize)]
            struct Written<'a> {
                shopper: &'a str,
                events: usize,
                file: &'a Path,
            }
            let w = Written {
                shopper: &export.shopper,
                events: export.events.len(),
                file: &out,
            };
            emit(json.json, &w, |w| {
                format!(
                    "exported shopper {} ({} events) to {} (mode 0600)",
                    w.shopper,
                    w.events,
                    w.file.display()
                )
            })
        }
        ShopperCmd::Erase { loyalty, out } => {
            let r = vault.erase(&required(&loyalty, &config.scan.cards)?, now())?;
            AuditLog::in_dir(&config.data_dir).append(
                now(),
                "cli",
                "erase_shopper",
                &format!("shopper {} erased, {} rows", r.shopper, r.rows_deleted),
            )?;
            emit(out.json, &r, |r| {
                let rotation = match (&r.rotation, r.rotation_deferred) {
                    (Some(rot), _) => format!(
                        "key-encryption key rotated {} -> {}",
                        rot.from_kek, rot.to_kek
                    ),
                    (None, true) => "key rotation deferred to the daily sweep".to_string(),
                    (None, false) => "no key rotation".to_string(),
                };
                format!(
                    "erased shopper {} ({} rows); {rotation}",
                    r.shopper, r.rows_deleted
                )
            })
        }
        ShopperCmd::Sweep(out) => {
            let r = vault.sweep(now(), config.retention_days)?;
            emit(out.json, &r, |r| {
                format!(
                    "retention sweep: {} shoppers erased (unseen for {} days){}",
                    r.erased,
                    config.retention_days,
                    r.rotation
                        .map(|x| format!("; key rotated {} -> {}", x.from_kek, x.to_kek))
                        .unwrap_or_default()
                )
            })
        }
    }
}

fn open_store(config: &Config) -> Result<Store> {
    Store::open(&config.db_path())
        .with_context(|| format!("opening {}", config.db_path().display()))
}
