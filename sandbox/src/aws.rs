//! moto, one server per environment (separate AWS accounts), and the AWS side
//! of the platform seeded into it: VPCs, the EKS cluster and its node groups,
//! the spot Auto Scaling group, RDS and the Redis EC2 instance.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};
use aws_config::{BehaviorVersion, Region};
use aws_sdk_ec2::types::{Filter, InstanceType, ResourceType, Tag, TagSpecification};

use crate::platform::{EnvSpec, REGION, ZONES};
use crate::process;

/// AWS clients of one environment's moto.
#[derive(Clone)]
pub struct Aws {
    pub ec2: aws_sdk_ec2::Client,
    pub eks: aws_sdk_eks::Client,
    pub asg: aws_sdk_autoscaling::Client,
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    pub rds: aws_sdk_rds::Client,
    pub route53: aws_sdk_route53::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
}

/// The access key of the sandbox's own machinery (controllers, seeding, tests'
/// checks): moto's IAM enforcement does not apply to it (moto/fidelity.py).
pub const SANDBOX_KEY: &str = "sandbox";

impl Aws {
    pub async fn connect(endpoint: &str) -> Aws {
        let conf = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(endpoint)
            // `sandbox`: moto's IAM enforcement leaves this key out (moto/fidelity.py).
            .credentials_provider(aws_sdk_ec2::config::Credentials::new(SANDBOX_KEY, SANDBOX_KEY, None, None, "sandbox"))
            .timeout_config(aws_config::timeout::TimeoutConfig::builder().operation_timeout(Duration::from_secs(30)).build())
            .load()
            .await;
        Aws {
            ec2: aws_sdk_ec2::Client::new(&conf),
            eks: aws_sdk_eks::Client::new(&conf),
            asg: aws_sdk_autoscaling::Client::new(&conf),
            elb: aws_sdk_elasticloadbalancingv2::Client::new(&conf),
            rds: aws_sdk_rds::Client::new(&conf),
            route53: aws_sdk_route53::Client::new(&conf),
            cloudwatch: aws_sdk_cloudwatch::Client::new(&conf),
        }
    }
}

/// moto's server with the sandbox's fidelity patches (see the file).
const MOTO_SERVER: &str = include_str!("moto/fidelity.py");
/// Smithy RPC v2 CBOR in front of moto's CloudWatch (imported by the server).
const MOTO_CBOR: &str = include_str!("moto/rpcv2_cbor.py");

/// Starts moto for `env` on `port` (detached) with the environment's account id.
pub fn start_moto(moto_python: &Path, env: &EnvSpec, port: u16, log: &Path) -> Result<u32> {
    let script = log.with_file_name("moto-server.py");
    if let Some(dir) = script.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&script, MOTO_SERVER).with_context(|| format!("writing {}", script.display()))?;
    let cbor = script.with_file_name("rpcv2_cbor.py");
    std::fs::write(&cbor, MOTO_CBOR).with_context(|| format!("writing {}", cbor.display()))?;
    let pid = process::spawn_detached(
        Command::new(moto_python)
            .arg(&script)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_ACCOUNT_ID", env.account_id)
            .env("AWS_DEFAULT_REGION", REGION),
        log,
    )?;
    process::wait_port(port, "moto", Duration::from_secs(60), log)?;
    Ok(pid)
}

fn tags(resource: ResourceType, pairs: &[(&str, &str)]) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(resource)
        .set_tags(Some(pairs.iter().map(|(k, v)| Tag::builder().key(*k).value(*v).build()).collect()))
        .build()
}

fn by_tag(key: &str, value: &str) -> Filter {
    Filter::builder().name(format!("tag:{key}")).values(value).build()
}

/// The subnets seeded for an environment: private ones (one per zone) and public ones.
#[derive(Debug, Clone)]
pub struct Network {
    pub vpc: String,
    pub private: Vec<String>,
    pub public: Vec<String>,
}

