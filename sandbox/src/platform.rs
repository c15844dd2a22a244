//! The platform of PLATFORM.md, as data: 17 microservices of an IoT
//! inventory/ordering SaaS, their routes, their flaws, and each environment's
//! AWS shape (node groups, spot ASG, databases).

/// Namespace of the microservices.
pub const APP_NAMESPACE: &str = "platform";
/// Namespace of Ambassador (the API gateway).
pub const GATEWAY_NAMESPACE: &str = "ambassador";
pub const REGION: &str = "eu-west-1";
pub const ZONES: [&str; 3] = ["eu-west-1a", "eu-west-1b", "eu-west-1c"];
/// Label that makes kwok end a Job's pods in `Failed` (see the `pod-failed` stage).
pub const FAIL_LABEL: &str = "sandbox.mezame.dev/outcome";
/// Label and taint of spot nodes; workloads that may run there tolerate it.
pub const SPOT_LABEL: &str = "node.kubernetes.io/lifecycle";

/// How a microservice breaks the zero-downtime recipe, if it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flaw {
    /// No readiness probe: traffic reaches pods before they can serve.
    NoReadinessProbe,
    /// `maxUnavailable: 1`: a rollout takes serving pods away first.
    MaxUnavailable,
    /// No `preStop` sleep: pods stop before the load balancer lets go.
    NoPreStop,
}

/// A CronJob owned by a microservice.
#[derive(Debug, Clone, Copy)]
pub struct Cron {
    pub name: &'static str,
    pub schedule: &'static str,
    pub time_zone: &'static str,
    pub command: &'static str,
    /// Its Jobs' pods end in `Failed`.
    pub fails: bool,
}

/// How a Mapping names its service (`[scheme://]name[.namespace][:port]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceRef {
    Bare,
    WithNamespace,
    WithPort,
    Full,
}

#[derive(Debug, Clone, Copy)]
pub struct Microservice {
    pub name: &'static str,
    pub port: u16,
    /// URL prefix routed by Ambassador; `None` for a background worker.
    pub prefix: Option<&'static str>,
    /// Whether the Mapping rewrites the prefix to `/`.
    pub rewrite: bool,
    pub service_ref: ServiceRef,
    pub flaw: Option<Flaw>,
    /// External metric an HPA scales on (Datadog style), if autoscaled.
    pub hpa_metric: Option<&'static str>,
    pub crons: &'static [Cron],
    pub language: &'static str,
}

const fn ms(name: &'static str, prefix: &'static str, service_ref: ServiceRef) -> Microservice {
    Microservice {
        name,
        port: 8080,
        prefix: Some(prefix),
        rewrite: false,
        service_ref,
        flaw: None,
        hpa_metric: None,
        crons: &[],
        language: "go",
    }
}

/// The 17 microservices.
pub const MICROSERVICES: [Microservice; 17] = [
    ms("auth-service", "/auth/", ServiceRef::Bare),
    Microservice { language: "kotlin", ..ms("user-service", "/users/", ServiceRef::WithNamespace) },
    ms("tenant-service", "/tenants/", ServiceRef::Bare),
    Microservice { hpa_metric: Some("device-registry-requests-per-pod"), ..ms("device-registry", "/devices/", ServiceRef::Full) },
    Microservice {
        hpa_metric: Some("telemetry-ingest-messages-per-pod"),
        rewrite: true,
        ..ms("telemetry-ingest", "/telemetry/", ServiceRef::WithPort)
    },
    Microservice { prefix: None, ..ms("telemetry-processor", "", ServiceRef::Bare) },
    Microservice {
        hpa_metric: Some("inventory-service-requests-per-pod"),
        language: "kotlin",
        ..ms("inventory-service", "/inventory/", ServiceRef::Bare)
    },
    ms("stock-level", "/stock/", ServiceRef::WithNamespace),
    Microservice {
        hpa_metric: Some("order-service-requests-per-pod"),
        language: "kotlin",
        ..ms("order-service", "/orders/", ServiceRef::Bare)
    },
    Microservice {
        crons: &[Cron {
            name: "automatic-ordering",
            schedule: "*/30 * * * *",
            time_zone: "Europe/Berlin",
            command: "/app/bin/place-automatic-orders",
            fails: false,
        }],
        ..ms("auto-ordering", "/auto-orders/", ServiceRef::Bare)
    },
    Microservice { flaw: Some(Flaw::NoPreStop), language: "python", ..ms("supplier-catalog", "/suppliers/", ServiceRef::WithPort) },
    ms("pricing-service", "/pricing/", ServiceRef::Bare),
    Microservice { language: "kotlin", ..ms("billing-service", "/billing/", ServiceRef::WithNamespace) },
    Microservice {
        crons: &[Cron {
            name: "mail-notification",
            schedule: "*/10 * * * *",
            time_zone: "Europe/Berlin",
            command: "/app/bin/send-mail-notifications",
            fails: false,
        }],
        ..ms("notification-service", "/notifications/", ServiceRef::Bare)
    },
    Microservice {
        flaw: Some(Flaw::MaxUnavailable),
        language: "python",
        crons: &[Cron {
            name: "stock-report",
            schedule: "0 * * * *",
            time_zone: "Europe/Berlin",
            command: "/app/bin/build-stock-report",
            fails: true,
        }],
        ..ms("report-service", "/reports/", ServiceRef::Bare)
    },
    Microservice { rewrite: true, ..ms("shipment-tracker", "/shipments/", ServiceRef::Full) },
    Microservice { flaw: Some(Flaw::NoReadinessProbe), ..ms("firmware-updater", "/firmware/", ServiceRef::Bare) },
];

