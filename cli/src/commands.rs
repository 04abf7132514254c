//! The subcommands and their flags (`clap`), and what each prints. Exit statuses: 0 success;
//! 1 some records failed (`backfill`), the check failed (`check`) or the UserSig does not verify
//! (`verify-usersig`); 2 a usage or configuration error; 3 a backfill stopped early.

use crate::backfill::{self, Options};
use crate::io::{now_ms, NativeIo, MAX_RATE};
use crate::progress::Progress;
use crate::source::api::{self, ApiSource};
use crate::source::file::{Fields, FileSource, Format};
use crate::source::Source;
use crate::summary::thousands;
use crate::tencent::{self, Tencent};
use crate::vars::{Locations, Vars};
use clap::{Args, Parser, Subcommand};
use std::ffi::OsString;
use std::path::PathBuf;
use tim_onboard::config::{self, TimConfig};
use tim_onboard::identity;
use tim_onboard::region::EdgeLocation;
use tim_onboard::settings::Settings;
use tim_onboard::usersig::{self, UserSigError};
use tim_onboard::webhook;

/// Success.
pub const EXIT_OK: i32 = 0;
/// Some records failed, or a check did not pass.
pub const EXIT_FAILED: i32 = 1;
/// A usage or configuration error.
pub const EXIT_USAGE: i32 = 2;
/// A backfill stopped early (resume it with `--resume`).
pub const EXIT_ABORTED: i32 = 3;

/// tim-onboard: backfill auth-provider users into Tencent Cloud Chat with the Worker's rules,
/// and UserSig and configuration tools.
#[derive(Parser, Debug)]
#[command(name = "tim-onboard", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    settings: SettingsArgs,
    #[command(subcommand)]
    command: Command,
}

/// Where the settings come from (the environment always wins).
#[derive(Args, Debug, Clone)]
pub struct SettingsArgs {
    /// wrangler.toml whose [vars] to read [default: ./wrangler.toml]
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Read [env.NAME.vars] instead of [vars]
    #[arg(long = "env", global = true, value_name = "NAME")]
    env_name: Option<String>,
    /// .dev.vars file to read secrets and overrides from [default: ./.dev.vars]
    #[arg(long, global = true, value_name = "PATH")]
    dev_vars: Option<PathBuf>,
    /// Do not read .dev.vars
    #[arg(long, global = true)]
    no_dev_vars: bool,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Import existing users (a provider's list API or an export file) into Tencent Cloud Chat
    Backfill(BackfillArgs),
    /// Print a UserSig for a user (to try the Chat SDK by hand)
    Usersig {
        /// The UserID to sign for
        #[arg(long)]
        user: String,
        /// Validity in seconds
        #[arg(long, default_value_t = 7 * 86_400)]
        ttl: i64,
    },
    /// Decode a UserSig and check it against TIM_SECRET_KEY and TIM_SDKAPPID
    VerifyUsersig {
        /// The UserSig
        sig: String,
        /// The UserID it must be for [default: the one it names]
        #[arg(long)]
        user: Option<String>,
    },
    /// Print the Tencent UserID a provider's user ID maps to (as the Worker's GET /userid)
    Userid {
        /// Provider route name (clerk, auth0, supabase, ...)
        #[arg(long)]
        provider: String,
        /// The provider's user ID
        id: String,
    },
    /// Validate the settings and call account_check for TIM_ADMIN (key, SDKAppID, data centre)
    Check,
}

/// Flags of `backfill`.
#[derive(Args, Debug)]
pub struct BackfillArgs {
    /// Provider route name: its <P>_USERID_MODE / <P>_USERID_PREFIX apply
    #[arg(long)]
    provider: String,
    /// Read the provider's list-users API (credentials from the environment or .dev.vars)
    #[arg(long, conflicts_with = "file", required_unless_present = "file")]
    api: bool,
    /// Read an export file (gzip is fine); failures files read back too
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
    /// File format [default: detected]: ndjson, csv, clerk-csv, auth0-ndjson, auth0-csv, firebase-json, supabase-csv
    #[arg(long, value_name = "FORMAT", value_parser = parse_format)]
    format: Option<Format>,
    /// Generic NDJSON/CSV: the user ID field (dotted path in NDJSON)
    #[arg(long, default_value = "id")]
    id_field: String,
    /// Generic NDJSON/CSV: the display name field
    #[arg(long, default_value = "name")]
    name_field: String,
    /// Generic NDJSON/CSV: the email field (its local part is the last-resort Nick)
    #[arg(long, default_value = "email")]
    email_field: String,
    /// Generic NDJSON/CSV: the avatar URL field
    #[arg(long, default_value = "avatar")]
    avatar_field: String,
    /// Print the mapping (provider ID -> UserID, mode) and the counts; call nothing
    #[arg(long)]
    dry_run: bool,
    /// Continue from the checkpoint of an earlier run of the same source
    #[arg(long)]
    resume: bool,
    /// multiaccount_import calls per second (at most Tencent's 100)
    #[arg(long, default_value_t = MAX_RATE, value_parser = clap::value_parser!(u32).range(1..=100))]
    rate: u32,
    /// Where failed records go, as NDJSON that --file reads back
    #[arg(long, value_name = "PATH")]
    failures: Option<PathBuf>,
    /// The checkpoint file [default: tim-onboard-<provider>.checkpoint.json]
    #[arg(long, value_name = "PATH")]
    checkpoint: Option<PathBuf>,
    /// Ask account_check first and import only users Tencent does not have (one more call per 100)
    #[arg(long)]
    skip_existing: bool,
    /// Base URL of the provider's API (a proxy or a test server)
    #[arg(long, value_name = "URL")]
    api_url: Option<String>,
    /// No progress output
    #[arg(long, short)]
    quiet: bool,
}

fn parse_format(s: &str) -> Result<Format, String> {
    Format::parse(s).ok_or_else(|| {
        let names: Vec<&str> = Format::NAMES.iter().map(|(n, _)| *n).collect();
        format!("expected one of {}", names.join(", "))
    })
}

/// Parses `args` (with the program name) and runs the command; returns the exit status.
pub fn main(args: impl IntoIterator<Item = OsString>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_USAGE } else { EXIT_OK };
        }
    };
    let loc = Locations {
        wrangler: cli.settings.config.clone(),
        dev_vars: cli.settings.dev_vars.clone(),
        env_name: cli.settings.env_name.clone(),
        no_dev_vars: cli.settings.no_dev_vars,
    };
    let dir = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let vars = match Vars::from_process(&dir, &loc) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    match cli.command {
        Command::Backfill(a) => backfill_cmd(&vars, a),
        Command::Usersig { user, ttl } => usersig_cmd(&vars, &user, ttl),
        Command::VerifyUsersig { sig, user } => verify_cmd(&vars, &sig, user.as_deref()),
        Command::Userid { provider, id } => userid_cmd(&vars, &provider, &id),
        Command::Check => check_cmd(&vars),
    }
}

