//! The machinery that turns the one table of profile fields (in `profile.rs`) into
//! every shape a profile takes: its values (stored, and returned by the API), the
//! create body, the partial update, the checks and defaults, and the fields a
//! server command can use. Adding a field is one row of that table.

/// How a profile field relates to the model-server command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandUse {
    /// A setting of the server: when it is set (not its default) and the
    /// command cannot carry it, the profile's warnings say so.
    Setting,
    /// Identity or address (name, model, port, host): a placeholder the
    /// template may use, never a warning.
    Identity,
    /// The manager's own (description, start with the login service): not a
    /// placeholder.
    Manager,
}

/// A field's value as the text of a template placeholder: `None` when unset,
/// `false` or empty, so that the flag before it is dropped.
pub trait Render {
    /// The text, or `None`.
    fn render(&self) -> Option<String>;
}

impl Render for String {
    fn render(&self) -> Option<String> {
        (!self.is_empty()).then(|| self.clone())
    }
}

impl Render for u16 {
    fn render(&self) -> Option<String> {
        Some(self.to_string())
    }
}

impl Render for u32 {
    fn render(&self) -> Option<String> {
        Some(self.to_string())
    }
}

impl Render for bool {
    fn render(&self) -> Option<String> {
        self.then(|| "true".to_owned())
    }
}

impl<T: Render> Render for Option<T> {
    fn render(&self) -> Option<String> {
        self.as_ref().and_then(Render::render)
    }
}

/// `check(value)`: a check is a function or a closure of the table.
pub fn apply<I, T, E>(check: impl FnOnce(I) -> Result<T, E>, value: I) -> Result<T, E> {
    check(value)
}

/// Whether `value`, as input, differs from `default`.
pub fn differs<I: PartialEq + From<T>, T: Clone>(value: &T, default: I) -> bool {
    I::from(value.clone()) != default
}

/// The create body's type of a field: the input itself when required, else
/// optional.
macro_rules! new_ty {
    (required, $input:ty) => { $input };
    ($kind:ident, $input:ty) => { Option<$input> };
}
pub(crate) use new_ty;

/// A field's checked value from the create body, with its default.
macro_rules! checked {
    (required(), $check:expr, $value:expr) => {
        $crate::profiles::fields::apply($check, $value)?
    };
    (defaulted($default:expr), $check:expr, $value:expr) => {
        $crate::profiles::fields::apply($check, $value.unwrap_or_else(|| $default))?
    };
    (optional(), $check:expr, $value:expr) => {
        $value.map($check).transpose()?.flatten()
    };
}
pub(crate) use checked;

/// A field of the create body for `patched`: the patch's value, or the current
/// one (`null` in the patch clears an optional field).
macro_rules! merged {
    (required, $input:ty, $patch:expr, $current:expr) => {
        $patch.unwrap_or_else(|| <$input>::from($current))
    };
    (defaulted, $input:ty, $patch:expr, $current:expr) => {
        Some($patch.unwrap_or_else(|| <$input>::from($current)))
    };
    (optional, $input:ty, $patch:expr, $current:expr) => {
        match $patch {
            poem_openapi::types::MaybeUndefined::Undefined => $current.map(<$input>::from),
            poem_openapi::types::MaybeUndefined::Null => None,
            poem_openapi::types::MaybeUndefined::Value(v) => Some(v),
        }
    };
}
pub(crate) use merged;

/// Whether a field holds something other than its default (a required field
/// always does; an optional one when it renders to text).
macro_rules! is_set {
    (required(), $input:ty, $value:expr) => {
        true
    };
    (defaulted($default:expr), $input:ty, $value:expr) => {
        $crate::profiles::fields::differs::<$input, _>(&$value, $default)
    };
    (optional(), $input:ty, $value:expr) => {
        $crate::profiles::fields::Render::render(&$value).is_some()
    };
}
pub(crate) use is_set;

/// The partial update, one field at a time: optional fields take `null` (to
/// clear them), the others only a value.
macro_rules! patch_struct {
    ([$($out:tt)*]) => {
        /// A partial update: absent fields stay as they are; `null` clears an
        /// optional field.
        #[derive(Debug, Clone, Default, poem_openapi::Object, serde::Deserialize)]
        #[oai(rename = "ProfileUpdate")]
        #[serde(deny_unknown_fields, default)]
        pub struct ProfilePatch {
            $($out)*
        }
    };
    ([$($out:tt)*] [$($doc:tt)*] $field:ident optional $input:ty; $($rest:tt)*) => {
        $crate::profiles::fields::patch_struct! {
            [$($out)* $($doc)* #[doc = ""] #[doc = "`null` clears it."] #[oai(nullable)]
             pub $field: poem_openapi::types::MaybeUndefined<$input>,]
            $($rest)*
        }
    };
    ([$($out:tt)*] [$($doc:tt)*] $field:ident $kind:ident $input:ty; $($rest:tt)*) => {
        $crate::profiles::fields::patch_struct! {
            [$($out)* $($doc)* pub $field: Option<$input>,]
            $($rest)*
        }
    };
}
pub(crate) use patch_struct;

