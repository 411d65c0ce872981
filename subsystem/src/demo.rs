//! The food-delivery scenario, seeded and repeatable: restaurants publish their menus,
//! customers place orders through the BFF, pay (or their card is declined, or they never pay,
//! or they cancel), restaurants accept the paid orders, the delivery system reports them on
//! their way and delivered, the payment deadline passes; the control service confirms,
//! cancels, delivers or expires each order and notifications go out. Every record is then
//! accounted for.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use local_hub::hub::{HubError, Stats};
use local_hub::local::StartOptions;

use crate::local::LocalSubsystem;
use crate::outside::{DECLINED_CARD, delivery_status, menu_published};

/// How an order of the scenario ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fate {
    /// Paid, accepted by the restaurant, delivered.
    Delivered,
    /// Paid; the restaurant has not accepted it yet.
    Paid,
    /// The card was declined: the control service cancels it.
    Declined,
    /// Never paid: it expires at the payment deadline.
    Expired,
    /// The customer cancelled it before paying.
    Cancelled,
}

impl Fate {
    fn name(self) -> &'static str {
        match self {
            Fate::Delivered => "delivered",
            Fate::Paid => "paid, awaiting the restaurant",
            Fate::Declined => "declined, cancelled",
            Fate::Expired => "expired",
            Fate::Cancelled => "cancelled by the customer",
        }
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The seed: the same seed, the same orders and fates.
    pub seed: u64,
    /// How many customers (one order each).
    pub customers: usize,
    /// Inject faults: a processor outage, a malformed restaurant event, a function that
    /// fails a record twice.
    pub faults: bool,
}

impl Default for Scenario {
    fn default() -> Self {
        Self {
            seed: 7,
            customers: 20,
            faults: false,
        }
    }
}

/// One order of the scenario.
#[derive(Debug, Clone)]
pub struct PlannedOrder {
    /// The customer.
    pub customer: String,
    /// The restaurant.
    pub restaurant: String,
    /// How it ends.
    pub fate: Fate,
    /// Its id (the BFF's).
    pub id: String,
}

/// What the demo saw.
#[derive(Debug)]
pub struct Report {
    /// The orders, in the order placed.
    pub orders: Vec<PlannedOrder>,
    /// Each order's internal events, in the order the bus took them.
    pub traces: BTreeMap<String, Vec<String>>,
    /// The hub's counts.
    pub stats: Stats,
    /// Where every record went.
    pub accounting: local_hub::summary::Accounting,
    /// Calls the processor received, and callbacks it posted.
    pub processor: (usize, usize),
    /// How long it took.
    pub wall: Duration,
}

/// A dish: id, name, price in cents.
type Dish = (&'static str, &'static str, i64);

/// The restaurants: id, name, menu.
const RESTAURANTS: &[(&str, &str, &[Dish])] = &[
    (
        "r1",
        "Luigi's",
        &[
            ("m1", "Margherita", 900),
            ("m2", "Calzone", 1_100),
            ("m3", "Tiramisu", 550),
        ],
    ),
    (
        "r2",
        "Sakura",
        &[("s1", "Ramen", 1_250), ("s2", "Gyoza", 650)],
    ),
    (
        "r3",
        "El Patio",
        &[("p1", "Tacos", 800), ("p2", "Churros", 450)],
    ),
];

const PLACE: &str = "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }";
const PAY: &str = "mutation($order: ID!, $card: String!) { requestPayment(orderId: $order, paymentMethodToken: $card) { id } }";
const CANCEL: &str = "mutation($id: ID!) { cancelOrder(id: $id) { id status } }";

fn data<'a>(response: &'a Value, field: &str) -> Result<&'a Value, HubError> {
    match response.get("data").and_then(|d| d.get(field)) {
        Some(value) if !value.is_null() => Ok(value),
        _ => Err(HubError(format!("the BFF refused {field}: {response}"))),
    }
}

