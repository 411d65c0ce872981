//! Latching: what stops a BFF's listener and trigger from feeding each other forever.
//!
//! A command writes an entity with `latched` unset; a listener that materializes another
//! service's events writes its views with `latched: true`. The trigger, reading the table's
//! change stream, drops the changes whose new image (for a delete, the old one) is latched,
//! so only the commands' changes become events. A listener drops the events its own service
//! published (their `source` tag is the function's own), so it never reacts to itself.
//!
//! | Node library | Rust |
//! |---|---|
//! | `outLatched` | [`Pipeline::drop_latched`] |
//! | `outSourceIsSelf` | [`Pipeline::drop_own_events`] |
//! | view writes with `latched: true` | `lambda_stream_aws::view` (its `materialize` step latches every write) |
//! | the `cdc` flavor | [`Pipeline::cdc`]: a trigger's pipeline with `drop_latched` built in |

use crate::pipeline::Pipeline;
use crate::step::filter::TypeFilter;
use crate::uow::Uow;

impl Pipeline<()> {
    /// A trigger's pipeline over a table's changes (the Node library's `cdc` flavor): the
    /// change events of `types`, latched changes already dropped, so a trigger cannot forget
    /// [`drop_latched`](Pipeline::drop_latched) and echo its listener's writes back forever.
    ///
    /// ```
    /// use lambda_stream::Pipeline;
    ///
    /// let trigger = Pipeline::cdc("orders", ["order-created", "order-updated"]);
    /// # let _ = trigger;
    /// ```
    pub fn cdc(name: impl Into<String>, types: impl Into<TypeFilter>) -> Self {
        Pipeline::new(name).on_types(types).drop_latched()
    }
}

impl<T: Send + 'static> Pipeline<T> {
    /// Drops (filters out) the units whose change is latched: a DynamoDB change whose new
    /// image has `latched: true`, or for a delete its old image. Events that are not changes
    /// pass.
    #[must_use]
    pub fn drop_latched(self) -> Self {
        self.filter(|uow| !is_latched(uow))
    }

    /// Drops (filters out) the events this service published itself: those whose `source`
    /// tag is the function's own (`PROJECT` or `SERVERLESS_PROJECT`). Without a configured
    /// source, nothing is dropped.
    #[must_use]
    pub fn drop_own_events(self) -> Self {
        self.filter(|uow| {
            let own = uow.invocation.tags.get_str("source");
            own.is_none() || uow.event.tags().get_str("source") != own
        })
    }
}

/// True when the unit's change is latched (see [`Pipeline::drop_latched`]).
pub fn is_latched<T>(uow: &Uow<T>) -> bool {
    let Some(raw) = uow.event.raw_json() else {
        return false;
    };
    let latched = |image: &str| {
        crate::json::get(raw, &[image, "latched"]).is_some_and(|v| v.raw().trim() == "true")
    };
    if crate::json::get(raw, &["new"]).is_some() {
        latched("new")
    } else {
        latched("old")
    }
}

#[cfg(test)]
mod tests {
    use crate::envelope::Envelope;
    use crate::testing;

    fn change(raw: serde_json::Value) -> Envelope {
        Envelope::builder("order-updated")
            .raw(&raw)
            .build()
            .expect("valid")
    }

    #[test]
    fn latched_changes_are_told_by_the_new_image_or_the_old_one_for_a_delete() {
        let latched = |raw| super::is_latched(&testing::uow(change(raw)));
        assert!(latched(
            serde_json::json!({"new": {"latched": true}, "old": {}})
        ));
        assert!(!latched(
            serde_json::json!({"new": {"latched": null}, "old": {"latched": true}})
        ));
        assert!(latched(serde_json::json!({"old": {"latched": true}})));
        assert!(!latched(serde_json::json!({"new": {}})));
        let plain = Envelope::builder("t").build().expect("valid");
        assert!(!super::is_latched(&testing::uow(plain)));
    }
}
