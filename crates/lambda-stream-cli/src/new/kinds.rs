//! The kinds of service `new` writes, and each one's files (`scaffold/common` for all,
//! `scaffold/<kind>` for its own).

/// The event hub every kind is deployed beside (a copy of the repository's
/// `templates/event-hub.yaml`, checked by a test).
pub(crate) const EVENT_HUB: &str = include_str!("../../scaffold/common/event-hub.yaml");

/// What kind of service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Kind {
    /// An ingress gateway: another subsystem's external events from the hub's ingress stream,
    /// published as this subsystem's internal events.
    Gateway,
    /// A backend for frontend: views of the events it listens to, an HTTP API, and the events
    /// of its own changes (CDC).
    Bff,
    /// A control service: events collected in a micro event store, evaluated, and the
    /// higher-order events that follow published once each.
    Control,
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::Gateway => "gateway",
            Kind::Bff => "bff",
            Kind::Control => "control",
        })
    }
}

/// The files every kind has: (path, contents), both with placeholders.
const COMMON: &[(&str, &str)] = &[
    (
        "Cargo.toml",
        include_str!("../../scaffold/common/Cargo.toml.in"),
    ),
    (
        ".gitignore",
        include_str!("../../scaffold/common/gitignore"),
    ),
    ("README.md", include_str!("../../scaffold/common/README.md")),
    ("templates/event-hub.yaml", EVENT_HUB),
    (
        "templates/local-hub.json",
        include_str!("../../scaffold/common/local-hub.json"),
    ),
    (
        "hub/src/main.rs",
        include_str!("../../scaffold/common/hub-main.rs"),
    ),
];

const BFF: &[(&str, &str)] = &[
    (
        "templates/{{name}}.yaml",
        include_str!("../../scaffold/bff/template.yaml"),
    ),
    (
        "templates/demo-events.jsonl",
        include_str!("../../scaffold/bff/demo-events.jsonl"),
    ),
    (
        "templates/event-hub.routes.json",
        include_str!("../../scaffold/bff/routes.json"),
    ),
    (
        "service/Cargo.toml",
        include_str!("../../scaffold/bff/service-Cargo.toml.in"),
    ),
    (
        "service/src/lib.rs",
        include_str!("../../scaffold/bff/lib.rs"),
    ),
    (
        "service/src/listener.rs",
        include_str!("../../scaffold/bff/listener.rs"),
    ),
    (
        "service/src/api.rs",
        include_str!("../../scaffold/bff/api.rs"),
    ),
    (
        "service/src/trigger.rs",
        include_str!("../../scaffold/bff/trigger.rs"),
    ),
    (
        "service/src/bin/{{name}}-listener.rs",
        include_str!("../../scaffold/bff/bin-listener.rs"),
    ),
    (
        "service/src/bin/{{name}}-api.rs",
        include_str!("../../scaffold/bff/bin-api.rs"),
    ),
    (
        "service/src/bin/{{name}}-trigger.rs",
        include_str!("../../scaffold/bff/bin-trigger.rs"),
    ),
    (
        "service/tests/moto.rs",
        include_str!("../../scaffold/bff/moto.rs"),
    ),
    (
        "hub/Cargo.toml",
        include_str!("../../scaffold/bff/hub-Cargo.toml.in"),
    ),
    (
        "hub/src/lib.rs",
        include_str!("../../scaffold/bff/hub-lib.rs"),
    ),
    (
        "hub/tests/hub.rs",
        include_str!("../../scaffold/bff/hub-test.rs"),
    ),
];

const CONTROL: &[(&str, &str)] = &[
    (
        "templates/{{name}}.yaml",
        include_str!("../../scaffold/control/template.yaml"),
    ),
    (
        "templates/demo-events.jsonl",
        include_str!("../../scaffold/control/demo-events.jsonl"),
    ),
    (
        "templates/event-hub.routes.json",
        include_str!("../../scaffold/control/routes.json"),
    ),
    (
        "service/Cargo.toml",
        include_str!("../../scaffold/control/service-Cargo.toml.in"),
    ),
    (
        "service/src/lib.rs",
        include_str!("../../scaffold/control/lib.rs"),
    ),
    (
        "service/src/rules.rs",
        include_str!("../../scaffold/control/rules.rs"),
    ),
    (
        "service/src/listener.rs",
        include_str!("../../scaffold/control/listener.rs"),
    ),
    (
        "service/src/trigger.rs",
        include_str!("../../scaffold/control/trigger.rs"),
    ),
    (
        "service/src/bin/{{name}}-listener.rs",
        include_str!("../../scaffold/bff/bin-listener.rs"),
    ),
    (
        "service/src/bin/{{name}}-trigger.rs",
        include_str!("../../scaffold/bff/bin-trigger.rs"),
    ),
    (
        "service/tests/moto.rs",
        include_str!("../../scaffold/control/moto.rs"),
    ),
    (
        "hub/Cargo.toml",
        include_str!("../../scaffold/control/hub-Cargo.toml.in"),
    ),
    (
        "hub/src/lib.rs",
        include_str!("../../scaffold/control/hub-lib.rs"),
    ),
    (
        "hub/tests/hub.rs",
        include_str!("../../scaffold/control/hub-test.rs"),
    ),
];

