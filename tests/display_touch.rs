//! A tap on a touch screen chooses a pick: the appliance's display stack with a real touch input
//! device, end to end. This machine's kernel has no uinput, so the display side runs in a small
//! VM (qemu, software emulation: nested KVM does not run here) with Debian's own kernel, built by
//! `scripts/touch-vm.sh`:
//!
//! - in the VM ([`GUEST`]): udev, a multi-touch, direct input device made through uinput (what a
//!   USB touch panel is to the kernel), seatd, and `cage` (headless output, libinput input) running
//!   `foot` from Debian 13 — foot takes touch input from 1.15 on; Debian 12 has 1.13 — with the
//!   appliance's `firmware-config/foot.ini`, as `nobody`;
//! - foot's terminal is a virtio serial line; on this side it is a pseudo-terminal the test makes,
//!   with a tmux client of the kiosk's session on it: the zh-CN demo kiosk (`shelftalk run` with
//!   the model) runs here at full speed, only the screen and the finger are in the VM;
//! - a loyalty scan (pasted into the pane, never on a command line; the code never enters the VM),
//!   three picks with their copy; then a tap on pick 3, sent to the VM's touch screen at the
//!   pixels of pick 3's first line. libinput hands the touch to cage, cage to foot, foot turns
//!   it into a left click (an SGR mouse report) on its terminal, and the kiosk chooses pick 3.
//!
//! What it checks: the kiosk's screen (tmux's copy of what the VM's foot draws) shows pick 3
//! chosen (a thick border) and pick 1 no longer; `grim` screenshots of the VM's output before and
//! after pass the display test's checks (size, header bar, the three cards' borders, the same
//! picture twice in a row) and differ. The screenshot after the tap is kept in
//! `target/tmp/zh-CN-touch.png` for a person to look at.
//!
//! Readiness is waited for, never slept: qemu waits for the test on both serial lines before the
//! guest starts, the guest answers each request on its control line when it is done, and the
//! screen is polled. Skipped with a note when qemu, cage, grim, seatd, tmux, python3-evdev, the
//! fonts or `target/touch-vm` are missing, unless `SHELFTALK_REQUIRE_DISPLAY=1` (`.ci/run`);
//! `scripts/install-deps.sh` installs them. x86_64 hosts only.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod common;
#[path = "common/screenshot.rs"]
mod screenshot;
#[path = "common/tmux.rs"]
mod tmux;

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use screenshot::{missing_tools, Settle, Shot, OUTPUT};
use shelftalk::locale::Locale;
use tmux::{cards, Card, Kiosk, Tmux, UNHURRIED};

/// Bound for each wait. The VM is emulated, not virtualised: it boots in about 7 s here, and
/// foot's first frame with the CJK font takes some seconds more.
const BOUND: Duration = Duration::from_secs(180);
const POLL: Duration = Duration::from_millis(100);
/// The guest's own script (its header says what it does and what it answers).
const GUEST: &str = "tests/touch_vm/guest.sh";

fn vm_files() -> PathBuf {
    common::root().join("target/touch-vm")
}

