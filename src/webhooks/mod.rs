//! Signed webhooks to creditors' and partners' systems. Events are written by database triggers
//! in the transaction of each change (`webhook_event`, migration 0021: a claim's state, a payment
//! received, a dispute opened or answered, a settlement), fanned out to the live subscriptions
//! that want them, and delivered at least once — each with its stable event id — by the engine's
//! pass (so `fordra tick` sends what is due), retried with exponential backoff for 24 hours.
//!
//! Each delivery carries `Fordra-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
//! "<t>.<raw body>")>`, the key being the secret's UTF-8 bytes. Only `https://` URLs are taken,
//! and loopback, private, link-local and metadata addresses are refused when subscribing and
//! again after DNS resolution at each delivery (the checked address is the one connected to).
//! `FORDRA_WEBHOOKS_ALLOW_PRIVATE=on` allows `http://`, loopback and private addresses for local
//! testing, never link-local or metadata ones.

pub mod pages;

use std::net::{IpAddr, SocketAddr};

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::auth::api_key::Owner;

pub const EVENTS: [&str; 5] = [
    "claim.state_changed",
    "claim.payment_received",
    "claim.dispute_opened",
    "claim.dispute_answered",
    "settlement.created",
];

/// How long a delivery is retried.
const RETRY_HOURS: i64 = 24;
/// The first retry's wait; each later one doubles, up to [`MAX_WAIT_MINUTES`].
const FIRST_WAIT_SECONDS: i64 = 30;
const MAX_WAIT_MINUTES: i64 = 360;
/// Deliveries attempted per pass.
const BATCH: i64 = 200;

/// Why an address may not receive webhooks, or `None` when it may.
pub fn refused_ip(ip: IpAddr, allow_private: bool) -> Option<&'static str> {
    let never = "Adressen är en länklokal adress eller en molnleverantörs metadatatjänst och tas aldrig emot.";
    let private = "Adressen är lokal eller privat. Webhooks skickas bara till publika adresser.";
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            if v4.is_link_local() || v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast() {
                Some(never)
            } else if v4.is_loopback() || v4.is_private() || (o[0] == 100 && (o[1] & 0xc0) == 64) {
                (!allow_private).then_some(private)
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return refused_ip(IpAddr::V4(v4), allow_private);
            }
            let first = v6.segments()[0];
            if (first & 0xffc0) == 0xfe80
                || v6.is_unspecified()
                || v6.is_multicast()
                || v6 == "fd00:ec2::254".parse::<std::net::Ipv6Addr>().expect("an address")
            {
                Some(never)
            } else if v6.is_loopback() || (first & 0xfe00) == 0xfc00 {
                (!allow_private).then_some(private)
            } else {
                None
            }
        }
    }
}

/// A subscription URL as given: `https://` (or `http://` when private addresses are allowed),
/// a host, and no literal address that is refused. Names are resolved at delivery.
pub fn check_url(url: &str, allow_private: bool) -> Result<reqwest::Url, &'static str> {
    let parsed = reqwest::Url::parse(url.trim())
        .map_err(|_| "Ange en fullständig adress, till exempel https://erp.example.se/fordra.")?;
    match parsed.scheme() {
        "https" => {}
        "http" if allow_private => {}
        _ => return Err("Adressen måste börja med https://."),
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("Adressen får inte innehålla användarnamn eller lösenord.");
    }
    match parsed.host() {
        None => Err("Adressen saknar värdnamn."),
        Some(url::Host::Ipv4(ip)) => {
            refused_ip(IpAddr::V4(ip), allow_private).map_or(Ok(parsed.clone()), Err)
        }
        Some(url::Host::Ipv6(ip)) => {
            refused_ip(IpAddr::V6(ip), allow_private).map_or(Ok(parsed.clone()), Err)
        }
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            if (d == "localhost" || d.ends_with(".localhost")) && !allow_private {
                Err("Adressen är lokal eller privat. Webhooks skickas bara till publika adresser.")
            } else {
                Ok(parsed)
            }
        }
    }
}

