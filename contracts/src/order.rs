//! The order events the Customer subsystem shares with the Order subsystem (published by
//! `order-egress-gateway`): only what it is willing to share, no customer details and no
//! payment method.

use serde::{Deserialize, Serialize};

use crate::{Contract, Direction};

/// `order-placed`, version 1: entity `order`, an [`OrderV1`].
pub const ORDER_PLACED: Contract = Contract {
    event_type: "order-placed",
    version: 1,
    entity_field: "order",
    direction: Direction::Published,
};

/// `order-cancelled`, version 1: entity `order`, an [`OrderV1`].
pub const ORDER_CANCELLED: Contract = Contract {
    event_type: "order-cancelled",
    version: 1,
    entity_field: "order",
    direction: Direction::Published,
};

/// The external order, version 1: what the Order subsystem may rely on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct OrderV1 {
    /// The order id.
    pub id: String,
    /// The restaurant.
    pub restaurant_id: String,
    /// What was ordered.
    pub items: Vec<OrderItemV1>,
    /// The total in minor units, when known.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub total: Option<i64>,
    /// ISO currency code, when known.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub currency: Option<String>,
}

/// One line of an external order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct OrderItemV1 {
    /// The menu item.
    pub menu_item_id: String,
    /// How many.
    pub quantity: u32,
}
