//! `GET /healthz`: the process is up. `GET /readyz`: the database answers.

use actix_web::{web, HttpResponse};
use core_auth::db;
use serde_json::json;

use crate::context::AppContext;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz));
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({"status": "ok"}))
}

async fn readyz(ctx: web::Data<AppContext>) -> HttpResponse {
    let ok = ctx.db(|c| Ok(db::ping(c))).await.unwrap_or(false);
    let (mut resp, status, database) = if ok {
        (HttpResponse::Ok(), "ready", "ok")
    } else {
        (
            HttpResponse::ServiceUnavailable(),
            "unavailable",
            "unreachable",
        )
    };
    resp.insert_header(("Cache-Control", "no-store"))
        .json(json!({"status": status, "database": database}))
}
