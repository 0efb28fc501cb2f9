//! Versioned texts that customers accept: the creditor terms and the partner agreement
//! (`terms`, one row per kind and version, the newest published in force).

use chrono::NaiveDate;
use sqlx::PgConnection;

pub struct Terms {
    pub version: String,
    pub title: String,
    pub body: String,
}

impl Terms {
    /// The SHA-256 (hex) of the text as published: what a signature binds to.
    pub fn sha256(&self) -> String {
        crate::crypto::sha256(&self.body).iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The version of `kind` (`creditor` or `partner`) in force on `today`: the newest published
/// on or before it (a version published for a later date is coming, not in force).
pub async fn current(conn: &mut PgConnection, kind: &str, today: NaiveDate) -> sqlx::Result<Terms> {
    let (version, title, body): (String, String, String) = sqlx::query_as(
        "select version, title, body from terms where kind = $1 and published_on <= $2
         order by published_on desc, version desc limit 1",
    )
    .bind(kind)
    .bind(today)
    .fetch_one(conn)
    .await?;
    Ok(Terms { version, title, body })
}

/// Every version of `kind`, newest first: (version, title, published on).
pub async fn versions(
    conn: &mut PgConnection,
    kind: &str,
) -> sqlx::Result<Vec<(String, String, NaiveDate)>> {
    sqlx::query_as("select version, title, published_on from terms where kind = $1 order by published_on desc, version desc")
        .bind(kind)
        .fetch_all(conn)
        .await
}

/// Publishes a new version of `kind` from `from` (today or later; the past is never
/// rewritten). `Err` with the field and why when the version exists or the text is empty.
pub async fn publish(
    conn: &mut PgConnection,
    kind: &str,
    (version, title, body, from): (&str, &str, &str, NaiveDate),
    by: &crate::auth::Acting<'_>,
) -> sqlx::Result<Result<(), (&'static str, String)>> {
    if version.trim().is_empty() || version.chars().count() > 20 {
        return Ok(Err(("version", "Ange en versionsbeteckning, till exempel 2027-1.".into())));
    }
    if title.trim().is_empty() {
        return Ok(Err(("title", "Ange en rubrik.".into())));
    }
    if body.trim().chars().count() < 20 {
        return Ok(Err(("body", "Skriv texten.".into())));
    }
    if kind.starts_with("letter_")
        && let Err(why) = crate::domain::wording::parse_blocks(body)
    {
        return Ok(Err(("body", why)));
    }
    if from < by.today {
        return Ok(Err((
            "published_on",
            "En ny version kan gälla från i dag eller senare, aldrig bakåt i tiden.".into(),
        )));
    }
    let mut tx = sqlx::Connection::begin(conn).await?;
    let inserted = sqlx::query(
        "insert into terms (kind, version, title, body, published_on) values ($1, $2, $3, $4, $5) on conflict do nothing",
    )
    .bind(kind)
    .bind(version.trim())
    .bind(title.trim())
    .bind(body.trim())
    .bind(from)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Ok(Err(("version", format!("Version {} finns redan.", version.trim()))));
    }
    let detail = serde_json::json!({"kind": kind, "version": version.trim(), "published_on": from});
    by.audit(&mut tx, "terms_published", Some(kind), detail).await?;
    tx.commit().await?;
    Ok(Ok(()))
}
