//! Export files: Clerk's dashboard CSV, Auth0's export job (NDJSON or CSV, gzipped or not),
//! `firebase auth:export` JSON, a Supabase `auth.users` CSV, and generic NDJSON/CSV with named
//! fields (which also reads back the failures file a backfill writes).
//!
//! Shapes, from the vendors' documentation:
//! - Clerk: Dashboard -> Settings -> User exports writes a CSV whose header is
//!   `id,first_name,last_name,username,primary_email_address,primary_phone_number,
//!   verified_email_addresses,...,password_digest,password_hasher`
//!   (<https://clerk.com/docs/deployments/exporting-users>; sample in
//!   <https://github.com/clerk/migration-tool>, `samples/clerk.csv`). It has no avatar column.
//! - Auth0: `POST /api/v2/jobs/users-exports` with `format` `json` (one user object per line)
//!   or `csv` (a header of the requested field names, or their `export_as` names), downloaded
//!   gzipped from the job's `location`
//!   (<https://auth0.com/docs/manage-users/user-migration/bulk-user-exports>).
//! - Firebase: `firebase auth:export users.json` writes `{"users":[{localId, email, displayName,
//!   photoUrl, ...}]}` (<https://firebase.google.com/docs/cli/auth>; keys as in firebase-tools
//!   `src/accountExporter.ts`).
//! - Supabase: a CSV of `auth.users` (the dashboard's SQL editor, or `psql \copy`), with `id`,
//!   `email`, `raw_user_meta_data` (JSON text), `deleted_at`
//!   (<https://supabase.com/docs/guides/auth/managing-user-data>).

use super::{Page, Source, SourceError};
use crate::profile::{self, Parsed, Shape};
use serde_json::{Map, Value};
use std::io::Read;
use std::path::{Path, PathBuf};

/// A file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line, fields named by [`Fields`].
    Ndjson,
    /// CSV with a header, columns named by [`Fields`].
    Csv,
    /// Clerk's dashboard user export.
    ClerkCsv,
    /// Auth0 export job, `format: json` (NDJSON of user objects).
    Auth0Ndjson,
    /// Auth0 export job, `format: csv`.
    Auth0Csv,
    /// `firebase auth:export` JSON.
    FirebaseJson,
    /// A CSV of Supabase `auth.users`.
    SupabaseCsv,
}

impl Format {
    /// Every format by its `--format` name.
    pub const NAMES: [(&'static str, Format); 7] = [
        ("ndjson", Format::Ndjson),
        ("csv", Format::Csv),
        ("clerk-csv", Format::ClerkCsv),
        ("auth0-ndjson", Format::Auth0Ndjson),
        ("auth0-csv", Format::Auth0Csv),
        ("firebase-json", Format::FirebaseJson),
        ("supabase-csv", Format::SupabaseCsv),
    ];

    /// Parses a `--format` name.
    pub fn parse(s: &str) -> Option<Format> {
        Format::NAMES.iter().find(|(n, _)| *n == s).map(|(_, f)| *f)
    }

    /// The `--format` name.
    pub fn name(self) -> &'static str {
        Format::NAMES
            .iter()
            .find(|(_, f)| *f == self)
            .map_or("?", |(n, _)| n)
    }

    /// Recognises the format from the content (`provider` breaks ties for Auth0's NDJSON and CSV).
    pub fn detect(text: &str, provider: &str) -> Format {
        let trimmed = text.trim_start();
        if trimmed.starts_with('{') {
            let first_line = trimmed.lines().next().unwrap_or_default();
            let first: Option<Value> = serde_json::from_str(first_line).ok();
            return match first {
                Some(v) if v.get("user_id").is_some() && provider == "auth0" => Format::Auth0Ndjson,
                Some(_) => Format::Ndjson,
                // Not one object per line: a whole JSON document.
                None => Format::FirebaseJson,
            };
        }
        let header = trimmed
            .lines()
            .find(|l| !l.starts_with('#'))
            .unwrap_or_default()
            .to_ascii_lowercase();
        let columns: Vec<&str> = header
            .split(',')
            .map(|c| c.trim().trim_matches('"'))
            .collect();
        let has = |c: &str| columns.contains(&c);
        if columns.starts_with(&[
            "id",
            "first_name",
            "last_name",
            "username",
            "primary_email_address",
        ]) {
            Format::ClerkCsv
        } else if has("raw_user_meta_data") || (has("instance_id") && has("aud")) {
            Format::SupabaseCsv
        } else if has("user_id") && provider == "auth0" {
            Format::Auth0Csv
        } else {
            Format::Csv
        }
    }
}

