//! The manifests of the k8s repository, one directory per environment:
//! `<env>/manifests/<ms>/<ms>-<env>-<kind>.yaml`, copy-pasted per environment
//! as on the platform (no Helm, no Kustomize).

use crate::platform::{APP_NAMESPACE, Cron, EnvSpec, FAIL_LABEL, Flaw, GATEWAY_NAMESPACE, Microservice, SPOT_LABEL, ServiceRef};

/// Ambassador (Emissary) image deployed as the gateway.
pub const AMBASSADOR_IMAGE: &str = "docker.io/emissaryingress/emissary:3.10.0";

/// Directory of a microservice's manifests in the k8s repository.
pub fn ms_dir(env: &str, ms: &str) -> String {
    format!("{env}/manifests/{ms}")
}

/// All files of one microservice in one environment: (path, content).
pub fn microservice_files(env: &EnvSpec, ms: &Microservice, tag: &str) -> Vec<(String, String)> {
    let dir = ms_dir(env.name, ms.name);
    let file = |kind: &str| format!("{dir}/{}-{}-{kind}.yaml", ms.name, env.name);
    let mut files = vec![(file("deployment"), deployment(env, ms, tag))];
    if ms.prefix.is_some() {
        files.push((file("service"), service(ms)));
        files.push((file("mapping"), mapping(env, ms)));
    }
    files.push((file("pdb"), pdb(ms)));
    if let Some(metric) = ms.hpa_metric {
        files.push((file("hpa"), hpa(ms, metric)));
    }
    for cron in ms.crons {
        files.push((file(&format!("cronjob-{}", cron.name)), cronjob(env, ms, cron, tag)));
    }
    files
}

/// Ambassador's Deployment, Service and the ALB Ingress in front of it.
pub fn gateway_files(env: &EnvSpec) -> Vec<(String, String)> {
    let dir = ms_dir(env.name, "ambassador");
    vec![
        (format!("{dir}/ambassador-{}-deployment.yaml", env.name), ambassador_deployment()),
        (format!("{dir}/ambassador-{}-service.yaml", env.name), ambassador_service()),
        (format!("{dir}/ambassador-{}-pdb.yaml", env.name), ambassador_pdb()),
        (format!("{dir}/ambassador-{}-ingress.yaml", env.name), ingress(env)),
    ]
}

fn labels(name: &str, indent: usize) -> String {
    let pad = " ".repeat(indent);
    format!("{pad}app.kubernetes.io/name: {name}\n{pad}app.kubernetes.io/part-of: iot-platform\n")
}

/// Tolerations and affinity that steer workloads onto spot nodes where an
/// environment lets them run there (dev, qa; not prod).
fn scheduling(env: &EnvSpec, indent: usize) -> String {
    if !env.spot.is_some_and(|s| s.workloads_tolerate) {
        return String::new();
    }
    let pad = " ".repeat(indent);
    format!(
        "{pad}tolerations:\n\
         {pad}- key: {SPOT_LABEL}\n\
         {pad}  operator: Equal\n\
         {pad}  value: spot\n\
         {pad}  effect: NoSchedule\n\
         {pad}affinity:\n\
         {pad}  nodeAffinity:\n\
         {pad}    preferredDuringSchedulingIgnoredDuringExecution:\n\
         {pad}    - weight: 100\n\
         {pad}      preference:\n\
         {pad}        matchExpressions:\n\
         {pad}        - key: {SPOT_LABEL}\n\
         {pad}          operator: In\n\
         {pad}          values: [spot]\n"
    )
}

