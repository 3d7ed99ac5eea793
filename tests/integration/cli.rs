use crate::helpers::*;
use crate::on_both;
use std::process::{Command, Stdio};

pub(crate) fn wharf(
    settings: &wharf::settings::Settings,
    args: &[&str],
    stdin: Option<&str>,
) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wharf"))
        .args(args)
        .env("DATABASE_URL", &settings.database_url)
        .env("WHARF_DATA_DIR", &settings.data_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("wharf runs");
    if let Some(input) = stdin {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn cli_manages_environments_keys_users_and_deploys(db: Db) {
    let (settings, dir) = test_settings(db);
    if db == Db::Sqlite {
        // No database there yet (another folder, a misspelt one): nothing is made, and the
        // command says where it looked (probe 58b F12).
        let (ok, key, err) = wharf(&settings, &["key", "create", "--env", "development"], None);
        assert!(!ok && key.is_empty(), "{key}");
        assert!(
            err.contains("no Wharf database at") && err.contains("wharf migrate"),
            "{err}"
        );
        assert!(!dir.path().join("wharf.db").exists(), "no database was made");
    }
    // A first migrate says how many it applied, the next that there was nothing to do
    // (probe 72b D12: both said "up to date").
    let (ok, said, err) = wharf(&settings, &["migrate"], None);
    assert!(ok, "{err}");
    assert!(
        said.starts_with("applied ")
            && said
                .trim_end()
                .ends_with(" migrations; the database is up to date"),
        "{said}"
    );
    let (ok, said, err) = wharf(&settings, &["migrate"], None);
    assert!(ok, "{err}");
    assert_eq!(said.trim(), "migrations are up to date");
    let (ok, out, _) = wharf(&settings, &["env", "create", "staging"], None);
    assert!(ok);
    assert!(out.trim().starts_with("us_env_"));
    let (_, list, _) = wharf(&settings, &["env", "list"], None);
    assert!(list.contains("development") && list.contains("production") && list.contains("staging"));
    let (ok, _, err) = wharf(&settings, &["env", "create", "staging"], None);
    assert!(!ok);
    assert!(err.contains("already exists"), "{err}");

    let (ok, key, _) = wharf(&settings, &["key", "create", "--env", "staging"], None);
    assert!(ok);
    assert_eq!(key.lines().count(), 1);
    assert!(key.trim().starts_with("sk_"));
    // By its id, or its name in other case when only one reads so (probe 58b F4).
    let staging_id = out.trim().to_string();
    for named in [staging_id.as_str(), " Staging"] {
        let (ok, key, err) = wharf(&settings, &["key", "create", "--env", named], None);
        assert!(ok && key.trim().starts_with("sk_"), "{named}: {err}");
    }
    // Nor is a second environment named so but for case (probe 66f D2).
    let (ok, _, err) = wharf(&settings, &["env", "create", "STAGING"], None);
    assert!(!ok);
    assert!(err.contains("`staging` already exists"), "{err}");

    let (ok, _, err) = wharf(
        &settings,
        &["user", "create", "--email", "ada@example.com", "--admin"],
        Some("short\n"),
    );
    assert!(!ok);
    assert!(err.contains("at least 10"), "{err}");
    // Two lines: no sign-in page could take it (probe 58b F1).
    let (ok, _, err) = wharf(
        &settings,
        &["user", "create", "--email", "ada@example.com", "--admin"],
        Some("a long enough password\nand a second line\n"),
    );
    assert!(!ok);
    assert!(err.contains("more than one line"), "{err}");
    let (ok, out, _) = wharf(
        &settings,
        &["user", "create", "--email", "ada@example.com", "--admin"],
        Some("a long enough password\n"),
    );
    assert!(ok);
    assert!(out.trim().starts_with("us_usr_"));
    // A forgotten password is set anew by an admin on the server.
    let (ok, _, err) = wharf(
        &settings,
        &["user", "password", "--email", "Ada@Example.com"],
        Some("another long password\n"),
    );
    assert!(ok, "{err}");
    let mut conn = wharf::app::prepare_database(&settings).unwrap().get().unwrap();
    // Guesses held against the account (from anywhere) go with the old password.
    let throttle = wharf::auth::throttle::Throttle::default();
    for i in 0..10 {
        let address = format!("10.0.0.{i}");
        throttle
            .begin(&mut conn, "ada@example.com", &address)
            .unwrap()
            .unwrap();
    }
    let (ok, _, err) = wharf(
        &settings,
        &["user", "password", "--email", "ada@example.com"],
        Some("another long password\n"),
    );
    assert!(ok, "{err}");
    let left: i64 = {
        use diesel::prelude::*;
        wharf::db::schema::sign_in_attempts::table
            .filter(wharf::db::schema::sign_in_attempts::key.like("account:%"))
            .count()
            .get_result(&mut *conn)
            .unwrap()
    };
    assert_eq!(left, 0, "the account's attempts are forgotten");
    let ada = wharf::model::user::find_by_email(&mut conn, "ada@example.com")
        .unwrap()
        .unwrap();
    assert!(wharf::auth::password::verify(
        "another long password",
        Some(&ada.password_hash)
    ));
    let (ok, _, err) = wharf(
        &settings,
        &["user", "password", "--email", "nobody@example.com"],
        Some("another long password\n"),
    );
    assert!(!ok);
    assert!(
        err.contains("no user has the email address nobody@example.com"),
        "{err}"
    );

    let file = dir.path().join("blueprint.json");
    // As a Windows editor saves it, after a byte-order mark (probe 58b F2).
    std::fs::write(&file, format!("\u{feff}{}", contacts_blueprint())).unwrap();
    let (ok, out, _) = wharf(
        &settings,
        &["deploy", file.to_str().unwrap(), "--env", "staging"],
        None,
    );
    assert!(ok);
    let config_id = out
        .lines()
        .find_map(|l| l.strip_prefix("spaceConfigId: "))
        .expect("prints spaceConfigId")
        .to_string();
    assert!(out.lines().any(|l| l.starts_with("environmentId: us_env_")));
    let (_, again, _) = wharf(
        &settings,
        &["deploy", file.to_str().unwrap(), "--env", "staging"],
        None,
    );
    assert!(again.contains(&config_id), "redeploy updates the same config");
    // Once a space was made from it, a redeploy says that space keeps its workbooks (probe
    // 70c D12: the admin expected its sheets to change).
    {
        let pool = wharf::db::build_pool(&settings.database_url, 1).unwrap();
        let mut conn = pool.get().unwrap();
        let env_id = out
            .lines()
            .find_map(|l| l.strip_prefix("environmentId: "))
            .and_then(wharf::ids::EnvironmentId::parse)
            .unwrap();
        let config = wharf::ids::SpaceConfigId::parse(&config_id).unwrap();
        let input = wharf::model::space::SpaceInput {
            name: Some("Made before"),
            space_config_id: Some(&config),
            metadata: "{}",
            namespace: None,
            auto_configure: false,
            extras: "{}",
        };
        wharf::model::space::create(&mut conn, &env_id, input, "cli-test").unwrap();
    }
    let (ok, _, said) = wharf(
        &settings,
        &["deploy", file.to_str().unwrap(), "--env", "staging"],
        None,
    );
    assert!(ok);
    assert!(
        said.contains("the 1 space made from it before keeps its workbooks as they were"),
        "{said}"
    );

    std::fs::write(&file, "{\"name\": \"x\", \"workbooks\": [{\"name\": \"w\", \"sheets\": [{\"name\": \"s\", \"fields\": [{\"key\": \"a\", \"type\": \"money\"}]}]}]}").unwrap();
    let (ok, _, err) = wharf(
        &settings,
        &["deploy", file.to_str().unwrap(), "--env", "staging"],
        None,
    );
    assert!(!ok);
    assert!(err.contains("$.workbooks[0].sheets[0].fields[0].type"), "{err}");
    let (ok, _, err) = wharf(
        &settings,
        &["deploy", file.to_str().unwrap(), "--env", "nowhere"],
        None,
    );
    assert!(!ok);
    assert!(err.contains("no environment named `nowhere`"), "{err}");

    // A member written twice is named, not the last one kept (probe 64e D7).
    std::fs::write(
        &file,
        "{\"name\": \"First\", \"name\": \"Second\", \"workbooks\": []}",
    )
    .unwrap();
    let (ok, _, err) = wharf(
        &settings,
        &["deploy", file.to_str().unwrap(), "--env", "staging"],
        None,
    );
    assert!(!ok);
    assert!(err.contains("$.name: `name` is written twice"), "{err}");
}

#[test]
fn a_malformed_setting_stops_the_start_with_its_name() {
    let out = Command::new(env!("CARGO_BIN_EXE_wharf"))
        .arg("migrate")
        .env("WHARF_BIND", "not-an-address")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("WHARF_BIND"));
    // The log filter too, which was read apart and its unreadable parts left out (probe 58b F5).
    let out = Command::new(env!("CARGO_BIN_EXE_wharf"))
        .arg("migrate")
        .env("WHARF_LOG", "nonsense=====")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("WHARF_LOG `nonsense=====` is not a log filter"));
}

