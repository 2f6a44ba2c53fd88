//! The `shelftalk` command: parse the arguments, set up tracing, dispatch to the command's family
//! under [`cli`], and turn the result into the exit code. Printing happens only in
//! `cli::output`.

mod cli;

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

use cli::args::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        // The terminal belongs to a screen: log into the daemon's ring buffer instead.
        Command::Run | Command::Demo { .. } | Command::Console { cmd: None } => {
            let run = matches!(cli.command, Command::Run);
            shelftalk::daemon::logs::install_screen(
                run,
                cli.verbose,
                cli::config_file(&cli).as_deref(),
            );
        }
        _ => init_tracing(cli.verbose),
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            cli::output::error(&err);
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

/// Dispatch: commands that set up their own config first, then the rest on the effective one.
fn run(cli: Cli) -> Result<()> {
    match &cli.command {
        Command::Demo { demo_dir, locale } => {
            return cli::daemon::demo(cli.data_dir.as_deref(), demo_dir, *locale)
        }
        Command::Provision {
            store_id,
            kiosk_id,
            pin_file,
            hq_db,
            release_keys,
            hq_public_key,
            plain_keys,
            out,
        } => {
            return cli::provision::run(
                &cli,
                (store_id, kiosk_id),
                pin_file.as_deref(),
                *plain_keys,
                hq_db,
                (release_keys, hq_public_key.as_deref()),
                out.json,
            )
        }
        Command::Release(cmd) => return cli::release::run(cmd),
        _ => {}
    }
    let config = cli::load_config(&cli)?;
    let file_in_use = cli::config_file(&cli);
    match cli.command {
        Command::Demo { .. } | Command::Provision { .. } | Command::Release(_) => Ok(()),
        Command::Run => cli::daemon::run(config, file_in_use),
        Command::Console { cmd } => cli::daemon::console(&config, file_in_use, cmd),
        Command::Config(out) => cli::inspect::config(&config, out),
        Command::Keys(cmd) => cli::keys::run(&config, cmd),
        Command::Shopper(cmd) => cli::shopper::run(&config, cmd),
        Command::Import(cmd) => cli::import::run(&config, cmd),
        Command::Selftest(out) => cli::inspect::selftest(&config, out),
        Command::Update(cmd) => cli::update::run(&config, cmd),
        Command::Copy { cmd, args } => cli::copy::run(&config, cmd, args),
        Command::Recommend {
            loyalty,
            scans,
            n,
            out,
        } => cli::recommend::recommend(&config, &loyalty, &scans, n, out.json),
        Command::Mdp { cmd } => cli::recommend::mdp(&config, cmd),
        Command::Eval { cmd } => cli::recommend::eval(&config, cmd),
        Command::Bench(cmd) => cli::bench::run(&config, cmd),
        Command::Status(out) => cli::inspect::status(&config, out),
        Command::Quarantine { cmd } => cli::inspect::quarantine(&config, cmd),
        Command::Audit { cmd } => cli::inspect::audit(&config, cmd),
        Command::Feedback(cmd) => cli::feedback::run(&config, cmd),
        Command::Sync(cmd) => cli::sync::run(&config, cmd),
        Command::Hq(cmd) => cli::hq::run(cmd),
    }
}
