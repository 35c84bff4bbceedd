//! The quantized weight formats gloss reads straight from a GGUF mapping, and Q8 activation rows.
//!
//! Weights stay in GGUF's own block layout (the file is memory-mapped, so loading copies nothing);
//! activations are quantized once per row to int8 blocks of 32 with an f32 scale and the sums
//! every weight format needs for its offset or minimum term. One activation format serves every
//! weight type, so a row is quantized once and read by all the matrices that consume it.

pub mod q4_0;
pub mod q4_1;
pub mod q4_1_r8;
pub mod q4_k;
pub mod q4_k_r8;
pub mod q5_0;
pub mod q5_0_r8;
pub mod q6_k;
pub mod q6_k_r8;
pub mod q8_0;
pub mod q8_0_r8;

use candle_core::quantized::GgmlDType;

use rayon::prelude::*;

use super::kernels::{self, Isa};

/// Elements per activation block (and per "chunk" of every weight kernel).
pub const QK: usize = 32;
/// Elements per K-quant super-block.
pub const QK_K: usize = 256;

/// The weight formats the fast path has kernels for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QType {
    Q4_0,
    Q4_1,
    Q5_0,
    Q8_0,
    Q4K,
    Q6K,
}

impl QType {
    pub const ALL: [QType; 6] = [
        QType::Q4_0,
        QType::Q4_1,
        QType::Q5_0,
        QType::Q8_0,
        QType::Q4K,
        QType::Q6K,
    ];

    pub fn from_ggml(dtype: GgmlDType) -> Option<Self> {
        Some(match dtype {
            GgmlDType::Q4_0 => QType::Q4_0,
            GgmlDType::Q4_1 => QType::Q4_1,
            GgmlDType::Q5_0 => QType::Q5_0,
            GgmlDType::Q8_0 => QType::Q8_0,
            GgmlDType::Q4K => QType::Q4K,
            GgmlDType::Q6K => QType::Q6K,
            _ => return None,
        })
    }

    pub fn ggml(self) -> GgmlDType {
        match self {
            QType::Q4_0 => GgmlDType::Q4_0,
            QType::Q4_1 => GgmlDType::Q4_1,
            QType::Q5_0 => GgmlDType::Q5_0,
            QType::Q8_0 => GgmlDType::Q8_0,
            QType::Q4K => GgmlDType::Q4K,
            QType::Q6K => GgmlDType::Q6K,
        }
    }

    /// Elements in one block of the format.
    pub fn block_elems(self) -> usize {
        match self {
            QType::Q4K | QType::Q6K => QK_K,
            _ => QK,
        }
    }

    /// Bytes in one block of the format.
    pub fn block_bytes(self) -> usize {
        match self {
            QType::Q4_0 => q4_0::BLOCK_BYTES,
            QType::Q4_1 => q4_1::BLOCK_BYTES,
            QType::Q5_0 => q5_0::BLOCK_BYTES,
            QType::Q8_0 => q8_0::BLOCK_BYTES,
            QType::Q4K => q4_k::BLOCK_BYTES,
            QType::Q6K => q6_k::BLOCK_BYTES,
        }
    }

    /// Bytes of one row of `cols` elements (`cols` a multiple of the block size).
    pub fn row_bytes(self, cols: usize) -> usize {
        cols / self.block_elems() * self.block_bytes()
    }

    /// Dequantizes one row of `out.len()` elements.
    pub fn dequantize_row(self, row: &[u8], out: &mut [f32]) {
        let (elems, bytes) = (self.block_elems(), self.block_bytes());
        for (block, out) in row.chunks_exact(bytes).zip(out.chunks_exact_mut(elems)) {
            match self {
                QType::Q4_0 => q4_0::dequantize_block(block, out),
                QType::Q4_1 => q4_1::dequantize_block(block, out),
                QType::Q5_0 => q5_0::dequantize_block(block, out),
                QType::Q8_0 => q8_0::dequantize_block(block, out),
                QType::Q4K => q4_k::dequantize_block(block, out),
                QType::Q6K => q6_k::dequantize_block(block, out),
            }
        }
    }

    /// Bytes of one block of eight rows (`block_elems` weights of each) in the interleaved
    /// layout the load repacks into; `None` for formats without one.
    pub fn r8_block_bytes(self) -> Option<usize> {
        match self {
            QType::Q4_0 => None,
            QType::Q4_1 => Some(q4_1_r8::CHUNK_BYTES),
            QType::Q5_0 => Some(q5_0_r8::CHUNK_BYTES),
            QType::Q8_0 => Some(q8_0_r8::CHUNK_BYTES),
            QType::Q4K => Some(q4_k_r8::BLOCK_BYTES),
            QType::Q6K => Some(q6_k_r8::BLOCK_BYTES),
        }
    }

