//! The API's OpenAPI 3.1 document, built from the same operation table as the router (so no
//! route can be left out), with the schemas of the bodies and answers; and
//! `/api/dokumentation`, a page rendered from it with a worked example per operation.

use askama::Template;
use axum::{extract::State, response::Response};
use serde_json::{Value, json};

use super::{OPERATIONS, Operation};
use crate::{auth::Ctx, state::AppState, web::prelude::*};

pub fn claim_example() -> Value {
    json!({
        "invoice_number": "F-1001", "description": "Snickeriarbete", "capital": "2500.00",
        "invoice_date": "2026-01-10", "due_date": "2026-02-09", "reminder_fee_agreed": true,
        "start_with": "reminder",
        "debtor": {"kind": "person", "id_number": "198112189876", "name": "Sven Svensson",
                   "capacity": "consumer", "email": "sven@exempel.se",
                   "address": {"street": "Storgatan 1", "postal_code": "11122", "city": "Stockholm"}}
    })
}

pub fn reason_example() -> Value {
    json!({"reason": "Kunden har hört av sig"})
}

pub fn reduction_example() -> Value {
    json!({"amount": "500.00", "date": "2026-02-20", "comment": "Kreditfaktura K-7"})
}

pub fn subscribe_example() -> Value {
    json!({"url": "https://erp.example.se/fordra/webhooks", "events": ["claim.state_changed", "claim.payment_received"]})
}

fn money() -> Value {
    json!({"type": "string", "pattern": "^-?[0-9]+\\.[0-9]{2}$", "examples": ["2500.00"]})
}

fn date() -> Value {
    json!({"type": "string", "format": "date"})
}

