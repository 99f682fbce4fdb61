//! Where a live reply goes: text to stdout, reasoning to stderr (dimmed on
//! a terminal), a line per tool call, the summary at the end.
//!
//! A model's output is the server's to choose: on a terminal its control
//! characters are shown escaped (a reply cannot clear the screen); piped,
//! the text is written exactly as it arrived.

use std::io::{IsTerminal, Write};

use vllm_harness::ToolCall;

use super::reply::Reply;
use crate::cli::terminal;

/// Where a live reply goes: text to stdout, reasoning to stderr.
pub(super) struct Printer {
    live: bool,
    /// stderr is a terminal: reasoning and the summary are dimmed and
    /// escaped.
    dim: bool,
    /// stdout is a terminal: the text is escaped.
    escape_stdout: bool,
    stdout: std::io::Stdout,
    /// Whether stdout / stderr are mid-line.
    stdout_open: bool,
    stderr_open: bool,
}

impl Printer {
    pub(super) fn new(live: bool) -> Self {
        Self {
            live,
            dim: std::io::stderr().is_terminal(),
            escape_stdout: std::io::stdout().is_terminal(),
            stdout: std::io::stdout(),
            stdout_open: false,
            stderr_open: false,
        }
    }

    pub(super) fn text(&mut self, text: &str) -> std::io::Result<()> {
        if !self.live || text.is_empty() {
            return Ok(());
        }
        self.end_stderr_line()?;
        if self.escape_stdout {
            self.stdout.write_all(terminal::text(text).as_bytes())?;
        } else {
            self.stdout.write_all(text.as_bytes())?;
        }
        self.stdout_open = !text.ends_with('\n');
        Ok(())
    }

    pub(super) fn reasoning(&mut self, text: &str) -> std::io::Result<()> {
        if !self.live || text.is_empty() {
            return Ok(());
        }
        self.end_stdout_line()?;
        let mut stderr = std::io::stderr().lock();
        if self.dim {
            write!(stderr, "\x1b[2m{}\x1b[0m", terminal::text(text))?;
        } else {
            stderr.write_all(text.as_bytes())?;
        }
        self.stderr_open = !text.ends_with('\n');
        Ok(())
    }

    pub(super) fn tool_call(&mut self, call: &ToolCall) -> std::io::Result<()> {
        if !self.live {
            return Ok(());
        }
        self.end_stderr_line()?;
        self.end_stdout_line()?;
        writeln!(
            self.stdout,
            "tool call: {} {}",
            terminal::line(&call.name),
            terminal::line(&call.arguments)
        )
    }

    pub(super) fn flush(&mut self) -> std::io::Result<()> {
        self.stdout.flush()
    }

    pub(super) fn end_stdout_line(&mut self) -> std::io::Result<()> {
        if self.stdout_open {
            writeln!(self.stdout)?;
            self.stdout.flush()?;
            self.stdout_open = false;
        }
        Ok(())
    }

    pub(super) fn end_stderr_line(&mut self) -> std::io::Result<()> {
        if self.stderr_open {
            eprintln!();
            self.stderr_open = false;
        }
        Ok(())
    }

    /// Ends the open lines after Ctrl-C; what arrived is already shown.
    pub(super) fn interrupted(&mut self) -> std::io::Result<()> {
        if !self.live {
            return Ok(());
        }
        self.end_stdout_line()?;
        self.end_stderr_line()?;
        self.stdout.flush()
    }

    /// Ends open lines and writes the summary on stderr.
    pub(super) fn finish(&mut self, reply: &Reply) -> std::io::Result<()> {
        if !self.live {
            return Ok(());
        }
        self.end_stdout_line()?;
        self.end_stderr_line()?;
        self.stdout.flush()?;
        let summary = reply.summary();
        let summary = terminal::line(&summary);
        let mut stderr = std::io::stderr().lock();
        if self.dim {
            writeln!(stderr, "\x1b[2m{summary}\x1b[0m")
        } else {
            writeln!(stderr, "{summary}")
        }
    }
}