fn deployment(env: &EnvSpec, ms: &Microservice, tag: &str) -> String {
    let name = ms.name;
    let replicas = if ms.hpa_metric.is_some() {
        // The HPA owns the replica count; a fixed one would fight it (and Argo CD).
        String::new()
    } else {
        format!("  replicas: {}\n", env.replicas)
    };
    let max_unavailable = if ms.flaw == Some(Flaw::MaxUnavailable) { 1 } else { 0 };
    let readiness = if ms.flaw == Some(Flaw::NoReadinessProbe) || ms.prefix.is_none() {
        String::new()
    } else {
        "        readinessProbe:\n          httpGet:\n            path: /healthz/ready\n            port: http\n          periodSeconds: 5\n          failureThreshold: 3\n".to_string()
    };
    let pre_stop = if ms.flaw == Some(Flaw::NoPreStop) {
        String::new()
    } else {
        "        lifecycle:\n          preStop:\n            exec:\n              command: [\"sleep\", \"5\"]\n".to_string()
    };
    let ports = if ms.prefix.is_some() {
        format!("        ports:\n        - name: http\n          containerPort: {}\n", ms.port)
    } else {
        String::new()
    };
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {APP_NAMESPACE}
  labels:
{labels}spec:
{replicas}  revisionHistoryLimit: 5
  selector:
    matchLabels:
      app.kubernetes.io/name: {name}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 50%
      maxUnavailable: {max_unavailable}
  template:
    metadata:
      labels:
{pod_labels}    spec:
      terminationGracePeriodSeconds: 30
{scheduling}      topologySpreadConstraints:
      - maxSkew: 1
        topologyKey: kubernetes.io/hostname
        whenUnsatisfiable: ScheduleAnyway
        labelSelector:
          matchLabels:
            app.kubernetes.io/name: {name}
      containers:
      - name: {name}
        image: {image}
{ports}        env:
        - name: ENVIRONMENT
          value: {env_name}
        - name: DATABASE_HOST
          value: platform-{env_name}-db.internal
        - name: REDIS_HOST
          value: platform-{env_name}-redis.internal
        resources:
          requests:
            cpu: 100m
            memory: 256Mi
          limits:
            memory: 512Mi
{readiness}{pre_stop}",
        labels = labels(name, 4),
        pod_labels = labels(name, 8),
        scheduling = scheduling(env, 6),
        image = env.image(name, tag),
        env_name = env.name,
    )
}

fn service(ms: &Microservice) -> String {
    format!(
        "apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: {APP_NAMESPACE}
  labels:
{labels}spec:
  selector:
    app.kubernetes.io/name: {name}
  ports:
  - name: http
    port: 80
    targetPort: http
",
        name = ms.name,
        labels = labels(ms.name, 4),
    )
}

fn mapping(env: &EnvSpec, ms: &Microservice) -> String {
    let name = ms.name;
    let service = match ms.service_ref {
        ServiceRef::Bare => name.to_string(),
        ServiceRef::WithNamespace => format!("{name}.{APP_NAMESPACE}"),
        ServiceRef::WithPort => format!("{name}:80"),
        ServiceRef::Full => format!("http://{name}.{APP_NAMESPACE}:80"),
    };
    let rewrite = if ms.rewrite { "  rewrite: /\n" } else { "" };
    format!(
        "apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata:
  name: {name}
  namespace: {APP_NAMESPACE}
  labels:
{labels}spec:
  hostname: {host}
  prefix: {prefix}
{rewrite}  service: {service}
  timeout_ms: 10000
",
        labels = labels(name, 4),
        host = env.hostname(),
        prefix = ms.prefix.unwrap_or("/"),
    )
}

fn pdb(ms: &Microservice) -> String {
    format!(
        "apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {name}
  namespace: {APP_NAMESPACE}
spec:
  minAvailable: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: {name}
",
        name = ms.name
    )
}

fn hpa(ms: &Microservice, metric: &str) -> String {
    format!(
        "apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {name}
  namespace: {APP_NAMESPACE}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {name}
  minReplicas: 2
  maxReplicas: 10
  metrics:
  - type: External
    external:
      metric:
        name: datadogmetric@{APP_NAMESPACE}:{metric}
      target:
        type: AverageValue
        averageValue: \"50\"
",
        name = ms.name
    )
}

