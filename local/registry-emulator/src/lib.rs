//! govsync's local SageMaker Model Registry: the awsJson1.1 API with AWS semantics, publishing the
//! EventBridge events real SageMaker and CloudTrail would. See README.md for flags and semantics.
//!
//! The binary (`main.rs`) wires these modules; integration tests drive [`server::router`] in-process.

pub mod card_schema;
pub mod config;
pub mod container;
pub mod error;
pub mod events;
pub mod policy;
pub mod presigned_url;
pub mod publisher;
pub mod registry;
pub mod server;
pub mod sigv4;
pub mod sts;
pub mod studio;
pub mod validate;
pub mod wire;
