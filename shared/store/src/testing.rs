//! Test support, the one place for it: the workspace and its binaries, template.yaml, stores
//! for tests (DynamoDB tables in a local DynamoDB-compatible server, created from the very key
//! schema template.yaml deploys, or an embedded store file), and builders for domain values.

use anyhow::Context as _;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
};
use serde_yaml::Value;

/// template.yaml at the workspace root.
pub const TEMPLATE: &str = include_str!("../../../template.yaml");

/// The workspace root, where template.yaml, openapi.yaml and events/ live.
pub fn workspace() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A binary target of a workspace package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CargoBin {
    /// The binary's name: a function's `Metadata.BuildProperties.Binary` (`catalog`).
    pub name: String,
    /// The package that has it (`stockroom-catalog`).
    pub package: String,
    /// Features of that package (`embedded` where it has one).
    pub features: Vec<String>,
}

/// Every binary of every workspace package, as `cargo metadata` reports them, so that nothing
/// keeps its own list of service crates.
///
/// # Errors
/// When cargo cannot be run or its answer not read.
pub fn cargo_bins() -> anyhow::Result<Vec<CargoBin>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| String::from("cargo"));
    let output = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .current_dir(workspace())
        .output()
        .context("failed to run cargo metadata")?;
    anyhow::ensure!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("cargo metadata is not JSON")?;
    let mut bins = Vec::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        let features: Vec<String> = package["features"]
            .as_object()
            .into_iter()
            .flat_map(|f| f.keys().cloned())
            .collect();
        for target in package["targets"].as_array().into_iter().flatten() {
            let is_bin = target["kind"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|k| k == "bin"));
            if let (true, Some(name), Some(pkg)) =
                (is_bin, target["name"].as_str(), package["name"].as_str())
            {
                bins.push(CargoBin {
                    name: name.to_owned(),
                    package: pkg.to_owned(),
                    features: features.clone(),
                });
            }
        }
    }
    Ok(bins)
}

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

/// `Globals.Function.Environment.Variables` of template.yaml, as written: plain strings and
/// tagged references alike.
fn global_variables() -> anyhow::Result<Vec<(String, Value)>> {
    Ok(
        template()?["Globals"]["Function"]["Environment"]["Variables"]
            .as_mapping()
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.clone())))
            .collect(),
    )
}

/// The environment variables `Globals.Function` gives every function in template.yaml (plain
/// string values only; references to resources are left out).
///
/// # Errors
/// When the template does not parse.
pub fn global_function_env() -> anyhow::Result<Vec<(String, String)>> {
    Ok(global_variables()?
        .into_iter()
        // Only plain strings: serde_yaml's `as_str` would also read the name inside a
        // `!Ref CatalogTable`, which is a resource, not a value.
        .filter_map(|(k, v)| match v {
            Value::String(v) => Some((k, v)),
            _ => None,
        })
        .collect())
}

/// The table variables `Globals.Function` gives every function: `(variable, table)` for each
/// `VAR: !Ref SomeTable` whose resource is a service's table in [`crate::tables`].
///
/// # Errors
/// When the template does not parse, or a `!Ref` names a table the store does not know.
pub fn global_table_vars() -> anyhow::Result<Vec<(String, crate::tables::Table)>> {
    let mut vars = Vec::new();
    for (var, v) in global_variables()? {
        let Value::Tagged(tagged) = v else { continue };
        let ("!Ref", Some(resource)) = (tagged.tag.to_string().as_str(), tagged.value.as_str())
        else {
            continue;
        };
        let table = crate::tables::Table::by_resource(resource).with_context(|| {
            format!("{var} refers to {resource}, which is not in store::tables::ALL")
        })?;
        vars.push((var, table));
    }
    Ok(vars)
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
    let client = crate::dynamodb::client_from_env()
        .expect("the local DynamoDB's region and credentials in the environment");
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
    // The stream, as the template has it, so a test can read what a consumer would be given.
    if let Some(view) = props["StreamSpecification"]["StreamViewType"].as_str() {
        request = request.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(view))
                .build()
                .expect("stream specification"),
        );
    }
    request
        .send()
        .await
        .map_err(|e| aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
        .expect("the local server creates the table");
    name
}