/// Expands the table of profile fields. Each row:
///
/// ```text
/// /// What the field means (the API's description).
/// Variant field: DomainType = kind(default) from InputType,
///     check FN, rule "The rule, for the API's description.", command CommandUse;
/// ```
///
/// `kind` is `required()` (the create body must have it), `defaulted(expr)`
/// (the create body may leave it out: `expr`, of the input type) or
/// `optional()` (unset is a value; `null` in an update clears it). `check`
/// turns the input into the domain value (for `optional`, into an `Option`, so
/// that an empty text can mean unset) or names the broken rule.
macro_rules! profile_fields {
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident $field:ident: $ty:ty = $kind:ident($($default:expr)?) from $input:ty,
            check $check:expr, rule $rule:literal, command $command:ident;
    )*) => {
        /// The settable values of a profile (everything but id, timestamps and
        /// `service_installed`), each checked: stored as they are, and returned
        /// by the API within a profile.
        #[derive(Debug, Clone, PartialEq, poem_openapi::Object, surrealdb::types::SurrealValue)]
        #[oai(rename = "ProfileValues", skip_serializing_if_is_none)]
        pub struct ProfileValues {
            $($(#[doc = $doc])* pub $field: $ty,)*
        }

        /// A new profile. Only `name` and `model_path` are required.
        #[derive(Debug, Clone, Default, poem_openapi::Object, serde::Deserialize)]
        #[oai(rename = "ProfileCreate")]
        #[serde(deny_unknown_fields)]
        pub struct NewProfile {
            $(
                $(#[doc = $doc])* #[doc = ""] #[doc = $rule]
                pub $field: $crate::profiles::fields::new_ty!($kind, $input),
            )*
        }

        $crate::profiles::fields::patch_struct! {
            [] $([$(#[doc = $doc])* #[doc = ""] #[doc = $rule]] $field $kind $input;)*
        }

        /// A field of a profile.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ProfileField {
            $($(#[doc = $doc])* $variant,)*
        }

        impl ProfileField {
            /// Every field, in the order of the table.
            pub const ALL: &[ProfileField] = &[$(ProfileField::$variant,)*];

            /// Its name (in the API, the store and a template).
            pub fn name(self) -> &'static str {
                match self {
                    $(ProfileField::$variant => stringify!($field),)*
                }
            }

            /// How it relates to the server command.
            pub fn command_use(self) -> $crate::profiles::fields::CommandUse {
                match self {
                    $(ProfileField::$variant => $crate::profiles::fields::CommandUse::$command,)*
                }
            }

            /// Its value in `v` as placeholder text (`None`: unset, false or empty).
            pub fn render(self, v: &ProfileValues) -> Option<String> {
                match self {
                    $(ProfileField::$variant => $crate::profiles::fields::Render::render(&v.$field),)*
                }
            }

            /// Whether `v` sets it to something other than its default.
            pub fn is_set(self, v: &ProfileValues) -> bool {
                match self {
                    $(ProfileField::$variant =>
                        $crate::profiles::fields::is_set!($kind($($default)?), $input, v.$field),)*
                }
            }
        }

        impl ProfileValues {
            /// Check every value of a new profile, filling in defaults. Without a
            /// port, the port is a placeholder the repository replaces by the
            /// next free one.
            pub fn from_new(new: NewProfile) -> Result<Self, ProfileError> {
                Ok(Self {
                    $($field: $crate::profiles::fields::checked!(
                        $kind($($default)?), $check, new.$field
                    ),)*
                })
            }

            /// These values with `patch` applied, every value checked again.
            pub fn patched(&self, patch: ProfilePatch) -> Result<Self, ProfileError> {
                let current = self.clone();
                Self::from_new(NewProfile {
                    $($field: $crate::profiles::fields::merged!(
                        $kind, $input, patch.$field, current.$field
                    ),)*
                })
            }
        }
    };
}
pub(crate) use profile_fields;
