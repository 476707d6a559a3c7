//! Integration tests of the sensor library: discovery over a fixture tree
//! and the live host, the cloud metadata probe, and the agent's HTTP
//! protocol handling against a small scripted HTTP server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod agent;
mod container;
mod containerd;
mod discovery;
mod http;
mod kube;
