//! The seat key file (`bitcraps_journal::identity::load_identity`), read from a real owner-only
//! file (in /dev/shm where there is one): any content must load or be refused with a typed
//! error, never panic; a key that loads must be exactly the one the file's key line spells (its
//! seed, in hex, is that line up to letter case).
#![no_main]

use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

use bitcraps_journal::identity::{load_identity, IDENTITY_HEADER};
use libfuzzer_sys::fuzz_target;

fn path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let shm = PathBuf::from("/dev/shm");
        let base = if shm.is_dir() {
            shm
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("bitcraps-fuzz-identity-{}", std::process::id()));
        if let Err(e) = std::fs::create_dir_all(&dir) {
            panic!("cannot create {}: {e}", dir.display());
        }
        dir.join("seat.key")
    })
}

fn write(path: &PathBuf, data: &[u8]) {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path);
    match file.and_then(|mut f| f.write_all(data)) {
        Ok(()) => {}
        Err(e) => panic!("cannot write {}: {e}", path.display()),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fuzz_target!(|data: &[u8]| {
    let path = path();
    write(path, data);
    let Ok(key) = load_identity(path) else {
        return;
    };
    let text = std::str::from_utf8(data).unwrap_or_else(|_| panic!("a key from non-UTF-8 text"));
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(IDENTITY_HEADER));
    let line = lines.next().unwrap_or_default().trim().to_ascii_lowercase();
    assert_eq!(line, hex(&key.seed()), "the key loaded is not the key line");
});
