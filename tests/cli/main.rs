//! Integration tests: the real `twofactl` binary on real SQLite files made from the
//! application's schema, in a temp directory with a clean environment. Each test asserts the
//! exit code, stdout, stderr and the database afterwards.

// A test reads best as one story: the 80-line limit (clippy.toml) is for the program.
#![allow(clippy::too_many_lines)]

mod admin_reset;
mod apps;
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
mod newcomer;
mod passwords;
mod pg;
mod pg_write;
mod promises;
mod pty;
mod readme;
mod robustness;
mod self_service;
mod smtp;
mod smtp_selftest;
mod support;
mod trust;
