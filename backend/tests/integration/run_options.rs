//! The options beyond the everyday fields (security, limits, DNS, logging,
//! devices, injected files) reach the real engine, from the API and from a
//! pasted `docker run` line, and read back unchanged.

use std::collections::HashMap;

use bollard::models::{ContainerInspectResponse, HostConfig};
use protocol::{ContainerOptions, ContainerSpec, CreatedContainer};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::*;

const C: &str = "/api/v1/endpoints/local/containers";

async fn run(admin: &Api, body: &Value) -> CreatedContainer {
    let r = admin.post_json(C, body).await;
    let status = r.status();
    let text = r.text().await.expect("body");
    assert_eq!(status, StatusCode::CREATED, "{text}");
    serde_json::from_str(&text).expect("created")
}

async fn inspect(name: &str) -> ContainerInspectResponse {
    engine()
        .await
        .inspect_container(name, None)
        .await
        .expect("inspect")
}

/// The options a user asks for most, all at once.
fn many_options() -> Value {
    json!({
        "cap_add": ["NET_ADMIN"],
        "cap_drop": ["MKNOD"],
        "sysctls": {"net.ipv4.ip_forward": "1"},
        "ulimits": [{"name": "nofile", "soft": 1024, "hard": 2048}],
        "log_driver": "json-file",
        "log_opts": {"max-size": "1m"},
        "extra_hosts": ["db.internal:10.0.0.2"],
        "dns": ["9.9.9.9"],
        "init": true,
        "tmpfs": {"/scratch": "size=1m"},
        "shm_size": 33554432,
        "read_only": true,
        "stop_signal": "SIGINT",
        "stop_timeout": 5,
        "security_opt": ["no-new-privileges:true"],
        "pids_limit": 100,
        "memory_reservation": 16777216,
        "cpu_shares": 512,
        "group_add": ["1234"],
        "domainname": "example.org",
        "expose": ["53/udp", "8080"],
        "oom_score_adj": 100,
    })
}

fn assert_many_options(c: &ContainerInspectResponse) {
    let host = c.host_config.clone().expect("host config");
    let config = c.config.clone().expect("config");
    let has = |list: &Option<Vec<String>>, want: &str| {
        list.iter()
            .flatten()
            .any(|c| c.trim_start_matches("CAP_") == want)
    };
    assert!(has(&host.cap_add, "NET_ADMIN"), "{:?}", host.cap_add);
    assert!(has(&host.cap_drop, "MKNOD"), "{:?}", host.cap_drop);
    assert_eq!(
        host.sysctls.unwrap_or_default().get("net.ipv4.ip_forward"),
        Some(&"1".to_string())
    );
    let ulimit = &host.ulimits.expect("ulimits")[0];
    assert_eq!(
        (ulimit.name.as_deref(), ulimit.soft, ulimit.hard),
        (Some("nofile"), Some(1024), Some(2048))
    );
    let log = host.log_config.expect("log config");
    assert_eq!(log.typ.as_deref(), Some("json-file"));
    assert_eq!(
        log.config.unwrap_or_default().get("max-size"),
        Some(&"1m".to_string())
    );
    assert_eq!(
        host.extra_hosts,
        Some(vec!["db.internal:10.0.0.2".to_string()])
    );
    assert_eq!(host.dns, Some(vec!["9.9.9.9".to_string()]));
    assert_eq!(host.init, Some(true));
    assert_eq!(
        host.tmpfs.unwrap_or_default().get("/scratch"),
        Some(&"size=1m".to_string())
    );
    assert_eq!(host.shm_size, Some(33554432));
    assert_eq!(host.readonly_rootfs, Some(true));
    assert_eq!(
        host.security_opt,
        Some(vec!["no-new-privileges:true".to_string()])
    );
    assert_eq!(host.pids_limit, Some(100));
    assert_eq!(host.memory_reservation, Some(16777216));
    assert_eq!(host.cpu_shares, Some(512));
    assert_eq!(host.group_add, Some(vec!["1234".to_string()]));
    assert_eq!(host.oom_score_adj, Some(100));
    assert_eq!(config.stop_signal.as_deref(), Some("SIGINT"));
    assert_eq!(config.stop_timeout, Some(5));
    assert_eq!(config.domainname.as_deref(), Some("example.org"));
    let exposed = config.exposed_ports.unwrap_or_default();
    assert!(
        exposed.contains(&"8080/tcp".to_string()) && exposed.contains(&"53/udp".to_string()),
        "{exposed:?}"
    );
}

