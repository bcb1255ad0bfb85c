//! Signing keys: generation, encrypted storage, the next -> active ->
//! retired lifecycle shared by every node through the database, and the
//! in-memory key ring that signs and verifies.

pub mod kek;
pub mod ring;
pub mod store;

pub use kek::Kek;
pub use ring::KeyRing;
pub use store::{KeyInfo, KeyState};
