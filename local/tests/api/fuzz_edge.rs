//! The dev server's edge under generated input: the authorizer's token check, and the
//! API Gateway event it builds from any path, query string and headers. Nothing may panic; no
//! token that was not signed as it is may pass.
//!
//! Each property runs `STOCKROOM_FUZZ_CASES` cases (default 1000; the test command sets it).

use proptest::prelude::*;
use stockroom_local::auth::SigningKeyPair;
use stockroom_local::event::{Incoming, event_json, into_request};

use stockroom_local::template::Route;

fn cases() -> u32 {
    std::env::var("STOCKROOM_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000)
}

fn keys() -> &'static SigningKeyPair {
    static KEYS: std::sync::OnceLock<SigningKeyPair> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| SigningKeyPair::generate().unwrap())
}

const NOW: i64 = 1_800_000_000;

fn valid_token() -> String {
    keys().token("alice", true, NOW, 600)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn no_made_up_authorization_header_passes(
        header in prop_oneof![
            any::<String>(),
            "Bearer [A-Za-z0-9_.-]{0,300}",
            "[A-Za-z0-9_-]{1,40}\\.[A-Za-z0-9_-]{1,200}\\.[A-Za-z0-9_-]{0,40}",
        ],
    ) {
        prop_assert!(keys().authorizer().verify(Some(&header), NOW).is_err());
    }

    #[test]
    fn a_valid_token_with_any_one_character_changed_is_refused(
        at in any::<prop::sample::Index>(),
        by in prop::sample::select(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ".chars().collect::<Vec<_>>(),
        ),
    ) {
        let token = valid_token();
        let mut chars: Vec<char> = token.chars().collect();
        let i = at.index(chars.len());
        prop_assume!(chars[i] != by);
        chars[i] = by;
        let changed: String = chars.into_iter().collect();
        prop_assert!(
            keys().authorizer().verify(Some(&format!("Bearer {changed}")), NOW).is_err(),
            "position {i} to {by:?} still verified"
        );
    }

    #[test]
    fn any_path_query_and_headers_become_an_event_the_functions_read_or_a_400(
        segments in prop::collection::vec("[!-~&&[^/?#]]{0,20}", 1..4),
        query in "[ -~]{0,80}",
        header_values in prop::collection::vec(
            (prop_oneof![Just("host"), Just("x-forwarded-proto"), Just("x-other"), Just("cookie")],
             prop_oneof!["[ -~]{0,40}", "[a-z0-9.-]{1,20}(:[0-9]{1,5})?", Just(String::from("https"))]),
            0..4,
        ),
        body in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let raw_path = format!("/{}", segments.join("/"));
        let mut headers = http::HeaderMap::new();
        for (name, value) in &header_values {
            headers.insert(
                http::HeaderName::from_static(name),
                http::HeaderValue::from_str(value).unwrap(),
            );
        }
        let route = Route {
            method: String::from("POST"),
            path: String::from("/products/{id}"),
            function: String::from("F"),
            handler: String::from("f"),
            binary: String::from("f"),
            authorizer: Some(String::from("ShopJwt")),
        };
        let incoming = Incoming {
            method: "POST",
            raw_path: &raw_path,
            raw_query: &query,
            headers: &headers,
            body: &body,
            source_ip: String::from("127.0.0.1"),
        };
        // What the dev server refuses before the event is built is a 400, said in a sentence.
        if let Err(reason) = stockroom_local::event::check(&incoming) {
            prop_assert!(reason.ends_with('.'));
            return Ok(());
        }
        let claims = std::collections::HashMap::from([(String::from("sub"), segments[0].clone())]);
        let params = vec![(String::from("id"), segments[0].clone())];
        let event = event_json(&incoming, &route, &params, "req", Some(&claims));
        let request = into_request(event);
        prop_assert!(request.is_ok(), "{raw_path:?} {query:?} {header_values:?}: {request:?}");
        let request = request.unwrap();
        // What the functions do first with a request: the caller, the path, the query.
        let _caller = stockroom_http::Caller::of(&request);
        let _id = stockroom_http::path_param(&request, "id", "product", stockroom_domain::ProductId::parse);
        let mut params = stockroom_http::QueryParams::new(&request);
        let _page = params.page::<stockroom_domain::ProductId>();
        let _ = params.finish();
    }
}
