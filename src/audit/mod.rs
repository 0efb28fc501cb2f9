//! The audit log as a tamper-evident chain, and staff's search of it.
//!
//! Writers (`auth::audit`) insert rows in their own transactions and never wait on each other.
//! [`seal`] (run by every engine pass and by `fordra verify-audit`) then chains the committed,
//! unsealed rows: each gets the next seal sequence number (ids can commit out of order, so the
//! chain follows the seal sequence), the previous sealed row's hash, and
//! `hash = SHA-256(prev_hash ‖ content)`. A trigger keeps the table append-only; [`verify`]
//! walks the chain and names the first row that does not match if one was edited, deleted or
//! reordered behind the trigger's back. Every sealing run also records the head it left, so
//! that removing the newest rows is found too.

pub mod web;

use chrono::{DateTime, NaiveDate, Utc};
use sha2::{Digest, Sha256};
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

/// The advisory lock that lets one sealer run at a time.
const SEAL_LOCK: i64 = 0x6175_6469_7473_6561; // "auditsea"

/// Rows sealed per statement.
const BATCH: i64 = 2000;

/// The hash before the first row.
const GENESIS: [u8; 32] = [0; 32];

/// A row as it is hashed: every column a writer sets, in a fixed text form.
#[derive(FromRow)]
struct Content {
    audit_event_id: i64,
    at_micros: i64,
    actor: Option<String>,
    actor_role: Option<String>,
    action: String,
    subject: Option<String>,
    detail: String,
    ip: Option<String>,
}

const CONTENT: &str = "audit_event_id, (extract(epoch from at) * 1000000)::bigint as at_micros,
    actor_user_id::text as actor, actor_role, action, subject, detail::text as detail, ip";

/// SHA-256 of the previous hash and the row's content at sequence `seq`. Each field is length
/// prefixed, so that no two different rows encode alike.
fn row_hash(prev: &[u8], seq: i64, row: &Content) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    let fields = [
        Some(row.audit_event_id.to_string()),
        Some(seq.to_string()),
        Some(row.at_micros.to_string()),
        row.actor.clone(),
        row.actor_role.clone(),
        Some(row.action.clone()),
        row.subject.clone(),
        Some(row.detail.clone()),
        row.ip.clone(),
    ];
    for field in fields {
        match field {
            None => h.update(b"-;"),
            Some(text) => {
                h.update(format!("{}:", text.len()).as_bytes());
                h.update(text.as_bytes());
                h.update(b";");
            }
        }
    }
    h.finalize().into()
}

/// Chains every committed, unsealed row; returns how many. One sealer runs at a time; writers
/// never wait for it.
pub async fn seal(conn: &mut PgConnection, now: DateTime<Utc>) -> sqlx::Result<u64> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    sqlx::query("select pg_advisory_xact_lock($1)").bind(SEAL_LOCK).execute(&mut *tx).await?;
    let head: Option<(i64, Vec<u8>)> = sqlx::query_as(
        "select seal_seq, hash from audit_event where seal_seq is not null order by seal_seq desc limit 1",
    )
    .fetch_optional(&mut *tx)
    .await?;
    let (mut seq, mut prev) = head.unwrap_or((0, GENESIS.to_vec()));
    let mut sealed = 0u64;
    loop {
        let rows: Vec<Content> = sqlx::query_as(&format!(
            "select {CONTENT} from audit_event where seal_seq is null order by audit_event_id limit $1"
        ))
        .bind(BATCH)
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            break;
        }
        let (mut ids, mut seqs, mut prevs, mut hashes) = (vec![], vec![], vec![], vec![]);
        for row in &rows {
            seq += 1;
            let hash = row_hash(&prev, seq, row);
            ids.push(row.audit_event_id);
            seqs.push(seq);
            prevs.push(prev.clone());
            hashes.push(hash.to_vec());
            prev = hash.to_vec();
        }
        sqlx::query(
            "update audit_event a set seal_seq = u.seq, prev_hash = u.prev, hash = u.hash
             from unnest($1::bigint[], $2::bigint[], $3::bytea[], $4::bytea[]) as u(id, seq, prev, hash)
             where a.audit_event_id = u.id",
        )
        .bind(&ids)
        .bind(&seqs)
        .bind(&prevs)
        .bind(&hashes)
        .execute(&mut *tx)
        .await?;
        sealed += rows.len() as u64;
    }
    if sealed > 0 {
        sqlx::query("insert into audit_seal (sealed_at, last_seq, last_hash) values ($1, $2, $3)")
            .bind(now)
            .bind(seq)
            .bind(&prev)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(sealed)
}