    /// Repacks eight native rows into the interleaved layout (`out`: `r8_block_bytes` per block,
    /// zeroed).
    ///
    /// Panics for a format without one.
    pub fn repack_r8(self, rows: [&[u8]; 8], out: &mut [u8]) {
        match self {
            QType::Q4_1 => q4_1_r8::repack(rows, out),
            QType::Q5_0 => q5_0_r8::repack(rows, out),
            QType::Q8_0 => q8_0_r8::repack(rows, out),
            QType::Q4K => q4_k_r8::repack(rows, out),
            QType::Q6K => q6_k_r8::repack(rows, out),
            QType::Q4_0 => panic!("no eight-row layout for {self:?}"),
        }
    }

    /// The portable dot products of a repacked group of eight rows with one activation row.
    pub fn dot_r8_scalar(self, group: &[u8], act: Q8Row<'_>) -> [f32; 8] {
        match self {
            QType::Q4_1 => q4_1_r8::dot(group, act),
            QType::Q5_0 => q5_0_r8::dot(group, act),
            QType::Q8_0 => q8_0_r8::dot(group, act),
            QType::Q4K => q4_k_r8::dot(group, act),
            QType::Q6K => q6_k_r8::dot(group, act),
            QType::Q4_0 => panic!("no eight-row layout for {self:?}"),
        }
    }

    /// The portable dot product of one weight row with one activation row.
    pub fn dot_scalar(self, row: &[u8], act: Q8Row<'_>) -> f32 {
        match self {
            QType::Q4_0 => q4_0::dot(row, act),
            QType::Q4_1 => q4_1::dot(row, act),
            QType::Q5_0 => q5_0::dot(row, act),
            QType::Q8_0 => q8_0::dot(row, act),
            QType::Q4K => q4_k::dot(row, act),
            QType::Q6K => q6_k::dot(row, act),
        }
    }
}

/// The scaffolding of every eight-row repack: block `b` of `out` (`packed_bytes` each) is filled
/// by `fill(packed_block, i, native_block)` for each row `i`'s block `b` (`native_bytes` each).
/// `out` must be zeroed (the layouts OR bits in): the load writes into fresh anonymous pages,
/// which the OS has zeroed already, so zeroing here would be a second pass over every byte.
fn repack_blocks(
    rows: [&[u8]; 8],
    native_bytes: usize,
    packed_bytes: usize,
    out: &mut [u8],
    mut fill: impl FnMut(&mut [u8], usize, &[u8]),
) {
    for (b, packed) in out.chunks_exact_mut(packed_bytes).enumerate() {
        for (i, row) in rows.iter().enumerate() {
            fill(packed, i, &row[b * native_bytes..(b + 1) * native_bytes]);
        }
    }
}

/// Puts the low four bits of row `i`'s 32 weights into four 32-byte vectors (`vectors`, 128
/// zeroed bytes), the arrangement every eight-row layout shares: byte `4 i + e` of vector `p`
/// holds weight `4 p + e` in its low nibble and weight `4 (p + 4) + e` in its high one.
fn put_nibbles(vectors: &mut [u8], i: usize, q: &[u8; QK]) {
    for (j, v) in q.iter().enumerate() {
        let (k, e) = (j / 4, j % 4);
        vectors[32 * (k % 4) + 4 * i + e] |= (v & 0xF) << (4 * (k / 4));
    }
}

/// Reads the little-endian f16 at `bytes[at..at + 2]` as f32.
#[inline(always)]
pub fn f16_at(bytes: &[u8], at: usize) -> f32 {
    half::f16::from_bits(u16::from_le_bytes([bytes[at], bytes[at + 1]])).to_f32()
}

/// One quantized activation row: `qs[i] * d[i / 32]` approximates element `i`; `s16[j]` is the
/// sum of `qs[16 j..16 j + 16]` and `ds[c]` is `d[c]` times the sum of 32-block `c` (the offset
/// and minimum terms of the weight formats multiply these, so they are computed once per row).
#[derive(Clone, Copy)]
pub struct Q8Row<'a> {
    pub qs: &'a [i8],
    pub d: &'a [f32],
    pub ds: &'a [f32],
    pub s16: &'a [i16],
}

impl Q8Row<'_> {
    /// `d * sum(qs)` over 32-block `c`: the activation sum the offset terms multiply.
    #[inline(always)]
    pub fn scaled_sum(&self, c: usize) -> f32 {
        self.ds[c]
    }

    /// Number of 32-blocks.
    pub fn blocks(&self) -> usize {
        self.d.len()
    }

    /// Whether the parts agree in length (kernels index them without checks after this).
    pub fn is_consistent(&self) -> bool {
        let n = self.d.len();
        self.qs.len() == n * QK && self.ds.len() == n && self.s16.len() == 2 * n
    }
}

