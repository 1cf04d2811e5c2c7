//! The on-disk cache of compiled components.
//!
//! A compiled component is native code that wasmtime runs as it is, so an
//! entry is only used when it is provably one this host wrote for this very
//! component. The threat: anyone who can write the cache directory (a CI cache
//! restored from another branch or tenant, a shared runner's home) plants an
//! entry under the name of the component ctest is given.
//!
//! - Each entry is authenticated with a keyed MAC (BLAKE3 in keyed mode) over
//!   the entry's name (a hash of the component's bytes and the engine's
//!   configuration) and the artifact. The key is 32 random bytes in a file
//!   outside the cache directory, created `0600`; whoever cannot read it cannot
//!   make an entry ctest accepts, nor move a valid entry under another name.
//! - An entry is verified before wasmtime sees a byte of it. Where the entry
//!   is a file only this user can change (owned by the user, written by no
//!   one else, one link, in the `0700` directory) and code may run from its
//!   file system, it is verified through an open handle and wasmtime maps that
//!   same file (`/proc/self/fd`): nothing is copied, and only the pages a run
//!   touches are read again. Whoever could change that file between the check
//!   and the mapping runs as this user or as root, and so can read the key and
//!   forge entries anyway. Any other entry is read into memory (up to a size
//!   bound), verified, and deserialized from those same bytes.
//! - A mapped entry verified once, and a plugin file hashed once, are known
//!   afterwards by their identity (device, inode, size, modification and
//!   change times) through records under the same key (`known.rs`): while a
//!   file keeps that identity it holds the same bytes, so it is neither read
//!   nor hashed again.
//! - The entry's file is the artifact as wasmtime wrote it, then the MAC and
//!   a magic number (a trailer: wasmtime maps the file from its start).
//! - The directory is created `0700`. A directory (or key file) that is group-
//!   or world-writable, or owned by another user, is not used: ctest warns and
//!   compiles instead.

use std::hash::{Hash, Hasher};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

use super::known::{Identity, Known, Purpose};

const MAGIC: &[u8; 8] = b"ctestC03";
/// The MAC, then [`MAGIC`], after the artifact.
const TRAILER: usize = 32 + MAGIC.len();
const KEY_LEN: usize = 32;

/// Where compiled components are kept, and the key that authenticates them.
pub struct CompileCache {
    /// `None`: no caching (asked for, or the directory or key is unsafe).
    store: Option<Store>,
    /// Why the cache is not used, when it was asked for: for the console.
    warnings: Vec<String>,
    /// Compiling one component must take less than this.
    pub compile_timeout: std::time::Duration,
    /// Told when a component must be compiled (no verified entry) and when
    /// the compile ends: the console says so, a first compile of a Python
    /// component taking tens of seconds.
    pub observer: Option<CompileObserver>,
}

/// What a compile the cache could not spare says as it happens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CompileNotice<'a> {
    /// `name` is being compiled; `cached_afterwards`: the result will be kept.
    Started {
        name: &'a str,
        cached_afterwards: bool,
    },
    /// The compile of `name` ended after `elapsed`, well (`ok`) or not (the
    /// load's error says why).
    Finished {
        name: &'a str,
        elapsed: std::time::Duration,
        ok: bool,
    },
}

/// Receives [`CompileNotice`]s, from whichever thread compiles.
pub type CompileObserver = std::sync::Arc<dyn Fn(CompileNotice<'_>) + Send + Sync>;

struct Store {
    dir: PathBuf,
    key: [u8; KEY_LEN],
    /// Where the key is, for the compiler process (it reads it itself).
    key_file: PathBuf,
    /// What files read before held, by their identity.
    known: Known,
}

/// How a component was obtained, for diagnostics and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Loaded from a verified cache entry.
    Hit,
    /// Compiled and stored (or not stored: caching off or the directory not writable).
    Compiled,
    /// A cache entry existed but failed verification; it was compiled again.
    Recompiled,
    /// The same bytes were already loaded in this host: nothing compiled or
    /// read again.
    Shared,
}

/// The default time limit of one compilation.
pub const DEFAULT_COMPILE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

impl CompileCache {
    /// The cache in `dir` with the default key file, or no caching with `None`.
    pub fn new(dir: Option<PathBuf>) -> Self {
        Self::with_key_file(dir, Self::default_key_file())
    }

    /// The cache in `dir`, its entries authenticated with the key in `key_file`
    /// (created when missing). Either being unsafe or unusable turns caching
    /// off with a warning (see [`CompileCache::warnings`]).
    pub fn with_key_file(dir: Option<PathBuf>, key_file: Option<PathBuf>) -> Self {
        let mut cache = CompileCache {
            store: None,
            warnings: Vec::new(),
            compile_timeout: DEFAULT_COMPILE_TIMEOUT,
            observer: None,
        };
        let Some(dir) = dir else {
            return cache;
        };
        let opened = key_file
            .ok_or_else(|| {
                "no place for the cache key (set CTEST_CACHE_KEY_FILE to a file outside the cache directory)".to_string()
            })
            .and_then(|key_file| open(&dir, &key_file));
        match opened {
            Ok(store) => cache.store = Some(store),
            Err(why) => cache.warnings.push(format!(
                "not using the compile cache `{}`: {why}; compiling instead",
                dir.display()
            )),
        }
        cache
    }

    /// Why the cache asked for is not used (empty when it is, or none was asked for).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The BLAKE3 hash of the open plugin `file`, its length and its first
    /// bytes (`head`, as many as it has). Where this cache holds an authentic
    /// record that the file, with the identity it has now, hashed to a value
    /// (see `known.rs`), that value: nothing of the file is read but `head`.
    /// Otherwise the file is hashed as it is read, a chunk at a time, and
    /// the hash recorded when the file had settled.
    pub(crate) fn digest_file(
        &self,
        file: &std::fs::File,
        head: &mut [u8],
    ) -> std::io::Result<(blake3::Hash, u64)> {
        let read_began = std::time::SystemTime::now();
        let known = self.store.as_ref().map(|s| &s.known);
        let before = known.and_then(|_| Identity::of(file));
        if let (Some(known), Some(identity)) = (known, &before)
            && let Some(digest) = known.recall(Purpose::ComponentDigest, identity)
        {
            read_head(file, head)?;
            return Ok((blake3::Hash::from_bytes(digest), identity.len));
        }
        let mut hasher = blake3::Hasher::new();
        let len = update_from_reader(&mut hasher, file, u64::MAX, head)?;
        let digest = hasher.finalize();
        if let (Some(known), Some(identity)) = (known, &before)
            && identity.len == len
        {
            let after = Identity::of(file);
            known.remember(
                Purpose::ComponentDigest,
                identity,
                after.as_ref(),
                read_began,
                digest.as_bytes(),
            );
        }
        Ok((digest, len))
    }

