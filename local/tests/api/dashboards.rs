//! The dashboards and alarms read what the code emits, as it emits it: every `Stockroom` metric
//! that template.yaml's CloudWatch dashboard and alarms, `dashboards/stockroom-cloudwatch.json`
//! and `dashboards/stockroom-dev.json` query is one of `stockroom_telemetry::metrics::ALL`, with
//! exactly its dimensions in CloudWatch (a metric there is its name *and* its dimension set:
//! asking for fewer dimensions reads a metric nobody writes) and only its labels in Prometheus.
//! And they show what docs/architecture.md (Observability) promises: the API's 5xx and latency,
//! the functions' errors, throttles and duration, the tables' throttles, orders, low stock,
//! notifications by kind, the dead-letter queue, the notifier's circuit breaker, with an alarm
//! on each of 5xx, p99 latency, throttles, the dead-letter queue, low stock and a circuit that
//! stays open.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as Json;
use serde_yaml::Value as Yaml;
use stockroom_store::testing::workspace;
use stockroom_telemetry::metrics::{ALL, Kind, Metric, NAMESPACE, STOCK_LEVEL};

/// One CloudWatch metric a widget, a panel or an alarm reads.
#[derive(Debug)]
struct MetricRef {
    /// Where it is read (file and widget, panel or alarm): what a failure names.
    place: String,
    namespace: String,
    name: String,
    /// Names and values; a template substitution is its name (`${HttpApi}` is `HttpApi`), a
    /// SEARCH schema's dimension is `*`.
    dimensions: BTreeMap<String, String>,
    stat: Option<String>,
}

fn emitted(name: &str) -> Option<&'static Metric> {
    ALL.iter().find(|m| m.name == name)
}

fn emitted_names() -> Vec<&'static str> {
    ALL.iter().map(|m| m.name).collect()
}

/// Every `Stockroom` metric in `refs` is one the code emits, with exactly its dimensions.
fn assert_emitted(refs: &[MetricRef]) {
    for r in refs.iter().filter(|r| r.namespace == NAMESPACE) {
        let metric = emitted(&r.name).unwrap_or_else(|| {
            panic!(
                "{}: reads {NAMESPACE} metric {:?}, which the code does not emit \
                 (stockroom_telemetry::metrics::ALL: {:?})",
                r.place,
                r.name,
                emitted_names()
            )
        });
        let read: BTreeSet<&str> = r.dimensions.keys().map(String::as_str).collect();
        let written: BTreeSet<&str> = metric.dimensions.iter().copied().collect();
        assert!(
            read == written,
            "{}: reads {} with dimensions {read:?}, but the code emits it with {written:?} \
             (CloudWatch keeps one metric per dimension set)",
            r.place,
            r.name
        );
    }
}

/// Whether `refs` read one of `names` of `namespace` (with statistic `stat`, if given).
fn reads(refs: &[MetricRef], namespace: &str, names: &[&str], stat: Option<&str>) -> bool {
    refs.iter().any(|r| {
        r.namespace == namespace
            && names.contains(&r.name.as_str())
            && stat.is_none_or(|stat| r.stat.as_deref() == Some(stat))
    })
}

/// Whether `refs` read an API figure: from API Gateway's `aws` metric or from our `ours`.
fn reads_api(refs: &[MetricRef], aws: &str, ours: &str, stat: Option<&str>) -> bool {
    reads(refs, "AWS/ApiGateway", &[aws], stat) || reads(refs, NAMESPACE, &[ours], stat)
}

const TABLE_THROTTLES: &[&str] = &[
    "ThrottledRequests",
    "ReadThrottleEvents",
    "WriteThrottleEvents",
];

fn assert_all_shown(what: &str, figures: &[(&str, bool)]) {
    let missing: Vec<&str> = figures
        .iter()
        .filter(|(_, shown)| !shown)
        .map(|(figure, _)| *figure)
        .collect();
    assert!(missing.is_empty(), "{what}: nothing shows {missing:?}");
}

