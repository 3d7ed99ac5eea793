//! The `wharf` command line.

use crate::app::{prepare_database, Application};
use crate::auth::password;
use crate::db::PooledConn;
use crate::model::{api_key, environment, space_config, user, ModelError};
use crate::settings::Settings;
use anyhow::{anyhow, bail, Context};
use clap::{Parser, Subcommand};
use std::io::Read;

#[derive(Parser)]
#[command(
    name = "wharf",
    version,
    about = "Wharf: turn spreadsheets and CSV files into clean, validated records"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Start the web server (runs pending migrations first).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage environments.
    Env {
        #[command(subcommand)]
        action: EnvAction,
    },
    /// Manage API keys.
    Key {
        #[command(subcommand)]
        action: KeyAction,
    },
    /// Manage dashboard users.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Deploy a space config (blueprint JSON file) to an environment.
    Deploy {
        /// Path to the space config JSON.
        file: std::path::PathBuf,
        /// Environment name.
        #[arg(long)]
        env: String,
    },
}

#[derive(Subcommand)]
pub enum EnvAction {
    /// List environments.
    List,
    /// Create an environment.
    Create {
        name: String,
        /// Mark it as production.
        #[arg(long)]
        prod: bool,
    },
}

#[derive(Subcommand)]
pub enum KeyAction {
    /// Create a secret key; prints it alone on stdout, once.
    Create {
        #[arg(long)]
        env: String,
    },
}

#[derive(Subcommand)]
pub enum UserAction {
    /// Create a user; reads the password from stdin.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        admin: bool,
    },
    /// Set a user's password anew (a forgotten one); reads it from stdin and ends the
    /// user's sessions.
    Password {
        #[arg(long)]
        email: String,
    },
}

/// A password read from stdin (one line), checked as the pages check one, and its hash. At
/// a terminal it is asked for, unseen, and Enter ends it (probe 58b F13: it waited silently
/// for Ctrl-D, showing what was typed).
fn password_from_stdin() -> anyhow::Result<String> {
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        let typed = rpassword::prompt_password("Password (at least 10 characters): ")
            .context("reading the password from the terminal")?;
        return password_hash_of(&typed);
    }
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("reading the password from stdin")?;
    password_hash_of(&input)
}

/// The hash of a password given as one line: one holding a line break could never be typed
/// into the sign-in page's password box (probe 58b F1).
fn password_hash_of(input: &str) -> anyhow::Result<String> {
    let pass = input.trim_end_matches(['\n', '\r']);
    if pass.contains(['\n', '\r']) {
        bail!("the password is more than one line; give it as one line, as it will be typed on the sign-in page");
    }
    password::check_strength(pass).map_err(|m| anyhow!(m))?;
    password::hash(pass)
}

/// A command that reads or changes what a server holds, run where there is no database
/// yet, would make a new one and "succeed" in it: a key no server knows, a space config
/// nobody sees (probe 58b F12: run from another folder, or with a misspelt data folder).
fn refuse_a_new_database(settings: &Settings) -> anyhow::Result<()> {
    let url = settings.database_url.as_str();
    // A SQLite file's path (a `file:` URI or a server's URL is taken as it is).
    let path = match url.strip_prefix("sqlite://") {
        Some(path) => std::path::Path::new(path),
        None if !url.contains(':') => std::path::Path::new(url),
        None => return Ok(()),
    };
    if !path.exists() {
        bail!(
            "no Wharf database at {}: run this where `wharf serve` runs, with the same WHARF_DATA_DIR or DATABASE_URL (`wharf migrate` makes a new database there)",
            path.display()
        );
    }
    Ok(())
}

pub async fn run(cli: Cli, settings: Settings) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve => {
            let app = Application::build(settings.clone())?;
            tracing::info!(port = app.port(), base_url = %app.base_url(), "Wharf is listening");
            if let Some(link) = app.setup_link() {
                println!("No user exists yet. Create the first admin here (the link works once): {link}");
            }
            app.run_until_stopped().await?;
            Ok(())
        }
        command => tokio::task::spawn_blocking(move || run_blocking(command, &settings)).await?,
    }
}

fn connect(settings: &Settings) -> anyhow::Result<PooledConn> {
    let mut conn = prepare_database(settings)?.get()?;
    // A command beside a running server waits for SQLite's write lock as long as a person
    // at a terminal would, rather than the server's 10 s: a server loading records takes
    // the lock between its batches first most of the time.
    if let crate::db::AnyConnection::Sqlite(c) = &mut *conn {
        use diesel::connection::SimpleConnection;
        c.batch_execute("PRAGMA busy_timeout = 120000;")?;
    }
    Ok(conn)
}