#[tokio::test]
async fn many_options_at_once_reach_the_engine_and_read_back_unchanged() {
    let (_app, admin) = TestApp::start_set_up().await;
    let mut clean = Cleanup::default();
    let name = clean.container(&unique("opts"));
    let mut body = many_options();
    body["name"] = json!(name);
    body["image"] = json!(TEST_IMAGE);
    body["labels"] = json!({"team": "web"});
    // What the process inside sees: its open-file limit, the sysctl, the
    // extra host, the size of /dev/shm, its groups, and a read-only root.
    body["cmd"] = json!([
        "sh",
        "-c",
        "ulimit -n; cat /proc/sys/net/ipv4/ip_forward; grep db.internal /etc/hosts; \
         df -k /dev/shm | tail -1; id -G; touch /x 2>/dev/null || echo read-only; \
         touch /scratch/x && echo tmpfs-writable"
    ]);
    let created = run(&admin, &body).await;
    assert!(created.started);

    let (code, out) = wait_output(&name).await;
    assert_eq!(code, 0, "{out}");
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    assert_eq!(lines[0], "1024", "{out}");
    assert_eq!(lines[1], "1", "{out}");
    assert!(
        lines[2].starts_with("10.0.0.2") && lines[2].contains("db.internal"),
        "{out}"
    );
    assert!(lines[3].contains(" 32768 "), "shm is 32 MiB: {out}");
    assert!(lines[4].split(' ').any(|g| g == "1234"), "{out}");
    assert_eq!(lines[5], "read-only", "{out}");
    assert_eq!(lines[6], "tmpfs-writable", "{out}");

    let c = inspect(&name).await;
    assert_many_options(&c);
    assert_eq!(
        c.config
            .and_then(|c| c.labels)
            .unwrap_or_default()
            .get("team")
            .map(String::as_str),
        Some("web")
    );

    // Reading the container back gives the same options, so duplicate and
    // edit start from exactly what was asked.
    let spec: ContainerSpec = admin.get_json(&format!("{C}/{name}/spec")).await;
    let asked: ContainerOptions = serde_json::from_value(many_options()).expect("options");
    assert_eq!(spec.options, asked);

    // And running that spec again (an edit) gives the same spec once more.
    let r = admin
        .client
        .put(format!("{}{C}/{name}", admin.base))
        .json(&ContainerSpec {
            start: false,
            ..spec.clone()
        })
        .send()
        .await
        .expect("put");
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "{}",
        r.text().await.unwrap_or_default()
    );
    let again: ContainerSpec = admin.get_json(&format!("{C}/{name}/spec")).await;
    assert_eq!(again.options, spec.options);
    assert_many_options(&inspect(&name).await);
}

