//! `list-users`: users and their 2FA state, streamed as an aligned table, JSON Lines or CSV
//! (see `listing`). Never a secret.

use anyhow::Result;

use super::{Ctx, listing};
use crate::cli::{self, ListUsersArgs};
use crate::db::Mode;
use crate::db::users::{Filter, Status};

pub fn run(ctx: &Ctx, args: &ListUsersArgs) -> Result<()> {
    let db = ctx.open_db(Mode::ReadOnly)?;
    let filter = Filter {
        status: args.status.map(status),
        admins: args.admins,
        pattern: args.pattern.as_deref(),
        limit: args.limit,
    };
    listing::users(ctx, &db, &filter)
}

/// The state asked for on the command line, as the database layer knows it.
fn status(s: cli::Status) -> Status {
    match s {
        cli::Status::Enabled => Status::Enabled,
        cli::Status::Pending => Status::Pending,
        cli::Status::Disabled => Status::Disabled,
    }
}
