//! Lifecycle hooks (`post_start`, `pre_stop`) and `pull_policy` in a
//! stack's `up` and `down`, seen from inside the containers and in the
//! deploy's progress.

use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{CreateContainerOptions, RemoveImageOptions, TagImageOptions};
use protocol::StackProgress;
use reqwest::StatusCode;
use serde_json::json;

use crate::common::*;
use crate::stacks::{assert_done, progress, project_name, ProjectCleanup};

const S: &str = "/api/v1/endpoints/local/stacks";

async fn save(admin: &Api, name: &str, compose: &str) {
    let r = admin
        .post_json(S, &json!({"name": name, "compose": compose, "env": ""}))
        .await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap_or_default()
    );
}

/// Runs `cmd` in container `name` straight through the engine and returns
/// its output.
async fn exec_output(name: &str, cmd: &[&str]) -> String {
    use bollard::exec::{CreateExecOptions, StartExecResults};
    use futures_util::StreamExt;
    let docker = engine().await;
    let exec = docker
        .create_exec(
            name,
            CreateExecOptions {
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
                ..Default::default()
            },
        )
        .await
        .expect("create exec");
    let mut out = String::new();
    if let Ok(StartExecResults::Attached { mut output, .. }) =
        docker.start_exec(&exec.id, None).await
    {
        while let Some(Ok(chunk)) = output.next().await {
            out.push_str(&chunk.to_string());
        }
    }
    out
}

