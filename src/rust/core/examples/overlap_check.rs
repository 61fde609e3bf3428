//! Checks that a slow batch source overlaps with compute: `cargo run --release --example overlap_check`.
use rkeras_core::activations::Activation;
use rkeras_core::callbacks::{Callback, Halt, StringHost};
use rkeras_core::init::Initializer;
use rkeras_core::layers::{LayerKind, LayerSpec};
use rkeras_core::losses::Loss;
use rkeras_core::model::{CompileSpec, Model, ModelSpec};
use rkeras_core::optimizers::OptimizerConfig;
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
        b.x = self.x.clone();
        b.y = self.y.clone();
        b.w = None;
        Ok(())
    }
    fn overlap(&self) -> bool {
        self.overlap
    }
}

fn dense(name: &str, units: usize, activation: Activation) -> LayerSpec {
    LayerSpec {
        name: name.into(),
        trainable: true,
        kind: LayerKind::Dense {
            units,
            activation,
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
        },
    }
}

fn main() {
    let layers =
        vec![dense("a", 256, Activation::Relu), dense("b", 128, Activation::Relu), dense("c", 10, Activation::Softmax)];
    let spec = ModelSpec {
        name: "m".into(),
        class_name: "Sequential".into(),
        input_shape: vec![784],
        input_name: None,
        layers,
    };
    let mut model = Model::<f32>::build(spec, &mut Rng::seed_from(1)).unwrap();
    model
        .compile(CompileSpec {
            optimizer: OptimizerConfig::defaults("rmsprop").unwrap(),
            loss: Loss::CategoricalCrossentropy,
            metrics: vec![],
            weighted_metrics: vec![],
            from_logits: false,
        })
        .unwrap();
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
