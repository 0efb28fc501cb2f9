//! The partner programme from the command line: partners with numbers that carry a check digit
//! (made by the database, checked by the domain rules), and creditors created as a partner's
//! customers under the attribution rules.

use crate::harness::{fordra_cli, fresh_db};

fn run(db: &str, today: &str, args: &[&str]) -> (bool, String, String) {
    let out = fordra_cli(db).env("FORDRA_TODAY", today).args(args).output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

#[tokio::test]
async fn partners_get_numbers_and_customers_from_the_command_line() {
    let (pool, db) = fresh_db().await;
    let (ok, out, err) = run(
        &db,
        "2026-03-02",
        &["create-partner", "--org-nr", "556036-0793", "--name", "Redovisning AB", "--approved"],
    );
    assert!(ok, "{out}{err}");
    let number = out.lines().last().unwrap().to_string();
    // The database's number carries the domain's Luhn digit.
    let serial = fordra::domain::partner::parse_number(&number).unwrap();
    assert_eq!(fordra::domain::partner::number(serial), number);
    let (ok, out, _) = run(
        &db,
        "2026-03-02",
        &["create-partner", "--org-nr", "556677-8899", "--name", "Väntar AB"],
    );
    assert!(ok);
    let pending = out.lines().last().unwrap().to_string();
    assert_ne!(pending, number);
    assert!(fordra::domain::partner::parse_number(&pending).is_ok());
    let (ok, _, err) =
        run(&db, "2026-03-02", &["create-partner", "--org-nr", "556036-0793", "--name", "Igen AB"]);
    assert!(!ok && err.contains("already exists"), "{err}");

    // A creditor created for the approved partner is its customer from the business date.
    let (ok, out, err) = run(
        &db,
        "2026-03-05",
        &[
            "create-creditor",
            "--org-nr",
            "5560160680",
            "--name",
            "Kund AB",
            "--approved",
            "--partner",
            &number,
        ],
    );
    assert!(ok, "{out}{err}");
    assert!(out.contains(&format!("customer of partner {number} from 2026-03-05")), "{out}");
    let (via, since): (String, chrono::NaiveDate) = sqlx::query_as(
        "select pc.via, pc.since from partner_customer pc join partner p using (partner_id) where p.partner_number = $1",
    )
    .bind(&number)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((via.as_str(), since.to_string().as_str()), ("created", "2026-03-05"));

    // Refused, and nothing stored: a pending partner, a mistyped number.
    let (ok, _, err) = run(
        &db,
        "2026-03-05",
        &["create-creditor", "--org-nr", "5561234567", "--name", "Två AB", "--partner", &pending],
    );
    assert!(!ok && err.contains("Partnern är inte godkänd"), "{err}");
    let mut typo = number.clone().into_bytes();
    typo[2] = if typo[2] == b'9' { b'8' } else { typo[2] + 1 };
    let typo = String::from_utf8(typo).unwrap();
    let (ok, _, err) = run(
        &db,
        "2026-03-05",
        &["create-creditor", "--org-nr", "5561234567", "--name", "Två AB", "--partner", &typo],
    );
    assert!(!ok && err.contains("Partnernumret finns inte"), "{err}");
    let creditors: i64 =
        sqlx::query_scalar("select count(*) from creditor").fetch_one(&pool).await.unwrap();
    assert_eq!(creditors, 1, "a refused customer is not created either");
}

fn signup<'a>(org: &'a str, email: &'a str, code: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut form = crate::onboarding::signup_form(org, email, "bygg");
    form.push(("referral_code", code));
    form
}