/// The schemas of bodies and answers.
fn components() -> Value {
    let states = json!([
        "registered",
        "reminder",
        "collection",
        "final_notice",
        "enforcement_ready",
        "paid",
        "withdrawn",
        "written_off"
    ]);
    json!({
        "securitySchemes": {"key": {"type": "http", "scheme": "bearer", "description": "En API-nyckel från portalen eller `fordra create-api-key`."}},
        "schemas": {
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                "type": "object", "required": ["code", "message", "field"],
                "properties": {
                    "code": {"type": "string", "enum": ["invalid_json", "unsupported_media_type", "unauthorized", "forbidden", "not_found", "validation_failed", "time_barred", "duplicate_invoice_number", "invalid_state", "idempotency_conflict", "payload_too_large", "rate_limited", "internal"]},
                    "message": {"type": "string"},
                    "field": {"type": ["string", "null"]},
                    "details": {"type": "array", "items": {"type": "object"}}}}}},
            "Address": {"type": "object", "properties": {"street": {"type": "string"}, "postal_code": {"type": "string"}, "city": {"type": "string"}}},
            "DebtorInput": {"type": "object", "required": ["kind", "id_number", "name", "capacity", "address"], "properties": {
                "kind": {"type": "string", "enum": ["person", "company"]},
                "id_number": {"type": "string", "description": "10 eller 12 siffror, med eller utan - och +."},
                "name": {"type": "string"},
                "capacity": {"type": "string", "enum": ["consumer", "business"]},
                "address": {"$ref": "#/components/schemas/Address"},
                "email": {"type": ["string", "null"]}, "phone": {"type": ["string", "null"]}}},
            "ClaimInput": {"type": "object", "required": ["invoice_number", "capital", "invoice_date", "due_date", "debtor"], "properties": {
                "invoice_number": {"type": "string"}, "description": {"type": "string"},
                "capital": {"type": ["string", "number"], "description": "Decimalsträng med punkt, t.ex. \"2500.00\"."},
                "invoice_date": date(), "due_date": date(), "claim_arose_date": date(),
                "reminder_fee_agreed": {"type": "boolean", "default": false},
                "start_with": {"type": "string", "enum": ["reminder", "collection"], "default": "reminder"},
                "debtor": {"$ref": "#/components/schemas/DebtorInput"},
                "creditor_org_nr": {"type": "string", "description": "Med en partners nyckel: kunden fordran gäller."}}},
            "Fee": {"type": "object", "required": ["kind", "amount", "owed", "charged_on"], "properties": {
                "kind": {"type": "string", "enum": ["reminder", "collection", "late_payment_compensation", "payment_plan"]},
                "amount": money(), "owed": money(), "charged_on": date()}},
            "Claim": {"type": "object", "required": ["id", "state", "ocr", "invoice_number", "creditor", "debtor", "due_date", "amounts"], "properties": {
                "id": {"type": "string", "format": "uuid"},
                "state": {"type": "string", "enum": states},
                "ocr": {"type": "string"}, "invoice_number": {"type": "string"},
                "creditor": {"type": "object", "properties": {"org_nr": {"type": "string"}, "name": {"type": "string"}}},
                "debtor": {"type": "object", "properties": {"kind": {"type": "string"}, "id_number": {"type": "string"}, "name": {"type": "string"}, "capacity": {"type": "string"}}},
                "due_date": date(), "disputed": {"type": "boolean"}, "paused": {"type": "boolean"}, "payment_plan": {"type": "boolean"},
                "next_step": {"type": ["object", "null"], "properties": {"kind": {"type": "string"}, "date": date()}},
                "amounts": {"type": "object", "properties": {
                    "as_of": date(), "capital": money(), "interest": money(),
                    "fees": {"type": "array", "items": {"$ref": "#/components/schemas/Fee"}},
                    "paid": money(), "balance": money(), "preliminary": {"type": "boolean"}}}}},
            "ClaimList": {"type": "object", "required": ["claims", "next_cursor"], "properties": {
                "claims": {"type": "array", "items": {"$ref": "#/components/schemas/Claim"}},
                "next_cursor": {"type": ["string", "null"]}}},
            "Events": {"type": "object", "properties": {"claim_id": {"type": "string", "format": "uuid"}, "events": {"type": "array", "items": {"type": "object", "properties": {
                "id": {"type": "integer"}, "at": {"type": "string", "format": "date-time"}, "business_date": date(), "kind": {"type": "string"}, "detail": {"type": "object"}}}}}},
            "Reason": {"type": "object", "additionalProperties": false, "properties": {"reason": {"type": "string"}}},
            "Reduction": {"type": "object", "additionalProperties": false, "required": ["amount", "date"], "properties": {
                "amount": {"type": ["string", "number"]}, "date": date(), "comment": {"type": "string"}}},
            "Subscribe": {"type": "object", "additionalProperties": false, "required": ["url", "events"], "properties": {
                "url": {"type": "string", "format": "uri"},
                "events": {"type": "array", "items": {"type": "string", "enum": crate::webhooks::EVENTS}}}},
            "Subscription": {"type": "object", "required": ["id", "url", "events", "secret"], "properties": {
                "id": {"type": "string", "format": "uuid"}, "url": {"type": "string"},
                "events": {"type": "array", "items": {"type": "string"}},
                "secret": {"type": "string", "description": "Visas bara här; nyckeln för Fordra-Signature."}}},
            "Subscriptions": {"type": "object", "properties": {"webhooks": {"type": "array", "items": {"type": "object", "properties": {
                "id": {"type": "string", "format": "uuid"}, "url": {"type": "string"}, "events": {"type": "array", "items": {"type": "string"}}, "created_at": {"type": "string", "format": "date-time"}}}}}}
        }
    })
}

fn status_text(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Skapad",
        204 => "Borttagen",
        400 => "Ogiltig JSON",
        401 => "Nyckel saknas eller är spärrad",
        403 => "Nyckeln saknar behörigheten",
        404 => "Finns inte (eller är inte er)",
        409 => "Konflikt: fel läge, dubblett eller Idempotency-Key",
        413 => "För stor begäran",
        422 => "Ogiltigt värde; `field` anger vilket",
        _ => "",
    }
}

