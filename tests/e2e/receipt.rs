//! Signed score receipts end to end: the real service issues one for a scored submission,
//! `holdout receipt verify` accepts it offline and refuses it tampered, under the wrong key or
//! malformed; after the reveal, `--private DIR SUBMISSION` rescoring reproduces its scores and
//! catches a wrong file, a wrong solution and a score the scorer does not give.

use std::path::Path;

use serde_json::json;

use crate::serve::{http, load, serve, variant};
use crate::{holdout, stderr, stdout};

fn download(url: &str, token: &str) -> (u16, Vec<u8>) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let response = reqwest::Client::new().get(url).bearer_auth(token).send().await.unwrap();
        (response.status().as_u16(), response.bytes().await.unwrap().to_vec())
    })
}

fn verify(receipt: &Path, key: &str, more: &[&str]) -> std::process::Output {
    let receipt = receipt.display().to_string();
    let mut args = vec!["receipt", "verify", &receipt, "--key", key];
    args.extend_from_slice(more);
    holdout(&args)
}

fn set_phase(api: &str, org: &str, phase: &str, starts: &str, ends: &str) {
    let (s, v) =
        http("PUT", &format!("{api}/phases/{phase}"), org, Some(json!({"starts_at": starts, "ends_at": ends})));
    assert_eq!(s, 200, "{v}");
}

