//! Crash points for the kill tests (debug builds only; a release build ignores them).
//!
//! `BITCRAPS_CRASH_AFTER=guard:N` makes a networked player kill itself with SIGKILL right after
//! its N-th durable signing-guard write, and `BITCRAPS_CRASH_AFTER=op:N` right after the N-th
//! durable write of one of its own operations: each time exactly between signing (and
//! journaling) something and sending it, the moment where a careless node would forget what it
//! signed. `tests/net_restart.rs` restarts the player after each such death.

#![cfg_attr(not(debug_assertions), allow(dead_code))]

use bitcraps::journal::JournalPlugin;

/// The environment variable naming the crash point.
pub(crate) const CRASH_AFTER: &str = "BITCRAPS_CRASH_AFTER";

/// `plugin`, with the crash point of [`CRASH_AFTER`] installed if this is a debug build and the
/// variable is set.
pub(crate) fn install(plugin: JournalPlugin) -> JournalPlugin {
    #[cfg(debug_assertions)]
    if let Ok(spec) = std::env::var(CRASH_AFTER) {
        match parse(&spec) {
            Some((kind, n)) => return armed(plugin, kind, n),
            None => eprintln!("{CRASH_AFTER}={spec} not understood (guard:N or op:N); ignored"),
        }
    }
    plugin
}

/// What to count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Guard,
    Op,
}

fn parse(spec: &str) -> Option<(Kind, u64)> {
    let (kind, n) = spec.split_once(':')?;
    let kind = match kind {
        "guard" => Kind::Guard,
        "op" => Kind::Op,
        _ => return None,
    };
    Some((kind, n.parse().ok().filter(|n| *n > 0)?))
}

#[cfg(debug_assertions)]
fn armed(plugin: JournalPlugin, kind: Kind, n: u64) -> JournalPlugin {
    use bitcraps::journal::DurableWrite;
    use std::sync::atomic::{AtomicU64, Ordering};
    let seen = AtomicU64::new(0);
    plugin.on_durable(move |write| {
        let counted = matches!(
            (kind, write),
            (Kind::Guard, DurableWrite::Guard { .. }) | (Kind::Op, DurableWrite::OwnOp { .. })
        );
        if counted && seen.fetch_add(1, Ordering::SeqCst) + 1 == n {
            use std::io::Write;
            println!("crash point: {write:?} is durable and not sent; SIGKILL");
            let _ = std::io::stdout().flush();
            kill_self();
        }
    })
}

/// SIGKILL to this process (what `kill -9` does): no destructor, no flush, nothing sent.
#[cfg(debug_assertions)]
fn kill_self() -> ! {
    let pid = std::process::id().to_string();
    let _ = std::process::Command::new("kill")
        .args(["-KILL", &pid])
        .status();
    // `kill` not found: die without unwinding all the same.
    std::process::abort()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crash_points_parse() {
        assert_eq!(parse("guard:3"), Some((Kind::Guard, 3)));
        assert_eq!(parse("op:1"), Some((Kind::Op, 1)));
        assert_eq!(parse("op:0"), None);
        assert_eq!(parse("vote:2"), None);
        assert_eq!(parse("guard"), None);
    }
}
