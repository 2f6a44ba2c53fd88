//! `systemd-creds`: sealing a kiosk's key-directory sealing key to the TPM2 or the host key.
//!
//! Invariants:
//! - Secrets go to and come from `systemd-creds` through pipes only — never argv, never a
//!   temporary file, never a log line. Its stderr is kept for the error message.
//! - [`available`] is false when `SHELFTALK_NO_SYSTEMD_CREDS` is set (tests, development), so a
//!   plain key directory can be forced.
//! - The credential is encrypted with `--with-key=auto`: the TPM2 when the board has one (and the
//!   host key beside it), the host key (`/var/lib/systemd/credential.secret`) otherwise.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use zeroize::Zeroizing;

use super::keyfiles::{KeyError, SealingKey, SEALING_CREDENTIAL};

/// The tool, found on `PATH`.
pub const SYSTEMD_CREDS: &str = "systemd-creds";
/// Set (to anything) to act as if `systemd-creds` were missing.
pub const NO_CREDS_ENV: &str = "SHELFTALK_NO_SYSTEMD_CREDS";

/// True when `systemd-creds --version` runs and the override is not set.
pub fn available() -> bool {
    if std::env::var_os(NO_CREDS_ENV).is_some() {
        return false;
    }
    Command::new(SYSTEMD_CREDS)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn failed(path: &Path, what: &str, detail: String) -> KeyError {
    KeyError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(format!("{SYSTEMD_CREDS} {what}: {detail}")),
    }
}

/// Runs `systemd-creds` with `args`, `input` on its stdin; returns stdout (zeroised on drop).
fn run(
    args: &[&std::ffi::OsStr],
    input: &[u8],
    path: &Path,
    what: &str,
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let mut child = Command::new(SYSTEMD_CREDS)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed(path, what, e.to_string()))?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| failed(path, what, "no stdin".into()))?;
    stdin
        .write_all(input)
        .map_err(|e| failed(path, what, e.to_string()))?;
    drop(stdin);
    let mut out = Zeroizing::new(Vec::new());
    if let Some(mut stdout) = child.stdout.take() {
        stdout
            .read_to_end(&mut out)
            .map_err(|e| failed(path, what, e.to_string()))?;
    }
    let mut err = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        let _ = stderr.read_to_string(&mut err);
    }
    let status = child
        .wait()
        .map_err(|e| failed(path, what, e.to_string()))?;
    if !status.success() {
        return Err(failed(path, what, format!("{status}: {}", err.trim())));
    }
    Ok(out)
}

/// Encrypts `key` as the credential [`SEALING_CREDENTIAL`] into `out` (mode 0600).
pub fn encrypt(key: &SealingKey, out: &Path) -> Result<(), KeyError> {
    let name = format!("--name={SEALING_CREDENTIAL}");
    run(
        &[
            "encrypt".as_ref(),
            "--with-key=auto".as_ref(),
            name.as_ref(),
            "-".as_ref(),
            out.as_os_str(),
        ],
        key.bytes(),
        out,
        "encrypt",
    )?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(out, std::fs::Permissions::from_mode(0o600)).map_err(|source| {
        KeyError::Io {
            path: out.to_path_buf(),
            source,
        }
    })
}

/// Decrypts the credential file `cred` (needs root, or the TPM2): what `provision` does to read
/// back a sealed directory's device key, and what systemd does for the service.
pub fn decrypt(cred: &Path) -> Result<SealingKey, KeyError> {
    let name = format!("--name={SEALING_CREDENTIAL}");
    let bytes = run(
        &[
            "decrypt".as_ref(),
            name.as_ref(),
            cred.as_os_str(),
            "-".as_ref(),
        ],
        &[],
        cred,
        "decrypt",
    )?;
    SealingKey::from_bytes(&bytes).map_err(KeyError::Crypto)
}

/// The unit drop-in that makes systemd decrypt `cred` for the service.
pub fn unit_drop_in(cred: &Path) -> String {
    format!(
        "# Written by `shelftalk provision`: install as\n\
         # /etc/systemd/system/shelftalk.service.d/credentials.conf, then `systemctl daemon-reload`.\n\
         [Service]\n\
         LoadCredentialEncrypted={SEALING_CREDENTIAL}:{}\n",
        cred.display()
    )
}

/// Where `provision` writes the drop-in for the data dir `data_dir`.
pub fn drop_in_path(data_dir: &Path) -> PathBuf {
    data_dir
        .join("shelftalk.service.d")
        .join("credentials.conf")
}
