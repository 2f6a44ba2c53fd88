//! The command line: every command, subcommand and option (clap derive). Only argument types
//! live here; each command family's module under `cli/` handles them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use shelftalk::ingest::{CatalogFormat, EventFormat};

/// On-device personalised shelf-talker copy for retail kiosks.
///
/// shelftalk keeps shopper profiles encrypted in a local SQLite file, writes short marketing copy
/// with a local language model and syncs only anonymised, aggregated feedback to HQ.
#[derive(Parser, Debug)]
#[command(name = "shelftalk", version, propagate_version = true)]
pub struct Cli {
    /// Config file [default: firmware-config/kiosk.toml when present].
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory (database, runtime files; keys under keys/ unless key_dir is set).
    /// Overrides the config's data_dir.
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// More log output on stderr (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the kiosk: the shopper screen on this terminal, the copy engine, the control socket
    /// for `shelftalk console`, retention sweep and feedback sync. Stops on SIGINT/SIGTERM.
    Run,
    /// The technician console: attaches to the running daemon's control socket (PIN required).
    Console {
        #[command(subcommand)]
        cmd: Option<ConsoleCmd>,
    },
    /// Set up a demo data dir (keys, demo catalog and behaviour log, console PIN 246810) unless
    /// present, print loyalty codes to try, then run the kiosk on it.
    Demo {
        /// Directory holding the demo's catalog.csv and events.csv (a zh-CN demo's are in its
        /// zh-CN/ subdirectory).
        #[arg(long, default_value = "demo", value_name = "DIR")]
        demo_dir: PathBuf,
        /// The demo's language and data: en (demo/, prices in USD) or zh-CN (demo/zh-CN/,
        /// Chinese screen and copy, prices in CNY; default data dir .shelftalk-zh-CN).
        #[arg(long, default_value = "en", value_name = "LOCALE")]
        locale: shelftalk::locale::Locale,
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
    /// Install a new model or prompt pack beside the active one: its release signature verified
    /// under the config's `release_keys` first, then the file verified, checked with a test
    /// generation through the guardrails and switched atomically (a running kiosk picks it up
    /// between sessions). On any failure the active content stays.
    #[command(subcommand)]
    Update(UpdateCmd),
    /// The publisher's side of signed content: make a release key pair, sign a model or prompt
    /// pack for kiosks that trust the key.
    #[command(subcommand)]
    Release(ReleaseCmd),
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
        /// Trust this release public key for updates (64 hex digits, or a file holding it such
        /// as `release keygen`'s release.pub); repeatable; added to the config's `release_keys`.
        #[arg(long = "release-key", value_name = "FILE|KEY")]
        release_keys: Vec<String>,
        /// HQ's public key (64 hex digits, `shelftalk hq keys show-public` at HQ), written to the
        /// config's hq_public_key: sync acts only on answers HQ signed with it. An existing,
        /// different key is replaced only by naming the new one here.
        #[arg(long, value_name = "HEX")]
        hq_public_key: Option<String>,
        /// Write the keys as plain files even when `systemd-creds` could seal them
        /// (development only: a copied card gives plain keys away).
        #[arg(long)]
        plain_keys: bool,
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
pub enum ConsoleCmd {
    /// Store the technician PIN (6-12 digits) as a PBKDF2 hash in the config file in use.
    SetPin {
        /// Read the PIN from the first line of this file instead of asking.
        #[arg(long, value_name = "FILE")]
        pin_file: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum FeedbackCmd {
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
pub enum SyncCmd {
    /// Close finished days into cells, batch and sign them, and send the outbox to HQ now.
    Now(JsonFlag),
    /// Outbox and sync state.
    Status(JsonFlag),
    /// Pull the fleet's Beta priors per segment and style into the local bandit.
    Priors(JsonFlag),
}

#[derive(Args, Debug)]
pub struct HqDb {
    /// HQ's SQLite database file (created if missing): the embedded default.
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// HQ's PostgreSQL database instead (`postgres://USER:PASSWORD@HOST:PORT/DB`, or
    /// `host=/run/postgresql dbname=hq`); migrated on start. Exactly one of --db and this.
    #[arg(
        long,
        value_name = "URL",
        env = "SHELFTALK_HQ_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum HqCmd {
    /// Serve the HQ HTTP API (described at /openapi.json) and the dashboard at / (sign in there
    /// with an analyst token: `hq token create`). HTTPS with --tls-cert and --tls-key; every
    /// acknowledgement and priors document is signed with HQ's key (--key-file).
    Serve {
        #[arg(long, default_value = "127.0.0.1:8787", value_name = "ADDR")]
        listen: String,
        #[command(flatten)]
        db: HqDb,
        /// Largest accepted request body, bytes.
        #[arg(long, default_value_t = shelftalk::hq::DEFAULT_MAX_BODY)]
        max_body: usize,
        /// Signed requests a kiosk may send per minute (per HQ process); more answer 429 with
        /// Retry-After. 0 turns the limit off.
        #[arg(long, value_name = "N", default_value_t = shelftalk::hq::limit::RateLimit::default().per_minute)]
        kiosk_rate: u32,
        /// Signed requests a kiosk may send at once before the rate applies.
        #[arg(long, value_name = "N", default_value_t = shelftalk::hq::limit::RateLimit::default().burst)]
        kiosk_burst: u32,
        /// HQ's signing key (`hq keys init --key-file FILE`); kiosks verify every answer against
        /// its public key (their hq_public_key).
        #[arg(long, value_name = "FILE", env = "SHELFTALK_HQ_KEY_FILE")]
        key_file: PathBuf,
        /// Serve HTTPS with this certificate (PEM: HQ's certificate, then any intermediates).
        /// Kiosks reach a non-loopback HQ only over https://, trusting the CA in their
        /// hq_ca_file.
        #[arg(long, value_name = "FILE", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1).
        #[arg(long, value_name = "FILE", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Days a batch's signed document is kept after HQ received it; then an hourly sweep
        /// (and one at start) empties it. Reports, priors and the dashboard read
        /// the per-day roll-up and do not change; replays are still refused.
        #[arg(
            long,
            value_name = "DAYS",
            env = "SHELFTALK_HQ_RAW_RETENTION_DAYS",
            default_value_t = shelftalk::hq::retention::DEFAULT_RAW_RETENTION_DAYS,
            value_parser = clap::value_parser!(u32)
                .range(1..=i64::from(shelftalk::hq::retention::MAX_RAW_RETENTION_DAYS))
        )]
        raw_retention_days: u32,
    },
    /// HQ's own Ed25519 key, which signs acknowledgements and fleet priors.
    #[command(subcommand)]
    Keys(HqKeysCmd),
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
    /// Acknowledge a kiosk's audit alarms (its audit log was found rewritten) once looked into:
    /// they stay on record, the kiosk's health is no longer `audit_alarm`.
    AuditAck {
        #[command(flatten)]
        db: HqDb,
        /// The kiosk's id.
        #[arg(long, value_name = "ID")]
        kiosk: String,
    },
    /// Analyst bearer tokens (stored hashed, expiring, revocable); they also sign in to the
    /// dashboard.
    #[command(subcommand)]
    Token(HqTokenCmd),
    /// Feedback report from the HQ database (all days unless --from/--to); with --lift, the lift
    /// of personalisation over the holdout and of experiment arms over their control.
    Report {
        #[command(flatten)]
        db: HqDb,
        /// First day, YYYY-MM-DD.
        #[arg(long)]
        from: Option<String>,
        /// Last day, YYYY-MM-DD.
        #[arg(long)]
        to: Option<String>,
        /// Comma-separated: store, kiosk, sku, style, segment, content_kind, day, arm.
        #[arg(long, default_value = "style")]
        group_by: String,
        /// Lift with 95 % intervals per comparison instead of the grouped report: for the whole
        /// fleet, per store or per day.
        #[arg(long, value_name = "BY", num_args = 0..=1, default_missing_value = "fleet",
              value_parser = ["fleet", "store", "day"], conflicts_with = "group_by")]
        lift: Option<String>,
        #[arg(long, default_value = "csv", value_parser = ["csv", "json"])]
        format: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum HqKeysCmd {
    /// Create HQ's signing key (PKCS#8, mode 0600; an existing file is never overwritten) and
    /// print its public key, which every kiosk is provisioned with (`provision
    /// --hq-public-key`).
    Init {
        #[arg(long, value_name = "FILE", env = "SHELFTALK_HQ_KEY_FILE")]
        key_file: PathBuf,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Print the public key of HQ's signing key (64 hex digits).
    ShowPublic {
        #[arg(long, value_name = "FILE", env = "SHELFTALK_HQ_KEY_FILE")]
        key_file: PathBuf,
        #[command(flatten)]
        out: JsonFlag,
    },
}

#[derive(Subcommand, Debug)]
pub enum HqTokenCmd {
    /// Create a token; it is printed once and stored only as a hash. Refused while a live token
    /// has the name.
    Create {
        #[command(flatten)]
        db: HqDb,
        /// The token's name (`hq token list`, `hq token revoke`).
        #[arg(long, default_value = "analyst")]
        name: String,
        /// Days until it expires; then it is refused like an unknown token.
        #[arg(long, value_name = "DAYS", default_value_t = shelftalk::hq::store::DEFAULT_TOKEN_DAYS,
              value_parser = clap::value_parser!(u32).range(1..=3650))]
        expires_in_days: u32,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// List tokens: name, created, expires, revoked, last used (never the token or its hash).
    List {
        #[command(flatten)]
        db: HqDb,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// Revoke the live token with this name: refused from now on, its dashboard sessions end.
    Revoke {
        #[command(flatten)]
        db: HqDb,
        /// The token's name.
        name: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum ImportCmd {
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
pub struct CopyArgs {
    /// The product.
    #[arg(long, value_name = "SKU")]
    pub sku: Option<String>,
    /// Write for a shopper's segment (the number is never an argument).
    #[command(flatten)]
    pub loyalty: LoyaltyInput,
    /// Write for a segment key such as `footwear/mid` (default: `all`).
    #[arg(long, value_name = "KEY")]
    pub segment: Option<String>,
    /// Copy style (concise, playful, premium, value); default: chosen by the style bandit.
    #[arg(long)]
    pub style: Option<String>,
    /// Decode the whole prompt for this request instead of reusing the style's cached prefix
    /// (reproducible audits with --seed).
    #[arg(long)]
    pub no_prefix_cache: bool,
    /// Bypass the copy cache (neither read nor written).
    #[arg(long)]
    pub no_cache: bool,
    /// Sampling seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u32,
    #[command(flatten)]
    pub out: JsonFlag,
}

#[derive(Subcommand, Debug)]
pub enum CopyCmd {
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
pub enum UpdateCmd {
    /// A GGUF model and the manifest describing it (name, size, sha256, prompt format).
    Model {
        /// The model file; copied into `<data_dir>/content/models/` under its sha256.
        #[arg(long, value_name = "FILE")]
        gguf: PathBuf,
        /// Its manifest (the format of `models/manifest.toml`); size and sha256 must match.
        #[arg(long, value_name = "FILE")]
        manifest: PathBuf,
        /// The manifest's release signature [default: the manifest's path + `.sig`].
        #[arg(long, value_name = "FILE")]
        sig: Option<PathBuf>,
        #[command(flatten)]
        out: JsonFlag,
    },
    /// A prompt pack (TOML, every style with examples).
    Pack {
        /// The pack file (the format of `prompt-packs/default.toml`).
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The pack's release signature [default: FILE.sig].
        #[arg(long, value_name = "FILE")]
        sig: Option<PathBuf>,
        #[command(flatten)]
        out: JsonFlag,
    },
}

#[derive(Subcommand, Debug)]
pub enum ReleaseCmd {
    /// Create a release key pair in DIR: release.pk8 (private, mode 0600, never overwritten;
    /// keep it off the kiosks) and release.pub; prints the public key for the kiosks'
    /// `release_keys`.
    Keygen {
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Sign a model (its manifest, after checking it describes the GGUF) or a prompt pack; writes
    /// the detached signature next to the signed file (`<manifest>.sig`, `<pack>.sig`).
    Sign {
        /// The private release key (`release keygen`'s release.pk8).
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// The model file; its manifest's size and sha256 must match it.
        #[arg(long, value_name = "FILE", requires = "manifest")]
        gguf: Option<PathBuf>,
        /// The model's manifest: the file that is signed.
        #[arg(long, value_name = "FILE", requires = "gguf")]
        manifest: Option<PathBuf>,
        /// A prompt pack file.
        #[arg(
            long,
            value_name = "FILE",
            conflicts_with_all = ["gguf", "manifest"],
            required_unless_present_any = ["gguf", "manifest"]
        )]
        pack: Option<PathBuf>,
        /// Where to write the signature [default: the signed file's path + `.sig`].
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[command(flatten)]
        json: JsonFlag,
    },
}

#[derive(Subcommand, Debug)]
pub enum MdpCmd {
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
pub enum EvalCmd {
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
pub enum AuditCmd {
    /// Recompute every link of the audit log; fails naming the first broken line.
    Verify {
        /// Also check that the log still holds this head, as HQ recorded it from this kiosk
        /// (`audit.head_seq:audit.head_hash` in HQ's /v1/kiosks): a log rewritten since fails.
        #[arg(long, value_name = "SEQ:HASH")]
        head: Option<String>,
        #[command(flatten)]
        out: JsonFlag,
    },
}

#[derive(Subcommand, Debug)]
pub enum QuarantineCmd {
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
pub enum BenchCmd {
    /// The copy engine on the configured model: tokens/s, time to first token with and without
    /// the prefix cache, fresh-blurb and cache-hit latency, guardrail pass rate, peak memory.
    Copy {
        /// Catalog to draw products from (any catalog format); default: this kiosk's catalog.
        #[arg(long, value_name = "FILE")]
        catalog: Option<PathBuf>,
        /// Product × segment pairs.
        #[arg(long, default_value_t = 100)]
        pairs: usize,
        /// Seed of the product sample and of sampling (7 is the sample the prompts were tuned
        /// on; report figures on another).
        #[arg(long, default_value_t = 7)]
        seed: u32,
        /// List every pair's served copy in the report (what the shopper would read), for
        /// whoever tunes the prompt pack or the guardrails.
        #[arg(long)]
        show_copy: bool,
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
    /// HQ at fleet scale on SQLite and PostgreSQL in one run: simulated kiosks (own Ed25519
    /// keys) post signed batches over concurrent HTTP connections (batches/s, p50/p99 latency;
    /// fails unless every batch is accepted and HQ's totals equal what the kiosks were
    /// acknowledged), the store × day report, then the roll-up grown to --report-cells cells and
    /// the report timed again (target < 1 s). PostgreSQL: a throwaway cluster (Debian's
    /// `postgresql`) unless --database-url.
    Hq {
        /// Simulated kiosks (10 per store).
        #[arg(long, default_value_t = 1_000)]
        kiosks: usize,
        /// Batches posted over HTTP in all, per backend.
        #[arg(long, default_value_t = 20_000)]
        batches: u64,
        /// Cells per batch (one kiosk-day).
        #[arg(long, default_value_t = 100)]
        cells: usize,
        /// Concurrent HTTP connections.
        #[arg(long, default_value_t = 32)]
        connections: usize,
        /// Cells the roll-up holds when the large report is timed.
        #[arg(long, default_value_t = 10_000_000)]
        report_cells: u64,
        /// Runs of each report timing (the p50 is shown).
        #[arg(long, default_value_t = 11)]
        report_runs: usize,
        /// An empty PostgreSQL database to use instead of a throwaway cluster (no HQ kiosks in
        /// it: the bench writes millions of cells there and leaves them).
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
        #[command(flatten)]
        out: JsonFlag,
    },
}

#[derive(Args, Debug, Clone, Copy)]
pub struct JsonFlag {
    /// Print machine-readable JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum KeysCmd {
    /// Create the key-encryption key, the lookup-token pepper and the Ed25519 device key
    /// (files mode 0600). Refuses to overwrite existing keys.
    Init(JsonFlag),
    /// Print the device's Ed25519 public key (hex), as HQ enrolment expects it.
    ShowPublic(JsonFlag),
    /// Make a new key-encryption key and re-wrap every shopper data key with it; the old key is
    /// destroyed. Sealed rows are not rewritten. When a daemon runs for the data dir, it rotates
    /// (through its control socket) and audits it; either way under the key directory's lock.
    Rotate(JsonFlag),
}

#[derive(Subcommand, Debug)]
pub enum ShopperCmd {
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
    /// key-encryption key. When a daemon runs for the data dir, it does the erasure (the number
    /// goes to it over the control socket) and audits it.
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

/// Where a command reads a shopper's loyalty number: standard input (asked without echo on a
/// terminal) or the first line of a file, never its own arguments, which show in `ps`, shell
/// history and sudo's log.
#[derive(Args, Debug, Default)]
pub struct LoyaltyInput {
    /// Read the shopper's loyalty number from standard input (asked without echo on a terminal).
    #[arg(long)]
    pub loyalty_stdin: bool,
    /// Read the shopper's loyalty number from the first line of FILE.
    #[arg(long, value_name = "FILE", conflicts_with = "loyalty_stdin")]
    pub loyalty_file: Option<PathBuf>,
    /// Refused: a number on the command line is visible to every user in `ps`.
    #[arg(long, hide = true, value_name = "ID")]
    pub loyalty: Option<String>,
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::Cli;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn a_loyalty_argument_parses_only_to_be_refused() {
        let cli = Cli::try_parse_from(["shelftalk", "shopper", "show", "--loyalty", "LC1"]);
        let Ok(Cli {
            command: super::Command::Shopper(super::ShopperCmd::Show { loyalty, .. }),
            ..
        }) = cli
        else {
            unreachable!("`shopper show --loyalty` parses");
        };
        let err = loyalty.read(true, &[]).err().map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("visible in `ps`")),
            "{err:?}"
        );
    }
}
