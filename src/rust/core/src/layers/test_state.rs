//! A test-only layer with state, the shape of batch normalization's: `y = x * gamma + moving`
//! per feature (last axis), where `gamma` is trained and `moving` is a weight the optimizer
//! never sees, updated in training forward passes as Keras updates moving statistics:
//! `moving = moving * momentum + mean(x) * (1 - momentum)`.

use super::{ConfigEntries, Layer, LayerDef, LayerSpec, WeightRef};
use crate::keras_h5::KerasLayerConfig;
use crate::rng::Rng;
use crate::tensor::Tensor;
use crate::Real;
use serde::{Deserialize, Serialize};

/// The test layer's arguments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScaleShiftConfig {
    pub momentum: f64,
}

impl LayerDef for ScaleShiftConfig {
    fn build<T: Real>(&self, spec: &LayerSpec, inputs: &[&[usize]], _: &mut Rng) -> Result<Box<dyn Layer<T>>, String> {
        Ok(Box::new(ScaleShift::new(spec.clone(), self.momentum, inputs[0])))
    }

    /// Keras has no such layer: its config holds only the common entries.
    fn keras_config(&self, _: &mut ConfigEntries) {}

    fn from_keras(c: &mut KerasLayerConfig<'_>) -> Result<Self, String> {
        Err(format!("layer '{}' (TestScaleShift) is a test layer, not read from Keras files", c.name))
    }
}

pub struct ScaleShift<T> {
    spec: LayerSpec,
    shape: Vec<usize>,
    momentum: f64,
    gamma: Vec<T>,
    dgamma: Vec<T>,
    moving: Vec<T>,
}

impl<T: Real> ScaleShift<T> {
    pub fn new(spec: LayerSpec, momentum: f64, input: &[usize]) -> Self {
        let d = *input.last().unwrap();
        ScaleShift {
            spec,
            shape: input.to_vec(),
            momentum,
            gamma: vec![T::one(); d],
            dgamma: vec![T::zero(); d],
            moving: vec![T::zero(); d],
        }
    }
}

impl<T: Real> Layer<T> for ScaleShift<T> {
    fn spec(&self) -> &LayerSpec {
        &self.spec
    }

    fn output_shape(&self) -> &[usize] {
        &self.shape
    }

    fn forward(&mut self, xs: &[&Tensor<T>], out: &mut Tensor<T>, training: bool, _rng: &mut Rng) {
        let x = xs[0];
        let d = self.gamma.len();
        let rows = x.data.len() / d;
        if training && rows > 0 {
            let m = T::c(self.momentum);
            for (j, mv) in self.moving.iter_mut().enumerate() {
                let mean = x.data.iter().skip(j).step_by(d).fold(T::zero(), |a, v| a + *v) / T::c(rows as f64);
                *mv = *mv * m + mean * (T::one() - m);
            }
        }
        out.resize(&x.shape);
        for (o, xr) in out.data.chunks_exact_mut(d).zip(x.data.chunks_exact(d)) {
            for j in 0..d {
                o[j] = xr[j] * self.gamma[j] + self.moving[j];
            }
        }
    }

    fn backward(
        &mut self,
        xs: &[&Tensor<T>],
        _out: &Tensor<T>,
        g: &mut Tensor<T>,
        dxs: &mut [Option<&mut Tensor<T>>],
        _pre: bool,
    ) {
        let x = xs[0];
        let d = self.gamma.len();
        self.dgamma.iter_mut().for_each(|v| *v = T::zero());
        for (gr, xr) in g.data.chunks_exact(d).zip(x.data.chunks_exact(d)) {
            for j in 0..d {
                self.dgamma[j] += gr[j] * xr[j];
            }
        }
        if let Some(dx) = dxs[0].as_deref_mut() {
            dx.resize(&x.shape);
            for (dr, gr) in dx.data.chunks_exact_mut(d).zip(g.data.chunks_exact(d)) {
                for j in 0..d {
                    dr[j] = gr[j] * self.gamma[j];
                }
            }
        }
    }

