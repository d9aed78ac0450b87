//! What a container spec may ask of the host, checked in one place for
//! every way a spec arrives: the run form, a pasted `docker run` line, an
//! edit, and every service of a compose file when it is saved and when it
//! is deployed (a rollback and an adopted stack included).
//!
//! Admins may use everything. Everyone else is held to the endpoint's
//! [`EndpointPolicy`] (deny all by default): bind mounts only under its
//! roots, after normalising the path and resolving symlinks on berth's own
//! host; berth's data directory and the engine's socket never, except a
//! stack's binds inside its own folder; host namespaces, privileged,
//! capabilities, devices, sysctls, security options and cgroup placement
//! only as the policy allows. A refusal is a 403 naming the field.

pub mod ownership;

use std::path::{Path, PathBuf};

use protocol::{
    capability_name, is_under, normalize_path, ContainerSpec, EndpointPolicy, MountKind, Role,
};

use crate::auth::Principal;
use crate::engine::Engine;
use crate::error::{AppError, AppResult};
use crate::AppState;

/// The engine sockets every host is assumed to have, besides the
/// endpoint's own.
const ENGINE_SOCKETS: &[&str] = &["/var/run/docker.sock", "/run/docker.sock"];

/// Where a spec is checked: the host's paths that are never bound, whether
/// that host is berth's own (so its paths can be resolved), and for a
/// stack its folder and containers.
#[derive(Debug, Clone, Default)]
pub struct SpecContext {
    /// berth's data directory, as given and resolved.
    pub data_dirs: Vec<String>,
    /// The engine's sockets, as given and resolved.
    pub sockets: Vec<String>,
    /// The endpoint's engine runs on berth's host: paths are resolved there.
    pub local_host: bool,
    /// A stack's folder (as given and resolved) and its containers' names.
    pub stack: Option<StackScope>,
}

#[derive(Debug, Clone, Default)]
pub struct StackScope {
    pub folders: Vec<String>,
    pub containers: Vec<String>,
}

impl SpecContext {
    /// The context for specs sent to `engine`.
    pub fn for_engine(state: &AppState, engine: &Engine) -> SpecContext {
        let local_host = engine.url.starts_with("unix://");
        let data_dir = std::path::absolute(&state.config.data_dir)
            .unwrap_or_else(|_| state.config.data_dir.clone());
        let mut sockets: Vec<String> = ENGINE_SOCKETS.iter().map(|s| s.to_string()).collect();
        if let Some(path) = engine.url.strip_prefix("unix://") {
            sockets.push(path.to_string());
        }
        SpecContext {
            data_dirs: both_forms(&data_dir.display().to_string(), true),
            sockets: sockets.iter().flat_map(|s| both_forms(s, true)).collect(),
            local_host,
            stack: None,
        }
    }

    /// The same context for the services of a stack in `folder` whose
    /// containers are `containers`.
    pub fn with_stack(mut self, folder: &Path, containers: Vec<String>) -> SpecContext {
        let folder = std::path::absolute(folder).unwrap_or_else(|_| folder.to_path_buf());
        self.stack = Some(StackScope {
            folders: both_forms(&folder.display().to_string(), true),
            containers,
        });
        self
    }
}

/// The endpoint's policy and the context its specs are checked in.
pub async fn for_endpoint(
    state: &AppState,
    engine: &Engine,
) -> AppResult<(EndpointPolicy, SpecContext)> {
    let policy = state.store.endpoint_policy(&engine.id).await?;
    Ok((policy, SpecContext::for_engine(state, engine)))
}

/// A path normalised, and also resolved on this host when `resolve`.
fn both_forms(path: &str, resolve: bool) -> Vec<String> {
    let Some(n) = normalize_path(path) else {
        return vec![path.to_string()];
    };
    let mut out = vec![n.clone()];
    if resolve {
        let r = resolve_on_host(&n);
        if r != n {
            out.push(r);
        }
    }
    out
}

/// `path` (absolute, normalised) with every symlink of its longest existing
/// prefix resolved: what the engine would bind, even when the last parts
/// do not exist yet (the engine creates them through those symlinks).
fn resolve_on_host(path: &str) -> String {
    let mut existing = PathBuf::from(path);
    let mut rest: Vec<std::ffi::OsString> = Vec::new();
    loop {
        if let Ok(real) = std::fs::canonicalize(&existing) {
            let mut out = real;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return out.display().to_string();
        }
        match (
            existing.file_name().map(|f| f.to_os_string()),
            existing.parent(),
        ) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                existing = parent.to_path_buf();
            }
            _ => return path.to_string(),
        }
    }
}

