//! Create, in moto (or any compatible endpoint), the DynamoDB tables and SQS queues that
//! `infra/template.yaml` declares.
//!
//! The SAM template is the one definition of the cloud resources. Re-declaring the table and queues in
//! Rust for local runs would give two definitions that drift apart (a GSI added in one place only, a
//! different `maxReceiveCount`); so the local stack is *derived* from the template: this module parses
//! it (CloudFormation short tags such as `!Ref`/`!GetAtt` arrive as YAML tagged values and are
//! resolved, as are their `Ref`/`Fn::GetAtt` long forms and parameter defaults) and creates every
//! `AWS::DynamoDB::Table` (key schema, attribute definitions, GSIs, TTL) and `AWS::SQS::Queue`
//! (attributes, redrive policy to the dead-letter queue) with names `<prefix><LogicalId>`.
//!
//! Only the visibility timeout can be overridden (nothing local runs 15 minutes, and a redelivery test
//! cannot wait 90). Everything else the template cannot express locally (PITR, alarms, functions) is
//! ignored: moto does not run Lambda, the local runner plays that part.

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TableStatus, TimeToLiveSpecification, TimeToLiveStatus,
};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_yaml::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The template, embedded at compile time (cargo rebuilds when it changes).
pub const TEMPLATE_YAML: &str = include_str!("../../../infra/template.yaml");

/// Where the template lives in the workspace.
pub fn template_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/template.yaml")
}

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("cannot read the template {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the template is not valid YAML: {0}")]
    Yaml(#[from] serde_yaml::Error),
    #[error("template resource {resource}: {message}")]
    Template { resource: String, message: String },
    #[error("invalid prefix '{0}': use letters, digits, '-' and '_' only (at most 40)")]
    Prefix(String),
    #[error("{op}: {message}")]
    Aws { op: String, message: String },
}

fn tpl(resource: &str, message: impl Into<String>) -> ProvisionError {
    ProvisionError::Template {
        resource: resource.to_string(),
        message: message.into(),
    }
}

fn aws<E: std::error::Error + 'static, R: std::fmt::Debug>(
    op: &str,
    e: aws_sdk_dynamodb::error::SdkError<E, R>,
) -> ProvisionError {
    ProvisionError::Aws {
        op: op.to_string(),
        message: aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string(),
    }
}

/// How to name and tune the local resources.
#[derive(Debug, Clone, Default)]
pub struct ProvisionOptions {
    /// Prepended to every logical id to form the table and queue names (isolates test runs).
    pub prefix: String,
    /// Replaces every queue's `VisibilityTimeout` (seconds).
    pub visibility_timeout_secs: Option<u32>,
}

impl ProvisionOptions {
    pub fn with_prefix(prefix: impl Into<String>) -> ProvisionOptions {
        ProvisionOptions {
            prefix: prefix.into(),
            visibility_timeout_secs: None,
        }
    }

    pub fn visibility_timeout(mut self, secs: u32) -> ProvisionOptions {
        self.visibility_timeout_secs = Some(secs);
        self
    }
}

/// What was created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionedResources {
    /// Name of the (single) DynamoDB table.
    pub table_name: String,
    /// Queue URL per logical id (task queues and the DLQ).
    pub queues: HashMap<String, String>,
    /// URL of the queue the redrive policies point at.
    pub dlq_url: String,
    /// `maxReceiveCount` of the redrive policies (the smallest, should they differ).
    pub max_receive_count: u32,
}

impl ProvisionedResources {
    /// The adapter configuration a function bound to the queue `queue_logical_id` would get from the
    /// template's environment variables.
    pub fn aws_config(&self, queue_logical_id: &str) -> Option<shopsync_aws::AwsConfig> {
        Some(shopsync_aws::AwsConfig {
            table_name: self.table_name.clone(),
            task_queue_url: self.queues.get(queue_logical_id)?.clone(),
            dlq_url: self.dlq_url.clone(),
            max_receive_count: self.max_receive_count,
        })
    }
}

