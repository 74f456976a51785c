//! Who may do what, over HTTP on the dev server, whose authorizer checks tokens as the HTTP
//! API's JWT authorizer does and whose handlers decide the rest: public routes for anyone,
//! the `admin` group for the shop's administration, every signed-in customer their own carts
//! and orders and nobody else's.

use crate::support::{As, Server, problem};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use stockroom_local::auth::{AUDIENCE, ISSUER, SigningKeyPair};
use stockroom_store::testing::workspace;

/// Places an order of one `sku-mug` as `customer` (for themselves) and returns its id.
async fn order_one_mug(customer: &As<'_>) -> String {
    let placed = customer
        .post(
            "/orders",
            &json!({"items": [{"product_id": "sku-mug", "quantity": 1}]}),
        )
        .await;
    assert_eq!(placed.status(), StatusCode::CREATED);
    let order: Value = placed.json().await.unwrap();
    order["id"].as_str().unwrap().to_owned()
}

/// A concrete path for a template path: every `{param}` a plausible id.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|s| match s {
            // The console's greedy route: one of its pages.
            "{proxy+}" => "shop",
            s if s.starts_with('{') => "sku-mug",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn method(name: &str) -> Method {
    Method::from_bytes(name.as_bytes()).unwrap()
}

/// API Gateway's refusal: 401 `{"message":"Unauthorized"}`, with the reason in
/// `www-authenticate` when there was a token.
async fn assert_unauthorized(response: reqwest::Response, reason: Option<&str>, what: &str) {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{what}");
    let header = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    match reason {
        Some(reason) => assert!(
            header.contains(&format!(r#"error_description="{reason}""#)),
            "{what}: {header}"
        ),
        None => assert_eq!(header, "Bearer", "{what}"),
    }
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"message": "Unauthorized"}), "{what}");
}

const PUBLIC: &[&str] = &[
    "GET /health",
    "GET /products",
    "GET /products/{id}",
    "GET /products/{id}/prices",
    // The console's pages and files, the docs and the spec (stockroom-web).
    "GET /{proxy+}",
];

/// Every route only the `admin` group may use.
const ADMIN_ONLY: &[&str] = &[
    "POST /products",
    "PUT /products/{id}",
    "DELETE /products/{id}",
    "GET /stock",
    "GET /stock/{product_id}",
    "PUT /stock/{product_id}",
    "DELETE /stock/{product_id}",
    "POST /stock/{product_id}/decrement",
    "POST /stock/{product_id}/reserve",
    "POST /stock/{product_id}/release",
    "PATCH /orders/{id}",
];
// `GET /notifications` is an administrator's, or a customer's for one of their own orders:
// e2e_notifications.rs tests both.

/// A plausible body for each admin route, so a 403 is the access rule's and not the body's.
fn admin_body(key: &str) -> Option<Value> {
    match key {
        "POST /products" => Some(json!({"id": "sku-new", "name": "New", "price": 100})),
        "PUT /products/{id}" => Some(json!({"name": "Renamed", "price": 1})),
        "PUT /stock/{product_id}" => Some(json!({"available": 0})),
        "PATCH /orders/{id}" => Some(json!({"status": "shipped"})),
        k if k.starts_with("POST /stock/") => Some(json!({"quantity": 1})),
        _ => None,
    }
}

