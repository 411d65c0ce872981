//! The Customer subsystem's external contracts in one place: the domain events it shares with
//! other subsystems (published with source `external` by its egress gateways) and the ones it
//! reads from them (consumed by its ingress gateways).
//!
//! Each contract is a Rust type that the gateways use to write or read the event's entity, and
//! a JSON Schema committed under `contracts/schemas/`. The tests regenerate the schemas from
//! the types and compare them with the committed ones (see [`compat`]): a breaking change
//! (a field removed, a type changed, an optional field made required, a new required field)
//! fails, whatever else changed; a compatible change fails until the schema is committed
//! again with `UPDATE_CONTRACTS=1 cargo test -p customer-contracts --features schema`.
//! A breaking change means a new version of the event (a new type, say `OrderV2`, published
//! alongside the old one until its consumers have moved), never an edit.
//!
//! Readers are tolerant: unknown fields are ignored and optional fields take defaults, so the
//! upstream subsystem may add to its events without breaking us.

pub mod compat;
pub mod order;
pub mod restaurant;
#[cfg(feature = "schema")]
pub mod schema;

/// Which way a contract's events travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Published by this subsystem's egress gateways.
    Published,
    /// Read by this subsystem's ingress gateways.
    Consumed,
}

impl Direction {
    /// The folder of its schemas under `contracts/schemas/`.
    pub fn folder(self) -> &'static str {
        match self {
            Self::Published => "published",
            Self::Consumed => "consumed",
        }
    }
}

/// One external event type: its name, version, the envelope field holding its entity, and
/// which way it travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contract {
    /// The event type (`order-placed`).
    pub event_type: &'static str,
    /// The contract version, also the event's `version` tag.
    pub version: u32,
    /// The envelope field with the entity (`order`).
    pub entity_field: &'static str,
    /// Which way it travels.
    pub direction: Direction,
}

impl Contract {
    /// The schema's file name: `<event type>.v<version>.schema.json`.
    pub fn file_name(&self) -> String {
        format!("{}.v{}.schema.json", self.event_type, self.version)
    }
}

/// Every contract of the subsystem.
pub const CONTRACTS: &[Contract] = &[
    order::ORDER_PLACED,
    order::ORDER_CANCELLED,
    restaurant::RESTAURANT_MENU_PUBLISHED,
    restaurant::RESTAURANT_CLOSED,
    restaurant::ORDER_ACCEPTED,
];
