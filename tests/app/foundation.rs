//! Accounts, sessions, CSRF, rate limiting, TOTP, password reset, error pages, health.

use reqwest::StatusCode;

use crate::{
    harness::{
        self, Options, PASSWORD, TestApp, bare_client, create_user, location, session_cookie,
    },
    smtp::{SmtpServer, body_text},
};

#[tokio::test]
async fn login_and_logout() {
    let app = TestApp::spawn().await;
    create_user(&app.pool, "kund@example.se", "creditor").await;

    let page = app.get("/logga-in").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Logga in"));

    let wrong = app.login("kund@example.se", "fel lösenord!!").await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = wrong.text().await.unwrap();
    assert!(body.contains("Fel e-postadress eller lösenord."));
    assert!(body.contains("value=\"kund@example.se\""), "the e-mail is kept in the form");

    let ok = app.login("KUND@example.se", PASSWORD).await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&ok), "/borgenar");
    let home = app.get("/borgenar").await;
    assert_eq!(home.status(), StatusCode::OK);
    assert!(home.text().await.unwrap().contains("Testbolaget AB"));

    let out = app.post_form("/logga-ut", &[]).await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let after = app.get("/borgenar").await;
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&after), "/logga-in?next=%2Fborgenar");
    let flash = app.get("/logga-in").await.text().await.unwrap();
    assert!(flash.contains("Du är nu utloggad."));
}

#[tokio::test]
async fn next_parameter_only_redirects_locally() {
    let app = TestApp::spawn().await;
    create_user(&app.pool, "kund@example.se", "creditor").await;
    let evil = app
        .post_form(
            "/logga-in",
            &[("email", "kund@example.se"), ("password", PASSWORD), ("next", "//evil.example/x")],
        )
        .await;
    assert_eq!(location(&evil), "/borgenar");
    app.post_form("/logga-ut", &[]).await;
    let local = app
        .post_form(
            "/logga-in",
            &[("email", "kund@example.se"), ("password", PASSWORD), ("next", "/konto")],
        )
        .await;
    assert_eq!(location(&local), "/konto");
}

