//! Dead letters: jobs that can never succeed as they are (Tencent refused the payload) or that we
//! gave up on, kept in D1 with the last error so an operator can see them, fix the cause and
//! re-drive them. This module holds the table's record and every statement; the shells run them.
//!
//! Schema: `migrations/0001_dead_letters.sql`. D1 binds at most 100 parameters per statement
//! (<https://developers.cloudflare.com/d1/platform/limits/>), so batches stay well under that.

use crate::job::Job;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Most rows one list or re-drive touches.
pub const PAGE: u32 = 100;

/// One dead letter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The queue message id (the key: a redelivered dead letter updates its row).
    pub id: String,
    /// The job, as queued.
    pub job: Job,
    /// Tencent's code, when Tencent refused it.
    pub code: Option<i64>,
    /// The last error.
    pub reason: String,
    /// Delivery attempts made.
    pub attempts: u32,
    /// Unix ms when it was first recorded.
    pub first_seen: i64,
    /// Unix ms of the last failure.
    pub last_seen: i64,
}

/// A filter for listing and re-driving.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only this provider.
    pub provider: Option<String>,
    /// Only this Tencent code.
    pub code: Option<i64>,
    /// Only this Tencent UserID.
    pub user_id: Option<String>,
    /// Only these ids.
    pub ids: Vec<String>,
}

const COLUMNS: &str = "id, job, code, reason, attempts, first_seen, last_seen";

/// `INSERT ... ON CONFLICT` for `r`: a redelivery of the same message updates its row.
pub fn upsert(r: &Record) -> (String, Vec<Value>) {
    let sql = format!(
        "INSERT INTO dead_letters (id, provider, user_id, {tail}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
         ON CONFLICT(id) DO UPDATE SET code = excluded.code, reason = excluded.reason, \
         attempts = excluded.attempts, last_seen = excluded.last_seen",
        tail = "job, code, reason, attempts, first_seen, last_seen"
    );
    let params = vec![
        json!(r.id),
        json!(r.job.provider),
        json!(r.job.user_id),
        json!(r.job.to_json()),
        json!(r.code),
        json!(r.reason),
        json!(r.attempts),
        json!(r.first_seen),
        json!(r.last_seen),
    ];
    (sql, params)
}

/// The `WHERE` clause and its parameters (numbered from `?1`).
fn clause(f: &Filter) -> (String, Vec<Value>) {
    let mut parts = Vec::new();
    let mut params = Vec::new();
    let mut add = |sql: &str, v: Value| {
        params.push(v);
        parts.push(sql.replace('?', &format!("?{}", params.len())));
    };
    if let Some(p) = &f.provider {
        add("provider = ?", json!(p));
    }
    if let Some(c) = f.code {
        add("code = ?", json!(c));
    }
    if let Some(u) = &f.user_id {
        add("user_id = ?", json!(u));
    }
    let ids: Vec<&String> = f.ids.iter().take(PAGE as usize).collect();
    if !ids.is_empty() {
        let start = params.len();
        let marks: Vec<String> = (1..=ids.len()).map(|k| format!("?{}", start + k)).collect();
        params.extend(ids.into_iter().map(|i| json!(i)));
        parts.push(format!("id IN ({})", marks.join(", ")));
    }
    let sql = if parts.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", parts.join(" AND "))
    };
    (sql, params)
}

/// The newest dead letters matching `f`, at most `limit` (capped at [`PAGE`]).
pub fn list(f: &Filter, limit: u32) -> (String, Vec<Value>) {
    let (w, mut params) = clause(f);
    params.push(json!(limit.clamp(1, PAGE)));
    let n = params.len();
    let sql =
        format!("SELECT {COLUMNS} FROM dead_letters{w} ORDER BY last_seen DESC, id LIMIT ?{n}");
    (sql, params)
}

/// How many dead letters match `f`.
pub fn count(f: &Filter) -> (String, Vec<Value>) {
    let (w, params) = clause(f);
    (format!("SELECT COUNT(*) AS n FROM dead_letters{w}"), params)
}

