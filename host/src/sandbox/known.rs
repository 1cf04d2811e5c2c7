//! Files read before, known by their identity: a warm load neither reads nor
//! hashes again the plugin (19 MiB for a Python one) nor the cache entry
//! (36 MiB) when neither changed since a run that did.
//!
//! A file's identity is its device, inode, size, modification time and
//! change time, taken with `fstat` on the open file. Every write, truncation,
//! rename, link or `chmod` sets the change time to the clock's present, and no
//! call lets a process set it (`utimensat` sets the modification time and, in
//! doing so, the change time to now): short of root moving the clock back, a
//! file whose identity is the one recorded holds the bytes it held then. So a
//! record "this identity held what hashes to `value`" stands in for reading
//! and hashing the file, on three conditions:
//!
//! - **The file system keeps change times itself**: only local ones whose
//!   kernel driver stamps them (ext4, XFS, Btrfs, tmpfs, overlayfs, F2FS,
//!   ZFS); never a network or FUSE file system, whose times come from
//!   elsewhere.
//! - **The file had settled before it was read** (racy-git's rule): its
//!   change and modification times are at least [`SETTLE`] older than the
//!   moment before the read began, and its identity after the read is the
//!   one before. A write during or after the read would stamp a change time
//!   later than that moment minus a clock tick, so it cannot leave the
//!   identity recorded. A file written within [`SETTLE`] of its read is read
//!   and hashed every time until it is older.
//! - **The record is authentic**: records live in `known/` of the cache
//!   directory, each named by a keyed hash (the cache's key) of what it is
//!   for and the identity, holding the value and a keyed MAC over its name
//!   and the value. Whoever cannot read the key can neither forge a record
//!   nor move one under another identity; a restored or copied cache brings
//!   files with new inodes and change times, whose records match nothing.
//!
//! The directory holds at most [`KNOWN_HELD`] records; past it, a new record
//! starts it afresh (records only save time).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How much older than its read a file's times must be for a record of it.
const SETTLE: Duration = Duration::from_secs(2);

/// The most records `known/` holds.
const KNOWN_HELD: usize = 1024;

const VALUE_LEN: usize = 32;
const RECORD_LEN: usize = VALUE_LEN + 32;

/// What one record is for: the digest of a plugin's bytes, or that a cache
/// entry's MAC was verified for a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// The value is the BLAKE3 hash of the file's bytes.
    ComponentDigest,
    /// The value is the BLAKE3 hash of the entry's name: its MAC was checked.
    VerifiedEntry,
}

impl Purpose {
    fn tag(self) -> &'static [u8] {
        match self {
            Purpose::ComponentDigest => b"component digest",
            Purpose::VerifiedEntry => b"verified entry",
        }
    }
}

/// The identity of an open file, on a file system that keeps change times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Identity {
    dev: u64,
    ino: u64,
    /// The file's length in bytes.
    pub(crate) len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Identity {
    /// The identity of `file` now; `None` where identities cannot be trusted
    /// (another file system, another OS, `fstat` failing).
    pub(crate) fn of(file: &std::fs::File) -> Option<Identity> {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            use std::os::unix::fs::MetadataExt;
            if !keeps_change_times(file.as_raw_fd()) {
                return None;
            }
            let meta = file.metadata().ok()?;
            if !meta.is_file() {
                return None;
            }
            Some(Identity {
                dev: meta.dev(),
                ino: meta.ino(),
                len: meta.size(),
                mtime: (meta.mtime(), meta.mtime_nsec()),
                ctime: (meta.ctime(), meta.ctime_nsec()),
            })
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = file;
            None
        }
    }

    /// Whether both of its times are at least `settle` before `read_began`.
    fn settled(&self, read_began: SystemTime, settle: Duration) -> bool {
        let Some(limit) = read_began.checked_sub(settle) else {
            return false;
        };
        let Ok(limit) = limit.duration_since(SystemTime::UNIX_EPOCH) else {
            return false;
        };
        let limit = (limit.as_secs() as i64, i64::from(limit.subsec_nanos()));
        self.mtime <= limit && self.ctime <= limit
    }

    fn bytes(&self) -> [u8; 56] {
        let fields = [
            self.dev,
            self.ino,
            self.len,
            self.mtime.0 as u64,
            self.mtime.1 as u64,
            self.ctime.0 as u64,
            self.ctime.1 as u64,
        ];
        let mut out = [0u8; 56];
        for (slot, field) in out.chunks_exact_mut(8).zip(fields) {
            slot.copy_from_slice(&field.to_le_bytes());
        }
        out
    }
}

/// Whether the file system of `fd` stamps change times itself.
#[cfg(target_os = "linux")]
fn keeps_change_times(fd: std::os::fd::RawFd) -> bool {
    const KEEPERS: [u32; 7] = [
        0xEF53,      // ext2/3/4
        0x5846_5342, // XFS
        0x9123_683E, // Btrfs
        0x0102_1994, // tmpfs
        0x794C_7630, // overlayfs
        0xF2F5_2010, // F2FS
        0x2FC1_2FC1, // ZFS
    ];
    // SAFETY: `fs` is a plain struct fstatfs fills; the descriptor is open.
    let mut fs: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstatfs(fd, &mut fs) } != 0 {
        return false;
    }
    KEEPERS.contains(&(fs.f_type as u32))
}

