//! `/docs`: a browsable page rendered from openapi.yaml on the server, so it works offline and
//! needs no script from anywhere.

use std::fmt::Write as _;

use anyhow::Context as _;
use serde_yaml::Value;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("")
}

/// A schema in one line: `Product`, `array of Product`, `integer (1..100)`.
fn describe(schema: &Value) -> String {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap_or(reference);
        return format!("<a href=\"#schema-{0}\">{0}</a>", esc(name));
    }
    let kind = text(schema, "type");
    if kind == "array" {
        return format!("array of {}", describe(&schema["items"]));
    }
    let mut out = esc(kind);
    let bounds = [
        ("minimum", "min"),
        ("maximum", "max"),
        ("minLength", "min length"),
        ("maxLength", "max length"),
        ("default", "default"),
        ("pattern", "pattern"),
    ];
    let notes: Vec<String> = bounds
        .iter()
        .filter_map(|(key, label)| {
            let v = &schema[*key];
            (!v.is_null()).then(|| {
                format!(
                    "{label} {}",
                    esc(serde_yaml::to_string(v).unwrap_or_default().trim())
                )
            })
        })
        .collect();
    if !notes.is_empty() {
        let _ = write!(out, " ({})", notes.join(", "));
    }
    out
}

/// The HTML page for `spec` (openapi.yaml's text).
///
/// # Errors
/// When the spec is not YAML with `paths`.
pub fn render(spec: &str) -> anyhow::Result<String> {
    let doc: Value = serde_yaml::from_str(spec).context("openapi.yaml is not valid YAML")?;
    let paths = doc["paths"]
        .as_mapping()
        .context("openapi.yaml has no paths")?;
    let title = esc(text(&doc["info"], "title"));
    let mut html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>body{{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}}\
         .op{{border:1px solid #ddd;border-radius:6px;margin:1rem 0;padding:.5rem 1rem}}\
         .m{{font-weight:bold;font-family:monospace;padding:.1rem .4rem;border-radius:4px;background:#eef}}\
         code,pre{{background:#f6f6f6;padding:.1rem .3rem;border-radius:3px}}pre{{padding:.6rem;overflow:auto}}\
         table{{border-collapse:collapse}}td,th{{border-bottom:1px solid #eee;padding:.2rem .6rem;text-align:left;vertical-align:top}}</style>\
         </head><body><h1>{title} <small>{}</small></h1><p>{}</p><p>The machine-readable spec is at <a href=\"/openapi.yaml\">/openapi.yaml</a>.</p><h2>Operations</h2>",
        esc(text(&doc["info"], "version")),
        esc(text(&doc["info"], "description")),
    );
    for (path, item) in paths {
        let path = path.as_str().unwrap_or("");
        let Some(ops) = item.as_mapping() else {
            continue;
        };
        for (method, op) in ops {
            let method = method.as_str().unwrap_or("");
            if !["get", "post", "put", "patch", "delete"].contains(&method) {
                continue;
            }
            let _ = write!(
                html,
                "<div class=\"op\" id=\"{}\"><p><span class=\"m\">{}</span> <code>{}</code> — {}</p><p>{}</p>",
                esc(text(op, "operationId")),
                method.to_ascii_uppercase(),
                esc(path),
                esc(text(op, "summary")),
                esc(text(op, "description")),
            );
            let params: Vec<&Value> = item["parameters"]
                .as_sequence()
                .into_iter()
                .flatten()
                .chain(op["parameters"].as_sequence().into_iter().flatten())
                .collect();
            if !params.is_empty() {
                html.push_str("<table><tr><th>parameter</th><th>in</th><th>schema</th><th>description</th></tr>");
                for p in params {
                    let _ = write!(
                        html,
                        "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                        esc(text(p, "name")),
                        if p["required"].as_bool() == Some(true) {
                            " *"
                        } else {
                            ""
                        },
                        esc(text(p, "in")),
                        describe(&p["schema"]),
                        esc(text(p, "description")),
                    );
                }
                html.push_str("</table>");
            }
            if let Some(content) = op["requestBody"]["content"].as_mapping() {
                for (media, body) in content {
                    let _ = write!(
                        html,
                        "<p>Body (<code>{}</code>): {}</p>",
                        esc(media.as_str().unwrap_or("")),
                        describe(&body["schema"])
                    );
                }
            }
            html.push_str("<table><tr><th>status</th><th>response</th></tr>");
            for (status, response) in op["responses"].as_mapping().into_iter().flatten() {
                let status = serde_yaml::to_string(status).unwrap_or_default();
                let _ = write!(
                    html,
                    "<tr><td>{}</td><td>{}</td></tr>",
                    esc(status.trim().trim_matches('\'')),
                    esc(text(response, "description"))
                );
            }
            html.push_str("</table></div>");
        }
    }
    html.push_str("<h2>Schemas</h2>");
    for (name, schema) in doc["components"]["schemas"]
        .as_mapping()
        .into_iter()
        .flatten()
    {
        let name = esc(name.as_str().unwrap_or(""));
        let body = serde_json::to_string_pretty(schema).unwrap_or_default();
        let _ = write!(
            html,
            "<h3 id=\"schema-{name}\">{name}</h3><pre>{}</pre>",
            esc(&body)
        );
    }
    html.push_str("</body></html>");
    Ok(html)
}
