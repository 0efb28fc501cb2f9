//! The creditor's claims in the browser over real HTTP: the form, CSV import, the list, the
//! claim page with planned steps, creditor actions, and the staff flags.

use fordra::engine;

use crate::harness::{
    Options, PASSWORD, TestApp, browser_client, create_user, fresh_db_with_pool, location,
    staff_client,
};

const TODAY: &str = "2026-03-02";

async fn creditor_app() -> TestApp {
    let app = TestApp::spawn_with(Options { vars: vec![("FORDRA_TODAY", TODAY.into())] }).await;
    create_user(&app.pool, "c@test.se", "creditor").await;
    app.login("c@test.se", PASSWORD).await;
    app
}

fn form<'a>(invoice: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        ("invoice_number", invoice),
        ("description", "Snickeriarbete"),
        ("capital", "2 500,00"),
        ("invoice_date", "2026-01-10"),
        ("due_date", "2026-02-09"),
        ("reminder_fee_agreed", "on"),
        ("start_with", "reminder"),
        ("debtor.kind", "person"),
        ("debtor.id_number", "19811218-9876"),
        ("debtor.name", "Sven Svensson"),
        ("debtor.capacity", "consumer"),
        ("debtor.address.street", "Storgatan 1"),
        ("debtor.address.postal_code", "111 22"),
        ("debtor.address.city", "Stockholm"),
    ];
    for (k, v) in extra {
        f.retain(|(key, _)| key != k);
        f.push((k, v));
    }
    f
}

async fn claims(app: &TestApp) -> i64 {
    sqlx::query_scalar("select count(*) from claim").fetch_one(&app.pool).await.unwrap()
}

#[tokio::test]
async fn the_form_puts_each_error_on_its_field_and_stores_nothing() {
    let app = creditor_app().await;
    let resp = app
        .post_form(
            "/borgenar/krav/ny",
            &form(
                "",
                &[
                    ("capital", "-5"),
                    ("due_date", "2026-01-01"),
                    ("debtor.id_number", "19811218-9875"),
                    ("debtor.address.postal_code", "1234"),
                ],
            ),
        )
        .await;
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    for field in
        ["invoice_number", "capital", "due_date", "debtor.id_number", "debtor.address.postal_code"]
    {
        assert!(html.contains(&format!("id=\"f-{field}-error\"")), "{field}");
    }
    assert!(html.contains("value=\"Sven Svensson\""), "input is kept");
    // Time-barred: arose more than three years before today for a consumer.
    let resp = app
        .post_form(
            "/borgenar/krav/ny",
            &form("P-1", &[("invoice_date", "2022-01-10"), ("due_date", "2022-02-09")]),
        )
        .await;
    assert_eq!(resp.status(), 422);
    assert!(resp.text().await.unwrap().contains("preskriberad"));
    assert_eq!(claims(&app).await, 0);
}

