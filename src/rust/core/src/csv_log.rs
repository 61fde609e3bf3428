//! Keras `CSVLogger` callback: streams one row per epoch to a CSV file, byte-compatible with
//! Keras 3 (Python `csv.excel` dialect with a custom delimiter).
//!
//! File format, as written by Keras:
//!
//! * header `epoch,<sorted keys>`; when the first epoch's logs contain no `val_*` key, a
//!   `val_<k>` column is added for every key (so runs without validation, or with
//!   `validation_freq > 1`, still get the validation columns);
//! * columns are fixed at the first `on_epoch_end` of each training run: later new keys are
//!   ignored, missing ones are written `NA`;
//! * `epoch` is the 0-based epoch index; values are Python's `repr(float)` (see
//!   [`python_float_repr`]);
//! * `\r\n` line endings, minimal quoting (a field is quoted only if it contains the separator,
//!   `"` or a line break; `"` is doubled);
//! * the file is flushed after every row.
//!
//! One deliberate difference: Keras raises `FileNotFoundError` when the parent directory does not
//! exist; this logger creates it.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

pub use crate::callbacks::Logs;

/// Python's `csv.excel` line terminator.
const LINE_TERMINATOR: &str = "\r\n";

/// Text written for a column whose key is missing from an epoch's logs.
const MISSING: &str = "NA";

/// The Keras `CSVLogger(filename, separator = ",", append = FALSE)` callback.
///
/// Call [`on_train_begin`](Self::on_train_begin) at the start of every `fit`, then
/// [`on_epoch_end`](Self::on_epoch_end) after each epoch and [`on_train_end`](Self::on_train_end)
/// at the end (the file is also closed when the logger is dropped). A logger can be reused for
/// several `fit` calls, like in Keras.
#[derive(Debug)]
pub struct CsvLogger {
    path: PathBuf,
    separator: char,
    append: bool,
    /// Whether the header is written at the first epoch of a run. Only an `append` run on an
    /// existing non-empty file turns it off (and, like Keras, it is only re-evaluated for
    /// `append` runs on existing files).
    append_header: bool,
    file: Option<BufWriter<File>>,
    /// Columns after `epoch`, fixed at the first `on_epoch_end` of a run.
    keys: Option<Vec<String>>,
}

impl CsvLogger {
    /// A logger writing to `path` with the given field separator (Keras' default is `','`).
    /// With `append`, an existing file is continued (without a second header); otherwise it is
    /// truncated at [`on_train_begin`](Self::on_train_begin). Nothing is opened before that.
    pub fn new(path: impl Into<PathBuf>, separator: char, append: bool) -> Self {
        CsvLogger { path: path.into(), separator, append, append_header: true, file: None, keys: None }
    }

    /// The file this logger writes to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The columns after `epoch`, once fixed by the first `on_epoch_end` of the current run.
    pub fn keys(&self) -> Option<&[String]> {
        self.keys.as_deref()
    }

    /// Whether the file is currently open (between `on_train_begin` and `on_train_end`).
    pub fn is_open(&self) -> bool {
        self.file.is_some()
    }

