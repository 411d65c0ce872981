//! The BFF's items in its single table (`pk`, `sk`, `discriminator`, `timestamp`, ...), and
//! their keys.
//!
//! | item | `pk` | `sk` | written by |
//! |---|---|---|---|
//! | an order | order id | `order` | the API (`placeOrder`, `cancelOrder`) |
//! | a payment request | request id | `payment-request` | the API (`requestPayment`) |
//! | its outcome | request id | `payment-outcome` | the listener (`payment-authorized`, `payment-declined`) |
//! | a restaurant's menu | restaurant id | `menu` | the listener (`menu-updated`, `restaurant-unavailable`) |
//!
//! The index `CustomerIndex` (`customerId`, `sk`) lists a customer's orders; `KindIndex`
//! (`discriminator`, `pk`) the restaurants.

use lambda_stream_aws::store::Key;
use serde::{Deserialize, Serialize};

/// The sort key of orders.
pub const ORDER: &str = "order";
/// The sort key of payment requests.
pub const PAYMENT_REQUEST: &str = "payment-request";
/// The sort key of payment outcomes (the listener's view beside the command's request, so the
/// two never race on one item's `timestamp`).
pub const PAYMENT_OUTCOME: &str = "payment-outcome";
/// The sort key of menus.
pub const MENU: &str = "menu";
/// The index of a customer's items.
pub const CUSTOMER_INDEX: &str = "CustomerIndex";
/// The index of items by kind.
pub const KIND_INDEX: &str = "KindIndex";

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, async_graphql::SimpleObject)]
#[serde(rename_all = "camelCase")]
pub struct OrderLine {
    /// The menu item.
    pub menu_item_id: String,
    /// How many.
    pub quantity: u32,
    /// Its price in minor units when the order was placed.
    pub price: i64,
}

/// An order, as the table holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, async_graphql::SimpleObject)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// The order id (`pk`).
    #[serde(rename = "pk")]
    pub id: String,
    /// Who placed it (from the token, never the request).
    pub customer_id: String,
    /// The restaurant.
    pub restaurant_id: String,
    /// What was ordered.
    pub items: Vec<OrderLine>,
    /// The total in minor units.
    pub total: i64,
    /// ISO currency code.
    pub currency: String,
    /// `placed` or `cancelled`.
    pub status: String,
    /// When it last changed, epoch milliseconds.
    pub timestamp: i64,
}

impl Order {
    /// Its key.
    pub fn key(id: &str) -> Key {
        Key::new(id, ORDER)
    }
}

/// A payment request: the asynchronous request-response's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, async_graphql::SimpleObject)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequest {
    /// The request id (`pk`), the processor's reference.
    #[serde(rename = "pk")]
    pub id: String,
    /// The order it pays.
    pub order_id: String,
    /// Who asked.
    pub customer_id: String,
    /// The amount in minor units.
    pub amount: i64,
    /// ISO currency code.
    pub currency: String,
    /// `requested`, then `authorized` or `declined`.
    pub status: String,
    /// Why it was declined.
    #[serde(default)]
    pub reason: Option<String>,
    /// When it last changed, epoch milliseconds.
    pub timestamp: i64,
}

impl PaymentRequest {
    /// Its key.
    pub fn key(id: &str) -> Key {
        Key::new(id, PAYMENT_REQUEST)
    }

    /// The key of its outcome.
    pub fn outcome_key(id: &str) -> Key {
        Key::new(id, PAYMENT_OUTCOME)
    }
}

/// A payment request's outcome, as the listener keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentOutcome {
    /// `authorized` or `declined`.
    pub status: String,
    /// Why it was declined.
    #[serde(default)]
    pub reason: Option<String>,
    /// The outcome event's time.
    pub timestamp: i64,
}

/// One dish of a menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, async_graphql::SimpleObject)]
#[serde(rename_all = "camelCase")]
pub struct MenuItem {
    /// The menu item id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its price in minor units.
    pub price: i64,
}

/// A restaurant's menu, as the listener keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, async_graphql::SimpleObject)]
#[serde(rename_all = "camelCase")]
pub struct Menu {
    /// The restaurant (`pk`).
    #[serde(rename = "pk")]
    pub restaurant_id: String,
    /// Its name.
    #[serde(default)]
    pub restaurant_name: String,
    /// What can be ordered.
    #[serde(default)]
    pub items: Vec<MenuItem>,
    /// Set when the restaurant is unavailable.
    #[serde(default)]
    #[graphql(skip)]
    pub deleted: bool,
}

impl Menu {
    /// Its key.
    pub fn key(restaurant_id: &str) -> Key {
        Key::new(restaurant_id, MENU)
    }
}
