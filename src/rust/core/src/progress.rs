//! Keras 3 progress bar (`keras.utils.Progbar` as driven by `ProgbarLogger`), reproduced byte for byte.
//!
//! The bar never reads a clock: every call takes `now`, a time in seconds since an arbitrary origin
//! (use the same origin for the whole life of one [`Progbar`]). [`Progbar::update`] returns the text
//! that Keras would write to stdout (possibly empty); the caller prints it unchanged (no extra newline).
//!
//! Output shape (Keras 3, width 20):
//!
//! * `verbose = 1` (dynamic display): every printed update is `"\x08" * prev_width + "\r" + line`,
//!   where `line` is `\x1b[1m{cur}/{target}\x1b[0m ` + green/white bar of `━` (U+2501) +
//!   ` \x1b[1m{ETA or elapsed}\x1b[0m` + ` {t}ms/step` + ` - key: value` for every metric; a line
//!   shorter than the previous one is padded with spaces; the final update ends with `"\n"`.
//!   Non-final updates are throttled to one per 0.05 s.
//! * `verbose = 2`: nothing until the final update, then one plain line
//!   `{cur}/{target} - {elapsed}s - {t}ms/step - key: value ...\n`.
//! * `verbose = 0`: nothing at all (the state is still updated).
//!
//! Metric values are displayed as given (Keras' `ProgbarLogger` builds its bar with
//! `stateless_metrics=set()`, so no averaging happens). Metrics are listed in first-seen order across
//! the updates of one bar: with sorted [`Logs`] this is `accuracy, loss` from the batches followed
//! by keys that first appear at epoch end (`val_accuracy, val_loss`, ...). A metric missing from a
//! later update keeps its last value, exactly like Keras.

pub use crate::callbacks::Logs;

/// Width of the bar in characters (Keras 3; Keras 2 used 30).
pub const DEFAULT_WIDTH: usize = 20;

/// Minimum time in seconds between two displayed non-final updates (`verbose = 1`).
pub const DEFAULT_INTERVAL: f64 = 0.05;

const BOLD: &str = "\x1b[1m";
const GREEN: &str = "\x1b[32m";
const WHITE: &str = "\x1b[37m";
const RESET: &str = "\x1b[0m";
/// U+2501 BOX DRAWINGS HEAVY HORIZONTAL.
const BAR_CHAR: &str = "\u{2501}";

/// Formats a metric value the way Keras 3's progress bar does.
///
/// Uses Python's `f"{v:.4f}"` when the value is "large" and `f"{v:.4e}"` otherwise
/// (e.g. `1.2346e-04`, `0.0000e+00`, `nan`, `inf`). "Large" is `|v| > 1e-3` when `use_abs`
/// (verbose = 1) and `v > 1e-3` when not (verbose = 2, so negative values print in `.4e`).
/// Only the number is returned, without the leading space.
pub fn format_value(v: f64, use_abs: bool) -> String {
    let large = if use_abs { v.abs() > 1e-3 } else { v > 1e-3 };
    if large {
        py_format_fixed(v, 4)
    } else {
        py_format_exp(v, 4)
    }
}

/// The line Keras prints before each epoch: `Some("Epoch {epoch0 + 1}/{epochs}\n")`, or `None`
/// when `epochs <= 1` (Keras prints no header for a single-epoch fit).
pub fn epoch_header(epoch0: usize, epochs: usize) -> Option<String> {
    if epochs > 1 {
        Some(format!("Epoch {}/{}\n", epoch0 + 1, epochs))
    } else {
        None
    }
}

/// What the console a bar is drawn on can do (decided by the caller: R knows whether it runs in
/// a terminal, RStudio, Positron or knitr). The default is Keras' own output: colours, and
/// backspaces before the carriage return of every redraw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsoleStyle {
    /// ANSI bold/green/white codes around the count, bar and time; off: plain text.
    pub color: bool,
    /// `"\x08" * prev_width` before the `"\r"` of a redraw; off: `"\r"` alone (RStudio and
    /// Positron redraw with `"\r"`).
    pub backspaces: bool,
}

impl Default for ConsoleStyle {
    fn default() -> Self {
        ConsoleStyle { color: true, backspaces: true }
    }
}

/// A Keras 3 progress bar with injected time. See the [module documentation](self).
#[derive(Debug, Clone)]
pub struct Progbar {
    /// Steps per epoch; `0` means unknown (Keras' `target=None`).
    target: usize,
    width: usize,
    verbose: u8,
    interval: f64,
    unit_name: String,
    /// `\b`-and-`\r` redraws (Keras: on whenever the `posix` module is loaded); else `\n` per update.
    dynamic_display: bool,
    style: ConsoleStyle,
    start: f64,
    /// Time of the last update that was not throttled; `None` before the first one.
    last_update: Option<f64>,
    time_after_first_step: Option<f64>,
    prev_total_width: usize,
    seen_so_far: usize,
    /// Metrics in first-seen order with their latest value.
    values: Vec<(String, f64)>,
}

