//! The Kronofogden hand-off: claims in `enforcement_ready` pass the readiness check
//! (`domain::enforcement`), and staff export the data of an ansökan om betalningsföreläggande
//! for one case or a selection, as CSV, JSON, or a PDF laid out like Kronofogden's form. An
//! export marks the claims as handed off with the date; they are not exported again unless
//! asked. The claim stays open until Kronofogden's outcome.

pub mod web;

use chrono::NaiveDate;
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{
    auth::Acting,
    claims::{self, ClaimRecord},
    config::Identity,
    domain::{enforcement, ids::IdNumber, money::Sek},
    parameters::Parameters,
};

/// A party of the application.
#[derive(Clone, Debug, Serialize)]
pub struct Party {
    pub name: String,
    pub id_number: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// One cost claimed besides the capital, by its legal name.
#[derive(Clone, Debug, Serialize)]
pub struct Cost {
    pub name: &'static str,
    pub amount: String,
}

/// Interest as the application states it: a basis and the date it runs from.
#[derive(Clone, Debug, Serialize)]
pub struct Interest {
    /// E.g. "referensränta + 8 procentenheter".
    pub basis: String,
    pub from: NaiveDate,
    /// Interest accrued and unpaid up to `as_of`, for information.
    pub accrued: String,
    pub as_of: NaiveDate,
}

/// The data of one ansökan om betalningsföreläggande. Amounts are decimal strings with a dot.
#[derive(Clone, Debug, Serialize)]
pub struct Application {
    pub claim_id: Uuid,
    pub case_number: i64,
    pub ocr: String,
    /// Sökande: the creditor.
    pub applicant: Party,
    /// Ombud: Fordra.
    pub agent: Party,
    /// Svarande: the debtor.
    pub respondent: Party,
    /// Kapitalbelopp: what is owed of the capital.
    pub capital: String,
    /// Grund: what the claim is for.
    pub ground: String,
    pub interest: Interest,
    pub costs: Vec<Cost>,
    /// Kronofogden's ansökningsavgift, claimed from the debtor.
    pub application_fee: String,
    pub handed_off_on: Option<NaiveDate>,
}

/// A ready claim and what, if anything, stops its hand-off.
pub struct Candidate {
    pub rec: ClaimRecord,
    pub problems: Vec<&'static str>,
    pub handed_off_on: Option<NaiveDate>,
}

/// Claims in `enforcement_ready`, oldest case first, with the readiness check done; those
/// already handed off only when `again`.
pub async fn candidates(
    conn: &mut PgConnection,
    today: NaiveDate,
    again: bool,
    only: Option<&[Uuid]>,
) -> sqlx::Result<Vec<Candidate>> {
    const SQL: &str = concat!(
        crate::claims::claim_select!(),
        " where c.state = 'enforcement_ready' and ($1 or c.handed_off_on is null)
           and ($2::uuid[] is null or c.claim_id = any($2))
         order by c.case_number"
    );
    let recs: Vec<ClaimRecord> =
        sqlx::query_as(SQL).bind(again).bind(only).fetch_all(&mut *conn).await?;
    let ids: Vec<Uuid> = recs.iter().map(|r| r.claim_id).collect();
    let facts: Vec<(Uuid, Option<NaiveDate>, Option<NaiveDate>)> = sqlx::query_as(
        "select c.claim_id, c.handed_off_on,
                (select l.deadline from letter l where l.claim_id = c.claim_id and l.kind = 'final_notice'
                 order by l.created_on desc limit 1)
         from claim c where c.claim_id = any($1)",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    Ok(recs
        .into_iter()
        .map(|rec| {
            let (handed_off_on, deadline) =
                facts.iter().find(|f| f.0 == rec.claim_id).map(|f| (f.1, f.2)).unwrap_or_default();
            let problems = enforcement::problems(&enforcement::Facts {
                disputed: rec.disputed,
                paused: rec.paused,
                deceased: rec.deceased,
                last_deadline: deadline,
                today,
                id_number: &rec.debtor_id_number,
                address: (&rec.debtor_street, &rec.debtor_postal_code, &rec.debtor_city),
                returned_mail: rec.returned_mail,
            });
            Candidate { rec, problems, handed_off_on }
        })
        .collect())
}

fn id_display(id: &str, today: NaiveDate) -> String {
    IdNumber::parse(id, today).map(|i| i.display()).unwrap_or_else(|_| id.to_string())
}

/// The application data of a claim as of `today`.
pub async fn application(
    conn: &mut PgConnection,
    c: &Candidate,
    params: &Parameters,
    today: NaiveDate,
    identity: &Identity,
) -> anyhow::Result<Application> {
    let rec = &c.rec;
    let statement = claims::load_statement(conn, rec, params, today).await?;
    let rules = params.book.in_force(rec.due_date);
    let interest_from = crate::domain::lifecycle::first_action_date(rec.due_date);
    let costs = statement
        .fees
        .iter()
        .filter(|f| f.owed > Sek::ZERO)
        .map(|f| Cost { name: f.kind.legal_name(), amount: f.owed.to_plain() })
        .collect();
    Ok(Application {
        claim_id: rec.claim_id,
        case_number: rec.case_number,
        ocr: rec.ocr.clone(),
        applicant: Party {
            name: rec.creditor_name.clone(),
            id_number: id_display(&rec.creditor_org_nr, today),
            address: None,
        },
        agent: Party {
            name: identity.name.clone(),
            id_number: identity.org_nr.clone(),
            address: Some(identity.address.clone()),
        },
        respondent: Party {
            name: rec.debtor_name.clone(),
            id_number: id_display(&rec.debtor_id_number, today),
            address: Some(format!(
                "{}, {} {}",
                rec.debtor_street, rec.debtor_postal_code, rec.debtor_city
            )),
        },
        capital: statement.capital.to_plain(),
        ground: format!(
            "Obetald faktura {} daterad {}, förfallen till betalning {}: {}",
            rec.invoice_number, rec.invoice_date, rec.due_date, rec.description
        ),
        interest: Interest {
            basis: format!(
                "referensränta + {} procentenheter (6 § räntelagen)",
                rules.interest_margin.normalize()
            ),
            from: interest_from,
            accrued: statement.interest.to_plain(),
            as_of: today,
        },
        costs,
        application_fee: params.book.in_force(today).enforcement_application_fee.to_plain(),
        handed_off_on: c.handed_off_on,
    })
}

/// What an export did: the applications, and the claims left out with why.
pub struct Export {
    pub applications: Vec<Application>,
    pub refused: Vec<(ClaimRecord, Vec<&'static str>)>,
}

/// Exports the ready claims (`only` those, when given; those already handed off only when
/// `again`), marking each exported claim as handed off on `today`, with an event on the claim
/// and an audit row. Claims that fail the readiness check are left out and listed.
pub async fn export(
    conn: &mut PgConnection,
    params: &Parameters,
    (today, now): (NaiveDate, chrono::DateTime<chrono::Utc>),
    (only, again): (Option<&[Uuid]>, bool),
    identity: &Identity,
    by: Option<&Acting<'_>>,
) -> anyhow::Result<Export> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    // Two exports at once would both see the claims as not handed off.
    sqlx::query("select pg_advisory_xact_lock(hashtext('enforcement_export'))")
        .execute(&mut *tx)
        .await?;
    let mut export = Export { applications: vec![], refused: vec![] };
    for c in candidates(&mut tx, today, again, only).await? {
        if !c.problems.is_empty() {
            export.refused.push((c.rec, c.problems));
            continue;
        }
        let mut app = application(&mut tx, &c, params, today, identity).await?;
        sqlx::query("update claim set handed_off_on = $2 where claim_id = $1")
            .bind(c.rec.claim_id)
            .bind(today)
            .execute(&mut *tx)
            .await?;
        let detail =
            serde_json::json!({"capital": app.capital, "again": c.handed_off_on.is_some()});
        let user = by.map(|b| b.user_id);
        claims::repo::add_event(
            &mut tx,
            c.rec.claim_id,
            now,
            today,
            "handed_off",
            user,
            detail.clone(),
            None,
        )
        .await?;
        let subject = c.rec.claim_id.to_string();
        match by {
            Some(by) => by.audit(&mut tx, "enforcement_exported", Some(&subject), detail).await?,
            None => {
                crate::auth::audit(
                    &mut tx,
                    now,
                    None,
                    "enforcement_exported",
                    Some(&subject),
                    detail,
                    None,
                )
                .await?
            }
        }
        app.handed_off_on = Some(today);
        export.applications.push(app);
    }
    tx.commit().await?;
    Ok(export)
}

/// The applications as CSV (semicolon separated, dot decimals as in the API), one line per
/// claim; the costs in one column as "name amount" pairs.
pub fn to_csv(apps: &[Application]) -> String {
    let mut out = String::from(
        "ocr;arendenummer;sokande;sokande_orgnr;ombud;ombud_orgnr;svarande;svarande_id;svarande_adress;kapitalbelopp;grund;ranta;ranta_fran;upplupen_ranta;avgifter;ansokningsavgift;overlamnad\n",
    );
    for a in apps {
        let costs: Vec<String> =
            a.costs.iter().map(|c| format!("{} {}", c.name, c.amount)).collect();
        let fields = [
            a.ocr.clone(),
            a.case_number.to_string(),
            a.applicant.name.clone(),
            a.applicant.id_number.clone(),
            a.agent.name.clone(),
            a.agent.id_number.clone(),
            a.respondent.name.clone(),
            a.respondent.id_number.clone(),
            a.respondent.address.clone().unwrap_or_default(),
            a.capital.clone(),
            a.ground.clone(),
            a.interest.basis.clone(),
            a.interest.from.to_string(),
            a.interest.accrued.clone(),
            costs.join(", "),
            a.application_fee.clone(),
            a.handed_off_on.map(|d| d.to_string()).unwrap_or_default(),
        ];
        let line: Vec<String> = fields.iter().map(|f| crate::web::excel::cell(f)).collect();
        out.push_str(&line.join(";"));
        out.push('\n');
    }
    out
}

/// One application as a PDF laid out like Kronofogden's form: parties, the claim, interest and
/// costs, each under the form's headings.
pub fn to_pdf(a: &Application, identity: &Identity) -> Vec<u8> {
    use crate::letters::pdf::{Document, Face};
    let mut d = Document::new();
    d.line_at(56.0, "Ansökan om betalningsföreläggande", 16.0, Face::Bold);
    d.line_at(
        56.0,
        &format!("Underlag från {} · ärende {} · OCR {}", identity.name, a.case_number, a.ocr),
        9.0,
        Face::Regular,
    );
    d.space(12.0);
    let section = |d: &mut Document, title: &str| {
        d.space(6.0);
        d.line_at(56.0, title, 11.0, Face::Bold);
    };
    section(&mut d, "1. Sökande");
    d.framed(&[("Namn", &a.applicant.name), ("Organisationsnummer", &a.applicant.id_number)], 9.0);
    section(&mut d, "2. Ombud");
    d.framed(
        &[
            ("Namn", &a.agent.name),
            ("Organisationsnummer", &a.agent.id_number),
            ("Adress", a.agent.address.as_deref().unwrap_or("")),
        ],
        9.0,
    );
    section(&mut d, "3. Svarande");
    d.framed(
        &[
            ("Namn", &a.respondent.name),
            ("Person-/organisationsnummer", &a.respondent.id_number),
            ("Adress", a.respondent.address.as_deref().unwrap_or("")),
        ],
        9.0,
    );
    section(&mut d, "4. Yrkande");
    let money = |s: &str| {
        s.parse::<rust_decimal::Decimal>()
            .map(|v| Sek::from_decimal(v).to_string())
            .unwrap_or_default()
    };
    d.row("Kapitalbelopp", &money(&a.capital), 10.0, Face::Regular);
    d.row(
        &format!("Ränta: {} från {}", a.interest.basis, a.interest.from),
        &format!("(upplupen {} per {})", money(&a.interest.accrued), a.interest.as_of),
        9.0,
        Face::Regular,
    );
    for c in &a.costs {
        d.row(c.name, &money(&c.amount), 10.0, Face::Regular);
    }
    d.row("Ansökningsavgift", &money(&a.application_fee), 10.0, Face::Regular);
    section(&mut d, "5. Grund");
    d.paragraph(&a.ground, 10.0, Face::Regular);
    d.finish()
}