/// Seeds the environment's AWS resources; does nothing for what exists.
pub async fn seed(aws: &Aws, env: &EnvSpec) -> Result<Network> {
    let cluster = env.eks_cluster();
    let network = ensure_network(aws, env).await?;
    let image = any_image(aws).await?;
    if aws.eks.describe_cluster().name(&cluster).send().await.is_err() {
        aws.eks
            .create_cluster()
            .name(&cluster)
            .version("1.36")
            .role_arn(format!("arn:aws:iam::{}:role/{cluster}-cluster", env.account_id))
            .resources_vpc_config(aws_sdk_eks::types::VpcConfigRequest::builder().set_subnet_ids(Some(network.private.clone())).build())
            .tags("environment", env.name)
            .send()
            .await
            .context("eks:CreateCluster")?;
    }
    for ng in env.nodegroups {
        let exists = aws.eks.describe_nodegroup().cluster_name(&cluster).nodegroup_name(ng.name).send().await.is_ok();
        if exists {
            continue;
        }
        aws.eks
            .create_nodegroup()
            .cluster_name(&cluster)
            .nodegroup_name(ng.name)
            .scaling_config(
                aws_sdk_eks::types::NodegroupScalingConfig::builder().min_size(ng.min).desired_size(ng.desired).max_size(ng.max).build(),
            )
            .set_subnets(Some(network.private.iter().take(ng.subnets).cloned().collect()))
            .instance_types(ng.instance_type)
            .capacity_type(aws_sdk_eks::types::CapacityTypes::from(ng.capacity_type))
            .node_role(format!("arn:aws:iam::{}:role/{cluster}-node", env.account_id))
            .ami_type(aws_sdk_eks::types::AmiTypes::Al2023X8664Standard)
            .labels("role", ng.name)
            .tags("environment", env.name)
            .send()
            .await
            .with_context(|| format!("eks:CreateNodegroup {}", ng.name))?;
    }
    if let (Some(spot), Some(name)) = (env.spot, env.spot_asg_name()) {
        ensure_spot_asg(aws, env, &network, &image, &spot, &name).await?;
    }
    ensure_databases(aws, env, &network, &image).await?;
    ensure_zone(aws, env).await?;
    Ok(network)
}

/// `count` requests taken by the load balancer `arn` in the minute of `at`,
/// as CloudWatch has them (`AWS/ApplicationELB` `RequestCount`).
pub async fn put_requests(aws: &Aws, arn: &str, at: chrono::DateTime<chrono::Utc>, count: f64) -> Result<()> {
    use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
    let id = arn.split_once(":loadbalancer/").map_or(arn, |(_, id)| id);
    let datum = MetricDatum::builder()
        .metric_name("RequestCount")
        .dimensions(Dimension::builder().name("LoadBalancer").value(id).build())
        .timestamp(aws_sdk_cloudwatch::primitives::DateTime::from_secs(at.timestamp()))
        .value(count)
        .unit(StandardUnit::Count)
        .build();
    aws.cloudwatch.put_metric_data().namespace("AWS/ApplicationELB").metric_data(datum).send().await.context("cloudwatch:PutMetricData")?;
    Ok(())
}

/// The id of the hosted zone named `name`, if there is one.
pub async fn hosted_zone_id(aws: &Aws, name: &str) -> Result<Option<String>> {
    let zones = aws.route53.list_hosted_zones_by_name().dns_name(name).send().await.context("route53:ListHostedZonesByName")?;
    Ok(zones
        .hosted_zones()
        .iter()
        .find(|z| z.name().trim_end_matches('.') == name)
        .map(|z| z.id().trim_start_matches("/hostedzone/").to_string()))
}

/// The environment's public hosted zone (its records: `controller::dns`, then mezame).
async fn ensure_zone(aws: &Aws, env: &EnvSpec) -> Result<()> {
    let name = env.dns_zone();
    if hosted_zone_id(aws, &name).await?.is_none() {
        aws.route53
            .create_hosted_zone()
            .name(&name)
            .caller_reference(format!("sandbox-{name}"))
            .send()
            .await
            .with_context(|| format!("route53:CreateHostedZone {name}"))?;
    }
    Ok(())
}