/// The records of one cache directory.
pub(crate) struct Known {
    dir: PathBuf,
    key: [u8; 32],
    /// [`SETTLE`]; shorter in tests, which then wait a clock tick instead.
    pub(super) settle: Duration,
}

impl Known {
    /// The records in `known/` of the cache directory `cache_dir`, under `key`.
    pub(crate) fn new(cache_dir: &Path, key: [u8; 32]) -> Known {
        Known {
            dir: cache_dir.join("known"),
            key,
            settle: SETTLE,
        }
    }

    /// The file name of the record of `identity` for `purpose`.
    fn name(&self, purpose: Purpose, identity: &Identity) -> String {
        let mut hasher = blake3::Hasher::new_keyed(&self.key);
        hasher.update(b"ctest known file 1\0");
        hasher.update(purpose.tag());
        hasher.update(&identity.bytes());
        hasher.finalize().to_hex().to_string()
    }

    fn mac(&self, name: &str, value: &[u8; VALUE_LEN]) -> blake3::Hash {
        let mut mac = blake3::Hasher::new_keyed(&self.key);
        mac.update(b"ctest known record 1\0");
        mac.update(name.as_bytes());
        mac.update(value);
        mac.finalize()
    }

    /// The value recorded for `identity` and `purpose`, if an authentic
    /// record holds one.
    pub(crate) fn recall(&self, purpose: Purpose, identity: &Identity) -> Option<[u8; VALUE_LEN]> {
        let name = self.name(purpose, identity);
        let mut options = std::fs::OpenOptions::new();
        options.read(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NOFOLLOW);
        let file = options.open(self.dir.join(&name)).ok()?;
        let record = super::cache::read_at_most(file, RECORD_LEN as u64, RECORD_LEN as u64)?;
        if record.len() != RECORD_LEN {
            return None;
        }
        let value: [u8; VALUE_LEN] = record[..VALUE_LEN].try_into().ok()?;
        let stored: [u8; 32] = record[VALUE_LEN..].try_into().ok()?;
        // blake3::Hash compares in constant time.
        (blake3::Hash::from_bytes(stored) == self.mac(&name, &value)).then_some(value)
    }

