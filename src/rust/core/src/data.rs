//! Checks on training data that give errors in the user's terms (rows, columns, classes).

use crate::layers::fmt_shape;
use crate::losses::Loss;
use crate::tensor::Tensor;
use crate::Real;

/// Where `validation_split` cuts: training rows `0..split`, validation rows `split..n`
/// (Keras takes the last rows, before any shuffling).
pub fn split_point(n: usize, validation_split: f64) -> Result<usize, String> {
    if !(0.0..1.0).contains(&validation_split) {
        return Err(format!("`validation_split` must be in [0, 1), got {validation_split}"));
    }
    let split = ((n as f64) * (1.0 - validation_split)).floor() as usize;
    if validation_split > 0.0 && (split == 0 || split == n) {
        return Err(format!(
            "Training data contains {n} samples, which is not sufficient to split it into a validation and training set as specified by `validation_split={validation_split}`. Either provide more data, or a different value for the `validation_split` argument."
        ));
    }
    Ok(split)
}

/// `n` with `what` in the singular or plural: "1 column", "2 columns".
pub fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn describe(shape: &[usize]) -> String {
    if shape.len() == 1 {
        count(shape[0], "column")
    } else {
        format!("per-sample shape ({})", fmt_shape(shape))
    }
}

/// Checks that an `x` of shape `x_shape` (batch first) fits the model input.
pub fn check_x_shape(x_shape: &[usize], input_shape: &[usize]) -> Result<(), String> {
    let xs = x_shape.get(1..).unwrap_or(&[]);
    let flat_ok = xs.iter().product::<usize>() == input_shape.iter().product::<usize>() && input_shape.len() == 1;
    if xs != input_shape && !(flat_ok && xs.len() == 1) {
        let same_size = xs.iter().product::<usize>() == input_shape.iter().product::<usize>();
        let hint = if xs.len() == 1 && input_shape.len() > 1 && same_size {
            format!("; reshape it first: array_reshape(x, c(nrow(x), {}))", fmt_shape(input_shape))
        } else if same_size && xs.len() != input_shape.len() {
            // e.g. images (n, 28, 28) for an input (28, 28, 1): the channel axis is missing
            format!("; reshape it first: array_reshape(x, c(dim(x)[1], {}))", fmt_shape(input_shape))
        } else {
            String::new()
        };
        return Err(format!("x has {}, the model expects {}{hint}", describe(xs), describe(input_shape)));
    }
    Ok(())
}

/// Checks that `x` fits the model input and, when given, that `y` fits the output and loss.
pub fn check_xy<T: Real>(
    x: &Tensor<T>,
    y: Option<&Tensor<T>>,
    input_shape: &[usize],
    output_shape: &[usize],
    loss: Option<Loss>,
) -> Result<(), String> {
    check_x_shape(&x.shape, input_shape)?;
    let Some(y) = y else { return Ok(()) };
    if y.rows() != x.rows() {
        return Err(format!("x has {} but y has {}; they must match", count(x.rows(), "row"), count(y.rows(), "row")));
    }
    let k = output_shape.last().copied().unwrap_or(1);
    let want_cols = loss.map_or(k, |l| l.y_columns(k));
    // an N-d output (batch, ..., k) takes targets (batch, ..., k), or (batch, ...[, 1]) of labels
    let per: usize = output_shape[..output_shape.len().saturating_sub(1)].iter().product();
    if per > 1 {
        let ys = &y.shape[1..];
        let lead = &output_shape[..output_shape.len() - 1];
        let fits = ys.len() >= lead.len()
            && ys[..lead.len()] == *lead
            && ys[lead.len()..].iter().product::<usize>() == want_cols;
        if !fits {
            return Err(format!(
                "y has per-sample shape ({}), the model's output has per-sample shape ({}){}",
                fmt_shape(ys),
                fmt_shape(output_shape),
                if want_cols == 1 { " and takes one integer label per position" } else { "" }
            ));
        }
    }
    let ycols = y.row_len() / per.max(1);
    if ycols != want_cols {
        let sparse = loss == Some(Loss::SparseCategoricalCrossentropy);
        return Err(if sparse {
            format!(
                "y has {}; sparse_categorical_crossentropy expects one integer label per row (0..{})",
                count(ycols, "column"),
                k - 1
            )
        } else if ycols > want_cols && want_cols > 1 {
            format!("y has {} (classes), more than the model's {}", count(ycols, "column"), count(k, "output unit"))
        } else {
            format!("y has {}, the model's output has {}", count(ycols, "column"), count(want_cols, "unit"))
        });
    }
    if loss == Some(Loss::SparseCategoricalCrossentropy) {
        for (i, v) in y.data.iter().enumerate() {
            let v = v.to_f64().unwrap_or(f64::NAN);
            if v < 0.0 || v.fract() != 0.0 || v >= k as f64 {
                return Err(format!(
                    "y[{}] is {v}: sparse_categorical_crossentropy needs integer class labels 0..{} (the model has {k} output units)",
                    i + 1,
                    k - 1
                ));
            }
        }
    }
    Ok(())
}

