//! Versioned texts that customers accept: the creditor terms and the partner agreement
//! (`terms`, one row per kind and version, the newest published in force).

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

/// The version of `kind` (`creditor` or `partner`) in force.
pub async fn current(conn: &mut PgConnection, kind: &str) -> sqlx::Result<Terms> {
    let (version, title, body): (String, String, String) = sqlx::query_as(
        "select version, title, body from terms where kind = $1 order by published_on desc, version desc limit 1",
    )
    .bind(kind)
    .fetch_one(conn)
    .await?;
    Ok(Terms { version, title, body })
}