pub fn microservice(name: &str) -> Option<&'static Microservice> {
    MICROSERVICES.iter().find(|m| m.name == name)
}

/// An EKS managed node group.
#[derive(Debug, Clone, Copy)]
pub struct Nodegroup {
    pub name: &'static str,
    pub instance_type: &'static str,
    pub capacity_type: &'static str,
    pub min: i32,
    pub desired: i32,
    pub max: i32,
    /// Number of private subnets it spans.
    pub subnets: usize,
}

/// A self-managed Auto Scaling group of spot instances.
#[derive(Debug, Clone, Copy)]
pub struct SpotAsg {
    pub suffix: &'static str,
    pub instance_types: &'static [&'static str],
    pub min: i32,
    pub desired: i32,
    pub max: i32,
    /// The workloads tolerate its taint and prefer it (dev, qa); prod's exists
    /// empty, for the day its microservices move there.
    pub workloads_tolerate: bool,
}

/// The shape of one environment (one AWS account, one EKS cluster).
#[derive(Debug, Clone, Copy)]
pub struct EnvSpec {
    pub name: &'static str,
    pub account_id: &'static str,
    /// Second octet of the VPC CIDR (10.X.0.0/16).
    pub cidr: u8,
    pub nodegroups: &'static [Nodegroup],
    pub spot: Option<SpotAsg>,
    /// Argo CD `selfHeal` (and `prune`) on the Applications.
    pub self_heal: bool,
    pub replicas: u32,
    /// Production: never put to sleep.
    pub protected: bool,
    /// The real external-dns writes its public records (prod), else mezame does.
    pub external_dns: bool,
}

const DEV_SHAPE: EnvSpec = EnvSpec {
    name: "dev",
    account_id: "111111111111",
    cidr: 10,
    nodegroups: &[Nodegroup {
        name: "system",
        instance_type: "t3.medium",
        capacity_type: "ON_DEMAND",
        min: 1,
        desired: 2,
        max: 3,
        subnets: 2,
    }],
    spot: Some(SpotAsg {
        suffix: "spot",
        instance_types: &["t3.large", "t3a.large", "m5.large", "m5a.large"],
        min: 0,
        desired: 3,
        max: 10,
        workloads_tolerate: true,
    }),
    self_heal: true,
    replicas: 2,
    protected: false,
    external_dns: false,
};

pub const ENVS: [EnvSpec; 3] = [
    DEV_SHAPE,
    EnvSpec { name: "qa", account_id: "222222222222", cidr: 20, ..DEV_SHAPE },
    EnvSpec {
        name: "prod",
        account_id: "333333333333",
        cidr: 30,
        nodegroups: &[Nodegroup {
            name: "general",
            instance_type: "t3.large",
            capacity_type: "ON_DEMAND",
            min: 5,
            desired: 10,
            max: 20,
            subnets: 2,
        }],
        // The hybrid's spot half, empty: production cannot use spot yet.
        spot: Some(SpotAsg {
            suffix: "spot",
            instance_types: &["m5.large", "m5a.large", "m6i.large", "t3.large"],
            min: 0,
            desired: 0,
            max: 10,
            workloads_tolerate: false,
        }),
        self_heal: false,
        replicas: 2,
        protected: true,
        external_dns: true,
    },
];

pub fn env_spec(name: &str) -> Option<&'static EnvSpec> {
    ENVS.iter().find(|e| e.name == name)
}

impl EnvSpec {
    pub fn eks_cluster(&self) -> String {
        format!("platform-{}", self.name)
    }
    pub fn registry(&self) -> String {
        format!("{}.dkr.ecr.{REGION}.amazonaws.com", self.account_id)
    }
    pub fn image(&self, ms: &str, tag: &str) -> String {
        format!("{}/{ms}-{}:{tag}", self.registry(), self.name)
    }
    pub fn hostname(&self) -> String {
        if self.name == "prod" { "api.iot-inventory.example".into() } else { format!("api.{}.iot-inventory.example", self.name) }
    }
    /// The public hosted zone of the environment's account (`hostname` is in it).
    pub fn dns_zone(&self) -> String {
        if self.name == "prod" { "iot-inventory.example".into() } else { format!("{}.iot-inventory.example", self.name) }
    }
    pub fn spot_asg_name(&self) -> Option<String> {
        self.spot.map(|s| format!("platform-{}-{}", self.name, s.suffix))
    }
}

/// Resources of EC2 instance types, as a node reports them.
pub fn instance_resources(instance_type: &str) -> (u32, u32, u32) {
    // (vCPU, memory GiB, max pods with the VPC CNI)
    match instance_type {
        "t3.small" => (2, 2, 11),
        "t3.medium" => (2, 4, 17),
        "t3.large" | "t3a.large" => (2, 8, 35),
        "m5.large" | "m5a.large" => (2, 8, 29),
        "t3.xlarge" | "m5.xlarge" => (4, 16, 58),
        _ => (2, 8, 29),
    }
}

/// People who commit to the app repositories and merge releases.
pub const AUTHORS: [(&str, &str); 6] = [
    ("Aiko Tanaka", "aiko.tanaka@iot-inventory.example"),
    ("Marek Nowak", "marek.nowak@iot-inventory.example"),
    ("Priya Raman", "priya.raman@iot-inventory.example"),
    ("Lucas Moreau", "lucas.moreau@iot-inventory.example"),
    ("Sofia Lindqvist", "sofia.lindqvist@iot-inventory.example"),
    ("Kenji Watanabe", "kenji.watanabe@iot-inventory.example"),
];

/// The CI bot that rewrites image tags in the manifest repository.
pub const CI_BOT: (&str, &str) = ("github-actions[bot]", "41898282+github-actions[bot]@users.noreply.github.com");