/// Checks that inputs `xs` (and targets `ys`, when given) fit a model with inputs `inputs`
/// and outputs `outputs` (names and per-sample shapes) and their losses: counts, rows, shapes.
/// Errors name the input or output when the model has several.
pub fn check_data<T: Real>(
    xs: &[Tensor<T>],
    ys: Option<&[Tensor<T>]>,
    inputs: &[(&str, &[usize])],
    outputs: &[(&str, Vec<usize>, Option<Loss>)],
) -> Result<(), String> {
    let names = |v: &mut dyn Iterator<Item = &str>| v.map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ");
    if xs.len() != inputs.len() {
        return Err(format!(
            "the model has {} ({}), x has {}",
            count(inputs.len(), "input"),
            names(&mut inputs.iter().map(|i| i.0)),
            count(xs.len(), "array")
        ));
    }
    if let Some(ys) = ys {
        if ys.len() != outputs.len() {
            return Err(format!(
                "the model has {} ({}), y has {}",
                count(outputs.len(), "output"),
                names(&mut outputs.iter().map(|o| o.0)),
                count(ys.len(), "array")
            ));
        }
    }
    let rows = xs[0].rows();
    for (i, (x, (name, shape))) in xs.iter().zip(inputs).enumerate() {
        let of = if inputs.len() > 1 { format!("input \"{name}\": ") } else { String::new() };
        check_x_shape(&x.shape, shape).map_err(|e| format!("{of}{e}"))?;
        if x.rows() != rows {
            return Err(format!(
                "x arrays have different numbers of rows: {} for input 1, {} for input {}",
                rows,
                x.rows(),
                i + 1
            ));
        }
    }
    let Some(ys) = ys else { return Ok(()) };
    for (y, (name, shape, loss)) in ys.iter().zip(outputs) {
        let of = if outputs.len() > 1 { format!("output \"{name}\": ") } else { String::new() };
        check_xy(&xs[0], Some(y), xs[0].shape.get(1..).unwrap_or(&[]), shape, *loss).map_err(|e| format!("{of}{e}"))?;
    }
    Ok(())
}

/// An embedding layer that reads model input `input`: its values must be ids in
/// `[0, input_dim)`.
#[derive(Clone, Debug, PartialEq)]
pub struct IdCheck {
    pub input: usize,
    pub layer: String,
    pub input_dim: usize,
}

/// Checks the ids of inputs `xs` (whose first row is data row `row0`) for each of `checks`;
/// the error names the layer, the value and its row and step.
pub fn check_input_ids<T: Real>(xs: &[Tensor<T>], checks: &[IdCheck], row0: usize) -> Result<(), String> {
    for c in checks {
        if let Some(x) = xs.get(c.input) {
            let what = if xs.len() > 1 { format!("x[[{}]]", c.input + 1) } else { "x".to_string() };
            crate::layers::check_ids(&x.data, x.shape.get(1..).unwrap_or(&[]), row0, &c.layer, c.input_dim, &what)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_takes_the_last_rows() {
        assert_eq!(split_point(60000, 0.2).unwrap(), 48000);
        assert_eq!(split_point(10, 0.0).unwrap(), 10);
        assert!(split_point(1, 0.5).unwrap_err().contains("not sufficient"));
        assert!(split_point(10, 1.0).is_err());
        assert!(split_point(10, -0.1).is_err());
    }

    #[test]
    fn shape_errors_say_what_was_given() {
        let x = Tensor::<f32>::zeros(&[4, 783]);
        let e = check_xy(&x, None, &[784], &[10], None).unwrap_err();
        assert_eq!(e, "x has 783 columns, the model expects 784 columns");
        let x = Tensor::<f32>::zeros(&[4, 784]);
        let y = Tensor::<f32>::zeros(&[3, 10]);
        assert!(check_xy(&x, Some(&y), &[784], &[10], Some(Loss::CategoricalCrossentropy))
            .unwrap_err()
            .contains("4 rows but y has 3"));
        let y = Tensor::<f32>::zeros(&[4, 11]);
        assert!(check_xy(&x, Some(&y), &[784], &[10], Some(Loss::CategoricalCrossentropy))
            .unwrap_err()
            .contains("more than the model's 10"));
        let y = Tensor::<f32>::from_vec(&[4, 1], vec![0.0, 1.0, 10.0, 2.0]);
        let e = check_xy(&x, Some(&y), &[784], &[10], Some(Loss::SparseCategoricalCrossentropy)).unwrap_err();
        assert!(e.contains("y[3] is 10"), "{e}");
    }
}
