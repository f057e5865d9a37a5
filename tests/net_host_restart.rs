//! The host dies and comes back, with the real binary over UDP on 127.0.0.1: `bitcraps --host
//! --headless` (its relay, its own player and two bots, each journaled under the host's data
//! directory) and one `--join --headless` player play; the host process is killed (SIGKILL) after
//! roll 3, which takes the relay, the host's player and its bots down at once. The joiner says
//! the relay is lost and makes no progress alone (negative control: three of the four seats are
//! gone). The host restarts on the same data directory and address: it says it resumes its hosted
//! table with its two bots, serves it again, and the joiner says it is back. Both finish the
//! game with the same state hash and no penalty, and every journal — the host's, each bot's and
//! the joiner's — passes `bitcraps verify`.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

mod net_common;

use net_common::player::{exit_of, journals, verify, wait_for, Player};
use net_common::{free_port, Children};

/// The whole test stops by itself within this time.
const DEADLINE: Duration = Duration::from_secs(150);
/// Rolls each player plays to.
const ROLLS: &str = "10";

/// The journals of the host's bots (`bots/<n>/tables/*.redb` in its data directory).
fn bot_journals(host: &Player) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for n in 1..=2 {
        found.extend(journals(&host.dir.join("bots").join(n.to_string())));
    }
    found
}

#[test]
fn a_restarted_host_resumes_its_table_with_its_bots() {
    let start = Instant::now();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut children = Children(Vec::new());
    let host_args = [
        "--host",
        &addr,
        "--headless",
        "--host-bots",
        "2",
        "--rolls",
        ROLLS,
        "--timeout",
        "120",
    ];
    let host = Player::start(&mut children, "host-restart", "host", &host_args);
    wait_for(
        start,
        DEADLINE,
        "the host's relay",
        || host.printed("hosting a table of 4"),
        &[&host],
    );
    let join_args = [
        "--join",
        &addr,
        "--headless",
        "--rolls",
        ROLLS,
        "--timeout",
        "120",
    ];
    let joiner = Player::start(&mut children, "host-restart", "joiner", &join_args);
    wait_for(
        start,
        DEADLINE,
        "three rolls",
        || host.last_roll() >= 3 && joiner.last_roll() >= 3,
        &[&host, &joiner],
    );
    assert!(
        host.printed("host bot 2 plays as"),
        "two journaled bots:\n{}",
        host.text()
    );

    // The host's machine dies: relay, player and bots at once.
    children.0[host.index].kill().unwrap();
    children.0[host.index].wait().unwrap();
    let killed_at = Instant::now();
    wait_for(
        start,
        DEADLINE,
        "the joiner to notice",
        || joiner.printed("relay lost"),
        &[&joiner],
    );
    let roll_at_kill = joiner.last_roll();
    // Negative control: one seat of four cannot play on alone.
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        joiner.last_roll() <= roll_at_kill,
        "the joiner played on without a quorum:\n{}",
        joiner.text()
    );
    for journal in bot_journals(&host) {
        verify(&journal);
    }
    assert_eq!(bot_journals(&host).len(), 2, "{}", host.text());

    // The same command on the same data directory: the host resumes its table.
    let again = Player::start_in(&mut children, host.dir.clone(), &host_args);
    wait_for(
        start,
        DEADLINE,
        "the host to resume",
        || again.printed("resuming your hosted table"),
        &[&again],
    );
    let resumed = again
        .line("resuming your hosted table")
        .expect("a resume line");
    assert!(resumed.contains("with 2 bot(s) at height"), "{resumed}");
    assert!(!again.printed("hosting a table of"), "{}", again.text());
    eprintln!(
        "host restarted {:.1} s after the kill",
        killed_at.elapsed().as_secs_f64()
    );

    let players = [&again, &joiner];
    for p in players {
        assert!(exit_of(&mut children, p, start, DEADLINE), "{}", p.text());
    }
    assert!(
        joiner.printed("back at the relay after"),
        "{}",
        joiner.text()
    );
    let hashes: Vec<String> = players
        .iter()
        .map(|p| {
            p.line(&format!("state hash after roll {ROLLS}"))
                .unwrap_or_else(|| panic!("no hash:\n{}", p.text()))
        })
        .collect();
    assert_eq!(hashes[0], hashes[1], "{hashes:#?}");
    // Shown with `--nocapture`: what the restarted host printed.
    eprintln!("{}", again.text());
    for p in players {
        assert!(p.printed("penalties: 0"), "{}", p.text());
        assert!(p.printed("misbehaviour reports: 0"), "{}", p.text());
    }
    let mut all = bot_journals(&host);
    all.extend(again.journals());
    all.extend(joiner.journals());
    assert_eq!(all.len(), 4, "{all:#?}");
    for journal in &all {
        verify(journal);
    }
    eprintln!("took {:.1} s", start.elapsed().as_secs_f64());
    for p in players {
        let _ = std::fs::remove_dir_all(&p.dir);
    }
}