/// `t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
pub fn signature(secret: &str, t: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(format!("{t}.{body}").as_bytes());
    let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("t={t},v1={hex}")
}

/// The wait before attempt `attempts + 1`.
pub fn backoff(attempts: i32) -> Duration {
    let secs = FIRST_WAIT_SECONDS.saturating_mul(1i64 << attempts.clamp(0, 20));
    Duration::seconds(secs.min(MAX_WAIT_MINUTES * 60))
}

/// A subscription as listed (never the secret).
pub struct Subscription {
    pub subscription_id: Uuid,
    pub url: String,
    pub events: Vec<String>,
    pub created_at: DateTime<Utc>,
}

/// Subscribes `owner` to `events` at `url`; the secret is returned once. `Err((field, why))`.
pub async fn subscribe(
    conn: &mut PgConnection,
    owner: Owner,
    (url, events): (&str, &[String]),
    (by, allow_private, now): (Option<Uuid>, bool, DateTime<Utc>),
) -> sqlx::Result<Result<(Uuid, String), (&'static str, String)>> {
    let url = match check_url(url, allow_private) {
        Ok(u) => u,
        Err(why) => return Ok(Err(("url", why.into()))),
    };
    if events.is_empty() {
        return Ok(Err(("events", "Välj minst en händelse.".into())));
    }
    if let Some(e) = events.iter().find(|e| !EVENTS.contains(&e.as_str())) {
        return Ok(Err(("events", format!("Okänd händelse {e:?}; använd {}.", EVENTS.join(", ")))));
    }
    let (creditor, partner) = match owner {
        Owner::Creditor(c) => (Some(c), None),
        Owner::Partner(p) => (None, Some(p)),
    };
    let id = Uuid::new_v4();
    let secret = format!("whsec_{}", crate::crypto::random_token(24));
    sqlx::query!(
        "insert into webhook_subscription (subscription_id, creditor_id, partner_id, url, events, secret, created_at, created_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
        id,
        creditor,
        partner,
        url.as_str(),
        events,
        secret,
        now,
        by
    )
    .execute(conn)
    .await?;
    Ok(Ok((id, secret)))
}

pub async fn list(conn: &mut PgConnection, owner: Owner) -> sqlx::Result<Vec<Subscription>> {
    sqlx::query_as!(
        Subscription,
        "select subscription_id, url, events, created_at from webhook_subscription
         where (creditor_id = $1 or partner_id = $1) and deleted_at is null order by created_at",
        owner.id()
    )
    .fetch_all(conn)
    .await
}

