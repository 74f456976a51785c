//! Embeds the console and docs: every file under the workspace's `web/` (a top-level
//! `<page>.html` served at `/<page>`, anything else at its path) and openapi.yaml (at
//! `/openapi.yaml`), as `ASSETS` in `$OUT_DIR/assets.rs`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("a readable directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("yaml") => "application/yaml",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        _ => "text/plain; charset=utf-8",
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest
        .join("../..")
        .canonicalize()
        .expect("the workspace root");
    let web = root.join("web");
    let mut paths = Vec::new();
    files(&web, &mut paths);
    let mut assets = Vec::new();
    for path in &paths {
        let relative = path.strip_prefix(&web).expect("under web/");
        let url = match (
            relative.parent(),
            relative.extension().and_then(|e| e.to_str()),
        ) {
            (Some(parent), Some("html")) if parent.as_os_str().is_empty() => format!(
                "/{}",
                relative
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .expect("a file name")
            ),
            _ => format!("/{}", relative.to_str().expect("a UTF-8 path")),
        };
        assets.push((url, path.clone()));
    }
    assets.push((String::from("/openapi.yaml"), root.join("openapi.yaml")));
    let mut out = String::from(
        "/// Every file the binary serves, by URL path.\npub static ASSETS: &[Asset] = &[\n",
    );
    for (url, path) in &assets {
        println!("cargo::rerun-if-changed={}", path.display());
        writeln!(
            out,
            "    Asset {{ path: {url:?}, content_type: {:?}, bytes: include_bytes!({:?}) }},",
            content_type(path),
            path.display().to_string()
        )
        .expect("writing to a String");
    }
    out.push_str("];\n");
    println!("cargo::rerun-if-changed={}", web.display());
    let dest = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join("assets.rs");
    std::fs::write(dest, out).expect("writing assets.rs");
}
