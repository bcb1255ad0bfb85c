//! The migrations are embedded at compile time (`embed_migrations!`): a new
//! or changed migration must rebuild this crate, which cargo only knows
//! when told.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