fn operation(op: &Operation) -> Value {
    let mut params = vec![];
    if op.path.contains("{id}") {
        params.push(json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}));
    }
    if op.method == "get" && op.path == "/api/v1/claims" {
        for (name, schema, text) in [
            ("state", json!({"type": "string"}), "Bara fordringar i det här läget."),
            (
                "updated_since",
                json!({"type": "string"}),
                "Bara fordringar med en händelse sedan dess (RFC 3339 eller datum).",
            ),
            ("invoice_number", json!({"type": "string"}), "Bara fordran med det fakturanumret."),
            (
                "limit",
                json!({"type": "integer", "minimum": 1, "maximum": 200, "default": 50}),
                "Antal per sida.",
            ),
            ("cursor", json!({"type": "string"}), "`next_cursor` från föregående sida."),
        ] {
            params.push(json!({"name": name, "in": "query", "required": false, "schema": schema, "description": text}));
        }
    }
    if op.method == "post" {
        params.push(json!({"name": "Idempotency-Key", "in": "header", "required": false, "schema": {"type": "string", "maxLength": 255},
            "description": "Samma nyckel och samma JSON ger det första svaret igen (24 timmar)."}));
    }
    let mut responses = serde_json::Map::new();
    let (code, schema) = op.answer;
    responses.insert(
        code.to_string(),
        match schema {
            Some(s) => json!({"description": status_text(code), "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{s}")}}}}),
            None => json!({"description": status_text(code)}),
        },
    );
    for e in [401u16, 403].iter().chain(op.errors) {
        responses.insert(e.to_string(), json!({"description": status_text(*e), "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}));
    }
    let mut o = json!({
        "summary": op.summary,
        "operationId": format!("{}_{}", op.method, op.path.trim_start_matches("/api/v1/").replace(['/', '-'], "_").replace(['{', '}'], "")),
        "description": format!("Kräver behörigheten `{}`.", op.scope.as_str()),
        "security": [{"key": []}],
        "parameters": params,
        "responses": responses,
    });
    if let Some((schema, optional)) = op.body {
        let mut content = json!({"schema": {"$ref": format!("#/components/schemas/{schema}")}});
        if let Some(ex) = op.example {
            content["example"] = ex();
        }
        o["requestBody"] = json!({"required": !optional, "content": {"application/json": content}});
    }
    o
}

/// The whole document.
pub fn document() -> Value {
    let mut paths = serde_json::Map::new();
    for op in OPERATIONS {
        let entry = paths.entry(op.path.to_string()).or_insert_with(|| json!({}));
        entry[op.method] = operation(op);
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Fordra API", "version": "1.0.0",
                 "description": "Registrera och följ fordringar från ert affärssystem. Belopp är decimalsträngar med punkt, datum ISO 8601. Fel: {\"error\": {\"code\", \"message\", \"field\"}}."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": components(),
    })
}

#[derive(Template)]
#[template(path = "api/docs.html")]
struct DocsPage {
    layout: Layout,
    operations: Vec<DocOp>,
}

struct DocOp {
    method: String,
    path: &'static str,
    summary: &'static str,
    scope: &'static str,
    answer: u16,
    example: String,
}

/// `/api/dokumentation`: the document as a page, with a curl example per operation.
pub async fn page(State(_): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let operations = OPERATIONS
        .iter()
        .map(|op| {
            let path = op.path.replace("{id}", "3f0c…");
            let mut curl = format!(
                "curl -X {} https://fordra.se{path} \\\n  -H \"Authorization: Bearer $FORDRA_KEY\"",
                op.method.to_uppercase()
            );
            if let Some(ex) = op.example {
                let body = serde_json::to_string_pretty(&ex()).unwrap_or_default();
                curl += &format!(" \\\n  -H \"Content-Type: application/json\" \\\n  -H \"Idempotency-Key: 7d1e…\" \\\n  -d '{body}'");
            }
            DocOp {
                method: op.method.to_uppercase(),
                path: op.path,
                summary: op.summary,
                scope: op.scope.as_str(),
                answer: op.answer.0,
                example: curl,
            }
        })
        .collect();
    Ok(render(&DocsPage { layout: ctx.layout(), operations }))
}
