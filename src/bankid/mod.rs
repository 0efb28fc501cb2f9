//! BankID Relying Party API v6.0 (formats.md §5): a thin client, the animated QR code and the
//! recommended Swedish user messages. The same client talks to the real service (mutual TLS with
//! the RP certificate from `FORDRA_BANKID_CERT`) or to Fordra's own simulator (`sim`), which serves
//! the same HTTP API; only the base URL and the certificate differ.

pub mod orders;
pub mod sim;

use std::{sync::Arc, sync::OnceLock, time::Duration};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;

use crate::{config::BankIdMode, domain::ids::luhn_valid};

/// The client and, in simulator mode, the simulator it talks to.
pub struct BankId {
    http: reqwest::Client,
    base: OnceLock<String>,
    pub sim: Option<Arc<sim::Simulator>>,
}

impl BankId {
    /// The BankID client for `mode`; the simulator keeps its orders in `db` (shared by every
    /// process on it), or in memory without one.
    pub fn from_mode(
        mode: &BankIdMode,
        db: Option<&sqlx::PgPool>,
    ) -> anyhow::Result<Option<Arc<BankId>>> {
        let builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none());
        Ok(Some(Arc::new(match mode {
            BankIdMode::Off => return Ok(None),
            BankIdMode::Simulator(settings) => BankId {
                http: builder.build()?,
                base: OnceLock::new(),
                sim: Some(Arc::new(match db {
                    // Its own small pool, as a separate service would have: a page that
                    // holds one of Fordra's connections while it calls the simulator must not
                    // wait for another.
                    Some(db) => sim::Simulator::shared(
                        settings.clone(),
                        sqlx::postgres::PgPoolOptions::new()
                            .max_connections(4)
                            .acquire_timeout(Duration::from_secs(5))
                            .connect_lazy_with((*db.connect_options()).clone()),
                    ),
                    None => sim::Simulator::new(settings.clone()),
                })),
            },
            BankIdMode::Live { url, cert, password, ca } => {
                use anyhow::Context;
                let der = std::fs::read(cert).with_context(|| {
                    format!("cannot read FORDRA_BANKID_CERT {}", cert.display())
                })?;
                let identity = reqwest::Identity::from_pkcs12_der(&der, password)
                    .context("FORDRA_BANKID_CERT is not a PKCS#12 file this password opens")?;
                let mut builder =
                    builder.identity(identity).min_tls_version(reqwest::tls::Version::TLS_1_2);
                if let Some(ca) = ca {
                    let pem = std::fs::read(ca)
                        .with_context(|| format!("cannot read {}", ca.display()))?;
                    builder = builder
                        .tls_built_in_root_certs(false)
                        .add_root_certificate(reqwest::Certificate::from_pem(&pem)?);
                }
                let base = OnceLock::new();
                let _ = base.set(format!("{}/", url.trim_end_matches('/')));
                BankId { http: builder.build()?, base, sim: None }
            }
        })))
    }

    /// In simulator mode the API is served by this very process: call it on its own address.
    pub fn listening_on(&self, addr: std::net::SocketAddr) {
        if self.sim.is_some() {
            let host = if addr.ip().is_unspecified() {
                "127.0.0.1".to_string()
            } else {
                addr.ip().to_string()
            };
            let host = if addr.is_ipv6() && !addr.ip().is_unspecified() {
                format!("[{host}]")
            } else {
                host
            };
            let _ = self.base.set(format!("http://{host}:{}/bankid-sim/rp/v6.0/", addr.port()));
        }
    }

    async fn call<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        body: &Value,
    ) -> Result<T, Error> {
        let base =
            self.base.get().ok_or_else(|| Error::Transport("BankID base URL not set".into()))?;
        let resp = self
            .http
            .post(format!("{base}{path}"))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    Error::Api {
                        status: 408,
                        code: "requestTimeout".into(),
                        details: e.to_string(),
                    }
                } else {
                    Error::Transport(e.to_string())
                }
            })?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.map_err(|e| Error::Transport(e.to_string()))?;
        if status == 200 {
            serde_json::from_slice(&bytes)
                .map_err(|e| Error::Transport(format!("bad JSON from BankID: {e}")))
        } else {
            let body: ErrorBody = serde_json::from_slice(&bytes).unwrap_or_default();
            Err(Error::Api { status, code: body.error_code, details: body.details })
        }
    }

    /// `/auth`: starts an identification for whoever scans the QR code or opens the app.
    pub async fn auth(&self, req: &AuthRequest) -> Result<OrderResponse, Error> {
        self.call("auth", &serde_json::to_value(req).unwrap_or_default()).await
    }

    /// `/sign`: like `/auth` with the text the user signs (`userVisibleData` required).
    pub async fn sign(&self, req: &AuthRequest) -> Result<OrderResponse, Error> {
        if req.user_visible_data.is_none() {
            return Err(Error::Api {
                status: 400,
                code: "invalidParameters".into(),
                details: "userVisibleData is required for sign".into(),
            });
        }
        self.call("sign", &serde_json::to_value(req).unwrap_or_default()).await
    }

    pub async fn collect(&self, order_ref: &str) -> Result<CollectResponse, Error> {
        self.call("collect", &serde_json::json!({"orderRef": order_ref})).await
    }

    pub async fn cancel(&self, order_ref: &str) -> Result<(), Error> {
        let _: Value = self.call("cancel", &serde_json::json!({"orderRef": order_ref})).await?;
        Ok(())
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthRequest {
    pub end_user_ip: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requirement: Option<Requirement>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_visible_data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_visible_data_format: Option<String>,
    /// Signed but not shown (base64), e.g. a digest of the document signed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_non_visible_data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
}

impl AuthRequest {
    /// An identification showing `text` (plain or simpleMarkdownV1) in the app.
    pub fn new(end_user_ip: &str, text: &str) -> AuthRequest {
        AuthRequest {
            end_user_ip: end_user_ip.to_string(),
            requirement: None,
            user_visible_data: Some(base64::engine::general_purpose::STANDARD.encode(text)),
            user_visible_data_format: Some("simpleMarkdownV1".into()),
            user_non_visible_data: None,
            return_url: None,
        }
    }

    /// A signature of `text` (shown) and `hidden` (signed, not shown).
    pub fn sign(end_user_ip: &str, text: &str, hidden: &str) -> AuthRequest {
        AuthRequest {
            user_non_visible_data: Some(base64::engine::general_purpose::STANDARD.encode(hidden)),
            ..AuthRequest::new(end_user_ip, text)
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Requirement {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub personal_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pin_code: Option<bool>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderResponse {
    pub order_ref: String,
    pub auto_start_token: String,
    pub qr_start_token: String,
    pub qr_start_secret: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectResponse {
    pub order_ref: String,
    /// `pending`, `failed` or `complete`; anything else is tolerated as pending.
    pub status: String,
    #[serde(default)]
    pub hint_code: Option<String>,
    #[serde(default)]
    pub completion_data: Option<CompletionData>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompletionData {
    pub user: User,
    #[serde(default)]
    pub device: Option<Value>,
    #[serde(default)]
    pub bank_id_issue_date: Option<String>,
    #[serde(default)]
    pub step_up: Option<Value>,
    #[serde(default)]
    pub signature: Option<String>,
    #[serde(default)]
    pub ocsp_response: Option<String>,
    #[serde(default)]
    pub risk: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub personal_number: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub given_name: String,
    #[serde(default)]
    pub surname: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ErrorBody {
    pub error_code: String,
    pub details: String,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("BankID answered {status} {code}: {details}")]
    Api { status: u16, code: String, details: String },
    #[error("BankID could not be reached: {0}")]
    Transport(String),
}

impl Error {
    pub fn code(&self) -> &str {
        match self {
            Error::Api { code, .. } => code,
            Error::Transport(_) => "transport",
        }
    }

    /// What the user is told (§5.5).
    pub fn user_message(&self) -> &'static str {
        match self {
            Error::Api { code, .. } => match code.as_str() {
                "alreadyInProgress" => RFA4,
                "requestTimeout" | "tooManyRequests" | "internalError" | "maintenance" => RFA5,
                _ => RFA22,
            },
            Error::Transport(_) => RFA5,
        }
    }
}

pub const RFA1: &str = "Starta BankID-appen.";
pub const RFA3: &str = "Åtgärden avbruten. Försök igen.";
pub const RFA4: &str =
    "En identifiering eller underskrift för det här personnumret är redan påbörjad. Försök igen.";
pub const RFA5: &str = "Något gick fel. Försök igen.";
pub const RFA6: &str = "Åtgärden avbröts.";
pub const RFA8: &str = "BankID-appen svarar inte. Kontrollera att den är startad och att du har internetanslutning. Om du inte har ett giltigt BankID kan du skaffa ett hos din bank. Försök sedan igen.";
pub const RFA9: &str =
    "Skriv in din säkerhetskod i BankID-appen och välj Identifiera eller Skriv under.";
pub const RFA13: &str = "Försöker starta BankID-appen.";
pub const RFA15A: &str = "Söker efter BankID. Säkerställ att du har ett giltigt BankID på den här datorn. Om du har ett BankID på kort, sätt in kortet i kortläsaren.";
pub const RFA15B: &str =
    "Söker efter BankID. Säkerställ att du har ett giltigt BankID på den här enheten.";
pub const RFA16: &str = "Ditt BankID är för gammalt eller spärrat. Använd ett annat BankID eller skaffa ett nytt hos din bank.";
pub const RFA17A: &str =
    "Du verkar inte ha BankID-appen/programmet. Installera den och skaffa ett BankID hos din bank.";
pub const RFA17B: &str =
    "Misslyckades att läsa av QR-koden. Starta BankID-appen och läs av QR-koden.";
pub const RFA21: &str = "En identifiering eller underskrift pågår.";
pub const RFA22: &str = "Något gick fel. Försök igen.";
pub const RFA23: &str = "Fotografera och läs av din ID-handling med BankID-appen.";
pub const CALL_CONFIRM: &str =
    "Bekräfta i BankID-appen att du pratar med Fordra i telefon just nu.";
pub const CALL_DECLINED: &str =
    "Du angav att du inte pratar med Fordra i telefon. Åtgärden avbröts.";

/// How the user started the app: decides between the A and B variants of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Start {
    /// The QR code is shown (another device).
    pub qr: bool,
    /// The browser is on a phone or tablet.
    pub mobile: bool,
    /// The app was opened with the autostart token on this device.
    pub autostart_tried: bool,
}

/// The recommended message for a collect status and hint code (§5.3, §5.8). Unknown hint codes
/// get the generic message for their status.
pub fn message(status: &str, hint: Option<&str>, start: Start) -> &'static str {
    match (status, hint.unwrap_or("")) {
        ("pending", "outstandingTransaction") if start.autostart_tried && !start.qr => RFA13,
        ("pending", "outstandingTransaction" | "noClient") => RFA1,
        ("pending", "started") if start.mobile => RFA15B,
        ("pending", "started") => RFA15A,
        ("pending", "userMrtd") => RFA23,
        ("pending", "userCallConfirm") => CALL_CONFIRM,
        ("pending", "userSign") => RFA9,
        ("pending", _) => RFA21,
        ("failed", "expiredTransaction") => RFA8,
        ("failed", "certificateErr") => RFA16,
        ("failed", "userCancel") => RFA6,
        ("failed", "cancelled") => RFA3,
        ("failed", "startFailed") if start.qr => RFA17B,
        ("failed", "startFailed") => RFA17A,
        ("failed", "userDeclinedCall") => CALL_DECLINED,
        ("failed", _) => RFA22,
        _ => RFA21,
    }
}

/// A personal number as BankID sends it: twelve digits whose last ten pass Luhn.
pub fn valid_personal_number(p: &str) -> bool {
    p.len() == 12
        && p.bytes().all(|b| b.is_ascii_digit())
        && luhn_valid(&p.as_bytes()[2..].iter().map(|b| b - b'0').collect::<Vec<_>>())
}

/// What a completed `/sign` order's `signature` says was signed: the shown and the hidden data,
/// decoded. The signature is BankID's XML signature (Signature Profile), base64; its
/// `bankIdSignedData` element carries `usrVisibleData` and `usrNonVisibleData` as base64.
/// `None` when it cannot be read. (The XML-DSig itself is checked against BankID's certificate
/// by whoever relies on it in court; Fordra checks that what was signed is what it asked for.)
#[derive(Debug, PartialEq, Eq)]
pub struct SignedData {
    pub visible: String,
    pub non_visible: Option<String>,
}

pub fn signed_data(signature: &str) -> Option<SignedData> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let xml = String::from_utf8(b64.decode(signature.trim()).ok()?).ok()?;
    let element = |name: &str| -> Option<String> {
        let open = xml.find(&format!("<{name}"))?;
        let start = open + xml[open..].find('>')? + 1;
        let end = start + xml[start..].find(&format!("</{name}>"))?;
        let value = b64.decode(xml[start..end].trim()).ok()?;
        String::from_utf8(value).ok()
    };
    Some(SignedData {
        visible: element("usrVisibleData")?,
        non_visible: element("usrNonVisibleData"),
    })
}

/// The animated QR payload for `seconds` after the order response (§5.6). Computed on the server
/// only: the secret never reaches the browser.
pub fn qr_payload(qr_start_token: &str, qr_start_secret: &str, seconds: u64) -> String {
    let time = seconds.to_string();
    let mut mac = Hmac::<Sha256>::new_from_slice(qr_start_secret.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(time.as_bytes());
    let code: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("bankid.{qr_start_token}.{time}.{code}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_signed_data_is_read_back_from_the_signature() {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let xml = format!(
            "<?xml version=\"1.0\"?><Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\"><Object>\
             <bankIdSignedData xmlns=\"http://www.bankid.com/signature/v1.0.0/types\" Id=\"bidSignedData\">\
             <usrVisibleData charset=\"UTF-8\" visible=\"wysiwys\">{}</usrVisibleData>\
             <usrNonVisibleData>{}</usrNonVisibleData></bankIdSignedData></Object></Signature>",
            b64.encode("Jag godkänner avtalet."),
            b64.encode("sha256:ab12")
        );
        let data = super::signed_data(&b64.encode(&xml)).unwrap();
        assert_eq!(data.visible, "Jag godkänner avtalet.");
        assert_eq!(data.non_visible.as_deref(), Some("sha256:ab12"));
        assert_eq!(super::signed_data("not base64!"), None);
        assert_eq!(super::signed_data(&b64.encode("<simulated/>")), None);
    }

    use super::*;

    const TOKEN: &str = "67df3917-fa0d-44e5-b327-edcc928297f8";
    const SECRET: &str = "d28db9a7-4cde-429e-a983-359be676944c";

    #[test]
    fn qr_matches_the_official_test_vectors() {
        assert_eq!(
            qr_payload(TOKEN, SECRET, 0),
            "bankid.67df3917-fa0d-44e5-b327-edcc928297f8.0.dc69358e712458a66a7525beef148ae8526b1c71610eff2c16cdffb4cdac9bf8"
        );
        assert_eq!(
            qr_payload(TOKEN, SECRET, 1),
            "bankid.67df3917-fa0d-44e5-b327-edcc928297f8.1.949d559bf23403952a94d103e67743126381eda00f0b3cbddbf7c96b1adcbce2"
        );
        assert_eq!(
            qr_payload(TOKEN, SECRET, 2),
            "bankid.67df3917-fa0d-44e5-b327-edcc928297f8.2.a9e5ec59cb4eee4ef4117150abc58fad7a85439a6a96ccbecc3668b41795b3f3"
        );
    }

    #[test]
    fn every_hint_code_has_its_recommended_message() {
        let qr = Start { qr: true, mobile: false, autostart_tried: false };
        let same_device = Start { qr: false, mobile: true, autostart_tried: true };
        let cases = [
            ("pending", "outstandingTransaction", qr, RFA1),
            ("pending", "outstandingTransaction", same_device, RFA13),
            ("pending", "noClient", qr, RFA1),
            ("pending", "started", qr, RFA15A),
            ("pending", "started", same_device, RFA15B),
            ("pending", "userMrtd", qr, RFA23),
            ("pending", "userSign", qr, RFA9),
            ("pending", "somethingNew", qr, RFA21),
            ("failed", "expiredTransaction", qr, RFA8),
            ("failed", "certificateErr", qr, RFA16),
            ("failed", "userCancel", qr, RFA6),
            ("failed", "cancelled", qr, RFA3),
            ("failed", "startFailed", qr, RFA17B),
            ("failed", "startFailed", same_device, RFA17A),
            ("failed", "notSupportedByUserApp", qr, RFA22),
            ("failed", "transactionRiskBlocked", qr, RFA22),
            ("failed", "somethingNew", qr, RFA22),
        ];
        for (status, hint, start, want) in cases {
            assert_eq!(message(status, Some(hint), start), want, "{status}/{hint}");
        }
        assert!(!RFA15B.contains("gitligt"));
    }

    #[test]
    fn errors_map_to_messages() {
        let api =
            |code: &str| Error::Api { status: 400, code: code.into(), details: String::new() };
        assert_eq!(api("alreadyInProgress").user_message(), RFA4);
        assert_eq!(api("maintenance").user_message(), RFA5);
        assert_eq!(api("tooManyRequests").user_message(), RFA5);
        assert_eq!(api("invalidParameters").user_message(), RFA22);
        assert_eq!(Error::Transport("x".into()).user_message(), RFA5);
    }

    #[test]
    fn collect_response_tolerates_unknown_fields_and_codes() {
        let r: CollectResponse = serde_json::from_str(
            r#"{"orderRef":"a","status":"failed","hintCode":"brandNew","extra":1}"#,
        )
        .unwrap();
        assert_eq!(r.hint_code.as_deref(), Some("brandNew"));
    }
}
