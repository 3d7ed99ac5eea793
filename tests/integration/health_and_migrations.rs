use crate::helpers::{spawn_app, test_settings, Db};
use crate::on_both;
use diesel::connection::SimpleConnection;
use wharf::db;

async fn health_answers_ok(db: Db) {
    let app = spawn_app(db).await;
    let resp = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    let head = app.client.head(app.url("/health")).send().await.unwrap();
    assert_eq!(head.status().as_u16(), 200);
    assert!(head.bytes().await.unwrap().is_empty());
}

async fn migrations_go_up_down_and_up_again(db: Db) {
    let (settings, _dir) = test_settings(db);
    let pool = db::build_pool(&settings.database_url, 1).unwrap();
    let mut conn = pool.get().unwrap();
    db::run_migrations(&mut conn).unwrap();
    conn.batch_execute("SELECT id, vals, error_fields FROM records")
        .unwrap();
    db::revert_all_migrations(&mut conn).unwrap();
    assert!(
        conn.batch_execute("SELECT id FROM records").is_err(),
        "records table should be gone after down"
    );
    db::run_migrations(&mut conn).unwrap();
    conn.batch_execute("SELECT id, vals FROM records").unwrap();
    conn.batch_execute("SELECT id, sha256 FROM files; SELECT id, checkpoint FROM jobs; SELECT fingerprint FROM remembered_mappings")
        .unwrap();
}

async fn first_start_creates_development_and_production(db: Db) {
    let app = spawn_app(db).await;
    let (status, body) = app.get_json("/environments").await;
    assert_eq!(status, 200, "{body}");
    let names: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["development", "production"]);
    assert_eq!(body["data"][1]["isProd"], true);
}

/// Processes started at once on an empty database all start: one migrates, the others
/// find it done (probe 71e D1: one died on PostgreSQL, "duplicate key value").
async fn processes_started_at_once_all_migrate(db: Db) {
    let (settings, _dir) = test_settings(db);
    let pool = db::build_pool(&settings.database_url, 4).unwrap();
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let pool = pool.clone();
            std::thread::spawn(move || {
                db::run_migrations(&mut pool.get().unwrap()).map_err(|e| e.to_string())
            })
        })
        .collect();
    for start in starts {
        start.join().unwrap().unwrap();
    }
    pool.get()
        .unwrap()
        .batch_execute("SELECT id, vals FROM records")
        .unwrap();
}

/// A database a newer Wharf migrated is refused, saying so (probe 71e D3: an older
/// process served it silently).
async fn a_database_of_a_newer_wharf_is_refused(db: Db) {
    let (settings, _dir) = test_settings(db);
    let pool = db::build_pool(&settings.database_url, 1).unwrap();
    let mut conn = pool.get().unwrap();
    db::run_migrations(&mut conn).unwrap();
    conn.batch_execute("INSERT INTO __diesel_schema_migrations (version) VALUES ('29991231000001')")
        .unwrap();
    let refused = db::run_migrations(&mut conn).unwrap_err().to_string();
    assert!(refused.contains("migrated by a newer Wharf"), "{refused}");
    assert!(refused.contains("29991231000001"), "{refused}");
}

on_both!(
    health_answers_ok,
    migrations_go_up_down_and_up_again,
    first_start_creates_development_and_production,
    processes_started_at_once_all_migrate,
    a_database_of_a_newer_wharf_is_refused
);
