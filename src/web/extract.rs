//! The one door for text from outside: every form body, query string, JSON body, multipart text
//! field and CSV cell passes [`check_text`] before any handler sees it.
//!
//! - NUL (U+0000) is refused everywhere.
//! - Single-line fields refuse every control character, newline included.
//! - Multi-line fields (free text people write: [`MULTI_LINE`]) allow newline and tab only;
//!   a browser's CRLF is read as a newline.
//! - Every field has a maximum length ([`SINGLE_LINE_MAX`], [`MULTI_LINE_MAX`]); validators may
//!   set tighter limits of their own.
//!
//! A refusal is 422 naming the field: a Swedish error page for forms and queries, the API's JSON
//! error shape for JSON. A malformed body or query is 400, a wrong content type 415 and a body
//! over the limit 413, always in Swedish and never the framework's own text.

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Request},
    http::{StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{api_error::ApiError, error::ErrorPage};

/// Longest single-line value, in characters.
pub const SINGLE_LINE_MAX: usize = 200;
/// Longest multi-line value, in characters.
pub const MULTI_LINE_MAX: usize = 10_000;
/// Field names (the last segment of a dotted JSON path) that may hold several lines.
pub const MULTI_LINE: &[&str] = &["body", "answer_text", "description", "beskrivning"];

/// Why a text value is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextProblem {
    Nul,
    /// A control character (a line break in a single-line field).
    Control,
    TooLong(usize),
}

impl TextProblem {
    pub fn message(self) -> String {
        match self {
            TextProblem::Nul => {
                "Fältet innehåller ett otillåtet tecken (NUL). Skriv in texten igen.".into()
            }
            TextProblem::Control => {
                "Fältet får bara innehålla en rad text, utan radbrytningar eller andra styrtecken."
                    .into()
            }
            TextProblem::TooLong(max) => {
                format!("Texten är för lång. Den får vara högst {max} tecken.")
            }
        }
    }
}

pub fn is_multi_line(field: &str) -> bool {
    let leaf = field.rsplit('.').next().unwrap_or(field);
    MULTI_LINE.contains(&leaf)
}

/// Checks one value of field `field` (a form name or dotted JSON path).
pub fn check_text(field: &str, value: &str) -> Result<(), TextProblem> {
    let multi = is_multi_line(field);
    let mut chars = 0;
    for c in value.chars() {
        chars += 1;
        match c {
            '\0' => return Err(TextProblem::Nul),
            // A browser sends a textarea's line breaks as CRLF; they are stored as LF.
            '\n' | '\t' | '\r' if multi => {}
            c if c.is_control() => return Err(TextProblem::Control),
            _ => {}
        }
    }
    let max = if multi { MULTI_LINE_MAX } else { SINGLE_LINE_MAX };
    if chars > max {
        return Err(TextProblem::TooLong(max));
    }
    Ok(())
}

/// Multi-line text as stored: CRLF and lone CR become LF.
pub fn normalize_newlines(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\r', "\n")
}

/// A text field of a multipart form, checked like any other (UTF-8, then [`check_text`]),
/// multi-line text with its newlines normalised.
pub fn multipart_text(field: &str, bytes: &[u8]) -> Result<String, InputRejection> {
    let text = std::str::from_utf8(bytes).map_err(|_| InputRejection::malformed())?;
    check_text(field, text).map_err(|p| InputRejection::field(field, p))?;
    Ok(if is_multi_line(field) { normalize_newlines(text) } else { text.to_string() })
}

/// Why a multipart upload could not be read, in Swedish, with the status to answer: 413 when it
/// is larger than `max_mb`, 400 when the transfer is broken.
pub fn upload_failure(
    e: &axum::extract::multipart::MultipartError,
    max_mb: usize,
) -> (StatusCode, String) {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("Filen är för stor. Den får vara högst {max_mb} MB."),
        )
    } else {
        (
            StatusCode::BAD_REQUEST,
            "Filen kunde inte tas emot: överföringen avbröts eller formuläret var felaktigt. Försök igen.".into(),
        )
    }
}

/// A refused request for a page: a Swedish error page with the status.
#[derive(Debug)]
pub struct InputRejection {
    pub status: StatusCode,
    pub field: Option<String>,
    pub message: String,
}

impl InputRejection {
    fn field(field: &str, problem: TextProblem) -> InputRejection {
        InputRejection {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: format!("{}: {}", label(field), problem.message()),
            field: Some(field.to_string()),
        }
    }

    fn malformed() -> InputRejection {
        InputRejection {
            status: StatusCode::BAD_REQUEST,
            field: None,
            message: "Uppgifterna kunde inte läsas: formuläret eller adressen är felaktigt kodad. Ladda om sidan och försök igen.".into(),
        }
    }