#[test]
#[allow(clippy::too_many_lines, reason = "one receipt's story, step by step")]
fn a_receipt_verifies_offline_fails_when_altered_and_rescoring_after_the_reveal_reproduces_it() {
    let dir = tempfile::tempdir().unwrap();
    let (org, alice) = load(dir.path());
    let (bundle, data) = (dir.path().join("ss"), dir.path().join("data"));
    let p = |x: &Path| x.display().to_string();
    let server = serve(&data);
    let api = format!("{}/api/v1/contests/security-sense", server.url);
    set_phase(&api, &org, "final", "2099-01-01T00:00:00+08:00", "2099-02-01T00:00:00+08:00");
    set_phase(&api, &org, "preliminary", "2020-01-01T00:00:00+08:00", "2098-01-01T00:00:00+08:00");
    let (s, v) = http("POST", &format!("{api}/teams"), &alice, Some(json!({"name": "安全小队"})));
    assert_eq!(s, 201, "{v}");
    let file = dir.path().join("first.csv");
    variant(&bundle.join("public/sample_submission.csv"), &file, 0);
    let o = holdout(&[
        "submit",
        "--server",
        &server.url,
        "--contest",
        "security-sense",
        "--token",
        &alice,
        &p(&file),
        "--wait",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (_, list) = http("GET", &format!("{api}/submissions"), &alice, None);
    let submission = list["submissions"][0].clone();
    let id = submission["id"].as_i64().unwrap();
    let (_, contest) = http("GET", &api, &alice, None);
    let key = contest["receipt_key"].as_str().unwrap().to_owned();

    // The receipt as issued at scoring: it verifies, and says what it attests.
    let (s, bytes) = download(&format!("{api}/submissions/{id}/receipt"), &alice);
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&bytes));
    let receipt = dir.path().join("receipt.json");
    std::fs::write(&receipt, &bytes).unwrap();
    let o = verify(&receipt, &key, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let public = submission["public_score"].as_f64().unwrap();
    for expected in [
        "a valid holdout-receipt/1 signed by".to_owned(),
        format!("submission   {id} by team 安全小队"),
        format!("file sha256  {}", submission["sha256"].as_str().unwrap()),
        format!("commitment {}", contest["solution_commitment"]["sha256"].as_str().unwrap()),
        format!("cohen_kappa_quadratic on public: {public}"),
        "no private score: the receipt was issued before the private board was revealed".to_owned(),
    ] {
        assert!(out.contains(&expected), "`{expected}` not in:\n{out}");
    }
    // The key from a file works too.
    let key_file = dir.path().join("key.txt");
    std::fs::write(&key_file, format!("{key}\n")).unwrap();
    assert_eq!(verify(&receipt, &p(&key_file), &[]).status.code(), Some(0));

    // A changed byte of the score, the wrong key, a malformed file, a bad key: refused, named.
    let text = String::from_utf8(bytes.clone()).unwrap();
    let at = text.find("\"sha256\":\"").unwrap() + 10;
    let mut altered = bytes.clone();
    altered[at] = if altered[at] == b'0' { b'1' } else { b'0' };
    let tampered = dir.path().join("tampered.json");
    std::fs::write(&tampered, &altered).unwrap();
    let better = serde_json::to_string(&(public + 0.25)).unwrap();
    let rescored = dir.path().join("rescored.json");
    std::fs::write(
        &rescored,
        text.replacen(
            &format!("\"value\":{}", serde_json::to_string(&public).unwrap()),
            &format!("\"value\":{better}"),
            1,
        ),
    )
    .unwrap();
    let other = holdout_server::receipt::key_hex(&holdout_server::receipt::signing_key([9; 32]).verifying_key());
    let truncated = dir.path().join("truncated.json");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let spaced = dir.path().join("spaced.json");
    std::fs::write(&spaced, text.replacen(",\"signature\"", ", \"signature\"", 1)).unwrap();
    for (file, key, message) in [
        (&tampered, key.as_str(), "the signature does not verify with key"),
        (&rescored, key.as_str(), "the receipt was changed after it was signed"),
        (&receipt, other.as_str(), "the receipt was signed by key"),
        (&truncated, key.as_str(), "not a holdout receipt: EOF while parsing"),
        (&spaced, key.as_str(), "differs from the receipt's canonical form"),
        (&receipt, "not-a-key", "--key: `not-a-key` is neither 64 hex digits nor a file"),
    ] {
        let o = verify(file, key, &[]);
        assert_eq!(o.status.code(), Some(2), "{}: {}", file.display(), stdout(&o));
        assert!(stderr(&o).contains(message), "{message}: {}", stderr(&o));
    }

    // The contest ends; the reveal issues a receipt with the private score.
    set_phase(&api, &org, "preliminary", "2020-01-01T00:00:00+08:00", "2021-01-01T00:00:00+08:00");
    set_phase(&api, &org, "final", "2021-01-02T00:00:00+08:00", "2021-02-01T00:00:00+08:00");
    let (s, v) = http("POST", &format!("{api}/reveal"), &org, None);
    assert_eq!(s, 200, "{v}");
    assert!(v["receipts"].as_u64().unwrap() >= 2, "the team's and the baseline's: {v}");
    let (s, bytes) = download(&format!("{api}/submissions/{id}/receipt"), &alice);
    assert_eq!(s, 200);
    let revealed = dir.path().join("revealed.json");
    std::fs::write(&revealed, &bytes).unwrap();
    let (_, now) = http("GET", &format!("{api}/submissions/{id}"), &alice, None);
    let private = now["private_score"].as_f64().unwrap();

    // Offline, with the published private directory: the commitment, the file, the rescore.
    let published = bundle.join("private");
    let o = verify(&revealed, &key, &["--private", &p(&published), &p(&file)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    for expected in [
        format!("cohen_kappa_quadratic on private: {private}"),
        "salt.txt match the commitment".to_owned(),
        "has the receipt's sha256".to_owned(),
        format!("rescored     public {public}, private {private} — equal to the receipt's"),
    ] {
        assert!(out.contains(&expected), "`{expected}` not in:\n{out}");
    }
    // The earlier receipt rescores too (its public score only).
    let o = verify(&receipt, &key, &["--private", &p(&published), &p(&file)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    // Another file, another solution, or a receipt whose score the scorer does not give: refused.
    let other_file = dir.path().join("other.csv");
    variant(&bundle.join("public/sample_submission.csv"), &other_file, 1);
    let wrong_solution = dir.path().join("wrong-private");
    std::fs::create_dir(&wrong_solution).unwrap();
    std::fs::copy(published.join("salt.txt"), wrong_solution.join("salt.txt")).unwrap();
    let solution = std::fs::read_to_string(published.join("solution.csv")).unwrap();
    std::fs::write(wrong_solution.join("solution.csv"), format!("{solution}\n")).unwrap();
    // Signed with the contest's own key (read from the data directory), so only the rescore can tell.
    let secret = std::fs::read_to_string(data.join("contests/security-sense/keys/receipt.key")).unwrap();
    let signing = holdout_server::receipt::parse_secret(&secret).unwrap();
    let mut lie = holdout_server::receipt::parse(&bytes).unwrap().receipt;
    lie.scores[0].value = Some(public + 0.01);
    let forged = dir.path().join("forged.json");
    std::fs::write(&forged, holdout_server::receipt::sign(&lie, &signing)).unwrap();
    for (receipt, private_dir, file, message) in [
        (&revealed, &published, &other_file, "is not the file the receipt is for"),
        (&revealed, &wrong_solution, &file, "do not match the receipt's solution commitment"),
        (&forged, &published, &file, "rescoring does not reproduce the receipt"),
    ] {
        let o = verify(receipt, &key, &["--private", &p(private_dir), &p(file)]);
        assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
        assert!(stderr(&o).contains(message), "{message}: {}", stderr(&o));
    }
    drop(server);
    let o = holdout(&["audit", "verify", "--data-dir", &p(&data)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}
