//! Several nodes, real processes, real faults. Run by .ci/run with
//! PostgreSQL and nginx (PORTCULLIS_TEST_REQUIRE_CLUSTER=1); elsewhere the
//! tests that need them say SKIPPED. Each test prints what it checked.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod faults;
mod lifecycle;
mod multinode;
mod support;
