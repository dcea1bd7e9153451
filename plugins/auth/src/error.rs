//! `AuthError`, the plugin's domain errors, and the one `match` that maps them to
//! HTTP statuses, codes and the Python project's sentences.

use mlx_manager_sdk::{ApiError, ErrorCode};

/// Why an authentication or user-management request failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The email is malformed.
    #[error("Invalid email address")]
    InvalidEmail,
    /// The email has non-ASCII characters (look-alike letters, or an
    /// international domain not written in punycode).
    #[error("Email addresses must be ASCII: write an international domain in punycode (xn--...)")]
    NonAsciiEmail,
    /// The password has fewer than 8 characters.
    #[error("Password must be at least 8 characters")]
    PasswordTooShort,
    /// The password has more than 128 characters.
    #[error("Password must be at most 128 characters")]
    PasswordTooLong,
    /// Another account has this email.
    #[error("Email already registered")]
    EmailTaken,
    /// `registration = "closed"`.
    #[error("Registration is closed")]
    RegistrationClosed,
    /// Unknown email or wrong password (the same answer for both).
    #[error("Incorrect email or password")]
    InvalidCredentials,
    /// The account waits for approval.
    #[error("Account pending approval")]
    AccountPending,
    /// The account is disabled.
    #[error("Account disabled")]
    AccountDisabled,
    /// `grant_type` is not `password`.
    #[error("Unsupported grant_type; only \"password\" is supported")]
    UnsupportedGrantType,
    /// The current password given to a password change is wrong.
    #[error("Current password is incorrect")]
    WrongCurrentPassword,
    /// The token is malformed, tampered with, signed otherwise, or of a user
    /// that no longer exists.
    #[error("Could not validate credentials")]
    InvalidToken,
    /// The token has expired.
    #[error("Token has expired")]
    TokenExpired,
    /// The token was revoked (logout, password reset or change).
    #[error("Token has been revoked")]
    TokenRevoked,
    /// The stream ticket is unknown, used or expired.
    #[error("Invalid or expired stream ticket")]
    InvalidTicket,
    /// The token's user is no longer approved.
    #[error("Account is not active")]
    AccountInactive,
    /// No such user.
    #[error("User not found")]
    UserNotFound,
    /// Demoting the last approved admin.
    #[error("Cannot remove last admin")]
    LastAdminDemotion,
    /// Disabling (or un-approving) the last approved admin.
    #[error("Cannot disable last active admin")]
    LastAdminDisable,
    /// Deleting the last approved admin.
    #[error("Cannot delete last admin")]
    LastAdminDelete,
    /// Too many failed attempts (API.md "Login throttling").
    #[error("Too many attempts; try again in {} seconds", .0.as_secs().max(1))]
    Throttled(std::time::Duration),
    /// The API key is malformed, unknown, revoked or its secret is wrong (one
    /// answer for all).
    #[error("Invalid API key")]
    InvalidApiKey,
    /// The API key has expired.
    #[error("API key has expired")]
    ApiKeyExpired,
    /// No such key (or not the caller's).
    #[error("API key not found")]
    KeyNotFound,
    /// No such session of the caller's.
    #[error("Session not found")]
    SessionNotFound,
    /// A key's request breaks a rule: the code and a sentence naming it.
    #[error("{1}")]
    KeyRejected(ErrorCode, String),
    /// A stream ticket's `path` is not a path.
    #[error(
        "path must be the absolute path of an event stream (no query), at most 1024 characters"
    )]
    InvalidTicketPath,
    /// `role` and `is_admin` of one update disagree.
    #[error("role and is_admin disagree; send one of them")]
    RoleConflict,
    /// The store failed.
    #[error("store error: {0}")]
    Store(#[from] surrealdb::Error),
    /// Anything else unexpected (a hashing failure, a join error).
    #[error("{0}")]
    Internal(String),
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        use AuthError as E;
        let detail = err.to_string();
        match err {
            E::InvalidEmail | E::NonAsciiEmail => {
                ApiError::unprocessable(codes::INVALID_EMAIL, detail)
            }
            E::PasswordTooShort | E::PasswordTooLong => {
                ApiError::unprocessable(codes::INVALID_PASSWORD, detail)
            }
            E::EmailTaken => ApiError::conflict(codes::EMAIL_TAKEN, detail),
            E::RegistrationClosed => ApiError::forbidden(codes::REGISTRATION_CLOSED, detail),
            E::InvalidCredentials => ApiError::unauthorized(codes::INVALID_CREDENTIALS, detail),
            E::AccountPending => ApiError::forbidden(codes::ACCOUNT_PENDING, detail),
            E::AccountDisabled => ApiError::forbidden(codes::ACCOUNT_DISABLED, detail),
            E::UnsupportedGrantType => ApiError::bad_request(codes::UNSUPPORTED_GRANT_TYPE, detail),
            E::WrongCurrentPassword => {
                ApiError::unprocessable(codes::WRONG_CURRENT_PASSWORD, detail)
            }
            E::InvalidToken => ApiError::unauthorized(codes::INVALID_TOKEN, detail),
            E::TokenExpired => ApiError::unauthorized(codes::TOKEN_EXPIRED, detail),
            E::TokenRevoked => ApiError::unauthorized(codes::TOKEN_REVOKED, detail),
            E::InvalidTicket => ApiError::unauthorized(codes::INVALID_TICKET, detail),
            E::AccountInactive => ApiError::unauthorized(codes::ACCOUNT_INACTIVE, detail),
            E::UserNotFound => ApiError::not_found(codes::USER_NOT_FOUND, detail),
            E::RoleConflict => ApiError::unprocessable(codes::ROLE_CONFLICT, detail),
            E::InvalidApiKey => ApiError::unauthorized(codes::INVALID_API_KEY, detail),
            E::ApiKeyExpired => ApiError::unauthorized(codes::API_KEY_EXPIRED, detail),
            E::KeyNotFound => ApiError::not_found(codes::KEY_NOT_FOUND, detail),
            E::SessionNotFound => ApiError::not_found(codes::SESSION_NOT_FOUND, detail),
            E::KeyRejected(code, _) => ApiError::unprocessable(code, detail),
            E::InvalidTicketPath => ApiError::unprocessable(codes::INVALID_PATH, detail),
            E::Throttled(wait) => {
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                ApiError::too_many_requests(codes::TOO_MANY_ATTEMPTS, detail, secs)
            }
            E::LastAdminDemotion | E::LastAdminDisable | E::LastAdminDelete => {
                ApiError::bad_request(codes::LAST_ADMIN, detail)
            }
            E::Store(e) => ApiError::store(&e),
            E::Internal(e) => ApiError::internal(e),
        }
    }
}

