//! Recurrent layers: `layer_simple_rnn`, `layer_lstm`, `layer_gru` (Keras 3 equations and
//! weight layouts). Input `(batch, timesteps, features)`, output `(batch, units)`, or
//! `(batch, timesteps, units)` with `return_sequences`.
//!
//! Weights (Keras 3): `kernel (features, G·units)`, `recurrent_kernel (units, G·units)`,
//! `bias (G·units)`, gates in Keras order (LSTM i, f, c, o: G = 4; GRU z, r, h: G = 3, bias
//! `(2, 3·units)` with `reset_after` (input bias, then recurrent bias); SimpleRNN G = 1).
//!
//! # How it runs
//!
//! The batch is cut in one or two blocks of samples (decided by the batch size alone) and the
//! rows of every per-step buffer are laid out block by block, time-major inside a block:
//! row `(s, n)` of block `b` (samples `n0..n1`, `nb` of them) is `T·n0 + s·nb + (n - n0)`. So
//! - all input projections are one product `(T·N, F) x (F, G·U)` (plus the input bias);
//! - each block runs its time loop alone (a `(nb, U) x (U, G·U)` product per step, then the gate
//!   math, states kept for backward), the two blocks on two threads when allowed;
//! - backward runs the reverse loops per block (gate gradients, then `dh_{t-1}` by a product
//!   with the recurrent kernel transposed), then the parameter gradients and the input gradient
//!   as big products over all `T·N` rows.
//!
//! The layout depends only on the shapes, and a product's row or column halves are computed
//! exactly like the same rows of the whole product, so results do not depend on the thread
//! count. Buffers are kept in the layer: after the first batch, a step allocates nothing.
//!
//! Masks: a masked step keeps the previous states (h and c), and its output is the previous
//! output (Keras 3 with `zero_output_for_mask = FALSE`). Dropout: as Keras 3, `dropout` masks the
//! inputs and `recurrent_dropout` the previous output in the recurrent products, with masks drawn
//! once per batch (the same for every step); with `recurrent_dropout`, each gate has its own
//! masks (Keras' `implementation = 1`).

mod config;
mod engine;
mod fastmath;

pub use config::{GRUConfig, LSTMConfig, SimpleRNNConfig};
pub use engine::Recurrent;

/// The recurrent cell kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cell {
    Simple,
    Lstm,
    Gru { reset_after: bool },
}

impl Cell {
    /// Gates (blocks of `units` columns in the kernels).
    pub fn gates(self) -> usize {
        match self {
            Cell::Simple => 1,
            Cell::Lstm => 4,
            Cell::Gru { .. } => 3,
        }
    }

    /// The Keras name of the cell (the middle part of the weights' paths).
    pub fn cell_name(self) -> &'static str {
        match self {
            Cell::Simple => "simple_rnn_cell",
            Cell::Lstm => "lstm_cell",
            Cell::Gru { .. } => "gru_cell",
        }
    }
}

#[cfg(test)]
mod tests;