    /// Records `value` for the file whose identity was `before` when its read
    /// began (`read_began`, taken before `before`) and is `after` now that it
    /// ended; nothing when the two differ or the file had not settled. A
    /// record that cannot be written only costs a read later.
    pub(crate) fn remember(
        &self,
        purpose: Purpose,
        before: &Identity,
        after: Option<&Identity>,
        read_began: SystemTime,
        value: &[u8; VALUE_LEN],
    ) {
        if after != Some(before) || !before.settled(read_began, self.settle) {
            return;
        }
        if super::cache::create_private_dir(&self.dir).is_err()
            || !std::fs::symlink_metadata(&self.dir).is_ok_and(|m| m.is_dir())
        {
            return;
        }
        if std::fs::read_dir(&self.dir).is_ok_and(|d| d.count() >= KNOWN_HELD) {
            let _ = std::fs::remove_dir_all(&self.dir);
            if super::cache::create_private_dir(&self.dir).is_err() {
                return;
            }
        }
        let name = self.name(purpose, before);
        let Ok(mut temp) = super::cache::private_tempfile(&self.dir) else {
            return;
        };
        let written = temp.write_all(value).is_ok()
            && temp.write_all(self.mac(&name, value).as_bytes()).is_ok();
        if written {
            let _ = temp.persist(self.dir.join(name));
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Longer than a tick of the clock that stamps change times (1–10 ms).
    const TICK: Duration = Duration::from_millis(30);

    fn write(path: &Path, bytes: &[u8]) {
        std::fs::write(path, bytes).unwrap();
    }

    fn identity(path: &Path) -> Identity {
        Identity::of(&std::fs::File::open(path).unwrap())
            .expect("the test directory's file system keeps change times")
    }

    /// Rewrites `path` in place with `bytes` (as long as what it held), then
    /// sets its modification time back: all that tells it apart is the
    /// change time, which no one but the kernel sets.
    pub(in crate::sandbox) fn rewrite_keeping_times(path: &Path, bytes: &[u8]) {
        let modified = std::fs::metadata(path).unwrap().modified().unwrap();
        std::thread::sleep(TICK);
        write(path, bytes);
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_times(std::fs::FileTimes::new().set_modified(modified))
            .unwrap();
    }

    fn records(dir: &Path, key: u8) -> Known {
        Known {
            settle: Duration::ZERO,
            ..Known::new(dir, [key; 32])
        }
    }

    /// A record answers for the identity and purpose it was made for, and
    /// no longer once the file was rewritten, though with the same length
    /// and modification time.
    #[test]
    fn a_record_holds_for_its_identity_and_purpose_only() {
        let home = tempfile::tempdir().unwrap();
        let file = home.path().join("plugin.wasm");
        write(&file, b"first version");
        let known = records(home.path(), 1);
        let before = identity(&file);
        let value = *blake3::hash(b"first version").as_bytes();
        known.remember(
            Purpose::ComponentDigest,
            &before,
            Some(&before),
            SystemTime::now(),
            &value,
        );
        assert_eq!(known.recall(Purpose::ComponentDigest, &before), Some(value));
        assert_eq!(known.recall(Purpose::VerifiedEntry, &before), None);

        rewrite_keeping_times(&file, b"other version");
        let after = identity(&file);
        assert_eq!((after.len, after.mtime), (before.len, before.mtime));
        assert_ne!(after, before);
        assert_eq!(known.recall(Purpose::ComponentDigest, &after), None);
    }

    /// Nothing is recorded of a file younger than the settling time (a write
    /// within the same clock tick could follow unseen), nor of one whose
    /// identity changed while it was read.
    #[test]
    fn unsettled_or_changing_files_are_not_recorded() {
        let home = tempfile::tempdir().unwrap();
        let file = home.path().join("plugin.wasm");
        write(&file, b"fresh");
        let value = [7u8; 32];
        let id = identity(&file);

        let strict = Known::new(home.path(), [1; 32]);
        strict.remember(
            Purpose::ComponentDigest,
            &id,
            Some(&id),
            SystemTime::now(),
            &value,
        );
        assert_eq!(strict.recall(Purpose::ComponentDigest, &id), None);
        // The same file, read as if it began SETTLE later: recorded.
        let later = SystemTime::now() + SETTLE;
        strict.remember(Purpose::ComponentDigest, &id, Some(&id), later, &value);
        assert_eq!(strict.recall(Purpose::ComponentDigest, &id), Some(value));

        let other = home.path().join("other.wasm");
        write(&other, b"other");
        let (first, then) = (identity(&other), {
            rewrite_keeping_times(&other, b"OTHER");
            identity(&other)
        });
        let known = records(home.path(), 1);
        known.remember(Purpose::ComponentDigest, &first, Some(&then), later, &value);
        known.remember(Purpose::ComponentDigest, &first, None, later, &value);
        assert_eq!(known.recall(Purpose::ComponentDigest, &first), None);
        assert_eq!(known.recall(Purpose::ComponentDigest, &then), None);
    }

    /// Hostile cache directory: a record altered, moved under another
    /// identity's name, or made with another key is refused.
    #[test]
    fn altered_moved_or_foreign_records_are_refused() {
        let home = tempfile::tempdir().unwrap();
        let (a, b) = (home.path().join("a.wasm"), home.path().join("b.wasm"));
        write(&a, b"a");
        write(&b, b"b");
        let (id_a, id_b) = (identity(&a), identity(&b));
        let known = records(home.path(), 1);
        let now = SystemTime::now();
        known.remember(Purpose::ComponentDigest, &id_a, Some(&id_a), now, &[1; 32]);
        known.remember(Purpose::ComponentDigest, &id_b, Some(&id_b), now, &[2; 32]);
        let record_a = known.dir.join(known.name(Purpose::ComponentDigest, &id_a));
        let record_b = known.dir.join(known.name(Purpose::ComponentDigest, &id_b));

        assert_eq!(
            records(home.path(), 2).recall(Purpose::ComponentDigest, &id_a),
            None
        );

        std::fs::copy(&record_a, &record_b).unwrap();
        assert_eq!(known.recall(Purpose::ComponentDigest, &id_b), None);

        let mut bytes = std::fs::read(&record_a).unwrap();
        bytes[0] ^= 1;
        write(&record_a, &bytes);
        assert_eq!(known.recall(Purpose::ComponentDigest, &id_a), None);
        bytes[0] ^= 1;
        write(&record_a, &bytes);
        assert_eq!(known.recall(Purpose::ComponentDigest, &id_a), Some([1; 32]));
    }

    /// The directory holds up to KNOWN_HELD records, each its own, and
    /// never more: the next one starts it afresh, and is kept.
    #[test]
    fn the_records_are_bounded() {
        let home = tempfile::tempdir().unwrap();
        let known = records(home.path(), 1);
        let now = SystemTime::now();
        for ino in 0..KNOWN_HELD as u64 + 10 {
            let id = Identity {
                dev: 1,
                ino,
                len: 10,
                mtime: (1, 0),
                ctime: (1, 0),
            };
            known.remember(Purpose::ComponentDigest, &id, Some(&id), now, &[3; 32]);
            let held = std::fs::read_dir(&known.dir).unwrap().count();
            assert!(held <= KNOWN_HELD, "{held} records after {ino}");
            if ino < KNOWN_HELD as u64 {
                assert_eq!(held as u64, ino + 1, "one record per identity");
            }
            assert_eq!(known.recall(Purpose::ComponentDigest, &id), Some([3; 32]));
        }
    }
}
