//! Writes a container's settings as a compose service, for "docker run to
//! compose" and "export a container as a service".

use std::collections::BTreeMap;

use protocol::{BlkioDeviceRate, ContainerOptions, ContainerSpec, GpuRequest, MountKind};

/// A YAML scalar value, quoted whenever plain style could be misread.
fn q(s: &str) -> String {
    quote(s, true)
}

/// A mapping key: quoted like a value, but `$` stays single because
/// compose interpolates values only, never keys.
fn k(s: &str) -> String {
    quote(s, false)
}

fn quote(s: &str, value: bool) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | '@'))
        // A leading digit, dot or sign can read as a number (`0x10`,
        // `.5`, `1e3`) and a leading `-` as a list item.
        && !s.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '.' | '-'))
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n" | "~"
        )
        && s.parse::<f64>().is_err();
    if plain {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            // Doubled: compose would interpolate it otherwise.
            '$' if value => out.push_str("$$"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A value inside a YAML comment, which ends at the line's end.
fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

/// `[a, b]`, each item quoted as a value.
fn flow(items: &[String]) -> String {
    format!(
        "[{}]",
        items.iter().map(|i| q(i)).collect::<Vec<_>>().join(", ")
    )
}

fn list(out: &mut String, key: &str, items: &[String]) {
    out.push_str(&format!("    {key}: {}\n", flow(items)));
}

/// `key:` and one `k: v` line per entry, at `indent` spaces.
fn mapping(out: &mut String, indent: usize, key: &str, map: &BTreeMap<String, String>) {
    let pad = " ".repeat(indent);
    out.push_str(&format!("{pad}{key}:\n"));
    for (name, v) in map {
        out.push_str(&format!("{pad}  {}: {}\n", k(name), q(v)));
    }
}

/// A service as YAML, with what a whole file must declare at its top level.
struct Emitted {
    body: String,
    /// Named volumes the service mounts.
    volumes: Vec<String>,
    /// A network the container joins that already exists.
    external_network: Option<String>,
}

/// `service_name:` and its settings, indented for a `services:` block.
pub fn service_yaml(service: &str, spec: &ContainerSpec) -> String {
    let e = emit(service, spec);
    let mut out = e.body;
    if !e.volumes.is_empty() {
        out.push_str("# add to the top level:\n# volumes:\n");
        for n in e.volumes {
            out.push_str(&format!("#   {}:\n", k(&n)));
        }
    }
    out
}

/// A whole compose file with one service, ready to save as a stack.
pub fn compose_file(service: &str, spec: &ContainerSpec) -> String {
    let e = emit(service, spec);
    let mut out = String::from("services:\n");
    out.push_str(&e.body);
    if !e.volumes.is_empty() {
        out.push_str("volumes:\n");
        for n in e.volumes {
            out.push_str(&format!("  {}:\n", k(&n)));
        }
    }
    // A network the container joins already exists: declared as external.
    if let Some(n) = e.external_network {
        out.push_str(&format!("networks:\n  {}:\n    external: true\n", k(&n)));
    }
    out
}

fn emit(service: &str, spec: &ContainerSpec) -> Emitted {
    let o = &spec.options;
    let mut out = format!("  {}:\n", k(service));
    out.push_str(&format!("    image: {}\n", q(&spec.image)));
    if let Some(name) = &spec.name {
        out.push_str(&format!("    container_name: {}\n", q(name)));
    }
    if let Some(e) = &spec.entrypoint {
        list(&mut out, "entrypoint", e);
    }
    if let Some(c) = &spec.cmd {
        list(&mut out, "command", c);
    }
    if !spec.env.is_empty() {
        mapping(&mut out, 4, "environment", &spec.env);
    }
    if !spec.ports.is_empty() {
        out.push_str("    ports:\n");
        for p in &spec.ports {
            let mut text = String::new();
            if let Some(ip) = p.host_ip.as_ref().filter(|ip| !ip.is_empty()) {
                text.push_str(&if ip.contains(':') {
                    format!("[{ip}]:")
                } else {
                    format!("{ip}:")
                });
            }
            match (p.host_port, p.host_port_end) {
                (Some(a), Some(b)) if b > a => text.push_str(&format!("{a}-{b}:")),
                (Some(a), _) => text.push_str(&format!("{a}:")),
                (None, _) if !text.is_empty() => text.push(':'),
                _ => {}
            }
            text.push_str(&p.container_port.to_string());
            if p.protocol != "tcp" {
                text.push_str(&format!("/{}", p.protocol));
            }
            out.push_str(&format!("      - {}\n", q(&text)));
        }
    }
    let volumes: Vec<String> = spec
        .mounts
        .iter()
        .filter(|m| m.kind == MountKind::Volume)
        .map(|m| m.source.clone())
        .collect();
    if !spec.mounts.is_empty() {
        out.push_str("    volumes:\n");
        for m in &spec.mounts {
            let ro = if m.read_only { ":ro" } else { "" };
            let text = match m.kind {
                MountKind::Anonymous => format!("{}{ro}", m.target),
                _ => format!("{}:{}{ro}", m.source, m.target),
            };
            out.push_str(&format!("      - {}\n", q(&text)));
        }
    }
    let external_network = networks(&mut out, spec);
    if let Some(r) = &spec.restart {
        out.push_str(&format!("    restart: {}\n", q(r)));
    }
    if let Some(w) = &spec.workdir {
        out.push_str(&format!("    working_dir: {}\n", q(w)));
    }
    if let Some(u) = &spec.user {
        out.push_str(&format!("    user: {}\n", q(u)));
    }
    if let Some(h) = &spec.hostname {
        out.push_str(&format!("    hostname: {}\n", q(h)));
    }
    let labels: BTreeMap<String, String> = spec
        .labels
        .iter()
        .filter(|(k, _)| !k.starts_with("com.docker.compose.") && !k.starts_with("berth."))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !labels.is_empty() {
        mapping(&mut out, 4, "labels", &labels);
    }
    if spec.tty {
        out.push_str("    tty: true\n");
    }
    if spec.interactive {
        out.push_str("    stdin_open: true\n");
    }
    options(&mut out, o);
    deploy(&mut out, spec);
    Emitted {
        body: out,
        volumes,
        external_network,
    }
}

/// `network_mode`, or `networks` with the primary network's fixed
/// addresses; answers the network a whole file declares as external.
fn networks(out: &mut String, spec: &ContainerSpec) -> Option<String> {
    let o = &spec.options;
    let addresses: Vec<(&str, &String)> = [
        ("ipv4_address", &o.ipv4_address),
        ("ipv6_address", &o.ipv6_address),
    ]
    .into_iter()
    .filter_map(|(key, v)| v.as_ref().map(|v| (key, v)))
    .collect();
    // A compose project's own default network is what the file gets anyway.
    let project_default = spec
        .labels
        .get(protocol::COMPOSE_PROJECT_LABEL)
        .map(|p| format!("{p}_default"));
    let (key, external) = match &spec.network {
        Some(n) if matches!(n.as_str(), "host" | "none" | "bridge") => {
            out.push_str(&format!("    network_mode: {}\n", q(n)));
            (None, None)
        }
        Some(n) if Some(n) == project_default.as_ref() => (Some("default".to_string()), None),
        Some(n) => (Some(n.clone()), Some(n.clone())),
        None => (None, None),
    };
    match key {
        Some(key) if !addresses.is_empty() => {
            out.push_str(&format!("    networks:\n      {}:\n", k(&key)));
            for (field, v) in &addresses {
                out.push_str(&format!("        {field}: {}\n", q(v)));
            }
        }
        Some(key) if external.is_some() => {
            out.push_str(&format!("    networks: [{}]\n", q(&key)));
        }
        Some(_) => {}
        None => {
            // The engine takes fixed addresses on user-defined networks only.
            for (field, v) in &addresses {
                out.push_str(&format!(
                    "    # {field} {}: compose sets fixed addresses only on a user-defined network\n",
                    one_line(v)
                ));
            }
        }
    }
    external
}

/// Every [`ContainerOptions`] field as the compose key that reads it back;
/// `files` (secrets and configs) come from a file's own top level instead.
fn options(out: &mut String, o: &ContainerOptions) {
    let line = |out: &mut String, key: &str, value: String| {
        out.push_str(&format!("    {key}: {value}\n"));
    };
    let text = |out: &mut String, key: &str, v: &Option<String>| {
        if let Some(v) = v {
            out.push_str(&format!("    {key}: {}\n", q(v)));
        }
    };
    let number = |out: &mut String, key: &str, v: Option<i64>| {
        if let Some(v) = v {
            out.push_str(&format!("    {key}: {v}\n"));
        }
    };
    let seq = |out: &mut String, key: &str, items: &[String]| {
        if !items.is_empty() {
            list(out, key, items);
        }
    };
    let map = |out: &mut String, key: &str, m: &BTreeMap<String, String>| {
        if !m.is_empty() {
            mapping(out, 4, key, m);
        }
    };

    // Reach into the host.
    if o.privileged {
        line(out, "privileged", "true".into());
    }
    seq(out, "cap_add", &o.cap_add);
    seq(out, "cap_drop", &o.cap_drop);
    let devices: Vec<String> = o
        .devices
        .iter()
        .map(|d| {
            let mut s = d.host.clone();
            for part in [&d.container, &d.permissions] {
                if !part.is_empty() {
                    s.push(':');
                    s.push_str(part);
                }
            }
            s
        })
        .collect();
    seq(out, "devices", &devices);
    seq(out, "device_cgroup_rules", &o.device_cgroup_rules);
    map(out, "sysctls", &o.sysctls);
    seq(out, "security_opt", &o.security_opt);
    text(out, "pid", &o.pid);
    text(out, "ipc", &o.ipc);
    text(out, "uts", &o.uts);
    text(out, "userns_mode", &o.userns_mode);
    text(out, "cgroup", &o.cgroupns);
    text(out, "cgroup_parent", &o.cgroup_parent);
    // A bare name in a compose file is another service of the file; these
    // name containers.
    let volumes_from: Vec<String> = o
        .volumes_from
        .iter()
        .map(|v| format!("container:{v}"))
        .collect();
    seq(out, "volumes_from", &volumes_from);
    seq(out, "external_links", &o.links);

    // The process.
    if let Some(init) = o.init {
        line(out, "init", init.to_string());
    }
    if o.read_only {
        line(out, "read_only", "true".into());
    }
    text(out, "stop_signal", &o.stop_signal);
    match o.stop_timeout {
        Some(t) if t >= 0 => line(out, "stop_grace_period", format!("{t}s")),
        Some(t) => out.push_str(&format!(
            "    # stop_timeout {t}: stop_grace_period cannot say a negative wait\n"
        )),
        None => {}
    }
    if !o.ulimits.is_empty() {
        out.push_str("    ulimits:\n");
        for u in &o.ulimits {
            if u.soft == u.hard {
                out.push_str(&format!("      {}: {}\n", k(&u.name), u.soft));
            } else {
                out.push_str(&format!(
                    "      {}:\n        soft: {}\n        hard: {}\n",
                    k(&u.name),
                    u.soft,
                    u.hard
                ));
            }
        }
    }
    seq(out, "group_add", &o.group_add);
    number(out, "oom_score_adj", o.oom_score_adj);
    if let Some(d) = o.oom_kill_disable {
        line(out, "oom_kill_disable", d.to_string());
    }
    number(out, "pids_limit", o.pids_limit);
    number(out, "shm_size", o.shm_size);
    let tmpfs: Vec<String> = o
        .tmpfs
        .iter()
        .map(|(path, opts)| {
            if opts.is_empty() {
                path.clone()
            } else {
                format!("{path}:{opts}")
            }
        })
        .collect();
    seq(out, "tmpfs", &tmpfs);
    map(out, "storage_opt", &o.storage_opt);
    text(out, "runtime", &o.runtime);
    text(out, "platform", &o.platform);
    text(out, "isolation", &o.isolation);
    map(out, "annotations", &o.annotations);

    // Network (fixed addresses go under the service's network).
    seq(out, "extra_hosts", &o.extra_hosts);
    seq(out, "dns", &o.dns);
    seq(out, "dns_search", &o.dns_search);
    seq(out, "dns_opt", &o.dns_opt);
    text(out, "domainname", &o.domainname);
    text(out, "mac_address", &o.mac_address);
    seq(out, "expose", &o.expose);

    // Logging.
    if o.log_driver.is_some() || !o.log_opts.is_empty() {
        out.push_str("    logging:\n");
        if let Some(d) = &o.log_driver {
            out.push_str(&format!("      driver: {}\n", q(d)));
        }
        if !o.log_opts.is_empty() {
            mapping(out, 6, "options", &o.log_opts);
        }
    }

    // Resources.
    number(out, "cpu_shares", o.cpu_shares);
    number(out, "cpu_period", o.cpu_period);
    number(out, "cpu_quota", o.cpu_quota);
    number(out, "cpu_rt_period", o.cpu_rt_period);
    number(out, "cpu_rt_runtime", o.cpu_rt_runtime);
    text(out, "cpuset", &o.cpuset_cpus);
    if let Some(m) = &o.cpuset_mems {
        out.push_str(&format!(
            "    # cpuset_mems {}: compose has no key for memory nodes; this file leaves it out\n",
            one_line(m)
        ));
    }
    number(out, "mem_reservation", o.memory_reservation);
    number(out, "memswap_limit", o.memory_swap);
    // -1 asks for the kernel's default, which is what no key gives.
    number(
        out,
        "mem_swappiness",
        o.memory_swappiness.filter(|s| (0..=100).contains(s)),
    );
    blkio(out, o);
}

fn blkio(out: &mut String, o: &ContainerOptions) {
    // A weight of 0 leaves the engine's default, as no key does.
    let weight = o.blkio_weight.filter(|w| *w > 0);
    let lists: [(&str, &str, &Vec<BlkioDeviceRate>); 5] = [
        ("weight_device", "weight", &o.blkio_weight_device),
        ("device_read_bps", "rate", &o.device_read_bps),
        ("device_write_bps", "rate", &o.device_write_bps),
        ("device_read_iops", "rate", &o.device_read_iops),
        ("device_write_iops", "rate", &o.device_write_iops),
    ];
    if weight.is_none() && lists.iter().all(|(_, _, l)| l.is_empty()) {
        return;
    }
    out.push_str("    blkio_config:\n");
    if let Some(w) = weight {
        out.push_str(&format!("      weight: {w}\n"));
    }
    for (key, field, rates) in lists {
        if rates.is_empty() {
            continue;
        }
        out.push_str(&format!("      {key}:\n"));
        for r in rates {
            out.push_str(&format!(
                "        - path: {}\n          {field}: {}\n",
                q(&r.path),
                r.rate
            ));
        }
    }
}

/// `deploy.resources`: the CPU and memory limits, and the devices (GPUs)
/// the container reserves.
fn deploy(out: &mut String, spec: &ContainerSpec) {
    let mut devices = String::new();
    if let Some(g) = &spec.gpus {
        let count = match g {
            GpuRequest::All(_) => "all".to_string(),
            GpuRequest::Count(n) => n.to_string(),
        };
        devices.push_str(&format!(
            "            - driver: nvidia\n              count: {count}\n              capabilities: [gpu]\n"
        ));
    }
    for r in &spec.options.device_requests {
        // Neither a count nor ids reads back as every device.
        if r.count == 0 && r.device_ids.is_empty() {
            out.push_str("    # a device request for no devices is left out\n");
            continue;
        }
        let mut fields = Vec::new();
        if !r.driver.is_empty() {
            fields.push(format!("driver: {}", q(&r.driver)));
        }
        if !r.device_ids.is_empty() {
            fields.push(format!("device_ids: {}", flow(&r.device_ids)));
        } else if r.count < 0 {
            fields.push("count: all".into());
        } else {
            fields.push(format!("count: {}", r.count));
        }
        // Compose lists one set of capabilities a device must have.
        let caps = r.capabilities.first().cloned().unwrap_or_default();
        fields.push(format!("capabilities: {}", flow(&caps)));
        for (i, f) in fields.iter().enumerate() {
            let lead = if i == 0 { "- " } else { "  " };
            devices.push_str(&format!("            {lead}{f}\n"));
        }
        if !r.options.is_empty() {
            mapping(&mut devices, 14, "options", &r.options);
        }
        for other in r.capabilities.iter().skip(1) {
            devices.push_str(&format!(
                "              # or capabilities {}: compose takes one set\n",
                flow(other)
            ));
        }
    }
    let limits = spec.memory_bytes.is_some() || spec.nano_cpus.is_some();
    if !limits && devices.is_empty() {
        return;
    }
    out.push_str("    deploy:\n      resources:\n");
    if limits {
        out.push_str("        limits:\n");
        if let Some(n) = spec.nano_cpus {
            out.push_str(&format!("          cpus: \"{}\"\n", n as f64 / 1e9));
        }
        if let Some(m) = spec.memory_bytes {
            out.push_str(&format!("          memory: \"{m}b\"\n"));
        }
    }
    if !devices.is_empty() {
        out.push_str("        reservations:\n          devices:\n");
        out.push_str(&devices);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::parse;
    use protocol::run_command::parse_run_command;

    #[test]
    fn a_docker_run_line_becomes_a_service_compose_reads_back() {
        let line = "docker run -d --name web -p 127.0.0.1:8080:80 -p 53:53/udp -e 'GREETING=hello $USER' -v data:/data -v /srv:/srv:ro --restart unless-stopped -l team=web -w /app --memory 512m --cpus 1.5 busybox:1 sh -c 'echo hi'";
        let spec = parse_run_command(line).expect("parse");
        let yaml = compose_file("web", &spec);
        let file = parse(&yaml, "", "/x").unwrap_or_else(|e| panic!("{e:?}\n{yaml}"));
        let s = &file.services["web"];
        assert_eq!(s.image.as_deref(), Some("busybox:1"));
        assert_eq!(
            s.command,
            Some(vec!["sh".to_string(), "-c".into(), "echo hi".into()])
        );
        assert_eq!(s.environment["GREETING"], "hello $USER");
        assert_eq!(s.ports, spec.ports);
        assert_eq!(s.restart.as_deref(), Some("unless-stopped"));
        assert_eq!(s.labels["team"], "web");
        assert_eq!(s.memory_bytes, Some(512 * 1024 * 1024));
        assert_eq!(s.nano_cpus, Some(1_500_000_000));
        assert_eq!(s.volumes.len(), 2);
        assert!(file.volumes.contains_key("data"));
    }
}

#[cfg(test)]
mod network_tests {
    use super::*;
    use crate::compose::parse;

    #[test]
    fn a_joined_network_is_declared_external_and_a_project_default_is_left_out() {
        let mut spec = protocol::ContainerSpec {
            image: "busybox".into(),
            network: Some("backend".into()),
            ..Default::default()
        };
        let file = parse(&compose_file("app", &spec), "", "/x").expect("valid");
        assert!(file.networks["backend"].external);
        spec.network = Some("shop_default".into());
        spec.labels
            .insert(protocol::COMPOSE_PROJECT_LABEL.into(), "shop".into());
        let yaml = compose_file("app", &spec);
        assert!(!yaml.contains("networks"), "{yaml}");
        parse(&yaml, "", "/x").expect("valid");
    }
}

#[cfg(test)]
mod options_tests {
    use super::*;
    use crate::compose::{parse, spec};
    use protocol::run_command::parse_run_command;

    /// The options the engine would get from the emitted file's service.
    fn read_back(yaml: &str, service: &str) -> ContainerOptions {
        let file = parse(yaml, "", "/").unwrap_or_else(|e| panic!("{e:?}\n{yaml}"));
        assert!(file.warnings.is_empty(), "{:?}\n{yaml}", file.warnings);
        let ctx = spec::Context {
            project: "emit",
            file: &file,
            working_dir: "/",
            files_key: b"key",
        };
        spec::desired(&ctx, &file.services[service], 1).spec.options
    }

    #[test]
    fn every_option_of_a_docker_run_line_reads_back_from_the_compose_file() {
        let line = "docker run -d --name app --network backend --ip 172.20.0.9 --ip6 2001:db8::9 \
            --mac-address 02:42:ac:14:00:09 --privileged --cap-add NET_ADMIN --cap-add sys_time \
            --cap-drop MKNOD --device /dev/fuse --device /dev/snd:/dev/sound:rw --device /dev/kvm:rw \
            --device-cgroup-rule 'c 10:200 rwm' --gpus '\"device=0,1\",capabilities=compute' \
            --sysctl net.core.somaxconn=1024 --security-opt no-new-privileges:true \
            --security-opt seccomp=unconfined --pid host --ipc shareable --uts host --userns host \
            --cgroupns private --cgroup-parent /berth.slice --volumes-from data:ro --link db:database \
            --init --read-only --stop-signal SIGQUIT --stop-timeout 30 --ulimit nofile=1024:2048 \
            --ulimit nproc=512 --ulimit core=-1 --group-add audio --group-add 1000 --oom-score-adj -500 \
            --oom-kill-disable --pids-limit 200 --shm-size 64m --tmpfs /run:size=16m,mode=1777 \
            --tmpfs /cache --storage-opt size=20G --runtime runc --platform linux/amd64 \
            --isolation default --annotation org.example.owner=ops --annotation 'note=$HOME: yes' \
            --add-host db.local:10.0.0.2 --add-host gw:host-gateway --add-host v6:::1 --dns 1.1.1.1 \
            --dns-search example.com --dns-option ndots:2 --domainname example.com --expose 9000 \
            --expose 53/udp --log-driver json-file --log-opt max-size=10m --log-opt 'tag={{.Name}}' \
            --cpu-shares 512 --cpu-period 100000 --cpu-quota 50000 --cpu-rt-period 1000000 \
            --cpu-rt-runtime 950000 --cpuset-cpus 0-1 --cpuset-mems 0 --memory-reservation 256m \
            --memory-swap -1 --memory-swappiness 10 --blkio-weight 300 \
            --blkio-weight-device /dev/sda:200 --device-read-bps /dev/sda:1mb \
            --device-write-bps /dev/sdb:2mb --device-read-iops /dev/sda:100 \
            --device-write-iops /dev/sda:200 berth-test/busybox:latest sleep 1000";
        let run = parse_run_command(line).expect("parse").options;
        let yaml = compose_file("app", &parse_run_command(line).expect("parse"));
        let back = read_back(&yaml, "app");

        // One row per field: the line must set it (so the table covers
        // every option) and the file must give it back.
        macro_rules! same {
            ($($field:ident),* $(,)?) => {$(
                assert_ne!(
                    run.$field,
                    ContainerOptions::default().$field,
                    "the run line does not set {}",
                    stringify!($field)
                );
                assert_eq!(back.$field, run.$field, "{}\n{yaml}", stringify!($field));
            )*};
        }
        same!(
            privileged,
            cap_add,
            cap_drop,
            devices,
            device_cgroup_rules,
            device_requests,
            sysctls,
            security_opt,
            pid,
            ipc,
            uts,
            userns_mode,
            cgroupns,
            cgroup_parent,
            volumes_from,
            links,
            init,
            read_only,
            stop_signal,
            stop_timeout,
            ulimits,
            group_add,
            oom_score_adj,
            oom_kill_disable,
            pids_limit,
            shm_size,
            tmpfs,
            storage_opt,
            runtime,
            platform,
            isolation,
            annotations,
            extra_hosts,
            dns,
            dns_search,
            dns_opt,
            domainname,
            mac_address,
            ipv4_address,
            ipv6_address,
            expose,
            log_driver,
            log_opts,
            cpu_shares,
            cpu_period,
            cpu_quota,
            cpu_rt_period,
            cpu_rt_runtime,
            cpuset_cpus,
            memory_reservation,
            memory_swap,
            memory_swappiness,
            blkio_weight,
            blkio_weight_device,
            device_read_bps,
            device_write_bps,
            device_read_iops,
            device_write_iops,
        );
        // Compose has no key for memory nodes: the file says so in a
        // comment, and nothing else is lost. A secret or config file cannot
        // come from a run line.
        assert!(yaml.contains("# cpuset_mems 0:"), "{yaml}");
        let mut expected = run.clone();
        expected.cpuset_mems = None;
        assert_eq!(back, expected, "{yaml}");
        assert!(yaml.contains("cap_add: [NET_ADMIN, SYS_TIME]"), "{yaml}");
        assert!(yaml.contains("cgroup: private"), "{yaml}");
        assert!(yaml.contains("stop_grace_period: 30s"), "{yaml}");
    }

    #[test]
    fn a_whole_gpu_or_a_gpu_count_stays_beside_other_device_requests() {
        let line = "docker run --gpus all --memory 1g nvidia/cuda:12";
        let yaml = compose_file("gpu", &parse_run_command(line).expect("parse"));
        let back = read_back(&yaml, "gpu");
        assert_eq!(back.device_requests.len(), 1, "{yaml}");
        assert_eq!(back.device_requests[0].count, -1);
        assert_eq!(back.device_requests[0].driver, "nvidia");

        let mut spec = parse_run_command("docker run --gpus 2 x").expect("parse");
        spec.options.device_requests.push(protocol::DeviceRequest {
            driver: "cdi".into(),
            count: 1,
            capabilities: vec![vec!["tpu".into()]],
            options: [("mode".to_string(), "fast lane".to_string())].into(),
            ..Default::default()
        });
        let yaml = compose_file("gpu", &spec);
        let back = read_back(&yaml, "gpu");
        assert_eq!(back.device_requests.len(), 2, "{yaml}");
        assert_eq!(back.device_requests[0].count, 2);
        assert_eq!(back.device_requests[1], spec.options.device_requests[0]);
    }

    #[test]
    fn fixed_addresses_go_under_the_network_they_belong_to() {
        // On the stack's own default network: under `default`, no external.
        let mut spec = ContainerSpec {
            image: "busybox".into(),
            network: Some("shop_default".into()),
            ..Default::default()
        };
        spec.labels
            .insert(protocol::COMPOSE_PROJECT_LABEL.into(), "shop".into());
        spec.options.ipv4_address = Some("172.30.0.5".into());
        let yaml = compose_file("app", &spec);
        assert!(
            yaml.contains("      default:\n        ipv4_address: \"172.30.0.5\""),
            "{yaml}"
        );
        assert!(!yaml.contains("external"), "{yaml}");
        parse(&yaml, "", "/").unwrap_or_else(|e| panic!("{e:?}\n{yaml}"));

        // Without a user-defined network compose cannot place it: the file
        // says so instead of dropping it silently.
        spec.network = Some("host".into());
        let yaml = compose_file("app", &spec);
        assert!(yaml.contains("network_mode: host"), "{yaml}");
        assert!(yaml.contains("# ipv4_address 172.30.0.5:"), "{yaml}");
        parse(&yaml, "", "/").unwrap_or_else(|e| panic!("{e:?}\n{yaml}"));
    }

    #[test]
    fn odd_values_are_quoted_and_keys_are_not_interpolated() {
        let mut spec = ContainerSpec {
            image: "busybox".into(),
            ..Default::default()
        };
        for (k, v) in [
            ("A$B", "cost: $5"),
            ("HEX", "0x10"),
            ("YES", "Yes"),
            ("TAB", "a\tb\r\n"),
            ("DASH", "-v"),
            ("DOT", ".5"),
        ] {
            spec.env.insert(k.into(), v.into());
        }
        spec.options.stop_timeout = Some(-1);
        spec.options.memory_swappiness = Some(-1);
        spec.options.blkio_weight = Some(0);
        let yaml = compose_file("app", &spec);
        let file = parse(&yaml, "", "/").unwrap_or_else(|e| panic!("{e:?}\n{yaml}"));
        assert_eq!(file.services["app"].environment, spec.env, "{yaml}");
        // Values that mean "the engine's default" are left out, and a
        // negative stop wait is named in a comment.
        let o = &file.services["app"].options;
        assert!(
            o.memory_swappiness.is_none() && o.blkio_weight.is_none(),
            "{yaml}"
        );
        assert!(yaml.contains("# stop_timeout -1:"), "{yaml}");
    }
}
