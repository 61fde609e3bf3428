//! `data_format = "channels_first"` for the convolutions and poolings. Their kernels work on
//! channels-last data, where one position's channels are contiguous (the GEMM rows of
//! im2col); a channels-first layer is the same channels-last layer run on a transposed copy
//! of its input, `(c, spatial...)` to `(spatial..., c)`, with its output transposed back.
//! Keras' weights have the same layout in either format, so the weights are the inner
//! layer's, unchanged. The copies cost two transpositions a pass, small beside a convolution.

use super::padding::DataFormat;
use super::{Layer, LayerSpec, WeightCount, WeightRef};
use crate::activations::Activation;
use crate::rng::Rng;
use crate::tensor::Tensor;
use crate::Real;

/// A per-sample `(c, spatial...)` shape as `(spatial..., c)`.
pub(super) fn to_last(s: &[usize]) -> Vec<usize> {
    let mut v = s.to_vec();
    if !v.is_empty() {
        v.rotate_left(1);
    }
    v
}

/// A per-sample `(spatial..., c)` shape as `(c, spatial...)`.
pub(super) fn to_first(s: &[usize]) -> Vec<usize> {
    let mut v = s.to_vec();
    if !v.is_empty() {
        v.rotate_right(1);
    }
    v
}

/// Builds a layer of data format `format` on per-sample `input`, from `build`, which builds
/// the channels-last layer for a per-sample shape.
pub(super) fn build<T: Real>(
    format: DataFormat,
    spec: &LayerSpec,
    input: &[usize],
    build: impl FnOnce(&[usize]) -> Result<Box<dyn Layer<T>>, String>,
) -> Result<Box<dyn Layer<T>>, String> {
    if format == DataFormat::ChannelsLast || input.len() < 2 {
        return build(input);
    }
    let inner = build(&to_last(input))?;
    if matches!(inner.output_activation(), Some(Activation::Softmax | Activation::LogSoftmax)) {
        // Keras applies it along the last axis, a spatial one here
        return Err(format!(
            "{} ({}): a softmax activation with data_format = \"channels_first\" is not supported (Keras takes \
             it along the last spatial axis); use channels_last, or a linear layer followed by a softmax over the \
             axis you mean",
            spec.name,
            spec.kind.class_name()
        ));
    }
    Ok(Box::new(ChannelsFirst {
        out_shape: to_first(inner.output_shape()),
        inner,
        x: Tensor::default(),
        y: Tensor::default(),
        g: Tensor::default(),
        dx: Tensor::default(),
    }))
}

/// [`super::LayerDef::weight_count`] of a layer of data format `format`, from `count`, that of
/// the channels-last layer.
pub(super) fn weight_count(
    format: DataFormat,
    shape: &mut Vec<usize>,
    count: impl FnOnce(&mut Vec<usize>) -> WeightCount,
) -> WeightCount {
    if format == DataFormat::ChannelsLast || shape.len() < 2 {
        return count(shape);
    }
    *shape = to_last(shape);
    let n = count(shape);
    *shape = to_first(shape);
    n
}

/// Transposes each of the `src.len() / (rows * cols)` samples of `src`, a `rows x cols`
/// matrix, into `dst`.
fn transpose_samples<T: Real>(src: &[T], dst: &mut [T], rows: usize, cols: usize) {
    let n = rows * cols;
    if rows == 1 || cols == 1 {
        dst.copy_from_slice(src);
        return;
    }
    for (s, d) in src.chunks_exact(n).zip(dst.chunks_exact_mut(n)) {
        for (r, row) in s.chunks_exact(cols).enumerate() {
            for (c, v) in row.iter().enumerate() {
                d[c * rows + r] = *v;
            }
        }
    }
}

/// Channels and spatial positions of a per-sample `(c, spatial...)` shape.
fn split(first: &[usize]) -> (usize, usize) {
    (first[0], first[1..].iter().product())
}

/// A channels-last layer seen through channels-first input and output.
struct ChannelsFirst<T> {
    inner: Box<dyn Layer<T>>,
    out_shape: Vec<usize>,
    /// The transposed input and the inner layer's output of the last forward pass.
    x: Tensor<T>,
    y: Tensor<T>,
    /// The transposed output gradient and the inner layer's input gradient.
    g: Tensor<T>,
    dx: Tensor<T>,
}

impl<T: Real> Layer<T> for ChannelsFirst<T> {
    fn spec(&self) -> &LayerSpec {
        self.inner.spec()
    }

    fn output_shape(&self) -> &[usize] {
        &self.out_shape
    }

    fn forward(&mut self, xs: &[&Tensor<T>], out: &mut Tensor<T>, training: bool, rng: &mut Rng) {
        let x = xs[0];
        let batch = x.rows();
        let (c, s) = split(&x.shape[1..]);
        self.x.resize_batch(batch, &to_last(&x.shape[1..]));
        transpose_samples(&x.data, &mut self.x.data, c, s);
        self.inner.forward(&[&self.x], &mut self.y, training, rng);
        out.resize_batch(batch, &self.out_shape);
        let (oc, os) = split(&self.out_shape);
        transpose_samples(&self.y.data, &mut out.data, os, oc);
    }