#[tokio::test]
async fn files_are_written_with_their_owner_and_mode_before_the_container_starts() {
    let (_app, admin) = TestApp::start_set_up().await;
    let mut clean = Cleanup::default();
    let name = clean.container(&unique("files"));
    // "s3cr3t\n" and "port: 80\n" in base64.
    let mut body = json!({
        "name": name, "image": TEST_IMAGE,
        "cmd": ["sh", "-c", "stat -c '%u %g %a' /run/secrets/db_password /etc/app/config.yml; cat /run/secrets/db_password /etc/app/config.yml"],
        "files": [
            {"target": "/run/secrets/db_password", "content": "czNjcjN0Cg==", "uid": 1000, "gid": 1000, "mode": 0o400},
            {"target": "/etc/app/config.yml", "content": "cG9ydDogODAK"},
        ],
    });
    run(&admin, &body).await;
    let (code, out) = wait_output(&name).await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["1000 1000 400", "0 0 444", "s3cr3t", "port: 80"]
    );

    // An edit writes the files again into the new container.
    body["files"][0]["content"] = json!("bmV3Cg=="); // "new\n"
    let r = admin
        .client
        .put(format!("{}{C}/{name}", admin.base))
        .json(&body)
        .send()
        .await
        .expect("put");
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "{}",
        r.text().await.unwrap_or_default()
    );
    let (code, out) = wait_output(&name).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.lines().any(|l| l == "new"), "{out}");

    // Files cannot be read back out of a container: the spec has none.
    let spec: ContainerSpec = admin.get_json(&format!("{C}/{name}/spec")).await;
    assert!(spec.options.files.is_empty());
}

#[tokio::test]
async fn a_privileged_container_is_created_privileged() {
    let (_app, admin) = TestApp::start_set_up().await;
    let mut clean = Cleanup::default();
    let name = clean.container(&unique("priv"));
    // Only created: the engine on this test host runs inside a container
    // and cannot hand a privileged one every capability to start it.
    run(
        &admin,
        &json!({"name": name, "image": TEST_IMAGE, "cmd": ["sleep", "300"],
                "privileged": true, "start": false}),
    )
    .await;
    let host: HostConfig = inspect(&name).await.host_config.expect("host");
    assert_eq!(host.privileged, Some(true));
    let spec: ContainerSpec = admin.get_json(&format!("{C}/{name}/spec")).await;
    assert!(spec.options.privileged);

    // The same from a pasted line.
    let pasted = clean.container(&unique("privcli"));
    let r = admin
        .post_json(
            &format!("{C}/from-command"),
            &json!({"command": format!("docker run --privileged --name {pasted} {TEST_IMAGE} sleep 300"), "start": false}),
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap_or_default()
    );
    let host: HostConfig = inspect(&pasted).await.host_config.expect("host");
    assert_eq!(host.privileged, Some(true));
}

#[tokio::test]
async fn a_long_docker_run_line_with_every_kind_of_flag_creates_the_container() {
    let (_app, admin) = TestApp::start_set_up().await;
    let mut clean = Cleanup::default();
    let name = clean.container(&unique("cliopts"));
    let line = format!(
        "docker run -d --name {name} \\\n  --cap-add NET_ADMIN --cap-drop=MKNOD \\\n  \
         --sysctl net.ipv4.ip_forward=1 --ulimit nofile=1024:2048 \\\n  \
         --log-driver json-file --log-opt max-size=1m \\\n  \
         --add-host db.internal:10.0.0.2 --dns 9.9.9.9 --init \\\n  \
         --tmpfs /scratch:size=1m --shm-size 32m --read-only \\\n  \
         --stop-signal SIGINT --stop-timeout 5 --security-opt no-new-privileges:true \\\n  \
         --pids-limit 100 --memory-reservation 16m -c 512 --group-add 1234 \\\n  \
         --domainname example.org --expose 8080 --expose 53/udp --oom-score-adj 100 \\\n  \
         -l team=web {TEST_IMAGE} sleep 300"
    );
    let r = admin
        .post_json(&format!("{C}/from-command"), &json!({"command": line}))
        .await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap_or_default()
    );
    let c = inspect(&name).await;
    assert!(c.state.as_ref().and_then(|s| s.running).unwrap_or(false));
    assert_many_options(&c);
    let spec: ContainerSpec = admin.get_json(&format!("{C}/{name}/spec")).await;
    let asked: ContainerOptions = serde_json::from_value(many_options()).expect("options");
    assert_eq!(spec.options, asked);
}

