//! twofactl: reset and re-enrol TOTP two-factor authentication directly on a web
//! application's SQLite database. The binary is a thin shell around [`run`]; the library
//! exists so tests (and the completion and man-page generators) can reach the clap
//! definition in [`cli`].

pub mod app;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod db;
pub mod error;
pub mod generate;
pub mod interrupt;
pub mod mail;
pub mod output;
pub mod process;
pub mod prompt;
pub mod qr;
pub mod secret;
pub mod service;
pub mod totp;

pub use cmd::run;

/// The application's schema, as the application creates it (used by the sandbox and tests).
pub const APP_SCHEMA: &str = include_str!("../schema/app-schema.sql");