fn cronjob(env: &EnvSpec, ms: &Microservice, cron: &Cron, tag: &str) -> String {
    let fail_label = if cron.fails { format!("            {FAIL_LABEL}: fail\n") } else { String::new() };
    format!(
        "apiVersion: batch/v1
kind: CronJob
metadata:
  name: {cron_name}
  namespace: {APP_NAMESPACE}
  labels:
{labels}spec:
  schedule: \"{schedule}\"
  timeZone: {tz}
  concurrencyPolicy: Forbid
  startingDeadlineSeconds: 300
  successfulJobsHistoryLimit: 3
  failedJobsHistoryLimit: 3
  jobTemplate:
    spec:
      backoffLimit: 0
      activeDeadlineSeconds: 1800
      template:
        metadata:
          labels:
            app.kubernetes.io/name: {name}
            app.kubernetes.io/component: {cron_name}
{fail_label}        spec:
          restartPolicy: Never
{scheduling}          containers:
          - name: {cron_name}
            image: {image}
            command: [\"{command}\"]
            # Inline values, as the platform's CronJobs have them: the panel
            # must never copy them into its audit log or answers.
            env:
            - name: SMTP_HOST
              value: smtp.{env_name}.internal
            - name: SMTP_PASSWORD
              value: sandbox-smtp-{env_name}-7f3a9c
            resources:
              requests:
                cpu: 100m
                memory: 128Mi
",
        cron_name = cron.name,
        env_name = env.name,
        name = ms.name,
        labels = labels(ms.name, 4),
        schedule = cron.schedule,
        tz = cron.time_zone,
        scheduling = scheduling(env, 10),
        image = env.image(ms.name, tag),
        command = cron.command,
    )
}

fn ambassador_deployment() -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: ambassador
  namespace: {GATEWAY_NAMESPACE}
  labels:
{labels}spec:
  replicas: 2
  selector:
    matchLabels:
      app.kubernetes.io/name: ambassador
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 1
      maxUnavailable: 0
  template:
    metadata:
      labels:
{pod_labels}    spec:
      topologySpreadConstraints:
      - maxSkew: 1
        topologyKey: kubernetes.io/hostname
        whenUnsatisfiable: ScheduleAnyway
        labelSelector:
          matchLabels:
            app.kubernetes.io/name: ambassador
      containers:
      - name: ambassador
        image: {AMBASSADOR_IMAGE}
        ports:
        - name: http
          containerPort: 8080
        - name: admin
          containerPort: 8877
        readinessProbe:
          httpGet:
            path: /ambassador/v0/check_ready
            port: admin
          periodSeconds: 5
        lifecycle:
          preStop:
            exec:
              command: [\"sleep\", \"5\"]
        resources:
          requests:
            cpu: 200m
            memory: 512Mi
",
        labels = labels("ambassador", 4),
        pod_labels = labels("ambassador", 8),
    )
}

fn ambassador_service() -> String {
    format!(
        "apiVersion: v1
kind: Service
metadata:
  name: ambassador
  namespace: {GATEWAY_NAMESPACE}
  labels:
{labels}spec:
  selector:
    app.kubernetes.io/name: ambassador
  ports:
  - name: http
    port: 80
    targetPort: http
",
        labels = labels("ambassador", 4),
    )
}

fn ambassador_pdb() -> String {
    format!(
        "apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: ambassador
  namespace: {GATEWAY_NAMESPACE}
spec:
  minAvailable: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: ambassador
"
    )
}

fn ingress(env: &EnvSpec) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ambassador
  namespace: {GATEWAY_NAMESPACE}
  annotations:
    alb.ingress.kubernetes.io/scheme: internet-facing
    alb.ingress.kubernetes.io/target-type: ip
    alb.ingress.kubernetes.io/listen-ports: '[{{\"HTTPS\": 443}}]'
    alb.ingress.kubernetes.io/healthcheck-path: /ambassador/v0/check_ready
