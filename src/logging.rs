//! What the game and the relay log: quiet by default (warnings and errors: refusals, kicked
//! connections, desyncs, misbehaviour), `-v` adds the story (connections and handshakes with
//! their seats, disconnects, reconnects, catch-up progress), `-vv` the details; `RUST_LOG`
//! overrides both (`RUST_LOG=bitcraps_renet=debug`). Logs go to standard error through Bevy's
//! [`LogPlugin`] (tracing), one per process: the relay thread of `--host` and the host's bots
//! log through the player's.

use std::io::IsTerminal;

use bevy::app::App;
use bevy::log::{tracing_subscriber, BoxedFmtLayer, Level, LogPlugin};

/// Libraries whose info lines are noise for a player.
const QUIET_LIBRARIES: &str = "wgpu=error,naga=error,bevy_render=warn,bevy_app=warn,\
                               bevy_winit=warn,offset_allocator=warn";

/// The log filter for `-v` given `verbose` times.
pub fn filter(verbose: u8) -> String {
    match verbose {
        0 => format!("warn,{QUIET_LIBRARIES}"),
        1 => format!("warn,bitcraps=info,bevy_bitcraps=info,bitcraps_renet=info,bitcraps_journal=info,bitcraps_table=info,{QUIET_LIBRARIES}"),
        _ => format!("info,bitcraps=debug,bevy_bitcraps=debug,bitcraps_renet=debug,bitcraps_journal=debug,bitcraps_table=debug,{QUIET_LIBRARIES}"),
    }
}

/// Bevy's log plugin with [`filter`] (`RUST_LOG`, when set, wins).
pub fn log_plugin(verbose: u8) -> LogPlugin {
    LogPlugin {
        level: if verbose == 0 {
            Level::WARN
        } else {
            Level::INFO
        },
        filter: filter(verbose),
        fmt_layer: plain_when_piped,
        ..Default::default()
    }
}

/// Bevy's formatter, with colour codes only on a terminal (a log file or a pipe gets plain
/// text; `NO_COLOR` turns them off everywhere).
fn plain_when_piped(_app: &mut App) -> Option<BoxedFmtLayer> {
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    Some(Box::new(
        tracing_subscriber::fmt::Layer::default()
            .with_writer(std::io::stderr)
            .with_ansi(colour),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_by_default_more_with_each_v() {
        assert!(filter(0).starts_with("warn,"));
        assert!(!filter(0).contains("bitcraps_renet=info"));
        assert!(filter(1).contains("bitcraps_renet=info"));
        assert!(filter(2).contains("bitcraps_renet=debug"));
        for v in 0..3 {
            assert!(filter(v).contains("wgpu=error"), "wgpu stays quiet");
        }
    }
}