/// The figures both CloudWatch dashboards promise.
fn assert_cloudwatch_figures(what: &str, refs: &[MetricRef]) {
    let duration = "http_request_duration_seconds";
    let ours = |name| reads(refs, NAMESPACE, &[name], None);
    let aws = |namespace, names| reads(refs, namespace, names, None);
    assert_all_shown(
        what,
        &[
            (
                "API requests",
                reads_api(refs, "Count", "http_requests_total", None),
            ),
            (
                "API 5xx",
                reads_api(refs, "5xx", "http_requests_total", None),
            ),
            (
                "API p50 latency",
                reads_api(refs, "Latency", duration, Some("p50")),
            ),
            (
                "API p99 latency",
                reads_api(refs, "Latency", duration, Some("p99")),
            ),
            ("Lambda errors", aws("AWS/Lambda", &["Errors"])),
            ("Lambda throttles", aws("AWS/Lambda", &["Throttles"])),
            ("Lambda duration", aws("AWS/Lambda", &["Duration"])),
            ("DynamoDB throttles", aws("AWS/DynamoDB", TABLE_THROTTLES)),
            ("orders placed", ours("orders_placed_total")),
            ("low-stock alerts", ours("low_stock_alerts_total")),
            ("notifications by kind", ours("notifications_sent_total")),
            (
                "dead-letter queue depth",
                aws("AWS/SQS", &["ApproximateNumberOfMessagesVisible"]),
            ),
            (
                "notifier circuit breaker state",
                ours("circuit_breaker_state"),
            ),
        ],
    );
}

// CloudWatch: metric arrays, SEARCH expressions, alarms.

/// The metrics a metric math expression reads through its `SEARCH('{Namespace,Dim,...}
/// ... MetricName="name" ...', 'Stat', Period)` calls: one per metric name, with the schema's
/// dimensions. An expression of `Stockroom` that cannot be checked so fails.
fn search_refs(place: &str, expression: &str) -> Vec<MetricRef> {
    let mut refs = Vec::new();
    for (start, _) in expression.match_indices("SEARCH(") {
        // SEARCH('query', 'Stat', Period): the query has no single quotes of its own.
        let quoted: Vec<&str> = expression[start..].split('\'').collect();
        let query = quoted.get(1).copied().unwrap_or_default();
        let schema = query
            .split_once('{')
            .and_then(|(_, rest)| rest.split_once('}'))
            .map(|(schema, _)| schema);
        let Some(schema) = schema else {
            assert!(
                !query.contains(NAMESPACE),
                "{place}: a SEARCH without a {{Namespace,Dimension,...}} schema: {expression:?}"
            );
            continue;
        };
        let mut parts = schema.split(',').map(|p| p.trim().trim_matches('"'));
        let namespace = parts.next().unwrap_or_default().to_owned();
        let dimensions: BTreeMap<String, String> =
            parts.map(|d| (d.to_owned(), "*".to_owned())).collect();
        let names = search_metric_names(query);
        assert!(
            namespace != NAMESPACE || !names.is_empty(),
            "{place}: a SEARCH of {NAMESPACE} must name its metrics (MetricName=\"...\"): \
             {expression:?}"
        );
        refs.extend(names.into_iter().map(|name| MetricRef {
            place: place.to_owned(),
            namespace: namespace.clone(),
            name,
            dimensions: dimensions.clone(),
            stat: quoted.get(3).map(|s| (*s).to_owned()),
        }));
    }
    assert!(
        !refs.is_empty() || !expression.contains(NAMESPACE),
        "{place}: cannot check {expression:?}: it mentions {NAMESPACE} but is no SEARCH"
    );
    refs
}