fn provider_or_exit(name: &str) -> Result<webhook::Provider, i32> {
    webhook::provider(name).ok_or_else(|| {
        let names: Vec<&str> = webhook::ALL.iter().map(|p| p.name).collect();
        eprintln!(
            "error: unknown provider {name}; one of {}",
            names.join(", ")
        );
        EXIT_USAGE
    })
}

/// The provider named `name` and its UserID rule from the settings, or the exit code after
/// saying what is wrong.
fn provider_and_rule(vars: &Vars, name: &str) -> Result<(webhook::Provider, identity::Rule), i32> {
    let p = provider_or_exit(name)?;
    let rule = config::userid_rule(vars, p.prefix, p.id_prefixes).map_err(|e| {
        eprintln!("error: {e}");
        EXIT_USAGE
    })?;
    Ok((p, rule))
}

/// `userid`: the Worker's `/userid` answer, as JSON.
fn userid_cmd(vars: &Vars, provider: &str, id: &str) -> i32 {
    let (p, rule) = match provider_and_rule(vars, provider) {
        Ok(found) => found,
        Err(code) => return code,
    };
    match identity::map_user_id(id, &rule) {
        Ok(m) => {
            let v = serde_json::json!({ "provider": p.name, "id": id, "user_id": m.user_id, "mode": m.mode.name() });
            println!("{v}");
            EXIT_OK
        }
        Err(e) => {
            eprintln!(
                "error: {id:?} cannot become a UserID under {} ({}): {e}",
                p.mode_setting(),
                rule.mode.name()
            );
            EXIT_FAILED
        }
    }
}

fn load_config(vars: &Vars) -> Result<TimConfig, i32> {
    TimConfig::load(vars).map_err(|e| {
        eprintln!("error: {e} (read from the environment, {})", files(vars));
        EXIT_USAGE
    })
}

fn files(vars: &Vars) -> String {
    let f = vars.files();
    if f.is_empty() {
        "no wrangler.toml or .dev.vars found here".into()
    } else {
        f.join(", ")
    }
}

