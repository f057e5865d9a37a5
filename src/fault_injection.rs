//! Crash points and a planted bug for the kill tests, compiled in only with the cargo feature
//! `fault-injection` (a player's build, debug or release, never reads either variable).
//!
//! `BITCRAPS_CRASH_AFTER` makes a networked player kill itself with SIGKILL:
//!
//! - `guard:N`: right after its N-th durable signing-guard write, before the proposal or votes it
//!   protects are sent;
//! - `op:N`: right after the N-th durable write of one of its own operations, before it is sent;
//! - `sent-bet:N`: at its first guard write at least [`SENT_DELAY`] after its N-th bet became
//!   durable: the bet has been broadcast (it leaves in the frame it was signed in) and is most
//!   likely not decided yet.
//!
//! `BITCRAPS_PLANT_BUG=forget-own-ops` plants the bug the own-operation journal prevents: on
//! resuming a table the player first erases its journaled operations, so it forgets what it
//! signed and may sign something else under the same nonce. The negative control of
//! `tests/net_restart.rs` shows that the other players then catch and punish it.

#![cfg_attr(not(feature = "fault-injection"), allow(dead_code))]

use std::time::Duration;

use bitcraps::consensus::TableId;
use bitcraps::journal::{DataDir, JournalPlugin};

/// The environment variable naming the crash point.
pub(crate) const CRASH_AFTER: &str = "BITCRAPS_CRASH_AFTER";
/// The environment variable naming the planted bug.
pub(crate) const PLANT_BUG: &str = "BITCRAPS_PLANT_BUG";
/// How long after a bet became durable a `sent-bet` crash point waits for a guard write.
pub(crate) const SENT_DELAY: Duration = Duration::from_millis(40);

/// `plugin`, with the crash point of [`CRASH_AFTER`] installed if this build has the
/// `fault-injection` feature and the variable is set.
pub(crate) fn install(plugin: JournalPlugin) -> JournalPlugin {
    #[cfg(feature = "fault-injection")]
    if let Ok(spec) = std::env::var(CRASH_AFTER) {
        match parse(&spec) {
            Some((kind, n)) => return armed(plugin, kind, n),
            None => eprintln!(
                "{CRASH_AFTER}={spec} not understood (guard:N, op:N or sent-bet:N); ignored"
            ),
        }
    }
    plugin
}

/// Before the journal of `table` in `dir` is opened to resume: the planted bug of
/// [`PLANT_BUG`], if this build has the `fault-injection` feature and the variable asks for
/// it.
pub(crate) fn before_resume(dir: &DataDir, table: &TableId) {
    #[cfg(feature = "fault-injection")]
    if std::env::var(PLANT_BUG).is_ok_and(|bug| bug == "forget-own-ops") {
        let path = dir.journal_path(table);
        match bitcraps::journal::Journal::open_existing(&path)
            .and_then(|mut journal| journal.forget_own_ops_below(u64::MAX))
        {
            Ok(()) => println!("planted bug: forgot the operations signed before the restart"),
            Err(e) => eprintln!("planted bug not planted: {e}"),
        }
    }
    let _ = (dir, table);
}

/// What to count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Guard,
    Op,
    SentBet,
}

fn parse(spec: &str) -> Option<(Kind, u64)> {
    let (kind, n) = spec.split_once(':')?;
    let kind = match kind {
        "guard" => Kind::Guard,
        "op" => Kind::Op,
        "sent-bet" => Kind::SentBet,
        _ => return None,
    };
    Some((kind, n.parse().ok().filter(|n| *n > 0)?))
}

#[cfg(feature = "fault-injection")]
fn armed(plugin: JournalPlugin, kind: Kind, n: u64) -> JournalPlugin {
    use bitcraps::game::OpKind;
    use bitcraps::journal::DurableWrite;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Mutex;
    use std::time::Instant;

    let seen = AtomicU64::new(0);
    let bet_durable_at: Mutex<Option<Instant>> = Mutex::new(None);
    plugin.on_durable(move |write| {
        let count = || seen.fetch_add(1, Ordering::SeqCst) + 1;
        let die = match (kind, write) {
            (Kind::Guard, DurableWrite::Guard { .. }) | (Kind::Op, DurableWrite::OwnOp { .. }) => {
                count() == n
            }
            (
                Kind::SentBet,
                DurableWrite::OwnOp {
                    kind: OpKind::PlaceBet,
                    ..
                },
            ) => {
                if count() == n {
                    if let Ok(mut at) = bet_durable_at.lock() {
                        *at = Some(Instant::now());
                    }
                }
                false
            }
            (Kind::SentBet, DurableWrite::Guard { .. }) => bet_durable_at
                .lock()
                .is_ok_and(|at| at.is_some_and(|t| t.elapsed() >= SENT_DELAY)),
            _ => false,
        };
        if die {
            use std::io::Write;
            println!("crash point: {kind:?} {n} reached at {write:?}; SIGKILL");
            let _ = std::io::stdout().flush();
            kill_self();
        }
    })
}

/// SIGKILL to this process (what `kill -9` does): no destructor, no flush, nothing sent.
#[cfg(feature = "fault-injection")]
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
        assert_eq!(parse("sent-bet:2"), Some((Kind::SentBet, 2)));
        assert_eq!(parse("op:0"), None);
        assert_eq!(parse("vote:2"), None);
        assert_eq!(parse("guard"), None);
    }
}
