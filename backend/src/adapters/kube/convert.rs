//! From the API's objects to the slim copies of [`super::objects`].

use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1 as apps;
use k8s_openapi::api::autoscaling::v2 as autoscaling;
use k8s_openapi::api::batch::v1 as batch;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::discovery::v1 as discovery;
use k8s_openapi::api::networking::v1 as networking;
use k8s_openapi::api::policy::v1 as policy;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::core::DynamicObject;
use serde_json::Value;

use super::objects::*;

pub fn time(t: &meta::Time) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.0.as_second(), t.0.subsec_nanosecond().max(0) as u32)
}

pub fn meta(m: &meta::ObjectMeta) -> Meta {
    Meta {
        namespace: m.namespace.clone().unwrap_or_default(),
        name: m.name.clone().unwrap_or_default(),
        uid: m.uid.clone().unwrap_or_default(),
        labels: m.labels.clone().unwrap_or_default(),
        owners: m
            .owner_references
            .iter()
            .flatten()
            .map(|o| Owner { kind: o.kind.clone(), name: o.name.clone(), uid: o.uid.clone() })
            .collect(),
        created: m.creation_timestamp.as_ref().and_then(time),
        deleting: m.deletion_timestamp.is_some(),
    }
}

pub fn selector(s: Option<&meta::LabelSelector>) -> Selector {
    let Some(s) = s else { return Selector::default() };
    Selector {
        labels: s.match_labels.clone().unwrap_or_default(),
        expressions: s
            .match_expressions
            .iter()
            .flatten()
            .map(|e| Expression { key: e.key.clone(), operator: e.operator.clone(), values: e.values.clone().unwrap_or_default() })
            .collect(),
    }
}

fn int_or_string(v: &IntOrString) -> String {
    match v {
        IntOrString::Int(i) => i.to_string(),
        IntOrString::String(s) => s.clone(),
    }
}

/// The value of annotation `key`, if set.
fn annotation<'a>(m: &'a meta::ObjectMeta, key: &str) -> Option<&'a String> {
    m.annotations.as_ref().and_then(|a| a.get(key))
}

fn condition(kind: &str, status: &str, reason: Option<&String>, message: Option<&String>) -> Condition {
    Condition { kind: kind.to_string(), status: status.to_string(), reason: reason.cloned(), message: message.cloned(), updated: None }
}

pub fn ingress(i: &networking::Ingress) -> Ingress {
    let spec = i.spec.as_ref();
    let class = spec.and_then(|s| s.ingress_class_name.clone()).or_else(|| annotation(&i.metadata, "kubernetes.io/ingress.class").cloned());
    let rules = spec.and_then(|s| s.rules.as_ref()).into_iter().flatten();
    let mut backends = Vec::new();
    let mut hosts = Vec::new();
    if let Some(b) = spec.and_then(|s| s.default_backend.as_ref()).and_then(|b| b.service.as_ref()) {
        backends.push(b.name.clone());
    }
    for rule in rules {
        if let Some(h) = &rule.host
            && !hosts.contains(h)
        {
            hosts.push(h.clone());
        }
        for path in rule.http.iter().flat_map(|h| h.paths.iter()) {
            if let Some(s) = &path.backend.service
                && !backends.contains(&s.name)
            {
                backends.push(s.name.clone());
            }
        }
    }
    let addresses = i
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|a| a.hostname.clone().or_else(|| a.ip.clone()))
        .collect();
    Ingress { meta: meta(&i.metadata), class, hosts, addresses, backends }
}

pub fn service(s: &core::Service) -> Service {
    let spec = s.spec.as_ref();
    let selector = Selector { labels: spec.and_then(|s| s.selector.clone()).unwrap_or_default(), expressions: Vec::new() };
    let ports = spec
        .and_then(|s| s.ports.as_ref())
        .into_iter()
        .flatten()
        .map(|p| match &p.name {
            Some(n) => format!("{n}:{}", p.port),
            None => p.port.to_string(),
        })
        .collect();
    Service { meta: meta(&s.metadata), selector, ports }
}

