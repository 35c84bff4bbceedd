//! Q4_K: super-blocks of 256 weights in 8 sub-blocks of 32, `d * sc_j * q - dmin * m_j` with
//! 4-bit `q` and 6-bit `sc_j`, `m_j` packed into 12 bytes. Bytes `32 g..32 g + 32` of the nibbles
//! hold sub-block `2 g` in their low halves and `2 g + 1` in their high halves.

use super::{Q8Row, QK, QK_K, f16_at};

/// f16 `d`, f16 `dmin`, 12 bytes of scales and mins, 128 bytes of nibbles.
pub const BLOCK_BYTES: usize = 144;

/// The 6-bit scale and min of sub-block `j` (GGUF's `get_scale_min_k4` packing).
#[inline(always)]
pub fn scale_min(scales: &[u8], j: usize) -> (u8, u8) {
    if j < 4 {
        (scales[j] & 63, scales[j + 4] & 63)
    } else {
        (
            (scales[j + 4] & 0xF) | ((scales[j - 4] >> 6) << 4),
            (scales[j + 4] >> 4) | ((scales[j] >> 6) << 4),
        )
    }
}

/// All 8 scales and mins of a block.
#[inline(always)]
pub fn scales_mins(block: &[u8]) -> ([u8; 8], [u8; 8]) {
    let scales = &block[4..16];
    let (mut sc, mut m) = ([0u8; 8], [0u8; 8]);
    for j in 0..8 {
        (sc[j], m[j]) = scale_min(scales, j);
    }
    (sc, m)
}

/// Unsigned 4-bit values of sub-block `j`.
#[inline(always)]
pub fn unpack_sub(block: &[u8], j: usize) -> [u8; QK] {
    let qs = &block[16 + 32 * (j / 2)..16 + 32 * (j / 2) + 32];
    let shift = 4 * (j % 2);
    std::array::from_fn(|l| (qs[l] >> shift) & 0xF)
}

pub fn dequantize_block(block: &[u8], out: &mut [f32]) {
    let (d, dmin) = (f16_at(block, 0), f16_at(block, 2));
    let (sc, m) = scales_mins(block);
    for j in 0..QK_K / QK {
        let q = unpack_sub(block, j);
        let (scale, min) = (d * sc[j] as f32, dmin * m[j] as f32);
        for (o, &q) in out[j * QK..(j + 1) * QK].iter_mut().zip(&q) {
            *o = scale * q as f32 - min;
        }
    }
}

/// Per sub-block: `d sc_j d_a sum q a - dmin m_j d_a sum a`.
pub fn dot(row: &[u8], act: Q8Row<'_>) -> f32 {
    let mut sum = 0f32;
    for (b, block) in row.chunks_exact(BLOCK_BYTES).enumerate() {
        let (d, dmin) = (f16_at(block, 0), f16_at(block, 2));
        let (sc, m) = scales_mins(block);
        for j in 0..QK_K / QK {
            let c = b * (QK_K / QK) + j;
            let q = unpack_sub(block, j);
            let a = &act.qs[c * QK..(c + 1) * QK];
            let isum: i32 = q.iter().zip(a).map(|(&q, &a)| q as i32 * a as i32).sum();
            sum += d * act.d[c] * (sc[j] as i32 * isum) as f32
                - dmin * m[j] as f32 * act.scaled_sum(c);
        }
    }
    sum
}
