//! The `[[env]]` tables of mezame's configuration that point it at this
//! sandbox, with each environment's power settings (what wakes and sleeps).

use crate::platform::{APP_NAMESPACE, ENVS, EnvSpec, GATEWAY_NAMESPACE, REGION};
use crate::state::{State, context_name};

/// Where the sandbox's public hostnames point while asleep: the host mezame
/// would be served at (nothing resolves in the sandbox: the zone is the truth).
pub const ASLEEP_TARGET: &str = "mezame.iot-inventory.example";

/// `[[env]]`, `[env.kubernetes]`, `[env.aws]`, `[env.dns]` and, unless protected, `[env.power]`.
pub fn env_toml(state: &State, env: &EnvSpec) -> String {
    let es = &state.envs[env.name];
    let mut out = format!(
        "\n[[env]]\nname = \"{name}\"\nprotected = {protected}\n[env.kubernetes]\nkubeconfig = \"{kubeconfig}\"\ncontext = \"{context}\"\n\
         [env.aws]\nregion = \"{REGION}\"\nendpoint_url = \"{aws}\"\naccess_key_id = \"test\"\nsecret_access_key = \"test\"\neks_cluster = \"{cluster}\"\n",
        name = env.name,
        protected = env.protected,
        kubeconfig = state.kubeconfig().display(),
        context = context_name(env.name),
        aws = es.aws_url(),
        cluster = env.eks_cluster(),
    );
    out.push_str(&format!(
        "[env.dns]\nprovider = \"{provider}\"\nzone = \"{zone}\"\nasleep_target = \"{ASLEEP_TARGET}\"\n",
        provider = if env.external_dns { "external-dns" } else { "route53" },
        zone = env.dns_zone(),
    ));
    if env.protected {
        return out;
    }
    let mut capacity: Vec<String> = env
        .nodegroups
        .iter()
        .map(|g| format!("  {{ kind = \"nodegroup\", name = \"{}\", min = {}, desired = {}, max = {} }},", g.name, g.min, g.desired, g.max))
        .collect();
    if let (Some(spot), Some(name)) = (env.spot, env.spot_asg_name()) {
        capacity.push(format!(
            "  {{ kind = \"asg\", name = \"{name}\", min = {}, desired = {}, max = {} }},",
            spot.min, spot.desired, spot.max
        ));
    }
    out.push_str(&format!(
        "[env.power]\neks_cluster = \"{cluster}\"\nnamespaces = [\"{APP_NAMESPACE}\", \"{GATEWAY_NAMESPACE}\"]\n\
         rds = [\"platform-{name}-db\"]\nec2 = [\"platform-{name}-redis\"]\ncapacity = [\n{capacity}\n]\n",
        cluster = env.eks_cluster(),
        name = env.name,
        capacity = capacity.join("\n"),
    ));
    out
}

/// `[git]`: the sandbox's manifest and app repositories, fetched every few
/// seconds (local mirrors of local repositories: a fetch costs milliseconds).
/// Promotions and rollbacks into the unprotected ones of `envs` (those mezame
/// is configured with) are committed straight to master.
pub fn git_toml(state: &State, envs: &[&str]) -> String {
    let layout = state.repos();
    let direct: Vec<String> = ENVS.iter().filter(|e| !e.protected && envs.contains(&e.name)).map(|e| format!("\"{}\"", e.name)).collect();
    format!(
        "\n[git]\nmanifests = \"file://{manifests}\"\napps = \"file://{apps}/{{ms}}\"\nexternal = [\"ambassador\"]\nfetch_interval_secs = 3\ndirect = [{direct}]\n",
        manifests = layout.manifests().display(),
        apps = layout.root.join("apps").display(),
        direct = direct.join(", "),
    )
}

/// The sandbox's backup key (base64 of 32 random bytes), made on first use
/// and kept in `<dir>/backup.key` so backups stay readable across `up`s.
pub fn backup_key(dir: &std::path::Path) -> anyhow::Result<String> {
    use base64::Engine;
    use std::io::Read;
    let path = dir.join("backup.key");
    if let Ok(k) = std::fs::read_to_string(&path) {
        return Ok(k.trim().to_string());
    }
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    let key = base64::engine::general_purpose::STANDARD.encode(bytes);
    std::fs::write(&path, &key)?;
    Ok(key)
}
