//! `callback_model_checkpoint()`: Keras 3 `ModelCheckpoint`, saving the model (or only its
//! weights) at epoch ends or every N batches, always or when the monitor improves. File
//! names are Python format templates (`weights.{epoch:02d}-{val_loss:.2f}.hdf5`, epoch
//! 1-based). Files whose name ends in `.h5`/`.hdf5` are written in Keras' HDF5 layout,
//! others in rkeras' own format ([`crate::serialize`]); writes are atomic.

use super::pyformat::{self, Value};
use super::{improves, monitor_maximizes, Callback, Ctx, Halt, HookResult, Logs};
use crate::model::Model;
use crate::serialize::{replace_file, write_new_file};
use crate::Real;
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum SaveFreq {
    Batches(usize),
    Epoch(String),
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointSpec {
    pub filepath: String,
    #[serde(default = "super::early_stopping::val_loss")]
    pub monitor: String,
    #[serde(default)]
    pub verbose: u8,
    #[serde(default)]
    pub save_best_only: bool,
    #[serde(default)]
    pub save_weights_only: bool,
    #[serde(default = "super::early_stopping::auto")]
    pub mode: String,
    #[serde(default = "epoch_freq")]
    pub save_freq: SaveFreq,
    #[serde(default)]
    pub initial_value_threshold: Option<f64>,
    /// Legacy keras `period`: save every `period` epochs.
    #[serde(default = "one")]
    pub period: usize,
}

fn one() -> usize {
    1
}

fn epoch_freq() -> SaveFreq {
    SaveFreq::Epoch("epoch".into())
}

pub struct ModelCheckpoint {
    spec: CheckpointSpec,
    maximize: bool,
    best: Option<f64>,
    batches_since_save: usize,
    current_epoch: usize,
}

impl ModelCheckpoint {
    pub fn new(spec: CheckpointSpec) -> Result<Self, String> {
        if let SaveFreq::Epoch(s) = &spec.save_freq {
            if s != "epoch" {
                return Err(format!("`save_freq` must be \"epoch\" or a number of batches, got \"{s}\""));
            }
        }
        if matches!(spec.save_freq, SaveFreq::Batches(0)) {
            return Err("`save_freq` must be at least 1 batch".into());
        }
        let maximize = monitor_maximizes(&spec.monitor, &spec.mode);
        let best = spec.initial_value_threshold;
        Ok(ModelCheckpoint { spec, maximize, best, batches_since_save: 0, current_epoch: 0 })
    }

    fn path_for(&self, epoch: usize, batch: Option<usize>, logs: &Logs) -> Result<PathBuf, Halt> {
        let p = pyformat::format(&self.spec.filepath, |k| match k {
            "epoch" => Some(Value::Int(epoch as i64 + 1)),
            "batch" if batch.is_some() && logs.get("batch").is_none() => Some(Value::Int(batch.unwrap() as i64 + 1)),
            _ => logs.get(k).map(Value::Float),
        })
        .map_err(|e| {
            Halt::Error(format!(
                "callback_model_checkpoint(): failed to format the file path \"{}\": {e}",
                self.spec.filepath
            ))
        })?;
        Ok(PathBuf::from(p))
    }

    fn save<T: Real>(&mut self, cx: &mut Ctx<T>, epoch: usize, batch: Option<usize>, logs: &Logs) -> HookResult {
        let path = self.path_for(epoch, batch, logs)?;
        let shown = path.display().to_string();
        let verbose = self.spec.verbose > 0;
        if self.spec.save_best_only {
            let Some(current) = logs.get(&self.spec.monitor) else {
                cx.host.warn(&format!("Can save best model only with {} available.", self.spec.monitor));
                return self.write(cx, &path, epoch, verbose);
            };
            if improves(current, self.best, 0.0, self.maximize) {
                if verbose {
                    let from = self.best.map_or("None".to_string(), |b| format!("{b:.5}"));
                    cx.host.print(&format!(
                        "\nEpoch {}: {} improved from {from} to {current:.5}, saving model to {shown}\n",
                        epoch + 1,
                        self.spec.monitor
                    ));
                }
                self.best = Some(current);
                self.write(cx, &path, epoch, verbose)
            } else {
                if verbose {
                    cx.host.print(&format!(
                        "\nEpoch {}: {} did not improve from {:.5}\n",
                        epoch + 1,
                        self.spec.monitor,
                        self.best.unwrap_or(f64::NAN)
                    ));
                }
                Ok(())
            }
        } else {
            if verbose {
                cx.host.print(&format!("\nEpoch {}: saving model to {shown}\n", epoch + 1));
            }
            self.write(cx, &path, epoch, verbose)
        }
    }

    fn write<T: Real>(&self, cx: &mut Ctx<T>, path: &Path, epoch: usize, verbose: bool) -> HookResult {
        save_file(cx.model, path, self.spec.save_weights_only)
            .map_err(|e| Halt::Error(format!("callback_model_checkpoint(): {e}")))?;
        if verbose {
            cx.host.print(&format!("\nEpoch {}: finished saving model to {}\n", epoch + 1, path.display()));
        }
        Ok(())
    }
}

/// True for file names that ask for Keras' HDF5 layout.
pub fn is_hdf5(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("h5") | Some("hdf5"))
}