/// `MetricName="a"` and `MetricName=("a" OR "b")` of a SEARCH query.
fn search_metric_names(query: &str) -> Vec<String> {
    let mut names = Vec::new();
    for (at, designator) in query.match_indices("MetricName=") {
        let rest = &query[at + designator.len()..];
        let term = match rest.strip_prefix('(') {
            Some(group) => group.split(')').next().unwrap_or_default(),
            None => rest.split(' ').next().unwrap_or_default(),
        };
        names.extend(
            term.split(" OR ")
                .map(|n| n.trim().trim_matches('"').to_owned()),
        );
    }
    names
}

/// A row of a widget's `metrics` with CloudWatch's shorthands spelled out: `"."` is the previous
/// row's element at that position, a leading `"..."` all of the previous row's elements but as
/// many last ones as follow it.
fn spelled_out(row: &[Json], previous: &[String]) -> Vec<String> {
    let row: Vec<String> = row.iter().map(|v| v.as_str().unwrap().to_owned()).collect();
    if row.first().map(String::as_str) == Some("...") {
        let tail = &row[1..];
        let mut full = previous[..previous.len() - tail.len()].to_vec();
        full.extend_from_slice(tail);
        return full;
    }
    row.iter()
        .enumerate()
        .map(|(i, v)| {
            if v == "." {
                previous[i].clone()
            } else {
                v.clone()
            }
        })
        .collect()
}

/// Every metric the widgets of a CloudWatch dashboard body read: metric rows
/// (`[Namespace, MetricName, DimensionName, DimensionValue, ..., {options}]`) and expressions.
fn widget_refs(body: &Json) -> Vec<MetricRef> {
    let mut refs = Vec::new();
    for widget in body["widgets"].as_array().unwrap() {
        let properties = &widget["properties"];
        let title = properties["title"].as_str().unwrap_or_default();
        let place = &format!("template.yaml's dashboard, widget {title:?}");
        let mut previous = Vec::new();
        for row in properties["metrics"].as_array().into_iter().flatten() {
            let mut row = row.as_array().unwrap().as_slice();
            let mut options = &Json::Null;
            if let Some((last, fields)) = row.split_last().filter(|(last, _)| last.is_object()) {
                (options, row) = (last, fields);
            }
            if let Some(expression) = options["expression"].as_str() {
                refs.extend(search_refs(place, expression));
                continue;
            }
            previous = spelled_out(row, &previous);
            let [namespace, name, dimensions @ ..] = previous.as_slice() else {
                panic!("{place}: a metric row without a namespace and a name: {row:?}");
            };
            assert!(
                dimensions.len() % 2 == 0,
                "{place}: a dimension without a value in {row:?}"
            );
            refs.push(MetricRef {
                place: place.to_owned(),
                namespace: namespace.clone(),
                name: name.clone(),
                dimensions: dimensions
                    .chunks(2)
                    .map(|pair| (pair[0].clone(), pair[1].clone()))
                    .collect(),
                stat: options["stat"]
                    .as_str()
                    .or(properties["stat"].as_str())
                    .map(str::to_owned),
            });
        }
    }
    refs
}

