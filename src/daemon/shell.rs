//! A shell command's key change handed to the running daemon: `keys rotate` and `shopper erase`
//! ask the daemon over its control socket when one runs for the data dir, so the daemon makes the
//! change with its own vault (its keyring current at once) and writes it to its audit log.
//!
//! Invariants:
//! - "A daemon runs" means its control socket accepts a connection. No socket file, or one nobody
//!   listens on (a daemon that crashed), is no daemon: [`act`] returns `Ok(None)` and the command
//!   changes the keys itself, under the same exclusive key lock a daemon would take. A daemon
//!   that is there but refuses us (another user's socket, a failed key proof, a failed action) is
//!   an error, never a silent fallback.
//! - The command authenticates by proving it holds this kiosk's keys (`control::key_proof`), not
//!   with the technician PIN: see `control` for why.
//! - A loyalty number travels inside [`Action::EraseShopper`] over the socket only, as the
//!   console's erase does; nothing here logs or stores it.

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::control::{self, Action, Client, ControlError, Request, Response};
use crate::crypto::keyfiles::KeyDir;

use super::handler::ActionBody;
use super::{socket_path, DaemonError};

/// Why the running daemon did not do what a shell command asked.
#[derive(Debug, thiserror::Error)]
pub enum ShellError {
    #[error(
        "a daemon runs for this data dir but its control socket {path} refused this user: run \
         the command as the daemon's user or root"
    )]
    Refused {
        path: PathBuf,
        #[source]
        source: Option<ControlError>,
    },
    #[error("the running daemon refused the command: {reason}")]
    Denied { reason: String },
    /// The daemon's own error text (it crossed the socket as text; its cause stays in the
    /// daemon's log).
    #[error("the running daemon could not {action}: {message}")]
    Failed {
        action: &'static str,
        message: String,
    },
    #[error("the running daemon's answer was not understood: {0}")]
    Answer(#[source] serde_json::Error),
    #[error(transparent)]
    Control(#[from] ControlError),
}

/// Asks the daemon running for `config`'s data dir to carry out `action` as the shell (`cli` in
/// its audit log). `Ok(None)` when no daemon runs; the daemon's answer when it did it.
pub async fn act(config: &Config, action: Action) -> Result<Option<ActionBody>, DaemonError> {
    let path = socket_path(&config.data_dir);
    let Some(mut client) = connect(&path).await? else {
        return Ok(None);
    };
    let refused = |source| ShellError::Refused {
        path: path.clone(),
        source,
    };
    let challenge = match client.call(&Request::Challenge).await {
        Ok(Response::Ok { body }) => body
            .get("challenge")
            .and_then(|c| c.as_str())
            .and_then(crate::crypto::from_hex)
            .ok_or(ShellError::Denied {
                reason: "no challenge in the daemon's answer".into(),
            })?,
        // The daemon drops a connection from a user it does not serve before reading a line.
        Err(ControlError::Closed) => return Err(refused(Some(ControlError::Closed)).into()),
        Err(e) => return Err(ShellError::from(e).into()),
        Ok(other) => return Err(denied(other).into()),
    };
    let keys = KeyDir::new(config.key_dir()).load()?;
    let proof = control::key_proof(&keys.pepper, &challenge);
    drop(keys);
    match client.call(&Request::KeyProof { proof }).await {
        Ok(Response::Ok { .. }) => {}
        Ok(other) => return Err(denied(other).into()),
        Err(e) => return Err(ShellError::from(e).into()),
    }
    let name = action.name();
    let answer = client
        .call(&Request::Action { action })
        .await
        .map_err(ShellError::from)?;
    let body: ActionBody = match answer {
        Response::Ok { body } => serde_json::from_value(body).map_err(ShellError::Answer)?,
        other => return Err(denied(other).into()),
    };
    if !body.ok {
        return Err(ShellError::Failed {
            action: name,
            message: body.message,
        }
        .into());
    }
    Ok(Some(body))
}

/// Connects to the control socket; `None` when no daemon listens there.
async fn connect(path: &Path) -> Result<Option<Client>, ShellError> {
    match Client::connect(path).await {
        Ok(client) => Ok(Some(client)),
        Err(ControlError::Connect { source, .. })
            if matches!(
                source.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            Ok(None)
        }
        Err(e @ ControlError::Connect { .. }) => Err(ShellError::Refused {
            path: path.to_path_buf(),
            source: Some(e),
        }),
        Err(e) => Err(e.into()),
    }
}

fn denied(response: Response) -> ShellError {
    match response {
        Response::Denied { reason, .. } => ShellError::Denied { reason },
        Response::Error { message } => ShellError::Denied { reason: message },
        Response::Ok { .. } => ShellError::Denied {
            reason: "unexpected answer".into(),
        },
    }
}

/// The report a shell command prints, from the daemon's answer.
pub fn report<T: serde::de::DeserializeOwned>(body: &ActionBody) -> Result<T, DaemonError> {
    let value = body.report.clone().unwrap_or(serde_json::Value::Null);
    Ok(serde_json::from_value(value).map_err(ShellError::Answer)?)
}
