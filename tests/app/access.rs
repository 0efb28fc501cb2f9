//! The authorization table of the back office: every `/admin` route in the source, requested
//! as anonymous, a debtor, a creditor, a partner, support and an admin. Support reads cases and
//! answers tickets, but never reaches a money, rules or user action.

use std::path::Path;

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

/// Every /admin route with what support may do. A route the source has and this table does
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

/// Every `.route("…", …)` under `src/` whose path starts with `prefix`, with its methods.
pub fn routes_in_source(prefix: &str) -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut files = vec![];
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    let mut routes = vec![];
    for text in files {
        for piece in text.split(".route(").skip(1) {
            let Some(rest) = piece.trim_start().strip_prefix('"') else { continue };
            let Some((path, tail)) = rest.split_once('"') else { continue };
            if !path.starts_with(prefix) {
                continue;
            }
            let end = [".route(", ".merge(", "\n}"]
                .iter()
                .filter_map(|m| tail.find(m))
                .min()
                .unwrap_or(tail.len());
            let handlers = &tail[..end];
            for (marker, method) in [("get(", "GET"), ("post(", "POST"), ("delete(", "DELETE")] {
                if handlers.contains(marker) {
                    routes.push((method.to_string(), path.to_string()));
                }
            }
        }
    }
    routes.sort();
    routes.dedup();
    routes
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
    assert_eq!(routes_in_source("/admin"), table, "every /admin route has a row, and only those");

    let w = world("2026-11-02").await;
    let app = &w.app;
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