    /// Records made from now on need files only `settle` old (tests).
    #[cfg(test)]
    pub(crate) fn settle_known_after(&mut self, settle: std::time::Duration) {
        if let Some(store) = self.store.as_mut() {
            store.known.settle = settle;
        }
    }

    /// The default directory: `$CTEST_CACHE_DIR`, else the user's cache directory.
    pub fn default_dir() -> Option<PathBuf> {
        if let Some(dir) = std::env::var_os("CTEST_CACHE_DIR") {
            return Some(PathBuf::from(dir));
        }
        dirs::cache_dir().map(|d| d.join("ctest").join("components"))
    }

    /// The default key file: `$CTEST_CACHE_KEY_FILE`, else `ctest/cache.key` in
    /// the user's configuration directory (which CI caches do not carry).
    pub fn default_key_file() -> Option<PathBuf> {
        if let Some(file) = std::env::var_os("CTEST_CACHE_KEY_FILE") {
            return Some(PathBuf::from(file));
        }
        dirs::config_dir().map(|d| d.join("ctest").join("cache.key"))
    }

    /// The compiled form of `wasm` (called `name` in notices), from the
    /// cache when a verified entry exists.
    pub fn load(
        &self,
        engine: &Engine,
        wasm: &[u8],
        name: &str,
    ) -> wasmtime::Result<(Component, CacheOutcome)> {
        self.load_hashed(engine, wasm, hash_large(wasm), name)
    }

    /// [`CompileCache::load`] of a component whose BLAKE3 hash the caller
    /// has already taken (`digest`): its bytes are not hashed again.
    pub fn load_hashed(
        &self,
        engine: &Engine,
        wasm: &[u8],
        digest: blake3::Hash,
        name: &str,
    ) -> wasmtime::Result<(Component, CacheOutcome)> {
        let wasm_len = wasm.len() as u64;
        let outcome = match self.take_entry(engine, digest, wasm_len) {
            Ok(component) => return Ok((component, CacheOutcome::Hit)),
            Err(outcome) => outcome,
        };
        let entry = self.store.as_ref().map(|s| s.entry(engine, digest));
        // Another process (a parallel test, another job on the runner) may
        // be compiling the same component: wait for it, then take its entry.
        let _lock = match (&self.store, &entry) {
            (Some(store), Some((_, name))) => {
                let lock = store.lock_entry(name, self.compile_timeout);
                if lock.is_some()
                    && let Ok(component) = self.take_entry(engine, digest, wasm_len)
                {
                    return Ok((component, CacheOutcome::Hit));
                }
                lock
            }
            _ => None,
        };
        let notify = |notice| {
            if let Some(observer) = &self.observer {
                observer(notice)
            }
        };
        notify(CompileNotice::Started {
            name,
            cached_afterwards: self.store.is_some(),
        });
        let started = std::time::Instant::now();
        let functions = self
            .store
            .as_ref()
            .map(|s| (s.dir.as_path(), s.key_file.as_path()));
        let artifact = super::compile::compile(engine, wasm, self.compile_timeout, functions);
        notify(CompileNotice::Finished {
            name,
            elapsed: started.elapsed(),
            ok: artifact.is_ok(),
        });
        let artifact = artifact?;
        // SAFETY: `artifact` was just made by `Component::serialize` for this
        // engine configuration (in this process or a child of the same binary).
        let component = unsafe { Component::deserialize(engine, &artifact) }?;
        if let (Some(store), Some((path, name))) = (&self.store, &entry) {
            // A cache that cannot be written only costs time on the next run.
            let _ = store.write_entry(path, name, &artifact);
        }
        Ok((component, outcome))
    }
}

impl CompileCache {
    /// The component whose bytes (`wasm_len` of them) hash to `digest`, from
    /// its verified entry, without those bytes: a warm load needs none.
    /// `None` when there is no such entry (or caching is off).
    pub(crate) fn load_entry(
        &self,
        engine: &Engine,
        digest: blake3::Hash,
        wasm_len: u64,
    ) -> Option<Component> {
        self.take_entry(engine, digest, wasm_len).ok()
    }

    /// The verified entry's component, or what a load must do instead:
    /// compile ([`CacheOutcome::Compiled`]: no entry, or no cache) or compile
    /// again ([`CacheOutcome::Recompiled`]: the entry failed).
    fn take_entry(
        &self,
        engine: &Engine,
        digest: blake3::Hash,
        wasm_len: u64,
    ) -> Result<Component, CacheOutcome> {
        let Some(store) = &self.store else {
            return Err(CacheOutcome::Compiled);
        };
        let (path, name) = store.entry(engine, digest);
        let bound = size_bound(wasm_len);
        match store.read_verified(&path, &name, bound) {
            Entry::Valid(artifact) => store
                .deserialize(engine, artifact, &name, bound)
                .ok_or(CacheOutcome::Recompiled),
            Entry::Corrupt => Err(CacheOutcome::Recompiled),
            Entry::Missing => Err(CacheOutcome::Compiled),
        }
    }
}

/// How much of a file is read at a time to hash it as it is read.
const HASH_CHUNK: usize = 2 << 20;

/// Reads the first bytes of `file` into `head` (fewer when it is shorter).
fn read_head(mut file: &std::fs::File, head: &mut [u8]) -> std::io::Result<()> {
    std::io::Seek::rewind(&mut file)?;
    fill(file, head).map(|_| ())
}

/// All that `reader` holds, when that is at most `bound` bytes (one byte
/// past it is read to tell); `None` when it holds more, or on an error.
/// Room for `expected` bytes (within the bound) is made at once.
pub(super) fn read_at_most(reader: impl Read, bound: u64, expected: u64) -> Option<Vec<u8>> {
    let mut bytes = Vec::with_capacity(expected.min(bound) as usize + 1);
    reader.take(bound + 1).read_to_end(&mut bytes).ok()?;
    (bytes.len() as u64 <= bound).then_some(bytes)
}

