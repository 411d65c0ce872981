//! Where an event goes: the rules on its bus that match it (through the compiled
//! [`RuleSet`]), their targets, and the functions reading those targets.

use std::collections::BTreeMap;
use std::path::Path;

use event_pattern::RuleSet;
use serde_json::{Value, json};

use crate::model::HubModel;

/// One way an event leaves the bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The rule (`stack/LogicalId`).
    pub rule: String,
    /// The target's id.
    pub target: String,
    /// What the target is (`stack/LogicalId (Stream)`, or an ARN outside the deployment).
    pub destination: String,
    /// The functions reading the destination, if it is a stream or a queue.
    pub consumers: Vec<String>,
}

impl std::fmt::Display for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} -> {}", self.rule, self.destination)?;
        if !self.consumers.is_empty() {
            write!(f, " -> {}", self.consumers.join(", "))?;
        }
        Ok(())
    }
}

/// One bus's rules, compiled.
#[derive(Debug, Clone)]
pub struct BusRules {
    /// The rules' positions in the model's `rules`.
    positions: Vec<usize>,
    set: RuleSet,
}

impl BusRules {
    /// The positions (in the model's `rules`) of the rules `event` matches.
    pub fn matching(&self, event: &Value) -> Vec<usize> {
        self.set
            .matching(event)
            .into_iter()
            .filter_map(|name| name.parse::<usize>().ok())
            .filter_map(|at| self.positions.get(at).copied())
            .collect()
    }
}

/// The model's rules compiled, one rule set per bus.
pub fn compile(model: &HubModel) -> BTreeMap<String, BusRules> {
    let mut grouped: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, rule) in model.rules.iter().enumerate() {
        grouped.entry(rule.bus.clone()).or_default().push(i);
    }
    grouped
        .into_iter()
        .map(|(bus, positions)| {
            // Named by their place in `positions`, so a match maps back without a search.
            let set = RuleSet::new(
                positions
                    .iter()
                    .enumerate()
                    .map(|(at, i)| (at.to_string(), model.rules[*i].pattern.clone()))
                    .collect(),
            );
            (bus, BusRules { positions, set })
        })
        .collect()
}

/// The model's rules compiled per bus, with what routes print.
#[derive(Debug)]
pub struct Router<'a> {
    model: &'a HubModel,
    buses: BTreeMap<String, BusRules>,
}

impl<'a> Router<'a> {
    /// Compiles the model's rules, one rule set per bus.
    pub fn new(model: &'a HubModel) -> Self {
        Self {
            model,
            buses: compile(model),
        }
    }

    /// The buses that have rules.
    pub fn buses(&self) -> impl Iterator<Item = &str> {
        self.buses.keys().map(String::as_str)
    }

    /// Every route `event` (a whole EventBridge event) takes from `bus`.
    pub fn routes(&self, bus: &str, event: &Value) -> Vec<Route> {
        let Some(rules) = self.buses.get(bus) else {
            return Vec::new();
        };
        let mut routes = Vec::new();
        for position in rules.matching(event) {
            let rule = &self.model.rules[position];
            for target in &rule.targets {
                routes.push(Route {
                    rule: rule.name.clone(),
                    target: target.id.clone(),
                    destination: self.model.describe(&target.arn),
                    consumers: self
                        .model
                        .consumers(&target.arn)
                        .map(|s| s.function.clone())
                        .collect(),
                });
            }
        }
        routes
    }
}

/// An event as EventBridge delivers it to rules, with the fields routing looks at.
pub fn sample_event(detail_type: &str, source: &str, account: &str, region: &str) -> Value {
    json!({
        "version": "0",
        "id": "00000000-0000-0000-0000-000000000000",
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": "2026-01-01T00:00:00Z",
        "region": region,
        "resources": [],
        "detail": {"id": "sample", "type": detail_type, "partitionKey": "sample", "timestamp": 0},
    })
}

/// The events a subsystem documents and the routes each must take (`event-hub.routes.json`).
#[derive(Debug, Clone)]
pub struct Expectations {
    /// The bus they are put on.
    pub bus: String,
    /// Each event (type, source, account) and its expected routes, as [`Route`] displays them.
    pub events: Vec<Expected>,
}

/// One documented event and where it must go.
#[derive(Debug, Clone)]
pub struct Expected {
    /// `detail-type`.
    pub detail_type: String,
    /// `source`.
    pub source: String,
    /// The account it comes from: an id, or `own` for the deployment's.
    pub account: String,
    /// The routes it must take, nothing more and nothing less.
    pub routes: Vec<String>,
}

impl Expectations {
    /// Reads an expectations file.
    pub fn read(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let file: Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let field = |value: &Value, name: &str| {
            value
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| {
                    format!("{}: `{name}` (text) is required in {value}", path.display())
                })
        };
        let mut events = Vec::new();
        for event in file
            .get("events")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let routes = event
                .get("routes")
                .and_then(Value::as_array)
                .ok_or_else(|| {
                    format!(
                        "{}: `routes` (a list) is required in {event}",
                        path.display()
                    )
                })?
                .iter()
                .map(|r| {
                    r.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| format!("{}: routes are text", path.display()))
                })
                .collect::<Result<_, _>>()?;
            events.push(Expected {
                detail_type: field(event, "detail-type")?,
                source: field(event, "source")?,
                account: field(event, "account")?,
                routes,
            });
        }
        Ok(Self {
            bus: field(&file, "bus")?,
            events,
        })
    }

    /// Each documented event whose routes differ from the expected ones, with a line saying how.
    pub fn check(&self, router: &Router<'_>) -> Vec<String> {
        let mut problems = Vec::new();
        if !router.buses().any(|b| b == self.bus) {
            problems.push(format!("no rule is on the bus {}", self.bus));
        }
        for expected in &self.events {
            let found: Vec<String> = router
                .routes(&self.bus, &self.event(router.model, expected))
                .iter()
                .map(Route::to_string)
                .collect();
            let label = format!(
                "{} from {} ({})",
                expected.detail_type, expected.source, expected.account
            );
            for missing in expected.routes.iter().filter(|r| !found.contains(r)) {
                problems.push(format!("{label}: does not take {missing}"));
            }
            for extra in found.iter().filter(|r| !expected.routes.contains(r)) {
                problems.push(format!("{label}: also takes {extra}"));
            }
        }
        problems
    }

    /// The sample event for `expected`.
    pub fn event(&self, model: &HubModel, expected: &Expected) -> Value {
        let account = if expected.account == "own" {
            model.deployment.account.as_str()
        } else {
            expected.account.as_str()
        };
        sample_event(
            &expected.detail_type,
            &expected.source,
            account,
            &model.deployment.region,
        )
    }
}
