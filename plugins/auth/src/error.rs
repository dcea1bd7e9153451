//! `AuthError`, the plugin's domain errors, and the one `match` that maps them to
//! HTTP statuses, codes and the Python project's sentences.

use mlx_manager_sdk::ApiError;

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
    KeyRejected(&'static str, String),
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
            E::InvalidEmail | E::NonAsciiEmail => ApiError::unprocessable("invalid_email", detail),
            E::PasswordTooShort | E::PasswordTooLong => {
                ApiError::unprocessable("invalid_password", detail)
            }
            E::EmailTaken => ApiError::conflict("email_taken", detail),
            E::RegistrationClosed => ApiError::forbidden("registration_closed", detail),
            E::InvalidCredentials => ApiError::unauthorized("invalid_credentials", detail),
            E::AccountPending => ApiError::forbidden("account_pending", detail),
            E::AccountDisabled => ApiError::forbidden("account_disabled", detail),
            E::UnsupportedGrantType => ApiError::bad_request("unsupported_grant_type", detail),
            E::WrongCurrentPassword => ApiError::unprocessable("wrong_current_password", detail),
            E::InvalidToken => ApiError::unauthorized("invalid_token", detail),
            E::TokenExpired => ApiError::unauthorized("token_expired", detail),
            E::TokenRevoked => ApiError::unauthorized("token_revoked", detail),
            E::InvalidTicket => ApiError::unauthorized("invalid_ticket", detail),
            E::AccountInactive => ApiError::unauthorized("account_inactive", detail),
            E::UserNotFound => ApiError::not_found("user_not_found", detail),
            E::RoleConflict => ApiError::unprocessable("role_conflict", detail),
            E::InvalidApiKey => ApiError::unauthorized("invalid_api_key", detail),
            E::ApiKeyExpired => ApiError::unauthorized("api_key_expired", detail),
            E::KeyNotFound => ApiError::not_found("key_not_found", detail),
            E::SessionNotFound => ApiError::not_found("session_not_found", detail),
            E::KeyRejected(code, _) => ApiError::unprocessable(code, detail),
            E::InvalidTicketPath => ApiError::unprocessable("invalid_path", detail),
            E::Throttled(wait) => {
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                ApiError::too_many_requests("too_many_attempts", detail, secs)
            }
            E::LastAdminDemotion | E::LastAdminDisable | E::LastAdminDelete => {
                ApiError::bad_request("last_admin", detail)
            }
            E::Store(e) => ApiError::internal(e),
            E::Internal(e) => ApiError::internal(e),
        }
    }
}