spec:
  ingressClassName: alb
  rules:
  - host: {host}
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: ambassador
            port:
              number: 80
",
        host = env.hostname(),
    )
}

/// Rewrites the tag of `<registry>/<ms>-<env>:<tag>` images in a manifest,
/// with the effect of the platform's CI `sed`. Returns `None` if no image matched.
pub fn rewrite_image_tag(content: &str, env: &EnvSpec, ms: &str, tag: &str) -> Option<String> {
    let re = regex::Regex::new(&format!(
        r"(?m)^(\s*image:\s*{}/{}-{}):\S+$",
        regex::escape(&env.registry()),
        regex::escape(ms),
        regex::escape(env.name)
    ))
    .expect("a valid pattern");
    re.is_match(content).then(|| re.replace_all(content, format!("${{1}}:{tag}")).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::{ENVS, MICROSERVICES};

    #[test]
    fn every_file_is_valid_yaml_with_the_expected_kind() {
        for env in &ENVS {
            for ms in &MICROSERVICES {
                for (path, content) in microservice_files(env, ms, "abc123") {
                    let doc: serde_yaml::Value = serde_yaml::from_str(&content).unwrap_or_else(|e| panic!("{path}: {e}\n{content}"));
                    let suffix = path.trim_end_matches(".yaml").rsplit(&format!("-{}-", env.name)[..]).next().unwrap();
                    let expected = match suffix.split('-').next().unwrap() {
                        "deployment" => "Deployment",
                        "service" => "Service",
                        "mapping" => "Mapping",
                        "pdb" => "PodDisruptionBudget",
                        "hpa" => "HorizontalPodAutoscaler",
                        "cronjob" => "CronJob",
                        other => panic!("unexpected file kind {other} in {path}"),
                    };
                    assert_eq!(doc["kind"].as_str(), Some(expected), "{path}");
                    assert!(path.starts_with(&format!("{}/manifests/{}/{}-{}-", env.name, ms.name, ms.name, env.name)), "{path}");
                }
            }
            for (path, content) in gateway_files(env) {
                serde_yaml::from_str::<serde_yaml::Value>(&content).unwrap_or_else(|e| panic!("{path}: {e}"));
            }
        }
    }

    #[test]
    fn flaws_show_in_the_deployment() {
        let dev = &ENVS[0];
        let get = |name: &str| {
            let ms = MICROSERVICES.iter().find(|m| m.name == name).unwrap();
            serde_yaml::from_str::<serde_yaml::Value>(&deployment(dev, ms, "t")).unwrap()
        };
        let c = |d: &serde_yaml::Value| d["spec"]["template"]["spec"]["containers"][0].clone();
        assert!(c(&get("firmware-updater"))["readinessProbe"].is_null());
        assert!(!c(&get("auth-service"))["readinessProbe"].is_null());
        assert_eq!(get("report-service")["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"], 1);
        assert_eq!(get("auth-service")["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"], 0);
        assert!(c(&get("supplier-catalog"))["lifecycle"].is_null());
        assert!(get("order-service")["spec"]["replicas"].is_null(), "HPA-managed: no replicas");
    }

    #[test]
    fn image_tag_rewrite_touches_only_the_matching_image() {
        let dev = &ENVS[0];
        let ms = MICROSERVICES.iter().find(|m| m.name == "notification-service").unwrap();
        let files = microservice_files(dev, ms, "old");
        let (_, cron) = files.iter().find(|(p, _)| p.contains("cronjob")).unwrap();
        let out = rewrite_image_tag(cron, dev, "notification-service", "new").unwrap();
        assert!(out.contains("notification-service-dev:new"));
        assert!(!out.contains(":old"));
        assert!(rewrite_image_tag(cron, dev, "order-service", "new").is_none());
    }
}
