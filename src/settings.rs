//! Typed settings, read once from the environment at start.
//!
//! Tests build `Settings` directly, so nothing here is global.

use std::net::SocketAddr;
use std::path::PathBuf;

pub mod bucket;
pub use bucket::{BucketSettings, Crowds};

/// Everything Wharf needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `DATABASE_URL`: `postgres://...` for PostgreSQL, `sqlite://PATH` or a plain path
    /// for SQLite. Default: `wharf.db` inside the data directory.
    pub database_url: String,
    /// `WHARF_DATA_DIR`: where the SQLite file and uploads live. Default `./data`.
    pub data_dir: PathBuf,
    /// `WHARF_BIND`: address to listen on. Default `127.0.0.1:8080`; port 0 picks a free port.
    pub bind: SocketAddr,
    /// `WHARF_BASE_URL`: the public address, used in links sent by mail.
    /// Default `http://` + the bind address.
    pub base_url: String,
    /// `WHARF_DB_POOL_SIZE`: connections in the database pool. Default 8.
    pub pool_size: u32,
    /// `WHARF_MAX_UPLOAD_MB`: the largest file an upload may carry, in megabytes (MiB).
    /// Default 1024; a larger upload is answered 413.
    pub max_upload_mb: u64,
    /// `WHARF_SMTP_URL`: send mail through this SMTP server: `smtp://host:25` (plain),
    /// `smtp://host:587?tls=required` (STARTTLS), `smtps://host:465` (TLS), with
    /// `user:password@` before the host when the server wants credentials. Unset: every
    /// message is written as an `.eml` file to `WHARF_DATA_DIR/outbox/`.
    pub smtp_url: Option<String>,
    /// `WHARF_MAIL_FROM`: the sender of Wharf's mail, `Name <address>` or a bare address.
    /// Default `Wharf <wharf@localhost>`.
    pub mail_from: String,
    /// `WHARF_GUEST_LINK_HOURS`: how long an emailed sign-in link (and an API guest token)
    /// stays valid. Default 24; from 1 to 720.
    pub guest_link_hours: i64,
    /// `WHARF_MAIL_RETRY_SECONDS`: an invitation the mail server did not take is tried
    /// again after this long, then twice as long each time (at most an hour apart) while
    /// its link would still be valid. Default 60; from 1 to 3600.
    pub mail_retry_seconds: u64,
    /// `WHARF_KEEP_ALIVE_SECONDS`: how long an idle connection is kept open, said in every
    /// answer's `Keep-Alive: timeout=` header. Longer than load balancers keep theirs (60 s
    /// is usual), so a client reusing a connection never writes into one Wharf closed.
    /// Default 75; from 1 to 3600.
    pub keep_alive_seconds: u64,
    /// `WHARF_READ_SECONDS`: a read whose cost the request decides (a page of records with
    /// a query or search, its counts, a field's values) is stopped after this long and
    /// answered 422, instead of holding a database connection for minutes. Default 10;
    /// from 1 to 3600.
    pub read_budget: std::time::Duration,
    /// `WHARF_JOB_WORKERS`: how many built-in jobs (extractions, mappings, bulk changes)
    /// this process runs at once. 0 makes a process that serves requests only, leaving the
    /// jobs to other processes on the same PostgreSQL database. Default 2; from 0 to 64.
    pub job_workers: usize,
    /// `WHARF_EVENT_RETENTION_DAYS`: events older than this many days are deleted in the
    /// background (checked at start and every hour). Default 30; from 1 to 3650.
    pub event_retention_days: i64,
    /// `WHARF_WEBHOOK_PRIVATE`: `allow` lets webhooks reach loopback and private addresses
    /// (127.0.0.0/8, 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, ::1, fc00::/7), for a
    /// receiver on the same machine or network; `deny` (the default) refuses them.
    /// Link-local and cloud metadata addresses are refused either way.
    pub webhook_private: bool,
    /// `WHARF_JOB_ACK_SECONDS`: a listener's job (an action's) that nobody acknowledges
    /// within this many seconds fails with "No listener took this job". Default 300; from
    /// 1 to 86400.
    pub job_ack_seconds: u64,
    /// `WHARF_CRON`: `on` (the default) sends Flatfile's scheduled events (`cron:5-minutes`,
    /// `cron:hourly`, `cron:daily`, `cron:weekly`) to every environment; `off` sends none.
    pub cron: bool,
    /// `WHARF_STORAGE_URL`: `s3://bucket/prefix` keeps uploaded files in an S3-compatible
    /// bucket (credentials and endpoint from the usual `AWS_*` variables), which every
    /// process sharing the database shares. Unset: files live in `WHARF_DATA_DIR/storage/`.
    pub storage: Option<BucketSettings>,
    /// `WHARF_INDEX_FROM_RECORDS`: a sheet gets sort and search indexes once it holds this
    /// many records; a smaller one is read by scans, fast at that size. On SQLite every
    /// sort index of any sheet costs each record insert of every sheet a little. Default
    /// 20000; from 0 to 1000000000.
    pub index_from_records: i64,
    /// `WHARF_EXTRACT`: the file name extensions whose uploads Wharf extracts itself,
    /// comma-separated (`csv,tsv`). Uploads of other types stay `partial` for a listener's
    /// extractor (Flatfile's extractor plugins choose files by extension): without this, a
    /// listener using one would extract such a file a second time, and automap map it twice.
    /// Unset or `all`: Wharf extracts every upload.
    pub extract: Option<Vec<String>>,
    /// `WHARF_TRUSTED_PROXIES`: the reverse proxies (addresses or networks, comma-separated)
    /// whose `X-Forwarded-For` tells who is asking (see `web::client_address`). Unset: none.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl Settings {
    /// Whether Wharf extracts an upload with this extension itself (see `extract`).
    pub fn extracts(&self, ext: &str) -> bool {
        self.extract
            .as_ref()
            .is_none_or(|list| list.iter().any(|e| e.eq_ignore_ascii_case(ext)))
    }
}