#[tokio::test]
async fn sixth_attempt_is_refused_even_with_the_right_password() {
    let app = TestApp::spawn().await;
    create_user(&app.pool, "kund@example.se", "creditor").await;
    for _ in 0..5 {
        let r = app.login("kund@example.se", "fel lösenord!!").await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let sixth = app.login("kund@example.se", PASSWORD).await;
    assert_eq!(sixth.status(), StatusCode::TOO_MANY_REQUESTS);
    let body = sixth.text().await.unwrap();
    assert!(
        body.contains("För många misslyckade inloggningsförsök. Försök igen efter kl."),
        "{body}"
    );
    assert!(app.get("/borgenar").await.status() == StatusCode::SEE_OTHER, "not logged in");

    // When the window has passed, the right password works again.
    sqlx::query("update login_attempt set at = at - interval '16 minutes'")
        .execute(&app.pool)
        .await
        .unwrap();
    let later = app.login("kund@example.se", PASSWORD).await;
    assert_eq!(later.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn one_persons_typos_lock_only_their_account_and_an_address_has_a_higher_limit() {
    let app = TestApp::spawn().await;
    create_user(&app.pool, "kund@example.se", "creditor").await;
    create_user(&app.pool, "kollega@example.se", "creditor").await;
    // Behind one office address: a colleague's five typos lock only the colleague's account.
    for _ in 0..5 {
        app.login("kollega@example.se", "fel lösenord!!").await;
    }
    assert_eq!(
        app.login("kollega@example.se", PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    let other = crate::harness::browser_client(&app.base);
    let r = other
        .post(app.url("/logga-in"))
        .form(&[("email", "kund@example.se"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "the rest of the office logs in");
    // Someone guessing across many accounts from one address is stopped at 50 failures.
    for i in 0..45 {
        app.login(&format!("okand{i}@example.se"), "fel lösenord!!").await;
    }
    let r = other
        .post(app.url("/logga-in"))
        .form(&[("email", "kund@example.se"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn cross_site_posts_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    create_user(&app.pool, "kund@example.se", "creditor").await;
    let login = app.login("kund@example.se", PASSWORD).await;
    let cookie = format!("fordra_session={}", session_cookie(&login).unwrap());
    let client = bare_client();
    let logout = || client.post(app.url("/logga-ut")).header("cookie", &cookie);

    let foreign = logout().header("origin", "https://evil.example").send().await.unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    assert!(foreign.text().await.unwrap().contains("Begäran kunde inte verifieras"));

    let cross = logout().header("sec-fetch-site", "cross-site").send().await.unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);

    let nothing = logout().send().await.unwrap();
    assert_eq!(nothing.status(), StatusCode::FORBIDDEN, "no proof of origin at all");

    let wrong_token = logout().form(&[("csrf_token", "nope")]).send().await.unwrap();
    assert_eq!(wrong_token.status(), StatusCode::FORBIDDEN);

    // The session survived all of that.
    let home = client.get(app.url("/borgenar")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(home.status(), StatusCode::OK);
    let page = home.text().await.unwrap();
    let token =
        page.split("name=\"csrf_token\" value=\"").nth(1).unwrap().split('"').next().unwrap();

    // The page's own token proves origin even without browser headers.
    let with_token = logout().form(&[("csrf_token", token)]).send().await.unwrap();
    assert_eq!(with_token.status(), StatusCode::SEE_OTHER);
    let same_origin = client
        .post(app.url("/logga-in"))
        .header("sec-fetch-site", "same-origin")
        .form(&[("email", "kund@example.se"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(same_origin.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn session_id_rotates_at_login_and_old_ids_die() {
    let app = TestApp::spawn().await;
    create_user(&app.pool, "kund@example.se", "creditor").await;
    let client = bare_client();
    let login = |cookie: Option<String>| {
        let mut req = client
            .post(app.url("/logga-in"))
            .header("origin", &app.base)
            .form(&[("email", "kund@example.se"), ("password", PASSWORD)]);
        if let Some(c) = cookie {
            req = req.header("cookie", format!("fordra_session={c}"));
        }
        req.send()
    };
    let first = session_cookie(&login(None).await.unwrap()).unwrap();
    let second = session_cookie(&login(Some(first.clone())).await.unwrap()).unwrap();
    assert_ne!(first, second);
    let old = client
        .get(app.url("/borgenar"))
        .header("cookie", format!("fordra_session={first}"))
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), StatusCode::SEE_OTHER, "the pre-login session id is dead");
    let set = login(None).await.unwrap();
    let raw = set.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
    assert!(raw.contains("HttpOnly") && raw.contains("SameSite=Lax") && !raw.contains("Secure"));
    let stored: i64 = sqlx::query_scalar("select count(*) from session where session_hash = $1")
        .bind(fordra::crypto::sha256(&second))
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, 1, "only the hash of the token is stored");
}

#[tokio::test]
async fn cookies_are_secure_behind_https() {
    let app = TestApp::spawn_with(Options {
        vars: vec![("FORDRA_PUBLIC_URL", "https://fordra.example".into())],
    })
    .await;
    create_user(&app.pool, "kund@example.se", "creditor").await;
    let r = app.login("kund@example.se", PASSWORD).await;
    let raw = r.headers().get("set-cookie").unwrap().to_str().unwrap();
    assert!(raw.contains("; Secure"));
    assert!(r.headers().get("strict-transport-security").is_some());
}

#[tokio::test]
async fn roles_are_checked() {
    let app = TestApp::spawn().await;
    assert_eq!(location(&app.get("/admin").await), "/logga-in?next=%2Fadmin");
    create_user(&app.pool, "kund@example.se", "creditor").await;
    app.login("kund@example.se", PASSWORD).await;
    let admin = app.get("/admin").await;
    assert_eq!(admin.status(), StatusCode::FORBIDDEN);
    assert!(admin.text().await.unwrap().contains("Åtkomst nekad"));
    assert_eq!(app.get("/admin/e-post").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.get("/partner").await.status(), StatusCode::FORBIDDEN);

    let partner = TestApp::spawn().await;
    create_user(&partner.pool, "p@example.se", "partner").await;
    partner.login("p@example.se", PASSWORD).await;
    assert_eq!(partner.get("/partner").await.status(), StatusCode::OK);
    assert_eq!(partner.get("/borgenar").await.status(), StatusCode::FORBIDDEN);
}

fn totp_secret_from(page: &str) -> Vec<u8> {
    let b32 = page.split("id=\"totp-secret\">").nth(1).unwrap().split('<').next().unwrap();
    let mut bits = 0u32;
    let mut value = 0u32;
    let mut out = vec![];
    for c in b32.chars() {
        let v = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".find(c).unwrap() as u32;
        value = (value << 5) | v;
        bits += 5;
        if bits >= 8 {
            out.push((value >> (bits - 8)) as u8);
            bits -= 8;
        }
    }
    out
}

#[tokio::test]
async fn staff_enrol_totp_and_then_need_it_to_log_in() {
    use fordra::auth::totp;
    let app = TestApp::spawn().await;
    assert!(app.state.config.require_totp);
    create_user(&app.pool, "admin@example.se", "admin").await;

    let first = app.login("admin@example.se", PASSWORD).await;
    assert_eq!(location(&first), "/konto/tvastegs");
    assert_eq!(app.get("/admin").await.status(), StatusCode::SEE_OTHER, "not in before enrolment");
    let page = app.get("/konto/tvastegs").await.text().await.unwrap();
    assert!(page.contains("<svg"), "a QR code is shown");
    let secret = totp_secret_from(&page);
    let now = fordra::clock::Clock::system().now().timestamp();

    let bad = app.post_form("/konto/tvastegs", &[("code", "000000")]).await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let code = totp::code_at(&secret, totp::step_of(now));
    let ok = app.post_form("/konto/tvastegs", &[("code", &code)]).await;
    assert_eq!(location(&ok), "/admin");
    assert_eq!(app.get("/admin").await.status(), StatusCode::OK);

    app.post_form("/logga-ut", &[]).await;
    let again = app.login("admin@example.se", PASSWORD).await;
    assert_eq!(location(&again), "/logga-in/tvastegs");
    assert_eq!(app.get("/admin").await.status(), StatusCode::SEE_OTHER);
    let replay = app.post_form("/logga-in/tvastegs", &[("code", &code)]).await;
    assert_eq!(replay.status(), StatusCode::UNPROCESSABLE_ENTITY, "a used code is refused");
    let next = totp::code_at(&secret, totp::step_of(now) + 1);
    let ok = app.post_form("/logga-in/tvastegs", &[("code", &next)]).await;
    assert_eq!(location(&ok), "/admin");
    assert_eq!(app.get("/admin").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn password_reset_end_to_end_over_smtp() {
    let smtp = SmtpServer::start().await;
    let app = TestApp::spawn_with(Options {
        vars: vec![("FORDRA_MAIL", "smtp".into()), ("FORDRA_SMTP_URL", smtp.url())],
    })
    .await;
    create_user(&app.pool, "kund@example.se", "creditor").await;

    let unknown = app.post_form("/losenord/glomt", &[("email", "ingen@example.se")]).await;
    let known = app.post_form("/losenord/glomt", &[("email", "kund@example.se")]).await;
    assert_eq!(unknown.status(), known.status());
    assert_eq!(location(&unknown), location(&known));
    assert_eq!(
        unknown.headers().get("set-cookie").map(|v| v.to_str().unwrap().to_string()),
        known.headers().get("set-cookie").map(|v| v.to_str().unwrap().to_string()),
        "the same answer whether or not the address exists"
    );
    let mails = smtp.wait_for(1).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(smtp.count(), 1, "no mail for an unknown address");
    // The link went out; the queue keeps no usable copy of it.
    for _ in 0..100 {
        let sent: i64 =
            sqlx::query_scalar("select count(*) from mail_queue where sent_at is not null")
                .fetch_one(&app.pool)
                .await
                .unwrap();
        if sent == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let kept: i64 = sqlx::query_scalar(
        "select count(*) from mail_queue where sent_at is not null and body like '%token=%'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(kept, 0, "a sent one-time link is not kept in the queue");
    assert!(mails[0].contains("To: kund@example.se"));
    let body = body_text(&mails[0]);
    let link = body.lines().find(|l| l.contains("/losenord/ny?token=")).unwrap().trim().to_string();
    assert!(
        link.starts_with("http://127.0.0.1:3000/losenord/ny?token="),
        "links use FORDRA_PUBLIC_URL"
    );
    let path = &link[link.find("/losenord").unwrap()..];

    assert_eq!(app.get(path).await.status(), StatusCode::OK);
    let token = path.split("token=").nth(1).unwrap();
    let short = app
        .post_form(
            "/losenord/ny",
            &[("token", token), ("password", "kort"), ("password_repeat", "kort")],
        )
        .await;
    assert_eq!(short.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(short.text().await.unwrap().contains("minst 12 tecken"));
    let new_pw = "ett nytt och bättre lösenord";
    let done = app
        .post_form(
            "/losenord/ny",
            &[("token", token), ("password", new_pw), ("password_repeat", new_pw)],
        )
        .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let reused = app
        .post_form(
            "/losenord/ny",
            &[("token", token), ("password", new_pw), ("password_repeat", new_pw)],
        )
        .await;
    assert_eq!(reused.status(), StatusCode::NOT_FOUND, "the token works once");
    assert_eq!(
        app.login("kund@example.se", PASSWORD).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(location(&app.login("kund@example.se", new_pw).await), "/borgenar");
}

#[tokio::test]
async fn reset_tokens_expire_after_an_hour() {
    let app = TestApp::spawn().await;
    create_user(&app.pool, "kund@example.se", "creditor").await;
    app.post_form("/losenord/glomt", &[("email", "kund@example.se")]).await;
    let mut mails = vec![];
    for _ in 0..100 {
        mails = app.mails();
        if !mails.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let mail = mails.first().expect("the file mailer wrote the reset mail");
    assert_eq!(mail.mail.subject, "Välj ett nytt lösenord till Fordra");
    let token = mail
        .mail
        .text
        .split("token=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    sqlx::query("update password_reset set expires_at = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .unwrap();
    let page = app.get(&format!("/losenord/ny?token={token}")).await;
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert!(page.text().await.unwrap().contains("har gått ut"));
}

#[tokio::test]
async fn error_pages_are_in_the_layout_with_a_request_id() {
    let app = TestApp::spawn_with(Options { vars: vec![("FORDRA_DEMO", "on".into())] }).await;
    let missing = app.get("/finns-inte").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let id = missing.headers().get("x-request-id").unwrap().to_str().unwrap().to_string();
    let body = missing.text().await.unwrap();
    assert!(
        body.contains("Sidan finns inte") && body.contains(&id) && body.contains("site-header")
    );

    // Break the database under a page: a 500 inside the layout, no internals.
    sqlx::query("drop table demo_account").execute(&app.pool).await.unwrap();
    let broken = app.get("/logga-in").await;
    assert_eq!(broken.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let id = broken.headers().get("x-request-id").unwrap().to_str().unwrap().to_string();
    let body = broken.text().await.unwrap();
    assert!(body.contains("Något gick fel") && body.contains(&id));
    assert!(!body.contains("demo_account") && !body.contains("relation"));
}

#[tokio::test]
async fn security_headers_static_files_and_metrics() {
    let app = TestApp::spawn().await;
    let r = app.get("/").await;
    let h = r.headers();
    assert!(h["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
    assert!(!h["content-security-policy"].to_str().unwrap().contains("unsafe-inline"));
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "same-origin");
    let css = app
        .client
        .get(app.url("/static/app.css"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), StatusCode::OK);
    assert!(css.headers()["cache-control"].to_str().unwrap().contains("immutable"));
    assert_eq!(css.headers()["content-encoding"], "gzip");
    app.get("/healthz").await;
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains(
        "fordra_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1"
    ));
    assert!(metrics.contains(
        "fordra_http_request_duration_seconds_bucket{method=\"GET\",route=\"/static/{file}\""
    ));
}

#[tokio::test]
async fn demo_mode_seeds_accounts_lists_them_and_lets_staff_skip_totp() {
    let (pool, name) = harness::fresh_db().await;
    let seeded =
        fordra::demo::seed_if_empty(&pool, fordra::clock::Clock::system().now()).await.unwrap();
    assert_eq!(seeded.len(), 5, "two admins, support, creditor, partner");
    let claims: i64 =
        sqlx::query_scalar("select count(*) from claim").fetch_one(&pool).await.unwrap();
    assert_eq!(claims, 4, "demo claims for Demo Bygg AB");
    assert!(
        fordra::demo::seed_if_empty(&pool, fordra::clock::Clock::system().now())
            .await
            .unwrap()
            .is_empty()
    );
    let app =
        TestApp::spawn_on(pool, name, Options { vars: vec![("FORDRA_DEMO", "on".into())] }).await;
    let page = app.get("/logga-in").await.text().await.unwrap();
    for a in &seeded {
        assert!(page.contains(a.email) && page.contains(&a.password));
    }
    let admin = &seeded[0];
    assert_eq!(location(&app.login(admin.email, &admin.password).await), "/admin");
    let home = app.get("/admin").await.text().await.unwrap();
    assert!(home.contains("Tvåstegsverifiering hoppas över i demoläge"));
    let creditor = &seeded[1];
    app.post_form("/logga-ut", &[]).await;
    assert_eq!(location(&app.login(creditor.email, &creditor.password).await), "/borgenar");
    assert!(app.get("/borgenar").await.text().await.unwrap().contains("Demo Bygg AB"));
}

#[tokio::test]
async fn fixed_business_date_shows_a_banner() {
    let app =
        TestApp::spawn_with(Options { vars: vec![("FORDRA_TODAY", "2026-02-10".into())] }).await;
    assert_eq!(app.state.clock.today().to_string(), "2026-02-10");
    assert!(
        app.get("/").await.text().await.unwrap().contains("Affärsdatum är låst till 2026-02-10")
    );
}

#[tokio::test]
async fn create_admin_cli() {
    let (pool, name) = harness::fresh_db().await;
    let run = |email: &str, pw: &str| {
        use std::io::Write;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_fordra"))
            .args(["create-admin", "--email", email, "--password-stdin"])
            .env("DATABASE_URL", harness::database_url(&name))
            .env("FORDRA_MAIL", "file")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(pw.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    let out = run("ny.admin@example.se", "ett långt lösenord\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let role: String =
        sqlx::query_scalar("select role from app_user where email = 'ny.admin@example.se'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(role, "admin");
    let dup = run("ny.admin@example.se", "ett långt lösenord\n");
    assert!(!dup.status.success());
    let short = run("annan@example.se", "kort\n");
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("minst 12 tecken"));
}
