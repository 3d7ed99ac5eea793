//! `GET /v1/entitlements` (`entitlements.list`): Flatfile's feature flags of an account or
//! resource. Wharf has none of them (header selection, the source editor, custom record page
//! sizes), and says so with an empty list: Flatfile's extractor plugins
//! (`@flatfile/util-extractor`) read it before every extraction and fail without it.

use crate::auth::ApiCaller;
use actix_web::HttpResponse;
use serde_json::json;

pub async fn list(_caller: ApiCaller) -> HttpResponse {
    HttpResponse::Ok().json(json!({"data": []}))
}