// ---- the template's resources, as parsed ---------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySpec {
    pub attribute: String,
    /// `HASH` or `RANGE`.
    pub key_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GsiSpec {
    pub name: String,
    pub key_schema: Vec<KeySpec>,
    /// `ALL`, `KEYS_ONLY` or `INCLUDE`.
    pub projection_type: String,
    pub non_key_attributes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    pub logical_id: String,
    /// (name, type) pairs, e.g. (`pk`, `S`).
    pub attribute_definitions: Vec<(String, String)>,
    pub key_schema: Vec<KeySpec>,
    pub gsis: Vec<GsiSpec>,
    /// Attribute of an enabled `TimeToLiveSpecification`.
    pub ttl_attribute: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedriveSpec {
    /// Logical id of the dead-letter queue.
    pub dead_letter_queue: String,
    pub max_receive_count: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSpec {
    pub logical_id: String,
    /// SQS attributes other than the redrive policy, as SQS wants them (strings).
    pub attributes: BTreeMap<String, String>,
    pub redrive: Option<RedriveSpec>,
    pub fifo: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TemplateResources {
    pub tables: Vec<TableSpec>,
    pub queues: Vec<QueueSpec>,
}

/// Properties of `AWS::SQS::Queue` that map 1:1 onto `CreateQueue` attributes.
const QUEUE_ATTRIBUTES: [&str; 8] = [
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "DelaySeconds",
    "MaximumMessageSize",
    "ReceiveMessageWaitTimeSeconds",
    "SqsManagedSseEnabled",
    "FifoQueue",
    "ContentBasedDeduplication",
];

struct Resolver {
    /// Parameter defaults.
    params: HashMap<String, Value>,
}

impl Resolver {
    /// Resolve `!Ref Param` / `{Ref: Param}` to the parameter's default; other values unchanged.
    fn value(&self, v: &Value) -> Value {
        let ref_name = match v {
            Value::Tagged(t) if t.tag == "Ref" => t.value.as_str(),
            Value::Mapping(m) if m.len() == 1 => m.get("Ref").and_then(Value::as_str),
            _ => None,
        };
        match ref_name.and_then(|name| self.params.get(name)) {
            Some(default) => default.clone(),
            None => v.clone(),
        }
    }

    fn scalar(&self, v: &Value, resource: &str, field: &str) -> Result<String, ProvisionError> {
        match self.value(v) {
            Value::String(s) => Ok(s),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            other => Err(tpl(
                resource,
                format!("{field} must be a plain value, found {other:?}"),
            )),
        }
    }

    fn string(
        &self,
        v: Option<&Value>,
        resource: &str,
        field: &str,
    ) -> Result<String, ProvisionError> {
        let v = v.ok_or_else(|| tpl(resource, format!("{field} is missing")))?;
        self.scalar(v, resource, field)
    }
}

/// Logical id named by `!GetAtt X.Arn`, `!GetAtt [X, Arn]` or `{Fn::GetAtt: [X, Arn]}`.
fn get_att_target(v: &Value) -> Option<String> {
    let (inner, tagged) = match v {
        Value::Tagged(t) if t.tag == "GetAtt" => (&t.value, true),
        Value::Mapping(m) if m.len() == 1 => (m.get("Fn::GetAtt")?, false),
        _ => return None,
    };
    match inner {
        Value::String(s) if tagged => s.split_once('.').map(|(id, _)| id.to_string()),
        Value::Sequence(seq) => seq.first()?.as_str().map(str::to_string),
        _ => None,
    }
}

fn key_schema(
    r: &Resolver,
    v: Option<&Value>,
    resource: &str,
) -> Result<Vec<KeySpec>, ProvisionError> {
    let seq = v
        .and_then(Value::as_sequence)
        .ok_or_else(|| tpl(resource, "KeySchema must be a list"))?;
    seq.iter()
        .map(|k| {
            Ok(KeySpec {
                attribute: r.string(k.get("AttributeName"), resource, "KeySchema.AttributeName")?,
                key_type: r.string(k.get("KeyType"), resource, "KeySchema.KeyType")?,
            })
        })
        .collect()
}

/// Parse the resources this module can create from a template.
pub fn parse_template(yaml: &str) -> Result<TemplateResources, ProvisionError> {
    let doc: Value = serde_yaml::from_str(yaml)?;
    let params = doc
        .get("Parameters")
        .and_then(Value::as_mapping)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.get("Default")?.clone())))
                .collect::<HashMap<_, _>>()
        })
        .unwrap_or_default();
    let r = Resolver { params };
    let resources = doc
        .get("Resources")
        .and_then(Value::as_mapping)
        .ok_or_else(|| tpl("(template)", "no Resources section"))?;

    let mut out = TemplateResources::default();
    for (id, res) in resources {
        let id = id
            .as_str()
            .ok_or_else(|| tpl("(template)", "a resource id is not a string"))?;
        let props = res
            .get("Properties")
            .cloned()
            .unwrap_or(Value::Mapping(Default::default()));
        match res.get("Type").and_then(Value::as_str) {
            Some("AWS::DynamoDB::Table") => {
                if let Some(mode) = props.get("BillingMode")
                    && r.scalar(mode, id, "BillingMode")? != "PAY_PER_REQUEST"
                {
                    return Err(tpl(
                        id,
                        "only BillingMode PAY_PER_REQUEST is supported locally",
                    ));
                }
                let attribute_definitions = props
                    .get("AttributeDefinitions")
                    .and_then(Value::as_sequence)
                    .ok_or_else(|| tpl(id, "AttributeDefinitions must be a list"))?
                    .iter()
                    .map(|a| {
                        Ok((
                            r.string(a.get("AttributeName"), id, "AttributeName")?,
                            r.string(a.get("AttributeType"), id, "AttributeType")?,
                        ))
                    })
                    .collect::<Result<Vec<_>, ProvisionError>>()?;
                let gsis = match props.get("GlobalSecondaryIndexes") {
                    None => Vec::new(),
                    Some(v) => v
                        .as_sequence()
                        .ok_or_else(|| tpl(id, "GlobalSecondaryIndexes must be a list"))?
                        .iter()
                        .map(|g| {
                            let projection = g.get("Projection");
                            Ok(GsiSpec {
                                name: r.string(g.get("IndexName"), id, "IndexName")?,
                                key_schema: key_schema(&r, g.get("KeySchema"), id)?,
                                projection_type: match projection
                                    .and_then(|p| p.get("ProjectionType"))
                                {
                                    Some(p) => r.scalar(p, id, "ProjectionType")?,
                                    None => "ALL".to_string(),
                                },
                                non_key_attributes: projection
                                    .and_then(|p| p.get("NonKeyAttributes"))
                                    .and_then(Value::as_sequence)
                                    .map(|s| {
                                        s.iter()
                                            .map(|a| r.scalar(a, id, "NonKeyAttributes"))
                                            .collect::<Result<Vec<_>, _>>()
                                    })
                                    .transpose()?
                                    .unwrap_or_default(),
                            })
                        })
                        .collect::<Result<Vec<_>, ProvisionError>>()?,
                };
                let ttl_attribute = match props.get("TimeToLiveSpecification") {
                    Some(t)
                        if t.get("Enabled").map(|e| r.value(e)).is_some_and(|e| {
                            e == Value::Bool(true) || e.as_str() == Some("true")
                        }) =>
                    {
                        Some(r.string(
                            t.get("AttributeName"),
                            id,
                            "TimeToLiveSpecification.AttributeName",
                        )?)
                    }
                    _ => None,
                };
                out.tables.push(TableSpec {
                    logical_id: id.to_string(),
                    attribute_definitions,
                    key_schema: key_schema(&r, props.get("KeySchema"), id)?,
                    gsis,
                    ttl_attribute,
                });
            }
            Some("AWS::SQS::Queue") => {
                let mut attributes = BTreeMap::new();
                for name in QUEUE_ATTRIBUTES {
                    if let Some(v) = props.get(name) {
                        attributes.insert(name.to_string(), r.scalar(v, id, name)?);
                    }
                }
                let redrive = match props.get("RedrivePolicy") {
                    None => None,
                    Some(p) => {
                        let target = p.get("deadLetterTargetArn").ok_or_else(|| {
                            tpl(id, "RedrivePolicy.deadLetterTargetArn is missing")
                        })?;
                        let dead_letter_queue = get_att_target(target).ok_or_else(|| {
                            tpl(
                                id,
                                "RedrivePolicy.deadLetterTargetArn must be !GetAtt <Queue>.Arn",
                            )
                        })?;
                        let count = r.string(
                            p.get("maxReceiveCount"),
                            id,
                            "RedrivePolicy.maxReceiveCount",
                        )?;
                        let max_receive_count = count.parse::<u32>().map_err(|_| {
                            tpl(id, format!("maxReceiveCount '{count}' is not a number"))
                        })?;
                        Some(RedriveSpec {
                            dead_letter_queue,
                            max_receive_count,
                        })
                    }
                };
                let fifo = attributes.get("FifoQueue").is_some_and(|v| v == "true");
                out.queues.push(QueueSpec {
                    logical_id: id.to_string(),
                    attributes,
                    redrive,
                    fifo,
                });
            }
            _ => {}
        }
    }
    for q in &out.queues {
        if let Some(rd) = &q.redrive
            && !out
                .queues
                .iter()
                .any(|d| d.logical_id == rd.dead_letter_queue)
        {
            return Err(tpl(
                &q.logical_id,
                format!(
                    "dead-letter target '{}' is not a queue of the template",
                    rd.dead_letter_queue
                ),
            ));
        }
    }
    Ok(out)
}

