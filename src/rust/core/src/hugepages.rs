//! The training data's copy is asked to live on 2 MiB pages. Its batches are rows gathered
//! from all over it in a new order every epoch; on 4 KiB pages nearly every gathered row
//! costs a TLB miss, whose page walk is twice as long under a hypervisor. On the fit
//! benchmark (Intel Xeon VM, 188 MB of training data) gathering took 20 ms an epoch on small
//! pages and 16 on huge ones (`examples/fit_profile`), and R's fit() ran 0.340 against 0.328
//! s/epoch (mean of 5 runs each). Linux only; elsewhere, or when the kernel declines, nothing
//! changes.

/// Below this the few pages' misses do not matter.
const MIN_BYTES: usize = 16 << 20;

/// Advises the kernel to back `buf` with transparent huge pages. Call it before the buffer
/// is first written: a fresh `vec![0.0; n]` of this size is mapped but not yet touched.
pub fn advise<T>(buf: &mut [T]) {
    let bytes = std::mem::size_of_val(buf);
    if bytes < MIN_BYTES {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let start = buf.as_mut_ptr() as usize;
        let first = start.div_ceil(HUGE) * HUGE;
        let end = (start + bytes) / HUGE * HUGE;
        if end > first {
            // SAFETY: the range lies inside `buf`, which we hold mutably; MADV_HUGEPAGE only
            // changes how the kernel backs the pages, never their contents.
            unsafe { libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE) };
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn advice_keeps_the_values_and_ignores_small_or_odd_buffers() {
        let mut big: Vec<f32> = (0..(40usize << 20) / 4).map(|i| i as f32).collect();
        super::advise(&mut big);
        super::advise(&mut big[3..]);
        assert!(big.iter().enumerate().all(|(i, &v)| v == i as f32), "advice must not touch the contents");
        let mut small = vec![1u8; 100];
        super::advise(&mut small);
        super::advise(&mut small[..0]);
        assert!(small.iter().all(|&v| v == 1));
    }
}
