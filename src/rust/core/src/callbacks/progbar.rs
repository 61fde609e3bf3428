//! The progress bar callback Keras appends when `verbose > 0` (Keras 3 text, see
//! [`crate::progress`]): `Epoch e/E` and a bar per epoch in fit (validation stays silent),
//! one bar for `evaluate()` and `predict()`.

use super::{Callback, Ctx, HookResult, Logs};
use crate::progress::{epoch_header, Progbar};
use crate::Real;

pub struct ProgbarLogger {
    verbose: u8,
    bar: Option<Progbar>,
    in_fit: bool,
}

impl ProgbarLogger {
    pub fn new(verbose: u8) -> Self {
        ProgbarLogger { verbose, bar: None, in_fit: false }
    }

    fn start<T: Real>(&mut self, cx: &Ctx<T>) {
        let now = cx.host.now();
        let style = cx.host.console_style();
        self.bar = Some(Progbar::starting_at(cx.params.steps.unwrap_or(0), self.verbose, now).with_style(style));
    }

    fn batch<T: Real>(&mut self, cx: &mut Ctx<T>, batch: usize, logs: &Logs) {
        if let Some(bar) = self.bar.as_mut() {
            let text = bar.on_batch_end(batch, logs, cx.host.now());
            if !text.is_empty() {
                cx.host.print(&text);
            }
        }
    }

    fn finish<T: Real>(&mut self, cx: &mut Ctx<T>, logs: &Logs) {
        if let Some(mut bar) = self.bar.take() {
            let text = bar.finish(logs, cx.host.now());
            cx.host.print(&text);
        }
    }
}

impl<T: Real> Callback<T> for ProgbarLogger {
    fn on_train_begin(&mut self, _cx: &mut Ctx<T>, _logs: &mut Logs) -> HookResult {
        self.in_fit = true;
        Ok(())
    }

    fn on_epoch_begin(&mut self, cx: &mut Ctx<T>, epoch: usize, _logs: &mut Logs) -> HookResult {
        if let Some(h) = epoch_header(epoch, cx.params.epochs) {
            cx.host.print(&h);
        }
        self.start(cx);
        Ok(())
    }

    fn on_train_batch_end(&mut self, cx: &mut Ctx<T>, batch: usize, logs: &mut Logs) -> HookResult {
        self.batch(cx, batch, logs);
        Ok(())
    }

    fn on_epoch_end(&mut self, cx: &mut Ctx<T>, _epoch: usize, logs: &mut Logs) -> HookResult {
        self.finish(cx, logs);
        Ok(())
    }

    fn on_test_begin(&mut self, cx: &mut Ctx<T>, _logs: &mut Logs) -> HookResult {
        if !self.in_fit {
            self.start(cx);
        }
        Ok(())
    }

    fn on_test_batch_end(&mut self, cx: &mut Ctx<T>, batch: usize, logs: &mut Logs) -> HookResult {
        if !self.in_fit {
            self.batch(cx, batch, logs);
        }
        Ok(())
    }

    fn on_test_end(&mut self, cx: &mut Ctx<T>, logs: &mut Logs) -> HookResult {
        if !self.in_fit {
            self.finish(cx, logs);
        }
        Ok(())
    }

    fn on_predict_begin(&mut self, cx: &mut Ctx<T>, _logs: &mut Logs) -> HookResult {
        self.start(cx);
        Ok(())
    }

    fn on_predict_batch_end(&mut self, cx: &mut Ctx<T>, batch: usize, logs: &mut Logs) -> HookResult {
        self.batch(cx, batch, logs);
        Ok(())
    }

    fn on_predict_end(&mut self, cx: &mut Ctx<T>, logs: &mut Logs) -> HookResult {
        self.finish(cx, logs);
        Ok(())
    }
}
