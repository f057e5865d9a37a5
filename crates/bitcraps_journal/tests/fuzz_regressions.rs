//! Inputs the fuzz targets (`fuzz/`, see README.md "Fuzzing") found wrongly handled, kept as
//! regression tests: each must now be refused with a typed error.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::Write;
use std::path::Path;

use bitcraps_journal::identity::{load_identity, IDENTITY_HEADER};
use bitcraps_journal::IdentityError;

fn write_private(path: &Path, text: &str) {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).expect("creates the key file");
    file.write_all(text.as_bytes()).expect("writes");
}

/// fuzz target `identity_file`: `u8::from_str_radix` takes a leading `+`, so a key line ending
/// in "+b" loaded as the key whose last byte is 0x0b — a file that is not the key's spelling
/// (nor hex) was accepted. It is refused now; the key's real spelling still loads.
#[test]
fn a_seat_key_line_with_a_sign_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let signed = dir.path().join("signed.key");
    let line = format!("{}+b", "ab".repeat(31));
    write_private(&signed, &format!("{IDENTITY_HEADER}\n{line}\n"));
    match load_identity(&signed) {
        Err(IdentityError::Malformed { reason, .. }) => assert!(reason.contains("not hex")),
        other => panic!("expected a malformed key file, got {other:?}"),
    }

    let plain = dir.path().join("plain.key");
    let line = format!("{}0B", "AB".repeat(31));
    write_private(&plain, &format!("{IDENTITY_HEADER}\r\n{line}\r\n"));
    let key = load_identity(&plain).expect("upper-case hex with CRLF loads");
    let mut seed = [0xab; 32];
    seed[31] = 0x0b;
    assert_eq!(key.seed(), seed);
}
