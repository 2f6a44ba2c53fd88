//! Running a program as an unprivileged user when this process is root. Some programs refuse to
//! run as root — PostgreSQL (HQ's throwaway test cluster, [`crate::hq::pg_cluster`]) and the
//! `cage` Wayland compositor (the headless display test) — and CI runs as root. As root they run
//! as `nobody` through `setpriv`; as anyone else, as that user.
//!
//! Invariants: [`User::when_root`] is `None` exactly when this process is not root; a command
//! from [`User::command`] runs as that user with no supplementary groups, and the caller hands
//! it the files it needs (`chown`), nothing here changes ownership.

use std::ffi::OsStr;
use std::process::Command;

/// `nobody` does not exist on this system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no user `nobody` to run as (this process is root)")]
pub struct NoNobody;

/// A user to run programs as: a uid and its primary gid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct User {
    pub uid: u32,
    pub gid: u32,
}

impl User {
    /// `nobody`.
    pub fn nobody() -> Result<User, NoNobody> {
        let name = c"nobody";
        // SAFETY: getpwnam with a valid C string; the record is read at once, before any other
        // call.
        let pw = unsafe { libc::getpwnam(name.as_ptr()) };
        if pw.is_null() {
            return Err(NoNobody);
        }
        // SAFETY: checked non-null above.
        let (uid, gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
        Ok(User { uid, gid })
    }

    /// `nobody` when this process is root, else `None` (programs run as the current user).
    pub fn when_root() -> Result<Option<User>, NoNobody> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            User::nobody().map(Some)
        } else {
            Ok(None)
        }
    }

    /// `program` to run as `user` (through `setpriv`, no supplementary groups), or as is for
    /// `None`.
    pub fn command(user: Option<User>, program: impl AsRef<OsStr>) -> Command {
        match user {
            Some(User { uid, gid }) => {
                let mut c = Command::new("setpriv");
                c.arg(format!("--reuid={uid}"))
                    .arg(format!("--regid={gid}"))
                    .arg("--clear-groups")
                    .arg("--")
                    .arg(program);
                c
            }
            None => Command::new(program),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn commands_run_as_the_user_given() {
        let c = User::command(
            Some(User {
                uid: 65534,
                gid: 65533,
            }),
            "initdb",
        );
        assert_eq!(c.get_program(), "setpriv");
        let args: Vec<_> = c.get_args().collect();
        assert_eq!(
            args,
            [
                "--reuid=65534",
                "--regid=65533",
                "--clear-groups",
                "--",
                "initdb"
            ]
        );
        assert_eq!(User::command(None, "initdb").get_program(), "initdb");
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        assert_eq!(User::when_root().unwrap().is_some(), root);
    }
}
