//! Building DynamoDB requests: items and keys from any `Serialize` through `serde_dynamo`, and
//! update expressions in which every attribute name is an alias (`#a0`), so reserved words
//! (`status`, `name`, `timestamp`) and odd characters never break a request.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_stream::StepError;
use serde::Serialize;

/// An item or key as DynamoDB attribute values.
pub type Item = HashMap<String, AttributeValue>;

/// Converts a struct or map to an item.
pub fn to_item<T: Serialize + ?Sized>(value: &T) -> Result<Item, StepError> {
    serde_dynamo::to_item(value).map_err(|e| {
        StepError::permanent(format!(
            "the value cannot be written as a DynamoDB item: {e}"
        ))
        .with_name("InvalidItem")
    })
}

/// `SET` for every attribute of a struct or map (but the key's), `REMOVE` for its nulls.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpdateExpression {
    sets: Vec<String>,
    removes: Vec<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl UpdateExpression {
    /// An expression that sets every attribute of `attributes` except those named in `key`;
    /// a null attribute is removed.
    pub fn set_all<T: Serialize + ?Sized>(attributes: &T, key: &[&str]) -> Result<Self, StepError> {
        let item = to_item(attributes)?;
        let mut names: Vec<&String> = item.keys().filter(|n| !key.contains(&n.as_str())).collect();
        // A stable order keeps requests reproducible.
        names.sort();
        let mut expression = Self::default();
        for name in names {
            match &item[name] {
                AttributeValue::Null(_) => expression.remove(name),
                value => expression.set(name, value.clone()),
            }
        }
        Ok(expression)
    }

    /// Adds `SET name = value`.
    pub fn set(&mut self, name: &str, value: AttributeValue) {
        let n = self.alias_name(name);
        let v = format!(":v{}", self.values.len());
        self.values.insert(v.clone(), value);
        self.sets.push(format!("{n} = {v}"));
    }

    /// Adds `REMOVE name`.
    pub fn remove(&mut self, name: &str) {
        let n = self.alias_name(name);
        self.removes.push(n);
    }

    /// The alias of an attribute name (`#a0`, `#a1`, ...), made once per name.
    pub fn alias_name(&mut self, name: &str) -> String {
        if let Some((alias, _)) = self.names.iter().find(|(_, n)| n.as_str() == name) {
            return alias.clone();
        }
        let alias = format!("#a{}", self.names.len());
        self.names.insert(alias.clone(), name.to_string());
        alias
    }

    /// A placeholder for a value used in a condition (`:c0`, ...).
    pub fn alias_value(&mut self, value: AttributeValue) -> String {
        let v = format!(":c{}", self.values.len());
        self.values.insert(v.clone(), value);
        v
    }

    /// The `UpdateExpression` text.
    pub fn expression(&self) -> String {
        let mut parts = Vec::new();
        if !self.sets.is_empty() {
            parts.push(format!("SET {}", self.sets.join(", ")));
        }
        if !self.removes.is_empty() {
            parts.push(format!("REMOVE {}", self.removes.join(", ")));
        }
        parts.join(" ")
    }

    /// True when there is nothing to update.
    pub fn is_empty(&self) -> bool {
        self.sets.is_empty() && self.removes.is_empty()
    }

    /// The `ExpressionAttributeNames`.
    pub fn names(&self) -> &HashMap<String, String> {
        &self.names
    }

    /// The `ExpressionAttributeValues`.
    pub fn values(&self) -> &HashMap<String, AttributeValue> {
        &self.values
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_name_is_aliased_and_nulls_are_removed() {
        let attributes = json!({
            "pk": "o1", "sk": "order",
            "status": "placed", "name": "Order #1", "note": null, "total": 23.5
        });
        let update = UpdateExpression::set_all(&attributes, &["pk", "sk"]).expect("expression");
        // Names in sorted order: name, note, status, total.
        assert_eq!(
            update.expression(),
            "SET #a0 = :v0, #a2 = :v1, #a3 = :v2 REMOVE #a1"
        );
        assert_eq!(update.names()["#a0"], "name");
        assert_eq!(update.names()["#a1"], "note");
        assert_eq!(update.names()["#a2"], "status");
        assert_eq!(update.names()["#a3"], "total");
        assert_eq!(update.values()[":v1"], AttributeValue::S("placed".into()));
        assert_eq!(update.values()[":v2"], AttributeValue::N("23.5".into()));
        assert!(!update.names().values().any(|n| n == "pk" || n == "sk"));
    }

    #[test]
    fn aliases_are_reused_and_values_are_placeholders() {
        let mut update = UpdateExpression::default();
        let first = update.alias_name("timestamp");
        assert_eq!(update.alias_name("timestamp"), first);
        let placeholder = update.alias_value(AttributeValue::N("5".into()));
        assert!(placeholder.starts_with(":c"));
        assert!(UpdateExpression::default().is_empty());
        assert!(UpdateExpression::set_all(&json!([1, 2]), &[]).is_err());
    }
}
