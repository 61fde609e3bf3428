//! `rkeras-core`: the pure-Rust engine behind the rkeras R package.
//!
//! Tensors are row-major and batch first; the layers compute forward and backward
//! explicitly; optimizers follow the Keras 3 update equations; the training loop calls
//! callbacks in Keras order. Nothing here knows about R: the binding crate converts R
//! values and wraps R closures behind the traits in [`train`] and [`callbacks`].

pub mod activations;
pub mod callbacks;
mod chacha8;
pub mod convert;
pub mod csv_log;
pub mod data;
pub mod denormal;
pub mod forkjoin;
pub mod graph;
pub mod hugepages;
pub mod image_augment;
pub mod init;
pub mod keras_h5;
pub mod keras_json;
pub mod layers;
pub mod linalg;
pub mod losses;
pub mod metrics;
pub mod model;
pub mod optimizers;
pub mod parts;
pub mod paused;
pub mod progress;
pub mod real;
pub mod reuse;
pub mod rng;
pub mod sequences;
pub mod serialize;
pub mod tensor;
pub mod text;
pub mod tfevents;
pub mod train;

pub use real::Real;

/// Keras' backend epsilon (fuzz factor for clipping).
pub const EPSILON: f64 = 1e-7;

#[cfg(test)]
pub(crate) mod testutil;
