//! `GET /healthz`: the process is up. `GET /readyz`: the database answers.

use actix_web::{web, HttpResponse};
use core_auth::db;
use serde_json::json;

use crate::context::AppContext;

pub fn mount(t: &mut crate::routes::Table) {
    t.get("/healthz", healthz).get("/readyz", readyz);
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