/// A setting that could not be read; names the variable so the operator can fix it.
#[derive(Debug, thiserror::Error)]
#[error("{var}: {problem}")]
pub struct SettingsError {
    pub var: &'static str,
    pub problem: String,
}

impl Settings {
    /// Reads the `WHARF_*` variables and `DATABASE_URL` from the process environment.
    pub fn from_env() -> Result<Self, SettingsError> {
        reject_unknown(std::env::vars().map(|(k, _)| k))?;
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Same as [`Settings::from_env`] with any lookup, so it can be tested without globals.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let data_dir = PathBuf::from(non_empty(&get, "WHARF_DATA_DIR")?.unwrap_or_else(|| "./data".into()));
        let bind_text = non_empty(&get, "WHARF_BIND")?.unwrap_or_else(|| "127.0.0.1:8080".into());
        let bind: SocketAddr = bind_text.parse().map_err(|_| SettingsError {
            var: "WHARF_BIND",
            problem: format!("`{bind_text}` is not an address like 127.0.0.1:8080"),
        })?;
        let base_url = match non_empty(&get, "WHARF_BASE_URL")? {
            Some(url) => base_url_of(&url).map_err(|problem| SettingsError {
                var: "WHARF_BASE_URL",
                problem,
            })?,
            None => format!("http://{bind}"),
        };
        let pool_size = match non_empty(&get, "WHARF_DB_POOL_SIZE")? {
            Some(text) => match text.parse::<u32>() {
                Ok(n) if (1..=256).contains(&n) => n,
                _ => {
                    return Err(SettingsError {
                        var: "WHARF_DB_POOL_SIZE",
                        problem: format!("`{text}` must be a whole number from 1 to 256"),
                    })
                }
            },
            None => 8,
        };
        let max_upload_mb = match non_empty(&get, "WHARF_MAX_UPLOAD_MB")? {
            Some(text) => match text.parse::<u64>() {
                Ok(n) if (1..=1_048_576).contains(&n) => n,
                _ => {
                    return Err(SettingsError {
                        var: "WHARF_MAX_UPLOAD_MB",
                        problem: format!("`{text}` must be a whole number of megabytes from 1 to 1048576"),
                    })
                }
            },
            None => 1024,
        };
        let database_url = match non_empty(&get, "DATABASE_URL")? {
            Some(url) => {
                let backend = crate::db::Backend::from_url(&url).map_err(|problem| SettingsError {
                    var: "DATABASE_URL",
                    problem,
                })?;
                // `sqlite://` alone opened a database of no file, empty at every start.
                let path = url
                    .strip_prefix("sqlite://")
                    .or(url.strip_prefix("sqlite:"))
                    .unwrap_or(&url);
                // In memory, a new empty database for each pooled connection (probe 65c D6,
                // 65d D3), in any spelling.
                let memory = crate::db::sqlite_file::file_of(path).is_none();
                if backend == crate::db::Backend::Sqlite && (path.trim().is_empty() || memory) {
                    return Err(SettingsError {
                        var: "DATABASE_URL",
                        problem: format!(
                            "`{url}` names no SQLite file; give its path, such as sqlite://./data/wharf.db"
                        ),
                    });
                }
                // A path's `?` is part of its file name to SQLite: `?mode=ro` made a file so
                // named, read-write. Parameters belong in a `file:` URI.
                if backend == crate::db::Backend::Sqlite && !path.starts_with("file:") && path.contains('?') {
                    return Err(SettingsError {
                        var: "DATABASE_URL",
                        problem: format!(
                            "`{url}` has a `?` in its path; SQLite parameters need a file: URI, such as file:./data/wharf.db?mode=rwc"
                        ),
                    });
                }
                url
            }
            None => format!("sqlite://{}", data_dir.join("wharf.db").display()),
        };
        let smtp_url = match non_empty(&get, "WHARF_SMTP_URL")? {
            Some(url) if url.starts_with("smtp://") || url.starts_with("smtps://") => Some(url),
            Some(url) => {
                return Err(SettingsError {
                    var: "WHARF_SMTP_URL",
                    problem: format!(
                        "`{}` must start with smtp:// or smtps://",
                        url.rsplit('@').next().unwrap_or_default()
                    ),
                })
            }
            None => None,
        };
        let mail_from = non_empty(&get, "WHARF_MAIL_FROM")?.unwrap_or_else(|| DEFAULT_MAIL_FROM.into());
        if let Err(problem) = crate::mail::parse_mailbox(&mail_from) {
            return Err(SettingsError {
                var: "WHARF_MAIL_FROM",
                problem,
            });
        }
        let guest_link_hours = match non_empty(&get, "WHARF_GUEST_LINK_HOURS")? {
            Some(text) => match text.parse::<i64>() {
                Ok(n) if (1..=720).contains(&n) => n,
                _ => {
                    return Err(SettingsError {
                        var: "WHARF_GUEST_LINK_HOURS",
                        problem: format!("`{text}` must be a whole number of hours from 1 to 720"),
                    })
                }
            },
            None => 24,
        };
        let mail_retry_seconds = seconds_in(&get, "WHARF_MAIL_RETRY_SECONDS", 1..=3600, 60)?;
        let keep_alive_seconds = seconds_in(&get, "WHARF_KEEP_ALIVE_SECONDS", 1..=3600, 75)?;
        let read_budget =
            std::time::Duration::from_secs(seconds_in(&get, "WHARF_READ_SECONDS", 1..=3600, 10)?);
        let trusted_proxies = match non_empty(&get, "WHARF_TRUSTED_PROXIES")? {
            Some(text) => {
                crate::web::client_address::parse_trusted(&text).map_err(|problem| SettingsError {
                    var: "WHARF_TRUSTED_PROXIES",
                    problem,
                })?
            }
            None => Vec::new(),
        };
        let job_workers = whole_number_in(&get, "WHARF_JOB_WORKERS", 0..=64, 2, "workers")? as usize;
        // Each running job holds a connection and reads with another now and then, and
        // requests need one: fewer, and two mappings at once starve each other and the API.
        let needed = job_workers as u32 + 2;
        if job_workers > 0 && pool_size < needed {
            return Err(SettingsError {
                var: "WHARF_DB_POOL_SIZE",
                problem: format!(
                    "`{pool_size}` connections are too few for {job_workers} job worker(s) (WHARF_JOB_WORKERS): \
                     each running job holds one and reads with another, and requests need one; \
                     use at least {needed}, or fewer workers"
                ),
            });
        }
        let job_ack_seconds = seconds_in(&get, "WHARF_JOB_ACK_SECONDS", 1..=86400, 300)?;
        let index_from_records = whole_number_in(
            &get,
            "WHARF_INDEX_FROM_RECORDS",
            0..=1_000_000_000,
            20_000,
            "records",
        )? as i64;
        let event_retention_days = match non_empty(&get, "WHARF_EVENT_RETENTION_DAYS")? {
            Some(text) => match text.parse::<i64>() {
                Ok(n) if (1..=3650).contains(&n) => n,
                _ => {
                    return Err(SettingsError {
                        var: "WHARF_EVENT_RETENTION_DAYS",
                        problem: format!("`{text}` must be a whole number of days from 1 to 3650"),
                    })
                }
            },
            None => 30,
        };
        let webhook_private = match non_empty(&get, "WHARF_WEBHOOK_PRIVATE")?.as_deref() {
            Some("allow") => true,
            Some("deny") | None => false,
            Some(other) => {
                return Err(SettingsError {
                    var: "WHARF_WEBHOOK_PRIVATE",
                    problem: format!("`{other}` must be `allow` or `deny`"),
                })
            }
        };
        let cron = match non_empty(&get, "WHARF_CRON")?.as_deref() {
            Some("on") | None => true,
            Some("off") => false,
            Some(other) => {
                return Err(SettingsError {
                    var: "WHARF_CRON",
                    problem: format!("`{other}` must be `on` or `off`"),
                })
            }
        };
        let storage = match non_empty(&get, "WHARF_STORAGE_URL")? {
            Some(url) => Some(BucketSettings::parse(&url).map_err(|problem| SettingsError {
                var: "WHARF_STORAGE_URL",
                problem,
            })?),
            None => None,
        };
        let extract = match non_empty(&get, "WHARF_EXTRACT")? {
            Some(text) if text.eq_ignore_ascii_case("all") => None,
            Some(text) => Some(extensions(&text)?),
            None => None,
        };
        Ok(Settings {
            database_url,
            data_dir,
            bind,
            base_url,
            pool_size,
            max_upload_mb,
            smtp_url,
            mail_from,
            guest_link_hours,
            mail_retry_seconds,
            keep_alive_seconds,
            read_budget,
            job_workers,
            event_retention_days,
            webhook_private,
            job_ack_seconds,
            cron,
            storage,
            index_from_records,
            extract,
            trusted_proxies,
        })
    }
}

