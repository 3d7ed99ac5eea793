//! Application::build wires settings, database and routes onto a bound listener, so tests
//! run many apps side by side on port 0.

use crate::db::{self, AnyConnection, Pool};
use crate::model::environment;
use crate::settings::Settings;
use crate::web::{error::AppError, routes};
use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{Server, Service};
use actix_web::{middleware, web, App, HttpServer};
use std::net::TcpListener;

/// Shared by every handler.
pub struct AppState {
    pub pool: Pool,
    pub settings: Settings,
    /// Limits sign-in attempts per account and per address.
    pub throttle: crate::auth::throttle::Throttle,
    /// Live updates for open grids.
    pub live: crate::web::live::Live,
    /// A sheet's sort and search indexes, built in the background on first use.
    pub indexer: crate::workers::indexes::Indexer,
    /// Uploaded files' bytes.
    pub storage: crate::storage::Storage,
    /// Wakes the job workers.
    pub jobs: crate::jobs::Queue,
    /// Outgoing mail: SMTP, or the outbox folder.
    pub mail: std::sync::Arc<crate::mail::Mailer>,
    /// The webhook delivery worker; it stops when the state is dropped.
    pub webhooks: crate::workers::Running,
    /// The invitations' mail retries; they stop when the state is dropped.
    pub mail_retry: crate::workers::Running,
    /// Reads whose cost the request decides take one of these first: half the pool, so
    /// saves, jobs and `/health` always find a connection.
    pub read_gate: tokio::sync::Semaphore,
    /// Deletes whose bytes are gone wait for their rows' turn holding one of these (a
    /// quarter of the pool), so however many wait behind a long write, the rest of the pool
    /// stays for saves, pages and `/health`.
    pub rows_after_bytes_gate: tokio::sync::Semaphore,
    /// Each caller's uploads and downloads through a bucket (see `web::caller_places`).
    pub uploads_by_caller: std::sync::Arc<crate::web::caller_places::CallerPlaces>,
    pub downloads_by_caller: std::sync::Arc<crate::web::caller_places::CallerPlaces>,
    /// The request bodies being read and handled (see `web::body_budget`).
    pub bodies: std::sync::Arc<crate::web::body_budget::BodyBudget>,
}

impl AppState {
    /// What the shared steps (`ops`) need, lent from the state.
    pub fn ops(&self) -> crate::ops::Context<'_> {
        crate::ops::Context {
            pool: &self.pool,
            mail: &self.mail,
            settings: &self.settings,
        }
    }

    /// Runs blocking database work on the blocking thread pool with a pooled connection.
    pub async fn db<T, E, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut AnyConnection) -> Result<T, E> + Send + 'static,
        E: Into<AppError>,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        web::block(move || -> Result<T, AppError> {
            let mut conn = pool.get().map_err(|e| {
                tracing::warn!(error = %e, "no database connection available");
                AppError::Unavailable
            })?;
            db::serving_request(|| f(&mut conn).map_err(Into::into))
        })
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("blocking task failed: {e}")))?
    }

    /// [`read_db`](Self::read_db) when `costly` (a query, a search or a sort decides what
    /// the read costs), else [`db`](Self::db): a plain page or a read by ids never waits
    /// behind slow queries.
    pub async fn read_db_if<T, E, F>(&self, costly: bool, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut AnyConnection) -> Result<T, E> + Send + 'static,
        E: Into<AppError> + From<diesel::result::Error>,
        T: Send + 'static,
    {
        match costly {
            true => self.read_db(f).await,
            false => self.db(f).await,
        }
    }

    /// [`db`](Self::db) for a read whose cost the request decides (a page of records with
    /// a query or search, its counts, a field's values): it waits for the read gate, and
    /// stops once it has run for `WHARF_READ_SECONDS` (422 saying how to ask for less).
    pub async fn read_db<T, E, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut AnyConnection) -> Result<T, E> + Send + 'static,
        E: Into<AppError> + From<diesel::result::Error>,
        T: Send + 'static,
    {
        // Waiting reads queue behind those running, each of which ends within its budget.
        let wait = self.settings.read_budget * 3;
        let _permit = match tokio::time::timeout(wait, self.read_gate.acquire()).await {
            Ok(Ok(permit)) => permit,
            _ => return Err(AppError::Unavailable),
        };
        let budget = self.settings.read_budget;
        self.db(move |conn| match db::budget::within(conn, budget, f) {
            db::budget::Budgeted::Done(result) => result.map_err(Into::into),
            db::budget::Budgeted::OverBudget => Err(AppError::invalid(
                "query",
                format!(
                    "this read was stopped after {} s (WHARF_READ_SECONDS); ask for less at once: fewer conditions in `q`, a field to search in (`searchField`), a smaller page",
                    budget.as_secs_f64()
                ),
            )),
        })
        .await
    }
}

