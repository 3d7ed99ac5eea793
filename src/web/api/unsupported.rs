//! Flatfile Platform API calls Wharf does not offer: a clear 501 saying so, rather than the
//! 404 a typed client reads as "object not found".

/// What Wharf says about a Flatfile path it does not serve, if it is one.
/// The path is read as routing reads it, percent-decoded (`detect%2Dheader` is
/// `detect-header`).
pub fn explain(path: &str) -> Option<&'static str> {
    let path = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    let parts: Vec<&str> = path.trim_start_matches("/v1/").split('/').collect();
    Some(match parts.as_slice() {
        ["actions", ..] => {
            "Wharf has no Actions API; give a workbook or sheet its actions in its config (`actions`, by POST or PATCH /v1/workbooks)"
        }
        ["spaces", _, "documents", ..] | ["documents", ..] => "Wharf has no documents",
        ["subscription"] | ["environments", "subscription-token"] => {
            "Wharf has no PubNub subscription; follow events by polling GET /v1/events or with a webhook (POST /v1/webhooks)"
        }
        ["agents", ..] => "Wharf runs no hosted agents; run your listener yourself, by webhook or by polling GET /v1/events",
        ["users", ..] => "Wharf's people are managed on the dashboard's People page",
        ["files", "detect-header"] | ["files", _, "clone"] => "Wharf does not offer this file call",
        ["jobs", _, "split"] | ["jobs", "preview-mutation"] => "Wharf's jobs have no parts or mutation previews",
        ["commits", _, "replay"] => "Wharf does not replay commits",
        ["guests", _, "roles", ..] | ["roles", ..] => "Wharf has no roles: a guest reaches the spaces it is invited to",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::explain;

    #[test]
    fn flatfile_calls_wharf_lacks_are_named_and_others_are_not() {
        assert!(explain("/v1/actions").is_some());
        assert!(explain("/v1/spaces/us_sp_1/documents").is_some());
        assert!(explain("/v1/guests/us_g_1/roles").is_some());
        assert!(explain("/v1/files/detect%2Dheader").is_some());
        assert!(explain("/v1/no-such-thing").is_none());
        assert!(explain("/v1/spaces/us_sp_1/nothing").is_none());
    }
}