    fn backward(
        &mut self,
        xs: &[&Tensor<T>],
        _out: &Tensor<T>,
        g: &mut Tensor<T>,
        dxs: &mut [Option<&mut Tensor<T>>],
        g_is_preactivation: bool,
    ) {
        let batch = g.rows();
        let (oc, os) = split(&self.out_shape);
        self.g.resize_batch(batch, self.inner.output_shape());
        transpose_samples(&g.data, &mut self.g.data, oc, os);
        let wants_dx = dxs[0].is_some();
        self.dx.resize_batch(batch, &self.x.shape[1..]);
        let mut inner_dx = [wants_dx.then_some(&mut self.dx)];
        self.inner.backward(&[&self.x], &self.y, &mut self.g, &mut inner_dx, g_is_preactivation);
        if let Some(dx) = dxs[0].as_deref_mut() {
            dx.resize(&xs[0].shape);
            let (c, s) = split(&xs[0].shape[1..]);
            transpose_samples(&self.dx.data, &mut dx.data, s, c);
        }
    }

    fn weights(&self) -> Vec<WeightRef<'_, T>> {
        self.inner.weights()
    }

    fn push_params<'a>(&'a mut self, params: &mut Vec<&'a mut [T]>, grads: &mut Vec<&'a mut [T]>) {
        self.inner.push_params(params, grads);
    }

    fn push_weights_mut<'a>(&'a mut self, out: &mut Vec<&'a mut [T]>) {
        self.inner.push_weights_mut(out);
    }

    fn set_input_gradient_needed(&mut self, needed: bool) {
        self.inner.set_input_gradient_needed(needed);
    }

    fn param_count(&self) -> usize {
        self.inner.param_count()
    }

    fn trainable_param_count(&self) -> usize {
        self.inner.trainable_param_count()
    }

    /// Elementwise activations (the fused sigmoid) commute with the transpositions; a
    /// softmax is refused when the layer is built.
    fn output_activation(&self) -> Option<Activation> {
        self.inner.output_activation()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::gradcheck::{check_graph, data, json_chain, rand_bias};
    use serde_json::json;

    /// Gradients through a chain of channels-first layers (each one's input gradient feeds
    /// the parameter gradients before it) match central differences.
    #[test]
    fn gradients_through_channels_first_layers_match_finite_differences() {
        let cf = "channels_first";
        let m = json_chain(
            vec![2, 7, 6],
            vec![
                json!({"class_name": "Conv2D", "name": "c1", "filters": 3, "kernel_size": [3, 2], "padding": "same",
                       "activation": "tanh", "bias_initializer": rand_bias(), "data_format": cf}),
                json!({"class_name": "MaxPooling2D", "name": "p", "pool_size": [2, 2], "data_format": cf}),
                json!({"class_name": "SeparableConv2D", "name": "s", "filters": 2, "kernel_size": [2, 2],
                       "bias_initializer": rand_bias(), "data_format": cf}),
                json!({"class_name": "Conv2DTranspose", "name": "t", "filters": 2, "kernel_size": [2, 2], "strides": [2, 2],
                       "activation": "sigmoid", "data_format": cf}),
                json!({"class_name": "DepthwiseConv2D", "name": "dw", "kernel_size": [2, 2], "data_format": cf}),
                json!({"class_name": "GlobalAveragePooling2D", "name": "g", "keepdims": true, "data_format": cf}),
                json!({"class_name": "Flatten", "name": "f"}),
                json!({"class_name": "Dense", "name": "d", "units": 2}),
            ],
        );
        let mut x = data(3, 2 * 7 * 6, 1);
        x.shape = vec![3, 2, 7, 6];
        check_graph(m, vec![x], vec![data(3, 2, 2)], None);
        let m = json_chain(
            vec![3, 9],
            vec![
                json!({"class_name": "Conv1D", "name": "c", "filters": 2, "kernel_size": [3], "padding": "causal",
                       "bias_initializer": rand_bias(), "data_format": cf}),
                json!({"class_name": "AveragePooling1D", "name": "p", "pool_size": [2], "data_format": cf}),
                json!({"class_name": "Flatten", "name": "f"}),
                json!({"class_name": "Dense", "name": "d", "units": 2}),
            ],
        );
        let mut x = data(2, 27, 3);
        x.shape = vec![2, 3, 9];
        check_graph(m, vec![x], vec![data(2, 2, 4)], None);
    }

    #[test]
    fn a_channels_first_softmax_is_refused() {
        let spec: LayerSpec = serde_json::from_value(json!({"class_name": "Conv2D", "name": "c", "filters": 2,
            "kernel_size": [1, 1], "activation": "softmax", "data_format": "channels_first"}))
        .unwrap();
        let e = crate::layers::build::<f32>(&spec, &[&[3, 4, 4]], &mut Rng::seed_from(1)).err().unwrap();
        assert!(e.starts_with("c (Conv2D): a softmax activation with data_format = \"channels_first\""), "{e}");
    }

    #[test]
    fn shapes_move_the_channels_axis() {
        assert_eq!(to_last(&[3, 7, 6]), vec![7, 6, 3]);
        assert_eq!(to_first(&[7, 6, 3]), vec![3, 7, 6]);
        assert_eq!(to_first(&to_last(&[4, 9])), vec![4, 9]);
    }

    #[test]
    fn samples_transpose_and_back() {
        // two samples of 2 channels x 3 positions
        let x: Vec<f64> = (0..12).map(f64::from).collect();
        let mut t = vec![0.0; 12];
        transpose_samples(&x, &mut t, 2, 3);
        assert_eq!(t, vec![0., 3., 1., 4., 2., 5., 6., 9., 7., 10., 8., 11.]);
        let mut back = vec![0.0; 12];
        transpose_samples(&t, &mut back, 3, 2);
        assert_eq!(back, x);
    }
}
