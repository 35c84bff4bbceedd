//! Q8_0: blocks of 32 weights, `d * q` with signed 8-bit `q`.

use super::{Q8Row, QK, f16_at};

/// f16 `d`, then 32 signed bytes.
pub const BLOCK_BYTES: usize = 34;

pub fn dequantize_block(block: &[u8], out: &mut [f32]) {
    let d = f16_at(block, 0);
    for (o, &q) in out.iter_mut().zip(&block[2..34]) {
        *o = d * (q as i8) as f32;
    }
}

pub fn dot(row: &[u8], act: Q8Row<'_>) -> f32 {
    let mut sum = 0f32;
    for (c, block) in row.chunks_exact(BLOCK_BYTES).enumerate() {
        let a = &act.qs[c * QK..(c + 1) * QK];
        let isum: i32 = block[2..34]
            .iter()
            .zip(a)
            .map(|(&q, &a)| (q as i8) as i32 * a as i32)
            .sum();
        sum += f16_at(block, 0) * act.d[c] * isum as f32;
    }
    sum
}