async fn ensure_network(aws: &Aws, env: &EnvSpec) -> Result<Network> {
    let name = format!("platform-{}", env.name);
    let cidr = env.cidr;
    let vpc = ensure_vpc(aws, &name, &format!("10.{cidr}.0.0/16")).await?;
    let mut private = Vec::new();
    let mut public = Vec::new();
    // Private subnets are /20s, as EKS nodes' subnets usually are: moto hands
    // out a subnet's addresses in order and does not take back those of
    // terminated instances, so a /24 ran out after ~250 launches — a few
    // months of daily wakes in a long-lived sandbox.
    for (i, zone) in ZONES.iter().enumerate() {
        private.push(
            ensure_subnet(
                aws,
                &vpc,
                &format!("{name}-private-{zone}"),
                &format!("10.{cidr}.{}.0/20", 16 * (i + 1)),
                zone,
                "kubernetes.io/role/internal-elb",
            )
            .await?,
        );
        if i < 2 {
            public.push(
                ensure_subnet(
                    aws,
                    &vpc,
                    &format!("{name}-public-{zone}"),
                    &format!("10.{cidr}.{}.0/24", 101 + i),
                    zone,
                    "kubernetes.io/role/elb",
                )
                .await?,
            );
        }
    }
    // RDS and Redis live in their own VPC, reached through a peering connection.
    let data = ensure_vpc(aws, &format!("{name}-data"), &format!("10.{}.0.0/16", cidr + 100)).await?;
    let peered = aws
        .ec2
        .describe_vpc_peering_connections()
        .filters(by_tag("Name", &format!("{name}-to-data")))
        .send()
        .await?
        .vpc_peering_connections
        .is_some_and(|p| !p.is_empty());
    if !peered {
        aws.ec2
            .create_vpc_peering_connection()
            .vpc_id(&vpc)
            .peer_vpc_id(&data)
            .tag_specifications(tags(ResourceType::VpcPeeringConnection, &[("Name", &format!("{name}-to-data"))]))
            .send()
            .await
            .context("ec2:CreateVpcPeeringConnection")?;
    }
    Ok(Network { vpc, private, public })
}

async fn ensure_vpc(aws: &Aws, name: &str, cidr: &str) -> Result<String> {
    let found = aws.ec2.describe_vpcs().filters(by_tag("Name", name)).send().await?;
    if let Some(id) = found.vpcs().first().and_then(|v| v.vpc_id()) {
        return Ok(id.to_string());
    }
    let created = aws
        .ec2
        .create_vpc()
        .cidr_block(cidr)
        .tag_specifications(tags(ResourceType::Vpc, &[("Name", name)]))
        .send()
        .await
        .with_context(|| format!("ec2:CreateVpc {name}"))?;
    Ok(created.vpc().and_then(|v| v.vpc_id()).context("CreateVpc returned no id")?.to_string())
}

async fn ensure_subnet(aws: &Aws, vpc: &str, name: &str, cidr: &str, zone: &str, role_tag: &str) -> Result<String> {
    let found = aws.ec2.describe_subnets().filters(by_tag("Name", name)).send().await?;
    if let Some(id) = found.subnets().first().and_then(|s| s.subnet_id()) {
        return Ok(id.to_string());
    }
    let created = aws
        .ec2
        .create_subnet()
        .vpc_id(vpc)
        .cidr_block(cidr)
        .availability_zone(zone)
        .tag_specifications(tags(ResourceType::Subnet, &[("Name", name), (role_tag, "1")]))
        .send()
        .await
        .with_context(|| format!("ec2:CreateSubnet {name}"))?;
    Ok(created.subnet().and_then(|s| s.subnet_id()).context("CreateSubnet returned no id")?.to_string())
}

/// An AMI that moto knows (it ships a list of public ones).
pub async fn any_image(aws: &Aws) -> Result<String> {
    let images = aws.ec2.describe_images().owners("amazon").send().await.context("ec2:DescribeImages")?;
    images.images().iter().find_map(|i| i.image_id().map(str::to_string)).context("moto lists no AMI")
}

