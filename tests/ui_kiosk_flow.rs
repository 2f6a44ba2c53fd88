//! A whole shopper visit driven through the public API, the way the daemon drives it: inputs in,
//! effects answered, a headless terminal drawn after every step.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use ratatui::backend::TestBackend;
use shelftalk::ui::kiosk::{
    update, Effect, EndReason, Input, KioskConfig, PickView, RequestId, SessionId, Slot, State,
};
use shelftalk::ui::term::TerminalGuard;
use shelftalk::ui::Key;

const LOYALTY: &str = "LC20250117";

fn pick(sku: &str, name: &str) -> PickView {
    PickView {
        sku: sku.into(),
        name: name.into(),
        brand: Some("Northwind".into()),
        price_text: "USD 49".into(),
        copy: String::new(),
        template: format!("{name} at a fair price, just USD 49."),
        reason_line: "You bought hiking gear last month".into(),
        reasons: vec!["You bought hiking gear last month".into()],
        style: "story".into(),
        style_probability: 0.25,
    }
}

struct Kiosk {
    state: State,
    screen: TerminalGuard<TestBackend>,
}

impl Kiosk {
    fn feed(&mut self, input: Input) -> Vec<Effect> {
        let effects = update(&mut self.state, input);
        self.screen.draw_kiosk(&self.state).unwrap();
        effects
    }

    fn text(&self) -> String {
        self.screen.backend().to_string()
    }
}

#[test]
fn a_visit_from_scan_to_timeout() {
    let t0 = Instant::now();
    let mut k = Kiosk {
        state: State::new(KioskConfig::default(), t0),
        screen: TerminalGuard::headless(TestBackend::new(80, 24)).unwrap(),
    };
    k.feed(Input::Featured(vec![PickView {
        copy: "Warm in every season.".into(),
        reason_line: String::new(),
        reasons: Vec::new(),
        ..pick("F1", "Down Jacket")
    }]));
    assert!(k.text().contains("Down Jacket"));

    // The scanner types the loyalty code and Enter.
    let mut effects = Vec::new();
    for c in LOYALTY.chars() {
        effects.extend(k.feed(Input::Key(Key::Char(c))));
        assert!(!k.text().contains(LOYALTY));
    }
    effects.extend(k.feed(Input::Key(Key::Enter)));
    let session: SessionId = match effects.as_slice() {
        [Effect::StartSession {
            session,
            loyalty: Some(code),
        }] => {
            assert_eq!(code.expose(), LOYALTY);
            *session
        }
        other => panic!("{other:?}"),
    };

    // The daemon answers with picks; copy for each is requested and streamed in.
    let effects = k.feed(Input::PicksReady {
        session,
        picks: vec![pick("P1", "Trail Boots"), pick("P2", "Rain Shell")],
        personal: true,
    });
    let requested: Vec<(Slot, RequestId)> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::RequestCopy { slot, request, .. } => Some((*slot, *request)),
            _ => None,
        })
        .collect();
    let slots: Vec<Slot> = requested.iter().map(|(slot, _)| *slot).collect();
    assert_eq!(slots, vec![Slot::Pick(0), Slot::Pick(1)]);
    let (first, second) = (requested[0].1, requested[1].1);
    for token in ["Grippy ", "soles ", "for wet rock."] {
        k.feed(Input::CopyToken {
            request: first,
            text: token.into(),
        });
    }
    assert!(k.text().contains("Grippy soles for wet rock.▌"));
    k.feed(Input::CopyDone {
        request: first,
        text: String::new(),
        fell_back: None,
    });
    assert!(k.text().contains("Grippy soles for wet rock. "));
    assert!(k.text().contains("Trail Boots") && k.text().contains("USD 49"));

    // Opt out: effective at once.
    let effects = k.feed(Input::Key(Key::Char('o')));
    assert!(effects.contains(&Effect::OptOut { session }));
    assert!(k.text().contains("Personalisation is off"));
    assert!(!k.text().contains("Trail Boots"));

    // Walk away: the timeout ends the session, then the attract loop is back.
    let effects = k.feed(Input::Tick(t0 + Duration::from_secs(45)));
    assert!(effects.contains(&Effect::EndSession {
        session,
        reason: EndReason::Timeout
    }));
    k.feed(Input::Tick(t0 + Duration::from_secs(50)));
    let text = k.text();
    assert!(text.contains("Down Jacket") && text.contains("Scan your loyalty card"));
    for gone in ["Trail Boots", "Rain Shell", "Grippy", "hiking", LOYALTY] {
        assert!(!text.contains(gone));
        assert!(!format!("{:?}", k.state).contains(gone));
    }

    // A late token for the ended session changes nothing.
    k.feed(Input::CopyToken {
        request: second,
        text: "tardy-token".into(),
    });
    assert!(!format!("{:?}", k.state).contains("tardy-token"));
    assert_eq!(k.state.session_id(), None);
}
