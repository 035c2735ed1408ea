//! The service through its router (`oneshot`), on a real SQLite file per test.

#![allow(clippy::unwrap_used, clippy::many_single_char_names, clippy::format_collect)]

mod harness;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use harness::contract::CONTRACT;
use harness::{Harness, MATRIX, Who, submission, upload_to};
use serde_json::{Value, json};

/// For every operation of the `OpenAPI` document: anonymous / team A / team B / judge /
/// organizer get exactly these statuses, and every answer is what the document says (the
/// harness checks each response against it). An operation the matrix does not call fails it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(clippy::too_many_lines, reason = "one table of every operation for every role")]
async fn authorization_matrix() {
    let h = Harness::new().await;
    let a = h.scored(Who::A, &submission(0.5, 1)).await["id"].as_i64().unwrap();
    let b = h.scored(Who::B, &submission(0.4, 2)).await["id"].as_i64().unwrap();
    let (ta, c) = (h.team_a, "/contests/tiny");
    let reason = json!({"reason": "checking"});
    let cases: Vec<(&str, String, Option<Value>, [u16; 5])> = vec![
        ("GET", "/contests".into(), None, [200, 200, 200, 200, 200]),
        ("GET", c.into(), None, [200, 200, 200, 200, 200]),
        ("GET", format!("{c}/files/test.csv"), None, [200, 200, 200, 200, 200]),
        ("GET", format!("{c}/files/MANIFEST.json"), None, [200, 200, 200, 200, 200]),
        // The solution is nobody's to download, however the path is spelled.
        ("GET", format!("{c}/files/solution.csv"), None, [404, 404, 404, 404, 404]),
        ("GET", format!("{c}/files/..%2Fprivate%2Fsolution.csv"), None, [404, 404, 404, 404, 404]),
        ("GET", format!("{c}/files/../private/solution.csv"), None, [404, 404, 404, 404, 404]),
        ("GET", "/contests/nope".into(), None, [404, 404, 404, 404, 404]),
        ("GET", format!("{c}/leaderboard"), None, [200, 200, 200, 200, 200]),
        ("GET", format!("{c}/leaderboard.csv"), None, [200, 200, 200, 200, 200]),
        ("GET", format!("{c}/leaderboard?board=private"), None, [403, 403, 403, 200, 200]),
        ("GET", format!("{c}/leaderboard.csv?board=private"), None, [403, 403, 403, 200, 200]),
        ("GET", format!("{c}/rank-uncertainty"), None, [403, 403, 403, 200, 200]),
        ("GET", format!("{c}/integrity"), None, [401, 403, 403, 200, 200]),
        ("GET", format!("{c}/submissions"), None, [401, 200, 200, 200, 200]),
        ("GET", format!("{c}/submissions/{a}"), None, [401, 200, 404, 200, 200]),
        ("GET", format!("{c}/submissions/{b}"), None, [401, 404, 200, 200, 200]),
        ("GET", format!("{c}/submissions/{a}/file"), None, [401, 200, 404, 200, 200]),
        ("GET", format!("{c}/submissions/{a}/receipt"), None, [401, 200, 404, 200, 200]),
        ("GET", format!("{c}/submissions/9999/receipt"), None, [401, 404, 404, 404, 404]),
        ("GET", format!("{c}/submissions/9999"), None, [401, 404, 404, 404, 404]),
        ("GET", format!("{c}/submissions/x1"), None, [404, 404, 404, 404, 404]),
        ("GET", format!("{c}/quota"), None, [401, 200, 200, 403, 403]),
        ("GET", format!("{c}/selections"), None, [401, 200, 200, 403, 403]),
        ("GET", format!("{c}/selections/committed"), None, [404, 404, 404, 404, 404]),
        ("PUT", format!("{c}/selections"), Some(json!({"submission_ids": [a]})), [401, 200, 400, 403, 403]),
        ("GET", format!("{c}/compare?a={a}&b={b}"), None, [401, 403, 403, 200, 200]),
        ("POST", format!("{c}/submissions/{a}/disqualify"), Some(reason.clone()), [401, 403, 403, 200, 200]),
        ("POST", format!("{c}/submissions/{a}/reinstate"), Some(reason.clone()), [401, 403, 403, 200, 200]),
        ("POST", format!("{c}/submissions/{a}/rescore"), None, [401, 403, 403, 202, 202]),
        (
            "POST",
            format!("{c}/teams/{ta}/disqualify"),
            Some(json!({"reason": "checking", "disqualified": false})),
            [401, 403, 403, 200, 200],
        ),
        ("PATCH", c.into(), Some(json!({"ladder": false})), [401, 403, 403, 403, 200]),
        (
            "PUT",
            format!("{c}/phases/preliminary"),
            Some(json!({"starts_at": "2024-09-02T10:00:00+08:00", "ends_at": "2024-10-20T23:59:59+08:00"})),
            [401, 403, 403, 403, 200],
        ),
        ("POST", format!("{c}/reveal"), None, [401, 403, 403, 403, 409]),
        ("POST", format!("{c}/snapshots"), Some(json!({})), [401, 403, 403, 403, 201]),
        ("GET", "/audit".into(), None, [401, 403, 403, 200, 200]),
        ("GET", format!("{c}/teams"), None, [200, 200, 200, 200, 200]),
        ("GET", format!("{c}/teams/mine"), None, [401, 200, 200, 200, 200]),
        ("POST", format!("{c}/teams/{ta}/invites"), Some(json!({"user": "carol"})), [401, 201, 404, 403, 403]),
        ("POST", format!("{c}/teams/{ta}/accept"), None, [401, 404, 404, 403, 403]),
        (
            "POST",
            "/users".into(),
            Some(json!({"name": "mallory", "password": "a long password", "role": "judge"})),
            [401, 403, 403, 403, 201],
        ),
        ("GET", "/users/me".into(), None, [401, 200, 200, 200, 200]),
        ("GET", "/tokens".into(), None, [401, 200, 200, 200, 200]),
        ("DELETE", "/tokens/1".into(), None, [401, 204, 404, 404, 404]),
        ("GET", "/nothing/here".into(), None, [404, 404, 404, 404, 404]),
        ("GET", "/openapi.json".into(), None, [200, 200, 200, 200, 200]),
        ("GET", "/throttles".into(), None, [401, 403, 403, 403, 200]),
        ("DELETE", "/throttles/account/nobody".into(), None, [401, 403, 403, 403, 404]),
        ("POST", format!("{c}/teams"), Some(json!({"name": "Team C"})), [401, 409, 409, 403, 403]),
        ("POST", "/sessions".into(), Some(json!({"name": "carol", "password": "a long password"})), [201; 5]),
        ("POST", "/sessions".into(), Some(json!({"name": "carol", "password": "not the password"})), [401; 5]),
        // With a token, not a session cookie.
        ("DELETE", "/sessions/current".into(), None, [401, 400, 400, 400, 400]),
        ("POST", "/tokens".into(), Some(json!({"name": "matrix"})), [401, 201, 201, 201, 201]),
        ("GET", format!("{c}/leaderboard?board=nope"), None, [400; 5]),
        ("GET", format!("{c}/final"), None, [403, 403, 403, 200, 200]),
        ("PUT", format!("{c}/rubric/{ta}"), Some(json!({"score": 50.0})), [401, 403, 403, 400, 403]),
        // Integers as JavaScript sends them, in a body and a query string.
        ("PATCH", c.into(), Some(json!({"daily_submissions": 582_625.0})), [401, 403, 403, 403, 200]),
        ("GET", format!("{c}/submissions?team={ta}.0"), None, [401, 200, 200, 200, 200]),
        ("GET", format!("{c}/compare?a={a}.0&b={b}"), None, [401, 403, 403, 200, 200]),
        // … read exactly: not a number that only rounds into range.
        ("GET", format!("{c}/submissions?team=-9223372036854775809"), None, [400; 5]),
        ("GET", format!("{c}/submissions?team=1.5"), None, [400; 5]),
        // A body is an object, never an array read field by field.
        ("POST", format!("{c}/snapshots"), Some(json!([null, "public"])), [422; 5]),
        ("PUT", format!("{c}/selections"), Some(json!([[a]])), [422; 5]),
        ("PATCH", c.into(), Some(json!({"daily_submissions": 1.5})), [422; 5]),
    ];
    let mut wrong = Vec::new();
    for (method, path, body, want) in &cases {
        for (who, want) in MATRIX.iter().zip(want) {
            // The first token is alice's: revoke it last, after the matrix has used it.
            if *method == "DELETE" && *who == Who::A {
                continue;
            }
            let (s, v) = h.call(*who, method, path, body.clone()).await;
            h.drain().await;
            if s.as_u16() != *want {
                wrong.push(format!("{method} {path} as {who:?}: {s} (want {want}) {v}"));
            }
            if s.is_client_error() {
                assert!(v["error"]["code"].is_string() && v["error"]["message"].is_string(), "{method} {path}: {v}");
            }
        }
    }
    // Uploads (multipart): competitors with a team only.
    for (i, (who, want)) in MATRIX.iter().zip([401, 202, 202, 403, 403]).enumerate() {
        let (s, v) =
            upload_to(h.state.clone(), h.token(*who).map(str::to_owned), submission(0.3, 10 + i), "m".into()).await;
        h.drain().await;
        if s.as_u16() != want {
            wrong.push(format!("upload as {who:?}: {s} (want {want}) {v}"));
        }
    }
    let mut called: Vec<(String, String)> = cases
        .iter()
        .filter_map(|(m, p, _, _)| CONTRACT.operation(m, &format!("/api/v1{p}")))
        .map(|o| (o.method.clone(), o.template.clone()))
        .collect();
    called.push(("POST".into(), "/contests/{contest}/submissions".into()));
    let missing: Vec<String> = CONTRACT
        .operations
        .iter()
        .filter(|o| !called.contains(&(o.method.clone(), o.template.clone())))
        .map(|o| format!("{} {}", o.method, o.template))
        .collect();
    assert!(missing.is_empty(), "operations the authorization matrix does not call: {missing:?}");
    let (s, _) = h.call(Who::A, "DELETE", "/tokens/1", None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = h.call(Who::A, "GET", "/users/me", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "a revoked token is refused: {v}");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// No team sees another's submissions, and before the reveal nobody but staff sees private
/// scores anywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn competitors_see_only_their_own_and_nothing_private() {
    let h = Harness::new().await;
    h.scored(Who::A, &submission(0.5, 1)).await;
    h.scored(Who::B, &submission(0.4, 2)).await;
    let (_, list) = h.call(Who::A, "GET", "/contests/tiny/submissions", None).await;
    let list = list["submissions"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["team"], "Team A");
    let text = list[0].to_string();
    assert!(!text.contains("private"), "a competitor's view leaks private scores: {text}");
    assert!(list[0]["public_score"].is_f64());
    let (_, list) = h.call(Who::A, "GET", "/contests/tiny/submissions?team=2", None).await;
    assert_eq!(list["submissions"].as_array().unwrap().len(), 1, "the team filter is for staff only");
    let (_, board) = h.call(Who::Anon, "GET", "/contests/tiny/leaderboard", None).await;
    assert_eq!(board["rows"].as_array().unwrap().len(), 2);
    let (_, judge) = h.call(Who::Judge, "GET", "/contests/tiny/submissions", None).await;
    let judge = judge["submissions"].as_array().unwrap();
    assert_eq!(judge.len(), 2);
    assert!(judge[0]["private_score"].is_f64());
    assert!(judge[0]["scores"].as_array().unwrap().iter().any(|s| s["subset"] == "private"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_are_validated_queued_scored_and_charged_fairly() {
    let h = Harness::new().await;
    let good = submission(0.6, 3);
    let v = h.scored(Who::A, &good).await;
    assert_eq!(v["sha256"].as_str().unwrap().len(), 64);
    assert!(v["public_score"].as_f64().unwrap() > 0.5);
    let ci = v["public_ci"].as_array().unwrap();
    assert!(ci[0].as_f64().unwrap() <= v["public_score"].as_f64().unwrap());
    assert_eq!(h.audited("submission.score", &format!("submission:{}", v["id"])).await, 1);
    // The stored file is under its hash, byte for byte.
    let stored = holdout_server::store::path(h.dir.path(), v["sha256"].as_str().unwrap());
    assert_eq!(std::fs::read_to_string(stored).unwrap(), good);

    // An invalid file: 422 with the validator's message, not charged.
    let bad = good.replacen("r005,", "r004,", 1);
    let (s, v) = h.upload(Who::A, &bad, "dup id").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["status"], "invalid");
    assert!(v["message"].as_str().unwrap().contains("r004"), "{v}");
    assert_eq!(v["quota"]["used_today"], 1);
    // The same file twice: refused, not charged.
    let (s, v) = h.upload(Who::A, &good, "again").await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    // Two more reach the daily limit of 3; the fourth is refused with the reset time.
    h.scored(Who::A, &submission(0.3, 4)).await;
    h.scored(Who::A, &submission(0.2, 5)).await;
    let (s, v) = h.upload(Who::A, &submission(0.1, 6), "").await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert_eq!(v["error"]["code"], "quota_exhausted");
    assert!(v["error"]["message"].as_str().unwrap().contains("2024-09-10T16:00:00.000Z"), "{v}");
    let (_, q) = h.call(Who::A, "GET", "/contests/tiny/quota", None).await;
    assert_eq!((q["remaining_today"].as_i64(), q["remaining_total"].as_i64()), (Some(0), Some(2)));
    // 23:59:59 in Shanghai is still the same day; 00:00 is the next.
    h.set_time("2024-09-10T15:59:59Z");
    assert_eq!(h.upload(Who::A, &submission(0.1, 6), "").await.0, StatusCode::TOO_MANY_REQUESTS);
    h.set_time("2024-09-10T16:00:00Z");
    h.scored(Who::A, &submission(0.1, 6)).await;
    h.scored(Who::A, &submission(0.15, 7)).await;
    // The total cap (5).
    let (s, v) = h.upload(Who::A, &submission(0.7, 8), "").await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert!(v["error"]["message"].as_str().unwrap().contains("all 5"), "{v}");
    // Team B is not affected; outside a phase nobody can submit.
    h.set_time("2024-10-21T00:00:00Z");
    let (s, v) = h.upload(Who::B, &submission(0.7, 8), "").await;
    assert_eq!((s, v["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("phase_closed")), "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("final"), "{v}");
    h.set_time("2024-11-04T00:00:00Z");
    let (s, v) = h.upload(Who::B, &submission(0.7, 8), "").await;
    assert!(s == StatusCode::FORBIDDEN && v["error"]["message"].as_str().unwrap().contains("ended"), "{v}");
    // Carol has no team.
    h.set_time(harness::OPEN);
    let (s, v) = h.upload(Who::Carol, &submission(0.7, 9), "").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_clear_errors_and_the_service_keeps_serving() {
    let h = Harness::new().await;
    // Larger than the contest's 1 MB limit: 413, and nothing is left in the store.
    let big = "x".repeat(1_100_000);
    let (s, v) = h.upload(Who::A, &big, "").await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    let tmp: Vec<_> = std::fs::read_dir(h.dir.path().join("files/tmp")).unwrap().collect();
    assert!(tmp.is_empty(), "a partial upload was left behind");
    // Not multipart: 415.
    let r = h
        .request(Who::A, "POST", "/contests/tiny/submissions")
        .header("content-type", "text/csv")
        .body(Body::from("id,probability\n"))
        .unwrap();
    let (s, body, _) = h.send(r).await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", String::from_utf8_lossy(&body));
    // Multipart without a file.
    let r = h
        .request(Who::A, "POST", "/contests/tiny/submissions")
        .header("content-type", "multipart/form-data; boundary=b")
        .body(Body::from("--b\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\nx\r\n--b--\r\n"))
        .unwrap();
    let (s, body, _) = h.send(r).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{}", String::from_utf8_lossy(&body));
    // Malformed JSON, unknown fields.
    let r = h
        .request(Who::A, "POST", "/contests/tiny/teams")
        .header("content-type", "application/json")
        .body(Body::from("{\"name\": "))
        .unwrap();
    let (s, body, _) = h.send(r).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&body).contains("\"code\":\"bad_request\""));
    let (s, _) = h.call(Who::Org, "PATCH", "/contests/tiny", Some(json!({"ladder": true, "colour": "red"}))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // A bad token.
    let r = Request::get("/api/v1/users/me").header("authorization", "Bearer hol_nope").body(Body::empty()).unwrap();
    assert_eq!(h.send(r).await.0, StatusCode::UNAUTHORIZED);
    let r = Request::get("/api/v1/users/me").header("authorization", "Basic abc").body(Body::empty()).unwrap();
    assert_eq!(h.send(r).await.0, StatusCode::UNAUTHORIZED);
    // Still serving.
    h.scored(Who::A, &submission(0.5, 1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_sessions_need_csrf_and_expire() {
    let h = Harness::new().await;
    let (s, _) =
        h.call(Who::Anon, "POST", "/sessions", Some(json!({"name": "alice", "password": "wrong password"}))).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) =
        h.call(Who::Anon, "POST", "/sessions", Some(json!({"name": "nobody", "password": "a long password"}))).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let r = Request::post("/api/v1/sessions")
        .header("content-type", "application/json")
        .body(Body::from(json!({"name": "alice", "password": "a long password"}).to_string()))
        .unwrap();
    let (s, body, headers) = h.send(r).await;
    assert_eq!(s, StatusCode::CREATED);
    let cookie = headers["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Secure"), "{cookie}");
    let session = cookie.split(';').next().unwrap().to_owned();
    let csrf = serde_json::from_slice::<Value>(&body).unwrap()["csrf_token"].as_str().unwrap().to_owned();
    let with = |method: &str, path: &str, csrf: Option<&str>| {
        let mut r = Request::builder().method(method).uri(format!("/api/v1{path}")).header("cookie", &session);
        if let Some(c) = csrf {
            r = r.header("x-csrf-token", c);
        }
        r.header("content-type", "application/json").body(Body::from("{\"name\": \"t\"}")).unwrap()
    };
    assert_eq!(h.send(with("GET", "/users/me", None)).await.0, StatusCode::OK);
    assert_eq!(h.send(with("POST", "/tokens", None)).await.0, StatusCode::FORBIDDEN, "no CSRF token");
    assert_eq!(h.send(with("POST", "/tokens", Some("csrf_wrong"))).await.0, StatusCode::FORBIDDEN);
    assert_eq!(h.send(with("POST", "/tokens", Some(&csrf))).await.0, StatusCode::CREATED);
    // Sessions last an hour in this harness.
    h.set_time("2024-09-10T05:00:01Z");
    let (s, body, _) = h.send(with("GET", "/users/me", None)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(String::from_utf8_lossy(&body).contains("expired"));
    h.set_time(harness::OPEN);
    assert_eq!(h.send(with("DELETE", "/sessions/current", Some(&csrf))).await.0, StatusCode::NO_CONTENT);
    assert_eq!(h.send(with("GET", "/users/me", None)).await.0, StatusCode::UNAUTHORIZED, "logged out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teams_invite_accept_and_respect_the_size_limit() {
    let h = Harness::new().await;
    let a = h.team_a;
    let (s, v) = h.call(Who::A, "POST", "/contests/tiny/teams", Some(json!({"name": "Another"}))).await;
    assert_eq!(s, StatusCode::CONFLICT, "one team per person: {v}");
    let (s, _) = h.call(Who::Carol, "POST", "/contests/tiny/teams", Some(json!({"name": "Team A"}))).await;
    assert_eq!(s, StatusCode::CONFLICT, "team names are unique");
    let (s, _) =
        h.call(Who::A, "POST", &format!("/contests/tiny/teams/{a}/invites"), Some(json!({"user": "bob"}))).await;
    assert_eq!(s, StatusCode::CONFLICT, "bob is in team B");
    let (s, _) =
        h.call(Who::A, "POST", &format!("/contests/tiny/teams/{a}/invites"), Some(json!({"user": "judy"}))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "judges do not compete");
    let (s, _) =
        h.call(Who::A, "POST", &format!("/contests/tiny/teams/{a}/invites"), Some(json!({"user": "carol"}))).await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, mine) = h.call(Who::Carol, "GET", "/contests/tiny/teams/mine", None).await;
    assert_eq!(mine["invites_received"][0]["team"], "Team A");
    let (s, _) = h.call(Who::Carol, "POST", &format!("/contests/tiny/teams/{a}/accept"), None).await;
    assert_eq!(s, StatusCode::OK);
    let (_, mine) = h.call(Who::A, "GET", "/contests/tiny/teams/mine", None).await;
    assert_eq!(mine["team"]["members"], json!(["alice", "carol"]));
    // Full at 2.
    let (_, v) = h.call(Who::Org, "POST", "/users", Some(json!({"name": "dave", "password": "a long password"}))).await;
    assert_eq!(v["role"], "competitor");
    let (s, v) =
        h.call(Who::A, "POST", &format!("/contests/tiny/teams/{a}/invites"), Some(json!({"user": "dave"}))).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("full"));
    // Carol's submissions are team A's.
    h.scored(Who::Carol, &submission(0.5, 1)).await;
    let (_, list) = h.call(Who::A, "GET", "/contests/tiny/submissions", None).await;
    assert_eq!(list["submissions"][0]["user"], "carol");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boards_selection_reveal_and_export() {
    let h = Harness::new().await;
    let a1 = h.scored(Who::A, &submission(0.30, 1)).await;
    let a2 = h.scored(Who::A, &submission(0.60, 2)).await;
    let b1 = h.scored(Who::B, &submission(0.45, 3)).await;
    // The public board: each team's best; A on top with its second submission.
    let (_, board) = h.call(Who::Anon, "GET", "/contests/tiny/leaderboard", None).await;
    assert_eq!(board["phase"], "preliminary");
    assert_eq!(board["metric"], "roc_auc");
    let rows = board["rows"].as_array().unwrap();
    assert_eq!(rows[0]["team"], "Team A");
    assert_eq!(rows[0]["submission_id"], a2["id"]);
    assert_eq!(rows[0]["score"], a2["public_score"]);
    assert_eq!(rows[0]["entries"], 2);
    assert_eq!(rows[1]["submission_id"], b1["id"]);
    assert!(rows[0]["band"].is_u64() && rows[0]["ci"].is_array());
    // A selection must be the team's own, scored, and within the limit.
    let sel = |ids: Value| Some(json!({"submission_ids": ids}));
    assert_eq!(
        h.call(Who::A, "PUT", "/contests/tiny/selections", sel(json!([b1["id"]]))).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        h.call(Who::A, "PUT", "/contests/tiny/selections", sel(json!([1, 2, 3]))).await.0,
        StatusCode::BAD_REQUEST
    );
    let (s, v) = h.call(Who::A, "PUT", "/contests/tiny/selections", sel(json!([a1["id"]]))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Disqualifying B's only submission takes B off the boards.
    let path = format!("/contests/tiny/submissions/{}/disqualify", b1["id"]);
    assert_eq!(
        h.call(Who::Judge, "POST", &path, Some(json!({"reason": " "}))).await.0,
        StatusCode::BAD_REQUEST,
        "a reason is required"
    );
    assert_eq!(h.call(Who::Judge, "POST", &path, Some(json!({"reason": "copied"}))).await.0, StatusCode::OK);
    let (_, board) = h.call(Who::Anon, "GET", "/contests/tiny/leaderboard", None).await;
    assert_eq!(board["rows"].as_array().unwrap().len(), 1);
    let path = format!("/contests/tiny/submissions/{}/reinstate", b1["id"]);
    assert_eq!(h.call(Who::Judge, "POST", &path, Some(json!({"reason": "cleared"}))).await.0, StatusCode::OK);
    assert_eq!(h.audited("submission.disqualify", &format!("submission:{}", b1["id"])).await, 1);
    assert_eq!(h.audited("submission.reinstate", &format!("submission:{}", b1["id"])).await, 1);

    // The private board: hidden, then revealed after the end; A counts its selection (a1).
    let (_, private) =
        h.call(Who::Judge, "GET", "/contests/tiny/leaderboard?board=private&phase=preliminary", None).await;
    let a_row = private["rows"].as_array().unwrap().iter().find(|r| r["team"] == "Team A").unwrap().clone();
    assert_eq!(a_row["submission_id"], a1["id"]);
    assert_eq!(a_row["public_rank"], 1);
    assert!(a_row["shakeup"].is_i64());
    assert_eq!(
        h.call(Who::Org, "POST", "/contests/tiny/reveal", None).await.0,
        StatusCode::CONFLICT,
        "not before the end"
    );
    h.set_time("2024-11-04T00:00:00Z");
    let (s, v) = h.call(Who::A, "PUT", "/contests/tiny/selections", sel(json!([a2["id"]]))).await;
    assert_eq!((s, v["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("selections_committed")), "{v}");
    let (s, v) = h
        .call(
            Who::A,
            "PUT",
            "/contests/tiny/selections",
            Some(json!({"submission_ids": [a2["id"]], "phase": "preliminary"})),
        )
        .await;
    assert_eq!((s, v["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("selections_closed")), "{v}");
    let (s, v) = h.call(Who::Org, "POST", "/contests/tiny/reveal", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["snapshots"].as_array().unwrap().len(), 2);
    assert_eq!(h.call(Who::Org, "POST", "/contests/tiny/reveal", None).await.0, StatusCode::CONFLICT);
    let (s, public_view) =
        h.call(Who::Anon, "GET", "/contests/tiny/leaderboard?board=private&phase=preliminary", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(public_view, private);
    let (_, mine) = h.call(Who::A, "GET", &format!("/contests/tiny/submissions/{}", a1["id"]), None).await;
    assert!(mine["private_score"].is_f64(), "after the reveal a team sees its private scores");
    // CSV export.
    let r =
        h.request(Who::Anon, "GET", "/contests/tiny/leaderboard.csv?phase=preliminary").body(Body::empty()).unwrap();
    let (s, body, headers) = h.send(r).await;
    assert_eq!(s, StatusCode::OK);
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = String::from_utf8(body).unwrap();
    assert!(csv.starts_with("rank,band,team,baseline,submission_id,score,ci_low,ci_high,entries,last_submission_at\n"));
    assert!(csv.lines().nth(1).unwrap().starts_with("1,1,Team A,false,"), "{csv}");
    // The reveal's snapshot is the hash of the private CSV.
    let r = h
        .request(Who::Anon, "GET", "/contests/tiny/leaderboard.csv?phase=preliminary&board=private")
        .body(Body::empty())
        .unwrap();
    let private_csv = h.send(r).await.1;
    assert_eq!(v["snapshots"][0]["sha256"].as_str().unwrap(), holdout_server::auth::digest_bytes(&private_csv));
}

/// Inside the final phase.
const FINAL_OPEN: &str = "2024-10-25T00:00:00Z";
/// After the final phase closed.
const CLOSED: &str = "2024-11-04T00:00:00Z";

/// When the last phase closes each team's final selection (or its default) is frozen, its hash
/// published (contest, boards, the list itself) and audited before any private score is shown;
/// a change afterwards is refused; the private board is computed from exactly those; the reveal
/// recomputes the hash, finds it unchanged and records so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines, reason = "one contest's close, step by step")]
async fn final_selections_are_committed_when_the_contest_closes_and_the_reveal_checks_them() {
    let h = Harness::new().await;
    h.set_time(FINAL_OPEN);
    let a1 = h.scored(Who::A, &submission(0.30, 1)).await;
    let a2 = h.scored(Who::A, &submission(0.60, 2)).await;
    let b1 = h.scored(Who::B, &submission(0.20, 3)).await;
    let b2 = h.scored(Who::B, &submission(0.60, 4)).await;
    assert!(b2["public_score"].as_f64() > b1["public_score"].as_f64());
    // Team A selects its weaker public submission; team B selects nothing (its best public counts).
    let (s, v) = h.call(Who::A, "PUT", "/contests/tiny/selections", Some(json!({"submission_ids": [a1["id"]]}))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, contest) = h.call(Who::Anon, "GET", "/contests/tiny", None).await;
    assert!(contest["selection_commitment"].is_null(), "nothing is committed before the close");
    let (s, v) = h.call(Who::Anon, "GET", "/contests/tiny/selections/committed", None).await;
    assert_eq!((s, v["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_committed")), "{v}");

    h.set_time(CLOSED);
    // Any change after the close is refused, saying why.
    let (s, v) = h.call(Who::A, "PUT", "/contests/tiny/selections", Some(json!({"submission_ids": [a2["id"]]}))).await;
    assert_eq!((s, v["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("selections_committed")), "{v}");
    let (_, contest) = h.call(Who::Anon, "GET", "/contests/tiny", None).await;
    let cm = contest["selection_commitment"].clone();
    let sha = cm["sha256"].as_str().unwrap().to_owned();
    assert_eq!(sha.len(), 64);
    assert!(v["error"]["message"].as_str().unwrap().contains(&sha), "{v}");
    assert_eq!((cm["phase"].as_str(), cm["closed_at"].as_str()), (Some("final"), Some("2024-11-03T15:59:59.000Z")));
    assert!(cm["verified_seq"].is_null());
    // Committed once, audited, before anything private was shown to a team.
    assert_eq!(h.audited("selection.commit", "contest:tiny").await, 1);
    let entries = holdout_server::db::entries(&h.state.pool).await.unwrap();
    let commit = entries.iter().find(|e| e.event.action == "selection.commit").unwrap();
    assert_eq!(commit.seq, cm["audit_seq"].as_i64().unwrap());
    assert!(commit.event.detail.contains(&sha));
    // Published on the public board too, and as the list itself, whose bytes hash to it.
    let (_, board) = h.call(Who::Anon, "GET", "/contests/tiny/leaderboard?phase=final", None).await;
    assert_eq!(board["selections"]["sha256"], sha.as_str());
    let r = h.request(Who::Anon, "GET", "/contests/tiny/selections/committed").body(Body::empty()).unwrap();
    let (s, list_bytes, headers) = h.send(r).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(holdout_server::auth::digest_bytes(&list_bytes), sha, "the published hash is the list's");
    let list: holdout_server::selections::Document = serde_json::from_slice(&list_bytes).unwrap();
    assert_eq!(list.canonical(), list_bytes, "the list is served in its canonical form");
    assert_eq!(
        (list.format.as_str(), list.contest.as_str(), list.phase.as_str()),
        ("holdout-selections/1", "tiny", "final")
    );
    let team = |id: i64| list.teams.iter().find(|t| t.team_id == id).unwrap();
    let ids = |t: &holdout_server::selections::TeamSelection| t.submissions.iter().map(|s| s.id).collect::<Vec<_>>();
    assert_eq!((ids(team(h.team_a)), team(h.team_a).chosen), (vec![a1["id"].as_i64().unwrap()], true));
    assert_eq!((ids(team(h.team_b)), team(h.team_b).chosen), (vec![b2["id"].as_i64().unwrap()], false), "B's default");
    for (t, s) in list.submissions() {
        let (_, sub) = h.call(Who::Judge, "GET", &format!("/contests/tiny/submissions/{}", s.id), None).await;
        assert_eq!((sub["team_id"].as_i64(), sub["sha256"].as_str()), (Some(t), Some(s.sha256.as_str())));
    }
    let (_, mine) = h.call(Who::A, "GET", "/contests/tiny/selections", None).await;
    assert_eq!(mine["committed"]["submission_ids"], json!([a1["id"]]), "{mine}");
    assert_eq!(mine["committed"]["sha256"], sha.as_str());

    // The private board's inputs are exactly the committed ones, even if the flags change later
    // (as a bug or a hand edit could make them).
    sqlx::query("UPDATE submissions SET selected = (id = $1)")
        .bind(a2["id"].as_i64())
        .execute(&h.state.pool)
        .await
        .unwrap();
    h.state.invalidate(h.state.contest("tiny").await.unwrap().unwrap().id);
    let (_, private) = h.call(Who::Judge, "GET", "/contests/tiny/leaderboard?board=private&phase=final", None).await;
    assert_eq!(private["selections"]["sha256"], sha.as_str());
    let rows = private["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for row in rows {
        let listed = ids(team(row["team_id"].as_i64().unwrap()));
        assert!(listed.contains(&row["submission_id"].as_i64().unwrap()), "{row} is not from {listed:?}");
    }
    let a_row = rows.iter().find(|r| r["team_id"] == h.team_a).unwrap();
    assert_eq!((a_row["submission_id"].clone(), a_row["score"].clone()), (a1["id"].clone(), a1_private(&h, &a1).await));
    // The last phase can no longer move.
    let body = json!({"starts_at": "2024-10-21T10:00:00+08:00", "ends_at": "2024-12-31T00:00:00+08:00"});
    let (s, v) = h.call(Who::Org, "PUT", "/contests/tiny/phases/final", Some(body)).await;
    assert_eq!((s, v["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("selections_committed")), "{v}");

    // The reveal recomputes the hash from the committed rows, finds it unchanged, records it.
    let (s, v) = h.call(Who::Org, "POST", "/contests/tiny/reveal", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["selections"]["sha256"], sha.as_str());
    let entries = holdout_server::db::entries(&h.state.pool).await.unwrap();
    let reveal = entries.iter().find(|e| e.event.action == "board.reveal").unwrap();
    assert_eq!(v["selections"]["verified_seq"], reveal.seq);
    assert!(reveal.event.detail.contains(&sha) && reveal.seq > commit.seq);
    let (_, public_view) = h.call(Who::B, "GET", "/contests/tiny/leaderboard?board=private&phase=final", None).await;
    assert_eq!(public_view["selections"]["verified_seq"], reveal.seq);
    assert_eq!(public_view["rows"], private["rows"]);
    let _ = b1;
    holdout_server::db::verify(&h.state.pool).await.unwrap();
}

async fn a1_private(h: &Harness, s: &Value) -> Value {
    let (_, v) = h.call(Who::Judge, "GET", &format!("/contests/tiny/submissions/{}", s["id"]), None).await;
    v["private_score"].clone()
}

/// If the committed rows no longer hash to the published hash, the reveal refuses and writes
/// nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reveal_refuses_when_the_committed_selections_changed() {
    let h = Harness::new().await;
    h.set_time(FINAL_OPEN);
    let a1 = h.scored(Who::A, &submission(0.30, 1)).await;
    let a2 = h.scored(Who::A, &submission(0.60, 2)).await;
    h.scored(Who::B, &submission(0.45, 3)).await;
    h.set_time(CLOSED);
    let (_, contest) = h.call(Who::Anon, "GET", "/contests/tiny", None).await;
    let sha = contest["selection_commitment"]["sha256"].as_str().unwrap().to_owned();
    // A hand edit swaps team A's committed submission (its default, a2) for another.
    assert_ne!(a1["id"], a2["id"]);
    let changed = sqlx::query("UPDATE final_selections SET submission_id = $1 WHERE submission_id = $2")
        .bind(a1["id"].as_i64())
        .bind(a2["id"].as_i64())
        .execute(&h.state.pool)
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(changed, 1);
    let (s, v) = h.call(Who::Org, "POST", "/contests/tiny/reveal", None).await;
    assert_eq!((s, v["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("selections_changed")), "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains(&sha), "{v}");
    let (_, contest) = h.call(Who::Anon, "GET", "/contests/tiny", None).await;
    assert!(contest["revealed_at"].is_null(), "nothing revealed");
    assert_eq!(h.audited("board.reveal", "contest:tiny").await, 0);
    assert_eq!(h.call(Who::A, "GET", "/contests/tiny/leaderboard?board=private", None).await.0, StatusCode::FORBIDDEN);
}

/// A contest whose last phase closed with nothing submitted in it (as one created with past
/// dates is, until the organizer moves them: the demo) commits nothing on a read, so its phases
/// can still move; once something is submitted and the phase closes, the selections are
/// committed; and the reveal commits what was not committed yet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selections_are_committed_only_when_the_last_phase_had_submissions_or_at_the_reveal() {
    let h = Harness::new().await;
    h.set_time(CLOSED);
    let (_, contest) = h.call(Who::Org, "GET", "/contests/tiny", None).await;
    assert!(contest["selection_commitment"].is_null(), "nothing submitted, nothing committed: {contest}");
    h.call(Who::Anon, "GET", "/contests/tiny/leaderboard?phase=final", None).await;
    h.call(Who::Judge, "GET", "/contests/tiny/leaderboard?phase=final&board=private", None).await;
    assert_eq!(h.audited("selection.commit", "contest:tiny").await, 0);
    // The organizer moves the phases to now, as the demo does.
    for (phase, start, end) in [
        ("final", "2024-11-20T00:00:00Z", "2024-11-30T00:00:00Z"),
        ("preliminary", "2024-11-01T00:00:00Z", "2024-11-10T00:00:00Z"),
    ] {
        let body = json!({"starts_at": start, "ends_at": end});
        let (s, v) = h.call(Who::Org, "PUT", &format!("/contests/tiny/phases/{phase}"), Some(body)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    h.set_time("2024-11-25T00:00:00Z");
    let a = h.scored(Who::A, &submission(0.4, 1)).await;
    h.set_time("2024-12-01T00:00:00Z");
    let (_, contest) = h.call(Who::Anon, "GET", "/contests/tiny", None).await;
    assert_eq!(contest["selection_commitment"]["phase"], "final", "{contest}");
    let (_, mine) = h.call(Who::A, "GET", "/contests/tiny/selections?phase=final", None).await;
    assert_eq!(mine["committed"]["submission_ids"], json!([a["id"]]), "{mine}");
    let body = json!({"starts_at": "2024-11-20T00:00:00Z", "ends_at": "2024-12-31T00:00:00Z"});
    let (s, v) = h.call(Who::Org, "PUT", "/contests/tiny/phases/final", Some(body)).await;
    assert_eq!((s, v["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("selections_committed")), "{v}");

    // Another contest state: nothing in the last phase at the reveal; the reveal commits the
    // (empty) list before computing the private board.
    let h = Harness::new().await;
    h.scored(Who::A, &submission(0.4, 1)).await;
    h.set_time(CLOSED);
    let (s, v) = h.call(Who::Org, "POST", "/contests/tiny/reveal", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(h.audited("selection.commit", "contest:tiny").await, 1);
    let (_, contest) = h.call(Who::Anon, "GET", "/contests/tiny", None).await;
    assert_eq!(contest["selection_commitment"]["verified_seq"], v["selections"]["verified_seq"]);
}

/// From `freeze_days` before the last phase ends until the reveal, the public board shows
/// everyone but staff only what was uploaded before the freeze; each team still sees its own
/// newest scores; the page says since when, in both languages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines, reason = "one freeze, step by step")]
async fn the_freeze_hides_new_scores_from_other_teams_and_not_from_staff_or_the_team() {
    let h = Harness::new().await;
    let (s, v) = h.call(Who::Org, "PATCH", "/contests/tiny", Some(json!({"freeze_days": 367}))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(
        h.call(Who::A, "PATCH", "/contests/tiny", Some(json!({"freeze_days": 7}))).await.0,
        StatusCode::FORBIDDEN
    );
    let (s, v) = h.call(Who::Org, "PATCH", "/contests/tiny", Some(json!({"freeze_days": 7}))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let since = "2024-10-27T15:59:59.000Z";
    assert_eq!((v["freeze_days"].as_i64(), v["freeze_starts_at"].as_str()), (Some(7), Some(since)));
    assert!(v["frozen_since"].is_null());
    let entries = holdout_server::db::entries(&h.state.pool).await.unwrap();
    assert!(
        entries.iter().any(|e| e.event.action == "contest.settings" && e.event.detail.contains("\"freeze_days\":7"))
    );

    h.set_time(FINAL_OPEN);
    let a1 = h.scored(Who::A, &submission(0.30, 1)).await;
    h.set_time("2024-10-30T00:00:00Z");
    let (_, contest) = h.call(Who::Anon, "GET", "/contests/tiny", None).await;
    assert_eq!(contest["frozen_since"], since);
    let b1 = h.scored(Who::B, &submission(0.60, 2)).await;
    let a2 = h.scored(Who::A, &submission(0.90, 3)).await;
    let h = &h;
    let board = |who: Who| async move { h.call(who, "GET", "/contests/tiny/leaderboard", None).await.1 };
    let ids = |b: &Value| b["rows"].as_array().unwrap().iter().map(|r| r["submission_id"].clone()).collect::<Vec<_>>();
    // Visitors and both teams see the board as it was at the freeze: team A's first score only.
    for who in [Who::Anon, Who::A, Who::B] {
        let b = board(who).await;
        assert_eq!(ids(&b), vec![a1["id"].clone()], "{who:?}: {b}");
        assert_eq!(b["rows"][0]["score"], a1["public_score"]);
        assert_eq!(b["rows"][0]["entries"], 1, "submissions after the freeze are not counted either");
        assert_eq!(b["freeze"], json!({"since": since, "applied": true}));
    }
    // Each team sees its own newest best beside it, and nobody else's.
    let (a, b) = (board(Who::A).await, board(Who::B).await);
    assert_eq!(
        (a["own"]["submission_id"].clone(), a["own"]["score"].clone()),
        (a2["id"].clone(), a2["public_score"].clone())
    );
    assert_eq!(
        (b["own"]["submission_id"].clone(), b["own"]["score"].clone()),
        (b1["id"].clone(), b1["public_score"].clone())
    );
    assert!(a["own"]["rank"].is_null(), "the live row takes no rank on the frozen board");
    assert!(board(Who::Anon).await.get("own").is_none());
    let (_, mine) = h.call(Who::B, "GET", &format!("/contests/tiny/submissions/{}", b1["id"]), None).await;
    assert!(mine["public_score"].is_f64(), "a team sees its own scores");
    // Staff see the live board.
    for who in [Who::Judge, Who::Org] {
        let live = board(who).await;
        let mut live_ids: Vec<i64> = ids(&live).iter().map(|v| v.as_i64().unwrap()).collect();
        live_ids.sort_unstable();
        assert_eq!(live_ids, vec![b1["id"].as_i64().unwrap(), a2["id"].as_i64().unwrap()], "{live}");
        assert_eq!(live["freeze"], json!({"since": since, "applied": false}));
    }
    // The CSV and the pages are frozen too, and say since when.
    let r = h.request(Who::Anon, "GET", "/contests/tiny/leaderboard.csv").body(Body::empty()).unwrap();
    let csv = String::from_utf8(h.send(r).await.1).unwrap();
    assert!(csv.contains("Team A") && !csv.contains("Team B"), "{csv}");
    for (lang, text) in [("zh-CN", "2024-10-27 23:59（北京时间）起冻结"), ("en", "frozen since 2024-10-27 23:59 (Asia")]
    {
        let r = Request::get(format!("/contests/tiny/leaderboard?lang={lang}")).body(Body::empty()).unwrap();
        let page = String::from_utf8(h.send(r).await.1).unwrap();
        assert!(page.contains(text) && page.contains("Team A") && !page.contains("Team B"), "{page}");
    }
    // The private board is not frozen for staff; after the reveal nothing is.
    let (_, private) = h.call(Who::Judge, "GET", "/contests/tiny/leaderboard?board=private", None).await;
    assert_eq!(private["rows"].as_array().unwrap().len(), 2);
    assert!(private["freeze"].is_null());
    h.set_time(CLOSED);
    assert_eq!(h.call(Who::Org, "POST", "/contests/tiny/reveal", None).await.0, StatusCode::OK);
    let after = board(Who::Anon).await;
    assert_eq!(after["rows"].as_array().unwrap().len(), 2);
    assert!(after["freeze"].is_null());
}

/// Rank uncertainty of the private board: hidden from teams before the reveal, shown to staff;
/// P(rank = 1) sums to 1 and equals a direct count of firsts over the same replicates (scored
/// here with `holdout_score` from the stored files and the contest's seed); kept until the
/// board changes; shown on the private board's page in both languages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines, reason = "one computation checked by hand")]
async fn rank_uncertainty_sums_to_one_and_matches_a_direct_count_over_the_replicates() {
    let h = Harness::new().await;
    let (s, v) = h.call(Who::Carol, "POST", "/contests/tiny/teams", Some(json!({"name": "Team C"}))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    h.scored(Who::A, &submission(0.52, 1)).await;
    h.scored(Who::B, &submission(0.50, 2)).await;
    h.scored(Who::Carol, &submission(0.05, 3)).await;
    let path = "/contests/tiny/rank-uncertainty?phase=preliminary";
    for who in [Who::Anon, Who::A] {
        let (s, v) = h.call(who, "GET", path, None).await;
        assert_eq!((s, v["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("board_hidden")), "{who:?}");
    }
    let (s, u) = h.call(Who::Judge, "GET", path, None).await;
    assert_eq!(s, StatusCode::OK, "{u}");
    let teams = u["teams"].as_array().unwrap();
    assert_eq!(teams.len(), 3, "{u}");
    let r = u["replicates"].as_u64().unwrap() as usize;
    assert_eq!(r, 50);
    let total: f64 = teams.iter().map(|t| t["probability_first"].as_f64().unwrap()).sum();
    assert!((total - 1.0).abs() < 1e-12, "P(rank = 1) sums to {total}");
    assert!(u["procedure"].as_str().unwrap().contains("Holm"));

    // The same replicates, scored here, and the firsts counted directly.
    let c = h.state.contest("tiny").await.unwrap().unwrap();
    let solution = c.solution().unwrap();
    let seed: i64 = sqlx::query_scalar("SELECT bootstrap_seed FROM contests WHERE id = $1")
        .bind(c.id)
        .fetch_one(&h.state.pool)
        .await
        .unwrap();
    let subset = solution.subsets().into_iter().find(|x| u["subset"] == x.name.as_str()).unwrap();
    let ranges = solution.ranges();
    let mut replicates = Vec::new();
    for t in teams {
        let (_, sub) =
            h.call(Who::Judge, "GET", &format!("/contests/tiny/submissions/{}", t["submission_id"]), None).await;
        let bytes = std::fs::read(holdout_server::store::path(h.dir.path(), sub["sha256"].as_str().unwrap())).unwrap();
        let p = holdout_score::submission::parse(&bytes[..], c.format, &c.labels, c.max_bytes)
            .unwrap()
            .check(&solution.ids)
            .unwrap();
        let scorer = holdout_score::scorer::Scorer::new(&solution.labels, &solution.truth, &p, &ranges);
        replicates.push(holdout_score::bootstrap::replicate_scores(&scorer, c.primary, subset.strata, r, seed as u64));
    }
    let greater = c.primary.greater_is_better();
    let mut firsts = vec![0.0; teams.len()];
    for k in 0..r {
        let values: Vec<Option<f64>> = replicates.iter().map(|team| team[k]).collect();
        let best =
            values.iter().flatten().copied().fold(None, |b: Option<f64>, v| {
                Some(b.map_or(v, |b| if (v > b) == greater && v != b { v } else { b }))
            });
        let winners: Vec<usize> = (0..values.len()).filter(|&t| best.is_some() && values[t] == best).collect();
        for &w in &winners {
            firsts[w] += 1.0 / winners.len() as f64;
        }
    }
    for (t, count) in teams.iter().zip(&firsts) {
        let p = t["probability_first"].as_f64().unwrap();
        assert!((p - count / r as f64).abs() < 1e-12, "{t}: {p} against {count}/{r}");
        assert!(t["rank_low"].as_u64() <= t["rank_high"].as_u64());
        // A team's flag and the list say the same (one source: the library's test).
        let listed = u["indistinguishable_from_leader"].as_array().unwrap().contains(&t["team_id"]);
        assert_eq!(t["indistinguishable_from_leader"].as_bool(), Some(listed), "{t}");
        assert!(t["leader_better"].is_boolean(), "{t}");
    }
    let leader = u["leader_team_id"].as_i64().unwrap();
    assert_eq!(leader, teams[0]["team_id"].as_i64().unwrap(), "the leader is first on the board");
    assert!(u["indistinguishable_from_leader"].as_array().unwrap().contains(&json!(leader)));
    assert!(teams[0]["p_value"].is_null() && teams[1]["p_value"].is_f64());
    // With 3 teams and α = 0.05 Holm needs ⌈2/0.05⌉ − 1 = 39 replicates to reject anything.
    assert_eq!(u["replicates_needed"], 39);

    // Kept: asked again later, the same result.
    h.set_time("2024-09-11T00:00:00Z");
    assert_eq!(h.call(Who::Org, "GET", path, None).await.1, u);
    // A new best changes the board: computed again.
    h.set_time("2024-09-12T00:00:00Z");
    h.scored(Who::Carol, &submission(0.9, 4)).await;
    let (_, again) = h.call(Who::Org, "GET", path, None).await;
    assert_ne!(again["computed_at"], u["computed_at"]);

    // The private page shows the columns to staff, and after the reveal to everyone.
    let page = |lang: &'static str| {
        let h = &h;
        async move {
            let r = Request::get(format!("/contests/tiny/leaderboard?board=private&phase=preliminary&lang={lang}"))
                .body(Body::empty())
                .unwrap();
            String::from_utf8(h.send(r).await.1).unwrap()
        }
    };
    h.set_time(CLOSED);
    assert_eq!(h.call(Who::Org, "POST", "/contests/tiny/reveal", None).await.0, StatusCode::OK);
    assert_eq!(h.call(Who::A, "GET", path, None).await.0, StatusCode::OK);
    let (en, zh) = (page("en").await, page("zh-CN").await);
    assert!(en.contains("P(rank 1)") && en.contains("95 % rank interval") && en.contains("Holm"), "{en}");
    assert!(zh.contains("夺冠概率") && zh.contains("名次区间"), "{zh}");
}

/// A number in [0, 1) from a key (splitmix64): independent noise per team and row.
fn unit(key: u64) -> f64 {
    let mut z = key.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
}

/// An honest team's probabilities: the signal every model finds (the truth, blurred the same
/// way for all) at the team's own strength, plus the team's own noise.
fn honest(team: u64) -> Vec<f64> {
    let strength = 0.3 + 0.4 * unit(team * 7919);
    (0..harness::ROWS)
        .map(|i| {
            let shared = 0.5 * f64::from(harness::truth(i)) + 0.5 * unit(i as u64 * 31 + 5);
            let own = unit(team * 1_000_003 + i as u64);
            (strength * shared + (1.0 - strength) * own).clamp(0.0, 1.0)
        })
        .collect()
}

fn csv_of(p: &[f64]) -> String {
    let rows: String = p.iter().enumerate().map(|(i, v)| format!("r{i:03},{v:.6}\n")).collect();
    format!("id,probability\n{rows}")
}

/// A new competitor with a team of its own; its token.
async fn new_team(h: &Harness, name: &str) -> String {
    let id = holdout_server::api::create_user(
        &h.state,
        name,
        "a long password",
        holdout_server::api::Role::Competitor,
        "system",
    )
    .await
    .unwrap();
    let token = holdout_server::api::issue_token(&h.state, id, "test").await.unwrap().1;
    let r = Request::post("/api/v1/contests/tiny/teams")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from(json!({"name": format!("team-{name}")}).to_string()))
        .unwrap();
    assert_eq!(h.send(r).await.0, StatusCode::CREATED);
    token
}

/// The judges' integrity report: of 50 honest teams and a planted near-copy (another team's
/// file with 2 % of its predictions perturbed), the copy's pair is flagged and no honest pair is;
/// a file submitted by two teams is listed; the report is staff-only, in JSON and on a page in
/// both languages with its plots.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines, reason = "one contest's report")]
async fn the_integrity_report_flags_a_planted_near_copy_and_no_honest_team() {
    let h = Harness::new().await;
    let mut ids = Vec::new();
    for team in 0..50u64 {
        let token = new_team(&h, &format!("honest{team:02}")).await;
        let (s, v) = harness::upload_to(h.state.clone(), Some(token), csv_of(&honest(team)), String::new()).await;
        assert_eq!(s, StatusCode::ACCEPTED, "{v}");
        ids.push(v["id"].as_i64().unwrap());
    }
    // The copy: honest team 7's file under team A, 2 % of its rows (5 of 240) changed.
    let mut copy = honest(7);
    for i in [3, 50, 101, 170, 222] {
        copy[i] = 1.0 - copy[i];
    }
    let (s, planted) = h.upload(Who::A, &csv_of(&copy), "").await;
    assert_eq!(s, StatusCode::ACCEPTED, "{planted}");
    // The same file from team B as from honest team 12.
    let (s, same) = h.upload(Who::B, &csv_of(&honest(12)), "").await;
    assert_eq!(s, StatusCode::ACCEPTED, "{same}");
    h.drain().await;

    for who in [Who::Anon, Who::A] {
        assert_ne!(h.call(who, "GET", "/contests/tiny/integrity", None).await.0, StatusCode::OK, "{who:?}");
    }
    let (s, r) = h.call(Who::Judge, "GET", "/contests/tiny/integrity", None).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(
        (r["phase"].as_str(), r["teams"].as_u64(), r["submissions"].as_u64()),
        (Some("preliminary"), Some(52), Some(52))
    );
    let d = &r["near_duplicates"];
    assert_eq!(d["compared"], 52);
    let pairs = d["pairs"].as_array().unwrap();
    let pair_ids = |p: &Value| {
        let mut x = [p["a"]["submission_id"].as_i64().unwrap(), p["b"]["submission_id"].as_i64().unwrap()];
        x.sort_unstable();
        x
    };
    let mut expected = [ids[7], planted["id"].as_i64().unwrap()];
    expected.sort_unstable();
    let mut same_pair = [ids[12], same["id"].as_i64().unwrap()];
    same_pair.sort_unstable();
    let flagged: Vec<[i64; 2]> = pairs.iter().map(pair_ids).collect();
    assert!(flagged.contains(&expected), "the planted copy is flagged: {d}");
    // Everything flagged is one of the two planted pairs: no pair of the 50 honest teams
    // (1,225 pairs) is.
    assert!(flagged.iter().all(|p| *p == expected || *p == same_pair), "{d}");
    assert_eq!(d["flagged"].as_u64().unwrap() as usize, flagged.len());
    let copy_rho = pairs.iter().find(|p| pair_ids(p) == expected).unwrap()["deviations"].as_f64().unwrap();
    assert!(copy_rho >= 0.9, "{copy_rho}");
    // The shared file.
    let files = r["same_files"].as_array().unwrap();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0]["teams"], 2);
    // Per team: one submission each; agreement figures present.
    assert_eq!(r["team_lines"].as_array().unwrap().len(), 52);
    assert!(
        r["agreement"]["kendall_tau"].is_f64() && r["agreement"]["shake_up"]["shake_up"].is_f64(),
        "{}",
        r["agreement"]
    );
    assert!(r["rescores"].as_array().unwrap().is_empty());

    // The page, staff only, in both languages, with its plots.
    let page = |name: &'static str, lang: &'static str| {
        let h = &h;
        async move {
            let r = Request::post("/api/v1/sessions")
                .header("content-type", "application/json")
                .body(Body::from(json!({"name": name, "password": "a long password"}).to_string()))
                .unwrap();
            let (s, _, headers) = h.send(r).await;
            assert_eq!(s, StatusCode::CREATED);
            let cookie = headers["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
            let r = Request::get(format!("/contests/tiny/integrity?lang={lang}")).header("cookie", cookie);
            let (s, body, _) = h.send(r.body(Body::empty()).unwrap()).await;
            (s, String::from_utf8(body).unwrap())
        }
    };
    assert_eq!(page("alice", "en").await.0, StatusCode::NOT_FOUND);
    let (s, en) = page("judy", "en").await;
    assert_eq!(s, StatusCode::OK, "{en}");
    assert!(en.contains("integrity report") && en.contains("<svg") && en.contains("Near-duplicate"), "{en}");
    assert!(en.contains("team-honest07") && en.contains("Team A"));
    let (_, zh) = page("olga", "zh-CN").await;
    assert!(zh.contains("评委诚信报告") && zh.contains("近似重复"), "{zh}");
    // As Markdown, in both languages (what `holdout integrity` prints).
    let report = holdout_server::integrity::run(&h.state, "tiny", holdout_server::integrity::Settings::default())
        .await
        .unwrap()
        .unwrap();
    let md = holdout_server::integrity::markdown(&report, holdout_server::web::Lang::En);
    assert!(md.contains("Kendall τ-b") && md.contains("team-honest07") && md.contains("Team A"), "{md}");
    assert!(
        holdout_server::integrity::markdown(&report, holdout_server::web::Lang::Zh)
            .contains("跨团队的近似重复预测文件")
    );
}

/// The integrity report is kept with the SHA-256 of its inputs: asked again it is the same
/// report (generated at the same time); other settings or another scored submission compute
/// it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_integrity_report_is_kept_until_its_inputs_change() {
    let h = Harness::new().await;
    h.scored(Who::A, &submission(0.5, 1)).await;
    h.scored(Who::B, &submission(0.6, 2)).await;
    let (s, first) = h.call(Who::Judge, "GET", "/contests/tiny/integrity", None).await;
    assert_eq!(s, StatusCode::OK, "{first}");
    advance(&h.clock, 5);
    let (_, again) = h.call(Who::Org, "GET", "/contests/tiny/integrity", None).await;
    assert_eq!(again, first, "kept");
    let (_, other) = h.call(Who::Judge, "GET", "/contests/tiny/integrity?threshold=0.5", None).await;
    assert_ne!(other["generated_at"], first["generated_at"], "other settings, another report");
    assert_eq!(other["near_duplicates"]["threshold"], 0.5);
    h.scored(Who::A, &submission(0.7, 3)).await;
    let (_, after) = h.call(Who::Judge, "GET", "/contests/tiny/integrity", None).await;
    assert_ne!(after["generated_at"], first["generated_at"]);
    assert_eq!((first["submissions"].as_u64(), after["submissions"].as_u64()), (Some(2), Some(3)));
}

/// Rescore-all on an unchanged scorer changes no score and no rank, audits every rescore, and
/// publishes the (empty) rank diff.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rescore_all_on_an_unchanged_scorer_changes_nothing() {
    let h = Harness::new().await;
    let a = h.scored(Who::A, &submission(0.5, 1)).await;
    h.scored(Who::A, &submission(0.7, 2)).await;
    h.scored(Who::B, &submission(0.6, 3)).await;
    let (_, before) = h.call(Who::Judge, "GET", "/contests/tiny/leaderboard?board=private", None).await;
    let (_, public_before) = h.call(Who::Anon, "GET", "/contests/tiny/leaderboard", None).await;
    let r = holdout_server::rescore::rescore_all(&h.state, "tiny", "user:olga").await.unwrap().unwrap();
    assert_eq!(r.submissions, 3);
    assert!(r.changed.is_empty(), "{:?}", r.changed);
    assert!(r.ranks.is_empty(), "{:?}", r.ranks);
    assert_eq!(h.audited("submission.rescore", &format!("submission:{}", a["id"])).await, 1);
    assert_eq!(h.audited("contest.rescore_all", "contest:tiny").await, 1);
    assert_eq!(h.audited("contest.rescore_ranks", "contest:tiny").await, 1);
    let entries = holdout_server::db::entries(&h.state.pool).await.unwrap();
    let rescored: Vec<_> =
        entries.iter().filter(|e| e.event.action == "submission.score" && e.seq > r.started_seq).collect();
    assert_eq!(rescored.len(), 3);
    assert!(rescored.iter().all(|e| e.event.detail.contains("\"changed\":false")), "{rescored:?}");
    let (_, after) = h.call(Who::Judge, "GET", "/contests/tiny/leaderboard?board=private", None).await;
    let (_, public_after) = h.call(Who::Anon, "GET", "/contests/tiny/leaderboard", None).await;
    assert_eq!(after["rows"], before["rows"]);
    assert_eq!(public_after["rows"], public_before["rows"]);
    let (_, sub) = h.call(Who::A, "GET", &format!("/contests/tiny/submissions/{}", a["id"]), None).await;
    assert_eq!(sub["public_score"], a["public_score"]);
    // A changed score is what the report lists: here none.
    let report = holdout_server::integrity::run(&h.state, "tiny", holdout_server::integrity::Settings::default())
        .await
        .unwrap()
        .unwrap();
    assert!(report.rescores.is_empty());

    // A score an older scorer got wrong (set by hand here): the rescore restores it, audits the
    // change with its previous value, the report lists it, and the rank diff shows the move.
    sqlx::query("UPDATE submissions SET public_score = 0.01, private_score = 0.01 WHERE id = $1")
        .bind(a["id"].as_i64())
        .execute(&h.state.pool)
        .await
        .unwrap();
    let r = holdout_server::rescore::rescore_all(&h.state, "tiny", "user:olga").await.unwrap().unwrap();
    assert_eq!(r.changed.len(), 1, "{:?}", r.changed);
    assert_eq!(r.changed[0].submission_id, a["id"].as_i64().unwrap());
    assert_eq!((r.changed[0].previous_public, r.changed[0].public), (Some(0.01), a["public_score"].as_f64()));
    let report = holdout_server::integrity::run(&h.state, "tiny", holdout_server::integrity::Settings::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.rescores.len(), 1);
    holdout_server::db::verify(&h.state.pool).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ladder_mode_releases_only_significant_improvements() {
    let h = Harness::new().await;
    let (s, _) =
        h.call(Who::Org, "PATCH", "/contests/tiny", Some(json!({"ladder": true, "daily_submissions": 10}))).await;
    assert_eq!(s, StatusCode::OK);
    let first = h.scored(Who::A, &submission(0.40, 1)).await;
    assert_eq!(first["released"], true);
    // The same predictions but for one row: no better by the step, so not released.
    let nearly: String = submission(0.40, 1)
        .lines()
        .map(|l| if l.starts_with("r000,") { "r000,0.123456\n".to_owned() } else { format!("{l}\n") })
        .collect();
    let same = h.scored(Who::A, &nearly).await;
    assert_eq!(same["released"], false, "{same}");
    assert!(same["public_score"].is_null(), "an unreleased score is hidden from the team");
    assert!(same["ladder_note"].is_string());
    let (_, judge_view) = h.call(Who::Judge, "GET", &format!("/contests/tiny/submissions/{}", same["id"]), None).await;
    assert!(judge_view["public_score"].is_f64(), "judges see it");
    let better = h.scored(Who::A, &submission(0.95, 3)).await;
    assert_eq!(better["released"], true, "{better}");
    let (_, board) = h.call(Who::Anon, "GET", "/contests/tiny/leaderboard", None).await;
    assert_eq!(board["ladder"], true);
    assert_eq!(board["rows"][0]["submission_id"], better["id"]);
    // Worse than the released best by a lot: never released.
    let worse = h.scored(Who::A, &submission(0.05, 4)).await;
    assert_eq!(worse["released"], false);
    assert!(worse["public_score"].is_null());
    // A receipt never tells the team what the Ladder withholds.
    let key = h.call(Who::Anon, "GET", "/contests/tiny", None).await.1["receipt_key"].as_str().unwrap().to_owned();
    for (s, shown) in [(&first, 1), (&same, 0), (&better, 1), (&worse, 0)] {
        let r = receipt_of(&h, Who::A, s["id"].as_i64().unwrap(), &key).await;
        assert_eq!(r.scores.len(), shown, "{s}");
    }
}

/// A submission's receipt as `who` downloads it, verified with `key`.
async fn receipt_of(h: &Harness, who: Who, id: i64, key: &str) -> holdout_server::receipt::Receipt {
    let r = h.request(who, "GET", &format!("/contests/tiny/submissions/{id}/receipt")).body(Body::empty()).unwrap();
    let (s, bytes, headers) = h.send(r).await;
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&bytes));
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["content-disposition"], format!("attachment; filename=\"receipt-tiny-{id}.json\""));
    let key = holdout_server::receipt::parse_key(key).unwrap();
    holdout_server::receipt::verify(&bytes, &key).unwrap()
}

/// Every scored submission gets a signed receipt of what its team may see: the public score
/// before the reveal, both after it; it names the audit entry that recorded the score and the
/// contest's commitment, and verifies with the key the contest publishes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_attest_scores_and_follow_the_reveal() {
    use holdout_server::receipt::{FORMAT, SubsetScore};
    let h = Harness::new().await;
    let (_, contest) = h.call(Who::Anon, "GET", "/contests/tiny", None).await;
    let key = contest["receipt_key"].as_str().unwrap().to_owned();
    assert_eq!(key.len(), 64);
    // The secret half is in the contest's keys/, apart from the private files published later.
    let root = h.dir.path().join("contests/tiny");
    let secret = std::fs::read_to_string(root.join("keys/receipt.key")).unwrap();
    let signing = holdout_server::receipt::parse_secret(&secret).unwrap();
    assert_eq!(holdout_server::receipt::key_hex(&signing.verifying_key()), key);
    let mut private: Vec<_> =
        std::fs::read_dir(root.join("private")).unwrap().map(|e| e.unwrap().file_name()).collect();
    private.sort();
    assert_eq!(private, ["salt.txt", "solution.csv"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(root.join("keys/receipt.key")).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the key is the owner's alone");
    }
    let entries = holdout_server::db::entries(&h.state.pool).await.unwrap();
    let created = entries.iter().find(|e| e.event.action == "contest.receipt_key").unwrap();
    assert_eq!(created.event.subject, "contest:tiny");
    assert!(created.event.detail.contains(&key) && created.event.detail.contains("ed25519"));

    let a = h.scored(Who::A, &submission(0.5, 1)).await;
    let id = a["id"].as_i64().unwrap();
    let r = receipt_of(&h, Who::A, id, &key).await;
    let entries = holdout_server::db::entries(&h.state.pool).await.unwrap();
    let scored = entries.iter().rfind(|e| e.event.action == "submission.score").unwrap();
    assert_eq!(r.format, FORMAT);
    assert_eq!(
        (r.contest.as_str(), r.submission, r.team.as_str(), r.phase.as_str()),
        ("tiny", id, "Team A", "preliminary")
    );
    assert_eq!(r.sha256, a["sha256"].as_str().unwrap());
    assert_eq!(r.solution_commitment, contest["solution_commitment"]["sha256"].as_str().unwrap());
    assert_eq!(r.scorer, format!("holdout {}", env!("CARGO_PKG_VERSION")));
    assert_eq!((r.task.as_str(), r.labels.as_slice(), r.metric.name()), ("binary", &[0, 1][..], "roc_auc"));
    assert_eq!(r.scores, [SubsetScore { subset: "public".into(), value: a["public_score"].as_f64() }]);
    assert_eq!((r.audit_seq, r.audit_head.as_str()), (scored.seq, scored.hash.as_str()), "the entry that recorded it");
    assert_eq!(scored.event.subject, format!("submission:{id}"));
    assert_eq!(r.issued_at, a["scored_at"].as_str().unwrap());
    // Staff get the same receipt: no private score before the reveal, for anyone.
    assert_eq!(receipt_of(&h, Who::Judge, id, &key).await, r);
    // An invalid upload has none.
    let (s, v) = h.upload(Who::A, "id,probability\nnope,1\n", "").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = h.call(Who::A, "GET", &format!("/contests/tiny/submissions/{}/receipt", v["id"]), None).await;
    assert_eq!((s, v["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("no_receipt")));
    // A rescore issues a new receipt naming the new audit entry; the score is unchanged.
    let b = h.scored(Who::B, &submission(0.4, 2)).await;
    assert_eq!(
        h.call(Who::Judge, "POST", &format!("/contests/tiny/submissions/{id}/rescore"), None).await.0,
        StatusCode::ACCEPTED
    );
    h.drain().await;
    let again = receipt_of(&h, Who::A, id, &key).await;
    assert!(again.audit_seq > r.audit_seq);
    assert_eq!(again.scores, r.scores);

    // The reveal issues every scored submission a receipt with its private score too.
    h.set_time("2024-11-04T00:00:00Z");
    let (s, v) = h.call(Who::Org, "POST", "/contests/tiny/reveal", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["receipts"], 2);
    let entries = holdout_server::db::entries(&h.state.pool).await.unwrap();
    let reveal = entries.iter().find(|e| e.event.action == "board.reveal").unwrap();
    for (who, sub) in [(Who::A, &a), (Who::B, &b)] {
        let id = sub["id"].as_i64().unwrap();
        let (_, now) = h.call(who, "GET", &format!("/contests/tiny/submissions/{id}"), None).await;
        let r = receipt_of(&h, who, id, &key).await;
        assert_eq!(
            r.scores,
            [
                SubsetScore { subset: "public".into(), value: now["public_score"].as_f64() },
                SubsetScore { subset: "private".into(), value: now["private_score"].as_f64() },
            ]
        );
        assert!(r.scores[1].value.is_some());
        assert_eq!((r.audit_seq, r.audit_head.as_str()), (reveal.seq, reveal.hash.as_str()));
        assert_eq!(r.issued_at, v["revealed_at"].as_str().unwrap());
    }
    holdout_server::db::verify(&h.state.pool).await.unwrap();
}

async fn status_of(pool: &sqlx::AnyPool, id: i64) -> String {
    sqlx::query_scalar("SELECT status FROM submissions WHERE id = $1").bind(id).fetch_one(pool).await.unwrap()
}

fn advance(clock: &std::sync::Arc<std::sync::Mutex<chrono::DateTime<chrono::Utc>>>, seconds: i64) {
    let mut now = clock.lock().unwrap();
    *now += chrono::Duration::seconds(seconds);
}

/// The service is killed while a worker scores; after the restart nothing is requeued: the
/// dead worker's submission waits for its lease to expire, then another worker takes it, and
/// every submission is scored once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_workers_submission_is_reclaimed_after_its_lease_and_scored_once() {
    let h = Harness::new().await;
    for w in &h.workers {
        w.abort();
    }
    let mut ids = Vec::new();
    for (k, who) in [Who::A, Who::A, Who::B, Who::B].into_iter().enumerate() {
        let (s, v) = h.upload(who, &submission(0.1 * k as f64 + 0.2, k), "").await;
        assert_eq!(s, StatusCode::ACCEPTED);
        ids.push(v["id"].as_i64().unwrap());
    }
    // A worker claims one and dies before recording it.
    let job = holdout_server::worker::claim(&h.state).await.unwrap().unwrap();
    assert_eq!(job.id, ids[0]);
    assert!(!job.reclaimed);
    let dir = h.dir.path().to_path_buf();
    let clock = h.clock.clone();
    h.state.pool.close().await;
    // "Restart": a new state on the same data directory.
    let state = harness::state_at(&dir, clock.clone()).await;
    let workers = holdout_server::worker::spawn(&state, 2);
    let others = async {
        for id in &ids[1..] {
            while status_of(&state.pool, *id).await != "scored" {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_mins(1), others).await.unwrap();
    // The lease still holds: the dead worker's row is nobody else's yet.
    assert_eq!(status_of(&state.pool, ids[0]).await, "scoring");
    advance(&clock, 31);
    tokio::time::timeout(std::time::Duration::from_mins(1), holdout_server::worker::drain(&state))
        .await
        .unwrap()
        .unwrap();
    // The dead worker's late result is refused: its lease was taken.
    let late = holdout_server::worker::Outcome::Failed("late".into());
    assert!(!holdout_server::worker::record(&state, &job, &late).await.unwrap());
    let entries = holdout_server::db::entries(&state.pool).await.unwrap();
    for id in &ids {
        assert_eq!(status_of(&state.pool, *id).await, "scored");
        let scores = entries
            .iter()
            .filter(|e| e.event.action == "submission.score" && e.event.subject == format!("submission:{id}"))
            .count();
        assert_eq!(scores, 1, "submission {id} scored {scores} times");
    }
    let reclaims: Vec<_> = entries.iter().filter(|e| e.event.action == "submission.reclaim").collect();
    assert_eq!(reclaims.len(), 1);
    assert_eq!(reclaims[0].event.subject, format!("submission:{}", ids[0]));
    assert!(!entries.iter().any(|e| e.event.action == "submission.requeue"));
    holdout_server::db::verify(&state.pool).await.unwrap();
    for w in workers {
        w.abort();
    }
}

/// A renewed lease keeps the row its worker's; once a lease has expired another claim takes
/// the row under a new token, and the old holder can neither renew nor record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_holds_while_renewed_and_a_taken_lease_cannot_record() {
    use holdout_server::worker::{Outcome, claim, process, record, renew};
    let h = Harness::new().await;
    for w in &h.workers {
        w.abort();
    }
    let (s, v) = h.upload(Who::A, &submission(0.5, 1), "").await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let id = v["id"].as_i64().unwrap();
    let first = claim(&h.state).await.unwrap().unwrap();
    assert_eq!((first.id, first.attempts, first.reclaimed), (id, 1, false));
    assert!(claim(&h.state).await.unwrap().is_none(), "a held lease is not claimable");
    advance(&h.clock, 20);
    assert!(renew(&h.state, &first).await.unwrap());
    advance(&h.clock, 20);
    assert!(claim(&h.state).await.unwrap().is_none(), "the renewal extended the lease");
    advance(&h.clock, 11);
    let second = claim(&h.state).await.unwrap().unwrap();
    assert_eq!((second.id, second.attempts, second.reclaimed), (id, 2, true));
    assert_ne!(first.lease, second.lease);
    assert!(!renew(&h.state, &first).await.unwrap());
    assert!(!record(&h.state, &first, &Outcome::Failed("late".into())).await.unwrap());
    assert_eq!(status_of(&h.state.pool, id).await, "scoring");
    process(&h.state, second.clone()).await.unwrap();
    assert_eq!(status_of(&h.state.pool, id).await, "scored");
    assert!(!renew(&h.state, &second).await.unwrap(), "a recorded claim has no lease");
    let subject = format!("submission:{id}");
    assert_eq!(h.audited("submission.score", &subject).await, 1);
    assert_eq!(h.audited("submission.reclaim", &subject).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_records_every_action_and_exposes_tampering() {
    let h = Harness::new().await;
    let v = h.scored(Who::A, &submission(0.5, 1)).await;
    let id = v["id"].as_i64().unwrap();
    h.call(Who::Judge, "POST", &format!("/contests/tiny/submissions/{id}/rescore"), None).await;
    h.drain().await;
    let (_, log) = h.call(Who::Judge, "GET", &format!("/audit?subject=submission:{id}"), None).await;
    assert_eq!(log["verification"]["intact"], true);
    let actions: Vec<&str> = log["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        vec![
            "submission.upload",
            "submission.status",
            "submission.score",
            "submission.rescore",
            "submission.status",
            "submission.score"
        ]
    );
    let upload = &log["entries"][0];
    assert_eq!(upload["actor"], "user:alice");
    assert!(upload["detail"].as_str().unwrap().contains(v["sha256"].as_str().unwrap()));
    let rescore = &log["entries"][5];
    assert!(rescore["detail"].as_str().unwrap().contains("\"changed\":false"), "{rescore}");
    // Someone edits a score's entry in the database.
    sqlx::query("UPDATE audit_log SET detail = REPLACE(detail, 'public', 'publik') WHERE seq = $1")
        .bind(upload["seq"].as_i64().unwrap() + 2)
        .execute(&h.state.pool)
        .await
        .unwrap();
    // The whole chain is verified again at most `audit_reverify` (a minute) after the last
    // whole verification, which `verified_at` names; until then the entries appended since are.
    let verified_at = log["verification"]["verified_at"].clone();
    let (_, log) = h.call(Who::Org, "GET", "/audit?limit=1", None).await;
    assert_eq!(log["verification"]["intact"], true, "{log}");
    assert_eq!(log["verification"]["verified_at"], verified_at);
    advance(&h.clock, 60);
    let (_, log) = h.call(Who::Org, "GET", "/audit?limit=1", None).await;
    assert_eq!(log["verification"]["intact"], false);
    assert!(log["verification"]["broken"].as_str().unwrap().contains("does not match its hash"), "{log}");
    // And it stays reported: a broken chain is verified whole on every call.
    let (_, log) = h.call(Who::Judge, "GET", "/audit", None).await;
    assert_eq!(log["verification"]["intact"], false);
}

/// `GET /audit` pages in SQL (after, subject, limit) and verifies the chain without reading
/// the whole log each time, yet an edit of the last entry it verified, or of any entry
/// appended since, is reported at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_is_paged_and_new_or_last_entries_are_checked_at_once() {
    let h = Harness::new().await;
    let v = h.scored(Who::A, &submission(0.5, 1)).await;
    let all = holdout_server::db::entries(&h.state.pool).await.unwrap();
    assert!(all.len() >= 6, "{}", all.len());
    let seqs = |log: &Value| -> Vec<i64> {
        log["entries"].as_array().unwrap().iter().map(|e| e["seq"].as_i64().unwrap()).collect()
    };
    let (_, log) = h.call(Who::Judge, "GET", "/audit?limit=2", None).await;
    assert_eq!(seqs(&log), [1, 2]);
    let ver = &log["verification"];
    assert_eq!((ver["intact"].as_bool(), ver["entries"].as_u64()), (Some(true), Some(all.len() as u64)));
    assert_eq!(ver["head"].as_str(), Some(all.last().unwrap().hash.as_str()));
    let (_, log) = h.call(Who::Judge, "GET", "/audit?after=2&limit=3", None).await;
    assert_eq!(seqs(&log), [3, 4, 5]);
    let subject = format!("submission:{}", v["id"]);
    let (_, log) = h.call(Who::Judge, "GET", &format!("/audit?subject={subject}&after=1"), None).await;
    let want: Vec<i64> = all.iter().filter(|e| e.event.subject == subject && e.seq > 1).map(|e| e.seq).collect();
    assert!(!want.is_empty());
    assert_eq!(seqs(&log), want);

    // The last entry verified, edited: found at once.
    let last = all.last().unwrap();
    let edit = |seq: i64, detail: String| {
        let pool = h.state.pool.clone();
        async move {
            sqlx::query("UPDATE audit_log SET detail = $1 WHERE seq = $2")
                .bind(detail)
                .bind(seq)
                .execute(&pool)
                .await
                .unwrap();
        }
    };
    edit(last.seq, "{}".into()).await;
    let (_, log) = h.call(Who::Judge, "GET", "/audit?limit=1", None).await;
    assert_eq!(log["verification"]["intact"], false, "{log}");
    assert!(log["verification"]["broken"].as_str().unwrap().contains(&format!("entry {}", last.seq)), "{log}");
    edit(last.seq, last.event.detail.clone()).await;
    let (_, log) = h.call(Who::Judge, "GET", "/audit?limit=1", None).await;
    assert_eq!(log["verification"]["intact"], true, "{log}");

    // Entries appended since, one of them edited: found at once too.
    h.scored(Who::B, &submission(0.6, 2)).await;
    let now = holdout_server::db::entries(&h.state.pool).await.unwrap();
    assert!(now.len() > all.len() + 1);
    edit(all.len() as i64 + 1, "{}".into()).await;
    let (_, log) = h.call(Who::Judge, "GET", "/audit?limit=1", None).await;
    assert_eq!(log["verification"]["intact"], false, "{log}");
    assert_eq!(log["verification"]["entries"].as_u64(), Some(now.len() as u64));
    assert!(log["verification"]["broken"].as_str().unwrap().contains(&format!("entry {}", all.len() + 1)), "{log}");
}

/// Regression: team names with commas, quotes or a leading `=` broke the CSV export (and what
/// snapshots hash) and could run as a spreadsheet formula.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_csv_export_quotes_names_and_defuses_formulas() {
    let h = Harness::new().await;
    let (s, _) =
        h.call(Who::Carol, "POST", "/contests/tiny/teams", Some(json!({"name": "=HYPERLINK(\"x\"), 2"}))).await;
    assert_eq!(s, StatusCode::CREATED);
    h.scored(Who::Carol, &submission(0.9, 1)).await;
    let r = h.request(Who::Anon, "GET", "/contests/tiny/leaderboard.csv").body(Body::empty()).unwrap();
    let csv = String::from_utf8(h.send(r).await.1).unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].len(), 10);
    assert_eq!(&rows[0][2], "'=HYPERLINK(\"x\"), 2");
    // Gzip when asked, the same bytes inside.
    let r = h
        .request(Who::Anon, "GET", "/contests/tiny/leaderboard.csv")
        .header("accept-encoding", "br, gzip")
        .body(Body::empty())
        .unwrap();
    let (_, body, headers) = h.send(r).await;
    assert_eq!(headers["content-encoding"], "gzip");
    let mut plain = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&body[..]), &mut plain).unwrap();
    assert_eq!(plain, csv);
}

/// Regression: a sign-up's transaction (read, then write) committed while a worker's read-then-
/// write transaction was open made the worker fail with "database is locked" and leave the
/// submission `scoring`. Write transactions now take the write lock first (`BEGIN IMMEDIATE`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sign_ups_and_scoring_never_lock_each_other_out() {
    let h = Harness::new().await;
    let (s, _) = h
        .call(Who::Org, "PATCH", "/contests/tiny", Some(json!({"daily_submissions": 20, "total_submissions": 20})))
        .await;
    assert_eq!(s, StatusCode::OK);
    let more = holdout_server::worker::spawn(&h.state, 2);
    let mut tasks = Vec::new();
    for k in 0..12 {
        let state = h.state.clone();
        tasks.push(tokio::spawn(async move {
            holdout_server::api::create_user(
                &state,
                &format!("user{k}"),
                "a long password",
                holdout_server::api::Role::Competitor,
                "test",
            )
            .await
            .map(|_| ())
            .map_err(|e| e.message)
        }));
    }
    for k in 0..8 {
        let (s, v) = h.upload(Who::A, &submission(0.05 * f64::from(k) + 0.1, k as usize), "").await;
        assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    h.drain().await;
    let stuck: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM submissions WHERE status <> 'scored'")
        .fetch_one(&h.state.pool)
        .await
        .unwrap();
    assert_eq!(stuck, 0);
    for w in more {
        w.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn judges_score_the_finalists_and_the_final_ranking_combines_them() {
    let h = Harness::new().await;
    // Both teams submit in the final phase (the final ranking uses the last phase's board).
    h.set_time("2024-10-25T00:00:00Z");
    h.scored(Who::A, &submission(0.7, 1)).await;
    h.scored(Who::B, &submission(0.3, 2)).await;
    let (s, _) = h.call(Who::Org, "PATCH", "/contests/tiny", Some(json!({"rubric_weight": 0.5, "finalists": 2}))).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        h.call(Who::Org, "PATCH", "/contests/tiny", Some(json!({"rubric_weight": 1.5}))).await.0,
        StatusCode::BAD_REQUEST
    );
    let (a, b) = (h.team_a, h.team_b);
    let rubric = |team: i64| format!("/contests/tiny/rubric/{team}");
    assert_eq!(
        h.call(Who::A, "PUT", &rubric(a), Some(json!({"score": 90}))).await.0,
        StatusCode::FORBIDDEN,
        "competitors do not judge"
    );
    assert_eq!(
        h.call(Who::Org, "PUT", &rubric(a), Some(json!({"score": 90}))).await.0,
        StatusCode::FORBIDDEN,
        "judges judge"
    );
    assert_eq!(h.call(Who::Judge, "PUT", &rubric(a), Some(json!({"score": 101}))).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(
        h.call(Who::Judge, "PUT", &rubric(9999), Some(json!({"score": 50}))).await.0,
        StatusCode::BAD_REQUEST,
        "not a finalist"
    );
    assert_eq!(
        h.call(Who::Judge, "PUT", &rubric(a), Some(json!({"score": 20, "comment": "thin write-up"}))).await.0,
        StatusCode::OK
    );
    assert_eq!(h.call(Who::Judge, "PUT", &rubric(b), Some(json!({"score": 100}))).await.0, StatusCode::OK);
    assert_eq!(h.audited("rubric.score", &format!("team:{a}")).await, 1);
    // A competitor sees the final ranking only after the reveal.
    assert_eq!(h.call(Who::A, "GET", "/contests/tiny/final", None).await.0, StatusCode::FORBIDDEN);
    let (s, v) = h.call(Who::Judge, "GET", "/contests/tiny/final", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["my_scores"][a.to_string()]["comment"], "thin write-up");
    let rows = v["rows"].as_array().unwrap();
    // A leads the private board (100 points) but its write-up scored 20: 60; B: 0 points, 100 → 50.
    assert_eq!((rows[0]["team"].as_str(), rows[0]["combined"].as_f64()), (Some("Team A"), Some(60.0)), "{v}");
    assert_eq!((rows[1]["team"].as_str(), rows[1]["combined"].as_f64()), (Some("Team B"), Some(50.0)));
    h.set_time("2024-11-04T00:00:00Z");
    assert_eq!(h.call(Who::Org, "POST", "/contests/tiny/reveal", None).await.0, StatusCode::OK);
    let (s, v) = h.call(Who::A, "GET", "/contests/tiny/final", None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["my_scores"].as_object().unwrap().is_empty());
}

/// Two service replicas over one database: 20 uploads of one team at once, half through each,
/// with 3 left today → exactly 3 accepted, the rest refused as over quota (no write mutex is
/// shared between them: the quota holds in the database's write transaction); the audit chain
/// verifies afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_quota_holds_for_parallel_uploads_through_two_replicas() {
    let h = Harness::new().await;
    for w in &h.workers {
        w.abort();
    }
    let second = harness::state_at(h.dir.path(), h.clock.clone()).await;
    let files: Vec<String> = (0..20).map(|k| submission(0.01 * k as f64 + 0.3, 100 + k)).collect();
    let mut tasks = tokio::task::JoinSet::new();
    for (k, file) in files.into_iter().enumerate() {
        let state = if k % 2 == 0 { h.state.clone() } else { second.clone() };
        tasks.spawn(harness::upload_to(state, h.token(Who::A).map(str::to_owned), file, String::new()));
    }
    let answers = tasks.join_all().await;
    let accepted = answers.iter().filter(|(s, _)| *s == StatusCode::ACCEPTED).count();
    let refused: Vec<&Value> =
        answers.iter().filter(|(s, _)| *s == StatusCode::TOO_MANY_REQUESTS).map(|(_, v)| v).collect();
    assert_eq!((accepted, refused.len()), (3, 17), "{answers:?}");
    assert!(refused.iter().all(|v| v["error"]["code"] == "quota_exhausted"), "{refused:?}");
    let (_, q) = h.call(Who::A, "GET", "/contests/tiny/quota", None).await;
    assert_eq!(q["used_today"], 3, "{q}");
    let uploads = holdout_server::db::entries(&h.state.pool)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.event.action == "submission.upload")
        .count();
    assert_eq!(uploads, 3);
    holdout_server::db::audit_log::verify(&second.pool).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_the_security_headers() {
    let h = Harness::new().await;
    for path in ["/", "/login", "/contests/tiny", "/static/holdout.js", "/api/v1/contests", "/api/v1/nowhere"] {
        let (status, _, headers) = h.send(Request::get(path).body(Body::empty()).unwrap()).await;
        let csp = headers.get("content-security-policy").map(|v| v.to_str().unwrap().to_owned());
        let csp = csp.unwrap_or_else(|| panic!("{path} ({status}): no Content-Security-Policy"));
        for directive in ["default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"] {
            assert!(csp.contains(directive), "{path}: {csp}");
        }
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{path}: {csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "same-origin", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
    }
}

/// A multipart upload of `file` by `who` to `path` (which may carry `?lang=`), with extra
/// headers.
async fn upload_with(h: &Harness, who: Who, path: &str, headers: &[(&str, &str)], file: &str) -> (StatusCode, Value) {
    let boundary = "XyZzY";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"s.csv\"\r\nContent-Type: text/csv\r\n\r\n{file}\r\n\
         --{boundary}--\r\n"
    );
    let mut r =
        h.request(who, "POST", path).header("content-type", format!("multipart/form-data; boundary={boundary}"));
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    let (s, bytes, _) = h.send(r.body(Body::from(body)).unwrap()).await;
    (s, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_files_are_explained_as_codes_in_the_asked_language() {
    let h = Harness::new().await;
    let bad = submission(0.6, 3).replacen("r005,", "r004,", 1);
    // `?lang=zh`: the problems in Chinese, with their lines and ids.
    let (s, v) = upload_with(&h, Who::A, "/contests/tiny/submissions?lang=zh", &[], &bad).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let id = v["id"].as_i64().unwrap();
    let problems = v["problems"].as_array().unwrap();
    let codes: Vec<&str> = problems.iter().map(|p| p["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["duplicate_id", "missing_predictions"], "{v}");
    let dup = &problems[0];
    assert_eq!(dup["count"], 1);
    assert_eq!(dup["params"], json!({}));
    assert_eq!(dup["examples"][0]["code"], "line_id_first_on");
    assert_eq!(dup["examples"][0]["params"], json!({"line": 7, "id": "r004", "first_line": 6}));
    assert!(dup["message"].as_str().unwrap().contains("重复"), "{v}");
    assert!(dup["message"].as_str().unwrap().contains("第 7 行"), "{v}");
    assert_eq!(problems[1]["examples"][0]["params"], json!({"id": "r005"}));
    let zh = v["message"].as_str().unwrap();
    assert!(zh.contains("第 7 行") && zh.contains("r004") && zh.contains("r005"), "{zh}");
    // Nothing hidden: no label, no public/private membership.
    let said = format!("{}{}", v["problems"], v["message"]);
    for hidden in ["public", "private", "usage", "公开", "私有"] {
        assert!(!said.contains(hidden), "{said}");
    }

    // The same submission read back: English by default, Chinese by `Accept-Language`, `?lang=`
    // first; the codes and parameters the same.
    let path = format!("/contests/tiny/submissions/{id}");
    let (_, en) = h.call(Who::A, "GET", &path, None).await;
    assert!(en["message"].as_str().unwrap().contains("line 7"), "{en}");
    assert_eq!(en["problems"][0]["examples"][0]["params"], dup["examples"][0]["params"]);
    let get = |q: &str, accept: &str| {
        let r = h.request(Who::A, "GET", &format!("{path}{q}")).header("accept-language", accept);
        r.body(Body::empty()).unwrap()
    };
    let (_, bytes, _) = h.send(get("", "fr-FR, zh-CN;q=0.8, en;q=0.5")).await;
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["message"], zh);
    let (_, bytes, _) = h.send(get("?lang=en", "zh-CN")).await;
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["message"], en["message"]);
    // `lang` is accepted beside a route's own query parameters.
    let (s, v) = h.call(Who::A, "GET", "/contests/tiny/submissions?phase=preliminary&lang=zh", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["submissions"][0]["message"], zh);

    // A rescore finds the problems again through the worker (against the solution's ids).
    let (s, _) = h.call(Who::Org, "POST", &format!("{path}/rescore"), None).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    h.drain().await;
    let (_, v) = h.call(Who::A, "GET", &format!("{path}?lang=zh"), None).await;
    assert_eq!(v["status"], "invalid");
    assert_eq!(v["message"], zh);
    let entries = holdout_server::db::entries(&h.state.pool).await.unwrap();
    let status = entries.iter().rev().find(|e| e.event.action == "submission.status").unwrap();
    assert!(status.event.detail.contains("\"duplicate_id\""), "{}", status.event.detail);

    // A row refused before problems were stored shows its English message in any language.
    sqlx::query("UPDATE submissions SET problems = NULL, message = 'duplicate ids: line 7' WHERE id = $1")
        .bind(id)
        .execute(&h.state.pool)
        .await
        .unwrap();
    let (_, v) = h.call(Who::A, "GET", &format!("{path}?lang=zh"), None).await;
    assert_eq!(v["message"], "duplicate ids: line 7");
    assert_eq!(v["problems"], json!([]));
}

/// A login from `addr`: the status and `Retry-After`.
async fn log_in_from(
    state: &holdout_server::AppState,
    addr: &str,
    name: &str,
    password: &str,
) -> (StatusCode, Option<i64>) {
    let peer: std::net::SocketAddr = std::net::SocketAddr::new(addr.parse().unwrap(), 40_000);
    let r = Request::post("/api/v1/sessions")
        .header("content-type", "application/json")
        .extension(axum::extract::ConnectInfo(peer))
        .body(Body::from(json!({"name": name, "password": password}).to_string()))
        .unwrap();
    let response = tower::ServiceExt::oneshot(holdout_server::router(state.clone()), r).await.unwrap();
    let retry = response.headers().get("retry-after").map(|v| v.to_str().unwrap().parse().unwrap());
    (response.status(), retry)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_back_off_exponentially_and_the_counts_survive_a_restart() {
    let h = Harness::new().await;
    let ip = "192.0.2.1";
    // 20 wrong passwords for alice from one address, each tried once the previous wait is
    // over: 5 free, then 1 s, 2 s, 4 s … capped at an hour.
    let mut wait = 0;
    for n in 1..=20i64 {
        advance(&h.clock, wait);
        let (s, retry) = log_in_from(&h.state, ip, "alice", "wrong password").await;
        if n <= 5 {
            assert_eq!((s, retry), (StatusCode::UNAUTHORIZED, None), "failure {n}");
        } else {
            let expected = (1i64 << (n - 6)).min(3600);
            assert_eq!((s, retry), (StatusCode::TOO_MANY_REQUESTS, Some(expected)), "failure {n}");
            wait = expected;
        }
    }
    assert_eq!(h.audited("session.throttled", "account:alice").await, 15);
    // During the back-off even the right password is refused, and nothing is counted.
    let (s, retry) = log_in_from(&h.state, ip, "alice", "a long password").await;
    assert_eq!((s, retry), (StatusCode::TOO_MANY_REQUESTS, Some(3600)));
    advance(&h.clock, 1800);
    // A restart: a new service on the same data directory keeps the counts.
    let restarted = harness::state_at(h.dir.path(), h.clock.clone()).await;
    let (s, retry) = log_in_from(&restarted, ip, "alice", "a long password").await;
    assert_eq!((s, retry), (StatusCode::TOO_MANY_REQUESTS, Some(1800)));
    // Lifted when the wait is over: the right password gets in and clears the account's count.
    advance(&h.clock, 1800);
    let (s, _) = log_in_from(&restarted, ip, "alice", "a long password").await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, retry) = log_in_from(&h.state, ip, "alice", "wrong password").await;
    assert_eq!((s, retry), (StatusCode::UNAUTHORIZED, None));

    // Or lifted by an organizer, who sees it first; no one else may.
    for _ in 0..5 {
        log_in_from(&h.state, ip, "alice", "wrong password").await;
    }
    let (s, _) = log_in_from(&h.state, ip, "alice", "a long password").await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    let (s, v) = h.call(Who::Org, "GET", "/throttles", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let alice = v["throttles"].as_array().unwrap().iter().find(|t| t["name"] == "alice").unwrap().clone();
    assert_eq!(alice["scope"], "account");
    assert_eq!(alice["failures"], 6);
    assert_eq!(alice["retry_after"], 1);
    let address = v["throttles"].as_array().unwrap().iter().find(|t| t["name"] == ip).unwrap().clone();
    assert_eq!((address["scope"].as_str(), address["blocked_until"].is_null()), (Some("address"), true), "{v}");
    for who in [Who::A, Who::Judge] {
        assert_eq!(h.call(who, "GET", "/throttles", None).await.0, StatusCode::FORBIDDEN);
        assert_eq!(h.call(who, "DELETE", "/throttles/account/alice", None).await.0, StatusCode::FORBIDDEN);
    }
    assert_eq!(h.call(Who::Org, "DELETE", "/throttles/account/alice", None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(h.call(Who::Org, "DELETE", "/throttles/account/alice", None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(h.audited("session.throttle_lift", "account:alice").await, 1);
    let (s, _) = log_in_from(&h.state, ip, "alice", "a long password").await;
    assert_eq!(s, StatusCode::CREATED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_many_accounts_from_one_address_is_throttled_by_address() {
    let h = Harness::new().await;
    let ip = "198.51.100.7";
    // One wrong password for each of 30 names (existing or not): no account is blocked, but
    // the address is after its 30 free failures.
    for n in 0..30 {
        let (s, _) = log_in_from(&h.state, ip, &format!("user{n}"), "wrong password").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "attempt {n}");
    }
    let (s, retry) = log_in_from(&h.state, ip, "bob", "wrong password").await;
    assert_eq!((s, retry), (StatusCode::TOO_MANY_REQUESTS, Some(1)));
    assert_eq!(h.audited("session.throttled", &format!("address:{ip}")).await, 1);
    assert_eq!(h.audited("session.throttled", "account:bob").await, 0);
    // Any account from that address waits; the same account from elsewhere does not.
    let (s, _) = log_in_from(&h.state, ip, "alice", "a long password").await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    let (s, _) = log_in_from(&h.state, "203.0.113.9", "alice", "a long password").await;
    assert_eq!(s, StatusCode::CREATED);
    // API tokens from the blocked address are refused too (a right guess included).
    let peer = std::net::SocketAddr::new(ip.parse().unwrap(), 1);
    let r = h.request(Who::A, "GET", "/users/me").extension(axum::extract::ConnectInfo(peer));
    let (s, _, headers) = h.send(r.body(Body::empty()).unwrap()).await;
    assert_eq!((s, headers.get("retry-after").is_some()), (StatusCode::TOO_MANY_REQUESTS, true));
    // Unknown tokens count against their address like wrong passwords.
    let other = std::net::SocketAddr::new("203.0.113.50".parse().unwrap(), 1);
    for n in 1..=31 {
        let r = Request::get("/api/v1/users/me")
            .header("authorization", format!("Bearer hol_guess{n}"))
            .extension(axum::extract::ConnectInfo(other))
            .body(Body::empty())
            .unwrap();
        let (s, _, _) = h.send(r).await;
        let want = if n <= 30 { StatusCode::UNAUTHORIZED } else { StatusCode::TOO_MANY_REQUESTS };
        assert_eq!(s, want, "token guess {n}");
    }
    // A second later the address may try again.
    advance(&h.clock, 1);
    let (s, _) = log_in_from(&h.state, ip, "alice", "a long password").await;
    assert_eq!(s, StatusCode::CREATED);
}

/// The load balancer's probes: plain text, no credentials, the security headers of every
/// response; `/readyz` is 503 naming the migration the database lacks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_and_readyz_answer_without_credentials_and_readyz_names_a_missing_migration() {
    let h = Harness::new().await;
    let get = |path: &str| Request::get(path).body(Body::empty()).unwrap();
    let (s, body, headers) = h.send(get("/healthz")).await;
    assert_eq!((s, body.as_slice()), (StatusCode::OK, b"ok\n".as_slice()));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(headers.contains_key("content-security-policy"));
    let (s, body, headers) = h.send(get("/readyz")).await;
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(headers["x-frame-options"], "DENY");
    // Not under the API, and no session or token is looked at (a bad one changes nothing).
    let r = Request::get("/healthz").header("authorization", "Bearer hol_nope").body(Body::empty()).unwrap();
    assert_eq!(h.send(r).await.0, StatusCode::OK);
    assert_eq!(h.send(get("/api/v1/healthz")).await.0, StatusCode::NOT_FOUND);

    sqlx::query("DELETE FROM schema_migrations WHERE version = 11").execute(&h.state.pool).await.unwrap();
    let (s, body, _) = h.send(get("/readyz")).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    let body = String::from_utf8_lossy(&body);
    assert!(body.contains("migrations not applied: 0011_login_throttle"), "{body}");
    // Alive all the same.
    assert_eq!(h.send(get("/healthz")).await.0, StatusCode::OK);
}

/// `/metrics`: staff only on the main listener; requests counted by route template (no ids),
/// the queue read at scrape time, a scored submission in the scoring histogram.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_for_staff_and_count_routes_queue_and_scoring() {
    let h = Harness::new().await;
    let metrics = |who: Who| {
        let mut r = Request::get("/metrics");
        if let Some(t) = h.token(who) {
            r = r.header("authorization", format!("Bearer {t}"));
        }
        r.body(Body::empty()).unwrap()
    };
    // Refused as the API refuses: the JSON error body with its code.
    for (who, status, code) in
        [(Who::Anon, StatusCode::UNAUTHORIZED, "unauthorized"), (Who::A, StatusCode::FORBIDDEN, "forbidden")]
    {
        let (s, body, headers) = h.send(metrics(who)).await;
        assert_eq!(s, status, "{who:?}");
        assert_eq!(headers["content-type"], "application/json", "{who:?}");
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error"]["code"], code, "{v}");
        assert!(v["error"]["message"].is_string(), "{v}");
    }
    let bad = Request::get("/metrics").header("authorization", "Bearer nonsense").body(Body::empty()).unwrap();
    let (s, body, _) = h.send(bad).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(serde_json::from_slice::<Value>(&body).unwrap()["error"]["code"], "unauthorized");
    h.scored(Who::A, &submission(0.5, 1)).await;
    let (s, _) = h.call(Who::A, "GET", "/contests/tiny/submissions/1", None).await;
    assert_eq!(s, StatusCode::OK);
    h.call(Who::A, "GET", "/contests/tiny/leaderboard", None).await;
    h.call(Who::A, "GET", "/contests/tiny/leaderboard", None).await;
    for who in [Who::Judge, Who::Org] {
        let (s, body, headers) = h.send(metrics(who)).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        let text = String::from_utf8(body).unwrap();
        for line in [
            "holdout_http_requests_total{route=\"/api/v1/contests/{contest}/submissions/{id}\",status=\"200\"}",
            "holdout_http_requests_total{route=\"/metrics\",status=\"403\"} 1\n",
            "holdout_http_requests_total{route=\"/metrics\",status=\"401\"} 2\n",
            "holdout_submissions{status=\"queued\"} 0\n",
            "holdout_submissions{status=\"scored\"} ",
            "holdout_scoring_seconds_count 1\n",
            "holdout_scoring_seconds_bucket{le=\"+Inf\"} 1\n",
            "holdout_board_cache_hits_total ",
            "holdout_lease_reclaims_total 0\n",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
        assert!(!text.contains("/contests/tiny"), "a raw path reached a label:\n{text}");
        assert!(!text.contains("holdout_board_cache_misses_total 0\n"), "{text}");
    }
}

/// `leaderboard/openapi.json` is the document the code generates.
#[test]
fn the_committed_openapi_document_is_the_generated_one() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../leaderboard/openapi.json");
    let committed = std::fs::read_to_string(&path).unwrap();
    let generated = holdout_server::api::doc::document_text();
    assert!(
        committed == generated,
        "leaderboard/openapi.json is not the document the code generates; regenerate it with\n    \
         cargo run --release -p holdout-cli -- openapi --write leaderboard/openapi.json"
    );
}

/// A problem's and an example's `code` are enums in the document: exactly the codes the
/// validator can produce (holdout-score's catalogue, which its own test holds equal to every
/// `Kind` and `Example`).
#[test]
fn problem_codes_are_enums_of_every_code_the_validator_produces() {
    let schemas = &CONTRACT.doc["components"]["schemas"];
    for (schema, codes) in [
        ("ProblemView", holdout_score::problem::problem_codes()),
        ("ExampleView", holdout_score::problem::example_codes()),
    ] {
        let listed: Vec<&str> = schemas[schema]["properties"]["code"]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{schema}.code is not an enum"))
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(listed, codes, "{schema}");
    }
    assert!(holdout_score::problem::problem_codes().contains(&"duplicate_id"));
}

/// No response is described as a bare object (one that lists no properties) except the
/// document itself and a problem's free-form parameters: the contract check holds every other
/// body to its fields.
#[test]
fn no_response_is_described_as_a_bare_object() {
    fn bare(v: &Value, at: &str, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                let object = m
                    .get("type")
                    .is_some_and(|t| t == "object" || t.as_array().is_some_and(|a| a.contains(&json!("object"))));
                if object
                    && !m.contains_key("properties")
                    && !m.contains_key("additionalProperties")
                    && !m.contains_key("allOf")
                    && !m.contains_key("oneOf")
                {
                    out.push(at.to_owned());
                }
                for (k, v) in m {
                    bare(v, &format!("{at}/{k}"), out);
                }
            }
            Value::Array(list) => {
                for (i, v) in list.iter().enumerate() {
                    bare(v, &format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
    }
    let doc = &CONTRACT.doc;
    let mut found = Vec::new();
    bare(&doc["components"], "#/components", &mut found);
    for (path, item) in doc["paths"].as_object().unwrap() {
        if path == "/openapi.json" {
            continue;
        }
        for (method, op) in item.as_object().unwrap() {
            bare(&op["responses"], &format!("{method} {path}"), &mut found);
        }
    }
    found.retain(|at| !at.ends_with("/properties/params"));
    assert!(found.is_empty(), "bare objects: {found:#?}");
}

/// Handlers, pages and the CLI contain no SQL: every statement is a typed function in
/// `src/db/` (issue 15). Scans their sources (tests excepted) for sqlx's statement builders
/// and for SQL in string literals.
#[test]
fn no_sql_outside_the_storage_layer() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dirs = [root.join("src/api"), root.join("src/web"), root.join("../holdout-cli/src")];
    let needles = [
        "sqlx::query",
        "sqlx::raw_sql",
        "query_scalar",
        "query_as",
        "AssertSqlSafe",
        "\"SELECT ",
        "\"INSERT INTO",
        "\"UPDATE ",
        "\"DELETE FROM",
        "\"CREATE ",
        "\"PRAGMA",
    ];
    let mut scanned = 0;
    let mut found = Vec::new();
    let mut pending: Vec<std::path::PathBuf> = dirs.to_vec();
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            scanned += 1;
            let text = std::fs::read_to_string(&path).unwrap();
            // A file's unit tests may set up rows directly.
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            for (n, line) in code.lines().enumerate() {
                if needles.iter().any(|needle| line.contains(needle)) {
                    found.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(scanned > 20, "only {scanned} source files found: the scan looks in the wrong place");
    assert!(found.is_empty(), "SQL outside src/db/ (move it into a typed function there): {found:#?}");
}

/// Every API route is registered through `routes!` with its `#[utoipa::path]`, so nothing is
/// served that the document does not describe; operation ids are unique; every error code is
/// in the error body's schema.
#[test]
fn every_api_route_is_in_the_document() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains(".route("),
            "{}: an API route added with axum's `.route` is not in the OpenAPI document; \
             annotate the handler with #[utoipa::path] and add it with `.routes(routes!(…))` in api_routes",
            path.display()
        );
    }
    let doc = &CONTRACT.doc;
    let mut ids: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .filter_map(|op| op["operationId"].as_str())
        .collect();
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n, "operation ids repeat");
    assert_eq!(n, CONTRACT.operations.len(), "an operation without an id");
    let codes = doc["components"]["schemas"]["ErrorCode"]["enum"].as_array().unwrap();
    for code in ["board_hidden", "bad_credentials", "no_team", "quota_exhausted", "internal"] {
        assert!(codes.contains(&json!(code)), "{code} is not in the document's ErrorCode");
    }
}

/// The contract check itself catches drift: an undeclared status, content type or field.
#[test]
fn the_contract_check_catches_drift() {
    let json_type = |ct: &str| {
        let mut h = axum::http::HeaderMap::new();
        h.insert("content-type", ct.parse().unwrap());
        h
    };
    let me = br#"{"id": 1, "name": "ada", "role": "competitor"}"#;
    let check = |status: u16, ct: &str, body: &[u8]| {
        CONTRACT.check("GET", "/api/v1/users/me", StatusCode::from_u16(status).unwrap(), &json_type(ct), body)
    };
    assert_eq!(check(200, "application/json", me), Ok(()));
    assert!(check(418, "application/json", me).is_err(), "an undeclared status");
    assert!(check(200, "text/plain", me).is_err(), "an undeclared content type");
    assert!(check(200, "application/json", br#"{"id": 1, "name": "ada", "role": "competitor", "x": 1}"#).is_err());
    assert!(check(200, "application/json", br#"{"id": 1, "name": "ada", "role": "king"}"#).is_err());
    let error = br#"{"error": {"code": "no_such_code", "message": "m"}}"#;
    assert!(check(401, "application/json", error).is_err(), "an error code outside the enum");
}
