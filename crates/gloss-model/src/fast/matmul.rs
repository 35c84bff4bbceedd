//! Quantized matrices (views into the mapped GGUF file) times Q8 activation rows.
//!
//! Work is split by output rows into tiles spread over the thread pool; within a tile, tokens are
//! taken four at a time so each weight block is decoded once for four tokens (prompt processing),
//! and the tile's weights stay in L1/L2 while every token block passes over them.

use std::sync::Arc;

use memmap2::Mmap;
use rayon::prelude::*;

use super::kernels::{Isa, R8_ROWS, dot_r8, dot_rows};
use super::quant::{Q8Batch, QType};

/// One anonymous buffer for every repacked matrix of a model, asked to be backed by 2 MiB pages:
/// decoding streams all of it once per token, and with 4 KiB pages the hardware prefetchers stop
/// at every page boundary (decoding the 0.5B from an empty cache: about 70 tok/s in
/// per-matrix heap buffers, about 77 here). Matrices then read their ranges of it.
pub struct RepackArena;

impl RepackArena {
    /// Repacks every matrix that has an eight-row layout, in parallel on the current rayon pool.
    pub fn repack(matrices: &mut [&mut QMatrix]) -> std::io::Result<()> {
        let sizes: Vec<usize> = matrices.iter().map(|m| m.repacked_bytes()).collect();
        let total: usize = sizes.iter().sum();
        if total == 0 {
            return Ok(());
        }
        let mut arena = memmap2::MmapMut::map_anon(total)?;
        // Only advice: without transparent huge pages (or off Linux) the buffer works the same,
        // a little slower.
        #[cfg(target_os = "linux")]
        let _ = arena.advise(memmap2::Advice::HugePage);
        let mut parts = Vec::with_capacity(sizes.len());
        let mut rest: &mut [u8] = &mut arena;
        for &size in &sizes {
            let (part, tail) = rest.split_at_mut(size);
            parts.push(part);
            rest = tail;
        }
        matrices
            .par_iter()
            .zip(parts)
            .for_each(|(m, part)| m.repack_into(part));
        let arena = Arc::new(arena.make_read_only()?);
        let mut start = 0;
        for (m, size) in matrices.iter_mut().zip(sizes) {
            if size > 0 {
                m.use_repacked(Arc::clone(&arena), start);
            }
            start += size;
        }
        Ok(())
    }
}

/// A row-major quantized matrix: `rows` rows of `cols` weights, each row whole blocks.
pub struct QMatrix {
    pub ty: QType,
    pub rows: usize,
    pub cols: usize,
    map: Arc<Mmap>,
    start: usize,
    /// The rows repacked eight at a time (`QType::repack_r8`), when the load did so: a range of
    /// a buffer shared by all the model's repacked matrices (see `RepackArena`).
    r8: Option<(Arc<Mmap>, usize)>,
}

impl QMatrix {
    /// The matrix whose bytes start at `start` in `map`; `None` if they do not fit in it.
    pub fn new(ty: QType, rows: usize, cols: usize, map: Arc<Mmap>, start: usize) -> Option<Self> {
        if !cols.is_multiple_of(ty.block_elems()) || start + rows * ty.row_bytes(cols) > map.len() {
            return None;
        }
        Some(Self {
            ty,
            rows,
            cols,
            map,
            start,
            r8: None,
        })
    }

    /// Bytes of the matrix in the eight-row layout (`QType::repack_r8`); 0 when it has none
    /// (Q4_0, or a row count that is not a multiple of eight).
    pub fn repacked_bytes(&self) -> usize {
        if self.ty.r8_block_bytes().is_none() || !self.rows.is_multiple_of(R8_ROWS) {
            return 0;
        }
        self.rows / R8_ROWS * self.r8_group_bytes()
    }

    /// Writes the matrix in the eight-row layout into `out` (`repacked_bytes` zeroed bytes),
    /// telling the OS after every few MiB that it may drop the mapped pages of the original rows
    /// just read, so resident memory stays about the file's size even for the largest matrix.
    pub fn repack_into(&self, out: &mut [u8]) {
        assert_eq!(out.len(), self.repacked_bytes(), "repack buffer size");
        if out.is_empty() {
            return;
        }
        const BATCH_BYTES: usize = 4 << 20;
        let group_bytes = self.r8_group_bytes();
        let groups_per_batch = (BATCH_BYTES / group_bytes).max(1);
        for (b, batch) in out.chunks_mut(groups_per_batch * group_bytes).enumerate() {
            let first = b * groups_per_batch;
            for (g, out) in batch.chunks_exact_mut(group_bytes).enumerate() {
                let rows = std::array::from_fn(|i| self.row((first + g) * R8_ROWS + i));
                self.ty.repack_r8(rows, out);
            }
            let groups = batch.len() / group_bytes;
            self.release_rows(first * R8_ROWS, (first + groups) * R8_ROWS);
        }
    }

