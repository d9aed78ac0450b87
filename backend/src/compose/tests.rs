//! The compose parser against a table of files: each parses to the expected
//! model or fails with the expected `line:column message`.

use std::collections::BTreeMap;

use protocol::{MountKind, PortSpec};

use super::model::{ComposeFile, Condition};
use super::parse;

fn ok(yaml: &str, env: &str) -> ComposeFile {
    match parse(yaml, env, "/srv/stacks/demo") {
        Ok(f) => f,
        Err(issues) => panic!("expected a valid file, got {issues:?}\n{yaml}"),
    }
}

/// The first issue, as `line:column message`.
fn err(yaml: &str, env: &str) -> String {
    match parse(yaml, env, "/srv/stacks/demo") {
        Ok(f) => panic!("expected an error, got {f:?}\n{yaml}"),
        Err(issues) => issues
            .iter()
            .map(|i| format!("{}:{} {}", i.line, i.column, i.message))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

fn port(host: Option<u16>, container: u16) -> PortSpec {
    PortSpec {
        host_port: host,
        container_port: container,
        protocol: "tcp".into(),
        ..Default::default()
    }
}

#[test]
fn web_and_db_with_a_named_volume() {
    let f = ok(
        "services:\n  web:\n    image: nginx:1.27\n    ports:\n      - \"8080:80\"\n    depends_on:\n      - db\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: secret\n    volumes:\n      - dbdata:/var/lib/postgresql/data\nvolumes:\n  dbdata:\n",
        "",
    );
    assert_eq!(f.services["web"].ports, vec![port(Some(8080), 80)]);
    assert_eq!(f.services["db"].environment["POSTGRES_PASSWORD"], "secret");
    assert_eq!(f.services["db"].volumes[0].kind, MountKind::Volume);
    assert_eq!(f.services["db"].volumes[0].source, "dbdata");
    assert_eq!(f.start_order(), vec!["db", "web"]);
}

#[test]
fn healthcheck_gated_depends_on() {
    let f = ok(
        "services:\n  app:\n    image: app\n    depends_on:\n      db:\n        condition: service_healthy\n      migrate:\n        condition: service_completed_successfully\n  migrate:\n    image: app\n    command: [\"migrate\"]\n  db:\n    image: db\n    healthcheck:\n      test: [\"CMD\", \"pg_isready\"]\n      interval: 2s\n      timeout: 1s\n      retries: 5\n      start_period: 1m30s\n",
        "",
    );
    assert_eq!(f.services["app"].depends_on["db"], Condition::Healthy);
    assert_eq!(
        f.services["app"].depends_on["migrate"],
        Condition::CompletedSuccessfully
    );
    let h = f.services["db"].healthcheck.clone().expect("healthcheck");
    assert_eq!(h.test, vec!["CMD", "pg_isready"]);
    assert_eq!(
        (h.interval_ns, h.timeout_ns, h.retries, h.start_period_ns),
        (
            Some(2_000_000_000),
            Some(1_000_000_000),
            Some(5),
            Some(90_000_000_000)
        )
    );
    let order = f.start_order();
    assert!(order.iter().position(|s| s == "db") < order.iter().position(|s| s == "app"));
    assert!(order.iter().position(|s| s == "migrate") < order.iter().position(|s| s == "app"));
}

#[test]
fn healthcheck_string_test_runs_in_a_shell() {
    let f = ok("services:\n  a:\n    image: x\n    healthcheck:\n      test: wget -q -O- localhost || exit 1\n", "");
    assert_eq!(
        f.services["a"].healthcheck.clone().expect("h").test,
        vec!["CMD-SHELL", "wget -q -O- localhost || exit 1"]
    );
}

#[test]
fn two_networks_with_aliases() {
    let f = ok(
        "services:\n  api:\n    image: api\n    networks:\n      front:\n        aliases: [backend, api.internal]\n      back: {}\n  db:\n    image: db\n    networks: [back]\nnetworks:\n  front:\n  back:\n    internal: true\n",
        "",
    );
    assert_eq!(
        f.services["api"].networks["front"],
        vec!["backend", "api.internal"]
    );
    assert!(f.services["api"].networks["back"].is_empty());
    assert!(f.networks["back"].internal);
    assert_eq!(
        f.services["db"].networks.keys().collect::<Vec<_>>(),
        vec!["back"]
    );
}

#[test]
fn interpolation_with_defaults_and_escapes() {
    let f = ok(
        "services:\n  web:\n    image: \"nginx:${TAG:-latest}\"\n    environment:\n      - GREETING=${HELLO-hi}\n      - PRICE=$$5\n      - FROM_ENV\n    ports:\n      - \"${PORT:-8080}:80\"\n",
        "TAG=1.27\nFROM_ENV=yes\n",
    );
    assert_eq!(f.services["web"].image.as_deref(), Some("nginx:1.27"));
    assert_eq!(f.services["web"].environment["GREETING"], "hi");
    assert_eq!(f.services["web"].environment["PRICE"], "$5");
    assert_eq!(f.services["web"].environment["FROM_ENV"], "yes");
    assert_eq!(f.services["web"].ports, vec![port(Some(8080), 80)]);
}

#[test]
fn a_required_variable_fails_at_its_place() {
    let e = err("services:\n  db:\n    image: postgres\n    environment:\n      PASSWORD: ${DB_PASSWORD:?set DB_PASSWORD in .env}\n", "");
    assert_eq!(e, "5:17 DB_PASSWORD is required: set DB_PASSWORD in .env");
}

#[test]
fn environment_as_a_list_and_a_map() {
    let f = ok("services:\n  a:\n    image: x\n    environment:\n      - A=1\n      - B=two words\n  b:\n    image: x\n    environment:\n      A: 1\n      B: \"true\"\n", "");
    assert_eq!(f.services["a"].environment["B"], "two words");
    assert_eq!(f.services["b"].environment["A"], "1");
    assert_eq!(f.services["b"].environment["B"], "true");
}

#[test]
fn env_file_takes_the_stack_env() {
    let f = ok(
        "services:\n  a:\n    image: x\n    env_file: .env\n    environment:\n      B: override\n",
        "A=from-env\nB=from-env\n",
    );
    assert_eq!(f.services["a"].environment["A"], "from-env");
    assert_eq!(f.services["a"].environment["B"], "override");
    let e = err(
        "services:\n  a:\n    image: x\n    env_file: secrets.env\n",
        "",
    );
    assert!(
        e.starts_with("4:15 env_file: `secrets.env` would be read from the stack's folder"),
        "{e}"
    );
}

#[test]
fn ports_short_and_long() {
    let f = ok(
        "services:\n  a:\n    image: x\n    ports:\n      - 80\n      - \"127.0.0.1:8443:443\"\n      - \"5353:53/udp\"\n      - \"9000-9001:9000-9001\"\n      - target: 8080\n        published: \"18080\"\n        host_ip: 127.0.0.1\n        protocol: tcp\n",
        "",
    );
    let p = &f.services["a"].ports;
    assert_eq!(p[0], port(None, 80));
    assert_eq!(
        (p[1].host_ip.as_deref(), p[1].host_port, p[1].container_port),
        (Some("127.0.0.1"), Some(8443), 443)
    );
    assert_eq!(
        (p[2].host_port, p[2].protocol.as_str()),
        (Some(5353), "udp")
    );
    assert_eq!(p.len(), 6);
    assert_eq!(
        (p[5].host_ip.as_deref(), p[5].host_port, p[5].container_port),
        (Some("127.0.0.1"), Some(18080), 8080)
    );
}

#[test]
fn a_bad_port_is_reported_where_it_is() {
    let e = err(
        "services:\n  a:\n    image: x\n    ports:\n      - \"99999:80\"\n",
        "",
    );
    assert!(e.starts_with("5:9 ") && e.contains("99999"), "{e}");
}

#[test]
fn volumes_short_and_long_named_bind_anonymous_readonly() {
    let f = ok(
        "services:\n  a:\n    image: x\n    volumes:\n      - data:/data\n      - ./conf:/etc/app:ro\n      - /var/log:/logs\n      - /cache\n      - type: bind\n        source: ../shared\n        target: /shared\n        read_only: true\n      - type: volume\n        source: data\n        target: /backup\nvolumes:\n  data:\n",
        "",
    );
    let v = &f.services["a"].volumes;
    assert_eq!(
        (v[0].kind, v[0].source.as_str()),
        (MountKind::Volume, "data")
    );
    assert_eq!(
        (v[1].kind, v[1].source.as_str(), v[1].read_only),
        (MountKind::Bind, "/srv/stacks/demo/conf", true)
    );
    assert_eq!(v[2].source, "/var/log");
    assert_eq!(
        (v[3].kind, v[3].target.as_str()),
        (MountKind::Anonymous, "/cache")
    );
    assert_eq!(
        (v[4].source.as_str(), v[4].read_only),
        ("/srv/stacks/shared", true)
    );
    assert_eq!(v[5].target, "/backup");
}

#[test]
fn an_undeclared_named_volume_is_an_error() {
    let e = err(
        "services:\n  a:\n    image: x\n    volumes:\n      - data:/data\n",
        "",
    );
    assert_eq!(
        e,
        "5:9 named volume `data` is not declared under the top-level `volumes`"
    );
}

#[test]
fn command_and_entrypoint_as_string_or_list() {
    let f = ok("services:\n  a:\n    image: x\n    command: sh -c 'echo \"hi there\"'\n    entrypoint: [\"/bin/tini\", \"--\"]\n", "");
    assert_eq!(
        f.services["a"].command,
        Some(vec![
            "sh".to_string(),
            "-c".into(),
            "echo \"hi there\"".into()
        ])
    );
    assert_eq!(
        f.services["a"].entrypoint,
        Some(vec!["/bin/tini".to_string(), "--".into()])
    );
}

#[test]
fn restart_labels_workdir_user_hostname_container_name() {
    let f = ok(
        "services:\n  a:\n    image: x\n    restart: unless-stopped\n    labels:\n      - traefik.enable=true\n    working_dir: /app\n    user: \"1000:1000\"\n    hostname: box\n    container_name: my-app\n  b:\n    image: x\n    restart: on-failure:3\n    labels:\n      team: web\n",
        "",
    );
    let a = &f.services["a"];
    assert_eq!(a.restart.as_deref(), Some("unless-stopped"));
    assert_eq!(a.labels["traefik.enable"], "true");
    assert_eq!(
        (
            a.working_dir.as_deref(),
            a.user.as_deref(),
            a.hostname.as_deref(),
            a.container_name.as_deref()
        ),
        (Some("/app"), Some("1000:1000"), Some("box"), Some("my-app"))
    );
    assert_eq!(f.services["b"].restart.as_deref(), Some("on-failure:3"));
    assert_eq!(f.services["b"].labels["team"], "web");
}

#[test]
fn a_bad_restart_policy_is_refused() {
    let e = err(
        "services:\n  a:\n    image: x\n    restart: sometimes\n",
        "",
    );
    assert!(e.starts_with("4:14 ") && e.contains("restart"), "{e}");
}

#[test]
fn deploy_replicas_and_limits() {
    let f = ok(
        "services:\n  a:\n    image: x\n    deploy:\n      replicas: 3\n      resources:\n        limits:\n          cpus: \"0.5\"\n          memory: 256M\n  b:\n    image: x\n    mem_limit: 1g\n    cpus: 2\n",
        "",
    );
    assert_eq!(f.services["a"].replicas, 3);
    assert_eq!(f.services["a"].nano_cpus, Some(500_000_000));
    assert_eq!(f.services["a"].memory_bytes, Some(256 * 1024 * 1024));
    assert_eq!(f.services["b"].memory_bytes, Some(1024 * 1024 * 1024));
    assert_eq!(f.services["b"].nano_cpus, Some(2_000_000_000));
}

#[test]
fn build_from_context() {
    let f = ok(
        "services:\n  app:\n    build:\n      context: ./app\n      dockerfile: Dockerfile.prod\n      args:\n        VERSION: \"2\"\n      target: runtime\n  tool:\n    build: ./tool\n",
        "",
    );
    let b = f.services["app"].build.clone().expect("build");
    assert_eq!(
        (
            b.context.as_str(),
            b.dockerfile.as_deref(),
            b.target.as_deref()
        ),
        ("./app", Some("Dockerfile.prod"), Some("runtime"))
    );
    assert_eq!(b.args["VERSION"], "2");
    assert_eq!(
        f.services["tool"].build.clone().expect("build").context,
        "./tool"
    );
}

#[test]
fn profiles_are_read() {
    let f = ok(
        "services:\n  a:\n    image: x\n  debug:\n    image: x\n    profiles: [debug]\n",
        "",
    );
    assert_eq!(f.services["debug"].profiles, vec!["debug"]);
}

#[test]
fn top_level_networks_and_volumes_with_driver_external_name() {
    let f = ok(
        "services:\n  a:\n    image: x\n    networks: [proxy, own]\n    volumes: [certs:/certs, cache:/cache]\nnetworks:\n  proxy:\n    external: true\n    name: traefik_proxy\n  own:\n    driver: bridge\nvolumes:\n  certs:\n    external: true\n  cache:\n    name: shared-cache\n    driver: local\n    labels:\n      keep: \"yes\"\n",
        "",
    );
    assert!(f.networks["proxy"].external);
    assert_eq!(f.networks["proxy"].name.as_deref(), Some("traefik_proxy"));
    assert!(f.volumes["certs"].external);
    assert_eq!(f.volumes["cache"].name.as_deref(), Some("shared-cache"));
    assert_eq!(f.volumes["cache"].labels["keep"], "yes");
}

#[test]
fn unknown_keys_are_reported_not_dropped() {
    let e = err(
        "services:\n  web:\n    image: x\n    portz:\n      - 80\n",
        "",
    );
    assert_eq!(e, "4:5 unknown key `portz` in service `web`");
    let e = err("services:\n  web:\n    image: x\nvolumez: {}\n", "");
    assert_eq!(e, "4:1 unknown key `volumez` in the file");
}

#[test]
fn yaml_syntax_errors_carry_their_position() {
    let e = err("services:\n  web:\n    image: x\n   ports: [80\n", "");
    assert!(e.starts_with("4:") || e.starts_with("5:"), "{e}");
    let e = err("services:\n  web:\n    image: x\n    image: y\n", "");
    assert!(e.contains("`image` is given twice"), "{e}");
}

#[test]
fn a_service_needs_an_image_or_a_build() {
    let e = err("services:\n  web:\n    ports: [\"80:80\"]\n", "");
    assert!(
        e.contains("service `web` needs an `image` or a `build`"),
        "{e}"
    );
}

#[test]
fn dependency_mistakes_are_caught() {
    let e = err(
        "services:\n  a:\n    image: x\n    depends_on: [ghost]\n",
        "",
    );
    assert!(
        e.contains("depends on `ghost`, which the file does not define"),
        "{e}"
    );
    let e = err("services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [a]\n", "");
    assert!(e.contains("cycle"), "{e}");
    let e = err("services:\n  a:\n    image: x\n    depends_on:\n      b:\n        condition: service_ready\n  b:\n    image: x\n", "");
    assert!(e.starts_with("6:20 condition `service_ready`"), "{e}");
}

#[test]
fn an_undeclared_network_is_an_error() {
    let e = err("services:\n  a:\n    image: x\n    networks: [back]\n", "");
    assert_eq!(
        e,
        "4:16 network `back` is not declared under the top-level `networks`"
    );
}

#[test]
fn a_file_without_services_says_so() {
    assert!(err("version: \"3.8\"\n", "").contains("no `services`"));
    assert!(err("- just\n- a list\n", "").contains("must be a mapping"));
}

#[test]
fn a_bad_env_file_line_is_reported() {
    let e = err("services:\n  a:\n    image: x\n", "GOOD=1\nnot a line\n");
    assert!(e.contains("line 2 of .env"), "{e}");
}

#[test]
fn durations_read_like_go() {
    use super::parse::parse_duration;
    assert_eq!(parse_duration("1m30s"), Some(90_000_000_000));
    assert_eq!(parse_duration("500ms"), Some(500_000_000));
    assert_eq!(parse_duration("1.5s"), Some(1_500_000_000));
    assert_eq!(parse_duration("soon"), None);
}

/// One service `a` with image `x` and the given keys (indented by 4).
fn svc(keys: &str) -> String {
    format!("services:\n  a:\n    image: x\n{keys}")
}

fn opts(keys: &str) -> protocol::ContainerOptions {
    ok(&svc(keys), "").services["a"].options.clone()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn pairs(v: &[(&str, &str)]) -> BTreeMap<String, String> {
    v.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn security_and_host_reach_keys() {
    let o = opts("    privileged: true\n    cap_add: [NET_ADMIN, SYS_MODULE]\n    cap_drop:\n      - ALL\n    device_cgroup_rules:\n      - 'c 1:3 mr'\n    security_opt:\n      - no-new-privileges:true\n      - seccomp:unconfined\n    sysctls:\n      net.core.somaxconn: 1024\n      net.ipv4.ip_forward: 1\n");
    assert!(o.privileged);
    assert_eq!(o.cap_add, strings(&["NET_ADMIN", "SYS_MODULE"]));
    assert_eq!(o.cap_drop, strings(&["ALL"]));
    assert_eq!(o.device_cgroup_rules, strings(&["c 1:3 mr"]));
    assert_eq!(
        o.security_opt,
        strings(&["no-new-privileges:true", "seccomp:unconfined"])
    );
    assert_eq!(
        o.sysctls,
        pairs(&[("net.core.somaxconn", "1024"), ("net.ipv4.ip_forward", "1")])
    );
    let o = opts("    sysctls:\n      - net.core.somaxconn=512\n");
    assert_eq!(o.sysctls, pairs(&[("net.core.somaxconn", "512")]));
    let fields: Vec<_> = opts("    privileged: true\n    cap_add: [NET_ADMIN]\n")
        .host_reach()
        .into_iter()
        .map(|r| r.field)
        .collect();
    assert_eq!(fields, ["privileged", "cap_add"]);
}

#[test]
fn devices_short_and_long() {
    let o = opts("    devices:\n      - /dev/ttyUSB0\n      - /dev/ttyUSB1:/dev/ttyACM0\n      - /dev/snd:/dev/snd:rw\n      - /dev/dri:r\n      - source: /dev/kvm\n        target: /dev/kvm\n        permissions: rwm\n");
    let d: Vec<_> = o
        .devices
        .iter()
        .map(|d| {
            (
                d.host.as_str(),
                d.container.as_str(),
                d.permissions.as_str(),
            )
        })
        .collect();
    assert_eq!(
        d,
        [
            ("/dev/ttyUSB0", "", ""),
            ("/dev/ttyUSB1", "/dev/ttyACM0", ""),
            ("/dev/snd", "/dev/snd", "rw"),
            ("/dev/dri", "", "r"),
            ("/dev/kvm", "/dev/kvm", "rwm"),
        ]
    );
    assert_eq!(
        err(&svc("    devices:\n      - /dev/a:/dev/b:rwx\n"), ""),
        "5:9 device permissions \"rwx\" must be r, w, m in any combination"
    );
    assert_eq!(
        err(&svc("    devices:\n      - nvidia.com/gpu=all\n"), ""),
        "5:9 device \"nvidia.com/gpu=all\": give the host device's absolute path (CDI device names need a newer engine)"
    );
}

#[test]
fn gpus_and_reserved_devices_become_device_requests() {
    let o = opts("    gpus: all\n");
    assert_eq!(o.device_requests.len(), 1);
    assert_eq!(o.device_requests[0].count, -1);
    assert_eq!(o.device_requests[0].capabilities, vec![strings(&["gpu"])]);
    let o = opts("    gpus:\n      - driver: nvidia\n        device_ids: ['0', '3']\n        options:\n          virtualization: 'false'\n");
    let r = &o.device_requests[0];
    assert_eq!((r.driver.as_str(), r.count), ("nvidia", 0));
    assert_eq!(r.device_ids, strings(&["0", "3"]));
    assert_eq!(r.options, pairs(&[("virtualization", "false")]));
    // The seed's nvidia-docker case.
    let o = opts("    deploy:\n      resources:\n        reservations:\n          devices:\n            - driver: nvidia\n              count: 1\n              capabilities: [gpu, utility]\n            - driver: nvidia\n              count: all\n              capabilities: [gpu]\n");
    let r: Vec<_> = o
        .device_requests
        .iter()
        .map(|r| (r.driver.as_str(), r.count, r.capabilities.clone()))
        .collect();
    assert_eq!(
        r,
        [
            ("nvidia", 1, vec![strings(&["gpu", "utility"])]),
            ("nvidia", -1, vec![strings(&["gpu"])]),
        ]
    );
    assert_eq!(
        err(&svc("    deploy:\n      resources:\n        reservations:\n          devices:\n            - driver: nvidia\n"), ""),
        "8:15 an entry of reservations.devices needs `capabilities`, such as [gpu]"
    );
    assert_eq!(
        err(&svc("    gpus: two\n"), ""),
        "4:11 gpus must be `all` or a list of device requests"
    );
}

#[test]
fn deploy_limits_reservations_restart_policy_and_swarm_keys() {
    let f = ok(&svc("    deploy:\n      mode: global\n      placement:\n        constraints: [node.role == manager]\n      update_config:\n        parallelism: 2\n      labels:\n        a: b\n      restart_policy:\n        condition: on-failure\n        max_attempts: 3\n      resources:\n        limits:\n          pids: 200\n        reservations:\n          memory: 64m\n"), "");
    let s = &f.services["a"];
    assert_eq!(s.options.pids_limit, Some(200));
    assert_eq!(s.options.memory_reservation, Some(64 << 20));
    assert_eq!(s.restart.as_deref(), Some("on-failure:3"));
    let warnings: Vec<_> = f
        .warnings
        .iter()
        .map(|w| format!("{}:{} {}", w.line, w.column, w.message))
        .collect();
    assert_eq!(
        warnings,
        [
            "5:13 `deploy.mode: global` is for Swarm; berth runs the service's replicas on this host",
            "6:7 `deploy.placement` applies to Swarm only; berth ignores it",
            "8:7 `deploy.update_config` applies to Swarm only; berth ignores it",
            "10:7 `deploy.labels` applies to Swarm only; berth ignores it",
        ]
    );
    // `restart` wins over the policy, before or after it.
    for keys in [
        "    restart: unless-stopped\n    deploy:\n      restart_policy:\n        condition: any\n",
        "    deploy:\n      restart_policy:\n        condition: any\n    restart: unless-stopped\n",
    ] {
        assert_eq!(
            ok(&svc(keys), "").services["a"].restart.as_deref(),
            Some("unless-stopped")
        );
    }
    let f = ok(
        &svc("    deploy:\n      restart_policy:\n        condition: any\n"),
        "",
    );
    assert_eq!(f.services["a"].restart.as_deref(), Some("always"));
}

#[test]
fn ulimits_logging_extra_hosts_dns() {
    let o = opts("    ulimits:\n      nproc: 65535\n      nofile:\n        soft: 20000\n        hard: 40000\n");
    let u: Vec<_> = o
        .ulimits
        .iter()
        .map(|u| (u.name.as_str(), u.soft, u.hard))
        .collect();
    assert_eq!(u, [("nproc", 65535, 65535), ("nofile", 20000, 40000)]);
    assert_eq!(
        err(&svc("    ulimits:\n      nofiles: 10\n"), ""),
        "5:7 `nofiles` is not a resource limit (core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack)"
    );
    assert_eq!(
        err(&svc("    ulimits:\n      nofile:\n        soft: 10\n"), ""),
        "6:9 ulimit `nofile` needs `soft` and `hard`"
    );

    let o = opts("    logging:\n      driver: json-file\n      options:\n        max-size: 10m\n        max-file: '3'\n");
    assert_eq!(o.log_driver.as_deref(), Some("json-file"));
    assert_eq!(o.log_opts, pairs(&[("max-file", "3"), ("max-size", "10m")]));
    assert_eq!(
        err(&svc("    logging:\n      drivr: local\n"), ""),
        "5:7 unknown key `drivr` in logging"
    );

    let o = opts("    extra_hosts:\n      - host.docker.internal:host-gateway\n      - somehost=162.242.195.82\n      - myhostv6=::1\n      - other:[2001:db8::10]\n");
    assert_eq!(
        o.extra_hosts,
        strings(&[
            "host.docker.internal:host-gateway",
            "somehost:162.242.195.82",
            "myhostv6:::1",
            "other:2001:db8::10"
        ])
    );
    let o = opts("    extra_hosts:\n      db: 10.0.0.2\n      v6: '::1'\n");
    assert_eq!(o.extra_hosts, strings(&["db:10.0.0.2", "v6:::1"]));
    assert_eq!(
        err(&svc("    extra_hosts:\n      - db:10.0.0.300\n"), ""),
        "5:9 extra_hosts: \"10.0.0.300\" for db is not an IP address or host-gateway"
    );

    let o = opts("    dns: 1.1.1.1\n    dns_search: [example.com, lan]\n    dns_opt:\n      - use-vc\n    domainname: example.org\n");
    assert_eq!(o.dns, strings(&["1.1.1.1"]));
    assert_eq!(o.dns_search, strings(&["example.com", "lan"]));
    assert_eq!(o.dns_opt, strings(&["use-vc"]));
    assert_eq!(o.domainname.as_deref(), Some("example.org"));
}

#[test]
fn process_keys() {
    let o = opts("    init: true\n    read_only: true\n    stop_signal: SIGINT\n    stop_grace_period: 1m30s\n    shm_size: 1gb\n    tmpfs:\n      - /run\n      - /tmp:size=64m,mode=1777\n    platform: linux/arm64/v8\n    runtime: nvidia\n    group_add: [video, '1000']\n    oom_score_adj: -500\n    oom_kill_disable: true\n    pids_limit: 100\n    isolation: default\n    annotations:\n      com.example.foo: bar\n    storage_opt:\n      size: 20G\n");
    assert_eq!(o.init, Some(true));
    assert!(o.read_only);
    assert_eq!(o.stop_signal.as_deref(), Some("SIGINT"));
    assert_eq!(o.stop_timeout, Some(90));
    assert_eq!(o.shm_size, Some(1 << 30));
    assert_eq!(
        o.tmpfs,
        pairs(&[("/run", ""), ("/tmp", "size=64m,mode=1777")])
    );
    assert_eq!(o.platform.as_deref(), Some("linux/arm64/v8"));
    assert_eq!(o.runtime.as_deref(), Some("nvidia"));
    assert_eq!(o.group_add, strings(&["video", "1000"]));
    assert_eq!(
        (o.oom_score_adj, o.oom_kill_disable, o.pids_limit),
        (Some(-500), Some(true), Some(100))
    );
    assert_eq!(o.isolation.as_deref(), Some("default"));
    assert_eq!(o.annotations, pairs(&[("com.example.foo", "bar")]));
    assert_eq!(o.storage_opt, pairs(&[("size", "20G")]));
    assert_eq!(opts("    tmpfs: /cache\n").tmpfs, pairs(&[("/cache", "")]));
    for (size, bytes) in [
        ("64m", 64 << 20),
        ("256MB", 256 << 20),
        ("1024", 1024),
        ("2g", 2 << 30),
        ("1.5GiB", 3 << 29),
        ("512 kb", 512 << 10),
    ] {
        assert_eq!(
            opts(&format!("    shm_size: {size}\n")).shm_size,
            Some(bytes),
            "{size}"
        );
    }
    assert_eq!(
        err(&svc("    shm_size: 64x\n"), ""),
        "4:15 shm_size \"64x\" is not a size such as 64m, 1gb or 1024"
    );
    assert_eq!(
        err(&svc("    stop_grace_period: soon\n"), ""),
        "4:24 \"soon\" is not a duration such as 10s, 1m30s or 500ms"
    );
    assert_eq!(
        err(&svc("    platform: arm64\n"), ""),
        "4:15 platform \"arm64\" is not OS/ARCH[/VARIANT], such as linux/arm64"
    );
    assert_eq!(
        err(&svc("    tmpfs: run\n"), ""),
        "4:12 tmpfs \"run\" must be an absolute path in the container"
    );
    assert_eq!(
        err(&svc("    oom_score_adj: 2000\n"), ""),
        "4:20 oom_score_adj 2000 must be between -1000 and 1000"
    );
    assert_eq!(
        err(&svc("    init: maybe\n"), ""),
        "4:11 init must be true or false, not \"maybe\""
    );
}

#[test]
fn namespaces_and_references_to_other_services() {
    let f = ok("services:\n  vpn:\n    image: x\n    cap_add: [NET_ADMIN]\n  app:\n    image: x\n    network_mode: service:vpn\n    pid: service:vpn\n    ipc: host\n  data:\n    image: x\n    volumes_from:\n      - app:ro\n      - service:vpn\n      - container:legacy:rw\n    links:\n      - app\n      - vpn:tunnel\n    external_links:\n      - redis_1\n      - project_db_1:mysql\n    uts: host\n    userns_mode: host\n    cgroup: private\n    cgroup_parent: m-executor-abcd\n", "");
    let app = &f.services["app"];
    assert_eq!(app.network_mode.as_deref(), Some("service:vpn"));
    assert_eq!(app.options.pid.as_deref(), Some("service:vpn"));
    assert_eq!(app.options.ipc.as_deref(), Some("host"));
    let data = &f.services["data"].options;
    assert_eq!(
        data.volumes_from,
        strings(&["service:app:ro", "service:vpn", "container:legacy:rw"])
    );
    assert_eq!(
        data.links,
        strings(&[
            "service:app:app",
            "service:vpn:tunnel",
            "redis_1:redis_1",
            "project_db_1:mysql"
        ])
    );
    assert_eq!(data.uts.as_deref(), Some("host"));
    assert_eq!(data.userns_mode.as_deref(), Some("host"));
    assert_eq!(data.cgroupns.as_deref(), Some("private"));
    assert_eq!(data.cgroup_parent.as_deref(), Some("m-executor-abcd"));
    // Referenced services start first.
    let order = f.start_order();
    let pos = |n: &str| order.iter().position(|o| o == n);
    assert!(
        pos("vpn") < pos("app") && pos("app") < pos("data"),
        "{order:?}"
    );
    assert_eq!(
        err(
            "services:\n  a:\n    image: x\n    network_mode: service:ghost\n",
            ""
        ),
        "2:3 service `a` depends on `ghost`, which the file does not define"
    );
    assert_eq!(
        err(&svc("    network_mode: bridge2\n")
            , ""),
        "4:19 network_mode `bridge2`: berth takes host, none, bridge, service:NAME or container:NAME"
    );
    assert_eq!(
        err(&svc("    pid: process\n"), ""),
        "4:10 pid \"process\": berth takes `host`, `service:NAME`, `container:NAME`"
    );
    assert_eq!(
        err(&svc("    cgroup: shared\n"), ""),
        "4:13 cgroup \"shared\": berth takes `host`, `private`"
    );
    assert_eq!(
        err(&svc("    volumes_from:\n      - app:rx\n"), ""),
        "5:9 volumes_from \"app:rx\" is not [service:|container:]NAME[:ro|:rw]"
    );
}

#[test]
fn resource_keys() {
    let o = opts("    mem_reservation: 512m\n    memswap_limit: -1\n    mem_swappiness: 10\n    cpu_shares: 512\n    cpu_quota: 50000\n    cpu_period: 100ms\n    cpu_rt_runtime: 400ms\n    cpu_rt_period: 1400us\n    cpuset: 0-1,3\n    blkio_config:\n      weight: 300\n      weight_device:\n        - path: /dev/sda\n          weight: 400\n      device_read_bps:\n        - path: /dev/sdb\n          rate: 12mb\n      device_write_iops:\n        - path: /dev/sdb\n          rate: 30\n");
    assert_eq!(o.memory_reservation, Some(512 << 20));
    assert_eq!(o.memory_swap, Some(-1));
    assert_eq!(o.memory_swappiness, Some(10));
    assert_eq!(o.cpu_shares, Some(512));
    assert_eq!(o.cpu_quota, Some(50000));
    assert_eq!(o.cpu_period, Some(100_000));
    assert_eq!(o.cpu_rt_runtime, Some(400_000));
    assert_eq!(o.cpu_rt_period, Some(1400));
    assert_eq!(o.cpuset_cpus.as_deref(), Some("0-1,3"));
    assert_eq!(o.blkio_weight, Some(300));
    let rates = |r: &[protocol::BlkioDeviceRate]| -> Vec<(String, i64)> {
        r.iter().map(|r| (r.path.clone(), r.rate)).collect()
    };
    assert_eq!(
        rates(&o.blkio_weight_device),
        [("/dev/sda".to_string(), 400)]
    );
    assert_eq!(
        rates(&o.device_read_bps),
        [("/dev/sdb".to_string(), 12 << 20)]
    );
    assert_eq!(rates(&o.device_write_iops), [("/dev/sdb".to_string(), 30)]);
    assert_eq!(
        err(&svc("    blkio_config:\n      weight: 5\n"), ""),
        "5:15 weight 5 must be between 10 and 1000"
    );
    assert_eq!(
        err(&svc("    mem_swappiness: 101\n"), ""),
        "4:21 mem_swappiness 101 must be between 0 and 100"
    );
    assert_eq!(
        err(&svc("    cpuset: all\n"), ""),
        "4:13 cpuset \"all\" is not a CPU list such as 0-3 or 0,2"
    );
    let f = ok(&svc("    cpu_count: 2\n    cpu_percent: 50\n"), "");
    assert_eq!(f.warnings.len(), 2);
    assert_eq!(
        f.warnings[0].message,
        "`cpu_count` applies to Windows containers only; berth ignores it"
    );
}

#[test]
fn network_attachment_addresses() {
    let f = ok("services:\n  a:\n    image: x\n    mac_address: 02:42:ac:11:00:02\n    networks:\n      front:\n        ipv4_address: 172.16.238.10\n        ipv6_address: 2001:3984:3989::10\n        priority: 10\n      back:\n        ipv4_address: 10.0.0.5\nnetworks:\n  front: {}\n  back: {}\n", "");
    let s = &f.services["a"];
    assert_eq!(s.options.mac_address.as_deref(), Some("02:42:ac:11:00:02"));
    let front = &s.network_options["front"];
    assert_eq!(front.ipv4_address.as_deref(), Some("172.16.238.10"));
    assert_eq!(front.ipv6_address.as_deref(), Some("2001:3984:3989::10"));
    assert_eq!(front.priority, 10);
    assert_eq!(
        s.network_options["back"].ipv4_address.as_deref(),
        Some("10.0.0.5")
    );
    // `front` is the primary network (priority); `back`'s address is set
    // when the container joins it, so nothing is left to warn about.
    assert!(f.warnings.is_empty(), "{:?}", f.warnings);
    assert_eq!(
        err("services:\n  a:\n    image: x\n    networks:\n      front:\n        ipv4_address: 2001:db8::1\nnetworks:\n  front: {}\n", ""),
        "6:23 ipv4_address \"2001:db8::1\" is not an IPv4 address"
    );
    assert_eq!(
        err(&svc("    mac_address: 02:42\n"), ""),
        "4:18 mac_address \"02:42\" is not six hex pairs like 02:42:ac:11:00:02"
    );
}

#[test]
fn compose_level_keys() {
    let f = ok(&svc("    pull_policy: if_not_present\n    scale: 3\n    expose:\n      - '3000'\n      - 53/udp\n      - 8000-8010\n    attach: false\n    develop:\n      watch:\n        - path: ./src\n          action: sync\n          target: /app\n    post_start:\n      - command: chown -R 1000 /data\n        user: root\n        privileged: true\n    pre_stop:\n      - command: [\"./flush\", \"--all\"]\n        working_dir: /app\n        environment:\n          MODE: fast\n"), "");
    let s = &f.services["a"];
    assert_eq!(s.pull_policy.as_deref(), Some("if_not_present"));
    assert_eq!(s.replicas, 3);
    assert_eq!(s.options.expose, strings(&["3000", "53/udp", "8000-8010"]));
    assert_eq!(
        s.post_start[0].command,
        strings(&["chown", "-R", "1000", "/data"])
    );
    assert_eq!(s.post_start[0].user.as_deref(), Some("root"));
    assert!(s.post_start[0].privileged);
    assert_eq!(s.pre_stop[0].command, strings(&["./flush", "--all"]));
    assert_eq!(s.pre_stop[0].working_dir.as_deref(), Some("/app"));
    assert_eq!(s.pre_stop[0].environment, pairs(&[("MODE", "fast")]));
    let warnings: Vec<_> = f.warnings.iter().map(|w| w.message.as_str()).collect();
    assert!(
        warnings.contains(&"`attach: false`: berth streams every service's logs anyway"),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("`develop` (watch mode)")),
        "{warnings:?}"
    );
    assert!(
        !warnings.iter().any(|w| w.contains("hooks")),
        "hooks run, so they warn of nothing: {warnings:?}"
    );
    for p in [
        "always",
        "never",
        "missing",
        "build",
        "daily",
        "weekly",
        "every_12h",
    ] {
        let f = ok(&svc(&format!("    pull_policy: {p}\n")), "");
        assert_eq!(f.services["a"].pull_policy.as_deref(), Some(p));
    }
    assert_eq!(
        err(&svc("    pull_policy: sometimes\n"), ""),
        "4:18 pull_policy \"sometimes\": berth takes always, never, missing, build, daily, weekly or every_<duration>"
    );
    assert_eq!(
        err(&svc("    expose:\n      - http\n"), ""),
        "5:9 expose \"http\" is not PORT[-PORT][/PROTOCOL]"
    );
    assert_eq!(
        err(&svc("    post_start:\n      - user: root\n"), ""),
        "5:9 a post_start hook needs a `command`"
    );
    assert_eq!(
        err(&svc("    scale: 1000\n"), ""),
        "4:12 scale 1000 must be between 0 and 100"
    );
}

#[test]
fn labels_file_merges_under_labels() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    std::fs::write(
        dir.path().join("app.labels"),
        "# labels\ncom.example.team=web\ncom.example.tier=front\n",
    )?;
    let yaml = "services:\n  a:\n    image: x\n    labels:\n      com.example.tier: back\n    labels_file: ./app.labels\n";
    let src = crate::compose::Source {
        compose: yaml,
        env: "",
        project_dir: dir.path().to_str().ok_or("temp path is not UTF-8")?,
        read_files: true,
        home: None,
    };
    let f = match crate::compose::parse_source(&src) {
        Ok(f) => f,
        Err(issues) => panic!("expected a valid file, got {issues:?}"),
    };
    assert_eq!(
        f.services["a"].labels,
        pairs(&[("com.example.team", "web"), ("com.example.tier", "back")])
    );
    let missing = crate::compose::Source {
        compose: "services:\n  a:\n    image: x\n    labels_file: nope.labels\n",
        ..src
    };
    match crate::compose::parse_source(&missing) {
        Ok(_) => panic!("a missing labels file must be an error"),
        Err(issues) => assert_eq!((issues[0].line, issues[0].column), (4, 18), "{issues:?}"),
    }
    Ok(())
}

#[test]
fn every_list_is_bounded() {
    let many: String = (0..1001)
        .map(|i| format!("      - 10.0.0.{}\n", i % 250))
        .collect();
    assert_eq!(
        err(&svc(&format!("    dns:\n{many}")), ""),
        "5:7 dns has 1001 entries; berth takes at most 1000"
    );
}

#[test]
fn extends_is_taken() {
    let f = ok(
        "services:\n  base:\n    image: x\n    cap_add: [NET_ADMIN]\n  a:\n    extends: base\n",
        "",
    );
    assert_eq!(f.services["a"].options.cap_add, strings(&["NET_ADMIN"]));
}

fn desired_of(f: &ComposeFile, service: &str) -> super::spec::Desired {
    let ctx = super::spec::Context {
        project: "demo",
        file: f,
        working_dir: "/srv/stacks/demo",
        files_key: b"test key",
    };
    super::spec::desired(&ctx, &f.services[service], 1)
}

#[test]
fn the_spec_carries_options_with_services_resolved_to_containers() {
    let f = ok("services:\n  vpn:\n    image: x\n    container_name: tunnel\n  db:\n    image: x\n  app:\n    image: x\n    network_mode: service:vpn\n    pid: service:db\n    ipc: container:other\n    volumes_from: [db:ro, 'container:legacy']\n    links: ['db:database']\n    cap_add: [NET_ADMIN]\n", "");
    let d = desired_of(&f, "app");
    let o = &d.spec.options;
    assert_eq!(d.spec.network.as_deref(), Some("container:tunnel"));
    assert_eq!(o.pid.as_deref(), Some("container:demo-db-1"));
    assert_eq!(o.ipc.as_deref(), Some("container:other"));
    assert_eq!(o.volumes_from, strings(&["demo-db-1:ro", "legacy"]));
    assert_eq!(o.links, strings(&["demo-db-1:database"]));
    assert_eq!(o.cap_add, strings(&["NET_ADMIN"]));
    let label = &d.spec.labels[super::spec::OPTIONS_LABEL];
    let fields: Vec<&str> = label
        .split(',')
        .filter_map(|p| p.split_once('=').map(|(k, _)| k))
        .collect();
    assert_eq!(fields, ["cap_add", "ipc", "links", "pid", "volumes_from"]);
    // A service without options still says so, to tell berth's containers apart.
    assert_eq!(
        desired_of(&f, "db").spec.labels[super::spec::OPTIONS_LABEL],
        ""
    );
    // An option changes the container's hash and only its own label entry.
    let g = ok("services:\n  vpn:\n    image: x\n    container_name: tunnel\n  db:\n    image: x\n  app:\n    image: x\n    network_mode: service:vpn\n    pid: service:db\n    ipc: container:other\n    volumes_from: [db:ro, 'container:legacy']\n    links: ['db:database']\n    cap_add: [SYS_ADMIN]\n", "");
    let e = desired_of(&g, "app");
    assert_ne!(d.hash, e.hash);
    let entries = |l: &str| -> Vec<String> { l.split(',').map(String::from).collect() };
    let (a, b) = (
        entries(label),
        entries(&e.spec.labels[super::spec::OPTIONS_LABEL]),
    );
    let changed: Vec<_> = a.iter().filter(|x| !b.contains(x)).collect();
    assert_eq!(changed.len(), 1);
    assert!(changed[0].starts_with("cap_add="));
}

#[test]
fn the_primary_network_takes_the_fixed_addresses() {
    let f = ok("services:\n  a:\n    image: x\n    networks:\n      back:\n        ipv4_address: 10.0.0.5\n      front:\n        priority: 5\n        ipv4_address: 172.16.238.10\n        ipv6_address: 2001:db8::10\n        mac_address: 02:42:ac:11:00:02\nnetworks:\n  front: {}\n  back: {}\n", "");
    let d = desired_of(&f, "a");
    assert_eq!(d.spec.network.as_deref(), Some("demo_front"));
    assert_eq!(
        d.spec.options.ipv4_address.as_deref(),
        Some("172.16.238.10")
    );
    assert_eq!(d.spec.options.ipv6_address.as_deref(), Some("2001:db8::10"));
    assert_eq!(
        d.spec.options.mac_address.as_deref(),
        Some("02:42:ac:11:00:02")
    );
    // The other network keeps its own fixed address, set when it is joined.
    assert_eq!(d.extras.more_networks[0].network, "demo_back");
    assert_eq!(
        d.extras.more_networks[0].ipv4_address.as_deref(),
        Some("10.0.0.5")
    );
    // Without priorities the first by name is primary, as before.
    let g = ok("services:\n  a:\n    image: x\n    networks: [front, back]\nnetworks:\n  front: {}\n  back: {}\n", "");
    assert_eq!(
        desired_of(&g, "a").spec.network.as_deref(),
        Some("demo_back")
    );
}

#[test]
fn secrets_content_stays_out_of_the_options_label() {
    let mut o = protocol::ContainerOptions::default();
    o.files.push(protocol::InjectedFile {
        target: "/run/secrets/pw".into(),
        content: b"hunter2".to_vec(),
        uid: 0,
        gid: 0,
        mode: 0o400,
    });
    let a = super::spec::options_label(&o);
    o.files[0].content = b"other".to_vec();
    assert_eq!(super::spec::options_label(&o), a);
    assert!(a.starts_with("files="));
}

#[test]
fn a_secret_is_in_no_label_and_its_change_is_seen() {
    let compose = "services:\n  a:\n    image: x\n    secrets: [token]\nsecrets:\n  token:\n    environment: TOKEN\n";
    let one = ok(compose, "TOKEN=hunter2\n");
    let two = ok(compose, "TOKEN=hunter3\n");
    let (d1, d2) = (desired_of(&one, "a"), desired_of(&two, "a"));
    for (k, v) in &d1.spec.labels {
        assert!(!v.contains("hunter2"), "{k}={v}");
    }
    // An unkeyed digest of the value appears nowhere.
    use sha2::Digest;
    let plain = sha2::Sha256::digest(b"hunter2")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    assert!(d1.spec.labels.values().all(|v| !v.contains(&plain[..16])));
    assert_ne!(d1.hash, d2.hash, "a changed secret changes the container");
    assert_ne!(
        d1.spec.labels.get(super::spec::FILES_LABEL),
        d2.spec.labels.get(super::spec::FILES_LABEL)
    );
    assert_eq!(d1.spec.options.files[0].target, "/run/secrets/token");
    assert_eq!(d1.spec.options.files[0].content, b"hunter2");
}

#[test]
fn scale_and_deploy_replicas_must_agree() {
    let f = ok(
        "services:\n  a:\n    image: x\n    scale: 2\n    deploy:\n      replicas: 2\n",
        "",
    );
    assert_eq!(f.services["a"].replicas, 2);
    assert_eq!(
        err(
            "services:\n  a:\n    image: x\n    scale: 2\n    deploy:\n      replicas: 3\n",
            ""
        ),
        "4:12 service `a`: scale (2) and deploy.replicas (3) disagree; keep one"
    );
}

#[test]
fn secrets_on_a_read_only_root_are_refused_before_the_deploy() {
    let e = err("services:\n  a:\n    image: x\n    read_only: true\n    secrets: [s]\nsecrets:\n  s:\n    environment: S\n", "S=1\n");
    assert!(
        e.starts_with("4:16 service `a`: berth writes secrets"),
        "{e}"
    );
}
