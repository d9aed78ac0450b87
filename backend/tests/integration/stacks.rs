//! Stacks through berth's native compose engine, against the real engine
//! and Debian's `docker-compose` for interop.

use std::process::Command;
use std::time::Duration;

use protocol::{
    ComposeCheck, ContainerDetail, EventFrame, PlanAction, Role, StackDetail, StackFiles,
    StackOrigin, StackPlan, StackProgress, StackSummary, StackUpload,
};
use reqwest::StatusCode;
use serde_json::json;

use crate::common::*;

const S: &str = "/api/v1/endpoints/local/stacks";

/// Removes a compose project's containers, networks and volumes on drop.
pub(crate) struct ProjectCleanup(pub(crate) String);

impl Drop for ProjectCleanup {
    fn drop(&mut self) {
        let project = self.0.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                use bollard::query_parameters::{
                    ListContainersOptions, ListNetworksOptions, ListVolumesOptions,
                    RemoveContainerOptions,
                };
                let docker = engine().await;
                let filter: std::collections::HashMap<String, Vec<String>> = [(
                    "label".to_string(),
                    vec![format!("com.docker.compose.project={project}")],
                )]
                .into_iter()
                .collect();
                if let Ok(cs) = docker
                    .list_containers(Some(ListContainersOptions {
                        all: true,
                        filters: Some(filter.clone()),
                        ..Default::default()
                    }))
                    .await
                {
                    for c in cs {
                        let _ = docker
                            .remove_container(
                                &c.id.unwrap_or_default(),
                                Some(RemoveContainerOptions {
                                    force: true,
                                    v: true,
                                    link: false,
                                }),
                            )
                            .await;
                    }
                }
                if let Ok(ns) = docker
                    .list_networks(Some(ListNetworksOptions {
                        filters: Some(filter.clone()),
                    }))
                    .await
                {
                    for n in ns {
                        let _ = docker.remove_network(&n.id.unwrap_or_default()).await;
                    }
                }
                if let Ok(vs) = docker
                    .list_volumes(Some(ListVolumesOptions {
                        filters: Some(filter),
                    }))
                    .await
                {
                    for v in vs.volumes.unwrap_or_default() {
                        let _ = docker
                            .remove_volume(
                                &v.name,
                                None::<bollard::query_parameters::RemoveVolumeOptions>,
                            )
                            .await;
                    }
                }
            });
        })
        .join();
    }
}

pub(crate) fn project_name(prefix: &str) -> String {
    unique(prefix).replace("berth-test-", "bt").to_lowercase()
}

