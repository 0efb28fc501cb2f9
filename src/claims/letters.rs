//! A claim's letters: the snapshot of what a letter says, built from the claim and its statement,
//! and letters queued for delivery outside the lifecycle (a plan, a broken plan, a withdrawal).

use chrono::NaiveDate;

use super::ClaimRecord;
use crate::{
    config::Identity,
    domain::{fees::LetterKind, ids::IdNumber, statement::Statement},
    letters::{FeeLine, InterestLine, Snapshot, render_html, title},
};

/// Builds the snapshot of a letter from the claim and its statement on the creation date.
pub fn build(
    kind: LetterKind,
    rec: &ClaimRecord,
    s: &Statement,
    created_on: NaiveDate,
    deadline: NaiveDate,
    rules_version: NaiveDate,
    sender: &Identity,
) -> Snapshot {
    let intro = match kind {
        LetterKind::Reminder => format!(
            "Enligt våra uppgifter har fakturan nedan från {} inte betalats. Vi ber dig betala det totala beloppet senast {deadline}.",
            rec.creditor_name
        ),
        LetterKind::Collection => format!(
            "{} har lämnat fordran nedan till {} för indrivning. Betala det totala beloppet senast {deadline}, eller meddela oss före dess om du anser att kravet är felaktigt.",
            rec.creditor_name, sender.name
        ),
        LetterKind::FinalNotice => format!(
            "Vi har tidigare skickat ett inkassokrav för fordran nedan men har inte fått betalt. Betala det totala beloppet senast {deadline}."
        ),
        LetterKind::PaymentPlan => format!(
            "Vi har kommit överens om att du betalar fordran nedan från {} i delbetalningar enligt planen i det här brevet. Planen omfattar hela skulden.",
            rec.creditor_name
        ),
        LetterKind::PlanBroken => format!(
            "Amorteringsplanen för fordran nedan har upphört eftersom en delbetalning inte kom in i tid. Hela det återstående beloppet ska nu betalas senast {deadline}."
        ),
        LetterKind::Withdrawal => format!(
            "{} har återkallat fordran nedan från {}. Ärendet är avslutat och du ska inte betala något till oss.",
            rec.creditor_name, sender.name
        ),
    };
    let next = match kind {
        LetterKind::Reminder => format!(
            "Om betalning inte kommer in senast {deadline} kan fordran lämnas till inkasso. Har du redan betalat kan du bortse från detta brev."
        ),
        LetterKind::Collection => format!(
            "Om du varken betalar eller invänder senast {deadline} kan borgenären ansöka om betalningsföreläggande hos Kronofogden. Ett inkassokrav leder inte i sig till någon betalningsanmärkning."
        ),
        LetterKind::FinalNotice => format!(
            "Om du varken betalar eller invänder senast {deadline} kan ärendet lämnas till Kronofogden med en ansökan om betalningsföreläggande. Om Kronofogden fastställer skulden kan det leda till en betalningsanmärkning."
        ),
        LetterKind::PaymentPlan => "Så länge varje delbetalning kommer in i tid tar vi inga nya steg i ärendet. Kommer en delbetalning in mer än tio dagar för sent upphör planen och indrivningen fortsätter. Dröjsmålsräntan är beräknad till varje förfallodag; betalar du tidigare blir det sista beloppet lägre.".to_string(),
        LetterKind::PlanBroken => format!(
            "Om du inte betalar senast {deadline} fortsätter indrivningen enligt inkassokravet. Vill du göra en ny överenskommelse kan du kontakta oss via Mina sidor."
        ),
        LetterKind::Withdrawal => "Vi skickar inga fler brev i ärendet. Har du frågor om själva fakturan kan du vända dig direkt till borgenären. Har du betalat till oss efter att kravet återkallades betalar vi tillbaka beloppet.".to_string(),
    };
    let objection = if kind == LetterKind::Withdrawal {
        format!(
            "Frågor om ärendet besvarar vi på {} eller {}. Ange ärendenummer {}.",
            sender.email, sender.phone, rec.case_number
        )
    } else {
        format!(
            "Anser du att kravet är felaktigt ska du invända skriftligt senast {deadline} till {} eller {}. Ange ärendenummer {}. Vi gör ett uppehåll i indrivningen medan invändningen utreds. Kan du inte betala hela beloppet kan du kontakta oss om en avbetalningsplan.",
            sender.email, sender.address, rec.case_number
        )
    };
    Snapshot {
        kind,
        title: title(kind).into(),
        created_on,
        deadline,
        rules_version,
        sender: sender.clone(),
        creditor_name: rec.creditor_name.clone(),
        creditor_org_nr: IdNumber::from_stored(&rec.creditor_org_nr).display(),
        debtor_name: rec.debtor_name.clone(),
        debtor_id: rec.debtor_id().display(),
        debtor_street: rec.debtor_street.clone(),
        debtor_postal_code: rec.debtor_postal_code.clone(),
        debtor_city: rec.debtor_city.clone(),
        invoice_number: rec.invoice_number.clone(),
        description: rec.description.clone(),
        invoice_date: rec.invoice_date,
        due_date: rec.due_date,
        case_number: rec.case_number,
        ocr: rec.ocr.clone(),
        case_code: rec.case_code.clone(),
        capital: s.capital,
        interest: s.interest,
        interest_lines: s
            .current_segments
            .iter()
            .map(|seg| InterestLine {
                from: seg.from,
                to: seg.to,
                days: seg.days,
                rate_percent: format!("{:.2}", seg.rate_percent).replace('.', ","),
                base: seg.base,
                amount: seg.amount(),
            })
            .collect(),
        interest_lines_paid: s.segments_paid,
        fees: s
            .fees
            .iter()
            .filter(|f| !f.owed.is_zero())
            .map(|f| FeeLine { label: f.kind.label().into(), amount: f.owed })
            .collect(),
        paid: s.paid,
        total: s.balance,
        intro,
        next,
        objection,
        schedule: Vec::new(),
        wording_version: None,
    }
}

/// Writes the letter's text blocks from the wording version in force, and records the version.
pub fn apply_wording(s: &mut Snapshot, v: &crate::domain::wording::Version) {
    let [intro, next, objection] = v.fill(&crate::domain::wording::Values {
        creditor: &s.creditor_name,
        sender: &s.sender.name,
        deadline: s.deadline,
        email: &s.sender.email,
        phone: &s.sender.phone,
        address: &s.sender.address,
        case_number: s.case_number,
    });
    (s.intro, s.next, s.objection) = (intro, next, objection);
    s.wording_version = Some(v.version.clone());
}

/// Stores a letter that is not a lifecycle step (a plan's schedule, a broken plan, a
/// withdrawal) with its HTML, and queues it for delivery in the caller's transaction. It goes by
/// e-mail when the debtor has an address, else to print.
pub async fn queue(
    conn: &mut sqlx::PgConnection,
    rec: &ClaimRecord,
    snapshot: &Snapshot,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<uuid::Uuid> {
    let letter_id = uuid::Uuid::new_v4();
    sqlx::query!(
        "insert into letter (letter_id, claim_id, kind, created_on, snapshot, html, channel)
         values ($1, $2, $3, $4, $5, $6, $7)",
        letter_id,
        rec.claim_id,
        snapshot.kind.as_str(),
        snapshot.created_on,
        serde_json::to_value(snapshot)?,
        render_html(snapshot)?,
        if rec.debtor_email.is_some() { "email" } else { "print" }
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!("insert into outbox (letter_id, next_attempt_at) values ($1, $2)", letter_id, now)
        .execute(&mut *conn)
        .await?;
    Ok(letter_id)
}