    /// Reads the matrix from then on from `arena[start..]`, where `repack_into` wrote it.
    pub fn use_repacked(&mut self, arena: Arc<Mmap>, start: usize) {
        assert!(
            start + self.repacked_bytes() <= arena.len(),
            "repacked bytes outside the arena"
        );
        self.r8 = Some((arena, start));
    }

    /// Tells the OS it may drop the mapped pages of rows `r0..r1` of the original (once
    /// repacked).
    fn release_rows(&self, r0: usize, r1: usize) {
        // Whole pages inside those rows' bytes only: neighbours may still be read.
        let page = 4096;
        let begin = (self.start + r0 * self.row_bytes()).div_ceil(page) * page;
        let end = (self.start + r1 * self.row_bytes()) / page * page;
        if end > begin {
            // SAFETY: a read-only file mapping; dropped pages are read back from the file if
            // touched again (embedding lookups of a tied output table do).
            let _ = unsafe {
                self.map.unchecked_advise_range(
                    memmap2::UncheckedAdvice::DontNeed,
                    begin,
                    end - begin,
                )
            };
        }
    }

    /// The repacked bytes, when the matrix uses them.
    fn repacked(&self) -> Option<&[u8]> {
        let (arena, start) = self.r8.as_ref()?;
        Some(&arena[*start..*start + self.repacked_bytes()])
    }

    /// Touches every page of the weights the kernels will read (the mapped rows, or nothing
    /// when repacked: the copy was just written), so no request pays for page faults.
    pub fn prefault(&self) {
        if self.r8.is_some() {
            return;
        }
        let bytes = &self.map[self.start..self.start + self.rows * self.row_bytes()];
        let mut sum = 0u8;
        for page in bytes.chunks(4096) {
            sum = sum.wrapping_add(page[0]);
        }
        std::hint::black_box(sum);
    }

    /// Bytes of one repacked group of eight rows.
    fn r8_group_bytes(&self) -> usize {
        let per_block = self.ty.r8_block_bytes().expect("an eight-row format");
        self.cols / self.ty.block_elems() * per_block
    }

    pub fn row_bytes(&self) -> usize {
        self.ty.row_bytes(self.cols)
    }

    pub fn row(&self, r: usize) -> &[u8] {
        let n = self.row_bytes();
        &self.map[self.start + r * n..self.start + (r + 1) * n]
    }

    /// Row `r` as f32 (embedding lookups read single rows of the quantized table).
    pub fn dequantize_row(&self, r: usize, out: &mut [f32]) {
        self.ty.dequantize_row(self.row(r), out);
    }
}

/// One product of a matmul call: `out[t * w.rows + r] = w[r] · x[t]`.
pub struct MatJob<'a> {
    pub w: &'a QMatrix,
    pub out: &'a mut [f32],
}

/// A raw output pointer shared by tiles that write disjoint elements.
#[derive(Clone, Copy)]
pub(crate) struct OutPtr(pub(crate) *mut f32);
impl OutPtr {
    /// The element `i` places past the start (a method, so closures capture the whole `Send`
    /// wrapper rather than its raw-pointer field).
    ///
    /// # Safety
    /// `i` must be inside the buffer the pointer came from.
    pub(crate) unsafe fn at(self, i: usize) -> *mut f32 {
        // SAFETY: forwarded to the caller.
        unsafe { self.0.add(i) }
    }
}

// SAFETY: tiles write disjoint (row, token) elements of buffers that outlive the parallel
// section (see `matmul`), so sending the pointer between pool threads is sound.
unsafe impl Send for OutPtr {}
// SAFETY: as above.
unsafe impl Sync for OutPtr {}

/// Tokens per kernel call in prompt processing.
const TOKEN_BLOCK: usize = 4;
/// Rows per tile at most: enough to balance the threads, few enough that scheduling stays cheap.
const MAX_TILE_ROWS: usize = 64;
const MAX_TILE_GROUPS: usize = MAX_TILE_ROWS / R8_ROWS;
/// Activation bytes a tile reads at most (int8, one per column and token): well inside L2.
const ACT_TILE_BYTES: usize = 256 * 1024;