/// The environment `--env` names: by its name, its id (the first column of `wharf env
/// list`), or its name in other case or with spaces around when only one reads so (probe
/// 58b F4).
fn env_named(conn: &mut PooledConn, name: &str) -> anyhow::Result<environment::Environment> {
    // An id is an id, never a name (probe 66f D2: an environment renamed to another's id
    // took that one's deploys and keys).
    if let Some(id) = crate::ids::EnvironmentId::parse(name.trim()) {
        return environment::find(conn, &id)?
            .ok_or_else(|| anyhow!("no environment has the id `{id}`; see `wharf env list`"));
    }
    if let Some(e) = environment::find_by_name(conn, name)? {
        return Ok(e);
    }
    let wanted = name.trim().to_lowercase();
    let all = environment::list(conn)?;
    let like: Vec<&environment::Environment> =
        all.iter().filter(|e| e.name.to_lowercase() == wanted).collect();
    match like.as_slice() {
        [one] => Ok((*one).clone()),
        [] => bail!("no environment named `{name}`; see `wharf env list`"),
        several => {
            let names: Vec<String> = several
                .iter()
                .map(|e| format!("`{}` ({})", e.name, e.id))
                .collect();
            bail!(
                "no environment is named exactly `{name}`; it could be {}: give the name exactly, or the id",
                names.join(", ")
            )
        }
    }
}

fn model_err(e: ModelError) -> anyhow::Error {
    match e {
        ModelError::Invalid(items) => {
            let lines: Vec<String> = items.iter().map(|(k, m)| format!("  {k}: {m}")).collect();
            anyhow!("invalid input:\n{}", lines.join("\n"))
        }
        other => anyhow!("{other}"),
    }
}

fn run_blocking(command: Command, settings: &Settings) -> anyhow::Result<()> {
    if matches!(command, Command::Migrate) {
        // How many, so a first run does not read as if nothing was done (probe 72b D12).
        let (_, applied) = crate::app::prepare_database_counted(settings)?;
        match applied {
            0 => println!("migrations are up to date"),
            1 => println!("applied 1 migration; the database is up to date"),
            n => println!("applied {n} migrations; the database is up to date"),
        }
        return Ok(());
    }
    refuse_a_new_database(settings)?;
    let mut conn = connect(settings)?;
    match command {
        Command::Serve => unreachable!("serve runs on the async runtime"),
        Command::Migrate => unreachable!("migrate runs above"),
        Command::Env {
            action: EnvAction::List,
        } => {
            for e in environment::list(&mut conn)? {
                println!(
                    "{}\t{}\t{}",
                    e.id,
                    e.name,
                    if e.is_prod { "production" } else { "" }
                );
            }
        }
        Command::Env {
            action: EnvAction::Create { name, prod },
        } => {
            let e = environment::create(&mut conn, &name, prod, "{}", None).map_err(model_err)?;
            println!("{}", e.id);
        }
        Command::Key {
            action: KeyAction::Create { env },
        } => {
            let e = env_named(&mut conn, &env)?;
            let (_, secret) = api_key::create(&mut conn, &e.id).map_err(model_err)?;
            println!("{secret}");
        }
        Command::User {
            action: UserAction::Create { email, admin },
        } => {
            let hash = password_from_stdin()?;
            let u = user::create(&mut conn, &email, &hash, admin).map_err(model_err)?;
            println!("{}", u.id);
        }
        Command::User {
            action: UserAction::Password { email },
        } => {
            let normal = user::normalize_email(&email).map_err(|m| anyhow!(m))?;
            let hash = password_from_stdin()?;
            if !user::set_password(&mut conn, &normal, &hash)? {
                bail!("no user has the email address {normal}");
            }
            eprintln!("the password of {normal} is set; their sessions ended");
        }
        Command::Deploy { file, env } => {
            let text =
                std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            // Windows editors begin a file with a byte-order mark (probe 58b F2).
            let json = match serde_json::from_str::<crate::blueprint::StrictJson>(
                text.trim_start_matches('\u{feff}'),
            ) {
                Ok(j) => j.0,
                Err(e) => bail!("{} is not valid JSON: {e}", file.display()),
            };
            let e = env_named(&mut conn, &env)?;
            let (config, created) = space_config::deploy(&mut conn, &e.id, &json).map_err(model_err)?;
            println!("spaceConfigId: {}", config.id);
            println!("environmentId: {}", e.id);
            eprintln!(
                "{} space config `{}`",
                if created { "deployed" } else { "updated" },
                config.slug
            );
            // An update reaches spaces made from now on, not those made before (probe 70c
            // D12: the admin expected their sheets to change).
            let made = space_config::spaces_made_from(&mut conn, &config.id).map_err(model_err)?;
            if !created && made > 0 {
                eprintln!(
                    "the {made} space{} made from it before keep{} {} workbooks as they were; \
                     spaces made from now on take this blueprint (change an existing sheet's fields \
                     with POST /v1/sheets/{{id}}/fields or PATCH /v1/sheets/{{id}})",
                    if made == 1 { "" } else { "s" },
                    if made == 1 { "s" } else { "" },
                    if made == 1 { "its" } else { "their" },
                );
            }
        }
    }
    Ok(())
}
