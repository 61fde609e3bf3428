//! Checks that a slow batch source overlaps with compute: `cargo run --release --example overlap_check`.
mod common;

use rkeras_core::callbacks::{Callback, Halt, StringHost};
use rkeras_core::rng::Rng;
use rkeras_core::tensor::Tensor;
use rkeras_core::train::{fit, Batch, BatchSource, FitConfig};

struct Slow {
    x: Tensor<f32>,
    y: Tensor<f32>,
    sleep_us: u64,
    overlap: bool,
}
impl BatchSource<f32> for Slow {
    fn steps(&self) -> usize {
        300
    }
    fn fill(&mut self, _e: usize, _s: usize, b: &mut Batch<f32>) -> Result<(), Halt> {
        std::thread::sleep(std::time::Duration::from_micros(self.sleep_us));
        b.xs = vec![self.x.clone()];
        b.ys = vec![self.y.clone()];
        b.w = None;
        Ok(())
    }
    fn overlap(&self) -> bool {
        self.overlap
    }
}

fn main() {
    // the tutorial model (with its dropout layers)
    let mut model = common::tutorial_model();
    let mut r = Rng::seed_from(2);
    let x = Tensor::from_vec(&[128, 784], (0..128 * 784).map(|_| r.uniform() as f32).collect());
    let y = Tensor::from_vec(&[128, 10], (0..128 * 10).map(|i| (i % 10 == 0) as u8 as f32).collect());
    for (sleep_us, overlap) in [(0, true), (3000, false), (3000, true)] {
        let mut src = Slow { x: x.clone(), y: y.clone(), sleep_us, overlap };
        let t = std::time::Instant::now();
        let cbs: Vec<Box<dyn Callback<f32>>> = Vec::new();
        fit(
            &mut model,
            &mut src,
            None,
            cbs,
            &mut StringHost::default(),
            &FitConfig { epochs: 1, ..Default::default() },
        );
        println!("sleep {sleep_us}us overlap {overlap}: {:.3} s", t.elapsed().as_secs_f64());
    }
}