fn template() -> Yaml {
    let text = std::fs::read_to_string(workspace().join("template.yaml")).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

/// The logical ids and bodies of the template's resources of type `kind`.
fn resources<'a>(template: &'a Yaml, kind: &str) -> Vec<(String, &'a Yaml)> {
    template["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, resource)| resource["Type"].as_str() == Some(kind))
        .map(|(id, resource)| (id.as_str().unwrap().to_owned(), resource))
        .collect()
}

/// A template scalar as text; `!Ref X` and `!GetAtt X.Y` are `X` and `X.Y`.
fn text(value: &Yaml) -> String {
    match value {
        Yaml::Tagged(tagged) => text(&tagged.value),
        Yaml::String(s) => s.clone(),
        other => serde_yaml::to_string(other).unwrap().trim().to_owned(),
    }
}

/// The template's one dashboard: its `DashboardBody: !Sub` string with each `${Name}` replaced
/// by `Name`, parsed.
fn dashboard_body(template: &Yaml) -> Json {
    let dashboards = resources(template, "AWS::CloudWatch::Dashboard");
    let [(id, dashboard)] = dashboards.as_slice() else {
        panic!("template.yaml has {} dashboards, not one", dashboards.len());
    };
    let Yaml::Tagged(sub) = &dashboard["Properties"]["DashboardBody"] else {
        panic!("{id}'s DashboardBody is not a !Sub string");
    };
    assert!(
        sub.tag == "!Sub",
        "{id}'s DashboardBody is not a !Sub string"
    );
    let mut body = String::new();
    let mut rest = sub.value.as_str().unwrap();
    while let Some((before, after)) = rest.split_once("${") {
        let (name, after) = after.split_once('}').unwrap();
        body.push_str(before);
        body.push_str(name.trim_start_matches('!'));
        rest = after;
    }
    body.push_str(rest);
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{id}'s DashboardBody is not JSON: {e}"))
}

fn alarm_metric(alarm: &str, metric: &Yaml, stat: Option<&str>) -> MetricRef {
    MetricRef {
        place: alarm.to_owned(),
        namespace: text(&metric["Namespace"]),
        name: text(&metric["MetricName"]),
        dimensions: metric["Dimensions"]
            .as_sequence()
            .into_iter()
            .flatten()
            .map(|d| (text(&d["Name"]), text(&d["Value"])))
            .collect(),
        stat: stat.map(str::to_owned),
    }
}

/// Every metric the template's alarms read: `MetricName` and `Namespace`, and each
/// `Metrics[].MetricStat.Metric` and `Metrics[].Expression`.
fn alarm_refs(template: &Yaml) -> Vec<MetricRef> {
    let mut refs = Vec::new();
    for (id, alarm) in resources(template, "AWS::CloudWatch::Alarm") {
        let id = format!("template.yaml's {id}");
        let properties = &alarm["Properties"];
        if properties["MetricName"].as_str().is_some() {
            let stat = properties["ExtendedStatistic"].as_str();
            refs.push(alarm_metric(
                &id,
                properties,
                stat.or(properties["Statistic"].as_str()),
            ));
        }
        for query in properties["Metrics"].as_sequence().into_iter().flatten() {
            let stat = &query["MetricStat"];
            if stat.is_mapping() {
                refs.push(alarm_metric(&id, &stat["Metric"], stat["Stat"].as_str()));
            }
            if let Some(expression) = query["Expression"].as_str() {
                refs.extend(search_refs(&id, expression));
            }
        }
    }
    refs
}

// Grafana.

/// A Grafana dashboard of `dashboards/`, importable: one `__inputs` data source of `plugin`, which
/// every panel's queries use.
fn grafana(file: &str, plugin: &str) -> Json {
    let path = workspace().join("dashboards").join(file);
    let dashboard: Json = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let input = &dashboard["__inputs"][0];
    assert_eq!(
        input["pluginId"], plugin,
        "{file}: the __inputs data source"
    );
    let uid = format!("${{{}}}", input["name"].as_str().unwrap());
    for (place, target) in targets(file, &dashboard) {
        assert_eq!(
            target["datasource"]["uid"],
            uid.as_str(),
            "{place}: its data source"
        );
    }
    dashboard
}

/// Every query of the Grafana dashboard `file`, with where it is (file and panel title); panels
/// inside rows included.
fn targets<'a>(file: &str, dashboard: &'a Json) -> Vec<(String, &'a Json)> {
    fn walk<'a>(file: &str, panels: &'a Json, out: &mut Vec<(String, &'a Json)>) {
        for panel in panels.as_array().into_iter().flatten() {
            let title = panel["title"].as_str().unwrap_or_default();
            for target in panel["targets"].as_array().into_iter().flatten() {
                out.push((format!("dashboards/{file}, panel {title:?}"), target));
            }
            walk(file, &panel["panels"], out);
        }
    }
    let mut out = Vec::new();
    walk(file, &dashboard["panels"], &mut out);
    out
}

