//! Trains the tutorial model (784-256-128-10, dropout, RMSprop, batch 128) on random data for
//! profiling the core without R: `cargo run --release --example fit_profile [epochs] [threads]`.
mod common;

use rkeras_core::callbacks::{Callback, StringHost};
use rkeras_core::rng::Rng;
use rkeras_core::train::{fit, ArraySource, FitConfig};

fn main() {
    let epochs: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(3);
    common::threads_from_arg(2);
    let mut model = common::tutorial_model();
    let n = 60000;
    let mut r = Rng::seed_from(2);
    let (x, y) = common::random_batch(n, &mut r);
    let mut host = StringHost::default();
    for e in 0..epochs {
        let t = std::time::Instant::now();
        let mut train = ArraySource::new(vec![&x], vec![&y], None, 0..48000, 128, true);
        let mut val = ArraySource::new(vec![&x], vec![&y], None, 48000..n, 128, false);
        let cbs: Vec<Box<dyn Callback<f32>>> = Vec::new();
        fit(&mut model, &mut train, Some(&mut val), cbs, &mut host, &FitConfig { epochs: 1, ..Default::default() });
        eprintln!("epoch {e}: {:.3} s", t.elapsed().as_secs_f64());
    }
}