/// Deletes the rows with these ids (at most [`PAGE`]).
pub fn delete(ids: &[String]) -> (String, Vec<Value>) {
    let f = Filter {
        ids: ids.to_vec(),
        ..Filter::default()
    };
    let (w, params) = clause(&f);
    if params.is_empty() {
        // Never an unfiltered delete.
        return ("SELECT 0 WHERE 0".into(), Vec::new());
    }
    (format!("DELETE FROM dead_letters{w}"), params)
}

/// Deletes every dead letter of a Tencent UserID (a deleted user's personal data).
pub fn forget_user(user_id: &str) -> (String, Vec<Value>) {
    (
        "DELETE FROM dead_letters WHERE user_id = ?1".into(),
        vec![json!(user_id)],
    )
}

/// Reads a row of [`list`]; `None` for a row this version cannot read.
pub fn from_row(row: &Value) -> Option<Record> {
    let job = Job::from_json(row.get("job")?.as_str()?)?;
    Some(Record {
        id: row.get("id")?.as_str()?.to_owned(),
        job,
        code: row.get("code").and_then(Value::as_i64),
        reason: row.get("reason")?.as_str()?.to_owned(),
        attempts: row
            .get("attempts")
            .and_then(Value::as_u64)
            .and_then(|a| u32::try_from(a).ok())
            .unwrap_or(0),
        first_seen: row.get("first_seen").and_then(Value::as_i64).unwrap_or(0),
        last_seen: row.get("last_seen").and_then(Value::as_i64).unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::{Op, JOB_VERSION};

    fn record() -> Record {
        Record {
            id: "msg-1".into(),
            job: Job {
                version: JOB_VERSION,
                op: Op::Import,
                provider: "clerk".into(),
                user_id: "u1".into(),
                nick: Some("N".into()),
                face_url: None,
                event_id: Some("e".into()),
                at: None,
            },
            code: Some(40601),
            reason: "too long".into(),
            attempts: 2,
            first_seen: 1,
            last_seen: 2,
        }
    }

    #[test]
    fn a_record_round_trips_through_its_row() {
        let r = record();
        let (sql, params) = upsert(&r);
        assert!(sql.starts_with("INSERT INTO dead_letters") && sql.contains("ON CONFLICT(id)"));
        assert_eq!(params.len(), 9);
        let row = json!({
            "id": params[0], "job": params[3], "code": params[4], "reason": params[5],
            "attempts": params[6], "first_seen": params[7], "last_seen": params[8],
        });
        assert_eq!(from_row(&row), Some(r));
        assert_eq!(from_row(&json!({"id": "x"})), None);
    }

    #[test]
    fn filters_number_their_parameters_and_deletes_are_never_unfiltered() {
        let f = Filter {
            provider: Some("clerk".into()),
            code: Some(40601),
            ids: vec!["a".into(), "b".into()],
            ..Filter::default()
        };
        let (sql, params) = list(&f, 1_000);
        assert_eq!(
            sql,
            "SELECT id, job, code, reason, attempts, first_seen, last_seen FROM dead_letters \
             WHERE provider = ?1 AND code = ?2 AND id IN (?3, ?4) ORDER BY last_seen DESC, id LIMIT ?5"
        );
        assert_eq!(
            params,
            vec![
                json!("clerk"),
                json!(40601),
                json!("a"),
                json!("b"),
                json!(100)
            ]
        );
        assert_eq!(
            count(&Filter::default()).0,
            "SELECT COUNT(*) AS n FROM dead_letters"
        );
        assert_eq!(delete(&[]).0, "SELECT 0 WHERE 0");
        assert_eq!(
            delete(&["a".into()]).0,
            "DELETE FROM dead_letters WHERE id IN (?1)"
        );
        let many: Vec<String> = (0..300).map(|i| i.to_string()).collect();
        assert_eq!(delete(&many).1.len(), 100);
    }
}