impl Settings {
    /// A server bound to port 0 learns its port at bind: a base URL made from the bind
    /// address then names that port (mail links said port 0: probe 64e D3). A base URL
    /// given in WHARF_BASE_URL is kept as it is.
    pub fn bound_to(&mut self, port: u16) {
        if self.bind.port() == 0 && self.base_url == format!("http://{}", self.bind) {
            self.base_url = format!("http://{}", SocketAddr::new(self.bind.ip(), port));
        }
    }
}

/// The public address as links in mail start: http(s), a host, no query or fragment
/// (which every link would carry, opening the home page instead of its target), no
/// trailing `/`.
fn base_url_of(text: &str) -> Result<String, String> {
    let parsed = url::Url::parse(text).map_err(|e| format!("`{text}` is not a URL ({e})"))?;
    // Checked as typed, since it is used as typed: the parser reads `http:host` and
    // `http://host\\x` as addresses, and links made from them broke (probe 65c D5).
    let lower = text.to_ascii_lowercase();
    // The host right after `//`: `http:///host` and `http://@host` read as addresses too
    // (probe 65d D2).
    let after = lower.split_once("://").map_or("", |(_, rest)| rest);
    let authority = after.split(['/', '?', '#']).next().unwrap_or("");
    let fits = (lower.starts_with("http://") || lower.starts_with("https://"))
        && !after.starts_with('/')
        && !authority.contains('@')
        && !text.contains('\\')
        && parsed.username().is_empty()
        && parsed.password().is_none()
        && parsed.host_str().is_some_and(|h| !h.is_empty())
        && parsed.query().is_none()
        && parsed.fragment().is_none()
        && !text.contains(char::is_whitespace);
    match fits {
        true => Ok(text.trim_end_matches('/').to_string()),
        false => Err(format!(
            "`{text}` must be an http:// or https:// address with a host and no user, query or fragment, such as https://wharf.example.com"
        )),
    }
}

