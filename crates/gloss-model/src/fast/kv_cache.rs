//! The key/value cache: one preallocated buffer per layer, laid out `[kv_head][position][dim]`.
//!
//! The buffers are anonymous memory maps, zero until written: the OS maps their pages only when a
//! position is first written, so a short request costs memory for its own length only, and pages
//! of positions past what is worth keeping can be handed back after a long request (a hover on a
//! function of a thousand lines would otherwise keep hundreds of megabytes resident for good).
//! Query heads of a group read their shared KV head in place (GQA), nothing is repeated or copied.

use memmap2::MmapMut;

pub struct KvCache {
    n_kv_heads: usize,
    head_dim: usize,
    capacity: usize,
    k: Vec<ZeroedPages>,
    v: Vec<ZeroedPages>,
}

impl KvCache {
    pub fn new(
        layers: usize,
        n_kv_heads: usize,
        head_dim: usize,
        capacity: usize,
    ) -> std::io::Result<Self> {
        let size = n_kv_heads * capacity * head_dim;
        let buffers = || -> std::io::Result<Vec<ZeroedPages>> {
            (0..layers).map(|_| ZeroedPages::new(size)).collect()
        };
        Ok(Self {
            n_kv_heads,
            head_dim,
            capacity,
            k: buffers()?,
            v: buffers()?,
        })
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Gives the memory of positions `kept..` back to the OS; they read as zeros until written.
    pub fn release_from(&mut self, kept: usize) {
        if kept >= self.capacity {
            return;
        }
        for buffer in self.k.iter_mut().chain(self.v.iter_mut()) {
            for head in 0..self.n_kv_heads {
                let head_start = head * self.capacity * self.head_dim;
                buffer.release(
                    head_start + kept * self.head_dim,
                    head_start + self.capacity * self.head_dim,
                );
            }
        }
    }

    /// Stores rows of `k` and `v` (`[token][kv_head * head_dim]`) at positions `start..`.
    pub fn store(&mut self, layer: usize, start: usize, k: &[f32], v: &[f32]) {
        let (hd, nkv) = (self.head_dim, self.n_kv_heads);
        for (i, (k, v)) in k
            .chunks_exact(nkv * hd)
            .zip(v.chunks_exact(nkv * hd))
            .enumerate()
        {
            let pos = start + i;
            assert!(pos < self.capacity, "KV cache overflow");
            for h in 0..nkv {
                let at = (h * self.capacity + pos) * hd;
                self.k[layer].values_mut()[at..at + hd].copy_from_slice(&k[h * hd..(h + 1) * hd]);
                self.v[layer].values_mut()[at..at + hd].copy_from_slice(&v[h * hd..(h + 1) * hd]);
            }
        }
    }

    /// Keys of `kv_head` at positions `0..len`, `len * head_dim` values.
    pub fn keys(&self, layer: usize, kv_head: usize, len: usize) -> &[f32] {
        let at = kv_head * self.capacity * self.head_dim;
        &self.k[layer].values()[at..at + len * self.head_dim]
    }

    /// Values of `kv_head` at positions `0..len`.
    pub fn values(&self, layer: usize, kv_head: usize, len: usize) -> &[f32] {
        let at = kv_head * self.capacity * self.head_dim;
        &self.v[layer].values()[at..at + len * self.head_dim]
    }
}

/// `f32`s in an anonymous memory map: zero until written, and their whole pages can be released.
struct ZeroedPages {
    map: MmapMut,
    len: usize,
}

/// Releases are rounded inwards to this many bytes, a multiple of every page size in use (4 KiB
/// to 64 KiB), so that a page holding a kept value is never released.
const RELEASE_GRANULE: usize = 64 * 1024;

impl ZeroedPages {
    fn new(len: usize) -> std::io::Result<Self> {
        let bytes = len * std::mem::size_of::<f32>();
        let map = memmap2::MmapOptions::new().len(bytes.max(1)).map_anon()?;
        Ok(Self { map, len })
    }

    fn values(&self) -> &[f32] {
        // SAFETY: the map is page-aligned (so aligned for f32), at least `len` f32s long, and
        // every bit pattern, zero included, is a valid f32.
        unsafe { std::slice::from_raw_parts(self.map.as_ptr().cast::<f32>(), self.len) }
    }

    fn values_mut(&mut self) -> &mut [f32] {
        // SAFETY: as in `values`; the map is borrowed mutably for the slice's lifetime.
        unsafe { std::slice::from_raw_parts_mut(self.map.as_mut_ptr().cast::<f32>(), self.len) }
    }

    /// Hands back the whole granules inside values `start..end`.
    fn release(&mut self, start: usize, end: usize) {
        let size = std::mem::size_of::<f32>();
        let first = (start * size).next_multiple_of(RELEASE_GRANULE);
        let last = (end * size) / RELEASE_GRANULE * RELEASE_GRANULE;
        if first >= last {
            return;
        }
        #[cfg(unix)]
        // SAFETY: `&mut self` means no slice of the map is alive; the range is inside the map;
        // `MADV_DONTNEED` on private anonymous memory makes its pages read as zeros again, which
        // is what a fresh buffer holds, so the values stay valid f32s.
        unsafe {
            let _ = self.map.unchecked_advise_range(
                memmap2::UncheckedAdvice::DontNeed,
                first,
                last - first,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn released_positions_read_as_zero_and_kept_ones_survive() {
        let (layers, heads, dim, capacity) = (2, 2, 64, 4096);
        let mut cache = KvCache::new(layers, heads, dim, capacity).expect("map");
        let row: Vec<f32> = (0..heads * dim).map(|i| i as f32 + 1.0).collect();
        for layer in 0..layers {
            for position in 0..capacity {
                cache.store(layer, position, &row, &row);
            }
        }
        cache.release_from(1000);
        for layer in 0..layers {
            for head in 0..heads {
                let keys = cache.keys(layer, head, capacity);
                let expected = &row[head * dim..(head + 1) * dim];
                assert!(keys[..1000 * dim].chunks(dim).all(|kept| kept == expected));
                #[cfg(target_os = "linux")]
                assert!(
                    keys[1280 * dim..].iter().all(|&value| value == 0.0),
                    "positions from the next 64 KiB boundary on were released"
                );
            }
        }
        // A released position is written again like a fresh one.
        cache.store(0, 3000, &row, &row);
        assert_eq!(&cache.values(0, 1, 3001)[3000 * dim..], &row[dim..]);
    }
}
