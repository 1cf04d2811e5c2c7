//! The on-disk cache of compiled components.
//!
//! A compiled component is native code, so a cache entry is only used when it is
//! provably the one ctest wrote: the key is a hash of the component's bytes and of
//! the engine's configuration, and each entry starts with a BLAKE3 digest of the
//! artifact after it. An entry that is short, altered or from another engine is
//! compiled again and overwritten; it is never handed to wasmtime unchecked.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

const MAGIC: &[u8; 8] = b"ctestC01";
const HEADER: usize = MAGIC.len() + 32;

/// Where compiled components are kept.
pub struct CompileCache {
    dir: Option<PathBuf>,
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
}

impl CompileCache {
    /// The cache in `dir`, or no caching with `None`.
    pub fn new(dir: Option<PathBuf>) -> Self {
        CompileCache { dir }
    }

    /// The default directory: `$CTEST_CACHE_DIR`, else the user's cache directory.
    pub fn default_dir() -> Option<PathBuf> {
        if let Some(dir) = std::env::var_os("CTEST_CACHE_DIR") {
            return Some(PathBuf::from(dir));
        }
        dirs::cache_dir().map(|d| d.join("ctest").join("components"))
    }

    fn entry_path(&self, engine: &Engine, wasm: &[u8]) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        let mut hasher = blake3::Hasher::new();
        hasher.update(wasm);
        // The engine's settings, wasmtime's version and the host's CPU features.
        let mut engine_hash = std::collections::hash_map::DefaultHasher::new();
        engine
            .precompile_compatibility_hash()
            .hash(&mut engine_hash);
        hasher.update(&engine_hash.finish().to_le_bytes());
        hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
        Some(dir.join(format!("{}.cwasm", hasher.finalize().to_hex())))
    }

    /// The compiled form of `wasm`, from the cache when a verified entry exists.
    pub fn load(
        &self,
        engine: &Engine,
        wasm: &[u8],
    ) -> wasmtime::Result<(Component, CacheOutcome)> {
        let path = self.entry_path(engine, wasm);
        let mut outcome = CacheOutcome::Compiled;
        if let Some(path) = &path {
            match read_verified(path) {
                Entry::Valid(artifact) => {
                    // SAFETY: the artifact is byte-for-byte what `Component::serialize`
                    // produced for this engine configuration (its digest matches the
                    // one written with it, and the key covers the engine's settings).
                    if let Ok(component) = unsafe { Component::deserialize(engine, &artifact) } {
                        return Ok((component, CacheOutcome::Hit));
                    }
                    outcome = CacheOutcome::Recompiled;
                }
                Entry::Corrupt => outcome = CacheOutcome::Recompiled,
                Entry::Missing => {}
            }
        }
        let component = Component::new(engine, wasm)?;
        if let Some(path) = &path {
            // A cache that cannot be written only costs time on the next run.
            let _ = component
                .serialize()
                .map(|artifact| write_entry(path, &artifact));
        }
        Ok((component, outcome))
    }
}

enum Entry {
    Missing,
    Corrupt,
    Valid(Vec<u8>),
}

fn read_verified(path: &Path) -> Entry {
    let Ok(bytes) = std::fs::read(path) else {
        return Entry::Missing;
    };
    if bytes.len() < HEADER || &bytes[..MAGIC.len()] != MAGIC {
        return Entry::Corrupt;
    }
    let digest = &bytes[MAGIC.len()..HEADER];
    let artifact = &bytes[HEADER..];
    if blake3::hash(artifact).as_bytes() != digest {
        return Entry::Corrupt;
    }
    Entry::Valid(bytes[HEADER..].to_vec())
}

fn write_entry(path: &Path, artifact: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    // Write to a temporary file and rename, so a reader never sees half an entry.
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(MAGIC)?;
    file.write_all(blake3::hash(artifact).as_bytes())?;
    file.write_all(artifact)?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> Engine {
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true);
        Engine::new(&config).unwrap()
    }

    // The smallest component: no imports, no exports.
    const EMPTY_COMPONENT: &[u8] = &[0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];

    #[test]
    fn second_load_hits_and_corruption_recompiles() {
        let dir = tempfile::tempdir().unwrap();
        let cache = CompileCache::new(Some(dir.path().to_path_buf()));
        let engine = engine();

        let (_, first) = cache.load(&engine, EMPTY_COMPONENT).unwrap();
        assert_eq!(first, CacheOutcome::Compiled);
        let (_, second) = cache.load(&engine, EMPTY_COMPONENT).unwrap();
        assert_eq!(second, CacheOutcome::Hit);

        // Flip one byte of the artifact: the entry must not be trusted.
        let entry = std::fs::read_dir(dir.path())
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let mut bytes = std::fs::read(&entry).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&entry, &bytes).unwrap();
        let (_, third) = cache.load(&engine, EMPTY_COMPONENT).unwrap();
        assert_eq!(third, CacheOutcome::Recompiled);
        let (_, fourth) = cache.load(&engine, EMPTY_COMPONENT).unwrap();
        assert_eq!(fourth, CacheOutcome::Hit);

        // A truncated entry likewise.
        std::fs::write(&entry, b"ctestC01").unwrap();
        let (_, fifth) = cache.load(&engine, EMPTY_COMPONENT).unwrap();
        assert_eq!(fifth, CacheOutcome::Recompiled);
    }

    #[test]
    fn no_directory_means_no_caching() {
        let cache = CompileCache::new(None);
        let engine = engine();
        let (_, a) = cache.load(&engine, EMPTY_COMPONENT).unwrap();
        let (_, b) = cache.load(&engine, EMPTY_COMPONENT).unwrap();
        assert_eq!((a, b), (CacheOutcome::Compiled, CacheOutcome::Compiled));
    }
}
