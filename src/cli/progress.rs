//! The progress bar long library runs report to (see
//! [`crate::refresh::Progress`]): drawn on stderr when it is a terminal and
//! the command is not quiet.

use std::io::IsTerminal;
use std::sync::OnceLock;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::refresh::Progress;

/// A progress bar on stderr, made when a run starts.
pub struct Bar {
    quiet: bool,
    bar: OnceLock<ProgressBar>,
}

impl Bar {
    /// A bar, hidden when `quiet`.
    pub fn new(quiet: bool) -> Bar {
        Bar {
            quiet,
            bar: OnceLock::new(),
        }
    }
}

impl Progress for Bar {
    fn start(&self, total: usize, what: &str) {
        let pb = ProgressBar::new(total as u64);
        if self.quiet || !std::io::stderr().is_terminal() {
            pb.set_draw_target(ProgressDrawTarget::hidden());
        } else {
            pb.set_draw_target(ProgressDrawTarget::stderr());
        }
        if let Ok(style) = ProgressStyle::with_template(
            "{msg} [{bar:30}] {pos}/{len} files ({per_sec}, eta {eta})",
        ) {
            pb.set_style(style.progress_chars("=> "));
        }
        pb.set_message(what.to_string());
        if let Err(pb) = self.bar.set(pb) {
            pb.finish_and_clear();
        }
    }

    fn advance(&self, n: usize) {
        if let Some(pb) = self.bar.get() {
            pb.inc(n as u64);
        }
    }

    fn finish(&self) {
        if let Some(pb) = self.bar.get() {
            pb.finish_and_clear();
        }
    }
}