/// `usersig`: a UserSig for `user`.
fn usersig_cmd(vars: &Vars, user: &str, ttl: i64) -> i32 {
    let cfg = match load_config(vars) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if let Err(e) = identity::verbatim_user_id(user) {
        eprintln!("error: {user:?} is not a Tencent UserID: {e}");
        return EXIT_USAGE;
    }
    if !(1..=10 * 365 * 86_400).contains(&ttl) {
        eprintln!("error: --ttl must be between 1 and 315360000 seconds");
        return EXIT_USAGE;
    }
    let now = i64::try_from(now_ms() / 1000).unwrap_or(i64::MAX);
    println!(
        "{}",
        usersig::generate(cfg.sdkappid, &cfg.secret_key, user, now, ttl, None)
    );
    EXIT_OK
}

/// The Tencent code Tencent would answer for a UserSig problem.
pub fn usersig_code(e: &UserSigError) -> i64 {
    match e {
        UserSigError::Empty => 70002,
        UserSigError::Malformed(_) => 70003,
        UserSigError::SdkAppIdMismatch => 70014,
        UserSigError::IdentifierMismatch => 70013,
        UserSigError::Expired => 70001,
        UserSigError::UserBufMismatch | UserSigError::BadSignature => 70009,
    }
}

/// `verify-usersig`: decode, print the fields, verify when the key is known.
fn verify_cmd(vars: &Vars, sig: &str, user: Option<&str>) -> i32 {
    let (claims, _) = match usersig::decode(sig.trim()) {
        Ok(c) => c,
        Err(e) => {
            println!("invalid: {e} (Tencent would answer {})", usersig_code(&e));
            return EXIT_FAILED;
        }
    };
    let expires = claims.time.saturating_add(claims.expire);
    println!("identifier  {}", claims.identifier);
    println!("sdkappid    {}", claims.sdkappid);
    println!(
        "signed at   {} ({})",
        claims.time,
        crate::profile::iso8601(claims.time)
    );
    println!(
        "expires at  {expires} ({}, after {} s)",
        crate::profile::iso8601(expires),
        claims.expire
    );
    if let Some(buf) = &claims.userbuf {
        println!("userbuf     {} bytes", buf.len());
    }
    let (Some(key), Ok(sdkappid)) = (vars.get(config::TIM_SECRET_KEY), config::sdkappid(vars))
    else {
        println!("not verified: TIM_SECRET_KEY and TIM_SDKAPPID are needed to check the signature");
        return EXIT_FAILED;
    };
    let now = i64::try_from(now_ms() / 1000).unwrap_or(i64::MAX);
    let identifier = user.unwrap_or(&claims.identifier);
    match usersig::verify(
        sdkappid,
        &key,
        identifier,
        sig.trim(),
        now,
        claims.userbuf.as_deref(),
    ) {
        Ok(_) => {
            println!("valid: signed with TIM_SECRET_KEY for {identifier} in SDKAppID {sdkappid}");
            EXIT_OK
        }
        Err(e) => {
            println!("invalid: {e} (Tencent would answer {})", usersig_code(&e));
            EXIT_FAILED
        }
    }
}

/// `check`: every setting, every provider's UserID rule, then account_check for the admin.
fn check_cmd(vars: &Vars) -> i32 {
    println!("settings from the environment, {}", files(vars));
    let mut ok = true;
    for (name, ready) in config::readiness(vars) {
        let origin = vars.lookup(name).map(|(_, o)| o.to_string());
        let state = match (ready, &origin) {
            (true, Some(o)) => format!("ok ({o})"),
            (true, None) => "ok (default)".into(),
            (false, _) => {
                ok = false;
                match TimConfig::load(vars) {
                    Err(e) if e.var() == name => e.to_string(),
                    _ => "invalid".into(),
                }
            }
        };
        println!("  {name:<16} {state}");
    }
    for p in webhook::ALL {
        if let Err(e) = config::userid_rule(vars, p.prefix, p.id_prefixes) {
            ok = false;
            println!("  {:<16} {e}", p.name);
        }
    }
    let cfg = match TimConfig::load(vars) {
        Ok(c) => c,
        Err(e) => {
            println!("not calling Tencent: {e}");
            return EXIT_FAILED;
        }
    };
    let where_ = match &cfg.base_url {
        Some(b) => format!("{b} (TIM_BASE_URL)"),
        None => format!("TIM_REGION={}", region_name(&cfg)),
    };
    println!("calling account_check for {} at {where_} ...", cfg.admin);
    let io = NativeIo::new(MAX_RATE);
    io.set_log_sink(Box::new(|l| println!("  {l}")));
    let t = Tencent::new(cfg.clone(), EdgeLocation::default());
    let retry = tim_onboard::tim::RetryPolicy {
        max_attempts: 3,
        ..tim_onboard::tim::RetryPolicy::default()
    };
    match t.account_check(&io, &[cfg.admin.as_str()], retry) {
        Ok(items) => {
            let dc = t
                .region()
                .map(|r| format!(" in data centre {}", r.name()))
                .unwrap_or_default();
            let imported = items.iter().any(|(id, i)| *id == cfg.admin && *i);
            println!(
                "Tencent accepted the key, SDKAppID {} and admin {}{dc}: {} is {}",
                cfg.sdkappid,
                cfg.admin,
                cfg.admin,
                if imported {
                    "imported"
                } else {
                    "not imported (unusual for an admin)"
                }
            );
            if let (Some(r), tim_onboard::region::RegionSetting::Auto) = (t.region(), cfg.region) {
                println!(
                    "tip: set TIM_REGION = \"{}\" to skip the data-centre search",
                    r.name()
                );
            }
            if ok {
                EXIT_OK
            } else {
                EXIT_FAILED
            }
        }
        Err(e) => {
            println!("Tencent refused: {}", tencent::explain(&e));
            EXIT_FAILED
        }
    }
}

