//! The authorization table of the back office: every `/admin` route the router serves, requested
//! as anonymous, a debtor, a creditor, a partner, support and an admin. Support reads cases and
//! answers tickets, but never reaches a money, rules or user action.

use reqwest::{Client, Method, StatusCode};

use crate::harness::*;
use crate::mina_sidor::login;
use crate::world::world;

/// What support may do on a route.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Support {
    Allowed,
    /// Money, rules, users, outgoing mail (it holds one-time links) and the audit log.
    Forbidden,
}
use Support::*;

/// Every /admin route with what support may do. A route the router has and this table does
/// not (or the reverse) fails the test.
const TABLE: &[(&str, &str, Support)] = &[
    ("GET", "/admin", Allowed),
    ("POST", "/admin/adressandringar/{id}", Allowed),
    ("GET", "/admin/arenden", Allowed),
    ("GET", "/admin/arenden/{id}", Allowed),
    ("POST", "/admin/arenden/{id}/skriv", Allowed),
    ("POST", "/admin/arenden/{id}/status", Allowed),
    ("POST", "/admin/arenden/{id}/tilldela", Allowed),
    ("POST", "/admin/aterbetalningar/{claim}", Forbidden),
    ("GET", "/admin/avrakningar", Allowed),
    ("GET", "/admin/avrakningar/{id}", Allowed),
    ("GET", "/admin/avrakningar/{id}/{format}", Allowed),
    ("POST", "/admin/avrakningar/kor", Forbidden),
    ("POST", "/admin/bankdagar", Forbidden),
    ("GET", "/admin/betalningar", Allowed),
    ("POST", "/admin/betalningar/fil", Forbidden),
    ("GET", "/admin/betalningar/omatchade", Allowed),
    ("GET", "/admin/betalningar/{id}", Allowed),
    ("POST", "/admin/betalningar/{id}/aterbetala", Forbidden),
    ("POST", "/admin/betalningar/{id}/koppla", Forbidden),
    ("POST", "/admin/betalningar/{id}/ta-bort", Forbidden),
    ("GET", "/admin/betalningssimulator", Forbidden),
    ("POST", "/admin/betalningssimulator", Forbidden),
    ("GET", "/admin/borgenarer", Allowed),
    ("GET", "/admin/borgenarer/{id}", Allowed),
    ("POST", "/admin/borgenarer/{id}/beslut", Forbidden),
    ("GET", "/admin/e-post", Forbidden),
    ("GET", "/admin/e-post/{file}", Forbidden),
    ("GET", "/admin/krav", Allowed),
    ("GET", "/admin/kronofogden", Allowed),
    ("POST", "/admin/kronofogden/export", Forbidden),
    ("GET", "/admin/kronofogden/{id}/ansokan.pdf", Allowed),
    ("GET", "/admin/krav/{id}", Allowed),
    ("POST", "/admin/krav/{id}/bestridande", Allowed),
    ("GET", "/admin/krav/{id}/bestridande/bilaga", Allowed),
    ("GET", "/admin/krav/{id}/brev/{letter}", Allowed),
    ("GET", "/admin/krav/{id}/brev/{letter}/pdf", Allowed),
    ("POST", "/admin/krav/{id}/flaggor", Allowed),
    ("GET", "/admin/logg", Forbidden),
    ("GET", "/admin/logg.csv", Forbidden),
    ("GET", "/admin/partner", Allowed),
    ("POST", "/admin/partner/{id}/beslut", Forbidden),
    ("GET", "/admin/personal", Forbidden),
    ("POST", "/admin/personal", Forbidden),
    ("POST", "/admin/personal/{id}/las", Forbidden),
    ("POST", "/admin/personal/{id}/totp", Forbidden),
    ("GET", "/admin/referensranta", Allowed),
    ("GET", "/admin/regler", Allowed),
    ("POST", "/admin/regler", Forbidden),
    ("POST", "/admin/regler/{date}/ta-bort", Forbidden),
    ("GET", "/admin/texter", Allowed),
    ("GET", "/admin/texter/{kind}", Allowed),
    ("POST", "/admin/texter/{kind}", Forbidden),
    ("POST", "/admin/referensranta", Forbidden),
    ("POST", "/admin/utbetalningar", Forbidden),
    ("GET", "/admin/utbetalningar/{id}", Allowed),
    ("POST", "/admin/utbetalningar/{id}/godkann", Forbidden),
    ("POST", "/admin/utbetalningar/{id}/pain001", Forbidden),
    ("POST", "/admin/utbetalningar/{id}/utford", Forbidden),
];

