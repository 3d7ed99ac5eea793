//! The mail retry worker alone on a database (no server): it sends an invitation that
//! waits, with a fresh link, and forgets it; once its handle is dropped it sends nothing.

use crate::helpers::*;
use crate::on_both;
use std::time::Duration;
use wharf::mail::outbox;
use wharf::model::mail_retry::{self, Target, Waiting};

fn waiting_for(person: &wharf::model::user::User) -> Waiting {
    Waiting {
        target: Target::Member(person.id.clone()),
        from_name: None,
        message: None,
        invited_by: "ops@example.com".into(),
        error: "the mail server was down".into(),
        delay: chrono::TimeDelta::zero(),
        lifetime: chrono::TimeDelta::hours(24),
        permanent: false,
    }
}

async fn the_mail_retry_worker_runs_alone_and_stops_with_its_handle(db: Db) {
    let (mut settings, _dir) = test_settings(db);
    settings.mail_retry_seconds = 1;
    let pool = wharf::app::prepare_database(&settings).unwrap();
    let mut conn = pool.get().unwrap();
    let hash = wharf::auth::password::hash(PASSWORD).unwrap();
    let ada = wharf::model::user::create_invited(&mut conn, "ada@example.com", &hash, false).unwrap();
    let bob = wharf::model::user::create_invited(&mut conn, "bob@example.com", &hash, false).unwrap();
    mail_retry::queue(&mut conn, &waiting_for(&ada)).unwrap();

    let running = wharf::workers::mail_retry::start(wharf::workers::mail_retry::Context {
        pool: pool.clone(),
        mail: std::sync::Arc::new(wharf::mail::Mailer::from_settings(&settings).unwrap()),
        settings: settings.clone(),
    })
    .unwrap();
    let dir = outbox::dir(&settings.data_dir);
    let mut mails = Vec::new();
    for _ in 0..100 {
        mails = outbox::list(&dir, 10).unwrap_or_default();
        if !mails.is_empty() && mail_retry::all(&mut conn).unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(mails[0].to.contains("ada@example.com"), "{}", mails[0].to);
    assert!(
        mails[0].body.contains("http://127.0.0.1/invites/"),
        "a fresh link: {}",
        mails[0].body
    );
    assert!(
        mail_retry::all(&mut conn).unwrap().is_empty(),
        "sent, so nothing waits"
    );

    drop(running);
    // A look that began before the drop ends first; the next one (a second later) sees
    // the handle gone.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    mail_retry::queue(&mut conn, &waiting_for(&bob)).unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        outbox::list(&dir, 10).unwrap().len(),
        1,
        "a stopped worker sends nothing"
    );
    assert_eq!(
        mail_retry::all(&mut conn).unwrap().len(),
        1,
        "bob's invitation still waits"
    );
}

on_both!(the_mail_retry_worker_runs_alone_and_stops_with_its_handle);
