//! The local stack is derived from infra/template.yaml: what moto ends up with must be what the
//! template says. The expectations are read from the raw YAML here (not from the provision module's
//! own parser), so a parser bug cannot hide a drift.

use aws_sdk_dynamodb::types::{KeyType, ProjectionType, TimeToLiveStatus};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_yaml::Value;
use shopsync_localstack::MotoServer;
use shopsync_localstack::provision::{self, ProvisionOptions, ProvisionedResources};
use std::collections::BTreeSet;

/// A fresh stack in the shared moto, named `<label>-<random>`.
async fn stack(label: &str) -> (aws_config::SdkConfig, ProvisionedResources) {
    let moto = MotoServer::shared()
        .expect("moto_server must be available (set MOTO_SERVER or put it on PATH)");
    let sdk = moto.sdk_config().await;
    let prefix = format!(
        "{label}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let resources = provision::provision(&sdk, &ProvisionOptions::with_prefix(prefix))
        .await
        .expect("provision the template into moto");
    (sdk, resources)
}

fn template() -> Value {
    let text = std::fs::read_to_string(provision::template_path()).expect("infra/template.yaml");
    assert_eq!(
        text,
        provision::TEMPLATE_YAML,
        "the embedded template is the file on disk"
    );
    serde_yaml::from_str(&text).unwrap()
}

fn keys(v: &Value) -> Vec<(String, String)> {
    v.as_sequence()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["AttributeName"].as_str().unwrap().to_string(),
                k["KeyType"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn moto_gets_exactly_the_table_and_queues_of_the_template() {
    let tpl = template();
    let table_props = &tpl["Resources"]["ShopsyncTable"]["Properties"];
    let (sdk, res) = stack("prov").await;

    // ---- table ----
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let table = dynamo
        .describe_table()
        .table_name(&res.table_name)
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let key_schema: Vec<(String, String)> = table
        .key_schema()
        .iter()
        .map(|k| {
            (
                k.attribute_name().to_string(),
                k.key_type().as_str().to_string(),
            )
        })
        .collect();
    assert_eq!(key_schema, keys(&table_props["KeySchema"]));
    assert_eq!(
        key_schema,
        vec![
            ("pk".to_string(), "HASH".to_string()),
            ("sk".to_string(), "RANGE".to_string())
        ]
    );
    assert_eq!(table.key_schema()[0].key_type(), &KeyType::Hash);

    let defs: BTreeSet<(String, String)> = table
        .attribute_definitions()
        .iter()
        .map(|a| {
            (
                a.attribute_name().to_string(),
                a.attribute_type().as_str().to_string(),
            )
        })
        .collect();
    let tpl_defs: BTreeSet<(String, String)> = table_props["AttributeDefinitions"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["AttributeName"].as_str().unwrap().to_string(),
                a["AttributeType"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(defs, tpl_defs);

    let tpl_gsis = table_props["GlobalSecondaryIndexes"].as_sequence().unwrap();
    let gsis = table.global_secondary_indexes();
    assert_eq!(gsis.len(), tpl_gsis.len());
    for tpl_gsi in tpl_gsis {
        let name = tpl_gsi["IndexName"].as_str().unwrap();
        let gsi = gsis
            .iter()
            .find(|g| g.index_name() == Some(name))
            .unwrap_or_else(|| panic!("GSI {name} missing"));
        let got: Vec<(String, String)> = gsi
            .key_schema()
            .iter()
            .map(|k| {
                (
                    k.attribute_name().to_string(),
                    k.key_type().as_str().to_string(),
                )
            })
            .collect();
        assert_eq!(got, keys(&tpl_gsi["KeySchema"]));
        let projection = gsi.projection().and_then(|p| p.projection_type()).cloned();
        assert_eq!(
            projection.as_ref().map(ProjectionType::as_str),
            tpl_gsi["Projection"]["ProjectionType"].as_str()
        );
    }
    assert!(
        gsis.iter().any(|g| g.index_name() == Some("gsi1")),
        "the adapters query gsi1"
    );

    let ttl = dynamo
        .describe_time_to_live()
        .table_name(&res.table_name)
        .send()
        .await
        .unwrap()
        .time_to_live_description
        .unwrap();
    assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
    assert_eq!(
        ttl.attribute_name(),
        table_props["TimeToLiveSpecification"]["AttributeName"].as_str()
    );
    assert_eq!(ttl.attribute_name(), Some("expires_at"));

    // ---- queues ----
    let resources = tpl["Resources"].as_mapping().unwrap();
    let tpl_queues: BTreeSet<String> = resources
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::SQS::Queue"))
        .map(|(k, _)| k.as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        res.queues.keys().cloned().collect::<BTreeSet<_>>(),
        tpl_queues
    );
    assert_eq!(res.dlq_url, res.queues["DeadLetterQueue"]);

    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let attrs = |url: String| {
        let sqs = sqs.clone();
        async move {
            sqs.get_queue_attributes()
                .queue_url(url)
                .attribute_names(QueueAttributeName::All)
                .send()
                .await
                .unwrap()
                .attributes
                .unwrap()
        }
    };
    let dlq = attrs(res.dlq_url.clone()).await;
    let default_max_receive = tpl["Parameters"]["MaxReceiveCount"]["Default"]
        .as_u64()
        .unwrap();
    assert_eq!(res.max_receive_count as u64, default_max_receive);
    for (id, r) in resources
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::SQS::Queue"))
    {
        let id = id.as_str().unwrap();
        let props = &r["Properties"];
        let got = attrs(res.queues[id].clone()).await;
        for name in ["VisibilityTimeout", "MessageRetentionPeriod"] {
            if let Some(v) = props[name].as_u64() {
                assert_eq!(
                    got[&QueueAttributeName::from(name)],
                    v.to_string(),
                    "{id}.{name}"
                );
            }
        }
        if let Some(policy) = props.get("RedrivePolicy") {
            let target = policy["deadLetterTargetArn"].clone();
            let Value::Tagged(t) = target else {
                panic!("{id}: deadLetterTargetArn should be !GetAtt")
            };
            assert_eq!(t.value.as_str(), Some("DeadLetterQueue.Arn"));
            let got_policy: serde_json::Value =
                serde_json::from_str(&got[&QueueAttributeName::RedrivePolicy]).unwrap();
            assert_eq!(
                got_policy["deadLetterTargetArn"].as_str(),
                Some(dlq[&QueueAttributeName::QueueArn].as_str()),
                "{id}"
            );
            let count = &got_policy["maxReceiveCount"];
            let count = count
                .as_u64()
                .or_else(|| count.as_str().and_then(|s| s.parse().ok()))
                .unwrap();
            assert_eq!(count, default_max_receive, "{id}.maxReceiveCount");
        }
    }
    assert_eq!(
        attrs(res.queues["SyncInventoryQueue"].clone()).await
            [&QueueAttributeName::VisibilityTimeout],
        "5400",
        "6 x the 900 s function timeout"
    );

    // Provisioning again with the same prefix reuses everything.
    let again = provision::provision(
        &sdk,
        &ProvisionOptions::with_prefix(res.table_name.trim_end_matches("ShopsyncTable")),
    )
    .await
    .unwrap();
    assert_eq!(again, res);

    // The adapters' config for the task function.
    let cfg = res.aws_config("SyncInventoryQueue").unwrap();
    assert_eq!(cfg.task_queue_url, res.queues["SyncInventoryQueue"]);
    assert_eq!(cfg.max_receive_count, 5);
}

#[test]
fn the_function_environment_matches_the_config_reader() {
    // Every variable AwsConfig::from_env needs is set on the function (Globals + the function).
    let tpl = template();
    let mut names: BTreeSet<String> = BTreeSet::new();
    for vars in [
        &tpl["Globals"]["Function"]["Environment"]["Variables"],
        &tpl["Resources"]["SyncInventoryFunction"]["Properties"]["Environment"]["Variables"],
    ] {
        names.extend(
            vars.as_mapping()
                .unwrap()
                .keys()
                .map(|k| k.as_str().unwrap().to_string()),
        );
    }
    for var in [
        "TABLE_NAME",
        "TASK_QUEUE_URL",
        "DLQ_URL",
        "MAX_RECEIVE_COUNT",
        "TASK",
    ] {
        assert!(
            names.contains(var),
            "{var} is not set on SyncInventoryFunction"
        );
    }
}
