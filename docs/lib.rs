#![doc = include_str!("../README.md")]

#[doc = include_str!("writing-a-function.md")]
pub mod writing_a_function {}

#[doc = include_str!("sources.md")]
pub mod sources {}

#[doc = include_str!("flavors.md")]
pub mod flavors {}

#[doc = include_str!("operations.md")]
pub mod operations {}

#[doc = include_str!("interop.md")]
pub mod interop {}

#[doc = include_str!("local-hub.md")]
pub mod local_hub {}

#[doc = include_str!("sinks.md")]
pub mod sinks {}

#[doc = include_str!("delivery-guarantees.md")]
pub mod delivery_guarantees {}

#[doc = include_str!("packaging.md")]
pub mod packaging {}

#[doc = include_str!("performance.md")]
pub mod performance {}
