//! Kubernetes helpers: a client for a sandbox cluster, and server-side apply
//! of YAML documents of any kind.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::GroupVersionKind;
use kube::discovery::{ApiCapabilities, ApiResource, Scope};
use serde::Deserialize;

/// Field manager of everything the sandbox applies.
pub const MANAGER: &str = "mezame-sandbox";

/// A client for the cluster of a kubeconfig file (its current context).
pub async fn client(kubeconfig: &Path) -> Result<kube::Client> {
    Ok(kube::Client::try_from(config(kubeconfig).await?)?)
}

/// The client configuration of a kubeconfig file (its current context).
pub async fn config(kubeconfig: &Path) -> Result<kube::Config> {
    let file = Kubeconfig::read_from(kubeconfig).with_context(|| format!("reading {}", kubeconfig.display()))?;
    let mut config = kube::Config::from_custom_kubeconfig(file, &KubeConfigOptions::default()).await?;
    config.connect_timeout = Some(Duration::from_secs(5));
    config.read_timeout = Some(Duration::from_secs(60));
    Ok(config)
}

/// Applies YAML documents (server-side apply, forced), resolving each kind
/// through discovery.
pub struct Applier {
    client: kube::Client,
    kinds: HashMap<GroupVersionKind, (ApiResource, ApiCapabilities)>,
}

impl Applier {
    pub fn new(client: kube::Client) -> Self {
        Applier { client, kinds: HashMap::new() }
    }

    /// Applies every document of a multi-document YAML string.
    pub async fn apply_yaml(&mut self, yaml: &str) -> Result<()> {
        for doc in serde_yaml::Deserializer::from_str(yaml) {
            let value = serde_yaml::Value::deserialize(doc)?;
            if value.is_null() {
                continue;
            }
            let obj: DynamicObject = serde_yaml::from_value(value)?;
            self.apply(&obj).await?;
        }
        Ok(())
    }

    pub async fn apply(&mut self, obj: &DynamicObject) -> Result<()> {
        let types = obj.types.as_ref().context("object without apiVersion/kind")?;
        let gvk = GroupVersionKind::try_from(types)?;
        if !self.kinds.contains_key(&gvk) {
            let found = kube::discovery::pinned_kind(&self.client, &gvk).await.with_context(|| format!("discovering {}", types.kind))?;
            self.kinds.insert(gvk.clone(), found);
        }
        let (resource, caps) = &self.kinds[&gvk];
        let name = obj.metadata.name.as_deref().context("object without a name")?;
        let api: Api<DynamicObject> = match (&caps.scope, obj.metadata.namespace.as_deref()) {
            (Scope::Namespaced, Some(ns)) => Api::namespaced_with(self.client.clone(), ns, resource),
            (Scope::Namespaced, None) => bail!("{} {name} needs a namespace", types.kind),
            (Scope::Cluster, _) => Api::all_with(self.client.clone(), resource),
        };
        api.patch(name, &PatchParams::apply(MANAGER).force(), &Patch::Apply(obj))
            .await
            .with_context(|| format!("applying {} {name}", types.kind))?;
        Ok(())
    }
}

/// Polls `check` every `every` until it returns `Some`, or fails after `timeout`.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, every: Duration, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let deadline = Instant::now() + timeout;
    let mut last_error = None;
    loop {
        match check().await {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => last_error = Some(e),
        }
        if Instant::now() >= deadline {
            match last_error {
                Some(e) => bail!("{what}: not done within {}s (last error: {e:#})", timeout.as_secs()),
                None => bail!("{what}: not done within {}s", timeout.as_secs()),
            }
        }
        tokio::time::sleep(every).await;
    }
}
