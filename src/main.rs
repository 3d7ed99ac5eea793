use clap::Parser;

/// Validation and JSON allocate many small values; mimalloc frees them far faster than glibc.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use wharf::cli::{run, Cli};
use wharf::settings::Settings;

#[actix_web::main]
async fn main() {
    wharf::memory::no_huge_pages();
    let filter = std::env::var("WHARF_LOG").unwrap_or_else(|_| "info".into());
    // Set but empty read as no filter at all: nothing was logged (probe 64e D5).
    if filter.trim().is_empty() {
        eprintln!(
            "wharf: configuration error: WHARF_LOG is set but empty; unset it to use the default (info)"
        );
        std::process::exit(2);
    }
    // A filter with a part it cannot read stops the start, as any malformed setting does,
    // rather than log less than asked for (probe 58b F5).
    // A filter of no directive (`,`) logs at the default level, not nothing (probe 65c N3).
    let filter = match tracing_subscriber::EnvFilter::builder()
        .with_default_directive(tracing_subscriber::filter::LevelFilter::INFO.into())
        .parse(&filter)
    {
        Ok(filter) => filter,
        Err(e) => {
            eprintln!("wharf: configuration error: WHARF_LOG `{filter}` is not a log filter ({e}); for example `info` or `wharf=debug,actix_web=info`");
            std::process::exit(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only on a terminal: a log file or pipe gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("wharf: configuration error: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(cli, settings).await {
        eprintln!("wharf: {e:#}");
        std::process::exit(1);
    }
}
