//! Image augmentation for `flow_images_from_data()`: one call per batch into
//! `rkeras_core::image_augment`.

use crate::r_convert::{dims_of, from_spec, from_tensor, to_tensor};
use extendr_api::prelude::*;
use rkeras_core::image_augment::{
    apply_transforms, mix_seed, permutation, process_batch, AugmentConfig, FillMode, StandardizeConfig, Transform,
};
use rkeras_core::tensor::Tensor;

fn seed_of(parts: &[f64]) -> std::result::Result<u64, String> {
    if parts.iter().any(|p| !p.is_finite() || *p < 0.0) {
        return Err(format!("seed parts must be finite and >= 0, got {parts:?}"));
    }
    Ok(mix_seed(&parts.iter().map(|p| *p as u64).collect::<Vec<_>>()))
}

/// Rows `index` (1-based) of the R double array `x` `(n, h, w, c)` as a row-major f32 batch,
/// gathered straight from R's column-major memory (no copy of `x`).
fn gather_rows(x: &Robj, index: &[i32]) -> std::result::Result<Tensor<f32>, String> {
    let dims = dims_of(x);
    let [n, h, w, c]: [usize; 4] = dims
        .as_slice()
        .try_into()
        .map_err(|_| format!("x must be a 4-d array (samples, height, width, channels), got shape {dims:?}"))?;
    let v = x.as_real_slice().ok_or("x must be a double array")?;
    let mut data = vec![0f32; index.len() * h * w * c];
    let size = h * w * c;
    for (b, &i) in index.iter().enumerate() {
        if i < 1 || i as usize > n {
            return Err(format!("row {i} is outside 1..{n}"));
        }
        let i = i as usize - 1;
        let out = &mut data[b * size..(b + 1) * size];
        // R element [i, r, col, k] sits at i + n * (r + h * (col + w * k))
        for k in 0..c {
            for col in 0..w {
                for r in 0..h {
                    out[(r * w + col) * c + k] = v[i + n * (r + h * (col + w * k))] as f32;
                }
            }
        }
    }
    Ok(Tensor { shape: vec![index.len(), h, w, c], data })
}

/// A batch of channels-last images through the random transforms `augment` (a spec list or
/// NULL) and the standardization `standardize` (a spec list or NULL), the draws from the stream
/// `seed` (numbers mixed into one 64-bit seed). The batch is `x` (an R array `(n, h, w, c)`), or
/// its rows `index` (1-based) when `index` is not NULL (then `x` must be a double array).
#[extendr]
fn rk_image_batch(
    x: Robj,
    index: Robj,
    augment: Robj,
    standardize: Robj,
    seed: Vec<f64>,
) -> std::result::Result<Robj, String> {
    let t = if index.is_null() {
        to_tensor(&x, "x")?
    } else {
        let idx: Vec<i32> = match index.as_integer_slice() {
            Some(s) => s.to_vec(),
            None => index.as_real_slice().ok_or("index must be numeric")?.iter().map(|v| *v as i32).collect(),
        };
        gather_rows(&x, &idx)?
    };
    let shape: [usize; 4] =
        t.shape.as_slice().try_into().map_err(|_| {
            format!("x must be a 4-d array (samples, height, width, channels), got shape {:?}", t.shape)
        })?;
    let augment: Option<AugmentConfig> =
        if augment.is_null() { None } else { Some(from_spec(&augment, "image augmentation")?) };
    let standardize: Option<StandardizeConfig> =
        if standardize.is_null() { None } else { Some(from_spec(&standardize, "image standardization")?) };
    let data = process_batch(&t.data, shape, augment.as_ref(), standardize.as_ref(), seed_of(&seed)?)?;
    Ok(from_tensor(&Tensor { shape: t.shape, data }))
}

/// Images `x` (`(n, h, w, c)`) each through its fixed transform (`transforms`: a list of n
/// named lists of Keras' `transform_parameters`), for tests against Keras' `apply_transform()`.
#[extendr]
fn rk_image_apply_transforms(
    x: Robj,
    transforms: Robj,
    fill_mode: Robj,
    cval: f64,
) -> std::result::Result<Robj, String> {
    let t = to_tensor(&x, "x")?;
    let shape: [usize; 4] =
        t.shape.as_slice().try_into().map_err(|_| format!("x must be a 4-d array, got shape {:?}", t.shape))?;
    let transforms: Vec<Transform> = from_spec(&transforms, "image transforms")?;
    let fill_mode: FillMode = from_spec(&fill_mode, "fill_mode")?;
    let data = apply_transforms(&t.data, shape, &transforms, fill_mode, cval)?;
    Ok(from_tensor(&Tensor { shape: t.shape, data }))
}

/// A random permutation of `1..n` from the stream `seed`.
#[extendr]
fn rk_image_permutation(n: i32, seed: Vec<f64>) -> std::result::Result<Vec<i32>, String> {
    if n < 0 {
        return Err(format!("n must be >= 0, got {n}"));
    }
    Ok(permutation(n as usize, seed_of(&seed)?).into_iter().map(|i| i as i32 + 1).collect())
}

extendr_module! {
    mod r_image;
    fn rk_image_batch;
    fn rk_image_permutation;
    fn rk_image_apply_transforms;
}
