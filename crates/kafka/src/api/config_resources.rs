//! What the config APIs share: the resource types they address, and turning
//! one resource's requested changes (AlterConfigs replaces a topic's
//! overrides, IncrementalAlterConfigs sets and deletes single keys) into an
//! [`AlterConfigs`] for the cluster. Broker configs are static and cannot be
//! altered.

use std::sync::Arc;

use kafka_protocol::protocol::StrBytes;

use super::respond::error_fields;
use crate::cluster::{AlterConfigs, KafkaCluster};
use crate::error::KafkaError;
use crate::error_code;

/// The resource type of a topic.
pub const RESOURCE_TOPIC: i8 = 2;
/// The resource type of a broker.
pub const RESOURCE_BROKER: i8 = 4;

/// IncrementalAlterConfigs operation SET (AlterConfigs sets every key it names).
pub const OP_SET: i8 = 0;
/// IncrementalAlterConfigs operation DELETE: reset the key to its default.
pub const OP_DELETE: i8 = 1;

/// One resource of an alter request: its type, its name, and each config as
/// (key, operation, value).
pub struct ResourceChange {
    /// [`RESOURCE_TOPIC`], [`RESOURCE_BROKER`] or another (refused) type.
    pub resource_type: i8,
    /// The topic name or broker id.
    pub name: StrBytes,
    /// (key, [`OP_SET`] or [`OP_DELETE`], value).
    pub configs: Vec<(String, i8, Option<String>)>,
}

/// The outcome of one resource, as the response fields both alter APIs carry.
pub struct ResourceResult {
    /// Kafka error code.
    pub error_code: i16,
    /// What failed, if anything did.
    pub error_message: Option<StrBytes>,
    /// The resource type as requested.
    pub resource_type: i8,
    /// The resource name as requested.
    pub name: StrBytes,
}

/// One resource's change, or the error to answer it with.
fn config_change(
    resource: &ResourceChange,
    replace: bool,
    validate_only: bool,
) -> Result<AlterConfigs, KafkaError> {
    match resource.resource_type {
        RESOURCE_TOPIC => {}
        RESOURCE_BROKER => {
            return Err(KafkaError::new(
                error_code::INVALID_REQUEST,
                format!("broker {}: broker configs are static; set them in the broker's config file, flags or environment", resource.name),
            ))
        }
        other => {
            return Err(KafkaError::new(
                error_code::INVALID_REQUEST,
                format!("resource type {other} cannot be altered (only topics, type 2)"),
            ))
        }
    }
    let mut change = AlterConfigs {
        replace,
        validate_only,
        ..AlterConfigs::default()
    };
    for (key, op, value) in &resource.configs {
        match (*op, value) {
            (OP_SET, Some(value)) => {
                change.set.insert(key.clone(), value.clone());
            }
            (OP_SET, None) if replace => {}
            (OP_SET, None) => {
                return Err(KafkaError::new(
                    error_code::INVALID_REQUEST,
                    format!("config '{key}' has a null value"),
                ))
            }
            (OP_DELETE, _) => change.delete.push(key.clone()),
            (op, _) => {
                return Err(KafkaError::new(
                    error_code::INVALID_REQUEST,
                    format!("config '{key}': operation {op} is not supported (SET 0 and DELETE 1 are; list configs have no APPEND/SUBTRACT)"),
                ))
            }
        }
    }
    Ok(change)
}

/// Applies each resource's change in order. With `replace`, a topic's
/// overrides become exactly the given set (AlterConfigs).
pub async fn alter_all(
    cluster: &Arc<dyn KafkaCluster>,
    resources: Vec<ResourceChange>,
    replace: bool,
    validate_only: bool,
) -> Vec<ResourceResult> {
    let mut results = Vec::new();
    for resource in resources {
        let result = match config_change(&resource, replace, validate_only) {
            Ok(change) => {
                cluster
                    .alter_topic_configs(resource.name.as_str(), change)
                    .await
            }
            Err(e) => Err(e),
        };
        let (error_code, error_message) = error_fields(result);
        results.push(ResourceResult {
            error_code,
            error_message,
            resource_type: resource.resource_type,
            name: resource.name,
        });
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(configs: Vec<(&str, i8, Option<&str>)>) -> ResourceChange {
        ResourceChange {
            resource_type: RESOURCE_TOPIC,
            name: StrBytes::from_static_str("t"),
            configs: configs
                .into_iter()
                .map(|(k, op, v)| (k.to_string(), op, v.map(str::to_string)))
                .collect(),
        }
    }

    #[test]
    fn set_and_delete_become_one_change() {
        let change = config_change(
            &topic(vec![
                ("retention.ms", OP_SET, Some("1000")),
                ("retention.bytes", OP_DELETE, None),
            ]),
            false,
            true,
        )
        .unwrap();
        assert_eq!(change.set["retention.ms"], "1000");
        assert_eq!(change.delete, vec!["retention.bytes".to_string()]);
        assert!(!change.replace);
        assert!(change.validate_only);
    }

    #[test]
    fn a_null_value_is_dropped_when_replacing_and_refused_otherwise() {
        let null = topic(vec![("retention.ms", OP_SET, None)]);
        assert!(config_change(&null, true, false).unwrap().set.is_empty());
        let refused = config_change(&null, false, false).unwrap_err();
        assert_eq!(refused.code, error_code::INVALID_REQUEST);
        assert!(refused.message.unwrap().contains("retention.ms"));
    }

    #[test]
    fn brokers_other_resources_and_list_operations_are_refused() {
        let mut broker = topic(vec![]);
        broker.resource_type = RESOURCE_BROKER;
        let mut group = topic(vec![]);
        group.resource_type = 3;
        let append = topic(vec![("cleanup.policy", 2, Some("delete"))]);
        for refused in [broker, group, append] {
            assert_eq!(
                config_change(&refused, false, false).unwrap_err().code,
                error_code::INVALID_REQUEST
            );
        }
    }
}
