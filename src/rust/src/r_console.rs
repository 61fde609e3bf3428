//! The core's [`Host`]: text through R's console (so `capture.output()`, `sink()`, knitr
//! and RStudio see it), interrupts through R's event loop.

use crate::r_interrupt;
use extendr_api::{print_r_output, Robj};
use rkeras_core::callbacks::Host;
use rkeras_core::progress::ConsoleStyle;
use std::time::Instant;

pub struct RHost {
    start: Instant,
    /// Set once an interrupt was seen, so later polls keep answering yes.
    interrupted: bool,
    /// Warnings for R to raise after the call.
    pub warnings: Vec<String>,
    style: ConsoleStyle,
}

impl RHost {
    /// A host for R's console as R described it: `console` is `c(color = , backspaces = )`
    /// (R's `console_style()`); anything else means Keras' own bytes.
    pub fn new(console: &Robj) -> Self {
        let style = match console.as_logical_slice() {
            Some([color, backspaces]) => ConsoleStyle { color: color.is_true(), backspaces: backspaces.is_true() },
            _ => ConsoleStyle::default(),
        };
        RHost { start: Instant::now(), interrupted: false, warnings: Vec::new(), style }
    }
}

impl Host for RHost {
    fn print(&mut self, text: &str) {
        print_r_output(text.replace('\0', ""));
        r_interrupt::flush_console();
    }

    fn warn(&mut self, message: &str) {
        self.warnings.push(message.to_string());
    }

    fn interrupted(&mut self) -> bool {
        if !self.interrupted {
            self.interrupted = r_interrupt::pending();
        }
        self.interrupted
    }

    fn now(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    fn console_style(&self) -> ConsoleStyle {
        self.style
    }
}