/// Fills `buf` from `reader`, short only at its end; how much it read.
fn fill(mut reader: impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Feeds `hasher` what `reader` gives, up to `max` bytes or its end, a chunk
/// at a time (nothing of it kept; large chunks hashed on every core), and
/// says how many bytes that was. `first` receives the first bytes read.
fn update_from_reader(
    hasher: &mut blake3::Hasher,
    reader: impl Read,
    max: u64,
    first: &mut [u8],
) -> std::io::Result<u64> {
    let mut reader = reader.take(max);
    let mut chunk = vec![0u8; HASH_CHUNK];
    let mut total = 0u64;
    loop {
        // A full chunk where the file has one (the hash's threads share it).
        let filled = fill(&mut reader, &mut chunk)?;
        if total == 0 {
            let n = first.len().min(filled);
            first[..n].copy_from_slice(&chunk[..n]);
        }
        update_large(hasher, &chunk[..filled]);
        total += filled as u64;
        if filled < chunk.len() {
            return Ok(total);
        }
    }
}

/// Feeds `data` to `hasher`, on every core when it is large (a Python
/// component is about 19 MiB, its artifact about 36 MiB): the same hash.
pub(crate) fn update_large(hasher: &mut blake3::Hasher, data: &[u8]) {
    if data.len() >= 1 << 20 {
        hasher.update_rayon(data);
    } else {
        hasher.update(data);
    }
}

/// BLAKE3 of `data`, on every core when it is large.
pub(crate) fn hash_large(data: &[u8]) -> blake3::Hash {
    let mut hasher = blake3::Hasher::new();
    update_large(&mut hasher, data);
    hasher.finalize()
}

/// The largest entry read for a component of `wasm_len` bytes (and the
/// largest artifact taken from a compiler process): artifacts are a few times
/// their component; anything far larger is not ctest's.
pub(super) fn size_bound(wasm_len: u64) -> u64 {
    wasm_len.saturating_mul(16).saturating_add(64 << 20)
}

/// Checks the directory and the key file, creating them as needed.
fn open(dir: &Path, key_file: &Path) -> Result<Store, String> {
    create_private_dir(dir)?;
    check_private(dir, "the cache directory")?;
    let dir_real = dir.canonicalize().map_err(|e| e.to_string())?;
    if let Some(parent) = key_file.parent() {
        let parent_real = parent
            .canonicalize()
            .or_else(|_| {
                create_private_dir(parent)?;
                parent.canonicalize().map_err(|e| e.to_string())
            })
            .map_err(|e| format!("the key file's directory `{}`: {e}", parent.display()))?;
        if parent_real.starts_with(&dir_real) {
            return Err(format!(
                "the key file `{}` is inside the cache directory, where whoever writes the cache could read or replace it (set CTEST_CACHE_KEY_FILE to a file elsewhere)",
                key_file.display()
            ));
        }
    }
    let key = read_or_create_key(key_file)?;
    Ok(Store {
        dir: dir.to_path_buf(),
        key,
        key_file: key_file.to_path_buf(),
        known: Known::new(dir, key),
    })
}

pub(super) fn create_private_dir(dir: &Path) -> Result<(), String> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| format!("cannot create `{}`: {e}", dir.display()))
}

/// Refuses a file or directory that another user owns or that others may write.
fn check_private(path: &Path, what: &str) -> Result<(), String> {
    let meta =
        std::fs::symlink_metadata(path).map_err(|e| format!("{what} `{}`: {e}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        if meta.uid() != me {
            return Err(format!(
                "{what} `{}` is owned by user {} (ctest runs as {me})",
                path.display(),
                meta.uid()
            ));
        }
        if meta.mode() & 0o022 != 0 {
            return Err(format!(
                "{what} `{}` can be written by other users (mode {:o}; `chmod go-w` it)",
                path.display(),
                meta.mode() & 0o7777
            ));
        }
    }
    let _ = meta;
    Ok(())
}

fn read_or_create_key(path: &Path) -> Result<[u8; KEY_LEN], String> {
    match std::fs::symlink_metadata(path) {
        Ok(_) => {
            check_private(path, "the cache key file")?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::MetadataExt;
                let mode = std::fs::metadata(path).map_err(|e| e.to_string())?.mode();
                if mode & 0o077 != 0 {
                    return Err(format!(
                        "the cache key file `{}` can be read by other users (mode {:o}; `chmod 600` it)",
                        path.display(),
                        mode & 0o7777
                    ));
                }
            }
            let mut key = [0u8; KEY_LEN];
            let mut file = std::fs::File::open(path).map_err(|e| e.to_string())?;
            file.read_exact(&mut key).map_err(|e| {
                format!(
                    "the cache key file `{}` is not {KEY_LEN} bytes: {e}",
                    path.display()
                )
            })?;
            Ok(key)
        }
        Err(_) => {
            let mut key = [0u8; KEY_LEN];
            getrandom::fill(&mut key).map_err(|e| format!("no random key: {e}"))?;
            let dir = path.parent().unwrap_or(Path::new("."));
            let mut file = private_tempfile(dir)
                .map_err(|e| format!("cannot write the key file `{}`: {e}", path.display()))?;
            file.write_all(&key).map_err(|e| e.to_string())?;
            // Another ctest may have made one meanwhile: keep the first.
            match file.persist_noclobber(path) {
                Ok(_) => Ok(key),
                Err(_) => read_or_create_key(path),
            }
        }
    }
}

/// A temporary file in `dir` that only its owner may read (0600 on Unix),
/// to be persisted under its final name.
pub(super) fn private_tempfile(dir: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600));
    builder.tempfile_in(dir)
}

/// Whether an open entry may be mapped where it is rather than read into
/// memory: a regular file this user owns, that no one else may write, with
/// no other name (a link elsewhere could be written through), on a file
/// system that lets code run from it (else wasmtime cannot map its code).
#[cfg(target_os = "linux")]
fn mappable(file: &std::fs::File, meta: &std::fs::Metadata) -> bool {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me || meta.mode() & 0o022 != 0 || meta.nlink() != 1 {
        return false;
    }
    // SAFETY: `fs` is a plain struct fstatvfs fills; the descriptor is open.
    let mut fs: libc::statvfs = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::fstatvfs(file.as_raw_fd(), &mut fs) } == 0;
    ok && fs.f_flag & libc::ST_NOEXEC == 0
}

enum Entry {
    Missing,
    Corrupt,
    Valid(Artifact),
}

/// A verified entry.
enum Artifact {
    /// Its bytes in memory, the trailer left in place (not moved out: the
    /// artifact is tens of MiB) and skipped.
    Bytes(Vec<u8>),
    /// Its file, open, verified through this handle, and one only this user
    /// (or root) can change, on a file system that lets code run from it.
    #[cfg(target_os = "linux")]
    File(std::fs::File),
}

impl Store {
    /// The entry's path and name: a hash of the component, the engine's
    /// configuration and ctest's version.
    fn entry(&self, engine: &Engine, digest: blake3::Hash) -> (PathBuf, String) {
        let mut hasher = blake3::Hasher::new();
        hasher.update(digest.as_bytes());
        // The engine's settings, wasmtime's version and the host's CPU features.
        let mut engine_hash = std::collections::hash_map::DefaultHasher::new();
        engine
            .precompile_compatibility_hash()
            .hash(&mut engine_hash);
        hasher.update(&engine_hash.finish().to_le_bytes());
        hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
        let name = hasher.finalize().to_hex().to_string();
        (self.dir.join(format!("{name}.cwasm")), name)
    }