const GATEWAY: &[(&str, &str)] = &[
    (
        "templates/{{name}}.yaml",
        include_str!("../../scaffold/gateway/template.yaml"),
    ),
    (
        "templates/demo-events.jsonl",
        include_str!("../../scaffold/gateway/demo-events.jsonl"),
    ),
    (
        "templates/event-hub.routes.json",
        include_str!("../../scaffold/gateway/routes.json"),
    ),
    (
        "service/Cargo.toml",
        include_str!("../../scaffold/gateway/service-Cargo.toml.in"),
    ),
    (
        "service/src/lib.rs",
        include_str!("../../scaffold/gateway/lib.rs"),
    ),
    (
        "service/src/listener.rs",
        include_str!("../../scaffold/gateway/listener.rs"),
    ),
    (
        "service/src/bin/{{name}}-listener.rs",
        include_str!("../../scaffold/bff/bin-listener.rs"),
    ),
    (
        "service/tests/moto.rs",
        include_str!("../../scaffold/gateway/moto.rs"),
    ),
    (
        "hub/Cargo.toml",
        include_str!("../../scaffold/control/hub-Cargo.toml.in"),
    ),
    (
        "hub/src/lib.rs",
        include_str!("../../scaffold/gateway/hub-lib.rs"),
    ),
    (
        "hub/tests/hub.rs",
        include_str!("../../scaffold/gateway/hub-test.rs"),
    ),
];

impl Kind {
    /// Every kind.
    #[cfg(test)]
    pub(crate) const ALL: [Kind; 3] = [Kind::Gateway, Kind::Bff, Kind::Control];

    /// The README's first paragraph.
    pub(crate) fn summary(self) -> &'static str {
        match self {
            Kind::Gateway => {
                "An ingress gateway on the event hub: the events another subsystem publishes (source `external`, from its account) arrive on the hub's ingress stream, and the gateway publishes each one it knows as this subsystem's internal event (`item-published` becomes `item-received`); types it does not know are filtered, not faulted (the other subsystem may add types at any time)."
            }
            Kind::Bff => {
                "A BFF (backend for frontend) on the event hub: the listener keeps each `item-published` as the item's view, the HTTP API reads the views and saves each caller's note, and the trigger publishes each note as `item-noted` (the CDC flavor: the listener's own view writes are latched, never republished)."
            }
            Kind::Control => {
                "A control service on the event hub: the listener collects `item-requested` and `item-approved` into a micro event store, keyed by the item; the trigger, on the store's stream, evaluates each item's events and publishes `item-completed` once per item when both are there, in whatever order and however many times they arrived."
            }
        }
    }

    /// The README's table of functions.
    pub(crate) fn functions(self) -> &'static str {
        match self {
            Kind::Gateway => {
                "| function | source | pipeline |\n|---|---|---|\n| `{{name}}-listener` | the hub's ingress stream | `listener::to_internal`: `item-published` from another subsystem, as `item-received` on the bus |"
            }
            Kind::Bff => {
                "| function | source | pipeline |\n|---|---|---|\n| `{{name}}-listener` | the hub's internal stream | `listener::item_views`: each `item-published` as the item's view, the newest winning |\n| `{{name}}-api` | an HTTP API with a JWT authorizer | `api::Api`: `GET /items/{id}`, `PUT /items/{id}/note` |\n| `{{name}}-trigger` | the table's stream | `trigger::notes_to_events`: each note saved, as `item-noted` |"
            }
            Kind::Control => {
                "| function | source | pipeline |\n|---|---|---|\n| `{{name}}-listener` | the hub's internal stream | `listener::collect_item_events`: `item-requested` and `item-approved` into the event store, by item |\n| `{{name}}-trigger` | the event store's stream | `trigger::complete_items`: `item-completed` once per item, when both are there |"
            }
        }
    }
}

/// The files of a `kind` of service.
pub(crate) fn files(kind: Kind) -> Vec<(&'static str, &'static str)> {
    let own = match kind {
        Kind::Gateway => GATEWAY,
        Kind::Bff => BFF,
        Kind::Control => CONTROL,
    };
    COMMON.iter().chain(own).copied().collect()
}
