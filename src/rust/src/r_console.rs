//! The core's [`Host`]: text through R's console (so `capture.output()`, `sink()`, knitr
//! and RStudio see it), interrupts through R's event loop.

use crate::r_interrupt;
use extendr_api::print_r_output;
use rkeras_core::callbacks::Host;
use std::time::Instant;

pub struct RHost {
    start: Instant,
    /// Set once an interrupt was seen, so later polls keep answering yes.
    interrupted: bool,
    /// Warnings for R to raise after the call.
    pub warnings: Vec<String>,
}

impl RHost {
    pub fn new() -> Self {
        RHost { start: Instant::now(), interrupted: false, warnings: Vec::new() }
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
}
