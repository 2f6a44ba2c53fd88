//! `shelftalk console`: the technician console client (the `ui::console` state machine over the
//! control socket), and `console set-pin`.
//!
//! Invariants:
//! - The PIN and an erasure's loyalty number leave the state machine only inside an effect and
//!   go straight into one request on the socket; they are not kept, logged or shown.
//! - Status, Logs and Content are polled once a second after unlock; logs are asked for "after
//!   the last sequence seen", so no line is shown twice.
//! - `set-pin` writes only the `console_pin_hash` line of the config file, keeping the rest.

use std::path::Path;
use std::time::{Duration, Instant};

use ratatui::backend::Backend;
use tracing::Level;

use super::copier::ContentRecord;
use super::handler::ActionBody;
use super::input::KeyReader;
use super::logs::LogRecord;
use super::DaemonError;
use crate::control::{self, Client, Request, Response};
use crate::locale::Locale;
use crate::ui::console::{
    self, Action, ActionKind, ConfigLine, ContentItem, Effect, Input, LogLine, StatusView,
};
use crate::ui::term::{backend_error, EventSource, TermEvent, TerminalGuard};

const POLL_EVERY: Duration = Duration::from_secs(1);
const TICK: Duration = Duration::from_millis(250);

fn log_line(r: LogRecord) -> LogLine {
    LogLine {
        at: r.at,
        level: r.level.parse().unwrap_or(Level::INFO),
        target: r.target,
        message: r.message,
    }
}

fn content_item(c: ContentRecord) -> ContentItem {
    ContentItem {
        at: c.at,
        sku: c.sku,
        style: c.style,
        source: c.source,
        verdict: c.verdict,
        text: c.text,
    }
}

/// The wire action of a console action (the loyalty number moves, it is not copied).
fn wire_action(action: Action) -> control::Action {
    match action {
        Action::SelfTest => control::Action::SelfTest,
        Action::WarmCache => control::Action::WarmCache,
        Action::RotateKeys => control::Action::RotateKeys,
        Action::EraseShopper { loyalty } => control::Action::EraseShopper {
            loyalty: loyalty.expose().to_string(),
        },
        Action::ReloadConfig => control::Action::ReloadConfig,
    }
}

fn body<T: serde::de::DeserializeOwned>(r: Response) -> Result<T, String> {
    match r {
        Response::Ok { body } => serde_json::from_value(body).map_err(|e| e.to_string()),
        Response::Denied { reason, .. } => Err(reason),
        Response::Error { message } => Err(message),
    }
}

/// Polls the daemon; answers become console inputs.
async fn poll(
    client: &mut Client,
    after: &mut u64,
    last_content: &mut Option<ContentRecord>,
    first: bool,
) -> Result<Vec<Input>, DaemonError> {
    let mut out = Vec::new();
    if let Ok(s) = body::<StatusView>(client.call(&Request::Status).await?) {
        out.push(Input::Status(s));
    }
    if let Ok(lines) = body::<Vec<LogRecord>>(client.call(&Request::Logs { after: *after }).await?)
    {
        for l in lines {
            *after = (*after).max(l.seq);
            out.push(Input::Log(log_line(l)));
        }
    }
    if let Ok(items) = body::<Vec<ContentRecord>>(client.call(&Request::Content).await?) {
        // The daemon sends its whole recent list: pass on what follows the last item seen.
        let skip = last_content
            .as_ref()
            .and_then(|last| items.iter().rposition(|c| c == last))
            .map_or(0, |i| i + 1);
        if let Some(newest) = items.last() {
            *last_content = Some(newest.clone());
        }
        out.extend(
            items
                .into_iter()
                .skip(skip)
                .map(|c| Input::Content(content_item(c))),
        );
    }
    if first {
        if let Ok(lines) = body::<Vec<(String, String)>>(client.call(&Request::Config).await?) {
            out.push(Input::Config(
                lines
                    .into_iter()
                    .map(|(key, value)| ConfigLine { key, value })
                    .collect(),
            ));
        }
    }
    Ok(out)
}

/// Runs the console until the technician quits, in the words of `locale`.
pub async fn run(data_dir: &Path, locale: Locale) -> Result<(), DaemonError> {
    let client = Client::connect(&super::socket_path(data_dir)).await?;
    let guard = TerminalGuard::stdout()?;
    let keys = KeyReader::start();
    run_on(client, guard, keys, locale).await
}