/// Every metric the CloudWatch queries of a Grafana dashboard read: the metric of a builder
/// query, the SEARCH calls of a code one; a Metrics Insights query of `Stockroom` fails.
fn grafana_cloudwatch_refs(file: &str) -> Vec<MetricRef> {
    let dashboard = grafana(file, "cloudwatch");
    let mut refs = Vec::new();
    for (place, target) in targets(file, &dashboard) {
        for code in ["expression", "sqlExpression"] {
            refs.extend(search_refs(
                &place,
                target[code].as_str().unwrap_or_default(),
            ));
        }
        let Some(name) = target["metricName"].as_str().filter(|n| !n.is_empty()) else {
            continue;
        };
        let dimensions = target["dimensions"].as_object().into_iter().flatten();
        refs.push(MetricRef {
            namespace: target["namespace"].as_str().unwrap().to_owned(),
            name: name.to_owned(),
            dimensions: dimensions
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect(),
            stat: target["statistic"].as_str().map(str::to_owned),
            place,
        });
    }
    refs
}

// Prometheus.

/// What a PromQL expression reads: each metric selector with the labels it matches on, and the
/// labels of its `by`, `without`, `on` and `ignoring` clauses.
#[derive(Debug, Default)]
struct PromQl {
    selectors: Vec<(String, Vec<String>)>,
    grouping: Vec<String>,
}

/// The clauses whose parenthesised words are labels.
const GROUPING: &str = "by without on ignoring group_left group_right";
/// Words that are not metrics where a metric could stand: aggregations (`sum by (x) (...)`),
/// operators and the like.
const KEYWORDS: &str = "sum min max avg group stddev stdvar count count_values bottomk topk \
                        quantile limitk limit_ratio and or unless bool offset atan2 inf nan";

fn is_one_of(words: &str, token: &str) -> bool {
    words.split_whitespace().any(|w| w == token)
}

