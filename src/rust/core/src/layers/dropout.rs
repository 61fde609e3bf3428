//! `layer_dropout`: inverted dropout. Training keeps each value with probability `1 - rate`
//! and scales it by `1 / (1 - rate)`; inference is the identity. Any input shape.

use super::{ConfigEntries, Layer, LayerDef, LayerKind, LayerSpec, WeightCount};
use crate::keras_h5::KerasLayerConfig;
use crate::keras_json::Json;
use crate::rng::{Rng, Words};
use crate::tensor::Tensor;
use crate::Real;
use crate::{forkjoin, parts};
use serde::{Deserialize, Serialize};

/// `layer_dropout()`'s arguments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DropoutConfig {
    pub rate: f64,
}

impl LayerDef for DropoutConfig {
    const BUILD_CONFIG: bool = false;
    const TAKES_TRAINING: bool = true;

    fn build<T: Real>(&self, spec: &LayerSpec, inputs: &[&[usize]], _: &mut Rng) -> Result<Box<dyn Layer<T>>, String> {
        let rate = self.rate;
        if !(0.0..1.0).contains(&rate) {
            return Err(format!("{}: dropout rate must be in [0, 1), got {rate}", spec.name));
        }
        Ok(Box::new(Dropout::new(spec.clone(), inputs[0])))
    }

    fn keras_config(&self, c: &mut ConfigEntries) {
        c.push(("rate", Json::Float(self.rate)));
        c.push(("seed", Json::Null));
        c.push(("noise_shape", Json::Null));
    }

    fn keras2_config(&self, _layer: &str, c: &mut ConfigEntries) -> Result<(), String> {
        c.push(("rate", Json::Float(self.rate)));
        c.push(("noise_shape", Json::Null));
        c.push(("seed", Json::Null));
        Ok(())
    }

    fn mask_flow(&self) -> super::MaskFlow {
        super::MaskFlow::Pass
    }

    fn from_keras(c: &mut KerasLayerConfig<'_>) -> Result<Self, String> {
        c.require_null(&["noise_shape"])?;
        let rate = c
            .get("rate")
            .and_then(|v| v.as_f64())
            .filter(|r| (0.0..1.0).contains(r))
            .ok_or_else(|| format!("layer '{}' (Dropout): `rate` is missing or not in [0, 1)", c.name))?;
        Ok(DropoutConfig { rate })
    }

    fn weight_count(&self, _shape: &mut Vec<usize>) -> WeightCount {
        WeightCount::Values(0)
    }
}

/// Draws the mask (`scale` where the stream's next word is at or above `threshold`, else
/// 0) and applies it: `out = x * mask`. Words are drawn in bulk, a chunk at a time.
fn draw_mask<T: Real>(mut words: Words, threshold: u32, scale: T, mask: &mut [T], out: &mut [T], x: &[T]) {
    const CHUNK: usize = 1024;
    let mut w = [0u32; CHUNK];
    for ((m, o), x) in mask.chunks_mut(CHUNK).zip(out.chunks_mut(CHUNK)).zip(x.chunks(CHUNK)) {
        let w = &mut w[..m.len()];
        words.fill(w);
        // 32-bit compares: the loop becomes vector selects
        for (((m, o), v), &u) in m.iter_mut().zip(o.iter_mut()).zip(x).zip(w.iter()) {
            *m = if u >= threshold { scale } else { T::zero() };
            *o = *v * *m;
        }
    }
}

pub struct Dropout<T> {
    spec: LayerSpec,
    rate: f64,
    shape: Vec<usize>,
    /// 0 or 1/(1-rate) per element of the last training batch; empty after inference.
    mask: Vec<T>,
}

impl<T: Real> Dropout<T> {
    pub fn new(spec: LayerSpec, input_shape: &[usize]) -> Self {
        let LayerKind::Dropout(DropoutConfig { rate }) = spec.kind else { unreachable!() };
        Dropout { spec, rate, shape: input_shape.to_vec(), mask: Vec::new() }
    }
}

/// Dropout outside training (or at rate 0): the output is the input and the mask is emptied.
/// Returns whether that was the case.
pub(super) fn pass_through<T: Real>(training: bool, rate: f64, x: &[T], out: &mut [T], mask: &mut Vec<T>) -> bool {
    let pass = !training || rate == 0.0;
    if pass {
        out.copy_from_slice(x);
        mask.clear();
    }
    pass
}

