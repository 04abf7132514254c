//! `tim-onboard`: the native command-line companion of the tim-onboard Worker. It backfills users
//! who signed up before the Worker was deployed, prints and checks UserSigs, shows the UserID a
//! provider ID maps to, and checks the Tencent settings, all with the Worker's own core crate, so
//! a backfilled user gets exactly the UserID and profile a webhook would have given them.
//!
//! Modules: [`vars`] (settings from `wrangler.toml`, `.dev.vars` and the environment), [`io`]
//! (the native [`tim_onboard::ports::Io`]: blocking HTTP, real sleeps), [`tencent`] (runs the
//! core executor, `account_check`), [`profile`] (a provider's user object through the Worker's
//! own provider parser), [`source`] (export files and provider list APIs), [`checkpoint`],
//! [`summary`], [`progress`], [`backfill`] (the run), [`commands`] (each subcommand).

pub mod backfill;
pub mod checkpoint;
pub mod commands;
pub mod io;
pub mod profile;
pub mod progress;
pub mod source;
pub mod summary;
pub mod tencent;
pub mod vars;