/// Which fields of a generic record hold the ID, name, email and avatar (`--id-field` ...).
/// NDJSON fields may be dotted paths (`profile.name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fields {
    /// The provider user ID.
    pub id: String,
    /// The display name.
    pub name: String,
    /// The email (its local part is the last-resort Nick).
    pub email: String,
    /// The avatar URL.
    pub avatar: String,
}

impl Default for Fields {
    fn default() -> Fields {
        Fields {
            id: "id".into(),
            name: "name".into(),
            email: "email".into(),
            avatar: "avatar".into(),
        }
    }
}

fn pointer(field: &str) -> String {
    format!("/{}", field.replace('.', "/"))
}

/// A generic record as `{id, name, email, avatar}` (missing fields absent).
pub fn generic(v: &Value, f: &Fields) -> Value {
    let mut out = Map::new();
    for (key, field) in [
        ("id", &f.id),
        ("name", &f.name),
        ("email", &f.email),
        ("avatar", &f.avatar),
    ] {
        let found = v.get(field.as_str()).or_else(|| v.pointer(&pointer(field)));
        let text = match found {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        if let Some(t) = text.filter(|t| !t.trim().is_empty()) {
            out.insert(key.into(), Value::String(t));
        }
    }
    Value::Object(out)
}

/// Clerk's CSV row as the `UserJSON` its webhooks carry (the primary email as the only email).
pub fn clerk_row(row: &Map<String, Value>) -> Value {
    let get = |k: &str| row.get(k).cloned().unwrap_or(Value::Null);
    let mut user = serde_json::json!({
        "id": get("id"),
        "first_name": get("first_name"),
        "last_name": get("last_name"),
        "username": get("username"),
    });
    if let Some(Value::String(email)) = row.get("primary_email_address") {
        user["primary_email_address_id"] = "primary".into();
        user["email_addresses"] = serde_json::json!([{ "id": "primary", "email_address": email }]);
    }
    user
}

/// Reads CSV text into one object per row, keyed by the header (blank cells left out).
pub fn csv_rows(text: &str) -> Result<Vec<Map<String, Value>>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| format!("CSV header: {e}"))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let mut rows = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let rec = rec.map_err(|e| format!("CSV record {}: {e}", i + 1))?;
        let mut row = Map::new();
        for (h, cell) in headers.iter().zip(rec.iter()) {
            if !cell.trim().is_empty() {
                row.insert(h.clone(), Value::String(cell.to_owned()));
            }
        }
        rows.push(row);
    }
    Ok(rows)
}

/// Reads the records of `text` in `format`; `now` is Unix seconds.
pub fn parse_text(
    text: &str,
    format: Format,
    fields: &Fields,
    now: i64,
) -> Result<Vec<Parsed>, String> {
    let parse = |shape, v: &Value| profile::parse(shape, v, now);
    Ok(match format {
        Format::Ndjson | Format::Auth0Ndjson => {
            let mut out = Vec::new();
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let v: Value = match serde_json::from_str(line) {
                    Ok(v) => v,
                    Err(e) => {
                        out.push(Parsed::Bad {
                            reason: format!("line {} is not JSON: {e}", i + 1),
                            id: None,
                        });
                        continue;
                    }
                };
                out.push(if format == Format::Auth0Ndjson {
                    parse(Shape::Auth0, &v)
                } else {
                    parse(Shape::Generic, &generic(&v, fields))
                });
            }
            out
        }
        Format::Csv => csv_rows(text)?
            .into_iter()
            .map(|r| parse(Shape::Generic, &generic(&Value::Object(r), fields)))
            .collect(),
        Format::ClerkCsv => csv_rows(text)?
            .iter()
            .map(|r| parse(Shape::Clerk, &clerk_row(r)))
            .collect(),
        Format::Auth0Csv => csv_rows(text)?
            .into_iter()
            .map(|r| parse(Shape::Auth0, &Value::Object(r)))
            .collect(),
        Format::SupabaseCsv => csv_rows(text)?
            .into_iter()
            .map(|r| parse(Shape::Supabase, &Value::Object(r)))
            .collect(),
        Format::FirebaseJson => {
            let doc: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
            doc.get("users")
                .and_then(Value::as_array)
                .ok_or("not a `firebase auth:export` file: no \"users\" array")?
                .iter()
                .map(|u| parse(Shape::Firebase, u))
                .collect()
        }
    })
}