fn logs(lines: &[StackProgress]) -> Vec<String> {
    lines
        .iter()
        .filter_map(|l| match l {
            StackProgress::Log { service, text } => Some(format!("{service}: {text}")),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn post_start_hooks_run_in_order_as_asked_and_a_failing_one_fails_the_deploy() {
    let (_app, admin) = TestApp::start_set_up().await;
    let name = project_name("hooks");
    let _cleanup = ProjectCleanup(name.clone());
    let compose = format!(
        r#"services:
  app:
    image: {TEST_IMAGE}
    command: ["sleep", "3600"]
    stop_grace_period: 1s
    post_start:
      - command: ["sh", "-c", "echo started > /tmp/hook"]
      - command: ["sh", "-c", "echo $$MODE $$(pwd) $$(id -u) > /tmp/hook2"]
        user: "1000"
        working_dir: /etc
        environment:
          MODE: fast
"#
    );
    save(&admin, &name, &compose).await;
    let lines = progress(&admin, &format!("{S}/{name}/up"), json!({})).await;
    assert_done(&lines);
    let told = logs(&lines);
    assert!(
        told.iter()
            .any(|l| l.starts_with("app: running post_start hook 1 of app")),
        "{told:?}"
    );
    let out = exec_output(
        &format!("{name}-app-1"),
        &["cat", "/tmp/hook", "/tmp/hook2"],
    )
    .await;
    assert_eq!(out, "started\nfast /etc 1000\n");

    // A second stack whose second hook fails: the deploy ends with an
    // error naming the hook, its exit code and the end of its output.
    let failing = project_name("hookfail");
    let _cleanup_failing = ProjectCleanup(failing.clone());
    let compose = format!(
        r#"services:
  app:
    image: {TEST_IMAGE}
    command: ["sleep", "3600"]
    stop_grace_period: 1s
    post_start:
      - command: ["true"]
      - command: ["sh", "-c", "echo cannot seed the cache; exit 3"]
"#
    );
    save(&admin, &failing, &compose).await;
    let lines = progress(&admin, &format!("{S}/{failing}/up"), json!({})).await;
    match lines.last() {
        Some(StackProgress::Error { service, message }) => {
            assert_eq!(service.as_deref(), Some("app"));
            assert!(
                message.contains("post_start hook 2 of app")
                    && message.contains("exited with code 3")
                    && message.contains("cannot seed the cache"),
                "{message}"
            );
        }
        other => panic!("the deploy should fail on the hook: {other:?}\n{lines:?}"),
    }
}

#[tokio::test]
async fn pre_stop_hooks_run_before_down_stops_the_container() {
    let (_app, admin) = TestApp::start_set_up().await;
    let name = project_name("prestop");
    let _cleanup = ProjectCleanup(name.clone());
    let mut cleanup = Cleanup::default();
    let compose = format!(
        r#"services:
  app:
    image: {TEST_IMAGE}
    command: ["sleep", "3600"]
    stop_grace_period: 1s
    volumes:
      - state:/data
    pre_stop:
      - command: ["sh", "-c", "echo flushed > /data/stopped"]
      - command: ["sh", "-c", "exit 4"]
volumes:
  state:
"#
    );
    save(&admin, &name, &compose).await;
    assert_done(&progress(&admin, &format!("{S}/{name}/up"), json!({})).await);

    // A recreate stops the old container: its hooks run first.
    let changed = compose.replace(
        "    volumes:\n",
        "    environment:\n      V: \"2\"\n    volumes:\n",
    );
    let r = admin
        .client
        .put(format!("{}{S}/{name}", admin.base))
        .json(&json!({"compose": changed, "env": ""}))
        .send()
        .await
        .expect("put");
    assert!(
        r.status().is_success(),
        "{}",
        r.text().await.unwrap_or_default()
    );
    let lines = progress(&admin, &format!("{S}/{name}/up"), json!({})).await;
    assert_done(&lines);
    let told = logs(&lines);
    assert!(
        told.iter()
            .any(|l| l.starts_with("app: running pre_stop hook 1 of app")),
        "{told:?}"
    );

    let lines = progress(&admin, &format!("{S}/{name}/down"), json!({})).await;
    // The failing second hook is told, and the down goes on.
    assert_done(&lines);
    let told = logs(&lines);
    assert!(
        told.iter()
            .any(|l| l.contains("pre_stop hook 2 of app") && l.contains("exited with code 4")),
        "{told:?}"
    );

    // The volume outlives the down; a second container reads what the
    // hook wrote.
    let reader = cleanup.container(&format!("{name}-reader"));
    let docker = engine().await;
    docker
        .create_container(
            Some(CreateContainerOptions {
                name: Some(reader.clone()),
                ..Default::default()
            }),
            ContainerCreateBody {
                image: Some(TEST_IMAGE.into()),
                cmd: Some(vec!["cat".into(), "/data/stopped".into()]),
                host_config: Some(HostConfig {
                    binds: Some(vec![format!("{name}_state:/data")]),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .await
        .expect("create reader");
    docker
        .start_container(&reader, None)
        .await
        .expect("start reader");
    let (code, out) = wait_output(&reader).await;
    assert_eq!((code, out.as_str()), (0, "flushed\n"));
}

/// Removes an image tag on drop.
struct TagCleanup(String);

impl Drop for TagCleanup {
    fn drop(&mut self) {
        let tag = self.0.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let _ = engine()
                    .await
                    .remove_image(&tag, None::<RemoveImageOptions>, None)
                    .await;
            });
        })
        .join();
    }
}

#[tokio::test]
async fn pull_policy_decides_whether_up_pulls() {
    let (_app, admin) = TestApp::start_set_up().await;

    // never, with an image this host does not have: a clear 400 before
    // anything changes.
    let name = project_name("never");
    let _cleanup = ProjectCleanup(name.clone());
    let missing = format!("{}-absent:1", unique("pull"));
    save(
        &admin,
        &name,
        &format!("services:\n  app:\n    image: {missing}\n    pull_policy: never\n"),
    )
    .await;
    let r = admin.post_json(&format!("{S}/{name}/up"), &json!({})).await;
    let text = expect_problem(r, StatusCode::BAD_REQUEST).await;
    assert!(
        text.contains(&format!(
            "image {missing} is not on this host and pull_policy is never"
        )),
        "{text}"
    );

    // missing (and the default), with the image here: no pull at all.
    let name = project_name("missing");
    let _cleanup_missing = ProjectCleanup(name.clone());
    save(
        &admin,
        &name,
        &format!(
            "services:\n  app:\n    image: {TEST_IMAGE}\n    command: [\"sleep\", \"3600\"]\n    stop_grace_period: 1s\n    pull_policy: missing\n  other:\n    image: {TEST_IMAGE}\n    command: [\"sleep\", \"3600\"]\n    stop_grace_period: 1s\n"
        ),
    )
    .await;
    let lines = progress(&admin, &format!("{S}/{name}/up"), json!({})).await;
    assert_done(&lines);
    let told = logs(&lines);
    assert!(!told.iter().any(|l| l.contains("pulling")), "{told:?}");

    // always, with the image here under a name whose registry does not
    // answer: up still pulls, and tells the registry's failure.
    let repo = format!("127.0.0.1:9/{}", unique("always"));
    let docker = engine().await;
    docker
        .tag_image(
            TEST_IMAGE,
            Some(TagImageOptions {
                repo: Some(repo.clone()),
                tag: Some("1".into()),
            }),
        )
        .await
        .expect("tag");
    let _tag = TagCleanup(format!("{repo}:1"));
    let name = project_name("always");
    let _cleanup_always = ProjectCleanup(name.clone());
    save(
        &admin,
        &name,
        &format!("services:\n  app:\n    image: {repo}:1\n    command: [\"sleep\", \"3600\"]\n    pull_policy: always\n"),
    )
    .await;
    let lines = progress(&admin, &format!("{S}/{name}/up"), json!({})).await;
    let told = logs(&lines);
    assert!(
        told.iter()
            .any(|l| l.contains(&format!("pulling {repo}:1 (pull_policy is always)"))),
        "{told:?}"
    );
    match lines.last() {
        Some(StackProgress::Error { service, message }) => {
            assert_eq!(service.as_deref(), Some("app"));
            assert!(
                message.starts_with(&format!("pulling {repo}:1 failed")),
                "{message}"
            );
        }
        other => panic!("the pull should fail: {other:?}\n{lines:?}"),
    }
    // Nothing was created for it.
    assert!(docker
        .inspect_container(&format!("{name}-app-1"), None)
        .await
        .is_err());
}