/// A PromQL expression's words and punctuation, without its strings, range and subquery
/// brackets (`[5m]`, `[$__rate_interval]`) and whitespace.
fn promql_tokens(expr: &str) -> Vec<String> {
    let word = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '.' | '$');
    let mut tokens = Vec::new();
    let mut chars = expr.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' | '`' => {
                while let Some(d) = chars.next() {
                    match d {
                        '\\' => _ = chars.next(),
                        d if d == c => break,
                        _ => {}
                    }
                }
            }
            '[' => _ = chars.by_ref().find(|&d| d == ']'),
            c if c.is_whitespace() => {}
            c if word(c) => {
                let mut token = c.to_string();
                while let Some(d) = chars.next_if(|&d| word(d)) {
                    token.push(d);
                }
                tokens.push(token);
            }
            c => tokens.push(c.to_string()),
        }
    }
    tokens
}

fn is_identifier(token: &str) -> bool {
    token.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == ':')
}

fn promql(expr: &str) -> PromQl {
    let tokens = promql_tokens(expr);
    // The identifiers from tokens[from] up to the next `closing`, and where that is.
    let identifiers_until = |from: usize, closing: &str| {
        let end = from + tokens[from..].iter().position(|t| t == closing).unwrap();
        let names = tokens[from..end]
            .iter()
            .filter(|t| is_identifier(t))
            .cloned();
        (names.collect::<Vec<_>>(), end)
    };
    let mut query = PromQl::default();
    let mut i = 0;
    while i < tokens.len() {
        let token = tokens[i].as_str();
        let next = tokens.get(i + 1).map(String::as_str);
        if is_one_of(GROUPING, token) && next == Some("(") {
            let (labels, end) = identifiers_until(i + 2, ")");
            query.grouping.extend(labels);
            i = end;
        } else if is_identifier(token) && next != Some("(") && !is_one_of(KEYWORDS, token) {
            let mut labels = Vec::new();
            if next == Some("{") {
                (labels, i) = identifiers_until(i + 2, "}");
            }
            query.selectors.push((token.to_owned(), labels));
        }
        i += 1;
    }
    query
}

/// The metric a Prometheus series name belongs to (a histogram's `_bucket`, `_sum` and `_count`
/// are its own), and the labels its series carry.
fn prometheus_series(name: &str) -> Option<(&'static Metric, Vec<&'static str>)> {
    if let Some(metric) = emitted(name).filter(|m| m.kind != Kind::Histogram) {
        let mut labels = metric.dimensions.to_vec();
        if metric.name == STOCK_LEVEL {
            labels.push("product_id");
        }
        return Some((metric, labels));
    }
    ["_bucket", "_sum", "_count"]
        .into_iter()
        .find_map(|suffix| {
            let metric =
                emitted(name.strip_suffix(suffix)?).filter(|m| m.kind == Kind::Histogram)?;
            let mut labels = metric.dimensions.to_vec();
            if suffix == "_bucket" {
                labels.push("le");
            }
            Some((metric, labels))
        })
}

// The checks.

#[test]
fn the_template_dashboard_and_alarms_read_only_emitted_metrics() {
    let template = template();
    assert_emitted(&widget_refs(&dashboard_body(&template)));
    assert_emitted(&alarm_refs(&template));
}

#[test]
fn the_template_dashboard_shows_the_figures_and_every_function_table_and_alarm() {
    let template = template();
    let body = dashboard_body(&template);
    let refs = widget_refs(&body);
    assert_cloudwatch_figures("template.yaml's dashboard", &refs);

    let ids = |kind| -> BTreeSet<String> {
        resources(&template, kind)
            .into_iter()
            .map(|(id, _)| id)
            .collect()
    };
    let shown = |namespace: &str, name: &str, dimension: &str| -> BTreeSet<String> {
        let refs = refs
            .iter()
            .filter(|r| r.namespace == namespace && r.name == name);
        refs.filter_map(|r| r.dimensions.get(dimension).cloned())
            .collect()
    };
    // The shop's functions; not the release hook (its code is in the template), which runs
    // only during a deploy and reports to CodeDeploy.
    let functions: BTreeSet<String> = resources(&template, "AWS::Serverless::Function")
        .into_iter()
        .filter(|(_, f)| f["Properties"]["InlineCode"].is_null())
        .map(|(id, _)| id)
        .collect();
    for metric in ["Errors", "Throttles", "Duration"] {
        let on_dashboard = shown("AWS/Lambda", metric, "FunctionName");
        let missing: Vec<_> = functions.difference(&on_dashboard).collect();
        assert!(
            missing.is_empty(),
            "the dashboard's Lambda {metric} lacks {missing:?}"
        );
    }
    let tables = ids("AWS::DynamoDB::Table");
    for metric in ["ReadThrottleEvents", "WriteThrottleEvents"] {
        let on_dashboard = shown("AWS/DynamoDB", metric, "TableName");
        let missing: Vec<_> = tables.difference(&on_dashboard).collect();
        assert!(
            missing.is_empty(),
            "the dashboard's DynamoDB {metric} lacks {missing:?}"
        );
    }
    let widgets = body["widgets"].as_array().unwrap();
    let on_alarm_widgets: BTreeSet<&str> = widgets
        .iter()
        .filter(|w| w["type"] == "alarm")
        .flat_map(|w| w["properties"]["alarms"].as_array().unwrap())
        .filter_map(|arn| arn.as_str()?.strip_suffix(".Arn"))
        .collect();
    for alarm in ids("AWS::CloudWatch::Alarm") {
        assert!(
            on_alarm_widgets.contains(alarm.as_str()),
            "the dashboard's alarm widget lacks {alarm}"
        );
    }
}

#[test]
fn alarms_watch_5xx_p99_latency_throttles_the_dead_letter_queue_low_stock_and_the_breaker() {
    let template = template();
    for (id, alarm) in resources(&template, "AWS::CloudWatch::Alarm") {
        let actions = alarm["Properties"]["AlarmActions"].as_sequence();
        assert!(
            actions.is_some_and(|a| !a.is_empty()),
            "{id} has no AlarmActions"
        );
    }
    let refs = alarm_refs(&template);
    let aws = |namespace, names| reads(&refs, namespace, names, None);
    assert_all_shown(
        "template.yaml's alarms",
        &[
            ("5xx", reads_api(&refs, "5xx", "http_requests_total", None)),
            (
                "p99 latency",
                reads_api(
                    &refs,
                    "Latency",
                    "http_request_duration_seconds",
                    Some("p99"),
                ),
            ),
            (
                "throttles",
                aws("AWS/Lambda", &["Throttles"]) || aws("AWS/DynamoDB", TABLE_THROTTLES),
            ),
            (
                "dead-letter queue depth",
                aws("AWS/SQS", &["ApproximateNumberOfMessagesVisible"]),
            ),
            (
                "low stock",
                reads(&refs, NAMESPACE, &["low_stock_alerts_total"], None),
            ),
            (
                // Stays open: its lowest state in the period is open or half-open.
                "notifier circuit breaker stays open",
                reads(
                    &refs,
                    NAMESPACE,
                    &["circuit_breaker_state"],
                    Some("Minimum"),
                ),
            ),
        ],
    );
}

#[test]
fn the_grafana_cloudwatch_dashboard_reads_only_emitted_metrics_and_shows_the_figures() {
    let refs = grafana_cloudwatch_refs("stockroom-cloudwatch.json");
    assert_emitted(&refs);
    assert_cloudwatch_figures("dashboards/stockroom-cloudwatch.json", &refs);
}

#[test]
fn the_grafana_dev_dashboard_queries_only_served_series_and_shows_every_metric() {
    let file = "stockroom-dev.json";
    let dashboard = grafana(file, "prometheus");
    let mut shown = BTreeSet::new();
    for (place, target) in targets(file, &dashboard) {
        let expr = target["expr"].as_str().unwrap();
        let query = promql(expr);
        assert!(
            !query.selectors.is_empty(),
            "{place}: {expr:?} reads no metric"
        );
        for (name, labels) in &query.selectors {
            let (metric, known) = prometheus_series(name).unwrap_or_else(|| {
                panic!(
                    "{place}: {expr:?} reads {name}, which /metrics does not serve \
                     (stockroom_telemetry::metrics::ALL: {:?}; a histogram as _bucket, _sum \
                     and _count)",
                    emitted_names()
                )
            });
            for label in labels.iter().chain(&query.grouping) {
                assert!(
                    known.contains(&label.as_str()),
                    "{place}: {expr:?} uses label {label:?} of {name}, whose labels are {known:?}"
                );
            }
            shown.insert(metric.name);
        }
    }
    let missing: Vec<&str> = emitted_names()
        .into_iter()
        .filter(|name| !shown.contains(name))
        .collect();
    assert!(
        missing.is_empty(),
        "dashboards/{file} does not show {missing:?}"
    );
}

#[test]
fn promql_reads_metrics_labels_and_groupings() {
    let query = promql(
        r#"histogram_quantile(0.99, sum by (le, route) (rate(x_bucket{status_class=~"4xx|5xx", method!="GET"}[$__rate_interval]))) / sum(y) * 60"#,
    );
    assert_eq!(
        query.selectors,
        [
            (
                "x_bucket".to_owned(),
                vec!["status_class".to_owned(), "method".to_owned()]
            ),
            ("y".to_owned(), vec![])
        ]
    );
    assert_eq!(query.grouping, ["le", "route"]);
}
