//! The API's `OpenAPI` 3.1 document, generated: each handler carries its `#[utoipa::path]`
//! (path, parameters, body, every status it answers), `router` registers the handlers through
//! `utoipa_axum::routes!` so a route and its description are one entry, and this module holds
//! what the handlers do not name themselves: the shapes of the JSON bodies they build with
//! `json!` (described here and held to what the handlers send by the service tests, which
//! validate every response against the document), the path parameters, the reusable error
//! responses, and [`Common`], which adds to every operation the answers that the shared
//! extractors give (malformed JSON bodies, query strings, internal errors).
//!
//! `holdout openapi` prints [`document`]; `leaderboard/openapi.json` is that output, and a test
//! fails when they differ.

use std::collections::BTreeMap;

use utoipa::openapi::Required;
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, ToResponse, ToSchema};

use crate::error::ErrorBody;

/// The document: the operations registered by [`super::router`]'s route list, with
/// [`Common`] applied. Built once per call (the server keeps the serialized text).
pub fn document() -> OpenApi {
    let mut doc = super::api_routes().into_openapi();
    Common.modify(&mut doc);
    doc
}

/// The document as `holdout openapi` prints it and `leaderboard/openapi.json` holds it.
pub fn document_text() -> String {
    let mut text = document().to_pretty_json().expect("the OpenAPI document serializes");
    text.push('\n');
    text
}

#[derive(Debug, utoipa::OpenApi)]
#[openapi(
    info(
        title = "holdout leaderboard API",
        description = include_str!("doc.md"),
        license(name = "MIT OR Apache-2.0"),
    ),
    servers((url = "/api/v1")),
    tags(
        (name = "accounts", description = "Users, sessions and API tokens."),
        (name = "contests", description = "Contest overview, files, settings, phases, reveal and the audit log."),
        (name = "teams", description = "Teams and invites."),
        (name = "submissions", description = "Uploads, quotas, selections, signed score receipts and the judges' tools."),
        (name = "boards", description = "Leaderboards, snapshots and the final ranking."),
        (name = "meta", description = "This document."),
    ),
    components(schemas(crate::error::ErrorCode), responses(Unauthorized, NotFound, Internal)),
)]
pub struct Base;

/// What every operation shares, added from what the operation declares: security schemes;
/// `500`; for a JSON request body the extractor's `400` (syntax), `413` (over 64 KiB), `415`
/// (not `application/json`) and `422` (wrong shape, unknown field, not an object); `400` for
/// malformed query parameters; `404` for path parameters that do not parse.
#[derive(Debug)]
pub struct Common;

impl Modify for Common {
    fn modify(&self, doc: &mut OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearerAuth",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API token from POST /tokens: `Authorization: Bearer <token>`. No CSRF header needed.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "cookieAuth",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                super::SESSION_COOKIE,
                "The session cookie set by POST /sessions (HttpOnly, SameSite=Lax).",
            ))),
        );
        components.add_security_scheme(
            "csrfToken",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-CSRF-Token",
                "The `csrf_token` of the login response; required with the session cookie on unsafe \
                 methods (anything but GET, HEAD, OPTIONS), else 403 `forbidden`.",
            ))),
        );
        // Anonymous, a bearer token, or a session cookie (with its CSRF header on unsafe
        // methods); each operation says what it needs of the caller.
        doc.security = Some(vec![
            SecurityRequirement::default(),
            SecurityRequirement::new("bearerAuth", Vec::<String>::new()),
            SecurityRequirement::new("cookieAuth", Vec::<String>::new()).add("csrfToken", Vec::<String>::new()),
        ]);
        for item in doc.paths.paths.values_mut() {
            let unsafe_methods = [&mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
            for op in unsafe_methods.into_iter().flatten() {
                add_common(op, true);
            }
            if let Some(op) = &mut item.get {
                add_common(op, false);
            }
        }
    }
}

fn error_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", Content::new(Some(Ref::from_schema_name("ErrorBody"))))
        .build()
}

