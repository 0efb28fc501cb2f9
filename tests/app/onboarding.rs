//! Creditor sign-up, staff approval, invitations and the verify-this-letter page, over HTTP.

use fordra::engine;

use crate::{
    harness::{Options, PASSWORD, TestApp, browser_client, create_user, location, staff_client},
    smtp::{SmtpServer, body_text},
};

pub(crate) fn signup_form<'a>(
    org: &'a str,
    email: &'a str,
    industry: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("org_nr", org),
        ("company_form", "aktiebolag"),
        ("company_name", "Nya Snickarna AB"),
        ("street", "Verkstadsgatan 4"),
        ("postal_code", "41101"),
        ("city", "Göteborg"),
        ("industry", industry),
        ("contact_name", "Nina Nilsson"),
        ("email", email),
        ("password", PASSWORD),
        ("password_repeat", PASSWORD),
        ("payout_type", "account"),
        ("clearing", "5102"),
        ("account", "0158751"),
        ("accept_terms", "on"),
        ("terms_version", "2026-1"),
    ]
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.pool).await.unwrap()
}

#[tokio::test]
async fn refused_sign_ups_store_nothing_and_say_why_on_the_field() {
    let app = TestApp::spawn().await;
    let mut form = signup_form("556036-0794", "nina@snickarna.se", "taxi");
    form.retain(|(k, _)| *k != "accept_terms");
    let resp = app.post_form("/bli-kund", &form).await;
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    for needle in [
        "id=\"f-org_nr-error\"",
        "Fordra tar inte emot uppdrag inom branschen ”Taxi”",
        "id=\"f-accept_terms-error\"",
        "value=\"Nya Snickarna AB\"",
    ] {
        assert!(html.contains(needle), "{needle}");
    }
    assert!(!html.contains(PASSWORD), "the password is never echoed");
    // A bad account number lands on the account field.
    let mut form = signup_form("556036-0793", "nina@snickarna.se", "bygg");
    form.retain(|(k, _)| *k != "account");
    form.push(("account", "0158752"));
    let html = app.post_form("/bli-kund", &form).await.text().await.unwrap();
    assert!(html.contains("id=\"f-account-error\""));
    assert_eq!(count(&app, "select count(*) from creditor").await, 0);
    assert_eq!(count(&app, "select count(*) from app_user").await, 0);
}

