//! The compose keys berth applies, seen in the engine's inspect after `up`
//! (and from inside the container), and what the plan says when they
//! change; interop with the compose CLI for files using them.

use std::process::Command;
use std::time::Duration;

use protocol::{PlanAction, StackConfig, StackDetail};
use reqwest::StatusCode;
use serde_json::json;

use crate::common::*;
use crate::stacks::{assert_done, plan_of, progress, project_name, ProjectCleanup};

const S: &str = "/api/v1/endpoints/local/stacks";

/// A tar of `(path, text)` files, as the stack files route takes it.
fn tar_of(files: &[(&str, String)]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (path, body) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(body.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, path, body.as_bytes())
            .expect("tar");
    }
    tar.into_inner().expect("tar")
}

/// Unpacks a tar into a stack's folder; the upload must be taken.
async fn upload(admin: &Api, name: &str, tar: Vec<u8>) {
    let r = admin
        .client
        .put(format!("{}{S}/{name}/files", admin.base))
        .header("content-type", "application/x-tar")
        .body(tar)
        .send()
        .await
        .expect("upload");
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "{}",
        r.text().await.unwrap_or_default()
    );
}

/// Saves a new revision of a stack; the save must be taken.
async fn save(admin: &Api, name: &str, body: &serde_json::Value) {
    let r = admin
        .client
        .put(format!("{}{S}/{name}", admin.base))
        .json(body)
        .send()
        .await
        .expect("put");
    assert!(
        r.status().is_success(),
        "{}",
        r.text().await.unwrap_or_default()
    );
}

fn kitchen_sink(subnet: u8, caps: &str) -> String {
    format!(
        r#"x-base: &base
  image: {TEST_IMAGE}
  restart: unless-stopped
  labels: {{team: web}}

services:
  app:
    <<: *base
    command: ["sh", "-c", "cat /run/secrets/token; echo; cat /etc/app.conf; echo; stat -c 'owner=%u:%g mode=%a' /run/secrets/other; echo from-env=$$FROM_FILE; sleep 3600"]
    secrets:
      - token
      - source: token
        target: other
        uid: "1000"
        gid: "1000"
        mode: 0400
    configs:
      - source: appconf
        target: /etc/app.conf
    cap_add: {caps}
    cap_drop: [MKNOD]
    sysctls:
      net.ipv4.ip_forward: "1"
    ulimits:
      nofile: {{soft: 1024, hard: 2048}}
      nproc: 512
    logging:
      driver: json-file
      options: {{max-size: 1m, max-file: "2"}}
    extra_hosts: ["db.internal:10.1.2.3"]
    dns: [127.0.0.11]
    init: true
    tmpfs: ["/scratch:size=16m"]
    shm_size: 32m
    stop_signal: SIGINT
    stop_grace_period: 5s
    security_opt: ["no-new-privileges:true"]
    pids_limit: 100
    expose: ["8080"]
    env_file:
      - app.env
      - path: missing.env
        required: false
    networks:
      front:
        ipv4_address: 10.251.{subnet}.10
  extra:
    <<: *base
    profiles: [debug]
    command: ["sleep", "3600"]

networks:
  front:
    ipam:
      config:
        - subnet: 10.251.{subnet}.0/24

secrets:
  token:
    environment: TOKEN

configs:
  appconf:
    content: level=${{LEVEL:-info}}
"#
    )
}