/// Adds `status` (or, when the operation declares it already, appends `why` to its
/// description).
fn add(op: &mut Operation, status: &str, why: &str) {
    let responses = &mut op.responses.responses;
    match responses.get_mut(status) {
        Some(RefOr::T(r)) => {
            if !r.description.contains(why) {
                r.description = format!("{} Also: {why}", r.description);
            }
        }
        Some(RefOr::Ref(_)) => {}
        None => {
            responses.insert(status.to_owned(), RefOr::T(error_response(why)));
        }
    }
}

fn add_common(op: &mut Operation, unsafe_method: bool) {
    let json_body = matches!(&op.request_body, Some(RefOr::T(b)) if b.content.contains_key("application/json"));
    if json_body {
        add(op, "400", "The body is not valid JSON.");
        add(op, "413", "The body is larger than 64 KiB.");
        add(op, "415", "The body is not sent as `Content-Type: application/json`.");
        add(op, "422", "The JSON body is not an object of the declared shape (missing or unknown field, wrong type).");
    }
    let params: Vec<ParameterIn> = op
        .parameters
        .iter()
        .flatten()
        .filter_map(|p| match p {
            RefOr::T(p) => Some(p.parameter_in.clone()),
            RefOr::Ref(_) => None,
        })
        .collect();
    if params.contains(&ParameterIn::Query) {
        add(op, "400", "A query parameter is unknown or of the wrong type.");
    }
    if params.contains(&ParameterIn::Path) {
        add(op, "404", "A path parameter does not parse (e.g. an id that is not an integer).");
    }
    // An operation that reads credentials (it answers the shared `Unauthorized`), called with a
    // session cookie by an unsafe method, needs the session's CSRF header.
    let reads_credentials = matches!(op.responses.responses.get("401"), Some(RefOr::Ref(_)));
    if unsafe_method && reads_credentials {
        add(op, "403", "A session cookie without its `X-CSRF-Token` header.");
    }
    if reads_credentials {
        add(
            op,
            "429",
            "Too many unknown API tokens from the address (`throttled`); `Retry-After` says how long to wait.",
        );
    }
    if op.operation_id.as_deref() != Some("get_openapi") {
        op.responses.responses.entry("500".into()).or_insert_with(|| RefOr::Ref(Ref::from_response_name("Internal")));
    }
    // Every operation takes the language its messages for people are written in (a refused
    // file's problems; everything else is language-neutral): `?lang=`, then the header.
    let parameters = op.parameters.get_or_insert_with(Vec::new);
    parameters.push(RefOr::T(
        ParameterBuilder::new()
            .name("lang")
            .parameter_in(ParameterIn::Query)
            .required(Required::False)
            .description(Some("The language of messages for people: `zh` or `en` (before `Accept-Language`)."))
            .schema(Some(ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["zh", "en"]))))
            .build(),
    ));
    parameters.push(RefOr::T(
        ParameterBuilder::new()
            .name("Accept-Language")
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some("Used when `lang` is not given: the first of `zh`/`en` it prefers; else English."))
            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
            .build(),
    ));
}

// Reusable error responses.

/// Not logged in (where a login is needed), or bad credentials: a malformed `Authorization`
/// header, an unknown or revoked API token, or an ended or expired session (`session_expired`).
/// Bad credentials answer 401 on every route that reads them, even public ones.
#[derive(Debug, ToResponse)]
#[response(content_type = "application/json")]
pub struct Unauthorized(pub ErrorBody);

/// No such resource, or one the caller may not see.
#[derive(Debug, ToResponse)]
#[response(content_type = "application/json")]
pub struct NotFound(pub ErrorBody);

/// Internal error (logged in full; the message is generic).
#[derive(Debug, ToResponse)]
#[response(content_type = "application/json")]
pub struct Internal(pub ErrorBody);

/// Path parameters, one set per route shape (these types only describe them: the handlers
/// read them as tuples).
pub mod params {
    use utoipa::IntoParams;

    #[derive(Debug, IntoParams)]
    #[into_params(parameter_in = Path)]
    pub struct ContestPath {
        /// The contest's name.
        pub contest: String,
    }

    #[derive(Debug, IntoParams)]
    #[into_params(parameter_in = Path)]
    pub struct SubmissionPath {
        /// The contest's name.
        pub contest: String,
        /// The submission's id.
        pub id: i64,
    }