pub fn endpoint_slice(s: &discovery::EndpointSlice) -> EndpointSlice {
    let m = meta(&s.metadata);
    let service = m.labels.get("kubernetes.io/service-name").cloned().unwrap_or_default();
    let (mut ready, mut not_ready) = (0, 0);
    for e in s.endpoints.iter().flatten() {
        // `ready` unset means ready (EndpointSlice API semantics).
        if e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true) {
            ready += 1;
        } else {
            not_ready += 1;
        }
    }
    EndpointSlice { meta: m, service, ready, not_ready }
}

fn pre_stop(c: &core::Container) -> PreStop {
    let Some(h) = c.lifecycle.as_ref().and_then(|l| l.pre_stop.as_ref()) else {
        return PreStop::None;
    };
    if let Some(s) = &h.sleep {
        return PreStop::Sleep(s.seconds);
    }
    if let Some(cmd) = h.exec.as_ref().and_then(|e| e.command.as_ref()) {
        let text = cmd.join(" ");
        return match sleep_seconds(&text) {
            Some(n) => PreStop::Sleep(n),
            None => PreStop::Exec(text),
        };
    }
    PreStop::Http
}

/// The duration of the first `sleep N` in a shell command (`sleep 5`,
/// `/bin/sh -c "sleep 10 && nginx -s quit"`).
pub fn sleep_seconds(command: &str) -> Option<i64> {
    let words: Vec<&str> = command.split(|c: char| c.is_whitespace() || c == ';' || c == '"' || c == '\'').collect();
    words.windows(2).find_map(|w| {
        let cmd = w[0].rsplit('/').next().unwrap_or(w[0]);
        if cmd != "sleep" {
            return None;
        }
        let n = w[1].trim_end_matches('s');
        n.parse::<f64>().ok().map(|v| v.floor() as i64)
    })
}

fn container(c: &core::Container) -> Container {
    Container {
        name: c.name.clone(),
        image: c.image.clone().unwrap_or_default(),
        ports: c.ports.iter().flatten().map(|p| p.name.clone().unwrap_or_else(|| p.container_port.to_string())).collect(),
        readiness_probe: c.readiness_probe.is_some(),
        pre_stop: pre_stop(c),
    }
}

pub fn deployment(d: &apps::Deployment) -> Deployment {
    let spec = d.spec.as_ref();
    let status = d.status.as_ref();
    let strategy = spec.and_then(|s| s.strategy.as_ref());
    let template = spec.map(|s| &s.template);
    Deployment {
        meta: meta(&d.metadata),
        replicas: spec.and_then(|s| s.replicas).unwrap_or(1),
        selector: selector(spec.map(|s| &s.selector)),
        template_labels: template.and_then(|t| t.metadata.as_ref()).and_then(|m| m.labels.clone()).unwrap_or_default(),
        strategy: strategy.and_then(|s| s.type_.clone()).unwrap_or_else(|| "RollingUpdate".into()),
        max_unavailable: strategy.and_then(|s| s.rolling_update.as_ref()).and_then(|r| r.max_unavailable.as_ref()).map(int_or_string),
        containers: template.and_then(|t| t.spec.as_ref()).map(|s| s.containers.iter().map(container).collect()).unwrap_or_default(),
        generation: d.metadata.generation.unwrap_or(0),
        observed_generation: status.and_then(|s| s.observed_generation).unwrap_or(0),
        status_replicas: status.and_then(|s| s.replicas).unwrap_or(0),
        ready: status.and_then(|s| s.ready_replicas).unwrap_or(0),
        updated: status.and_then(|s| s.updated_replicas).unwrap_or(0),
        available: status.and_then(|s| s.available_replicas).unwrap_or(0),
        conditions: status
            .and_then(|s| s.conditions.as_ref())
            .into_iter()
            .flatten()
            .map(|c| Condition {
                updated: c.last_update_time.as_ref().and_then(time),
                ..condition(&c.type_, &c.status, c.reason.as_ref(), c.message.as_ref())
            })
            .collect(),
    }
}

