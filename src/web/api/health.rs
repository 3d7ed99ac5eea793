use crate::app::AppState;
use crate::web::error::AppError;
use actix_web::{web, HttpResponse};
use diesel::connection::SimpleConnection;
use serde_json::json;

/// Answers after one database ping.
pub async fn health(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    state.db(|conn| conn.batch_execute("SELECT 1")).await?;
    Ok(HttpResponse::Ok().json(json!({"status": "ok"})))
}
