//! The guard of the graph-engine work (issue 13): the tutorial's MLP (784-256 relu, dropout
//! 0.4, 128 relu, dropout 0.3, 10 softmax; RMSprop, categorical cross-entropy) trains to
//! exactly the same weights, bit for bit, as the chain engine it replaces, on one thread and
//! on two. The hashes were recorded from the chain engine (commit "Tutorial weights recorded
//! bit for bit") on an AVX-512 machine; faer picks its kernels by CPU features, so another
//! kind of CPU may round differently, and there the test prints its hashes instead.

use rkeras_core::model::{Model, ModelSpec};
use rkeras_core::rng::Rng;
use rkeras_core::tensor::Tensor;
use serde_json::json;

fn tutorial() -> Model<f32> {
    let dense = |name: &str, units: usize, act: &str| {
        json!({"class_name": "Dense", "name": name, "trainable": true, "units": units, "activation": act,
               "use_bias": true, "kernel_initializer": {"name": "glorot_uniform"},
               "bias_initializer": {"name": "zeros"}})
    };
    let spec: ModelSpec = serde_json::from_value(json!({
        "name": "sequential", "class_name": "Sequential", "input_shape": [784],
        "layers": [
            dense("dense", 256, "relu"),
            {"class_name": "Dropout", "name": "dropout", "trainable": true, "rate": 0.4},
            dense("dense_1", 128, "relu"),
            {"class_name": "Dropout", "name": "dropout_1", "trainable": true, "rate": 0.3},
            dense("dense_2", 10, "softmax"),
        ]
    }))
    .unwrap();
    let mut m = Model::<f32>::build(spec, &mut Rng::seed_from(20261207)).unwrap();
    let compile = json!({"optimizer": {"name": "rmsprop", "learning_rate": 0.001}, "loss": "categorical_crossentropy",
                         "metrics": ["accuracy"]});
    m.compile(serde_json::from_value(compile).unwrap()).unwrap();
    m
}

/// FNV-1a over the bits of every weight, in Keras order.
fn weights_hash(m: &Model<f32>) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for (_, _, _, values) in m.get_weights() {
        for v in values {
            for b in v.to_bits().to_le_bytes() {
                h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
    h
}

/// Ten steps of 128 rows (the tutorial's batch) on fixed data; returns the weights' hash and
/// the last loss's bits.
fn train() -> (u64, u32) {
    let mut m = tutorial();
    let mut r = Rng::seed_from(7);
    let x = Tensor::from_vec(&[128, 784], (0..128 * 784).map(|_| r.uniform() as f32).collect());
    let y = Tensor::from_vec(&[128, 10], (0..1280).map(|i| ((i / 10) % 10 == i % 10) as u8 as f32).collect());
    let mut run = m.new_running(&[10]).unwrap();
    let mut loss = 0.0;
    for _ in 0..10 {
        loss = m.train_step(std::slice::from_ref(&x), std::slice::from_ref(&y), None, &mut run);
    }
    (weights_hash(&m), (loss as f32).to_bits())
}

#[test]
fn the_tutorial_mlp_trains_to_the_recorded_weights_bit_for_bit() {
    let two = train();
    let one = rkeras_core::linalg::sequential(train);
    assert_eq!(one, two, "one thread and two must agree bit for bit");
    let recorded = (0x111a_06a4_dcb3_a66f_u64, 0x400a_21cc_u32);
    if cfg!(target_arch = "x86_64") && std::is_x86_feature_detected!("avx512f") {
        assert_eq!(two, recorded, "weights hash {:#018x}, loss bits {:#010x}", two.0, two.1);
    } else {
        eprintln!("no AVX-512 here: hashes {:#018x} {:#010x} not compared with the record", two.0, two.1);
    }
}