#[tokio::test]
async fn sign_up_then_claims_wait_until_an_admin_approves() {
    let app =
        TestApp::spawn_with(Options { vars: vec![("FORDRA_TODAY", "2026-03-02".into())] }).await;
    let resp =
        app.post_form("/bli-kund", &signup_form("5560360793", "nina@snickarna.se", "bygg")).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), "/bli-kund/skickat?till=nina%40snickarna.se");
    // Not logged in until the address is confirmed with the link from the mail.
    assert_eq!(app.get("/borgenar").await.status(), 303);
    let refused = app.login("nina@snickarna.se", PASSWORD).await;
    assert_eq!(refused.status(), 422);
    assert!(refused.text().await.unwrap().contains("Bekräfta först din e-postadress"));
    let mail = app.mail_to("nina@snickarna.se", |m| m.mail.subject.contains("Bekräfta")).await;
    let link = mail
        .mail
        .text
        .lines()
        .find(|l| l.contains("/bli-kund/bekrafta?token="))
        .unwrap()
        .trim()
        .to_string();
    let path = link.trim_start_matches("http://127.0.0.1:3000").to_string();
    // Opening the link (a mail scanner does) uses nothing up; the button confirms.
    assert_eq!(app.get(&path).await.status(), 200);
    let token = path.split("token=").nth(1).unwrap();
    let resp = app.post_form("/bli-kund/bekrafta", &[("token", token)]).await;
    assert_eq!(location(&resp), "/borgenar");
    let home = app.get("/borgenar").await.text().await.unwrap();
    assert!(home.contains("Väntar på kundbedömning"));
    // The link works once.
    let again = browser_client(&app.base)
        .post(app.url("/bli-kund/bekrafta"))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
    let (terms, ip, clearing): (String, String, String) = sqlx::query_as(
        "select terms_version, terms_accepted_ip, payout_clearing from creditor where org_nr = '165560360793'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((terms.as_str(), ip.as_str(), clearing.as_str()), ("2026-1", "127.0.0.1", "5102"));
    // The same org.nr again is refused on its field.
    let other = browser_client(&app.base);
    let html = other
        .post(app.url("/bli-kund"))
        .form(&signup_form("5560360793", "other@snickarna.se", "bygg"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Det finns redan ett konto för organisationsnumret"));
    // Another company with an address that already has an account: the same answer as a new
    // sign-up, nothing stored, and the address's owner is told by mail.
    let resp = other
        .post(app.url("/bli-kund"))
        .form(&signup_form("2120000142", "nina@snickarna.se", "bygg"))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&resp), "/bli-kund/skickat?till=nina%40snickarna.se");
    assert_eq!(count(&app, "select count(*) from creditor").await, 1);
    let notice =
        app.mail_to("nina@snickarna.se", |m| m.mail.subject.contains("Försök att skapa")).await;
    assert!(notice.mail.text.contains("redan ett konto"));
    assert!(!notice.mail.text.contains("token="));

    // A claim registered while pending is kept but nothing is sent.
    let resp = app
        .post_form(
            "/borgenar/krav/ny",
            &[
                ("invoice_number", "S-1"),
                ("capital", "2 500,00"),
                ("invoice_date", "2026-01-10"),
                ("due_date", "2026-02-09"),
                ("start_with", "reminder"),
                ("debtor.kind", "person"),
                ("debtor.id_number", "19811218-9876"),
                ("debtor.name", "Sven Svensson"),
                ("debtor.capacity", "consumer"),
                ("debtor.address.street", "Storgatan 1"),
                ("debtor.address.postal_code", "111 22"),
                ("debtor.address.city", "Stockholm"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303, "{}", resp.text().await.unwrap());
    let today = "2026-03-02".parse().unwrap();
    let r = engine::tick(&app.state, today).await.unwrap();
    assert_eq!((r.steps, r.blocked), (0, 1));

    // The admin approves; the decision is audited and mailed, and the claim wakes up.
    let admin = staff_client(&app, "admin@fordra.test", "admin").await;
    let list = admin.get(app.url("/admin/borgenarer")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("Nya Snickarna AB") && list.contains("Väntar på kundbedömning"));
    let id: uuid::Uuid =
        sqlx::query_scalar("select creditor_id from creditor").fetch_one(&app.pool).await.unwrap();
    // Rejecting needs a reason.
    let resp = admin
        .post(app.url(&format!("/admin/borgenarer/{id}/beslut")))
        .form(&[("decision", "reject"), ("reason", " ")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let resp = admin
        .post(app.url(&format!("/admin/borgenarer/{id}/beslut")))
        .form(&[("decision", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(
        count(&app, "select count(*) from audit_event where action = 'creditor_approved'").await,
        1
    );
    let mail = app.mail_to("nina@snickarna.se", |m| m.mail.subject.contains("godkända")).await;
    assert!(mail.mail.text.contains("Nya Snickarna AB är nu godkänd"));
    let r = engine::tick(&app.state, today).await.unwrap();
    assert_eq!(r.steps, 1, "the waiting claim gets its reminder");
}

#[tokio::test]
async fn a_creditor_invites_a_colleague_who_chooses_a_password() {
    let app = TestApp::spawn().await;
    create_user(&app.pool, "boss@test.se", "creditor").await;
    app.login("boss@test.se", PASSWORD).await;
    let resp = app
        .post_form("/borgenar/anvandare", &[("name", "Kalle Kollega"), ("email", "inte-en-adress")])
        .await;
    assert_eq!(resp.status(), 422);
    assert!(resp.text().await.unwrap().contains("id=\"f-email-error\""));
    let resp = app
        .post_form("/borgenar/anvandare", &[("name", "Kalle Kollega"), ("email", "kalle@test.se")])
        .await;
    assert_eq!(resp.status(), 303);
    let mail = app.mail_to("kalle@test.se", |_| true).await;
    assert!(mail.mail.text.contains("Testbolaget AB:s konto"), "{}", mail.mail.text);
    let link = mail
        .mail
        .text
        .lines()
        .find(|l| l.contains("/losenord/ny?token="))
        .unwrap()
        .trim()
        .to_string();
    let token = link.split("token=").nth(1).unwrap();
    let kalle = browser_client(&app.base);
    let resp = kalle
        .post(app.url("/losenord/ny"))
        .form(&[
            ("token", token),
            ("password", "kalles eget lösenord"),
            ("password_repeat", "kalles eget lösenord"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let resp = kalle
        .post(app.url("/logga-in"))
        .form(&[("email", "kalle@test.se"), ("password", "kalles eget lösenord")])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&resp), "/borgenar");
    let page = app.get("/borgenar/anvandare").await.text().await.unwrap();
    assert!(page.contains("Kalle Kollega") && page.contains("Aktiv"));
    // Inviting an address that has an account answers the same, and tells its owner by mail.
    let resp = app
        .post_form("/borgenar/anvandare", &[("name", "Kalle igen"), ("email", "kalle@test.se")])
        .await;
    assert_eq!(resp.status(), 303);
    let users: i64 =
        sqlx::query_scalar("select count(*) from app_user").fetch_one(&app.pool).await.unwrap();
    assert_eq!(users, 2);
    let notice = app.mail_to("kalle@test.se", |m| m.mail.subject.contains("ville bjuda in")).await;
    assert!(notice.mail.text.contains("redan ett konto"));
}

#[tokio::test]
async fn verify_letter_confirms_genuine_letters_and_is_rate_limited() {
    let app = TestApp::spawn().await;
    create_user(&app.pool, "c@test.se", "creditor").await;
    let creditor: uuid::Uuid =
        sqlx::query_scalar("select creditor_id from creditor").fetch_one(&app.pool).await.unwrap();
    let mut conn = app.pool.acquire().await.unwrap();
    let params = fordra::parameters::load(&mut conn).await.unwrap();
    let input: fordra::claims::input::ClaimInput = serde_json::from_value(serde_json::json!({
        "invoice_number": "V-1", "capital": "1000.00", "invoice_date": "2026-01-10", "due_date": "2026-02-09",
        "debtor": {"kind": "person", "id_number": "198112189876", "name": "Sven Svensson", "capacity": "consumer",
                   "address": {"street": "Storgatan 1", "postal_code": "11122", "city": "Stockholm"}}
    }))
    .unwrap();
    let today = "2026-03-02".parse().unwrap();
    let claim = fordra::claims::input::validate(&input, today, &params).unwrap();
    fordra::claims::insert(
        &mut conn,
        creditor,
        &claim,
        None,
        fordra::clock::Clock::system().now(),
        today,
    )
    .await
    .unwrap();
    drop(conn);
    let (ocr, code): (String, String) =
        sqlx::query_as("select ocr, case_code from claim").fetch_one(&app.pool).await.unwrap();
    let public = browser_client(&app.base);
    let check = |ocr: String, code: String| {
        let public = public.clone();
        let url = app.url("/kontrollera-brev");
        async move { public.post(url).form(&[("ocr", ocr), ("case_code", code)]).send().await.unwrap() }
    };
    let resp = check(ocr.clone(), code.to_lowercase()).await;
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    assert!(html.contains("Brevet är äkta") && html.contains("Testbolaget AB"));
    assert!(!html.contains("Sven") && !html.contains("198112"), "no debtor data");
    let resp = check(ocr.clone(), "AAAAAAAA".into()).await;
    assert_eq!(resp.status(), 404);
    let resp = check("1234".into(), code.clone()).await;
    assert_eq!(resp.status(), 422);
    for _ in 0..8 {
        check(ocr.clone(), "AAAAAAAA".into()).await;
    }
    let resp = check(ocr.clone(), code.clone()).await;
    assert_eq!(resp.status(), 429);
    assert!(resp.text().await.unwrap().contains("För många kontroller"));
}

#[tokio::test]
async fn with_the_mail_server_down_an_approval_succeeds_and_its_mail_goes_out_once_it_is_back() {
    // A port with nothing listening: every SMTP connection is refused.
    let down = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = down.local_addr().unwrap();
    drop(down);
    let app = TestApp::spawn_with(Options {
        vars: vec![("FORDRA_MAIL", "smtp".into()), ("FORDRA_SMTP_URL", format!("smtp://{addr}"))],
    })
    .await;
    create_user(&app.pool, "nina@snickarna.se", "creditor").await;
    let id: uuid::Uuid = sqlx::query_scalar(
        "update creditor set status = 'pending', contact_email = 'nina@snickarna.se', name = 'Nya Snickarna AB',
                terms_version = '2026-1'
         returning creditor_id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let admin = staff_client(&app, "admin@fordra.test", "admin").await;
    let resp = admin
        .post(app.url(&format!("/admin/borgenarer/{id}/beslut")))
        .form(&[("decision", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let page = admin.get(app.url(&location(&resp))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Nya Snickarna AB är godkänd. Kunden får e-post om beslutet."), "{page}");
    assert_eq!(count(&app, "select count(*) from creditor where status = 'approved'").await, 1);
    // The request's wake-up tried to send and failed: the mail waits in the queue.
    let mut failed = false;
    for _ in 0..100 {
        failed = count(&app, "select count(*) from mail_queue where attempts > 0 and sent_at is null and last_error is not null").await == 1;
        if failed {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(failed, "one failed attempt is recorded");

    // The server comes back; after the retry's backoff the mail step sends it, once.
    let smtp = SmtpServer::start_on(addr).await;
    app.state.clock.advance(chrono::Duration::minutes(2));
    let sent = fordra::mail::deliver_queue(
        &app.pool,
        &app.state.mailer,
        &app.state.config.mail_from,
        app.state.clock.now(),
    )
    .await
    .unwrap();
    assert_eq!(sent, 1);
    let mails = smtp.wait_for(1).await;
    assert!(mails[0].contains("To: nina@snickarna.se"));
    assert!(body_text(&mails[0]).contains("Nya Snickarna AB är nu godkänd"));
    app.state.clock.advance(chrono::Duration::hours(1));
    let again = fordra::mail::deliver_queue(
        &app.pool,
        &app.state.mailer,
        &app.state.config.mail_from,
        app.state.clock.now(),
    )
    .await
    .unwrap();
    assert_eq!(again, 0);
    assert_eq!(smtp.count(), 1, "sent exactly once");
}

#[tokio::test]
async fn two_admins_deciding_at_once_make_one_decision() {
    let (pool, db_name) = crate::harness::fresh_db_with_pool(8).await;
    let app = TestApp::spawn_on(pool, db_name, Options::default()).await;
    let mut ids = vec![];
    for i in 0..6 {
        let email = format!("kund{i}@snickarna.se");
        create_user(&app.pool, &email, "creditor").await;
        let id: uuid::Uuid = sqlx::query_scalar(
            "update creditor set status = 'pending', contact_email = $1
             where creditor_id = (select creditor_id from app_user where email = $1) returning creditor_id",
        )
        .bind(&email)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        ids.push(id);
    }
    let first = staff_client(&app, "admin1@fordra.test", "admin").await;
    let second = staff_client(&app, "admin2@fordra.test", "admin").await;
    // For each creditor, one admin approves while the other rejects.
    let mut tasks = tokio::task::JoinSet::new();
    for id in &ids {
        for (client, form) in [
            (first.clone(), vec![("decision", "approve")]),
            (second.clone(), vec![("decision", "reject"), ("reason", "Fel bransch")]),
        ] {
            let url = app.url(&format!("/admin/borgenarer/{id}/beslut"));
            tasks.spawn(async move { client.post(url).form(&form).send().await.unwrap().status() });
        }
    }
    while let Some(status) = tasks.join_next().await {
        assert_eq!(status.unwrap(), 303);
    }
    for id in &ids {
        let (status, audits, mails): (String, i64, i64) = sqlx::query_as(
            "select status,
                (select count(*) from audit_event where subject = $1::text and action in ('creditor_approved', 'creditor_rejected')),
                (select count(*) from mail_queue where to_addr = contact_email)
             from creditor where creditor_id = $1",
        )
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert!(status == "approved" || status == "rejected", "{status}");
        assert_eq!((audits, mails), (1, 1), "one decision for {id}");
    }
}
