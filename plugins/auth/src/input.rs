//! Newtypes for checked input: `Email` (trimmed, lower-cased, valid) and
//! `Password` (8 to 128 characters). Inner code never sees unchecked values.

use crate::error::AuthError;

/// A normalised, valid email address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Trim, lower-case and validate.
    pub fn parse(raw: &str) -> Result<Self, AuthError> {
        let email = raw.trim().to_lowercase();
        if !email.is_ascii() {
            return Err(AuthError::NonAsciiEmail);
        }
        let valid = email.len() <= 254
            && email_address::EmailAddress::is_valid(&email)
            && !email.contains(['"', ' ', '(', ')', '[', ']', '\\'])
            && email
                .rsplit_once('@')
                .is_some_and(|(local, domain)| !local.is_empty() && domain_is_valid(domain));
        if valid {
            Ok(Self(email))
        } else {
            Err(AuthError::InvalidEmail)
        }
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn domain_is_valid(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// The shortest accepted password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// The longest accepted password, in characters.
pub const MAX_PASSWORD_CHARS: usize = 128;

/// A password that satisfies the policy. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Check the length policy (8 to 128 characters).
    pub fn parse(raw: String) -> Result<Self, AuthError> {
        let chars = raw.chars().count();
        if chars < MIN_PASSWORD_CHARS {
            Err(AuthError::PasswordTooShort)
        } else if chars > MAX_PASSWORD_CHARS {
            Err(AuthError::PasswordTooLong)
        } else {
            Ok(Self(raw))
        }
    }

    /// The password's text (for hashing only).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

pub use mlx_manager_sdk::store::is_valid_key as is_valid_id;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        let e = Email::parse("  A.User@Example.COM ").expect("valid");
        assert_eq!(e.as_str(), "a.user@example.com");
    }

    #[test]
    fn malformed_emails_are_refused() {
        for bad in [
            "",
            "plain",
            "@x.com",
            "a@",
            "a@x",
            "a b@x.com",
            "a@-x.com",
            "a@x..com",
            "\"q\"@x.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn passwords_must_have_8_to_128_characters() {
        assert!(matches!(
            Password::parse("1234567".into()),
            Err(AuthError::PasswordTooShort)
        ));
        assert!(Password::parse("12345678".into()).is_ok());
        assert!(
            Password::parse("é".repeat(128)).is_ok(),
            "counts characters, not bytes"
        );
        assert!(matches!(
            Password::parse("x".repeat(129)),
            Err(AuthError::PasswordTooLong)
        ));
    }

    #[test]
    fn a_password_never_shows_in_debug_output() {
        let p = Password::parse("hunter2hunter2".into()).expect("valid");
        assert!(!format!("{p:?}").contains("hunter2"));
    }

    #[test]
    fn ids_are_url_safe() {
        assert!(is_valid_id("abc123XYZ_-"));
        assert!(!is_valid_id(""));
        assert!(!is_valid_id("a/b"));
        assert!(!is_valid_id("a⟩b"));
        assert!(!is_valid_id(&"a".repeat(65)));
    }

    #[test]
    fn look_alike_and_international_emails_must_be_ascii() {
        for raw in ["аdmin@example.com", "admin@exämple.com", "admin@例え.jp"] {
            let err = Email::parse(raw).err().map(|e| e.to_string());
            assert_eq!(
                err.as_deref(),
                Some(
                    "Email addresses must be ASCII: write an international domain in punycode (xn--...)"
                ),
                "{raw}"
            );
        }
        assert!(
            Email::parse("admin@xn--exmple-cua.com").is_ok(),
            "punycode is fine"
        );
    }
}