pub fn replica_set(r: &apps::ReplicaSet) -> ReplicaSet {
    ReplicaSet {
        meta: meta(&r.metadata),
        revision: annotation(&r.metadata, "deployment.kubernetes.io/revision").and_then(|v| v.parse().ok()).unwrap_or(0),
        images: r
            .spec
            .as_ref()
            .and_then(|s| s.template.as_ref())
            .and_then(|t| t.spec.as_ref())
            .map(|s| s.containers.iter().filter_map(|c| c.image.clone()).collect())
            .unwrap_or_default(),
        replicas: r.status.as_ref().map(|s| s.replicas).unwrap_or(0),
        ready: r.status.as_ref().and_then(|s| s.ready_replicas).unwrap_or(0),
    }
}

pub fn pod(p: &core::Pod) -> Pod {
    let status = p.status.as_ref();
    let statuses = status.and_then(|s| s.container_statuses.as_ref());
    Pod {
        meta: meta(&p.metadata),
        phase: status.and_then(|s| s.phase.clone()).unwrap_or_else(|| "Unknown".into()),
        ready: status.and_then(|s| s.conditions.as_ref()).is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True")),
        restarts: statuses.into_iter().flatten().map(|c| c.restart_count).sum(),
        node: p.spec.as_ref().and_then(|s| s.node_name.clone()),
        image: p.spec.as_ref().and_then(|s| s.containers.first()).and_then(|c| c.image.clone()),
        requests: p.spec.as_ref().map(pod_requests).unwrap_or_default(),
    }
}

/// A pod's effective requests: the containers' sum, or the largest init
/// container's if larger (init containers run one at a time, before them).
fn pod_requests(spec: &core::PodSpec) -> Requests {
    let of = |c: &core::Container| {
        let r = c.resources.as_ref().and_then(|r| r.requests.as_ref());
        let get = |k: &str| r.and_then(|r| r.get(k)).and_then(|q| quantity(&q.0)).unwrap_or(0.0);
        Requests { cpu_m: (get("cpu") * 1000.0).round() as u64, memory: get("memory").round() as u64 }
    };
    let sum =
        spec.containers.iter().map(of).fold(Requests::default(), |a, r| Requests { cpu_m: a.cpu_m + r.cpu_m, memory: a.memory + r.memory });
    spec.init_containers.iter().flatten().map(of).fold(sum, |a, r| Requests { cpu_m: a.cpu_m.max(r.cpu_m), memory: a.memory.max(r.memory) })
}

pub fn node(n: &core::Node) -> Node {
    let m = meta(&n.metadata);
    let label = |k: &str| m.labels.get(k).cloned();
    Node {
        ready: super::is_ready(n),
        node_group: label("eks.amazonaws.com/nodegroup")
            .or_else(|| label("alpha.eksctl.io/nodegroup-name"))
            .or_else(|| label("karpenter.sh/nodepool")),
        capacity_type: label("eks.amazonaws.com/capacityType")
            .or_else(|| label("karpenter.sh/capacity-type").map(|v| v.to_uppercase().replace('-', "_"))),
        instance_type: label("node.kubernetes.io/instance-type"),
        zone: label("topology.kubernetes.io/zone"),
        provider_id: n.spec.as_ref().and_then(|s| s.provider_id.clone()),
        unschedulable: n.spec.as_ref().and_then(|s| s.unschedulable).unwrap_or(false),
        taints: n
            .spec
            .as_ref()
            .and_then(|s| s.taints.as_ref())
            .into_iter()
            .flatten()
            .map(|t| match &t.value {
                Some(v) => format!("{}={v}:{}", t.key, t.effect),
                None => format!("{}:{}", t.key, t.effect),
            })
            .collect(),
        allocatable: {
            let a = n.status.as_ref().and_then(|s| s.allocatable.as_ref());
            let get = |k: &str| a.and_then(|a| a.get(k)).and_then(|q| quantity(&q.0)).unwrap_or(0.0);
            Requests { cpu_m: (get("cpu") * 1000.0).round() as u64, memory: get("memory").round() as u64 }
        },
        meta: m,
    }
}