/// Ends the owner's subscription `id`; `false` when there is none.
pub async fn unsubscribe(
    conn: &mut PgConnection,
    owner: Owner,
    id: Uuid,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "update webhook_subscription set deleted_at = $3
         where subscription_id = $1 and (creditor_id = $2 or partner_id = $2) and deleted_at is null",
        id,
        owner.id(),
        now
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A delivery as the portal's log shows it.
pub struct LogRow {
    pub delivery_id: i64,
    pub event_id: Uuid,
    pub kind: String,
    pub url: String,
    pub state: String,
    pub attempts: i32,
    pub last_status: Option<i32>,
    pub last_attempt_at: Option<DateTime<Utc>>,
}

pub async fn log(conn: &mut PgConnection, owner: Owner) -> sqlx::Result<Vec<LogRow>> {
    sqlx::query_as!(
        LogRow,
        "select d.delivery_id, d.event_id, e.kind, s.url, d.state, d.attempts, d.last_status, d.last_attempt_at
         from webhook_delivery d join webhook_event e using (event_id) join webhook_subscription s using (subscription_id)
         where s.creditor_id = $1 or s.partner_id = $1 order by d.delivery_id desc limit 100",
        owner.id()
    )
    .fetch_all(conn)
    .await
}

/// "Skicka igen": the owner's delivery goes out again at the next pass.
pub async fn resend(
    conn: &mut PgConnection,
    owner: Owner,
    delivery: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "update webhook_delivery d set state = 'pending', next_attempt_at = $3
         from webhook_subscription s
         where d.delivery_id = $1 and s.subscription_id = d.subscription_id and (s.creditor_id = $2 or s.partner_id = $2)",
        delivery,
        owner.id(),
        now
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives each new event a delivery per live subscription that wants it (the creditor's own,
/// and its partner's while the creditor is the partner's customer).
pub async fn fan_out(conn: &mut PgConnection, now: DateTime<Utc>) -> sqlx::Result<u64> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    let made = sqlx::query!(
        "with new as (
            update webhook_event set fanned_out = true where event_id in
              (select event_id from webhook_event where not fanned_out order by created_at limit 1000 for update skip locked)
            returning event_id, creditor_id, kind)
         insert into webhook_delivery (event_id, subscription_id, next_attempt_at)
         select n.event_id, s.subscription_id, $1 from new n
         join webhook_subscription s on s.deleted_at is null and n.kind = any(s.events)
          and (s.creditor_id = n.creditor_id
               or s.partner_id in (select pc.partner_id from partner_customer pc
                                   where pc.creditor_id = n.creditor_id and pc.ended_on is null))
         on conflict do nothing",
        now
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(made.rows_affected())
}

struct Due {
    delivery_id: i64,
    attempts: i32,
    url: String,
    secret: String,
    event_id: Uuid,
    kind: String,
    data: Value,
    created_at: DateTime<Utc>,
}

/// Sends the deliveries that are due: each is leased for five minutes before it is sent (so two
/// passes never send it at once), then its outcome is recorded. Returns how many succeeded.
pub async fn deliver_due(
    db: &sqlx::PgPool,
    allow_private: bool,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    fan_out(&mut *db.acquire().await?, now).await?;
    let due: Vec<Due> = sqlx::query_as!(
        Due,
        "with leased as (
            update webhook_delivery set next_attempt_at = $1::timestamptz + interval '5 minutes'
            where delivery_id in (select delivery_id from webhook_delivery
                                  where state = 'pending' and next_attempt_at <= $1
                                  order by next_attempt_at limit $2 for update skip locked)
            returning delivery_id, attempts, event_id, subscription_id)
         select l.delivery_id, l.attempts, s.url, s.secret, e.event_id, e.kind, e.data, e.created_at
         from leased l join webhook_event e using (event_id) join webhook_subscription s using (subscription_id)",
        now,
        BATCH
    )
    .fetch_all(&mut *db.acquire().await?)
    .await?;
    let mut delivered = 0;
    for d in due {
        let body =
            json!({"id": d.event_id, "type": d.kind, "created_at": d.created_at, "data": d.data})
                .to_string();
        let started = std::time::Instant::now();
        let outcome =
            send(&d.url, &d.secret, &d.event_id, &d.kind, &body, allow_private, now).await;
        let millis = started.elapsed().as_millis().min(i32::MAX as u128) as i32;
        let attempt = d.attempts + 1;
        let (status, error) = match &outcome {
            Ok(code) => (Some(i32::from(*code)), None),
            Err(e) => (None, Some(e.clone())),
        };
        let ok = matches!(outcome, Ok(code) if (200..300).contains(&code));
        delivered += usize::from(ok);
        let state = if ok {
            "delivered"
        } else if now - d.created_at >= Duration::hours(RETRY_HOURS) {
            "failed"
        } else {
            "pending"
        };
        let next = now + backoff(d.attempts);
        let mut conn = db.acquire().await?;
        sqlx::query!(
            "update webhook_delivery set state = $2, attempts = $3, next_attempt_at = $4, last_status = $5,
                last_error = $6, last_attempt_at = $7 where delivery_id = $1",
            d.delivery_id,
            state,
            attempt,
            next,
            status,
            error,
            now
        )
        .execute(&mut *conn)
        .await?;
        sqlx::query!(
            "insert into webhook_attempt (delivery_id, attempt, at, status, error, millis) values ($1, $2, $3, $4, $5, $6)
             on conflict do nothing",
            d.delivery_id,
            attempt,
            now,
            status,
            error,
            millis
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(delivered)
}

/// One POST: the host resolved and every address checked, the request pinned to a checked one.
async fn send(
    url: &str,
    secret: &str,
    event_id: &Uuid,
    kind: &str,
    body: &str,
    allow_private: bool,
    now: DateTime<Utc>,
) -> Result<u16, String> {
    let parsed = check_url(url, allow_private).map_err(str::to_string)?;
    let host = parsed.host_str().ok_or("no host")?.trim_matches(['[', ']']).to_string();
    let port = parsed.port_or_known_default().ok_or("no port")?;
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| format!("DNS: {e}"))?
        .collect();
    let Some(first) = addrs.first().copied() else { return Err("DNS: no address".into()) };
    if let Some(why) = addrs.iter().find_map(|a| refused_ip(a.ip(), allow_private)) {
        return Err(why.to_string());
    }
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .resolve(&host, first)
        .build()
        .map_err(|e| e.to_string())?;
    let t = now.timestamp();
    let resp = client
        .post(parsed)
        .header("content-type", "application/json")
        .header("user-agent", "Fordra-Webhooks/1")
        .header("Fordra-Event-Id", event_id.to_string())
        .header("Fordra-Event", kind)
        .header("Fordra-Signature", signature(secret, t, body))
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    Ok(resp.status().as_u16())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_that_never_get_webhooks() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        for never in [
            "169.254.169.254",
            "169.254.1.1",
            "fe80::1",
            "0.0.0.0",
            "fd00:ec2::254",
            "::ffff:169.254.169.254",
        ] {
            assert!(refused_ip(ip(never), true).is_some(), "{never}");
        }
        for private in
            ["127.0.0.1", "10.1.2.3", "192.168.1.1", "172.16.0.1", "100.64.0.1", "::1", "fd12::1"]
        {
            assert!(refused_ip(ip(private), false).is_some(), "{private}");
            assert!(refused_ip(ip(private), true).is_none(), "{private} allowed for testing");
        }
        assert!(refused_ip(ip("93.184.216.34"), false).is_none());
    }

    #[test]
    fn urls_must_be_https_and_public() {
        assert!(check_url("https://erp.example.se/hook", false).is_ok());
        assert!(check_url("http://erp.example.se/hook", false).is_err());
        assert!(check_url("http://127.0.0.1:9000/hook", false).is_err());
        assert!(check_url("http://127.0.0.1:9000/hook", true).is_ok());
        assert!(check_url("http://169.254.169.254/", true).is_err());
        assert!(check_url("https://localhost/x", false).is_err());
        assert!(check_url("https://user:pw@example.se/", false).is_err());
        assert!(check_url("ftp://example.se/", true).is_err());
    }

    #[test]
    fn signatures_and_backoff() {
        // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog"), RFC 4231-style vector.
        let s = signature("key", 1, "The quick brown fox jumps over the lazy dog");
        assert!(s.starts_with("t=1,v1="));
        let mut mac = Hmac::<Sha256>::new_from_slice(b"key").unwrap();
        mac.update(b"1.The quick brown fox jumps over the lazy dog");
        let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(s, format!("t=1,v1={hex}"));
        assert_eq!(backoff(0), Duration::seconds(30));
        assert_eq!(backoff(1), Duration::seconds(60));
        assert_eq!(backoff(3), Duration::seconds(240));
        assert_eq!(backoff(30), Duration::minutes(360));
    }
}
