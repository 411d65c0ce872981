//! One wiring: the hub builds every function with its crate's own `build` (the one `main.rs`
//! runs with the AWS clients), from the environment its template gives it. So the template and
//! the function agree: every function builds from its template's variables alone, and taking
//! away any variable the function requires fails its build naming that variable.

use std::path::{Path, PathBuf};

use customer_subsystem::functions::{Externals, registry};
use local_hub::hub::Core;

fn templates() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates")
}

#[test]
fn every_function_builds_from_its_template_and_names_what_it_misses() {
    let model = local_hub::load(&templates()).expect("the templates load");
    let core = Core::new(model).expect("the hub builds");
    let functions = registry(&Externals {
        processor_url: "http://127.0.0.1:9".into(),
        webhook_secret: "whsec_local".into(),
    });
    let mut required = Vec::new();
    for function in &core.model().functions {
        let env = functions.environment(&core, function);
        if let Err(error) = functions.build(&core, function, &env) {
            panic!(
                "{} does not build from its template: {error}",
                function.name
            );
        }
        for (variable, _) in &function.environment {
            let mut without = env.clone();
            without.remove(variable);
            match functions.build(&core, function, &without) {
                Ok(_) => {}
                Err(error) => {
                    assert!(
                        error.to_string().contains(variable.as_str()),
                        "{} fails without {variable}, but says: {error}",
                        function.name
                    );
                    required.push(format!("{}:{variable}", function.binary));
                }
            }
        }
    }
    // What the functions cannot do without, as their templates give it.
    for expected in [
        "restaurant-ingress-gateway:BUS_NAME",
        "notification-egress-gateway:TOPIC_ARN",
        "order-bff-listener:ENTITY_TABLE_NAME",
        "order-control-trigger:EVENT_TABLE_NAME",
    ] {
        assert!(
            required.iter().any(|r| r == expected),
            "{expected} in {required:?}"
        );
    }
}
