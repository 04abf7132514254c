//! The operator's endpoints for dead letters, behind `TIM_ADMIN_TOKEN`: list and count them,
//! re-drive them into the job queue once the cause is fixed, or delete them.
//!
//! `GET /admin/dead-letters[?provider=&code=&user_id=&limit=]`,
//! `POST /admin/dead-letters/retry` (body `{}` for the newest 100, or `{"ids": [...]}`),
//! `DELETE /admin/dead-letters/<id>`.

use crate::deadletter::{self, Filter};
use crate::error::AppError;
use crate::http::{query_param, Request, Response};
use crate::job::Job;
use crate::pipeline::Ctx;
use crate::ports::Io;
use serde_json::{json, Value};

/// Route prefix of the dead-letter endpoints.
pub const PREFIX: &str = "/admin/dead-letters";

/// Dispatches `/admin/dead-letters...` (the caller has checked the admin token).
pub async fn dead_letters<I: Io>(req: &Request<'_>, cx: &Ctx<'_, I>) -> Result<Response, AppError> {
    if !cx.io.has_db() {
        return Err(AppError::Storage(
            "dead letters need the D1 database: bind it as DB (wrangler.toml [[d1_databases]])"
                .into(),
        ));
    }
    let rest = req.path.strip_prefix(PREFIX).unwrap_or_default();
    match (rest, req.method) {
        ("" | "/", "GET") => list(req, cx).await,
        ("" | "/", _) => Err(AppError::MethodNotAllowed("GET")),
        ("/retry", "POST") => retry(req, cx).await,
        ("/retry", _) => Err(AppError::MethodNotAllowed("POST")),
        (id, "DELETE") => remove(id.trim_start_matches('/'), cx).await,
        (_, _) => Err(AppError::MethodNotAllowed("DELETE")),
    }
}

async fn rows<I: Io>(
    cx: &Ctx<'_, I>,
    (sql, params): (String, Vec<Value>),
) -> Result<Vec<Value>, AppError> {
    cx.io
        .sql(&sql, &params)
        .await
        .map_err(|e| AppError::Storage(format!("D1: {e}")))
}

fn filter(req: &Request<'_>) -> Result<(Filter, u32), AppError> {
    let code = query_param(req.query, "code")?
        .map(|c| {
            c.parse::<i64>()
                .map_err(|_| AppError::BadRequest("code must be a number".into()))
        })
        .transpose()?;
    let limit = query_param(req.query, "limit")?
        .map(|l| {
            l.parse::<u32>()
                .map_err(|_| AppError::BadRequest("limit must be a number".into()))
        })
        .transpose()?
        .unwrap_or(deadletter::PAGE);
    let f = Filter {
        provider: query_param(req.query, "provider")?,
        code,
        user_id: query_param(req.query, "user_id")?,
        ids: Vec::new(),
    };
    Ok((f, limit))
}

async fn list<I: Io>(req: &Request<'_>, cx: &Ctx<'_, I>) -> Result<Response, AppError> {
    let (f, limit) = filter(req)?;
    let count = rows(cx, deadletter::count(&f)).await?;
    let n = count
        .first()
        .and_then(|r| r.get("n"))
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let items: Vec<_> = rows(cx, deadletter::list(&f, limit))
        .await?
        .iter()
        .filter_map(deadletter::from_row)
        .collect();
    Ok(Response::json(200, json!({ "count": n, "items": items })))
}

async fn retry<I: Io>(req: &Request<'_>, cx: &Ctx<'_, I>) -> Result<Response, AppError> {
    if !cx.io.has_queue() {
        return Err(AppError::Storage(
            "re-driving needs the job queue: bind it as TIM_QUEUE (wrangler.toml [[queues.producers]])".into(),
        ));
    }
    let body = req.body.unwrap_or_default();
    let ids = requested_ids(body)?;
    let f = Filter {
        ids,
        ..Filter::default()
    };
    let records: Vec<_> = rows(cx, deadletter::list(&f, deadletter::PAGE))
        .await?
        .iter()
        .filter_map(deadletter::from_row)
        .collect();
    let bodies: Vec<String> = records.iter().map(|r| Job::to_json(&r.job)).collect();
    if !bodies.is_empty() {
        cx.io
            .enqueue(&bodies)
            .await
            .map_err(|e| AppError::Storage(format!("the job queue refused the re-drive: {e}")))?;
        let ids: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
        rows(cx, deadletter::delete(&ids)).await?;
    }
    let left = rows(cx, deadletter::count(&Filter::default())).await?;
    let remaining = left
        .first()
        .and_then(|r| r.get("n"))
        .and_then(Value::as_u64)
        .unwrap_or(0);
    Ok(Response::json(
        200,
        json!({ "requeued": records.len(), "remaining": remaining }),
    ))
}

/// The ids a re-drive asks for: none for `{}` (the newest page), else `ids`, which must be a
/// non-empty list of strings (anything else is refused, never read as "everything").
fn requested_ids(body: &[u8]) -> Result<Vec<String>, AppError> {
    let bad = || AppError::BadRequest("the body must be {} or {\"ids\": [\"<id>\", ...]}".into());
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    let v: Value = serde_json::from_slice(body).map_err(|_| bad())?;
    let obj = v.as_object().ok_or_else(bad)?;
    match obj.get("ids") {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned).ok_or_else(bad))
            .collect(),
        Some(_) => Err(bad()),
    }
}

