//! Pulling images over the OCI distribution API.

mod auth;
mod client;
mod reference;

pub use auth::{Challenge, ConfigLookup, Credentials, lookup_docker_config, parse_challenge};
pub use client::{RegistryOptions, open_registry_image};
pub use reference::{ImageRef, InvalidRef};
