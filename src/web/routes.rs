//! Every route, in one table.

use super::api::{
    bulk, cells, changes, commits, entitlements, environments, events, files, guests, health, job_list,
    job_plan, jobs, records, secrets, sheet_fields, sheets, space_configs, spaces, submissions, webhooks,
    workbooks,
};
use super::error::AppError;
use super::input;
use super::pages;
use actix_web::dev::Service;
use actix_web::web;
use futures_util::future::{ready, Either};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::QueryConfig::default().error_handler(|e, _| {
        // serde's words without actix's prefix ("Query deserialize error: ...").
        let why = e.to_string();
        let why = why.strip_prefix("Query deserialize error: ").unwrap_or(&why);
        AppError::bad_request(
            "query",
            format!("a parameter of the address could not be read: {why}"),
        )
        .into()
    }))
    .route("/health", web::get().to(health::health))
    // Uptime checks often ask with HEAD.
    .route("/health", web::head().to(health::health))
    .service(
        web::scope("/v1")
            .wrap_fn(|req, srv| match input::refuse_query_nul(&req) {
                Ok(()) => Either::Left(srv.call(req)),
                Err(e) => Either::Right(ready(Ok(req.error_response(e)))),
            })
            .route("/entitlements", web::get().to(entitlements::list))
            .route("/environments", web::get().to(environments::list))
            .route("/environments", web::post().to(environments::create))
            .route("/environments/{id}", web::get().to(environments::get))
            .route("/environments/{id}", web::patch().to(environments::update))
            .route("/environments/{id}", web::delete().to(environments::delete))
            .route("/space-configs", web::get().to(space_configs::list))
            .route("/space-configs", web::post().to(space_configs::create))
            .route("/space-configs/{id}", web::get().to(space_configs::get))
            .route("/spaces", web::get().to(spaces::list))
            .route("/spaces", web::post().to(spaces::create))
            .route("/spaces/{id}", web::get().to(spaces::get))
            .route("/spaces/{id}", web::patch().to(spaces::update))
            .route("/spaces/{id}", web::delete().to(spaces::delete))
            .route("/spaces/{id}/archive", web::post().to(spaces::archive))
            .route("/spaces/{id}/unarchive", web::post().to(spaces::unarchive))
            .route("/workbooks", web::get().to(workbooks::list))
            .route("/workbooks", web::post().to(workbooks::create))
            .route("/workbooks/{id}", web::get().to(workbooks::get))
            .route("/workbooks/{id}", web::patch().to(workbooks::update))
            .route("/workbooks/{id}", web::delete().to(workbooks::delete))
            .route("/sheets", web::get().to(sheets::list))
            .route("/sheets/{id}", web::get().to(sheets::get))
            .route("/sheets/{id}", web::delete().to(sheets::delete))
            .route("/sheets/{id}", web::patch().to(sheet_fields::update))
            .route("/sheets/{id}/fields", web::post().to(sheet_fields::add))
            .route(
                "/sheets/{id}/fields/{key}",
                web::delete().to(sheet_fields::remove),
            )
            .route("/sheets/{id}/counts", web::get().to(sheets::counts))
            .route("/sheets/{id}/download", web::get().to(sheets::download))
            .route("/sheets/{id}/changes", web::get().to(changes::list))
            .route("/sheets/{id}/records", web::get().to(records::list))
            .route("/sheets/{id}/cells", web::get().to(cells::list))
            .route("/sheets/{id}/validate", web::post().to(bulk::validate))
            .route("/sheets/{id}/lock", web::post().to(sheets::lock))
            .route("/sheets/{id}/unlock", web::post().to(sheets::unlock))
            .route("/sheets/{id}/find-replace", web::put().to(bulk::find_replace))
            .route(
                "/sheets/{id}/records/bulk-update",
                web::patch().to(bulk::bulk_update),
            )
            .route("/sheets/{id}/records", web::post().to(records::insert))
            .route("/sheets/{id}/records", web::put().to(records::update))
            .route("/sheets/{id}/records", web::delete().to(records::delete))
            .route("/files", web::get().to(files::list))
            .route("/files", web::post().to(files::upload))
            .route("/files/{id}", web::get().to(files::get))
            .route("/files/{id}", web::patch().to(files::update))
            .route("/files/{id}", web::delete().to(files::delete))
            .route("/files/{id}/download", web::get().to(files::download))
            .route("/files/{id}/rejects", web::get().to(files::rejects))
            .route("/jobs", web::get().to(job_list::list))
            .route("/jobs", web::post().to(jobs::create))
            .route("/jobs/{id}", web::get().to(jobs::get))
            .route("/jobs/{id}", web::patch().to(jobs::update))
            .route("/jobs/{id}", web::delete().to(jobs::delete))
            .route("/jobs/{id}/plan", web::get().to(job_plan::get))
            .route("/jobs/{id}/plan", web::put().to(job_plan::put))
            .route("/jobs/{id}/plan", web::patch().to(job_plan::patch))
            .route("/jobs/{id}/execute", web::post().to(jobs::execute))
            .route("/jobs/{id}/ack", web::post().to(jobs::ack))
            .route("/jobs/{id}/complete", web::post().to(jobs::complete))
            .route("/jobs/{id}/fail", web::post().to(jobs::fail))
            .route("/jobs/{id}/cancel", web::post().to(jobs::cancel))
            .route("/jobs/{id}/retry", web::post().to(jobs::retry))
            .route("/jobs/{id}/outcome/ack", web::post().to(jobs::ack_outcome))
            .route("/guests", web::get().to(guests::list))
            .route("/guests", web::post().to(guests::create))
            .route("/guests/{id}", web::get().to(guests::get))
            .route("/guests/{id}", web::patch().to(guests::update))
            .route("/guests/{id}", web::delete().to(guests::delete))
            .route("/guests/{id}/token", web::get().to(guests::token))
            .route("/invitations", web::post().to(guests::invite))
            .route("/commits/{id}", web::get().to(commits::get))
            .route("/commits/{id}/complete", web::post().to(commits::complete))
            .route("/secrets", web::get().to(secrets::list))
            .route("/secrets", web::post().to(secrets::create))
            .route("/secrets/{id}", web::delete().to(secrets::delete))
            .route("/events", web::get().to(events::list))
            .route("/events", web::post().to(events::create))
            .route("/events/{id}", web::get().to(events::get))
            .route("/events/{id}/ack", web::post().to(events::ack))
            .route("/webhooks", web::get().to(webhooks::list))
            .route("/webhooks", web::post().to(webhooks::create))
            .route("/webhooks/{id}", web::get().to(webhooks::get))
            .route("/webhooks/{id}", web::patch().to(webhooks::update))
            .route("/webhooks/{id}", web::delete().to(webhooks::delete))
            .route(
                "/webhooks/{id}/rotate-secret",
                web::post().to(webhooks::rotate_secret),
            )
            .route("/webhooks/{id}/deliveries", web::get().to(webhooks::deliveries))
            .route(
                "/webhooks/{id}/deliveries/{delivery}/retry",
                web::post().to(webhooks::retry),
            )
            .route("/webhooks/{id}/test", web::post().to(webhooks::test))
            .route(
                "/submissions/{id}/sheets/{sheet}/records",
                web::get().to(submissions::records),
            )
            .default_service(web::to(not_found)),
    )
    .service(
        web::scope("")
            .wrap_fn(|req, srv| {
                let htmx = req.headers().contains_key("hx-request");
                let fut = match input::refuse_query_nul(&req) {
                    Ok(()) => Either::Left(srv.call(req)),
                    Err(e) => Either::Right(ready(Ok(req.error_response(e)))),
                };
                async move { Ok(pages::page_errors(fut.await?, htmx)) }
            })
            .app_data(
                actix_multipart::form::MultipartFormConfig::default()
                    .total_limit(input::FORM_LIMIT)
                    .error_handler(|e, _| AppError::bad_request("upload", e.to_string()).into()),
            )
            .route("/", web::get().to(pages::spaces::home))
            .route("/assets/htmx.min.js", web::get().to(pages::assets::htmx))
            .route("/assets/sse.min.js", web::get().to(pages::assets::htmx_sse))
            .route("/assets/app.css", web::get().to(pages::assets::css))
            .route("/assets/app.js", web::get().to(pages::assets::js))
            .route("/sign-in", web::get().to(pages::auth::sign_in_form))
            .route("/sign-in", web::post().to(pages::auth::sign_in))
            .route("/sign-out", web::post().to(pages::auth::sign_out))
            .route("/setup", web::get().to(pages::auth::setup_form))
            .route("/setup", web::post().to(pages::auth::setup))
            .route("/environments", web::get().to(pages::environments::list))
            .route("/environments", web::post().to(pages::environments::create))
            .route("/environments/{id}", web::post().to(pages::environments::update))
            .route(
                "/environments/{id}/delete",
                web::post().to(pages::environments::delete),
            )
            .route(
                "/environments/{id}/keys",
                web::post().to(pages::environments::create_key),
            )
            .route(
                "/keys/{id}/revoke",
                web::post().to(pages::environments::revoke_key),
            )
            .route("/people", web::get().to(pages::people::list))
            .route("/people", web::post().to(pages::people::invite))
            .route("/people/{id}/role", web::post().to(pages::people::set_role))
            .route("/people/{id}/invite", web::post().to(pages::people::resend))
            .route("/people/{id}/remove", web::post().to(pages::people::remove))
            .route("/invites/{token}", web::get().to(pages::people::accept_form))
            .route("/invites/{token}", web::post().to(pages::people::accept))
            .route("/outbox", web::get().to(pages::outbox::list))
            .route("/outbox/{name}", web::get().to(pages::outbox::show))
            .route("/webhooks", web::get().to(pages::webhooks::list))
            .route("/webhooks", web::post().to(pages::webhooks::create))
            .route("/webhooks/{id}", web::get().to(pages::webhooks::show))
            .route("/webhooks/{id}/enable", web::post().to(pages::webhooks::enable))
            .route("/webhooks/{id}/slug", web::post().to(pages::webhooks::set_slug))
            .route("/webhooks/{id}/disable", web::post().to(pages::webhooks::disable))
            .route("/webhooks/{id}/delete", web::post().to(pages::webhooks::delete))
            .route(
                "/webhooks/{id}/rotate-secret",
                web::post().to(pages::webhooks::rotate_secret),
            )
            .route("/webhooks/{id}/test", web::post().to(pages::webhooks::test))
            .route(
                "/webhooks/{id}/deliveries/{delivery}/retry",
                web::post().to(pages::webhooks::retry),
            )
            .route("/switch-environment", web::post().to(pages::environments::switch))
            .route("/space-configs", web::get().to(pages::space_configs::list))
            .route("/space-configs", web::post().to(pages::space_configs::deploy))
            .route("/spaces", web::get().to(pages::spaces::list))
            .route("/spaces", web::post().to(pages::spaces::create))
            .route("/spaces/new", web::get().to(pages::spaces::new_form))
            .route("/spaces/{id}", web::get().to(pages::spaces::show))
            .route("/spaces/{id}/archive", web::post().to(pages::spaces::archive))
            .route("/spaces/{id}/unarchive", web::post().to(pages::spaces::unarchive))
            .route(
                "/spaces/{id}/workbooks",
                web::post().to(pages::spaces::add_workbook),
            )
            .route(
                "/spaces/{id}/submissions",
                web::get().to(pages::submissions::block),
            )
            .route(
                "/spaces/{id}/submissions/{submission}/send",
                web::post().to(pages::submissions::send_again),
            )
            .route("/spaces/{id}/files", web::get().to(pages::files::list))
            .route("/spaces/{id}/files", web::post().to(pages::files::upload))
            .route("/spaces/{id}/files/live", web::get().to(pages::files::live))
            .route("/files/{id}/import", web::get().to(pages::files::import_form))
            .route("/files/{id}/import", web::post().to(pages::files::import))
            .route("/files/{id}/download", web::get().to(pages::files::download))
            .route("/files/{id}/rejects.csv", web::get().to(pages::files::rejects))
            .route("/jobs/{id}", web::get().to(pages::jobs::show))
            .route("/jobs/{id}/live", web::get().to(pages::jobs::live))
            .route("/jobs/{id}/plan", web::post().to(pages::jobs::run_plan))
            .route("/spaces/{id}/guests", web::post().to(pages::guests::invite))
            .route(
                "/spaces/{id}/guests/{guest}/invite",
                web::post().to(pages::guests::resend),
            )
            .route(
                "/spaces/{id}/guests/{guest}/remove",
                web::post().to(pages::guests::remove),
            )
            .route("/guest-links/{token}", web::get().to(pages::guest_links::show))
            .route("/guest-links/{token}", web::post().to(pages::guest_links::open))
            .route("/guest", web::get().to(pages::guest_links::home))
            .route("/guest/sign-out", web::post().to(pages::guest_links::sign_out))
            .route("/guest/spaces/{id}", web::get().to(pages::guest_space::show))
            .route("/workbooks/{id}", web::get().to(pages::grid::show))
            .route(
                "/workbooks/{id}/download.xlsx",
                web::get().to(pages::grid_edit::download_xlsx),
            )
            .route(
                "/grid/{sheet}/records/{record}",
                web::get().to(pages::grid_edit::row),
            )
            .route(
                "/grid/{sheet}/records/{record}",
                web::put().to(pages::grid_edit::save),
            )
            .route(
                "/grid/{sheet}/records/{record}/edit",
                web::get().to(pages::grid_edit::edit),
            )
            .route(
                "/grid/{sheet}/records/{record}/history",
                web::get().to(pages::grid_history::show),
            )
            .route(
                "/grid/{sheet}/records/{record}/undo",
                web::post().to(pages::grid_history::undo),
            )
            .route("/grid/{sheet}/rows", web::post().to(pages::grid_edit::add_row))
            .route(
                "/grid/{sheet}/actions",
                web::post().to(pages::grid_action_jobs::run),
            )
            .route("/grid/jobs/{job}", web::get().to(pages::grid_action_jobs::status))
            .route(
                "/grid/jobs/{job}/ack",
                web::post().to(pages::grid_action_jobs::acknowledge),
            )
            .route(
                "/grid/jobs/{job}/retry",
                web::post().to(pages::grid_action_jobs::retry),
            )
            .route(
                "/grid/jobs/{job}/follow",
                web::post().to(pages::grid_action_jobs::follow),
            )
            .route(
                "/grid/{sheet}/rows/delete",
                web::post().to(pages::grid_edit::delete_rows),
            )
            .route("/grid/{sheet}/bulk", web::post().to(pages::grid_bulk::change))
            .route(
                "/grid/{sheet}/bulk/delete",
                web::get().to(pages::grid_bulk::delete_confirm),
            )
            .route(
                "/grid/{sheet}/bulk/delete",
                web::post().to(pages::grid_bulk::delete),
            )
            .route(
                "/grid/{sheet}/bulk/jobs/{job}",
                web::get().to(pages::grid_bulk::job_status),
            )
            .route(
                "/grid/{sheet}/bulk/jobs/{job}/cancel",
                web::post().to(pages::grid_bulk::cancel),
            )
            .route(
                "/grid/{sheet}/bulk/{bulk}/undo",
                web::post().to(pages::grid_bulk::undo),
            )
            .route("/grid/{sheet}/values", web::get().to(pages::grid_bulk::values))
            .route("/grid/{sheet}/live", web::get().to(pages::grid_edit::live))
            .route(
                "/grid/{sheet}/download.csv",
                web::get().to(pages::grid_edit::download_csv),
            )
            .default_service(web::to(pages::not_found)),
    );
}

async fn not_found(req: actix_web::HttpRequest) -> Result<actix_web::HttpResponse, AppError> {
    match super::api::unsupported::explain(req.path()) {
        Some(why) => Err(AppError::NotSupported(why.into())),
        None => Err(AppError::NotFound("route")),
    }
}