    #[derive(Debug, IntoParams)]
    #[into_params(parameter_in = Path)]
    pub struct TeamPath {
        /// The contest's name.
        pub contest: String,
        /// The team's id.
        pub team: i64,
    }

    #[derive(Debug, IntoParams)]
    #[into_params(parameter_in = Path)]
    pub struct FilePath {
        /// The contest's name.
        pub contest: String,
        /// A file the contest's manifest lists (e.g. `train.csv`), or `MANIFEST.json`.
        pub file: String,
    }

    #[derive(Debug, IntoParams)]
    #[into_params(parameter_in = Path)]
    pub struct PhasePath {
        /// The contest's name.
        pub contest: String,
        /// The phase's name.
        pub phase: String,
    }

    #[derive(Debug, IntoParams)]
    #[into_params(parameter_in = Path)]
    pub struct TokenPath {
        /// The token's id.
        pub id: i64,
    }
}

// The JSON bodies the handlers build. Each names the handler that sends it.

/// Text in Chinese and English.
#[derive(Debug, ToSchema)]
pub struct Bilingual {
    pub zh: String,
    pub en: String,
}

/// The learning task.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum Task {
    Binary,
    Multiclass,
    Ordinal,
    Regression,
}

/// What a submission file holds besides `id`.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum PredictionFormat {
    Label,
    Probability,
    ClassProbabilities,
    Value,
}

/// `accounts::log_in`.
#[derive(Debug, ToSchema)]
pub struct Session {
    pub user: super::User,
    /// Send it as the `X-CSRF-Token` header on every unsafe request (not GET, HEAD or OPTIONS)
    /// made with the session cookie.
    pub csrf_token: String,
    /// When the session ends.
    #[schema(format = DateTime)]
    pub expires_at: String,
}

/// `accounts::tokens`.
#[derive(Debug, ToSchema)]
pub struct TokenList {
    pub tokens: Vec<ApiToken>,
}

#[derive(Debug, ToSchema)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// When it was revoked; null while it is valid.
    #[schema(format = DateTime)]
    #[schema(required = true)]
    pub revoked_at: Option<String>,
}

/// `accounts::new_token`.
#[derive(Debug, ToSchema)]
pub struct NewApiToken {
    pub id: i64,
    pub name: String,
    /// The secret (`hol_` and 64 hex digits); shown only in this response. Send it as
    /// `Authorization: Bearer <token>`.
    pub token: String,
}

/// `accounts::teams`.
#[derive(Debug, ToSchema)]
pub struct TeamList {
    pub teams: Vec<TeamSummary>,
}

#[derive(Debug, ToSchema)]
pub struct TeamSummary {
    pub id: i64,
    pub name: String,
    pub baseline: bool,
    /// Number of members.
    pub members: i64,
}

/// `accounts::create_team`.
#[derive(Debug, ToSchema)]
pub struct CreatedTeam {
    pub id: i64,
    pub name: String,
    /// Member user names (the creator).
    pub members: Vec<String>,
}

/// `accounts::my_team`.
#[derive(Debug, ToSchema)]
pub struct MyTeam {
    /// The caller's team; null when the caller has none in this contest.
    #[schema(required = true)]
    pub team: Option<OwnTeam>,
    pub invites_received: Vec<ReceivedInvite>,
    /// The contest's team size limit.
    pub max_size: i64,
}

#[derive(Debug, ToSchema)]
pub struct OwnTeam {
    pub id: i64,
    pub name: String,
    /// User names, in joining order.
    pub members: Vec<String>,
    /// User names with a pending invite.
    pub invites_sent: Vec<String>,
}

#[derive(Debug, ToSchema)]
pub struct ReceivedInvite {
    pub team_id: i64,
    pub team: String,
}

/// `accounts::invite` and `accounts::accept`.
#[derive(Debug, ToSchema)]
pub struct TeamMembership {
    pub team_id: i64,
    pub user: String,
}

/// `contests::list`.
#[derive(Debug, ToSchema)]
pub struct ContestList {
    pub contests: Vec<ContestSummary>,
}

