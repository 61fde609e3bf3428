//! History: every epoch's logs by key, in first-seen order (Keras appends it after the
//! user's callbacks, so it sees keys they add).

use super::{Callback, Ctx, HookResult, Logs};
use crate::Real;

#[derive(Clone, Debug, Default)]
pub struct History {
    pub epochs: Vec<usize>,
    /// (key, one value per epoch; `NaN` where an epoch lacked the key).
    pub metrics: Vec<(String, Vec<f64>)>,
}

impl<T: Real> Callback<T> for History {
    fn on_epoch_end(&mut self, _cx: &mut Ctx<T>, epoch: usize, logs: &mut Logs) -> HookResult {
        let n = self.epochs.len();
        for (k, v) in logs.iter() {
            match self.metrics.iter_mut().find(|(name, _)| name == k) {
                Some((_, vals)) => vals.push(v),
                None => {
                    let mut vals = vec![f64::NAN; n];
                    vals.push(v);
                    self.metrics.push((k.to_string(), vals));
                }
            }
        }
        for (_, vals) in self.metrics.iter_mut() {
            if vals.len() == n {
                vals.push(f64::NAN);
            }
        }
        self.epochs.push(epoch);
        Ok(())
    }
}
