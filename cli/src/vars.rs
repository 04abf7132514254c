//! Where the command reads its settings: the environment, then `.dev.vars`, then the `[vars]` of
//! `wrangler.toml` (or `[env.<name>.vars]`), so it sees what `wrangler dev` gives the Worker and
//! computes the same UserIDs. The environment always wins; blank values count as unset.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use tim_onboard::settings::Settings;

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A process environment variable.
    Environment,
    /// A line of a `.dev.vars` file.
    DevVars(PathBuf),
    /// The `[vars]` table of a `wrangler.toml`.
    Wrangler(PathBuf),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Environment => f.write_str("environment"),
            Origin::DevVars(p) => write!(f, "{}", p.display()),
            Origin::Wrangler(p) => write!(f, "{} [vars]", p.display()),
        }
    }
}

/// A reader of environment variables (the process environment, or a table in tests).
pub type EnvFn = Box<dyn Fn(&str) -> Option<String>>;

/// The layered settings: environment, `.dev.vars`, `wrangler.toml`.
pub struct Vars {
    env: EnvFn,
    dev_vars: Option<(PathBuf, BTreeMap<String, String>)>,
    wrangler: Option<(PathBuf, BTreeMap<String, String>)>,
}

/// Where to look for the files.
#[derive(Debug, Clone, Default)]
pub struct Locations {
    /// `wrangler.toml` (default: `./wrangler.toml` if present).
    pub wrangler: Option<PathBuf>,
    /// `.dev.vars` (default: `./.dev.vars` if present).
    pub dev_vars: Option<PathBuf>,
    /// Read `[env.<name>.vars]` instead of `[vars]`.
    pub env_name: Option<String>,
    /// Ignore `.dev.vars` entirely.
    pub no_dev_vars: bool,
}

impl Vars {
    /// Loads the files named in `loc` (or found in `dir`); `env` reads environment variables.
    pub fn load(dir: &Path, loc: &Locations, env: EnvFn) -> Result<Vars, String> {
        let explicit_toml = loc.wrangler.is_some();
        let toml_path = loc
            .wrangler
            .clone()
            .unwrap_or_else(|| dir.join("wrangler.toml"));
        let wrangler = match std::fs::read_to_string(&toml_path) {
            Ok(text) => Some((
                toml_path.clone(),
                wrangler_vars(&text, loc.env_name.as_deref())
                    .map_err(|e| format!("{}: {e}", toml_path.display()))?,
            )),
            Err(e) if explicit_toml || loc.env_name.is_some() => {
                return Err(format!("cannot read {}: {e}", toml_path.display()))
            }
            Err(_) => None,
        };
        let dev_vars = if loc.no_dev_vars {
            None
        } else {
            let explicit = loc.dev_vars.is_some();
            let path = loc
                .dev_vars
                .clone()
                .unwrap_or_else(|| dir.join(".dev.vars"));
            match std::fs::read_to_string(&path) {
                Ok(text) => Some((path, parse_dev_vars(&text))),
                Err(e) if explicit => return Err(format!("cannot read {}: {e}", path.display())),
                Err(_) => None,
            }
        };
        Ok(Vars {
            env,
            dev_vars,
            wrangler,
        })
    }

    /// Settings from the process environment and the files in `dir`.
    pub fn from_process(dir: &Path, loc: &Locations) -> Result<Vars, String> {
        Vars::load(dir, loc, Box::new(|k| std::env::var(k).ok()))
    }

    /// The value of `name` and where it came from (the first non-blank layer).
    pub fn lookup(&self, name: &str) -> Option<(String, Origin)> {
        let blank = |v: &String| v.trim().is_empty();
        if let Some(v) = (self.env)(name).filter(|v| !blank(v)) {
            return Some((v, Origin::Environment));
        }
        if let Some((p, m)) = &self.dev_vars {
            if let Some(v) = m.get(name).filter(|v| !blank(v)) {
                return Some((v.clone(), Origin::DevVars(p.clone())));
            }
        }
        if let Some((p, m)) = &self.wrangler {
            if let Some(v) = m.get(name).filter(|v| !blank(v)) {
                return Some((v.clone(), Origin::Wrangler(p.clone())));
            }
        }
        None
    }

    /// The files that were found, for messages.
    pub fn files(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some((p, _)) = &self.wrangler {
            out.push(p.display().to_string());
        }
        if let Some((p, _)) = &self.dev_vars {
            out.push(p.display().to_string());
        }
        out
    }
}