/// A fresh table shaped like `table`'s in template.yaml.
pub async fn create_table(table: crate::tables::Table) -> String {
    create_table_like(table.resource, table.name).await
}

/// Fresh tables for every service in the local server: `(table, its name)`.
pub async fn dynamodb_tables() -> Vec<(crate::tables::Table, String)> {
    let mut tables = Vec::new();
    for table in crate::tables::ALL {
        tables.push((*table, create_table(*table).await));
    }
    tables
}

/// A DynamoDB store over fresh tables for every service, in the local server.
pub async fn dynamodb_store() -> crate::Store {
    DynamoDbShop::open().await.store
}

/// A DynamoDB store over fresh tables for every service, with the tables' names: for tests that
/// look at a table itself (its stream, the tables a call named).
pub struct DynamoDbShop {
    pub store: crate::Store,
    tables: Vec<(crate::tables::Table, String)>,
}

impl DynamoDbShop {
    pub async fn open() -> Self {
        let tables = dynamodb_tables().await;
        let store = crate::Store::dynamodb(
            crate::dynamodb::client_from_env()
                .expect("the local DynamoDB's region and credentials in the environment"),
            tables.clone(),
        );
        Self { store, tables }
    }

    /// The name of `table`'s fresh table.
    ///
    /// # Panics
    /// Never: every table of [`crate::tables::ALL`] was created.
    pub fn name(&self, table: crate::tables::Table) -> &str {
        self.tables
            .iter()
            .find(|(t, _)| *t == table)
            .map(|(_, name)| name.as_str())
            .expect("every table was created")
    }
}

/// Puts each `(sku, units)` in `store`'s catalog at 12.50 USD with that many available.
///
/// # Panics
/// When a write fails: a test helper.
pub async fn stocked(store: &crate::Store, products: &[(&str, i64)]) {
    let now = stockroom_domain::timestamp::now();
    for (sku, units) in products {
        store
            .catalog()
            .expect("the catalog port")
            .create_product(&build::product(sku, 1250, None, now))
            .await
            .expect("the product is created");
        store
            .inventory()
            .expect("the inventory port")
            .set_stock(
                &build::id(sku),
                stockroom_domain::inventory::Available::new(*units).expect("a valid level"),
                None,
                now,
            )
            .await
            .expect("the stock is set");
    }
}

/// The placement of `customer`'s order of `(sku, quantity)` lines now, under `key` if given.
///
/// # Panics
/// When the order is invalid: a test helper.
pub fn place_request(
    customer: &str,
    lines: &[(&str, i64)],
    key: Option<&str>,
) -> crate::orders::PlaceOrder {
    use stockroom_domain::orders::{IdempotencyKey, OrderId, OrderRequest, RawLine};
    let lines: Vec<RawLine> = lines
        .iter()
        .map(|(sku, quantity)| RawLine {
            product_id: Some((*sku).to_owned()),
            quantity: Some(*quantity),
        })
        .collect();
    let request = OrderRequest::parse(Some(customer), Some(&lines)).expect("a valid order");
    let now = stockroom_domain::timestamp::now();
    crate::orders::PlaceOrder {
        id: OrderId::at(now),
        request,
        key: key.map(|k| IdempotencyKey::parse(k).expect("a valid key")),
        now,
    }
}

/// Places `customer`'s order of `(sku, quantity)` lines in `store` now, under `key` if given.
///
/// # Panics
/// When the order is invalid or cannot be placed: a test helper.
pub async fn place(
    store: &crate::Store,
    customer: &str,
    lines: &[(&str, i64)],
    key: Option<&str>,
) -> stockroom_domain::orders::Order {
    store
        .orders()
        .expect("the orders port")
        .place_order(&place_request(customer, lines, key))
        .await
        .expect("the order is placed")
        .order
}

/// Every item of a paged list: `page(after)` fetches the page after a cursor key (`None`: the
/// first page), followed until a page has no `next_cursor`.
async fn all_pages<T, K, F, Fut>(mut page: F) -> anyhow::Result<Vec<T>>
where
    K: stockroom_domain::page::CursorKey,
    F: FnMut(Option<K>) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<stockroom_domain::page::Page<T>>>,
{
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = page(after).await?;
        all.extend(page.items);
        match page.next_cursor {
            Some(cursor) => after = stockroom_domain::page::Cursor::param(&cursor)?,
            None => return Ok(all),
        }
    }
}

