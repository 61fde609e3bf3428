//! Cost of one empty two-way fork-join: `cargo run --release --example join_probe`.
fn main() {
    for gap_us in [0u64, 100] {
        let reps = 20000;
        let mut total = 0.0;
        for _ in 0..reps {
            if gap_us > 0 {
                let t = std::time::Instant::now();
                while t.elapsed().as_micros() < gap_us as u128 {}
            }
            let t = std::time::Instant::now();
            rkeras_core::forkjoin::join(|| {}, || {});
            total += t.elapsed().as_secs_f64();
        }
        println!("empty join after {gap_us} us of other work: {:.2} us", total / reps as f64 * 1e6);
    }
}
