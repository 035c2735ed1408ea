//! The website through the router (`oneshot`): every page for every role, in both languages,
//! forms with their CSRF token, and nothing of another team's.

#![allow(clippy::unwrap_used, clippy::many_single_char_names)]

mod harness;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use harness::{Harness, Who, submission};
use serde_json::{Value, json};

/// A browser: its session cookie and CSRF token (none when anonymous).
struct Browser {
    cookie: Option<String>,
    csrf: String,
}

async fn browser(h: &Harness, name: Option<&str>) -> Browser {
    let Some(name) = name else { return Browser { cookie: None, csrf: String::new() } };
    let r = Request::post("/api/v1/sessions")
        .header("content-type", "application/json")
        .body(Body::from(json!({"name": name, "password": "a long password"}).to_string()))
        .unwrap();
    let (s, body, headers) = h.send(r).await;
    assert_eq!(s, StatusCode::CREATED);
    let cookie = headers["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let csrf = serde_json::from_slice::<Value>(&body).unwrap()["csrf_token"].as_str().unwrap().to_owned();
    Browser { cookie: Some(cookie), csrf }
}

impl Browser {
    async fn get(&self, h: &Harness, path: &str) -> (StatusCode, String) {
        let mut r = Request::get(path);
        if let Some(c) = &self.cookie {
            r = r.header("cookie", c);
        }
        let (s, body, _) = h.send(r.body(Body::empty()).unwrap()).await;
        (s, String::from_utf8(body).unwrap())
    }

    async fn post(&self, h: &Harness, path: &str, form: &str) -> (StatusCode, String) {
        let mut r = Request::post(path).header("content-type", "application/x-www-form-urlencoded");
        if let Some(c) = &self.cookie {
            r = r.header("cookie", c);
        }
        let (s, _, headers) = h.send(r.body(Body::from(form.to_owned())).unwrap()).await;
        (s, headers.get("location").map(|l| l.to_str().unwrap().to_owned()).unwrap_or_default())
    }
}

#[test]
fn every_catalogue_key_used_by_a_template_exists_in_both_languages() {
    let keys = holdout_server::web::catalogue_keys();
    let mut used = std::collections::BTreeSet::new();
    for (name, source) in holdout_server::web::TEMPLATES {
        for piece in source.split("t(\"").skip(1).chain(source.split("t('").skip(1)) {
            let key = piece.split(['"', '\'']).next().unwrap();
            if key.ends_with('_') {
                continue; // a prefix completed at run time, listed below
            }
            assert!(keys.contains(&key.to_owned()), "{name}: t(\"{key}\") is not in leaderboard/i18n.toml");
            used.insert(key.to_owned());
        }
    }
    // Keys built at run time: role_*, status_*, phase_* — all present.
    for dynamic in [
        "role_organizer",
        "role_judge",
        "role_competitor",
        "status_queued",
        "status_scoring",
        "status_scored",
        "status_invalid",
        "status_failed",
        "phase_open",
        "phase_upcoming",
        "phase_ended",
    ] {
        assert!(keys.contains(&dynamic.to_owned()), "{dynamic}");
        used.insert(dynamic.to_owned());
    }
    // err_<code>: the API's errors, looked up by code.
    let unused: Vec<&String> = keys.iter().filter(|k| !used.contains(*k) && !k.starts_with("err_")).collect();
    assert!(unused.len() < 25, "catalogue entries no template uses: {unused:?}");
    // Every template parses and renders with an empty context.
    let env = holdout_server::web::environment();
    for (name, _) in holdout_server::web::TEMPLATES {
        env.get_template(name).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_for_every_role_shows_what_it_should_and_nothing_else() {
    let h = Harness::new().await;
    let a = h.scored(Who::A, &submission(0.6, 1)).await;
    let b = h.scored(Who::B, &submission(0.4, 2)).await;
    let (anon, alice, bob, judy, olga) = (
        browser(&h, None).await,
        browser(&h, Some("alice")).await,
        browser(&h, Some("bob")).await,
        browser(&h, Some("judy")).await,
        browser(&h, Some("olga")).await,
    );
    let c = "/contests/tiny";
    // Public pages, in Chinese by default and in English on request.
    for who in [&anon, &alice, &judy] {
        let (s, page) = who.get(&h, "/").await;
        assert_eq!(s, StatusCode::OK);
        assert!(page.contains("<html lang=\"zh-CN\">") && page.contains("测试"), "{page}");
        let (s, page) = who.get(&h, c).await;
        assert_eq!(s, StatusCode::OK);
        assert!(page.contains("赛程（北京时间）") && page.contains("2024-09-02 10:00"), "phases in Asia/Shanghai");
        assert!(page.contains("test.csv") && page.contains("countdown"), "downloads and countdown");
        let key = h.call(Who::Anon, "GET", c, None).await.1["receipt_key"].as_str().unwrap().to_owned();
        assert!(page.contains("评分回执签名公钥（Ed25519）") && page.contains(&key), "the receipt key: {page}");
        let (s, page) = who.get(&h, &format!("{c}/leaderboard")).await;
        assert_eq!(s, StatusCode::OK);
        assert!(page.contains("Team A") && page.contains("Team B") && page.contains("<svg"), "{page}");
        // The page cached for visitors is never shown to someone logged in, and back.
        let logged_in = who.cookie.is_some();
        assert_eq!(page.contains("name=\"_csrf\""), logged_in, "{page}");
    }
    let (_, page) = anon.get(&h, &format!("{c}/leaderboard?lang=en")).await;
    assert!(page.contains("<html lang=\"en\">") && page.contains("Tie band") && page.contains("Public board"));
    // The toggle keeps the rest of the query.
    let (_, page) = judy.get(&h, &format!("{c}/leaderboard?board=private&lang=en")).await;
    assert!(page.contains("?board=private&amp;lang=zh-CN"), "{page}");
    // The private board: hidden from competitors and visitors, shown to judges.
    let (_, page) = alice.get(&h, &format!("{c}/leaderboard?board=private")).await;
    assert!(page.contains("私有榜将在比赛结束后由组织者公布") && !page.contains("<table class=\"board\">"));
    let (_, page) = judy.get(&h, &format!("{c}/leaderboard?board=private")).await;
    assert!(page.contains("名次变化") && page.contains("Team A"), "{page}");

    // A competitor's own pages: their submissions only.
    let (s, page) = alice.get(&h, &format!("{c}/submissions")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains(&format!("select_{}", a["id"])) && !page.contains(&format!("select_{}\"", b["id"])),
        "{page}"
    );
    assert!(!page.contains(b["sha256"].as_str().unwrap()));
    // A receipt link per scored submission of the team's, which the browser's session fetches.
    let link = |id: &Value| format!("/api/v1{c}/submissions/{id}/receipt");
    assert!(page.contains(&format!("href=\"{}\"", link(&a["id"]))) && !page.contains(&link(&b["id"])), "{page}");
    assert!(page.contains("评分回执") && page.contains("holdout receipt verify"), "{page}");
    let (s, receipt) = alice.get(&h, &link(&a["id"])).await;
    assert_eq!(s, StatusCode::OK);
    assert!(receipt.starts_with("{\"receipt\":{\"format\":\"holdout-receipt/1\""), "{receipt}");
    assert_eq!(alice.get(&h, &link(&b["id"])).await.0, StatusCode::NOT_FOUND);
    let (_, page) = alice.get(&h, &format!("{c}/submissions?lang=en")).await;
    assert!(page.contains("Receipt") && page.contains("signed with the contest"), "{page}");
    let (s, page) = alice.get(&h, &format!("{c}/submit")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains("enctype=\"multipart/form-data\"")
            && page.contains("id,probability")
            && page.contains("今天剩余")
    );
    let (s, page) = alice.get(&h, &format!("{c}/team")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("Team A") && page.contains("alice") && !page.contains("bob"));
    // Anonymous visitors are sent to log in; staff pages are 404 for competitors.
    for path in ["submissions", "submit", "team"] {
        let (s, _) = anon.get(&h, &format!("{c}/{path}")).await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{path}");
    }
    for path in [format!("{c}/review"), format!("{c}/review/{}", a["id"]), format!("{c}/console")] {
        assert_eq!(alice.get(&h, &path).await.0, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(anon.get(&h, &path).await.0, StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(judy.get(&h, &format!("{c}/console")).await.0, StatusCode::NOT_FOUND);
    let (s, _) = alice.get(&h, "/audit").await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Judges' review: every team's submissions, details with history and scores on all subsets.
    let (s, page) = judy.get(&h, &format!("{c}/review")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("Team A") && page.contains("Team B"));
    let (s, page) = judy.get(&h, &format!("{c}/review/{}", b["id"])).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains(b["sha256"].as_str().unwrap())
            && page.contains("submission.upload")
            && page.contains(">private<"),
        "{page}"
    );
    let (s, page) = judy.get(&h, &format!("{c}/review?a={}&b={}", a["id"], b["id"])).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("A 优于 B 的概率"), "{page}");
    let (s, page) = judy.get(&h, "/audit").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("哈希链完整"));
    // The organizer's console.
    let (s, page) = olga.get(&h, &format!("{c}/console")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("name=\"starts_at\"") && page.contains("公布私有榜") && page.contains("答辩权重"));
    // The final ranking: judges see it (with their scoring forms), competitors not before the reveal.
    let (s, page) = judy.get(&h, &format!("{c}/final")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("综合成绩") && page.contains("评委人数"), "{page}");
    let (_, page) = alice.get(&h, &format!("{c}/final")).await;
    assert!(page.contains("私有榜将在比赛结束后由组织者公布") && !page.contains("name=\"score\""));
    drop(bob);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_need_the_csrf_token_and_act_through_the_api() {
    let h = Harness::new().await;
    let v = h.scored(Who::B, &submission(0.4, 2)).await;
    let (judy, olga, carol) =
        (browser(&h, Some("judy")).await, browser(&h, Some("olga")).await, browser(&h, Some("carol")).await);
    let c = "/contests/tiny";
    let review = format!("{c}/review/{}", v["id"]);
    // Without the token, or with another session's: refused, nothing done.
    let (s, _) = judy.post(&h, &review, "action=disqualify&reason=copied&_csrf=nope").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = judy.post(&h, &review, &format!("action=disqualify&reason=copied&_csrf={}", olga.csrf)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(h.audited("submission.disqualify", &format!("submission:{}", v["id"])).await, 0);
    // A reason is required.
    let (s, to) = judy.post(&h, &review, &format!("action=disqualify&reason=&_csrf={}", judy.csrf)).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(to.contains("error="), "{to}");
    let (s, to) = judy.post(&h, &review, &format!("action=disqualify&reason=copied+code&_csrf={}", judy.csrf)).await;
    assert_eq!((s, to.contains("msg=done")), (StatusCode::SEE_OTHER, true), "{to}");
    assert_eq!(h.audited("submission.disqualify", &format!("submission:{}", v["id"])).await, 1);
    let (_, page) = judy.get(&h, &review).await;
    assert!(page.contains("copied code") && page.contains("恢复资格"));
    // A team through the team page, then an upload through the submit page.
    let (s, _) = carol
        .post(
            &h,
            &format!("{c}/team"),
            &format!("action=create&name=%3Cscript%3Ex%3C%2Fscript%3E&_csrf={}", carol.csrf),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, page) = carol.get(&h, &format!("{c}/team")).await;
    assert!(page.contains("&lt;script&gt;x&lt;") && !page.contains("<script>x"), "team names are escaped");
    let boundary = "B0undary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"s.csv\"\r\nContent-Type: text/csv\r\n\r\n{}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\nfrom the page\r\n--{boundary}--\r\n",
        submission(0.7, 3)
    );
    let r = Request::post(format!("{c}/submit?_csrf={}", carol.csrf))
        .header("cookie", carol.cookie.as_ref().unwrap())
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(Body::from(body))
        .unwrap();
    let (s, _, headers) = h.send(r).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(headers["location"].to_str().unwrap().contains("queued"), "{headers:?}");
    h.drain().await;
    let (_, page) = carol.get(&h, &format!("{c}/submissions")).await;
    assert!(page.contains("from the page") && page.contains("已评分"), "{page}");
    let (_, page) = carol.get(&h, &format!("{c}/leaderboard")).await;
    assert!(page.contains("&lt;script&gt;x&lt;") && !page.contains("<script>x"));
    // The organizer reveals only after the end; the console says why not before.
    let (s, to) = olga.post(&h, &format!("{c}/console"), &format!("action=reveal&_csrf={}", olga.csrf)).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(to.contains("error="), "{to}");
    // Logging out ends the session.
    let (s, _) = carol.post(&h, "/logout", &format!("_csrf={}", carol.csrf)).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(carol.get(&h, &format!("{c}/team")).await.0, StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logging_in_through_the_page_sets_the_cookie_and_never_redirects_off_site() {
    let h = Harness::new().await;
    let anon = browser(&h, None).await;
    let (s, to) = anon.post(&h, "/login", "name=alice&password=a+long+password&next=%2Fcontests%2Ftiny").await;
    assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, "/contests/tiny"));
    let (_, to) = anon.post(&h, "/login", "name=alice&password=a+long+password&next=%2F%2Fevil.example").await;
    assert_eq!(to, "/");
    let r = Request::post("/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("name=alice&password=wrong+password"))
        .unwrap();
    let (s, body, _) = h.send(r).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(
        String::from_utf8(body).unwrap().contains("用户名或密码错误"),
        "API errors are shown in the page's language"
    );
    let (s, to) = anon.post(&h, "/signup", "name=newbie&password=another+long+one").await;
    assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, "/"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_upload_is_explained_in_the_pages_language_and_names_are_shown_for_people() {
    let h = Harness::new().await;
    let alice = browser(&h, Some("alice")).await;
    let c = "/contests/tiny";
    let bad = submission(0.6, 3).replacen("r005,", "r004,", 1);
    let boundary = "B0undary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"s.csv\"\r\nContent-Type: text/csv\r\n\r\n{bad}\r\n--{boundary}--\r\n"
    );
    let r = Request::post(format!("{c}/submit?_csrf={}", alice.csrf))
        .header("cookie", alice.cookie.as_ref().unwrap())
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(Body::from(body))
        .unwrap();
    let (s, _, headers) = h.send(r).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    // The redirect carries the problems in Chinese (the site's default), with lines and ids.
    let to = headers["location"].to_str().unwrap().to_owned();
    let (_, page) = alice.get(&h, &to).await;
    assert!(page.contains("第 7 行") && page.contains("r004") && page.contains("重复"), "{page}");
    // The list says the same in the page's language.
    let (_, page) = alice.get(&h, &format!("{c}/submissions")).await;
    assert!(page.contains("第 7 行") && page.contains("r005"), "{page}");
    let (_, page) = alice.get(&h, &format!("{c}/submissions?lang=en")).await;
    assert!(page.contains("line 7") && page.contains("r005") && !page.contains("第 7 行"), "{page}");
    // Task and metric by their display names, the identifiers kept as titles.
    let (_, page) = alice.get(&h, &format!("{c}?lang=zh")).await;
    assert!(page.contains(">二分类<") && page.contains(">ROC AUC<") && page.contains("title=\"roc_auc\""), "{page}");
    let (_, page) = alice.get(&h, &format!("{c}?lang=en")).await;
    assert!(page.contains(">binary classification<"), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dataset_card_is_html_with_the_readmes_own_html_escaped() {
    let h = Harness::new().await;
    let readme = "# 数据集说明 Dataset card\n\n<script>alert('card')</script>\n\n| 文件 file | 行数 rows |\n|---|---:|\n| `test.csv` | 240 |\n";
    std::fs::write(h.dir.path().join("contests/tiny/public/README.md"), readme).unwrap();
    let anon = browser(&h, None).await;
    let (s, page) = anon.get(&h, "/contests/tiny").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("<h1>数据集说明 Dataset card</h1>"), "{page}");
    assert!(page.contains("<td><code>test.csv</code></td>") && !page.contains("<pre class=\"card-text\">"), "{page}");
    assert!(page.contains("&lt;script&gt;alert(") && !page.contains("<script>alert"), "{page}");
    assert!(!page.contains("style="), "the policy allows no inline style");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_login_says_how_long_to_wait_and_the_organizer_lifts_it_on_the_console() {
    let h = Harness::new().await;
    let login = |password: &'static str| {
        Request::post("/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .extension(axum::extract::ConnectInfo(std::net::SocketAddr::from(([192, 0, 2, 44], 5000))))
            .body(Body::from(format!("name=carol&password={password}")))
            .unwrap()
    };
    for _ in 0..5 {
        assert_eq!(h.send(login("wrong+password")).await.0, StatusCode::UNAUTHORIZED);
    }
    let (s, body, headers) = h.send(login("wrong+password")).await;
    assert_eq!((s, headers["retry-after"].to_str().unwrap()), (StatusCode::TOO_MANY_REQUESTS, "1"));
    assert!(String::from_utf8(body).unwrap().contains("登录失败次数过多，请 1 秒后再试"));
    assert_eq!(h.send(login("a+long+password")).await.0, StatusCode::TOO_MANY_REQUESTS);
    let olga = browser(&h, Some("olga")).await;
    let (_, page) = olga.get(&h, "/contests/tiny/console").await;
    assert!(page.contains("登录限制") && page.contains("<code>carol</code>") && page.contains("192.0.2.44"), "{page}");
    let (s, to) = olga
        .post(&h, "/contests/tiny/console", &format!("action=lift&scope=account&key=carol&_csrf={}", olga.csrf))
        .await;
    assert_eq!((s, to.contains("msg=done")), (StatusCode::SEE_OTHER, true), "{to}");
    assert_eq!(h.audited("session.throttle_lift", "account:carol").await, 1);
    assert_eq!(h.send(login("a+long+password")).await.0, StatusCode::SEE_OTHER);
}
