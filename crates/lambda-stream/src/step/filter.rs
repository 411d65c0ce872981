//! `filter`: keep the units that match; the others end as *filtered out*.
//!
//! [`Pipeline::on_type`] filters on the event type alone, which the handler can apply before
//! it reads the rest of an event.

use std::collections::HashSet;
use std::sync::Arc;

use futures::StreamExt;
use regex::Regex;

use crate::error::StepError;
use crate::pipeline::{Pipeline, Settled, guarded};
use crate::uow::Uow;

impl<T: Send + 'static> Pipeline<T> {
    /// Keeps the units for which `predicate` is true. A predicate that panics fails the unit
    /// (it is not silently filtered).
    ///
    /// ```
    /// use lambda_stream::{Envelope, Pipeline, RecordState, testing};
    /// use serde_json::json;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let large = Pipeline::new("large-orders").filter(|uow| {
    ///     let order: serde_json::Value = uow.event.entity().unwrap_or_default();
    ///     order["total"].as_u64().is_some_and(|total| total > 100)
    /// });
    /// let small = Envelope::builder("order-placed").entity("order", &json!({ "total": 20 })).build()?;
    /// let big = Envelope::builder("order-placed").entity("order", &json!({ "total": 500 })).build()?;
    /// let report = testing::run_pipeline(large, &[small, big]).await;
    /// assert_eq!(report.records[0].pipelines, [RecordState::Filtered]);
    /// assert_eq!(report.records[1].pipelines, [RecordState::Delivered]);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn filter<P>(self, predicate: P) -> Self
    where
        P: Fn(&Uow<T>) -> bool + Send + Sync + 'static,
    {
        let predicate = Arc::new(predicate);
        self.stage(move |flow| {
            let predicate = Arc::clone(&predicate);
            flow.map(move |item| {
                let uow = item?;
                match guarded("filter", || Ok::<_, StepError>(predicate(&uow))) {
                    Ok(true) => Ok(uow),
                    Ok(false) => Err(Settled::filtered(uow.members)),
                    Err(error) => Err(Settled::failed(uow.members, error)),
                }
            })
            .boxed()
        })
    }

    /// Keeps the units whose event type matches a glob (`thing-*`: `*` any run of
    /// characters, `?` one) or, without wildcards, is exactly `pattern`.
    ///
    /// Type filters at the start of a pipeline are also applied by the handler to each
    /// record's `type` before the rest of the event is read, so a record no pipeline wants
    /// costs almost nothing.
    #[must_use]
    pub fn on_type(self, pattern: &str) -> Self {
        self.on_types(TypeFilter::glob(pattern))
    }

    /// Keeps the units whose event type matches `filter` (exact, prefix, glob, regex, a set
    /// of types, or any of a list: `["order-*", "payment-authorized"]`, each a glob); applied
    /// early like [`Pipeline::on_type`].
    ///
    /// ```
    /// use lambda_stream::{Pipeline, TypeFilter};
    ///
    /// let either = Pipeline::new("orders-and-payments").on_types(["order-*", "payment-authorized"]);
    /// let set = Pipeline::new("closed").on_types(TypeFilter::set(["order-cancelled", "order-delivered"]));
    /// # let _ = (either, set);
    /// ```
    #[must_use]
    pub fn on_types(self, filter: impl Into<TypeFilter>) -> Self {
        let filter = filter.into();
        let leading = self.type_filters.len() == self.steps;
        let matcher = filter.clone();
        let mut pipeline = self.stage(move |flow| {
            let matcher = matcher.clone();
            flow.map(move |item| {
                let uow = item?;
                if matcher.matches(uow.event.event_type()) {
                    Ok(uow)
                } else {
                    Err(Settled::filtered(uow.members))
                }
            })
            .boxed()
        });
        if leading {
            pipeline.type_filters.push(filter);
        }
        pipeline
    }
}

/// A filter on the event type.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum TypeFilter {
    /// The type is exactly this.
    Exact(String),
    /// The type starts with this.
    Prefix(String),
    /// The type matches this regular expression (anchor it yourself with `^...$`).
    Regex(Regex),
    /// The type is one of these.
    Set(HashSet<String>),
    /// The type matches any of these filters.
    AnyOf(Vec<TypeFilter>),
}

impl<S: AsRef<str>, const N: usize> From<[S; N]> for TypeFilter {
    /// Any of these globs.
    fn from(globs: [S; N]) -> Self {
        Self::any(globs.iter().map(|g| Self::glob(g.as_ref())))
    }
}

impl<S: AsRef<str>> From<Vec<S>> for TypeFilter {
    /// Any of these globs.
    fn from(globs: Vec<S>) -> Self {
        Self::any(globs.iter().map(|g| Self::glob(g.as_ref())))
    }
}

impl From<&str> for TypeFilter {
    /// A glob ([`TypeFilter::glob`]).
    fn from(glob: &str) -> Self {
        Self::glob(glob)
    }
}

