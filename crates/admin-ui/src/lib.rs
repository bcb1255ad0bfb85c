//! The admin console (HTML) and, later, the admin JSON API. Every route is
//! behind [`RequireAdmin`].

mod guard;
mod home;
mod users;

use actix_web::web;

pub use guard::RequireAdmin;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/admin").route(web::get().to(home::show)))
        .route("/admin/users/{id}/delete", web::post().to(users::delete));
}
