//! The customer's GraphQL API. The customer is the token's subject (the HTTP API's JWT
//! authorizer checked the token); nothing in a request can name another customer, and another
//! customer's order or payment request reads as not found.
//!
//! Commands write the table and return at once; the trigger turns their changes into events.
//! `requestPayment` is the asynchronous request-response: it stores a request `REQUESTED` and
//! returns its id; the payment's outcome arrives later (processor → webhook →
//! `payment-authorized`/`payment-declined` → listener) and `paymentRequest(id)` shows it.

use std::sync::Arc;

use async_graphql::{Context, EmptySubscription, Error, ID, InputObject, Object, Schema};
use lambda_stream_aws::store::{Query, Store};
use serde_json::{Value, json};

use crate::model::{
    CUSTOMER_INDEX, KIND_INDEX, MENU, Menu, ORDER, Order, OrderLine, PAYMENT_REQUEST,
    PaymentOutcome, PaymentRequest,
};

/// The schema the API serves.
pub type BffSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

/// The caller, from the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer(pub String);

/// What the resolvers share: the table and the clock.
pub struct Services {
    /// The BFF's table.
    pub store: Arc<dyn Store>,
    /// Now, in epoch milliseconds.
    pub now: Box<dyn Fn() -> i64 + Send + Sync>,
}

/// The schema over `services`.
pub fn schema(services: Services) -> BffSchema {
    Schema::build(QueryRoot, MutationRoot, EmptySubscription)
        .data(services)
        .limit_depth(8)
        .limit_complexity(200)
        .finish()
}

fn services<'a>(ctx: &Context<'a>) -> Result<&'a Services, Error> {
    ctx.data::<Services>()
}

fn customer<'a>(ctx: &Context<'a>) -> Result<&'a str, Error> {
    ctx.data::<Customer>()
        .map(|c| c.0.as_str())
        .map_err(|_| Error::new("unauthenticated"))
}

fn internal(error: impl std::fmt::Display) -> Error {
    Error::new(format!("the store failed: {error}"))
}

fn read<T: serde::de::DeserializeOwned>(item: Value) -> Result<T, Error> {
    serde_json::from_value(item).map_err(|e| Error::new(format!("a stored item is malformed: {e}")))
}

async fn own_order(ctx: &Context<'_>, id: &str) -> Result<Option<Order>, Error> {
    let me = customer(ctx)?;
    let item = services(ctx)?
        .store
        .get(Order::key(id))
        .await
        .map_err(internal)?;
    match item {
        Some(item) => {
            let order: Order = read(item)?;
            Ok((order.customer_id == me).then_some(order))
        }
        None => Ok(None),
    }
}

/// The queries.
pub struct QueryRoot;

