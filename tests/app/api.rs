//! The integration API with keys: scopes, partner keys, idempotency, the cursor-paged list, and
//! refusals that name the field and store nothing.

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::{Options, TestApp, bare_client, create_user, logged_in};
use fordra::auth::api_key::{Owner, create};

async fn spawn() -> TestApp {
    TestApp::spawn_with(Options { vars: vec![("FORDRA_TODAY", "2026-03-02".into())] }).await
}

fn claim(invoice: &str) -> Value {
    json!({
        "invoice_number": invoice, "capital": "2500.00", "invoice_date": "2026-01-10",
        "due_date": "2026-02-09", "reminder_fee_agreed": true,
        "debtor": {"kind": "person", "id_number": "198112189876", "name": "Sven Svensson",
                   "capacity": "consumer",
                   "address": {"street": "Storgatan 1", "postal_code": "11122", "city": "Stockholm"}}
    })
}

struct Api<'a> {
    app: &'a TestApp,
    client: Client,
    key: String,
}

impl Api<'_> {
    async fn post(&self, path: &str, body: &Value, idem: Option<&str>) -> (StatusCode, Value) {
        let mut r = self.client.post(self.app.url(path)).bearer_auth(&self.key).json(body);
        if let Some(k) = idem {
            r = r.header("Idempotency-Key", k);
        }
        let r = r.send().await.unwrap();
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }

    async fn raw(&self, path: &str, body: &str) -> (StatusCode, Value) {
        let r = self
            .client
            .post(self.app.url(path))
            .bearer_auth(&self.key)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let r = self.client.get(self.app.url(path)).bearer_auth(&self.key).send().await.unwrap();
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }
}