/// Writes the model (or its weights) to `path` atomically, creating missing folders.
pub fn save_file<T: Real>(model: &Model<T>, path: &Path, weights_only: bool) -> Result<(), String> {
    let bytes = if is_hdf5(path) && weights_only {
        crate::keras_h5::save_weights(model)?
    } else if is_hdf5(path) {
        crate::keras_h5::save_model(model, true, crate::keras_h5::Layout::Keras3)?.0
    } else if weights_only {
        model.weights_to_bytes()
    } else {
        model.to_bytes(true)
    };
    write_atomic(path, &bytes)
}

/// Temporary file beside `path`, then an atomic rename over it.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create folder '{}': {e}", dir.display()))?;
    }
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let r = write_new_file(&tmp, bytes).and_then(|_| replace_file(&tmp, path));
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

impl<T: Real> Callback<T> for ModelCheckpoint {
    fn state(&self) -> Vec<(&'static str, f64)> {
        vec![("best", super::best_or_start(self.best, self.maximize))]
    }

    fn on_train_batch_end(&mut self, cx: &mut Ctx<T>, batch: usize, logs: &mut Logs) -> HookResult {
        if let SaveFreq::Batches(n) = self.spec.save_freq {
            self.batches_since_save += 1;
            if self.batches_since_save >= n {
                self.batches_since_save = 0;
                let e = self.current_epoch;
                return self.save(cx, e, Some(batch), logs);
            }
        }
        Ok(())
    }

    fn on_epoch_begin(&mut self, _cx: &mut Ctx<T>, epoch: usize, _logs: &mut Logs) -> HookResult {
        self.current_epoch = epoch;
        Ok(())
    }

    fn on_epoch_end(&mut self, cx: &mut Ctx<T>, epoch: usize, logs: &mut Logs) -> HookResult {
        if matches!(self.spec.save_freq, SaveFreq::Epoch(_)) && (epoch + 1).is_multiple_of(self.spec.period.max(1)) {
            return self.save(cx, epoch, None, logs);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::callbacks::{Params, StringHost};

    #[test]
    fn save_best_only_messages_and_files_match_keras() {
        let dir = std::env::temp_dir().join(format!("rkeras-ckpt-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let template = format!("{}/weights.{{epoch:02d}}-{{val_loss:.2f}}.rkeras", dir.display());
        let spec: CheckpointSpec = serde_json::from_value(serde_json::json!({
            "filepath": template, "save_best_only": true, "verbose": 1
        }))
        .unwrap();
        let mut cb = ModelCheckpoint::new(spec).unwrap();
        let mut model = crate::callbacks::tests::tiny_model(0.001);
        let mut host = StringHost::default();
        let params = Params::default();
        let mut cx = Ctx { model: &mut model, host: &mut host, params: &params, stop_training: false, iterations: 0 };
        for (e, v) in [0.7994823455810547, 0.7923036813735962, 0.7862999, 0.79].iter().enumerate() {
            let mut logs = Logs::sorted(vec![("val_loss".to_string(), *v)]);
            Callback::<f32>::on_epoch_end(&mut cb, &mut cx, e, &mut logs).unwrap();
        }
        let d = dir.display();
        let want = format!(
            "\nEpoch 1: val_loss improved from None to 0.79948, saving model to {d}/weights.01-0.80.rkeras\n\
             \nEpoch 1: finished saving model to {d}/weights.01-0.80.rkeras\n\
             \nEpoch 2: val_loss improved from 0.79948 to 0.79230, saving model to {d}/weights.02-0.79.rkeras\n\
             \nEpoch 2: finished saving model to {d}/weights.02-0.79.rkeras\n\
             \nEpoch 3: val_loss improved from 0.79230 to 0.78630, saving model to {d}/weights.03-0.79.rkeras\n\
             \nEpoch 3: finished saving model to {d}/weights.03-0.79.rkeras\n\
             \nEpoch 4: val_loss did not improve from 0.78630\n"
        );
        assert_eq!(host.out, want);
        let mut files: Vec<String> =
            std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
        files.sort();
        assert_eq!(files, vec!["weights.01-0.80.rkeras", "weights.02-0.79.rkeras", "weights.03-0.79.rkeras"]);
        let back = Model::<f32>::from_bytes(&std::fs::read(dir.join("weights.03-0.79.rkeras")).unwrap(), true).unwrap();
        assert_eq!(back.get_weights()[0].3, model.get_weights()[0].3);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
