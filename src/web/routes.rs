//! Every route, in one table.

use super::api::{
    bulk, cells, changes, commits, detect_header, documents, entitlements, environments, events, files,
    guests, health, job_list, job_plan, jobs, records, secrets, sheet_fields, sheets, space_configs, spaces,
    submissions, webhooks, workbooks,
};
use super::error::AppError;
use super::input;
use super::pages;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{header, StatusCode};
use actix_web::web;
use actix_web::HttpResponse;
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
    // Uptime checks often ask with HEAD (answered as GET: `app.rs`).
    .service(
        web::resource("/health")
            .get(health::health)
            .default_service(web::to(|| async {
                Err::<HttpResponse, _>(AppError::MethodNotAllowed("GET, HEAD".into()))
            })),
    )
    .service(
        web::scope("/v1")
            .wrap_fn(|req, srv| {
                let fut = match input::refuse_query_nul(&req) {
                    Ok(()) => Either::Left(srv.call(req)),
                    Err(e) => Either::Right(ready(Ok(req.error_response(e)))),
                };
                async move { Ok(method_not_allowed(fut.await?)) }
            })
            // Outermost: a credential nobody knows is refused before anything else is read.
            .wrap(actix_web::middleware::from_fn(crate::auth::bearer::check_first))
            .service(web::resource("/entitlements").get(entitlements::list))
            .service(
                web::resource("/environments")
                    .get(environments::list)
                    .post(environments::create),
            )
            // Flatfile's, not an environment's id: its 501 says what to use instead.
            .service(web::resource("/environments/subscription-token").to(not_found))
            .service(
                web::resource("/environments/{id}")
                    .get(environments::get)
                    .patch(environments::update)
                    .delete(environments::delete),
            )
            .service(
                web::resource("/space-configs")
                    .get(space_configs::list)
                    .post(space_configs::create),
            )
            .service(
                web::resource("/space-configs/{id}")
                    .get(space_configs::get)
                    .delete(space_configs::delete),
            )
            .service(web::resource("/spaces").get(spaces::list).post(spaces::create))
            .service(
                web::resource("/spaces/{id}")
                    .get(spaces::get)
                    .patch(spaces::update)
                    .delete(spaces::delete),
            )
            .service(web::resource("/spaces/{id}/archive").post(spaces::archive))
            .service(web::resource("/spaces/{id}/unarchive").post(spaces::unarchive))
            .service(
                web::resource("/workbooks")
                    .get(workbooks::list)
                    .post(workbooks::create),
            )
            .service(
                web::resource("/workbooks/{id}")
                    .get(workbooks::get)
                    .patch(workbooks::update)
                    .delete(workbooks::delete),
            )
            .service(web::resource("/sheets").get(sheets::list))
            .service(
                web::resource("/sheets/{id}")
                    .get(sheets::get)
                    .delete(sheets::delete)
                    .patch(sheet_fields::update),
            )
            .service(web::resource("/sheets/{id}/fields").post(sheet_fields::add))
            .service(web::resource("/sheets/{id}/fields/{key}").delete(sheet_fields::remove))
            .service(web::resource("/sheets/{id}/counts").get(sheets::counts))
            .service(web::resource("/sheets/{id}/download").get(sheets::download))
            .service(web::resource("/sheets/{id}/changes").get(changes::list))
            .service(
                web::resource("/sheets/{id}/records")
                    .get(records::list)
                    .post(records::insert)
                    .put(records::update)
                    .delete(records::delete),
            )
            .service(web::resource("/sheets/{id}/cells").get(cells::list))
            .service(web::resource("/sheets/{id}/validate").post(bulk::validate))
            .service(web::resource("/sheets/{id}/lock").post(sheets::lock))
            .service(web::resource("/sheets/{id}/unlock").post(sheets::unlock))
            .service(web::resource("/sheets/{id}/find-replace").put(bulk::find_replace))
            .service(web::resource("/sheets/{id}/records/bulk-update").patch(bulk::bulk_update))
            .service(web::resource("/files").get(files::list).post(files::upload))
            .service(web::resource("/files/detect-header").post(detect_header::detect))
            .service(
                web::resource("/files/{id}")
                    .get(files::get)
                    .patch(files::update)
                    .delete(files::delete),
            )
            .service(
                web::resource("/files/{id}/download")
                    .get(files::download)
                    .head(files::download),
            )
            .service(
                web::resource("/files/{id}/rejects")
                    .get(files::rejects)
                    .head(files::rejects),
            )
            .service(web::resource("/jobs").get(job_list::list).post(jobs::create))
            .service(
                web::resource("/jobs/{id}")
                    .get(jobs::get)
                    .patch(jobs::update)
                    .delete(jobs::delete),
            )
            .service(
                web::resource("/jobs/{id}/plan")
                    .get(job_plan::get)
                    .put(job_plan::put)
                    .patch(job_plan::patch),
            )
            .service(web::resource("/jobs/{id}/execute").post(jobs::execute))
            .service(web::resource("/jobs/{id}/ack").post(jobs::ack))
            .service(web::resource("/jobs/{id}/complete").post(jobs::complete))
            .service(web::resource("/jobs/{id}/fail").post(jobs::fail))
            .service(web::resource("/jobs/{id}/cancel").post(jobs::cancel))
            .service(web::resource("/jobs/{id}/retry").post(jobs::retry))
            .service(web::resource("/jobs/{id}/outcome/ack").post(jobs::ack_outcome))
            .service(web::resource("/guests").get(guests::list).post(guests::create))
            .service(
                web::resource("/guests/{id}")
                    .get(guests::get)
                    .patch(guests::update)
                    .delete(guests::delete),
            )
            .service(web::resource("/guests/{id}/token").get(guests::token))
            .service(web::resource("/invitations").post(guests::invite))
            .service(web::resource("/commits/{id}").get(commits::get))
            .service(web::resource("/commits/{id}/complete").post(commits::complete))
            .service(web::resource("/secrets").get(secrets::list).post(secrets::create))
            .service(
                web::resource("/spaces/{id}/documents")
                    .get(documents::list)
                    .post(documents::create),
            )
            .service(
                web::resource("/spaces/{id}/documents/{document}")
                    .get(documents::get)
                    .patch(documents::update)
                    .delete(documents::delete),
            )
            .service(web::resource("/secrets/{id}").delete(secrets::delete))
            .service(web::resource("/events").get(events::list).post(events::create))
            .service(web::resource("/events/{id}").get(events::get))
            .service(web::resource("/events/{id}/ack").post(events::ack))
            .service(
                web::resource("/webhooks")
                    .get(webhooks::list)
                    .post(webhooks::create),
            )
            .service(
                web::resource("/webhooks/{id}")
                    .get(webhooks::get)
                    .patch(webhooks::update)
                    .delete(webhooks::delete),
            )
            .service(web::resource("/webhooks/{id}/rotate-secret").post(webhooks::rotate_secret))
            .service(web::resource("/webhooks/{id}/deliveries").get(webhooks::deliveries))
            .service(web::resource("/webhooks/{id}/deliveries/{delivery}/retry").post(webhooks::retry))
            .service(web::resource("/webhooks/{id}/test").post(webhooks::test))
            .service(web::resource("/submissions/{id}/sheets/{sheet}/records").get(submissions::records))
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
                async move { Ok(pages::page_errors(method_not_allowed(fut.await?), htmx)) }
            })
            .app_data(
                actix_multipart::form::MultipartFormConfig::default()
                    .total_limit(input::FORM_LIMIT)
                    .error_handler(|e, _| match e {
                        // A part past its limit: 413 saying so, not "Payload error".
                        actix_multipart::MultipartError::Payload(
                            actix_web::error::PayloadError::Overflow,
                        ) => AppError::PayloadTooLarge("the upload is larger than this form takes".into())
                            .into(),
                        e => AppError::bad_request("upload", e.to_string()).into(),
                    }),
            )
            .service(web::resource("/").get(pages::spaces::home))
            .service(web::resource("/assets/htmx.min.js").get(pages::assets::htmx))
            .service(web::resource("/assets/sse.min.js").get(pages::assets::htmx_sse))
            .service(web::resource("/assets/app.css").get(pages::assets::css))
            .service(web::resource("/assets/app.js").get(pages::assets::js))
            .service(web::resource("/assets/live-streams.js").get(pages::assets::live_streams_js))
            .service(web::resource("/assets/grid-clipboard.js").get(pages::assets::grid_clipboard_js))
            .service(
                web::resource("/sign-in")
                    .get(pages::auth::sign_in_form)
                    .post(pages::auth::sign_in),
            )
            .service(web::resource("/sign-out").post(pages::auth::sign_out))
            .service(
                web::resource("/setup")
                    .get(pages::auth::setup_form)
                    .post(pages::auth::setup),
            )
            .service(
                web::resource("/environments")
                    .get(pages::environments::list)
                    .post(pages::environments::create),
            )
            .service(web::resource("/environments/{id}").post(pages::environments::update))
            .service(web::resource("/environments/{id}/delete").post(pages::environments::delete))
            .service(web::resource("/environments/{id}/keys").post(pages::environments::create_key))
            .service(web::resource("/keys/{id}/revoke").post(pages::environments::revoke_key))
            .service(
                web::resource("/people")
                    .get(pages::people::list)
                    .post(pages::people::invite),
            )
            .service(web::resource("/people/{id}/role").post(pages::people::set_role))
            .service(web::resource("/people/{id}/invite").post(pages::people::resend))
            .service(web::resource("/people/{id}/remove").post(pages::people::remove))
            .service(
                web::resource("/invites/{token}")
                    .get(pages::people::accept_form)
                    .post(pages::people::accept),
            )
            .service(web::resource("/outbox").get(pages::outbox::list))
            .service(web::resource("/outbox/{name}").get(pages::outbox::show))
            .service(
                web::resource("/webhooks")
                    .get(pages::webhooks::list)
                    .post(pages::webhooks::create),
            )
            .service(web::resource("/webhooks/{id}").get(pages::webhooks::show))
            .service(web::resource("/webhooks/{id}/enable").post(pages::webhooks::enable))
            .service(web::resource("/webhooks/{id}/slug").post(pages::webhooks::set_slug))
            .service(web::resource("/webhooks/{id}/disable").post(pages::webhooks::disable))
            .service(web::resource("/webhooks/{id}/delete").post(pages::webhooks::delete))
            .service(web::resource("/webhooks/{id}/rotate-secret").post(pages::webhooks::rotate_secret))
            .service(web::resource("/webhooks/{id}/test").post(pages::webhooks::test))
            .service(web::resource("/webhooks/{id}/deliveries/{delivery}/retry").post(pages::webhooks::retry))
            .service(web::resource("/switch-environment").post(pages::environments::switch))
            .service(
                web::resource("/space-configs")
                    .get(pages::space_configs::list)
                    .post(pages::space_configs::deploy),
            )
            .service(web::resource("/space-configs/{id}/delete").post(pages::space_configs::delete))
            .service(
                web::resource("/spaces")
                    .get(pages::spaces::list)
                    .post(pages::spaces::create),
            )
            .service(web::resource("/spaces/new").get(pages::spaces::new_form))
            .service(web::resource("/spaces/{id}").get(pages::spaces::show))
            .service(web::resource("/spaces/{id}/rename").post(pages::space_rename::rename))
            .service(web::resource("/spaces/{id}/archive").post(pages::spaces::archive))
            .service(web::resource("/spaces/{id}/unarchive").post(pages::spaces::unarchive))
            .service(web::resource("/spaces/{id}/workbooks").post(pages::spaces::add_workbook))
            .service(web::resource("/spaces/{id}/delete").post(pages::deletes::space))
            .service(web::resource("/workbooks/{id}/delete").post(pages::deletes::workbook))
            .service(web::resource("/spaces/{id}/submissions").get(pages::submissions::block))
            .service(
                web::resource("/spaces/{id}/submissions/{submission}/send")
                    .post(pages::submissions::send_again),
            )
            .service(
                web::resource("/spaces/{id}/files")
                    .get(pages::files::list)
                    .post(pages::files::upload),
            )
            .service(web::resource("/spaces/{id}/files/live").get(pages::files::live))
            .service(web::resource("/files/{id}/actions").post(pages::file_actions::run))
            .service(web::resource("/files/{id}/delete").post(pages::deletes::file))
            .service(
                web::resource("/files/{id}/import")
                    .get(pages::files::import_form)
                    .post(pages::files::import),
            )
            .service(
                web::resource("/files/{id}/download")
                    .get(pages::files::download)
                    .head(pages::files::download),
            )
            .service(
                web::resource("/files/{id}/rejects.csv")
                    .get(pages::files::rejects)
                    .head(pages::files::rejects),
            )
            .service(web::resource("/jobs/{id}").get(pages::jobs::show))
            .service(web::resource("/jobs/{id}/live").get(pages::jobs::live))
            .service(web::resource("/jobs/{id}/plan").post(pages::jobs::run_plan))
            .service(web::resource("/jobs/{id}/plan/enum-values").get(pages::job_enum_values::enum_values))
            .service(web::resource("/jobs/{id}/cancel").post(pages::job_controls::cancel))
            .service(web::resource("/jobs/{id}/retry").post(pages::job_controls::retry))
            .service(web::resource("/spaces/{id}/guests").post(pages::guests::invite))
            .service(web::resource("/spaces/{id}/guests/{guest}/invite").post(pages::guests::resend))
            .service(web::resource("/spaces/{id}/guests/{guest}/remove").post(pages::guests::remove))
            .service(
                web::resource("/guest-links/{token}")
                    .get(pages::guest_links::show)
                    .post(pages::guest_links::open),
            )
            .service(web::resource("/guest").get(pages::guest_links::home))
            .service(web::resource("/guest/sign-out").post(pages::guest_links::sign_out))
            .service(web::resource("/guest/signed-out").get(pages::guest_links::signed_out))
            .service(web::resource("/guest/spaces/{id}").get(pages::guest_space::show))
            .service(web::resource("/workbooks/{id}").get(pages::grid::show))
            .service(web::resource("/workbooks/{id}/download.xlsx").get(pages::grid_edit::download_xlsx))
            .service(
                web::resource("/grid/{sheet}/records/{record}")
                    .get(pages::grid_edit::row)
                    .put(pages::grid_edit::save),
            )
            .service(web::resource("/grid/{sheet}/records/{record}/edit").get(pages::grid_edit::edit))
            .service(web::resource("/grid/{sheet}/records/{record}/history").get(pages::grid_history::show))
            .service(web::resource("/grid/{sheet}/records/{record}/undo").post(pages::grid_history::undo))
            .service(web::resource("/grid/{sheet}/rows").post(pages::grid_edit::add_row))
            .service(web::resource("/grid/{sheet}/actions").post(pages::grid_action_jobs::run))
            .service(web::resource("/grid/jobs/{job}").get(pages::grid_action_jobs::status))
            .service(web::resource("/grid/jobs/{job}/ack").post(pages::grid_action_jobs::acknowledge))
            .service(web::resource("/grid/jobs/{job}/retry").post(pages::grid_action_jobs::retry))
            .service(web::resource("/grid/jobs/{job}/cancel").post(pages::grid_action_jobs::cancel))
            .service(web::resource("/grid/jobs/{job}/follow").post(pages::grid_action_jobs::follow))
            .service(web::resource("/grid/{sheet}/rows/delete").post(pages::grid_edit::delete_rows))
            .service(
                web::resource("/grid/{sheet}/bulk")
                    .get(pages::grid_bulk_history::show)
                    .post(pages::grid_bulk::change),
            )
            .service(
                web::resource("/grid/{sheet}/bulk/delete")
                    .get(pages::grid_bulk::delete_confirm)
                    .post(pages::grid_bulk::delete),
            )
            .service(web::resource("/grid/{sheet}/bulk/jobs/{job}").get(pages::grid_bulk::job_status))
            .service(web::resource("/grid/{sheet}/bulk/jobs/{job}/cancel").post(pages::grid_bulk::cancel))
            .service(web::resource("/grid/{sheet}/bulk/{bulk}/undo").post(pages::grid_bulk::undo))
            .service(web::resource("/grid/{sheet}/values").get(pages::grid_values::values))
            .service(web::resource("/grid/{sheet}/choices").get(pages::grid_choices::choices))
            .service(web::resource("/grid/{sheet}/count").get(pages::grid_count::count))
            .service(web::resource("/grid/{sheet}/live").get(pages::grid_edit::live))
            .service(web::resource("/grid/{sheet}/download.csv").get(pages::grid_edit::download_csv))
            .default_service(web::to(pages::not_found)),
    );
}

