//! An endpoint's security policy: what someone who is not an admin may ask
//! of that endpoint's host (`GET|PUT /api/v1/endpoints/{ep}/policy`). The
//! default, a new endpoint's, denies all of it.

use serde::{Deserialize, Serialize};

/// The most bind-mount roots one policy lists.
pub const MAX_BIND_MOUNT_ROOTS: usize = 64;

/// The Linux capabilities by the names `--cap-add` and compose's `cap_add`
/// use (without `CAP_`).
pub const CAPABILITIES: &[&str] = &[
    "AUDIT_CONTROL",
    "AUDIT_READ",
    "AUDIT_WRITE",
    "BLOCK_SUSPEND",
    "BPF",
    "CHECKPOINT_RESTORE",
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "IPC_LOCK",
    "IPC_OWNER",
    "KILL",
    "LEASE",
    "LINUX_IMMUTABLE",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "MKNOD",
    "NET_ADMIN",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_RAW",
    "PERFMON",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYSLOG",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_CHROOT",
    "SYS_MODULE",
    "SYS_NICE",
    "SYS_PACCT",
    "SYS_PTRACE",
    "SYS_RAWIO",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "WAKE_ALARM",
];

/// A capability as written (`sys_admin`, `CAP_SYS_ADMIN`) by its plain name.
pub fn capability_name(written: &str) -> String {
    let upper = written.trim().to_ascii_uppercase();
    upper.strip_prefix("CAP_").unwrap_or(&upper).to_string()
}

/// What non-admins may use on one endpoint. Admins may use everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default)]
pub struct EndpointPolicy {
    /// Bind mounts of host paths under one of `bind_mount_roots` (and the
    /// `local` volume driver's `type=none,o=bind` volumes).
    pub allow_bind_mounts: bool,
    /// Absolute, normalised host path prefixes binds may use.
    pub bind_mount_roots: Vec<String>,
    pub allow_privileged: bool,
    /// The host's network, PID, IPC, UTS, user and cgroup namespaces, and
    /// the namespaces of containers outside the caller's own stack.
    pub allow_host_namespaces: bool,
    /// Host devices, device cgroup rules and device requests (GPUs).
    pub allow_devices: bool,
    /// Capabilities `cap_add` may name, such as `NET_ADMIN`.
    pub allowed_capabilities: Vec<String>,
    pub allow_sysctls: bool,
    pub allow_security_opt: bool,
    pub allow_cgroup_parent: bool,
    /// Operators manage only the stacks and containers that they or a
    /// member of one of their teams created; the rest they only see.
    pub own_resources_only: bool,
}

impl EndpointPolicy {
    /// Checks an admin's policy: roots absolute and normalised (at most
    /// [`MAX_BIND_MOUNT_ROOTS`]), capabilities known. The error names the field.
    pub fn validate(&self) -> Result<(), String> {
        if self.bind_mount_roots.len() > MAX_BIND_MOUNT_ROOTS {
            return Err(format!(
                "`bind_mount_roots`: at most {MAX_BIND_MOUNT_ROOTS} roots"
            ));
        }
        for root in &self.bind_mount_roots {
            if !root.starts_with('/') {
                return Err(format!(
                    "`bind_mount_roots`: {root} is not an absolute path"
                ));
            }
            match normalize_path(root) {
                Some(n) if n == *root => {}
                Some(n) => return Err(format!("`bind_mount_roots`: write {root} as {n}")),
                None => return Err(format!("`bind_mount_roots`: {root} climbs above /")),
            }
        }
        for cap in &self.allowed_capabilities {
            if !CAPABILITIES.contains(&cap.as_str()) {
                return Err(format!(
                    "`allowed_capabilities`: {cap} is not a capability (write names like NET_ADMIN)"
                ));
            }
        }
        Ok(())
    }

    /// Whether the (normalised) `path` is one of the roots or under one.
    pub fn root_of(&self, path: &str) -> Option<&str> {
        self.bind_mount_roots
            .iter()
            .find(|root| is_under(path, root))
            .map(String::as_str)
    }
}

/// Whether `path` is `root` or inside it; both absolute and normalised.
pub fn is_under(path: &str, root: &str) -> bool {
    if root == "/" {
        return path.starts_with('/');
    }
    path == root
        || path
            .strip_prefix(root)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// An absolute path with `.`, `..`, repeated and trailing `/` resolved
/// lexically; `None` when it is not absolute or `..` climbs above `/`.
pub fn normalize_path(path: &str) -> Option<String> {
    if !path.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(format!("/{}", parts.join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_denies_all() {
        let p = EndpointPolicy::default();
        assert!(!p.allow_bind_mounts && !p.allow_privileged && !p.allow_host_namespaces);
        assert!(p.bind_mount_roots.is_empty() && p.allowed_capabilities.is_empty());
        let parsed: EndpointPolicy = serde_json::from_str("{}").expect("an empty policy");
        assert_eq!(parsed, p);
    }

    #[test]
    fn paths_are_normalised_and_roots_checked() {
        assert_eq!(
            normalize_path("/srv//data/./x/../y/").as_deref(),
            Some("/srv/data/y")
        );
        assert_eq!(normalize_path("/").as_deref(), Some("/"));
        assert_eq!(normalize_path("/.."), None);
        assert_eq!(normalize_path("srv"), None);
        assert!(is_under("/srv/data/x", "/srv/data"));
        assert!(is_under("/srv/data", "/srv/data"));
        assert!(!is_under("/srv/database", "/srv/data"));
        assert!(is_under("/etc", "/"));
        let bad = |roots: &[&str]| {
            EndpointPolicy {
                bind_mount_roots: roots.iter().map(|r| r.to_string()).collect(),
                ..Default::default()
            }
            .validate()
            .expect_err("refused")
        };
        assert!(bad(&["srv"]).contains("absolute"));
        assert!(bad(&["/srv/../etc"]).contains("write /srv/../etc as /etc"));
        assert!(bad(&["/srv/"]).contains("as /srv"));
        assert!(bad(&vec!["/a"; 65]).contains("at most 64"));
        let caps = EndpointPolicy {
            allowed_capabilities: vec!["NET_ADMIN".into(), "FLY".into()],
            ..Default::default()
        };
        assert!(caps.validate().expect_err("unknown").contains("FLY"));
        assert_eq!(capability_name("cap_sys_admin"), "SYS_ADMIN");
    }
}
