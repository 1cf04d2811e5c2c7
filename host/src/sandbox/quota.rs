//! The memory quota of one instance, and the counts of what one store may
//! hold (the pool of [`super::host`] is sized from them).

use wasmtime::ResourceLimiter;

/// The most core instances one store may hold.
pub const MAX_INSTANCES: usize = 64;
/// The most tables one store may hold.
pub const MAX_TABLES: usize = 64;
/// The most linear memories one store may hold.
pub const MAX_MEMORIES: usize = 16;

use super::MAX_TABLE_ELEMENTS;

/// The memory quota of one instance: every linear memory and every table of
/// the store together, against `--memory-limit` (wasmtime's own
/// `StoreLimits` bounds each memory on its own and tables by element count
/// only).
pub(super) struct Quota {
    limit: usize,
    memory_bytes: usize,
    table_bytes: usize,
    /// The most the two accounts held together.
    pub(super) peak: usize,
}

const TABLE_ELEMENT_BYTES: usize = 8;

impl Quota {
    pub(super) fn new(limit: usize) -> Quota {
        Quota {
            limit,
            memory_bytes: 0,
            table_bytes: 0,
            peak: 0,
        }
    }

    /// Grows one of the two accounts (`memory`: linear memories, else
    /// tables) from `current` to `desired` bytes of one memory or table,
    /// if both together stay within the limit.
    fn grow(
        &mut self,
        memory: bool,
        current: usize,
        desired: usize,
        what: &str,
    ) -> wasmtime::Result<bool> {
        let (account, other) = if memory {
            (self.memory_bytes, self.table_bytes)
        } else {
            (self.table_bytes, self.memory_bytes)
        };
        let grown = account - current.min(account) + desired;
        let total = grown.saturating_add(other);
        if total > self.limit {
            wasmtime::bail!(
                "forcing trap when growing {what}: the instance's memories and tables would hold {total} bytes"
            );
        }
        if memory {
            self.memory_bytes = grown;
        } else {
            self.table_bytes = grown;
        }
        self.peak = self.peak.max(total);
        Ok(true)
    }
}

impl ResourceLimiter for Quota {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.grow(
            true,
            current,
            desired,
            &format!("memory to {desired} bytes"),
        )
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > MAX_TABLE_ELEMENTS {
            wasmtime::bail!(
                "forcing trap when growing table to {desired} elements (at most {MAX_TABLE_ELEMENTS})"
            );
        }
        self.grow(
            false,
            current * TABLE_ELEMENT_BYTES,
            desired * TABLE_ELEMENT_BYTES,
            &format!("table to {desired} elements"),
        )
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::{Engine, Store};

    fn section(id: u8, content: &[u8], out: &mut Vec<u8>) {
        out.push(id);
        out.push(content.len() as u8);
        out.extend_from_slice(content);
    }

    /// A core module with `memories` memories of `pages` (below 128) pages
    /// each and a table of `elements` elements (below 2^21).
    fn module(memories: u8, pages: u8, elements: u32) -> Vec<u8> {
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        let e = [
            (elements & 0x7f) as u8 | 0x80,
            ((elements >> 7) & 0x7f) as u8 | 0x80,
            (elements >> 14) as u8,
        ];
        section(4, &[0x01, 0x70, 0x00, e[0], e[1], e[2]], &mut m);
        let mut mem = vec![memories];
        for _ in 0..memories {
            mem.extend_from_slice(&[0x00, pages]);
        }
        section(5, &mem, &mut m);
        m
    }

    fn instantiate(limit: usize, wasm: &[u8]) -> wasmtime::Result<()> {
        let engine = Engine::default();
        let module = wasmtime::Module::new(&engine, wasm)?;
        let mut store = Store::new(&engine, Quota::new(limit));
        store.limiter(|q| q);
        wasmtime::Instance::new(&mut store, &module, &[])?;
        Ok(())
    }

    /// Hostile: many memories, each under the limit, together over it; a
    /// table whose elements the per-memory limit would not count.
    #[test]
    fn the_quota_counts_every_memory_and_table_of_the_store() {
        let limit = 12 << 20;
        // One memory of 6.25 MiB and a small table: fine.
        instantiate(limit, &module(1, 100, 16)).unwrap();
        // Three of them: 18.75 MiB in all.
        let e = instantiate(limit, &module(3, 100, 16)).unwrap_err();
        assert!(
            format!("{e:#}").contains("forcing trap when growing memory"),
            "{e:#}"
        );
        // A table of a million elements alone (8 MB counted) is fine; with
        // the memory, it is over.
        instantiate(limit, &module(1, 1, 1_000_000)).unwrap();
        let e = instantiate(limit, &module(1, 100, 1_000_000)).unwrap_err();
        assert!(
            format!("{e:#}").contains("forcing trap when growing"),
            "{e:#}"
        );
        // A table past the element cap, whatever the memory limit.
        let e = instantiate(1 << 30, &module(1, 1, 1_100_000)).unwrap_err();
        assert!(format!("{e:#}").contains("at most 1048576"), "{e:#}");
    }
}
