//! The rkeras binding crate: the only code that touches R. It converts R values to core
//! types and back, and wraps R closures (generators, R callbacks) behind the core's traits.

mod r_api;
mod r_callbacks;
mod r_console;
mod r_convert;
mod r_data;
mod r_files;
mod r_generator;
mod r_image;
mod r_interrupt;
mod r_lent;
mod r_live;
mod r_persist;
mod r_reshape;
mod r_text;

use extendr_api::prelude::*;

extendr_module! {
    mod rkeras;
    use r_api;
    use r_files;
    use r_image;
    use r_live;
    use r_text;
}
