//! Server profiles: how to run one model server (model, port, options), kept in
//! the store with unique names and ports.

mod model;
pub(crate) mod repo;

pub use model::{
    LogLevel, ModelType, NewProfile, Profile, ProfileError, ProfilePatch, ProfileValues,
};
pub use repo::Profiles;
