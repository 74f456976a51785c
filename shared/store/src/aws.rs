//! The AWS SDK configuration every function's clients (DynamoDB, SNS) are built from, read from
//! the environment Lambda gives a function and nothing else.
//!
//! In Lambda the region and the function role's credentials are environment variables
//! (`AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`). The SDK's
//! general loader (`aws_config::load_defaults`) also walks the profile files, SSO, web identity
//! (STS), the ECS and EC2 metadata endpoints, none of which a function has: that walk was 1.3 ms
//! of a 3.9 ms cold start, and its crates (aws-config, the STS client) 0.93 MB of every binary
//! (docs/performance.md, issue 21). So the functions read the variables themselves.
//!
//! The HTTPS client is built here too: rustls on ring, trusting the five roots AWS's endpoints
//! chain to (compiled in) rather than the system's bundle, which it would read and parse in every
//! cold start's init; the system's roots are used for a custom HTTPS endpoint, or when `SSL_CERT_FILE`
//! or `SSL_CERT_DIR` says where they are.
//!
//! What is still honoured: `AWS_ENDPOINT_URL_<SERVICE>` and then `AWS_ENDPOINT_URL` (a local
//! DynamoDB or moto, as the tests and the bench use), `AWS_DEFAULT_REGION` when `AWS_REGION` is
//! unset. What is not: profiles (`AWS_PROFILE`, `~/.aws`), SSO, `AWS_ROLE_ARN` with web identity,
//! container and instance credentials, `AWS_MAX_ATTEMPTS`/`AWS_RETRY_MODE` (the SDK's standard
//! retries, three attempts, apply). To run a function binary with a profile's credentials, export
//! them first: `eval "$(aws configure export-credentials --format env)"`.

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_types::SdkConfig;
use aws_types::region::Region;

/// Where the credentials came from, as the SDK's own environment provider names them.
const PROVIDER_NAME: &str = "Environment";

