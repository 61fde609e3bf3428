//! The ChaCha8 block function for 16 consecutive blocks at once, written lane-wise so that
//! the compiler keeps each state word of the 16 blocks in one vector register (AVX-512, or
//! two AVX2 registers). It produces exactly the stream of `rand_chacha::ChaCha8Rng` (same
//! key, 64-bit block counter in words 12-13, 64-bit stream in words 14-15), about three
//! times as fast, for drawing dropout masks in bulk.

const LANES: usize = 16;

/// The words of blocks `block..block + 16` of the stream with key `key` and `stream`, block
/// after block.
pub fn blocks16(key: &[u32; 8], stream: u64, block: u64, out: &mut [u32; 16 * LANES]) {
    let mut x = [[0u32; LANES]; 16];
    for (l, _) in (0..LANES).enumerate() {
        let counter = block.wrapping_add(l as u64);
        x[0][l] = 0x6170_7865;
        x[1][l] = 0x3320_646e;
        x[2][l] = 0x7962_2d32;
        x[3][l] = 0x6b20_6574;
        for k in 0..8 {
            x[4 + k][l] = key[k];
        }
        x[12][l] = counter as u32;
        x[13][l] = (counter >> 32) as u32;
        x[14][l] = stream as u32;
        x[15][l] = (stream >> 32) as u32;
    }
    let start = x;
    for _ in 0..4 {
        quarter(&mut x, 0, 4, 8, 12);
        quarter(&mut x, 1, 5, 9, 13);
        quarter(&mut x, 2, 6, 10, 14);
        quarter(&mut x, 3, 7, 11, 15);
        quarter(&mut x, 0, 5, 10, 15);
        quarter(&mut x, 1, 6, 11, 12);
        quarter(&mut x, 2, 7, 8, 13);
        quarter(&mut x, 3, 4, 9, 14);
    }
    for l in 0..LANES {
        for j in 0..16 {
            out[l * 16 + j] = x[j][l].wrapping_add(start[j][l]);
        }
    }
}

// lane-wise loops on purpose: each becomes one vector instruction
#[allow(clippy::needless_range_loop)]
#[inline(always)]
fn quarter(x: &mut [[u32; LANES]; 16], a: usize, b: usize, c: usize, d: usize) {
    for l in 0..LANES {
        x[a][l] = x[a][l].wrapping_add(x[b][l]);
        x[d][l] = (x[d][l] ^ x[a][l]).rotate_left(16);
    }
    for l in 0..LANES {
        x[c][l] = x[c][l].wrapping_add(x[d][l]);
        x[b][l] = (x[b][l] ^ x[c][l]).rotate_left(12);
    }
    for l in 0..LANES {
        x[a][l] = x[a][l].wrapping_add(x[b][l]);
        x[d][l] = (x[d][l] ^ x[a][l]).rotate_left(8);
    }
    for l in 0..LANES {
        x[c][l] = x[c][l].wrapping_add(x[d][l]);
        x[b][l] = (x[b][l] ^ x[c][l]).rotate_left(7);
    }
}
