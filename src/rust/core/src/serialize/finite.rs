//! Loaders refuse NaN and infinite weights, as `set_weights()` does: a damaged file (HDF5
//! has no checksum) or a model saved after its training diverged. The error names the
//! weight, and the model being loaded into is left unchanged.

use super::Decoded;

/// An error naming `what` (`weight dense/kernel`) when `values` holds NaN or Inf.
pub fn check_finite_values(what: &str, values: &[f32]) -> Result<(), String> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => Err(format!(
            "{what} holds NaN or infinite values (first at element {} of {}, value {}): the file is damaged, or \
             the model was saved after its training diverged",
            i + 1,
            values.len(),
            values[i]
        )),
    }
}

/// [`check_finite_values`] for every weight and optimizer weight of a decoded file.
pub fn check_finite(d: &Decoded) -> Result<(), String> {
    for (r, v) in d.header.weights.iter().zip(&d.weights) {
        check_finite_values(&format!("weight {}", r.path()), v)?;
    }
    for (r, v) in d.header.optimizer_weights.iter().zip(&d.optimizer_weights) {
        check_finite_values(&format!("optimizer weight {}", r.path()), v)?;
    }
    Ok(())
}