#[derive(Debug, ToSchema)]
pub struct ContestSummary {
    pub name: String,
    #[schema(required = true)]
    pub title: Option<Bilingual>,
    pub task: Task,
}

/// `contests::show` (and `contests::settings`, which answers the contest as changed).
#[derive(Debug, ToSchema)]
pub struct Contest {
    pub name: String,
    #[schema(required = true)]
    pub title: Option<Bilingual>,
    #[schema(required = true)]
    pub description: Option<Bilingual>,
    pub survey: String,
    pub task: Task,
    /// Class labels of a classification task, in order (empty for regression).
    pub labels: Vec<i64>,
    pub prediction_format: PredictionFormat,
    /// The header a submission file must have.
    pub columns: Vec<String>,
    /// The ranking metric, named as scikit-learn names it (e.g. `roc_auc`, `rmse`).
    pub primary_metric: String,
    pub greater_is_better: bool,
    /// Every metric computed, the primary first.
    pub metrics: Vec<String>,
    /// Largest accepted upload, in bytes.
    pub max_file_bytes: i64,
    pub train_rows: i64,
    pub test_rows: i64,
    /// Submissions per team per contest day (days begin at 00:00 Asia/Shanghai).
    pub daily_submissions: i64,
    /// Submissions per team over the whole contest.
    pub total_submissions: i64,
    /// Submissions a team may select for the private board.
    pub final_selections: i64,
    pub team_max_size: i64,
    /// Whether the Ladder withholds public scores that do not beat the team's best by its step.
    pub ladder: bool,
    /// When the private board was revealed; null before.
    #[schema(format = DateTime)]
    #[schema(required = true)]
    pub revealed_at: Option<String>,
    /// The judges' share of the final ranking (0–1).
    pub rubric_weight: f64,
    /// How many teams of the private board are finalists.
    pub finalists: i64,
    /// Days before the last phase ends during which the public board is frozen (0: never).
    pub freeze_days: i64,
    /// When the public board freezes; null without a freeze.
    #[schema(required = true, format = DateTime)]
    pub freeze_starts_at: Option<String>,
    /// Since when the public board is frozen; null while it is not.
    #[schema(required = true, format = DateTime)]
    pub frozen_since: Option<String>,
    /// The committed final selections (`holdout-selections/1`: phase, SHA-256, audit entries);
    /// null before they are committed.
    #[schema(required = true, value_type = Option<super::contests::SelectionCommitment>)]
    pub selection_commitment: Option<serde_json::Value>,
    pub phases: Vec<crate::state::Phase>,
    /// The phase open now; null between and after phases.
    #[schema(required = true)]
    pub open_phase: Option<String>,
    /// Always `Asia/Shanghai`: contest days and the daily quota follow it.
    pub time_zone: String,
    /// The service's clock.
    #[schema(format = DateTime)]
    pub now: String,
    /// The commitment to the hidden labels, from `MANIFEST.json`.
    #[schema(value_type = SolutionCommitment)]
    pub solution_commitment: serde_json::Value,
    /// The contest's receipt key (Ed25519 public key, hex): what signs the score receipts.
    pub receipt_key: String,
    pub files: Vec<ContestFile>,
}

/// The commitment to the hidden labels (`MANIFEST.json`'s `solution_commitment`).
#[derive(Debug, ToSchema)]
pub struct SolutionCommitment {
    /// How the value is computed.
    pub scheme: String,
    /// Hex.
    pub sha256: String,
}

#[derive(Debug, ToSchema)]
pub struct ContestFile {
    pub path: String,
    pub bytes: i64,
    pub sha256: String,
    /// `/api/v1/contests/{contest}/files/{path}`.
    pub url: String,
}

/// `contests::set_phase`.
#[derive(Debug, ToSchema)]
pub struct PhaseList {
    pub phases: Vec<crate::state::Phase>,
}

/// `contests::reveal`.
#[derive(Debug, ToSchema)]
pub struct Reveal {
    #[schema(format = DateTime)]
    pub revealed_at: String,
    /// The SHA-256 of each phase's private board CSV, also written to the audit log.
    pub snapshots: Vec<RevealedBoard>,
    /// How many receipts were issued: one per scored submission, now carrying its private
    /// score, signed with the reveal's audit entry as the log's head.
    pub receipts: i64,
    /// The committed final selections, checked against their published hash.
    pub selections: RevealedSelections,
}