impl TypeFilter {
    /// A glob: `*` matches any run of characters, `?` one character; without either it is an
    /// exact match. `thing-*` keeps `thing-created`, `thing-updated`, ...
    pub fn glob(pattern: &str) -> Self {
        if !pattern.contains(['*', '?']) {
            return Self::Exact(pattern.to_string());
        }
        let star_only_at_end =
            pattern.ends_with('*') && !pattern[..pattern.len() - 1].contains(['*', '?']);
        if star_only_at_end {
            return Self::Prefix(pattern[..pattern.len() - 1].to_string());
        }
        let mut expr = String::from("^");
        for part in pattern.split_inclusive(['*', '?']) {
            let (literal, wildcard) = match part.chars().last() {
                Some('*') => (&part[..part.len() - 1], ".*"),
                Some('?') => (&part[..part.len() - 1], "."),
                _ => (part, ""),
            };
            expr.push_str(&regex::escape(literal));
            expr.push_str(wildcard);
        }
        expr.push('$');
        match Regex::new(&expr) {
            Ok(re) => Self::Regex(re),
            // An escaped literal with `.*` and `.` cannot be an invalid expression.
            Err(_) => Self::Exact(pattern.to_string()),
        }
    }

    /// A regular expression; an invalid one is an error at construction, not per event.
    pub fn regex(expr: &str) -> Result<Self, regex::Error> {
        Regex::new(expr).map(Self::Regex)
    }

    /// One of a set of types.
    pub fn set<I, S>(types: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::Set(types.into_iter().map(Into::into).collect())
    }

    /// Any of `filters` (exact types among them are kept as one set).
    pub fn any(filters: impl IntoIterator<Item = TypeFilter>) -> Self {
        let mut exact = HashSet::new();
        let mut others = Vec::new();
        for filter in filters {
            match filter {
                Self::Exact(t) => {
                    exact.insert(t);
                }
                Self::Set(set) => exact.extend(set),
                other => others.push(other),
            }
        }
        if others.is_empty() {
            return Self::Set(exact);
        }
        if !exact.is_empty() {
            others.insert(0, Self::Set(exact));
        }
        match <[TypeFilter; 1]>::try_from(others) {
            Ok([one]) => one,
            Err(many) => Self::AnyOf(many),
        }
    }

    /// True when the type matches.
    pub fn matches(&self, event_type: &str) -> bool {
        match self {
            Self::Exact(t) => event_type == t,
            Self::Prefix(p) => event_type.starts_with(p.as_str()),
            Self::Regex(re) => re.is_match(event_type),
            Self::Set(set) => set.contains(event_type),
            Self::AnyOf(filters) => filters.iter().any(|f| f.matches(event_type)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_of_a_list_of_globs() {
        let filter = TypeFilter::from(["order-*", "payment-authorized", "payment-declined"]);
        for t in [
            "order-placed",
            "order-",
            "payment-authorized",
            "payment-declined",
        ] {
            assert!(filter.matches(t), "{t}");
        }
        for t in ["payment-requested", "orders-placed", ""] {
            assert!(!filter.matches(t), "{t}");
        }
        assert!(
            matches!(
                TypeFilter::from(vec!["a", "b"]),
                TypeFilter::Set(set) if set.len() == 2
            ),
            "exact types become one set"
        );
        assert!(matches!(TypeFilter::from(["x-*"]), TypeFilter::Prefix(_)));
        assert!(
            !TypeFilter::from(Vec::<&str>::new()).matches("anything"),
            "none of nothing"
        );
    }

    #[test]
    fn glob_forms() {
        let prefix = TypeFilter::glob("thing-*");
        assert!(matches!(prefix, TypeFilter::Prefix(_)));
        assert!(prefix.matches("thing-created"));
        assert!(prefix.matches("thing-"));
        assert!(!prefix.matches("things-created"));
        assert!(!prefix.matches("other-thing-created"));

        let exact = TypeFilter::glob("thing-created");
        assert!(exact.matches("thing-created"));
        assert!(!exact.matches("thing-created-2"));

        let middle = TypeFilter::glob("*-cre?ted");
        assert!(middle.matches("thing-created"));
        assert!(middle.matches("order-creXted"));
        assert!(!middle.matches("thing-created!"));

        let dots = TypeFilter::glob("a.b*");
        assert!(dots.matches("a.bc"));
        assert!(!dots.matches("axbc"));
        let dots_mid = TypeFilter::glob("a.*.c");
        assert!(dots_mid.matches("a.x.c"));
        assert!(!dots_mid.matches("abxbc"));
    }

    #[test]
    fn regex_and_set() {
        let re = TypeFilter::regex("^(thing|order)-(created|updated)$").expect("valid");
        assert!(re.matches("order-updated"));
        assert!(!re.matches("order-deleted"));
        assert!(TypeFilter::regex("(").is_err());
        let set = TypeFilter::set(["a", "b"]);
        assert!(set.matches("a"));
        assert!(!set.matches("c"));
    }
}