/// Every order of `customer` in `store`, page by page.
///
/// # Errors
/// When `customer` is not a valid id or a page cannot be read.
pub async fn orders_of(
    store: &crate::Store,
    customer: &str,
) -> anyhow::Result<Vec<stockroom_domain::orders::Order>> {
    let orders = store.orders()?;
    let customer_id = stockroom_domain::orders::CustomerId::parse(customer)?;
    let limit = stockroom_domain::page::Limit::parse("100")?;
    all_pages(|after| {
        let query = crate::orders::OrderQuery {
            customer_id: customer_id.clone(),
            limit,
            after,
        };
        let orders = orders.clone();
        async move { orders.list_orders(&query).await }
    })
    .await
}

/// Every notification recorded in `store`, page by page: id -> delivery status.
///
/// # Errors
/// When a page cannot be read.
pub async fn recorded(
    store: &crate::Store,
) -> anyhow::Result<std::collections::BTreeMap<String, stockroom_domain::notifications::Delivery>> {
    let reader = store.notifications()?;
    let limit = stockroom_domain::page::Limit::parse("100")?;
    let all = all_pages(|after| {
        let query = crate::notifications::NotificationQuery {
            limit,
            after,
            ..crate::notifications::NotificationQuery::default()
        };
        let reader = reader.clone();
        async move { reader.list_notifications(&query).await }
    })
    .await?;
    Ok(all
        .into_iter()
        .map(|n| (n.id.to_string(), n.status))
        .collect())
}

/// A path for a new embedded store file in a new temporary directory.
pub fn temp_store_path() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("stockroom-test-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).expect("the temp dir is writable");
    dir.join(crate::config::EMBEDDED_FILE)
}

/// Builders for domain values, so tests say only what matters to them.
/// A table's DynamoDB stream in the local server, read as Lambda's event source mapping reads
/// it (DescribeStream, GetShardIterator from the trim horizon, GetRecords): for tests that hand
/// the real records to the stream consumers.
pub mod streams {
    use aws_sdk_dynamodbstreams::types::{AttributeValue, Record, ShardIteratorType};
    use serde_json::{Value, json};
    use std::collections::HashMap;

    /// A DynamoDB Streams client for the local server of `AWS_ENDPOINT_URL_DYNAMODB`.
    ///
    /// # Panics
    /// When no local server is configured: a test helper.
    pub fn client() -> aws_sdk_dynamodbstreams::Client {
        let endpoint = super::local_endpoint();
        let shared = crate::aws::sdk_config("DYNAMODBSTREAMS")
            .expect("the local server's region and credentials in the environment");
        aws_sdk_dynamodbstreams::Client::from_conf(
            aws_sdk_dynamodbstreams::config::Builder::from(&shared)
                .endpoint_url(endpoint)
                .build(),
        )
    }

    /// The record as Lambda delivers it: DynamoDB Streams' record JSON plus `eventSourceARN`.
    ///
    /// # Panics
    /// When the record has no `dynamodb` change or an image does not serialise: never for a
    /// record a stream returned.
    pub fn lambda_json(record: &Record, stream_arn: &str) -> Value {
        let change = record.dynamodb().expect("a stream record has its change");
        let image = |i: Option<&HashMap<String, AttributeValue>>| {
            i.map(|i| {
                serde_json::to_value(serde_dynamo::Item::from(i.clone()))
                    .expect("an image serialises")
            })
        };
        let mut dynamodb = json!({
            "ApproximateCreationDateTime": change.approximate_creation_date_time().map(|t| t.secs()),
            "Keys": image(change.keys()),
            "SequenceNumber": change.sequence_number(),
            "SizeBytes": change.size_bytes(),
            "StreamViewType": change.stream_view_type().map(|v| v.as_str()),
        });
        for (key, value) in [
            ("NewImage", image(change.new_image())),
            ("OldImage", image(change.old_image())),
        ] {
            if let Some(value) = value {
                dynamodb[key] = value;
            }
        }
        json!({
            "eventID": record.event_id(),
            "eventName": record.event_name().map(|n| n.as_str()),
            "eventVersion": record.event_version(),
            "eventSource": record.event_source(),
            "awsRegion": record.aws_region(),
            "dynamodb": dynamodb,
            "eventSourceARN": stream_arn,
        })
    }

