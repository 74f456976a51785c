//! template.yaml, read at start-up: the HTTP routes and which function (its handler and its
//! binary) serves each, and the stream event sources and which function consumes each.

use std::path::Path;

use anyhow::{Context as _, bail};
use serde_yaml::Value;

/// One `HttpApi` event of one function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub method: String,
    /// As the template writes it: `/products/{id}`.
    pub path: String,
    /// The function's logical id, `GetProductFunction`.
    pub function: String,
    /// The function's `Handler`, the endpoint its binary runs: `get_product`.
    pub handler: String,
    /// The cargo-lambda binary (`Metadata.BuildProperties.Binary`), its service's: `catalog`.
    pub binary: String,
    /// The authorizer a request must pass (the event's `Auth.Authorizer`, else the API's
    /// `Auth.DefaultAuthorizer`); `None` for a public route (`Authorizer: NONE`).
    pub authorizer: Option<String>,
}

impl Route {
    /// API Gateway's route key: `GET /products/{id}`.
    pub fn key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// The path parameters if `path` (percent-decoded segments) matches this route's path
    /// ([`stockroom_http::path_params`]: a last `{name+}` takes the rest of the path).
    pub fn matches(&self, path: &[String]) -> Option<Vec<(String, String)>> {
        stockroom_http::path_params(&self.path, path)
    }

    /// How API Gateway ranks the routes that match, highest first: one without a greedy
    /// parameter before one with it, then the one with more literal segments.
    pub fn specificity(&self) -> (bool, usize) {
        let literal = self
            .path
            .split('/')
            .filter(|s| !s.is_empty() && !s.starts_with('{'))
            .count();
        (!self.path.ends_with("+}"), literal)
    }
}

/// One `DynamoDB` stream event source of one function: the stream consumers the dev server runs
/// over the embedded change feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSource {
    /// The function's logical id, `OnOrderChangeFunction`.
    pub function: String,
    /// The function's `Handler`, `on_order_change`.
    pub handler: String,
    /// The cargo-lambda binary, `notifier`.
    pub binary: String,
    /// The logical id of the table whose stream it reads (`OrdersTable`).
    pub table: String,
    /// `BatchSize`: at most this many records per invocation (DynamoDB's default, 100, if unset).
    pub batch_size: usize,
    /// `MaximumRetryAttempts`: how often a failing record is retried before it goes to the
    /// on-failure destination (unset is DynamoDB's "until it expires"; taken as 10 000 here).
    pub max_retries: u32,
}

/// One `AWS::Serverless::Function` of the template.
struct Function<'a> {
    /// Its logical id.
    name: String,
    resource: &'a Value,
    handler: String,
    binary: String,
}

/// Every `AWS::Serverless::Function` of the template built from the workspace (all but those
/// with `InlineCode`) with its logical id, its handler and its binary.
fn functions(doc: &Value) -> anyhow::Result<Vec<Function<'_>>> {
    let resources = doc["Resources"]
        .as_mapping()
        .context("template.yaml has no Resources")?;
    let mut functions = Vec::new();
    for (name, resource) in resources {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let function = name
            .as_str()
            .context("a resource name is not a string")?
            .to_owned();
        // Not one of the workspace's binaries: the release hook, whose code is in the template.
        if !resource["Properties"]["InlineCode"].is_null() {
            continue;
        }
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .with_context(|| format!("{function} has no Metadata.BuildProperties.Binary"))?
            .to_owned();
        let handler = resource["Properties"]["Handler"]
            .as_str()
            .with_context(|| format!("{function} has no Handler"))?
            .to_owned();
        functions.push(Function {
            name: function,
            resource,
            handler,
            binary,
        });
    }
    Ok(functions)
}

/// The events of `resource` of type `kind` (`HttpApi`, `DynamoDB`).
fn events<'a>(resource: &'a Value, kind: &'a str) -> impl Iterator<Item = &'a Value> {
    resource["Properties"]["Events"]
        .as_mapping()
        .into_iter()
        .flat_map(|events| events.values())
        .filter(move |e| e["Type"].as_str() == Some(kind))
}

/// The `Auth.DefaultAuthorizer` of every `AWS::Serverless::HttpApi`, by logical id.
fn default_authorizers(doc: &Value) -> Vec<(String, Option<String>)> {
    doc["Resources"]
        .as_mapping()
        .into_iter()
        .flatten()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::HttpApi"))
        .filter_map(|(name, r)| {
            let default = r["Properties"]["Auth"]["DefaultAuthorizer"].as_str();
            Some((name.as_str()?.to_owned(), default.map(str::to_owned)))
        })
        .collect()
}

