//! docs/adding-a-service.md stays true: every path it names with `<service>` in it exists for
//! every service the store registers, and each service is registered on exactly the lines the
//! page names (and nowhere else needs one): the store's `services!`, the contract suite's `mod`, and
//! the dev server's dependency, from which its list of services is generated.

use std::path::Path;

use stockroom_store::testing::workspace;

/// The services `services!(...)` in shared/store/src/lib.rs declares.
fn registered_services(root: &Path) -> Vec<String> {
    let lib = std::fs::read_to_string(root.join("shared/store/src/lib.rs")).unwrap();
    let line = lib
        .lines()
        .find(|l| l.starts_with("services!("))
        .expect("shared/store/src/lib.rs has a services!(...) line");
    line.trim_start_matches("services!(")
        .trim_end_matches(");")
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Every `code span` of the page that is a path with `<service>` in it.
fn service_paths(page: &str) -> Vec<String> {
    page.split('`')
        .skip(1)
        .step_by(2)
        .filter(|span| span.contains("<service>") && span.contains('/') && !span.contains(' '))
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_path_the_page_names_exists_for_every_registered_service() {
    let root = workspace();
    let page = std::fs::read_to_string(root.join("docs/adding-a-service.md")).unwrap();
    let paths = service_paths(&page);
    assert!(paths.len() >= 8, "the page names its paths: {paths:?}");
    let services = registered_services(&root);
    assert_eq!(
        services,
        ["catalog", "inventory", "orders", "carts", "notifications"]
    );
    let mut missing = Vec::new();
    for service in &services {
        for path in &paths {
            let path = path.replace("<service>", service);
            if let Some((dir, _)) = path.split_once("<operation>") {
                // One binary per endpoint: the folder holds at least one.
                let bins = std::fs::read_dir(root.join(dir)).map_or(0, |d| d.count());
                if bins == 0 {
                    missing.push(path);
                }
            } else if !root.join(&path).is_file() {
                missing.push(path);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "named by docs/adding-a-service.md but missing: {missing:?}"
    );
}

#[test]
fn each_service_is_registered_on_the_lines_the_page_names() {
    let root = workspace();
    let read = |path: &str| std::fs::read_to_string(root.join(path)).unwrap();
    let contract = read("shared/store/tests/contract/main.rs");
    for service in registered_services(&root) {
        assert!(
            stockroom_local::registry::SERVICES.contains(&service.as_str()),
            "the dev server does not serve {service}: add stockroom-{service} to local/Cargo.toml"
        );
        assert!(
            contract.lines().any(|l| l == format!("mod {service};")),
            "the contract suite does not run {service}'s cases"
        );
    }
}