    /// Every record in `table_name`'s stream so far, shard by shard, as Lambda would deliver
    /// them.
    ///
    /// # Panics
    /// When the table has no stream or a call fails: a test helper.
    pub async fn records(table_name: &str) -> Vec<Value> {
        let dynamodb = crate::dynamodb::client_from_env()
            .expect("the local server's region and credentials in the environment");
        let streams = client();
        let arn = dynamodb
            .describe_table()
            .table_name(table_name)
            .send()
            .await
            .expect("the table is described")
            .table
            .and_then(|t| t.latest_stream_arn)
            .expect("the table has the stream template.yaml gives it");
        let description = streams
            .describe_stream()
            .stream_arn(&arn)
            .send()
            .await
            .expect("the stream is described")
            .stream_description
            .expect("a stream description");
        let mut records = Vec::new();
        for shard in description.shards() {
            let mut iterator = streams
                .get_shard_iterator()
                .stream_arn(&arn)
                .shard_id(shard.shard_id().unwrap_or_default())
                .shard_iterator_type(ShardIteratorType::TrimHorizon)
                .send()
                .await
                .expect("a shard iterator")
                .shard_iterator;
            while let Some(it) = iterator {
                let output = streams
                    .get_records()
                    .shard_iterator(it)
                    .send()
                    .await
                    .expect("the shard's records");
                if output.records().is_empty() {
                    break;
                }
                records.extend(output.records().iter().map(|r| lambda_json(r, &arn)));
                iterator = output.next_shard_iterator;
            }
        }
        records
    }
}

pub mod build {
    use stockroom_domain::catalog::{Category, Product, ProductDetails, ProductName};
    use stockroom_domain::{Currency, Price, ProductId};

    /// A valid id; panics on an invalid one (a test's typo).
    pub fn id(s: &str) -> ProductId {
        ProductId::parse(s).expect("a valid id")
    }

    /// Details with this name, price (USD) and category, no description.
    pub fn details(name: &str, price: i64, category: Option<&str>) -> ProductDetails {
        ProductDetails {
            name: ProductName::parse(name).expect("a valid name"),
            description: None,
            price: Price::new(price).expect("a valid price"),
            currency: Currency::default(),
            category: category.map(|c| Category::parse(c).expect("a valid category")),
        }
    }

    /// A product named and identified `id`, created at `at`.
    pub fn product(
        id_: &str,
        price: i64,
        category: Option<&str>,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Product {
        Product::new(id(id_), details(id_, price, category), at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_service_table_reaches_every_function_in_its_own_variable() {
        let mut vars = global_table_vars().unwrap();
        vars.sort();
        let mut expected: Vec<(String, crate::tables::Table)> = crate::tables::ALL
            .iter()
            .map(|t| (t.env_var.to_owned(), *t))
            .collect();
        expected.sort();
        assert_eq!(vars, expected);
        // And no table variable passes for a plain value (the resource's name).
        let plain = global_function_env().unwrap();
        assert!(
            plain.iter().all(|(k, _)| !k.ends_with("_TABLE")),
            "{plain:?}"
        );
        for table in crate::tables::ALL {
            assert!(
                resource_properties(table.resource).is_ok(),
                "template.yaml has no {}",
                table.resource
            );
        }
    }

    #[test]
    fn no_function_is_pointed_at_the_systems_roots() {
        // Either variable makes the SDK's HTTPS client load the system's roots as it is built,
        // in every cold start, instead of the AWS roots compiled in (crate::aws).
        let env = global_function_env().unwrap();
        assert!(
            env.iter()
                .all(|(k, _)| k != "SSL_CERT_FILE" && k != "SSL_CERT_DIR"),
            "{env:?}"
        );
    }
}
