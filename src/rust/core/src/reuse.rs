//! Vectors of slice references that keep their allocation from one training step to the
//! next, so that handing every weight and gradient to the optimizer allocates nothing.

/// An empty vector kept between uses; [`SliceVecs::take`] lends it as a `Vec<&mut [T]>`.
/// (Collecting an emptied vector into one of a same-sized element type reuses its
/// allocation; the allocation test of `model.rs` checks that it does.)
#[derive(Default)]
pub struct SliceVecs(Vec<(usize, usize)>);

impl SliceVecs {
    /// An empty vector in the kept allocation.
    pub fn take<'a, T>(&mut self) -> Vec<&'a mut [T]> {
        std::mem::take(&mut self.0).into_iter().map(|_| unreachable!("the kept vector is empty")).collect()
    }

    /// Keeps `v`'s allocation (emptied) for the next [`SliceVecs::take`].
    pub fn keep<T>(&mut self, mut v: Vec<&mut [T]>) {
        v.clear();
        self.0 = v.into_iter().map(|_| unreachable!("the vector was emptied")).collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allocation_is_kept() {
        let mut r = SliceVecs::default();
        let mut a = [1.0f32, 2.0];
        let mut v = r.take::<f32>();
        v.push(&mut a[..]);
        v.reserve(8);
        let ptr = v.as_ptr() as usize;
        r.keep(v);
        let w = r.take::<f32>();
        assert_eq!(w.as_ptr() as usize, ptr);
        assert!(w.is_empty() && w.capacity() >= 9);
    }
}