/// Products of rows `rows` of `w` with tokens `t..t + N` of `x`, into `out` (`[token][row]`, of
/// `x.rows() * w.rows` elements); the caller owns those elements alone.
fn tile_tokens<const N: usize>(
    isa: Isa,
    w: &QMatrix,
    rows: std::ops::Range<usize>,
    x: &Q8Batch,
    t: usize,
    out: OutPtr,
) {
    let acts: [_; N] = std::array::from_fn(|i| x.row(t + i));
    let store = |t: usize, r: usize, v: f32| {
        // SAFETY: `t < x.rows()` and `r < w.rows`, inside the output (checked by `matmul`);
        // each (t, r) belongs to exactly one tile.
        unsafe { *out.at(t * w.rows + r) = v };
    };
    let Some(packed) = w.repacked() else {
        for r in rows {
            let mut o = [0f32; N];
            dot_rows(isa, w.ty, w.row(r), &acts, &mut o);
            for (i, v) in o.into_iter().enumerate() {
                store(t + i, r, v);
            }
        }
        return;
    };
    let gb = w.r8_group_bytes();
    let (g0, g1) = (rows.start / R8_ROWS, rows.end.div_ceil(R8_ROWS));
    let groups = &packed[g0 * gb..g1 * gb];
    if N == 1 {
        // One token's rows are contiguous in the output: the kernel writes there.
        // SAFETY: rows `g0 * 8..g1 * 8` of token `t` lie inside the output (`g1 * 8 <= w.rows`,
        // whole groups) and belong to this tile alone; `[[f32; 8]; N]` with `N == 1` has the
        // layout of eight f32.
        let o = unsafe {
            std::slice::from_raw_parts_mut(
                out.at(t * w.rows + g0 * R8_ROWS) as *mut [[f32; R8_ROWS]; N],
                g1 - g0,
            )
        };
        dot_r8(isa, w.ty, groups, &acts, o);
        return;
    }
    for (c, part) in groups.chunks(MAX_TILE_GROUPS * gb).enumerate() {
        let mut o = [[[0f32; R8_ROWS]; N]; MAX_TILE_GROUPS];
        let o = &mut o[..part.len() / gb];
        dot_r8(isa, w.ty, part, &acts, o);
        for (g, o) in (g0 + c * MAX_TILE_GROUPS..).zip(o.iter()) {
            for (i, o) in o.iter().enumerate() {
                for (k, &v) in o.iter().enumerate() {
                    store(t + i, g * R8_ROWS + k, v);
                }
            }
        }
    }
}

/// Runs every job over the same activations `x` in one parallel section (q/k/v or gate/up
/// share their input, and one section instead of several halves the synchronization).
pub fn matmul(pool: &rayon::ThreadPool, isa: Isa, x: &Q8Batch, jobs: &mut [MatJob<'_>]) {
    let n = x.rows();
    let mut tiles = Vec::new();
    let total_rows: usize = jobs.iter().map(|j| j.w.rows).sum();
    // Multiples of eight rows, for the repacked groups. Decoding one token reads each weight
    // once: a handful of large tiles per thread keeps scheduling off its memory-bound path;
    // several tokens take small tiles, which stay in L2 while every token passes over them.
    let threads = pool.current_num_threads();
    let tile = if n == 1 {
        (total_rows / (threads * 4)).max(R8_ROWS)
    } else {
        (total_rows / (threads * 16)).clamp(R8_ROWS, MAX_TILE_ROWS)
    } / R8_ROWS
        * R8_ROWS;
    // Long rows (the down projection) would stream every token's activations from beyond L2
    // once per row tile: bound the tokens a tile covers instead.
    let tokens = (ACT_TILE_BYTES / x.cols().max(1)).max(TOKEN_BLOCK) / TOKEN_BLOCK * TOKEN_BLOCK;
    let mut outs = Vec::with_capacity(jobs.len());
    for (j, job) in jobs.iter_mut().enumerate() {
        assert_eq!(job.w.cols, x.cols(), "matmul width mismatch");
        assert_eq!(job.out.len(), n * job.w.rows, "matmul output size mismatch");
        outs.push(OutPtr(job.out.as_mut_ptr()));
        for t0 in (0..n).step_by(tokens) {
            for r0 in (0..job.w.rows).step_by(tile) {
                tiles.push((j, r0, (r0 + tile).min(job.w.rows), t0, (t0 + tokens).min(n)));
            }
        }
    }
    let weights: Vec<&QMatrix> = jobs.iter().map(|j| j.w).collect();
    pool.install(|| {
        tiles.par_iter().for_each(|&(j, r0, r1, t0, t1)| {
            let (w, out) = (weights[j], outs[j]);
            let mut t = t0;
            while t + TOKEN_BLOCK <= t1 {
                tile_tokens::<TOKEN_BLOCK>(isa, w, r0..r1, x, t, out);
                t += TOKEN_BLOCK;
            }
            // The last few tokens together too: each pass over the weights costs memory
            // traffic whatever the number of tokens (two drafted tokens verified in one pass).
            match t1 - t {
                3 => tile_tokens::<3>(isa, w, r0..r1, x, t, out),
                2 => tile_tokens::<2>(isa, w, r0..r1, x, t, out),
                1 => tile_tokens::<1>(isa, w, r0..r1, x, t, out),
                _ => {}
            }
        })
    });
}