/// A known address asked with a method it does not take: its resource answers 405 with
/// `Allow` and no body. Say so as every other error is said (JSON for the API, a page for
/// the dashboard), or as 501 for a Flatfile call Wharf does not offer.
fn method_not_allowed<B: MessageBody + 'static>(res: ServiceResponse<B>) -> ServiceResponse<BoxBody> {
    if res.status() != StatusCode::METHOD_NOT_ALLOWED || res.response().error().is_some() {
        return res.map_into_boxed_body();
    }
    let allow = res
        .headers()
        .get(header::ALLOW)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    // Every GET address answers HEAD too (`app.rs`).
    let allow = match allow.contains("GET") && !allow.contains("HEAD") {
        true => format!("{allow}, HEAD"),
        false => allow,
    };
    let (req, _) = res.into_parts();
    let flatfile_call = req.path().starts_with("/v1/");
    let err = match super::api::unsupported::explain(req.method(), req.path()).filter(|_| flatfile_call) {
        Some(why) => AppError::NotSupported(why.into()),
        None => AppError::MethodNotAllowed(allow),
    };
    ServiceResponse::new(req, HttpResponse::from_error(err))
}

async fn not_found(req: actix_web::HttpRequest) -> Result<actix_web::HttpResponse, AppError> {
    match super::api::unsupported::explain(req.method(), req.path()) {
        Some(why) => Err(AppError::NotSupported(why.into())),
        None => Err(AppError::NotFound("route")),
    }
}
