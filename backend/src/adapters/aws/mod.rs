//! AWS account access through the AWS SDK for Rust.
//!
//! - this file: the SDK configuration of an account, STS identity;
//! - [`capacity`]: EKS managed node groups and Auto Scaling groups (sizes);
//! - [`groups`]: a cluster's node groups, Auto Scaling groups and their instances, described (the capacity view);
//! - [`elb`]: the load balancers the AWS Load Balancer Controller made for Ingresses;
//! - [`metrics`]: CloudWatch's request counts of a load balancer (idle sleep);
//! - [`spot`]: EC2's current spot prices per instance type and zone;
//! - [`databases`]: RDS instances and EC2 instances (Redis) to stop and start;
//! - [`dns`]: Route 53 records of a name, pointed somewhere and waited for;
//! - [`cache`]: a short cache with single flight for describes on read paths.
//!
//! Mutating calls use the SDK's standard retry mode (throttling and 5xx are
//! retried with backoff) and a longer timeout than reachability checks.

mod cache;
mod capacity;
mod databases;
mod dns;
mod elb;
mod groups;
mod metrics;
mod spot;

pub use capacity::Sizes;
pub use databases::Instance;
pub use dns::{DnsRecord, normalise as normalise_dns};
pub use elb::LoadBalancer;
pub use groups::NODEGROUP_TAG;
pub use spot::SpotQuote;

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sts::config::Credentials;
use aws_sdk_sts::error::DisplayErrorContext;

use super::AdapterError;
use super::waited::TimedExt;
use crate::config::AwsConfig;

/// The SDK configuration of one environment's account.
#[derive(Clone)]
pub struct Account {
    sdk: SdkConfig,
    /// Group sizes for read paths, by (kind, name): 5 s, single flight.
    sizes: std::sync::Arc<cache::SingleFlight<(mezame_shared::power::GroupKind, String, String), Sizes>>,
}

/// Who the configured credentials are, as STS answers.
#[derive(Debug, Clone)]
pub struct Identity {
    pub account: String,
    pub arn: String,
}

impl Account {
    /// Builds the SDK configuration (profile, region, endpoint, static keys).
    /// Loading does no network I/O that can hang: credentials are resolved on
    /// the first call, which is bounded by `timeout`.
    pub async fn load(config: &AwsConfig, timeout: Duration) -> Account {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .timeout_config(TimeoutConfig::builder().connect_timeout(timeout).operation_timeout(timeout).build())
            .retry_config(RetryConfig::standard().with_max_attempts(3));
        if let Some(region) = &config.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(profile) = &config.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(url) = &config.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let (Some(key), Some(secret)) = (&config.access_key_id, &config.secret_access_key) {
            loader = loader.credentials_provider(Credentials::new(key, secret.expose(), None, None, "mezame-config"));
        }
        Account { sdk: loader.load().await, sizes: std::sync::Arc::new(cache::SingleFlight::new(Duration::from_secs(5))) }
    }

    /// The configuration for operations (not checks): 5 attempts with the
    /// standard retry mode, 30 s per attempt.
    fn ops(&self) -> SdkConfig {
        self.sdk
            .to_builder()
            .retry_config(RetryConfig::standard().with_max_attempts(5))
            .timeout_config(
                TimeoutConfig::builder().connect_timeout(Duration::from_secs(5)).operation_attempt_timeout(Duration::from_secs(30)).build(),
            )
            .build()
    }

    /// `sts:GetCallerIdentity`, tried once: a reachability check reports the
    /// first failure (connection refused, bad credentials) rather than retrying
    /// it into a timeout.
    pub async fn identity(&self) -> Result<Identity, AdapterError> {
        let out = aws_sdk_sts::Client::new(&self.sdk)
            .get_caller_identity()
            .customize()
            .config_override(aws_sdk_sts::config::Config::builder().retry_config(RetryConfig::standard().with_max_attempts(1)))
            .send()
            .timed()
            .await
            .map_err(|e| AdapterError::Aws(format!("sts:GetCallerIdentity: {}", DisplayErrorContext(&e))))?;
        Ok(Identity { account: out.account.unwrap_or_default(), arn: out.arn.unwrap_or_default() })
    }

    pub fn region(&self) -> Option<String> {
        self.sdk.region().map(|r| r.to_string())
    }
}

/// Error codes by which AWS refuses an action to the caller: its policy lacks it.
const NOT_ALLOWED: [&str; 3] = ["AccessDenied", "AccessDeniedException", "UnauthorizedOperation"];
/// Error codes by which AWS refuses the caller's credentials themselves.
const NOT_ACCEPTED: [&str; 4] = ["AuthFailure", "InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch"];

/// An SDK error with its whole context (service code and message), prefixed
/// with the operation, e.g. `eks:UpdateNodegroupConfig platform-dev/system: …`.
/// A refusal of mezame's credentials is [`AdapterError::Denied`] (retrying
/// cannot help), saying which action its IAM policy needs.
fn sdk_error<E>(op: &str, target: &str, e: E) -> AdapterError
where
    E: std::error::Error + aws_sdk_sts::error::ProvideErrorMetadata + 'static,
{
    let (code, message) = (e.code().unwrap_or_default(), e.message().unwrap_or("no message"));
    if NOT_ALLOWED.contains(&code) {
        return AdapterError::Denied(format!(
            "{op} {target}: AWS refused it to mezame ({code}: {message}); its IAM policy needs {op} (see deploy/iam-policy.json)"
        ));
    }
    if NOT_ACCEPTED.contains(&code) {
        return AdapterError::Denied(format!(
            "{op} {target}: AWS does not accept mezame's credentials ({code}: {message}); check the environment's [env.aws] profile or keys"
        ));
    }
    AdapterError::Aws(format!("{op} {target}: {}", DisplayErrorContext(&e)))
}
