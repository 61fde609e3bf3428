//! Times the conversion of R (column-major double) matrices to row-major f32:
//! `cargo run --release --example convert_probe`. First 10,000 x 784 read in chunks of 1024
//! rows (as predict() reads), on one and two threads; then the tutorial's 60,000 x 784 whole
//! (as fit() converts it), into fresh memory and into the buffer the previous call gave back.
use rkeras_core::convert::{recycle, ColMajor};
use std::time::Instant;
fn main() {
    let (n, s) = (10000usize, 784usize);
    let src: Vec<f64> = (0..n * s).map(|i| (i % 255) as f64 / 255.0).collect();
    let cols = ColMajor::new(&[n, s], &src);
    let mut out = vec![0f32; 1024 * s];
    let t = Instant::now();
    let mut acc = 0.0;
    for _ in 0..10 {
        acc += src.iter().sum::<f64>();
    }
    println!("reading the 63 MB source alone: {:.2} ms ({acc:.0})", t.elapsed().as_secs_f64() * 100.0);
    for th in [1usize, 2] {
        rkeras_core::linalg::set_threads(th);
        let t = Instant::now();
        for _ in 0..10 {
            let mut start = 0;
            while start < n {
                let end = (start + 1024).min(n);
                cols.read(start..end, &mut out[..(end - start) * s]).unwrap();
                start = end;
            }
        }
        println!("{th} thread(s): 10000 x 784 in chunks of 1024 rows: {:.2} ms", t.elapsed().as_secs_f64() * 100.0);
    }
    let n = 60000usize;
    let src: Vec<f64> = (0..n * s).map(|i| (i % 255) as f64 / 255.0).collect();
    let cols = ColMajor::new(&[n, s], &src);
    for th in [1usize, 2] {
        rkeras_core::linalg::set_threads(th);
        let ms: Vec<String> = (0..4)
            .map(|_| {
                let t = Instant::now();
                let x = cols.to_tensor().unwrap();
                let e = t.elapsed().as_secs_f64() * 1e3;
                recycle(x.data);
                format!("{e:.1}")
            })
            .collect();
        println!(
            "{th} thread(s): 60000 x 784 whole, four calls (the first may fault in fresh memory): {} ms",
            ms.join(" ")
        );
    }
}
