//! Running containers the way `docker run` does, against the real engine.

use protocol::{
    BulkResult, ContainerDetail, ContainerSpec, ContainerState, CreatedContainer, PortMapping,
};
use reqwest::StatusCode;
use serde_json::json;

use crate::common::*;

const C: &str = "/api/v1/endpoints/local/containers";

async fn run(admin: &Api, body: serde_json::Value) -> CreatedContainer {
    let r = admin.post_json(C, &body).await;
    let status = r.status();
    let text = r.text().await.expect("body");
    assert_eq!(status, StatusCode::CREATED, "{text}");
    serde_json::from_str(&text).expect("created")
}

#[tokio::test]
async fn a_published_port_serves_busybox_httpd() {
    let (_app, admin) = TestApp::start_set_up().await;
    let mut clean = Cleanup::default();
    let name = clean.container(&unique("httpd"));
    let port = free_port();
    let created = run(&admin, json!({
        "name": name, "image": TEST_IMAGE,
        "cmd": ["sh", "-c", "mkdir -p /www && echo hello from berth > /www/index.html && exec httpd -f -p 80 -h /www"],
        "ports": [{"host_ip": "127.0.0.1", "host_port": port, "container_port": 80, "protocol": "tcp"}],
    })).await;
    assert!(created.started);
    assert_eq!(created.name, name);

    let mut body = String::new();
    for _ in 0..50 {
        if let Ok(r) = reqwest::get(format!("http://127.0.0.1:{port}/")).await {
            body = r.text().await.unwrap_or_default();
            if !body.is_empty() {
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(body.trim(), "hello from berth");

    let ports: Vec<PortMapping> = admin.get_json("/api/v1/endpoints/local/ports").await;
    let mapping = ports
        .iter()
        .find(|p| p.host_port == port)
        .expect("on the port map");
    assert_eq!(
        (
            mapping.container.as_str(),
            mapping.container_port,
            mapping.protocol.as_str()
        ),
        (name.as_str(), 80, "tcp")
    );
    assert_eq!(mapping.host_ip, "127.0.0.1");
    assert_eq!(mapping.state, ContainerState::Running);

    // Another container asking for the same host port is refused before the
    // engine is asked, naming the holder.
    let other = clean.container(&unique("clash"));
    let r = admin
        .post_json(
            C,
            &json!({"name": other, "image": TEST_IMAGE, "cmd": ["sleep", "30"],
        "ports": [{"host_port": port, "container_port": 8080}]}),
        )
        .await;
    let detail = expect_problem(r, StatusCode::CONFLICT).await;
    assert!(
        detail.contains(&port.to_string()) && detail.contains(&name),
        "{detail}"
    );
    expect_problem(
        admin.get(&format!("{C}/{other}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn named_volume_data_survives_the_container_and_binds_show_host_files() {
    let (_app, admin) = TestApp::start_set_up().await;
    let mut clean = Cleanup::default();
    let volume = clean.volume(&unique("data"));
    let writer = clean.container(&unique("writer"));
    run(&admin, json!({"name": writer, "image": TEST_IMAGE, "cmd": ["sh", "-c", "echo persisted > /data/file"],
        "mounts": [{"type": "volume", "source": volume, "target": "/data"}]})).await;
    assert_eq!(wait_output(&writer).await.0, 0);
    assert_eq!(
        admin.delete(&format!("{C}/{writer}")).await.status(),
        StatusCode::NO_CONTENT
    );

    let reader = clean.container(&unique("reader"));
    run(
        &admin,
        json!({"name": reader, "image": TEST_IMAGE, "cmd": ["cat", "/data/file"],
        "mounts": [{"type": "volume", "source": volume, "target": "/data"}]}),
    )
    .await;
    let (code, out) = wait_output(&reader).await;
    assert_eq!((code, out.trim()), (0, "persisted"));

    // A bind mount shows a host file; read-only is enforced.
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("greeting"), "from the host\n").expect("write");
    let host = dir.path().display().to_string();
    let binder = clean.container(&unique("bind"));
    run(
        &admin,
        json!({"name": binder, "image": TEST_IMAGE, "cmd": ["cat", "/host/greeting"],
        "mounts": [{"type": "bind", "source": host, "target": "/host", "read_only": true}]}),
    )
    .await;
    let (code, out) = wait_output(&binder).await;
    assert_eq!((code, out.trim()), (0, "from the host"));
    let ro = clean.container(&unique("ro"));
    run(
        &admin,
        json!({"name": ro, "image": TEST_IMAGE, "cmd": ["sh", "-c", "echo x > /host/new"],
        "mounts": [{"type": "bind", "source": host, "target": "/host", "read_only": true}]}),
    )
    .await;
    let (code, out) = wait_output(&ro).await;
    assert_ne!(code, 0, "writing to a :ro mount fails: {out}");
    assert!(out.contains("Read-only file system"), "{out}");
    assert!(!dir.path().join("new").exists());

    // The volume is in use while a container mounts it.
    let r = admin
        .delete(&format!("/api/v1/endpoints/local/volumes/{volume}"))
        .await;
    let detail = expect_problem(r, StatusCode::CONFLICT).await;
    assert!(detail.contains(&reader), "{detail}");
}

#[tokio::test]
async fn containers_on_a_user_network_reach_each_other_by_name() {
    let (_app, admin) = TestApp::start_set_up().await;
    let mut clean = Cleanup::default();
    let net = clean.network(&unique("net"));
    let r = admin
        .post_json(
            "/api/v1/endpoints/local/networks",
            &json!({"name": net, "subnet": "172.29.77.0/24", "gateway": "172.29.77.1"}),
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap_or_default()
    );
    let server = clean.container(&unique("server"));
    run(&admin, json!({"name": server, "image": TEST_IMAGE, "network": net,
        "cmd": ["sh", "-c", "mkdir -p /www && echo pong > /www/index.html && exec httpd -f -p 80 -h /www"]})).await;
    let client = clean.container(&unique("client"));
    run(&admin, json!({"name": client, "image": TEST_IMAGE, "network": net,
        "cmd": ["sh", "-c", format!("for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O - http://{server}/ && exit 0; sleep 0.3; done; exit 1")]})).await;
    let (code, out) = wait_output(&client).await;
    assert_eq!((code, out.trim()), (0, "pong"));

    let network: protocol::NetworkSummary = admin
        .get_json(&format!("/api/v1/endpoints/local/networks/{net}"))
        .await;
    assert_eq!(network.subnets[0].subnet, "172.29.77.0/24");
    let member = network
        .containers
        .iter()
        .find(|m| m.container == server)
        .expect("server attached");
    assert!(member.ipv4_address.starts_with("172.29.77."), "{member:?}");

    let r = admin
        .delete(&format!("/api/v1/endpoints/local/networks/{net}"))
        .await;
    let detail = expect_problem(r, StatusCode::CONFLICT).await;
    assert!(detail.contains(&server), "{detail}");
}

#[tokio::test]
async fn settings_reach_the_engine_exactly_as_asked() {
    let (_app, admin) = TestApp::start_set_up().await;
    let mut clean = Cleanup::default();
    let name = clean.container(&unique("settings"));
    run(
        &admin,
        json!({
            "name": name, "image": TEST_IMAGE, "cmd": ["sleep", "300"],
            "env": {"GREETING": "hello world", "EMPTY": ""},
            "labels": {"team": "web", "tier": "front"},
            "restart": "on-failure:3", "workdir": "/tmp", "user": "1000:1000", "hostname": "box",
            "memory_bytes": 67108864, "nano_cpus": 500000000,
            "gpus": "all", "start": false,
        }),
    )
    .await;
    let docker = engine().await;
    let c = docker
        .inspect_container(&name, None)
        .await
        .expect("inspect");
    let config = c.config.expect("config");
    let host = c.host_config.expect("host");
    let env = config.env.unwrap_or_default();
    assert!(
        env.contains(&"GREETING=hello world".to_string()) && env.contains(&"EMPTY=".to_string()),
        "{env:?}"
    );
    let labels = config.labels.unwrap_or_default();
    assert_eq!(
        (
            labels.get("team").map(String::as_str),
            labels.get("tier").map(String::as_str)
        ),
        (Some("web"), Some("front"))
    );
    assert_eq!(config.working_dir.as_deref(), Some("/tmp"));
    assert_eq!(config.user.as_deref(), Some("1000:1000"));
    assert_eq!(config.hostname.as_deref(), Some("box"));
    let restart = host.restart_policy.expect("restart");
    assert_eq!(
        restart.name.map(|n| n.to_string()).as_deref(),
        Some("on-failure")
    );
    assert_eq!(restart.maximum_retry_count, Some(3));
    assert_eq!(host.memory, Some(67108864));
    assert_eq!(host.nano_cpus, Some(500000000));
    let gpu = &host.device_requests.expect("device requests")[0];
    assert_eq!(gpu.count, Some(-1));
    assert_eq!(gpu.capabilities, Some(vec![vec!["gpu".to_string()]]));
    assert_eq!(
        c.state
            .and_then(|s| s.status)
            .map(|s| s.to_string())
            .as_deref(),
        Some("created"),
        "start=false only creates"
    );

    // The spec read back is what was asked, so duplicate/edit starts from it.
    let spec: ContainerSpec = admin.get_json(&format!("{C}/{name}/spec")).await;
    assert_eq!(
        spec.env.get("GREETING").map(String::as_str),
        Some("hello world")
    );
    assert_eq!(spec.restart.as_deref(), Some("on-failure:3"));
    assert_eq!(spec.memory_bytes, Some(67108864));
    assert_eq!(spec.workdir.as_deref(), Some("/tmp"));
    assert_eq!(spec.cmd, Some(vec!["sleep".to_string(), "300".to_string()]));
    assert!(matches!(spec.gpus, Some(protocol::GpuRequest::All(_))));
}

#[tokio::test]
async fn editing_recreates_under_the_same_name_and_a_failed_edit_keeps_the_old_one() {
    let (_app, admin) = TestApp::start_set_up().await;
    let mut clean = Cleanup::default();
    let name = clean.container(&unique("edit"));
    let first = run(
        &admin,
        json!({"name": name, "image": TEST_IMAGE, "cmd": ["sleep", "300"], "env": {"V": "1"}}),
    )
    .await;
    let mut spec: ContainerSpec = admin.get_json(&format!("{C}/{name}/spec")).await;
    spec.env.insert("V".into(), "2".into());
    let r = admin
        .client
        .put(format!("{}{C}/{name}", admin.base))
        .json(&spec)
        .send()
        .await
        .expect("put");
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "{}",
        r.text().await.unwrap_or_default()
    );
    let detail: ContainerDetail = admin.get_json(&format!("{C}/{name}")).await;
    assert_ne!(detail.id, first.id, "a new container");
    assert!(detail.state.running);
    assert!(detail.config.env.contains(&"V=2".to_string()));
    let all: Vec<protocol::ContainerSummary> = admin.get_json(&format!("{C}?all=true")).await;
    assert!(!all.iter().any(|c| c.id == first.id), "the old one is gone");

    // An edit the engine refuses (unknown image) leaves the old container running under its name.
    spec.image = "berth-test/does-not-exist:1".into();
    let r = admin
        .client
        .put(format!("{}{C}/{name}", admin.base))
        .json(&spec)
        .send()
        .await
        .expect("put");
    let problem = expect_problem(r, StatusCode::NOT_FOUND).await;
    assert!(problem.contains("does-not-exist"), "{problem}");
    let after: ContainerDetail = admin.get_json(&format!("{C}/{name}")).await;
    assert_eq!(after.id, detail.id);
    assert!(after.state.running);
}

#[tokio::test]
async fn a_docker_run_line_creates_the_container() {
    let (_app, admin) = TestApp::start_set_up().await;
    let mut clean = Cleanup::default();
    let name = clean.container(&unique("cli"));
    let volume = clean.volume(&unique("clivol"));
    let port = free_port();
    let line = format!("docker run -d --name {name} -p 127.0.0.1:{port}:80 -e 'MSG=hi there' -v {volume}:/data --restart unless-stopped -l app=demo {TEST_IMAGE} sleep 300");
    let r = admin
        .post_json(&format!("{C}/from-command"), &json!({"command": line}))
        .await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap_or_default()
    );
    let detail: ContainerDetail = admin.get_json(&format!("{C}/{name}")).await;
    assert!(detail.state.running);
    assert!(detail.config.env.contains(&"MSG=hi there".to_string()));
    assert_eq!(detail.host_config.restart_policy, "unless-stopped");
    assert_eq!(
        detail.config.labels.get("app").map(String::as_str),
        Some("demo")
    );
    assert!(detail
        .ports
        .iter()
        .any(|p| p.host_port == Some(port) && p.container_port == 80));
    assert!(detail
        .mounts
        .iter()
        .any(|m| m.name.as_deref() == Some(volume.as_str()) && m.destination == "/data"));

    for (bad, word) in [
        (
            format!("docker run --cidfile /tmp/id {TEST_IMAGE}"),
            "--cidfile",
        ),
        ("docker run -p 99999:80 busybox".to_string(), "99999"),
        ("docker run --name web".to_string(), "image"),
        ("ls -la".to_string(), "docker run"),
        (
            format!("docker run {TEST_IMAGE} sh -c 'unterminated"),
            "quote",
        ),
    ] {
        let r = admin
            .post_json(&format!("{C}/from-command"), &json!({"command": bad}))
            .await;
        let detail = expect_problem(r, StatusCode::BAD_REQUEST).await;
        assert!(detail.contains(word), "{bad}: {detail}");
    }
}

#[tokio::test]
async fn bad_input_is_refused_with_reasons_and_nothing_is_left_behind() {
    let (_app, admin) = TestApp::start_set_up().await;
    let mut clean = Cleanup::default();
    let name = clean.container(&unique("bad"));
    let cases = [
        (
            json!({"name": name, "image": "berth-test/no-such-image:1"}),
            StatusCode::NOT_FOUND,
            "pull or build it first",
        ),
        (
            json!({"name": name, "image": TEST_IMAGE, "ports": [{"container_port": 70000}]}),
            StatusCode::BAD_REQUEST,
            "container_port",
        ),
        (
            json!({"name": name, "image": TEST_IMAGE, "mounts": [{"type": "bind", "source": "relative/dir", "target": "/x"}]}),
            StatusCode::BAD_REQUEST,
            "absolute host path",
        ),
        (
            json!({"name": name, "image": TEST_IMAGE, "mounts": [{"type": "tmpfs", "target": "/x"}]}),
            StatusCode::BAD_REQUEST,
            "type",
        ),
        (
            json!({"name": name, "image": TEST_IMAGE, "restart": "sometimes"}),
            StatusCode::BAD_REQUEST,
            "restart policy",
        ),
        (
            json!({"name": "bad name!", "image": TEST_IMAGE}),
            StatusCode::BAD_REQUEST,
            "not a valid container name",
        ),
        (
            json!({"name": name, "image": TEST_IMAGE, "cmd": ["/no/such/binary"]}),
            StatusCode::BAD_REQUEST,
            "command was not found",
        ),
    ];
    for (body, status, words) in cases {
        let detail = expect_problem(admin.post_json(C, &body).await, status).await;
        assert!(detail.contains(words), "{body}: {detail}");
        expect_problem(
            admin.get(&format!("{C}/{name}")).await,
            StatusCode::NOT_FOUND,
        )
        .await;
    }
    // A taken name is a 409 naming it.
    run(
        &admin,
        json!({"name": name, "image": TEST_IMAGE, "cmd": ["sleep", "30"]}),
    )
    .await;
    let detail = expect_problem(
        admin
            .post_json(C, &json!({"name": name, "image": TEST_IMAGE}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(detail.contains(&name), "{detail}");
}

#[tokio::test]
async fn pause_kill_rename_and_bulk_actions() {
    let (_app, admin) = TestApp::start_set_up().await;
    let mut clean = Cleanup::default();
    let a = clean.container(&unique("a"));
    let b = clean.container(&unique("b"));
    run(
        &admin,
        json!({"name": a, "image": TEST_IMAGE, "cmd": ["sleep", "300"]}),
    )
    .await;
    run(
        &admin,
        json!({"name": b, "image": TEST_IMAGE, "cmd": ["sleep", "300"]}),
    )
    .await;

    assert_eq!(
        admin.post(&format!("{C}/{a}/pause")).await.status(),
        StatusCode::NO_CONTENT
    );
    let d: ContainerDetail = admin.get_json(&format!("{C}/{a}")).await;
    assert!(d.state.paused);
    assert_eq!(
        admin.post(&format!("{C}/{a}/unpause")).await.status(),
        StatusCode::NO_CONTENT
    );
    let d: ContainerDetail = admin.get_json(&format!("{C}/{a}")).await;
    assert!(!d.state.paused && d.state.running);

    let renamed = clean.container(&format!("{a}-renamed"));
    assert_eq!(
        admin
            .post_json(&format!("{C}/{a}/rename"), &json!({"name": renamed}))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let d: ContainerDetail = admin.get_json(&format!("{C}/{renamed}")).await;
    assert_eq!(d.name, renamed);
    let taken = admin
        .post_json(&format!("{C}/{renamed}/rename"), &json!({"name": b}))
        .await;
    expect_problem(taken, StatusCode::CONFLICT).await;

    assert_eq!(
        admin
            .post(&format!("{C}/{renamed}/kill?signal=SIGKILL"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let (_, _) = wait_output(&renamed).await;
    let d: ContainerDetail = admin.get_json(&format!("{C}/{renamed}")).await;
    assert!(!d.state.running);
    expect_problem(
        admin
            .post(&format!("{C}/{b}/kill?signal=NOT%20A%20SIGNAL"))
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;

    let r = admin
        .post_json(
            &format!("{C}/bulk"),
            &json!({"action": "remove", "ids": [renamed, b, "berth-test-nothing"], "force": true}),
        )
        .await;
    let results: Vec<BulkResult> = r.json().await.expect("results");
    assert!(results[0].ok && results[1].ok, "{results:?}");
    assert!(
        !results[2].ok
            && results[2]
                .error
                .as_deref()
                .is_some_and(|e| e.contains("berth-test-nothing"))
    );
    expect_problem(admin.get(&format!("{C}/{b}")).await, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn volumes_and_networks_are_managed_with_clear_conflicts() {
    let (_app, admin) = TestApp::start_set_up().await;
    let mut clean = Cleanup::default();
    let vol = clean.volume(&unique("vol"));
    let r = admin
        .post_json(
            "/api/v1/endpoints/local/volumes",
            &json!({"name": vol, "labels": {"owner": "test"}}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let again = admin
        .post_json("/api/v1/endpoints/local/volumes", &json!({"name": vol}))
        .await;
    expect_problem(again, StatusCode::CONFLICT).await;
    let volumes: Vec<protocol::VolumeSummary> =
        admin.get_json("/api/v1/endpoints/local/volumes").await;
    let v = volumes.iter().find(|v| v.name == vol).expect("listed");
    assert_eq!(v.labels.get("owner").map(String::as_str), Some("test"));
    assert!(v.used_by.is_empty() && v.mountpoint.contains(&vol));

    let user = clean.container(&unique("user"));
    run(&admin, json!({"name": user, "image": TEST_IMAGE, "cmd": ["sleep", "300"], "mounts": [{"type": "volume", "source": vol, "target": "/v", "read_only": true}]})).await;
    let v: protocol::VolumeSummary = admin
        .get_json(&format!("/api/v1/endpoints/local/volumes/{vol}"))
        .await;
    assert_eq!(v.used_by.len(), 1);
    assert_eq!(
        (
            v.used_by[0].container.as_str(),
            v.used_by[0].destination.as_str(),
            v.used_by[0].read_only
        ),
        (user.as_str(), "/v", true)
    );
    expect_problem(
        admin
            .delete(&format!("/api/v1/endpoints/local/volumes/{vol}"))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    admin.delete(&format!("{C}/{user}?force=true")).await;
    assert_eq!(
        admin
            .delete(&format!("/api/v1/endpoints/local/volumes/{vol}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    expect_problem(
        admin
            .get(&format!("/api/v1/endpoints/local/volumes/{vol}"))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;

    let spare = clean.volume(&unique("spare"));
    admin
        .post_json("/api/v1/endpoints/local/volumes", &json!({"name": spare}))
        .await;
    let report: protocol::PruneReport = admin
        .post("/api/v1/endpoints/local/volumes/prune")
        .await
        .json()
        .await
        .expect("prune");
    assert!(report.deleted.contains(&spare), "{report:?}");

    let net = clean.network(&unique("n"));
    let r = admin
        .post_json(
            "/api/v1/endpoints/local/networks",
            &json!({"name": net, "internal": true}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let bad = admin
        .post_json(
            "/api/v1/endpoints/local/networks",
            &json!({"name": "x", "subnet": "10.0.0.0"}),
        )
        .await;
    expect_problem(bad, StatusCode::BAD_REQUEST).await;
    let member = clean.container(&unique("member"));
    run(
        &admin,
        json!({"name": member, "image": TEST_IMAGE, "cmd": ["sleep", "300"]}),
    )
    .await;
    let r = admin
        .post_json(
            &format!("/api/v1/endpoints/local/networks/{net}/connect"),
            &json!({"container": member, "aliases": ["db"]}),
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::NO_CONTENT,
        "{}",
        r.text().await.unwrap_or_default()
    );
    let n: protocol::NetworkSummary = admin
        .get_json(&format!("/api/v1/endpoints/local/networks/{net}"))
        .await;
    assert!(n.internal);
    let m = n
        .containers
        .iter()
        .find(|m| m.container == member)
        .expect("member");
    assert!(m.aliases.contains(&"db".to_string()), "{m:?}");
    expect_problem(
        admin
            .delete(&format!("/api/v1/endpoints/local/networks/{net}"))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    let r = admin
        .post_json(
            &format!("/api/v1/endpoints/local/networks/{net}/disconnect"),
            &json!({"container": member}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        admin
            .delete(&format!("/api/v1/endpoints/local/networks/{net}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    expect_problem(
        admin
            .delete("/api/v1/endpoints/local/networks/bridge")
            .await,
        StatusCode::CONFLICT,
    )
    .await;
}

#[tokio::test]
async fn disk_usage_counts_what_the_engine_holds() {
    let (_app, admin) = TestApp::start_set_up().await;
    let usage: protocol::DiskUsage = admin.get_json("/api/v1/endpoints/local/disk-usage").await;
    assert!(
        usage.images.count >= 1 && usage.images.size_bytes > 0,
        "{usage:?}"
    );
    assert!(usage.images.reclaimable_bytes <= usage.images.size_bytes);
}