pub struct Application {
    port: u16,
    base_url: String,
    server: Server,
    setup_link: Option<String>,
    /// For handing this process's running jobs back when it stops.
    pool: Pool,
    worker_id: String,
}

impl Application {
    /// Opens the database, applies migrations, makes sure the default environments exist,
    /// and binds the listener.
    pub fn build(mut settings: Settings) -> anyhow::Result<Self> {
        let pool = prepare_database(&settings)?;
        // Said with the address and the setting (probe 72b D12: "Address already in use").
        let listener = TcpListener::bind(settings.bind).map_err(|e| match e.kind() {
            std::io::ErrorKind::AddrInUse => anyhow::anyhow!(
                "{} is in use already (another Wharf running?): stop it, or set WHARF_BIND to another address",
                settings.bind
            ),
            _ => anyhow::anyhow!("cannot listen on {} (WHARF_BIND): {e}", settings.bind),
        })?;
        let port = listener.local_addr()?.port();
        settings.bound_to(port);
        let base_url = settings.base_url.clone();
        let setup_link = first_admin_link(&pool, &settings, port)?;
        // Several processes may share a PostgreSQL database: their pages hear each other.
        let live = match db::Backend::from_url(&settings.database_url) {
            Ok(db::Backend::Postgres) => crate::web::live::Live::across_processes(&settings.database_url),
            _ => Default::default(),
        };
        let storage = crate::storage::Storage::from_settings(&settings)?;
        let mail = std::sync::Arc::new(crate::mail::Mailer::from_settings(&settings)?);
        let jobs = crate::jobs::Queue::default();
        let worker_id = jobs.worker_id.clone();
        let webhooks = crate::workers::webhooks::start(crate::workers::webhooks::Context {
            pool: pool.clone(),
            settings: settings.clone(),
            render: crate::web::api::events::event_json,
            worker_id: jobs.worker_id.clone(),
            mail: mail.clone(),
        })?;
        let mail_retry = crate::workers::mail_retry::start(crate::workers::mail_retry::Context {
            pool: pool.clone(),
            mail: mail.clone(),
            settings: settings.clone(),
        })?;
        let indexer = crate::workers::indexes::Indexer::new(settings.index_from_records);
        let read_gate = tokio::sync::Semaphore::new((settings.pool_size as usize / 2).max(1));
        let rows_after_bytes_gate = tokio::sync::Semaphore::new((settings.pool_size as usize / 4).max(1));
        let state = web::Data::new(AppState {
            read_gate,
            rows_after_bytes_gate,
            pool,
            settings,
            throttle: Default::default(),
            live,
            indexer,
            storage,
            jobs,
            mail,
            webhooks,
            mail_retry,
            uploads_by_caller: Default::default(),
            bodies: Default::default(),
            downloads_by_caller: Default::default(),
        });
        state.live.watch(state.pool.clone());
        crate::jobs::start(
            crate::jobs::Context {
                pool: state.pool.clone(),
                storage: state.storage.clone(),
                indexer: state.indexer.clone(),
                queue: state.jobs.clone(),
                announce: std::sync::Arc::new(LiveAnnounce(std::sync::Arc::downgrade(
                    &state.clone().into_inner(),
                ))),
                gate: crate::web::pages::action_now::submit_refused,
            },
            state.settings.job_workers,
        )?;
        // SQLite's is the only process: with no workers, jobs wait until one starts with
        // some (kept for maintenance; said, as it looked like jobs that hang: probe 64e D10).
        let on_sqlite = db::Backend::from_url(&state.settings.database_url) == Ok(db::Backend::Sqlite);
        if state.settings.job_workers == 0 && on_sqlite {
            tracing::warn!("WHARF_JOB_WORKERS=0 on SQLite: no job runs until Wharf starts with job workers");
        }
        let weak = std::sync::Arc::downgrade(&state.clone().into_inner());
        crate::workers::indexes::start_merging(move || weak.upgrade().map(|s| s.pool.clone()))?;
        crate::workers::indexes::resume_builds(&state.indexer, &state.pool);
        if state.settings.cron {
            let weak = std::sync::Arc::downgrade(&state.clone().into_inner());
            crate::workers::cron::start(move || weak.upgrade().map(|s| s.pool.clone()))?;
        }
        let weak = std::sync::Arc::downgrade(&state.clone().into_inner());
        crate::workers::event_retention::start(
            move || weak.upgrade().map(|s| (s.pool.clone(), s.storage.clone())),
            state.settings.event_retention_days,
        )?;
        let weak = std::sync::Arc::downgrade(&state.clone().into_inner());
        crate::workers::handed_over::start(move || {
            weak.upgrade().map(|s| (s.pool.clone(), s.storage.clone()))
        })?;
        let weak = std::sync::Arc::downgrade(&state.clone().into_inner());
        let heard = weak.clone();
        crate::workers::job_ack::start(crate::workers::job_ack::Context {
            pool: Box::new(move || weak.upgrade().map(|s| s.pool.clone())),
            ack_seconds: state.settings.job_ack_seconds,
            announce: std::sync::Arc::new(move |job, space| {
                if let Some(s) = heard.upgrade() {
                    s.live.publish_job(job, space);
                }
            }),
        })?;
        let weak = std::sync::Arc::downgrade(&state.clone().into_inner());
        let (heard, seen) = (weak.clone(), weak.clone());
        crate::workers::submissions::start(crate::workers::submissions::Context {
            pool: Box::new(move || weak.upgrade().map(|s| s.pool.clone())),
            settings: state.settings.clone(),
            base_url: links_base(&state.settings, port),
            storage: state.storage.clone(),
            worker_id: state.jobs.worker_id.clone(),
            job_moved: std::sync::Arc::new(move |job, space| {
                if let Some(s) = heard.upgrade() {
                    s.live.publish_job(job, space);
                }
            }),
            sheet_moved: std::sync::Arc::new(move |sheet| {
                if let Some(s) = seen.upgrade() {
                    s.live.publish(sheet, None);
                }
            }),
        })?;
        let keep_alive = state.settings.keep_alive_seconds;
        let stopping_pool = state.pool.clone();
        let server = HttpServer::new(move || {
            App::new()
                // HEAD is answered as GET is, without the body (RFC 9110 9.3.2): routes name
                // GET only, and the connection's codec, which read the request as HEAD,
                // leaves the body out.
                .wrap_fn(|mut req, srv| {
                    let head = req.method() == actix_web::http::Method::HEAD;
                    if head {
                        req.head_mut().method = actix_web::http::Method::GET;
                        // For the few GETs that make something (a guest token).
                        actix_web::HttpMessage::extensions_mut(&req).insert(crate::web::AskedWithHead);
                    }
                    let answer = srv.call(req);
                    async move {
                        let res = answer.await?;
                        // A streamed body (live updates, a download) is not run for HEAD:
                        // live updates never end. GET sends no length for it, nor does HEAD.
                        let streamed = matches!(res.response().body().size(), BodySize::Stream);
                        Ok(match head && streamed {
                            true => res.map_body(|_, _| BoxBody::new(actix_web::body::None::new())),
                            false => res.map_into_boxed_body(),
                        })
                    }
                })
                // `/v1/spaces/` is `/v1/spaces`, as hand-written clients send it (probe 60a 5).
                .wrap(middleware::NormalizePath::trim())
                .wrap(security_headers().add(("Keep-Alive", format!("timeout={keep_alive}"))))
                .wrap(
                    middleware::Logger::new("%{line}xi %s %Dms")
                        .custom_request_replace("line", crate::web::access_log::request_line),
                )
                .app_data(state.clone())
                .configure(routes::configure)
        })
        .keep_alive(std::time::Duration::from_secs(keep_alive))
        .shutdown_timeout(30)
        .listen(listener)?
        .run();
        Ok(Application {
            port,
            base_url,
            server,
            setup_link,
            pool: stopping_pool,
            worker_id,
        })
    }