/// The logical id an `ApiId: !Ref Api` names.
fn referenced(value: &Value) -> Option<&str> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "!Ref" => tagged.value.as_str(),
        other => other["Ref"].as_str(),
    }
}

/// The authorizer of one `HttpApi` event: its own `Auth.Authorizer` (`NONE` for none), else
/// its API's default.
fn authorizer(props: &Value, apis: &[(String, Option<String>)]) -> Option<String> {
    if let Some(name) = props["Auth"]["Authorizer"].as_str() {
        return (name != "NONE").then(|| name.to_owned());
    }
    let api = match referenced(&props["ApiId"]) {
        Some(id) => apis.iter().find(|(name, _)| name == id),
        None => None,
    };
    api.and_then(|(_, default)| default.clone())
}

/// The routes of every `AWS::Serverless::Function` in the template, sorted by path and method.
///
/// # Errors
/// When the file cannot be read or parsed, or an `HttpApi` event lacks a method, a path or its
/// function a `Binary` or a `Handler`.
pub fn routes(template: &str) -> anyhow::Result<Vec<Route>> {
    let doc: Value = serde_yaml::from_str(template).context("template.yaml is not valid YAML")?;
    let apis = default_authorizers(&doc);
    let mut routes = Vec::new();
    for f in functions(&doc)? {
        let function = &f.name;
        for event in events(f.resource, "HttpApi") {
            let props = &event["Properties"];
            let (Some(method), Some(path)) = (props["Method"].as_str(), props["Path"].as_str())
            else {
                bail!("{function} has an HttpApi event without a Method and a Path");
            };
            routes.push(Route {
                method: method.to_ascii_uppercase(),
                path: path.to_owned(),
                function: function.clone(),
                handler: f.handler.clone(),
                binary: f.binary.clone(),
                authorizer: authorizer(props, &apis),
            });
        }
    }
    routes.sort_by(|a, b| (&a.path, &a.method).cmp(&(&b.path, &b.method)));
    Ok(routes)
}

/// The table a `Stream: !GetAtt SomeTable.StreamArn` (or `!GetAtt [SomeTable, StreamArn]`)
/// names.
fn stream_table(stream: &Value) -> Option<String> {
    let Value::Tagged(tagged) = stream else {
        return None;
    };
    if tagged.tag != "!GetAtt" {
        return None;
    }
    let (table, attribute) = match &tagged.value {
        Value::String(s) => s.split_once('.')?,
        Value::Sequence(parts) => (parts.first()?.as_str()?, parts.get(1)?.as_str()?),
        _ => return None,
    };
    (attribute == "StreamArn").then(|| table.to_owned())
}

/// The DynamoDB stream event sources of every function in the template, sorted by function.
///
/// # Errors
/// When the template does not parse, or a `DynamoDB` event's `Stream` is not a table's
/// `!GetAtt <Table>.StreamArn`.
pub fn stream_sources(template: &str) -> anyhow::Result<Vec<StreamSource>> {
    let doc: Value = serde_yaml::from_str(template).context("template.yaml is not valid YAML")?;
    let mut sources = Vec::new();
    for f in functions(&doc)? {
        let function = &f.name;
        for event in events(f.resource, "DynamoDB") {
            let props = &event["Properties"];
            let table = stream_table(&props["Stream"]).with_context(|| {
                format!("{function}'s DynamoDB event's Stream is not !GetAtt <Table>.StreamArn")
            })?;
            let number = |key: &str| props[key].as_u64();
            sources.push(StreamSource {
                function: function.clone(),
                handler: f.handler.clone(),
                binary: f.binary.clone(),
                table,
                batch_size: number("BatchSize").map_or(100, |n| n as usize),
                max_retries: number("MaximumRetryAttempts")
                    .map_or(10_000, |n| u32::try_from(n).unwrap_or(u32::MAX)),
            });
        }
    }
    sources.sort_by(|a, b| a.function.cmp(&b.function));
    Ok(sources)
}

/// Reads and parses the template at `path`: its routes.
///
/// # Errors
/// As [`routes`], or when the file cannot be read.
pub fn load(path: &Path) -> anyhow::Result<Vec<Route>> {
    routes(&read(path)?).with_context(|| format!("in {}", path.display()))
}

/// Reads and parses the template at `path`: its stream event sources.
///
/// # Errors
/// As [`stream_sources`], or when the file cannot be read.
pub fn load_stream_sources(path: &Path) -> anyhow::Result<Vec<StreamSource>> {
    stream_sources(&read(path)?).with_context(|| format!("in {}", path.display()))
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("failed to read {}", path.display()))
}
