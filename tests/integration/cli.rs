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

    let (ok, _, err) = wharf(
        &settings,
        &["user", "create", "--email", "ada@example.com", "--admin"],
        Some("short\n"),
    );
    assert!(!ok);
    assert!(err.contains("at least 10"), "{err}");
    let (ok, out, _) = wharf(
        &settings,
        &["user", "create", "--email", "ada@example.com", "--admin"],
        Some("a long enough password\n"),
    );
    assert!(ok);
    assert!(out.trim().starts_with("us_usr_"));

    let file = dir.path().join("blueprint.json");
    std::fs::write(&file, contacts_blueprint().to_string()).unwrap();
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
}

on_both!(cli_manages_environments_keys_users_and_deploys);