/// The committed final selections as the reveal found them.
#[derive(Debug, ToSchema)]
pub struct RevealedSelections {
    /// The published SHA-256 of the committed list, which the list still hashes to.
    pub sha256: String,
    /// The `selection.commit` audit entry.
    pub commitment_seq: i64,
    /// The `board.reveal` audit entry that checked it.
    pub verified_seq: i64,
}

#[derive(Debug, ToSchema)]
pub struct RevealedBoard {
    pub phase: String,
    /// Always `private`.
    pub board: String,
    pub sha256: String,
}

/// `contests::audit`.
#[derive(Debug, ToSchema)]
pub struct AuditLog {
    pub verification: Verification,
    pub entries: Vec<AuditEntry>,
}

/// The chain's verification. The whole chain is verified from its first entry at most every
/// `holdout serve`'s re-verification interval (a minute); every call in between checks the
/// entries appended since the last check, and that the last entry checked is still there,
/// unchanged. `verified_at` says when the whole chain was last verified, so an edit of an older
/// entry shows at most that interval after it was made.
#[derive(Debug, ToSchema)]
pub struct Verification {
    /// The whole chain verified at `verified_at`, and every entry appended since chaining on
    /// to it; false: it broke, at `broken`.
    pub intact: bool,
    /// Entries in the whole log.
    pub entries: i64,
    /// The last entry's hash (when intact; null for an empty log).
    #[schema(required = false)]
    pub head: Option<String>,
    /// Where the chain breaks (when not intact).
    #[schema(required = false)]
    pub broken: Option<String>,
    /// When the whole chain was last verified from its first entry (when not intact: now).
    #[schema(format = DateTime)]
    pub verified_at: String,
}

/// An entry of the hash-chained audit log.
#[derive(Debug, ToSchema)]
pub struct AuditEntry {
    pub seq: i64,
    #[schema(format = DateTime)]
    pub at: String,
    /// `user:<name>`, `anonymous`, `worker`, `system`, …
    pub actor: String,
    /// E.g. `user.create`, `team.create`, `submission.upload`, `submission.score`, `board.reveal`.
    pub action: String,
    /// E.g. `submission:<id>`, `team:<id>`, `contest:<name>`.
    pub subject: String,
    /// Compact JSON with the particulars.
    pub detail: String,
    /// The hash of the entry before (64 zeros for the first).
    pub prev_hash: String,
    pub hash: String,
}

/// `submissions::quota`, and `quota` in an upload's answer: `queued`, `scoring` and `scored`
/// submissions count.
#[derive(Debug, ToSchema)]
pub struct Quota {
    pub daily_limit: i64,
    pub used_today: i64,
    /// Also bounded by `remaining_total`.
    pub remaining_today: i64,
    pub total_limit: i64,
    pub used_total: i64,
    pub remaining_total: i64,
    /// When the daily count resets (00:00 Asia/Shanghai).
    #[schema(format = DateTime)]
    pub next_reset_at: String,
    #[schema(required = true)]
    pub open_phase: Option<String>,
}

/// `submissions::list`.
#[derive(Debug, ToSchema)]
pub struct SubmissionList {
    pub submissions: Vec<Submission>,
}

/// The status of a submission.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum Status {
    Queued,
    Scoring,
    Scored,
    Invalid,
    Failed,
}