#[tokio::test]
async fn a_bad_option_is_refused_naming_its_field() {
    let (_app, admin) = TestApp::start_set_up().await;
    let mut clean = Cleanup::default();
    let name = clean.container(&unique("badopt"));
    for (options, word) in [
        (
            json!({"ulimits": [{"name": "nofile", "soft": 4096, "hard": 1024}]}),
            "ulimits",
        ),
        (json!({"tmpfs": {"scratch": ""}}), "tmpfs"),
        (json!({"devices": [{"host": ""}]}), "devices"),
        (json!({"dns": ["resolver.local"]}), "dns"),
        (json!({"pid": "shared"}), "pid"),
    ] {
        let mut body = options.clone();
        body["name"] = json!(name);
        body["image"] = json!(TEST_IMAGE);
        let detail = expect_problem(admin.post_json(C, &body).await, StatusCode::BAD_REQUEST).await;
        assert!(detail.contains(word), "{options}: {detail}");
    }
    let detail = expect_problem(
        admin
            .post_json(
                &format!("{C}/from-command"),
                &json!({"command": format!("docker run --ulimit nofile=4096:1024 {TEST_IMAGE}")}),
            )
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(detail.contains("--ulimit"), "{detail}");
    assert!(
        engine().await.inspect_container(&name, None).await.is_err(),
        "nothing was created"
    );
}

#[tokio::test]
async fn a_gpu_request_reaches_the_engine_and_annotations_warn_on_an_old_engine() {
    let (_app, admin) = TestApp::start_set_up().await;
    let mut clean = Cleanup::default();
    let name = clean.container(&unique("gpu"));
    // No GPU here: the engine cannot start it, but it keeps the request.
    let created = run(
        &admin,
        &json!({
            "name": name, "image": TEST_IMAGE, "start": false,
            "device_requests": [{"driver": "nvidia", "count": 1, "capabilities": [["gpu", "utility"]]}],
            "annotations": {"org.example/owner": "ops"},
        }),
    )
    .await;
    let requests = inspect(&name)
        .await
        .host_config
        .and_then(|h| h.device_requests)
        .expect("device requests");
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].driver.as_deref(), Some("nvidia"));
    assert_eq!(requests[0].count, Some(1));
    assert_eq!(
        requests[0].capabilities,
        Some(vec![vec!["gpu".to_string(), "utility".to_string()]])
    );
    let spec: ContainerSpec = admin.get_json(&format!("{C}/{name}/spec")).await;
    assert_eq!(spec.options.device_requests.len(), 1);
    assert_eq!(spec.options.device_requests[0].driver, "nvidia");

    let version = engine().await.client_version();
    let old = (version.major_version, version.minor_version) < (1, 43);
    assert_eq!(
        created.warnings.iter().any(|w| w.contains("annotations")),
        old,
        "{:?}",
        created.warnings
    );
}

#[tokio::test]
async fn a_fixed_address_on_a_user_network_is_kept() {
    let (_app, admin) = TestApp::start_set_up().await;
    let mut clean = Cleanup::default();
    let net = clean.network(&unique("fixednet"));
    let name = clean.container(&unique("fixed"));
    let octet = 100 + (std::process::id() % 100);
    let subnet = format!("172.29.{octet}.0/24");
    let ip = format!("172.29.{octet}.23");
    engine()
        .await
        .create_network(bollard::models::NetworkCreateRequest {
            name: net.clone(),
            ipam: Some(bollard::models::Ipam {
                config: Some(vec![bollard::models::IpamConfig {
                    subnet: Some(subnet),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("network");
    run(
        &admin,
        &json!({"name": name, "image": TEST_IMAGE, "cmd": ["sleep", "300"],
                "network": net, "ipv4_address": ip}),
    )
    .await;
    let c = inspect(&name).await;
    let networks: HashMap<_, _> = c
        .network_settings
        .and_then(|n| n.networks)
        .unwrap_or_default();
    assert_eq!(
        networks.get(&net).and_then(|e| e.ip_address.clone()),
        Some(ip.clone())
    );
    let spec: ContainerSpec = admin.get_json(&format!("{C}/{name}/spec")).await;
    assert_eq!(spec.options.ipv4_address, Some(ip));
}