/// Every route of the router Fordra serves (`startup::router` on `state`) whose path starts
/// with `prefix`, with its methods: read from the router itself. axum cannot list its routes,
/// but its `Debug` names each route's path (`Node { paths: {RouteId(n): "/…"} }`) and method
/// router (`RouteId(n): MethodRouter(MethodRouter { get: Route, post: None, … })`), so a route
/// added anywhere — also one whose path is built at run time — shows up here.
pub fn routes_in_router(state: &fordra::state::AppState, prefix: &str) -> Vec<(String, String)> {
    let text = format!("{:?}", fordra::startup::router(state.clone()));
    // The served routes; the fallback router after them has its own route ids.
    let served = text.split("fallback_router:").next().unwrap();
    let (routes, node) = served.split_once("node: Node { paths: {").expect("axum's Router Debug");
    let id = |s: &str| s.split(')').next().unwrap().to_string();
    let mut paths = std::collections::HashMap::new();
    for entry in node.split("RouteId(").skip(1) {
        let path = entry.split('"').nth(1).expect("a quoted path");
        paths.insert(id(entry), path.to_string());
    }
    let mut out = vec![];
    for entry in routes.split("RouteId(").skip(1) {
        let Some((_, fields)) = entry.split_once("MethodRouter { ") else { continue };
        let path = &paths[&id(entry)];
        if !path.starts_with(prefix) {
            continue;
        }
        for field in fields.split(", ") {
            let Some((name, value)) = field.split_once(": ") else { continue };
            let method = match name {
                "get" | "post" | "delete" | "put" | "patch" => name.to_uppercase(),
                _ => continue,
            };
            if value != "None" {
                out.push((method, path.clone()));
            }
        }
    }
    assert!(!out.is_empty() || prefix.len() > 1, "no routes read from the router: {served:.300}");
    out.sort();
    out.dedup();
    out
}

/// A path with every `{param}` filled with an id that exists nowhere.
fn concrete(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let j = rest[i..].find('}').unwrap() + i;
        out.push_str("6b0f7c0e-0000-4000-8000-000000000001");
        rest = &rest[j + 1..];
    }
    out.push_str(rest);
    out
}

async fn request(client: &Client, app: &TestApp, method: &str, path: &str) -> (StatusCode, String) {
    let url = app.url(&concrete(path));
    let r = match method {
        "GET" => client.get(url).send().await.unwrap(),
        // File uploads are multipart; the extractor reads the body before the handler runs.
        "POST" if path.ends_with("/fil") => {
            let part = reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("x.txt");
            let form = reqwest::multipart::Form::new().part("file", part);
            client.post(url).multipart(form).send().await.unwrap()
        }
        m => client
            .request(Method::from_bytes(m.as_bytes()).unwrap(), url)
            .form(&[("x", "")])
            .send()
            .await
            .unwrap(),
    };
    (r.status(), location(&r))
}