    fn content_type() -> InputRejection {
        InputRejection {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            field: None,
            message: "Formuläret skickades i ett format som Fordra inte tar emot. Använd formuläret på sidan.".into(),
        }
    }

    pub fn too_large() -> InputRejection {
        InputRejection {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            field: None,
            message: "Det du skickade är för stort. Korta texten eller välj en mindre fil.".into(),
        }
    }
}

impl IntoResponse for InputRejection {
    fn into_response(self) -> Response {
        let title = match self.status {
            StatusCode::UNPROCESSABLE_ENTITY => "Uppgifterna kan inte tas emot",
            StatusCode::PAYLOAD_TOO_LARGE => "För stort",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "Fel format",
            _ => "Felaktig begäran",
        };
        ErrorPage::new(self.status, title, self.message).into_response_with(self.status)
    }
}

/// A field's name as people know it, for messages that name the field.
fn label(field: &str) -> String {
    let known = [
        ("email", "E-post"),
        ("password", "Lösenord"),
        ("q", "Sökning"),
        ("invoice_number", "Fakturanummer"),
        ("description", "Beskrivning"),
        ("capital", "Kapitalbelopp"),
        ("debtor.name", "Gäldenärens namn"),
        ("debtor.id_number", "Person- eller organisationsnummer"),
        ("debtor.address.street", "Gatuadress"),
        ("debtor.address.postal_code", "Postnummer"),
        ("debtor.address.city", "Postort"),
        ("street", "Gatuadress"),
        ("city", "Postort"),
        ("postal_code", "Postnummer"),
        ("company_name", "Företagets namn"),
        ("contact_name", "Namn"),
        ("org_nr", "Organisationsnummer"),
        ("body", "Meddelande"),
        ("note", "Kommentar"),
        ("day", "Datum"),
        ("phone", "Telefon"),
    ];
    known
        .iter()
        .find(|(k, _)| *k == field)
        .map(|(_, l)| format!("Fältet ”{l}”"))
        .unwrap_or_else(|| format!("Fältet ”{field}”"))
}

/// Checks every pair of a urlencoded body or query.
fn check_pairs(pairs: &[(String, String)]) -> Result<(), InputRejection> {
    for (k, v) in pairs {
        if k.contains('\0') {
            return Err(InputRejection::field(k, TextProblem::Nul));
        }
        check_text(k, v).map_err(|p| InputRejection::field(k, p))?;
    }
    Ok(())
}

/// Deserialises checked pairs; multi-line values get their newlines normalised.
fn from_pairs<T: DeserializeOwned>(pairs: Vec<(String, String)>) -> Result<T, InputRejection> {
    let pairs: Vec<(String, String)> = pairs
        .into_iter()
        .map(|(k, v)| {
            let v = if is_multi_line(&k) { normalize_newlines(&v) } else { v };
            (k, v)
        })
        .collect();
    let encoded = serde_urlencoded::to_string(&pairs).map_err(|_| InputRejection::malformed())?;
    serde_urlencoded::from_str(&encoded).map_err(|_| InputRejection::malformed())
}

fn content_type_is(parts_ct: Option<&header::HeaderValue>, want: &str) -> bool {
    parts_ct
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(want))
}

/// A urlencoded form body, checked (see the module comment).
pub struct Form<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Form<T> {
    type Rejection = InputRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !content_type_is(
            req.headers().get(header::CONTENT_TYPE),
            "application/x-www-form-urlencoded",
        ) {
            return Err(InputRejection::content_type());
        }
        let bytes =
            Bytes::from_request(req, state).await.map_err(|_| InputRejection::too_large())?;
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_bytes(&bytes).map_err(|_| InputRejection::malformed())?;
        check_pairs(&pairs)?;
        from_pairs(pairs).map(Form)
    }
}

/// A query string, checked (see the module comment).
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = InputRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(query).map_err(|_| InputRejection::malformed())?;
        check_pairs(&pairs)?;
        from_pairs(pairs).map(Query)
    }
}

