//! `callback_csv_logger()`: the epoch logs as CSV rows (Keras `CSVLogger`), see [`crate::csv_log`].

use super::{Callback, Ctx, Halt, HookResult, Logs};
use crate::csv_log::CsvLogger;
use crate::Real;
use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvLoggerSpec {
    pub filename: String,
    #[serde(default = "comma")]
    pub separator: String,
    #[serde(default)]
    pub append: bool,
}

fn comma() -> String {
    ",".into()
}

pub struct CsvCallback(CsvLogger);

impl CsvCallback {
    pub fn new(spec: CsvLoggerSpec) -> Result<Self, String> {
        let mut chars = spec.separator.chars();
        let (Some(sep), None) = (chars.next(), chars.next()) else {
            return Err(format!("`separator` must be a single character, got \"{}\"", spec.separator));
        };
        Ok(CsvCallback(CsvLogger::new(spec.filename, sep, spec.append)))
    }
}

fn io_halt(what: &str, path: &std::path::Path, e: std::io::Error) -> Halt {
    Halt::Error(format!("callback_csv_logger(): cannot {what} '{}': {e}", path.display()))
}

impl<T: Real> Callback<T> for CsvCallback {
    fn on_train_begin(&mut self, _cx: &mut Ctx<T>, _logs: &mut Logs) -> HookResult {
        self.0.on_train_begin().map_err(|e| io_halt("open", self.0.path(), e))
    }

    fn on_epoch_end(&mut self, _cx: &mut Ctx<T>, epoch: usize, logs: &mut Logs) -> HookResult {
        self.0.on_epoch_end(epoch, logs).map_err(|e| io_halt("write", self.0.path(), e))
    }

    fn on_train_end(&mut self, _cx: &mut Ctx<T>, _logs: &mut Logs) -> HookResult {
        self.0.on_train_end();
        Ok(())
    }

    fn on_abort(&mut self) {
        self.0.on_train_end();
    }
}
