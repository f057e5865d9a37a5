//! `bitcraps`: the BitCraps desktop game.
//!
//! `cargo run --release` opens a window with a craps table: you and three bot players, each a
//! full consensus participant with its own key, over an in-memory network. See `--help` for
//! the options (`--bots`, `--byzantine-bot`, `--headless --rolls`, `--screenshot
//! --after-rolls`).

mod audit;
mod cheat;
mod cli;
mod error;
mod fault_injection;
mod headless;
mod host_bots;
mod local_table;
mod logging;
mod membership;
mod net_headless;
mod net_play;
mod netem;
mod relay_pin;
mod saved_table;
mod screenshot;
mod window;

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::local_table::{Pace, TableSpec};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Some(Command::Verify { path, config_hash }) => audit::verify(path, config_hash.as_deref()),
        Some(Command::Export { path, json }) => audit::export(path, *json),
        Some(Command::Netem(args)) => return netem::run(args),
        Some(Command::Relay(args)) => net_play::relay(&cli, args),
        None => match (cli.host.clone(), cli.join.clone()) {
            (Some(addr), _) => net_play::host(&cli, &addr),
            (None, Some(addr)) => net_play::join(&cli, &addr),
            (None, None) => play(cli),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bitcraps: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A table: the local one (the default), or network play.
fn play(cli: Cli) -> Result<(), error::GameError> {
    let headless = cli.headless;
    let screenshot = cli.screenshot.is_some();
    // A table below four players closes: with a cheater who will be unseated, seat at least
    // five so that the honest four play on.
    let cheat = cli.cheat();
    let bots = if cheat.is_some() {
        usize::from(cli.bots).max(4)
    } else {
        usize::from(cli.bots)
    };
    let spec = TableSpec {
        bots,
        cheat,
        seed: cli.seed,
        pace: if headless { Pace::Fast } else { Pace::Human },
        autoplay: headless || screenshot || cli.autoplay,
    };
    let timeout = Duration::from_secs(cli.timeout);
    if headless {
        headless::run(&spec, cli.rolls, timeout, cli.verbose)
    } else {
        window::run(
            &spec,
            window::WindowOptions {
                screenshot: cli.screenshot.map(|path| (path, cli.after_rolls)),
                timeout,
                verbose: cli.verbose,
            },
        )
    }
}