/// A submission as the caller may see it (`submissions::view`).
#[derive(Debug, ToSchema)]
pub struct Submission {
    pub id: i64,
    pub team_id: i64,
    pub team: String,
    /// Who uploaded it; null for a baseline.
    #[schema(required = true)]
    pub user: Option<String>,
    pub phase: String,
    pub sha256: String,
    pub bytes: i64,
    pub description: String,
    /// `invalid` and `failed` submissions do not count against the quota.
    pub status: Status,
    /// Why it is invalid or failed; empty otherwise.
    pub message: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// When it was last scored.
    #[schema(format = DateTime)]
    #[schema(required = true)]
    pub scored_at: Option<String>,
    /// The primary metric on the phase's public subset; null while unscored, when undefined,
    /// or when withheld by the Ladder.
    #[schema(required = true)]
    pub public_score: Option<f64>,
    /// 95 % interval `[low, high]`; null when undefined or not computed.
    #[schema(value_type = Option<Vec<f64>>, min_items = 2, max_items = 2)]
    #[schema(required = true)]
    pub public_ci: Option<(f64, f64)>,
    /// Present only for staff or after the reveal.
    #[schema(required = false)]
    pub private_score: Option<f64>,
    /// Present only for staff or after the reveal.
    #[schema(value_type = Option<Vec<f64>>, min_items = 2, max_items = 2, required = false)]
    pub private_ci: Option<(f64, f64)>,
    /// Whether the Ladder released the public score (always true without the Ladder).
    pub released: bool,
    /// Selected for the private board.
    pub selected: bool,
    /// Why it was disqualified; null when it was not.
    #[schema(required = true)]
    pub disqualified_reason: Option<String>,
    /// Every metric on every subset the caller may see; null while unscored.
    #[schema(required = true)]
    pub scores: Option<Vec<SubsetScores>>,
    /// Present when the Ladder withheld the public score from the team.
    #[schema(required = false)]
    pub ladder_note: Option<String>,
    /// A refused file's problems: each a `code` with its parameters and its `message` in the
    /// request's language (`?lang=`, `Accept-Language`); empty otherwise.
    pub problems: Vec<super::submissions::ProblemView>,
}

/// Every metric on one subset of the test rows (written by the worker).
#[derive(Debug, ToSchema)]
pub struct SubsetScores {
    /// `public`, `private`, `all`, or `a_public`, `a_private`, `b_public`, … with A/B boards.
    pub subset: String,
    pub rows: i64,
    /// Every metric by name; null where undefined.
    pub scores: BTreeMap<String, Option<f64>>,
    /// Why each undefined metric is undefined.
    pub undefined: BTreeMap<String, String>,
    /// The primary metric's interval; null when not computed.
    #[schema(required = true)]
    pub interval: Option<Interval>,
}

/// A primary metric's interval, or why there is none.
#[derive(Debug, ToSchema)]
#[serde(untagged)]
pub enum Interval {
    Defined(DefinedInterval),
    Undefined(UndefinedInterval),
}

#[derive(Debug, ToSchema)]
pub struct DefinedInterval {
    pub low: f64,
    pub high: f64,
    /// Bootstrap replicates where the metric was defined; 0 for a `normal` interval.
    pub replicates: i64,
    pub level: f64,
    /// How it was computed. Absent on scores recorded before it was introduced (those are
    /// `bootstrap`).
    #[schema(required = false)]
    pub method: Option<Method>,
}

#[derive(Debug, ToSchema)]
pub struct UndefinedInterval {
    pub undefined: String,
}

/// How an interval or a comparison was computed: `bootstrap` (stratified row resamples),
/// `table` (the same resamples drawn as multinomial counts of the confusion matrix), `normal`
/// (the bootstrap's variance in closed form: DeLong for ROC AUC, the delta method for log loss,
/// RMSE, MAE and R²).
#[derive(Debug, ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum Method {
    Bootstrap,
    Table,
    Normal,
}

/// `submissions::upload`: the new submission (as its uploader sees it) with the team's quota
/// after it.
#[derive(Debug, ToSchema)]
pub struct UploadResult {
    #[schema(inline)]
    #[serde(flatten)]
    pub submission: Submission,
    pub quota: Quota,
}

/// `submissions::rescore`.
#[derive(Debug, ToSchema)]
pub struct Requeued {
    pub id: i64,
    /// Always `queued`.
    pub status: Status,
}

/// `submissions::disqualify` and `submissions::reinstate`.
#[derive(Debug, ToSchema)]
pub struct Verdict {
    pub id: i64,
    pub disqualified: bool,
    pub reason: String,
}

/// `submissions::disqualify_team`.
#[derive(Debug, ToSchema)]
pub struct TeamVerdictResult {
    pub team_id: i64,
    pub disqualified: bool,
    pub reason: String,
}

