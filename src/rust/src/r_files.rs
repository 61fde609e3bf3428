//! Files for the R side: reading the loaders' input (only regular files, never blocking on
//! a FIFO), and the temporaries of atomic saves (`rkeras_core::serialize`).

use extendr_api::prelude::*;
use std::path::Path;

/// The bytes of the regular file `path` (a raw vector); anything else is an error.
#[extendr]
fn rk_read_file(path: &str) -> std::result::Result<Robj, String> {
    let bytes = rkeras_core::serialize::read_regular_file(Path::new(path))?;
    Ok(Raw::from_bytes(&bytes).into())
}

/// `""` when `path` is a regular file, else what it is (without opening it).
#[extendr]
fn rk_check_regular_file(path: &str) -> String {
    rkeras_core::serialize::check_regular_file(Path::new(path)).err().unwrap_or_default()
}

/// A new temporary path for an atomic save of `target` (`.name.tmp-<host>-<pid>-<random>`).
#[extendr]
fn rk_temp_path(target: &str) -> std::result::Result<String, String> {
    Ok(rkeras_core::serialize::temp_path(Path::new(target))?.to_string_lossy().into_owned())
}

/// Removes the temporaries that dead writers left for `target`; returns their paths.
#[extendr]
fn rk_remove_stale_temps(target: &str) -> Vec<String> {
    let removed = rkeras_core::serialize::remove_stale_temps(Path::new(target));
    removed.iter().map(|p| p.to_string_lossy().into_owned()).collect()
}

/// Checks the bytes of an rkeras-format file for NaN and infinite weights (loaders refuse
/// them; a model's own saved state is restored as it is).
#[extendr]
fn rk_check_finite(bytes: Raw) -> std::result::Result<(), String> {
    rkeras_core::serialize::check_finite(&rkeras_core::serialize::decode(bytes.as_slice())?)
}

extendr_module! {
    mod r_files;
    fn rk_check_finite;
    fn rk_read_file;
    fn rk_check_regular_file;
    fn rk_temp_path;
    fn rk_remove_stale_temps;
}
