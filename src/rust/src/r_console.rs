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
}

impl RHost {
    pub fn new() -> Self {
        RHost { start: Instant::now(), interrupted: false }
    }
}

impl Host for RHost {
    fn print(&mut self, text: &str) {
        print_r_output(text.replace('\0', ""));
        r_interrupt::flush_console();
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