impl Progbar {
    /// A bar for `target` steps (0 = unknown) whose start time is `0.0`, i.e. `now` passed to
    /// [`update`](Self::update) is measured in seconds since the bar was created.
    /// `verbose` is 0 (silent), 1 (animated bar) or 2 (one line at the end); other values behave as 0.
    pub fn new(target: usize, verbose: u8) -> Self {
        Self::starting_at(target, verbose, 0.0)
    }

    /// Like [`new`](Self::new) but with an explicit start time on the caller's clock
    /// (Keras takes `time.time()` when the bar is constructed, i.e. at `on_epoch_begin`).
    pub fn starting_at(target: usize, verbose: u8, start: f64) -> Self {
        Progbar {
            target,
            width: DEFAULT_WIDTH,
            verbose,
            interval: DEFAULT_INTERVAL,
            unit_name: "step".to_string(),
            dynamic_display: true,
            style: ConsoleStyle::default(),
            start,
            last_update: None,
            time_after_first_step: None,
            prev_total_width: 0,
            seen_so_far: 0,
            values: Vec::new(),
        }
    }

    /// Sets the bar width (default [`DEFAULT_WIDTH`]).
    pub fn with_width(mut self, width: usize) -> Self {
        self.width = width;
        self
    }

    /// Sets the throttling interval in seconds (default [`DEFAULT_INTERVAL`]).
    pub fn with_interval(mut self, interval: f64) -> Self {
        self.interval = interval;
        self
    }

    /// Sets the unit shown in the time per unit (default `"step"`, e.g. `5ms/step`).
    pub fn with_unit_name(mut self, unit_name: impl Into<String>) -> Self {
        self.unit_name = unit_name.into();
        self
    }

    /// Turns the dynamic display off (each update then starts with `"\n"` instead of
    /// backspaces and `"\r"`, as Keras does without a tty on non-POSIX systems). Default: on.
    pub fn with_dynamic_display(mut self, dynamic: bool) -> Self {
        self.dynamic_display = dynamic;
        self
    }

    /// Sets what the console can do (default: Keras' bytes, see [`ConsoleStyle`]).
    pub fn with_style(mut self, style: ConsoleStyle) -> Self {
        self.style = style;
        self
    }

    /// Steps per epoch (0 = unknown).
    pub fn target(&self) -> usize {
        self.target
    }

    /// Changes the target (Keras' `ProgbarLogger` sets it to the number of steps seen when the
    /// epoch ends with an unknown target).
    pub fn set_target(&mut self, target: usize) {
        self.target = target;
    }

    /// The `current` value of the latest update.
    pub fn seen_so_far(&self) -> usize {
        self.seen_so_far
    }

    /// The verbosity this bar was built with.
    pub fn verbose(&self) -> u8 {
        self.verbose
    }

    /// Keras `Progbar.update(current, values=logs, finalize=finalize)` at time `now`.
    ///
    /// Returns the exact text Keras writes (print it without adding a newline); the string is
    /// empty when nothing is printed: `verbose = 0`, `verbose = 2` before the final update, or a
    /// non-final `verbose = 1` update less than 0.05 s after the last displayed one.
    ///
    /// `finalize = true` produces the final form (elapsed time instead of ETA, trailing newline)
    /// and is never throttled. As in Keras' `ProgbarLogger`, reaching `current == target` with
    /// `finalize = false` is still an ordinary (throttled, ETA) update; to get Keras' default
    /// `finalize=None` behaviour pass `finalize || current >= target`.
    ///
    /// Note that every call with `current == 1` records the "after first step" time used by the
    /// time-per-step estimate, even when nothing is printed. Keras' logger only feeds batch
    /// updates to `verbose = 1` bars; use [`on_batch_end`](Self::on_batch_end) and
    /// [`finish`](Self::finish) to get that behaviour.
    pub fn update(&mut self, current: usize, logs: &Logs, now: f64, finalize: bool) -> String {
        for (k, v) in logs.iter() {
            match self.values.iter_mut().find(|(name, _)| name == k) {
                Some(entry) => entry.1 = v,
                None => self.values.push((k.to_string(), v)),
            }
        }
        self.seen_so_far = current;
        let time_per_unit = self.estimate_step_duration(current, now);

        let out = match self.verbose {
            1 => {
                let throttled = !finalize && self.last_update.is_some_and(|last| now - last < self.interval);
                if throttled {
                    return String::new();
                }
                self.render_verbose1(current, now, time_per_unit, finalize)
            }
            2 if finalize && self.target > 0 => self.render_verbose2(current, now, time_per_unit),
            _ => String::new(),
        };
        self.last_update = Some(now);
        out
    }

    /// What Keras' `ProgbarLogger.on_train_batch_end(batch, logs)` does: for `verbose = 1`,
    /// `update(batch + 1, logs, now, false)`; for other verbosities nothing (and no state change).
    /// `batch` is 0-based.
    pub fn on_batch_end(&mut self, batch: usize, logs: &Logs, now: f64) -> String {
        if self.verbose == 1 {
            self.update(batch + 1, logs, now, false)
        } else {
            self.seen_so_far = batch + 1;
            String::new()
        }
    }

