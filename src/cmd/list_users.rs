//! `list-users`: users and their 2FA state, streamed as an aligned table, JSON Lines or CSV
//! (see `listing`). Never a secret.

use anyhow::Result;

use super::{Ctx, Reader, listing};
use crate::cli::{self, ListUsersArgs};
use crate::db::users::{Filter, Status};

pub fn run(ctx: &Ctx, args: &ListUsersArgs) -> Result<()> {
    let mut db = ctx.open_reader()?;
    let filter = Filter {
        status: args.status.map(status),
        admins: args.admins,
        pattern: args.pattern.as_deref(),
        limit: args.limit,
    };
    let source = match &mut db {
        Reader::Sqlite(db) => listing::Source::Sqlite(db),
        Reader::Postgres(db) => listing::Source::Postgres(db),
    };
    listing::users(ctx, source, &filter)
}

/// The state asked for on the command line, as the database layer knows it.
fn status(s: cli::Status) -> Status {
    match s {
        cli::Status::Enabled => Status::Enabled,
        cli::Status::Pending => Status::Pending,
        cli::Status::Disabled => Status::Disabled,
    }
}
