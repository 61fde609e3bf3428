mod common;

use std::time::Instant;
fn main() {
    let (mut ws, mut gs, mut opt) = common::tutorial_update();
    for th in [1usize, 2, 1, 2] {
        rkeras_core::linalg::set_threads(th);
        let reps = 3000;
        let t = Instant::now();
        for _ in 0..reps {
            let mut p: Vec<&mut [f32]> = ws.iter_mut().map(|v| &mut v[..]).collect();
            let mut g: Vec<&mut [f32]> = gs.iter_mut().map(|v| &mut v[..]).collect();
            opt.apply(&mut p, &mut g);
        }
        println!("rmsprop, {th} threads: {:.1} us", t.elapsed().as_secs_f64() / reps as f64 * 1e6);
    }
}