#[Object]
impl QueryRoot {
    /// One of the caller's orders.
    async fn order(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Order>, Error> {
        own_order(ctx, &id).await
    }

    /// The caller's orders, newest first.
    async fn my_orders(&self, ctx: &Context<'_>) -> Result<Vec<Order>, Error> {
        let me = customer(ctx)?;
        let items = services(ctx)?
            .store
            .query(Query::index(CUSTOMER_INDEX, "customerId", me).sk_prefix(ORDER))
            .await
            .map_err(internal)?;
        let mut orders: Vec<Order> = items.into_iter().map(read).collect::<Result<_, _>>()?;
        orders.sort_by_key(|o| std::cmp::Reverse(o.timestamp));
        Ok(orders)
    }

    /// The restaurants open now, with their menus.
    async fn restaurants(&self, ctx: &Context<'_>) -> Result<Vec<Menu>, Error> {
        customer(ctx)?;
        let items = services(ctx)?
            .store
            .query(Query::index(KIND_INDEX, "discriminator", MENU))
            .await
            .map_err(internal)?;
        let menus: Vec<Menu> = items.into_iter().map(read).collect::<Result<_, _>>()?;
        Ok(menus.into_iter().filter(|m| !m.deleted).collect())
    }

    /// One restaurant's menu.
    async fn menu(&self, ctx: &Context<'_>, restaurant_id: ID) -> Result<Option<Menu>, Error> {
        customer(ctx)?;
        let item = services(ctx)?
            .store
            .get(Menu::key(&restaurant_id))
            .await
            .map_err(internal)?;
        Ok(item.map(read::<Menu>).transpose()?.filter(|m| !m.deleted))
    }

    /// One of the caller's payment requests: poll it for the outcome.
    async fn payment_request(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<Option<PaymentRequest>, Error> {
        let me = customer(ctx)?;
        let item = services(ctx)?
            .store
            .get(PaymentRequest::key(&id))
            .await
            .map_err(internal)?;
        let Some(mut request) = item
            .map(read::<PaymentRequest>)
            .transpose()?
            .filter(|r| r.customer_id == me)
        else {
            return Ok(None);
        };
        let outcome = services(ctx)?
            .store
            .get(PaymentRequest::outcome_key(&id))
            .await
            .map_err(internal)?
            .map(read::<PaymentOutcome>)
            .transpose()?;
        if let Some(outcome) = outcome {
            request.status = outcome.status;
            request.reason = outcome.reason;
            request.timestamp = outcome.timestamp;
        }
        Ok(Some(request))
    }
}

/// One line of a new order.
#[derive(Debug, InputObject)]
pub struct OrderLineInput {
    /// The menu item.
    pub menu_item_id: ID,
    /// How many (1 to 50).
    pub quantity: u32,
}

/// A new order.
#[derive(Debug, InputObject)]
pub struct PlaceOrderInput {
    /// The restaurant.
    pub restaurant_id: ID,
    /// What to order.
    pub items: Vec<OrderLineInput>,
}

/// The commands.
pub struct MutationRoot;

#[Object]
impl MutationRoot {
    /// Places an order at a restaurant's current prices.
    async fn place_order(&self, ctx: &Context<'_>, input: PlaceOrderInput) -> Result<Order, Error> {
        let me = customer(ctx)?.to_string();
        let services = services(ctx)?;
        let menu = services
            .store
            .get(Menu::key(&input.restaurant_id))
            .await
            .map_err(internal)?
            .map(read::<Menu>)
            .transpose()?
            .filter(|m| !m.deleted)
            .ok_or_else(|| Error::new("the restaurant is not taking orders"))?;
        if input.items.is_empty() || input.items.len() > 50 {
            return Err(Error::new("an order has 1 to 50 lines"));
        }
        let mut lines = Vec::with_capacity(input.items.len());
        for line in &input.items {
            let item = menu
                .items
                .iter()
                .find(|i| i.id == line.menu_item_id.as_str())
                .ok_or_else(|| {
                    Error::new(format!(
                        "`{}` is not on the menu",
                        line.menu_item_id.as_str()
                    ))
                })?;
            if !(1..=50).contains(&line.quantity) {
                return Err(Error::new("a quantity is 1 to 50"));
            }
            lines.push(OrderLine {
                menu_item_id: item.id.clone(),
                quantity: line.quantity,
                price: item.price,
            });
        }
        let total = lines.iter().map(|l| l.price * i64::from(l.quantity)).sum();
        let order = Order {
            id: uuid::Uuid::new_v4().to_string(),
            customer_id: me,
            restaurant_id: menu.restaurant_id,
            items: lines,
            total,
            currency: "EUR".into(),
            status: "placed".into(),
            timestamp: (services.now)(),
        };
        let mut item = serde_json::to_value(&order).map_err(internal)?;
        item["sk"] = json!(ORDER);
        item["discriminator"] = json!(ORDER);
        services.store.put(item).await.map_err(internal)?;
        Ok(order)
    }

    /// Cancels one of the caller's placed orders.
    async fn cancel_order(&self, ctx: &Context<'_>, id: ID) -> Result<Order, Error> {
        let mut order = own_order(ctx, &id)
            .await?
            .ok_or_else(|| Error::new("no such order"))?;
        if order.status != "placed" {
            return Err(Error::new(format!("the order is {}", order.status)));
        }
        let services = services(ctx)?;
        order.status = "cancelled".into();
        order.timestamp = (services.now)().max(order.timestamp + 1);
        services
            .store
            .update_if_newer(
                Order::key(&order.id),
                json!({"status": "cancelled"}),
                order.timestamp,
            )
            .await
            .map_err(internal)?;
        Ok(order)
    }

    /// Asks for the payment of one of the caller's placed orders and returns at once with
    /// the request (`requested`); poll `paymentRequest(id)` for the outcome.
    async fn request_payment(
        &self,
        ctx: &Context<'_>,
        order_id: ID,
        payment_method_token: String,
    ) -> Result<PaymentRequest, Error> {
        let order = own_order(ctx, &order_id)
            .await?
            .ok_or_else(|| Error::new("no such order"))?;
        if order.status != "placed" {
            return Err(Error::new(format!("the order is {}", order.status)));
        }
        if payment_method_token.trim().is_empty() {
            return Err(Error::new("a payment method token is required"));
        }
        let services = services(ctx)?;
        let request = PaymentRequest {
            id: uuid::Uuid::new_v4().to_string(),
            order_id: order.id,
            customer_id: order.customer_id,
            amount: order.total,
            currency: order.currency,
            status: "requested".into(),
            reason: None,
            timestamp: (services.now)(),
        };
        let mut item = serde_json::to_value(&request).map_err(internal)?;
        item["sk"] = json!(PAYMENT_REQUEST);
        item["discriminator"] = json!(PAYMENT_REQUEST);
        item["paymentMethodToken"] = json!(payment_method_token);
        services.store.put(item).await.map_err(internal)?;
        Ok(request)
    }
}
