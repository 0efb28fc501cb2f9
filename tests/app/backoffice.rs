//! The back office: the support inbox with its round trips, staff accounts, the audit chain
//! and the authorization of every /admin route.

use reqwest::{Client, StatusCode};
use serde_json::json;
use uuid::Uuid;

use crate::harness::*;
use crate::mina_sidor::{login, person};
use crate::world::world;

const SVEN: (&str, &str, &str) = ("198112189876", "Sven", "Svensson");
const ERIK: (&str, &str, &str) = ("197205302396", "Erik", "Exempelsson");

/// Follows the invitation link mailed to `email` and chooses [`PASSWORD`]; returns the browser.
async fn choose_password_from_invitation(app: &TestApp, email: &str) -> Client {
    let mail = app.mail_to(email, |_| true).await;
    let link = mail.mail.text.lines().find(|l| l.contains("/losenord/ny?token=")).unwrap().trim();
    let token = link.split("token=").nth(1).unwrap();
    let client = browser_client(&app.base);
    let form = [("token", token), ("password", PASSWORD), ("password_repeat", PASSWORD)];
    let r = post(&client, app, "/losenord/ny", &form).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
    client
}

async fn post(
    client: &Client,
    app: &TestApp,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    client.post(app.url(path)).form(form).send().await.unwrap()
}