    fn mac(&self, name: &str, artifact: &[u8]) -> blake3::Hash {
        let mut mac = self.mac_hasher(name);
        update_large(&mut mac, artifact);
        mac.finalize()
    }

    /// The MAC of an entry called `name`, its artifact still to be fed.
    fn mac_hasher(&self, name: &str) -> blake3::Hasher {
        let mut mac = blake3::Hasher::new_keyed(&self.key);
        mac.update(&(name.len() as u64).to_le_bytes());
        mac.update(name.as_bytes());
        mac
    }

    fn read_verified(&self, path: &Path, name: &str, bound: u64) -> Entry {
        let read_began = std::time::SystemTime::now();
        // Only a regular file: not a link to elsewhere, not a device.
        match std::fs::symlink_metadata(path) {
            Ok(m) if m.is_file() && m.len() <= bound => {}
            Ok(_) => return Entry::Corrupt,
            Err(_) => return Entry::Missing,
        }
        let mut options = std::fs::OpenOptions::new();
        options.read(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NOFOLLOW);
        let Ok(file) = options.open(path) else {
            return Entry::Missing;
        };
        let Ok(meta) = file.metadata() else {
            return Entry::Corrupt;
        };
        if !meta.is_file() || meta.len() > bound || meta.len() < TRAILER as u64 {
            return Entry::Corrupt;
        }
        #[cfg(target_os = "linux")]
        if mappable(&file, &meta) {
            // Verified before with the identity it has now: unchanged since.
            let named = blake3::hash(name.as_bytes());
            let before = Identity::of(&file);
            if let Some(identity) = &before
                && self.known.recall(Purpose::VerifiedEntry, identity) == Some(*named.as_bytes())
            {
                return Entry::Valid(Artifact::File(file));
            }
            return match self.verify_in_place(&file, meta.len(), name) {
                Some(true) => {
                    if let Some(identity) = &before {
                        let after = Identity::of(&file);
                        self.known.remember(
                            Purpose::VerifiedEntry,
                            identity,
                            after.as_ref(),
                            read_began,
                            named.as_bytes(),
                        );
                    }
                    Entry::Valid(Artifact::File(file))
                }
                _ => Entry::Corrupt,
            };
        }
        self.read_into_memory(file, meta.len(), name, bound)
    }

    /// Reads the entry into memory (sized from its length at once: no
    /// regrowing copies of tens of MiB) and verifies those bytes.
    fn read_into_memory(&self, file: std::fs::File, len: u64, name: &str, bound: u64) -> Entry {
        let Some(bytes) = read_at_most(file, bound, len) else {
            return Entry::Corrupt;
        };
        if bytes.len() < TRAILER || !bytes.ends_with(MAGIC) {
            return Entry::Corrupt;
        }
        let (artifact, trailer) = bytes.split_at(bytes.len() - TRAILER);
        if !self.mac_matches(self.mac(name, artifact), trailer) {
            return Entry::Corrupt;
        }
        Entry::Valid(Artifact::Bytes(bytes))
    }

    /// Whether the `len` bytes of `file` end in the trailer of a MAC that
    /// matches them: read a chunk at a time, nothing kept. `None`: the file
    /// could not be read (or changed length meanwhile).
    #[cfg(target_os = "linux")]
    fn verify_in_place(&self, file: &std::fs::File, len: u64, name: &str) -> Option<bool> {
        let mut mac = self.mac_hasher(name);
        let artifact = len - TRAILER as u64;
        if update_from_reader(&mut mac, file, artifact, &mut []).ok()? != artifact {
            return None;
        }
        // A file that grew is not this entry.
        let trailer = read_at_most(file, TRAILER as u64, TRAILER as u64)?;
        if trailer.len() != TRAILER {
            return None;
        }
        Some(trailer.ends_with(MAGIC) && self.mac_matches(mac.finalize(), &trailer))
    }

    /// The stored MAC (the trailer's first 32 bytes) against `computed`.
    fn mac_matches(&self, computed: blake3::Hash, trailer: &[u8]) -> bool {
        let stored: [u8; 32] = trailer[..32]
            .try_into()
            .expect("the trailer holds 32 bytes");
        // blake3::Hash compares in constant time.
        computed == blake3::Hash::from_bytes(stored)
    }

    /// The component a verified entry holds; `None` when wasmtime refuses it.
    fn deserialize(
        &self,
        engine: &Engine,
        artifact: Artifact,
        name: &str,
        bound: u64,
    ) -> Option<Component> {
        match artifact {
            Artifact::Bytes(bytes) => {
                // SAFETY: the artifact is byte-for-byte what `Component::serialize`
                // produced on a host holding the key, for this component and this
                // engine configuration: the MAC covers the entry's name (the
                // component's hash and the engine's settings) and the bytes, and it
                // was checked on these very bytes.
                unsafe { Component::deserialize(engine, &bytes[..bytes.len() - TRAILER]) }.ok()
            }
            #[cfg(target_os = "linux")]
            Artifact::File(mut file) => {
                use std::os::fd::AsRawFd;
                // The very file verified (not its path, which may name another
                // file by now); wasmtime maps it from its start and ignores
                // the trailer past the artifact's end.
                let handle = format!("/proc/self/fd/{}", file.as_raw_fd());
                // SAFETY: the file holds what `Component::serialize` produced on
                // a host holding the key, for this component and engine
                // configuration (the MAC, checked through this handle, covers
                // the entry's name and the artifact), and only this user or root
                // can change it, who could forge an entry anyway (`mappable`).
                match unsafe { Component::deserialize_file(engine, &handle) } {
                    Ok(component) => Some(component),
                    // No /proc, or mapping refused: from memory instead,
                    // verified again on the bytes read.
                    Err(_) => {
                        std::io::Seek::rewind(&mut file).ok()?;
                        let len = file.metadata().ok()?.len();
                        match self.read_into_memory(file, len, name, bound) {
                            Entry::Valid(artifact @ Artifact::Bytes(_)) => {
                                self.deserialize(engine, artifact, name, bound)
                            }
                            _ => None,
                        }
                    }
                }
            }
        }
    }

