//! Outgoing e-mail through lettre: SMTP in production, `.eml` files in demo mode.
//!
//! The file mailer writes `<time>-<id>.eml` (the exact RFC 5322 message) plus a `.json` sidecar with
//! recipient, subject and plain text, which the back office lists so the demo works with no
//! mail server.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Attachment, Mailbox, MultiPart, SinglePart, header::ContentType},
};
use serde::{Deserialize, Serialize};

use crate::config::{Config, MailTransport};

#[derive(Clone)]
pub enum Mailer {
    /// The transport, and how long one whole send may take (lettre's own timeout covers only
    /// connecting: a server that takes the data and never answers would hold the send forever).
    Smtp(AsyncSmtpTransport<Tokio1Executor>, std::time::Duration),
    File(PathBuf),
}

/// A plain-text message to one recipient.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    /// Files attached to the message (name, MIME type, bytes); not kept in the sidecar.
    #[serde(skip)]
    pub attachments: Vec<(String, String, Vec<u8>)>,
    /// A stable Message-ID, so a resend after a crash is recognisable as the same message.
    #[serde(skip)]
    pub message_id: Option<String>,
}

impl Mail {
    pub fn text(
        to: impl Into<String>,
        subject: impl Into<String>,
        text: impl Into<String>,
    ) -> Mail {
        Mail {
            to: to.into(),
            subject: subject.into(),
            text: text.into(),
            attachments: vec![],
            message_id: None,
        }
    }
}

/// What the file mailer records beside each `.eml`.
#[derive(Debug, Serialize, Deserialize)]
pub struct StoredMail {
    pub file: String,
    pub sent_at: DateTime<Utc>,
    #[serde(flatten)]
    pub mail: Mail,
}

impl Mailer {
    pub fn from_config(config: &Config) -> Result<Mailer> {
        Ok(match &config.mail {
            MailTransport::Smtp(url) => Mailer::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .context("FORDRA_SMTP_URL is not a valid smtp:// or smtps:// URL")?
                    .timeout(Some(config.smtp_timeout))
                    .build(),
                config.smtp_timeout,
            ),
            MailTransport::File(dir) => Mailer::File(dir.clone()),
        })
    }

    pub fn file_dir(&self) -> Option<&Path> {
        match self {
            Mailer::File(dir) => Some(dir),
            Mailer::Smtp(..) => None,
        }
    }

    /// Sends `mail` from `from`; returns once the transport accepted it.
    pub async fn send(&self, from: &str, mail: &Mail, now: DateTime<Utc>) -> Result<()> {
        let message = build(from, mail)?;
        match self {
            Mailer::Smtp(transport, limit) => {
                tokio::time::timeout(*limit, transport.send(message))
                    .await
                    .map_err(|_| {
                        anyhow::anyhow!("the SMTP server did not answer within {limit:?}")
                    })?
                    .context("SMTP delivery failed")?;
            }
            Mailer::File(dir) => {
                let dir = dir.clone();
                let name = format!(
                    "{}-{}",
                    now.format("%Y%m%dT%H%M%S%.3f"),
                    crate::crypto::random_token(4)
                );
                let stored =
                    StoredMail { file: format!("{name}.eml"), sent_at: now, mail: mail.clone() };
                let raw = message.formatted();
                tokio::task::spawn_blocking(move || -> Result<()> {
                    std::fs::create_dir_all(&dir)?;
                    write_atomic(&dir.join(format!("{name}.eml")), &raw)?;
                    write_atomic(
                        &dir.join(format!("{name}.json")),
                        &serde_json::to_vec_pretty(&stored)?,
                    )?;
                    Ok(())
                })
                .await??;
            }
        }
        Ok(())
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

pub fn build(from: &str, mail: &Mail) -> Result<Message> {
    let from: Mailbox = from.parse().context("invalid sender address")?;
    let to: Mailbox = mail.to.parse().context("invalid recipient address")?;
    let mut builder = Message::builder().from(from).to(to).subject(mail.subject.clone());
    if let Some(id) = &mail.message_id {
        builder = builder.message_id(Some(id.clone()));
    }
    if mail.attachments.is_empty() {
        return Ok(builder.header(ContentType::TEXT_PLAIN).body(mail.text.clone())?);
    }
    let mut parts = MultiPart::mixed().singlepart(SinglePart::plain(mail.text.clone()));
    for (name, mime, bytes) in &mail.attachments {
        let content_type = ContentType::parse(mime).context("invalid attachment MIME type")?;
        parts = parts.singlepart(Attachment::new(name.clone()).body(bytes.clone(), content_type));
    }
    Ok(builder.multipart(parts)?)
}

/// The file mailer's messages, newest first.
pub fn list_files(dir: &Path) -> Vec<StoredMail> {
    let mut mails: Vec<StoredMail> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .filter_map(|e| serde_json::from_slice(&std::fs::read(e.path()).ok()?).ok())
        .collect();
    mails.sort_by(|a, b| b.file.cmp(&a.file));
    mails
}

/// A syntactically plausible e-mail address (the real check is the mail that arrives).
pub fn looks_like_email(s: &str) -> bool {
    let s = s.trim();
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !s.chars().any(|c| c.is_whitespace() || c == ',' || c == ';')
                && s.parse::<Mailbox>().is_ok()
        }
        None => false,
    }
}

/// Queues a plain notification (receipt, refund request) in the caller's transaction; the
/// engine sends it after commit (`deliver_queue`), retrying with backoff.
pub async fn queue(
    conn: &mut sqlx::PgConnection,
    to: &str,
    subject: &str,
    body: &str,
    claim_id: Option<uuid::Uuid>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "insert into mail_queue (to_addr, subject, body, claim_id, created_at, next_attempt_at)
         values ($1, $2, $3, $4, $5, $5)",
        to,
        subject,
        body,
        claim_id,
        now
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Sends queued notifications that are due; returns how many went out.
pub async fn deliver_queue(
    db: &sqlx::PgPool,
    mailer: &Mailer,
    from: &str,
    now: DateTime<Utc>,
) -> Result<u64> {
    let mut sent = 0;
    loop {
        let mut tx = db.begin().await?;
        let batch: Vec<(i64, String, String, String, i32)> = sqlx::query_as(
            "select mail_id, to_addr, subject, body, attempts from mail_queue
             where sent_at is null and next_attempt_at <= $1 order by mail_id limit 20 for update skip locked",
        )
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        if batch.is_empty() {
            tx.commit().await?;
            return Ok(sent);
        }
        for (id, to, subject, body, attempts) in batch {
            let mut mail = Mail::text(to, subject, body);
            mail.message_id = Some(format!("<notice-{id}@fordra.se>"));
            match mailer.send(from, &mail, now).await {
                Ok(()) => {
                    // A single-use link must not outlive its mail in the database: only its hash is kept.
                    sqlx::query!(
                        "update mail_queue set sent_at = $2, attempts = attempts + 1, last_error = null,
                            body = case when body like '%token=%' then '(Meddelandet innehöll en engångslänk och är raderat efter sändning.)' else body end
                         where mail_id = $1",
                        id,
                        now
                    )
                        .execute(&mut *tx)
                        .await?;
                    sent += 1;
                }
                Err(e) => {
                    let backoff = chrono::Duration::minutes(1i64 << attempts.clamp(0, 9));
                    sqlx::query!("update mail_queue set attempts = attempts + 1, next_attempt_at = $2, last_error = $3 where mail_id = $1", id, now + backoff, format!("{e:#}"))
                        .execute(&mut *tx)
                        .await?;
                }
            }
        }
        tx.commit().await?;
    }
}