/// What a walk of the chain found.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every sealed row matches: how many there are.
    Intact { rows: i64 },
    /// The first place the chain breaks.
    Broken { seal_seq: i64, audit_event_id: Option<i64>, reason: String },
}

/// Walks the sealed chain in seal order and checks every link: the sequence has no gap, each
/// row names the previous row's hash, each hash is the row's own, and every head a sealing run
/// recorded is still in the chain.
pub async fn verify(conn: &mut PgConnection) -> sqlx::Result<Verdict> {
    #[derive(FromRow)]
    struct Sealed {
        seal_seq: i64,
        prev_hash: Option<Vec<u8>>,
        hash: Option<Vec<u8>>,
        #[sqlx(flatten)]
        content: Content,
    }
    let (mut expected_seq, mut prev) = (0i64, GENESIS.to_vec());
    loop {
        let rows: Vec<Sealed> = sqlx::query_as(&format!(
            "select seal_seq, prev_hash, hash, {CONTENT} from audit_event
             where seal_seq > $1 order by seal_seq limit $2"
        ))
        .bind(expected_seq)
        .bind(BATCH)
        .fetch_all(&mut *conn)
        .await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            let id = Some(row.content.audit_event_id);
            expected_seq += 1;
            if row.seal_seq != expected_seq {
                return Ok(Verdict::Broken {
                    seal_seq: expected_seq,
                    audit_event_id: None,
                    reason: format!(
                        "rad med sigillnummer {expected_seq} saknas (nästa är {})",
                        row.seal_seq
                    ),
                });
            }
            if row.prev_hash.as_deref() != Some(&prev[..]) {
                return Ok(Verdict::Broken {
                    seal_seq: row.seal_seq,
                    audit_event_id: id,
                    reason: "föregående hash stämmer inte: en rad före är borttagen eller flyttad"
                        .into(),
                });
            }
            let hash = row_hash(&prev, row.seal_seq, &row.content);
            if row.hash.as_deref() != Some(&hash[..]) {
                return Ok(Verdict::Broken {
                    seal_seq: row.seal_seq,
                    audit_event_id: id,
                    reason: "radens innehåll stämmer inte med dess hash: raden är ändrad".into(),
                });
            }
            prev = hash.to_vec();
        }
    }
    let heads: Vec<(i64, Vec<u8>)> =
        sqlx::query_as("select last_seq, last_hash from audit_seal order by last_seq desc limit 1")
            .fetch_all(&mut *conn)
            .await?;
    if let Some((last_seq, last_hash)) = heads.first() {
        let at: Option<Vec<u8>> =
            sqlx::query_scalar("select hash from audit_event where seal_seq = $1")
                .bind(last_seq)
                .fetch_optional(&mut *conn)
                .await?
                .flatten();
        if *last_seq > expected_seq || at.as_ref() != Some(last_hash) {
            return Ok(Verdict::Broken {
                seal_seq: *last_seq,
                audit_event_id: None,
                reason: format!(
                    "kedjan slutar vid {expected_seq} men sigillerades till {last_seq}: de senaste raderna är borttagna eller ändrade"
                ),
            });
        }
    }
    Ok(Verdict::Intact { rows: expected_seq })
}

// ---------------------------------------------------------------------------------------------
// Search

/// What staff search the log by; empty fields do not filter.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct Search {
    /// A person: a user's e-mail address, or their id.
    pub person: String,
    /// An object's id (a claim, a ticket, a creditor, …).
    pub object: String,
    /// The action, e.g. `login` or `ticket_written`.
    pub action: String,
    pub from: String,
    pub to: String,
}