/// Sign-ups through a partner's link, code or referral, over HTTP: who gets the customer, and
/// what a partner that does not get it is told.
#[tokio::test]
async fn sign_ups_are_attributed_by_link_and_referral_and_the_losers_are_told_why() {
    use crate::harness::{Options, TestApp, location};
    let app =
        TestApp::spawn_with(Options { vars: vec![("FORDRA_TODAY", "2026-03-02".into())] }).await;
    let mut numbers = vec![];
    for (org, name) in
        [("165560360793", "Alfa Redovisning AB"), ("165566778899", "Beta Revision AB")]
    {
        let n: String = sqlx::query_scalar(
            "insert into partner (partner_id, org_nr, name, status) values (gen_random_uuid(), $1, $2, 'approved') returning partner_number",
        )
        .bind(org)
        .bind(name)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        numbers.push(n);
    }
    let (alfa, beta) = (numbers[0].clone(), numbers[1].clone());

    // The link leads to the sign-up form with the number filled in; a wrong check digit is 404.
    let resp = app.get(&format!("/r/{alfa}")).await;
    assert_eq!(location(&resp), format!("/bli-kund?ref_code={alfa}"));
    let form = app.get(&location(&resp)).await.text().await.unwrap();
    assert!(form.contains(&format!("value=\"{alfa}\"")), "the code is filled in");
    let mut wrong = alfa.clone().into_bytes();
    let last = wrong.len() - 1;
    wrong[last] = if wrong[last] == b'9' { b'0' } else { wrong[last] + 1 };
    let wrong = String::from_utf8(wrong).unwrap();
    assert_eq!(app.get(&format!("/r/{wrong}")).await.status(), 404);

    // A code that is no partner's is refused on its field, and nothing is stored.
    let resp = app.post_form("/bli-kund", &signup("5560160680", "a@kund.se", &wrong)).await;
    assert_eq!(resp.status(), 422);
    assert!(resp.text().await.unwrap().contains("kontrollsiffra"));
    let resp = app.post_form("/bli-kund", &signup("5560160680", "a@kund.se", "9999996")).await;
    assert_eq!(resp.status(), 422);
    assert!(resp.text().await.unwrap().contains("Det finns ingen partner med numret 9999996"));

    // By link: Alfa's customer from the sign-up day.
    let resp = app.post_form("/bli-kund", &signup("5560160680", "a@kund.se", &alfa)).await;
    assert_eq!(resp.status(), 303);
    // Beta referred a company on 2026-01-01 that then signs up with Alfa's code: the first
    // referral wins, and Alfa is told why.
    let refer = |org: &'static str, on: &'static str| {
        sqlx::query(
            "insert into partner_referral (referral_id, partner_id, org_nr, name, email, referred_on, created_at)
             select gen_random_uuid(), partner_id, $2, 'Kund', 'k@kund.se', $3::date, now() from partner where partner_number = $1",
        )
        .bind(beta.clone())
        .bind(org)
        .bind(on)
    };
    refer("165561234567", "2026-01-01").execute(&app.pool).await.unwrap();
    let resp = app.post_form("/bli-kund", &signup("5561234567", "b@kund.se", &alfa)).await;
    assert_eq!(resp.status(), 303);
    // Beta referred another 181 days before it signs up: nobody's customer, Beta is told.
    refer("165568118508", "2025-09-02").execute(&app.pool).await.unwrap();
    let resp = app.post_form("/bli-kund", &signup("5568118508", "c@kund.se", "")).await;
    assert_eq!(resp.status(), 303);

    let customers: Vec<(String, String, String, String)> = sqlx::query_as(
        "select p.partner_number, c.org_nr, pc.via, pc.since::text from partner_customer pc
         join partner p using (partner_id) join creditor c using (creditor_id) order by c.org_nr",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        customers,
        [
            (alfa.clone(), "165560160680".into(), "link".into(), "2026-03-02".into()),
            (beta.clone(), "165561234567".into(), "referral".into(), "2026-03-02".into()),
        ]
    );
    let told: Vec<(String, String, String)> = sqlx::query_as(
        "select p.partner_number, n.org_nr, n.reason from partner_not_attributed n join partner p using (partner_id) order by n.org_nr",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(told.len(), 2, "{told:?}");
    assert_eq!((told[0].0.as_str(), told[0].1.as_str()), (alfa.as_str(), "165561234567"));
    assert!(told[0].2.contains("en annan partner"), "{told:?}");
    assert_eq!((told[1].0.as_str(), told[1].1.as_str()), (beta.as_str(), "165568118508"));
    assert!(told[1].2.contains("181 dagar efter hänvisningen"), "{told:?}");
}

/// `/partner/kunder`: a partner refers companies (refused on the field when the company is a
/// customer already or another partner referred it first), sees its customers and referrals,
/// and never another partner's.
#[tokio::test]
async fn a_partner_refers_companies_and_sees_only_its_own() {
    use crate::harness::{Options, PASSWORD, TestApp, create_user, location, logged_in};
    let app =
        TestApp::spawn_with(Options { vars: vec![("FORDRA_TODAY", "2026-03-02".into())] }).await;
    create_user(&app.pool, "p@alfa.se", "partner").await;
    create_user(&app.pool, "p@beta.se", "partner").await;
    create_user(&app.pool, "kund@exempel.se", "creditor").await;
    sqlx::query("update creditor set org_nr = '165560360793'").execute(&app.pool).await.unwrap();
    app.login("p@alfa.se", PASSWORD).await;
    let page = app.get("/partner/kunder").await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Ni har inga kunder ännu"));

    let refer = |org: &'static str| {
        vec![("org_nr", org), ("name", "Nya Bygg AB"), ("email", "info@nyabygg.se")]
    };
    // A Fordra customer already: refused on the org.nr field, nothing stored.
    let resp = app.post_form("/partner/kunder", &refer("556036-0793")).await;
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    assert!(html.contains("var kund hos Fordra redan"), "{html}");
    assert!(html.contains("aria-invalid=\"true\" aria-describedby=\"f-org_nr-error\""));
    // Bad input is named on its field.
    let resp = app
        .post_form("/partner/kunder", &[("org_nr", "556036-0794"), ("name", ""), ("email", "x")])
        .await;
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    assert!(html.contains("f-name-error") && html.contains("f-email-error"), "{html}");
    // A new company: referred and listed.
    let resp = app.post_form("/partner/kunder", &refer("556123-4567")).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), "/partner/kunder");
    let html = app.get("/partner/kunder").await.text().await.unwrap();
    assert!(html.contains("Nya Bygg AB") && html.contains("556123-4567"), "{html}");
    // Again: said so.
    let resp = app.post_form("/partner/kunder", &refer("556123-4567")).await;
    assert!(resp.text().await.unwrap().contains("Ni hänvisade företaget redan 2026-03-02"));

    // Beta sees none of it, and the first referral wins over its own.
    let beta = logged_in(&app, "p@beta.se").await;
    let html = beta.get(app.url("/partner/kunder")).send().await.unwrap().text().await.unwrap();
    assert!(!html.contains("Nya Bygg AB"), "another partner's referral is not shown");
    let form = refer("556123-4567");
    let resp = beta.post(app.url("/partner/kunder")).form(&form).send().await.unwrap();
    assert_eq!(resp.status(), 422);
    assert!(resp.text().await.unwrap().contains("en annan partner"));
    // A creditor cannot open the partner's pages.
    let creditor = logged_in(&app, "kund@exempel.se").await;
    let status = creditor.get(app.url("/partner/kunder")).send().await.unwrap().status();
    assert!(status == 403 || status == 404, "{status}");
}

