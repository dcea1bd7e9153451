//! Server profiles: how to run one model server (model, port, options), kept in
//! the store with unique names and ports.

mod fields;
mod profile;
pub(crate) mod repo;

pub use fields::CommandUse;
pub use profile::{
    LogLevel, ModelType, NewProfile, Profile, ProfileError, ProfileField, ProfilePatch,
    ProfileValues,
};
pub use repo::{Profiles, is_loopback};