/// Provision from the embedded template ([`TEMPLATE_YAML`]).
pub async fn provision(
    sdk: &SdkConfig,
    opts: &ProvisionOptions,
) -> Result<ProvisionedResources, ProvisionError> {
    provision_template(sdk, TEMPLATE_YAML, opts).await
}

/// Provision from a template file.
pub async fn provision_file(
    sdk: &SdkConfig,
    path: &Path,
    opts: &ProvisionOptions,
) -> Result<ProvisionedResources, ProvisionError> {
    let yaml = std::fs::read_to_string(path).map_err(|source| ProvisionError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    provision_template(sdk, &yaml, opts).await
}

/// Provision from template text. Idempotent: existing tables and identical queues are reused.
pub async fn provision_template(
    sdk: &SdkConfig,
    yaml: &str,
    opts: &ProvisionOptions,
) -> Result<ProvisionedResources, ProvisionError> {
    if opts.prefix.len() > 40
        || !opts
            .prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(ProvisionError::Prefix(opts.prefix.clone()));
    }
    let spec = parse_template(yaml)?;
    let [table] = spec.tables.as_slice() else {
        return Err(tpl(
            "(template)",
            format!(
                "expected exactly one AWS::DynamoDB::Table, found {}",
                spec.tables.len()
            ),
        ));
    };

    let dynamo = aws_sdk_dynamodb::Client::new(sdk);
    let table_name = format!("{}{}", opts.prefix, table.logical_id);
    create_table(&dynamo, &table_name, table).await?;

    let sqs = aws_sdk_sqs::Client::new(sdk);
    let mut queues = HashMap::new();
    let mut arns: HashMap<String, String> = HashMap::new();
    // Dead-letter targets first: the others need their ARNs.
    let mut ordered: Vec<&QueueSpec> = spec.queues.iter().filter(|q| q.redrive.is_none()).collect();
    ordered.extend(spec.queues.iter().filter(|q| q.redrive.is_some()));
    for q in ordered {
        let mut name = format!("{}{}", opts.prefix, q.logical_id);
        if q.fifo {
            name.push_str(".fifo");
        }
        let mut attributes: HashMap<QueueAttributeName, String> = q
            .attributes
            .iter()
            .map(|(k, v)| (QueueAttributeName::from(k.as_str()), v.clone()))
            .collect();
        if let Some(secs) = opts.visibility_timeout_secs {
            attributes.insert(QueueAttributeName::VisibilityTimeout, secs.to_string());
        }
        if let Some(rd) = &q.redrive {
            let arn = arns
                .get(&rd.dead_letter_queue)
                .ok_or_else(|| tpl(&q.logical_id, "dead-letter queue was not created first"))?;
            let policy = serde_json::json!({"deadLetterTargetArn": arn, "maxReceiveCount": rd.max_receive_count});
            attributes.insert(QueueAttributeName::RedrivePolicy, policy.to_string());
        }
        let url = sqs
            .create_queue()
            .queue_name(&name)
            .set_attributes(Some(attributes))
            .send()
            .await
            .map_err(|e| aws(&format!("CreateQueue {name}"), e))?
            .queue_url
            .ok_or_else(|| ProvisionError::Aws {
                op: format!("CreateQueue {name}"),
                message: "no queue URL in the answer".into(),
            })?;
        let arn = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|e| aws(&format!("GetQueueAttributes {name}"), e))?
            .attributes
            .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
            .ok_or_else(|| ProvisionError::Aws {
                op: format!("GetQueueAttributes {name}"),
                message: "no QueueArn".into(),
            })?;
        arns.insert(q.logical_id.clone(), arn);
        queues.insert(q.logical_id.clone(), url);
    }

    let redrives: Vec<&RedriveSpec> = spec
        .queues
        .iter()
        .filter_map(|q| q.redrive.as_ref())
        .collect();
    let Some(first) = redrives.first() else {
        return Err(tpl(
            "(template)",
            "no queue has a RedrivePolicy, so there is no dead-letter queue",
        ));
    };
    if redrives
        .iter()
        .any(|r| r.dead_letter_queue != first.dead_letter_queue)
    {
        return Err(tpl(
            "(template)",
            "the task queues must share one dead-letter queue",
        ));
    }
    Ok(ProvisionedResources {
        table_name,
        dlq_url: queues[&first.dead_letter_queue].clone(),
        max_receive_count: redrives
            .iter()
            .map(|r| r.max_receive_count)
            .min()
            .unwrap_or(first.max_receive_count),
        queues,
    })
}