async fn ensure_spot_asg(
    aws: &Aws,
    env: &EnvSpec,
    network: &Network,
    image: &str,
    spot: &crate::platform::SpotAsg,
    name: &str,
) -> Result<()> {
    use aws_sdk_autoscaling::types as asg;
    let exists = !aws.asg.describe_auto_scaling_groups().auto_scaling_group_names(name).send().await?.auto_scaling_groups().is_empty();
    if exists {
        return Ok(());
    }
    let cluster = env.eks_cluster();
    let has_template =
        aws.ec2.describe_launch_templates().launch_template_names(name).send().await.is_ok_and(|r| !r.launch_templates().is_empty());
    if !has_template {
        let user_data = format!(
            "#!/bin/bash\n/etc/eks/bootstrap.sh {cluster} --kubelet-extra-args '--node-labels=node.kubernetes.io/lifecycle=spot --register-with-taints=node.kubernetes.io/lifecycle=spot:NoSchedule'\n"
        );
        use base64::Engine;
        aws.ec2
            .create_launch_template()
            .launch_template_name(name)
            .launch_template_data(
                aws_sdk_ec2::types::RequestLaunchTemplateData::builder()
                    .image_id(image)
                    .instance_type(InstanceType::from(spot.instance_types[0]))
                    .user_data(base64::engine::general_purpose::STANDARD.encode(user_data))
                    .build(),
            )
            .send()
            .await
            .context("ec2:CreateLaunchTemplate")?;
    }
    let overrides = spot.instance_types.iter().map(|t| asg::LaunchTemplateOverrides::builder().instance_type(*t).build()).collect();
    let policy = asg::MixedInstancesPolicy::builder()
        .launch_template(
            asg::LaunchTemplate::builder()
                .launch_template_specification(
                    asg::LaunchTemplateSpecification::builder().launch_template_name(name).version("$Latest").build(),
                )
                .set_overrides(Some(overrides))
                .build(),
        )
        .instances_distribution(
            asg::InstancesDistribution::builder()
                .on_demand_base_capacity(0)
                .on_demand_percentage_above_base_capacity(0)
                .spot_allocation_strategy("price-capacity-optimized")
                .build(),
        )
        .build();
    aws.asg
        .create_auto_scaling_group()
        .auto_scaling_group_name(name)
        .min_size(spot.min)
        .max_size(spot.max)
        .desired_capacity(spot.desired)
        .vpc_zone_identifier(network.private.join(","))
        .mixed_instances_policy(policy)
        .set_tags(Some(asg_tags(name, &cluster, &[("Name", name)])))
        .send()
        .await
        .context("autoscaling:CreateAutoScalingGroup")?;
    Ok(())
}

/// The tags of an Auto Scaling group of `cluster` (`extra`, then the cluster's
/// and cluster-autoscaler's), propagated to its instances.
pub fn asg_tags(group: &str, cluster: &str, extra: &[(&str, &str)]) -> Vec<aws_sdk_autoscaling::types::Tag> {
    let mut pairs: Vec<(String, String)> = extra.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    pairs.push((format!("kubernetes.io/cluster/{cluster}"), "owned".into()));
    pairs.push(("k8s.io/cluster-autoscaler/enabled".into(), "true".into()));
    pairs.push((format!("k8s.io/cluster-autoscaler/{cluster}"), "owned".into()));
    pairs
        .into_iter()
        .map(|(k, v)| {
            aws_sdk_autoscaling::types::Tag::builder()
                .key(k)
                .value(v)
                .propagate_at_launch(true)
                .resource_id(group)
                .resource_type("auto-scaling-group")
                .build()
        })
        .collect()
}

async fn ensure_databases(aws: &Aws, env: &EnvSpec, network: &Network, image: &str) -> Result<()> {
    let db = format!("platform-{}-db", env.name);
    if aws.rds.describe_db_instances().db_instance_identifier(&db).send().await.is_err() {
        aws.rds
            .create_db_instance()
            .db_instance_identifier(&db)
            .engine("postgres")
            .engine_version("16.4")
            .db_instance_class(if env.protected { "db.r6g.large" } else { "db.t3.medium" })
            .allocated_storage(50)
            .master_username("platform")
            .master_user_password("sandbox-not-secret")
            .tags(aws_sdk_rds::types::Tag::builder().key("environment").value(env.name).build())
            .send()
            .await
            .context("rds:CreateDBInstance")?;
    }
    let redis = format!("platform-{}-redis", env.name);
    let existing = aws
        .ec2
        .describe_instances()
        .filters(by_tag("Name", &redis))
        .filters(
            Filter::builder().name("instance-state-name").values("pending").values("running").values("stopping").values("stopped").build(),
        )
        .send()
        .await?;
    if existing.reservations().iter().all(|r| r.instances().is_empty()) {
        aws.ec2
            .run_instances()
            .image_id(image)
            .instance_type(InstanceType::T3Small)
            .min_count(1)
            .max_count(1)
            .subnet_id(&network.private[0])
            .tag_specifications(tags(ResourceType::Instance, &[("Name", &redis), ("Role", "redis"), ("environment", env.name)]))
            .send()
            .await
            .context("ec2:RunInstances (redis)")?;
    }
    Ok(())
}
