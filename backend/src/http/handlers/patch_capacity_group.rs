use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mezame_shared::capacity::{GroupChange, GroupChanged};
use mezame_shared::power::GroupKind;

use crate::app::App;
use crate::domain::auth::{Perm, Scope, authorize};
use crate::domain::capacity::change::Changer;
use crate::http::actor::Caller;
use crate::http::env_path::EnvPath;
use crate::http::error::ApiError;
use crate::http::extract::Path;

/// Changes a group's sizes (min ≤ desired ≤ max; an EKS managed node group
/// needs max ≥ 1) and, for an Auto Scaling group with a MixedInstancesPolicy,
/// its spot mix (on-demand base, % above base, spot allocation strategy,
/// instance types — spot needs at least 2; the launch template, weights and
/// the rest of the policy are kept). `dry_run: true` answers before → after
/// and changes nothing. While the environment is asleep, new sizes change what
/// its next wake restores (its power settings: admin), not AWS. Lowering
/// desired is a safe scale-in: mezame chooses the nodes (cordoned first, then
/// not Ready, fewest pods, youngest; or `remove_nodes`), a dry run names them,
/// and otherwise a run (202, like a drain) drains them and then terminates
/// exactly their instances with a decrement of desired — a managed node
/// group's in the Auto Scaling group EKS made for it — (audited
/// `capacity.scale_in`). In a
/// protected environment it needs an admin and, unless a dry run,
/// `"confirm": "<env name>"`.
/// Audited (action `capacity.change`, before/after).
#[utoipa::path(
    patch, path = "/api/envs/{env}/capacity/{kind}/{name}", tag = "capacity",
    params(
        EnvPath,
        ("kind" = GroupKind, Path, description = "`nodegroup` (EKS managed) or `asg` (self-managed Auto Scaling group)"),
        ("name" = String, Path, description = "The group's name"),
    ),
    request_body = GroupChange,
    responses(
        (status = 200, description = "Done (or, with dry_run, what would be done; for a scale-in, the nodes it removes)", body = GroupChanged),
        (status = 202, description = "A scale-in run, started (its id in `run`)", body = GroupChanged),
        (status = 400, description = "A protected environment not confirmed, or a malformed body", body = mezame_shared::error::ErrorBody),
        (status = 403, description = "Not allowed (another role; changing the awake sizes of an asleep environment needs an admin)", body = mezame_shared::error::ErrorBody),
        (status = 404, description = "Unknown environment, or no such group in its cluster", body = mezame_shared::error::ErrorBody),
        (status = 409, description = "A run is active in the environment", body = mezame_shared::error::ErrorBody),
        (status = 422, description = "Sizes or mix the group cannot take, with why; nothing changed", body = mezame_shared::error::ErrorBody),
        (status = 503, description = "AWS could not be asked or refused", body = mezame_shared::error::ErrorBody),
    )
)]
pub async fn patch_capacity_group(
    State(app): State<App>,
    env: EnvPath,
    Path((_, kind, name)): Path<(String, GroupKind, String)>,
    Caller(who): Caller,
    crate::http::extract::Json(change): crate::http::extract::Json<GroupChange>,
) -> Result<(StatusCode, Json<GroupChanged>), ApiError> {
    let e = &env.env;
    let scope = Scope::Env { name: &e.config.name, protected: e.config.protected };
    let may_configure = authorize(&app.auth.access, Some(&who), Perm::Configure, scope).is_ok();
    let changer = Changer { name: &who.name, may_configure };
    let changed = app.capacities.change(&app.lifecycle, (e, &env.live), (kind, &name), change, changer).await?;
    let status = if changed.run.is_some() { StatusCode::ACCEPTED } else { StatusCode::OK };
    Ok((status, Json(changed)))
}