fn key_elements(keys: &[KeySpec], resource: &str) -> Result<Vec<KeySchemaElement>, ProvisionError> {
    keys.iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(&k.attribute)
                .key_type(KeyType::from(k.key_type.as_str()))
                .build()
                .map_err(|e| tpl(resource, e.to_string()))
        })
        .collect()
}

async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
    spec: &TableSpec,
) -> Result<(), ProvisionError> {
    let id = spec.logical_id.as_str();
    let definitions = spec
        .attribute_definitions
        .iter()
        .map(|(n, t)| {
            AttributeDefinition::builder()
                .attribute_name(n)
                .attribute_type(ScalarAttributeType::from(t.as_str()))
                .build()
                .map_err(|e| tpl(id, e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let gsis = spec
        .gsis
        .iter()
        .map(|g| {
            let projection = Projection::builder()
                .projection_type(ProjectionType::from(g.projection_type.as_str()))
                .set_non_key_attributes(
                    (!g.non_key_attributes.is_empty()).then(|| g.non_key_attributes.clone()),
                )
                .build();
            GlobalSecondaryIndex::builder()
                .index_name(&g.name)
                .set_key_schema(Some(key_elements(&g.key_schema, id)?))
                .projection(projection)
                .build()
                .map_err(|e| tpl(id, e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let created = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(definitions))
        .set_key_schema(Some(key_elements(&spec.key_schema, id)?))
        .set_global_secondary_indexes((!gsis.is_empty()).then_some(gsis))
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception()) => {}
        Err(e) => return Err(aws(&format!("CreateTable {name}"), e)),
    }

    // Real DynamoDB takes a moment (CREATING); moto is ACTIVE at once.
    for _ in 0..120 {
        let status = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(|e| aws(&format!("DescribeTable {name}"), e))?
            .table
            .and_then(|t| t.table_status);
        if status == Some(TableStatus::Active) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    if let Some(attr) = &spec.ttl_attribute {
        let current = client
            .describe_time_to_live()
            .table_name(name)
            .send()
            .await
            .map_err(|e| aws(&format!("DescribeTimeToLive {name}"), e))?
            .time_to_live_description;
        let enabled = current.as_ref().is_some_and(|d| {
            matches!(
                d.time_to_live_status,
                Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
            ) && d.attribute_name.as_deref() == Some(attr.as_str())
        });
        if !enabled {
            let ttl = TimeToLiveSpecification::builder()
                .attribute_name(attr)
                .enabled(true)
                .build()
                .map_err(|e| tpl(id, e.to_string()))?;
            client
                .update_time_to_live()
                .table_name(name)
                .time_to_live_specification(ttl)
                .send()
                .await
                .map_err(|e| aws(&format!("UpdateTimeToLive {name}"), e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_intrinsic_forms_resolve() {
        let yaml = r#"
Parameters:
  Count: {Type: Number, Default: 3}
Resources:
  Dlq: {Type: AWS::SQS::Queue}
  A:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 60
      RedrivePolicy: {deadLetterTargetArn: !GetAtt Dlq.Arn, maxReceiveCount: !Ref Count}
  B:
    Type: AWS::SQS::Queue
    Properties:
      RedrivePolicy:
        deadLetterTargetArn: {"Fn::GetAtt": [Dlq, Arn]}
        maxReceiveCount: 7
  Other: {Type: AWS::SNS::Topic}
"#;
        let t = parse_template(yaml).unwrap();
        assert!(t.tables.is_empty());
        let a = t.queues.iter().find(|q| q.logical_id == "A").unwrap();
        assert_eq!(
            a.redrive,
            Some(RedriveSpec {
                dead_letter_queue: "Dlq".into(),
                max_receive_count: 3
            })
        );
        assert_eq!(
            a.attributes.get("VisibilityTimeout").map(String::as_str),
            Some("60")
        );
        let b = t.queues.iter().find(|q| q.logical_id == "B").unwrap();
        assert_eq!(
            b.redrive,
            Some(RedriveSpec {
                dead_letter_queue: "Dlq".into(),
                max_receive_count: 7
            })
        );
    }

    #[test]
    fn a_redrive_to_an_unknown_queue_is_an_error() {
        let yaml = "Resources:\n  A:\n    Type: AWS::SQS::Queue\n    Properties:\n      RedrivePolicy: {deadLetterTargetArn: !GetAtt Nope.Arn, maxReceiveCount: 2}\n";
        let err = parse_template(yaml).unwrap_err();
        assert!(err.to_string().contains("Nope"), "{err}");
    }

    #[test]
    fn the_real_template_declares_one_table_and_a_dead_letter_queue() {
        let t = parse_template(TEMPLATE_YAML).unwrap();
        assert_eq!(t.tables.len(), 1);
        assert_eq!(t.tables[0].ttl_attribute.as_deref(), Some("expires_at"));
        let task = t
            .queues
            .iter()
            .find(|q| q.logical_id == "SyncInventoryQueue")
            .unwrap();
        assert_eq!(
            task.redrive.as_ref().map(|r| r.dead_letter_queue.as_str()),
            Some("DeadLetterQueue")
        );
        assert!(
            !task.fifo,
            "task queues need per-message delays, so they are standard queues"
        );
    }
}
