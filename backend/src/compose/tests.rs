//! The compose parser against a table of files: each parses to the expected
//! model or fails with the expected `line:column message`.

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
fn known_but_unsupported_keys_say_so() {
    let e = err(
        "services:\n  web:\n    image: x\n    privileged: true\n",
        "",
    );
    assert_eq!(
        e,
        "4:5 `privileged` in service `web` is not supported by berth yet"
    );
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