/// [`run`] over a connected `client`, on any terminal and source of keys (a test: `TestBackend`
/// and a channel). Ends when the technician quits or `keys` is gone; then stops reading keys and
/// gives the terminal back (drops `guard`), in that order.
pub async fn run_on<B, K>(
    mut client: Client,
    mut guard: TerminalGuard<B>,
    mut keys: K,
    locale: Locale,
) -> Result<(), DaemonError>
where
    B: Backend,
    B::Error: Send + Sync + 'static,
    K: EventSource,
{
    let mut state = console::State::new(Instant::now()).with_locale(locale);
    let mut tick = tokio::time::interval(TICK);
    let mut last_poll: Option<Instant> = None;
    let mut after = 0u64;
    let mut last_content: Option<ContentRecord> = None;
    draw(&mut guard, &state)?;
    'outer: loop {
        let input = tokio::select! {
            event = keys.next_event() => match event {
                Some(TermEvent::Key(k)) => Some(Input::Key(k)),
                Some(TermEvent::Resize { .. } | TermEvent::Tap { .. }) => None,
                None => break,
            },
            _ = tick.tick() => Some(Input::Tick(Instant::now())),
        };
        let mut pending: Vec<Input> = input.into_iter().collect();
        if state.is_unlocked() && last_poll.is_none_or(|t| t.elapsed() >= POLL_EVERY) {
            let first = last_poll.is_none();
            last_poll = Some(Instant::now());
            pending.extend(poll(&mut client, &mut after, &mut last_content, first).await?);
        }
        while let Some(input) = (!pending.is_empty()).then(|| pending.remove(0)) {
            for effect in console::update(&mut state, input) {
                match effect {
                    Effect::Quit => break 'outer,
                    Effect::CheckPin { pin } => {
                        let r = client
                            .call(&Request::Pin {
                                pin: pin.expose().to_string(),
                            })
                            .await?;
                        drop(pin);
                        let (ok, locked) = match r {
                            Response::Ok { .. } => (true, None),
                            Response::Denied {
                                locked_for_secs, ..
                            } => (false, locked_for_secs),
                            Response::Error { .. } => (false, None),
                        };
                        pending.push(Input::PinResult {
                            ok,
                            locked_until: locked
                                .map(|s| Instant::now() + Duration::from_secs(s.max(0) as u64)),
                        });
                    }
                    Effect::Run(action) => {
                        let kind: ActionKind = action.kind();
                        let r = client
                            .call(&Request::Action {
                                action: wire_action(action),
                            })
                            .await?;
                        let (ok, message) = match body::<ActionBody>(r) {
                            Ok(b) => (b.ok, b.message),
                            Err(e) => (false, e),
                        };
                        pending.push(Input::ActionDone { kind, ok, message });
                    }
                }
            }
        }
        draw(&mut guard, &state)?;
    }
    drop(keys);
    drop(guard);
    Ok(())
}

fn draw<B>(guard: &mut TerminalGuard<B>, state: &console::State) -> Result<(), DaemonError>
where
    B: Backend,
    B::Error: Send + Sync + 'static,
{
    guard
        .draw_console(state)
        .map_err(|e| DaemonError::Terminal(backend_error(e)))
}

/// `console set-pin`: hashes `pin` and stores it as `console_pin_hash` in `config_file`.
pub fn set_pin(config_file: &Path, pin: &str) -> Result<(), DaemonError> {
    let pin = control::check_pin_form(pin)?;
    let hash = control::hash_pin(pin, &crate::crypto::rng())?;
    crate::config::set_strings(config_file, &[("console_pin_hash", &hash)])?;
    tracing::info!("console PIN set");
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::ui::Secret;

    #[test]
    fn set_pin_writes_only_a_hash_that_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kiosk.toml");
        std::fs::write(&file, "# mine\nkiosk_id = \"k-9\"\n").unwrap();
        set_pin(&file, "246810").unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.starts_with("# mine\nkiosk_id = \"k-9\"\n"));
        assert!(!text.contains("246810"));
        let config = crate::config::Config::load(Some(&file), Vec::new()).unwrap();
        let hash = config.console_pin_hash.unwrap();
        assert!(control::verify_pin(&hash, "246810").unwrap());
        assert!(matches!(
            set_pin(&file, "2468"),
            Err(DaemonError::Control(control::ControlError::PinForm))
        ));
        assert!(matches!(
            set_pin(&file, "12a456"),
            Err(DaemonError::Control(control::ControlError::PinForm))
        ));
        assert!(matches!(
            set_pin(&file, "12"),
            Err(DaemonError::Control(control::ControlError::PinForm))
        ));
    }

    #[test]
    fn wire_actions_and_bodies_map() {
        let a = wire_action(Action::EraseShopper {
            loyalty: Secret::new("LC00000001".into()),
        });
        assert_eq!(
            a,
            control::Action::EraseShopper {
                loyalty: "LC00000001".into()
            }
        );
        let r = body::<ActionBody>(Response::Denied {
            reason: "wrong PIN".into(),
            locked_for_secs: None,
        });
        assert_eq!(r, Err("wrong PIN".to_string()));
        let l = log_line(LogRecord {
            seq: 1,
            at: "10:00:00".into(),
            level: "WARN".into(),
            target: "t".into(),
            message: "m".into(),
        });
        assert_eq!(l.level, Level::WARN);
    }
}
