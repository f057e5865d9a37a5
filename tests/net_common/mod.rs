//! Helpers shared by the tests that run the real binary over the network.
#![allow(clippy::expect_used, clippy::unwrap_used, dead_code)]

pub mod player;

use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::Duration;

/// The game binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_bitcraps");

/// Children killed when the test ends, whatever happens.
pub struct Children(pub Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A UDP port free on 127.0.0.1 at the time of asking.
pub fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An empty temporary folder for one player of test `test`.
pub fn data_dir(test: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bitcraps-{test}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Starts `bitcraps relay` for a table of four on 127.0.0.1:`port` and returns it once it says
/// where it listens, with the rest of its output lines. Its output is read to the end whether the
/// lines are wanted or not (a closed pipe would kill it at its next line).
pub fn relay(port: u16) -> (Child, Receiver<String>) {
    // Its own data directory (where it records the table it serves), kept across a restart
    // at the same port within one test.
    let dir = std::env::temp_dir().join(format!("bitcraps-relay-{}-{port}", std::process::id()));
    let mut relay = Command::new(BIN)
        .args(["relay", "--bind", "127.0.0.1", "--players", "4", "--port"])
        .arg(port.to_string())
        .arg("--data-dir")
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the relay");
    let (tx, lines) = mpsc::channel();
    let out = relay.stdout.take().unwrap();
    thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let first = lines
        .recv_timeout(Duration::from_secs(20))
        .expect("the relay says where it listens");
    assert!(first.contains(&format!("127.0.0.1:{port}")), "{first}");
    (relay, lines)
}
