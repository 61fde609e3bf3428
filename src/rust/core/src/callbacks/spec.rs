//! Built-in callbacks from the specs R builds (`callback_*()` return `list(type = ..., ...)`).

use super::checkpoint::{CheckpointSpec, ModelCheckpoint};
use super::csv::{CsvCallback, CsvLoggerSpec};
use super::early_stopping::EarlyStoppingSpec;
use super::reduce_lr::ReduceLrSpec;
use super::remote_monitor::RemoteMonitorSpec;
use super::tensorboard::{TensorBoard, TensorBoardSpec};
use super::{Callback, EarlyStopping, ReduceLrOnPlateau, RemoteMonitor, TerminateOnNan};
use crate::Real;
use serde::Deserialize;

/// A built-in callback as R describes it.
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CallbackSpec {
    CsvLogger(CsvLoggerSpec),
    EarlyStopping(EarlyStoppingSpec),
    ReduceLrOnPlateau(ReduceLrSpec),
    #[serde(rename = "tensorboard")]
    TensorBoard(TensorBoardSpec),
    TerminateOnNan {},
    RemoteMonitor(RemoteMonitorSpec),
    ModelCheckpoint(CheckpointSpec),
}

impl CallbackSpec {
    /// Builds the callback; errors name the bad argument.
    pub fn build<T: Real>(self) -> Result<Box<dyn Callback<T>>, String> {
        Ok(match self {
            CallbackSpec::CsvLogger(s) => Box::new(CsvCallback::new(s)?),
            CallbackSpec::EarlyStopping(s) => Box::new(EarlyStopping::<T>::new(s)),
            CallbackSpec::ReduceLrOnPlateau(s) => Box::new(ReduceLrOnPlateau::new(s)?),
            CallbackSpec::TensorBoard(s) => Box::new(TensorBoard::new(s)?),
            CallbackSpec::TerminateOnNan {} => Box::new(TerminateOnNan),
            CallbackSpec::RemoteMonitor(s) => Box::new(RemoteMonitor::new(s)),
            CallbackSpec::ModelCheckpoint(s) => Box::new(ModelCheckpoint::new(s)?),
        })
    }
}
