//! Reading the settings from the environment.

use super::*;
use std::collections::HashMap;

fn settings(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
    let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Settings::from_lookup(|k| map.get(k).cloned())
}

#[test]
fn defaults_put_sqlite_in_the_data_dir() {
    let s = settings(&[]).unwrap();
    assert_eq!(s.database_url, "sqlite://./data/wharf.db");
    assert_eq!(s.bind.to_string(), "127.0.0.1:8080");
    assert_eq!(s.base_url, "http://127.0.0.1:8080");
    assert_eq!(s.max_upload_mb, 1024);
    assert_eq!(
        settings(&[("WHARF_MAX_UPLOAD_MB", "5")]).unwrap().max_upload_mb,
        5
    );
    let e = settings(&[("WHARF_MAX_UPLOAD_MB", "0")]).unwrap_err();
    assert_eq!(e.var, "WHARF_MAX_UPLOAD_MB");
    assert_eq!(s.smtp_url, None);
    assert_eq!(s.mail_from, DEFAULT_MAIL_FROM);
    assert_eq!(s.guest_link_hours, 24);
    assert_eq!(s.mail_retry_seconds, 60);
    assert_eq!(s.keep_alive_seconds, 75);
    assert_eq!(s.read_budget, std::time::Duration::from_secs(10));
    let quick = settings(&[("WHARF_READ_SECONDS", "2")]).unwrap();
    assert_eq!(quick.read_budget, std::time::Duration::from_secs(2));
    assert!(reject_unknown(["WHARF_READ_SECONDS".to_string()].into_iter()).is_ok());
    assert_eq!(s.event_retention_days, 30);
    let idle = settings(&[("WHARF_KEEP_ALIVE_SECONDS", "120")]).unwrap();
    assert_eq!(idle.keep_alive_seconds, 120);
    assert_eq!(s.job_workers, 2);
    let pg = ("DATABASE_URL", "postgres://w@db/w");
    assert_eq!(
        settings(&[("WHARF_JOB_WORKERS", "0"), pg]).unwrap().job_workers,
        0
    );
    let e = settings(&[("WHARF_DB_POOL_SIZE", "2")]).unwrap_err();
    assert_eq!(e.var, "WHARF_DB_POOL_SIZE");
    assert!(e.problem.contains("at least 4"), "{}", e.problem);
    let few = [("WHARF_DB_POOL_SIZE", "2"), ("WHARF_JOB_WORKERS", "0"), pg];
    assert_eq!(settings(&few).unwrap().pool_size, 2, "requests only");
    let e = settings(&[("WHARF_JOB_WORKERS", "many")]).unwrap_err();
    assert_eq!(e.var, "WHARF_JOB_WORKERS");
    assert!(e.problem.contains("whole number of workers"), "{}", e.problem);
    let days = settings(&[("WHARF_EVENT_RETENTION_DAYS", "7")]).unwrap();
    assert_eq!(days.event_retention_days, 7);
    assert!(!s.webhook_private);
    assert!(
        settings(&[("WHARF_WEBHOOK_PRIVATE", "allow")])
            .unwrap()
            .webhook_private
    );
    let e = settings(&[("WHARF_WEBHOOK_PRIVATE", "yes")]).unwrap_err();
    assert_eq!(e.var, "WHARF_WEBHOOK_PRIVATE");
}

