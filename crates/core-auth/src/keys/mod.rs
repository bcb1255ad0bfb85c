//! Signing keys: generation, encrypted storage, the next -> active ->
//! retired lifecycle shared by every node through the database (for each
//! configured algorithm), and the in-memory key ring that signs and
//! verifies.

pub mod alg;
pub mod kek;
pub mod material;
pub mod ring;
pub mod store;

pub use alg::Algorithm;
pub use kek::Kek;
pub use ring::KeyRing;
pub use store::{KeyInfo, KeyState};
