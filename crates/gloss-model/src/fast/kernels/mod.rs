//! Dot products of quantized weight rows with Q8 activation rows, per instruction set.
//!
//! The instruction set is picked once at run time (`is_x86_feature_detected!`), never at compile
//! time, so one binary runs everywhere and uses AVX-512 VNNI where the CPU has it. Every kernel
//! takes `N` activation rows at once: prompt processing unpacks each weight block once and
//! multiplies it into several tokens (a small int8 GEMM), decoding uses `N = 1`.

#[cfg(target_arch = "x86_64")]
mod x86;

use std::sync::OnceLock;

use super::quant::{self, Q8Row, QType};

/// Rows per repacked group.
pub const R8_ROWS: usize = 8;

/// The kernel families, slowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    Scalar,
    Avx2,
    Avx512Vnni,
}

impl Isa {
    /// Whether this CPU can run the family.
    pub fn available(self) -> bool {
        // Cached: `dot_rows` asks once per weight row.
        static AVAILABLE: OnceLock<[bool; 3]> = OnceLock::new();
        AVAILABLE.get_or_init(|| [Isa::Scalar, Isa::Avx2, Isa::Avx512Vnni].map(|isa| isa.probe()))
            [self as usize]
    }

    fn probe(self) -> bool {
        match self {
            Isa::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => {
                is_x86_feature_detected!("avx2")
                    && is_x86_feature_detected!("fma")
                    && is_x86_feature_detected!("f16c")
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512Vnni => {
                Isa::Avx2.probe()
                    && is_x86_feature_detected!("avx512f")
                    && is_x86_feature_detected!("avx512bw")
                    && is_x86_feature_detected!("avx512vl")
                    && is_x86_feature_detected!("avx512vnni")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The best family this CPU runs; `GLOSS_FAST_ISA=scalar|avx2|avx512vnni` caps it (for
    /// measurements and tests), never raising it past what the CPU has.
    pub fn detect() -> Isa {
        static ISA: OnceLock<Isa> = OnceLock::new();
        *ISA.get_or_init(|| {
            let cap = match std::env::var("GLOSS_FAST_ISA").as_deref() {
                Ok("scalar") => Isa::Scalar,
                Ok("avx2") => Isa::Avx2,
                _ => Isa::Avx512Vnni,
            };
            [Isa::Avx512Vnni, Isa::Avx2, Isa::Scalar]
                .into_iter()
                .find(|isa| *isa as u8 <= cap as u8 && isa.available())
                .unwrap_or(Isa::Scalar)
        })
    }
}

/// `out[t] = w · a[t]` for one weight row `w` of type `ty` and `N` activation rows.
///
/// Panics if `isa` is not available on this CPU.
#[inline]
pub fn dot_rows<const N: usize>(
    isa: Isa,
    ty: QType,
    w: &[u8],
    a: &[Q8Row<'_>; N],
    out: &mut [f32; N],
) {
    match isa {
        Isa::Scalar => {
            for (o, a) in out.iter_mut().zip(a) {
                *o = ty.dot_scalar(w, *a);
            }
        }
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => {
            assert!(isa.available());
            // SAFETY: the CPU has AVX2, FMA and F16C (checked above; `detect` only returns
            // families that are available); the kernels read `w` and `a` within their lengths.
            *out = unsafe { x86::avx2::dot(ty, w, a) };
        }
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512Vnni => {
            assert!(isa.available());
            // SAFETY: as above, with AVX-512 F/BW/VL/VNNI also present.
            *out = unsafe { x86::vnni::dot(ty, w, a) };
        }
        #[cfg(not(target_arch = "x86_64"))]
        _ => unreachable!("no SIMD kernels on this architecture"),
    }
}

/// `out[g][t][i] = row i of group g · a[t]` for consecutive groups of eight rows repacked at
/// load (`QType::repack_r8`), one group per element of `out`.
#[inline]
pub fn dot_r8<const N: usize>(
    isa: Isa,
    ty: QType,
    groups: &[u8],
    a: &[Q8Row<'_>; N],
    out: &mut [[[f32; R8_ROWS]; N]],
) {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => {
            assert!(isa.available());
            // SAFETY: the CPU has the features (checked above).
            unsafe { x86::avx2::dot_r8(ty, groups, a, out) };
        }
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512Vnni => {
            assert!(isa.available());
            // SAFETY: as above.
            unsafe { x86::vnni::dot_r8(ty, groups, a, out) };
        }
        _ => {
            assert!(
                !out.is_empty() && groups.len().is_multiple_of(out.len()),
                "one output per group"
            );
            let group_bytes = groups.len() / out.len();
            for (group, out) in groups.chunks_exact(group_bytes).zip(out) {
                for (o, a) in out.iter_mut().zip(a) {
                    *o = ty.dot_r8_scalar(group, *a);
                }
            }
        }
    }
}

/// Quantizes 32 activations to int8 (`quant::quantize_block`): the scale and each half's sum.
#[inline]
pub fn quantize_block(isa: Isa, x: &[f32; 32], qs: &mut [i8; 32]) -> (f32, [i16; 2]) {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 | Isa::Avx512Vnni => {
            assert!(isa.available());
            // SAFETY: both families include AVX2 (checked above).
            unsafe { x86::quantize_block(x, qs) }
        }
        _ => quant::quantize_block(x, qs),
    }
}

/// `scores[j] = q · keys[j]` for consecutive keys of `q.len()` values each.
pub fn dot_keys(isa: Isa, q: &[f32], keys: &[f32], scores: &mut [f32]) {
    let dim = q.len();
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if isa != Isa::Scalar && dim.is_multiple_of(8) {
        assert!(isa.available());
        for (out, keys) in scores.chunks_exact_mut(8).zip(keys.chunks_exact(8 * dim)) {
            // SAFETY: both SIMD families include AVX2 and FMA (checked above).
            out.copy_from_slice(&unsafe { x86::dot8(q, keys) });
            done += 8;
        }
    }
    for (s, k) in scores[done..]
        .iter_mut()
        .zip(keys[done * dim..].chunks_exact(dim))
    {
        *s = super::ops::dot(q, k);
    }
}
