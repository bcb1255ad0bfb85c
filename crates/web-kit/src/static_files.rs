//! Our stylesheet and icons, compiled into the binary: one file to deploy,
//! nothing fetched from a CDN.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        path: "portcullis.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../../static/portcullis.css"),
    },
    Asset {
        path: "admin.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../../static/admin.css"),
    },
    Asset {
        path: "logo.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("../../../static/logo.svg"),
    },
    Asset {
        path: "form-post.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../../static/form-post.js"),
    },
    Asset {
        path: "webauthn.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../../static/webauthn.js"),
    },
    Asset {
        path: "favicon.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("../../../static/favicon.svg"),
    },
];

pub fn mount(t: &mut crate::routes::Table) {
    t.get("/static/{file}", serve);
}

async fn serve(file: web::Path<String>) -> HttpResponse {
    match ASSETS.iter().find(|a| a.path == file.as_str()) {
        Some(a) => HttpResponse::Ok()
            .content_type(a.content_type)
            .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
            .body(a.body),
        None => HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("Not found"),
    }
}
