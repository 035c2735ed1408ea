//! The API's one error envelope: `{"error": {"code": "...", "message": "..."}}` with the
//! matching HTTP status. Messages name the problem; internal errors are logged in full and
//! answered with a generic message (no paths or SQL leak to clients).

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// Every error code the API answers with, one place: the `OpenAPI` document lists them as the
/// error body's `code` enum, and the website translates each as `err_<code>` where it has a
/// sentence of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// A malformed or invalid request: JSON, parameters, form fields, values.
    BadRequest,
    /// Not logged in where a login is needed, or bad credentials.
    Unauthorized,
    /// Wrong name or password at login.
    BadCredentials,
    /// The session cookie names an ended or expired session.
    SessionExpired,
    /// The caller's role may not do this (or a session's CSRF header is missing).
    Forbidden,
    /// A competitor without a team in the contest.
    NoTeam,
    /// The private board or final ranking before the reveal.
    BoardHidden,
    /// No phase is open for submissions.
    PhaseClosed,
    /// No such resource, or one the caller may not see.
    NotFound,
    /// A scored submission's receipt that was never issued.
    NoReceipt,
    /// The request conflicts with the current state.
    Conflict,
    /// A user or team name in use.
    NameTaken,
    /// The user is in a team of this contest already.
    AlreadyInTeam,
    /// The team has the contest's maximum size.
    TeamFull,
    /// The same file was submitted before (not charged again).
    DuplicateFile,
    /// The body or file is larger than allowed.
    TooLarge,
    /// The body's media type is not the one the operation takes.
    UnsupportedMediaType,
    /// The team's daily or total submissions are used up.
    QuotaExhausted,
    /// Too many failed logins from the account or the address (429 with `Retry-After`).
    Throttled,
    /// The final selections changed since the caller read them.
    SelectionsChanged,
    /// The final selections can no longer change.
    SelectionsClosed,
    /// The final selections are committed (fixed).
    SelectionsCommitted,
    /// Scoring is not finished for the phase.
    ScoringUnfinished,
    /// Nothing is committed yet.
    NotCommitted,
    /// holdout's own failure (logged; the message is generic).
    Internal,
}

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    pub code: ErrorCode,
    /// What went wrong, for people (English). Internal errors answer a generic message.
    pub message: String,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub message: String,
    /// Seconds to wait, sent as `Retry-After` (a throttled login).
    pub retry_after: Option<u64>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), retry_after: None }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::BadRequest, message)
    }

    /// Also what anything the caller may not see answers, so ids cannot be probed.
    pub fn not_found() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, "no such resource")
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized, message)
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, message)
    }

    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, ErrorCode::Conflict, message)
    }

    /// Too many failed logins from this account or address: 429 with `Retry-After`.
    pub fn throttled(seconds: u64) -> ApiError {
        ApiError {
            retry_after: Some(seconds),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::Throttled,
                format!("too many failed logins; try again in {seconds} s"),
            )
        }
    }

    /// The same error with a more specific code (which the website translates).
    #[must_use]
    pub fn code(mut self, code: ErrorCode) -> ApiError {
        self.code = code;
        self
    }

    pub fn internal(cause: &dyn std::fmt::Display) -> ApiError {
        tracing::error!("internal error: {cause}");
        eprintln!("DEBUG internal error: {cause}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            "internal error; the organizers can find it in the log",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response =
            (self.status, Json(ErrorBody { error: ErrorDetail { code: self.code, message: self.message } }))
                .into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
        }
        response
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> ApiError {
        ApiError::internal(&e)
    }
}

impl From<crate::db::DbError> for ApiError {
    fn from(e: crate::db::DbError) -> ApiError {
        ApiError::internal(&e)
    }
}

impl From<crate::auth::SecretError> for ApiError {
    fn from(e: crate::auth::SecretError) -> ApiError {
        ApiError::internal(&e)
    }
}

impl From<std::io::Error> for ApiError {
    fn from(e: std::io::Error) -> ApiError {
        ApiError::internal(&e)
    }
}