    /// What Keras' `ProgbarLogger` does at epoch end (or at the end of `evaluate`): if the target
    /// is unknown it becomes the number of steps seen, then `update(target, logs, now, true)`.
    pub fn finish(&mut self, logs: &Logs, now: f64) -> String {
        if self.target == 0 {
            self.target = self.seen_so_far;
        }
        self.update(self.target, logs, now, true)
    }

    /// Estimated seconds per step; the first step is excluded once `current > 1`.
    fn estimate_step_duration(&mut self, current: usize, now: f64) -> f64 {
        if current == 0 {
            return 0.0;
        }
        let time_per_unit = match self.time_after_first_step {
            Some(t1) if current > 1 => (now - t1) / (current - 1) as f64,
            _ => (now - self.start) / current as f64,
        };
        if current == 1 {
            self.time_after_first_step = Some(now);
        }
        time_per_unit
    }

    fn render_verbose1(&mut self, current: usize, now: f64, time_per_unit: f64, finalize: bool) -> String {
        let mut message = String::new();
        if self.dynamic_display {
            if self.style.backspaces {
                message.push_str(&"\x08".repeat(self.prev_total_width));
            }
            message.push('\r');
        } else {
            message.push('\n');
        }
        // ANSI codes, or nothing on a console without colours
        let code = |c: &'static str| if self.style.color { c } else { "" };
        let (bold, green, white, reset) = (code(BOLD), code(GREEN), code(WHITE), code(RESET));

        // Keras subtracts the length of the ANSI codes it added from the character count.
        let mut special_char_len = 0usize;
        let mut bar = String::new();
        if self.target > 0 {
            let digits = decimal_digits(self.target);
            bar.push_str(&format!("{bold}{current:>digits$}/{}{reset} ", self.target));
            special_char_len += bold.len() + reset.len();
            let prog = current as f64 / self.target as f64;
            let prog_width = (self.width as f64 * prog) as usize;
            if prog_width > 0 {
                bar.push_str(green);
                bar.push_str(&BAR_CHAR.repeat(prog_width));
                bar.push_str(reset);
                special_char_len += green.len() + reset.len();
            }
            bar.push_str(white);
            bar.push_str(&BAR_CHAR.repeat(self.width.saturating_sub(prog_width)));
            bar.push_str(reset);
            special_char_len += white.len() + reset.len();
        } else {
            bar.push_str(&format!("{current:>7}/Unknown"));
        }

        let mut info = if self.target > 0 && !finalize {
            let eta = time_per_unit * (self.target as f64 - current as f64);
            format!(" {bold}{}{reset}", format_eta(eta))
        } else {
            format!(" {bold}{:.0}s{reset}", now - self.start)
        };
        special_char_len += bold.len() + reset.len();
        info.push_str(&format_time_per_unit(time_per_unit, &self.unit_name));
        for (k, v) in &self.values {
            info.push_str(&format!(" - {k}: {}", format_value(*v, true)));
        }

        let total_width = (bar.chars().count() + info.chars().count()).saturating_sub(special_char_len);
        message.push_str(&bar);
        message.push_str(&info);
        if self.prev_total_width > total_width {
            message.push_str(&" ".repeat(self.prev_total_width - total_width));
        }
        if finalize {
            message.push('\n');
        }
        self.prev_total_width = total_width;
        message
    }

    fn render_verbose2(&self, current: usize, now: f64, time_per_unit: f64) -> String {
        let digits = decimal_digits(self.target);
        let mut info = format!("{current:>digits$}/{} - {:.0}s", self.target, now - self.start);
        info.push_str(" -");
        info.push_str(&format_time_per_unit(time_per_unit, &self.unit_name));
        for (k, v) in &self.values {
            info.push_str(&format!(" - {k}: {}", format_value(*v, false)));
        }
        info.push('\n');
        info
    }
}

/// Number of decimal digits of `n` (Keras: `int(math.log10(target)) + 1`; identical for every
/// target below 2^53).
fn decimal_digits(n: usize) -> usize {
    n.to_string().len()
}

/// Keras' ETA text: `%ds`, `%d:%02d` above 60 s, `%d:%02d:%02d` above 3600 s (Python semantics:
/// float floor division / modulo, then `%d` truncation).
fn format_eta(eta: f64) -> String {
    if eta > 3600.0 {
        let hours = py_trunc(py_floordiv(eta, 3600.0));
        let minutes = py_trunc(py_floordiv(py_mod(eta, 3600.0), 60.0));
        let seconds = py_trunc(py_mod(eta, 60.0));
        format!("{hours}:{minutes:02}:{seconds:02}")
    } else if eta > 60.0 {
        let minutes = py_trunc(py_floordiv(eta, 60.0));
        let seconds = py_trunc(py_mod(eta, 60.0));
        format!("{minutes}:{seconds:02}")
    } else {
        format!("{}s", py_trunc(eta))
    }
}

