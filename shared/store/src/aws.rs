//! The AWS SDK configuration every function's clients (DynamoDB, SNS) are built from, read from
//! the environment Lambda gives a function and nothing else.
//!
//! In Lambda the region and the function role's credentials are environment variables
//! (`AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`). The SDK's
//! general loader (`aws_config::load_defaults`) also walks the profile files, SSO, web identity
//! (STS), the ECS and EC2 metadata endpoints, none of which a function has: that walk was 1.2 ms
//! of a 3.9 ms cold start, and its crates (aws-config, the STS client) about 0.5 MB of every
//! binary (docs/performance.md, issue 21). So the functions read the variables themselves.
//!
//! What is still honoured: `AWS_ENDPOINT_URL_<SERVICE>` and then `AWS_ENDPOINT_URL` (a local
//! DynamoDB or moto, as the tests and the bench use), `AWS_DEFAULT_REGION` when `AWS_REGION` is
//! unset. What is not: profiles (`AWS_PROFILE`, `~/.aws`), SSO, `AWS_ROLE_ARN` with web identity,
//! container and instance credentials, `AWS_MAX_ATTEMPTS`/`AWS_RETRY_MODE` (the SDK's standard
//! retries, three attempts, apply). To run a function binary with a profile's credentials, export
//! them first: `eval "$(aws configure export-credentials --format env)"`.

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
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
pub fn sdk_config(service: &str) -> Result<SdkConfig, MissingVariable> {
    sdk_config_from(service, |name| std::env::var(name).ok())
}

fn sdk_config_from(
    service: &str,
    var: impl Fn(&str) -> Option<String>,
) -> Result<SdkConfig, MissingVariable> {
    let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
    let region = var("AWS_REGION")
        .or_else(|| var("AWS_DEFAULT_REGION"))
        .ok_or(MissingVariable("AWS_REGION"))?;
    let key = var("AWS_ACCESS_KEY_ID").ok_or(MissingVariable("AWS_ACCESS_KEY_ID"))?;
    let secret = var("AWS_SECRET_ACCESS_KEY").ok_or(MissingVariable("AWS_SECRET_ACCESS_KEY"))?;
    let credentials = Credentials::new(key, secret, var("AWS_SESSION_TOKEN"), None, PROVIDER_NAME);
    let mut config = SdkConfig::builder()
        .behavior_version(
            aws_smithy_runtime_api::client::behavior_version::BehaviorVersion::latest(),
        )
        .region(Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .http_client(https_client());
    if let Some(url) =
        var(&format!("AWS_ENDPOINT_URL_{service}")).or_else(|| var("AWS_ENDPOINT_URL"))
    {
        config = config.endpoint_url(url);
    }
    Ok(config.build())
}

/// The HTTPS client: the SDK's own (hyper, rustls), with ring for its cryptography instead of the
/// SDK's default aws-lc, which adds about 1 MB to every binary for nothing a function uses
/// (docs/performance.md, issue 21). Every SDK client must be given it: the SDK crates are built
/// without a default client.
fn https_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use aws_credential_types::provider::ProvideCredentials as _;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<SdkConfig, MissingVariable> {
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
