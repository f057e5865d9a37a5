//! Helpers shared by the tests that run the real binary over the network.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::Child;

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