    /// Holds the entry's lock file (`locks/NAME.lock`) while this process compiles
    /// it, so that processes compiling the same component at once compile it
    /// once: the others wait, then read the entry. Waits at most `patience`
    /// (a lock held forever by anyone else costs a compile, not a hang);
    /// `None` when the lock cannot be had.
    fn lock_entry(&self, name: &str, patience: std::time::Duration) -> Option<std::fs::File> {
        let locks = self.dir.join("locks");
        create_private_dir(&locks).ok()?;
        if !std::fs::symlink_metadata(&locks).is_ok_and(|m| m.is_dir()) {
            return None;
        }
        let path = locks.join(format!("{name}.lock"));
        let mut options = std::fs::OpenOptions::new();
        options.create(true).truncate(false).write(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            // Never through a link planted in the directory.
            options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
        }
        let file = options.open(&path).ok()?;
        let deadline = std::time::Instant::now() + patience;
        loop {
            match file.try_lock() {
                Ok(()) => return Some(file),
                Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Err(_) => return None,
            }
        }
    }

    fn write_entry(&self, path: &Path, name: &str, artifact: &[u8]) -> std::io::Result<()> {
        // Write to a temporary file and rename, so a reader never sees half an entry.
        let mut file = private_tempfile(&self.dir)?;
        file.write_all(artifact)?;
        file.write_all(self.mac(name, artifact).as_bytes())?;
        file.write_all(MAGIC)?;
        file.persist(path).map_err(|e| e.error)?;
        Ok(())
    }
}

/// wasmtime's incremental compilation cache (cranelift's per-function
/// cache): each compiled function, by the key cranelift computes from the
/// function's body and the compiler's settings. Two versions of a Python or
/// TypeScript plugin share nearly all their functions (the interpreter), so
/// a new version compiles only what changed.
///
/// Entries are machine code, trusted as the artifacts are: each file holds a
/// keyed MAC (the cache's key) over the entry's key and its bytes, checked
/// before the bytes are handed to cranelift; an entry that fails is a miss.
/// The files live in `functions/` of the cache directory, named by a hash of
/// their key. One compile writes at most [`FUNCTIONS_WRITTEN`] bytes.
pub(crate) struct FunctionCache {
    dir: PathBuf,
    key: [u8; KEY_LEN],
    written: std::sync::atomic::AtomicU64,
    /// The most bytes this compile writes ([`FUNCTIONS_WRITTEN`]).
    budget: u64,
}

/// The largest function entry read (cranelift's largest functions compile
/// to a few MiB at most).
const FUNCTION_ENTRY_MAX: u64 = 32 << 20;

/// The most bytes of function entries one compile writes.
const FUNCTIONS_WRITTEN: u64 = 1 << 30;

/// The most bytes the function cache holds: past it, a compile starts it
/// afresh. (Some functions get a new key at each compile, so it would
/// otherwise grow a little with every compile of the same component.)
const FUNCTIONS_HELD: u64 = 4 << 30;

impl std::fmt::Debug for FunctionCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("FunctionCache")
            .field("dir", &self.dir)
            .finish()
    }
}

impl FunctionCache {
    /// The function cache of the compile cache in `dir` (key in `key_file`),
    /// checked as the compile cache is; `Err` says why it is not used.
    pub(crate) fn open(dir: &Path, key_file: &Path) -> Result<Self, String> {
        let store = open(dir, key_file)?;
        let dir = store.dir.join("functions");
        create_private_dir(&dir)?;
        check_private(&dir, "the function cache directory")?;
        if held_bytes(&dir) > FUNCTIONS_HELD {
            let _ = std::fs::remove_dir_all(&dir);
            create_private_dir(&dir)?;
        }
        Ok(FunctionCache {
            dir,
            key: store.key,
            written: std::sync::atomic::AtomicU64::new(0),
            budget: FUNCTIONS_WRITTEN,
        })
    }

    fn path(&self, key: &[u8]) -> PathBuf {
        let name = blake3::hash(key).to_hex();
        self.dir.join(&name[..2]).join(&name[2..])
    }

    fn mac(&self, key: &[u8], value: &[u8]) -> blake3::Hash {
        let mut mac = blake3::Hasher::new_keyed(&self.key);
        mac.update(b"ctest function cache 1\0");
        mac.update(&(key.len() as u64).to_le_bytes());
        mac.update(key);
        mac.update(value);
        mac.finalize()
    }
}

/// The bytes of the files in `dir`'s shard directories (links not followed).
fn held_bytes(dir: &Path) -> u64 {
    let files = |d: &Path| -> u64 {
        std::fs::read_dir(d)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.metadata().ok())
            .filter(|m| m.is_file())
            .map(|m| m.len())
            .sum()
    };
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| files(&e.path()))
        .sum()
}