#[tokio::test]
async fn register_by_form_then_see_it_listed_with_its_planned_steps_and_act_on_it() {
    let app = creditor_app().await;
    let resp = app.post_form("/borgenar/krav/ny", &form("F-1", &[])).await;
    assert_eq!(resp.status(), 303);
    let page_url = location(&resp);
    assert!(page_url.starts_with("/borgenar/krav/"));
    // The same invoice number again is refused on its field.
    let resp = app.post_form("/borgenar/krav/ny", &form("F-1", &[])).await;
    assert_eq!(resp.status(), 422);
    assert!(resp.text().await.unwrap().contains("Fakturanumret finns redan registrerat"));

    let list = app.get("/borgenar/krav?q=sven&state=open").await.text().await.unwrap();
    assert!(list.contains("F-1") && list.contains("2 500,00 kr"));
    let none = app.get("/borgenar/krav?state=paid").await.text().await.unwrap();
    assert!(!none.contains(">F-1<"));
    let bad = app.get("/borgenar/krav?from=igår").await.text().await.unwrap();
    assert!(bad.contains("id=\"f-from-error\""));

    let page = app.get(&page_url).await.text().await.unwrap();
    // Due 2026-02-09; nothing sent yet on 2026-03-02, so the reminder is planned today.
    assert!(
        page.contains("Betalningspåminnelse skickas 2026-03-02 om betalning inte inkommit"),
        "{page}"
    );
    assert!(page.contains("Inkassokrav skickas 2026-03-17 om betalning inte inkommit"));
    assert!(page.contains("Dröjsmålsränta"));

    engine::tick(&app.state, TODAY.parse().unwrap()).await.unwrap();
    let page = app.get(&page_url).await.text().await.unwrap();
    assert!(page.contains("Påminnelseavgift"), "the reminder fee shows");
    assert!(page.contains("Betalningspåminnelse skickades med post"));
    assert!(page.contains("Betalningspåminnelse skapades, avgift 60,00 kr"));
    let letter_link = page
        .split("href=\"")
        .find(|s| s.contains("/brev/") && !s.contains("/pdf"))
        .map(|s| s.split('"').next().unwrap().to_string())
        .unwrap();
    let letter = app.get(&letter_link).await.text().await.unwrap();
    assert!(letter.contains("Betalningspåminnelse") && letter.contains("kontrollera-brev"));
    let pdf = app.get(&format!("{letter_link}/pdf")).await;
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF-"));

    let act = |fields: Vec<(&'static str, &'static str)>| {
        let url = format!("{page_url}/atgard");
        let app = &app;
        async move { app.post_form(&url, &fields).await }
    };
    assert_eq!(act(vec![("action", "pause")]).await.status(), 303);
    let page = app.get(&page_url).await.text().await.unwrap();
    assert!(page.contains("Pausad av borgenären"));
    assert_eq!(act(vec![("action", "resume")]).await.status(), 303);
    let resp =
        act(vec![("action", "direct_payment"), ("amount", "9999"), ("on_date", "2026-03-01")])
            .await;
    assert_eq!(resp.status(), 422);
    assert!(resp.text().await.unwrap().contains("id=\"f-amount-error\""));
    assert_eq!(
        act(vec![("action", "credit"), ("amount", "500"), ("on_date", "2026-03-01")])
            .await
            .status(),
        303
    );
    let page = app.get(&page_url).await.text().await.unwrap();
    assert!(page.contains("Kreditering 500,00 kr den 2026-03-01"));
    // The interest lines show each period with the capital it ran on.
    assert!(
        page.contains("2026-02-10 – 2026-03-01, 10,00 % på 2 500,00 kr")
            && page.contains("2026-03-02 – 2026-03-02, 10,00 % på 2 000,00 kr"),
        "{page}"
    );
    assert_eq!(act(vec![("action", "withdraw")]).await.status(), 303);
    let page = app.get(&page_url).await.text().await.unwrap();
    assert!(page.contains("Återkallad"));
    // The debtor had a letter: a withdrawal notice goes out, asking for nothing.
    let notice: serde_json::Value =
        sqlx::query_scalar("select snapshot from letter where kind = 'withdrawal'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(notice["title"], "Kravet är återkallat");
    let r = engine::tick(&app.state, TODAY.parse().unwrap()).await.unwrap();
    assert_eq!(r.dispatched, 1, "the notice goes to print");
    let page = app.get(&page_url).await.text().await.unwrap();
    let notice_link = page
        .split("href=\"")
        .find(|s| {
            s.contains("/brev/")
                && !s.contains("/pdf")
                && s.split("</a>").next().unwrap().contains("Kravet är återkallat")
        })
        .map(|s| s.split('"').next().unwrap().to_string())
        .unwrap();
    let notice = app.get(&notice_link).await.text().await.unwrap();
    assert!(notice.contains("Kravet är återkallat") && !notice.contains("Att betala"));
    assert!(notice.contains("id=\"letter-closed\""));
    // A second withdrawal is refused and changes nothing.
    let again = act(vec![("action", "withdraw")]).await;
    assert_eq!(again.status(), 303);
    let withdrawals: i64 =
        sqlx::query_scalar("select count(*) from letter where kind = 'withdrawal'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(withdrawals, 1);
    let kinds: Vec<String> =
        sqlx::query_scalar("select kind from claim_event order by claim_event_id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    for k in ["paused", "resumed", "credit", "withdrawn"] {
        assert!(kinds.contains(&k.to_string()), "{k} in {kinds:?}");
    }
    let audited: i64 =
        sqlx::query_scalar("select count(*) from audit_event where action like 'claim_%'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(audited, 4);
    // Another creditor cannot see it.
    create_user(&app.pool, "other@test.se", "creditor").await;
    let other = browser_client(&app.base);
    other
        .post(app.url("/logga-in"))
        .form(&[("email", "other@test.se"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(other.get(app.url(&page_url)).send().await.unwrap().status(), 404);
}

async fn upload(app: &TestApp, name: &str, bytes: Vec<u8>) -> reqwest::Response {
    let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_string());
    app.client
        .post(app.url("/borgenar/krav/import"))
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap()
}

const HEADER: &str = "fakturanummer;belopp;fakturadatum;förfallodag;galdenar_typ;person_orgnr;namn;egenskap;gatuadress;postnummer;postort";

#[tokio::test]
async fn csv_errors_are_reported_by_line_and_column_and_nothing_is_stored() {
    let app = creditor_app().await;
    let csv = format!(
        "{HEADER}\r\nA-1;100,00;2026-01-10;2026-02-09;person;198112189876;Sven;konsument;Gatan 1;11122;Ort\r\n\
         A-2;noll;2026-01-10;2026-02-09;person;198112189876;Sven;konsument;Gatan 1;11122;Ort\r\n\
         A-3;100,00;2026-01-10;2026-02-09;person;198112189875;Sven;konsument;Gatan 1;11122;Ort\r\n\
         A-1;200,00;2026-01-10;2026-02-09;person;198112189876;Sven;konsument;Gatan 1;11122;Ort\r\n"
    );
    let resp = upload(&app, "fel.csv", csv.into_bytes()).await;
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    assert!(html.contains("<td>3</td><td>belopp</td>"), "{html}");
    assert!(html.contains("<td>4</td><td>person_orgnr</td>"));
    assert!(html.contains(
        "<td>5</td><td>fakturanummer</td><td>Fakturanumret finns redan på rad 2 i filen.</td>"
    ));
    assert!(html.contains("Inget har importerats"));
    assert_eq!(claims(&app).await, 0);
    let resp = upload(&app, "tom.csv", b"hej;hopp\n".to_vec()).await;
    assert!(resp.text().await.unwrap().contains("Okänd kolumn ”hej”"));
}

#[tokio::test]
async fn a_good_csv_is_previewed_then_imported_whole_once() {
    let app = creditor_app().await;
    let template = app.get("/borgenar/krav/mall.csv").await;
    assert_eq!(template.headers()["content-type"], "text/csv; charset=utf-8");
    let mut rows = String::from(HEADER);
    rows.push_str("\r\n");
    for i in 0..300 {
        rows.push_str(&format!(
            "B-{i};1 000,50;2026-01-10;2026-02-09;person;198112189876;Sven Svensson;konsument;Gatan 1;11122;Ort\r\n"
        ));
    }
    // Windows-1252 like Excel: the header's ö as byte 0xF6.
    let bytes: Vec<u8> = rows.chars().map(|c| c as u32 as u8).collect();
    let resp = upload(&app, "bra.csv", bytes).await;
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    assert!(html.contains("300 fordringar utan fel, sammanlagt 300 150,00 kr"), "{html}");
    assert_eq!(claims(&app).await, 0, "nothing until confirmed");
    let action = html
        .split("action=\"/borgenar/krav/import/")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let commit = format!("/borgenar/krav/import/{action}");
    let resp = app.post_form(&commit, &[]).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(claims(&app).await, 300);
    let again = app.post_form(&commit, &[]).await;
    assert_eq!(again.status(), 303);
    assert_eq!(claims(&app).await, 300, "a second confirm imports nothing");
    let list = app.get("/borgenar/krav").await.text().await.unwrap();
    assert!(list.contains("300 fordringar") && list.contains("rel=\"next\""));
    let page2 = app.get("/borgenar/krav?page=6").await.text().await.unwrap();
    assert!(page2.contains("Sida 6 av 6"));
}

#[tokio::test]
async fn staff_flags_block_and_release_a_claim() {
    let app = creditor_app().await;
    let resp = app.post_form("/borgenar/krav/ny", &form("H-1", &[])).await;
    let id = location(&resp).rsplit('/').next().unwrap().to_string();
    let staff = staff_client(&app, "support@fordra.test", "support").await;
    let ocr: String =
        sqlx::query_scalar("select ocr from claim").fetch_one(&app.pool).await.unwrap();
    let found = staff
        .get(app.url(&format!("/admin/krav?q={ocr}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(found.contains(&format!("/admin/krav/{id}")));
    let flag = |flag: &'static str, value: &'static str| {
        let staff = staff.clone();
        let url = app.url(&format!("/admin/krav/{id}/flaggor"));
        async move {
            staff.post(url).form(&[("flag", flag), ("value", value)]).send().await.unwrap().status()
        }
    };
    assert_eq!(flag("returned_mail", "on").await, 303);
    let today = TODAY.parse().unwrap();
    let r = engine::tick(&app.state, today).await.unwrap();
    assert_eq!((r.steps, r.blocked), (0, 1));
    let page = staff
        .get(app.url(&format!("/admin/krav/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Post i retur – adressen måste kontrolleras"));
    assert_eq!(flag("address_verified", "on").await, 303);
    let r = engine::tick(&app.state, today).await.unwrap();
    assert_eq!(r.steps, 1, "verifying the address releases the claim the same day");
    // Creditors cannot reach the staff view.
    assert_eq!(app.get(&format!("/admin/krav/{id}")).await.status(), 403);
}

/// A claim due after today, so that paying its capital settles it (no interest, no fee yet).
async fn claim_due_later(app: &TestApp, invoice: &str) -> String {
    let f = form(invoice, &[("invoice_date", "2026-02-20"), ("due_date", "2026-03-20")]);
    let resp = app.post_form("/borgenar/krav/ny", &f).await;
    assert_eq!(resp.status(), 303);
    location(&resp)
}

async fn state_of(app: &TestApp, page_url: &str) -> String {
    let id = page_url.rsplit('/').next().unwrap();
    sqlx::query_scalar("select state from claim where claim_id = $1::uuid")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

const PAY_IN_FULL: [(&str, &str); 3] =
    [("action", "direct_payment"), ("amount", "2500,00"), ("on_date", TODAY)];

#[tokio::test]
async fn withdrawing_a_claim_paid_meanwhile_is_refused_and_changes_nothing() {
    let app = creditor_app().await;
    let page_url = claim_due_later(&app, "W-1").await;
    // The creditor has the page open in two tabs: in one the debtor's direct payment is
    // registered, in the other the (now stale) page's withdraw button is pressed.
    let paid = app.post_form(&format!("{page_url}/atgard"), &PAY_IN_FULL).await;
    assert_eq!(paid.status(), 303);
    assert_eq!(state_of(&app, &page_url).await, "paid");
    let events = |app: &TestApp| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, String>("select kind from claim_event order by claim_event_id")
                .fetch_all(&pool)
                .await
                .unwrap()
        }
    };
    let before = events(&app).await;
    let resp = app.post_form(&format!("{page_url}/atgard"), &[("action", "withdraw")]).await;
    assert_eq!(resp.status(), 303);
    let page = app.get(&page_url).await.text().await.unwrap();
    assert!(page.contains("Fordran är avslutad och kan inte ändras."), "{page}");
    assert_eq!(state_of(&app, &page_url).await, "paid");
    assert_eq!(events(&app).await, before, "no event was added");
    let letters: i64 = sqlx::query_scalar("select count(*) from letter where kind = 'withdrawal'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(letters, 0);
    app.check_ledger(TODAY);
}

#[tokio::test]
async fn concurrent_withdraw_and_pay_leave_one_consistent_state() {
    let (pool, db_name) = fresh_db_with_pool(12).await;
    let app =
        TestApp::spawn_on(pool, db_name, Options { vars: vec![("FORDRA_TODAY", TODAY.into())] })
            .await;
    create_user(&app.pool, "c@test.se", "creditor").await;
    app.login("c@test.se", PASSWORD).await;
    let mut pages = Vec::new();
    for i in 0..16 {
        pages.push(claim_due_later(&app, &format!("R-{i}")).await);
    }
    // For each claim, a withdrawal and a payment in full race each other (32 requests at once).
    let mut tasks = tokio::task::JoinSet::new();
    for (i, page) in pages.iter().enumerate() {
        for withdraw in [i % 2 == 0, i % 2 == 1] {
            let (client, url) = (app.client.clone(), app.url(&format!("{page}/atgard")));
            tasks.spawn(async move {
                let form: &[(&str, &str)] =
                    if withdraw { &[("action", "withdraw")] } else { &PAY_IN_FULL };
                client.post(url).form(form).send().await.unwrap().status()
            });
        }
    }
    while let Some(status) = tasks.join_next().await {
        assert_eq!(status.unwrap(), 303);
    }
    let (mut withdrawn, mut paid) = (0, 0);
    for page in &pages {
        let id = page.rsplit('/').next().unwrap();
        let (state, reductions, kinds): (String, i64, Vec<String>) = sqlx::query_as(
            "select c.state, (select count(*) from capital_reduction r where r.claim_id = c.claim_id),
                    array(select kind from claim_event e where e.claim_id = c.claim_id and kind in ('withdrawn', 'paid', 'direct_payment') order by kind)
             from claim c where c.claim_id = $1::uuid",
        )
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        match state.as_str() {
            // Withdrawn first: the payment was refused and left no trace.
            "withdrawn" => {
                withdrawn += 1;
                assert_eq!((reductions, kinds), (0, vec!["withdrawn".to_string()]));
            }
            // Paid first: the withdrawal was refused.
            "paid" => {
                paid += 1;
                assert_eq!(
                    (reductions, kinds),
                    (1, vec!["direct_payment".to_string(), "paid".to_string()])
                );
            }
            other => panic!("claim {id} ended {other}"),
        }
    }
    assert_eq!(withdrawn + paid, 16);
    app.check_ledger(TODAY);
}

fn csv_row(invoice: &str, amount: &str) -> String {
    format!(
        "{invoice};{amount};2026-01-10;2026-02-09;person;198112189876;Åsa Öberg;konsument;Kyrkgatan 3;72211;Västerås\r\n"
    )
}

/// `fordra import-claims`: any number of rows (here more than the web's 20,000, read and stored
/// 2,000 at a time), Windows-1252 as Excel writes it, all of it or nothing, and a refused file
/// names every bad line with the same messages the web preview gives.
#[tokio::test]
async fn the_command_line_imports_claims_whole_or_names_every_bad_line() {
    let app = creditor_app().await;
    sqlx::query("update creditor set org_nr = '165560360793'").execute(&app.pool).await.unwrap();
    let dir = std::env::temp_dir().join(format!("import-claims-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let run = |file: &std::path::Path| {
        let out = crate::harness::fordra_cli(&app.db_name)
            .env("FORDRA_TODAY", TODAY)
            .args(["import-claims", "--creditor", "556036-0793"])
            .arg(file)
            .output()
            .unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (out.status.success(), text(&out.stdout), text(&out.stderr))
    };

    let mut big = format!("{HEADER}\r\n");
    for i in 0..21_000 {
        big.push_str(&csv_row(&format!("C-{i}"), "1 000,50"));
    }
    let big: Vec<u8> = big.chars().map(|c| c as u32 as u8).collect();
    let path = dir.join("stora.csv");
    std::fs::write(&path, &big).unwrap();
    let (ok, out, err) = run(&path);
    assert!(ok, "{out}{err}");
    assert_eq!(out.lines().last(), Some("imported 21000 claims (21 010 500,00 kr in capital)"));
    assert_eq!(claims(&app).await, 21_000);
    let name: String = sqlx::query_scalar("select debtor_name from claim limit 1")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(name, "Åsa Öberg");

    // Bad lines in several chunks: an amount, a personnummer, an invoice number repeated two
    // chunks later, and one registered by the import above.
    let mut bad = format!("{HEADER}\r\n");
    for i in 0..5_000 {
        let (invoice, amount) = match i {
            1 => ("D-1".to_string(), "noll"),
            4_499 => ("D-0".to_string(), "10,00"),
            4_998 => ("C-7".to_string(), "10,00"),
            _ => (format!("D-{i}"), "10,00"),
        };
        bad.push_str(&csv_row(&invoice, amount));
    }
    let bad = bad.replacen(
        "D-2;10,00;2026-01-10;2026-02-09;person;198112189876",
        "D-2;10,00;2026-01-10;2026-02-09;person;198112189875",
        1,
    );
    let path = dir.join("fel.csv");
    std::fs::write(&path, &bad).unwrap();
    let (ok, out, err) = run(&path);
    assert!(!ok, "{out}");
    assert_eq!(claims(&app).await, 21_000, "nothing of a refused file is kept");
    let named: Vec<&str> = err.lines().filter(|l| l.contains(": rad ")).collect();
    // The web import's check of the same bytes finds the same errors.
    let mut conn = app.pool.acquire().await.unwrap();
    let creditor: uuid::Uuid =
        sqlx::query_scalar("select creditor_id from creditor").fetch_one(&mut *conn).await.unwrap();
    let params = fordra::parameters::load(&mut conn).await.unwrap();
    let checked = fordra::claims::service::check(
        &mut conn,
        creditor,
        bad.as_bytes(),
        TODAY.parse().unwrap(),
        &params,
    )
    .await
    .unwrap();
    drop(conn);
    let expected: Vec<String> = checked
        .errors
        .iter()
        .map(|e| format!("{}: rad {}, kolumn {}: {}", path.display(), e.line, e.column, e.message))
        .collect();
    assert_eq!(named, expected, "{err}");
    assert_eq!(expected.len(), 4, "{expected:?}");
    assert!(
        expected[2].ends_with(
            "rad 4501, kolumn fakturanummer: Fakturanumret finns redan på rad 2 i filen."
        ),
        "{expected:?}"
    );
    assert!(
        expected[3]
            .contains("rad 5000, kolumn fakturanummer: Fakturanumret finns redan registrerat"),
        "{expected:?}"
    );
    assert!(err.contains("4 bad line(s); nothing was imported"), "{err}");

    // A file-level problem and a creditor that is not there.
    std::fs::write(dir.join("tom.csv"), format!("{HEADER}\r\n")).unwrap();
    let (ok, _, err) = run(&dir.join("tom.csv"));
    assert!(!ok && err.contains("rad 1: Filen innehåller inga fakturor"), "{err}");
    let out = crate::harness::fordra_cli(&app.db_name)
        .args(["import-claims", "--creditor", "556677-8899"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no approved creditor"));
    let _ = std::fs::remove_dir_all(&dir);
}