pub fn pdb(p: &policy::PodDisruptionBudget) -> PodDisruptionBudget {
    PodDisruptionBudget { meta: meta(&p.metadata), selector: selector(p.spec.as_ref().and_then(|s| s.selector.as_ref())) }
}

pub fn hpa(h: &autoscaling::HorizontalPodAutoscaler) -> Hpa {
    let status = h.status.as_ref();
    let spec_metric = h.spec.metrics.iter().flatten().next();
    let (metric, target) = match spec_metric {
        Some(m) => match (&m.external, &m.pods, &m.object, &m.resource) {
            (Some(e), ..) => (Some(e.metric.name.clone()), Some(&e.target)),
            (_, Some(p), ..) => (Some(p.metric.name.clone()), Some(&p.target)),
            (_, _, Some(o), _) => (Some(o.metric.name.clone()), Some(&o.target)),
            (_, _, _, Some(r)) => (Some(r.name.clone()), Some(&r.target)),
            _ => (None, None),
        },
        None => (None, None),
    };
    let target_value = target.and_then(|t| match t.type_.as_str() {
        "Value" => t.value.as_ref().and_then(|q| quantity(&q.0)),
        "AverageValue" => t.average_value.as_ref().and_then(|q| quantity(&q.0)),
        _ => t.average_utilization.map(f64::from),
    });
    let current = status.and_then(|s| s.current_metrics.as_ref()).and_then(|ms| ms.first()).and_then(|m| {
        let v = m
            .external
            .as_ref()
            .map(|e| &e.current)
            .or_else(|| m.pods.as_ref().map(|p| &p.current))
            .or_else(|| m.object.as_ref().map(|o| &o.current))
            .or_else(|| m.resource.as_ref().map(|r| &r.current))?;
        v.value.as_ref().or(v.average_value.as_ref()).and_then(|q| quantity(&q.0)).or(v.average_utilization.map(f64::from))
    });
    Hpa {
        meta: meta(&h.metadata),
        target_kind: h.spec.scale_target_ref.kind.clone(),
        target_name: h.spec.scale_target_ref.name.clone(),
        min: h.spec.min_replicas.unwrap_or(1),
        max: h.spec.max_replicas,
        current: status.and_then(|s| s.current_replicas).unwrap_or(0),
        desired: status.map(|s| s.desired_replicas).unwrap_or(0),
        metric,
        target_type: target.map(|t| t.type_.clone()),
        target: target_value,
        value: current,
        problems: status
            .and_then(|s| s.conditions.as_ref())
            .into_iter()
            .flatten()
            .filter(|c| c.status != "True")
            .map(|c| condition(&c.type_, &c.status, c.reason.as_ref(), c.message.as_ref()))
            .collect(),
    }
}

/// A Kubernetes quantity (`50`, `500m`, `1.5k`, `2Gi`) as a number.
pub fn quantity(q: &str) -> Option<f64> {
    let q = q.trim();
    let split = q.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(q.len());
    let (number, suffix) = q.split_at(split);
    let n: f64 = number.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        s if s.starts_with('e') || s.starts_with('E') => return q.parse().ok(),
        _ => return None,
    };
    Some(n * factor)
}

pub fn cron_job(c: &batch::CronJob) -> CronJob {
    let status = c.status.as_ref();
    CronJob {
        meta: meta(&c.metadata),
        schedule: c.spec.schedule.clone(),
        time_zone: c.spec.time_zone.clone(),
        suspend: c.spec.suspend.unwrap_or(false),
        last_schedule: status.and_then(|s| s.last_schedule_time.as_ref()).and_then(time),
        last_success: status.and_then(|s| s.last_successful_time.as_ref()).and_then(time),
    }
}

