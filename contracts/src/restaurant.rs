//! The restaurant events the Customer subsystem reads from the Restaurant subsystem (consumed
//! by `restaurant-ingress-gateway`). The schema says what we rely on: the Restaurant subsystem
//! may add fields, which we ignore, and event types, which we filter out.

use serde::{Deserialize, Serialize};

use crate::{Contract, Direction};

/// `restaurant-menu-published`, version 1: entity `restaurant`, a [`RestaurantV1`].
pub const RESTAURANT_MENU_PUBLISHED: Contract = Contract {
    event_type: "restaurant-menu-published",
    version: 1,
    entity_field: "restaurant",
    direction: Direction::Consumed,
};

/// `restaurant-closed`, version 1: entity `restaurant`, a [`RestaurantV1`].
pub const RESTAURANT_CLOSED: Contract = Contract {
    event_type: "restaurant-closed",
    version: 1,
    entity_field: "restaurant",
    direction: Direction::Consumed,
};

/// `order-accepted`, version 1: entity `acceptance`, an [`OrderAcceptanceV1`]: the restaurant
/// took an order the Customer subsystem shared (`order-placed`) and will prepare it.
pub const ORDER_ACCEPTED: Contract = Contract {
    event_type: "order-accepted",
    version: 1,
    entity_field: "acceptance",
    direction: Direction::Consumed,
};

/// A restaurant's acceptance of an order, version 1, as we read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct OrderAcceptanceV1 {
    /// The order (the id it had in `order-placed`).
    pub order_id: String,
    /// The restaurant that accepted it.
    pub restaurant_id: String,
    /// When the restaurant expects it ready, epoch milliseconds, if it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_at: Option<i64>,
}

/// The external restaurant, version 1, as we read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct RestaurantV1 {
    /// The restaurant id.
    pub id: String,
    /// Its name (empty when not given).
    #[serde(default)]
    pub name: String,
    /// Its menu (empty when not given, as on `restaurant-closed`).
    #[serde(default)]
    pub menu: Vec<MenuItemV1>,
}

/// One dish on an external menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MenuItemV1 {
    /// The menu item id.
    pub id: String,
    /// Its name (empty when not given).
    #[serde(default)]
    pub name: String,
    /// Its price in minor units.
    pub price: i64,
    /// Whether it can be ordered now (yes when not given).
    #[serde(default = "available_by_default")]
    pub available: bool,
}

fn available_by_default() -> bool {
    true
}