/// The field a refusal's detail names first (`` `field`: ... ``).
pub fn refused_field(detail: &str) -> Option<&str> {
    detail.strip_prefix('`')?.split('`').next()
}

fn refuse(field: &str, detail: String) -> AppError {
    AppError::Forbidden(format!("`{field}`: {detail}"))
}

/// Whether `who` may run `spec` on an endpoint with `policy`; a refusal
/// names the field, what it asks and what the policy allows (the first of
/// [`spec_refusals`]).
pub fn check_spec(
    who: &Principal,
    policy: &EndpointPolicy,
    spec: &ContainerSpec,
    ctx: &SpecContext,
) -> AppResult<()> {
    match spec_refusals(who, policy, spec, ctx).into_iter().next() {
        Some(refusal) => Err(refusal),
        None => Ok(()),
    }
}

/// Everything in `spec` the policy refuses `who`, each a 403 naming its
/// field: what the run form shows before the user submits.
pub fn spec_refusals(
    who: &Principal,
    policy: &EndpointPolicy,
    spec: &ContainerSpec,
    ctx: &SpecContext,
) -> Vec<AppError> {
    let mut out = Vec::new();
    if who.role >= Role::Admin {
        return out;
    }
    for m in spec.mounts.iter().filter(|m| m.kind == MountKind::Bind) {
        out.extend(check_bind(policy, ctx, "mounts", &m.source, &m.target).err());
    }
    if let Some(n) = spec.network.as_deref() {
        out.extend(check_namespace(policy, ctx, "network", n).err());
    }
    let o = &spec.options;
    if o.privileged && !policy.allow_privileged {
        out.push(refuse(
            "privileged",
            "runs with every capability and every host device; this endpoint's policy does not allow privileged containers".into(),
        ));
    }
    for c in &o.cap_add {
        let name = capability_name(c);
        let allowed = if name == "ALL" {
            policy.allow_privileged
        } else {
            policy.allowed_capabilities.contains(&name)
        };
        if !allowed {
            let allows = if policy.allowed_capabilities.is_empty() {
                "no added capabilities".to_string()
            } else {
                format!("only {}", policy.allowed_capabilities.join(", "))
            };
            out.push(refuse(
                "cap_add",
                format!("adds the capability {name}; this endpoint's policy allows {allows}"),
            ));
        }
    }
    if !policy.allow_devices {
        let deny = |field: &str, what: String| {
            refuse(
                field,
                format!("{what}; this endpoint's policy does not allow devices"),
            )
        };
        if let Some(d) = o.devices.first() {
            out.push(deny("devices", format!("gives the host device {}", d.host)));
        }
        if let Some(r) = o.device_cgroup_rules.first() {
            out.push(deny(
                "device_cgroup_rules",
                format!("allows devices by the rule {r}"),
            ));
        }
        if let Some(r) = o.device_requests.first() {
            let from = if r.driver.is_empty() {
                "a device driver"
            } else {
                &r.driver
            };
            out.push(deny(
                "device_requests",
                format!("requests devices from {from}"),
            ));
        }
        if spec.gpus.is_some() {
            out.push(deny("gpus", "requests GPUs".into()));
        }
    }
    if !policy.allow_sysctls {
        if let Some((k, v)) = o.sysctls.iter().next() {
            out.push(refuse(
                "sysctls",
                format!("sets the kernel parameter {k}={v}; this endpoint's policy does not allow sysctls"),
            ));
        }
    }
    if !policy.allow_security_opt {
        // Only what restricts the container further passes.
        let hardening = |s: &str| {
            matches!(
                s,
                "no-new-privileges" | "no-new-privileges:true" | "no-new-privileges=true"
            )
        };
        if let Some(s) = o.security_opt.iter().find(|s| !hardening(s)) {
            out.push(refuse(
                "security_opt",
                format!("sets the security option {s}; this endpoint's policy does not allow security options"),
            ));
        }
    }
    for (field, value) in [
        ("pid", &o.pid),
        ("ipc", &o.ipc),
        ("uts", &o.uts),
        ("userns_mode", &o.userns_mode),
        ("cgroupns", &o.cgroupns),
    ] {
        if let Some(v) = value {
            out.extend(check_namespace(policy, ctx, field, v).err());
        }
    }
    if let Some(p) = &o.cgroup_parent {
        if !policy.allow_cgroup_parent {
            out.push(refuse(
                "cgroup_parent",
                format!("places the container under the cgroup {p}; this endpoint's policy does not allow that"),
            ));
        }
    }
    for v in &o.volumes_from {
        let container = v.split(':').next().unwrap_or(v);
        if !policy.allow_host_namespaces && !own_container(ctx, container) {
            out.push(refuse(
                "volumes_from",
                format!("mounts the volumes of container {container}, which is not this stack's; this endpoint's policy does not allow that"),
            ));
        }
    }
    out
}

