//! Server profiles: how to run one model server (model, port, options), kept in
//! the store with unique names and ports.

mod model;
pub(crate) mod repo;

pub use model::{
    DEFAULT_MAX_CONCURRENCY, DEFAULT_QUEUE_SIZE, DEFAULT_QUEUE_TIMEOUT, LogLevel, ModelType,
    NewProfile, Profile, ProfileError, ProfilePatch, ProfileValues,
};
pub use repo::Profiles;