/// `csv, .TSV` as `["csv", "tsv"]`: letters and digits only.
fn extensions(text: &str) -> Result<Vec<String>, SettingsError> {
    text.split(',')
        .map(|e| e.trim().trim_start_matches('.').to_ascii_lowercase())
        .map(
            |e| match !e.is_empty() && e.bytes().all(|b| b.is_ascii_alphanumeric()) {
                true => Ok(e),
                false => Err(SettingsError {
                    var: "WHARF_EXTRACT",
                    problem: format!(
                        "`{text}` must be `all` or file extensions separated by commas, such as `csv,tsv`"
                    ),
                }),
            },
        )
        .collect()
}

/// A whole number of seconds within `range`, or `default` when the variable is unset.
fn seconds_in(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    range: std::ops::RangeInclusive<u64>,
    default: u64,
) -> Result<u64, SettingsError> {
    whole_number_in(get, var, range, default, "seconds")
}

/// A whole number (of `unit`) within `range`, or `default` when the variable is unset.
fn whole_number_in(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    range: std::ops::RangeInclusive<u64>,
    default: u64,
    unit: &str,
) -> Result<u64, SettingsError> {
    match non_empty(get, var)? {
        Some(text) => match text.parse::<u64>() {
            Ok(n) if range.contains(&n) => Ok(n),
            _ => Err(SettingsError {
                var,
                problem: format!(
                    "`{text}` must be a whole number of {unit} from {} to {}",
                    range.start(),
                    range.end()
                ),
            }),
        },
        None => Ok(default),
    }
}

