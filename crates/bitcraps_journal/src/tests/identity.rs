//! The seat key file and the data directory.

use super::support::TempDir;
use crate::identity::IDENTITY_HEADER;
use crate::{create_identity, load_identity, load_or_create_identity, DataDir, IdentityError};

#[test]
fn a_seat_key_is_created_once_owner_only_and_loaded_back() {
    let dir = TempDir::new();
    let data = DataDir::new(dir.file("data"));
    let path = data.identity_path();
    let (key, created) = load_or_create_identity(&path).expect("created");
    assert!(created);
    let (again, created) = load_or_create_identity(&path).expect("loaded");
    assert!(!created);
    assert_eq!(again.peer_id(), key.peer_id());
    assert!(
        matches!(create_identity(&path), Err(IdentityError::Io { .. })),
        "never overwritten"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dir_mode = std::fs::metadata(data.root())
            .expect("meta")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(dir_mode, 0o700);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        assert!(matches!(
            load_identity(&path),
            Err(IdentityError::InsecurePermissions { mode: 0o644, .. })
        ));
    }
}

#[test]
fn a_malformed_seat_key_is_refused() {
    let dir = TempDir::new();
    let path = dir.file("seat.key");
    for text in [
        "",
        "hello\n",
        &format!("{IDENTITY_HEADER}\nzz\n"),
        &format!("{IDENTITY_HEADER}\n{}\n", "g".repeat(64)),
    ] {
        let _ = std::fs::remove_file(&path);
        std::fs::write(&path, text).expect("write");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        }
        assert!(
            matches!(load_identity(&path), Err(IdentityError::Malformed { .. })),
            "{text:?}"
        );
    }
}

#[test]
fn data_dir_layout() {
    let data = DataDir::new("/x");
    let table = bitcraps_consensus::TableId::from_name("t");
    let path = data.journal_path(&table);
    assert!(path.starts_with("/x/tables"));
    assert_eq!(path.extension().and_then(|e| e.to_str()), Some("redb"));
    assert_eq!(data.identity_path(), std::path::Path::new("/x/seat.key"));
    // The platform default exists wherever there is a home directory.
    if std::env::var_os("HOME").is_some() {
        assert!(crate::default_data_dir().is_some());
    }
}
