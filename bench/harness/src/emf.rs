//! The CloudWatch Embedded Metric Format, checked the way CloudWatch reads it: a log line is a
//! metric document when it is a JSON object with an `_aws` member, and CloudWatch extracts its
//! metrics only when it follows the specification's JSON schema
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>).
//! [`check`] applies that schema's rules and the specification's references between members.

use std::collections::BTreeSet;

use serde_json::Value;

/// The units the specification allows.
const UNITS: &[&str] = &[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// Whether `line` is meant as a metric document.
pub fn is_document(line: &str) -> bool {
    line.starts_with('{') && line.contains("\"_aws\"")
}

/// The `(namespace, metric name)` pairs a valid document `line` declares, or what is wrong.
pub fn check(line: &str) -> Result<Vec<(String, String)>, String> {
    let doc: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let root = doc.as_object().ok_or("not a JSON object")?;
    let aws = root
        .get("_aws")
        .and_then(Value::as_object)
        .ok_or("no `_aws` object")?;
    let timestamp = aws.get("Timestamp").ok_or("no `_aws.Timestamp`")?;
    if timestamp.as_u64().is_none() {
        return Err(format!(
            "`_aws.Timestamp` {timestamp} is not a non-negative integer"
        ));
    }
    let directives = aws
        .get("CloudWatchMetrics")
        .and_then(Value::as_array)
        .ok_or("no `_aws.CloudWatchMetrics` array")?;
    let mut declared = Vec::new();
    for directive in directives {
        let namespace = directive["Namespace"]
            .as_str()
            .filter(|n| (1..=1024).contains(&n.len()) && !n.trim().is_empty())
            .ok_or("a directive without a Namespace of 1 to 1024 characters")?;
        let dimension_sets = directive["Dimensions"]
            .as_array()
            .ok_or("a directive without a Dimensions array")?;
        for set in dimension_sets {
            let set = set
                .as_array()
                .ok_or("a dimension set that is not an array")?;
            if set.len() > 30 {
                return Err(format!(
                    "a dimension set of {} names (30 at most)",
                    set.len()
                ));
            }
            for name in set {
                let name = name
                    .as_str()
                    .ok_or("a dimension name that is not a string")?;
                if !root.get(name).is_some_and(Value::is_string) {
                    return Err(format!("dimension {name:?} has no string member"));
                }
            }
        }
        let metrics = directive["Metrics"]
            .as_array()
            .ok_or("a directive without a Metrics array")?;
        let mut names = BTreeSet::new();
        for metric in metrics {
            let name = metric["Name"]
                .as_str()
                .filter(|n| (1..=1024).contains(&n.len()))
                .ok_or("a metric without a Name of 1 to 1024 characters")?;
            if !names.insert(name) {
                return Err(format!("metric {name:?} declared twice"));
            }
            if let Some(unit) = metric.get("Unit")
                && !unit.as_str().is_some_and(|u| UNITS.contains(&u))
            {
                return Err(format!(
                    "metric {name:?} has unit {unit}, not one of the spec's"
                ));
            }
            let values = match root.get(name) {
                Some(Value::Number(_)) => 1,
                Some(Value::Array(values)) if values.iter().all(Value::is_number) => values.len(),
                _ => return Err(format!("metric {name:?} has no number or array of numbers")),
            };
            if !(1..=100).contains(&values) {
                return Err(format!("metric {name:?} has {values} values (1 to 100)"));
            }
            declared.push((namespace.to_owned(), name.to_owned()));
        }
    }
    Ok(declared)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = r#"{"_aws":{"Timestamp":1795472471403,"CloudWatchMetrics":[{"Namespace":"Stockroom","Dimensions":[["route","method","status_class"]],"Metrics":[{"Name":"http_requests_total"},{"Name":"http_request_duration_seconds","Unit":"Seconds"}]}]},"route":"/products/{id}","method":"GET","status_class":"2xx","requestId":"r-1","http_requests_total":1,"http_request_duration_seconds":[0.002]}"#;

    #[test]
    fn a_document_of_the_spec_declares_its_metrics() {
        assert!(is_document(VALID));
        assert_eq!(
            check(VALID).unwrap(),
            vec![
                ("Stockroom".to_owned(), "http_requests_total".to_owned()),
                (
                    "Stockroom".to_owned(),
                    "http_request_duration_seconds".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn documents_cloudwatch_would_not_extract_are_refused() {
        for (broken, why) in [
            (
                VALID.replace(r#""route":"/products/{id}","#, ""),
                "dimension \"route\"",
            ),
            (
                VALID.replace(r#""http_requests_total":1,"#, ""),
                "http_requests_total",
            ),
            (
                VALID.replace(r#""Unit":"Seconds""#, r#""Unit":"Secs""#),
                "unit",
            ),
            (VALID.replace("1795472471403", "\"now\""), "Timestamp"),
            (
                VALID.replace(r#""Namespace":"Stockroom","#, ""),
                "Namespace",
            ),
            (VALID.replace("[0.002]", "[]"), "0 values"),
        ] {
            let err = check(&broken).unwrap_err();
            assert!(err.contains(why), "{err} for {broken}");
        }
    }
}