#[test]
fn malformed_values_name_their_variable() {
    let e = settings(&[("WHARF_BIND", "localhost")]).unwrap_err();
    assert_eq!(e.var, "WHARF_BIND");
    let e = settings(&[("DATABASE_URL", "mysql://x")]).unwrap_err();
    assert_eq!(e.var, "DATABASE_URL");
    let e = settings(&[("WHARF_BASE_URL", "example.com")]).unwrap_err();
    assert_eq!(e.var, "WHARF_BASE_URL");
    let e = settings(&[("WHARF_DATA_DIR", " ")]).unwrap_err();
    assert_eq!(e.var, "WHARF_DATA_DIR");
    let e = settings(&[("WHARF_SMTP_URL", "http://u:secret@mail.example.com")]).unwrap_err();
    assert_eq!(e.var, "WHARF_SMTP_URL");
    assert!(!e.problem.contains("secret"), "credentials stay out of messages");
    let e = settings(&[("WHARF_GUEST_LINK_HOURS", "0")]).unwrap_err();
    assert_eq!(e.var, "WHARF_GUEST_LINK_HOURS");
    let e = settings(&[("WHARF_MAIL_FROM", "not an address")]).unwrap_err();
    assert_eq!(e.var, "WHARF_MAIL_FROM");
    let e = settings(&[("WHARF_EVENT_RETENTION_DAYS", "0")]).unwrap_err();
    assert_eq!(e.var, "WHARF_EVENT_RETENTION_DAYS");
    assert!(reject_unknown(["WHARF_EVENT_RETENTION_DAYS".to_string()].into_iter()).is_ok());
    // The database's setting has no prefix: said (probe 70c D1).
    let e = reject_unknown(["WHARF_DATABASE_URL".to_string()].into_iter()).unwrap_err();
    assert!(
        e.problem.contains("the database is set with DATABASE_URL"),
        "{}",
        e.problem
    );
    let e = reject_unknown(["WHARF_BINDD".to_string()].into_iter()).unwrap_err();
    assert!(e.problem.contains("WHARF_BINDD"));
}

#[test]
fn extract_names_the_types_wharf_extracts_itself() {
    let all = settings(&[]).unwrap();
    assert!(all.extracts("xlsx") && all.extracts(""));
    assert!(settings(&[("WHARF_EXTRACT", "all")]).unwrap().extracts("pdf"));
    let some = settings(&[("WHARF_EXTRACT", "csv, .TSV")]).unwrap();
    assert!(some.extracts("csv") && some.extracts("tsv") && some.extracts("CSV"));
    assert!(!some.extracts("xlsx") && !some.extracts(""));
    for bad in ["csv,", "csv;tsv", "*.csv"] {
        let e = settings(&[("WHARF_EXTRACT", bad)]).unwrap_err();
        assert_eq!(e.var, "WHARF_EXTRACT", "{bad}");
    }
}

#[test]
fn a_storage_url_names_a_bucket_and_a_prefix() {
    assert!(
        settings(&[]).unwrap().storage.is_none(),
        "the data folder is the default"
    );
    let s = settings(&[("WHARF_STORAGE_URL", "s3://wharf-files/prod/eu")]).unwrap();
    let b = s.storage.unwrap();
    assert_eq!((b.bucket.as_str(), b.prefix.as_str()), ("wharf-files", "prod/eu"));
    let b = settings(&[("WHARF_STORAGE_URL", "s3://wharf-files")])
        .unwrap()
        .storage
        .unwrap();
    assert_eq!(b.prefix, "");
    for bad in [
        "/var/files",
        "https://example.com/x",
        "s3://",
        "s3://Bad_Bucket/x",
        "s3://ok-bucket/a/../b",
    ] {
        let e = settings(&[("WHARF_STORAGE_URL", bad)]).unwrap_err();
        assert_eq!(e.var, "WHARF_STORAGE_URL", "{bad}");
    }
}

/// Probe 71e D5: a prefix with `//` or `..` was "not a usable prefix", saying nothing of
/// the fix.
#[test]
fn a_bad_storage_prefix_says_how_to_write_it() {
    let message = |url: &str| settings(&[("WHARF_STORAGE_URL", url)]).unwrap_err().problem;
    assert!(
        message("s3://wharf/p1//dbl//").contains("holds an empty part (`//`); write it as `p1/dbl`"),
        "{}",
        message("s3://wharf/p1//dbl//")
    );
    assert!(message("s3://wharf/p3/../p4").contains("name the folders themselves, such as `p3/p4`"));
    assert!(message("s3://wharf/.").contains("leave the prefix out"));
}

