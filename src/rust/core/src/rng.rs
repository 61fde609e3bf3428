//! Seedable, serializable random streams. R seeds them (so `set.seed()` makes a run repeat).

use rand::{Rng as _, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// The core's random stream: ChaCha8, portable and cheap to save.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rng(ChaCha8Rng);

impl Rng {
    /// A stream from a 64-bit seed (R passes one drawn from its own RNG).
    pub fn seed_from(seed: u64) -> Self {
        Rng(ChaCha8Rng::seed_from_u64(seed))
    }

    /// A new independent stream derived from this one.
    pub fn fork(&mut self) -> Self {
        Rng(ChaCha8Rng::seed_from_u64(self.0.next_u64()))
    }

    /// How many 32-bit words of the stream have been used.
    pub fn word_pos(&self) -> u128 {
        self.0.get_word_pos()
    }

    /// Skips (or rewinds) the stream to word `pos`: the words a sequence of `next_u32`
    /// calls would have drawn from there can be drawn anywhere, in any order.
    pub fn set_word_pos(&mut self, pos: u128) {
        self.0.set_word_pos(pos);
    }

    /// The words of the stream from word `pos` on, in bulk (see [`Words`]): what
    /// `set_word_pos(pos)` followed by `next_u32()` calls gives. The stream does not move.
    pub fn words_from(&self, pos: u128) -> Words {
        let seed = self.0.get_seed();
        Words {
            key: std::array::from_fn(|k| u32::from_le_bytes(seed[4 * k..4 * k + 4].try_into().unwrap())),
            stream: self.0.get_stream(),
            block: (pos / 16) as u64, // the counter is 64-bit: the stream cycles
            buf: [0; 256],
            next: 256 + (pos % 16) as usize,
        }
    }

    #[inline]
    pub fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `[0, 1)`.
    pub fn uniform(&mut self) -> f64 {
        self.0.random::<f64>()
    }

    /// Standard normal (Box-Muller on the stream; exact reproducibility matters more than speed here).
    pub fn normal(&mut self) -> f64 {
        loop {
            let u1 = self.uniform();
            if u1 > 0.0 {
                let u2 = self.uniform();
                return (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
            }
        }
    }

    /// Uniform integer in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        self.0.random_range(0..n)
    }

    /// Fisher-Yates shuffle.
    pub fn shuffle<X>(&mut self, v: &mut [X]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

/// A position in a stream that hands out its words in bulk: exactly the words `next_u32()`
/// would give from there, computed 16 ChaCha blocks at a time (several times faster).
pub struct Words {
    key: [u32; 8],
    stream: u64,
    /// The first block of the next batch of 16.
    block: u64,
    buf: [u32; 256],
    /// Index in `buf` of the next word; 256 or more: a new batch is due (skipping the rest).
    next: usize,
}

impl Words {
    /// Fills `out` with the next words.
    pub fn fill(&mut self, out: &mut [u32]) {
        let mut done = 0;
        while done < out.len() {
            if self.next >= 256 {
                crate::chacha8::blocks16(&self.key, self.stream, self.block, &mut self.buf);
                self.block = self.block.wrapping_add(16);
                self.next -= 256;
            }
            let take = (256 - self.next).min(out.len() - done);
            out[done..done + take].copy_from_slice(&self.buf[self.next..self.next + take]);
            done += take;
            self.next += take;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_state_round_trips() {
        let mut a = Rng::seed_from(42);
        let mut b = Rng::seed_from(42);
        for _ in 0..10 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        let saved = serde_json::to_string(&a).unwrap();
        let mut c: Rng = serde_json::from_str(&saved).unwrap();
        assert_eq!(a.next_u64(), c.next_u64());
    }

    /// A copy of `r` positioned at word `pos`.
    fn at_word(r: &Rng, pos: u128) -> Rng {
        let mut c = r.clone();
        c.set_word_pos(pos);
        c
    }

    #[test]
    fn words_drawn_from_a_position_are_the_sequential_stream() {
        let mut a = Rng::seed_from(7);
        a.next_u64();
        let start = a.word_pos();
        let mut seq = a.clone();
        let want: Vec<u32> = (0..300).map(|_| seq.next_u32()).collect();
        let mut tail = at_word(&a, start + 137);
        let got: Vec<u32> = (0..163).map(|_| tail.next_u32()).collect();
        assert_eq!(got, want[137..]);
        a.set_word_pos(start + 300);
        assert_eq!(a, seq);
    }

    #[test]
    fn words_in_bulk_are_the_stream() {
        for seed in [1u64, 42, 9_999_999_999] {
            let mut r = Rng::seed_from(seed);
            r.next_u32();
            for &(start, len) in &[(0u128, 700usize), (5, 300), (16, 256), (255, 1), (1000, 4099)] {
                let pos = r.word_pos() + start;
                let mut seq = at_word(&r, pos);
                let want: Vec<u32> = (0..len).map(|_| seq.next_u32()).collect();
                let mut got = vec![0u32; len];
                r.words_from(pos).fill(&mut got);
                assert_eq!(got, want, "seed {seed} from {start}, {len} words");
                // the same in uneven pieces
                let mut w = r.words_from(pos);
                let mut pieces = vec![0u32; len];
                let mut at = 0;
                for step in [1usize, 7, 300, 2, 1000].iter().cycle() {
                    let end = (at + step).min(len);
                    w.fill(&mut pieces[at..end]);
                    at = end;
                    if at == len {
                        break;
                    }
                }
                assert_eq!(pieces, want);
            }
        }
        // another stream of the same key
        let mut r = Rng(ChaCha8Rng::seed_from_u64(3));
        r.0.set_stream(77);
        let mut seq = r.clone();
        let want: Vec<u32> = (0..100).map(|_| seq.next_u32()).collect();
        let mut got = vec![0u32; 100];
        r.words_from(0).fill(&mut got);
        assert_eq!(got, want);
    }

    #[test]
    fn normal_has_unit_moments() {
        let mut r = Rng::seed_from(1);
        let xs: Vec<f64> = (0..20000).map(|_| r.normal()).collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
        assert!(mean.abs() < 0.03 && (var - 1.0).abs() < 0.05, "mean {mean} var {var}");
    }
}
