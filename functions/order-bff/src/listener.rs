//! The listener: other services' events into the BFF's views, each write only if newer
//! (events late or repeated change nothing) and latched (the trigger does not echo them).
//!
//! | event | view |
//! |---|---|
//! | `menu-updated` | the restaurant's menu |
//! | `restaurant-unavailable` | the menu, soft deleted |
//! | `payment-authorized`, `payment-declined` | the payment request's outcome (status and reason) |

use lambda_stream::{Delivered, Pipeline, StepError, TypeFilter};
use lambda_stream_aws::view::{MaterializeStep, View, Views};
use serde_json::{Value, json};

use crate::model::{MENU, Menu, PAYMENT_OUTCOME, PaymentRequest};

/// Menus from the restaurant events.
pub fn menus(views: &Views) -> Pipeline<Delivered> {
    Pipeline::new("menus")
        .on_types(TypeFilter::set(["menu-updated", "restaurant-unavailable"]))
        .drop_own_events()
        .materialize(views, |uow| {
            if uow.event.event_type() == "restaurant-unavailable" {
                let restaurant: Value = uow.event.field("restaurant")?;
                let id = restaurant["id"].as_str().unwrap_or_default();
                return View::new(Menu::key(id), MENU, &json!({})).map(View::deleted);
            }
            let menu: Value = uow.event.field("menu")?;
            let id = menu["restaurantId"]
                .as_str()
                .ok_or_else(|| StepError::permanent("the menu has no restaurantId"))?;
            View::new(
                Menu::key(id),
                MENU,
                &json!({"restaurantName": menu["restaurantName"], "items": menu["items"]}),
            )
        })
}

/// Payment requests' outcomes from the payment events.
pub fn payment_outcomes(views: &Views) -> Pipeline<Delivered> {
    Pipeline::new("payment-outcomes")
        .on_types(TypeFilter::set(["payment-authorized", "payment-declined"]))
        .drop_own_events()
        .materialize(views, |uow| {
            let payment: Value = uow.event.field("payment")?;
            let id = payment["id"]
                .as_str()
                .ok_or_else(|| StepError::permanent("the payment has no id"))?;
            let status = match uow.event.event_type() {
                "payment-authorized" => "authorized",
                _ => "declined",
            };
            View::new(
                PaymentRequest::outcome_key(id),
                PAYMENT_OUTCOME,
                &json!({"status": status, "reason": payment["reason"]}),
            )
        })
}
