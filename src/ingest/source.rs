//! Opening an input: a file path or any reader, and the first-line peek the format readers use
//! to detect a file's format.
//!
//! Invariants:
//! - File-level problems (missing path, directory, empty or whitespace-only input) are
//!   [`IngestError`]s raised here, before any row is read; nothing here panics.
//! - [`peek_first_line`] gives back a reader over the *whole* input (the peeked bytes first), so
//!   detection never consumes data; the first line it returns is BOM-stripped and trimmed.

use std::fs::File;
use std::io::{BufReader, Cursor, Read};
use std::path::Path;

use super::IngestError;

/// An opened input file.
pub struct Source {
    pub reader: Box<dyn Read + Send>,
    /// Size in bytes, for progress bars.
    pub len: u64,
}

/// Opens `path` for an import: a clear error for missing paths and directories.
pub fn open_source(path: &Path) -> Result<Source, IngestError> {
    let open = |source| IngestError::Open {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(open)?;
    if !meta.is_file() {
        return Err(IngestError::NotAFile(path.to_path_buf()));
    }
    let file = File::open(path).map_err(open)?;
    Ok(Source {
        reader: Box::new(BufReader::with_capacity(1 << 16, file)),
        len: meta.len(),
    })
}

/// Reads up to 8 KiB to look at the first line, then gives back a reader over the whole input.
pub(super) fn peek_first_line(
    mut reader: impl Read + Send + 'static,
    file: &str,
) -> Result<(String, Box<dyn Read + Send>), IngestError> {
    let mut head = vec![0u8; 8192];
    let mut filled = 0;
    while filled < head.len() {
        let n = reader
            .read(&mut head[filled..])
            .map_err(|source| IngestError::Read {
                file: file.to_string(),
                source,
            })?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    head.truncate(filled);
    if head.iter().all(u8::is_ascii_whitespace) {
        return Err(IngestError::Empty {
            file: file.to_string(),
        });
    }
    let first = head
        .split(|&b| b == b'\n')
        .next()
        .map(|l| {
            String::from_utf8_lossy(l)
                .trim_start_matches('\u{feff}')
                .trim()
                .to_string()
        })
        .unwrap_or_default();
    Ok((first, Box::new(Cursor::new(head).chain(reader))))
}
