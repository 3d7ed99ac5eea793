//! Static assets, embedded at build time so a release is one file.

use actix_web::HttpResponse;

const HTMX: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/node_modules/htmx.org/dist/htmx.min.js"
));
const HTMX_SSE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/node_modules/htmx-ext-sse/dist/sse.min.js"
));
const APP_CSS: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/static/app.css"));
const APP_JS: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/static/app.js"));
const LIVE_STREAMS_JS: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/static/live_streams.js"));
const GRID_CLIPBOARD_JS: &str =
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/static/grid_clipboard.js"));

fn asset(body: &'static str, content_type: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(body)
}

pub async fn htmx() -> HttpResponse {
    asset(HTMX, "text/javascript; charset=utf-8")
}

pub async fn htmx_sse() -> HttpResponse {
    asset(HTMX_SSE, "text/javascript; charset=utf-8")
}

pub async fn css() -> HttpResponse {
    asset(APP_CSS, "text/css; charset=utf-8")
}

pub async fn js() -> HttpResponse {
    asset(APP_JS, "text/javascript; charset=utf-8")
}

pub async fn live_streams_js() -> HttpResponse {
    asset(LIVE_STREAMS_JS, "text/javascript; charset=utf-8")
}

pub async fn grid_clipboard_js() -> HttpResponse {
    asset(GRID_CLIPBOARD_JS, "text/javascript; charset=utf-8")
}
