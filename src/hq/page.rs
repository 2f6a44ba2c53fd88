//! The dashboard's login form, the fleet status document and the parts of the OpenAPI document that belong to
//! no handler (title, security schemes).
//!
//! Invariants: every value from the database is HTML-escaped; the pages load nothing else. The
//! OpenAPI document is generated from the handlers' own types (`#[utoipa::path]` on each handler
//! in [`super`], `ToSchema` on every body type); nothing here describes a path or a body by
//! hand.

use serde::Serialize;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::ToSchema;

use super::store::KioskRecord;

/// A kiosk is silent when HQ has not heard from it for this long.
pub const SILENT_AFTER_SECS: i64 = 24 * 3600;
/// A kiosk is backlogged when it reported more outbox batches than this.
pub const BACKLOGGED_ABOVE: u64 = 10;

/// A kiosk's health as the fleet list and the dashboard show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    Ok,
    /// Not heard from for [`SILENT_AFTER_SECS`].
    Silent,
    /// Reported more than [`BACKLOGGED_ABOVE`] batches waiting in its outbox.
    Backlogged,
    Disabled,
    /// Its technician audit log was found rewritten and nobody has acknowledged it yet.
    AuditAlarm,
}

impl Health {
    pub fn of(k: &KioskRecord, now: i64) -> Self {
        if !k.enabled {
            Self::Disabled
        } else if k.audit.as_ref().is_some_and(|a| a.open_alarms > 0) {
            // Its technician audit log was rewritten (and nobody has acknowledged it yet): that
            // outranks being quiet or behind.
            Self::AuditAlarm
        } else if k.last_seen.is_none_or(|t| now - t > SILENT_AFTER_SECS) {
            Self::Silent
        } else if k.backlog > BACKLOGGED_ABOVE {
            Self::Backlogged
        } else {
            Self::Ok
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Silent => "silent",
            Self::Backlogged => "backlogged",
            Self::Disabled => "disabled",
            Self::AuditAlarm => "audit_alarm",
        }
    }
}

/// `GET /v1/kiosks`: every enrolled kiosk with its health at `now` (HQ's clock, Unix seconds).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FleetDocument {
    pub now: i64,
    pub kiosks: Vec<FleetKiosk>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FleetKiosk {
    #[serde(flatten)]
    pub kiosk: KioskRecord,
    pub health: Health,
}

/// The fleet document of `kiosks` at `now`.
pub fn fleet(kiosks: Vec<KioskRecord>, now: i64) -> FleetDocument {
    FleetDocument {
        now,
        kiosks: kiosks
            .into_iter()
            .map(|kiosk| FleetKiosk {
                health: Health::of(&kiosk, now),
                kiosk,
            })
            .collect(),
    }
}

/// HTML-escapes text (element content and quoted attribute values).
pub(super) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The login form `/` shows without a session; `message` (our own text) says why when a login
/// failed.
pub fn login(message: Option<&str>) -> String {
    let message = message
        .map(|m| format!("<p class=\"error\">{}</p>\n", esc(m)))
        .unwrap_or_default();
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>shelftalk HQ: sign in</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
.error {{ color: #b00020; }} input {{ width: 32em; }}
</style></head>
<body>
<h1>shelftalk HQ</h1>
{message}<form method="post" action="/login">
<label>Analyst token (<code>shelftalk hq token create</code>)<br>
<input type="password" name="token" autocomplete="current-password" required autofocus></label>
<p><button type="submit">Sign in</button></p>
</form>
</body></html>
"#
    )
}

/// The security schemes every operation's `security` names: [`BEARER`], [`SESSION`], and the
/// kiosk's signed-request headers [`KIOSK_SIGNATURE`], [`KIOSK_ID`], [`KIOSK_TIME`].
pub struct SecuritySchemes;

pub const BEARER: &str = "bearer";
pub const SESSION: &str = "session";
pub const KIOSK_SIGNATURE: &str = "kiosk_signature";
pub const KIOSK_ID: &str = "kiosk_id";
pub const KIOSK_TIME: &str = "kiosk_time";

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        use crate::wire::{KIOSK_HEADER, MAX_CLOCK_SKEW_SECS, SIGNATURE_HEADER, TIME_HEADER};
        let header = |name: &str, description: &str| {
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                name,
                description,
            )))
        };
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An analyst token from `shelftalk hq token create` (expires; \
                         `hq token revoke` ends it).",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            SESSION,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                super::SESSION_COOKIE,
                "The dashboard session `POST /login` sets (HttpOnly, SameSite=Strict).",
            ))),
        );
        components.add_security_scheme(
            KIOSK_SIGNATURE,
            header(
                SIGNATURE_HEADER,
                "Hex Ed25519 signature by the kiosk's enrolled device key: over the body for \
                 POST requests, over the kiosk id and time for GET /v1/priors.",
            ),
        );
        components.add_security_scheme(
            KIOSK_ID,
            header(KIOSK_HEADER, "The signing kiosk's id (GET /v1/priors)."),
        );
        components.add_security_scheme(
            KIOSK_TIME,
            header(
                TIME_HEADER,
                &format!(
                    "The request's time, Unix seconds, within {MAX_CLOCK_SKEW_SECS} s of HQ's \
                     clock (GET /v1/priors)."
                ),
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(esc("<a href='x'>&"), "&lt;a href=&#39;x&#39;&gt;&amp;");
    }

    fn document() -> serde_json::Value {
        serde_json::to_value(super::super::openapi()).unwrap_or_default()
    }

    /// The whole generated document, pinned: a change to a handler's parameters, answers or body
    /// types shows here.
    #[test]
    fn openapi_document_is_pinned() {
        insta::assert_json_snapshot!("openapi", document());
    }

    #[test]
    fn every_operation_names_known_schemes_and_documents_its_refusals() {
        let doc = document();
        let schemes = doc["components"]["securitySchemes"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let paths = doc["paths"].as_object().cloned().unwrap_or_default();
        for path in [
            "/",
            "/login",
            "/logout",
            "/healthz",
            "/openapi.json",
            "/v1/batches",
            "/v1/audit-heads",
            "/v1/reports/feedback",
            "/v1/reports/lift",
            "/v1/kiosks",
            "/v1/priors",
        ] {
            assert!(paths.contains_key(path), "{path} is documented");
        }
        for (path, item) in &paths {
            for (method, op) in item.as_object().into_iter().flatten() {
                let security = op["security"].as_array().cloned().unwrap_or_default();
                for requirement in &security {
                    for name in requirement
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(|(k, _)| k)
                    {
                        assert!(schemes.contains_key(name), "{method} {path}: {name}");
                    }
                }
                let responses = op["responses"].as_object().cloned().unwrap_or_default();
                if !security.is_empty() {
                    assert!(
                        responses.contains_key("401"),
                        "{method} {path} documents 401"
                    );
                }
                if op.get("parameters").is_some() || op.get("requestBody").is_some() {
                    assert!(
                        responses.contains_key("400") || responses.contains_key("422"),
                        "{method} {path} documents how it refuses malformed input"
                    );
                }
            }
        }
        let report = &paths["/v1/reports/feedback"]["get"];
        let group_by = report["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"] == "group_by")
            .cloned()
            .unwrap_or_default();
        assert_eq!(group_by["explode"], false);
        let dims =
            serde_json::to_string(&doc["components"]["schemas"]["Dim"]["enum"]).unwrap_or_default();
        assert_eq!(
            dims,
            r#"["store","kiosk","sku","style","segment","content_kind","day","arm"]"#
        );
    }
}