#[tokio::test]
async fn without_a_token_every_route_but_the_public_ones_is_401_and_the_public_ones_answer() {
    let server = Server::with_products(&[("sku-mug", 1250, "USD", Some(5))]).await;
    let anonymous = server.as_token(None);
    let routes = stockroom_local::template::load(&workspace().join("template.yaml")).unwrap();
    let mut public = Vec::new();
    for route in &routes {
        let path = concrete(&route.path);
        let mut request = anonymous.request(method(&route.method), &path);
        if let Some(body) = admin_body(&route.key()) {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        if route.authorizer.is_some() {
            assert_unauthorized(response, None, &route.key()).await;
        } else {
            assert!(
                response.status().is_success(),
                "{}: {}",
                route.key(),
                response.status()
            );
            public.push(route.key());
        }
    }
    public.sort();
    let mut expected: Vec<String> = PUBLIC.iter().map(|k| (*k).to_owned()).collect();
    expected.sort();
    assert_eq!(public, expected, "the public routes are exactly these");
    // Nothing was created, changed or deleted along the way.
    assert_eq!(server.counts("sku-mug").await, (5, 0));
    assert_eq!(server.catalog().await["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn tokens_that_are_expired_forged_for_another_audience_or_issuer_are_refused() {
    let server = Server::with_products(&[("sku-mug", 1250, "USD", Some(5))]).await;
    let now = stockroom_domain::timestamp::now().timestamp();
    let keys = &server.keys;
    let other_key = SigningKeyPair::generate().unwrap();
    let claims = |edit: &dyn Fn(&mut Value)| {
        let mut claims = json!({
            "sub": "ops", "iss": ISSUER, "aud": AUDIENCE, "iat": now - 10, "exp": now + 600,
            "cognito:groups": ["admin"],
        });
        edit(&mut claims);
        claims
    };
    let valid = keys.sign(&claims(&|_| {}));
    let (signed_part, _) = valid.rsplit_once('.').unwrap();
    let other_signature = other_key.sign(&claims(&|_| {}));
    let forged = format!(
        "{signed_part}.{}",
        other_signature.rsplit_once('.').unwrap().1
    );
    let cases = [
        (
            keys.token("ops", true, now - 7200, 3600),
            "the token has expired",
        ),
        (forged, "the token's signature is invalid"),
        (
            other_key.token("ops", true, now, 600),
            "the token's signature is invalid",
        ),
        (
            keys.sign(&claims(&|c| c["aud"] = json!("another-app"))),
            "the token does not have a valid audience",
        ),
        (
            keys.sign(&claims(&|c| c["iss"] = json!("https://evil.example"))),
            "the token does not have a valid issuer",
        ),
        (String::from("not.a.jwt"), "the token is not a valid JWT"),
    ];
    for (token, reason) in cases {
        let as_it = server.as_token(Some(token));
        // An administrator's write with a bad token changes nothing...
        let response = as_it
            .post(
                "/products",
                &json!({"id": "sku-new", "name": "New", "price": 1}),
            )
            .await;
        assert_unauthorized(response, Some(reason), reason).await;
        let response = as_it
            .send_json(Method::PUT, "/stock/sku-mug", &json!({"available": 0}))
            .await;
        assert_unauthorized(response, Some(reason), reason).await;
        // ...and a read shows nothing.
        assert_unauthorized(as_it.get("/orders").await, Some(reason), reason).await;
    }
    assert_eq!(server.counts("sku-mug").await, (5, 0));
    assert_eq!(server.catalog().await["items"].as_array().unwrap().len(), 1);
    // The same token, validly signed, passes.
    let response = server
        .as_token(Some(valid))
        .post(
            "/products",
            &json!({"id": "sku-new", "name": "New", "price": 1}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn customers_get_403_on_every_admin_route_and_nothing_changes() {
    let server = Server::with_products(&[("sku-mug", 1250, "USD", Some(5))]).await;
    let alice = server.as_customer("alice", false);
    let order_id = order_one_mug(&alice).await;
    for key in ADMIN_ONLY {
        let (verb, path) = key.split_once(' ').unwrap();
        let path = path
            .replace(
                "{id}",
                if path.starts_with("/orders") {
                    &order_id
                } else {
                    "sku-mug"
                },
            )
            .replace("{product_id}", "sku-mug");
        let mut request = alice.request(method(verb), &path);
        if let Some(body) = admin_body(key) {
            request = request.json(&body);
        }
        let body = problem(request.send().await.unwrap(), StatusCode::FORBIDDEN).await;
        assert_eq!(
            body["detail"], "Only members of the \"admin\" group may do this.",
            "{key}"
        );
    }
    assert_eq!(server.counts("sku-mug").await, (4, 1));
    let catalog = server.catalog().await;
    assert_eq!(catalog["items"].as_array().unwrap().len(), 1);
    assert_eq!(catalog["items"][0]["name"], "Name of sku-mug");
    let order_now: Value = alice
        .get(&format!("/orders/{order_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(order_now["status"], "confirmed");
}

#[tokio::test]
async fn a_customer_never_reaches_another_customers_cart_even_under_the_same_id() {
    let server = Server::with_products(&[
        ("sku-mug", 1250, "USD", Some(5)),
        ("sku-kettle", 4000, "USD", Some(5)),
    ])
    .await;
    let (alice, bob) = (
        server.as_customer("alice", false),
        server.as_customer("bob", false),
    );
    let added = alice
        .post(
            "/carts/c1/items",
            &json!({"product_id": "sku-mug", "quantity": 2}),
        )
        .await;
    assert_eq!(added.status(), StatusCode::OK);
    let alices: Value = alice.get("/carts/c1").await.json().await.unwrap();

    // Bob has no cart c1: reading, changing, emptying, deleting and checking it out are 404.
    problem(bob.get("/carts/c1").await, StatusCode::NOT_FOUND).await;
    problem(
        bob.send_json(
            Method::PUT,
            "/carts/c1/items/sku-mug",
            &json!({"quantity": 9}),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        bob.delete("/carts/c1/items/sku-mug").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(bob.delete("/carts/c1").await, StatusCode::NOT_FOUND).await;
    problem(
        bob.post("/carts/c1/checkout", &json!({})).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // Adding under the same id starts Bob's own cart.
    let bobs: Value = bob
        .post(
            "/carts/c1/items",
            &json!({"product_id": "sku-kettle", "quantity": 1}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(bobs["items"].as_array().unwrap().len(), 1);
    assert_eq!(bobs["items"][0]["product_id"], "sku-kettle");
    // Bob checks his out; Alice's is as it was, and stock moved for Bob's kettle only.
    let checked_out = bob.post("/carts/c1/checkout", &json!({})).await;
    assert_eq!(checked_out.status(), StatusCode::CREATED);
    let order: Value = checked_out.json().await.unwrap();
    assert_eq!(order["customer_id"], "bob");
    assert_eq!(
        alice.get("/carts/c1").await.json::<Value>().await.unwrap(),
        alices
    );
    assert_eq!(server.counts("sku-mug").await, (5, 0));
    assert_eq!(server.counts("sku-kettle").await, (4, 1));
    // Alice may not check her cart out into Bob's name.
    let body = problem(
        alice
            .post("/carts/c1/checkout", &json!({"customer_id": "bob"}))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("your own"),
        "{body}"
    );
    assert_eq!(
        alice.get("/carts/c1").await.json::<Value>().await.unwrap(),
        alices
    );
}

#[tokio::test]
async fn a_customer_sees_and_cancels_only_their_own_orders() {
    let server = Server::with_products(&[("sku-mug", 1250, "USD", Some(5))]).await;
    let (alice, bob) = (
        server.as_customer("alice", false),
        server.as_customer("bob", false),
    );
    let line = json!([{"product_id": "sku-mug", "quantity": 2}]);
    // No customer_id: the order is the caller's.
    let placed = alice.post("/orders", &json!({"items": line})).await;
    assert_eq!(placed.status(), StatusCode::CREATED);
    let order: Value = placed.json().await.unwrap();
    assert_eq!(order["customer_id"], "alice");
    let id = order["id"].as_str().unwrap();
    // Alice's own customer_id is fine too.
    let own = alice
        .post(
            "/orders",
            &json!({"customer_id": "alice", "items": [{"product_id": "sku-mug", "quantity": 1}]}),
        )
        .await;
    assert_eq!(own.status(), StatusCode::CREATED);
    assert_eq!(server.counts("sku-mug").await, (2, 3));

    // Bob: Alice's order is not found, not cancellable, not listed.
    problem(
        bob.get(&format!("/orders/{id}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        bob.post(&format!("/orders/{id}/cancel"), &json!({})).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let bobs: Value = bob.get("/orders").await.json().await.unwrap();
    assert_eq!(bobs["items"], json!([]));
    problem(
        bob.get("/orders?customer_id=alice").await,
        StatusCode::FORBIDDEN,
    )
    .await;
    // Bob cannot order in Alice's name.
    problem(
        bob.post("/orders", &json!({"customer_id": "alice", "items": line}))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(server.counts("sku-mug").await, (2, 3));
    let alices: Value = alice.get("/orders").await.json().await.unwrap();
    assert_eq!(alices["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        alice
            .get(&format!("/orders/{id}"))
            .await
            .json::<Value>()
            .await
            .unwrap()["status"],
        "confirmed"
    );
    // Alice cancels her own.
    let cancelled = alice
        .post(&format!("/orders/{id}/cancel"), &json!({}))
        .await;
    assert_eq!(cancelled.status(), StatusCode::OK);
    assert_eq!(server.counts("sku-mug").await, (4, 1));
}

#[tokio::test]
async fn a_token_whose_subject_cannot_be_a_customer_id_is_403() {
    let server = Server::start().await;
    let now = stockroom_domain::timestamp::now().timestamp();
    let token = server.keys.sign(&json!({
        "sub": "auth0|5f7c8ec7", "iss": ISSUER, "aud": AUDIENCE, "exp": now + 600,
    }));
    let body = problem(
        server.as_token(Some(token)).get("/orders").await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("subject"),
        "{body}"
    );
}

#[tokio::test]
async fn administrators_reach_every_route_and_every_customers_orders() {
    let server = Server::with_products(&[("sku-mug", 1250, "USD", Some(10))]).await;
    let admin = server.as_customer("ops", true);
    let alice = server.as_customer("alice", false);
    let id = &order_one_mug(&alice).await;

    // Any customer's orders: read, list, order for, move along, cancel.
    let read = admin.get(&format!("/orders/{id}")).await;
    assert_eq!(read.status(), StatusCode::OK);
    let listed: Value = admin
        .get("/orders?customer_id=alice")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"][0]["id"], *id);
    let for_alice = admin
        .post(
            "/orders",
            &json!({"customer_id": "alice", "items": [{"product_id": "sku-mug", "quantity": 1}]}),
        )
        .await;
    assert_eq!(for_alice.status(), StatusCode::CREATED);
    let for_alice: Value = for_alice.json().await.unwrap();
    assert_eq!(for_alice["customer_id"], "alice");
    let shipped = admin
        .send_json(
            Method::PATCH,
            &format!("/orders/{id}"),
            &json!({"status": "shipped"}),
        )
        .await;
    assert_eq!(shipped.status(), StatusCode::OK);
    let cancelled = admin
        .post(
            &format!("/orders/{}/cancel", for_alice["id"].as_str().unwrap()),
            &json!({}),
        )
        .await;
    assert_eq!(cancelled.status(), StatusCode::OK);
    assert_eq!(
        alice.get("/orders").await.json::<Value>().await.unwrap()["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // The catalog, the stock and the notifications.
    for (verb, path, body, status) in [
        (
            "POST",
            "/products",
            Some(json!({"id": "sku-pot", "name": "Pot", "price": 900})),
            201,
        ),
        (
            "PUT",
            "/products/sku-pot",
            Some(json!({"name": "Teapot", "price": 950})),
            200,
        ),
        ("PUT", "/stock/sku-pot", Some(json!({"available": 3})), 200),
        (
            "POST",
            "/stock/sku-pot/reserve",
            Some(json!({"quantity": 1})),
            200,
        ),
        (
            "POST",
            "/stock/sku-pot/release",
            Some(json!({"quantity": 1})),
            200,
        ),
        (
            "POST",
            "/stock/sku-pot/decrement",
            Some(json!({"quantity": 1})),
            200,
        ),
        ("GET", "/stock", None, 200),
        ("GET", "/stock/sku-pot", None, 200),
        ("DELETE", "/stock/sku-pot", None, 204),
        ("DELETE", "/products/sku-pot", None, 204),
        ("GET", "/notifications", None, 200),
    ] {
        let mut request = admin.request(method(verb), path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{verb} {path}");
    }

    // Their own cart, checked out for a customer.
    let added = admin
        .post(
            "/carts/desk/items",
            &json!({"product_id": "sku-mug", "quantity": 1}),
        )
        .await;
    assert_eq!(added.status(), StatusCode::OK);
    let checked_out = admin
        .post("/carts/desk/checkout", &json!({"customer_id": "alice"}))
        .await;
    assert_eq!(checked_out.status(), StatusCode::CREATED);
    assert_eq!(
        checked_out.json::<Value>().await.unwrap()["customer_id"],
        "alice"
    );
}
