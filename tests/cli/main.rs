//! Integration tests: the real `twofactl` binary on real SQLite files made from the
//! application's schema, in a temp directory with a clean environment. Each test asserts the
//! exit code, stdout, stderr and the database afterwards.

mod admin_reset;
mod audit;
mod config;
mod database;
mod demo;
mod enroll;
mod exit_codes;
mod generated;
mod hostile;
mod list_users;
mod mail;
mod passwords;
mod promises;
mod pty;
mod robustness;
mod self_service;
mod smtp;
mod smtp_selftest;
mod support;
mod trust;