    /// The one-time link that creates the first admin, when no user exists yet.
    pub fn setup_link(&self) -> Option<&str> {
        self.setup_link.as_deref()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Where links in mail lead.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// This process's name in job claims (`jobs.claimed_by`).
    pub fn worker_id(&self) -> &str {
        &self.worker_id
    }

    /// Serves until SIGINT or SIGTERM; requests in flight are allowed to finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        // A stop asked for (SIGTERM, Ctrl-C) hands the jobs it was running back to the queue
        // at once, uncounted: only a process that died under a job counts against it.
        let (pool, worker_id) = (self.pool, self.worker_id);
        let handed_back = tokio::task::spawn_blocking(move || -> anyhow::Result<usize> {
            let mut conn = pool.get()?;
            Ok(crate::model::job_queue::hand_back(&mut conn, &worker_id)?)
        })
        .await;
        match handed_back {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::info!(jobs = n, "running jobs handed back for the next start"),
            Ok(Err(e)) => tracing::warn!(error = %e, "could not hand running jobs back"),
            Err(e) => tracing::warn!(error = %e, "could not hand running jobs back"),
        }
        served
    }
}

/// The job workers' announcements, as the pages' live updates; the state is held weakly,
/// so the workers stop once the server is gone.
struct LiveAnnounce(std::sync::Weak<AppState>);