/// The sender when `WHARF_MAIL_FROM` is unset.
pub const DEFAULT_MAIL_FROM: &str = "Wharf <wharf@localhost>";

/// Variables Wharf reads; any other `WHARF_*` variable is most likely a typo.
const KNOWN: [&str; 21] = [
    "WHARF_CRON",
    "WHARF_DATA_DIR",
    "WHARF_BIND",
    "WHARF_BASE_URL",
    "WHARF_DB_POOL_SIZE",
    "WHARF_LOG",
    "WHARF_MAX_UPLOAD_MB",
    "WHARF_SMTP_URL",
    "WHARF_MAIL_FROM",
    "WHARF_GUEST_LINK_HOURS",
    "WHARF_MAIL_RETRY_SECONDS",
    "WHARF_EVENT_RETENTION_DAYS",
    "WHARF_KEEP_ALIVE_SECONDS",
    "WHARF_READ_SECONDS",
    "WHARF_WEBHOOK_PRIVATE",
    "WHARF_JOB_ACK_SECONDS",
    "WHARF_STORAGE_URL",
    "WHARF_JOB_WORKERS",
    "WHARF_INDEX_FROM_RECORDS",
    "WHARF_EXTRACT",
    "WHARF_TRUSTED_PROXIES",
];

/// Fails on a `WHARF_*` name Wharf does not know, so a misspelt setting is not silently ignored.
pub fn reject_unknown(names: impl Iterator<Item = String>) -> Result<(), SettingsError> {
    for name in names {
        if name.starts_with("WHARF_") && !KNOWN.contains(&name.as_str()) {
            // A setting known by another name: said first (probe 70c D1).
            let instead = match name.strip_prefix("WHARF_") {
                Some("DATABASE_URL") => "the database is set with DATABASE_URL; ",
                _ => "",
            };
            return Err(SettingsError {
                var: "WHARF_*",
                problem: format!("unknown variable {name}; {instead}known: {}", KNOWN.join(", ")),
            });
        }
    }
    Ok(())
}

/// A variable that is set but blank is a mistake worth reporting, not a default.
fn non_empty(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
) -> Result<Option<String>, SettingsError> {
    match get(var) {
        None => Ok(None),
        Some(v) if v.trim().is_empty() => Err(SettingsError {
            var,
            problem: "is set but empty; unset it to use the default".into(),
        }),
        Some(v) => Ok(Some(v.trim().to_string())),
    }
}

#[cfg(test)]
mod tests;
