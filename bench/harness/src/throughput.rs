//! Dev-server throughput with wrk: reads at 64 connections, then `POST /orders` and
//! `POST /carts/{cart_id}/items` from Lua scripts at 16, and what those writes left in the
//! store.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, bail};
use stockroom_domain::carts::CartId;
use stockroom_store::sqlite::SqliteStore;

use crate::build::{cargo_dev_profile, profile_dir, run, target_dir};

/// Products `POST /orders` picks from in the throughput run: `bench-0000` to `bench-0999`.
const ORDER_PRODUCTS: usize = 1000;
/// Units of each of them, so no order of the run is refused for stock.
const ORDER_PRODUCT_UNITS: i64 = 1_000_000;
/// Customers the orders are spread over (`cust-0000` to `cust-0999`).
const ORDER_CUSTOMERS: usize = 1000;

/// The start of every wrk script that POSTs JSON bodies: each wrk thread has its own Lua state,
/// seeded apart; the script's `request()` follows.
const WRK_JSON_POST: &str = r#"local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end
function init(args)
  math.randomseed(os.time() * 100 + thread_number)
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
"#;

/// The wrk script of the `POST /orders` run: one line of one unit of a random product for a
/// random customer, no idempotency key. Each wrk thread has its own Lua state, seeded apart.
fn place_order_script(token: &str) -> String {
    format!(
        r#"{WRK_JSON_POST}wrk.headers["Authorization"] = "Bearer {token}"
function request()
  local body = string.format(
    '{{"customer_id":"cust-%04d","items":[{{"product_id":"bench-%04d","quantity":1}}]}}',
    math.random(0, {customers}), math.random(0, {products}))
  return wrk.format(nil, "/orders", nil, body)
end
"#,
        customers = ORDER_CUSTOMERS - 1,
        products = ORDER_PRODUCTS - 1,
    )
}

/// Carts the `POST /carts/{cart_id}/items` run spreads its adds over: `cart-0000` to
/// `cart-0999`.
const WRK_CARTS: usize = 1000;
/// Products each of those carts gets lines for: cart `c` adds to products `c * 5` to
/// `c * 5 + 4` (modulo [`ORDER_PRODUCTS`]), so no cart comes near its 25 lines.
const WRK_CART_LINES: usize = 5;

/// The wrk script of the `POST /carts/{cart_id}/items` run: one unit of one of the cart's
/// [`WRK_CART_LINES`] products to a random cart of [`WRK_CARTS`]. Every line gets about one
/// add in 5,000, so no line comes near the 1000 units it may hold (the run reads back the
/// largest), and the adds land in carts of up to five lines, as a shopper's would.
fn add_cart_item_script(token: &str) -> String {
    format!(
        r#"{WRK_JSON_POST}wrk.headers["Authorization"] = "Bearer {token}"
function request()
  local cart = math.random(0, {carts})
  local product = (cart * {lines} + math.random(0, {last_line})) % {products}
  local body = string.format('{{"product_id":"bench-%04d","quantity":1}}', product)
  return wrk.format(nil, string.format("/carts/cart-%04d/items", cart), nil, body)
end
"#,
        carts = WRK_CARTS - 1,
        lines = WRK_CART_LINES,
        last_line = WRK_CART_LINES - 1,
        products = ORDER_PRODUCTS,
    )
}

/// The customer the scripted runs act as: an administrator, so `POST /orders` may order for
/// the run's many customers; the carts of the cart run are this customer's.
const WRK_CALLER: &str = "bench";