/// The auth plugin's error codes: every `code` it answers with, in one table
/// (the SDK's shared codes are in `mlx_manager_sdk::codes`).
pub mod codes {
    mlx_manager_sdk::error_codes! {
            /// 403: account disabled.
            ACCOUNT_DISABLED = "account_disabled";
            /// 401: account inactive.
            ACCOUNT_INACTIVE = "account_inactive";
            /// 403: account pending.
            ACCOUNT_PENDING = "account_pending";
            /// 401: api key expired.
            API_KEY_EXPIRED = "api_key_expired";
            /// 422: duplicate key name.
            DUPLICATE_KEY_NAME = "duplicate_key_name";
            /// 409: email taken.
            EMAIL_TAKEN = "email_taken";
            /// 401: invalid api key.
            INVALID_API_KEY = "invalid_api_key";
            /// 401: invalid credentials.
            INVALID_CREDENTIALS = "invalid_credentials";
            /// 422: invalid email.
            INVALID_EMAIL = "invalid_email";
            /// 422: invalid key actions.
            INVALID_KEY_ACTIONS = "invalid_key_actions";
            /// 422: invalid key lifetime.
            INVALID_KEY_LIFETIME = "invalid_key_lifetime";
            /// 422: invalid key limits.
            INVALID_KEY_LIMITS = "invalid_key_limits";
            /// 422: invalid key models.
            INVALID_KEY_MODELS = "invalid_key_models";
            /// 422: invalid key name.
            INVALID_KEY_NAME = "invalid_key_name";
            /// 422: invalid password.
            INVALID_PASSWORD = "invalid_password";
            /// 422: invalid path.
            INVALID_PATH = "invalid_path";
            /// 401: invalid ticket.
            INVALID_TICKET = "invalid_ticket";
            /// 401: invalid token.
            INVALID_TOKEN = "invalid_token";
            /// 404: key not found.
            KEY_NOT_FOUND = "key_not_found";
            /// 400: last admin.
            LAST_ADMIN = "last_admin";
            /// 403: registration closed.
            REGISTRATION_CLOSED = "registration_closed";
            /// 422: role conflict.
            ROLE_CONFLICT = "role_conflict";
            /// 404: session not found.
            SESSION_NOT_FOUND = "session_not_found";
            /// 401: token expired.
            TOKEN_EXPIRED = "token_expired";
            /// 401: token revoked.
            TOKEN_REVOKED = "token_revoked";
            /// 429: too many attempts.
            TOO_MANY_ATTEMPTS = "too_many_attempts";
            /// 422: too many keys.
            TOO_MANY_KEYS = "too_many_keys";
            /// 400: unsupported grant type.
            UNSUPPORTED_GRANT_TYPE = "unsupported_grant_type";
            /// 404: user not found.
            USER_NOT_FOUND = "user_not_found";
            /// 422: wrong current password.
            WRONG_CURRENT_PASSWORD = "wrong_current_password";
    }
}
