//! A small client for systemd's notification protocol (`sd_notify(3)`): readiness, status text,
//! watchdog pings and "stopping", each sent as one datagram to `$NOTIFY_SOCKET`.
//!
//! Invariants:
//! - Without `NOTIFY_SOCKET` (not started by systemd, or `Type=` other than `notify`) every call
//!   is a no-op returning `Ok`: the program behaves the same under a shell, tmux or a test.
//! - Parsing the environment ([`socket_target`], [`watchdog_period`]) and formatting messages
//!   ([`message`]) are pure; the only I/O is the datagram sent by [`Notifier`].
//! - `NOTIFY_SOCKET` is a filesystem path (`/run/systemd/notify`) or, starting with `@`, a Linux
//!   abstract socket name; anything else is a clear error, never a panic.
//! - Watchdog pings are sent about once per half of `WATCHDOG_USEC` (systemd's advice), however
//!   often [`Notifier::watchdog`] is called: a ping is due once nine tenths of that half passed,
//!   so a caller on a timer of its own (the screen's 250 ms tick, whose wake-ups jitter) pings
//!   every period rather than every other tick past it, and never closer than 0.45 × `WATCHDOG_USEC`. `WATCHDOG_PID`, when set, must be this process's id;
//!   otherwise the watchdog was meant for another process and no pings are sent.
//! - A status line never carries a newline (it would start a new `KEY=VALUE` assignment).

use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("NOTIFY_SOCKET {0:?}: must be an absolute path or an abstract name starting with '@'")]
    Socket(String),
    #[error("WATCHDOG_USEC {0:?}: must be a positive number of microseconds")]
    WatchdogUsec(String),
    #[error("WATCHDOG_PID {0:?}: must be a process id")]
    WatchdogPid(String),
    #[error("NOTIFY_SOCKET {target}: {source} (retryable)")]
    Send {
        target: String,
        source: std::io::Error,
    },
}

/// Where notifications go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Path(PathBuf),
    /// A Linux abstract socket name (without the leading NUL / `@`).
    Abstract(Vec<u8>),
}

/// Parses `$NOTIFY_SOCKET`.
pub fn socket_target(value: &str) -> Result<Target, NotifyError> {
    if let Some(name) = value.strip_prefix('@') {
        if !name.is_empty() {
            return Ok(Target::Abstract(name.as_bytes().to_vec()));
        }
    } else if value.starts_with('/') {
        return Ok(Target::Path(PathBuf::from(value)));
    }
    Err(NotifyError::Socket(value.to_string()))
}

/// How often to ping the watchdog: half of `WATCHDOG_USEC`, or `None` when no watchdog is
/// configured for this process (`our_pid`).
pub fn watchdog_period(
    usec: Option<&str>,
    pid: Option<&str>,
    our_pid: u32,
) -> Result<Option<Duration>, NotifyError> {
    let Some(usec) = usec else {
        return Ok(None);
    };
    let micros: u64 = usec
        .trim()
        .parse()
        .ok()
        .filter(|&m| m > 0)
        .ok_or_else(|| NotifyError::WatchdogUsec(usec.to_string()))?;
    if let Some(pid) = pid {
        let pid: u32 = pid
            .trim()
            .parse()
            .map_err(|_| NotifyError::WatchdogPid(pid.to_string()))?;
        if pid != our_pid {
            return Ok(None);
        }
    }
    Ok(Some(Duration::from_micros(micros / 2)))
}

/// One assignment of the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State<'a> {
    Ready,
    Status(&'a str),
    Watchdog,
    Stopping,
}

/// The datagram for `states`, one `KEY=VALUE` per line.
pub fn message(states: &[State<'_>]) -> String {
    let mut out = String::new();
    for state in states {
        match state {
            State::Ready => out.push_str("READY=1"),
            State::Watchdog => out.push_str("WATCHDOG=1"),
            State::Stopping => out.push_str("STOPPING=1"),
            State::Status(text) => {
                out.push_str("STATUS=");
                out.extend(text.chars().map(|c| if c.is_control() { ' ' } else { c }));
            }
        }
        out.push('\n');
    }
    out
}

/// Whether a watchdog ping is due at `now`: nine tenths of `every` passed since the last one
/// (the slack absorbs the jitter of the caller's own timer; see the module's invariants).
pub fn ping_due(last: Option<Instant>, now: Instant, every: Duration) -> bool {
    last.is_none_or(|last| now.saturating_duration_since(last) >= every.mul_f64(0.9))
}

struct Channel {
    socket: UnixDatagram,
    addr: SocketAddr,
    shown: String,
}

/// Sends notifications to the service manager (or nothing, when there is none).
pub struct Notifier {
    channel: Option<Channel>,
    ping_every: Option<Duration>,
    last_ping: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("socket", &self.channel.as_ref().map(|c| &c.shown))
            .field("ping_every", &self.ping_every)
            .finish()
    }
}