#[derive(FromRow, serde::Serialize)]
pub struct Entry {
    pub audit_event_id: i64,
    pub at: DateTime<Utc>,
    pub actor_user_id: Option<Uuid>,
    pub actor_email: Option<String>,
    pub actor_role: Option<String>,
    pub action: String,
    pub subject: Option<String>,
    pub detail: serde_json::Value,
    pub ip: Option<String>,
    pub seal_seq: Option<i64>,
}

/// Entries matching `q`, newest first, at most `limit`; dates are Stockholm days.
pub async fn search(
    conn: &mut PgConnection,
    q: &Search,
    (from, to): (Option<NaiveDate>, Option<NaiveDate>),
    limit: i64,
) -> sqlx::Result<Vec<Entry>> {
    let person = q.person.trim();
    let person_id = Uuid::parse_str(person).ok();
    sqlx::query_as(
        "select a.audit_event_id, a.at, a.actor_user_id, u.email as actor_email, a.actor_role, a.action,
                a.subject, a.detail, a.ip, a.seal_seq
         from audit_event a left join app_user u on u.user_id = a.actor_user_id
         where ($1 = '' or a.actor_user_id = $2 or lower(u.email) = lower($1))
           and ($3 = '' or a.subject = $3)
           and ($4 = '' or a.action = $4)
           and ($5::date is null or a.at >= ($5::date::timestamp at time zone 'Europe/Stockholm'))
           and ($6::date is null or a.at < (($6::date + 1)::timestamp at time zone 'Europe/Stockholm'))
         order by a.audit_event_id desc limit $7",
    )
    .bind(person)
    .bind(person_id)
    .bind(q.object.trim())
    .bind(q.action.trim())
    .bind(from)
    .bind(to)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// The actions in the log, for the search form.
pub async fn actions(conn: &mut PgConnection) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("select distinct action from audit_event order by action")
        .fetch_all(conn)
        .await
}

/// Entries as CSV (semicolon separated, as Swedish spreadsheets expect), with a header.
pub fn to_csv(entries: &[Entry]) -> String {
    let mut out = String::from("id;tid;person;e-post;roll;handling;objekt;detaljer;ip;sigill\n");
    for e in entries {
        let fields = [
            e.audit_event_id.to_string(),
            e.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            e.actor_user_id.map(|u| u.to_string()).unwrap_or_default(),
            e.actor_email.clone().unwrap_or_default(),
            e.actor_role.clone().unwrap_or_default(),
            e.action.clone(),
            e.subject.clone().unwrap_or_default(),
            e.detail.to_string(),
            e.ip.clone().unwrap_or_default(),
            e.seal_seq.map(|s| s.to_string()).unwrap_or_default(),
        ];
        let line: Vec<String> = fields.iter().map(|f| crate::web::excel::cell(f)).collect();
        out.push_str(&line.join(";"));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(action: &str) -> Content {
        Content {
            audit_event_id: 7,
            at_micros: 1_700_000_000_000_000,
            actor: None,
            actor_role: Some("admin".into()),
            action: action.into(),
            subject: Some("x".into()),
            detail: "{}".into(),
            ip: None,
        }
    }

    #[test]
    fn a_hash_covers_content_sequence_and_previous_hash() {
        let base = row_hash(&GENESIS, 1, &row("login"));
        assert_ne!(base, row_hash(&GENESIS, 1, &row("logout")));
        assert_ne!(base, row_hash(&GENESIS, 2, &row("login")));
        assert_ne!(base, row_hash(&[1; 32], 1, &row("login")));
        // Field boundaries are part of the hash: moving a character between fields changes it.
        let mut a = row("ab");
        a.subject = Some("c".into());
        let mut b = row("a");
        b.subject = Some("bc".into());
        assert_ne!(row_hash(&GENESIS, 1, &a), row_hash(&GENESIS, 1, &b));
        let mut none = row("a");
        none.subject = None;
        let mut dash = row("a");
        dash.subject = Some("-".into());
        assert_ne!(row_hash(&GENESIS, 1, &none), row_hash(&GENESIS, 1, &dash));
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let csv_field = crate::web::excel::cell;
        assert_eq!(csv_field("a;b"), "\"a;b\"");
        assert_eq!(csv_field("=cmd()"), "'=cmd()");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