/// Keras' `_format_time`: ` {t:.0f}s/step` (t >= 1 or t == 0), ` {ms:.0f}ms/step` (t >= 1e-3),
/// else ` {us:.0f}us/step`; note the leading space.
fn format_time_per_unit(time_per_unit: f64, unit_name: &str) -> String {
    if time_per_unit >= 1.0 || time_per_unit == 0.0 {
        format!(" {time_per_unit:.0}s/{unit_name}")
    } else if time_per_unit >= 1e-3 {
        format!(" {:.0}ms/{unit_name}", time_per_unit * 1000.0)
    } else {
        format!(" {:.0}us/{unit_name}", time_per_unit * 1_000_000.0)
    }
}

/// Python `int(x)` for the `%d` conversion of a float (truncation toward zero; NaN -> 0 and
/// saturation instead of Python's exceptions).
fn py_trunc(x: f64) -> i64 {
    x.trunc() as i64
}

/// Python's float `divmod(a, b)` (CPython `float_divmod`): the modulo takes the sign of `b` and the
/// quotient is the floored, exactly-rounded one.
fn py_divmod(a: f64, b: f64) -> (f64, f64) {
    let mut m = a % b;
    let mut div = (a - m) / b;
    if m != 0.0 {
        if (b < 0.0) != (m < 0.0) {
            m += b;
            div -= 1.0;
        }
    } else {
        m = 0.0f64.copysign(b);
    }
    let floordiv = if div != 0.0 {
        let mut f = div.floor();
        if div - f > 0.5 {
            f += 1.0;
        }
        f
    } else {
        0.0f64.copysign(a / b)
    };
    (floordiv, m)
}

/// Python `a // b` for floats.
fn py_floordiv(a: f64, b: f64) -> f64 {
    py_divmod(a, b).0
}

/// Python `a % b` for floats.
fn py_mod(a: f64, b: f64) -> f64 {
    py_divmod(a, b).1
}

/// Python `f"{v:.{precision}f}"`.
fn py_format_fixed(v: f64, precision: usize) -> String {
    if let Some(s) = py_non_finite(v) {
        return s;
    }
    format!("{v:.precision$}")
}

/// Python `f"{v:.{precision}e}"`: at least two exponent digits and an explicit exponent sign.
fn py_format_exp(v: f64, precision: usize) -> String {
    if let Some(s) = py_non_finite(v) {
        return s;
    }
    let rust = format!("{v:.precision$e}");
    let (mantissa, exponent) = rust.split_once('e').expect("LowerExp output always has an exponent");
    let exponent: i32 = exponent.parse().expect("LowerExp exponent is an integer");
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exponent.unsigned_abs())
}

