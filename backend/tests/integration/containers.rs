//! Containers through berth against the real engine.

use protocol::{
    ContainerDetail, ContainerState, ContainerSummary, Endpoint, EndpointStatus, EngineInfo,
};
use reqwest::StatusCode;

use crate::common::*;

#[tokio::test]
async fn endpoints_and_engine_info_describe_the_real_engine() {
    let (_app, admin) = TestApp::start_set_up().await;
    let endpoints: Vec<Endpoint> = admin.get_json("/api/v1/endpoints").await;
    let local = endpoints
        .iter()
        .find(|e| e.id == "local")
        .expect("the local endpoint");
    assert_eq!(local.status, EndpointStatus::Up, "{local:?}");
    let engine_version = engine().await.version().await.expect("engine version");
    assert_eq!(
        local.engine.as_ref().map(|e| e.version.clone()),
        engine_version.version
    );

    let info: EngineInfo = admin.get_json("/api/v1/endpoints/local/info").await;
    assert_eq!(Some(info.api_version.clone()), engine_version.api_version);
    assert!(info.cpus >= 1 && info.memory_bytes > 0, "{info:?}");
    assert!(!info.kernel.is_empty() && !info.storage_driver.is_empty() && !info.os.is_empty());
    assert!(info.images >= 1, "the test image is there");

    expect_problem(
        admin.get("/api/v1/endpoints/nowhere/info").await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn a_container_made_through_the_engine_shows_up_with_its_project() {
    let (_app, admin) = TestApp::start_set_up().await;
    let name = unique("listed");
    let _c = EngineContainer::create(
        &name,
        &["sleep", "300"],
        &[
            ("com.docker.compose.project", "shop"),
            ("com.docker.compose.service", "web"),
        ],
        true,
    )
    .await;
    let stopped_name = unique("stopped");
    let _s = EngineContainer::create(&stopped_name, &["true"], &[], false).await;

    let list: Vec<ContainerSummary> = admin
        .get_json("/api/v1/endpoints/local/containers?all=true")
        .await;
    let row = list.iter().find(|c| c.name == name).expect("listed");
    assert_eq!(row.state, ContainerState::Running);
    assert_eq!(row.image, TEST_IMAGE);
    assert_eq!(row.project.as_deref(), Some("shop"));
    assert_eq!(row.service.as_deref(), Some("web"));
    assert!(row.status.starts_with("Up"), "{}", row.status);
    assert!(row.created > 0);
    let stopped = list
        .iter()
        .find(|c| c.name == stopped_name)
        .expect("created one listed with all=true");
    assert_eq!(stopped.state, ContainerState::Created);

    // Without all=true only running containers are listed, like `docker ps`.
    let running: Vec<ContainerSummary> = admin.get_json("/api/v1/endpoints/local/containers").await;
    assert!(running.iter().any(|c| c.name == name));
    assert!(!running.iter().any(|c| c.name == stopped_name));

    let detail: ContainerDetail = admin
        .get_json(&format!("/api/v1/endpoints/local/containers/{name}"))
        .await;
    assert_eq!(detail.name, name);
    assert!(detail.state.running);
    assert_eq!(detail.config.cmd, vec!["sleep", "300"]);
    assert_eq!(detail.project.as_deref(), Some("shop"));
    assert!(
        detail
            .networks
            .iter()
            .any(|n| n.network == "bridge" && !n.ip_address.is_empty()),
        "{:?}",
        detail.networks
    );
    // By id prefix too, as the engine allows.
    let by_id: ContainerDetail = admin
        .get_json(&format!(
            "/api/v1/endpoints/local/containers/{}",
            &detail.id[..12]
        ))
        .await;
    assert_eq!(by_id.name, name);
}

#[tokio::test]
async fn start_stop_restart_and_remove_change_what_the_engine_reports() {
    let (_app, admin) = TestApp::start_set_up().await;
    let name = unique("life");
    let c = EngineContainer::create(&name, &["sleep", "300"], &[], false).await;
    let base = format!("/api/v1/endpoints/local/containers/{name}");

    assert_eq!(
        admin.post(&format!("{base}/start")).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(c.running().await, Some(true));
    // Starting a running container is not an error.
    assert_eq!(
        admin.post(&format!("{base}/start")).await.status(),
        StatusCode::NO_CONTENT
    );

    let before: ContainerDetail = admin.get_json(&base).await;
    assert_eq!(
        admin.post(&format!("{base}/restart")).await.status(),
        StatusCode::NO_CONTENT
    );
    let after: ContainerDetail = admin.get_json(&base).await;
    assert!(after.state.running);
    assert_ne!(
        before.state.started_at, after.state.started_at,
        "restart started it anew"
    );

    // A running container is not removed without force.
    let detail = expect_problem(admin.delete(&base).await, StatusCode::CONFLICT).await;
    assert!(
        detail.contains("running") && detail.contains("force=true"),
        "{detail}"
    );
    assert_eq!(c.running().await, Some(true));

    assert_eq!(
        admin.post(&format!("{base}/stop")).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(c.running().await, Some(false));
    let list: Vec<ContainerSummary> = admin
        .get_json("/api/v1/endpoints/local/containers?all=true")
        .await;
    assert_eq!(
        list.iter().find(|s| s.name == name).map(|s| s.state),
        Some(ContainerState::Exited)
    );

    assert_eq!(admin.delete(&base).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(c.running().await, None, "gone from the engine");
    expect_problem(admin.get(&base).await, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn force_removes_a_running_container() {
    let (_app, admin) = TestApp::start_set_up().await;
    let name = unique("force");
    let c = EngineContainer::create(&name, &["sleep", "300"], &[], true).await;
    let r = admin
        .delete(&format!(
            "/api/v1/endpoints/local/containers/{name}?force=true"
        ))
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(c.running().await, None);
}

#[tokio::test]
async fn unknown_containers_are_404_problems() {
    let (_app, admin) = TestApp::start_set_up().await;
    let missing = unique("missing");
    for r in [
        admin
            .get(&format!("/api/v1/endpoints/local/containers/{missing}"))
            .await,
        admin
            .post(&format!(
                "/api/v1/endpoints/local/containers/{missing}/start"
            ))
            .await,
        admin
            .post(&format!(
                "/api/v1/endpoints/local/containers/{missing}/stop"
            ))
            .await,
        admin
            .delete(&format!("/api/v1/endpoints/local/containers/{missing}"))
            .await,
    ] {
        let detail = expect_problem(r, StatusCode::NOT_FOUND).await;
        assert!(
            detail.contains(&missing) && detail.contains("local"),
            "{detail}"
        );
    }
}

#[tokio::test]
async fn an_unreachable_engine_gives_503_naming_the_endpoint_and_berth_stays_up() {
    let dir = tempfile::tempdir().expect("dir");
    let socket = format!("unix://{}/nothing.sock", dir.path().display());
    let app = TestApp::start_with_docker_host(&socket).await;
    let admin = app.anonymous();
    let token = app.setup_token.clone().expect("token");
    let r = admin
        .post_json("/api/v1/setup", &serde_json::json!({"token": token, "username": ADMIN_USER, "password": ADMIN_PASSWORD}))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);

    assert_eq!(admin.get("/healthz").await.status(), StatusCode::OK);
    let detail = expect_problem(
        admin.get("/api/v1/endpoints/local/containers").await,
        StatusCode::SERVICE_UNAVAILABLE,
    )
    .await;
    assert!(detail.contains("endpoint local is unreachable"), "{detail}");
    assert!(detail.contains("dockerd"), "says why: {detail}");
    let endpoints: Vec<Endpoint> = admin.get_json("/api/v1/endpoints").await;
    assert_eq!(endpoints[0].status, EndpointStatus::Down);
    assert!(endpoints[0].error.is_some());
    let ready: serde_json::Value = admin.get_json("/readyz").await;
    assert_eq!(ready["store"], "ok");
    assert_eq!(ready["endpoints"][0]["status"], "down");
}