async fn logs_containing(name: &str, want: &[&str]) -> String {
    use bollard::query_parameters::LogsOptions;
    use futures_util::StreamExt;
    let docker = engine().await;
    let mut out = String::new();
    for _ in 0..100 {
        out.clear();
        let mut logs = docker.logs(
            name,
            Some(LogsOptions {
                stdout: true,
                stderr: true,
                tail: "all".into(),
                ..Default::default()
            }),
        );
        while let Some(Ok(chunk)) = logs.next().await {
            out.push_str(&chunk.to_string());
        }
        if want.iter().all(|w| out.contains(w)) {
            return out;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{name} never printed {want:?}; it printed:\n{out}");
}

#[tokio::test]
async fn a_file_with_secrets_anchors_profiles_and_host_options_deploys_as_written() {
    let (_app, admin) = TestApp::start_set_up().await;
    let name = project_name("sink");
    let _cleanup = ProjectCleanup(name.clone());
    // A free /24 for the ipam subnet: unique per run, below 250.
    let subnet = 100 + (std::process::id() % 140) as u8;
    let env = "TOKEN=s3cr3t-value\nCOMPOSE_PROFILES=debug\nLEVEL=debug\n";
    let r = admin
        .post_json(
            S,
            &json!({"name": name, "compose": kitchen_sink(subnet, "[NET_ADMIN]"), "env": env}),
        )
        .await;
    // The env_file is not uploaded yet: the save says which file and where.
    let text = expect_problem(r, StatusCode::BAD_REQUEST).await;
    assert!(text.contains("app.env"), "{text}");

    // Save it without the env file, upload the file, then save it whole.
    let without = kitchen_sink(subnet, "[NET_ADMIN]").replace("      - app.env\n", "");
    let r = admin
        .post_json(S, &json!({"name": name, "compose": without, "env": env}))
        .await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap_or_default()
    );
    upload(
        &admin,
        &name,
        tar_of(&[("app.env", "FROM_FILE=loaded\n".into())]),
    )
    .await;
    save(
        &admin,
        &name,
        &json!({"compose": kitchen_sink(subnet, "[NET_ADMIN]"), "env": env}),
    )
    .await;

    // The plan has both services: `extra` through the .env's profile.
    let plan = plan_of(&admin, &name).await;
    let creates: Vec<&str> = plan
        .steps
        .iter()
        .filter(|s| s.action == PlanAction::Create && s.kind == "container")
        .map(|s| s.name.as_str())
        .collect();
    assert!(
        creates.contains(&format!("{name}-app-1").as_str()),
        "{plan:?}"
    );
    assert!(
        creates.contains(&format!("{name}-extra-1").as_str()),
        "{plan:?}"
    );
    assert_done(&progress(&admin, &format!("{S}/{name}/up"), json!({})).await);

    // Inside the container: the secret twice (the second with its owner and
    // mode), the config with its interpolated content, the env file.
    let app = format!("{name}-app-1");
    let out = logs_containing(
        &app,
        &[
            "s3cr3t-value",
            "level=debug",
            "owner=1000:1000 mode=400",
            "from-env=loaded",
        ],
    )
    .await;
    assert!(!out.contains("from-env=\n"), "{out}");

    // The engine's inspect shows every option applied.
    let docker = engine().await;
    let c = docker.inspect_container(&app, None).await.expect("inspect");
    let host = c.host_config.clone().expect("host config");
    assert_eq!(host.cap_add, Some(vec!["NET_ADMIN".to_string()]));
    assert_eq!(host.cap_drop, Some(vec!["MKNOD".to_string()]));
    assert_eq!(
        host.sysctls
            .as_ref()
            .and_then(|s| s.get("net.ipv4.ip_forward"))
            .map(String::as_str),
        Some("1")
    );
    let ulimits = host.ulimits.clone().unwrap_or_default();
    let nofile = ulimits
        .iter()
        .find(|u| u.name.as_deref() == Some("nofile"))
        .expect("nofile");
    assert_eq!((nofile.soft, nofile.hard), (Some(1024), Some(2048)));
    let nproc = ulimits
        .iter()
        .find(|u| u.name.as_deref() == Some("nproc"))
        .expect("nproc");
    assert_eq!((nproc.soft, nproc.hard), (Some(512), Some(512)));
    let log = host.log_config.clone().expect("log config");
    assert_eq!(log.typ.as_deref(), Some("json-file"));
    assert_eq!(
        log.config
            .as_ref()
            .and_then(|c| c.get("max-size"))
            .map(String::as_str),
        Some("1m")
    );
    assert_eq!(
        host.extra_hosts,
        Some(vec!["db.internal:10.1.2.3".to_string()])
    );
    assert_eq!(host.dns, Some(vec!["127.0.0.11".to_string()]));
    assert_eq!(host.init, Some(true));
    assert!(
        host.tmpfs
            .as_ref()
            .is_some_and(|t| t.contains_key("/scratch")),
        "{:?}",
        host.tmpfs
    );
    assert_eq!(host.shm_size, Some(32 * 1024 * 1024));
    assert_eq!(
        host.security_opt,
        Some(vec!["no-new-privileges:true".to_string()])
    );
    assert_eq!(host.pids_limit, Some(100));
    let config = c.config.clone().expect("config");
    assert_eq!(config.stop_signal.as_deref(), Some("SIGINT"));
    assert_eq!(config.stop_timeout, Some(5));
    assert_eq!(
        config
            .labels
            .as_ref()
            .and_then(|l| l.get("team"))
            .map(String::as_str),
        Some("web")
    );
    assert!(
        config
            .exposed_ports
            .as_ref()
            .is_some_and(|p| p.iter().any(|k| k == "8080/tcp")),
        "{:?}",
        config.exposed_ports
    );
    // No label carries the secret.
    for (k, v) in config.labels.clone().unwrap_or_default() {
        assert!(!v.contains("s3cr3t"), "{k}={v}");
    }
    let nets = c
        .network_settings
        .and_then(|n| n.networks)
        .unwrap_or_default();
    let front = nets.get(&format!("{name}_front")).expect("front network");
    assert_eq!(
        front.ip_address.as_deref(),
        Some(format!("10.251.{subnet}.10").as_str())
    );
    let extra = docker
        .inspect_container(&format!("{name}-extra-1"), None)
        .await
        .expect("the profiled service runs");
    assert_eq!(extra.state.and_then(|s| s.running), Some(true));

    // Nothing changed: the plan keeps everything.
    let plan = plan_of(&admin, &name).await;
    assert!(plan.unchanged, "{plan:?}");

    // The resolved file shows what interpolation and the anchor made.
    let cfg: StackConfig = admin.get_json(&format!("{S}/{name}/config")).await;
    assert!(
        cfg.config.contains("content: level=debug"),
        "{}",
        cfg.config
    );
    assert!(
        cfg.config.contains(&format!("image: {TEST_IMAGE}")),
        "{}",
        cfg.config
    );
    assert!(!cfg.config.contains("<<"), "{}", cfg.config);

    // A capability and the secret change: each is a named reason.
    let env2 = env.replace("s3cr3t-value", "n3w-value");
    save(
        &admin,
        &name,
        &json!({"compose": kitchen_sink(subnet, "[NET_ADMIN, SYS_TIME]"), "env": env2}),
    )
    .await;
    let plan = plan_of(&admin, &name).await;
    let app_step = plan
        .steps
        .iter()
        .find(|s| s.name == app)
        .expect("app in the plan");
    assert_eq!(app_step.action, PlanAction::Recreate, "{plan:?}");
    assert!(app_step.reasons.iter().any(|r| r == "cap_add"), "{plan:?}");
    assert!(
        app_step.reasons.iter().any(|r| r == "secrets/configs"),
        "{plan:?}"
    );
    assert_done(&progress(&admin, &format!("{S}/{name}/up"), json!({})).await);
    logs_containing(&app, &["n3w-value"]).await;
    let c = docker.inspect_container(&app, None).await.expect("inspect");
    let caps = c.host_config.and_then(|h| h.cap_add).unwrap_or_default();
    assert!(caps.contains(&"SYS_TIME".to_string()), "{caps:?}");

    let detail: StackDetail = admin.get_json(&format!("{S}/{name}")).await;
    assert_eq!(detail.services.len(), 2);
}

#[tokio::test]
async fn warnings_travel_with_validate_and_plan_and_never_block() {
    let (_app, admin) = TestApp::start_set_up().await;
    let compose = format!(
        "services:\n  a:\n    image: {TEST_IMAGE}\n    deploy:\n      placement:\n        constraints: [node.role == manager]\n    develop:\n      watch: []\n    annotations:\n      com.example.note: kept\n"
    );
    let check: protocol::ComposeCheck = admin
        .post_json(
            &format!("{S}/validate"),
            &json!({"compose": compose, "env": ""}),
        )
        .await
        .json()
        .await
        .expect("check");
    assert!(check.ok, "{check:?}");
    assert!(
        check
            .warnings
            .iter()
            .any(|w| w.message.contains("placement") && w.line == 5),
        "{check:?}"
    );
    assert!(
        check.warnings.iter().any(|w| w.message.contains("develop")),
        "{check:?}"
    );

    let name = project_name("warn");
    let _cleanup = ProjectCleanup(name.clone());
    let r = admin
        .post_json(S, &json!({"name": name, "compose": compose, "env": ""}))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let plan = plan_of(&admin, &name).await;
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.message.contains("placement")),
        "{plan:?}"
    );
}