/// Admins approve a pending partner and end an approved one's agreement (a reason required);
/// support sees the list but cannot decide; both are audited, and a revoked partner gets no new
/// customers.
#[tokio::test]
async fn admins_approve_and_revoke_partners_and_support_cannot() {
    use crate::harness::{Options, TestApp, location, staff_client};
    let app =
        TestApp::spawn_with(Options { vars: vec![("FORDRA_TODAY", "2026-03-02".into())] }).await;
    let (id, number): (uuid::Uuid, String) = sqlx::query_as(
        "insert into partner (partner_id, org_nr, name) values (gen_random_uuid(), '165560360793', 'Alfa Redovisning AB')
         returning partner_id, partner_number",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let support = staff_client(&app, "support@fordra.se", "support").await;
    let list = support.get(app.url("/admin/partner")).send().await.unwrap();
    assert_eq!(list.status(), 200);
    let html = list.text().await.unwrap();
    assert!(html.contains(&number) && html.contains("Väntar på beslut"));
    assert!(!html.contains("Godkänn"), "support has no decision buttons");
    let decide = format!("/admin/partner/{id}/beslut");
    let resp =
        support.post(app.url(&decide)).form(&[("decision", "approve")]).send().await.unwrap();
    assert_eq!(resp.status(), 403);

    let admin = staff_client(&app, "admin@fordra.se", "admin").await;
    let resp = admin.post(app.url(&decide)).form(&[("decision", "approve")]).send().await.unwrap();
    assert_eq!(location(&resp), "/admin/partner");
    let again = admin.post(app.url(&decide)).form(&[("decision", "approve")]).send().await.unwrap();
    assert_eq!(again.status(), 303, "a second approval changes nothing");
    let resp = admin
        .post(app.url(&decide))
        .form(&[("decision", "revoke"), ("reason", " ")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    assert!(resp.text().await.unwrap().contains("Ange skälet"));
    let resp = admin
        .post(app.url(&decide))
        .form(&[("decision", "revoke"), ("reason", "Avtalet sagt upp av partnern")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let (status, revoked): (String, Option<chrono::NaiveDate>) =
        sqlx::query_as("select status, revoked_on from partner where partner_id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(status, "revoked");
    assert_eq!(revoked.map(|d| d.to_string()).as_deref(), Some("2026-03-02"));
    let actions: Vec<String> = sqlx::query_scalar(
        "select action from audit_event where action like 'partner_%' order by at, action",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(actions, ["partner_approved", "partner_revoked"]);
    let (ok, _, err) = run(
        &app.db_name,
        "2026-03-03",
        &["create-creditor", "--org-nr", "5560160680", "--name", "Kund AB", "--partner", &number],
    );
    assert!(!ok && err.contains("inte godkänd, eller avtalet har upphört"), "{err}");
}

/// Either side ends a relationship: the partner for one of its customers (another partner's is
/// 404), the creditor from its overview. The relationship is kept with its end date.
#[tokio::test]
async fn either_side_ends_a_relationship_and_it_is_kept_with_its_end_date() {
    use crate::harness::{Options, PASSWORD, TestApp, create_user, location, logged_in};
    let app =
        TestApp::spawn_with(Options { vars: vec![("FORDRA_TODAY", "2026-03-02".into())] }).await;
    let alfa_user = create_user(&app.pool, "p@alfa.se", "partner").await;
    create_user(&app.pool, "p@beta.se", "partner").await;
    let first = create_user(&app.pool, "ett@kund.se", "creditor").await;
    let second = create_user(&app.pool, "tva@kund.se", "creditor").await;
    // Both creditors are Alfa's customers since January.
    sqlx::query(
        "insert into partner_customer (partner_customer_id, partner_id, creditor_id, via, since)
         select gen_random_uuid(), (select partner_id from app_user where user_id = $1), u.creditor_id, 'created', '2026-01-15'
         from app_user u where u.user_id = any($2)",
    )
    .bind(alfa_user)
    .bind(vec![first, second])
    .execute(&app.pool)
    .await
    .unwrap();
    let creditor_of = |user: uuid::Uuid| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, uuid::Uuid>(
                "select creditor_id from app_user where user_id = $1",
            )
            .bind(user)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let (first_c, second_c) = (creditor_of(first).await, creditor_of(second).await);

    // Beta cannot end Alfa's relationship.
    let beta = logged_in(&app, "p@beta.se").await;
    let path = format!("/partner/kunder/{first_c}/avsluta");
    assert_eq!(beta.post(app.url(&path)).send().await.unwrap().status(), 404);

    // Alfa ends the first.
    app.login("p@alfa.se", PASSWORD).await;
    let page = app.get("/partner/kunder").await.text().await.unwrap();
    assert!(page.contains(&path), "each current customer has an end button");
    let resp = app.post_form(&path, &[]).await;
    assert_eq!(location(&resp), "/partner/kunder");
    assert_eq!(app.post_form(&path, &[]).await.status(), 404, "nothing left to end");

    // The second creditor sees its partner and ends it itself.
    let creditor = logged_in(&app, "tva@kund.se").await;
    let home = creditor.get(app.url("/borgenar")).send().await.unwrap().text().await.unwrap();
    assert!(home.contains("sedan 2026-01-15"), "{home}");
    let resp = creditor.post(app.url("/borgenar/partner/avsluta")).send().await.unwrap();
    assert_eq!(resp.status(), 303);
    let home = creditor.get(app.url("/borgenar")).send().await.unwrap().text().await.unwrap();
    assert!(!home.contains("id=\"partner\""));

    let ended: Vec<(uuid::Uuid, String)> = sqlx::query_as(
        "select creditor_id, ended_on::text from partner_customer where ended_on is not null order by ended_on, creditor_id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let mut expected =
        vec![(first_c, "2026-03-02".to_string()), (second_c, "2026-03-02".to_string())];
    expected.sort();
    let mut ended = ended;
    ended.sort();
    assert_eq!(ended, expected);
    let audited: i64 = sqlx::query_scalar(
        "select count(*) from audit_event where action = 'partner_relationship_ended'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(audited, 2);
}

/// Inkassoskolan states the fees, days and commission of the rules in force, from the data.
#[tokio::test]
async fn inkassoskolan_shows_the_rules_in_force() {
    use crate::harness::{Options, PASSWORD, TestApp, create_user};
    let app =
        TestApp::spawn_with(Options { vars: vec![("FORDRA_TODAY", "2026-03-02".into())] }).await;
    create_user(&app.pool, "p@alfa.se", "partner").await;
    app.login("p@alfa.se", PASSWORD).await;
    let html = app.get("/partner/inkassoskolan").await.text().await.unwrap();
    let mut conn = app.pool.acquire().await.unwrap();
    let params = fordra::parameters::load(&mut conn).await.unwrap();
    let rules = params.book.in_force("2026-03-02".parse().unwrap());
    for (what, shown) in [
        ("reminder fee", format!("när skulden uppstod tar vi ut {}", rules.reminder_fee)),
        ("collection fee", format!("inkassoavgift på {}", rules.collection_fee)),
        ("reminder days", format!("{} dagar på sig att betala", rules.reminder_deadline_days)),
        ("commission", format!("Ni får {} för varje påminnelse", rules.commission_reminder)),
        ("referral days", format!("En hänvisning gäller i {} dagar", rules.referral_valid_days)),
    ] {
        assert!(html.contains(&shown), "{what}: {shown} in {html}");
    }
    // Today's reference rate when it is published, and not otherwise.
    let today = "2026-03-02".parse().unwrap();
    match params.rates.period_of(today).filter(|r| !r.projected) {
        Some(r) => {
            let comma = fordra::web::filters::comma_of;
            let shown =
                format!("i dag {} + {} procent", comma(r.percent), comma(rules.interest_margin));
            assert!(html.contains(&shown), "{shown}");
        }
        None => assert!(!html.contains("§), i dag"), "no rate shown when none is published"),
    }
}

/// The partner's overview: its number and link, and the end of the agreement period running
/// today (signed 2025-01-15: twelve months, then the first three-month renewal to 2026-04-14).
#[tokio::test]
async fn the_overview_shows_the_number_the_link_and_the_agreement_period() {
    use crate::harness::{Options, PASSWORD, TestApp, create_user};
    let app =
        TestApp::spawn_with(Options { vars: vec![("FORDRA_TODAY", "2026-03-02".into())] }).await;
    create_user(&app.pool, "p@alfa.se", "partner").await;
    let number: String = sqlx::query_scalar(
        "update partner set status = 'approved', agreement_signed_on = '2025-01-15' returning partner_number",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    app.login("p@alfa.se", PASSWORD).await;
    let html = app.get("/partner").await.text().await.unwrap();
    assert!(html.contains(&format!("<dd id=\"partner-number\">{number}</dd>")), "{html}");
    assert!(html.contains(&format!("/r/{number}</a>")), "{html}");
    assert!(html.contains("<dd id=\"period-end\">2026-04-14</dd>"), "{html}");
}

/// A partner creates a customer (invited to choose a password and accept the terms), registers
/// a claim for it by form, starting with an inkassokrav, and imports a file in the background,
/// all or nothing, with progress; the claims show who registered them; another partner reaches
/// none of it.
#[tokio::test]
async fn a_partner_creates_a_customer_and_registers_its_claims() {
    use crate::harness::{Options, TestApp, create_user, location, logged_in};
    let app =
        TestApp::spawn_with(Options { vars: vec![("FORDRA_TODAY", "2026-03-02".into())] }).await;
    create_user(&app.pool, "p@alfa.se", "partner").await;
    sqlx::query("update partner set status = 'approved', agreement_signed_on = '2026-01-15'")
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("insert into creditor (creditor_id, org_nr, name) values (gen_random_uuid(), '165566778899', 'Finns AB')")
        .execute(&app.pool)
        .await
        .unwrap();
    let partner = logged_in(&app, "p@alfa.se").await;
    let post = |path: &str, form: &[(&str, &str)]| {
        partner
            .post(app.url(path))
            .form(&form.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>())
            .send()
    };
    let customer = |org: &'static str, email: &'static str| {
        [("org_nr", org), ("name", "Kund AB"), ("contact_name", "Kim Kund"), ("email", email)]
    };
    // Refused on the right field, nothing stored: a bad address, a company already at Fordra.
    let r = post("/partner/kunder/ny", &customer("556036-0793", "kim")).await.unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("id=\"f-email-error\""));
    let existing: String =
        sqlx::query_scalar("select org_nr from creditor").fetch_one(&app.pool).await.unwrap();
    let existing = existing[2..].to_string();
    let r = partner
        .post(app.url("/partner/kunder/ny"))
        .form(&[
            ("org_nr", existing.as_str()),
            ("name", "Kund AB"),
            ("contact_name", "Kim"),
            ("email", "kim@kund.se"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Företaget är redan kund hos Fordra"));
    let pool = app.pool.clone();
    let count = |sql: &'static str| {
        let pool = pool.clone();
        async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(&pool).await.unwrap() }
    };
    assert_eq!(count("select count(*) from partner_customer").await, 0);

    let r = post("/partner/kunder/ny", &customer("556036-0793", "kim@kund.se")).await.unwrap();
    assert_eq!(r.status(), 303);
    let page = location(&r);
    let id = page.trim_start_matches("/partner/kunder/").to_string();
    let (via, status): (String, String) = sqlx::query_as(
        "select pc.via, c.status from partner_customer pc join creditor c using (creditor_id) where c.org_nr = '165560360793'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((via.as_str(), status.as_str()), ("created", "pending"));
    let mail =
        app.mail_to("kim@kund.se", |m| m.mail.subject.contains("har registrerat Kund AB")).await;
    assert!(mail.mail.text.contains("/losenord/ny?token="), "{}", mail.mail.text);

    // A claim by form, starting with an inkassokrav.
    assert_eq!(
        partner.get(app.url(&format!("{page}/krav/ny"))).send().await.unwrap().status(),
        200
    );
    let claim = [
        ("invoice_number", "P-1"),
        ("description", "Bokföring"),
        ("capital", "1500,00"),
        ("invoice_date", "2026-01-10"),
        ("due_date", "2026-02-09"),
        ("start_with", "collection"),
        ("debtor.kind", "person"),
        ("debtor.id_number", "198112189876"),
        ("debtor.name", "Sven Svensson"),
        ("debtor.capacity", "consumer"),
        ("debtor.address.street", "Storgatan 1"),
        ("debtor.address.postal_code", "11122"),
        ("debtor.address.city", "Stockholm"),
    ];
    let r = post(&format!("{page}/krav/ny"), &claim).await.unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let (start, by_partner): (String, bool) = sqlx::query_as(
        "select c.start_with, u.role = 'partner' from claim c join app_user u on u.user_id = c.registered_by where c.invoice_number = 'P-1'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((start.as_str(), by_partner), ("collection", true));
    let r = post(&format!("{page}/krav/ny"), &claim).await.unwrap();
    assert_eq!(r.status(), 422, "the same invoice number again");

    // A file in the background: a bad one is refused whole, a good one registers every row.
    const HEADER: &str = "fakturanummer;belopp;fakturadatum;förfallodag;galdenar_typ;person_orgnr;namn;egenskap;gatuadress;postnummer;postort\r\n";
    let row = |i: usize, amount: &str| {
        format!(
            "B-{i};{amount};2026-01-10;2026-02-09;person;198112189876;Åsa Öberg;konsument;Kyrkgatan 3;72211;Västerås\r\n"
        )
    };
    let upload = |body: String| {
        let part = reqwest::multipart::Part::bytes(body.into_bytes()).file_name("kunder.csv");
        partner
            .post(app.url(&format!("{page}/import")))
            .multipart(reqwest::multipart::Form::new().part("file", part))
            .send()
    };
    async fn wait(client: &reqwest::Client, url: String) -> String {
        for _ in 0..100 {
            let html = client.get(&url).send().await.unwrap().text().await.unwrap();
            if !html.contains("Bearbetar fordringar") {
                return html;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("the import did not finish");
    }
    let mut bad = HEADER.to_string();
    for i in 0..2500 {
        bad += &row(i, if i == 2400 { "tusen" } else { "100,00" });
    }
    let r = upload(bad).await.unwrap();
    assert_eq!(r.status(), 303);
    let html = wait(&partner, app.url(&location(&r))).await;
    assert!(html.contains("Ingenting importerades: 1 fel"), "{html}");
    assert!(html.contains("<td>2402</td>"), "{html}");
    assert_eq!(count("select count(*) from claim where invoice_number like 'B-%'").await, 0);
    let mut good = HEADER.to_string();
    for i in 0..2500 {
        good += &row(i, "100,00");
    }
    let r = upload(good).await.unwrap();
    let html = wait(&partner, app.url(&location(&r))).await;
    assert!(html.contains("Klart: 2\u{a0}500 fordringar registrerade för Kund AB"), "{html}");
    assert_eq!(count("select count(*) from claim where invoice_number like 'B-%'").await, 2500);

    // The creditor's user and staff see who registered it.
    let claim_id: uuid::Uuid =
        sqlx::query_scalar("select claim_id from claim where invoice_number = 'P-1'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let staff = crate::harness::staff_client(&app, "stod@fordra.se", "support").await;
    let html = staff
        .get(app.url(&format!("/admin/krav/{claim_id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("partner Partnerbyrån AB (partnernummer"), "{html}");

    // Asking Fordra about a customer's claim opens a support ticket tied to it.
    let ask = |claim: &'static str| {
        [
            ("claim", claim),
            ("subject", "Fråga om P-1"),
            ("body", "Gäldenären säger att hen har betalat."),
        ]
    };
    let r = post("/partner/hjalp", &ask("X-9")).await.unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("id=\"f-claim-error\""));
    let r = post("/partner/hjalp", &ask("P-1")).await.unwrap();
    assert_eq!(r.status(), 303);
    let (ticket_claim, author): (Option<uuid::Uuid>, String) = sqlx::query_as(
        "select t.claim_id, m.author from ticket t join ticket_message m using (ticket_id) where t.partner_id is not null",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((ticket_claim, author.as_str()), (Some(claim_id), "partner"));
    let html = partner.get(app.url("/partner/hjalp")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Fråga om P-1") && html.contains("Hos Fordra"), "{html}");

    // Staff cannot approve the customer before its contact has accepted the terms.
    let admin = crate::harness::staff_client(&app, "admin@fordra.se", "admin").await;
    let r = admin
        .post(app.url(&format!("/admin/borgenarer/{id}/beslut")))
        .form(&[("decision", "approve")])
        .send()
        .await
        .unwrap();
    let html = admin.get(app.url(&location(&r))).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Kunden har inte godkänt villkoren ännu"), "{html}");
    assert_eq!(
        count("select count(*) from creditor where status = 'pending' and org_nr = '165560360793'")
            .await,
        1
    );

    // Another partner: 404 on every page of the customer.
    create_user(&app.pool, "q@beta.se", "partner").await;
    let other = logged_in(&app, "q@beta.se").await;
    for path in [page.clone(), format!("{page}/krav/ny")] {
        assert_eq!(other.get(app.url(&path)).send().await.unwrap().status(), 404, "{path}");
    }
    let r = other.post(app.url(&format!("{page}/krav/ny"))).form(&claim).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let r = other.post(app.url("/partner/hjalp")).form(&ask("P-1")).send().await.unwrap();
    assert_eq!(r.status(), 422, "not its customer's claim");
}
