use axum::Json;
use mezame_shared::topology::ServiceDetail;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::domain::topology::detail;
use crate::http::env_path::EnvPath;
use crate::http::error::ApiError;
use crate::http::extract::{Path, Query};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ServiceQuery {
    /// Namespace, when several namespaces have a microservice of that name.
    namespace: Option<String>,
}

/// One microservice: its topology entry (pods, HPA, audit, Argo CD), the
/// rollout history of its ReplicaSets and its recent Kubernetes events.
#[utoipa::path(
    get, path = "/api/envs/{env}/services/{name}", tag = "topology",
    params(
        EnvPath,
        ("name" = String, Path, description = "Microservice (Deployment) name"),
        ServiceQuery,
    ),
    responses(
        (status = 200, body = ServiceDetail),
        (status = 404, description = "Unknown environment or microservice", body = mezame_shared::error::ErrorBody),
    )
)]
pub async fn get_service(
    env: EnvPath,
    Path((_, name)): Path<(String, String)>,
    Query(q): Query<ServiceQuery>,
) -> Result<Json<ServiceDetail>, ApiError> {
    Ok(Json(detail::service(&env.env, &env.live, &name, q.namespace.as_deref()).await?))
}
