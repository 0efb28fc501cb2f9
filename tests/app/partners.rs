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