/// Reads a file, inflating it when it is gzipped (Auth0's export downloads are).
pub fn read_maybe_gzip(bytes: Vec<u8>) -> Result<String, String> {
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| format!("bad gzip: {e}"))?;
        out
    } else {
        bytes
    };
    let text = String::from_utf8(bytes).map_err(|_| "the file is not UTF-8 text".to_owned())?;
    Ok(text
        .strip_prefix('\u{feff}')
        .map(str::to_owned)
        .unwrap_or(text))
}

/// An export file, read whole: one page, positioned by record index.
pub struct FileSource {
    path: PathBuf,
    format: Format,
    items: Option<Vec<Parsed>>,
    count: u64,
}

impl FileSource {
    /// Opens and reads `path` (format detected unless given).
    pub fn open(
        path: &Path,
        format: Option<Format>,
        fields: &Fields,
        provider: &str,
        now: i64,
    ) -> Result<FileSource, String> {
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let text = read_maybe_gzip(bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        let format = format.unwrap_or_else(|| Format::detect(&text, provider));
        let items = parse_text(&text, format, fields, now)
            .map_err(|e| format!("{} ({}): {e}", path.display(), format.name()))?;
        let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
        Ok(FileSource {
            path,
            format,
            count: items.len() as u64,
            items: Some(items),
        })
    }

    /// The format read.
    pub fn format(&self) -> Format {
        self.format
    }
}

impl Source for FileSource {
    fn key(&self) -> String {
        format!("file:{}", self.path.display())
    }
    fn total(&self) -> Option<u64> {
        Some(self.count)
    }
    fn fetch(&mut self, _cursor: Option<&str>) -> Result<Page, SourceError> {
        Ok(Page {
            items: self.items.take().unwrap_or_default(),
            next: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;

    fn fixture(name: &str) -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn users(items: &[Parsed]) -> Vec<(String, Option<String>, Option<String>)> {
        items
            .iter()
            .filter_map(|p| match p {
                Parsed::User(u) => Some((u.user_id.clone(), u.nick.clone(), u.face_url.clone())),
                _ => None,
            })
            .collect()
    }

    fn read(name: &str, provider: &str) -> (Format, Vec<Parsed>) {
        let text = fixture(name);
        let format = Format::detect(&text, provider);
        (
            format,
            parse_text(&text, format, &Fields::default(), NOW).unwrap(),
        )
    }

    #[test]
    fn clerk_dashboard_csv() {
        let (format, items) = read("clerk_export.csv", "clerk");
        assert_eq!(format, Format::ClerkCsv);
        let u = users(&items);
        assert_eq!(u.len(), 3);
        assert_eq!(
            u[0],
            (
                "user_2YDryYFVMM1W1plDDKz7Gzf4we6".into(),
                Some("Jane Doe".into()),
                None
            )
        );
        // No name: the username, then the email's local part.
        assert_eq!(u[1].1.as_deref(), Some("jsmith"));
        assert_eq!(u[2].1.as_deref(), Some("mike"));
    }

    #[test]
    fn auth0_export_ndjson_and_csv() {
        let (format, items) = read("auth0_export.ndjson", "auth0");
        assert_eq!(format, Format::Auth0Ndjson);
        let u = users(&items);
        assert_eq!(
            u[0],
            (
                "auth0|5f7c8ec7c33c6c004bbafe82".into(),
                Some("Jane Doe".into()),
                Some("https://s.gravatar.com/avatar/jane.png".into())
            )
        );
        assert_eq!(u[1].0, "google-oauth2|103547991597142817347");
        assert_eq!(u[1].1.as_deref(), Some("john"));
        let (format, items) = read("auth0_export.csv", "auth0");
        assert_eq!(format, Format::Auth0Csv);
        assert_eq!(users(&items), u);
        // The same file for another provider is a generic CSV (no `id` column: unreadable).
        assert_eq!(
            Format::detect(&fixture("auth0_export.csv"), "clerk"),
            Format::Csv
        );
    }

    #[test]
    fn auth0_download_is_gzipped() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(fixture("auth0_export.ndjson").as_bytes())
            .unwrap();
        let text = read_maybe_gzip(gz.finish().unwrap()).unwrap();
        assert_eq!(text, fixture("auth0_export.ndjson"));
    }

    #[test]
    fn firebase_auth_export_json() {
        let (format, items) = read("firebase_export.json", "firebase");
        assert_eq!(format, Format::FirebaseJson);
        let u = users(&items);
        assert_eq!(u.len(), 2);
        assert_eq!(
            u[0],
            (
                "UiCmUo2Gn5Q2mTnBVZVbr5ULBQ92".into(),
                Some("John Doe".into()),
                Some("https://lh3.googleusercontent.com/a/photo.jpg".into())
            )
        );
        assert_eq!(u[1].1.as_deref(), Some("alice"));
        assert!(parse_text(
            "{\"nope\":1}",
            Format::FirebaseJson,
            &Fields::default(),
            NOW
        )
        .is_err());
    }

    #[test]
    fn supabase_auth_users_csv() {
        let (format, items) = read("supabase_users.csv", "supabase");
        assert_eq!(format, Format::SupabaseCsv);
        let u = users(&items);
        assert_eq!(u.len(), 2);
        assert_eq!(
            u[0],
            (
                "ff7fc9ae-3b1b-4642-9241-64adb9848a03".into(),
                Some("Jane Doe".into()),
                Some("https://lh3.googleusercontent.com/a/XYZ".into())
            )
        );
        assert_eq!(u[1].1.as_deref(), Some("bob"));
        assert!(items
            .iter()
            .any(|p| matches!(p, Parsed::Skip { reason, .. } if reason.contains("deleted"))));
    }

    #[test]
    fn generic_ndjson_and_csv_with_named_fields() {
        let fields = Fields {
            id: "uid".into(),
            name: "profile.display".into(),
            email: "mail".into(),
            avatar: "pic".into(),
        };
        let text = "{\"uid\":\"u1\",\"profile\":{\"display\":\"Ann\"},\"pic\":\"https://p/1\"}\n\n{\"uid\":42,\"mail\":\"bo@x\"}\nnot json\n{\"mail\":\"x@y\"}\n";
        assert_eq!(Format::detect(text, "standard"), Format::Ndjson);
        let items = parse_text(text, Format::Ndjson, &fields, NOW).unwrap();
        assert_eq!(items.len(), 4);
        assert_eq!(
            users(&items),
            vec![
                ("u1".into(), Some("Ann".into()), Some("https://p/1".into())),
                ("42".into(), Some("bo".into()), None),
            ]
        );
        assert!(matches!(&items[2], Parsed::Bad { reason, .. } if reason.contains("line 4")));
        assert!(matches!(&items[3], Parsed::Bad { id: None, .. }));
        let csv = "\u{feff}uid,display,mail\nu1,\"Lee, Ann\",\nu2,,c@x\n";
        let fields = Fields {
            name: "display".into(),
            ..fields
        };
        let text = read_maybe_gzip(csv.as_bytes().to_vec()).unwrap();
        assert_eq!(Format::detect(&text, "clerk"), Format::Csv);
        let items = parse_text(&text, Format::Csv, &fields, NOW).unwrap();
        assert_eq!(
            users(&items),
            vec![
                ("u1".into(), Some("Lee, Ann".into()), None),
                ("u2".into(), Some("c".into()), None),
            ]
        );
    }

    #[test]
    fn format_names_round_trip() {
        for (n, f) in Format::NAMES {
            assert_eq!(Format::parse(n), Some(f));
            assert_eq!(f.name(), n);
        }
        assert_eq!(Format::parse("xml"), None);
    }
}
