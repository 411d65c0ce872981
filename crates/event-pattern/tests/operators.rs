//! Every operator with events that match and events that do not, mostly the EventBridge
//! documentation's own examples; patterns EventBridge refuses; and properties (a pattern made
//! of an event's own values matches it; `anything-but x` never matches what `x` matches).

use event_pattern::{Pattern, RuleSet};
use proptest::prelude::*;
use serde_json::{Value, json};

fn check(pattern: &str, matching: &[Value], not_matching: &[Value]) {
    let parsed = Pattern::parse(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
    for event in matching {
        assert!(parsed.matches(event), "{pattern} should match {event}");
    }
    for event in not_matching {
        assert!(!parsed.matches(event), "{pattern} should not match {event}");
    }
}

fn detail(detail: Value) -> Value {
    json!({"source": "custom", "detail-type": "thing-created", "detail": detail})
}

#[test]
fn exact_values_strings_numbers_booleans_and_null() {
    check(
        r#"{"source": ["custom"], "detail-type": ["thing-created", "thing-updated"]}"#,
        &[detail(json!({}))],
        &[
            json!({"source": "external", "detail-type": "thing-created"}),
            json!({"source": "custom"}),
        ],
    );
    check(
        r#"{"detail": {"amount": [3], "paid": [true], "note": [null], "empty": [""]}}"#,
        &[detail(
            json!({"amount": 3.0, "paid": true, "note": null, "empty": ""}),
        )],
        &[
            detail(json!({"amount": "3", "paid": true, "note": null, "empty": ""})),
            detail(json!({"amount": 3, "paid": false, "note": null, "empty": ""})),
            detail(json!({"amount": 3, "paid": true, "empty": ""})),
        ],
    );
}

#[test]
fn arrays_in_events_match_if_any_element_does() {
    check(
        r#"{"resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f"]}"#,
        &[
            json!({"resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f", "other"]}),
        ],
        &[json!({"resources": ["other"]}), json!({"resources": []})],
    );
    check(
        r#"{"detail": {"lines": {"sku": ["m1"]}}}"#,
        &[detail(json!({"lines": [{"sku": "m2"}, {"sku": "m1"}]}))],
        &[detail(json!({"lines": [{"sku": "m2"}]}))],
    );
}

#[test]
fn prefix_suffix_and_ignoring_case() {
    check(
        r#"{"detail-type": [{"prefix": "order-"}]}"#,
        &[json!({"detail-type": "order-placed"})],
        &[
            json!({"detail-type": "payment-order-"}),
            json!({"detail-type": 5}),
        ],
    );
    check(
        r#"{"detail": {"file": [{"suffix": ".png"}]}}"#,
        &[detail(json!({"file": "image.png"}))],
        &[detail(json!({"file": "image.PNG"}))],
    );
    check(
        r#"{"detail": {"file": [{"suffix": {"equals-ignore-case": ".png"}}], "name": [{"prefix": {"equals-ignore-case": "ima"}}]}}"#,
        &[detail(json!({"file": "image.PNG", "name": "IMAGE"}))],
        &[detail(json!({"file": "image.jpg", "name": "IMAGE"}))],
    );
    check(
        r#"{"detail": {"state": [{"equals-ignore-case": "Running"}]}}"#,
        &[
            detail(json!({"state": "RUNNING"})),
            detail(json!({"state": "running"})),
        ],
        &[detail(json!({"state": "stopped"}))],
    );
}