impl crate::jobs::Announce for LiveAnnounce {
    fn running(&self) -> bool {
        self.0.strong_count() > 0
    }

    fn sheet_changed(&self, sheet: &crate::ids::SheetId) {
        if let Some(state) = self.0.upgrade() {
            state.live.publish(sheet, None);
        }
    }

    fn job_changed(&self, job: &crate::ids::JobId, space: Option<&crate::ids::SpaceId>) {
        if let Some(state) = self.0.upgrade() {
            state.live.publish_job(job, space);
        }
    }
}

/// What every page may load: only Wharf's own scripts, styles and connections (no inline
/// code, no eval); no page may be framed (clickjacking); no content-type guessing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; font-src 'self'; connect-src 'self'; form-action 'self'; \
frame-ancestors 'none'; base-uri 'none'";

/// Headers on every response (a handler's own value wins).
fn security_headers() -> middleware::DefaultHeaders {
    middleware::DefaultHeaders::new()
        .add(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
        .add(("X-Frame-Options", "DENY"))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "same-origin"))
        // Pages show secrets once (a new key's, a webhook's) and people's data: no cache
        // keeps them. Assets and live streams say otherwise for themselves.
        .add(("Cache-Control", "no-store"))
}

/// Where this process's links lead: a server bound to port 0 (tests) names the port it
/// picked, with an IPv6 address in brackets (probe 65d D1), whatever base URL was given.
fn links_base(settings: &Settings, port: u16) -> String {
    match settings.bind.port() {
        0 => format!("http://{}", std::net::SocketAddr::new(settings.bind.ip(), port)),
        _ => settings.base_url.clone(),
    }
}

/// With no user yet, a random one-time link to create the first admin; its hash is kept
/// in the database, so every process sharing it accepts the link.
fn first_admin_link(pool: &Pool, settings: &Settings, port: u16) -> anyhow::Result<Option<String>> {
    let mut conn = pool.get()?;
    if crate::model::user::count_admins(&mut conn)? > 0 {
        return Ok(None);
    }
    use rand::distributions::{Alphanumeric, DistString};
    let token = Alphanumeric.sample_string(&mut rand::thread_rng(), 32);
    crate::model::setup_token::add(&mut conn, &crate::model::api_key::hash_secret(&token))?;
    let base = links_base(settings, port);
    Ok(Some(format!("{base}/setup?token={token}")))
}

/// Pool, migrations and first-start data; shared by `serve` and the CLI commands.
pub fn prepare_database(settings: &Settings) -> anyhow::Result<Pool> {
    prepare_database_counted(settings).map(|(pool, _)| pool)
}

/// [`prepare_database`], and how many migrations it applied.
pub fn prepare_database_counted(settings: &Settings) -> anyhow::Result<(Pool, usize)> {
    keep_private(&settings.data_dir)?;
    let pool = db::build_pool(&settings.database_url, settings.pool_size)?;
    let mut conn = pool.get()?;
    let applied = db::run_migrations(&mut conn)?;
    // Before any sort index is looked for: those a version before the key columns left.
    crate::model::record::sort_keys::drop_expression_indexes(&mut conn)
        .map_err(|e| anyhow::anyhow!("dropping old sort indexes: {e}"))?;
    environment::ensure_defaults(&mut conn)
        .map_err(|e| anyhow::anyhow!("creating default environments: {e}"))?;
    drop(conn);
    Ok((pool, applied))
}

/// The data folder holds the SQLite database (webhook and listener secrets in clear, as
/// they must be sent), uploaded files and the mail outbox (links that open accounts): only
/// Wharf's own user may enter it, whatever the umask made of it.
fn keep_private(dir: &std::path::Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("cannot create the data folder {}: {e}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode & 0o700 | 0o700))
                .map_err(|e| anyhow::anyhow!("cannot make the data folder {} private: {e}", dir.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[cfg(unix)]
    #[test]
    fn the_data_folder_is_made_private() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let new = root.path().join("data");
        super::keep_private(&new).unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&new), 0o700);
        let open = root.path().join("shared");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        super::keep_private(&open).unwrap();
        assert_eq!(mode(&open), 0o700);
    }
}
