//! The display tests' screenshot checks and tool lookup, shared by `tests/display_screenshot.rs`
//! (cage and foot on this machine) and `tests/display_touch.rs` (the same stack in a VM with a
//! touch screen): what a screenshot of the kiosk showing three stacked picks must look like, read
//! from the pixels without OCR.
#![allow(dead_code)] // Each test binary that includes this module uses part of it.

use std::process::Command;

/// The headless output's size (wlroots' default for a headless output).
pub const OUTPUT: (u32, u32) = (1280, 720);

/// Which of `programs` (looked up on `PATH`) and of the fonts `firmware-config/foot.ini` names
/// (by their Debian package) are missing.
pub fn missing_tools(programs: &[&'static str]) -> Vec<&'static str> {
    let mut missing: Vec<&str> = programs
        .iter()
        .copied()
        .chain(["fc-list"])
        .filter(|tool| {
            !std::env::var_os("PATH").is_some_and(|path| {
                std::env::split_paths(&path).any(|dir| dir.join(tool).is_file())
            })
        })
        .collect();
    if !missing.contains(&"fc-list") {
        // The fonts foot.ini names for Chinese and the vote marks.
        for (family, package) in [
            ("Noto Sans Mono CJK SC", "fonts-noto-cjk"),
            ("Noto Color Emoji", "fonts-noto-color-emoji"),
        ] {
            let found = Command::new("fc-list")
                .arg(format!(":family={family}"))
                .output()
                .is_ok_and(|o| !o.stdout.trim_ascii().is_empty());
            if !found {
                missing.push(package);
            }
        }
    }
    missing
}

/// A decoded RGB(A) screenshot.
pub struct Shot {
    pub width: usize,
    pub height: usize,
    /// RGB per pixel.
    pub pixels: Vec<[u8; 3]>,
}

impl Shot {
    pub fn decode(bytes: &[u8]) -> Result<Shot, String> {
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
        let mut buf = vec![0; reader.output_buffer_size().ok_or("image too large")?];
        let info = reader.next_frame(&mut buf).map_err(|e| e.to_string())?;
        let channels = match info.color_type {
            png::ColorType::Rgb => 3,
            png::ColorType::Rgba => 4,
            other => return Err(format!("colour type {other:?}")),
        };
        if info.bit_depth != png::BitDepth::Eight {
            return Err(format!("bit depth {:?}", info.bit_depth));
        }
        let pixels = buf[..info.buffer_size()]
            .chunks_exact(channels)
            .map(|p| [p[0], p[1], p[2]])
            .collect();
        Ok(Shot {
            width: info.width as usize,
            height: info.height as usize,
            pixels,
        })
    }

    /// The most common colour: the background.
    pub fn background(&self) -> [u8; 3] {
        let mut counts = std::collections::HashMap::new();
        for p in &self.pixels {
            *counts.entry(*p).or_insert(0usize) += 1;
        }
        counts
            .into_iter()
            .max_by_key(|(_, n)| *n)
            .map(|(c, _)| c)
            .unwrap_or_default()
    }

    /// The share of each pixel row that is not background.
    pub fn row_ink(&self) -> Vec<f64> {
        let bg = self.background();
        self.pixels
            .chunks_exact(self.width)
            .map(|row| row.iter().filter(|p| **p != bg).count() as f64 / self.width as f64)
            .collect()
    }

    /// What is wrong with the screenshot of the kiosk showing three stacked picks, if anything.
    pub fn problem(&self) -> Option<String> {
        if (self.width as u32, self.height as u32) != OUTPUT {
            return Some(format!("{}x{}", self.width, self.height));
        }
        let ink = self.row_ink();
        let total = ink.iter().sum::<f64>() / ink.len() as f64;
        if total < 0.05 {
            return Some(format!("nearly blank: {:.1} % ink", total * 100.0));
        }
        // The header: an inverse (accent) bar across the screen at the top. A terminal may centre
        // its grid in the window (foot 1.21 does when the window is maximised), so the bar starts
        // within the first rows, not always at the first.
        let Some((top, _)) = self.grid_origin() else {
            return Some(format!("no header bar (top rows {:?})", &ink[..8]));
        };
        let header = ink[top..].iter().take_while(|i| **i > 0.9).count();
        if header < 4 {
            return Some(format!(
                "no header bar (rows from {top}: {:?})",
                &ink[top..top + 8]
            ));
        }
        // Box borders: runs of rows that are mostly ink below the header.
        let mut rules = 0;
        let mut in_rule = false;
        for i in ink.iter().skip(top + header) {
            let rule = *i > 0.9;
            if rule && !in_rule {
                rules += 1;
            }
            in_rule = rule;
        }
        if rules < 6 {
            return Some(format!(
                "{rules} horizontal rules, want the 6 borders of 3 cards"
            ));
        }
        None
    }

    /// Where the terminal's grid starts (pixel row, pixel column): the first row of the header
    /// bar, within the top 40 rows, and the bar's first pixel in it.
    pub fn grid_origin(&self) -> Option<(usize, usize)> {
        let ink = self.row_ink();
        let top = ink.iter().take(40).position(|i| *i > 0.9)?;
        let bg = self.background();
        let row = &self.pixels[top * self.width..(top + 1) * self.width];
        let left = row.iter().position(|p| *p != bg)?;
        Some((top, left))
    }
}

/// Screenshots until one passes [`Shot::problem`] and the next is the same picture: a frame
/// drawn whole, not one caught mid-redraw (a terminal draws a moment after tmux has the text).
#[derive(Default)]
pub struct Settle {
    previous: Option<Vec<u8>>,
    /// Why the last screenshot rejected was, for a failure's message.
    pub last: String,
}

impl Settle {
    /// Looks at one more screenshot (its PNG, or why there is none): the settled PNG when this
    /// is it.
    pub fn offer(&mut self, shot: Result<Vec<u8>, String>) -> Option<Vec<u8>> {
        match shot.and_then(|b| Shot::decode(&b).map(|s| (s.problem(), b))) {
            Ok((None, bytes)) if self.previous.as_ref() == Some(&bytes) => Some(bytes),
            Ok((None, bytes)) => {
                self.previous = Some(bytes);
                None
            }
            Ok((Some(problem), _)) | Err(problem) => {
                self.last = problem;
                self.previous = None;
                None
            }
        }
    }
}
