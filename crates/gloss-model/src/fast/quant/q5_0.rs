//! Q5_0: blocks of 32 weights, `d * (q - 16)` with 5-bit `q`: 4 low bits in nibbles as Q4_0,
//! the fifth bit of element `j` in bit `j` of a little-endian u32.

use super::{Q8Row, QK, f16_at};

/// f16 `d`, 4 bytes of high bits, 16 bytes of nibbles.
pub const BLOCK_BYTES: usize = 22;

#[inline(always)]
pub fn unpack(block: &[u8]) -> [u8; QK] {
    let qh = u32::from_le_bytes([block[2], block[3], block[4], block[5]]);
    let mut q = [0u8; QK];
    for (j, &b) in block[6..22].iter().enumerate() {
        q[j] = (b & 0xF) | ((((qh >> j) & 1) as u8) << 4);
        q[j + 16] = (b >> 4) | ((((qh >> (j + 16)) & 1) as u8) << 4);
    }
    q
}

pub fn dequantize_block(block: &[u8], out: &mut [f32]) {
    let d = f16_at(block, 0);
    for (o, q) in out.iter_mut().zip(unpack(block)) {
        *o = d * (q as i32 - 16) as f32;
    }
}

/// `sum w * a` as `d_w d_a (sum q a - 16 sum a)`.
pub fn dot(row: &[u8], act: Q8Row<'_>) -> f32 {
    let mut sum = 0f32;
    for (c, block) in row.chunks_exact(BLOCK_BYTES).enumerate() {
        let q = unpack(block);
        let a = &act.qs[c * QK..(c + 1) * QK];
        let isum: i32 = q.iter().zip(a).map(|(&q, &a)| q as i32 * a as i32).sum();
        let d = f16_at(block, 0);
        sum += d * act.d[c] * isum as f32 - 16.0 * d * act.scaled_sum(c);
    }
    sum
}