/// Several activation rows of the same width, quantized into buffers reused between calls.
#[derive(Default)]
pub struct Q8Batch {
    cols: usize,
    rows: usize,
    qs: Vec<i8>,
    d: Vec<f32>,
    ds: Vec<f32>,
    s16: Vec<i16>,
}

impl Q8Batch {
    /// Quantizes `x`, `rows` rows of `cols` elements each (`cols` a multiple of 32).
    pub fn quantize(&mut self, x: &[f32], cols: usize) {
        self.quantize_on(None, x, cols);
    }

    /// Like [`Q8Batch::quantize`], with the rows split over `pool`'s threads when there is one
    /// (prompt processing quantizes hundreds of rows between matrix products; on one thread
    /// that left the other cores idle).
    pub fn quantize_on(&mut self, pool: Option<&rayon::ThreadPool>, x: &[f32], cols: usize) {
        assert!(cols.is_multiple_of(QK) && x.len().is_multiple_of(cols));
        let rows = x.len() / cols;
        self.cols = cols;
        self.rows = rows;
        self.qs.resize(x.len(), 0);
        self.d.resize(x.len() / QK, 0.0);
        self.s16.resize(x.len() / 16, 0);
        self.ds.resize(x.len() / QK, 0.0);
        let isa = Isa::detect();
        let tasks = pool
            .map_or(1, |p| p.current_num_threads() * 4)
            .min(rows)
            .max(1);
        let per_task = rows.div_ceil(tasks);
        let (xs, qs) = (
            x.par_chunks(per_task * cols),
            self.qs.par_chunks_mut(per_task * cols),
        );
        let d = self.d.par_chunks_mut(per_task * cols / QK);
        let ds = self.ds.par_chunks_mut(per_task * cols / QK);
        let s16 = self.s16.par_chunks_mut(per_task * cols / 16);
        let work = xs.zip(qs).zip(d.zip(ds).zip(s16));
        let run =
            || work.for_each(|((x, qs), ((d, ds), s16))| quantize_rows(isa, x, qs, d, ds, s16));
        match pool {
            Some(pool) if tasks > 1 => pool.install(run),
            _ => run(),
        }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Bytes the buffers hold, used or not.
    pub fn bytes(&self) -> usize {
        self.qs.capacity()
            + (self.d.capacity() + self.ds.capacity()) * std::mem::size_of::<f32>()
            + self.s16.capacity() * std::mem::size_of::<i16>()
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    pub fn row(&self, r: usize) -> Q8Row<'_> {
        let c = self.cols;
        Q8Row {
            qs: &self.qs[r * c..(r + 1) * c],
            d: &self.d[r * c / QK..(r + 1) * c / QK],
            ds: &self.ds[r * c / QK..(r + 1) * c / QK],
            s16: &self.s16[r * c / 16..(r + 1) * c / 16],
        }
    }
}

/// Quantizes whole blocks of `x` into the matching parts of a batch's buffers.
fn quantize_rows(
    isa: Isa,
    x: &[f32],
    qs: &mut [i8],
    d: &mut [f32],
    ds: &mut [f32],
    s16: &mut [i16],
) {
    let blocks = x.chunks_exact(QK).zip(qs.chunks_exact_mut(QK));
    for ((block, qs), ((d, ds), s16)) in
        blocks.zip(d.iter_mut().zip(ds).zip(s16.chunks_exact_mut(2)))
    {
        let (block, qs) = (block.try_into().unwrap(), qs.try_into().unwrap());
        let (scale, sums) = kernels::quantize_block(isa, block, qs);
        (*d, *ds) = (scale, scale * (sums[0] as i32 + sums[1] as i32) as f32);
        s16.copy_from_slice(&sums);
    }
}

/// Symmetric int8 quantization of 32 values: the scale maps the largest magnitude to 127;
/// rounds half to even, as the SIMD versions (`kernels::quantize_block`) and llama.cpp's do.
/// Returns the scale and the sums of each half.
pub fn quantize_block(x: &[f32; QK], qs: &mut [i8; QK]) -> (f32, [i16; 2]) {
    let amax = x.iter().fold(0f32, |m, v| m.max(v.abs()));
    let scale = amax / 127.0;
    let inv = if scale > 0.0 { 1.0 / scale } else { 0.0 };
    for (q, v) in qs.iter_mut().zip(x) {
        *q = (v * inv).round_ties_even() as i8;
    }
    let sum = |half: &[i8]| half.iter().map(|&q| q as i16).sum();
    (scale, [sum(&qs[..16]), sum(&qs[16..])])
}
