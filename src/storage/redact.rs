//! Endpoints and messages without the credentials a URL may carry (`user:password@`).

/// An endpoint URL without any `user:password@` in it, for a name that is stored and shown.
pub(super) fn without_credentials(endpoint: &str) -> String {
    match endpoint.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
            format!("{scheme}://{}", host.trim_end_matches('/'))
        }
        None => endpoint.trim_end_matches('/').to_string(),
    }
}

/// A message with the `user:password@` of any URL in it taken out: the store's errors
/// name the endpoint as given, secrets and all (probe 54a L2).
pub(super) fn without_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        let authority_end = after
            .find(|c: char| c == '/' || c.is_whitespace())
            .unwrap_or(after.len());
        rest = match after[..authority_end].rfind('@') {
            Some(i) => &after[i + 1..],
            None => after,
        };
    }
    out.push_str(rest);
    out
}
