//! Flatfile's scheduled events (`cron:5-minutes`, `cron:hourly`, ...): each period's tick is
//! sent once to every environment, however many processes share the database.

use crate::commits::events_of;
use crate::helpers::*;
use crate::on_both;
use chrono::NaiveDate;

async fn each_tick_is_sent_once_to_every_environment(db: Db) {
    let app = spawn_app(db).await;
    let at = |h, m| {
        NaiveDate::from_ymd_opt(2026, 12, 3)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
    };
    let look = |t| {
        let pool = app.pool.clone();
        std::thread::spawn(move || wharf::workers::cron::send_due(&mut pool.get().unwrap(), t).unwrap())
    };
    // A first look only starts counting.
    assert!(look(at(10, 1)).join().unwrap().is_empty());
    assert_eq!(look(at(10, 6)).join().unwrap(), ["cron:5-minutes"]);
    assert!(look(at(10, 7)).join().unwrap().is_empty(), "once a period");
    // Four processes look at once as the hour turns: each tick goes out once.
    let looks: Vec<_> = (0..4).map(|_| look(at(11, 0))).collect();
    let mut sent: Vec<&str> = looks.into_iter().flat_map(|l| l.join().unwrap()).collect();
    sent.sort_unstable();
    assert_eq!(sent, ["cron:5-minutes", "cron:hourly"]);
    let five = events_of(&app, "cron:5-minutes").await;
    assert_eq!(five.len(), 2, "{five:?}");
    assert_eq!(events_of(&app, "cron:hourly").await.len(), 1);
    assert_eq!(five[0]["domain"], "cron");
    // Another environment hears its own.
    let other = app
        .client
        .get(app.url("/v1/events?topic=cron:hourly&includeAcknowledged=true"))
        .bearer_auth(app.production_key());
    let (status, theirs) = send(other).await;
    assert_eq!(status, 200, "{theirs}");
    assert_eq!(theirs["data"].as_array().unwrap().len(), 1, "{theirs}");
    assert_ne!(
        theirs["data"][0]["context"]["environmentId"],
        five[0]["context"]["environmentId"]
    );
}

on_both!(each_tick_is_sent_once_to_every_environment);
