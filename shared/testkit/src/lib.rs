//! Dev-only support for the functions' local-stack integration tests: [`stack`] is the real local stack
//! (moto, the registry emulator, the governance emulator) as one test sees it, with lanes that give
//! each test its own registry region, rules and queues, so tests of every crate can run at once.

pub mod cost;
pub mod json_schema;
pub mod stack;