/// The `local` volume driver's options that make a volume a bind of a host
/// path (`type=none,o=bind,device=X`), checked as a bind of X.
pub fn check_volume_options(
    who: &Principal,
    policy: &EndpointPolicy,
    driver: Option<&str>,
    opts: &std::collections::BTreeMap<String, String>,
    ctx: &SpecContext,
    field: &str,
) -> AppResult<()> {
    if who.role >= Role::Admin {
        return Ok(());
    }
    if !matches!(driver, None | Some("local") | Some("")) {
        return Ok(());
    }
    let bind = opts.get("o").is_some_and(|o| {
        o.split(',')
            .any(|part| matches!(part.trim(), "bind" | "rbind"))
    });
    let Some(device) = opts.get("device") else {
        return Ok(());
    };
    if bind || opts.get("type").is_some_and(|t| t == "none") {
        return check_bind(policy, ctx, field, device, "a volume");
    }
    Ok(())
}

/// `container:<x>` is fine when `x` is one of the stack's own containers;
/// the host's namespace and anyone else's need `allow_host_namespaces`.
fn check_namespace(
    policy: &EndpointPolicy,
    ctx: &SpecContext,
    field: &str,
    value: &str,
) -> AppResult<()> {
    if policy.allow_host_namespaces {
        return Ok(());
    }
    if value == "host" {
        return Err(refuse(
            field,
            "shares the host's namespace; this endpoint's policy does not allow host namespaces"
                .into(),
        ));
    }
    if let Some(c) = value.strip_prefix("container:") {
        if !own_container(ctx, c) {
            return Err(refuse(
                field,
                format!("joins the namespace of container {c}, which is not this stack's; this endpoint's policy does not allow that"),
            ));
        }
    }
    Ok(())
}

fn own_container(ctx: &SpecContext, name: &str) -> bool {
    let name = name.trim_start_matches('/');
    ctx.stack
        .as_ref()
        .is_some_and(|s| s.containers.iter().any(|c| c == name))
}

/// A bind of the host path `source`: inside the stack's own folder, or
/// allowed by the policy under one of its roots, and never reaching berth's
/// data directory or the engine's socket (inside them or above them).
fn check_bind(
    policy: &EndpointPolicy,
    ctx: &SpecContext,
    field: &str,
    source: &str,
    target: &str,
) -> AppResult<()> {
    let Some(normal) = normalize_path(source) else {
        return Err(refuse(
            field,
            format!("binds the host path {source}, which is not an absolute path inside /"),
        ));
    };
    // What the engine would bind on this host; a remote host's paths
    // cannot be resolved here, so only the written path counts.
    let forms = if ctx.local_host {
        both_forms(&normal, true)
    } else {
        vec![normal.clone()]
    };
    let binds = format!("binds the host path {source} at {target}");
    if let Some(stack) = &ctx.stack {
        let inside = |p: &String| stack.folders.iter().any(|f| is_under(p, f));
        // Every form must stay inside: a symlink out of the folder is not.
        if forms.iter().any(inside) {
            if forms.iter().all(inside) {
                return Ok(());
            }
            return Err(refuse(
                field,
                format!("{binds}, which leads out of the stack's folder through a symlink"),
            ));
        }
    }
    if !policy.allow_bind_mounts {
        return Err(refuse(
            field,
            format!("{binds}; this endpoint's policy does not allow bind mounts"),
        ));
    }
    for form in &forms {
        let reaches = |p: &String| is_under(form, p) || is_under(p, form);
        if ctx.data_dirs.iter().any(reaches) {
            return Err(refuse(
                field,
                format!("{binds}, which reaches berth's data directory; that is never allowed"),
            ));
        }
        if ctx.sockets.iter().any(reaches) {
            return Err(refuse(
                field,
                format!("{binds}, which reaches the engine's socket; that is never allowed"),
            ));
        }
    }
    let roots: Vec<Vec<String>> = policy
        .bind_mount_roots
        .iter()
        .map(|r| both_forms(r, ctx.local_host))
        .collect();
    let under_a_root = |p: &String| roots.iter().flatten().any(|r| is_under(p, r));
    if !forms.is_empty() && forms.iter().all(under_a_root) {
        return Ok(());
    }
    let allows = if policy.bind_mount_roots.is_empty() {
        "no host paths".to_string()
    } else {
        format!(
            "bind mounts only under {}",
            policy.bind_mount_roots.join(", ")
        )
    };
    let resolved = match forms.get(1) {
        Some(r) => format!(" (resolved: {r})"),
        None => String::new(),
    };
    Err(refuse(
        field,
        format!("{binds}{resolved}; this endpoint's policy allows {allows}"),
    ))
}

