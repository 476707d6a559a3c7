//! Feed formats other than OSV: the CISA KEV catalog and the FIRST EPSS
//! scores file.

pub mod epss;
pub mod kev;