    /// Opens the file: in append mode the header will only be written if the file does not exist
    /// yet or is empty (Keras: its first `readline()` is empty); otherwise the file is
    /// truncated. Missing parent directories are created. Resets the columns, so the next
    /// `on_epoch_end` fixes them again.
    ///
    /// Errors: separator `"`, `\r` or `\n` (`InvalidInput`), or any I/O error.
    pub fn on_train_begin(&mut self) -> io::Result<()> {
        if matches!(self.separator, '"' | '\r' | '\n') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("CsvLogger: invalid separator {:?}", self.separator),
            ));
        }
        if self.append {
            if let Ok(meta) = fs::metadata(&self.path) {
                self.append_header = meta.len() == 0;
            }
        }
        // Close (and flush) a file left open by a previous run.
        self.on_train_end();
        self.keys = None;

        if let Some(parent) = self.path.parent() {
            if !parent.as_os_str().is_empty() {
                fs::create_dir_all(parent)?;
            }
        }
        let mut options = OpenOptions::new();
        if self.append {
            options.append(true).create(true);
        } else {
            options.write(true).create(true).truncate(true);
        }
        self.file = Some(BufWriter::new(options.open(&self.path)?));
        Ok(())
    }

    /// Writes the row for `epoch` (0-based) and flushes. The first call of a run fixes the
    /// columns (`epoch`, then the sorted keys, plus `val_<k>` for every key when no key starts
    /// with `val_`) and writes the header if needed.
    ///
    /// Errors if called before [`on_train_begin`](Self::on_train_begin) (`NotConnected`) or on any
    /// I/O error.
    pub fn on_epoch_end(&mut self, epoch: usize, logs: &Logs) -> io::Result<()> {
        let Some(file) = self.file.as_mut() else {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "CsvLogger: on_epoch_end called before on_train_begin",
            ));
        };

        if self.keys.is_none() {
            let mut keys: Vec<String> = logs.keys().map(String::from).collect();
            keys.sort();
            if !keys.is_empty() && !keys.iter().any(|k| k.starts_with("val_")) {
                let val_keys: Vec<String> = keys.iter().map(|k| format!("val_{k}")).collect();
                keys.extend(val_keys);
            }
            if self.append_header {
                let header: Vec<&str> = std::iter::once("epoch").chain(keys.iter().map(String::as_str)).collect();
                file.write_all(csv_row(&header, self.separator).as_bytes())?;
            }
            self.keys = Some(keys);
        }
        let keys = self.keys.as_deref().unwrap_or_default();

        let mut fields = Vec::with_capacity(keys.len() + 1);
        fields.push(epoch.to_string());
        for key in keys {
            fields.push(logs.get(key).map_or_else(|| MISSING.to_string(), python_float_repr));
        }
        let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
        file.write_all(csv_row(&fields, self.separator).as_bytes())?;
        file.flush()
    }

    /// Closes the file (flushing it). Does nothing if it is not open. Errors while flushing
    /// are ignored, as when dropping a `BufWriter`; every row was already flushed anyway.
    pub fn on_train_end(&mut self) {
        if let Some(mut file) = self.file.take() {
            let _ = file.flush();
        }
    }
}

impl Drop for CsvLogger {
    fn drop(&mut self) {
        self.on_train_end();
    }
}

/// One CSV record in Python's `csv.excel` dialect with `separator` as delimiter:
/// `QUOTE_MINIMAL`, `doublequote`, `\r\n` terminator.
fn csv_row(fields: &[&str], separator: char) -> String {
    let mut row = String::new();
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            row.push(separator);
        }
        let needs_quotes = field.chars().any(|c| c == separator || c == '"' || c == '\r' || c == '\n')
            // Python quotes a lone empty field so that the row is not read back as empty.
            || (fields.len() == 1 && field.is_empty());
        if needs_quotes {
            row.push('"');
            row.push_str(&field.replace('"', "\"\""));
            row.push('"');
        } else {
            row.push_str(field);
        }
    }
    row.push_str(LINE_TERMINATOR);
    row
}

