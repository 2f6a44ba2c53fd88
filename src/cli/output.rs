//! The one place the command prints: typed values through [`emit`] (JSON or their human text),
//! plus the few raw streams a command needs (streamed copy tokens, prompts, warnings, errors).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{IsTerminal, Write};

use anyhow::Result;
use serde::Serialize;

/// A command's result: serialised as-is for `--json`, [`Render::human`] otherwise.
pub trait Render: Serialize {
    /// The text a person reads (no trailing newline).
    fn human(&self) -> String;
}

/// Prints `value` as pretty JSON, or its human rendering. A closed pipe (`| head`) is not an
/// error.
pub fn emit(json: bool, value: &impl Render) -> Result<()> {
    let text = if json {
        serde_json::to_string_pretty(value)?
    } else {
        value.human()
    };
    line(&text)
}

/// Who carried out a key change: this command, or the running daemon it asked (`done_by` in
/// JSON, beside the report's own fields).
#[derive(Serialize)]
pub struct DoneBy<T> {
    pub done_by: &'static str,
    #[serde(flatten)]
    pub report: T,
}

impl<T: Render> DoneBy<T> {
    /// Done by this command.
    pub fn here(report: T) -> Self {
        Self {
            done_by: "cli",
            report,
        }
    }

    /// Done by the running daemon, which the command asked over its control socket.
    pub fn daemon(report: T) -> Self {
        Self {
            done_by: "daemon",
            report,
        }
    }
}

impl<T: Render> Render for DoneBy<T> {
    fn human(&self) -> String {
        match self.done_by {
            "daemon" => format!(
                "{}
(done by the running daemon, through its control socket; recorded in its \
                 audit log as `cli`)",
                self.report.human()
            ),
            _ => self.report.human(),
        }
    }
}

/// One line of text on stdout (a closed pipe is not an error).
pub fn line(text: &str) -> Result<()> {
    raw(&format!("{text}\n"))
}

/// Text on stdout exactly as given (a closed pipe is not an error).
pub fn raw(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// A note for the operator on stderr (warnings, where a server listens).
pub fn note(text: &str) {
    eprintln!("{text}");
}

/// A prompt on stderr, without a newline (the answer is typed after it).
pub fn prompt(text: &str) {
    eprint!("{text}");
    let _ = std::io::stderr().flush();
}

/// The error a failed command exits with.
pub fn error(err: &anyhow::Error) {
    eprintln!("error: {}", said(err));
}

/// The error and its causes joined by `: `, each cause once: a library error that already
/// quotes its source in its own message does not print it again.
fn said(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// Streams generated copy to an interactive stdout token by token (nothing when piped or for
/// `--json`); [`TokenStream::finish`] clears the streamed line before the result is printed.
pub struct TokenStream {
    on: bool,
}

impl TokenStream {
    pub fn new(json: bool) -> Self {
        Self {
            on: !json && std::io::stdout().is_terminal(),
        }
    }

    pub fn token(&self, text: &str) {
        self.write(text);
    }

    /// The generation restarted: clear the streamed line.
    pub fn restart(&self) {
        self.write("\r\x1b[2K");
    }

    pub fn finish(&self) {
        if self.on {
            println!("\r\x1b[2K");
        }
    }

    fn write(&self, text: &str) {
        if self.on {
            let mut out = std::io::stdout().lock();
            let _ = write!(out, "{text}");
            let _ = out.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("key file /k/pepper.key does not hold a usable key: {source}")]
    struct Quoting {
        source: std::io::Error,
    }

    #[test]
    fn each_cause_is_said_once() {
        let quoting = anyhow::Error::new(Quoting {
            source: std::io::Error::other("wrong length"),
        })
        .context("cannot open the vault");
        assert_eq!(
            said(&quoting),
            "cannot open the vault: key file /k/pepper.key does not hold a usable key: wrong length"
        );
        let plain = anyhow::anyhow!("disk full").context("import failed");
        assert_eq!(said(&plain), "import failed: disk full");
    }
}