impl Notifier {
    /// A notifier that sends nothing.
    pub fn disabled() -> Self {
        Self {
            channel: None,
            ping_every: None,
            last_ping: Mutex::new(None),
        }
    }

    /// From `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` of this process.
    pub fn from_env() -> Result<Self, NotifyError> {
        let var = |name| std::env::var(name).ok();
        Self::new(
            var("NOTIFY_SOCKET").as_deref(),
            var("WATCHDOG_USEC").as_deref(),
            var("WATCHDOG_PID").as_deref(),
            std::process::id(),
        )
    }

    /// From the variables' values; `socket == None` gives a disabled notifier.
    pub fn new(
        socket: Option<&str>,
        watchdog_usec: Option<&str>,
        watchdog_pid: Option<&str>,
        our_pid: u32,
    ) -> Result<Self, NotifyError> {
        let Some(socket) = socket else {
            return Ok(Self::disabled());
        };
        let target = socket_target(socket)?;
        let ping_every = watchdog_period(watchdog_usec, watchdog_pid, our_pid)?;
        let send_err = |source| NotifyError::Send {
            target: socket.to_string(),
            source,
        };
        let addr = match &target {
            Target::Path(p) => SocketAddr::from_pathname(p).map_err(send_err)?,
            Target::Abstract(name) => abstract_addr(name).map_err(send_err)?,
        };
        let socket_fd = UnixDatagram::unbound().map_err(send_err)?;
        Ok(Self {
            channel: Some(Channel {
                socket: socket_fd,
                addr,
                shown: socket.to_string(),
            }),
            ping_every,
            last_ping: Mutex::new(None),
        })
    }

    /// True when notifications go somewhere.
    pub fn is_enabled(&self) -> bool {
        self.channel.is_some()
    }

    /// The watchdog ping period (half of `WATCHDOG_USEC`), if a watchdog is on.
    pub fn watchdog_every(&self) -> Option<Duration> {
        self.ping_every
    }