    fn weights(&self) -> Vec<WeightRef<'_, T>> {
        let d = self.gamma.len();
        vec![
            WeightRef { name: "gamma", shape: vec![d], values: &self.gamma, trainable: true },
            WeightRef { name: "moving", shape: vec![d], values: &self.moving, trainable: false },
        ]
    }

    fn push_params<'a>(&'a mut self, params: &mut Vec<&'a mut [T]>, grads: &mut Vec<&'a mut [T]>) {
        params.push(&mut self.gamma);
        grads.push(&mut self.dgamma);
    }

    fn push_weights_mut<'a>(&'a mut self, out: &mut Vec<&'a mut [T]>) {
        out.push(&mut self.gamma);
        out.push(&mut self.moving);
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{Model, ModelSpec};
    use crate::rng::Rng;
    use crate::tensor::Tensor;
    use serde_json::json;

    fn model() -> Model<f32> {
        let spec: ModelSpec = serde_json::from_value(json!({"name": "m", "input_shape": [2], "layers": [
            {"class_name": "TestScaleShift", "name": "ss", "momentum": 0.5},
            {"class_name": "Dense", "name": "d", "units": 1, "kernel_initializer": {"name": "ones"}}]}))
        .unwrap();
        let mut m = Model::build(spec, &mut Rng::seed_from(1)).unwrap();
        let c = json!({"optimizer": {"name": "sgd", "learning_rate": 0.1}, "loss": "mse"});
        m.compile(serde_json::from_value(c).unwrap()).unwrap();
        m
    }

    #[test]
    fn state_weights_are_weights_but_not_parameters() {
        let mut m = model();
        assert_eq!(m.count_params(), (2 + 2 + 3, 2 + 3), "moving counts in the total, not in the trainable");
        let names: Vec<&str> = m.get_weights().iter().map(|w| w.1).collect();
        assert_eq!(names, ["gamma", "moving", "kernel", "bias"], "Keras order: trainable, then state, per layer");
        let x = Tensor::from_vec(&[2, 2], vec![1.0, 2.0, 3.0, 6.0]);
        let y = Tensor::from_vec(&[2, 1], vec![0.0, 0.0]);
        let mut run = m.new_running(&[1]).unwrap();
        m.train_step(std::slice::from_ref(&x), std::slice::from_ref(&y), None, &mut run);
        let w = m.get_weights();
        // moving = 0 * 0.5 + mean * 0.5, updated by the training forward pass, not by SGD
        assert_eq!(w[1].3, vec![1.0, 2.0]);
        // gamma moved by SGD: out = x * 1 + (1, 2) -> dense(ones): pred = (6, 12); mse:
        // dL/dpred = 2 * pred / 2 = pred; dgamma_j = sum_i pred_i * x_ij = (42, 84)
        assert_eq!(w[0].3, vec![1.0 - 0.1 * 42.0, 1.0 - 0.1 * 84.0]);
        // inference does not touch the state
        let _ = m.predict(&x, 32);
        assert_eq!(m.get_weights()[1].3, vec![1.0, 2.0]);
        // set_weights sets both kinds, and a state restores them
        let vals: Vec<(Vec<usize>, Vec<f32>)> = vec![
            (vec![2], vec![2.0, 3.0]),
            (vec![2], vec![-1.0, 0.5]),
            (vec![2, 1], vec![1.0, 1.0]),
            (vec![1], vec![0.0]),
        ];
        m.set_weights(&vals).unwrap();
        let out = m.predict(&x, 32);
        assert_eq!(out.data, vec![(2.0 - 1.0) + (6.0 + 0.5), (6.0 - 1.0) + (18.0 + 0.5)]);
        let back = Model::<f32>::from_bytes(&m.to_bytes(true), true).unwrap();
        assert_eq!(back.get_weights()[1].3, vec![-1.0, 0.5]);
    }
}