/// `submissions::compare`.
#[derive(Debug, ToSchema)]
pub struct Comparison {
    pub a: i64,
    pub b: i64,
    pub replicates: i64,
    pub subsets: Vec<ComparedSubset>,
}

#[derive(Debug, ToSchema)]
pub struct ComparedSubset {
    pub subset: String,
    pub rows: i64,
    #[schema(required = true)]
    pub a: Option<f64>,
    #[schema(required = true)]
    pub b: Option<f64>,
    /// Share of paired resamples where `a` beats `b` on the primary metric (ties half), or
    /// with `method` `normal` the normal approximation's probability that the paired difference
    /// favours `a`.
    #[schema(required = true)]
    pub probability_a_better: Option<f64>,
    pub method: Method,
}

/// `submissions::selections`.
#[derive(Debug, ToSchema)]
pub struct Selections {
    pub phase: String,
    pub submission_ids: Vec<i64>,
    /// The contest's `final_selections`.
    pub limit: i64,
    /// Which submissions count for the private board.
    pub default: String,
    /// The committed selections of this phase with the team's own (`submission_ids`,
    /// `chosen`); null before they are committed.
    #[schema(required = true, value_type = Option<super::submissions::TeamCommitment>)]
    pub committed: Option<serde_json::Value>,
}

/// `submissions::select`.
#[derive(Debug, ToSchema)]
pub struct SelectionsUpdated {
    pub phase: String,
    /// Sorted, without repeats.
    pub submission_ids: Vec<i64>,
    pub limit: i64,
}

/// Which board.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum Board {
    Public,
    Private,
}

/// `boards::leaderboard` (`boards::render_json`).
#[derive(Debug, ToSchema)]
pub struct Leaderboard {
    pub contest: String,
    pub phase: String,
    pub board: Board,
    pub metric: String,
    pub greater_is_better: bool,
    pub ladder: bool,
    /// Best first.
    pub rows: Vec<crate::board::Row>,
    /// The calling team's own live row during a freeze (what it submitted since); absent
    /// otherwise.
    #[schema(required = false)]
    pub own: Option<crate::board::Row>,
    /// The public board's freeze; null without one.
    #[schema(required = true)]
    pub freeze: Option<Freeze>,
    /// The committed final selections of this phase; null before they are committed.
    #[schema(required = true, value_type = Option<super::contests::SelectionCommitment>)]
    pub selections: Option<serde_json::Value>,
}

#[derive(Debug, ToSchema)]
pub struct Freeze {
    #[schema(format = DateTime)]
    pub since: String,
    /// Whether this board shows only what was submitted before `since`.
    pub applied: bool,
}

/// `boards::snapshot`.
#[derive(Debug, ToSchema)]
pub struct Snapshot {
    pub phase: String,
    pub board: Board,
    /// SHA-256 of the board's CSV (as served by `leaderboard.csv`).
    pub sha256: String,
    /// Rows of the board.
    pub rows: i64,
}

/// `boards::final_ranking`.
#[derive(Debug, ToSchema)]
pub struct FinalRanking {
    /// The last phase, whose private board the ranking combines.
    pub phase: String,
    pub rubric_weight: f64,
    pub finalists: i64,
    pub rows: Vec<crate::board::FinalRow>,
    /// A judge's own scores by team id; empty for everyone else.
    pub my_scores: BTreeMap<String, RubricScore>,
}

#[derive(Debug, ToSchema)]
pub struct RubricScore {
    pub score: f64,
    pub comment: String,
}

/// `boards::rubric`.
#[derive(Debug, ToSchema)]
pub struct RubricScored {
    pub team_id: i64,
    pub score: f64,
    pub comment: String,
}

/// The multipart form of an upload; no other fields are accepted.
#[derive(Debug, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadForm {
    /// The submission CSV; at most the contest's `max_file_bytes`.
    #[schema(value_type = String, format = Binary, content_media_type = "text/csv")]
    pub file: Vec<u8>,
    /// Optional note, at most 1000 characters (trimmed).
    #[schema(max_length = 1000, required = false)]
    pub description: Option<String>,
}