/// Runs the scenario on the templates in `dir`.
pub async fn run(dir: &Path, scenario: &Scenario) -> Result<Report, HubError> {
    let started = Instant::now();
    let fail_twice = scenario
        .faults
        .then(|| "order-control/ListenerFunction".to_string());
    let mut local = LocalSubsystem::start_with(
        dir,
        StartOptions {
            fail_first_record_twice: fail_twice,
            keep_log: true,
            ..StartOptions::default()
        },
    )
    .await?;
    let mut rng = fastrand::Rng::with_seed(scenario.seed);
    let origin = 1_764_547_200_000;

    // The Restaurant subsystem publishes its menus (and, with faults, one event without a
    // restaurant id).
    for (n, (id, name, items)) in RESTAURANTS.iter().enumerate() {
        local
            .external_event(&menu_published(id, name, items, origin + n as i64))
            .map_err(HubError)?;
    }
    if scenario.faults {
        let mut malformed = menu_published("r9", "Nameless", &[], origin);
        malformed["restaurant"] = json!({"name": "no id"});
        local.external_event(&malformed).map_err(HubError)?;
    }
    local.settle().await?;

    // Customers place their orders.
    let mut orders = Vec::with_capacity(scenario.customers);
    for n in 1..=scenario.customers {
        let customer = format!("c{n}");
        let (restaurant, _, items) = RESTAURANTS[rng.usize(..RESTAURANTS.len())];
        let lines: Vec<Value> = (0..rng.usize(1..=items.len()))
            .map(|i| json!({"menuItemId": items[i].0, "quantity": rng.u32(1..4)}))
            .collect();
        let fate = match rng.u8(..20) {
            0..=7 => Fate::Delivered,
            8..=10 => Fate::Paid,
            11..=13 => Fate::Declined,
            14..=16 => Fate::Expired,
            _ => Fate::Cancelled,
        };
        let placed = local
            .graphql(
                &customer,
                PLACE,
                json!({"input": {"restaurantId": restaurant, "items": lines}}),
            )
            .await
            .map_err(HubError)?;
        let id = data(&placed, "placeOrder")?["id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        orders.push(PlannedOrder {
            customer,
            restaurant: restaurant.to_string(),
            fate,
            id,
        });
    }
    local.settle().await?;

    // They pay (or cancel); with faults, the processor is down for the first calls.
    if scenario.faults {
        local.processor.refuse_next(2);
    }
    for order in &orders {
        let card = match order.fate {
            Fate::Delivered | Fate::Paid => "tok_visa",
            Fate::Declined => DECLINED_CARD,
            Fate::Cancelled => {
                let response = local
                    .graphql(&order.customer, CANCEL, json!({"id": order.id}))
                    .await
                    .map_err(HubError)?;
                data(&response, "cancelOrder")?;
                continue;
            }
            Fate::Expired => continue,
        };
        let response = local
            .graphql(
                &order.customer,
                PAY,
                json!({"order": order.id, "card": card}),
            )
            .await
            .map_err(HubError)?;
        data(&response, "requestPayment")?;
    }
    local.settle().await?;

    // Restaurants accept the orders they will cook.
    for order in orders.iter().filter(|o| o.fate == Fate::Delivered) {
        let accepted = json!({
            "id": format!("evt-accepted-{}", order.id),
            "type": "order-accepted",
            "timestamp": local.hub.core().now_ms(),
            "partitionKey": order.restaurant,
            "tags": {"source": "restaurant-order-egress-gateway", "version": 1},
            "acceptance": {"orderId": order.id, "restaurantId": order.restaurant},
        });
        local.external_event(&accepted).map_err(HubError)?;
    }
    local.settle().await?;

    // The delivery system takes them to the customers.
    for status in ["out-for-delivery", "delivered"] {
        for order in orders.iter().filter(|o| o.fate == Fate::Delivered) {
            local.delivery_message(&delivery_status(&order.id, status, "Ana"));
        }
        local.settle().await?;
    }

    // The payment deadline passes.
    local
        .advance(order_control::PAYMENT_DEADLINE + Duration::from_secs(60))
        .await?;

    let core = local.hub.core();
    let stats = core.stats();
    let mut traces: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for logged in core.log() {
        if logged.source == "external" {
            continue;
        }
        if let Some(key) = logged.partition_key {
            traces.entry(key).or_default().push(logged.detail_type);
        }
    }
    let accounting = local_hub::summary::account(&local.hub);
    Ok(Report {
        orders,
        traces,
        processor: (local.processor.calls(), local.processor.callbacks()),
        stats,
        accounting,
        wall: started.elapsed(),
    })
}

/// The report as the `demo` command prints it.
pub fn print(report: &Report) {
    println!("Orders (each order's internal events, in the order the bus took them):");
    for (n, order) in report.orders.iter().enumerate() {
        let trace = report.traces.get(&order.id).cloned().unwrap_or_default();
        println!(
            "  {:>3}. {} at {}: {}\n       {}",
            n + 1,
            order.customer,
            order.restaurant,
            order.fate.name(),
            trace.join(" → ")
        );
    }
    println!();
    local_hub::summary::print(&report.stats, &report.accounting);
    println!(
        "payment processor: {} calls, {} callbacks",
        report.processor.0, report.processor.1
    );
    println!("wall time: {:.0} ms", report.wall.as_secs_f64() * 1_000.0);
}