/// Keep a value when a uniform u32 is at or above `rate * 2^32` (the threshold), scaled by
/// `1 / (1 - rate)`. rate < 1 (checked when the layer is made), so the threshold is below 2^32.
pub(super) fn keep_rule<T: Real>(rate: f64) -> (u32, T) {
    ((rate * 4_294_967_296.0) as u32, T::c(1.0 / (1.0 - rate)))
}

impl<T: Real> Layer<T> for Dropout<T> {
    fn spec(&self) -> &LayerSpec {
        &self.spec
    }

    fn output_shape(&self) -> &[usize] {
        &self.shape
    }

    fn forward(&mut self, xs: &[&Tensor<T>], out: &mut Tensor<T>, training: bool, rng: &mut Rng) {
        let x = xs[0];
        out.resize(&x.shape);
        if pass_through(training, self.rate, &x.data, &mut out.data, &mut self.mask) {
            return;
        }
        // Element e takes word e of the stream from here, whichever thread draws it, so the
        // masks do not depend on the thread count.
        let (threshold, scale) = keep_rule::<T>(self.rate);
        let len = x.data.len();
        self.mask.resize(len, T::zero());
        let start = rng.word_pos();
        let shared: &Rng = rng;
        if parts::split_elementwise(len) {
            let half = x.rows() / 2 * (len / x.rows().max(1));
            let (m0, m1) = self.mask.split_at_mut(half);
            let (o0, o1) = out.data.split_at_mut(half);
            let (x0, x1) = x.data.split_at(half);
            forkjoin::join(
                || draw_mask(shared.words_from(start), threshold, scale, m0, o0, x0),
                || draw_mask(shared.words_from(start + half as u128), threshold, scale, m1, o1, x1),
            );
        } else {
            draw_mask(shared.words_from(start), threshold, scale, &mut self.mask, &mut out.data, &x.data);
        }
        rng.set_word_pos(start + len as u128);
    }

    fn is_identity_at_inference(&self) -> bool {
        true
    }

    fn backward(
        &mut self,
        _xs: &[&Tensor<T>],
        _out: &Tensor<T>,
        g: &mut Tensor<T>,
        dxs: &mut [Option<&mut Tensor<T>>],
        _pre: bool,
    ) {
        if let Some(dx) = dxs[0].as_deref_mut() {
            dx.resize(&g.shape);
            if self.mask.is_empty() {
                dx.data.copy_from_slice(&g.data);
            } else {
                let apply = |d: &mut [T], g: &[T], m: &[T]| {
                    for ((d, gv), m) in d.iter_mut().zip(g).zip(m) {
                        *d = *gv * *m;
                    }
                };
                let len = g.data.len();
                if parts::split_elementwise(len) {
                    let half = g.rows() / 2 * (len / g.rows().max(1));
                    let (d0, d1) = dx.data.split_at_mut(half);
                    let ((g0, g1), (m0, m1)) = (g.data.split_at(half), self.mask.split_at(half));
                    forkjoin::join(|| apply(d0, g0, m0), || apply(d1, g1, m1));
                } else {
                    apply(&mut dx.data, &g.data, &self.mask);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_one_minus_rate_scales_by_its_inverse_and_is_identity_at_inference() {
        let spec =
            LayerSpec { name: "d".into(), trainable: true, kind: LayerKind::Dropout(DropoutConfig { rate: 0.4 }) };
        let mut layer = Dropout::<f64>::new(spec, &[1000]);
        let x = Tensor::from_vec(&[100, 1000], vec![1.0; 100_000]);
        let mut out = Tensor::default();
        let mut rng = Rng::seed_from(9);
        layer.forward(&[&x], &mut out, true, &mut rng);
        let kept = out.data.iter().filter(|v| **v != 0.0).count() as f64 / 100_000.0;
        assert!((kept - 0.6).abs() < 0.01, "kept {kept}");
        assert!(out.data.iter().all(|v| *v == 0.0 || (*v - 1.0 / 0.6).abs() < 1e-12));
        layer.forward(&[&x], &mut out, false, &mut rng);
        assert_eq!(out.data, x.data);
    }
}
