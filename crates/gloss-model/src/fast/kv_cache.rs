//! The key/value cache: one preallocated buffer per layer, laid out `[kv_head][position][dim]`.
//!
//! The buffers are allocated zeroed for the whole context at load; the OS maps their pages only
//! when a position is first written, so a short request costs memory for its own length only.
//! Query heads of a group read their shared KV head in place (GQA), nothing is repeated or copied.

pub struct KvCache {
    n_kv_heads: usize,
    head_dim: usize,
    capacity: usize,
    k: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
}

impl KvCache {
    pub fn new(layers: usize, n_kv_heads: usize, head_dim: usize, capacity: usize) -> Self {
        let size = n_kv_heads * capacity * head_dim;
        Self {
            n_kv_heads,
            head_dim,
            capacity,
            k: (0..layers).map(|_| vec![0.0; size]).collect(),
            v: (0..layers).map(|_| vec![0.0; size]).collect(),
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
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
                self.k[layer][at..at + hd].copy_from_slice(&k[h * hd..(h + 1) * hd]);
                self.v[layer][at..at + hd].copy_from_slice(&v[h * hd..(h + 1) * hd]);
            }
        }
    }

    /// Keys of `kv_head` at positions `0..len`, `len * head_dim` values.
    pub fn keys(&self, layer: usize, kv_head: usize, len: usize) -> &[f32] {
        let at = kv_head * self.capacity * self.head_dim;
        &self.k[layer][at..at + len * self.head_dim]
    }

    /// Values of `kv_head` at positions `0..len`.
    pub fn values(&self, layer: usize, kv_head: usize, len: usize) -> &[f32] {
        let at = kv_head * self.capacity * self.head_dim;
        &self.v[layer][at..at + len * self.head_dim]
    }
}