#[test]
fn wildcards() {
    check(
        r#"{"detail": {"key": [{"wildcard": "dir/*.png"}]}}"#,
        &[
            detail(json!({"key": "dir/a.png"})),
            detail(json!({"key": "dir/sub/b.png"})),
        ],
        &[
            detail(json!({"key": "dir/a.jpg"})),
            detail(json!({"key": "other/a.png"})),
        ],
    );
    check(
        r#"{"detail": {"key": [{"wildcard": "a*b*c"}]}}"#,
        &[
            detail(json!({"key": "abc"})),
            detail(json!({"key": "aXbYc"})),
        ],
        &[detail(json!({"key": "acb"}))],
    );
    check(
        r#"{"detail": {"key": [{"wildcard": "literal\\*star"}]}}"#,
        &[detail(json!({"key": "literal*star"}))],
        &[detail(json!({"key": "literalXstar"}))],
    );
}

#[test]
fn anything_but_in_every_form() {
    check(
        r#"{"detail": {"state": [{"anything-but": "initializing"}]}}"#,
        &[detail(json!({"state": "running"}))],
        &[detail(json!({"state": "initializing"})), detail(json!({}))],
    );
    check(
        r#"{"detail": {"code": [{"anything-but": [100, 200]}]}}"#,
        &[detail(json!({"code": 300}))],
        &[detail(json!({"code": 200.0}))],
    );
    check(
        r#"{"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}"#,
        // A number is never a string with that prefix, so it is not excluded.
        &[
            detail(json!({"state": "running"})),
            detail(json!({"state": 7})),
        ],
        &[detail(json!({"state": "initializing"}))],
    );
    check(
        r#"{"detail": {"file": [{"anything-but": {"suffix": ".txt"}}]}}"#,
        &[detail(json!({"file": "a.png"}))],
        &[detail(json!({"file": "a.txt"}))],
    );
    check(
        r#"{"detail": {"state": [{"anything-but": {"equals-ignore-case": ["Stopped", "overloaded"]}}]}}"#,
        &[detail(json!({"state": "running"}))],
        &[detail(json!({"state": "STOPPED"}))],
    );
    check(
        r#"{"detail": {"key": [{"anything-but": {"wildcard": "*/lib/*"}}]}}"#,
        &[detail(json!({"key": "/usr/bin/x"}))],
        &[detail(json!({"key": "/usr/lib/x"}))],
    );
}

#[test]
fn numeric_comparisons() {
    check(
        r#"{"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}], "d-count": [{"numeric": ["<", 10]}], "x-limit": [{"numeric": ["=", 301.8]}]}}"#,
        &[detail(
            json!({"c-count": 5, "d-count": 3, "x-limit": 301.8}),
        )],
        &[
            detail(json!({"c-count": 0, "d-count": 3, "x-limit": 301.8})),
            detail(json!({"c-count": "5", "d-count": 3, "x-limit": 301.8})),
            detail(json!({"c-count": 5, "d-count": 10, "x-limit": 301.8})),
        ],
    );
}

#[test]
fn exists_true_and_false() {
    check(
        r#"{"detail": {"tracking": [{"exists": true}]}}"#,
        &[
            detail(json!({"tracking": "t1"})),
            detail(json!({"tracking": null})),
        ],
        &[detail(json!({})), detail(json!({"tracking": []}))],
    );
    check(
        r#"{"detail": {"tracking": [{"exists": false}]}}"#,
        &[detail(json!({})), json!({"source": "custom"})],
        &[detail(json!({"tracking": "t1"}))],
    );
}

#[test]
fn cidr_for_ipv4_and_ipv6() {
    check(
        r#"{"detail": {"ip": [{"cidr": "10.0.0.0/24"}]}}"#,
        &[detail(json!({"ip": "10.0.0.255"}))],
        &[
            detail(json!({"ip": "10.0.1.0"})),
            detail(json!({"ip": "not an ip"})),
        ],
    );
    check(
        r#"{"detail": {"ip": [{"cidr": "2001:db8::/32"}]}}"#,
        &[detail(json!({"ip": "2001:db8:1::1"}))],
        &[
            detail(json!({"ip": "2001:db9::1"})),
            detail(json!({"ip": "10.0.0.1"})),
        ],
    );
}