#[tokio::test]
async fn every_admin_route_answers_each_role_as_the_table_says() {
    let mut table: Vec<(String, String)> =
        TABLE.iter().map(|(m, p, _)| (m.to_string(), p.to_string())).collect();
    table.sort();
    let w = world("2026-11-02").await;
    let app = &w.app;
    assert_eq!(
        routes_in_router(&app.state, "/admin"),
        table,
        "every /admin route has a row, and only those"
    );
    let anonymous = browser_client(&app.base);
    let debtor = login(app, ("198112189876", "Sven", "Svensson")).await;
    let creditor = w.creditor_client().await;
    create_user(&app.pool, "partner@access.test", "partner").await;
    let partner = logged_in(app, "partner@access.test").await;
    let support = staff_client(app, "support@access.test", "support").await;
    let admin = staff_client(app, "admin@access.test", "admin").await;

    let mut failures = vec![];
    for (method, path, support_may) in TABLE {
        for (who, client) in [
            ("anonymous", &anonymous),
            ("debtor", &debtor),
            ("creditor", &creditor),
            ("partner", &partner),
        ] {
            let (code, to) = request(client, app, method, path).await;
            let refused = code == StatusCode::FORBIDDEN
                || (code == StatusCode::SEE_OTHER && to.starts_with("/logga-in"));
            if !refused {
                failures.push(format!("{who} {method} {path}: {code} {to}"));
            }
        }
        for (who, client, may) in [("support", &support, *support_may), ("admin", &admin, Allowed)]
        {
            let (code, to) = request(client, app, method, path).await;
            let refused = code == StatusCode::FORBIDDEN
                || code == StatusCode::UNAUTHORIZED
                || (code == StatusCode::SEE_OTHER && to.starts_with("/logga-in"));
            let server_error = code.is_server_error();
            match may {
                Allowed if refused || server_error => {
                    failures.push(format!("{who} {method} {path}: {code} {to}, expected allowed"))
                }
                Forbidden if code != StatusCode::FORBIDDEN => {
                    failures.push(format!("{who} {method} {path}: {code} {to}, expected 403"))
                }
                _ => {}
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Who a route is for, outside the back office.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Audience {
    /// Anyone, logged in or not.
    Public,
    /// Any logged-in user with a password (account, TOTP, logout).
    AnyUser,
    /// A debtor logged in with BankID on Mina sidor.
    Debtor,
    /// A creditor's users.
    Creditor,
    /// A creditor's owner only.
    CreditorOwner,
    /// A partner's users.
    Partner,
    /// Answered only to the local machine.
    Loopback,
}
use Audience::*;

/// Every route outside /admin with its audience. A route the router has and this table does
/// not (or the reverse) fails the test.
const AUDIENCES: &[(&str, &str, Audience)] = &[
    ("GET", "/", Public),
    ("GET", "/api/dokumentation", Public),
    ("GET", "/api/v1/openapi.json", Public),
    ("GET", "/bankid-sim", Public),
    ("POST", "/bankid-sim/clock", Public),
    ("POST", "/bankid-sim/errors", Public),
    ("GET", "/bankid-sim/orders", Public),
    ("POST", "/bankid-sim/orders/{order_ref}/avbryt", Public),
    ("POST", "/bankid-sim/orders/{order_ref}/complete", Public),
    ("POST", "/bankid-sim/orders/{order_ref}/fail", Public),
    ("POST", "/bankid-sim/orders/{order_ref}/godkann", Public),
    ("POST", "/bankid-sim/orders/{order_ref}/hint", Public),
    ("GET", "/bli-kund", Public),
    ("POST", "/bli-kund", Public),
    ("POST", "/bli-kund/bekrafta", Public),
    ("GET", "/bli-kund/bekrafta", Public),
    ("GET", "/bli-kund/skickat", Public),
    ("GET", "/borgenar", Creditor),
    ("GET", "/borgenar/amorteringsplaner", Creditor),
    ("POST", "/borgenar/amorteringsplaner", Creditor),
    ("GET", "/borgenar/anvandare", Creditor),
    ("POST", "/borgenar/anvandare", CreditorOwner),
    ("POST", "/borgenar/anvandare/{id}/ta-bort", CreditorOwner),
    ("POST", "/borgenar/api-nycklar", CreditorOwner),
    ("GET", "/borgenar/api-nycklar", CreditorOwner),
    ("POST", "/borgenar/api-nycklar/{id}/sparra", CreditorOwner),
    ("GET", "/borgenar/avrakningar", Creditor),
    ("GET", "/borgenar/avrakningar/{id}", Creditor),
    ("GET", "/borgenar/avrakningar/{id}/{format}", Creditor),
    ("GET", "/borgenar/kontakt", Creditor),
    ("POST", "/borgenar/kontakt", Creditor),
    ("GET", "/borgenar/kontakt/{id}", Creditor),
    ("POST", "/borgenar/kontakt/{id}", Creditor),
    ("GET", "/borgenar/krav", Creditor),
    ("GET", "/borgenar/krav/import", Creditor),
    ("POST", "/borgenar/krav/import", Creditor),
    ("POST", "/borgenar/krav/import/{id}", Creditor),
    ("GET", "/borgenar/krav/mall.csv", Creditor),
    ("POST", "/borgenar/krav/ny", Creditor),
    ("GET", "/borgenar/krav/ny", Creditor),
    ("GET", "/borgenar/krav/{id}", Creditor),
    ("GET", "/borgenar/krav/{id}/bestridande/bilaga", Creditor),
    ("GET", "/borgenar/krav/{id}/brev/{letter}", Creditor),
    ("GET", "/borgenar/krav/{id}/brev/{letter}/pdf", Creditor),
    ("POST", "/borgenar/krav/{id}/amorteringsplan", Creditor),
    ("POST", "/borgenar/krav/{id}/atgard", Creditor),
    ("POST", "/borgenar/krav/{id}/bestridande", Creditor),
    ("POST", "/borgenar/partner/avsluta", Creditor),
    ("POST", "/borgenar/utbetalningskonto", CreditorOwner),
    ("GET", "/borgenar/utbetalningskonto", Creditor),
    ("POST", "/borgenar/villkor", Creditor),
    ("GET", "/borgenar/webhooks", CreditorOwner),
    ("POST", "/borgenar/webhooks", CreditorOwner),
    ("POST", "/borgenar/webhooks/leveranser/{id}/igen", CreditorOwner),
    ("POST", "/borgenar/webhooks/{id}/avsluta", CreditorOwner),
    ("GET", "/healthz", Public),
    ("GET", "/integritet", Public),
    ("GET", "/konto", AnyUser),
    ("POST", "/konto/tvastegs", AnyUser),
    ("GET", "/konto/tvastegs", AnyUser),
    ("GET", "/kontrollera-brev", Public),
    ("POST", "/kontrollera-brev", Public),
    ("POST", "/logga-in", Public),
    ("GET", "/logga-in", Public),
    ("POST", "/logga-in/tvastegs", Public),
    ("GET", "/logga-in/tvastegs", Public),
    ("POST", "/logga-ut", AnyUser),
    ("GET", "/losenord/glomt", Public),
    ("POST", "/losenord/glomt", Public),
    ("GET", "/losenord/ny", Public),
    ("POST", "/losenord/ny", Public),
    ("GET", "/metrics", Loopback),
    ("GET", "/mina-sidor", Debtor),
    ("POST", "/mina-sidor/adress", Debtor),
    ("GET", "/mina-sidor/arenden/{id}", Debtor),
    ("GET", "/mina-sidor/arenden/{id}/bestrid/bilaga", Debtor),
    ("GET", "/mina-sidor/arenden/{id}/brev/{letter}", Debtor),
    ("GET", "/mina-sidor/arenden/{id}/brev/{letter}/pdf", Debtor),
    ("GET", "/mina-sidor/arenden/{id}/amorteringsplan", Debtor),
    ("POST", "/mina-sidor/arenden/{id}/amorteringsplan", Debtor),
    ("POST", "/mina-sidor/arenden/{id}/amorteringsplan/aterkalla", Debtor),
    ("POST", "/mina-sidor/arenden/{id}/aterbetalning", Debtor),
    ("POST", "/mina-sidor/arenden/{id}/bestrid", Debtor),
    ("GET", "/mina-sidor/arenden/{id}/bestrid", Debtor),
    ("GET", "/mina-sidor/bankid/{id}/klar", Public),
    // The BankID order pages answer only the browser holding the order's cookie; anyone else 404.
    ("GET", "/mina-sidor/bankid/{id}", Public),
    ("GET", "/mina-sidor/bankid/{id}/status", Public),
    ("POST", "/mina-sidor/bankid/{id}/avbryt", Public),
    ("POST", "/mina-sidor/foretag", Debtor),
    ("POST", "/mina-sidor/kontakt", Debtor),
    ("GET", "/mina-sidor/kontakt", Debtor),
    ("POST", "/mina-sidor/logga-in", Public),
    ("GET", "/mina-sidor/logga-in", Public),
    ("POST", "/mina-sidor/logga-ut", Debtor),
    ("POST", "/mina-sidor/meddelanden", Debtor),
    ("GET", "/mina-sidor/meddelanden", Debtor),
    ("GET", "/mina-sidor/meddelanden/{id}", Debtor),
    ("POST", "/mina-sidor/meddelanden/{id}", Debtor),
    ("GET", "/mina-sidor/mina-uppgifter", Debtor),
    ("GET", "/mina-sidor/mina-uppgifter.json", Debtor),
    ("GET", "/partner", Partner),
    ("POST", "/partner/api-nycklar", Partner),
    ("GET", "/partner/api-nycklar", Partner),
    ("POST", "/partner/api-nycklar/{id}/sparra", Partner),
    ("GET", "/partner/avtal", Partner),
    ("GET", "/partner/avtal.pdf", Partner),
    ("POST", "/partner/avtal/sag-upp", Partner),
    ("GET", "/partner/hjalp", Partner),
    ("POST", "/partner/hjalp", Partner),
    ("GET", "/partner/hjalp/{id}", Partner),
    ("POST", "/partner/hjalp/{id}", Partner),
    ("GET", "/partner/inkassoskolan", Partner),
    ("POST", "/partner/kunder", Partner),
    ("GET", "/partner/kunder", Partner),
    ("POST", "/partner/kunder/ny", Partner),
    ("GET", "/partner/kunder/ny", Partner),
    ("GET", "/partner/kunder/{id}", Partner),
    ("POST", "/partner/kunder/{id}/avsluta", Partner),
    ("POST", "/partner/kunder/{id}/import", Partner),
    ("GET", "/partner/kunder/{id}/import/{job}", Partner),
    ("POST", "/partner/kunder/{id}/krav/ny", Partner),
    ("GET", "/partner/kunder/{id}/krav/ny", Partner),
    ("GET", "/partner/provision", Partner),
    ("GET", "/partner/provision/{quarter}", Partner),
    ("GET", "/partner/provision/{quarter}/{file}", Partner),
    ("POST", "/partner/registrera", Public),
    ("GET", "/partner/registrera", Public),
    ("GET", "/partner/registrera/bankid/{id}/klar", Public),
    ("GET", "/partner/registrera/bankid/{id}", Public),
    ("GET", "/partner/registrera/bankid/{id}/status", Public),
    ("POST", "/partner/registrera/bankid/{id}/avbryt", Public),
    ("POST", "/partner/webhooks", Partner),
    ("GET", "/partner/webhooks", Partner),
    ("POST", "/partner/webhooks/leveranser/{id}/igen", Partner),
    ("POST", "/partner/webhooks/{id}/avsluta", Partner),
    ("GET", "/r/{number}", Public),
    ("GET", "/rantekalkylator", Public),
    ("GET", "/static/{file}", Public),
    ("GET", "/villkor/borgenar", Public),
];

/// The ids a path's placeholders take: the first tenant's objects, so that the second tenant
/// and every other audience ask for something that exists and is not theirs.
struct Objects {
    claim: String,
    creditor: String,
    creditor_ticket: String,
    debtor_ticket: String,
    partner_ticket: String,
    api_key: String,
    colleague: String,
    letter: String,
}

fn fill(path: &str, o: &Objects) -> String {
    let id = if path.starts_with("/borgenar/kontakt/") {
        &o.creditor_ticket
    } else if path.starts_with("/mina-sidor/meddelanden/") {
        &o.debtor_ticket
    } else if path.starts_with("/partner/hjalp/") {
        &o.partner_ticket
    } else if path.starts_with("/partner/kunder/") {
        &o.creditor
    } else if path.contains("/api-nycklar/") {
        &o.api_key
    } else if path.starts_with("/borgenar/anvandare/") {
        &o.colleague
    } else {
        &o.claim
    };
    path.replace("{id}", id)
        .replace("{quarter}", "2026Q3")
        .replace("{format}", "pdf")
        .replace("{letter}", &o.letter)
        .replace("{file}", "underlag.pdf")
        .replace("{number}", "1000017")
        .replace("{order_ref}", "00000000-0000-4000-8000-000000000000")
        .replace("{job}", "00000000-0000-4000-8000-000000000001")
}

async fn ask(client: &Client, app: &TestApp, method: &str, path: &str) -> (StatusCode, String) {
    let url = app.url(path);
    let r = match method {
        "GET" => client.get(url).send().await.unwrap(),
        _ if path.ends_with("/import") || path.ends_with("/bestrid") => {
            let part = reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("x.csv");
            client
                .post(url)
                .multipart(reqwest::multipart::Form::new().part("file", part))
                .send()
                .await
                .unwrap()
        }
        m => client
            .request(Method::from_bytes(m.as_bytes()).unwrap(), url)
            .form(&[("x", "")])
            .send()
            .await
            .unwrap(),
    };
    (r.status(), location(&r))
}

fn refused(code: StatusCode, to: &str) -> bool {
    code == StatusCode::FORBIDDEN
        || code == StatusCode::NOT_FOUND
        || (code == StatusCode::SEE_OTHER
            && (to.starts_with("/logga-in") || to.starts_with("/mina-sidor/logga-in")))
}

#[tokio::test]
async fn every_route_answers_each_audience_and_hides_other_tenants() {
    use fordra::tickets::{From, open};
    let mut all: Vec<(String, String)> = AUDIENCES
        .iter()
        .map(|(m, p, _)| (m.to_string(), p.to_string()))
        .chain(TABLE.iter().map(|(m, p, _)| (m.to_string(), p.to_string())))
        .collect();
    all.sort();
    let w = world("2026-11-02").await;
    let app = &w.app;
    // The API's operations have their own table (`api::every_api_operation_…`).
    let operations: Vec<_> = fordra::api::operations().iter().map(|o| o.path).collect();
    let served: Vec<_> = routes_in_router(&app.state, "/")
        .into_iter()
        .filter(|(_, p)| !operations.contains(&p.as_str()))
        .collect();
    assert_eq!(served, all, "every route has a row in AUDIENCES or TABLE, and only those");
    let (claim, _) = w
        .claim(
            "ACC-1",
            crate::mina_sidor::person(("198112189876", "Sven", "Svensson"), None),
            serde_json::json!({}),
        )
        .await;
    // Its reminder: a letter (and its PDF) for the letter routes to find.
    w.tick("2026-11-02").await;
    let pool = &app.pool;
    let letter: uuid::Uuid = sqlx::query_scalar("select letter_id from letter where claim_id = $1")
        .bind(claim)
        .fetch_one(pool)
        .await
        .unwrap();
    let owner: uuid::Uuid = sqlx::query_scalar("select user_id from app_user where email = $1")
        .bind(&w.creditor_email)
        .fetch_one(pool)
        .await
        .unwrap();
    let colleague = uuid::Uuid::new_v4();
    sqlx::query("insert into app_user (user_id, email, password_hash, role, display_name, creditor_id, creditor_owner) values ($1, 'kollega@a.test', 'x', 'creditor', 'Kollega', $2, false)")
        .bind(colleague).bind(w.creditor).execute(pool).await.unwrap();
    let partner_a = create_user(pool, "partner-a@access.test", "partner").await;
    create_user(pool, "partner-b@access.test", "partner").await;
    let partner_a_id: uuid::Uuid =
        sqlx::query_scalar("select partner_id from app_user where user_id = $1")
            .bind(partner_a)
            .fetch_one(pool)
            .await
            .unwrap();
    sqlx::query("insert into partner_customer (partner_customer_id, partner_id, creditor_id, via, since) values ($1, $2, $3, 'link', '2026-01-01')")
        .bind(uuid::Uuid::new_v4()).bind(partner_a_id).bind(w.creditor).execute(pool).await.unwrap();
    let now = fordra::clock::Clock::system().now();
    let mut conn = pool.acquire().await.unwrap();
    let text = || ("Fråga".to_string(), "Hur går det?".to_string());
    let creditor_ticket = open(
        &mut conn,
        From::Creditor { creditor_id: w.creditor, user_id: owner },
        None,
        text(),
        now,
    )
    .await
    .unwrap();
    let partner_ticket = open(
        &mut conn,
        From::Partner { partner_id: partner_a_id, user_id: partner_a },
        None,
        text(),
        now,
    )
    .await
    .unwrap();
    drop(conn);
    let debtor_a = login(app, ("198112189876", "Sven", "Svensson")).await;
    let r = debtor_a
        .post(app.url("/mina-sidor/meddelanden"))
        .form(&[("claim", ""), ("subject", "Fråga"), ("body", "Hur går det?")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let debtor_ticket: uuid::Uuid =
        sqlx::query_scalar("select ticket_id from ticket where personal_number is not null")
            .fetch_one(pool)
            .await
            .unwrap();
    let api_key: uuid::Uuid =
        sqlx::query_scalar("select api_key_id from api_key where creditor_id = $1 limit 1")
            .bind(w.creditor)
            .fetch_one(pool)
            .await
            .unwrap();
    let o = Objects {
        claim: claim.to_string(),
        creditor: w.creditor.to_string(),
        creditor_ticket: creditor_ticket.to_string(),
        debtor_ticket: debtor_ticket.to_string(),
        partner_ticket: partner_ticket.to_string(),
        api_key: api_key.to_string(),
        colleague: colleague.to_string(),
        letter: letter.to_string(),
    };

    let anonymous = browser_client(&app.base);
    let debtor_b = login(app, ("197205302396", "Erik", "Exempelsson")).await;
    let creditor_a = w.creditor_client().await;
    create_user(pool, "b@kund.test", "creditor").await;
    let creditor_b = logged_in(app, "b@kund.test").await;
    let partner_a = logged_in(app, "partner-a@access.test").await;
    let partner_b = logged_in(app, "partner-b@access.test").await;
    let support = staff_client(app, "support@access.test", "support").await;
    let admin = staff_client(app, "admin@access.test", "admin").await;
    let roles: [(&str, &Client); 9] = [
        ("anonymous", &anonymous),
        ("debtor A", &debtor_a),
        ("debtor B", &debtor_b),
        ("creditor A", &creditor_a),
        ("creditor B", &creditor_b),
        ("partner A", &partner_a),
        ("partner B", &partner_b),
        ("support", &support),
        ("admin", &admin),
    ];
    let mut failures = vec![];
    // Logging out ends the session the rest of the run needs, and ending the partner
    // relationship ends partner A's access to its customer: those go last.
    let ends =
        |p: &str| p.ends_with("logga-ut") || p.ends_with("/avsluta") && !p.contains("webhooks");
    let (mut rows, last): (Vec<_>, Vec<_>) = AUDIENCES.iter().partition(|(_, p, _)| !ends(p));
    let (ending, logout): (Vec<_>, Vec<_>) =
        last.into_iter().partition(|(_, p, _)| !p.ends_with("logga-ut"));
    // The partner's own ending first, then the creditor's (both end the same relationship).
    rows.extend(ending.into_iter().rev());
    rows.extend(logout);
    for (method, path, audience) in rows {
        let concrete = fill(path, &o);
        let has_object = path.contains("{id}");
        for (who, client) in roles {
            let (code, to) = ask(client, app, method, &concrete).await;
            if code.is_server_error() {
                failures.push(format!("{who} {method} {path}: {code}"));
                continue;
            }
            let own = match audience {
                Public | Loopback => continue,
                AnyUser => !["anonymous", "debtor A", "debtor B"].contains(&who),
                Debtor => who.starts_with("debtor"),
                Creditor => who.starts_with("creditor"),
                CreditorOwner => who.starts_with("creditor"),
                Partner => who.starts_with("partner"),
            };
            if matches!(audience, AnyUser) && who.starts_with("debtor") {
                continue;
            }
            let tenant_a = who.ends_with(" A");
            let expect_refused = !own || (has_object && !tenant_a);
            let is_refused = refused(code, &to)
                || (has_object
                    && !tenant_a
                    && own
                    && method == "POST"
                    && (code == StatusCode::UNPROCESSABLE_ENTITY || code == StatusCode::SEE_OTHER));
            if expect_refused && !is_refused {
                failures.push(format!("{who} {method} {path}: {code} {to}, expected refused"));
            }
            if expect_refused && own && method == "GET" && code != StatusCode::NOT_FOUND {
                failures.push(format!(
                    "{who} {method} {path}: {code}, another tenant's object must be 404"
                ));
            }
            // Objects the first tenant has none of here (webhook subscriptions, partner keys,
            // import jobs, an agreement or statement the test partner never signed): 404 is
            // their honest answer. Logging out answers with the login page.
            let no_object_here = [
                "/webhooks/",
                "/avrakningar/",
                "/bilaga",
                "/partner/api-nycklar/",
                "/import/",
                "/partner/avtal",
                "/partner/provision/",
            ]
            .iter()
            .any(|p| path.contains(p));
            let logout = path.ends_with("logga-ut");
            if !expect_refused && refused(code, &to) && !no_object_here && !logout {
                failures.push(format!("{who} {method} {path}: {code} {to}, expected allowed"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Nothing of tenant A changed under the others' requests.
    let (state, messages): (String, i64) = sqlx::query_as(
        "select (select state from claim where claim_id = $1),
                (select count(*) from ticket_message where ticket_id = $2)",
    )
    .bind(claim)
    .bind(creditor_ticket)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!((state.as_str(), messages), ("reminder", 1));
    // Security headers and cookie flags.
    let r = bare_client().get(app.url("/logga-in")).send().await.unwrap();
    for h in
        ["content-security-policy", "x-content-type-options", "referrer-policy", "x-frame-options"]
    {
        assert!(r.headers().contains_key(h), "{h}");
    }
    let r = browser_client(&app.base)
        .post(app.url("/logga-in"))
        .form(&[("email", "b@kund.test"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let cookie = r
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("fordra_session="))
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"),
        "{cookie}"
    );
}