/// What the test needs that is not here.
fn missing() -> Vec<String> {
    let mut missing: Vec<String> =
        missing_tools(&["qemu-system-x86_64", "cage", "grim", "seatd", "tmux"])
            .into_iter()
            .map(str::to_owned)
            .collect();
    // The guest runs Debian's python3 (its PATH is /usr/bin:/bin).
    let evdev = Command::new("/usr/bin/python3")
        .args(["-c", "import evdev"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !evdev {
        missing.push("python3-evdev".to_owned());
    }
    if !vm_files().join("ready").is_file() {
        missing.push("target/touch-vm (scripts/touch-vm.sh)".to_owned());
    }
    missing
}

/// A terminal's size in cells and pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Size {
    rows: u16,
    cols: u16,
    xpixel: u16,
    ypixel: u16,
}

impl Size {
    fn winsize(self) -> libc::winsize {
        libc::winsize {
            ws_row: self.rows,
            ws_col: self.cols,
            ws_xpixel: self.xpixel,
            ws_ypixel: self.ypixel,
        }
    }
}

/// The touch VM: qemu, its two serial lines (the terminal, the control line) and its share.
struct Vm {
    qemu: Child,
    control: BufReader<UnixStream>,
    /// foot's terminal line; taken by [`Client::attach`].
    term: Option<UnixStream>,
    share: PathBuf,
    dir: PathBuf,
}

impl Vm {
    /// Starts the VM with its sockets, logs and share in `dir`, and connects both serial lines.
    fn boot(dir: &Path) -> Vm {
        let share = dir.join("share");
        std::fs::create_dir(&share).unwrap();
        // The guest's display side (nobody) writes its screenshots and logs here.
        std::fs::set_permissions(&share, std::fs::Permissions::from_mode(0o777)).unwrap();
        let files = vm_files();
        let root = common::root();
        let paths = [
            root.join(GUEST),
            files.join("foot"),
            root.join("firmware-config/foot.ini"),
            dir.to_path_buf(),
        ];
        for p in &paths {
            let s = p.to_str().unwrap();
            assert!(
                !s.contains([' ', ',', '"']),
                "the VM's paths go on its command lines: {s:?} has a space or comma"
            );
        }
        let append = format!(
            "console=ttyS0 quiet panic=-1 guest={} foot_root={} foot_ini={}",
            paths[0].display(),
            paths[1].display(),
            paths[2].display()
        );
        let socket = |id: &str| dir.join(format!("{id}.sock"));
        // wait=on: qemu starts the guest only once the test is connected to the line, so the
        // guest never finds it closed (a closed line reads as end of file there).
        let chardev = |id: &str| {
            format!(
                "socket,id={id},path={},server=on,wait=on",
                socket(id).display()
            )
        };
        let log = File::create(dir.join("qemu.log")).unwrap();
        let mut qemu = Command::new("qemu-system-x86_64");
        qemu.args(["-nodefaults", "-display", "none", "-no-reboot"])
            .args([
                "-accel",
                "tcg,thread=multi",
                "-cpu",
                "max",
                "-smp",
                "2",
                "-m",
                "2048",
            ])
            .arg("-kernel")
            .arg(files.join("vmlinuz"))
            .arg("-initrd")
            .arg(files.join("initrd.gz"))
            .arg("-append")
            .arg(append)
            .arg("-serial")
            .arg(format!("file:{}", dir.join("console.log").display()))
            .args([
                "-virtfs",
                "local,path=/,mount_tag=hostroot,security_model=none,readonly=on",
            ])
            .arg("-virtfs")
            .arg(format!(
                "local,path={},mount_tag=out,security_model=none",
                share.display()
            ))
            .args(["-device", "virtio-serial-pci"])
            .arg("-chardev")
            .arg(chardev("term"))
            .args(["-device", "virtserialport,chardev=term,name=shelftalk.term"])
            .arg("-chardev")
            .arg(chardev("control"))
            .args([
                "-device",
                "virtserialport,chardev=control,name=shelftalk.control",
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        // The VM exists (and is stopped on drop) before the lines connect; the control line is a
        // stand-in until then.
        let mut vm = Vm {
            qemu: qemu.spawn().expect("qemu-system-x86_64 starts"),
            control: BufReader::new(UnixStream::pair().unwrap().0),
            term: None,
            share,
            dir: dir.to_path_buf(),
        };
        // qemu listens on the lines one after the other, in command-line order.
        let term = vm.connect(&socket("term"));
        let control = vm.connect(&socket("control"));
        control.set_read_timeout(Some(BOUND)).unwrap();
        vm.term = Some(term);
        vm.control = BufReader::new(control);
        vm
    }

    fn connect(&mut self, socket: &Path) -> UnixStream {
        let deadline = Instant::now() + BOUND;
        loop {
            if let Ok(stream) = UnixStream::connect(socket) {
                return stream;
            }
            if let Ok(Some(status)) = self.qemu.try_wait() {
                panic!("qemu exited ({status}) before {socket:?}:\n{}", self.logs());
            }
            assert!(Instant::now() < deadline, "no {socket:?} within {BOUND:?}");
            std::thread::sleep(POLL);
        }
    }

    /// Polls `ready` until it gives a value, for at most [`BOUND`]; panics naming `what` with the
    /// VM's logs otherwise.
    fn until<T>(&mut self, what: &str, mut ready: impl FnMut(&mut Vm) -> Option<T>) -> T {
        let deadline = Instant::now() + BOUND;
        loop {
            if let Some(t) = ready(self) {
                return t;
            }
            assert!(
                Instant::now() < deadline,
                "no {what} within {BOUND:?}:\n{}",
                self.logs()
            );
            std::thread::sleep(POLL);
        }
    }

    /// One request on the control line and its answer.
    fn request(&mut self, request: &str) -> String {
        writeln!(self.control.get_mut(), "{request}").unwrap();
        let mut answer = String::new();
        match self.control.read_line(&mut answer) {
            Ok(n) if n > 0 => answer.trim_end().to_owned(),
            other => panic!("no answer to {request:?} ({other:?}):\n{}", self.logs()),
        }
    }

    /// foot's terminal size, once foot has started its terminal.
    fn size(&mut self) -> Option<Size> {
        let answer = self.request("size");
        let n: Vec<u16> = answer
            .strip_prefix("size ")?
            .split_whitespace()
            .map(|v| v.parse().ok())
            .collect::<Option<_>>()?;
        match n[..] {
            [rows, cols, xpixel, ypixel] if rows > 0 && cols > 0 => Some(Size {
                rows,
                cols,
                xpixel,
                ypixel,
            }),
            _ => None,
        }
    }

    /// A screenshot of the VM's output (PNG), or why there is none.
    fn shot(&mut self, name: &str) -> Result<Vec<u8>, String> {
        let answer = self.request(&format!("shot {name}"));
        if answer != format!("shot {name}") {
            return Err(answer);
        }
        std::fs::read(self.share.join(name)).map_err(|e| e.to_string())
    }

    /// The guest's, cage's and foot's logs and the kernel console's last lines, for a failure.
    fn logs(&self) -> String {
        let tail = |path: PathBuf| {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let from = lines.len().saturating_sub(30);
            format!("--- {}\n{}", path.display(), lines[from..].join("\n"))
        };
        [
            tail(self.dir.join("qemu.log")),
            tail(self.dir.join("console.log")),
            tail(self.share.join("guest.log")),
            tail(self.share.join("cage.log")),
        ]
        .join("\n")
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        let _ = writeln!(self.control.get_mut(), "off");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.qemu.try_wait() {
                return;
            }
            std::thread::sleep(POLL);
        }
        let _ = self.qemu.kill();
        let _ = self.qemu.wait();
    }
}

/// A tmux client of the kiosk's session on a pseudo-terminal of the test's, whose other side is
/// joined to the VM's terminal line (two copying threads): what the client draws, the VM's foot
/// shows; what foot sends (keys, the clicks a tap becomes), the client reads.
struct Client {
    child: Child,
    master: File,
}

impl Client {
    fn attach(tmux: &Tmux, line: UnixStream, size: Size) -> Client {
        let (mut master, mut slave) = (0, 0);
        let winsize = size.winsize();
        // SAFETY: openpty writes two descriptors into the integers given; the name buffer is
        // null (not wanted), the termios null (defaults) and the window size a valid struct.
        let made = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                &winsize,
            )
        };
        assert_eq!(made, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: both descriptors were just opened by openpty and are owned by nothing else.
        let (master, slave) = unsafe { (File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        let args = tmux.attach_command();
        let mut cmd = Command::new(&args[0]);
        cmd.args(&args[1..])
            // The terminal on the other side is foot; xterm's description is what both know.
            .env("TERM", "xterm-256color")
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        // SAFETY: between fork and exec only async-signal-safe calls: setsid, then the terminal
        // on standard input becomes the new session's controlling terminal (so a window size
        // change reaches the client as SIGWINCH).
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("tmux attaches");
        let (mut from_client, mut to_line) =
            (master.try_clone().unwrap(), line.try_clone().unwrap());
        std::thread::spawn(move || std::io::copy(&mut from_client, &mut to_line));
        let (mut from_line, mut to_client) = (line, master.try_clone().unwrap());
        std::thread::spawn(move || std::io::copy(&mut from_line, &mut to_client));
        Client { child, master }
    }

    /// Gives the client's terminal `size` (foot's, when foot has been resized since).
    fn resize(&self, size: Size) {
        let winsize = size.winsize();
        use std::os::fd::AsRawFd;
        // SAFETY: TIOCSWINSZ reads one winsize from the pointer, which is valid for the call.
        let done = unsafe { libc::ioctl(self.master.as_raw_fd(), libc::TIOCSWINSZ, &winsize) };
        assert_eq!(done, 0, "TIOCSWINSZ: {}", std::io::Error::last_os_error());
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Screenshots until one passes the display checks and the next is the same picture; the
/// client's terminal follows foot's size meanwhile.
fn settled_shot(vm: &mut Vm, client: &Client, name: &str) -> Vec<u8> {
    let mut settle = Settle::default();
    let mut size = None;
    let deadline = Instant::now() + BOUND;
    loop {
        if let Some(now) = vm.size().filter(|now| Some(*now) != size) {
            client.resize(now);
            size = Some(now);
        }
        if let Some(png) = settle.offer(vm.shot(name)) {
            return png;
        }
        assert!(
            Instant::now() < deadline,
            "no settled screenshot {name} within {BOUND:?} (last: {}):\n{}",
            settle.last,
            vm.logs()
        );
        std::thread::sleep(POLL);
    }
}

/// The three picks on the kiosk's screen, when all three are there.
fn picks(screen: &str) -> Option<Vec<Card>> {
    let picks: Vec<Card> = cards(screen)
        .into_iter()
        .filter(|c| matches!(c.title.as_str(), "1" | "2" | "3"))
        .collect();
    (picks.len() == 3).then_some(picks)
}

#[test]
fn a_tap_on_the_touch_screen_chooses_a_pick() {
    if !cfg!(target_arch = "x86_64") {
        eprintln!("\n*** SKIPPED: the touch VM runs on x86_64 hosts only ***\n");
        return;
    }
    let missing = missing();
    if !missing.is_empty() {
        assert!(
            std::env::var_os("SHELFTALK_REQUIRE_DISPLAY").is_none(),
            "SHELFTALK_REQUIRE_DISPLAY is set but {missing:?} missing (scripts/install-deps.sh)"
        );
        eprintln!(
            "\n*** SKIPPED: {missing:?} not installed (scripts/install-deps.sh installs them); \
             the touch test did not run ***\n"
        );
        return;
    }
    let Some(model) = common::model() else { return };
    let _one = common::one_model_at_a_time();

    // The kiosk, here; a loyalty scan and the three picks' copy complete before the VM starts
    // (the emulated VM takes both cores while it boots).
    let k = Kiosk::start_in(&model, UNHURRIED, None, Locale::ZhCn);
    k.tmux.run(&["set", "-g", "status", "off"]);
    let loyalty = k.loyalty.clone();
    k.tmux.type_secret(&loyalty);
    k.tmux.press(&["Enter"]);
    k.tmux.wait_settled("three picks with copy", BOUND, |s| {
        picks(s).filter(|p| p.iter().all(Card::complete))
    });

    let dir = tempfile::Builder::new()
        .prefix("shelftalk-touch-")
        .tempdir()
        .unwrap();
    let mut vm = Vm::boot(dir.path());
    let size = vm.until("foot's terminal in the VM", Vm::size);
    let client = Client::attach(&k.tmux, vm.term.take().unwrap(), size);
    vm.until("the VM's terminal attached to the kiosk", |_| {
        (!k.tmux.run(&["list-clients"]).trim().is_empty()).then_some(())
    });
    let before = settled_shot(&mut vm, &client, "before.png");

    // The tap: the middle of the cell at column 6 of pick 3's first line (inside its border).
    let size = vm.size().expect("foot's terminal");
    let (screen, ()) = k.tmux.wait_settled("the picks at foot's size", BOUND, |s| {
        (s.lines().count() == usize::from(size.rows) && s.lines().any(|l| l.starts_with("┏ 1")))
            .then_some(())
    });
    let row = screen
        .lines()
        .position(|l| l.starts_with("┌ 3"))
        .expect("pick 3 not chosen yet")
        + 1;
    let col = 5;
    let cell = (
        f64::from(size.xpixel) / f64::from(size.cols),
        f64::from(size.ypixel) / f64::from(size.rows),
    );
    // foot centres its grid in the maximised window: where it starts is read off the picture.
    let (top, left) = Shot::decode(&before).unwrap().grid_origin().unwrap();
    let x = (left as f64 + (col as f64 + 0.5) * cell.0) / f64::from(OUTPUT.0);
    let y = (top as f64 + (row as f64 + 0.5) * cell.1) / f64::from(OUTPUT.1);
    let answer = vm.request(&format!("tap {x:.5} {y:.5}"));
    assert!(answer.starts_with("tapped "), "{answer}");

    let (screen, ()) = k.tmux.wait_settled("pick 3 chosen by the tap", BOUND, |s| {
        s.lines().any(|l| l.starts_with("┏ 3")).then_some(())
    });
    assert!(
        screen.lines().any(|l| l.starts_with("┌ 1")),
        "pick 1 still chosen:\n{screen}"
    );
    let after = settled_shot(&mut vm, &client, "after.png");
    assert_ne!(before, after, "the VM's screen did not change with the tap");
    let keep = Path::new(env!("CARGO_TARGET_TMPDIR")).join("zh-CN-touch.png");
    std::fs::write(&keep, &after).unwrap();
    eprintln!(
        "tapped pick 3 at ({x:.3}, {y:.3}) of the screen ({answer}); screenshot: {}\n{screen}",
        keep.display()
    );
}