/// A port in use stops the start naming the address and what to do (probe 72b D12:
/// "Address already in use (os error 98)").
#[test]
fn a_port_in_use_is_named() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let at = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_wharf"))
        .arg("serve")
        .env("WHARF_DATA_DIR", dir.path())
        .env("WHARF_BIND", &at)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "{at} is in use already (another Wharf running?): stop it, or set WHARF_BIND to another address"
        )),
        "{stderr}"
    );
}

/// The access log names each request without the tokens some links carry (guest links,
/// team invitations, the first-admin link, Submit records links): they work as passwords.
async fn the_access_log_leaves_out_link_tokens(db: Db) {
    let (settings, _dir) = test_settings(db);
    let log_path = settings.data_dir.join("server.log");
    std::fs::create_dir_all(&settings.data_dir).unwrap();
    let client = reqwest::Client::new();
    // A free port may be taken by another test before the server binds it (the server then
    // exits, and another test's server answers there): try another.
    let mut up = None;
    for _ in 0..5 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::fs::File::create(&log_path).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_wharf"))
            .arg("serve")
            .env("DATABASE_URL", &settings.database_url)
            .env("WHARF_DATA_DIR", &settings.data_dir)
            .env("WHARF_BIND", format!("127.0.0.1:{port}"))
            .env("WHARF_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..200 {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            // Its own log says it listens: a health answer alone may be another server's.
            let listening =
                std::fs::read_to_string(&log_path).is_ok_and(|t| t.contains("Wharf is listening"));
            if listening && client.get(format!("{base}/health")).send().await.is_ok() {
                up = Some((child, base));
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        if up.is_some() {
            break;
        }
    }
    let Some((mut child, base)) = up else {
        panic!("wharf serve did not answer");
    };

    for path in [
        "/guest-links/gt_sekrit1",
        "/invites/gt_sekrit2",
        "/setup?token=sekrit3",
        "/v1/submissions/us_sb_1/sheets/us_sh_1/records?expires=1&signature=sekrit4",
    ] {
        client.get(format!("{base}{path}")).send().await.unwrap();
    }
    // The last line is written once the answer is; give the logger a moment.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    child.kill().unwrap();
    child.wait().unwrap();
    let text = std::fs::read_to_string(&log_path).unwrap();
    assert!(text.contains("GET /guest-links/[hidden] HTTP/1.1"), "{text}");
    assert!(text.contains("signature=[hidden]"), "{text}");
    assert!(!text.contains("sekrit"), "{text}");
}

on_both!(
    cli_manages_environments_keys_users_and_deploys,
    the_access_log_leaves_out_link_tokens
);
