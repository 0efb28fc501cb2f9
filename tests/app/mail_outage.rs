//! The mail server going away: it refuses, then times out, then takes a message without
//! answering (an uncertain send), then accepts again. Letters and notices stay queued and go
//! out once it is back, a retry carrying the same Message-ID, and staff see the queue.

use reqwest::StatusCode;
use serde_json::json;

use crate::harness::*;
use crate::smtp::{Mode, SmtpServer};
use crate::world::{d, world};

fn message_ids(messages: &[String]) -> Vec<String> {
    messages
        .iter()
        .filter_map(|m| {
            m.lines()
                .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))
                .map(|l| l.split_once(':').unwrap().1.trim().to_string())
        })
        .collect()
}

#[tokio::test]
async fn letters_and_notices_wait_out_a_mail_outage_and_go_out_once() {
    let w = world("2026-02-01").await;
    let smtp = SmtpServer::start().await;
    smtp.set_mode(Mode::Refuse);
    let app = w
        .app
        .again(Options {
            vars: vec![
                ("FORDRA_TODAY", "2026-02-10".into()),
                ("FORDRA_MAIL", "smtp".into()),
                ("FORDRA_SMTP_URL", smtp.url()),
                ("FORDRA_SMTP_TIMEOUT_SECONDS", "2".into()),
            ],
        })
        .await;
    let (claim, _) = w
        .register(&json!({
            "invoice_number": "M-1", "capital": "2500.00", "invoice_date": "2026-01-10",
            "due_date": "2026-02-09", "reminder_fee_agreed": true,
            "debtor": {"kind": "person", "id_number": "198112189876", "name": "Sven Svensson",
                       "capacity": "consumer", "email": "sven@exempel.se",
                       "address": {"street": "Storgatan 1", "postal_code": "11122", "city": "Stockholm"}}
        }))
        .await;
    // A notice: the creditor invites a colleague while the server refuses.
    let creditor = logged_in(&app, &w.creditor_email).await;
    let r = creditor
        .post(app.url("/borgenar/anvandare"))
        .form(&[("name", "Kim Kollega"), ("email", "kim@kund.test"), ("role", "user")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "the invitation is saved though mail is down");
    let tick = || fordra::engine::tick(&app.state, d("2026-02-10"));
    let report = tick().await.unwrap();
    assert_eq!(
        (report.steps, report.dispatched, report.notices),
        (1, 0, 0),
        "the reminder is written, not sent"
    );
    // Staff see the queue and why it waits.
    let admin = staff_client(&app, "ada@fordra.test", "admin").await;
    let html = admin.get(app.url("/admin")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("1 brev, 1 e-postmeddelanden"), "{html}");
    assert!(html.contains("id=\"queue-error\""), "the last error is shown");

    // It times out, then takes the data without answering: still not known as sent.
    for mode in [Mode::Hang, Mode::DropAfterData] {
        smtp.set_mode(mode);
        app.state.clock.advance(chrono::Duration::minutes(20));
        let report = tick().await.unwrap();
        assert_eq!((report.dispatched, report.notices), (0, 0), "{mode:?}");
    }
    let unconfirmed = smtp.count();
    assert!(unconfirmed >= 2, "the server took messages it never confirmed: {unconfirmed}");

    // Back: each goes out, and never again.
    smtp.set_mode(Mode::Accept);
    app.state.clock.advance(chrono::Duration::hours(2));
    let report = tick().await.unwrap();
    assert_eq!((report.dispatched, report.notices), (1, 1));
    for _ in 0..3 {
        app.state.clock.advance(chrono::Duration::hours(3));
        let report = tick().await.unwrap();
        assert_eq!((report.dispatched, report.notices), (0, 0));
    }
    let messages = smtp.messages();
    assert_eq!(messages.len(), unconfirmed + 2, "after the outage each went out once more");
    let ids = message_ids(&messages);
    let mut distinct = ids.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 2, "a retry carries the same Message-ID: {ids:?}");
    assert!(ids.len() > distinct.len(), "some message was sent again after an uncertain send");
    let letter: uuid::Uuid = sqlx::query_scalar("select letter_id from letter where claim_id = $1")
        .bind(claim)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(distinct.contains(&format!("<letter-{letter}@fordra.se>")), "{distinct:?}");
    let (done, sent): (i64, i64) = sqlx::query_as(
        "select (select count(*) from outbox where done_at is not null), (select count(*) from mail_queue where sent_at is not null)",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((done, sent), (1, 1));
    // What the back office shows now (staff's session idled out while the clock moved on).
    let mut conn = app.pool.acquire().await.unwrap();
    let d = fordra::backoffice::service::dashboard(&mut conn, d("2026-02-10")).await.unwrap();
    assert_eq!((d.backlog.0, d.backlog.1, d.queue_error), (0, 0, None));
}
