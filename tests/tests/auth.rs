//! Sign-in and permissions, tried as an attacker would, against the real
//! release binary and the sandbox's real OpenID provider (npm oidc-provider):
//! the code flow with PKCE through the provider's page, sessions shared (and
//! revoked) across replicas on PostgreSQL, forged headers, tokens signed by
//! another key, expired or for another audience, API tokens, cross-site
//! requests, and the routes' permissions walked from the OpenAPI document.

use mezame_e2e::signin::{self, foreign_signed, issuer, now, provider_signed, sandbox_auth_toml, sign_in, user};
use mezame_e2e::{ADMIN, Server, VIEWER, client, client_as, fresh_postgres, sandbox_env_toml};
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

async fn status(req: reqwest::RequestBuilder) -> (u16, Value) {
    let r = req.send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

fn with_cookie(url: &str, session: &str) -> reqwest::RequestBuilder {
    mezame_e2e::anonymous().get(url).header("cookie", format!("mezame_session={session}"))
}

/// A server of dev (and prod) signing people in through the sandbox's provider.
fn oidc_server(extra: &str) -> Server {
    Server::start(&format!("{extra}\n{}{}{}", sandbox_auth_toml(&["dev", "prod"]), sandbox_env_toml("dev"), sandbox_env_toml("prod")))
}

#[tokio::test]
async fn sign_in_through_the_provider_then_sessions_are_shared_and_revoked_across_replicas() {
    let db = fresh_postgres().await;
    let a = oidc_server(&format!("database = \"{db}\""));
    let b = a.replica();
    let omar = user("operator");

    // A wrong password gets no session.
    let refused = sign_in(&a.base, &omar.name, "not-the-password").await;
    assert!(refused.as_ref().is_err_and(|e| e.contains("wrong password")), "{:?}", refused.as_ref().err());

    let signed = sign_in(&a.base, &omar.name, &omar.password).await.expect("signed in");
    println!("login round trip (HTTP, panel → provider → panel): {} ms", signed.elapsed.as_millis());
    assert_eq!(signed.landed, a.url("/envs"), "back where the sign-in started");
    let (s, me) = status(with_cookie(&a.url("/api/me"), &signed.session)).await;
    assert_eq!(s, 200, "{me}");
    assert_eq!((me["name"].as_str(), me["via"].as_str()), (Some("omar"), Some("session")));
    assert_eq!(me["groups"], json!(["developers"]));
    assert_eq!(me["roles"], json!([{"env": "dev", "role": "operator"}, {"env": "prod", "role": "viewer"}]));

    // The other replica knows the session (one database).
    let (s, me_b) = status(with_cookie(&b.url("/api/me"), &signed.session)).await;
    assert_eq!((s, me_b["name"].as_str()), (200, Some("omar")));

    // A sign-in cannot be finished in another browser: the state cookie binds it.
    let http = mezame_e2e::http_builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let start = http.get(a.url("/auth/login")).send().await.unwrap();
    let location = start.headers()["location"].to_str().unwrap().to_string();
    let state = reqwest::Url::parse(&location).unwrap().query_pairs().find(|(k, _)| k == "state").unwrap().1.to_string();
    let (s, body) = status(http.get(a.url(&format!("/auth/callback?code=stolen&state={state}")))).await;
    assert_eq!(s, 401, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("not started in this browser"), "{body}");
    // Nor sent elsewhere: return_to stays on this site.
    let start = http.get(a.url("/auth/login?return_to=https%3A%2F%2Fevil.example%2F")).send().await.unwrap();
    assert_eq!(start.status().as_u16(), 303);
    let away = signin::sign_in_from(&a.base, "//evil.example/x", &omar.name, &omar.password).await.unwrap();
    assert_eq!(away.landed, a.url("/"), "an off-site return_to lands on the panel's home");

    // Sign out on replica b, just after a checked the session (a remembers
    // a checked credential for up to a second): gone on b at once, on a
    // within that second.
    assert_eq!(status(with_cookie(&a.url("/api/me"), &signed.session)).await.0, 200);
    let (s, _) = status(
        mezame_e2e::anonymous().post(b.url("/auth/logout")).header("cookie", format!("mezame_session={}", signed.session)).json(&json!({})),
    )
    .await;
    assert_eq!(s, 200);
    let signed_out = std::time::Instant::now(); // the bound: remembered::REMEMBER_FOR (1 s)
    assert_eq!(status(with_cookie(&b.url("/api/me"), &signed.session)).await.0, 401, "signed out on b: refused there at once");
    let body = loop {
        let (s, body) = status(with_cookie(&a.url("/api/me"), &signed.session)).await;
        if s == 401 {
            break body;
        }
        assert_eq!(s, 200, "{body}");
        assert!(
            signed_out.elapsed() < Duration::from_secs(3),
            "a still takes the session {:?} after the sign-out on b",
            signed_out.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    println!("sign-out on b refused on a after {} ms", signed_out.elapsed().as_millis());
    assert!(body["error"]["message"].as_str().unwrap().contains("sign in"), "says how to get in: {body}");
}

#[tokio::test]
async fn identity_comes_only_from_what_is_verified() {
    let server = oidc_server("");
    let http = mezame_e2e::anonymous();
    let url = server.url("/api/envs");
    // No credential, a forged proxy header (no trusted_proxies): 401.
    assert_eq!(status(http.get(&url)).await.0, 401);
    let (s, body) = status(http.get(&url).header("x-forwarded-user", "ada").header("x-forwarded-groups", "sre")).await;
    assert_eq!(s, 401, "a bare X-Forwarded-User is nobody: {body}");

    let aud = "mezame";
    let good = json!({"iss": issuer(), "aud": aud, "sub": "ada", "preferred_username": "ada", "groups": ["sre"], "exp": now() + 300, "iat": now()});
    // An ID token of the issuer, as a proxy passes it: ada, admin.
    let (s, me) = status(http.get(server.url("/api/me")).bearer_auth(provider_signed(&good).await)).await;
    assert_eq!((s, me["name"].as_str(), me["via"].as_str()), (200, Some("ada"), Some("id_token")), "{me}");
    assert_eq!(me["roles"][1], json!({"env": "prod", "role": "admin"}));
    // Signed by a key the issuer does not publish (with or without its kid).
    let kid = {
        let jwks: Value = mezame_e2e::anonymous().get(format!("{}/jwks", issuer())).send().await.unwrap().json().await.unwrap();
        jwks["keys"][0]["kid"].as_str().unwrap().to_string()
    };
    for forged in [foreign_signed(&good, Some(kid)), foreign_signed(&good, Some("attacker-key".into())), foreign_signed(&good, None)] {
        let (s, body) = status(http.get(&url).bearer_auth(&forged)).await;
        assert_eq!(s, 401, "a token signed by another key: {body}");
    }
    // HMAC with the client secret, a well-known algorithm confusion.
    let secret = mezame_sandbox::oidc::Identities::ensure(&mezame_e2e::sandbox()).unwrap().client_secret;
    let hmac = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &good,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap();
    let (s, body) = status(http.get(&url).bearer_auth(&hmac)).await;
    assert_eq!(s, 401, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("not accepted"), "{body}");
    // Expired, another audience, another issuer: 401, each saying why.
    for (claims, why) in [
        (json!({"exp": now() - 600}), "ExpiredSignature"),
        (json!({"aud": "another-client"}), "InvalidAudience"),
        (json!({"iss": "https://evil.example"}), "InvalidIssuer"),
    ] {
        let mut c = good.clone();
        for (k, v) in claims.as_object().unwrap() {
            c[k] = v.clone();
        }
        let (s, body) = status(http.get(&url).bearer_auth(provider_signed(&c).await)).await;
        assert_eq!(s, 401, "{why}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().contains(why), "{why}: {body}");
    }
    // An unknown API token.
    assert_eq!(status(http.get(&url).bearer_auth("mzm_not_a_token")).await.0, 401);

    // X-Forwarded-User is believed only from trusted_proxies.
    let behind = Server::start(&format!("[auth]\ntrusted_proxies = [\"127.0.0.1/32\"]\n{}", sandbox_env_toml("dev")));
    let (s, me) = status(
        mezame_e2e::anonymous().get(behind.url("/api/me")).header("x-forwarded-user", "carla").header("x-forwarded-groups", "qa, ops"),
    )
    .await;
    assert_eq!((s, me["name"].as_str(), me["via"].as_str()), (200, Some("carla"), Some("proxy")), "{me}");
    assert_eq!(me["groups"], json!(["qa", "ops"]));
    let elsewhere = Server::start(&format!("[auth]\ntrusted_proxies = [\"10.0.0.0/8\"]\n{}", sandbox_env_toml("dev")));
    assert_eq!(
        status(mezame_e2e::anonymous().get(elsewhere.url("/api/me")).header("x-forwarded-user", "carla")).await.0,
        401,
        "127.0.0.1 is not 10/8"
    );
}

#[tokio::test]
async fn behind_an_alb_its_signed_header_names_the_user_and_nothing_else_does() {
    let alb = signin::FakeAlb::start();
    let arn = "arn:aws:elasticloadbalancing:eu-west-1:111111111111:loadbalancer/app/mezame/0123456789abcdef";
    let server = Server::start(&format!(
        "[auth]\n[auth.alb]\nregion = \"eu-west-1\"\nkeys_url = \"{}\"\nsigners = [\"{arn}\"]\n\
         [[auth.bind]]\nsubject = \"group:sre\"\nrole = \"admin\"\n{}",
        alb.keys_url,
        sandbox_env_toml("dev")
    ));
    let me = |data: String| mezame_e2e::anonymous().get(server.url("/api/me")).header("x-amzn-oidc-data", data);
    let claims =
        json!({"sub": "1234", "email": "ada@example.com", "groups": ["sre"], "exp": now() + 120, "iss": "https://login.example.com"});
    let (s, body) = status(me(alb.sign(arn, &claims))).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!((body["name"].as_str(), body["via"].as_str()), (Some("ada@example.com"), Some("alb")));
    assert_eq!(body["roles"], json!([{"env": "dev", "role": "admin"}]));
    // Another load balancer, an expired token, a key the server does not have: 401.
    let (s, body) = status(me(alb.sign("arn:aws:elasticloadbalancing:eu-west-1:999999999999:loadbalancer/app/evil/1", &claims))).await;
    assert_eq!(s, 401, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("not one of auth.alb.signers"), "{body}");
    let mut expired = claims.clone();
    expired["exp"] = json!(now() - 600);
    assert_eq!(status(me(alb.sign(arn, &expired))).await.0, 401);
    let other = signin::FakeAlb::start();
    let (s, body) = status(me(other.sign(arn, &claims))).await;
    assert_eq!(s, 401, "signed by a key the load balancer's key server does not serve: {body}");
}

#[tokio::test]
async fn api_tokens_are_made_by_people_scoped_shown_once_and_revocable() {
    let server = oidc_server("");
    let omar = user("operator");
    let signed = sign_in(&server.base, &omar.name, &omar.password).await.unwrap();
    let as_omar = |m: Method, path: &str| {
        mezame_e2e::anonymous().request(m, server.url(path)).header("cookie", format!("mezame_session={}", signed.session))
    };

    // Beyond omar's role (admin), or in an unknown environment: refused, nothing made.
    let (s, body) =
        status(as_omar(Method::POST, "/api/tokens").json(&json!({"name": "x", "role": "admin", "envs": ["dev"], "expires_in_days": 7})))
            .await;
    assert_eq!(s, 400, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("beyond yours"), "{body}");
    let (s, _) =
        status(as_omar(Method::POST, "/api/tokens").json(&json!({"name": "x", "role": "operator", "envs": ["*"], "expires_in_days": 7})))
            .await;
    assert_eq!(s, 400, "operator in prod is beyond omar (a viewer there)");
    let (s, _) = status(
        as_omar(Method::POST, "/api/tokens").json(&json!({"name": "x", "role": "viewer", "envs": ["staging"], "expires_in_days": 0})),
    )
    .await;
    assert_eq!(s, 400);
    let (_, list) = status(as_omar(Method::GET, "/api/tokens")).await;
    assert!(list["tokens"].as_array().unwrap().iter().all(|t| t["from_config"] == json!(true)), "only the configuration's: {list}");

    let (s, made) = status(
        as_omar(Method::POST, "/api/tokens")
            .json(&json!({"name": "ci-wake-dev", "role": "operator", "envs": ["dev"], "expires_in_days": 30})),
    )
    .await;
    assert_eq!(s, 201, "{made}");
    let token = made["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("mzm_"));
    let id = made["info"]["id"].as_str().unwrap().to_string();
    // It acts as omar, operator in dev only.
    let ci = client_as(&token);
    let (s, me) = status(ci.get(server.url("/api/me"))).await;
    assert_eq!((s, me["name"].as_str(), me["via"].as_str()), (200, Some("omar"), Some("token")));
    assert_eq!(me["roles"], json!([{"env": "dev", "role": "operator"}, {"env": "prod", "role": null}]));
    assert_eq!(status(ci.get(server.url("/api/envs/prod/topology"))).await.0, 403, "not scoped to prod");
    // A token cannot make tokens.
    let (s, body) =
        status(ci.post(server.url("/api/tokens")).json(&json!({"name": "y", "role": "viewer", "envs": ["dev"], "expires_in_days": 1})))
            .await;
    assert_eq!(s, 403, "{body}");
    // Listed with its last use, never its secret; the audit log has no secret either.
    let (_, list) = status(as_omar(Method::GET, "/api/tokens")).await;
    let listed = list["tokens"].as_array().unwrap().iter().find(|t| t["id"] == id.as_str()).unwrap().clone();
    assert!(listed["last_used_at"].is_string(), "{listed}");
    assert!(!list.to_string().contains(&token[4..]), "the secret is never listed");
    let (_, audit) = status(client_as(&user("admin").token).get(server.url("/api/audit"))).await;
    assert!(!audit.to_string().contains(&token[4..]), "nor audited");
    assert!(audit["entries"].as_array().unwrap().iter().any(|e| e["action"] == "token.create" && e["actor"] == "omar"));
    // Revoked: refused at once.
    let (s, _) = status(as_omar(Method::DELETE, &format!("/api/tokens/{id}")).header("content-type", "application/json")).await;
    assert_eq!(s, 200);
    let (s, body) = status(ci.get(server.url("/api/me"))).await;
    assert_eq!(s, 401);
    assert!(body["error"]["message"].as_str().unwrap().contains("revoked"), "{body}");
}

/// Fills a path's parameters with real or harmless values.
fn fill(path: &str) -> String {
    path.replace("{env}", "dev")
        .replace("{kind}", "asg")
        .replace("{node}", "no-such-node")
        .replace("{namespace}", "platform")
        .replace("{name}", "mail-notification")
        .replace("{id}", "999999")
        .replace("{ms}", "order-service")
}

#[tokio::test]
async fn every_route_declares_a_permission_and_mutations_refuse_anonymous_and_viewers() {
    let server = Server::start(&format!("debug_routes = true\n{}{}", sandbox_env_toml("dev"), sandbox_env_toml("prod")));
    let (s, doc) = status(client().get(server.url("/api/openapi.json"))).await;
    assert_eq!(s, 200);
    assert_eq!(status(mezame_e2e::anonymous().get(server.url("/api/openapi.json"))).await.0, 401, "even the document needs a sign-in");
    let (_, power_before) = status(client().get(server.url("/api/envs/dev/power"))).await;
    let anonymous = mezame_e2e::anonymous();
    let viewer = client_as(VIEWER);
    let mut checked = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let perm = op["x-mezame-permission"].as_str().unwrap_or_else(|| panic!("{method} {path} declares no permission"));
            let m: Method = method.to_uppercase().parse().unwrap();
            let url = server.url(&fill(path));
            let send = |c: &reqwest::Client| {
                let r = c.request(m.clone(), &url);
                if m == Method::GET { r } else { r.json(&json!({})) }
            };
            if perm == "public" {
                assert!(m == Method::GET, "{method} {path}: a public mutation");
                continue;
            }
            if perm == "signed" {
                // No sign-in, a signature instead: unsigned, anyone is refused (here webhooks are off: 404).
                for c in [&anonymous, &viewer] {
                    let (s, body) = status(send(c)).await;
                    assert!(s == 401 || s == 404, "unsigned {method} {path}: {body}");
                }
                continue;
            }
            let (s, body) = status(send(&anonymous)).await;
            assert_eq!(s, 401, "anonymous {method} {path}: {body}");
            assert!(body["error"]["message"].as_str().unwrap().contains("Bearer"), "says how to sign in: {body}");
            if m != Method::GET && perm != "signed-in" {
                let (s, body) = status(send(&viewer)).await;
                assert_eq!(s, 403, "viewer {method} {path} ({perm}): {body}");
                let message = body["error"]["message"].as_str().unwrap();
                assert!(message.contains("e2e-viewer") && message.contains("[[auth.bind]]"), "says who and how: {message}");
                checked += 1;
            }
        }
    }
    assert!(checked >= 9, "mutating routes walked: {checked}");
    // Nothing changed: no audit entry, no run, the same settings.
    let (_, audit) = status(client().get(server.url("/api/audit"))).await;
    assert_eq!(audit["entries"], json!([]), "{audit}");
    for env in ["dev", "prod"] {
        let (_, runs) = status(client().get(server.url(&format!("/api/envs/{env}/runs")))).await;
        assert_eq!(runs["runs"], json!([]));
    }
    let (_, power_after) = status(client().get(server.url("/api/envs/dev/power"))).await;
    assert_eq!(power_before["settings"], power_after["settings"]);
}

#[tokio::test]
async fn production_cannot_be_scaled_to_zero_and_settings_only_narrow_the_configuration() {
    let server = Server::start(&format!("{}{}", sandbox_env_toml("dev"), sandbox_env_toml("prod")));
    let admin = client_as(ADMIN);
    let prod_moto = mezame_e2e::cluster::aws("prod").await;
    let sizes = || async {
        let ng = prod_moto.eks.describe_nodegroup().cluster_name("platform-prod").nodegroup_name("general").send().await.unwrap();
        let s = ng.nodegroup().unwrap().scaling_config().unwrap().clone();
        (s.min_size(), s.desired_size(), s.max_size())
    };
    let before = sizes().await;
    // The two requests of the issue, even as an admin.
    let zero =
        json!({"eks_cluster": "platform-prod", "capacity": [{"kind": "nodegroup", "name": "general", "min": 0, "desired": 0, "max": 20}]});
    let (s, body) = status(admin.put(server.url("/api/envs/prod/power")).json(&zero)).await;
    assert_eq!(s, 403, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("prod is protected"), "{body}");
    let (s, body) = status(admin.post(server.url("/api/envs/prod/wake")).json(&json!({}))).await;
    assert_eq!(s, 403, "{body}");
    let (s, _) = status(mezame_e2e::anonymous().put(server.url("/api/envs/prod/power")).json(&zero)).await;
    assert_eq!(s, 401);
    assert_eq!(sizes().await, before, "prod unchanged in AWS");
    let (_, runs) = status(admin.get(server.url("/api/envs/prod/runs"))).await;
    assert_eq!(runs["runs"], json!([]));

    // Run now in prod: an admin who confirms by the environment's name.
    mezame_e2e::eventually("prod's CronJobs in the panel's cache", Duration::from_secs(60), || async {
        let (_, list) = status(admin.get(server.url("/api/envs/prod/cronjobs"))).await;
        list["cronjobs"].as_array().is_some_and(|c| c.iter().any(|c| c["name"] == "mail-notification")).then_some(())
    })
    .await;
    let run_now = server.url("/api/envs/prod/cronjobs/platform/mail-notification/run");
    let (s, body) = status(client_as(mezame_e2e::OPERATOR).post(&run_now).json(&json!({"confirm": "prod"}))).await;
    assert_eq!(s, 403, "an operator in a protected environment: {body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("prod is protected"), "{body}");
    let prod_jobs: kube::Api<k8s_openapi::api::batch::v1::Job> = kube::Api::namespaced(mezame_e2e::kube("prod").await, "platform");
    let jobs_before = prod_jobs.list(&Default::default()).await.unwrap().items.len();
    for unconfirmed in [json!({}), json!({"confirm": "dev"})] {
        let (s, body) = status(admin.post(&run_now).json(&unconfirmed)).await;
        assert_eq!(s, 400, "{unconfirmed}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().contains("{\"confirm\": \"prod\"}"), "says how: {body}");
    }
    assert_eq!(prod_jobs.list(&Default::default()).await.unwrap().items.len(), jobs_before, "no Job made unconfirmed");
    let (s, body) = status(admin.post(&run_now).json(&json!({"confirm": "prod"}))).await;
    assert_eq!(s, 201, "{body}");
    assert!(prod_jobs.get(body["job"].as_str().unwrap()).await.is_ok(), "the Job exists in prod");

    // dev: settings may only narrow what the configuration allows.
    let (_, power) = status(admin.get(server.url("/api/envs/dev/power"))).await;
    let good = power["settings"].clone();
    let dev_moto = mezame_e2e::cluster::aws("dev").await;
    dev_moto
        .rds
        .create_db_instance()
        .db_instance_identifier("someone-elses-db")
        .db_instance_class("db.t3.micro")
        .engine("postgres")
        .master_username("x")
        .master_user_password("password123")
        .allocated_storage(20)
        .send()
        .await
        .ok();
    let mut cases = Vec::new();
    let mut other_cluster = good.clone();
    other_cluster["eks_cluster"] = json!("platform-prod");
    cases.push((other_cluster, "not dev's cluster"));
    let mut untagged = good.clone();
    untagged["rds"] = json!(["someone-elses-db"]);
    cases.push((untagged, "neither listed"));
    let mut bad_ns = good.clone();
    bad_ns["namespaces"] = json!(["platform", "Kube_System"]);
    cases.push((bad_ns, "DNS-1123"));
    let mut no_nodes = good.clone();
    for g in no_nodes["capacity"].as_array_mut().unwrap() {
        g["min"] = json!(0);
        g["desired"] = json!(0);
    }
    cases.push((no_nodes, "without a node"));
    for (settings, why) in cases {
        let (s, body) = status(admin.put(server.url("/api/envs/dev/power")).json(&settings)).await;
        assert_eq!(s, 422, "{why}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().contains(why), "{why}: {body}");
    }
    let (_, after) = status(admin.get(server.url("/api/envs/dev/power"))).await;
    assert_eq!(after["settings"], good, "nothing stored");
    // An operator may not change settings (admin); the config's own settings pass for an admin.
    let (s, _) = status(client_as(mezame_e2e::OPERATOR).put(server.url("/api/envs/dev/power")).json(&good)).await;
    assert_eq!(s, 403);
    let (s, body) = status(admin.put(server.url("/api/envs/dev/power")).json(&good)).await;
    assert_eq!(s, 200, "{body}");
}

#[tokio::test]
async fn cross_site_requests_are_refused_and_answers_carry_security_headers() {
    let server = Server::start(&sandbox_env_toml("dev"));
    let admin = client_as(ADMIN);
    let sleep = server.url("/api/envs/dev/sleep");
    // What a form on another site sends (the browser adds Origin).
    let (s, body) = status(
        admin.post(&sleep).header("origin", "http://evil.example").header("content-type", "application/x-www-form-urlencoded").body("x=1"),
    )
    .await;
    assert_eq!(s, 403, "{body}");
    assert_eq!(body["error"]["code"], "cross_site");
    let (s, _) = status(admin.post(&sleep).header("sec-fetch-site", "cross-site").json(&json!({}))).await;
    assert_eq!(s, 403, "Sec-Fetch-Site: cross-site");
    let (s, _) = status(admin.post(&sleep).header("origin", "null").json(&json!({}))).await;
    assert_eq!(s, 403, "an opaque origin");
    // Same origin but not JSON (a same-site form): 415.
    let (s, body) = status(admin.post(&sleep).header("origin", &server.base).header("content-type", "text/plain").body("{}")).await;
    assert_eq!(s, 415, "{body}");
    let (_, runs) = status(admin.get(server.url("/api/envs/dev/runs"))).await;
    assert_eq!(runs["runs"], json!([]), "no run started");

    for path in ["/", "/api/health"] {
        let r = mezame_e2e::anonymous().get(server.url(path)).send().await.unwrap();
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval'")
                && csp.contains("frame-ancestors 'none'")
                && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "no-referrer");
    }
    // /api/envs shows no configuration path, server URL or credential.
    let (_, envs) = status(admin.get(server.url("/api/envs"))).await;
    let text = envs.to_string();
    for leak in ["config_path", "kubeconfig", "127.0.0.1", "endpoint", "secret"] {
        assert!(!text.contains(leak), "{leak} in {text}");
    }
}

#[tokio::test]
async fn sign_in_off_only_on_loopback_and_said_on_every_page() {
    let s = Server::start_without_config();
    let (status_code, me) = status(mezame_e2e::anonymous().get(s.url("/api/me"))).await;
    assert_eq!(status_code, 200);
    assert!(me["banner"].as_str().unwrap().contains("Sign-in is off"), "{me}");
    let out = std::process::Command::new(mezame_e2e::mezame_bin())
        .args(["serve", "--listen", "0.0.0.0:0"])
        .env("MEZAME_AUTH", "none")
        .env("MEZAME_DATABASE", tempfile::tempdir().unwrap().path().join("m.db"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("refused on 0.0.0.0:0"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = std::process::Command::new(mezame_e2e::mezame_bin())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("MEZAME_DATABASE", tempfile::tempdir().unwrap().path().join("m.db"))
        .env_remove("MEZAME_AUTH")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "no [auth] at all: refused");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no sign-in is configured"));
}