    /// Sends `states` as one datagram.
    pub fn send(&self, states: &[State<'_>]) -> Result<(), NotifyError> {
        let Some(ch) = &self.channel else {
            return Ok(());
        };
        ch.socket
            .send_to_addr(message(states).as_bytes(), &ch.addr)
            .map(|_| ())
            .map_err(|source| NotifyError::Send {
                target: ch.shown.clone(),
                source,
            })
    }

    /// `READY=1` with a status line.
    pub fn ready(&self, status: &str) -> Result<(), NotifyError> {
        self.send(&[State::Ready, State::Status(status)])
    }

    /// `STATUS=…`.
    pub fn status(&self, status: &str) -> Result<(), NotifyError> {
        self.send(&[State::Status(status)])
    }

    /// `STOPPING=1`.
    pub fn stopping(&self) -> Result<(), NotifyError> {
        self.send(&[State::Stopping])
    }

    /// `WATCHDOG=1` if a watchdog is on and half its interval passed since the last ping;
    /// returns whether a ping was sent. Call it as often as convenient.
    pub fn watchdog(&self, now: Instant) -> Result<bool, NotifyError> {
        let Some(every) = self.ping_every.filter(|_| self.channel.is_some()) else {
            return Ok(false);
        };
        let mut last = self
            .last_ping
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !ping_due(*last, now, every) {
            return Ok(false);
        }
        self.send(&[State::Watchdog])?;
        *last = Some(now);
        Ok(true)
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn abstract_addr(name: &[u8]) -> std::io::Result<SocketAddr> {
    #[cfg(target_os = "android")]
    use std::os::android::net::SocketAddrExt;
    #[cfg(target_os = "linux")]
    use std::os::linux::net::SocketAddrExt;
    SocketAddr::from_abstract_name(name)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn abstract_addr(_name: &[u8]) -> std::io::Result<SocketAddr> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "abstract sockets exist only on Linux",
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn socket_values_parse() {
        assert_eq!(
            socket_target("/run/systemd/notify").unwrap(),
            Target::Path(PathBuf::from("/run/systemd/notify"))
        );
        assert_eq!(
            socket_target("@org/systemd/x").unwrap(),
            Target::Abstract(b"org/systemd/x".to_vec())
        );
        for bad in ["", "@", "relative/path", "vsock:2:1234"] {
            assert!(socket_target(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn watchdog_is_half_the_interval_and_only_for_us() {
        let p = |u, pid| watchdog_period(u, pid, 42);
        assert_eq!(p(None, None).unwrap(), None);
        assert_eq!(
            p(Some("30000000"), None).unwrap(),
            Some(Duration::from_secs(15))
        );
        assert_eq!(
            p(Some("2000000"), Some("42")).unwrap(),
            Some(Duration::from_secs(1))
        );
        assert_eq!(p(Some("2000000"), Some("43")).unwrap(), None);
        assert!(p(Some("0"), None).is_err());
        assert!(p(Some("-5"), None).is_err());
        assert!(p(Some("soon"), None).is_err());
        assert!(p(Some("1000"), Some("me")).is_err());
    }

    #[test]
    fn messages_are_one_assignment_per_line() {
        assert_eq!(
            message(&[State::Ready, State::Status("serving\nREADY=1")]),
            "READY=1\nSTATUS=serving READY=1\n"
        );
        assert_eq!(
            message(&[State::Watchdog, State::Stopping]),
            "WATCHDOG=1\nSTOPPING=1\n"
        );
    }

    #[test]
    fn pings_are_rate_limited() {
        let t0 = Instant::now();
        let every = Duration::from_millis(500);
        assert!(ping_due(None, t0, every));
        assert!(!ping_due(Some(t0), t0 + Duration::from_millis(449), every));
        // A tick that wakes a little early still pings (the timer's jitter).
        assert!(ping_due(Some(t0), t0 + Duration::from_millis(450), every));
        assert!(ping_due(Some(t0), t0 + every, every));
        // A clock that seems to go backwards never pings early.
        assert!(!ping_due(Some(t0 + every), t0, every));
    }

    #[test]
    fn unset_socket_is_a_no_op() {
        let n = Notifier::new(None, Some("1000000"), None, 1).unwrap();
        assert!(!n.is_enabled());
        assert!(n.ready("x").is_ok());
        assert!(!n.watchdog(Instant::now()).unwrap());
    }

    fn recv(sock: &UnixDatagram) -> String {
        let mut buf = [0u8; 512];
        let n = sock.recv(&mut buf).unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    #[test]
    fn sends_to_a_path_socket_with_rate_limited_pings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let listener = UnixDatagram::bind(&path).unwrap();
        listener.set_nonblocking(true).unwrap();
        let n = Notifier::new(path.to_str(), Some("2000000"), None, 1).unwrap();
        assert_eq!(n.watchdog_every(), Some(Duration::from_secs(1)));
        n.ready("up").unwrap();
        assert_eq!(recv(&listener), "READY=1\nSTATUS=up\n");
        let t0 = Instant::now();
        assert!(n.watchdog(t0).unwrap());
        assert!(!n.watchdog(t0 + Duration::from_millis(300)).unwrap());
        assert!(n.watchdog(t0 + Duration::from_secs(1)).unwrap());
        assert_eq!(recv(&listener), "WATCHDOG=1\n");
        assert_eq!(recv(&listener), "WATCHDOG=1\n");
        assert!(listener.recv(&mut [0u8; 16]).is_err(), "no third ping");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn sends_to_an_abstract_socket() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("shelftalk-notify-test-{}", std::process::id());
        let listener =
            UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap())
                .unwrap();
        let n = Notifier::new(Some(&format!("@{name}")), None, None, 1).unwrap();
        n.stopping().unwrap();
        assert_eq!(recv(&listener), "STOPPING=1\n");
    }

    #[test]
    fn a_vanished_socket_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gone");
        let n = Notifier::new(path.to_str(), None, None, 1).unwrap();
        assert!(matches!(n.ready("x"), Err(NotifyError::Send { .. })));
    }
}