async fn creditor_of(app: &TestApp, email: &str) -> Uuid {
    let user = create_user(&app.pool, email, "creditor").await;
    sqlx::query_scalar("select creditor_id from app_user where user_id = $1")
        .bind(user)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn key_for(app: &TestApp, owner: Owner) -> String {
    let mut conn = app.pool.acquire().await.unwrap();
    create(&mut conn, owner, fordra::clock::Clock::system().now()).await.unwrap()
}

async fn claims(app: &TestApp) -> i64 {
    sqlx::query_scalar("select count(*) from claim").fetch_one(&app.pool).await.unwrap()
}

#[tokio::test]
async fn a_creditor_key_creates_reads_and_pages_and_no_one_else_sees_it() {
    let app = spawn().await;
    let a = creditor_of(&app, "a@alfa.se").await;
    let b = creditor_of(&app, "b@beta.se").await;
    let api =
        Api { app: &app, client: bare_client(), key: key_for(&app, Owner::Creditor(a)).await };
    let other =
        Api { app: &app, client: bare_client(), key: key_for(&app, Owner::Creditor(b)).await };

    let mut ids = vec![];
    for i in 0..3 {
        let (status, body) = api.post("/api/v1/claims", &claim(&format!("F-{i}")), None).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        ids.push(body["id"].as_str().unwrap().to_string());
    }
    let (status, body) = api.get(&format!("/api/v1/claims/{}", ids[0])).await;
    assert_eq!((status, body["invoice_number"].as_str()), (StatusCode::OK, Some("F-0")));
    // Two pages of two, in registration order; a claim registered meanwhile comes last.
    let (_, page1) = api.get("/api/v1/claims?limit=2").await;
    let first: Vec<&str> =
        page1["claims"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(first, [ids[0].as_str(), ids[1].as_str()]);
    let cursor = page1["next_cursor"].as_str().unwrap().to_string();
    api.post("/api/v1/claims", &claim("F-3"), None).await;
    let (_, page2) = api.get(&format!("/api/v1/claims?limit=2&cursor={cursor}")).await;
    let second: Vec<&str> = page2["claims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["invoice_number"].as_str().unwrap())
        .collect();
    assert_eq!(second, ["F-2", "F-3"]);
    assert_eq!(page2["next_cursor"], Value::Null, "the last page");
    let (_, filtered) = api.get("/api/v1/claims?invoice_number=F-1&state=registered").await;
    assert_eq!(filtered["claims"].as_array().unwrap().len(), 1);
    assert_eq!(filtered["next_cursor"], Value::Null);
    let (status, body) = api.get("/api/v1/claims?limit=0").await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("limit"))
    );
    let (status, _) = api.get(&format!("/api/v1/claims/{}/events", ids[0])).await;
    assert_eq!(status, StatusCode::OK);

    // The creditor's actions, as on the claim page.
    let on = |action: &str| format!("/api/v1/claims/{}/{action}", ids[1]);
    let (status, body) = api.post(&on("pause"), &json!({"reason": "Kunden ringde"}), None).await;
    assert_eq!((status, body["paused"].as_bool()), (StatusCode::OK, Some(true)), "{body}");
    let (status, body) = api.post(&on("pause"), &json!({}), None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_state"))
    );
    let r = api.client.post(app.url(&on("resume"))).bearer_auth(&api.key).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "no body needed");
    let (status, body) = api
        .post(&on("direct-payments"), &json!({"amount": "3000.00", "date": "2026-02-20"}), None)
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("amount"))
    );
    let (status, body) =
        api.post(&on("credits"), &json!({"amount": "500.00", "date": "2026-04-01"}), None).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("date"))
    );
    let (status, body) = api
        .post(
            &on("credits"),
            &json!({"amount": "500.00", "date": "2026-02-20", "comment": "Kreditfaktura K-7"}),
            None,
        )
        .await;
    assert_eq!(
        (status, body["amounts"]["capital"].as_str()),
        (StatusCode::OK, Some("2000.00")),
        "{body}"
    );
    let (status, body) =
        api.post(&on("withdraw"), &json!({"reason": "Betalt direkt"}), Some("w-1")).await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("withdrawn")));
    let (status, again) =
        api.post(&on("withdraw"), &json!({"reason": "Betalt direkt"}), Some("w-1")).await;
    assert_eq!((status, again), (StatusCode::OK, body), "replayed, not refused as closed");
    let (status, body) = api.post(&on("resume"), &json!({}), None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_state"))
    );
    let actor: Option<String> = sqlx::query_scalar(
        "select detail->>'api_key' from claim_event where kind = 'withdrawn' and claim_id = $1::uuid",
    )
    .bind(&ids[1])
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(actor.is_some(), "the key is named on the timeline");

    // Creditor B sees none of it.
    let (status, _) = other.get(&format!("/api/v1/claims/{}", ids[0])).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = other.get("/api/v1/claims").await;
    assert_eq!(list["claims"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn idempotency_keys_replay_the_first_answer_and_refuse_another_body() {
    let app = spawn().await;
    let a = creditor_of(&app, "a@alfa.se").await;
    let api =
        Api { app: &app, client: bare_client(), key: key_for(&app, Owner::Creditor(a)).await };
    let (s1, b1) = api.post("/api/v1/claims", &claim("I-1"), Some("k-1")).await;
    assert_eq!(s1, StatusCode::CREATED);
    // The same body with its keys in another order and other spacing: the first answer again.
    let reordered = r#"{"due_date":"2026-02-09","debtor":{"address":{"city":"Stockholm","postal_code":"11122","street":"Storgatan 1"},"capacity":"consumer","name":"Sven Svensson","id_number":"198112189876","kind":"person"},
        "reminder_fee_agreed":true,"invoice_date":"2026-01-10","capital":"2500.00","invoice_number":"I-1"}"#;
    let r = api
        .client
        .post(app.url("/api/v1/claims"))
        .bearer_auth(&api.key)
        .header("content-type", "application/json")
        .header("Idempotency-Key", "k-1")
        .body(reordered)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert!(r.headers().get("location").is_some());
    assert_eq!(r.json::<Value>().await.unwrap(), b1);
    assert_eq!(claims(&app).await, 1);
    // Another body under the same key: 409.
    let (status, body) = api.post("/api/v1/claims", &claim("I-2"), Some("k-1")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("idempotency_conflict"))
    );
    // A 4xx is kept too: the same refused body gives the same refusal.
    let mut bad = claim("I-3");
    bad["capital"] = json!("-5");
    let (s1, b1) = api.post("/api/v1/claims", &bad, Some("k-2")).await;
    let (s2, b2) = api.post("/api/v1/claims", &bad, Some("k-2")).await;
    assert_eq!((s1, &b1), (s2, &b2));
    assert_eq!(s1, StatusCode::UNPROCESSABLE_ENTITY);
    // Keys are per owner: another creditor's same key is its own.
    let b = creditor_of(&app, "b@beta.se").await;
    let other =
        Api { app: &app, client: bare_client(), key: key_for(&app, Owner::Creditor(b)).await };
    let (status, _) = other.post("/api/v1/claims", &claim("I-1"), Some("k-1")).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(claims(&app).await, 2);
}