pub fn job(j: &batch::Job) -> Job {
    let status = j.status.as_ref();
    let conditions = status.and_then(|s| s.conditions.as_ref()).into_iter().flatten();
    let mut failure = None;
    let mut failed_at = None;
    let mut complete = false;
    for c in conditions {
        if c.status == "True" && c.type_ == "Failed" {
            failure = Some(condition(&c.type_, &c.status, c.reason.as_ref(), c.message.as_ref()));
            failed_at = c.last_transition_time.as_ref().and_then(time);
        }
        if c.status == "True" && c.type_ == "Complete" {
            complete = true;
        }
    }
    Job {
        meta: meta(&j.metadata),
        manual: annotation(&j.metadata, "cronjob.kubernetes.io/instantiate").is_some_and(|v| v == "manual"),
        start: status.and_then(|s| s.start_time.as_ref()).and_then(time),
        finished: status.and_then(|s| s.completion_time.as_ref()).and_then(time).or(failed_at),
        active: status.and_then(|s| s.active).unwrap_or(0),
        succeeded: status.and_then(|s| s.succeeded).unwrap_or(0),
        failed: status.and_then(|s| s.failed).unwrap_or(0),
        failure,
        complete,
    }
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

pub fn mapping(o: &DynamicObject) -> Mapping {
    let spec = &o.data["spec"];
    Mapping {
        meta: meta(&o.metadata),
        host: str_at(spec, &["hostname"]).or_else(|| str_at(spec, &["host"])).map(str::to_string),
        prefix: str_at(spec, &["prefix"]).unwrap_or("/").to_string(),
        rewrite: str_at(spec, &["rewrite"]).map(str::to_string),
        service: str_at(spec, &["service"]).unwrap_or_default().to_string(),
    }
}

pub fn application(o: &DynamicObject) -> Application {
    let status = &o.data["status"];
    let automated = &o.data["spec"]["syncPolicy"]["automated"];
    Application {
        meta: meta(&o.metadata),
        sync: str_at(status, &["sync", "status"]).unwrap_or("Unknown").to_string(),
        health: str_at(status, &["health", "status"]).unwrap_or("Unknown").to_string(),
        health_since: str_at(status, &["health", "lastTransitionTime"])
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc)),
        revision: str_at(status, &["sync", "revision"]).map(str::to_string),
        auto_sync: automated.is_object() && automated["enabled"].as_bool() != Some(false),
        self_heal: automated["selfHeal"].as_bool() == Some(true),
        resources: status["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
                (s("kind"), s("namespace"), s("name"))
            })
            .collect(),
        path: str_at(&o.data["spec"], &["source", "path"]).map(str::to_string),
        history: status["history"].as_array().into_iter().flatten().filter_map(sync_record).collect(),
        operation: status["operationState"]["phase"]
            .as_str()
            .map(|p| (p.to_string(), str_at(status, &["operationState", "message"]).unwrap_or_default().to_string())),
    }
}

fn sync_record(h: &Value) -> Option<SyncRecord> {
    let at = |k: &str| h[k].as_str().and_then(|t| DateTime::parse_from_rfc3339(t).ok()).map(|t| t.with_timezone(&Utc));
    let by = &h["initiatedBy"];
    Some(SyncRecord {
        id: h["id"].as_i64()?,
        revision: h["revision"].as_str()?.to_string(),
        deployed_at: at("deployedAt")?,
        started_at: at("deployStartedAt"),
        initiated_by: (by["automated"].as_bool() != Some(true)).then(|| by["username"].as_str().map(str::to_string)).flatten(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        assert_eq!(quantity("50"), Some(50.0));
        assert_eq!(quantity("500m"), Some(0.5));
        assert_eq!(quantity("1.5k"), Some(1500.0));
        assert_eq!(quantity("2Ki"), Some(2048.0));
        assert_eq!(quantity("abc"), None);
    }

    #[test]
    fn sleep_in_pre_stop_commands() {
        assert_eq!(sleep_seconds("sleep 5"), Some(5));
        assert_eq!(sleep_seconds("/bin/sh -c \"sleep 10 && nginx -s quit\""), Some(10));
        assert_eq!(sleep_seconds("/bin/sleep 3s"), Some(3));
        assert_eq!(sleep_seconds("nginx -s quit"), None);
    }
}
