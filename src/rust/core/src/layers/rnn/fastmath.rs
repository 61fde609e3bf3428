//! Sigmoid and tanh over f32 slices in loops the compiler vectorizes (the gate math of the
//! recurrent layers spends most of its time in them): `exp` as Cephes' `expf` (range reduction
//! by ln 2, a degree-6 polynomial; relative error about 1e-7), without branches. Other float
//! types and activations go to [`Activation::forward`].

use crate::activations::Activation;
use crate::Real;
use std::any::TypeId;

#[inline(always)]
fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    const ROUND: f32 = 12_582_912.0; // 1.5 * 2^23: adding and subtracting rounds to an integer
    let x = x.clamp(-87.3, 88.3);
    let n = (x * LOG2E + ROUND) - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let y = p * r * r + r + 1.0;
    y * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

fn sigmoid(x: &mut [f32]) {
    x.iter_mut().for_each(|v| *v = 1.0 / (1.0 + exp(-*v)));
}

fn tanh(x: &mut [f32]) {
    // tanh(x) = 1 - 2 / (e^{2x} + 1)
    x.iter_mut().for_each(|v| *v = 1.0 - 2.0 / (exp(2.0 * *v) + 1.0));
}

/// `a` over `x` in place (rows of `k` for row-wise activations).
pub fn forward<T: Real>(a: Activation, x: &mut [T], k: usize) {
    if TypeId::of::<T>() == TypeId::of::<f32>() && matches!(a, Activation::Sigmoid | Activation::Tanh) {
        // SAFETY: T is f32 (same type, so same layout).
        let x = unsafe { &mut *(x as *mut [T] as *mut [f32]) };
        if a == Activation::Sigmoid {
            sigmoid(x)
        } else {
            tanh(x)
        }
    } else {
        a.forward(x, k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_and_tanh_are_within_f32_rounding_of_the_exact_ones() {
        let xs: Vec<f32> = (-40000..=40000).map(|i| i as f32 * 0.0025).chain([-100.0, 100.0, 1e-8, -1e-8]).collect();
        for a in [Activation::Sigmoid, Activation::Tanh] {
            let mut fast = xs.clone();
            forward(a, &mut fast, 1);
            let mut worst = 0f64;
            for (x, f) in xs.iter().zip(&fast) {
                let x = *x as f64;
                let exact = if a == Activation::Sigmoid { 1.0 / (1.0 + (-x).exp()) } else { x.tanh() };
                worst = worst.max((*f as f64 - exact).abs());
            }
            assert!(worst < 3e-7, "{a:?}: {worst}");
        }
        // f64 keeps the exact functions
        let mut d = vec![0.5f64];
        forward(Activation::Tanh, &mut d, 1);
        assert_eq!(d[0], 0.5f64.tanh());
    }
}