#[tokio::test]
async fn a_ticket_goes_from_the_debtor_to_support_to_the_creditor_and_back() {
    let w = world("2026-11-02").await;
    let app = &w.app;
    let (claim, _) = w.claim("T-1", person(SVEN, None), json!({"capital": "900.00"})).await;
    let sven = login(app, SVEN).await;
    let r = post(
        &sven,
        app,
        "/mina-sidor/kontakt",
        &[("email", "sven@exempel.se"), ("phone", "070-123 45 67")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let claim_s = claim.to_string();
    let r = post(
        &sven,
        app,
        "/mina-sidor/meddelanden",
        &[
            ("claim", &claim_s),
            ("subject", "Jag har redan betalat"),
            ("body", "Jag betalade den 1 november."),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let ticket: Uuid = sqlx::query_scalar("select ticket_id from ticket where claim_id = $1")
        .bind(claim)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    // Only the person's name, e-mail and phone are kept with it.
    let (name, email, phone): (String, String, String) = sqlx::query_as(
        "select contact_name, contact_email, contact_phone from ticket where ticket_id = $1",
    )
    .bind(ticket)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((name.as_str(), email.as_str()), ("Sven Svensson", "sven@exempel.se"));
    assert!(phone.starts_with("070"));

    // Support finds it in the inbox, open, and takes it.
    let support = staff_client(app, "sara@fordra.test", "support").await;
    let (code, inbox) = fetch(&support, app, "/admin/arenden").await;
    assert_eq!(code, StatusCode::OK);
    assert!(inbox.contains("Jag har redan betalat") && inbox.contains("Gäldenär: Sven Svensson"));
    let path = format!("/admin/arenden/{ticket}");
    let r = post(&support, app, &format!("{path}/tilldela"), &[("user", "me")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // An empty answer is refused on its field and stores nothing.
    let r = post(
        &support,
        app,
        &format!("{path}/skriv"),
        &[("kind", "answer"), ("body", " "), ("minutes", "x")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text().await.unwrap();
    assert!(body.contains("Skriv ditt meddelande") && body.contains("Ange minuter som ett heltal"));
    let messages = || async {
        sqlx::query_scalar::<_, i64>("select count(*) from ticket_message where ticket_id = $1")
            .bind(ticket)
            .fetch_one(&app.pool)
            .await
            .unwrap()
    };
    assert_eq!(messages().await, 1);
    // An internal note, then a question to the creditor (second line).
    let r = post(
        &support,
        app,
        &format!("{path}/skriv"),
        &[("kind", "note"), ("body", "Kolla bankfilen 1/11."), ("minutes", "3")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = post(
        &support,
        app,
        &format!("{path}/skriv"),
        &[
            ("kind", "forward"),
            ("body", "Har ni fått en betalning direkt från gäldenären?"),
            ("minutes", "2"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let mail =
        app.mail_to(&w.creditor_email, |m| m.mail.subject.contains("Fråga från Fordra")).await;
    assert!(mail.mail.text.contains("Har ni fått en betalning"), "{}", mail.mail.text);

    // The creditor answers in its portal; the ticket is staff's turn again.
    let creditor = w.creditor_client().await;
    let (code, contact) = fetch(&creditor, app, "/borgenar/kontakt").await;
    assert_eq!(code, StatusCode::OK);
    assert!(contact.contains("Frågor från Fordra") && contact.contains("Väntar på ert svar"));
    let (code, thread) = fetch(&creditor, app, &format!("/borgenar/kontakt/{ticket}")).await;
    assert_eq!(code, StatusCode::OK);
    assert!(thread.contains("Har ni fått en betalning"));
    assert!(!thread.contains("Kolla bankfilen"), "notes are staff's only");
    assert!(!thread.contains("Jag betalade den 1 november"), "the debtor's words stay with Fordra");
    let r = post(
        &creditor,
        app,
        &format!("/borgenar/kontakt/{ticket}"),
        &[("body", "Ja, 900 kr kom in den 1 november.")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let status: String = w.scalar("select status from ticket where ticket_id = $1", ticket).await;
    assert_eq!(status, "open");
    let (_, staff_view) = fetch(&support, app, &path).await;
    assert!(staff_view.contains("Borgenärens svar") && staff_view.contains("900 kr kom in"));

    // Support answers the debtor: by e-mail and on Mina sidor; the first response is recorded.
    let r = post(
        &support,
        app,
        &format!("{path}/skriv"),
        &[
            ("kind", "answer"),
            ("body", "Borgenären har fått din betalning. Ärendet stängs."),
            ("minutes", "5"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let mail =
        app.mail_to("sven@exempel.se", |m| m.mail.subject.contains("Svar från Fordra")).await;
    assert!(mail.mail.text.contains("Borgenären har fått din betalning"));
    assert!(mail.mail.text.contains(&format!("/mina-sidor/meddelanden/{ticket}")));
    let (code, mine) = fetch(&sven, app, &format!("/mina-sidor/meddelanden/{ticket}")).await;
    assert_eq!(code, StatusCode::OK);
    assert!(
        mine.contains("Fordras kundtjänst") && mine.contains("Borgenären har fått din betalning")
    );
    assert!(!mine.contains("Kolla bankfilen") && !mine.contains("900 kr kom in"));
    let (first, minutes): (Option<chrono::DateTime<chrono::Utc>>, i64) = sqlx::query_as(
        "select first_response_at, (select sum(minutes) from ticket_message m where m.ticket_id = t.ticket_id)
         from ticket t where ticket_id = $1",
    )
    .bind(ticket)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(first.is_some());
    assert_eq!(minutes, 10);
    let (_, inbox) = fetch(&support, app, "/admin/arenden?status=waiting").await;
    assert!(inbox.contains("10 min"), "handling time in the inbox");

    // The debtor replies: the ticket opens again. Another person cannot read or write in it.
    let r =
        post(&sven, app, &format!("/mina-sidor/meddelanden/{ticket}"), &[("body", "Tack!")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let status: String = w.scalar("select status from ticket where ticket_id = $1", ticket).await;
    assert_eq!(status, "open");
    let erik = login(app, ERIK).await;
    let (code, _) = fetch(&erik, app, &format!("/mina-sidor/meddelanden/{ticket}")).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let r = post(&erik, app, &format!("/mina-sidor/meddelanden/{ticket}"), &[("body", "Hej hej")])
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // Another creditor does not see the forwarded question either.
    create_user(&app.pool, "annan@borgenar.test", "creditor").await;
    let other = logged_in(app, "annan@borgenar.test").await;
    let (code, _) = fetch(&other, app, &format!("/borgenar/kontakt/{ticket}")).await;
    assert_eq!(code, StatusCode::NOT_FOUND);

    // Support closes it; the creditor's own "Kontakta oss" makes a ticket too.
    let r = post(&support, app, &format!("{path}/status"), &[("closed", "1")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = post(
        &creditor,
        app,
        "/borgenar/kontakt",
        &[("claim", "finns-inte"), ("subject", "Fråga"), ("body", "Hur gör vi?")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.text().await.unwrap().contains("Ni har ingen fordran med det OCR- eller fakturanumret.")
    );
    let r = post(
        &creditor,
        app,
        "/borgenar/kontakt",
        &[("claim", "T-1"), ("subject", "Fråga om T-1"), ("body", "Hur gör vi?")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, inbox) = fetch(&support, app, "/admin/arenden").await;
    assert!(inbox.contains("Fråga om T-1") && inbox.contains("Borgenär:"));
    let audited: i64 = sqlx::query_scalar(
        "select count(*) from audit_event where subject = $1 and action like 'ticket_%'",
    )
    .bind(ticket.to_string())
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(audited, 5, "assign, note, forward, answer, close");
}

#[tokio::test]
async fn admins_create_lock_and_reset_staff_and_support_cannot() {
    let app = TestApp::spawn().await;
    let admin = staff_client(&app, "ada@fordra.test", "admin").await;
    let support = staff_client(&app, "sam@fordra.test", "support").await;
    // Support cannot see or use the page.
    let (code, _) = fetch(&support, &app, "/admin/personal").await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    let r = post(
        &support,
        &app,
        "/admin/personal",
        &[("name", "X"), ("email", "x@fordra.test"), ("role", "admin")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Bad input is named on its field and stores nothing.
    let r = post(
        &admin,
        &app,
        "/admin/personal",
        &[("name", ""), ("email", "nej"), ("role", "creditor")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("Ange namnet")
            && body.contains("giltig e-postadress")
            && body.contains("Välj administratör eller support")
    );
    let r = post(
        &admin,
        &app,
        "/admin/personal",
        &[("name", "Nora Ny"), ("email", "sam@fordra.test"), ("role", "support")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("Det finns redan ett konto"));
    // A new support user: invited by mail, chooses a password, must enrol TOTP.
    let r = post(
        &admin,
        &app,
        "/admin/personal",
        &[("name", "Nora Ny"), ("email", "nora@fordra.test"), ("role", "support")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let nora = choose_password_from_invitation(&app, "nora@fordra.test").await;
    let r =
        post(&nora, &app, "/logga-in", &[("email", "nora@fordra.test"), ("password", PASSWORD)])
            .await;
    assert_eq!(location(&r), "/konto/tvastegs", "TOTP enrolment is required");
    let (code, _) = fetch(&nora, &app, "/admin/arenden").await;
    assert_ne!(code, StatusCode::OK, "no way in before TOTP");

    // Locking ends the sessions and login; an admin cannot lock themself or the last admin.
    let sam: Uuid =
        sqlx::query_scalar("select user_id from app_user where email = 'sam@fordra.test'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let r = post(&admin, &app, &format!("/admin/personal/{sam}/las"), &[("locked", "1")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (code, _) = fetch(&support, &app, "/admin").await;
    assert_eq!(code, StatusCode::SEE_OTHER, "the locked user's session is gone");
    let r = post(
        &browser_client(&app.base),
        &app,
        "/logga-in",
        &[("email", "sam@fordra.test"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let ada: Uuid =
        sqlx::query_scalar("select user_id from app_user where email = 'ada@fordra.test'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let r = post(&admin, &app, &format!("/admin/personal/{ada}/las"), &[("locked", "1")]).await;
    assert!(flash(&r).contains("ditt eget konto"));
    let disabled: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("select disabled_at from app_user where user_id = $1")
            .bind(ada)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(disabled.is_none());
    let r = post(&admin, &app, &format!("/admin/personal/{sam}/las"), &[("locked", "0")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // A forced TOTP reset: the next login enrols again.
    let r = post(&admin, &app, &format!("/admin/personal/{sam}/totp"), &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = post(
        &browser_client(&app.base),
        &app,
        "/logga-in",
        &[("email", "sam@fordra.test"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(location(&r), "/konto/tvastegs");
    let actions: Vec<String> = sqlx::query_scalar(
        "select action from audit_event where action like 'staff_%' order by audit_event_id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(actions, ["staff_created", "staff_locked", "staff_unlocked", "staff_totp_reset"]);
}

/// `fordra verify-audit` on the test database: success and its output.
fn verify_audit(app: &TestApp) -> (bool, String) {
    let out = fordra_cli(&app.db_name).arg("verify-audit").output().unwrap();
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// Runs `sql` with the append-only trigger switched off, as someone with the database's owner
/// rights could, behind the application's back.
async fn tamper(app: &TestApp, sql: &str) {
    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query("alter table audit_event disable trigger audit_event_append_only")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query(sql).execute(&mut *tx).await.unwrap();
    sqlx::query("alter table audit_event enable trigger audit_event_append_only")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn verify_audit_finds_an_edited_a_deleted_and_a_reordered_row() {
    let app = TestApp::spawn().await;
    let admin = create_user(&app.pool, "ada@fordra.test", "admin").await;
    {
        let mut conn = app.pool.acquire().await.unwrap();
        for i in 0..8 {
            let now = fordra::clock::Clock::system().now();
            let detail = json!({"n": i});
            fordra::auth::audit(
                &mut conn,
                now,
                Some(admin),
                "test_action",
                Some(&format!("obj-{i}")),
                detail,
                Some("10.0.0.1"),
            )
            .await
            .unwrap();
        }
    }
    let (ok, out) = verify_audit(&app);
    assert!(ok, "{out}");
    assert!(out.contains("audit log ok: 8 rows chained (8 sealed now)"), "{out}");
    // The role is recorded with the person's id; the trigger refuses edits and deletes.
    let role: String = sqlx::query_scalar("select actor_role from audit_event where seal_seq = 1")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(role, "admin");
    for sql in [
        "update audit_event set action = 'x' where seal_seq = 2",
        "delete from audit_event where seal_seq = 2",
    ] {
        let e = sqlx::query(sql).execute(&app.pool).await.unwrap_err();
        assert!(e.to_string().contains("append-only"), "{e}");
    }
    // Rows written after a seal are chained on the next one, after the earlier ones.
    {
        let mut conn = app.pool.acquire().await.unwrap();
        let now = fordra::clock::Clock::system().now();
        fordra::auth::audit(&mut conn, now, None, "late", None, json!({}), None).await.unwrap();
    }
    let (ok, out) = verify_audit(&app);
    assert!(ok && out.contains("9 rows chained (1 sealed now)"), "{out}");

    let id_at = |seq: i64| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "select audit_event_id from audit_event where seal_seq = $1",
            )
            .bind(seq)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    // Edited: the row's content no longer matches its hash.
    let third = id_at(3).await;
    tamper(&app, "update audit_event set detail = '{\"n\": 99}' where seal_seq = 3").await;
    let (ok, out) = verify_audit(&app);
    assert!(!ok, "{out}");
    assert!(
        out.contains(&format!("seal_seq 3, audit_event_id {third}")) && out.contains("ändrad"),
        "{out}"
    );
    tamper(&app, "update audit_event set detail = '{\"n\": 2}' where seal_seq = 3").await;
    assert!(verify_audit(&app).0, "restored");

    // Reordered: two rows swap places in the chain.
    tamper(&app, "update audit_event set seal_seq = case seal_seq when 4 then -5 else -4 end where seal_seq in (4, 5)").await;
    tamper(&app, "update audit_event set seal_seq = -seal_seq where seal_seq < 0").await;
    let (ok, out) = verify_audit(&app);
    assert!(!ok && out.contains("seal_seq 4"), "{out}");
    tamper(&app, "update audit_event set seal_seq = case seal_seq when 4 then -5 else -4 end where seal_seq in (4, 5)").await;
    tamper(&app, "update audit_event set seal_seq = -seal_seq where seal_seq < 0").await;
    assert!(verify_audit(&app).0, "restored");

    // Deleted: a row in the middle, and (separately found) the newest one.
    tamper(&app, "delete from audit_event where seal_seq = 6").await;
    let (ok, out) = verify_audit(&app);
    assert!(!ok && out.contains("seal_seq 6") && out.contains("saknas"), "{out}");
    tamper(&app, "delete from audit_event where seal_seq > 6").await;
    let (ok, out) = verify_audit(&app);
    assert!(!ok && out.contains("seal_seq 9") && out.contains("borttagna"), "{out}");
}

#[tokio::test]
async fn admins_search_the_audit_log_and_export_it() {
    let app = TestApp::spawn().await;
    let admin = staff_client(&app, "ada@fordra.test", "admin").await;
    let support = staff_client(&app, "sam@fordra.test", "support").await;
    let (code, _) = fetch(&support, &app, "/admin/logg").await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    let (code, body) =
        fetch(&admin, &app, "/admin/logg?person=sam%40fordra.test&action=login").await;
    assert_eq!(code, StatusCode::OK);
    assert!(
        body.contains("sam@fordra.test") && !body.contains(">ada@fordra.test<"),
        "only Sam's logins"
    );
    let (code, body) = fetch(&admin, &app, "/admin/logg?from=2026-13-01").await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("Ange datumet som ÅÅÅÅ-MM-DD."));
    let r = admin.get(app.url("/admin/logg.csv?action=login")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()[reqwest::header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("granskningslogg-")
    );
    let csv = r.text().await.unwrap();
    assert!(csv.starts_with("id;tid;person;e-post;roll;handling"));
    assert_eq!(csv.lines().filter(|l| l.contains(";login;")).count(), 2, "{csv}");
}

fn engine_claim(invoice: &str, due: &str) -> serde_json::Value {
    json!({
        "invoice_number": invoice, "description": "Snickeriarbete", "capital": "2500.00",
        "invoice_date": "2026-01-10", "due_date": due, "reminder_fee_agreed": true,
        "debtor": {"kind": "person", "id_number": "198112189876", "name": "Sven Svensson", "capacity": "consumer",
                   "address": {"street": "Storgatan 1", "postal_code": "11122", "city": "Stockholm"}}
    })
}

#[tokio::test]
async fn a_rule_changed_from_a_future_date_leaves_earlier_letters_alone() {
    let w = world("2026-02-01").await;
    let app = &w.app;
    let admin = staff_client(app, "ada@fordra.test", "admin").await;
    let support = staff_client(app, "sam@fordra.test", "support").await;
    let (early, _) = w.register(&engine_claim("R-1", "2026-02-09")).await;
    // Support sees the rules, but cannot change them.
    let (code, html) = fetch(&support, app, "/admin/regler").await;
    assert_eq!(code, StatusCode::OK);
    assert!(html.contains("2013-03-16") && !html.contains("rules-form"));
    let change = [
        ("valid_from", "2026-02-20"),
        ("note", "Test"),
        ("reminder_fee", "50,00"),
        ("collection_fee", "150"),
    ];
    let r = post(&support, app, "/admin/regler", &change).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Never backwards, and bad values are named on their fields; nothing is stored.
    let r =
        post(&admin, app, "/admin/regler", &[("valid_from", "2026-02-01"), ("reminder_fee", "50")])
            .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("från i morgon eller senare"));
    let r = post(
        &admin,
        app,
        "/admin/regler",
        &[("valid_from", "2026-02-20"), ("reminder_fee", "-1"), ("plan_max_months", "x")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("id=\"f-reminder_fee-error\"")
            && body.contains("id=\"f-plan_max_months-error\"")
    );
    let versions: i64 =
        sqlx::query_scalar("select count(*) from rule_set").fetch_one(&app.pool).await.unwrap();
    assert_eq!(versions, 1);
    // R-1's reminder goes out under the rules of today.
    assert_eq!(w.tick("2026-02-10").await.steps, 1);
    let stored = |claim: Uuid| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_as::<_, (String, serde_json::Value, String)>(
                "select kind, snapshot, html from letter where claim_id = $1 order by created_on, kind",
            )
            .bind(claim)
            .fetch_all(&pool)
            .await
            .unwrap()
        }
    };
    let before = stored(early).await;
    assert_eq!(before[0].1["rules_version"], "2013-03-16");
    assert_eq!(before[0].1["fees"][0]["amount"], "60.00");
    // Lower fees from 2026-02-20: shown as coming.
    let r = post(&admin, app, "/admin/regler", &change).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = fetch(&admin, app, "/admin/regler").await;
    assert!(html.contains("Kommande"), "{html}");
    assert_eq!(stored(early).await, before, "the letter already sent is untouched");

    // Fee amounts follow the version in force when the claim fell due (the transitional
    // principle of rules-sweden.md A14); deadlines follow the day the letter is sent.
    let (late, _) = w.register(&engine_claim("R-2", "2026-02-23")).await;
    assert_eq!(w.tick("2026-02-24").await.steps, 1, "R-2's reminder");
    assert_eq!(w.tick("2026-02-25").await.steps, 1, "R-1's inkassokrav");
    let early_letters = stored(early).await;
    assert_eq!(early_letters[0], before[0]);
    let collection = &early_letters[1].1;
    assert_eq!(collection["rules_version"], "2026-02-20");
    let fees: Vec<&str> = collection["fees"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["amount"].as_str().unwrap())
        .collect();
    assert_eq!(fees, ["60.00", "180.00"], "R-1 fell due under the old amounts");
    let late_letters = stored(late).await;
    assert_eq!(late_letters[0].1["rules_version"], "2026-02-20");
    assert_eq!(
        late_letters[0].1["fees"][0]["amount"], "50.00",
        "R-2 fell due under the new amounts"
    );
    // The change is audited with what changed.
    let detail: serde_json::Value =
        sqlx::query_scalar("select detail from audit_event where action = 'rule_set_published'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        detail["changes"][0],
        json!({"key": "reminder_fee", "from": "60,00", "to": "50,00"})
    );
    // A version in force cannot be withdrawn; a coming one can.
    let r = post(&admin, app, "/admin/regler/2013-03-16/ta-bort", &[]).await;
    assert!(flash(&r).contains("Bara regler som ännu inte börjat gälla"));
    let r =
        post(&admin, app, "/admin/regler", &[("valid_from", "2026-03-01"), ("reminder_fee", "55")])
            .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = post(&admin, app, "/admin/regler/2026-03-01/ta-bort", &[]).await;
    assert!(flash(&r).contains("borttagna innan de börjat gälla"), "{}", flash(&r));
    let versions: i64 =
        sqlx::query_scalar("select count(*) from rule_set").fetch_one(&app.pool).await.unwrap();
    assert_eq!(versions, 2);
    w.check_ledger("2026-02-25");
}

#[tokio::test]
async fn a_ready_claim_exports_its_amounts_interest_and_fees_to_the_ore_once() {
    let w = world("2026-02-01").await;
    let (ready, ocr) = w.register(&engine_claim("K-1", "2026-02-09")).await;
    let (returned, _) = w.register(&engine_claim("K-2", "2026-02-09")).await;
    for day in ["2026-02-10", "2026-02-25", "2026-03-12", "2026-03-26"] {
        w.tick(day).await;
    }
    let state: String = w.scalar("select state from claim where claim_id = $1", ready).await;
    assert_eq!(state, "enforcement_ready");
    sqlx::query("update claim set returned_mail = true where claim_id = $1")
        .bind(returned)
        .execute(w.pool())
        .await
        .unwrap();
    // The back office on the day after the final notice's grace.
    let later = w.app.again(Options { vars: vec![("FORDRA_TODAY", "2026-03-27".into())] }).await;
    let app = &later;

    // Staff see both, with why K-2 cannot go; support may look but not export.
    let support = staff_client(app, "sam@fordra.test", "support").await;
    let (code, html) = fetch(&support, app, "/admin/kronofogden").await;
    assert_eq!(code, StatusCode::OK);
    assert!(html.contains("Klar") && html.contains("kommit i retur"), "{html}");
    let r = post(&support, app, "/admin/kronofogden/export", &[("format", "csv")]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = support
        .get(app.url(&format!("/admin/kronofogden/{ready}/ansokan.pdf")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.bytes().await.unwrap().starts_with(b"%PDF"));

    // The command line exports the ready claim with its OCR and marks it handed off.
    let out = fordra_cli(&app.db_name)
        .args(["export-enforcement", "--today", "2026-03-27"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("kommit i retur"));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let apps = doc["applications"].as_array().unwrap();
    assert_eq!(apps.len(), 1);
    let a = &apps[0];
    assert_eq!(a["ocr"], ocr.as_str());
    assert_eq!(a["capital"], "2500.00");
    assert_eq!(a["respondent"]["id_number"], "19811218-9876");
    assert_eq!(a["respondent"]["address"], "Storgatan 1, 111 22 Stockholm");
    assert_eq!(a["interest"]["basis"], "referensränta + 8 procentenheter (6 § räntelagen)");
    assert_eq!(a["interest"]["from"], "2026-02-10");
    // 10 % a year (2 % reference rate + 8) on 2 500 kr for the 46 days 02-10..03-27: 31.51.
    assert_eq!(a["interest"]["accrued"], "31.51");
    assert_eq!(
        a["costs"],
        json!([{"name": "Påminnelseavgift", "amount": "60.00"}, {"name": "Inkassokostnad", "amount": "180.00"}])
    );
    assert_eq!(a["application_fee"], "300.00");
    assert_eq!(a["handed_off_on"], "2026-03-27");
    assert_eq!(a["agent"]["name"], app.state.config.identity.name.as_str());
    let handed: Option<chrono::NaiveDate> =
        w.scalar("select handed_off_on from claim where claim_id = $1", ready).await;
    assert_eq!(handed, Some(chrono::NaiveDate::from_ymd_opt(2026, 3, 27).unwrap()));
    let state: String = w.scalar("select state from claim where claim_id = $1", ready).await;
    assert_eq!(state, "enforcement_ready", "open until Kronofogden's outcome");

    // Not twice, unless asked; the CSV carries the same figures.
    let out = fordra_cli(&app.db_name)
        .args(["export-enforcement", "--today", "2026-03-28"])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["applications"], json!([]));
    let out = fordra_cli(&app.db_name)
        .args(["export-enforcement", "--today", "2026-03-27", "--format", "csv", "--again"])
        .output()
        .unwrap();
    let csv = String::from_utf8(out.stdout).unwrap();
    let line = csv.lines().nth(1).unwrap();
    assert!(
        line.starts_with(&format!("{ocr};"))
            && line.contains(";2500.00;")
            && line.contains("Påminnelseavgift 60.00, Inkassokostnad 180.00;300.00;2026-03-27"),
        "{csv}"
    );
    // An admin exports from the page (as JSON here), again for an already handed-off claim.
    let admin = staff_client(app, "ada@fordra.test", "admin").await;
    let claim_s = ready.to_string();
    let r = post(
        &admin,
        app,
        "/admin/kronofogden/export",
        &[("format", "json"), ("again", "1"), ("claim", &claim_s)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let doc: serde_json::Value = r.json().await.unwrap();
    assert_eq!(doc["applications"][0]["capital"], "2500.00");
    let r = post(&admin, app, "/admin/kronofogden/export", &[("format", "pdf")]).await;
    assert!(flash(&r).contains("exakt ett"));
    let events: i64 = w
        .scalar(
            "select count(*) from claim_event where claim_id = $1 and kind = 'handed_off'",
            ready,
        )
        .await;
    assert_eq!(events, 3);
}

#[tokio::test]
async fn the_dashboard_shows_states_money_rates_and_engine_health() {
    use fordra::{domain::money::Sek, payments::simulator::Item};
    let w = world("2026-02-01").await;
    let (paid, ocr) = w.register(&engine_claim("D-1", "2026-02-09")).await;
    w.register(&engine_claim("D-2", "2026-02-09")).await;
    w.tick("2026-02-10").await;
    // D-1 pays everything after its reminder: 2 500 + 60 + 10 days' interest 6.85.
    let r = w
        .pay(
            "D-1",
            "2026-02-19",
            &[Item::new(&ocr, Sek::from_decimal("2566.85".parse().unwrap()), "Sven Svensson")],
            "2026-02-20",
        )
        .await;
    assert_eq!(r.paid_claims, 1);
    let state: String = w.scalar("select state from claim where claim_id = $1", paid).await;
    assert_eq!(state, "paid");
    w.tick("2026-02-25").await;
    let later = w.app.again(Options { vars: vec![("FORDRA_TODAY", "2026-02-25".into())] }).await;
    let support = staff_client(&later, "sam@fordra.test", "support").await;
    let (code, html) = fetch(&support, &later, "/admin").await;
    assert_eq!(code, StatusCode::OK);
    // Three charts, each with its table.
    assert_eq!(html.matches("<svg class=\"chart\"").count(), 3);
    assert!(html.contains("<td>Efter påminnelse</td><td>2</td><td>1</td><td>50 %</td>"), "{html}");
    assert!(html.contains("<td>Efter inkassokrav</td><td>1</td><td>0</td><td>0 %</td>"), "{html}");
    assert!(
        html.contains("<td>Betald</td><td>1</td>") || html.contains("<td>Betalt</td><td>1</td>"),
        "{html}"
    );
    // The week of 2026-02-23 had no payment; the month has 2 566,85.
    assert!(html.contains("2 566,85"), "{html}");
    assert!(html.contains("affärsdag 2026-02-25"), "{html}");
}

/// Every place in the database where `needle` occurs: "table.column (rows)".
async fn occurrences(pool: &sqlx::PgPool, needle: &str) -> Vec<String> {
    let columns: Vec<(String, String)> = sqlx::query_as(
        "select table_name::text, column_name::text from information_schema.columns
         where table_schema = 'public' and data_type in ('text', 'jsonb', 'ARRAY', 'character varying', 'bytea')",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut found = vec![];
    for (table, column) in columns {
        let sql = format!(
            "select count(*) from \"{table}\" where position($1 in convert_from(convert_to(\"{column}\"::text, 'UTF8'), 'UTF8')) > 0"
        );
        let n: i64 = sqlx::query_scalar(&sql).bind(needle).fetch_one(pool).await.unwrap();
        if n > 0 {
            found.push(format!("{table}.{column} ({n})"));
        }
    }
    found
}

#[tokio::test]
async fn a_closed_case_is_anonymised_in_every_table_after_its_retention() {
    use crate::mina_sidor::{dispute, pdf_bytes};
    let w = world("2026-11-02").await;
    let app = &w.app;
    let (claim, ocr) = w.claim("G-1", person(SVEN, None), json!({"capital": "500.00"})).await;
    let sven = login(app, SVEN).await;
    post(
        &sven,
        app,
        "/mina-sidor/kontakt",
        &[("email", "sven@exempel.se"), ("phone", "070-123 45 67")],
    )
    .await;
    post(
        &sven,
        app,
        "/mina-sidor/adress",
        &[("street", "Svenssonsgatan 5"), ("postal_code", "753 20"), ("city", "Uppsala")],
    )
    .await;
    let claim_s = claim.to_string();
    post(
        &sven,
        app,
        "/mina-sidor/meddelanden",
        &[
            ("claim", &claim_s),
            ("subject", "Svensson undrar"),
            ("body", "Hälsningar Sven Svensson"),
        ],
    )
    .await;
    let r = dispute(app, &sven, claim, "not_ordered", Some(("kvitto.pdf", pdf_bytes()))).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // The creditor withdraws the claim: the case is closed in 2026.
    let creditor = w.creditor_client().await;
    let r = post(
        &creditor,
        app,
        &format!("/borgenar/krav/{claim}/bestridande"),
        &[("answer", "withdraw"), ("answer_text", "Vi återkallar kravet mot Sven Svensson.")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let state: String = w.scalar("select state from claim where claim_id = $1", claim).await;
    assert_eq!(state, "withdrawn");
    w.tick("2026-11-03").await;
    let before = occurrences(&app.pool, "198112189876").await;
    assert!(before.iter().any(|t| t.starts_with("claim.debtor_id_number")), "{before:?}");
    assert!(!occurrences(&app.pool, "Svensson").await.is_empty());

    // Kept through the end of 2033 (closed 2026 + 7 years), anonymised on 2034-01-01.
    assert_eq!(w.tick("2033-12-31").await.anonymised, 0);
    assert_eq!(w.tick("2034-01-01").await.anonymised, 1);
    for needle in [
        "198112189876",
        "19811218-9876",
        "Svensson",
        "sven@exempel.se",
        "070-123 45 67",
        "Svenssonsgatan",
        "Hälsningar",
    ] {
        let left = occurrences(&app.pool, needle).await;
        assert!(left.is_empty(), "{needle} is still in {left:?}");
    }
    // Amounts, dates, the OCR and the ledger stay; a stored letter keeps only its kind.
    let (capital, kept_ocr, anonymised): (
        rust_decimal::Decimal,
        String,
        Option<chrono::DateTime<chrono::Utc>>,
    ) = sqlx::query_as("select capital, ocr, anonymised_at from claim where claim_id = $1")
        .bind(claim)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!((capital.to_string().as_str(), kept_ocr.as_str()), ("500.00", ocr.as_str()));
    assert!(anonymised.is_some());
    let out = w.check_ledger("2034-01-01");
    assert!(out.contains("ledger ok"), "{out}");
    // The privacy page states the periods in force.
    let html = app.get("/integritet").await.text().await.unwrap();
    assert!(html.contains("7 år") && html.contains("2 år efter att ärendet stängts"), "{html}");
}

#[tokio::test]
async fn only_a_creditors_owner_manages_payout_users_and_keys() {
    let w = world("2026-11-02").await;
    let app = &w.app;
    let owner = w.creditor_client().await;
    let r = post(
        &owner,
        app,
        "/borgenar/anvandare",
        &[("name", "Ulla Användare"), ("email", "ulla@kund.test"), ("role", "user")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let ulla = choose_password_from_invitation(app, "ulla@kund.test").await;
    let r =
        post(&ulla, app, "/logga-in", &[("email", "ulla@kund.test"), ("password", PASSWORD)]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // A user follows claims but changes nothing of the company's.
    assert_eq!(fetch(&ulla, app, "/borgenar/krav").await.0, StatusCode::OK);
    let (_, users) = fetch(&ulla, app, "/borgenar/anvandare").await;
    assert!(users.contains("Bara företagets ägare") && users.contains("Användare"));
    let (_, account) = fetch(&ulla, app, "/borgenar/utbetalningskonto").await;
    assert!(account.contains("id=\"owner-only\""));
    for (path, form) in [
        ("/borgenar/utbetalningskonto", vec![("kind", "bankgiro"), ("bankgiro", "5050-1055")]),
        ("/borgenar/anvandare", vec![("name", "X"), ("email", "x@kund.test")]),
        ("/borgenar/api-nycklar", vec![("name", "Fortnox"), ("claims_read", "on")]),
        ("/borgenar/webhooks", vec![("url", "https://example.com/h")]),
    ] {
        let r = post(&ulla, app, path, &form).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(fetch(&ulla, app, "/borgenar/api-nycklar").await.0, StatusCode::FORBIDDEN);
    // The owner cannot remove themself, nor the last owner; removing Ulla logs her out.
    let me: Uuid = sqlx::query_scalar("select user_id from app_user where email = $1")
        .bind(&w.creditor_email)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let r = post(&owner, app, &format!("/borgenar/anvandare/{me}/ta-bort"), &[]).await;
    assert!(flash(&r).contains("dig själv"));
    let ulla_id: Uuid =
        sqlx::query_scalar("select user_id from app_user where email = 'ulla@kund.test'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let r = post(&owner, app, &format!("/borgenar/anvandare/{ulla_id}/ta-bort"), &[]).await;
    assert!(flash(&r).contains("borttagen"), "{}", flash(&r));
    assert_eq!(fetch(&ulla, app, "/borgenar/krav").await.0, StatusCode::SEE_OTHER, "logged out");
}

#[tokio::test]
async fn an_inactive_creditor_gets_a_notice_and_is_closed_unless_someone_logs_in() {
    let w = world("2026-11-02").await;
    let app = &w.app;
    let (claim, _) = w.claim("I-1", person(SVEN, None), json!({"capital": "500.00"})).await;
    w.creditor_client().await; // a login now
    // A second creditor that logs in after its notice keeps its account.
    create_user(&app.pool, "aktiv@kund.test", "creditor").await;
    logged_in(app, "aktiv@kund.test").await;
    let r = w.tick("2027-12-01").await;
    assert_eq!(r.creditors_closed, 0);
    let noticed: i64 =
        sqlx::query_scalar("select count(*) from creditor where inactivity_notice_on is not null")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(noticed, 0, "less than 12 months: no notice yet");
    w.tick("2028-01-05").await;
    let mail = app.mail_to(&w.creditor_email, |m| m.mail.subject.contains("stängs")).await;
    assert!(mail.mail.text.contains("2028-02-04"), "{}", mail.mail.text);
    // Someone at the second creditor logs in after the notice.
    sqlx::query(
        "insert into audit_event (at, actor_user_id, action) select now() + interval '2 years', user_id, 'login' from app_user where email = 'aktiv@kund.test'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let r = w.tick("2028-02-04").await;
    assert_eq!(r.creditors_closed, 1);
    let (closed, state): (Option<chrono::DateTime<chrono::Utc>>, String) = sqlx::query_as(
        "select cr.closed_at, c.state from claim c join creditor cr using (creditor_id) where c.claim_id = $1",
    )
    .bind(claim)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(closed.is_some());
    assert_ne!(state, "withdrawn", "open claims keep running");
    let r = post(
        &browser_client(&app.base),
        app,
        "/logga-in",
        &[("email", &w.creditor_email), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(
        r.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "a closed account's users cannot log in"
    );
    let other: Option<chrono::DateTime<chrono::Utc>> = sqlx::query_scalar(
        "select cr.closed_at from creditor cr join app_user u using (creditor_id) where u.email = 'aktiv@kund.test'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(other.is_none());
}

#[tokio::test]
async fn letter_wording_is_versioned_text_and_letters_keep_theirs() {
    let w = world("2026-02-01").await;
    let app = &w.app;
    let admin = staff_client(app, "ada@fordra.test", "admin").await;
    let (early, _) = w.register(&engine_claim("W-1", "2026-02-09")).await;
    w.tick("2026-02-10").await;
    let text = |claim: Uuid| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_as::<_, (serde_json::Value, String)>(
                "select snapshot, html from letter where claim_id = $1 order by created_on limit 1",
            )
            .bind(claim)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let (snapshot, html) = text(early).await;
    assert_eq!(snapshot["wording_version"], "2026-1");
    assert!(
        snapshot["intro"]
            .as_str()
            .unwrap()
            .starts_with("Enligt våra uppgifter har fakturan nedan från")
    );
    // A broken text is refused on its field; a good one from a later date is coming.
    let path = "/admin/texter/letter_reminder";
    let r = post(
        &admin,
        app,
        path,
        &[
            ("version", "2026-2"),
            ("title", "Påminnelse"),
            ("published_on", "2026-02-20"),
            ("body", "Hej {kund}, betala.\n\nSen.\n\nInvänd."),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("Okänd platshållare {kund}"));
    let body = "Hej! {borgenär} har inte fått betalt för fakturan nedan. Betala senast {sista_dag}.\n\nAnnars går ärendet till inkasso.\n\nFrågor? Skriv till {epost} och ange ärende {ärendenummer}.";
    let r = post(
        &admin,
        app,
        path,
        &[
            ("version", "2026-2"),
            ("title", "Påminnelse"),
            ("published_on", "2026-02-20"),
            ("body", body),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, page_html) = fetch(&admin, app, path).await;
    assert!(page_html.contains("Kommande"));
    // The letter already sent is untouched; one written from the date uses the new text.
    assert_eq!(text(early).await, (snapshot, html));
    let (late, _) = w.register(&engine_claim("W-2", "2026-02-23")).await;
    w.tick("2026-02-24").await;
    let (snapshot, html) = text(late).await;
    assert_eq!(snapshot["wording_version"], "2026-2");
    assert!(
        html.contains("har inte fått betalt för fakturan nedan. Betala senast 2026-"),
        "{html}"
    );
    assert!(!html.contains("{borgenär}") && !html.contains("{epost}"));
    // The creditor terms are published the same way.
    let (code, _) = fetch(&admin, app, "/admin/texter/creditor").await;
    assert_eq!(code, StatusCode::OK);
}