/// The id of the container berth runs in, when it runs in one: the
/// hostname Docker gives a container is its id's first 12 characters.
fn own_container_hint() -> Option<String> {
    if !Path::new("/.dockerenv").exists() {
        return None;
    }
    let host = std::fs::read_to_string("/etc/hostname").ok()?;
    let host = host.trim();
    (host.len() >= 12 && host.chars().all(|c| c.is_ascii_hexdigit())).then(|| host.to_string())
}

/// Refuses an exec into berth's own container to everyone but admins;
/// `container_id` is the full id of the container asked for.
pub fn check_exec(who: &Principal, container_id: &str) -> AppResult<()> {
    if who.role >= Role::Admin {
        return Ok(());
    }
    match own_container_hint() {
        Some(short) if container_id.starts_with(&short) => Err(refuse(
            "container",
            "is the container berth runs in; only an admin may run commands there".into(),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use crate::auth::policy::Credential;
    use protocol::{ContainerOptions, MountSpec};

    fn who(role: Role) -> Principal {
        Principal {
            user_id: 1,
            username: "u".into(),
            role,
            user_role: role,
            credential: Credential::Session,
            endpoint: None,
        }
    }

    fn ctx() -> SpecContext {
        SpecContext {
            data_dirs: vec!["/var/lib/berth".into()],
            sockets: vec!["/var/run/docker.sock".into(), "/run/docker.sock".into()],
            local_host: false,
            stack: None,
        }
    }

    fn bind(source: &str) -> ContainerSpec {
        ContainerSpec {
            image: "x".into(),
            mounts: vec![MountSpec {
                kind: MountKind::Bind,
                source: source.into(),
                target: "/h".into(),
                read_only: false,
            }],
            ..Default::default()
        }
    }

    fn refused(policy: &EndpointPolicy, spec: &ContainerSpec, ctx: &SpecContext) -> String {
        check_spec(&who(Role::Operator), policy, spec, ctx)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn admins_pass_and_the_default_denies() {
        let spec = ContainerSpec {
            options: ContainerOptions {
                privileged: true,
                ..Default::default()
            },
            ..bind("/")
        };
        let deny = EndpointPolicy::default();
        assert!(check_spec(&who(Role::Admin), &deny, &spec, &ctx()).is_ok());
        let e = refused(&deny, &spec, &ctx());
        assert!(e.contains("`mounts`") && e.contains("/"), "{e}");
        let plain = ContainerSpec {
            image: "x".into(),
            ..Default::default()
        };
        assert!(check_spec(&who(Role::Operator), &deny, &plain, &ctx()).is_ok());
    }

    #[test]
    fn binds_are_held_to_the_roots_and_never_reach_the_data_dir_or_socket() {
        let open = EndpointPolicy {
            allow_bind_mounts: true,
            bind_mount_roots: vec!["/".into()],
            ..Default::default()
        };
        for path in [
            "/",
            "/var",
            "/var/lib/berth/berth.db",
            "/run",
            "/var/run/docker.sock",
            "/srv/../var/lib/berth",
        ] {
            let e = refused(&open, &bind(path), &ctx());
            assert!(e.contains("never allowed"), "{path}: {e}");
        }
        assert!(check_spec(&who(Role::Operator), &open, &bind("/srv/x"), &ctx()).is_ok());
        let srv = EndpointPolicy {
            allow_bind_mounts: true,
            bind_mount_roots: vec!["/srv/data".into()],
            ..Default::default()
        };
        assert!(check_spec(&who(Role::Operator), &srv, &bind("/srv/data/a"), &ctx()).is_ok());
        let e = refused(&srv, &bind("/srv/data/../etc"), &ctx());
        assert!(e.contains("only under /srv/data"), "{e}");
        let e = refused(&srv, &bind("/srv/database"), &ctx());
        assert!(e.contains("only under /srv/data"), "{e}");
        let e = refused(&srv, &bind("relative"), &ctx());
        assert!(e.contains("not an absolute path"), "{e}");
    }

    #[test]
    fn a_stack_may_bind_its_own_folder_and_join_its_own_containers() {
        let mut c = ctx();
        c.stack = Some(StackScope {
            folders: vec!["/var/lib/berth/stacks/local/app".into()],
            containers: vec!["app-db-1".into()],
        });
        let deny = EndpointPolicy::default();
        let spec = bind("/var/lib/berth/stacks/local/app/conf");
        assert!(check_spec(&who(Role::Operator), &deny, &spec, &c).is_ok());
        let e = refused(&deny, &bind("/var/lib/berth/stacks/local/app/../../x"), &c);
        assert!(e.contains("`mounts`"), "{e}");
        let open = EndpointPolicy {
            allow_bind_mounts: true,
            bind_mount_roots: vec!["/".into()],
            ..Default::default()
        };
        let e = refused(&open, &bind("/var/lib/berth/stacks/local/app/../../x"), &c);
        assert!(e.contains("data directory"), "{e}");
        let join = |n: &str| ContainerSpec {
            image: "x".into(),
            network: Some(n.into()),
            ..Default::default()
        };
        assert!(check_spec(&who(Role::Operator), &deny, &join("container:app-db-1"), &c).is_ok());
        assert!(refused(&deny, &join("container:other"), &c).contains("`network`"));
        assert!(refused(&deny, &join("host"), &c).contains("`network`"));
    }

    #[test]
    fn each_option_names_its_field() {
        let deny = EndpointPolicy::default();
        let with = |o: ContainerOptions| ContainerSpec {
            image: "x".into(),
            options: o,
            ..Default::default()
        };
        let cases = [
            (
                ContainerOptions {
                    cap_add: vec!["sys_admin".into()],
                    ..Default::default()
                },
                "`cap_add`",
            ),
            (
                ContainerOptions {
                    pid: Some("host".into()),
                    ..Default::default()
                },
                "`pid`",
            ),
            (
                ContainerOptions {
                    security_opt: vec!["apparmor=unconfined".into()],
                    ..Default::default()
                },
                "`security_opt`",
            ),
            (
                ContainerOptions {
                    cgroup_parent: Some("/x".into()),
                    ..Default::default()
                },
                "`cgroup_parent`",
            ),
            (
                ContainerOptions {
                    sysctls: [("net.ipv4.ip_forward".to_string(), "1".to_string())].into(),
                    ..Default::default()
                },
                "`sysctls`",
            ),
        ];
        for (o, field) in cases {
            let e = refused(&deny, &with(o), &ctx());
            assert!(e.contains(field), "{e}");
        }
        let hardened = with(ContainerOptions {
            security_opt: vec!["no-new-privileges:true".into()],
            ..Default::default()
        });
        assert!(check_spec(&who(Role::Operator), &deny, &hardened, &ctx()).is_ok());
        let caps = EndpointPolicy {
            allowed_capabilities: vec!["NET_ADMIN".into()],
            ..Default::default()
        };
        let net = with(ContainerOptions {
            cap_add: vec!["CAP_NET_ADMIN".into()],
            ..Default::default()
        });
        assert!(check_spec(&who(Role::Operator), &caps, &net, &ctx()).is_ok());
    }

    #[test]
    fn a_bind_volume_is_a_bind() {
        let deny = EndpointPolicy::default();
        let opts = [
            ("type".to_string(), "none".to_string()),
            ("o".to_string(), "bind".to_string()),
            ("device".to_string(), "/".to_string()),
        ]
        .into();
        let e = check_volume_options(
            &who(Role::Operator),
            &deny,
            None,
            &opts,
            &ctx(),
            "driver_opts",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("`driver_opts`"), "{e}");
        assert!(
            check_volume_options(&who(Role::Admin), &deny, None, &opts, &ctx(), "driver_opts")
                .is_ok()
        );
    }
}