/// Python's `repr(float)` (= `str(float)`): the shortest digit string that round-trips, in
/// positional notation when the decimal exponent is in `-4..16`, else in exponent notation with a
/// signed, at least two-digit exponent. Examples: `0.1`, `2.0`, `0.0001`, `1e-05`, `1.5e-07`,
/// `1000000000000000.0`, `1e+16`, `1.2345678901234568e+17`, `-0.0`, `nan`, `inf`, `-inf`.
pub fn python_float_repr(v: f64) -> String {
    if v.is_nan() {
        return "nan".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    let sign = if v.is_sign_negative() { "-" } else { "" };
    if v == 0.0 {
        return format!("{sign}0.0");
    }

    // Rust's `{:e}` gives the shortest round-trip digits: "d[.ddd]e<exp>".
    let sci = format!("{:e}", v.abs());
    let (mantissa, exponent) = sci.split_once('e').expect("LowerExp output always has an exponent");
    let exponent: i32 = exponent.parse().expect("LowerExp exponent is an integer");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();

    if (-4..16).contains(&exponent) {
        let point = exponent + 1; // digits before the decimal point
        if point <= 0 {
            let zeros = "0".repeat(point.unsigned_abs() as usize);
            format!("{sign}0.{zeros}{digits}")
        } else {
            let point = point as usize;
            if digits.len() <= point {
                let zeros = "0".repeat(point - digits.len());
                format!("{sign}{digits}{zeros}.0")
            } else {
                format!("{sign}{}.{}", &digits[..point], &digits[point..])
            }
        }
    } else {
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        format!("{sign}{mantissa}e{exp_sign}{:02}", exponent.unsigned_abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    // ----------------------------------------------------------------------------------------
    // helpers

    /// A fresh, empty temporary directory, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> Self {
            static COUNTER: AtomicUsize = AtomicUsize::new(0);
            let n = COUNTER.fetch_add(1, Ordering::SeqCst);
            let dir = std::env::temp_dir().join(format!("csv_log_test_{}_{tag}_{n}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }
        fn join(&self, name: &str) -> PathBuf {
            self.0.join(name)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn reference(name: &str) -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata").join(name);
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
    }

    fn logs(pairs: &[(&str, f64)]) -> Logs {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    /// Parses a reference CSV (no quoted fields) into (epoch, logs) rows; `NA` cells are left out
    /// of the logs, as they were absent from Keras' logs.
    fn parse_reference(text: &str, sep: char) -> Vec<(usize, Logs)> {
        let mut lines = text.split("\r\n").filter(|l| !l.is_empty());
        let header: Vec<&str> = lines.next().unwrap().split(sep).collect();
        assert_eq!(header[0], "epoch");
        lines
            .map(|line| {
                let cells: Vec<&str> = line.split(sep).collect();
                assert_eq!(cells.len(), header.len());
                let epoch = cells[0].parse().unwrap();
                let logs = header[1..]
                    .iter()
                    .zip(&cells[1..])
                    .filter(|(_, c)| **c != "NA")
                    .map(|(k, c)| (k.to_string(), c.parse::<f64>().unwrap()))
                    .collect();
                (epoch, logs)
            })
            .collect()
    }

    /// One `fit`: on_train_begin, on_epoch_end for every row, on_train_end.
    fn fit(logger: &mut CsvLogger, rows: &[(usize, Logs)]) {
        logger.on_train_begin().unwrap();
        for (epoch, l) in rows {
            logger.on_epoch_end(*epoch, l).unwrap();
        }
        logger.on_train_end();
    }

    fn reproduce(name: &str, sep: char) {
        let expected = reference(name);
        let rows = parse_reference(&expected, sep);
        let dir = TempDir::new(name);
        let path = dir.join(name);
        let mut logger = CsvLogger::new(&path, sep, false);
        fit(&mut logger, &rows);
        assert_eq!(fs::read_to_string(&path).unwrap(), expected, "{name}");
    }

    // ----------------------------------------------------------------------------------------
    // reference files from Keras 3.15.1

    #[test]
    fn reproduces_csv_val() {
        reproduce("csv_val.csv", ',');
    }

    #[test]
    fn reproduces_csv_noval() {
        // no val_* keys in the logs -> val_ columns filled with NA
        reproduce("csv_noval.csv", ',');
    }

    #[test]
    fn reproduces_csv_valfreq2() {
        // first epoch without validation fixes the columns with the automatic val_ keys
        reproduce("csv_valfreq2.csv", ',');
    }

    #[test]
    fn reproduces_csv_lr() {
        reproduce("csv_lr_before.csv", ';');
        reproduce("csv_lr_after.csv", ',');
    }

    #[test]
    fn reproduces_csv_append_two_fits() {
        let expected = reference("csv_append.csv");
        let rows = parse_reference(&expected, ',');
        let (first, second) = rows.split_at(2);
        let dir = TempDir::new("append");

        // the same logger object for both fits
        let path = dir.join("same.csv");
        let mut logger = CsvLogger::new(&path, ',', true);
        fit(&mut logger, first);
        fit(&mut logger, second);
        assert_eq!(fs::read_to_string(&path).unwrap(), expected);

        // a new logger for the second fit
        let path = dir.join("new.csv");
        fit(&mut CsvLogger::new(&path, ',', true), first);
        fit(&mut CsvLogger::new(&path, ',', true), second);
        assert_eq!(fs::read_to_string(&path).unwrap(), expected);
    }

    #[test]
    fn hardcoded_rows() {
        let dir = TempDir::new("hard");
        let path = dir.join("log.csv");
        let mut logger = CsvLogger::new(&path, ',', false);
        fit(&mut logger, &[(0, logs(&[("loss", 0.4933333396911621), ("accuracy", 0.5)]))]);
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "epoch,accuracy,loss,val_accuracy,val_loss\r\n0,0.5,0.4933333396911621,NA,NA\r\n"
        );
    }

    // ----------------------------------------------------------------------------------------
    // semantics

    #[test]
    fn overwrite_without_append() {
        let dir = TempDir::new("overwrite");
        let path = dir.join("log.csv");
        fs::write(&path, "old content that is longer than the new one\r\n".repeat(10)).unwrap();
        let mut logger = CsvLogger::new(&path, ',', false);
        fit(&mut logger, &[(0, logs(&[("val_loss", 1.0)]))]);
        fit(&mut logger, &[(0, logs(&[("val_loss", 2.0)]))]);
        assert_eq!(fs::read_to_string(&path).unwrap(), "epoch,val_loss\r\n0,2.0\r\n");
    }

    #[test]
    fn append_to_empty_or_missing_file_writes_header() {
        let dir = TempDir::new("append_empty");
        let path = dir.join("empty.csv");
        fs::write(&path, "").unwrap();
        fit(&mut CsvLogger::new(&path, ',', true), &[(0, logs(&[("val_loss", 1.0)]))]);
        assert_eq!(fs::read_to_string(&path).unwrap(), "epoch,val_loss\r\n0,1.0\r\n");

        // a file starting with an empty line is not empty for Keras (readline() == "\n")
        let path = dir.join("blank_line.csv");
        fs::write(&path, "\r\n").unwrap();
        fit(&mut CsvLogger::new(&path, ',', true), &[(3, logs(&[("val_loss", 1.0)]))]);
        assert_eq!(fs::read_to_string(&path).unwrap(), "\r\n3,1.0\r\n");
    }

    #[test]
    fn columns_fixed_at_first_epoch() {
        let dir = TempDir::new("columns");
        let path = dir.join("log.csv");
        let mut logger = CsvLogger::new(&path, ',', false);
        logger.on_train_begin().unwrap();
        logger.on_epoch_end(0, &logs(&[("loss", 1.0), ("val_loss", 2.0)])).unwrap();
        assert_eq!(logger.keys().unwrap(), ["loss", "val_loss"]);
        // new key ignored, missing key NA
        logger.on_epoch_end(1, &logs(&[("loss", 0.5), ("learning_rate", 0.1)])).unwrap();
        logger.on_train_end();
        assert!(!logger.is_open());
        assert_eq!(fs::read_to_string(&path).unwrap(), "epoch,loss,val_loss\r\n0,1.0,2.0\r\n1,0.5,NA\r\n");
    }

    #[test]
    fn empty_logs_give_epoch_only() {
        let dir = TempDir::new("empty_logs");
        let path = dir.join("log.csv");
        let mut logger = CsvLogger::new(&path, ',', false);
        logger.on_train_begin().unwrap();
        logger.on_epoch_end(0, &Logs::new()).unwrap();
        logger.on_epoch_end(1, &logs(&[("loss", 1.0)])).unwrap();
        drop(logger);
        assert_eq!(fs::read_to_string(&path).unwrap(), "epoch\r\n0\r\n1\r\n");
    }

    #[test]
    fn creates_missing_parent_directories() {
        let dir = TempDir::new("mkdir");
        let path = dir.join("a/b/c/x.csv");
        let mut logger = CsvLogger::new(&path, ',', false);
        fit(&mut logger, &[(0, logs(&[("loss", 1.0)]))]);
        assert_eq!(fs::read_to_string(&path).unwrap(), "epoch,loss,val_loss\r\n0,1.0,NA\r\n");
    }

    #[test]
    fn flushes_after_every_row() {
        let dir = TempDir::new("flush");
        let path = dir.join("log.csv");
        let mut logger = CsvLogger::new(&path, ',', false);
        logger.on_train_begin().unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "", "truncated at train begin");
        logger.on_epoch_end(0, &logs(&[("loss", 0.25)])).unwrap();
        assert!(logger.is_open());
        assert_eq!(fs::read_to_string(&path).unwrap(), "epoch,loss,val_loss\r\n0,0.25,NA\r\n");
        logger.on_epoch_end(1, &logs(&[("loss", 0.125)])).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "epoch,loss,val_loss\r\n0,0.25,NA\r\n1,0.125,NA\r\n");
    }

    #[test]
    fn errors() {
        let dir = TempDir::new("errors");
        let mut logger = CsvLogger::new(dir.join("log.csv"), ',', false);
        let err = logger.on_epoch_end(0, &Logs::new()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotConnected);
        let mut logger = CsvLogger::new(dir.join("log.csv"), '"', false);
        assert_eq!(logger.on_train_begin().unwrap_err().kind(), io::ErrorKind::InvalidInput);
        // the path is a directory
        let mut logger = CsvLogger::new(dir.0.clone(), ',', false);
        assert!(logger.on_train_begin().is_err());
    }

    #[test]
    fn minimal_quoting_like_python_csv() {
        // Python: csv.DictWriter with delimiter '.' -> 'epoch."a""b"."c.d".e f\r\n0."0.5".NA.1e-05\r\n'
        assert_eq!(csv_row(&["epoch", "a\"b", "c.d", "e f"], '.'), "epoch.\"a\"\"b\".\"c.d\".e f\r\n");
        assert_eq!(csv_row(&["0", "0.5", "NA", "1e-05"], '.'), "0.\"0.5\".NA.1e-05\r\n");
        // Python: 'x y\t"a\nb"\t"c\rd"\t\r\n""\r\n'
        assert_eq!(csv_row(&["x y", "a\nb", "c\rd", ""], '\t'), "x y\t\"a\nb\"\t\"c\rd\"\t\r\n");
        assert_eq!(csv_row(&[""], '\t'), "\"\"\r\n");

        let dir = TempDir::new("quoting");
        let path = dir.join("log.csv");
        let mut logger = CsvLogger::new(&path, '.', false);
        fit(&mut logger, &[(0, logs(&[("val_loss", 0.5)]))]);
        assert_eq!(fs::read_to_string(&path).unwrap(), "epoch.val_loss\r\n0.\"0.5\"\r\n");
    }

    #[test]
    fn float_repr_matches_python() {
        // (value, Python 3.11 repr(value))
        let cases: &[(f64, &str)] = &[
            (0.1, "0.1"),
            (1e-05, "1e-05"),
            (1.5e-07, "1.5e-07"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (100.0, "100.0"),
            (0.0001, "0.0001"),
            (0.00012345, "0.00012345"),
            (f64::NAN, "nan"),
            (-f64::NAN, "nan"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (9999999999999998.0, "9999999999999998.0"),
            (1234567890123456.7, "1234567890123456.8"),
            (0.4933333396911621, "0.4933333396911621"),
            (0.0010000000474974513, "0.0010000000474974513"),
            (4.999999873689376e-05, "4.999999873689376e-05"),
            (5e-324, "5e-324"),
            (2.2250738585072014e-308, "2.2250738585072014e-308"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (2.0, "2.0"),
            (0.5, "0.5"),
            (-1.25e-5, "-1.25e-05"),
            (123.0, "123.0"),
            (1e22, "1e+22"),
            (1.0000000000000002, "1.0000000000000002"),
            (0.30000000000000004, "0.30000000000000004"),
            (12345.678, "12345.678"),
            (-7.0, "-7.0"),
            (f32::MAX as f64, "3.4028234663852886e+38"),
            (0.1f32 as f64, "0.10000000149011612"),
        ];
        for &(v, expected) in cases {
            assert_eq!(python_float_repr(v), expected, "repr of {v:e}");
        }
    }

    #[test]
    fn float_repr_round_trips() {
        let mut x = 1.0e-310_f64;
        while x < 1e300 {
            for v in [x, -x, x * 1.2345678901234567, x / 3.0] {
                let s = python_float_repr(v);
                assert_eq!(s.parse::<f64>().unwrap(), v, "{s}");
            }
            x *= 7.3;
        }
    }
}
