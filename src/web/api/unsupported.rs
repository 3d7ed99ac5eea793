//! Flatfile Platform API calls Wharf does not offer: a clear 501 saying so, rather than the
//! 404 a typed client reads as "object not found".

/// What Wharf says about a Flatfile call (method and path) it does not serve, if it is
/// one. The path is read as routing reads it, percent-decoded (`detect%2Dheader` is
/// `detect-header`).
pub fn explain(method: &actix_web::http::Method, path: &str) -> Option<&'static str> {
    let path = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    let parts: Vec<&str> = path.trim_start_matches("/v1/").split('/').collect();
    Some(match parts.as_slice() {
        ["actions", ..] => {
            "Wharf has no Actions API; give a workbook or sheet its actions in its config (`actions`, by POST or PATCH /v1/workbooks)"
        }
        ["documents", ..] => "Wharf's documents are read and written under their space: /v1/spaces/{id}/documents",
        ["subscription"] | ["environments", "subscription-token"] => {
            "Wharf has no PubNub subscription; follow events by polling GET /v1/events or with a webhook (POST /v1/webhooks)"
        }
        ["agents", ..] => "Wharf runs no hosted agents; run your listener yourself, by webhook or by polling GET /v1/events",
        ["users", ..] | ["invitations", "exchange"] => "Wharf's people are managed on the dashboard's People page",
        ["files", _, "clone"] => "Wharf does not offer this file call",
        ["jobs", _, "split"] | ["jobs", "preview-mutation"] => "Wharf's jobs have no parts or mutation previews",
        ["commits", _, "replay"] => "Wharf does not replay commits",
        ["guests", _, "roles", ..] | ["roles", ..] => "Wharf has no roles: a guest reaches the spaces it is invited to",
        ["sheets", _, "commits"] | ["workbooks", _, "commits"] => {
            "Wharf lists no commits of a sheet or workbook: each has its `commit:created` event (GET /v1/events?topic=commit:created), and GET /v1/commits/{id} reads one"
        }
        ["sheets", _, "calculations"] => "Wharf computes no sheet calculations",
        ["sheets", _, "records", "indices"] => {
            "Wharf does not give records' positions; read them in pages (pageSize, pageNumber)"
        }
        ["spaces"] if method == actix_web::http::Method::DELETE => {
            "Wharf does not delete spaces in bulk; DELETE /v1/spaces/{id} for each"
        }
        ["sheets", _, "duplicate"] => "Wharf does not duplicate sheets; create one with the same fields (POST /v1/workbooks) and copy its records",
        ["workbooks", _, "rebuild"] => "Wharf's workbooks need no rebuild: their sheets change as their fields do (PATCH /v1/workbooks/{id})",
        ["v1", "workbooks", ..] => "Wharf keeps no workbook flags",
        ["spaces", _, "drafts" | "guidance" | "upgrade", ..] => {
            "Wharf has no space drafts, guidance or upgrades; a space's config is its space config's"
        }
        ["environments", _, "guides", ..] => "Wharf has no guides",
        // Whole Flatfile APIs Wharf has no counterpart of.
        [
            "accounts" | "agent-exports" | "analysis" | "apps" | "auth" | "canvas-areas" | "data-clips"
            | "data-retention-policies" | "foreigndb" | "mapping" | "onboardings" | "prompts"
            | "routines" | "runbooks" | "snapshots" | "threads" | "transformations" | "versions" | "views",
            ..
        ] => "Wharf does not offer this Flatfile API; see the README's API table for the calls it serves",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use actix_web::http::Method;

    fn explain(path: &str) -> Option<&'static str> {
        super::explain(&Method::GET, path)
    }

    #[test]
    fn flatfile_calls_wharf_lacks_are_named_and_others_are_not() {
        assert!(explain("/v1/actions").is_some());
        assert!(explain("/v1/documents/us_dc_1").is_some());
        assert!(explain("/v1/guests/us_g_1/roles").is_some());
        assert!(explain("/v1/files/us_fl_1/clone").is_some());
        assert!(explain("/v1/sheets/us_sh_1/commits").is_some());
        assert!(explain("/v1/workbooks/us_wb_1/commits").is_some());
        assert!(explain("/v1/sheets/us_sh_1/calculations").is_some());
        assert!(explain("/v1/sheets/us_sh_1/records/indices").is_some());
        assert!(super::explain(&Method::DELETE, "/v1/spaces").is_some());
        assert!(super::explain(&Method::PUT, "/v1/spaces").is_none());
        for lacked in [
            "/v1/sheets/us_sh_1/duplicate",
            "/v1/workbooks/us_wb_1/rebuild",
            "/v1/v1/workbooks/us_wb_1/flags",
            "/v1/spaces/us_sp_1/drafts",
            "/v1/spaces/us_sp_1/guidance/g1",
            "/v1/environments/us_env_1/guides",
            "/v1/snapshots",
            "/v1/views",
            "/v1/mapping",
            "/v1/data-retention-policies",
            "/v1/apps",
            "/v1/versions",
            "/v1/invitations/exchange",
        ] {
            assert!(explain(lacked).is_some(), "{lacked}");
        }
        assert!(explain("/v1/no-such-thing").is_none());
        assert!(explain("/v1/spaces/us_sp_1/nothing").is_none());
    }
}