pub(crate) async fn progress(
    admin: &Api,
    path: &str,
    body: serde_json::Value,
) -> Vec<StackProgress> {
    let r = admin.post_json(path, &body).await;
    let status = r.status();
    let text = r.text().await.expect("body");
    assert_eq!(status, StatusCode::OK, "{text}");
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

pub(crate) fn assert_done(lines: &[StackProgress]) {
    match lines.last() {
        Some(StackProgress::Done { .. }) => {}
        other => panic!("the deploy did not finish: {other:?}\n{lines:?}"),
    }
}

pub(crate) async fn plan_of(admin: &Api, name: &str) -> StackPlan {
    let r = admin.post(&format!("{S}/{name}/plan")).await;
    let status = r.status();
    let text = r.text().await.expect("plan");
    assert_eq!(status, StatusCode::OK, "{text}");
    serde_json::from_str(&text).expect("plan json")
}

fn recreates(plan: &StackPlan) -> Vec<(String, Vec<String>)> {
    plan.steps
        .iter()
        .filter(|s| s.action == PlanAction::Recreate)
        .map(|s| (s.service.clone().unwrap_or_default(), s.reasons.clone()))
        .collect()
}

fn two_services(port: u16, greeting: &str) -> String {
    format!(
        "services:\n  web:\n    image: {TEST_IMAGE}\n    command: [\"sh\", \"-c\", \"mkdir -p /www && echo $$GREETING > /www/index.html && exec httpd -f -p 80 -h /www\"]\n    environment:\n      GREETING: \"{greeting}\"\n    ports:\n      - \"127.0.0.1:{port}:80\"\n    depends_on:\n      db:\n        condition: service_healthy\n  db:\n    image: {TEST_IMAGE}\n    command: [\"sh\", \"-c\", \"touch /data/ready && exec sleep 600\"]\n    volumes:\n      - dbdata:/data\n    healthcheck:\n      test: [\"CMD\", \"test\", \"-f\", \"/data/ready\"]\n      interval: 1s\n      timeout: 1s\n      retries: 10\nvolumes:\n  dbdata:\n"
    )
}

async fn get_text(port: u16) -> String {
    for _ in 0..50 {
        if let Ok(r) = reqwest::get(format!("http://127.0.0.1:{port}/")).await {
            let t = r.text().await.unwrap_or_default();
            if !t.is_empty() {
                return t;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    String::new()
}

#[tokio::test]
async fn deploy_plan_edit_redeploy_and_roll_back_a_two_service_stack() {
    let (app, admin) = TestApp::start_set_up().await;
    let name = project_name("shop");
    let _cleanup = ProjectCleanup(name.clone());
    let port = free_port();
    let cookie = app.login_cookie(ADMIN_USER, ADMIN_PASSWORD).await;
    let mut events = app
        .ws("/api/v1/endpoints/local/events/ws", &cookie)
        .await
        .expect("events");

    let r = admin
        .post_json(
            S,
            &json!({"name": name, "compose": two_services(port, "hello v1"), "env": ""}),
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap_or_default()
    );

    let plan = plan_of(&admin, &name).await;
    let creates: Vec<(String, String)> = plan
        .steps
        .iter()
        .filter(|s| s.action == PlanAction::Create)
        .map(|s| (s.kind.clone(), s.name.clone()))
        .collect();
    assert!(
        creates.contains(&("network".into(), format!("{name}_default"))),
        "{creates:?}"
    );
    assert!(
        creates.contains(&("volume".into(), format!("{name}_dbdata"))),
        "{creates:?}"
    );
    assert!(
        creates.contains(&("container".into(), format!("{name}-web-1"))),
        "{creates:?}"
    );
    assert!(
        creates.contains(&("container".into(), format!("{name}-db-1"))),
        "{creates:?}"
    );
    assert!(!plan.unchanged);

    let lines = progress(&admin, &format!("{S}/{name}/up"), json!({})).await;
    assert_done(&lines);
    assert!(lines.iter().any(|l| matches!(l, StackProgress::Waiting { service, condition } if service == "db" && condition == "service_healthy")), "{lines:?}");
    assert_eq!(get_text(port).await.trim(), "hello v1");

    // The engine's events show db healthy before web is created.
    let (mut db_healthy, mut web_created) = (None, None);
    let mut n = 0;
    while web_created.is_none() {
        let Some(frame) = next_json::<EventFrame>(&mut events, 10).await else {
            break;
        };
        if let EventFrame::Event(e) = frame {
            n += 1;
            let service = e
                .attributes
                .get("com.docker.compose.service")
                .cloned()
                .unwrap_or_default();
            if e.attributes.get("com.docker.compose.project") != Some(&name) {
                continue;
            }
            if service == "db" && e.action.starts_with("health_status: healthy") {
                db_healthy.get_or_insert(n);
            }
            if service == "web" && e.action == "create" {
                web_created = Some(n);
            }
        }
    }
    assert!(
        db_healthy.is_some() && web_created.is_some() && db_healthy < web_created,
        "db healthy at {db_healthy:?}, web created at {web_created:?}"
    );

    // Unchanged: nothing to do.
    let plan = plan_of(&admin, &name).await;
    assert!(plan.unchanged, "{plan:?}");

    // One field at a time: exactly one recreate, with the right reason.
    let detail: StackDetail = admin.get_json(&format!("{S}/{name}")).await;
    assert_eq!(detail.origin, StackOrigin::Berth);
    let v1 = detail.compose.clone();
    for (changed, reason) in [
        (v1.replace("hello v1", "hello v2"), "environment"),
        (
            v1.replace(
                &format!("127.0.0.1:{port}:80"),
                &format!("127.0.0.1:{}:80", port + 1),
            ),
            "ports",
        ),
        (v1.replace("exec sleep 600", "exec sleep 601"), "command"),
        (
            v1.replace(
                "      - dbdata:/data\n",
                "      - dbdata:/data\n      - /tmp:/host-tmp:ro\n",
            ),
            "volumes",
        ),
        (
            v1.replace(
                "    depends_on:\n",
                "    restart: always\n    depends_on:\n",
            ),
            "restart",
        ),
        (
            v1.replace(
                "      GREETING: \"hello v1\"\n",
                "      GREETING: \"hello v1\"\n    labels:\n      tier: front\n",
            ),
            "labels",
        ),
    ] {
        let r = admin
            .post_json(
                &format!("{S}/{name}/plan"),
                &json!({"compose": changed, "env": ""}),
            )
            .await;
        let plan: StackPlan = r.json().await.expect("plan");
        let rs = recreates(&plan);
        assert_eq!(rs.len(), 1, "{reason}: {rs:?}");
        assert_eq!(rs[0].1, vec![reason.to_string()], "{rs:?}");
    }

    // Edit and redeploy: revision 2.
    let v2 = v1.replace("hello v1", "hello v2");
    let r = admin
        .client
        .put(format!("{}{S}/{name}", admin.base))
        .json(&json!({"compose": v2, "env": ""}))
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), StatusCode::OK);
    assert_done(&progress(&admin, &format!("{S}/{name}/up"), json!({})).await);
    assert_eq!(get_text(port).await.trim(), "hello v2");
    let revisions: Vec<protocol::StackRevision> =
        admin.get_json(&format!("{S}/{name}/revisions")).await;
    assert_eq!(
        revisions.iter().map(|r| r.number).collect::<Vec<_>>(),
        vec![2, 1]
    );
    assert_eq!(revisions[0].author, ADMIN_USER);
    let diff: serde_json::Value = admin
        .get_json(&format!("{S}/{name}/diff?from=1&to=2"))
        .await;
    let d = diff["compose"].as_str().unwrap_or_default();
    assert!(
        d.contains("-      GREETING: \"hello v1\"") && d.contains("+      GREETING: \"hello v2\""),
        "{d}"
    );

    // Roll back to revision 1: its config is restored, and it is saved as revision 3.
    assert_done(&progress(&admin, &format!("{S}/{name}/up"), json!({"revision": 1})).await);
    assert_eq!(get_text(port).await.trim(), "hello v1");
    let web: ContainerDetail = admin
        .get_json(&format!("/api/v1/endpoints/local/containers/{name}-web-1"))
        .await;
    assert!(web.config.env.contains(&"GREETING=hello v1".to_string()));
    let detail: StackDetail = admin.get_json(&format!("{S}/{name}")).await;
    assert_eq!(detail.revision, 3);

    // The compose CLI sees berth's stack.
    let file = app
        .state
        .config
        .data_dir
        .join("stacks/local")
        .join(&name)
        .join("compose.yaml");
    let out = Command::new("docker-compose")
        .arg("-f")
        .arg(&file)
        .args(["-p", &name, "ps"])
        .output()
        .expect("docker-compose");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("{name}-web-1")) && text.contains(&format!("{name}-db-1")),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Down: containers and network go, the volume stays unless asked.
    assert_done(&progress(&admin, &format!("{S}/{name}/down"), json!({})).await);
    let list: Vec<StackSummary> = admin.get_json(S).await;
    let me = list
        .iter()
        .find(|s| s.name == name)
        .expect("still a berth stack");
    assert_eq!(me.containers, 0);
    let vols: Vec<protocol::VolumeSummary> =
        admin.get_json("/api/v1/endpoints/local/volumes").await;
    assert!(vols.iter().any(|v| v.name == format!("{name}_dbdata")));
    assert_eq!(
        admin
            .delete(&format!("{S}/{name}?volumes=true"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let vols: Vec<protocol::VolumeSummary> =
        admin.get_json("/api/v1/endpoints/local/volumes").await;
    assert!(!vols.iter().any(|v| v.name == format!("{name}_dbdata")));
}

#[tokio::test]
async fn a_failed_up_names_the_service_and_keeps_what_ran() {
    let (_app, admin) = TestApp::start_set_up().await;
    let name = project_name("fail");
    // A deploy that works is audited as ok.
    let _cleanup = ProjectCleanup(name.clone());
    let port = free_port();
    let blocker_name = unique("blocker");
    let mut clean = Cleanup::default();
    clean.container(&blocker_name);
    let compose = format!("services:\n  api:\n    image: {TEST_IMAGE}\n    command: [\"sleep\", \"600\"]\n  web:\n    image: {TEST_IMAGE}\n    command: [\"sleep\", \"600\"]\n");
    admin
        .post_json(S, &json!({"name": name, "compose": compose}))
        .await;
    assert_done(&progress(&admin, &format!("{S}/{name}/up"), json!({})).await);
    assert_eq!(newest_audit_outcome(&admin, "stack.up", "ok").await, "ok");
    let before: ContainerDetail = admin
        .get_json(&format!("/api/v1/endpoints/local/containers/{name}-api-1"))
        .await;

    // Someone else holds the port web now asks for; api changes too.
    let r = admin.post_json("/api/v1/endpoints/local/containers", &json!({"name": blocker_name, "image": TEST_IMAGE, "cmd": ["sleep", "600"], "ports": [{"host_ip": "127.0.0.1", "host_port": port, "container_port": 80}]})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let broken = format!("services:\n  api:\n    image: {TEST_IMAGE}\n    command: [\"sleep\", \"600\"]\n  web:\n    image: {TEST_IMAGE}\n    command: [\"sleep\", \"601\"]\n    ports: [\"127.0.0.1:{port}:80\"]\n");
    admin
        .client
        .put(format!("{}{S}/{name}", admin.base))
        .json(&json!({"compose": broken}))
        .send()
        .await
        .expect("put");
    let lines = progress(&admin, &format!("{S}/{name}/up"), json!({})).await;
    match lines.last() {
        Some(StackProgress::Error { service, message }) => {
            assert_eq!(service.as_deref(), Some("web"));
            assert!(
                message.contains(&port.to_string()) && message.contains(&blocker_name),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    // The audit log says the deploy failed, though its answer began as 200.
    assert_eq!(
        newest_audit_outcome(&admin, "stack.up", "failed").await,
        "failed"
    );
    let web: ContainerDetail = admin
        .get_json(&format!("/api/v1/endpoints/local/containers/{name}-web-1"))
        .await;
    assert!(web.state.running, "the old web keeps running");
    assert_eq!(web.config.cmd, vec!["sleep", "600"]);
    let api: ContainerDetail = admin
        .get_json(&format!("/api/v1/endpoints/local/containers/{name}-api-1"))
        .await;
    assert_eq!(api.id, before.id);
    assert!(api.state.running);
}

#[tokio::test]
async fn a_stack_started_by_docker_compose_is_listed_adopted_and_updated() {
    let (app, admin) = TestApp::start_set_up().await;
    let name = project_name("cli");
    let _cleanup = ProjectCleanup(name.clone());
    let dir = tempfile::tempdir().expect("dir");
    let compose = format!("services:\n  app:\n    image: {TEST_IMAGE}\n    command: [\"sleep\", \"600\"]\n    environment:\n      MODE: one\n");
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

    let list: Vec<StackSummary> = admin.get_json(S).await;
    let s = list.iter().find(|s| s.name == name).expect("listed");
    assert_eq!(s.origin, StackOrigin::External);
    assert_eq!((s.services_total, s.services_running), (1, 1));
    let detail: StackDetail = admin.get_json(&format!("{S}/{name}")).await;
    assert_eq!(detail.services[0].name, "app");

    // Adopt: berth reads the file the CLI used.
    let r = admin.post(&format!("{S}/{name}/adopt")).await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap_or_default()
    );
    let detail: StackDetail = admin.get_json(&format!("{S}/{name}")).await;
    assert_eq!(detail.origin, StackOrigin::Berth);
    assert_eq!(detail.compose, compose);
    let plan = plan_of(&admin, &name).await;
    assert!(plan.unchanged, "adopting changes nothing: {plan:?}");

    // Update through berth; the CLI sees the new container.
    let updated = compose.replace("MODE: one", "MODE: two");
    admin
        .client
        .put(format!("{}{S}/{name}", admin.base))
        .json(&json!({"compose": updated}))
        .send()
        .await
        .expect("put");
    assert_done(&progress(&admin, &format!("{S}/{name}/up"), json!({})).await);
    let out = Command::new("docker-compose")
        .current_dir(dir.path())
        .args(["-p", &name, "ps", "-q"])
        .output()
        .expect("docker-compose ps");
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(!id.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    let c: ContainerDetail = admin
        .get_json(&format!("/api/v1/endpoints/local/containers/{}", &id[..12]))
        .await;
    assert!(
        c.config.env.contains(&"MODE=two".to_string()),
        "{:?}",
        c.config.env
    );
    let _ = app;
}

#[tokio::test]
async fn bad_files_are_refused_with_line_and_column() {
    let (_app, admin) = TestApp::start_set_up().await;
    let r = admin.post_json(S, &json!({"name": "badfile", "compose": "services:\n  web:\n    image: x\n    portz: [80]\n"})).await;
    let detail = expect_problem(r, StatusCode::BAD_REQUEST).await;
    assert!(
        detail.contains("4:5: unknown key `portz` in service `web`"),
        "{detail}"
    );
    let check: ComposeCheck = admin
        .post_json(
            &format!("{S}/validate"),
            &json!({"compose": "services:\n  db:\n    image: ${IMAGE:?set IMAGE}\n", "env": ""}),
        )
        .await
        .json()
        .await
        .expect("check");
    assert!(!check.ok);
    assert_eq!((check.errors[0].line, check.errors[0].column), (3, 12));
    assert!(check.errors[0]
        .message
        .contains("IMAGE is required: set IMAGE"));
    let r = admin
        .post_json(S, &json!({"name": "Bad Name", "compose": "services: {}"}))
        .await;
    expect_problem(r, StatusCode::BAD_REQUEST).await;
    expect_problem(
        admin.get(&format!("{S}/nosuchstack")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn run_lines_and_containers_become_compose_services() {
    let (_app, admin) = TestApp::start_set_up().await;
    let r: protocol::ComposeSnippet = admin
        .post_json("/api/v1/compose/from-run", &json!({"command": "docker run -d --name web -p 8080:80 -e A=1 -v data:/data --restart always nginx:1.27"}))
        .await
        .json()
        .await
        .expect("snippet");
    assert_eq!(r.service, "web");
    let check: ComposeCheck = admin
        .post_json(
            &format!("{S}/validate"),
            &json!({"compose": r.yaml, "env": ""}),
        )
        .await
        .json()
        .await
        .expect("check");
    assert!(check.ok, "{check:?}\n{}", r.yaml);
    assert!(
        r.yaml.contains("\"8080:80\"") && r.yaml.contains("restart: always"),
        "{}",
        r.yaml
    );

    let mut clean = Cleanup::default();
    let name = clean.container(&unique("export"));
    admin
        .post_json(
            "/api/v1/endpoints/local/containers",
            &json!({"name": name, "image": TEST_IMAGE, "cmd": ["sleep", "300"], "env": {"K": "v"}}),
        )
        .await;
    let snippet: protocol::ComposeSnippet = admin
        .get_json(&format!(
            "/api/v1/endpoints/local/containers/{name}/compose"
        ))
        .await;
    assert!(
        snippet.yaml.contains("K: v") && snippet.yaml.contains("command: [sleep, \"300\"]"),
        "{}",
        snippet.yaml
    );
    let check: ComposeCheck = admin
        .post_json(
            &format!("{S}/validate"),
            &json!({"compose": snippet.yaml, "env": ""}),
        )
        .await
        .json()
        .await
        .expect("check");
    assert!(check.ok, "{check:?}");
}

fn tar_of(files: &[(&str, &str)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, body) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, path, body.as_bytes())
            .expect("append");
    }
    b.into_inner().expect("tar")
}

#[tokio::test]
async fn services_with_build_are_built_from_the_uploaded_files_and_rebuilt_on_change() {
    let (_app, admin) = TestApp::start_set_up().await;
    let name = project_name("built");
    let _cleanup = ProjectCleanup(name.clone());
    let compose =
        "services:\n  app:\n    build:\n      context: ./app\n      args:\n        GREETING: hi\n"
            .to_string();
    assert_eq!(
        admin
            .post_json(S, &json!({"name": name, "compose": compose}))
            .await
            .status(),
        StatusCode::CREATED
    );
    let dockerfile = format!("FROM {TEST_IMAGE}\nARG GREETING\nCOPY hello.txt /hello.txt\nRUN echo \"$GREETING\" > /greeting\nCMD [\"sh\", \"-c\", \"cat /greeting /hello.txt; exec sleep 600\"]\n");

    // Nothing is there to build yet: a clear error naming the service.
    let lines = progress(&admin, &format!("{S}/{name}/up"), json!({})).await;
    match lines.last() {
        Some(StackProgress::Error { service, message }) => {
            assert_eq!(service.as_deref(), Some("app"));
            assert!(message.contains("upload the stack's files"), "{message}");
        }
        other => panic!("{other:?}"),
    }

    let r = admin
        .client
        .put(format!("{}{S}/{name}/files", admin.base))
        .body(tar_of(&[
            ("app/Dockerfile", &dockerfile),
            ("app/hello.txt", "version one\n"),
        ]))
        .send()
        .await
        .expect("upload");
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "{}",
        r.text().await.unwrap_or_default()
    );
    let lines = progress(&admin, &format!("{S}/{name}/up"), json!({})).await;
    assert_done(&lines);
    assert!(lines.iter().any(|l| matches!(l, StackProgress::Log { service, text } if service == "app" && text.starts_with("Step 1/"))), "{lines:?}");
    let container = format!("{name}-app-1");
    let first: ContainerDetail = admin
        .get_json(&format!("/api/v1/endpoints/local/containers/{container}"))
        .await;
    assert_eq!(first.image, format!("{name}-app"));
    let mut out = String::new();
    for _ in 0..30 {
        out = admin
            .get(&format!(
                "/api/v1/endpoints/local/containers/{container}/logs"
            ))
            .await
            .text()
            .await
            .unwrap_or_default();
        if out.contains("version one") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(out, "hi\nversion one\n");

    // New files: the next up rebuilds and recreates because the image moved.
    admin
        .client
        .put(format!("{}{S}/{name}/files", admin.base))
        .body(tar_of(&[("app/hello.txt", "version two\n")]))
        .send()
        .await
        .expect("upload");
    assert_done(&progress(&admin, &format!("{S}/{name}/up"), json!({})).await);
    let second: ContainerDetail = admin
        .get_json(&format!("/api/v1/endpoints/local/containers/{container}"))
        .await;
    assert_ne!(second.id, first.id, "recreated on the new image");
    assert_ne!(second.image_id, first.image_id);

    // An upload cannot write outside the stack's folder.
    let r = admin
        .client
        .put(format!("{}{S}/{name}/files", admin.base))
        .body(tar_with_raw_path("../escape.txt"))
        .send()
        .await
        .expect("upload");
    let detail = expect_problem(r, StatusCode::BAD_REQUEST).await;
    assert!(detail.contains("outside the stack's folder"), "{detail}");
    let _ = bollard_cleanup_image(&format!("{name}-app")).await;
}

#[tokio::test]
async fn a_stacks_files_are_listed_uploaded_into_a_folder_and_removed() {
    let (app, admin) = TestApp::start_set_up().await;
    let name = project_name("files");
    let _cleanup = ProjectCleanup(name.clone());
    let compose = "services:\n  web:\n    build: ./web\n";
    assert_eq!(
        admin
            .post_json(S, &json!({"name": name, "compose": compose}))
            .await
            .status(),
        StatusCode::CREATED
    );
    let files = format!("{S}/{name}/files");
    let listed: StackFiles = admin.get_json(&files).await;
    assert!(listed.files.is_empty(), "{listed:?}");
    // The build context the file names is not there yet.
    let web = &listed.contexts[0];
    assert_eq!(
        (
            web.service.as_str(),
            web.path.as_str(),
            web.present,
            web.ready
        ),
        ("web", "web", false, false)
    );

    // Into a folder; the stack's own compose.yaml at the top is not replaced.
    let put = |path: String, body: Vec<u8>| {
        let client = admin.client.clone();
        let url = format!("{}{path}", admin.base);
        async move { client.put(url).body(body).send().await.expect("upload") }
    };
    let r = put(
        format!("{files}?into=web"),
        tar_of(&[("index.html", "<h1>hi</h1>\n"), ("css/site.css", "h1{}\n")]),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let done: StackUpload = r.json().await.expect("upload json");
    assert_eq!(done.files, 2);
    let r = put(
        files.clone(),
        tar_of(&[("compose.yaml", "services: {}\n"), ("notes.txt", "n\n")]),
    )
    .await;
    let done: StackUpload = r.json().await.expect("upload json");
    assert_eq!(
        (done.files, done.skipped),
        (1, vec!["compose.yaml".to_owned()])
    );
    let detail: StackDetail = admin.get_json(&format!("{S}/{name}")).await;
    assert_eq!(detail.compose, compose, "the saved file is untouched");

    let listed: StackFiles = admin.get_json(&files).await;
    let paths: Vec<(&str, u64)> = listed
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.size))
        .collect();
    assert_eq!(
        paths,
        vec![
            ("notes.txt", 2),
            ("web/css/site.css", 5),
            ("web/index.html", 12)
        ]
    );
    assert_eq!(listed.total_bytes, 19);
    // The folder is there, but it has no Dockerfile.
    assert_eq!(
        (listed.contexts[0].present, listed.contexts[0].ready),
        (true, false)
    );
    assert!(listed.files.iter().all(|f| f.modified.is_some()));

    // A viewer sees the files but cannot change them.
    let viewer = app.user(&admin, &unique("v"), Role::Viewer).await;
    let seen: StackFiles = viewer.get_json(&files).await;
    assert_eq!(seen.files.len(), 3);
    let r = viewer
        .client
        .put(format!("{}{files}", viewer.base))
        .body(tar_of(&[("x.txt", "x")]))
        .send()
        .await
        .expect("upload");
    expect_problem(r, StatusCode::FORBIDDEN).await;
    expect_problem(
        viewer.delete(&format!("{files}?path=notes.txt")).await,
        StatusCode::FORBIDDEN,
    )
    .await;

    // Remove a folder, then a file; the owned files and outside paths are refused.
    assert_eq!(
        admin
            .delete(&format!("{files}?path=web/css"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let detail = expect_problem(
        admin.delete(&format!("{files}?path=compose.yaml")).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(detail.contains("editor"), "{detail}");
    expect_problem(
        admin.delete(&format!("{files}?path=../berth.db")).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    let detail = expect_problem(
        admin.delete(&format!("{files}?path=web/missing.txt")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert!(detail.contains("web/missing.txt"), "{detail}");
    expect_problem(
        put(format!("{files}?into=../up"), tar_of(&[("x.txt", "x")])).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    let listed: StackFiles = admin.get_json(&files).await;
    let paths: Vec<&str> = listed.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, vec!["notes.txt", "web/index.html"]);

    // A stack berth does not have: 404.
    expect_problem(
        admin
            .get(&format!("{S}/{}/files", project_name("none")))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

/// A tar whose one entry has exactly `path` as its name (the tar crate's
/// builder refuses `..`, as it should; an attacker's tool would not).
fn tar_with_raw_path(path: &str) -> Vec<u8> {
    let mut header = [0u8; 512];
    header[..path.len()].copy_from_slice(path.as_bytes());
    header[100..108].copy_from_slice(b"0000644\0");
    header[108..116].copy_from_slice(b"0000000\0");
    header[116..124].copy_from_slice(b"0000000\0");
    header[124..136].copy_from_slice(b"00000000002\0");
    header[136..148].copy_from_slice(b"00000000000\0");
    header[156] = b'0';
    header[257..263].copy_from_slice(b"ustar\0");
    header[263..265].copy_from_slice(b"00");
    header[148..156].copy_from_slice(b"        ");
    let sum: u32 = header.iter().map(|b| u32::from(*b)).sum();
    header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let mut out = header.to_vec();
    let mut data = [0u8; 512];
    data[..2].copy_from_slice(b"x\n");
    out.extend_from_slice(&data);
    out.extend_from_slice(&[0u8; 1024]);
    out
}

async fn bollard_cleanup_image(reference: &str) -> Result<(), bollard::errors::Error> {
    engine()
        .await
        .remove_image(
            reference,
            Some(bollard::query_parameters::RemoveImageOptions {
                force: true,
                ..Default::default()
            }),
            None,
        )
        .await
        .map(|_| ())
}