impl Settings for Vars {
    fn raw(&self, name: &str) -> Option<String> {
        self.lookup(name).map(|(v, _)| v)
    }
}

/// The `[vars]` (or `[env.<name>.vars]`) of a `wrangler.toml`, values as strings.
pub fn wrangler_vars(
    text: &str,
    env_name: Option<&str>,
) -> Result<BTreeMap<String, String>, String> {
    let doc: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| e.message().to_owned())?;
    let table = match env_name {
        None => doc.get("vars"),
        Some(name) => doc
            .get("env")
            .and_then(|e| e.get(name))
            .and_then(|e| e.get("vars")),
    };
    let mut out = BTreeMap::new();
    if let Some(toml::Value::Table(vars)) = table {
        for (k, v) in vars {
            let s = match v {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                // JSON-valued vars are not settings the core reads.
                _ => continue,
            };
            out.insert(k.clone(), s);
        }
    }
    Ok(out)
}

/// `KEY=VALUE` lines as wrangler reads `.dev.vars` (dotenv): `#` comments, optional `export `,
/// values optionally in single or double quotes.
pub fn parse_dev_vars(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim();
        let v = if v.len() >= 2
            && ((v.starts_with('"') && v.ends_with('"'))
                || (v.starts_with('\'') && v.ends_with('\'')))
        {
            v.get(1..v.len() - 1).unwrap_or_default().to_owned()
        } else {
            // An unquoted value ends at an inline comment.
            v.split(" #").next().unwrap_or_default().trim().to_owned()
        };
        out.insert(k.trim().to_owned(), v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(files: &[(&str, &str)]) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "tim-onboard-vars-{}-{}",
            std::process::id(),
            files.len() * 7 + files.first().map_or(0, |f| f.1.len())
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        for (name, text) in files {
            std::fs::write(d.join(name), text).unwrap();
        }
        d
    }

    #[test]
    fn environment_wins_over_dev_vars_over_wrangler() {
        let d = dir_with(&[
            (
                "wrangler.toml",
                "name = \"x\"\n[vars]\nTIM_REGION = \"tokyo\"\nTIM_ADMIN = \"ops\"\nTIM_SDKAPPID = 1400000001\nCLERK_USERID_PREFIX = \"ck_\"\n[env.staging.vars]\nTIM_REGION = \"seoul\"\n",
            ),
            (
                ".dev.vars",
                "# c\nTIM_ADMIN=\"dev-admin\"\nexport TIM_SECRET_KEY='k1'\nBLANK=\nCLERK_USERID_MODE=hash # inline\n",
            ),
        ]);
        let env: EnvFn = Box::new(|k| (k == "TIM_ADMIN").then(|| "env-admin".to_owned()));
        let v = Vars::load(&d, &Locations::default(), env).unwrap();
        assert_eq!(
            v.lookup("TIM_ADMIN").unwrap(),
            ("env-admin".into(), Origin::Environment)
        );
        assert_eq!(v.get("TIM_SECRET_KEY").as_deref(), Some("k1"));
        assert_eq!(v.get("TIM_REGION").as_deref(), Some("tokyo"));
        assert_eq!(v.get("TIM_SDKAPPID").as_deref(), Some("1400000001"));
        assert_eq!(v.get("CLERK_USERID_MODE").as_deref(), Some("hash"));
        assert_eq!(v.get("BLANK"), None);
        assert!(matches!(
            v.lookup("TIM_REGION").unwrap().1,
            Origin::Wrangler(_)
        ));
        let staging = Locations {
            env_name: Some("staging".into()),
            no_dev_vars: true,
            ..Locations::default()
        };
        let v = Vars::load(&d, &staging, Box::new(|_| None)).unwrap();
        assert_eq!(v.get("TIM_REGION").as_deref(), Some("seoul"));
        assert_eq!(v.get("TIM_SECRET_KEY"), None);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_broken_wrangler_toml_is_an_error_and_a_missing_one_is_not() {
        let d = dir_with(&[("wrangler.toml", "[vars\n")]);
        assert!(Vars::load(&d, &Locations::default(), Box::new(|_| None)).is_err());
        std::fs::remove_file(d.join("wrangler.toml")).unwrap();
        assert!(Vars::load(&d, &Locations::default(), Box::new(|_| None)).is_ok());
        let explicit = Locations {
            wrangler: Some(d.join("nope.toml")),
            ..Locations::default()
        };
        assert!(Vars::load(&d, &explicit, Box::new(|_| None)).is_err());
        let _ = std::fs::remove_dir_all(&d);
    }
}