async fn remove<I: Io>(id: &str, cx: &Ctx<'_, I>) -> Result<Response, AppError> {
    let ids = vec![id.to_owned()];
    let f = Filter {
        ids: ids.clone(),
        ..Filter::default()
    };
    if id.is_empty() || rows(cx, deadletter::list(&f, 1)).await?.is_empty() {
        return Err(AppError::NotFound);
    }
    rows(cx, deadletter::delete(&ids)).await?;
    Ok(Response::json(200, json!({ "deleted": 1 })))
}

#[cfg(test)]
mod tests {
    use crate::http::Request;
    use crate::region::EdgeLocation;
    use crate::routes::handle;
    use crate::state::IsolateState;
    use crate::testing::*;
    use serde_json::json;

    fn call(
        io: &FakeIo,
        method: &'static str,
        path: &'static str,
        query: &'static str,
        body: &'static [u8],
    ) -> crate::http::Response {
        let h: &[(&str, &str)] = &[("authorization", "Bearer tok")];
        let req = Request {
            method,
            path,
            query,
            headers: &h,
            body: Some(body),
            location: EdgeLocation::default().into(),
        };
        block_on(handle(
            &req,
            &env(&[("TIM_ADMIN_TOKEN", "tok")]),
            &IsolateState::default(),
            io,
        ))
    }

    fn row(id: &str, user: &str) -> serde_json::Value {
        let job =
            json!({"v":1,"op":"import","provider":"clerk","user_id":user,"nick":"N"}).to_string();
        json!({"id": id, "job": job, "code": 40601, "reason": "too long", "attempts": 1, "first_seen": 1, "last_seen": 2})
    }

    fn with_db(io: FakeIo) -> FakeIo {
        *io.db.borrow_mut() = Some(Vec::new());
        io
    }

    #[test]
    fn lists_filters_and_counts() {
        let io = with_db(FakeIo::new(vec![]));
        io.rows
            .borrow_mut()
            .extend([vec![json!({"n": 2})], vec![row("m1", "a"), row("m2", "b")]]);
        let r = call(
            &io,
            "GET",
            "/admin/dead-letters",
            "provider=clerk&code=40601&limit=5",
            b"",
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let v = json(&r);
        assert_eq!(v["count"], 2);
        assert_eq!(v["items"][1]["job"]["user_id"], "b");
        let db = io.db.borrow();
        let (sql, params) = &db.as_ref().unwrap()[1];
        assert!(sql.contains("provider = ?1 AND code = ?2") && sql.ends_with("LIMIT ?3"));
        assert_eq!(params[2], json!(5));
        drop(db);
        assert_eq!(
            call(&io, "GET", "/admin/dead-letters", "code=x", b"").status,
            400
        );
    }

    #[test]
    fn retry_requeues_and_deletes_and_delete_is_404_for_unknown_ids() {
        let io = with_db(FakeIo::new(vec![]));
        *io.queue.borrow_mut() = Some(Vec::new());
        io.rows
            .borrow_mut()
            .extend([vec![row("m1", "a")], vec![], vec![json!({"n": 0})]]);
        let r = call(
            &io,
            "POST",
            "/admin/dead-letters/retry",
            "",
            br#"{"ids":["m1"]}"#,
        );
        assert_eq!(json(&r), json!({"requeued": 1, "remaining": 0}));
        let queued = io.queue.borrow();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&queued.as_ref().unwrap()[0]).unwrap()
                ["user_id"],
            "a"
        );
        let db = io.db.borrow();
        assert!(db.as_ref().unwrap()[1]
            .0
            .starts_with("DELETE FROM dead_letters WHERE id IN (?1)"));
        drop(db);
        assert_eq!(
            call(&io, "DELETE", "/admin/dead-letters/nope", "", b"").status,
            404
        );
        io.rows.borrow_mut().push_back(vec![row("m9", "z")]);
        assert_eq!(
            json(&call(&io, "DELETE", "/admin/dead-letters/m9", "", b"")),
            json!({"deleted": 1})
        );
    }

    #[test]
    fn needs_the_token_and_the_bindings() {
        let io = FakeIo::new(vec![]);
        let r = call(&io, "GET", "/admin/dead-letters", "", b"");
        assert_eq!(
            (r.status, json(&r)["error"].as_str()),
            (503, Some("storage_unavailable"))
        );
        let io = with_db(FakeIo::new(vec![]));
        let r = call(&io, "POST", "/admin/dead-letters/retry", "", b"{}");
        assert_eq!(r.status, 503, "no queue bound");
        let h: &[(&str, &str)] = &[];
        let req = Request {
            method: "GET",
            path: "/admin/dead-letters",
            query: "",
            headers: &h,
            body: Some(b""),
            location: EdgeLocation::default().into(),
        };
        let r = block_on(handle(
            &req,
            &env(&[("TIM_ADMIN_TOKEN", "tok")]),
            &IsolateState::default(),
            &io,
        ));
        assert_eq!(r.status, 401);
        assert!(
            io.db.borrow().as_ref().unwrap().is_empty(),
            "nothing read without the token"
        );
    }

    #[test]
    fn a_retry_body_of_the_wrong_shape_is_refused_not_read_as_everything() {
        use super::requested_ids;
        assert_eq!(requested_ids(b"").unwrap(), Vec::<String>::new());
        assert_eq!(requested_ids(b"{}").unwrap(), Vec::<String>::new());
        assert_eq!(
            requested_ids(br#"{"ids":["a"]}"#).unwrap(),
            vec!["a".to_owned()]
        );
        for bad in [
            &br#"{"ids":[12345]}"#[..],
            br#"{"ids":"a"}"#,
            br#"{"ids":[]}"#,
            b"[1]",
            b"nope",
        ] {
            assert_eq!(
                requested_ids(bad).unwrap_err().status(),
                400,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
