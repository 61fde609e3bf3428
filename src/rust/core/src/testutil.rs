//! Test helpers shared by the numerics tests (deterministic data, finite differences) and the
//! path of the repository's test fixtures.

/// Tiny deterministic generator (SplitMix64) so tests need no extra crate.
pub struct Rng(u64);
impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        let u = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        lo + (hi - lo) * u
    }
    pub fn below(&mut self, m: usize) -> usize {
        (self.next_u64() % m as u64) as usize
    }
}

/// Relative error with a floor on the denominator so that components that
/// are (nearly) zero are judged absolutely.
pub fn rel_err(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1e-3)
}

/// Central finite-difference gradient of `f` at `x` (h = 1e-6).
pub fn fd_grad(x: &[f64], mut f: impl FnMut(&[f64]) -> f64) -> Vec<f64> {
    let h = 1e-6;
    let mut xx = x.to_vec();
    let mut g = vec![0.0; x.len()];
    for i in 0..x.len() {
        let orig = xx[i];
        xx[i] = orig + h;
        let fp = f(&xx);
        xx[i] = orig - h;
        let fm = f(&xx);
        xx[i] = orig;
        g[i] = (fp - fm) / (2.0 * h);
    }
    g
}

/// Asserts that every component matches with relative error < `tol`.
pub fn assert_grad_close(what: &str, analytic: &[f64], numeric: &[f64], tol: f64) {
    assert_eq!(analytic.len(), numeric.len());
    for (i, (a, b)) in analytic.iter().zip(numeric).enumerate() {
        let e = rel_err(*a, *b);
        assert!(e < tol, "{what}: component {i}: analytic {a:e} vs numeric {b:e} (rel err {e:e})");
    }
}

/// `tests/fixtures/<rel>` of the repository (Keras reference outputs, Keras-written HDF5
/// files; see tests/fixtures/README.md), found from the crate folder `src/rust/core`.
/// Panics with the path when it is missing: the fixtures are part of the repository.
pub fn fixture(rel: &str) -> std::path::PathBuf {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../tests/fixtures");
    let path = root.join(rel);
    assert!(path.exists(), "test fixture {} is missing (tests/fixtures of the repository)", path.display());
    path
}
