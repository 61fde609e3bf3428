//! A count of the Rust models alive behind R model handles, for tests that check that R's
//! garbage collector frees the models it no longer reaches (the handle's finalizer drops
//! the model).

use extendr_api::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};

static LIVE: AtomicUsize = AtomicUsize::new(0);

/// Held by each model handle: counts it from creation until it is dropped.
pub struct Live(());

impl Live {
    pub fn new() -> Live {
        LIVE.fetch_add(1, Ordering::Relaxed);
        Live(())
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The number of model handles not yet dropped.
#[extendr]
fn rk_live_models() -> i32 {
    LIVE.load(Ordering::Relaxed) as i32
}

extendr_module! {
    mod r_live;
    fn rk_live_models;
}
