//! Facts collectors: a target in, one JSON document out.

pub mod dockerfile;
pub mod image;
pub mod k8s;
pub mod linux;
pub mod parse;
mod root;