/// A token for [`WRK_CALLER`] in the `admin` group, signed by `binary token` with the key in
/// the server's data directory `dir`.
fn wrk_token(binary: &Path, dir: &Path) -> anyhow::Result<String> {
    let output = std::process::Command::new(binary)
        .args(["token", "--sub", WRK_CALLER, "--admin", "--data-dir"])
        .arg(dir)
        .output()
        .with_context(|| format!("failed to run {} token", binary.display()))?;
    if !output.status.success() {
        bail!(
            "{} token failed: {}",
            binary.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8(output.stdout)?.trim().to_owned())
}

/// What the `POST /carts/{cart_id}/items` run left in its carts: units over all of them (one
/// per add), the largest line and the most lines of one cart.
struct CartUnits {
    units: u64,
    largest_line: u64,
    most_lines: usize,
}

/// Reads the [`WRK_CARTS`] carts from the store after the server stopped.
async fn cart_units(dir: &Path) -> anyhow::Result<CartUnits> {
    let store = stockroom_store::Store::embedded(SqliteStore::open(
        &dir.join(stockroom_store::config::EMBEDDED_FILE),
    )?);
    let carts = store.carts()?;
    let owner = stockroom_domain::orders::CustomerId::parse(WRK_CALLER)?;
    let now = stockroom_domain::timestamp::now();
    let mut found = CartUnits {
        units: 0,
        largest_line: 0,
        most_lines: 0,
    };
    for i in 0..WRK_CARTS {
        let id = CartId::parse(&format!("cart-{i:04}"))?;
        if let Some(cart) = carts.get_cart(&owner, &id, now).await? {
            found.most_lines = found.most_lines.max(cart.lines.len());
            for line in &cart.lines {
                found.units += line.quantity;
                found.largest_line = found.largest_line.max(line.quantity);
            }
        }
    }
    Ok(found)
}

/// The store the dev server finds in `dir`, made as its first start would (the sample data) plus
/// the products `POST /orders` picks from and their stock. Written before the server starts: a
/// thousand products through curl would take longer than the run.
async fn seed_dev_store(dir: &Path) -> anyhow::Result<()> {
    use stockroom_domain::catalog::{Product, ProductDetails, ProductName};
    use stockroom_domain::inventory::Available;
    use stockroom_domain::{Currency, Price, ProductId};
    std::fs::create_dir_all(dir)?;
    let store = stockroom_store::Store::embedded(SqliteStore::open(
        &dir.join(stockroom_store::config::EMBEDDED_FILE),
    )?);
    stockroom_local::seed::seed(&store).await?;
    let catalog = store.catalog()?;
    let inventory = store.inventory()?;
    for i in 0..ORDER_PRODUCTS {
        let now = stockroom_domain::timestamp::now();
        let id = ProductId::parse(&format!("bench-{i:04}"))?;
        let details = ProductDetails {
            name: ProductName::parse(&format!("Order bench product {i}"))?,
            description: None,
            price: Price::new(100 + i64::try_from(i)?)?,
            currency: Currency::parse("USD")?,
            category: None,
        };
        catalog
            .create_product(&Product::new(id.clone(), details, now))
            .await?;
        inventory
            .set_stock(&id, Available::new(ORDER_PRODUCT_UNITS)?, None, now)
            .await?;
    }
    Ok(())
}

/// Units reserved over the `POST /orders` products, read from the store after the server
/// stopped: one per order placed.
async fn reserved_units(dir: &Path) -> anyhow::Result<u64> {
    let store = stockroom_store::Store::embedded(SqliteStore::open(
        &dir.join(stockroom_store::config::EMBEDDED_FILE),
    )?);
    let inventory = store.inventory()?;
    let mut reserved = 0;
    for i in 0..ORDER_PRODUCTS {
        let id = stockroom_domain::ProductId::parse(&format!("bench-{i:04}"))?;
        if let Some(level) = inventory.get_stock(&id).await? {
            reserved += level.reserved;
        }
    }
    Ok(reserved)
}

/// What one wrk run printed.
struct WrkRun {
    text: String,
}

impl WrkRun {
    fn run(args: &[&str]) -> anyhow::Result<Self> {
        let output = std::process::Command::new("wrk")
            .args(args)
            .output()
            .context("failed to run wrk (apt-get install wrk)")?;
        if !output.status.success() {
            bail!(
                "wrk {args:?} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(Self {
            text: String::from_utf8_lossy(&output.stdout).into_owned(),
        })
    }

    fn field(&self, prefix: &str) -> String {
        self.text
            .lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|v| v.trim().to_owned()))
            .unwrap_or_else(|| String::from("?"))
    }

    /// Responses wrk counted (`N requests in 10.00s`).
    fn requests(&self) -> Option<u64> {
        self.text
            .lines()
            .find(|l| l.contains(" requests in "))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse().ok())
    }

    /// Responses other than 2xx and 3xx: wrk prints the line only when there were some.
    fn non_2xx(&self) -> u64 {
        self.field("Non-2xx or 3xx responses:").parse().unwrap_or(0)
    }

    /// Connect, read, write and timeout errors, as wrk prints them, or "0".
    fn socket_errors(&self) -> String {
        let errors = self.field("Socket errors:");
        if errors == "?" {
            String::from("0")
        } else {
            errors
        }
    }
}