#[tokio::test]
async fn bad_input_names_its_field_and_stores_nothing() {
    let app = spawn().await;
    let a = creditor_of(&app, "a@alfa.se").await;
    let api =
        Api { app: &app, client: bare_client(), key: key_for(&app, Owner::Creditor(a)).await };
    let (status, body) = api.raw("/api/v1/claims", "{\"invoice_number\": ").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_json"))
    );
    let mut wrong = claim("W-1");
    wrong["reminder_fee_agreed"] = json!("ja");
    let (status, body) = api.post("/api/v1/claims", &wrong, None).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("reminder_fee_agreed"))
    );
    let mut pnr = claim("W-2");
    pnr["debtor"]["id_number"] = json!("198112189877");
    let (status, body) = api.post("/api/v1/claims", &pnr, None).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("debtor.id_number"))
    );
    let mut negative = claim("W-3");
    negative["capital"] = json!("-100.00");
    let (status, body) = api.post("/api/v1/claims", &negative, None).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("capital"))
    );
    assert_eq!(claims(&app).await, 0);
}

#[tokio::test]
async fn keys_are_made_and_revoked_in_the_portal_with_scopes() {
    let app = spawn().await;
    creditor_of(&app, "a@alfa.se").await;
    let web = logged_in(&app, "a@alfa.se").await;
    // A read-only key: 403 on create; the page shows the key once.
    let r = web
        .post(app.url("/borgenar/api-nycklar"))
        .form(&[("name", "Fortnox"), ("claims_read", "on")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let html = r.text().await.unwrap();
    let key =
        html.split("id=\"new-key-value\">").nth(1).unwrap().split('<').next().unwrap().to_string();
    let api = Api { app: &app, client: bare_client(), key };
    let (status, body) = api.post("/api/v1/claims", &claim("S-1"), None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    assert_eq!(api.get("/api/v1/claims").await.0, StatusCode::OK);
    let page =
        web.get(app.url("/borgenar/api-nycklar")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Fortnox") && !page.contains(&api.key), "the key is never shown again");
    // A key without a scope is refused on the form.
    let r =
        web.post(app.url("/borgenar/api-nycklar")).form(&[("name", "Tom")]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Revoked: 401.
    let id: Uuid = sqlx::query_scalar("select api_key_id from api_key where name = 'Fortnox'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let r = web.post(app.url(&format!("/borgenar/api-nycklar/{id}/sparra"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(api.get("/api/v1/claims").await.0, StatusCode::UNAUTHORIZED);
    let last_used: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("select last_used_at from api_key where api_key_id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(last_used.is_some());
}

#[tokio::test]
async fn a_partner_key_acts_for_its_customers_only() {
    let app = spawn().await;
    create_user(&app.pool, "p@alfa.se", "partner").await;
    let partner: Uuid = sqlx::query_scalar("update partner set status = 'approved', agreement_signed_on = '2026-01-15' returning partner_id")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let customer = creditor_of(&app, "k@kund.se").await;
    let stranger = creditor_of(&app, "s@frammande.se").await;
    sqlx::query("update creditor set org_nr = '165560360793' where creditor_id = $1")
        .bind(customer)
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("update creditor set org_nr = '165566778899' where creditor_id = $1")
        .bind(stranger)
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("insert into partner_customer (partner_customer_id, partner_id, creditor_id, via, since) values (gen_random_uuid(), $1, $2, 'created', '2026-02-01')")
        .bind(partner)
        .bind(customer)
        .execute(&app.pool)
        .await
        .unwrap();
    let api =
        Api { app: &app, client: bare_client(), key: key_for(&app, Owner::Partner(partner)).await };
    let mut body = claim("P-1");
    let (status, err) = api.post("/api/v1/claims", &body, None).await;
    assert_eq!(
        (status, err["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("creditor_org_nr"))
    );
    body["creditor_org_nr"] = json!("556677-8899");
    let (status, err) = api.post("/api/v1/claims", &body, None).await;
    assert_eq!(
        (status, err["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("creditor_org_nr"))
    );
    assert_eq!(claims(&app).await, 0);
    body["creditor_org_nr"] = json!("556036-0793");
    let (status, created) = api.post("/api/v1/claims", &body, None).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["creditor"]["org_nr"], "165560360793");
    // The stranger's claim is 404 to the partner; the list holds its customers' claims only.
    let own = Api {
        app: &app,
        client: bare_client(),
        key: key_for(&app, Owner::Creditor(stranger)).await,
    };
    let (_, theirs) = own.post("/api/v1/claims", &claim("S-1"), None).await;
    let (status, _) = api.get(&format!("/api/v1/claims/{}", theirs["id"].as_str().unwrap())).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = api.get("/api/v1/claims").await;
    let invoices: Vec<&str> = list["claims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["invoice_number"].as_str().unwrap())
        .collect();
    assert_eq!(invoices, ["P-1"]);
    let (status, _) = api.get(&format!("/api/v1/claims/{}", created["id"].as_str().unwrap())).await;
    assert_eq!(status, StatusCode::OK);
    // The partner's portal makes keys too.
    let web = logged_in(&app, "p@alfa.se").await;
    let r = web
        .post(app.url("/partner/api-nycklar"))
        .form(&[("name", "Visma"), ("claims_read", "on"), ("claims_write", "on")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
}

/// The served OpenAPI document passes openapi-spec-validator (installed by tests/run.sh), holds
/// every operation the router mounts, and each of those is routed (refused without a key, not
/// 404 or 405);
/// the documentation page renders it.
#[tokio::test]
async fn the_openapi_document_is_valid_and_covers_every_route() {
    let app = spawn().await;
    let doc: Value = bare_client()
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for op in fordra::api::operations() {
        assert!(
            doc["paths"][op.path][op.method].is_object(),
            "{} {} is documented",
            op.method,
            op.path
        );
        let path = op.path.replace("{id}", &Uuid::new_v4().to_string());
        let method = reqwest::Method::from_bytes(op.method.to_uppercase().as_bytes()).unwrap();
        let r = bare_client().request(method, app.url(&path)).send().await.unwrap();
        let routed = [StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN].contains(&r.status());
        assert!(routed, "{} {} is routed: {}", op.method, op.path, r.status());
    }
    let validator =
        std::env::var("OPENAPI_SPEC_VALIDATOR").unwrap_or_else(|_| "openapi-spec-validator".into());
    let file = std::env::temp_dir().join(format!("openapi-{}.json", Uuid::new_v4()));
    std::fs::write(&file, doc.to_string()).unwrap();
    let out = std::process::Command::new(&validator).arg(&file).output().unwrap_or_else(|e| {
        panic!("{validator}: {e}; run the tests with tests/run.sh, which installs openapi-spec-validator")
    });
    let _ = std::fs::remove_file(&file);
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let page = app.get("/api/dokumentation").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("POST /api/v1/claims/{id}/direct-payments")
            && html.contains("Idempotency-Key")
    );
}

/// Where `value` breaks `schema` (strictly: an object may carry only the properties its schema
/// declares, so an answer cannot grow a field the document does not show).
fn violations(doc: &Value, schema: &Value, value: &Value, at: &str) -> Vec<String> {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        return violations(doc, &doc["components"]["schemas"][name], value, at);
    }
    let mut out = vec![];
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if !types.is_empty()
        && !types.iter().any(|t| *t == kind || (*t == "number" && kind == "integer"))
    {
        out.push(format!("{at}: {kind}, the document says {types:?}"));
        return out;
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        out.push(format!("{at}: {value} is not one of {allowed:?}"));
    }
    match value {
        Value::Object(map) => {
            for r in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
                if !map.contains_key(r) {
                    out.push(format!("{at}: required {r} missing"));
                }
            }
            if let Some(props) = schema["properties"].as_object() {
                for (k, v) in map {
                    match props.get(k) {
                        Some(s) => out.extend(violations(doc, s, v, &format!("{at}.{k}"))),
                        None => out.push(format!("{at}.{k}: not in the document")),
                    }
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                out.extend(violations(doc, &schema["items"], item, &format!("{at}[{i}]")));
            }
        }
        _ => {}
    }
    out
}

#[tokio::test]
async fn every_operation_answers_as_the_openapi_document_says() {
    let vars =
        vec![("FORDRA_TODAY", "2026-03-02".into()), ("FORDRA_WEBHOOKS_ALLOW_PRIVATE", "on".into())];
    let app = TestApp::spawn_with(Options { vars }).await;
    let doc: Value = bare_client()
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let creditor = creditor_of(&app, "kontrakt@kund.test").await;
    let api = Api {
        app: &app,
        client: bare_client(),
        key: key_for(&app, Owner::Creditor(creditor)).await,
    };
    // The check itself: an undeclared field, a wrong type and a missing required one are caught.
    let claim_schema = json!({"$ref": "#/components/schemas/Claim"});
    let probe = violations(&doc, &claim_schema, &json!({"id": 1, "bogus": true}), "probe");
    assert!(
        probe.iter().any(|v| v.contains("bogus")) && probe.iter().any(|v| v.contains("probe.id"))
    );
    assert!(probe.iter().any(|v| v.contains("required state missing")), "{probe:?}");
    let mut seen: Vec<(String, String)> = vec![];
    let mut failures: Vec<String> = vec![];
    let mut check = |method: &str, template: &str, status: StatusCode, body: &Value| {
        let responses = &doc["paths"][template][method]["responses"];
        let answer = &responses[status.as_str()];
        if !answer.is_object() {
            failures.push(format!("{method} {template}: {status} is not documented"));
            return;
        }
        match answer["content"]["application/json"]["schema"].as_object() {
            Some(_) => failures.extend(violations(
                &doc,
                &answer["content"]["application/json"]["schema"],
                body,
                &format!("{method} {template} {status}"),
            )),
            None if body.is_null() => {}
            None => failures
                .push(format!("{method} {template} {status}: a body the document does not show")),
        }
        if status.is_success() {
            seen.push((method.to_string(), template.to_string()));
        }
    };
    let (s, created) = api.post("/api/v1/claims", &claim("K-1"), None).await;
    check("post", "/api/v1/claims", s, &created);
    let id = created["id"].as_str().unwrap().to_string();
    let on = |a: &str| format!("/api/v1/claims/{id}/{a}");
    let (s, b) = api.post("/api/v1/claims", &claim("K-1"), None).await;
    check("post", "/api/v1/claims", s, &b);
    let (s, b) = api.raw("/api/v1/claims", "{nope").await;
    check("post", "/api/v1/claims", s, &b);
    let (s, b) = api.get(&format!("/api/v1/claims/{id}")).await;
    check("get", "/api/v1/claims/{id}", s, &b);
    let (s, b) = api.get(&format!("/api/v1/claims/{}", Uuid::new_v4())).await;
    check("get", "/api/v1/claims/{id}", s, &b);
    let (s, b) = api.get("/api/v1/claims?limit=1").await;
    check("get", "/api/v1/claims", s, &b);
    let (s, b) = api.get(&on("events")).await;
    check("get", "/api/v1/claims/{id}/events", s, &b);
    for action in ["pause", "resume"] {
        let (s, b) = api.post(&on(action), &json!({"reason": "Test"}), None).await;
        check("post", &format!("/api/v1/claims/{{id}}/{action}"), s, &b);
    }
    let (s, b) = api.post(&on("resume"), &json!({}), None).await;
    check("post", "/api/v1/claims/{id}/resume", s, &b);
    let (s, b) = api
        .post(
            &on("direct-payments"),
            &json!({"amount": "100.00", "date": "2026-02-20", "comment": "Swish"}),
            None,
        )
        .await;
    check("post", "/api/v1/claims/{id}/direct-payments", s, &b);
    let (s, b) =
        api.post(&on("credits"), &json!({"amount": "-1", "date": "2026-02-20"}), None).await;
    check("post", "/api/v1/claims/{id}/credits", s, &b);
    let (s, b) =
        api.post(&on("credits"), &json!({"amount": "100.00", "date": "2026-02-21"}), None).await;
    check("post", "/api/v1/claims/{id}/credits", s, &b);
    let (s, b) = api.post(&on("withdraw"), &json!({"reason": "Betald direkt"}), None).await;
    check("post", "/api/v1/claims/{id}/withdraw", s, &b);
    let (s, b) = api.post(&on("pause"), &json!({}), None).await;
    check("post", "/api/v1/claims/{id}/pause", s, &b);
    let (s, b) = api
        .post(
            "/api/v1/webhooks",
            &json!({"url": "http://127.0.0.1:9/hook", "events": ["claim.state_changed"]}),
            None,
        )
        .await;
    check("post", "/api/v1/webhooks", s, &b);
    let hook = b["id"].as_str().unwrap_or_default().to_string();
    let (s, b) = api.get("/api/v1/webhooks").await;
    check("get", "/api/v1/webhooks", s, &b);
    let r = api
        .client
        .delete(app.url(&format!("/api/v1/webhooks/{hook}")))
        .bearer_auth(&api.key)
        .send()
        .await
        .unwrap();
    let s = r.status();
    check("delete", "/api/v1/webhooks/{id}", s, &r.json().await.unwrap_or(Value::Null));
    let r = bare_client().get(app.url("/api/v1/claims")).send().await.unwrap();
    let s = r.status();
    check("get", "/api/v1/claims", s, &r.json().await.unwrap_or(Value::Null));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Every operation was answered successfully at least once above.
    for op in fordra::api::operations() {
        assert!(
            seen.iter().any(|(m, p)| m == op.method && p == op.path),
            "{} {} has no contract check",
            op.method,
            op.path
        );
    }
}

/// The API's authorization table. Every operation of `api::operations()` — the table the router
/// is built from, so a new operation is covered here without a new row — is called with no key,
/// with creditor A's and B's keys and with partner A's (A is its customer) and partner B's, with
/// tenant A's claim or webhook id in the path. No key is 401; another tenant's object is 404;
/// the owner is let through; lists hold only the caller's own objects; nothing answers 5xx.
#[tokio::test]
async fn every_api_operation_answers_each_key_and_hides_other_tenants() {
    let app = TestApp::spawn_with(Options {
        vars: vec![
            ("FORDRA_TODAY", "2026-03-02".into()),
            ("FORDRA_WEBHOOKS_ALLOW_PRIVATE", "on".into()),
        ],
    })
    .await;
    let a = creditor_of(&app, "a@alfa.se").await;
    let b = creditor_of(&app, "b@beta.se").await;
    let mut partners = vec![];
    for email in ["p@alfa.se", "q@beta.se"] {
        let user = create_user(&app.pool, email, "partner").await;
        let id: Uuid = sqlx::query_scalar("update partner set status = 'approved', agreement_signed_on = '2026-01-15' where partner_id = (select partner_id from app_user where user_id = $1) returning partner_id")
            .bind(user)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        partners.push(id);
    }
    sqlx::query("insert into partner_customer (partner_customer_id, partner_id, creditor_id, via, since) values (gen_random_uuid(), $1, $2, 'created', '2026-02-01')")
        .bind(partners[0])
        .bind(a)
        .execute(&app.pool)
        .await
        .unwrap();
    let keys = [
        ("no key", None),
        ("creditor B", Some(key_for(&app, Owner::Creditor(b)).await)),
        ("partner B", Some(key_for(&app, Owner::Partner(partners[1])).await)),
        ("partner A", Some(key_for(&app, Owner::Partner(partners[0])).await)),
        ("creditor A", Some(key_for(&app, Owner::Creditor(a)).await)),
    ];
    let as_key = |k: &str| Api { app: &app, client: bare_client(), key: k.to_string() };
    let (creditor_a, creditor_b) =
        (as_key(keys[4].1.as_deref().unwrap()), as_key(keys[1].1.as_deref().unwrap()));
    let (_, theirs) = creditor_b.post("/api/v1/claims", &claim("T-B"), None).await;
    let (s, ours) = creditor_a.post("/api/v1/claims", &claim("T-A"), None).await;
    assert_eq!(s, StatusCode::CREATED, "{ours}");
    let hook_body = json!({"url": "http://127.0.0.1:9/hook", "events": ["claim.state_changed"]});
    let (s, hook) = creditor_a.post("/api/v1/webhooks", &hook_body, None).await;
    assert_eq!(s, StatusCode::CREATED, "{hook}");
    let (claim_a, hook_a) = (ours["id"].as_str().unwrap(), hook["id"].as_str().unwrap());
    assert!(theirs["id"].is_string());

    // The table is the router's: every /api/v1 route it serves is an operation (or the
    // OpenAPI document describing them), and the reverse.
    let mut operations: Vec<(String, String)> = fordra::api::operations()
        .iter()
        .map(|o| (o.method.to_uppercase(), o.path.to_string()))
        .chain([("GET".to_string(), "/api/v1/openapi.json".to_string())])
        .collect();
    operations.sort();
    assert_eq!(crate::access::routes_in_router(&app.state, "/api/v1/"), operations);

    let mut failures = vec![];
    let mut n = 0;
    for op in fordra::api::operations() {
        let webhook = op.path.starts_with("/api/v1/webhooks");
        let path = op.path.replace("{id}", if webhook { hook_a } else { claim_a });
        let body = op.example.map_or_else(|| json!({}), |f| f());
        for (who, key) in &keys {
            n += 1;
            let mut req = bare_client()
                .request(op.method.to_uppercase().parse().unwrap(), app.url(&path))
                .header("Idempotency-Key", Uuid::new_v4().to_string());
            if op.method != "get" && op.method != "delete" {
                req = req.json(&body);
            }
            if let Some(k) = key {
                req = req.bearer_auth(k);
            }
            let r = req.send().await.unwrap();
            let status = r.status();
            let text = r.text().await.unwrap_or_default();
            let row = format!("{who} {} {}", op.method.to_uppercase(), op.path);
            // Tenant A's objects: the creditor's own; a partner acts on its customers' claims
            // (webhook subscriptions stay with whoever made them).
            let tenant_a = *who == "creditor A" || (*who == "partner A" && !webhook);
            let has_id = op.path.contains("{id}");
            let refused = [StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN, StatusCode::NOT_FOUND];
            if status.is_server_error() {
                failures.push(format!("{row}: {status}"));
            } else if key.is_none() {
                if status != StatusCode::UNAUTHORIZED {
                    failures.push(format!("{row}: {status}, expected 401"));
                }
            } else if has_id && !tenant_a {
                if status != StatusCode::NOT_FOUND {
                    failures.push(format!("{row}: {status}, another tenant's object must be 404"));
                }
            } else if refused.contains(&status) {
                failures.push(format!("{row}: {status} {text}, expected let through"));
            }
            // A list never holds another tenant's objects.
            if !tenant_a && (text.contains(claim_a) || text.contains(hook_a)) {
                failures.push(format!("{row}: shows tenant A's object"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(n, fordra::api::operations().len() * keys.len());
}
