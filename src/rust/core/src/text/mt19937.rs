//! numpy's legacy `RandomState(seed)` (MT19937 seeded by `init_genrand`) and its
//! `shuffle` of a 1-D array, so that `dataset_imdb()` / `dataset_reuters()` order their rows
//! exactly as Keras' `np.random.RandomState(seed).shuffle(indices)` does.

const N: usize = 624;
const M: usize = 397;

/// The Mersenne Twister MT19937 as numpy's `RandomState` runs it.
pub struct Mt19937 {
    mt: [u32; N],
    pos: usize,
}

impl Mt19937 {
    /// `np.random.RandomState(seed)` for an integer seed in `0..2^32`.
    pub fn new(seed: u32) -> Self {
        let mut mt = [0u32; N];
        mt[0] = seed;
        for i in 1..N {
            mt[i] = 1812433253u32.wrapping_mul(mt[i - 1] ^ (mt[i - 1] >> 30)).wrapping_add(i as u32);
        }
        Mt19937 { mt, pos: N }
    }

    fn generate(&mut self) {
        const UPPER: u32 = 0x8000_0000;
        const LOWER: u32 = 0x7fff_ffff;
        const MATRIX_A: u32 = 0x9908_b0df;
        for i in 0..N {
            let y = (self.mt[i] & UPPER) | (self.mt[(i + 1) % N] & LOWER);
            let mut v = self.mt[(i + M) % N] ^ (y >> 1);
            if y & 1 == 1 {
                v ^= MATRIX_A;
            }
            self.mt[i] = v;
        }
        self.pos = 0;
    }

    /// The next 32-bit output.
    pub fn next_u32(&mut self) -> u32 {
        if self.pos == N {
            self.generate();
        }
        let mut y = self.mt[self.pos];
        self.pos += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// numpy's `random_interval(max)`: uniform in `0..=max` by masked rejection (`max < 2^32`).
    pub fn interval(&mut self, max: u32) -> u32 {
        if max == 0 {
            return 0;
        }
        let mut mask = max;
        mask |= mask >> 1;
        mask |= mask >> 2;
        mask |= mask >> 4;
        mask |= mask >> 8;
        mask |= mask >> 16;
        loop {
            let v = self.next_u32() & mask;
            if v <= max {
                return v;
            }
        }
    }

    /// `RandomState.shuffle(x)` for a 1-D array: Fisher-Yates from the end.
    pub fn shuffle<T>(&mut self, x: &mut [T]) {
        for i in (1..x.len()).rev() {
            let j = self.interval(i as u32) as usize;
            x.swap(i, j);
        }
    }

    /// `indices = np.arange(n); rng.shuffle(indices)`.
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut v: Vec<usize> = (0..n).collect();
        self.shuffle(&mut v);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::Mt19937;

    #[test]
    fn matches_numpy_random_state() {
        // np.random.RandomState(5489).randint(0, 2**32, 3, dtype=np.uint64) (numpy 2.4): the raw
        // outputs, also MT19937's reference output for its default seed 5489.
        let mut r = Mt19937::new(5489);
        assert_eq!([r.next_u32(), r.next_u32(), r.next_u32()], [3499211612, 581869302, 3890346734]);
        // r = np.random.RandomState(113); i = np.arange(10); r.shuffle(i); then np.arange(7) (numpy 2.4)
        let mut r = Mt19937::new(113);
        assert_eq!(r.permutation(10), [9, 3, 6, 1, 0, 7, 4, 8, 2, 5]);
        assert_eq!(r.permutation(7), [5, 1, 0, 3, 6, 4, 2]);
    }
}