impl wasmtime::CacheStore for FunctionCache {
    fn get(&self, key: &[u8]) -> Option<std::borrow::Cow<'_, [u8]>> {
        let file = std::fs::File::open(self.path(key)).ok()?;
        let mut bytes = read_at_most(file, FUNCTION_ENTRY_MAX, 0)?;
        if bytes.len() < 32 {
            return None;
        }
        let value = bytes.split_off(32);
        let stored = blake3::Hash::from_bytes(bytes.try_into().ok()?);
        // blake3::Hash compares in constant time.
        (stored == self.mac(key, &value)).then_some(std::borrow::Cow::Owned(value))
    }

    fn insert(&self, key: &[u8], value: Vec<u8>) -> bool {
        use std::sync::atomic::Ordering::Relaxed;
        let size = value.len() as u64 + 32;
        if size > FUNCTION_ENTRY_MAX || self.written.fetch_add(size, Relaxed) + size > self.budget {
            return false;
        }
        let path = self.path(key);
        let Some(shard) = path.parent() else {
            return false;
        };
        if create_private_dir(shard).is_err() {
            return false;
        }
        let mut temp = match private_tempfile(shard) {
            Ok(t) => t,
            Err(_) => return false,
        };
        let mac = self.mac(key, &value);
        temp.write_all(mac.as_bytes()).is_ok()
            && temp.write_all(&value).is_ok()
            && temp.persist(&path).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> Engine {
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true);
        Engine::new(&config).unwrap()
    }

    /// Hostile cache directory: a function entry is used only as written
    /// with this cache's key, under its own key; a changed byte, an entry
    /// moved under another key, one written with another key file, or one
    /// past the size bound is a miss; writing stops at the budget.
    #[test]
    fn function_entries_are_used_only_as_written() {
        use wasmtime::CacheStore;
        let dir = tempfile::tempdir().unwrap();
        let keys = tempfile::tempdir().unwrap();
        let cache_dir = dir.path().join("cache");
        let open = |key: &str| FunctionCache::open(&cache_dir, &keys.path().join(key)).unwrap();
        let cache = open("key");
        assert!(cache.insert(b"f1", b"code of f1".to_vec()));
        assert!(cache.insert(b"f2", b"code of f2".to_vec()));
        assert_eq!(cache.get(b"f1").as_deref(), Some(&b"code of f1"[..]));
        assert_eq!(cache.get(b"f3"), None);
        // Another key file: nothing it reads was written with its key.
        assert_eq!(open("other key").get(b"f1"), None);
        // Moved under another key.
        std::fs::copy(cache.path(b"f1"), cache.path(b"f2")).unwrap();
        assert_eq!(cache.get(b"f2"), None);
        // A changed byte.
        let mut bytes = std::fs::read(cache.path(b"f1")).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(cache.path(b"f1"), &bytes).unwrap();
        assert_eq!(cache.get(b"f1"), None);
        // Too short to hold a MAC, and past the bound.
        std::fs::write(cache.path(b"f1"), b"short").unwrap();
        assert_eq!(cache.get(b"f1"), None);
        let big = std::fs::File::create(cache.path(b"f1")).unwrap();
        big.set_len(FUNCTION_ENTRY_MAX + 1).unwrap();
        assert_eq!(cache.get(b"f1"), None);
        // The budget of one compile.
        let mut small = open("key");
        small.budget = 100;
        assert!(small.insert(b"a", vec![0; 40]));
        assert!(!small.insert(b"b", vec![0; 40]), "past 100 bytes");
        assert_eq!(small.get(b"b"), None);
        assert!(!format!("{small:?}").contains(&format!("{:?}", small.key)));
        assert!(held_bytes(&cache_dir.join("functions")) > 0);
    }

    // The smallest component: no imports, no exports.
    const EMPTY_COMPONENT: &[u8] = &[0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];

    /// A component other than [`EMPTY_COMPONENT`]: one with a core module.
    fn other_component() -> Vec<u8> {
        wat_component()
    }

    fn wat_component() -> Vec<u8> {
        // (component (core module (func (export "f") (result i32) i32.const 7)))
        let mut module = vec![0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
        module.extend_from_slice(&[0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f]); // type
        module.extend_from_slice(&[0x03, 0x02, 0x01, 0x00]); // func
        module.extend_from_slice(&[0x07, 0x05, 0x01, 0x01, b'f', 0x00, 0x00]); // export
        module.extend_from_slice(&[0x0a, 0x06, 0x01, 0x04, 0x00, 0x41, 0x07, 0x0b]); // code
        let mut component = EMPTY_COMPONENT.to_vec();
        component.push(0x01); // core module section
        component.push(module.len() as u8);
        component.extend_from_slice(&module);
        component
    }

    struct Setup {
        _home: tempfile::TempDir,
        dir: PathBuf,
        key: PathBuf,
    }

    fn setup() -> Setup {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join("cache");
        let key = home.path().join("config").join("cache.key");
        Setup {
            dir,
            key,
            _home: home,
        }
    }

    impl Setup {
        fn cache(&self) -> CompileCache {
            let cache = CompileCache::with_key_file(Some(self.dir.clone()), Some(self.key.clone()));
            assert!(cache.warnings().is_empty(), "{:?}", cache.warnings());
            cache
        }
        fn only_entry(&self) -> PathBuf {
            let entries: Vec<_> = std::fs::read_dir(&self.dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
                .collect();
            assert_eq!(entries.len(), 1, "{entries:?}");
            entries[0].clone()
        }
    }

    #[test]
    fn second_load_hits_and_corruption_recompiles() {
        let s = setup();
        let cache = s.cache();
        let engine = engine();

        let (_, first) = cache.load(&engine, EMPTY_COMPONENT, "empty").unwrap();
        assert_eq!(first, CacheOutcome::Compiled);
        let (_, second) = cache.load(&engine, EMPTY_COMPONENT, "empty").unwrap();
        assert_eq!(second, CacheOutcome::Hit);

        // Flip one byte of the artifact: the entry must not be trusted.
        let entry = s.only_entry();
        let mut bytes = std::fs::read(&entry).unwrap();
        let middle = (bytes.len() - TRAILER) / 2;
        bytes[middle] ^= 0xff;
        std::fs::write(&entry, &bytes).unwrap();
        let (_, third) = cache.load(&engine, EMPTY_COMPONENT, "empty").unwrap();
        assert_eq!(third, CacheOutcome::Recompiled);
        let (_, fourth) = cache.load(&engine, EMPTY_COMPONENT, "empty").unwrap();
        assert_eq!(fourth, CacheOutcome::Hit);

        // A truncated entry likewise.
        std::fs::write(&entry, MAGIC).unwrap();
        let (_, fifth) = cache.load(&engine, EMPTY_COMPONENT, "empty").unwrap();
        assert_eq!(fifth, CacheOutcome::Recompiled);
    }

    /// A mapped entry verified once is known by its identity: loaded again
    /// without its MAC checked, until it changes in any way (here its MAC,
    /// which wasmtime never reads, with its length and modification time
    /// kept): then it is verified again, and refused.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_verified_entry_is_known_until_it_changes() {
        use crate::sandbox::known::tests::rewrite_keeping_times;
        let s = setup();
        let mut cache = s.cache();
        cache.settle_known_after(std::time::Duration::ZERO);
        let engine = engine();
        let component = other_component();
        let load = |cache: &CompileCache| cache.load(&engine, &component, "other").unwrap().1;
        assert_eq!(load(&cache), CacheOutcome::Compiled);
        assert_eq!(load(&cache), CacheOutcome::Hit);
        let records = || std::fs::read_dir(s.dir.join("known")).map_or(0, |d| d.count());
        assert_eq!(records(), 1, "the verified entry is recorded");
        assert_eq!(load(&cache), CacheOutcome::Hit);

        let entry = s.only_entry();
        let mut bytes = std::fs::read(&entry).unwrap();
        let mac = bytes.len() - TRAILER;
        bytes[mac] ^= 0xff;
        rewrite_keeping_times(&entry, &bytes);
        assert_eq!(load(&cache), CacheOutcome::Recompiled);
        assert_eq!(load(&cache), CacheOutcome::Hit);
    }

    /// A plugin file hashed once is known by its identity: its digest comes
    /// from the record, its first bytes from the file; rewritten in place
    /// (same length, modification time set back) it is hashed again.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_plugin_file_rewritten_in_place_is_hashed_again() {
        use crate::sandbox::known::tests::rewrite_keeping_times;
        let s = setup();
        let mut cache = s.cache();
        cache.settle_known_after(std::time::Duration::ZERO);
        let plugin = s.dir.parent().unwrap().join("plugin.wasm");
        std::fs::write(&plugin, b"\0asm version one").unwrap();
        let digest = |cache: &CompileCache| {
            let mut head = [0u8; 8];
            let file = std::fs::File::open(&plugin).unwrap();
            let (digest, len) = cache.digest_file(&file, &mut head).unwrap();
            (digest, len, head)
        };
        let one = (blake3::hash(b"\0asm version one"), 16, *b"\0asm ver");
        assert_eq!(digest(&cache), one);
        assert_eq!(std::fs::read_dir(s.dir.join("known")).unwrap().count(), 1);
        assert_eq!(digest(&cache), one);

        rewrite_keeping_times(&plugin, b"\0asm version two");
        let two = (blake3::hash(b"\0asm version two"), 16, *b"\0asm ver");
        assert_eq!(digest(&cache), two);
        assert_eq!(digest(&cache), two);
        // Without a cache, the same digests, from the bytes.
        assert_eq!(digest(&CompileCache::new(None)), two);
    }

    #[test]
    fn planted_entry_with_a_correct_plain_digest_is_rejected() {
        let s = setup();
        let cache = s.cache();
        let engine = engine();
        let (_, first) = cache.load(&engine, EMPTY_COMPONENT, "empty").unwrap();
        assert_eq!(first, CacheOutcome::Compiled);
        let entry = s.only_entry();
        // The attacker compiles another component and plants it under the
        // entry's name with an unkeyed digest (the old format's check).
        let planted = Component::new(&engine, other_component())
            .unwrap()
            .serialize()
            .unwrap();
        let mut bytes = planted.to_vec();
        bytes.extend_from_slice(blake3::hash(&planted).as_bytes());
        bytes.extend_from_slice(MAGIC);
        std::fs::write(&entry, &bytes).unwrap();
        let (_, outcome) = cache.load(&engine, EMPTY_COMPONENT, "empty").unwrap();
        assert_eq!(outcome, CacheOutcome::Recompiled);
    }

    #[test]
    fn a_valid_entry_moved_under_another_components_name_is_rejected() {
        let s = setup();
        let cache = s.cache();
        let engine = engine();
        let other = other_component();
        cache.load(&engine, &other, "other").unwrap();
        let other_entry = s.only_entry();
        let genuine = std::fs::read(&other_entry).unwrap();
        std::fs::remove_file(&other_entry).unwrap();
        cache.load(&engine, EMPTY_COMPONENT, "empty").unwrap();
        let target = s.only_entry();
        std::fs::write(&target, genuine).unwrap();
        let (_, outcome) = cache.load(&engine, EMPTY_COMPONENT, "empty").unwrap();
        assert_eq!(outcome, CacheOutcome::Recompiled);
    }

    #[test]
    fn entries_of_another_key_are_rejected() {
        let s = setup();
        let engine = engine();
        s.cache().load(&engine, EMPTY_COMPONENT, "empty").unwrap();
        // Another runner's key (a cache restored from elsewhere).
        std::fs::remove_file(&s.key).unwrap();
        let (_, outcome) = s.cache().load(&engine, EMPTY_COMPONENT, "empty").unwrap();
        assert_eq!(outcome, CacheOutcome::Recompiled);
    }

    #[cfg(unix)]
    #[test]
    fn directory_and_key_are_private_and_unsafe_ones_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let s = setup();
        s.cache();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&s.dir), 0o700);
        assert_eq!(mode(&s.key), 0o600);

        std::fs::set_permissions(&s.dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let cache = CompileCache::with_key_file(Some(s.dir.clone()), Some(s.key.clone()));
        let warning = cache.warnings().join("\n");
        assert!(
            warning.contains("can be written by other users"),
            "{warning}"
        );
        assert!(warning.contains("compiling instead"), "{warning}");
        let (_, outcome) = cache.load(&engine(), EMPTY_COMPONENT, "empty").unwrap();
        assert_eq!(outcome, CacheOutcome::Compiled);
        std::fs::set_permissions(&s.dir, std::fs::Permissions::from_mode(0o700)).unwrap();

        std::fs::set_permissions(&s.key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let cache = CompileCache::with_key_file(Some(s.dir.clone()), Some(s.key.clone()));
        assert!(
            cache
                .warnings()
                .join("\n")
                .contains("can be read by other users"),
            "{:?}",
            cache.warnings()
        );
        std::fs::set_permissions(&s.key, std::fs::Permissions::from_mode(0o600)).unwrap();

        // A key file inside the cache directory is refused.
        let cache = CompileCache::with_key_file(Some(s.dir.clone()), Some(s.dir.join("cache.key")));
        assert!(
            cache
                .warnings()
                .join("\n")
                .contains("inside the cache directory"),
            "{:?}",
            cache.warnings()
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_directory_owned_by_another_user_is_refused() {
        // SAFETY: no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            // Only root can give a directory away; CI runs as root.
            eprintln!("not root: cannot chown; skipped");
            return;
        }
        let s = setup();
        std::fs::create_dir_all(&s.dir).unwrap();
        std::os::unix::fs::chown(&s.dir, Some(65534), Some(65534)).unwrap();
        let cache = CompileCache::with_key_file(Some(s.dir.clone()), Some(s.key.clone()));
        let warning = cache.warnings().join("\n");
        assert!(warning.contains("is owned by user 65534"), "{warning}");
    }

    /// A reader that hands out at most 1000 bytes a call (as a pipe or a
    /// slow file system may).
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(1000).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    /// Hashing as it reads is hashing the bytes: over several chunks, from
    /// short reads, up to a limit, and the first bytes are handed back.
    #[test]
    fn hashing_as_it_reads_hashes_what_it_read() {
        let data: Vec<u8> = (0..HASH_CHUNK * 2 + 12_345)
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        for len in [
            0,
            5,
            1024,
            HASH_CHUNK - 1,
            HASH_CHUNK,
            HASH_CHUNK + 1,
            data.len(),
        ] {
            for max in [u64::MAX, len as u64, (len / 2) as u64] {
                let mut hasher = blake3::Hasher::new();
                let mut first = [0u8; 8];
                let n = update_from_reader(&mut hasher, Trickle(&data[..len]), max, &mut first)
                    .unwrap();
                let read = (len as u64).min(max) as usize;
                assert_eq!(n, read as u64, "len {len} max {max}");
                assert_eq!(
                    hasher.finalize(),
                    blake3::hash(&data[..read]),
                    "len {len} max {max}"
                );
                let head = read.min(8);
                assert_eq!(first[..head], data[..head]);
            }
        }
    }

    /// Whether this process maps the file at `path` (a component's code).
    #[cfg(target_os = "linux")]
    fn mapped(path: &Path) -> bool {
        let path = path.canonicalize().unwrap();
        let path = path.to_str().unwrap();
        std::fs::read_to_string("/proc/self/maps")
            .unwrap()
            .lines()
            .any(|line| line.ends_with(path))
    }

    /// An entry only this user can change is mapped where it is (nothing
    /// copied); one with a second name (a link that could be written
    /// through) or that others may write is read into memory instead, and
    /// both are verified first (the tests above tamper with mapped ones).
    #[cfg(target_os = "linux")]
    #[test]
    fn a_private_entry_is_mapped_where_it_is_and_any_other_read_into_memory() {
        use std::os::unix::fs::PermissionsExt;
        let s = setup();
        let cache = s.cache();
        let engine = engine();
        let wasm = wat_component();
        let (_, first) = cache.load(&engine, &wasm, "c").unwrap();
        assert_eq!(first, CacheOutcome::Compiled);
        let entry = s.only_entry();
        assert!(!mapped(&entry), "a compile's component is in memory");

        let (component, outcome) = cache.load(&engine, &wasm, "c").unwrap();
        assert_eq!(outcome, CacheOutcome::Hit);
        assert!(mapped(&entry), "a private entry is mapped");
        drop(component);
        assert!(!mapped(&entry));

        let link = s.dir.join("another-name");
        std::fs::hard_link(&entry, &link).unwrap();
        let (component, outcome) = cache.load(&engine, &wasm, "c").unwrap();
        assert_eq!(outcome, CacheOutcome::Hit);
        assert!(!mapped(&entry), "an entry with two names is read");
        drop(component);
        std::fs::remove_file(&link).unwrap();

        std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(0o620)).unwrap();
        let (component, outcome) = cache.load(&engine, &wasm, "c").unwrap();
        assert_eq!(outcome, CacheOutcome::Hit);
        assert!(!mapped(&entry), "an entry others may write is read");
        drop(component);
        // Tampered with while others may write it: refused all the same.
        std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut bytes = std::fs::read(&entry).unwrap();
        let middle = (bytes.len() - TRAILER) / 2;
        bytes[middle] ^= 1;
        std::fs::write(&entry, &bytes).unwrap();
        std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(0o620)).unwrap();
        let (_, outcome) = cache.load(&engine, &wasm, "c").unwrap();
        assert_eq!(outcome, CacheOutcome::Recompiled);
    }

    /// A tmpfs mounted `noexec` here, unmounted when dropped.
    #[cfg(target_os = "linux")]
    struct NoExec(tempfile::TempDir);

    #[cfg(target_os = "linux")]
    impl NoExec {
        /// `None` where this process may not mount (not root, or no
        /// permission in this container).
        fn mount() -> Option<NoExec> {
            let dir = tempfile::tempdir().unwrap();
            let target = std::ffi::CString::new(dir.path().to_str().unwrap()).unwrap();
            // SAFETY: every pointer is a NUL-terminated string that outlives the call.
            let done = unsafe {
                libc::mount(
                    c"tmpfs".as_ptr(),
                    target.as_ptr(),
                    c"tmpfs".as_ptr(),
                    libc::MS_NOEXEC,
                    c"size=64m".as_ptr().cast(),
                )
            };
            (done == 0).then_some(NoExec(dir))
        }
    }

    #[cfg(target_os = "linux")]
    impl Drop for NoExec {
        fn drop(&mut self) {
            let target = std::ffi::CString::new(self.0.path().to_str().unwrap()).unwrap();
            // SAFETY: a NUL-terminated path that outlives the call.
            unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
        }
    }

    /// On a file system where code may not run from files (a `noexec`
    /// mount) wasmtime cannot map an entry's code: it is read into memory,
    /// and a verified file handed over anyway falls back to being read and
    /// verified again (a file changed meanwhile is refused).
    #[cfg(target_os = "linux")]
    #[test]
    fn where_code_may_not_run_from_files_an_entry_is_read_into_memory() {
        let Some(noexec) = NoExec::mount() else {
            // Mounting needs root; CI runs as root.
            eprintln!("cannot mount a tmpfs here: skipped");
            return;
        };
        let s = setup();
        let dir = noexec.0.path().join("cache");
        let cache = CompileCache::with_key_file(Some(dir.clone()), Some(s.key.clone()));
        assert!(cache.warnings().is_empty(), "{:?}", cache.warnings());
        let engine = engine();
        let wasm = wat_component();
        assert_eq!(
            cache.load(&engine, &wasm, "c").unwrap().1,
            CacheOutcome::Compiled
        );
        let (component, outcome) = cache.load(&engine, &wasm, "c").unwrap();
        assert_eq!(outcome, CacheOutcome::Hit);
        let entry = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "cwasm"))
            .unwrap();
        assert!(!mapped(&entry));
        drop(component);

        // SAFETY: a verified entry of this engine (the load above took it).
        let direct = unsafe { Component::deserialize_file(&engine, &entry) };
        assert!(direct.is_err(), "wasmtime mapped code from a noexec mount");
        let store = cache.store.as_ref().unwrap();
        let name = entry.file_stem().unwrap().to_str().unwrap().to_string();
        let bound = size_bound(wasm.len() as u64);
        let handed = |store: &Store| {
            let file = std::fs::File::open(&entry).unwrap();
            store.deserialize(&engine, Artifact::File(file), &name, bound)
        };
        assert!(handed(store).is_some(), "the fallback read it");
        let mut bytes = std::fs::read(&entry).unwrap();
        let middle = (bytes.len() - TRAILER) / 2;
        bytes[middle] ^= 1;
        std::fs::write(&entry, &bytes).unwrap();
        assert!(
            handed(store).is_none(),
            "the fallback verifies what it reads"
        );
    }

    /// Two processes (here two caches on one directory) loading the same
    /// component at once compile it once: the second waits for the first's
    /// entry. The first's compile is held up long enough for the second to
    /// find no entry and wait.
    #[test]
    fn concurrent_loads_of_one_component_compile_it_once() {
        let s = setup();
        let engine = engine();
        let mut first = s.cache();
        let started = std::sync::Arc::new(std::sync::Barrier::new(2));
        let signal = started.clone();
        first.observer = Some(std::sync::Arc::new(move |notice| {
            if let CompileNotice::Started { .. } = notice {
                signal.wait();
                std::thread::sleep(std::time::Duration::from_millis(300));
            }
        }));
        let second = s.cache();
        let outcomes = std::thread::scope(|scope| {
            let a = scope.spawn(|| first.load(&engine, EMPTY_COMPONENT, "empty").unwrap().1);
            started.wait();
            let b = scope.spawn(|| second.load(&engine, EMPTY_COMPONENT, "empty").unwrap().1);
            (a.join().unwrap(), b.join().unwrap())
        });
        assert_eq!(outcomes, (CacheOutcome::Compiled, CacheOutcome::Hit));
    }

    #[test]
    fn no_directory_means_no_caching() {
        let cache = CompileCache::new(None);
        let engine = engine();
        let (_, a) = cache.load(&engine, EMPTY_COMPONENT, "empty").unwrap();
        let (_, b) = cache.load(&engine, EMPTY_COMPONENT, "empty").unwrap();
        assert_eq!((a, b), (CacheOutcome::Compiled, CacheOutcome::Compiled));
    }
}