/// Python's spelling of NaN and the infinities in `format()`.
fn py_non_finite(v: f64) -> Option<String> {
    if v.is_nan() {
        Some("nan".to_string())
    } else if v.is_infinite() {
        Some(if v > 0.0 { "inf" } else { "-inf" }.to_string())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // ----------------------------------------------------------------------------------------
    // helpers

    fn logs(pairs: &[(&str, f64)]) -> Logs {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    fn testdata(name: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata").join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
    }

    /// Decodes a Python `repr()` of a `str` (single-quoted; escapes `\n \r \t \\ \' \xHH`;
    /// non-ASCII characters are literal).
    fn decode_py_repr(repr: &str) -> String {
        let body = repr.trim_end_matches(['\n', '\r']);
        let body = body.strip_prefix('\'').and_then(|b| b.strip_suffix('\'')).expect("single-quoted Python repr");
        let mut out = String::new();
        let mut chars = body.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next().expect("dangling backslash") {
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                '\\' => out.push('\\'),
                '\'' => out.push('\''),
                '"' => out.push('"'),
                'x' => {
                    let hex: String = chars.by_ref().take(2).collect();
                    out.push(char::from(u8::from_str_radix(&hex, 16).expect("\\xHH")));
                }
                other => panic!("unsupported escape \\{other}"),
            }
        }
        out
    }

    /// One batch update of a simulated `ProgbarLogger` epoch: (0-based batch, time, logs).
    type Batch<'a> = (usize, f64, &'a [(&'a str, f64)]);

    /// One epoch (or one `evaluate`) as seen by Keras' `ProgbarLogger`: a fresh bar started at
    /// time 0, batch updates, then the final update.
    struct Run<'a> {
        header: Option<(usize, usize)>,
        target: usize,
        batches: &'a [Batch<'a>],
        end_time: f64,
        end_logs: &'a [(&'a str, f64)],
    }

    fn simulate(verbose: u8, runs: &[Run]) -> String {
        let mut out = String::new();
        for run in runs {
            if let Some((e, n)) = run.header {
                out.push_str(&epoch_header(e, n).unwrap_or_default());
            }
            let mut bar = Progbar::new(run.target, verbose);
            for &(b, t, l) in run.batches {
                out.push_str(&bar.on_batch_end(b, &logs(l), t));
            }
            out.push_str(&bar.finish(&logs(run.end_logs), run.end_time));
        }
        out
    }

    const TRAIN1_E1: &[(&str, f64)] = &[("accuracy", 0.5156), ("loss", 0.7489)];
    const TRAIN1_E2: &[(&str, f64)] = &[("accuracy", 0.5469), ("loss", 0.7372)];
    const EVAL_B1: &[(&str, f64)] = &[("accuracy", 0.5), ("loss", 0.7824)];
    const OTHER: &[(&str, f64)] = &[("accuracy", 0.4), ("loss", 0.9)];
    const END_E1: &[(&str, f64)] = &[
        ("accuracy", 0.4933333396911621),
        ("loss", 0.7851298451423645),
        ("val_accuracy", 0.5600000023841858),
        ("val_loss", 0.7994823455810547),
    ];
    const END_E2: &[(&str, f64)] = &[
        ("accuracy", 0.5199999809265137),
        ("loss", 0.7759631276130676),
        ("val_accuracy", 0.5600000023841858),
        ("val_loss", 0.7923036813735962),
    ];
    const END_EVAL: &[(&str, f64)] = &[("accuracy", 0.5350000262260437), ("loss", 0.7762)];

    /// fit(epochs = 2, 3 steps, validation) followed by evaluate(4 steps), with the timings of a
    /// given Keras run: (first step, final time/step) for epoch 1, epoch 2 and evaluate. Batches 2
    /// and 3 come within 0.05 s of batch 1 and are throttled, as in the reference run.
    fn fit_and_evaluate(verbose: u8, steps: [(f64, f64); 3]) -> String {
        let [(a1, s1), (a2, s2), (a3, s3)] = steps;
        let b = |t: f64| -> [Batch<'static>; 3] { [(0, t, TRAIN1_E1), (1, t + 0.01, OTHER), (2, t + 0.02, OTHER)] };
        let e1 = b(a1);
        let mut e2 = b(a2);
        e2[0].2 = TRAIN1_E2;
        let ev: [Batch; 4] = [(0, a3, EVAL_B1), (1, a3 + 0.001, OTHER), (2, a3 + 0.002, OTHER), (3, a3 + 0.003, OTHER)];
        simulate(
            verbose,
            &[
                Run { header: Some((0, 2)), target: 3, batches: &e1, end_time: a1 + 2.0 * s1, end_logs: END_E1 },
                Run { header: Some((1, 2)), target: 3, batches: &e2, end_time: a2 + 2.0 * s2, end_logs: END_E2 },
                Run { header: None, target: 4, batches: &ev, end_time: a3 + 3.0 * s3, end_logs: END_EVAL },
            ],
        )
    }

    // ----------------------------------------------------------------------------------------
    // reference outputs from Keras 3.15.1

    #[test]
    fn reference_txt_files_equal_their_repr() {
        for name in ["progbar_verbose1", "progbar_verbose2", "progbar_verboseauto"] {
            let repr = decode_py_repr(&testdata(&format!("{name}.repr.txt")));
            let raw = testdata(&format!("{name}.txt"));
            assert_eq!(raw.trim_end_matches('\n'), repr.trim_end_matches('\n'), "{name}");
        }
    }

    #[test]
    fn reproduces_progbar_verbose1() {
        let expected = decode_py_repr(&testdata("progbar_verbose1.repr.txt"));
        let got = fit_and_evaluate(1, [(0.584, 0.105), (0.023, 0.034), (0.027, 0.011)]);
        assert_eq!(got, expected);
    }

    #[test]
    fn reproduces_progbar_verboseauto() {
        // verbose = "auto" is 1 in Python; this run's timings make the last line 1 char shorter
        // than the previous one, so it is padded with one space.
        let expected = decode_py_repr(&testdata("progbar_verboseauto.repr.txt"));
        let got = fit_and_evaluate(1, [(0.538, 0.180), (0.272, 0.036), (0.026, 0.009)]);
        assert_eq!(got, expected);
        assert!(expected.ends_with("0.7762 \n"));
    }

    #[test]
    fn reproduces_progbar_verbose2() {
        // Keras' logger gives verbose-2 bars no batch updates, so time/step = elapsed / steps.
        let expected = decode_py_repr(&testdata("progbar_verbose2.repr.txt"));
        let got = fit_and_evaluate(2, [(0.5, 0.308), (0.01, 0.0325), (0.006, 0.010)]);
        assert_eq!(got, expected);
        assert_eq!(
            got,
            "Epoch 1/2\n\
             3/3 - 1s - 372ms/step - accuracy: 0.4933 - loss: 0.7851 - val_accuracy: 0.5600 - val_loss: 0.7995\n\
             Epoch 2/2\n\
             3/3 - 0s - 25ms/step - accuracy: 0.5200 - loss: 0.7760 - val_accuracy: 0.5600 - val_loss: 0.7923\n\
             4/4 - 0s - 9ms/step - accuracy: 0.5350 - loss: 0.7762\n"
        );
    }

    #[test]
    fn reproduces_progbar_verbose1_single_epoch() {
        // fit(epochs = 1, 4 steps, no validation): no header; final line 2 chars shorter -> padding.
        let expected = decode_py_repr(&testdata("progbar_verbose1_epochs1.repr.txt"));
        let batches: [Batch; 4] = [
            (0, 0.712, &[("accuracy", 0.5781), ("loss", 0.7281)]),
            (1, 0.72, OTHER),
            (2, 0.73, OTHER),
            (3, 0.74, OTHER),
        ];
        let end: &[(&str, f64)] = &[("accuracy", 0.5149999856948853), ("loss", 0.7886090278625488)];
        let got = simulate(
            1,
            &[Run { header: None, target: 4, batches: &batches, end_time: 0.712 + 3.0 * 0.007, end_logs: end }],
        );
        assert_eq!(got, expected);
        assert!(got.ends_with("loss: 0.7886  \n"));
    }

    #[test]
    fn hardcoded_first_line() {
        let mut bar = Progbar::new(3, 1);
        let got = bar.update(1, &logs(TRAIN1_E1), 0.584, false);
        let expected = "\r\x1b[1m1/3\x1b[0m \x1b[32m━━━━━━\x1b[0m\x1b[37m━━━━━━━━━━━━━━\x1b[0m \
                        \x1b[1m1s\x1b[0m 584ms/step - accuracy: 0.5156 - loss: 0.7489";
        assert_eq!(got, expected);
        // The next printed update erases the 72 visible characters.
        let next = bar.update(2, &logs(TRAIN1_E1), 1.0, false);
        assert!(next.starts_with(&format!("{}\r", "\x08".repeat(72))));
    }

    // ----------------------------------------------------------------------------------------
    // pieces

    #[test]
    fn epoch_header_only_for_several_epochs() {
        assert_eq!(epoch_header(0, 1), None);
        assert_eq!(epoch_header(0, 2).as_deref(), Some("Epoch 1/2\n"));
        assert_eq!(epoch_header(9, 10).as_deref(), Some("Epoch 10/10\n"));
    }

    #[test]
    fn value_formatting_matches_python() {
        // Expected strings produced by Python 3 f"{v:.4f}" / f"{v:.4e}".
        assert_eq!(format_value(0.7851298451423645, true), "0.7851");
        assert_eq!(format_value(0.00123456, true), "0.0012");
        assert_eq!(format_value(0.001, true), "1.0000e-03");
        assert_eq!(format_value(0.00012345678, true), "1.2346e-04");
        assert_eq!(format_value(0.0, true), "0.0000e+00");
        assert_eq!(format_value(-0.0, true), "-0.0000e+00");
        assert_eq!(format_value(-0.5, true), "-0.5000");
        assert_eq!(format_value(-0.5, false), "-5.0000e-01");
        assert_eq!(format_value(-2e-5, false), "-2.0000e-05");
        assert_eq!(format_value(12345.678, true), "12345.6780");
        assert_eq!(format_value(1e20, true), "100000000000000000000.0000");
        assert_eq!(format_value(1e-100, true), "1.0000e-100");
        assert_eq!(format_value(5e-324, true), "4.9407e-324");
        assert_eq!(format_value(0.00012345, true), "1.2345e-04");
        assert_eq!(format_value(f64::NAN, true), "nan");
        assert_eq!(format_value(f64::NAN, false), "nan");
        assert_eq!(format_value(f64::INFINITY, true), "inf");
        assert_eq!(format_value(f64::NEG_INFINITY, true), "-inf");
        assert_eq!(format_value(f64::NEG_INFINITY, false), "-inf");
        // Python rounds the exact binary value; exact ties go to even.
        assert_eq!(format_value(0.12345, true), "0.1235");
        assert_eq!(format_value(1.03125, true), "1.0312");
        assert_eq!(format_value(-1.03125, true), "-1.0312");
        assert_eq!(format_value(0.00025, true), "2.5000e-04");
    }

    #[test]
    fn eta_formats() {
        assert_eq!(format_eta(0.0), "0s");
        assert_eq!(format_eta(1.168), "1s");
        assert_eq!(format_eta(59.99), "59s");
        assert_eq!(format_eta(60.0), "60s"); // strictly greater than 60 switches format
        assert_eq!(format_eta(60.5), "1:00");
        assert_eq!(format_eta(123.75), "2:03");
        assert_eq!(format_eta(3600.0), "60:00");
        assert_eq!(format_eta(3600.5), "1:00:00");
        assert_eq!(format_eta(4950.0), "1:22:30");
        assert_eq!(format_eta(90061.0), "25:01:01");
    }

    #[test]
    fn eta_in_running_bar() {
        // target 101: step 1 at 0.5 s, step 2 at 50.5 s -> 50 s/step, 99 steps left -> 1:22:30.
        let mut bar = Progbar::new(101, 1);
        bar.update(1, &Logs::new(), 0.5, false);
        let line = bar.update(2, &Logs::new(), 50.5, false);
        assert!(line.contains("\x1b[1m1:22:30\x1b[0m 50s/step"), "{line:?}");
        assert!(line.contains("\x1b[1m  2/101\x1b[0m "), "right-aligned count: {line:?}");
        // 1.25 s/step with 99 left -> 123.75 s -> 2:03.
        let mut bar = Progbar::new(101, 1);
        bar.update(1, &Logs::new(), 1.0, false);
        let line = bar.update(2, &Logs::new(), 2.25, false);
        assert!(line.contains("\x1b[1m2:03\x1b[0m 1s/step"), "{line:?}");
    }

    #[test]
    fn time_per_step_units() {
        assert_eq!(format_time_per_unit(0.0, "step"), " 0s/step");
        assert_eq!(format_time_per_unit(2.4, "step"), " 2s/step");
        assert_eq!(format_time_per_unit(1.0, "step"), " 1s/step");
        assert_eq!(format_time_per_unit(0.9996, "step"), " 1000ms/step");
        assert_eq!(format_time_per_unit(0.005, "step"), " 5ms/step");
        assert_eq!(format_time_per_unit(0.001, "step"), " 1ms/step");
        assert_eq!(format_time_per_unit(0.00012, "step"), " 120us/step");
        assert_eq!(format_time_per_unit(0.0000004, "sample"), " 0us/sample");
    }

    #[test]
    fn time_per_step_excludes_first_step() {
        let mut bar = Progbar::new(10, 1);
        // first step: (now - start) / 1
        assert!(bar.update(1, &Logs::new(), 2.0, false).contains(" 2s/step"));
        // later: (now - t_after_first_step) / (current - 1) = (2.5 - 2.0) / 4
        let line = bar.update(5, &Logs::new(), 2.5, false);
        assert!(line.contains(" 125ms/step"), "{line:?}");
        // ETA uses the same estimate: 0.125 * 5 = 0.625 -> "0s"
        assert!(line.contains("\x1b[1m0s\x1b[0m"), "{line:?}");
        // without a step-1 update the estimate falls back to elapsed / current
        let mut bar = Progbar::new(10, 1);
        assert!(bar.update(4, &Logs::new(), 0.0004, false).contains(" 100us/step"));
        // current 0 -> 0 s/step
        let mut bar = Progbar::new(10, 1);
        assert!(bar.update(0, &Logs::new(), 3.0, false).contains(" 0s/step"));
    }

    #[test]
    fn throttling() {
        let mut bar = Progbar::new(100, 1);
        assert!(!bar.update(1, &Logs::new(), 0.0, false).is_empty(), "first update always shows");
        assert_eq!(bar.update(2, &Logs::new(), 0.049, false), "");
        // throttled updates do not move the reference time
        assert_eq!(bar.update(3, &Logs::new(), 0.0499, false), "");
        assert!(!bar.update(4, &Logs::new(), 0.05, false).is_empty());
        assert_eq!(bar.update(100, &Logs::new(), 0.06, false), "", "current == target but not finalized");
        let last = bar.update(100, &Logs::new(), 0.07, true);
        assert!(last.ends_with('\n') && last.contains("\x1b[1m0s\x1b[0m"), "finalize is never throttled");
        // a finalized bar at a custom interval
        let mut bar = Progbar::new(5, 1).with_interval(1.0);
        bar.update(1, &Logs::new(), 0.0, false);
        assert_eq!(bar.update(2, &Logs::new(), 0.9, false), "");
        assert!(!bar.update(3, &Logs::new(), 1.0, false).is_empty());
    }

    #[test]
    fn bar_geometry_and_padding() {
        let mut bar = Progbar::new(40, 1);
        // 20 * 1/40 = 0.5 -> no green segment at all, 20 white
        let line = bar.update(1, &logs(&[("loss", 0.5)]), 2.0, false);
        assert!(line.starts_with(&format!("\r\x1b[1m 1/40\x1b[0m \x1b[37m{}\x1b[0m ", "━".repeat(20))), "{line:?}");
        // visible: " 1/40 " (6) + 20 + " 1:18" (5) + " 2s/step" (8) + " - loss: 0.5000" (15)
        assert!(line.contains("\x1b[1m1:18\x1b[0m 2s/step"), "{line:?}");
        assert_eq!(bar.prev_total_width, 54);
        // the final line (elapsed "2s", 3us/step) is one character shorter -> padded with a space
        let line = bar.update(40, &Logs::new(), 2.0001, true);
        assert!(line.starts_with(&format!("{}\r", "\x08".repeat(54))));
        assert!(line.ends_with("\x1b[1m2s\x1b[0m 3us/step - loss: 0.5000 \n"), "{line:?}");
        assert!(line.contains(&format!("\x1b[32m{}\x1b[0m\x1b[37m\x1b[0m", "━".repeat(20))));
        assert_eq!(bar.prev_total_width, 53);
    }

    #[test]
    fn metric_order_is_first_seen() {
        let mut bar = Progbar::new(2, 1);
        bar.update(1, &logs(&[("accuracy", 0.5), ("loss", 0.7)]), 1.0, false);
        let end = logs(&[("accuracy", 0.6), ("learning_rate", 0.001), ("loss", 0.6), ("val_loss", 0.8)]);
        let line = bar.update(2, &end, 2.0, true);
        assert!(
            line.contains("- accuracy: 0.6000 - loss: 0.6000 - learning_rate: 1.0000e-03 - val_loss: 0.8000\n"),
            "{line:?}"
        );
    }

    #[test]
    fn verbose2_and_verbose0() {
        let mut bar = Progbar::new(3, 2);
        assert_eq!(bar.update(1, &logs(&[("loss", 0.5)]), 0.5, false), "");
        let line = bar.update(3, &logs(&[("loss", -0.5), ("x", 0.25)]), 2.6, true);
        // direct Progbar use with a step-1 update: (2.6 - 0.5) / 2 s/step
        assert_eq!(line, "3/3 - 3s - 1s/step - loss: -5.0000e-01 - x: 0.2500\n");

        let mut bar = Progbar::new(12, 2);
        let line = bar.finish(&logs(&[("loss", 0.5)]), 0.0024);
        assert_eq!(line, "12/12 - 0s - 200us/step - loss: 0.5000\n");

        let mut bar = Progbar::new(3, 0);
        assert_eq!(bar.update(1, &logs(&[("loss", 0.5)]), 0.5, false), "");
        assert_eq!(bar.update(3, &logs(&[("loss", 0.5)]), 0.6, true), "");
    }

    #[test]
    fn unknown_target() {
        let mut bar = Progbar::new(0, 1);
        let line = bar.update(5, &logs(&[("loss", 0.5)]), 1.0, false);
        assert_eq!(line, "\r      5/Unknown \x1b[1m1s\x1b[0m 200ms/step - loss: 0.5000");
        // the logger fixes the target at the number of steps seen
        bar.on_batch_end(6, &logs(&[("loss", 0.4)]), 1.001);
        let line = bar.finish(&logs(&[("loss", 0.4)]), 1.2);
        assert_eq!(bar.target(), 7);
        assert!(line.contains("\x1b[1m7/7\x1b[0m "), "{line:?}");
        // no step-1 update was seen, so time/step falls back to elapsed / current = 1.2 / 7
        assert!(line.ends_with("\x1b[1m1s\x1b[0m 171ms/step - loss: 0.4000\n"), "{line:?}");
    }

    #[test]
    fn non_dynamic_display_and_start_offset() {
        let mut bar = Progbar::starting_at(2, 1, 100.0).with_dynamic_display(false);
        let line = bar.update(1, &Logs::new(), 100.25, false);
        assert!(line.starts_with("\n\x1b[1m1/2\x1b[0m "), "{line:?}");
        assert!(line.ends_with(" 250ms/step"), "{line:?}");
    }

    #[test]
    fn plain_style_has_no_escape_codes_and_redraws_with_carriage_return_only() {
        let plain = ConsoleStyle { color: false, backspaces: false };
        let mut keras = Progbar::new(40, 1);
        let mut bar = Progbar::new(40, 1).with_style(plain);
        let metrics = logs(&[("loss", 0.5)]);
        let k1 = keras.update(1, &metrics, 2.0, false);
        let line = bar.update(1, &metrics, 2.0, false);
        assert_eq!(line, format!("\r 1/40 {} 1:18 2s/step - loss: 0.5000", "━".repeat(20)));
        // the same text as Keras' once its ANSI codes are removed, and the same width
        let strip = |s: &str| {
            let mut s = s.to_string();
            for c in [BOLD, GREEN, WHITE, RESET, "\x08"] {
                s = s.replace(c, "");
            }
            s
        };
        assert_eq!(strip(&k1), line);
        assert_eq!(bar.prev_total_width, keras.prev_total_width);
        let k2 = keras.update(40, &Logs::new(), 2.0001, true);
        let line = bar.update(40, &Logs::new(), 2.0001, true);
        assert!(k2.starts_with(&"\x08".repeat(54)));
        assert_eq!(line, format!("\r40/40 {} 2s 3us/step - loss: 0.5000 \n", "━".repeat(20)));
        assert_eq!(strip(&k2), line);
        assert!(!line.contains('\x1b') && !line.contains('\x08'));
        // colours kept, backspaces dropped; and the reverse
        let mut bar = Progbar::new(4, 1).with_style(ConsoleStyle { color: true, backspaces: false });
        bar.update(1, &metrics, 1.0, false);
        let line = bar.update(4, &metrics, 2.0, true);
        assert!(line.starts_with("\r\x1b[1m4/4\x1b[0m \x1b[32m"), "{line:?}");
        let mut bar = Progbar::new(4, 1).with_style(ConsoleStyle { color: false, backspaces: true });
        bar.update(1, &metrics, 1.0, false);
        let prev = bar.prev_total_width;
        let line = bar.update(4, &metrics, 2.0, true);
        assert!(line.starts_with(&format!("{}\r4/4 ━", "\x08".repeat(prev))), "{line:?}");
        assert!(!line.contains('\x1b'));
        assert_eq!(ConsoleStyle::default(), ConsoleStyle { color: true, backspaces: true });
    }

    #[test]
    fn python_divmod_semantics() {
        assert_eq!(py_divmod(7.5, 2.0), (3.0, 1.5));
        assert_eq!(py_divmod(-7.5, 2.0), (-4.0, 0.5));
        assert_eq!(py_divmod(4950.0, 3600.0), (1.0, 1350.0));
    }
}