/// A variable read here but missing from `KNOWN` would stop every start with "unknown
/// variable" once someone sets it.
#[test]
fn every_variable_read_is_known() {
    let whole = include_str!("../settings.rs");
    // The tests below name misspelt variables on purpose.
    let source = &whole[..whole.find("#[cfg(test)]").unwrap_or(whole.len())];
    for (at, _) in source.match_indices("\"WHARF_") {
        let name: String = source[at + 1..]
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || *c == '_')
            .collect();
        if name != "WHARF_" {
            assert!(KNOWN.contains(&name.as_str()), "{name} is read but not in KNOWN");
        }
    }
}

#[test]
fn a_base_url_is_an_address_links_can_start_with() {
    let url = |v: &str| settings(&[("WHARF_BASE_URL", v)]);
    assert_eq!(
        url("https://wharf.example.com/").unwrap().base_url,
        "https://wharf.example.com"
    );
    assert_eq!(
        url("http://10.0.0.5:8080/wharf").unwrap().base_url,
        "http://10.0.0.5:8080/wharf"
    );
    // No host, a space, a query or a fragment: every mailed link would be broken (probe 64e D2).
    for bad in [
        "http://",
        "http://wh arf.example.com",
        "https://x.io/?x=1",
        "https://x.io/#f",
        "ftp://x.io",
        // Read by the parser as addresses, but used as typed (probe 65c D5).
        "http:host",
        "http:/host",
        "http://host\\x",
        "http://user:pw@host",
        "http:///host",
        "https:////host",
        "http://@host",
    ] {
        assert_eq!(url(bad).unwrap_err().var, "WHARF_BASE_URL", "{bad}");
    }
}

#[test]
fn a_server_on_port_0_names_its_port_in_links() {
    // Mail links said http://127.0.0.1:0 (probe 64e D3).
    let mut picked = settings(&[("WHARF_BIND", "127.0.0.1:0")]).unwrap();
    picked.bound_to(43117);
    assert_eq!(picked.base_url, "http://127.0.0.1:43117");
    let mut v6 = settings(&[("WHARF_BIND", "[::1]:0")]).unwrap();
    v6.bound_to(43117);
    assert_eq!(v6.base_url, "http://[::1]:43117");
    // A public address given is kept; so is a fixed port's.
    let mut given = settings(&[("WHARF_BIND", "127.0.0.1:0"), ("WHARF_BASE_URL", "https://x.io")]).unwrap();
    given.bound_to(43117);
    assert_eq!(given.base_url, "https://x.io");
    let mut fixed = settings(&[]).unwrap();
    fixed.bound_to(8080);
    assert_eq!(fixed.base_url, "http://127.0.0.1:8080");
}

#[test]
fn a_sqlite_url_names_a_file_and_sqlite_runs_its_jobs() {
    // `sqlite://` alone opened a database of no file (probe 64e D1).
    // `?mode=ro` was made part of the file's name, read-write (probe 64e D4).
    for bad in [
        "sqlite://",
        "sqlite:",
        "sqlite:///tmp/w.db?mode=ro",
        "./w.db?cache=shared",
        // A new empty database for each connection (probe 65c D6).
        "sqlite://:memory:",
        "sqlite::memory:",
        "file:w?mode=memory",
        "file::memory:",
        "sqlite://file::memory:",
        "sqlite:file::memory:",
        "file:/x/w.db?mode=memor%79",
    ] {
        assert_eq!(
            settings(&[("DATABASE_URL", bad)]).unwrap_err().var,
            "DATABASE_URL",
            "{bad}"
        );
    }
    for good in ["file:./data/w.db?mode=rwc", "sqlite:///var/w.db", "./w.db"] {
        assert!(settings(&[("DATABASE_URL", good)]).is_ok(), "{good}");
    }
}
