//! Writes a container's settings as a compose service, for "docker run to
//! compose" and "export a container as a service".

use protocol::{ContainerSpec, GpuRequest, MountKind};

/// A YAML scalar, quoted whenever plain style could be misread.
fn q(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | '@'))
        && !matches!(
            s,
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n" | "~"
        )
        && s.parse::<f64>().is_err();
    if plain {
        s.to_string()
    } else {
        // `$` doubled: compose would interpolate it otherwise.
        format!(
            "\"{}\"",
            s.replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('$', "$$")
                .replace('\n', "\\n")
        )
    }
}

fn list(out: &mut String, key: &str, items: &[String]) {
    out.push_str(&format!(
        "    {key}: [{}]\n",
        items.iter().map(|i| q(i)).collect::<Vec<_>>().join(", ")
    ));
}

/// `service_name:` and its settings, indented for a `services:` block.
pub fn service_yaml(service: &str, spec: &ContainerSpec) -> String {
    let mut out = format!("  {}:\n", q(service));
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
        out.push_str("    environment:\n");
        for (k, v) in &spec.env {
            out.push_str(&format!("      {}: {}\n", q(k), q(v)));
        }
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
    let named: Vec<&str> = spec
        .mounts
        .iter()
        .filter(|m| m.kind == MountKind::Volume)
        .map(|m| m.source.as_str())
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
    // A compose project's own default network is what the file gets anyway.
    let project_default = spec
        .labels
        .get(protocol::COMPOSE_PROJECT_LABEL)
        .map(|p| format!("{p}_default"));
    if let Some(n) = spec
        .network
        .as_ref()
        .filter(|n| Some(*n) != project_default.as_ref())
    {
        if matches!(n.as_str(), "host" | "none" | "bridge") {
            out.push_str(&format!("    network_mode: {}\n", q(n)));
        } else {
            out.push_str(&format!("    networks: [{}]\n", q(n)));
        }
    }
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
    let labels: Vec<(&String, &String)> = spec
        .labels
        .iter()
        .filter(|(k, _)| !k.starts_with("com.docker.compose.") && !k.starts_with("berth."))
        .collect();
    if !labels.is_empty() {
        out.push_str("    labels:\n");
        for (k, v) in labels {
            out.push_str(&format!("      {}: {}\n", q(k), q(v)));
        }
    }
    if spec.tty {
        out.push_str("    tty: true\n");
    }
    if spec.interactive {
        out.push_str("    stdin_open: true\n");
    }
    if spec.memory_bytes.is_some() || spec.nano_cpus.is_some() || spec.gpus.is_some() {
        out.push_str("    deploy:\n      resources:\n");
        if spec.memory_bytes.is_some() || spec.nano_cpus.is_some() {
            out.push_str("        limits:\n");
            if let Some(n) = spec.nano_cpus {
                out.push_str(&format!("          cpus: \"{}\"\n", n as f64 / 1e9));
            }
            if let Some(m) = spec.memory_bytes {
                out.push_str(&format!("          memory: \"{m}b\"\n"));
            }
        }
        if let Some(g) = &spec.gpus {
            let count = match g {
                GpuRequest::All(_) => "all".to_string(),
                GpuRequest::Count(n) => n.to_string(),
            };
            out.push_str(&format!(
                "        reservations:\n          devices:\n            - driver: nvidia\n              count: {count}\n              capabilities: [gpu]\n"
            ));
        }
    }
    if !named.is_empty() {
        out.push_str("# add to the top level:\n# volumes:\n");
        for n in named {
            out.push_str(&format!("#   {n}:\n"));
        }
    }
    out
}

/// A whole compose file with one service, ready to save as a stack.
pub fn compose_file(service: &str, spec: &ContainerSpec) -> String {
    let mut out = String::from("services:\n");
    let body = service_yaml(service, spec);
    // Named volumes go to the top level for real in a whole file.
    let (body, comment) = match body.find("# add to the top level:") {
        Some(i) => (&body[..i], &body[i..]),
        None => (body.as_str(), ""),
    };
    out.push_str(body);
    if !comment.is_empty() {
        out.push_str("volumes:\n");
        for line in comment.lines().filter(|l| l.starts_with("#   ")) {
            out.push_str(&format!("  {}\n", line.trim_start_matches("#   ")));
        }
    }
    // A network the container joins already exists: declared as external.
    if let Some(n) = body.lines().find_map(|l| {
        l.trim()
            .strip_prefix("networks: [")
            .and_then(|r| r.strip_suffix(']'))
    }) {
        out.push_str(&format!("networks:\n  {n}:\n    external: true\n"));
    }
    out
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
