//! Test support: DynamoDB tables in a local DynamoDB-compatible server, created from the very
//! key schema template.yaml deploys.

use anyhow::Context as _;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};
use serde_yaml::Value;

/// template.yaml at the workspace root.
pub const TEMPLATE: &str = include_str!("../../../template.yaml");

fn template() -> anyhow::Result<Value> {
    serde_yaml::from_str(TEMPLATE).context("template.yaml does not parse")
}

/// The `Properties` of resource `logical_id` in template.yaml.
///
/// # Errors
/// When the template does not parse or has no such resource.
pub fn resource_properties(logical_id: &str) -> anyhow::Result<Value> {
    template()?["Resources"][logical_id]["Properties"]
        .as_mapping()
        .map(|m| Value::Mapping(m.clone()))
        .with_context(|| format!("template.yaml has no resource {logical_id} with Properties"))
}

/// The environment variables `Globals.Function` gives every function in template.yaml (plain
/// string values only; references to resources are left out).
///
/// # Errors
/// When the template does not parse.
pub fn global_function_env() -> anyhow::Result<Vec<(String, String)>> {
    Ok(
        template()?["Globals"]["Function"]["Environment"]["Variables"]
            .as_mapping()
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.as_str()?.to_owned())))
            .collect(),
    )
}

fn text<'a>(v: &'a Value, key: &str) -> anyhow::Result<&'a str> {
    v[key]
        .as_str()
        .with_context(|| format!("{key} is not a plain string in template.yaml"))
}

fn key_schema(v: &Value) -> anyhow::Result<Vec<KeySchemaElement>> {
    v.as_sequence()
        .context("KeySchema is not a list")?
        .iter()
        .map(|k| {
            Ok(KeySchemaElement::builder()
                .attribute_name(text(k, "AttributeName")?)
                .key_type(KeyType::from(text(k, "KeyType")?))
                .build()?)
        })
        .collect()
}

/// Refuses anything but a server on this machine, so a test can never touch a real account.
fn local_endpoint() -> String {
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap_or_default();
    let local = ["http://127.0.0.1:", "http://localhost:", "http://[::1]:"]
        .iter()
        .any(|prefix| endpoint.starts_with(prefix));
    assert!(
        local,
        "the DynamoDB tests need AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:<port> pointing at a local \
         DynamoDB-compatible server (run the README's test command, which starts moto_server); got {endpoint:?}"
    );
    endpoint
}

/// Creates a fresh table shaped like template.yaml's `logical_id` and returns its name.
///
/// # Panics
/// When no local server is configured or the table cannot be created: these are test helpers.
pub async fn create_table_like(logical_id: &str, prefix: &str) -> String {
    local_endpoint();
    let props = resource_properties(logical_id).expect("template.yaml describes the table");
    let name = format!(
        "{prefix}-{}",
        ulid::Ulid::new().to_string().to_ascii_lowercase()
    );
    let client = crate::dynamodb::client_from_env().await;
    let mut request = client
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(key_schema(&props["KeySchema"]).expect("KeySchema")));
    for attr in props["AttributeDefinitions"]
        .as_sequence()
        .expect("AttributeDefinitions")
    {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(text(attr, "AttributeName").expect("AttributeName"))
                .attribute_type(ScalarAttributeType::from(
                    text(attr, "AttributeType").expect("AttributeType"),
                ))
                .build()
                .expect("attribute definition"),
        );
    }
    for index in props["GlobalSecondaryIndexes"]
        .as_sequence()
        .into_iter()
        .flatten()
    {
        let projection = index["Projection"]["ProjectionType"]
            .as_str()
            .unwrap_or("ALL");
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(text(index, "IndexName").expect("IndexName"))
                .set_key_schema(Some(
                    key_schema(&index["KeySchema"]).expect("index KeySchema"),
                ))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(projection))
                        .build(),
                )
                .build()
                .expect("index definition"),
        );
    }
    request
        .send()
        .await
        .map_err(|e| aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
        .expect("the local server creates the table");
    name
}

/// A fresh catalog table.
pub async fn create_catalog_table() -> String {
    create_table_like("CatalogTable", "catalog").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_names_the_ca_bundle_of_its_runtime() {
        // Without it the SDK's HTTPS client probes the OpenSSL locations at init and may parse a
        // whole certificate directory besides the bundle (docs/performance.md).
        assert_eq!(
            template().unwrap()["Globals"]["Function"]["Runtime"].as_str(),
            Some("provided.al2023"),
            "the bundle path below is provided.al2023's"
        );
        let env = global_function_env().unwrap();
        assert!(
            env.contains(&(
                String::from("SSL_CERT_FILE"),
                String::from("/etc/pki/tls/certs/ca-bundle.crt")
            )),
            "{env:?}"
        );
    }
}