/// Checks every string (and key) of a JSON value, naming the dotted path of the first bad one.
pub fn check_json(value: &Value, path: &str) -> Result<(), (String, TextProblem)> {
    match value {
        Value::String(s) => check_text(path, s).map_err(|p| (path.to_string(), p)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, v)| check_json(v, &join(path, &i.to_string()))),
        Value::Object(map) => map.iter().try_for_each(|(k, v)| {
            let field = join(path, k);
            if k.contains('\0') {
                return Err((field, TextProblem::Nul));
            }
            check_json(v, &field)
        }),
        _ => Ok(()),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

/// Normalises the newlines of multi-line strings in place.
fn normalize_json(value: &mut Value, path: &str) {
    match value {
        Value::String(s) if is_multi_line(path) => *s = normalize_newlines(s),
        Value::Array(items) => items
            .iter_mut()
            .enumerate()
            .for_each(|(i, v)| normalize_json(v, &join(path, &i.to_string()))),
        Value::Object(map) => map.iter_mut().for_each(|(k, v)| normalize_json(v, &join(path, k))),
        _ => {}
    }
}

/// A JSON body for the API, checked (see the module comment); refusals in the API's error shape.
pub struct Json<T>(pub T);

/// [`Json`] with the checked body as it was sent, too (an idempotent POST compares it).
pub struct JsonWithBody<T>(pub T, pub Value);

/// [`JsonWithBody`] where the body may be left out (an action whose fields are all optional):
/// no body is `{}`.
pub struct OptionalJsonWithBody<T>(pub T, pub Value);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OptionalJsonWithBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let empty = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() == "0")
            || (req.headers().get(header::CONTENT_TYPE).is_none()
                && req.headers().get(header::CONTENT_LENGTH).is_none()
                && req.headers().get(header::TRANSFER_ENCODING).is_none());
        let value = if empty {
            Value::Object(Default::default())
        } else {
            checked_json(req, state).await?
        };
        Ok(OptionalJsonWithBody(typed(value.clone())?, value))
    }
}

/// The request's body as checked, normalised JSON.
async fn checked_json<S: Send + Sync>(req: Request, state: &S) -> Result<Value, ApiError> {
    if !content_type_is(req.headers().get(header::CONTENT_TYPE), "application/json") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Skicka JSON med Content-Type: application/json.",
        ));
    }
    let bytes = Bytes::from_request(req, state).await.map_err(|_| ApiError::payload_too_large())?;
    let mut value: Value = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("Ogiltig JSON på rad {}, kolumn {}.", e.line(), e.column()),
        )
    })?;
    if let Err((field, problem)) = check_json(&value, "") {
        return Err(ApiError::validation(&field, problem.message()));
    }
    normalize_json(&mut value, "");
    Ok(value)
}

/// `value` as `T`, a wrong type named by its field.
fn typed<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let field = e.path().to_string();
        let expected = expected_type(&e.inner().to_string());
        ApiError::validation(&field, format!("Fel typ av värde för {field}: ange {expected}."))
    })
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        typed(checked_json(req, state).await?).map(Json)
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonWithBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let value = checked_json(req, state).await?;
        Ok(JsonWithBody(typed(value.clone())?, value))
    }
}

/// What serde expected, in Swedish, from its (English) message.
fn expected_type(message: &str) -> &'static str {
    let expected = message.split("expected ").nth(1).unwrap_or("");
    if expected.starts_with("a string") {
        "text inom citattecken"
    } else if expected.starts_with("a boolean") {
        "true eller false"
    } else if expected.starts_with("a sequence") {
        "en lista"
    } else if expected.starts_with("struct") || expected.starts_with("a map") {
        "ett objekt"
    } else if expected.contains("integer") || expected.contains("number") {
        "ett tal"
    } else {
        "ett värde av rätt typ enligt API-dokumentationen"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_rules() {
        assert_eq!(check_text("street", "Storgatan 1"), Ok(()));
        assert_eq!(check_text("street", "a\0b"), Err(TextProblem::Nul));
        assert_eq!(check_text("street", "a\nb"), Err(TextProblem::Control));
        assert_eq!(check_text("street", "a\tb"), Err(TextProblem::Control));
        assert_eq!(check_text("street", "a\u{7f}b"), Err(TextProblem::Control));
        assert_eq!(check_text("body", "rad 1\r\nrad 2\ttab"), Ok(()));
        assert_eq!(check_text("body", "a\0"), Err(TextProblem::Nul));
        assert_eq!(check_text("body", "a\u{1b}[31m"), Err(TextProblem::Control));
        assert_eq!(check_text("debtor.description", "x\ny"), Ok(()));
        assert_eq!(check_text("street", &"x".repeat(201)), Err(TextProblem::TooLong(200)));
        assert_eq!(check_text("street", &"å".repeat(200)), Ok(()), "characters, not bytes");
        assert_eq!(check_text("body", &"x".repeat(10_001)), Err(TextProblem::TooLong(10_000)));
        assert_eq!(normalize_newlines("a\r\nb\rc"), "a\nb\nc");
    }

    #[test]
    fn json_paths_are_named() {
        let v: Value =
            serde_json::json!({"debtor": {"address": {"street": "a\u{0}"}}, "x": [1, "ok"]});
        assert_eq!(check_json(&v, ""), Err(("debtor.address.street".into(), TextProblem::Nul)));
        let ok: Value = serde_json::json!({"description": "rad 1\nrad 2"});
        assert_eq!(check_json(&ok, ""), Ok(()));
        assert_eq!(
            expected_type("invalid type: integer `12`, expected a string"),
            "text inom citattecken"
        );
    }
}