/// wrk against the dev server as `cargo dev` runs it: its profile, its default log level (a
/// line per request), output to /dev/null rather than a terminal. Reads at 64 connections, then
/// `POST /orders` and `POST /carts/{cart_id}/items` at 16 (each one an immediate SQLite write
/// transaction, which serialise).
pub async fn throughput() -> anyhow::Result<()> {
    let profile = cargo_dev_profile()?;
    println!("\ndev server built with the `cargo dev` profile: {profile}");
    let binary = target_dir()
        .join(profile_dir(&profile))
        .join("stockroom-dev");
    let dir = std::env::temp_dir().join(format!("stockroom-wrk-{}", ulid::Ulid::new()));
    seed_dev_store(&dir).await?;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        l.local_addr()?.port()
    };
    let mut server = tokio::process::Command::new(&binary)
        .args(["--port", &port.to_string(), "--data-dir"])
        .arg(&dir)
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("failed to start {}", binary.display()))?;
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // An administrator's token from the server's own key (`cargo dev token`): the writes below,
    // the protected GET run and the scripted runs need one.
    let token = wrk_token(&binary, &dir)?;
    let authorization = format!("Authorization: Bearer {token}");
    // Enough products that a page of 50 is full.
    for i in 0..60 {
        let body = format!(
            r#"{{"id":"bench-{i:03}","name":"Bench product {i}","price":{}}}"#,
            100 + i
        );
        run(std::process::Command::new("curl").args([
            "-fsS",
            "-o",
            "/dev/null",
            "-H",
            "content-type: application/json",
            "-H",
            &authorization,
            "-d",
            &body,
            &format!("{base}/products"),
        ]))?;
    }
    // The authorizer's cost: a protected read of the same size as the public one, with the
    // administrator's token (an RS256 verification, then the handler) and with that token's
    // signature altered (the verification fails: API Gateway's 401, no handler).
    let forged = {
        // A character well inside the signature: the last one also holds padding bits.
        let at = token.len().saturating_sub(10);
        let swapped = if token[at..].starts_with('A') {
            "B"
        } else {
            "A"
        };
        format!(
            "Authorization: Bearer {}{swapped}{}",
            &token[..at],
            &token[at + 1..]
        )
    };
    println!("\n| dev server (wrk -t2 -c64 -d10s) | requests/s | p50 ms | p99 ms | non-2xx |");
    println!("|---|---|---|---|---|");
    for (label, path, header) in [
        ("public", "/products/sku-mug", None),
        ("public", "/products?limit=50", None),
        ("admin token", "/stock/sku-mug", Some(&authorization)),
        ("forged token, 401", "/stock/sku-mug", Some(&forged)),
    ] {
        let url = format!("{base}{path}");
        let mut wrk_args = vec!["-t2", "-c64", "-d10s", "--latency", &url];
        if let Some(header) = header {
            wrk_args.extend(["-H", header.as_str()]);
        }
        let wrk = WrkRun::run(&wrk_args)?;
        println!(
            "| GET {path} ({label}) | {} | {} | {} | {} |",
            wrk.field("Requests/sec:"),
            wrk.field("50%"),
            wrk.field("99%"),
            wrk.non_2xx(),
        );
    }

    println!(
        "\n| dev server (wrk -t2 -c16 -d10s --latency -s SCRIPT) | requests/s | p50 ms | p99 ms | responses | non-2xx | socket errors |"
    );
    println!("|---|---|---|---|---|---|---|");
    let write_run = |name: &str, script: String, label: String| -> anyhow::Result<WrkRun> {
        let path = dir.join(name);
        std::fs::write(&path, script)?;
        let path = path.display().to_string();
        let wrk = WrkRun::run(&["-t2", "-c16", "-d10s", "--latency", "-s", &path, &base])?;
        println!(
            "| {label} | {} | {} | {} | {} | {} | {} |",
            wrk.field("Requests/sec:"),
            wrk.field("50%"),
            wrk.field("99%"),
            wrk.requests().map_or(String::from("?"), |n| n.to_string()),
            wrk.non_2xx(),
            wrk.socket_errors(),
        );
        Ok(wrk)
    };
    let orders = write_run(
        "place_order.lua",
        place_order_script(&token),
        format!("POST /orders ({ORDER_PRODUCTS} products, 1 unit; place_order.lua)"),
    )?;
    let carts = write_run(
        "add_cart_item.lua",
        add_cart_item_script(&token),
        format!(
            "POST /carts/{{cart_id}}/items ({WRK_CARTS} carts x {WRK_CART_LINES} products, 1 unit; add_cart_item.lua)"
        ),
    )?;
    server.kill().await.ok();
    server.wait().await.ok();
    // Every 201 reserved one unit, and every cart add added one; the server may also have
    // finished requests wrk stopped waiting for at the end (at most one per connection).
    let counted = |wrk: &WrkRun| wrk.requests().map_or(String::from("?"), |n| n.to_string());
    let reserved = reserved_units(&dir).await?;
    println!(
        "Units reserved over the {ORDER_PRODUCTS} products after the run: {reserved} (wrk counted {} orders responses, {} of them non-2xx).",
        counted(&orders),
        orders.non_2xx(),
    );
    let in_carts = cart_units(&dir).await?;
    println!(
        "Units in the {WRK_CARTS} carts after the run: {} (wrk counted {} add responses, {} of them non-2xx); the largest line holds {} units, the fullest cart {} lines.",
        in_carts.units,
        counted(&carts),
        carts.non_2xx(),
        in_carts.largest_line,
        in_carts.most_lines,
    );
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wrk_scripts_seed_each_thread_and_post_json_to_their_route() {
        for (script, route) in [
            (place_order_script("t0k3n"), r#""/orders""#),
            (add_cart_item_script("t0k3n"), r#""/carts/cart-%04d/items""#),
        ] {
            let (prelude, request) = script.split_at(WRK_JSON_POST.len());
            assert_eq!(prelude, WRK_JSON_POST);
            let request = request
                .strip_prefix("wrk.headers[\"Authorization\"] = \"Bearer t0k3n\"\n")
                .unwrap_or_else(|| panic!("no token header in {script}"));
            assert!(request.starts_with("function request()\n"), "{script}");
            assert!(request.contains(route), "{script}");
            assert!(!request.contains("{{"), "unformatted braces in {script}");
        }
    }
}
