//! Times each layer's forward and backward pass of the tutorial model on one batch, and the
//! optimizer update: `cargo run --release --example layer_probe [threads]`.
mod common;

use rkeras_core::rng::Rng;
use rkeras_core::tensor::Tensor;
use std::time::Instant;

fn main() {
    common::threads_from_args();
    let mut model = common::tutorial_model();
    let n = 128;
    let (x, _) = common::random_batch(n, &mut Rng::seed_from(2));
    let nl = model.layers().len();
    let mut acts: Vec<Tensor<f32>> = (0..nl).map(|_| Tensor::default()).collect();
    let mut rng = Rng::seed_from(5);
    let reps = 3000;
    let mut fwd = vec![0.0; nl];
    let mut bwd = vec![0.0; nl];
    let mut g = Tensor::default();
    let mut dx = Tensor::default();
    let mut again = 0.0;
    for rep in 0..reps + 200 {
        for i in 0..nl {
            let (done, rest) = acts.split_at_mut(i);
            let input = if i == 0 { &x } else { &done[i - 1] };
            let t = Instant::now();
            model.layers_mut()[i].forward(&[input], &mut rest[0], true, &mut rng);
            if rep >= 200 {
                fwd[i] += t.elapsed().as_secs_f64();
            }
            if std::env::var("TWICE").is_ok() && i == 1 {
                let t = Instant::now();
                model.layers_mut()[i].forward(&[input], &mut rest[0], true, &mut rng);
                if rep >= 200 {
                    again += t.elapsed().as_secs_f64();
                }
            }
        }
        g.clone_from(&acts[nl - 1]);
        for i in (0..nl).rev() {
            let input = if i == 0 { &x } else { &acts[i - 1] };
            let t = Instant::now();
            let d = if i > 0 { Some(&mut dx) } else { None };
            model.layers_mut()[i].backward(&[input], &acts[i], &mut g, &mut [d], i == nl - 1);
            if rep >= 200 {
                bwd[i] += t.elapsed().as_secs_f64();
            }
            if i > 0 {
                std::mem::swap(&mut g, &mut dx);
            }
        }
    }
    for i in 0..nl {
        println!(
            "{:10} forward {:7.1} us  backward {:7.1} us",
            model.layers()[i].spec().name,
            fwd[i] / reps as f64 * 1e6,
            bwd[i] / reps as f64 * 1e6
        );
    }
    println!("dropout forward again: {:.1} us", again / reps as f64 * 1e6);
    println!(
        "total      forward {:7.1} us  backward {:7.1} us",
        fwd.iter().sum::<f64>() / reps as f64 * 1e6,
        bwd.iter().sum::<f64>() / reps as f64 * 1e6
    );
}
