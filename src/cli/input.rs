//! Secrets a command reads: loyalty numbers (standard input or a file, never argv) and the
//! technician PIN.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::{bail, Context, Result};

use shelftalk::vocab::{CardScheme, LoyaltyNumber};

use super::args::LoyaltyInput;
use super::output;

impl LoyaltyInput {
    /// The number, if the command was asked for one (`required`: standard input by default),
    /// read as the kiosk's scanner reads a card (`cards`: the config's `[[scan.cards]]`).
    pub fn read(&self, required: bool, cards: &[CardScheme]) -> Result<Option<LoyaltyNumber>> {
        if self.loyalty.is_some() {
            bail!(
                "a loyalty number on the command line is visible in `ps`, shell history and \
                 sudo's log; pass --loyalty-stdin (then type it, or pipe it in) or \
                 --loyalty-file FILE"
            );
        }
        let text = match (&self.loyalty_file, self.loyalty_stdin || required) {
            (Some(path), _) => {
                let text =
                    zeroize::Zeroizing::new(std::fs::read_to_string(path).with_context(|| {
                        format!("cannot read the loyalty number from {}", path.display())
                    })?);
                zeroize::Zeroizing::new(text.lines().next().unwrap_or("").to_string())
            }
            (None, true) => read_secret("Loyalty number (not shown): ", |c| !c.is_control())?,
            (None, false) => return Ok(None),
        };
        let number =
            LoyaltyNumber::parse_card(&text, cards).map_err(|e| match &self.loyalty_file {
                Some(path) => anyhow::anyhow!("{e} (first line of {})", path.display()),
                None => anyhow::anyhow!("{e} (read from standard input)"),
            })?;
        Ok(Some(number))
    }

    /// The loyalty number a shopper command needs (standard input unless `--loyalty-file`).
    pub fn required(&self, cards: &[CardScheme]) -> Result<LoyaltyNumber> {
        self.read(true, cards)?
            .context("a loyalty number is needed: pipe it in or pass --loyalty-file FILE")
    }
}

/// The first line of a PIN file.
pub fn pin_from_file(path: &Path) -> Result<String> {
    Ok(std::fs::read_to_string(path)
        .with_context(|| format!("reading {}", path.display()))?
        .lines()
        .next()
        .unwrap_or("")
        .to_string())
}

/// Asks for the PIN on the terminal without echo (a line from stdin when it is not a terminal).
pub fn read_pin() -> Result<String> {
    let digits = shelftalk::control::PIN_DIGITS;
    let prompt = format!(
        "New technician PIN ({}-{} digits): ",
        digits.start(),
        digits.end()
    );
    Ok(read_secret(&prompt, |c| c.is_ascii_digit())?.to_string())
}

/// Asks for a secret on the terminal without echo, keeping the characters `keep` accepts (a line
/// from stdin when it is not a terminal).
fn read_secret(prompt: &str, keep: fn(char) -> bool) -> Result<zeroize::Zeroizing<String>> {
    use std::io::BufRead;
    if !std::io::stdin().is_terminal() {
        let mut line = zeroize::Zeroizing::new(String::new());
        std::io::stdin().lock().read_line(&mut line)?;
        return Ok(zeroize::Zeroizing::new(line.trim().to_string()));
    }
    output::prompt(prompt);
    crossterm::terminal::enable_raw_mode()?;
    let mut pin = zeroize::Zeroizing::new(String::new());
    let read = (|| -> Result<()> {
        use crossterm::event::{read, Event, KeyCode, KeyEventKind};
        loop {
            if let Event::Key(k) = read()? {
                if k.kind == KeyEventKind::Release {
                    continue;
                }
                match k.code {
                    KeyCode::Enter => return Ok(()),
                    KeyCode::Backspace => {
                        pin.pop();
                    }
                    KeyCode::Char(c) if keep(c) => pin.push(c),
                    KeyCode::Esc => bail!("cancelled"),
                    _ => {}
                }
            }
        }
    })();
    crossterm::terminal::disable_raw_mode()?;
    output::note("");
    read.map(|()| pin)
}
