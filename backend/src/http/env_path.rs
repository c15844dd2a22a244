//! `{env}` of a route, resolved once per request: the [`EnvPath`] extractor
//! yields the environment (with its live topology) or answers the one 404
//! that lists the configured environments. The guard resolves it first (for
//! the permission check in that environment) and leaves it in the request's
//! extensions; the handler's extractor takes it from there.

use std::sync::Arc;

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use utoipa::IntoParams;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::{Object, Required, Type};

use crate::app::App;
use crate::domain::envs::Environment;
use crate::domain::topology::Live;
use crate::http::error::ApiError;

/// The environment a route's `{env}` names.
#[derive(Clone)]
pub struct EnvPath {
    pub env: Arc<Environment>,
    pub live: Arc<Live>,
}

impl EnvPath {
    pub fn name(&self) -> &str {
        &self.env.config.name
    }

    /// The environment called `name`, or a 404 listing the configured ones.
    pub fn resolve(app: &App, name: &str) -> Result<EnvPath, ApiError> {
        match (app.envs.get(name), app.topologies.get(name)) {
            (Some(env), Some(live)) => Ok(EnvPath { env: env.clone(), live: live.clone() }),
            _ => {
                let known: Vec<&str> = app.envs.names().collect();
                Err(ApiError::not_found(if known.is_empty() {
                    format!("unknown environment {name}: no environment is configured")
                } else {
                    format!("unknown environment {name}; configured: {}", known.join(", "))
                }))
            }
        }
    }
}

impl FromRequestParts<App> for EnvPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<EnvPath, ApiError> {
        if let Some(resolved) = parts.extensions.get::<EnvPath>() {
            return Ok(resolved.clone());
        }
        let params = RawPathParams::from_request_parts(parts, app).await.map_err(|e| ApiError::bad_request(e.body_text()))?;
        let name = params
            .iter()
            .find(|(k, _)| *k == "env")
            .map(|(_, v)| v.to_string())
            .ok_or_else(|| ApiError::internal("this route has no {env} in its path"))?;
        let resolved = EnvPath::resolve(app, &name)?;
        parts.extensions.insert(resolved.clone());
        Ok(resolved)
    }
}

impl IntoParams for EnvPath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            ParameterBuilder::new()
                .name("env")
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .description(Some("Environment name, as configured (`[[env]] name`)"))
                .schema(Some(Object::with_type(Type::String)))
                .build(),
        ]
    }
}