/// Why no configuration could be read: a variable that Lambda always sets is missing.
#[derive(Debug, thiserror::Error)]
#[error(
    "{0} is not set: the functions read the AWS region and credentials from the environment, \
     as Lambda gives them (AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and, with a \
     role, AWS_SESSION_TOKEN); profiles, SSO and instance metadata are not read. To use a \
     profile's credentials: eval \"$(aws configure export-credentials --format env)\""
)]
pub struct MissingVariable(&'static str);

/// The configuration for the client of `service`, whose endpoint variable is
/// `AWS_ENDPOINT_URL_<service>` (`DYNAMODB`, `SNS`).
///
/// # Errors
/// When the region or the credentials are not in the environment.
pub fn sdk_config(service: &str) -> anyhow::Result<SdkConfig> {
    sdk_config_from(service, |name| std::env::var(name).ok())
}

fn sdk_config_from(
    service: &str,
    var: impl Fn(&str) -> Option<String>,
) -> anyhow::Result<SdkConfig> {
    let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
    let region = var("AWS_REGION")
        .or_else(|| var("AWS_DEFAULT_REGION"))
        .ok_or(MissingVariable("AWS_REGION"))?;
    let key = var("AWS_ACCESS_KEY_ID").ok_or(MissingVariable("AWS_ACCESS_KEY_ID"))?;
    let secret = var("AWS_SECRET_ACCESS_KEY").ok_or(MissingVariable("AWS_SECRET_ACCESS_KEY"))?;
    let credentials = Credentials::new(key, secret, var("AWS_SESSION_TOKEN"), None, PROVIDER_NAME);
    let endpoint = var(&format!("AWS_ENDPOINT_URL_{service}")).or_else(|| var("AWS_ENDPOINT_URL"));
    let system_roots = system_roots(endpoint.as_deref(), var);
    let mut config = SdkConfig::builder()
        .behavior_version(
            aws_smithy_runtime_api::client::behavior_version::BehaviorVersion::latest(),
        )
        .region(Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .http_client(https_client(trust_store(system_roots))?);
    if let Some(url) = endpoint {
        config = config.endpoint_url(url);
    }
    Ok(config.build())
}

/// Whether the HTTPS client trusts the system's roots: for a custom HTTPS `endpoint`, or when
/// `SSL_CERT_FILE` or `SSL_CERT_DIR` says where they are. Otherwise AWS's own roots, which is
/// what AWS's endpoints need (a plain-HTTP local endpoint verifies nothing).
fn system_roots(endpoint: Option<&str>, var: impl Fn(&str) -> Option<String>) -> bool {
    endpoint.is_some_and(|e| e.trim().starts_with("https://"))
        || var("SSL_CERT_FILE").is_some()
        || var("SSL_CERT_DIR").is_some()
}

/// Amazon Trust Services' roots (and the Starfield root that cross-signs them), which every AWS
/// endpoint's certificate chains to; see the file's header for where they come from.
pub const AWS_ROOTS: &str = include_str!("aws-roots.pem");

/// What the HTTPS client trusts: the five roots AWS's endpoints need, compiled in, unless
/// `system_roots` (a custom HTTPS endpoint, `SSL_CERT_FILE` or `SSL_CERT_DIR`), then the
/// system's.
///
/// Loading the system's roots means reading and parsing its whole bundle (about 140
/// certificates, plus a directory scan when no file is named) as the client is built, in every
/// cold start: 0.8 ms of a 2.8 ms init in ./scripts/bench (docs/performance.md, issue 21).
fn trust_store(system_roots: bool) -> TrustStore {
    if system_roots {
        TrustStore::default()
    } else {
        TrustStore::empty()
            .with_native_roots(false)
            .with_pem_certificate(AWS_ROOTS.as_bytes())
    }
}

/// The HTTPS client: the SDK's own (hyper, rustls), with ring for its cryptography instead of the
/// SDK's default aws-lc, which added 0.72 MB to every binary for nothing a function uses
/// (docs/performance.md, issue 21). Every SDK client must be given it: the SDK crates are built
/// without a default client.
fn https_client(trust: TrustStore) -> anyhow::Result<SharedHttpClient> {
    let context = TlsContext::builder().with_trust_store(trust).build()?;
    Ok(aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .tls_context(context)
        .build_https())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use aws_credential_types::provider::ProvideCredentials as _;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> anyhow::Result<SdkConfig> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        sdk_config_from("DYNAMODB", |name| vars.get(name).cloned())
    }

    const LAMBDA: &[(&str, &str)] = &[
        ("AWS_REGION", "eu-west-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("AWS_SESSION_TOKEN", "token"),
    ];

    #[tokio::test]
    async fn lambdas_variables_give_region_and_credentials_and_the_service_endpoint_wins() {
        let c = config(LAMBDA).expect("config");
        assert_eq!(c.region().map(Region::as_ref), Some("eu-west-1"));
        assert_eq!(c.endpoint_url(), None);
        let creds = c
            .credentials_provider()
            .expect("provider")
            .provide_credentials()
            .await
            .expect("credentials");
        assert_eq!(creds.access_key_id(), "AKIAEXAMPLE");
        assert_eq!(creds.secret_access_key(), "secret");
        assert_eq!(creds.session_token(), Some("token"));

        let mut vars = LAMBDA.to_vec();
        vars.push(("AWS_ENDPOINT_URL", "http://127.0.0.1:1"));
        assert_eq!(
            config(&vars).expect("config").endpoint_url(),
            Some("http://127.0.0.1:1")
        );
        vars.push(("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:2"));
        assert_eq!(
            config(&vars).expect("config").endpoint_url(),
            Some("http://127.0.0.1:2")
        );
    }

    #[test]
    fn the_system_roots_serve_a_custom_https_endpoint_or_a_named_bundle_only() {
        let none = |_: &str| None;
        let file = |name: &str| (name == "SSL_CERT_FILE").then(|| String::from("/etc/ca.pem"));
        let dir = |name: &str| (name == "SSL_CERT_DIR").then(|| String::from("/etc/certs"));
        assert!(!system_roots(None, none));
        assert!(!system_roots(Some("http://127.0.0.1:8000"), none));
        assert!(system_roots(
            Some("https://dynamodb.internal.example"),
            none
        ));
        assert!(system_roots(None, file));
        assert!(system_roots(None, dir));
    }

    #[test]
    fn the_compiled_in_roots_are_the_five_aws_roots_and_parse_as_the_tls_client_will() {
        // The HTTPS client parses them with this same call, and panics on a bad one.
        use rustls_pki_types::pem::PemObject as _;
        let roots = rustls_pki_types::CertificateDer::pem_slice_iter(AWS_ROOTS.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .expect("valid PEM");
        assert_eq!(roots.len(), 5);
        https_client(trust_store(false)).expect("a client with them");
    }

    #[test]
    fn a_missing_region_or_key_is_named_and_an_old_region_variable_still_counts() {
        let without = |name: &str| -> Vec<(&str, &str)> {
            LAMBDA.iter().copied().filter(|(k, _)| *k != name).collect()
        };
        let err = config(&without("AWS_ACCESS_KEY_ID")).expect_err("no key");
        assert!(
            err.to_string().starts_with("AWS_ACCESS_KEY_ID is not set"),
            "{err}"
        );
        let err = config(&without("AWS_SECRET_ACCESS_KEY")).expect_err("no secret");
        assert!(
            err.to_string()
                .starts_with("AWS_SECRET_ACCESS_KEY is not set"),
            "{err}"
        );
        let only_default: Vec<_> = without("AWS_REGION");
        let c = config(&only_default).expect("AWS_DEFAULT_REGION");
        assert_eq!(c.region().map(Region::as_ref), Some("us-east-1"));
        let err = config(
            &only_default
                .into_iter()
                .filter(|(k, _)| *k != "AWS_DEFAULT_REGION")
                .collect::<Vec<_>>(),
        )
        .expect_err("no region");
        assert!(
            err.to_string().starts_with("AWS_REGION is not set"),
            "{err}"
        );
    }
}
