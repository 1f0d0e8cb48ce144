//! Data survives closing and reopening the database file.

use super::*;
use crate::store::RemoveOutcome;

/// A fresh directory under the target's temp dir, unique per test and process.
pub(super) fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("scope-store-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn data_survives_reopen() {
    let dir = temp_dir("reopen");
    let path = dir.join("store.redb");
    {
        let s = Store::open(&path, StoreLimits::default()).unwrap();
        s.put(T0, &put_req(key(1), b"kept", None, 600, ip(1)))
            .unwrap();
        s.put(T0, &put_req(key(1), b"gone", Some(b"s"), 600, ip(1)))
            .unwrap();
        assert_eq!(
            s.remove(T0, &rm_req(key(1), b"gone", b"s", 600)).unwrap(),
            RemoveOutcome::Removed
        );
        s.put_chunk(T0, &sha1(b"blob"), b"blob", T0 + 600_000)
            .unwrap();
    }
    let s = Store::open(&path, StoreLimits::default()).unwrap();
    assert_eq!(get_all(&s, T0 + 1, key(1), 10), vec![b"kept".to_vec()]);
    let put = put_req(key(1), b"gone", Some(b"s"), 600, ip(1));
    assert_eq!(
        s.put(T0 + 2, &put).unwrap(),
        crate::store::ApplyOutcome::Suppressed
    );
    assert_eq!(
        s.get_chunk(T0, &sha1(b"blob")).unwrap(),
        Some(b"blob".to_vec())
    );
    let st = s.stats().unwrap();
    assert_eq!(
        (st.values, st.tombstones, st.chunks, st.active_clients),
        (1, 1, 1, 2)
    );
    drop(s);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn second_open_of_a_held_file_fails() {
    let dir = temp_dir("locked");
    let path = dir.join("store.redb");
    let s = Store::open(&path, StoreLimits::default()).unwrap();
    assert!(Store::open(&path, StoreLimits::default()).is_err());
    drop(s);
    std::fs::remove_dir_all(dir).unwrap();
}
