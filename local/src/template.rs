//! template.yaml, read at start-up: the HTTP routes and which function binary serves each.

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
    /// The cargo-lambda binary (`Metadata.BuildProperties.Binary`), `get_product`.
    pub binary: String,
}

impl Route {
    /// API Gateway's route key: `GET /products/{id}`.
    pub fn key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// The path parameters if `path` (percent-decoded segments) matches this route's path.
    pub fn matches(&self, path: &[String]) -> Option<Vec<(String, String)>> {
        let pattern: Vec<&str> = self
            .path
            .trim_matches('/')
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        if pattern.len() != path.len() {
            return None;
        }
        let mut params = Vec::new();
        for (p, s) in pattern.iter().zip(path) {
            match p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                Some(name) if !s.is_empty() => params.push((name.to_owned(), s.clone())),
                Some(_) => return None,
                None if p == s => {}
                None => return None,
            }
        }
        Some(params)
    }

    /// How many literal segments: API Gateway prefers the route with more of them.
    pub fn specificity(&self) -> usize {
        self.path
            .split('/')
            .filter(|s| !s.is_empty() && !s.starts_with('{'))
            .count()
    }
}

/// The routes of every `AWS::Serverless::Function` in the template, sorted by path and method.
///
/// # Errors
/// When the file cannot be read or parsed, or an `HttpApi` event lacks a method, a path or its
/// function a `Binary`.
pub fn routes(template: &str) -> anyhow::Result<Vec<Route>> {
    let doc: Value = serde_yaml::from_str(template).context("template.yaml is not valid YAML")?;
    let resources = doc["Resources"]
        .as_mapping()
        .context("template.yaml has no Resources")?;
    let mut routes = Vec::new();
    for (name, resource) in resources {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let function = name
            .as_str()
            .context("a resource name is not a string")?
            .to_owned();
        let Some(events) = resource["Properties"]["Events"].as_mapping() else {
            continue;
        };
        for event in events
            .values()
            .filter(|e| e["Type"].as_str() == Some("HttpApi"))
        {
            let props = &event["Properties"];
            let (Some(method), Some(path)) = (props["Method"].as_str(), props["Path"].as_str())
            else {
                bail!("{function} has an HttpApi event without a Method and a Path");
            };
            let binary = resource["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .with_context(|| format!("{function} has no Metadata.BuildProperties.Binary"))?;
            routes.push(Route {
                method: method.to_ascii_uppercase(),
                path: path.to_owned(),
                function: function.clone(),
                binary: binary.to_owned(),
            });
        }
    }
    routes.sort_by(|a, b| (&a.path, &a.method).cmp(&(&b.path, &b.method)));
    Ok(routes)
}

/// Reads and parses the template at `path`.
///
/// # Errors
/// As [`routes`], or when the file cannot be read.
pub fn load(path: &Path) -> anyhow::Result<Vec<Route>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read {}", path.display()))?;
    routes(&text).with_context(|| format!("in {}", path.display()))
}
