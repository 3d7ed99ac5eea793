//! The front-end libraries (htmx and its SSE extension) come from npm, pinned by
//! package-lock.json, and are embedded in the binary. A fresh clone gets them here.

use std::path::Path;
use std::process::Command;

fn main() {
    // The migrations are embedded in the binary (`db::run_migrations`).
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=package-lock.json");
    println!("cargo:rerun-if-changed=node_modules/htmx.org/package.json");
    if Path::new("node_modules/htmx.org/dist/htmx.min.js").exists()
        && Path::new("node_modules/htmx-ext-sse/dist/sse.min.js").exists()
    {
        return;
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("`npm ci` failed ({s}); it installs htmx from package-lock.json"),
        Err(e) => {
            panic!("`npm` is needed once to fetch htmx from package-lock.json (apt-get install npm): {e}")
        }
    }
}
