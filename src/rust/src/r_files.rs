//! Reading files for the R side: the loaders' input, only regular files, never blocking on
//! a FIFO (`rkeras_core::serialize::read_regular_file`).

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

extendr_module! {
    mod r_files;
    fn rk_read_file;
    fn rk_check_regular_file;
}