fn region_name(cfg: &TimConfig) -> &'static str {
    match cfg.region {
        tim_onboard::region::RegionSetting::Auto => "auto",
        tim_onboard::region::RegionSetting::Fixed(r) => r.name(),
    }
}

/// `backfill`.
fn backfill_cmd(vars: &Vars, a: BackfillArgs) -> i32 {
    let (p, rule) = match provider_and_rule(vars, &a.provider) {
        Ok(found) => found,
        Err(code) => return code,
    };
    let tencent = if a.dry_run {
        None
    } else {
        match load_config(vars) {
            Ok(cfg) => Some(Tencent::new(cfg, EdgeLocation::default())),
            Err(code) => return code,
        }
    };
    let now = i64::try_from(now_ms() / 1000).unwrap_or(i64::MAX);
    let mut source: Box<dyn Source> = match &a.file {
        Some(path) => {
            let fields = Fields {
                id: a.id_field.clone(),
                name: a.name_field.clone(),
                email: a.email_field.clone(),
                avatar: a.avatar_field.clone(),
            };
            match FileSource::open(path, a.format, &fields, p.name, now) {
                Ok(s) => {
                    if !a.quiet {
                        eprintln!("reading {} as {}", path.display(), s.format().name());
                    }
                    Box::new(s)
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    return EXIT_USAGE;
                }
            }
        }
        None => match api::client(p.name, vars, a.api_url.as_deref()) {
            Ok(c) => Box::new(ApiSource::new(c, now)),
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_USAGE;
            }
        },
    };
    let opts = Options {
        provider: p.name,
        rule,
        dry_run: a.dry_run,
        resume: a.resume,
        skip_existing: a.skip_existing,
        checkpoint: a
            .checkpoint
            .unwrap_or_else(|| PathBuf::from(format!("tim-onboard-{}.checkpoint.json", p.name))),
        failures: a
            .failures
            .unwrap_or_else(|| PathBuf::from(format!("tim-onboard-{}.failures.ndjson", p.name))),
        batch: tim_onboard::tim::MAX_BATCH,
    };
    let io = NativeIo::new(a.rate);
    let mut progress = Progress::auto(a.quiet);
    if let Progress::Bar(bar) = &progress {
        let bar = bar.clone();
        io.set_log_sink(Box::new(move |l| bar.println(l)));
    }
    let mut stdout = std::io::stdout().lock();
    let report = match backfill::run(
        source.as_mut(),
        &opts,
        tencent.as_ref(),
        &io,
        &mut progress,
        &mut stdout,
    ) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    drop(stdout);
    if let Some(at) = &report.resumed_at {
        eprintln!(
            "resumed at {} (record {} of that page)",
            at.cursor
                .as_deref()
                .map_or("the start".to_owned(), |c| format!("cursor {c}")),
            thousands(at.index)
        );
    }
    let title = if a.dry_run {
        "dry run (nothing sent to Tencent; \"imported\" = would import)"
    } else {
        "this run"
    };
    eprintln!("{title}, {:.1} s:\n{}", report.elapsed_s, report.run);
    if report.resumed_at.is_some() && !a.dry_run {
        eprintln!("all runs:\n{}", report.totals);
    }
    if report.run.failed_total() > 0 && !a.dry_run {
        eprintln!(
            "failed records: {} (re-feed with --file)",
            opts.failures.display()
        );
    }
    if let Some(why) = &report.aborted {
        eprintln!("stopped early: {why}");
        if !a.dry_run {
            eprintln!(
                "continue with the same command plus --resume (checkpoint {})",
                opts.checkpoint.display()
            );
        }
        return EXIT_ABORTED;
    }
    if report.run.failed_total() > 0 {
        EXIT_FAILED
    } else {
        EXIT_OK
    }
}