#[tokio::test]
async fn include_extends_and_an_override_file_come_from_the_stack_folder() {
    let (_app, admin) = TestApp::start_set_up().await;
    let name = project_name("parts");
    let _cleanup = ProjectCleanup(name.clone());
    let compose = "include:\n  - db/compose.yaml\nservices:\n  web:\n    extends:\n      file: common.yaml\n      service: base\n    command: [\"sleep\", \"3600\"]\n";
    // Save first: the files it names are uploaded into its folder next.
    let r = admin
        .post_json(
            S,
            &json!({"name": name, "compose": "services:\n  web:\n    image: x\n", "env": ""}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let files = [
        (
            "db/compose.yaml",
            format!(
                "services:\n  db:\n    image: {TEST_IMAGE}\n    command: [\"sleep\", \"3600\"]\n"
            ),
        ),
        (
            "common.yaml",
            format!(
                "services:\n  base:\n    image: {TEST_IMAGE}\n    environment:\n      ROLE: base\n"
            ),
        ),
        (
            "compose.override.yaml",
            "services:\n  web:\n    environment:\n      ROLE: overridden\n".to_string(),
        ),
    ];
    upload(&admin, &name, tar_of(&files)).await;
    save(&admin, &name, &json!({"compose": compose, "env": ""})).await;
    assert_done(&progress(&admin, &format!("{S}/{name}/up"), json!({})).await);
    let docker = engine().await;
    let web = docker
        .inspect_container(&format!("{name}-web-1"), None)
        .await
        .expect("web");
    let env = web.config.and_then(|c| c.env).unwrap_or_default();
    assert!(env.contains(&"ROLE=overridden".to_string()), "{env:?}");
    docker
        .inspect_container(&format!("{name}-db-1"), None)
        .await
        .expect("the included service runs");
    let cfg: StackConfig = admin.get_json(&format!("{S}/{name}/config")).await;
    assert!(cfg.config.contains("ROLE: overridden"), "{}", cfg.config);
    assert!(!cfg.config.contains("include"), "{}", cfg.config);
}

#[tokio::test]
async fn the_compose_cli_and_berth_agree_on_a_file_with_host_options() {
    let (_app, admin) = TestApp::start_set_up().await;
    let name = project_name("cliopt");
    let _cleanup = ProjectCleanup(name.clone());
    let dir = tempfile::tempdir().expect("dir");
    let compose = format!(
        "version: \"2.4\"\nservices:\n  app:\n    image: {TEST_IMAGE}\n    command: [\"sleep\", \"600\"]\n    cap_add: [NET_ADMIN]\n    cap_drop: [MKNOD]\n    sysctls:\n      net.ipv4.ip_forward: \"1\"\n    ulimits:\n      nofile:\n        soft: 1024\n        hard: 2048\n    extra_hosts: [\"db.internal:10.1.2.3\"]\n    init: true\n    shm_size: 32m\n    stop_signal: SIGINT\n    security_opt: [\"no-new-privileges:true\"]\n    tmpfs: [/scratch]\n    labels:\n      team: web\n"
    );
    std::fs::write(dir.path().join("docker-compose.yml"), &compose).expect("write");
    let out = Command::new("docker-compose")
        .current_dir(dir.path())
        .args(["-p", &name, "up", "-d"])
        .output()
        .expect("docker-compose up");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // berth adopts it and sees nothing to change: it reads the CLI's
    // container back to the same options.
    let r = admin.post(&format!("{S}/{name}/adopt")).await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap_or_default()
    );
    let plan = plan_of(&admin, &name).await;
    assert!(plan.unchanged, "adopting changes nothing: {plan:?}");

    // berth redeploys it with a change; the CLI still lists the container,
    // and the options are still applied.
    let updated = compose.replace("cap_add: [NET_ADMIN]", "cap_add: [NET_ADMIN, SYS_TIME]");
    save(&admin, &name, &json!({"compose": updated})).await;
    let plan = plan_of(&admin, &name).await;
    assert!(
        plan.steps.iter().any(|s| s.action == PlanAction::Recreate && s.reasons.contains(&"cap_add".to_string())),
        "{plan:?}"
    );
    assert_done(&progress(&admin, &format!("{S}/{name}/up"), json!({})).await);
    let out = Command::new("docker-compose")
        .current_dir(dir.path())
        .args(["-p", &name, "ps", "-q"])
        .output()
        .expect("docker-compose ps");
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(!id.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    let c = engine()
        .await
        .inspect_container(&id, None)
        .await
        .expect("inspect");
    let host = c.host_config.expect("host");
    assert_eq!(
        host.cap_add,
        Some(vec!["NET_ADMIN".to_string(), "SYS_TIME".to_string()])
    );
    assert_eq!(host.init, Some(true));
    assert_eq!(host.shm_size, Some(32 * 1024 * 1024));
}

#[tokio::test]
async fn services_share_namespaces_volumes_and_join_networks_at_fixed_addresses() {
    let (_app, admin) = TestApp::start_set_up().await;
    let name = project_name("refs");
    let _cleanup = ProjectCleanup(name.clone());
    let subnet = 10 + (std::process::id() % 80) as u8;
    let compose = format!(
        r#"services:
  db:
    image: {TEST_IMAGE}
    command: ["sleep", "3600"]
    volumes: [data:/data]
    networks:
      front:
      back:
        ipv4_address: 10.252.{subnet}.20
  side:
    image: {TEST_IMAGE}
    command: ["sleep", "3600"]
    network_mode: service:db
    pid: service:db
    volumes_from: [db]
volumes:
  data:
networks:
  front:
  back:
    ipam:
      config: [{{subnet: 10.252.{subnet}.0/24}}]
"#
    );
    let r = admin
        .post_json(S, &json!({"name": name, "compose": compose, "env": ""}))
        .await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap_or_default()
    );
    // `side` starts after `db`, which it names.
    let lines = progress(&admin, &format!("{S}/{name}/up"), json!({})).await;
    assert_done(&lines);
    let docker = engine().await;
    let db = docker
        .inspect_container(&format!("{name}-db-1"), None)
        .await
        .expect("db");
    let db_id = db.id.clone().unwrap_or_default();
    let nets = db
        .network_settings
        .and_then(|n| n.networks)
        .unwrap_or_default();
    let back = nets.get(&format!("{name}_back")).expect("joined back");
    assert_eq!(
        back.ip_address.as_deref(),
        Some(format!("10.252.{subnet}.20").as_str())
    );
    assert!(nets.contains_key(&format!("{name}_front")), "{nets:?}");
    let side = docker
        .inspect_container(&format!("{name}-side-1"), None)
        .await
        .expect("side");
    let host = side.host_config.expect("host");
    for mode in [host.network_mode.clone(), host.pid_mode.clone()] {
        let mode = mode.unwrap_or_default();
        assert!(
            mode == format!("container:{db_id}") || mode == format!("container:{name}-db-1"),
            "{mode}"
        );
    }
    assert_eq!(host.volumes_from, Some(vec![format!("{name}-db-1")]));
    assert!(side.state.and_then(|s| s.running).unwrap_or(false));
    let plan = plan_of(&admin, &name).await;
    assert!(plan.unchanged, "{plan:?}");
}

/// Every file of the corpus (published compose files of real apps and the
/// compose project's samples), saved as a stack with its folder's files,
/// plans against the real engine.
#[tokio::test]
async fn every_corpus_file_saves_and_plans_on_the_engine() {
    let (_app, admin) = TestApp::start_set_up().await;
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compose-corpus");
    let mut folders: Vec<_> = std::fs::read_dir(&corpus)
        .expect("corpus")
        .flatten()
        .filter(|e| e.path().join("compose.yaml").is_file())
        .map(|e| e.path())
        .collect();
    folders.sort();
    assert!(folders.len() >= 40, "{}", folders.len());
    let mut planned = 0;
    for folder in &folders {
        let label = folder
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = project_name(&label.chars().take(12).collect::<String>());
        let compose = std::fs::read_to_string(folder.join("compose.yaml")).expect("compose");
        let env = std::fs::read_to_string(folder.join(".env")).unwrap_or_default();
        // Save a placeholder, upload the folder, then save the real file:
        // the files it names must be in the stack's folder first.
        let r = admin
            .post_json(S, &json!({"name": name, "compose": format!("services:\n  x:\n    image: {TEST_IMAGE}\n"), "env": ""}))
            .await;
        assert_eq!(r.status(), StatusCode::CREATED, "{label}");
        let mut tar = tar::Builder::new(Vec::new());
        let mut stack = vec![folder.clone()];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).expect("read").flatten() {
                let p = e.path();
                let rel = p
                    .strip_prefix(folder)
                    .expect("inside")
                    .to_string_lossy()
                    .into_owned();
                if p.is_dir() {
                    stack.push(p);
                } else if rel != "compose.yaml" && rel != ".env" {
                    tar.append_path_with_name(&p, &rel).expect("tar");
                }
            }
        }
        eprintln!("corpus: {label}");
        upload(&admin, &name, tar.into_inner().expect("tar")).await;
        save(&admin, &name, &json!({"compose": compose, "env": env})).await;
        let plan = plan_of(&admin, &name).await;
        assert!(
            plan.steps
                .iter()
                .any(|s| s.kind == "container" && s.action == PlanAction::Create),
            "{label}: {plan:?}"
        );
        let cfg: StackConfig = admin.get_json(&format!("{S}/{name}/config")).await;
        assert!(cfg.config.contains("services:"), "{label}");
        let r = admin.delete(&format!("{S}/{name}")).await;
        assert!(r.status().is_success(), "{label}");
        planned += 1;
    }
    eprintln!(
        "{planned} of {} corpus files saved and planned",
        folders.len()
    );
}