#[test]
fn or_at_the_top_and_nested() {
    check(
        r#"{"source": ["custom"], "$or": [{"detail-type": ["a"]}, {"detail": {"n": [{"numeric": [">", 5]}]}}]}"#,
        &[
            json!({"source": "custom", "detail-type": "a"}),
            json!({"source": "custom", "detail-type": "b", "detail": {"n": 6}}),
        ],
        &[
            json!({"source": "custom", "detail-type": "b", "detail": {"n": 5}}),
            json!({"source": "external", "detail-type": "a"}),
        ],
    );
    check(
        r#"{"detail": {"$or": [{"a": [1]}, {"b": [2]}]}}"#,
        &[detail(json!({"a": 1})), detail(json!({"b": 2}))],
        &[detail(json!({"a": 2}))],
    );
}

#[test]
fn patterns_eventbridge_refuses_are_errors_naming_the_path() {
    for (pattern, path, reason) in [
        ("[1]", "", "must be a JSON object"),
        ("not json", "", "not JSON"),
        (r#"{"source": "custom"}"#, "source", "in an array"),
        (
            r#"{"detail": {"n": [{"numeric": [">", "a"]}]}}"#,
            "detail.n",
            "takes a number",
        ),
        (
            r#"{"detail": {"n": [{"numeric": ["!", 1]}]}}"#,
            "detail.n",
            "not one of",
        ),
        (
            r#"{"detail": {"n": [{"numeric": [">", 1, ">", 2]}]}}"#,
            "detail.n",
            "lower and an upper",
        ),
        (
            r#"{"detail": {"n": [{"between": [1, 2]}]}}"#,
            "detail.n",
            "unknown operator `between`",
        ),
        (
            r#"{"detail": {"n": [{"prefix": 5}]}}"#,
            "detail.n",
            "takes a string",
        ),
        (
            r#"{"detail": {"n": [{"exists": "yes"}]}}"#,
            "detail.n",
            "true or false",
        ),
        (
            r#"{"detail": {"n": [{"cidr": "10.0.0.0/33"}]}}"#,
            "detail.n",
            "not an address block",
        ),
        (
            r#"{"detail": {"n": [{"wildcard": "a**b"}]}}"#,
            "detail.n",
            "consecutive",
        ),
        (
            r#"{"detail": {"n": [{"anything-but": {"numeric": [">", 1]}}]}}"#,
            "detail.n",
            "cannot take",
        ),
        (r#"{"detail": {"n": []}}"#, "detail.n", "empty array"),
        (r#"{"$or": [{"a": [1]}]}"#, "$or", "at least two"),
        (
            r#"{"detail": {"n": [{"prefix": "a", "suffix": "b"}]}}"#,
            "detail.n",
            "exactly one operator",
        ),
    ] {
        let error = Pattern::parse(pattern).expect_err(pattern);
        assert_eq!(error.path(), path, "{pattern}: {error}");
        assert!(error.reason().contains(reason), "{pattern}: {error}");
    }
    let deep = (0..40).fold(r#"{"a": [1]}"#.to_string(), |inner, _| {
        format!(r#"{{"x": {inner}}}"#)
    });
    assert!(
        Pattern::parse(&deep)
            .expect_err("too deep")
            .reason()
            .contains("deeper")
    );
    let many: Vec<String> = (0..1_001).map(|n| n.to_string()).collect();
    let large = format!(r#"{{"n": [{}]}}"#, many.join(","));
    assert!(
        Pattern::parse(&large)
            .expect_err("too large")
            .reason()
            .contains("more than")
    );
}

#[test]
fn a_rule_set_returns_every_rule_an_event_matches() {
    let rule =
        |name: &str, pattern: &str| (name.to_string(), Pattern::parse(pattern).expect("valid"));
    let rules = RuleSet::new(vec![
        rule(
            "orders",
            r#"{"detail-type": ["order-placed", "order-cancelled"]}"#,
        ),
        rule("custom", r#"{"source": ["custom"]}"#),
        rule("big", r#"{"detail": {"total": [{"numeric": [">", 100]}]}}"#),
        rule("lines", r#"{"detail": {"lines": {"sku": ["m1"]}}}"#),
        rule("payments", r#"{"detail-type": [{"prefix": "payment-"}]}"#),
    ]);
    let event = json!({"source": "custom", "detail-type": "order-placed",
                       "detail": {"total": 150, "lines": [{"sku": "m2"}, {"sku": "m1"}]}});
    assert_eq!(
        rules.matching(&event),
        vec!["orders", "custom", "big", "lines"]
    );
    let payment = json!({"source": "external", "detail-type": "payment-authorized", "detail": {}});
    assert_eq!(rules.matching(&payment), vec!["payments"]);
    assert_eq!(rules.len(), 5);
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[a-z]{0,8}".prop_map(Value::String),
        (-1000i64..1000).prop_map(Value::from),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
    ]
}

proptest! {
    #[test]
    fn a_pattern_made_of_an_events_own_values_matches_it(
        fields in prop::collection::btree_map("[a-z]{1,6}", leaf(), 1..6)
    ) {
        let event = json!({"source": "custom", "detail": fields});
        let pattern: serde_json::Map<String, Value> = fields
            .iter()
            .map(|(k, v)| (k.clone(), Value::Array(vec![v.clone()])))
            .collect();
        let pattern = Pattern::from_value(&json!({"source": ["custom"], "detail": pattern}))
            .expect("valid");
        prop_assert!(pattern.matches(&event));
    }

    #[test]
    fn anything_but_never_matches_what_its_value_matches(
        excluded in "[a-z]{0,5}", value in "[a-z]{0,5}"
    ) {
        let exact = Pattern::from_value(&json!({"v": [excluded]})).expect("valid");
        let but = Pattern::from_value(&json!({"v": [{"anything-but": excluded}]})).expect("valid");
        let event = json!({"v": value});
        prop_assert_ne!(exact.matches(&event), but.matches(&event));
    }
}

#[test]
fn a_mismatch_names_the_field_that_failed() {
    let pattern = Pattern::parse(
        r#"{"source": ["custom"], "detail": {"total": [{"numeric": [">", 100]}], "currency": ["EUR"]}}"#,
    )
    .expect("valid");
    let event = json!({"source": "custom", "detail": {"total": 50, "currency": "EUR"}});
    let mismatch = pattern.explain(&event).expect_err("does not match");
    assert_eq!(mismatch.path, "detail.total");
    assert_eq!(mismatch.found, "`50`");
    let missing = pattern
        .explain(&json!({"source": "custom", "detail": {"total": 500}}))
        .expect_err("no currency");
    assert_eq!(
        (missing.path.as_str(), missing.found.as_str()),
        ("detail.currency", "missing")
    );
    assert!(
        pattern
            .explain(&json!({"source": "custom", "detail": {"total": 500, "currency": "EUR"}}))
            .is_ok()
    );
}

#[test]
fn the_test_pattern_command_answers_with_its_exit_code() {
    let command = env!("CARGO_BIN_EXE_event-pattern");
    let run = |pattern: &str, event: &str| {
        std::process::Command::new(command)
            .args(["test-pattern", pattern, event])
            .output()
            .expect("the command runs")
    };
    let matches = run(r#"{"source": ["custom"]}"#, r#"{"source": "custom"}"#);
    assert_eq!(matches.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&matches.stdout).trim(), "matches");
    let fails = run(r#"{"source": ["custom"]}"#, r#"{"source": "external"}"#);
    assert_eq!(fails.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&fails.stdout).contains("`source` does not match"));
    let invalid = run(r#"{"source": "custom"}"#, r#"{}"#);
    assert_eq!(invalid.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&invalid.stderr).contains("invalid event pattern at `source`"));
}
