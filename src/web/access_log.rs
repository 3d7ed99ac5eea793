//! The access log's request line, without the secrets some URLs carry: a guest link's or a
//! team invitation's token in the path, the first-admin link's `token` and a Submit records
//! link's `signature` in the query. Those work as passwords until used or expired, and logs
//! are read by more people (and programs) than the database.

use actix_web::dev::ServiceRequest;

/// Path segments whose next segment is a token.
const TOKEN_AFTER: [&str; 2] = ["guest-links", "invites"];
/// Query parameters whose value is a secret.
const SECRET_PARAMS: [&str; 2] = ["token", "signature"];
const HIDDEN: &str = "[hidden]";

/// `GET /path?query HTTP/1.1`, as actix's `%r`, with the secrets replaced. The path and
/// the parameters' names are judged decoded (`/guest%2Dlinks/...` opens a guest link too).
pub fn request_line(req: &ServiceRequest) -> String {
    let uri = req.uri();
    let mut line = format!("{} {}", req.method(), redact_path(uri.path()));
    if let Some(query) = uri.query() {
        line.push('?');
        line.push_str(&redact_query(query));
    }
    format!("{line} {:?}", req.version())
}

fn decoded(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .to_ascii_lowercase()
}

/// Everything after a segment that carries a token is hidden, whatever comes between
/// (`/guest-links//gt_...` is the same link to a person pasting it).
fn redact_path(path: &str) -> String {
    let segments: Vec<&str> = path.split('/').collect();
    match segments
        .iter()
        .position(|s| TOKEN_AFTER.contains(&decoded(s).as_str()))
    {
        Some(at) if at + 1 < segments.len() => {
            let mut kept: Vec<&str> = segments[..=at].to_vec();
            kept.push(HIDDEN);
            kept.join("/")
        }
        _ => path.to_string(),
    }
}

fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| {
            let name = pair.split_once('=').map_or(pair, |(name, _)| name);
            match SECRET_PARAMS.contains(&decoded(name).as_str()) {
                true => format!("{name}={HIDDEN}"),
                false => pair.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn tokens_and_signatures_are_left_out() {
        let line = |uri: &str| request_line(&TestRequest::get().uri(uri).to_srv_request());
        assert_eq!(line("/guest-links/gt_abc"), "GET /guest-links/[hidden] HTTP/1.1");
        assert_eq!(line("/invites/gt_abc/"), "GET /invites/[hidden] HTTP/1.1");
        assert_eq!(
            line("/guest%2Dlinks/gt_abc"),
            "GET /guest%2Dlinks/[hidden] HTTP/1.1"
        );
        assert_eq!(
            line("/%67uest-links/gt_abc"),
            "GET /%67uest-links/[hidden] HTTP/1.1"
        );
        assert_eq!(line("/guest-links//gt_abc"), "GET /guest-links/[hidden] HTTP/1.1");
        assert_eq!(line("/setup?%74oken=abc"), "GET /setup?%74oken=[hidden] HTTP/1.1");
        assert_eq!(line("/setup?TOKEN=abc"), "GET /setup?TOKEN=[hidden] HTTP/1.1");
        assert_eq!(line("/setup?token=abc"), "GET /setup?token=[hidden] HTTP/1.1");
        assert_eq!(
            line("/v1/submissions/s/sheets/x/records?expires=9&signature=abc&format=csv"),
            "GET /v1/submissions/s/sheets/x/records?expires=9&signature=[hidden]&format=csv HTTP/1.1"
        );
        assert_eq!(
            line("/v1/sheets/us_sh_1/records?pageSize=5"),
            "GET /v1/sheets/us_sh_1/records?pageSize=5 HTTP/1.1"
        );
    }
}
