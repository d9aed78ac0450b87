//! Images: list, inspect with layers, build, pull, push, tag, remove, prune,
//! export and import, and registry logins checked through the engine.
//!
//! Builds, pulls and pushes run on a task of their own that hands its
//! progress to the client through a small bounded channel, so a slow client
//! slows the job instead of filling memory, and a client that goes away
//! cancels it. Registry credentials are sent to the engine the way the
//! docker CLI sends them (base64url JSON in `X-Registry-Auth` or
//! `X-Registry-Config`), never logged.
//!
//! Two calls go around bollard over raw HTTP: `/auth`, which bollard does
//! not have, and push, whose progress model in bollard drops the layer id.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE;
use base64::Engine as _;
use bollard::errors::Error as BollardError;
use bollard::models::{ImageHistoryResponseItem, ImageInspect};
use bollard::query_parameters::{
    BuildImageOptions, BuilderVersion, CreateImageOptions, ImportImageOptions, ListImagesOptions,
    PruneImagesOptions, RemoveImageOptions, TagImageOptions,
};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use http_body_util::BodyExt;
use protocol::{
    check_image_name, BuildOptions, ImageConfig, ImageDetail, ImageLayer, ImagePruneReport,
    ImageRef, ImageRemoval, ImageSummary, ImportReport, LayerPhase, LoadedImage, Progress,
    RegistryCheck, RegistryLogin, DOCKER_HUB,
};
use serde::Deserialize;
use serde_json::json;

use super::{tidy_engine_message, Engine, EngineError, EngineResult};

mod context;

/// How long a build, pull, push, load or save may take to get the engine's
/// first answer. A build's or load's answer only starts once the whole upload
/// has arrived, so this is generous.
const LONG_CALL: Duration = Duration::from_secs(2 * 3600);
/// How long `/auth` and the start of a push may take.
const RAW_TIMEOUT: Duration = Duration::from_secs(120);
/// Progress lines held between a job and its client.
const PROGRESS_BUFFER: usize = 32;
/// The longest progress or build output line passed on; longer ones are cut.
const MAX_LINE: usize = 16 * 1024;
/// The longest line of the engine's own JSON read from a raw answer.
const MAX_ENGINE_LINE: usize = 1024 * 1024;
/// Images inspected at once when finding shared layers.
const INSPECT_FAN_OUT: usize = 8;
/// Where Docker Hub logins are sent, as the docker CLI sends them.
const DOCKER_HUB_AUTH: &str = "https://index.docker.io/v1/";

impl Engine {
    /// Every image (not the intermediate ones), newest first, with the
    /// containers made from each.
    pub async fn list_images(&self) -> EngineResult<Vec<ImageSummary>> {
        let docker = self.docker().await?;
        let (images, containers) = tokio::join!(
            docker.list_images(Some(ListImagesOptions {
                all: false,
                ..Default::default()
            })),
            self.image_users()
        );
        let images = match images {
            Ok(i) => i,
            Err(e) => return Err(self.fail(e, "image list").await),
        };
        let users = containers?;
        let mut out: Vec<ImageSummary> = images
            .into_iter()
            .map(|i| {
                let repo_tags = real_tags(i.repo_tags);
                ImageSummary {
                    dangling: repo_tags.is_empty(),
                    containers: users.get(&i.id).cloned().unwrap_or_default(),
                    id: i.id,
                    repo_tags,
                    repo_digests: real_digests(i.repo_digests),
                    size: i.size,
                    created: i.created,
                    labels: i.labels.into_iter().collect(),
                }
            })
            .collect();
        out.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.id.cmp(&b.id)));
        Ok(out)
    }

    /// One image: its settings, its layers (with the other local images that
    /// share each), and the containers made from it.
    pub async fn image_detail(&self, name: &str) -> EngineResult<ImageDetail> {
        check_name(name)?;
        let docker = self.docker().await?;
        let (inspect, history) =
            tokio::join!(docker.inspect_image(name), docker.image_history(name));
        let inspect = match inspect {
            Ok(i) => i,
            Err(e) => return Err(self.fail(e, &format!("image {name}")).await),
        };
        let history = match history {
            Ok(h) => h,
            Err(e) => return Err(self.fail(e, &format!("image {name}")).await),
        };
        let id = inspect.id.clone().unwrap_or_default();
        let diff_ids = inspect
            .root_fs
            .as_ref()
            .and_then(|r| r.layers.clone())
            .unwrap_or_default();
        let (others, users) = tokio::join!(self.layer_stacks(&id), self.image_users());
        let mut layers = map_layers(history, &diff_ids);
        mark_shared(&mut layers, &diff_ids, &others);
        Ok(convert_detail(
            inspect,
            layers,
            users?.remove(&id).unwrap_or_default(),
        ))
    }

    /// Removes an image or one of its tags. 409 names the containers that
    /// use it, unless `force`.
    pub async fn remove_image(&self, name: &str, force: bool) -> EngineResult<ImageRemoval> {
        check_name(name)?;
        let docker = self.docker().await?;
        let options = RemoveImageOptions {
            force,
            noprune: false,
            platforms: None,
        };
        match docker.remove_image(name, Some(options), None).await {
            Ok(items) => {
                let mut removal = ImageRemoval::default();
                for item in items {
                    removal.untagged.extend(item.untagged);
                    removal.deleted.extend(item.deleted);
                }
                Ok(removal)
            }
            Err(BollardError::DockerResponseServerError {
                status_code: 409,
                message,
            }) => Err(self.removal_conflict(name, force, &message).await),
            Err(e) => Err(self.fail(e, &format!("image {name}")).await),
        }
    }

    /// Why an image cannot be removed, in words a person can act on.
    async fn removal_conflict(&self, name: &str, force: bool, message: &str) -> EngineError {
        let docker = match self.docker().await {
            Ok(d) => d,
            Err(e) => return e,
        };
        let image = docker.inspect_image(name).await.ok();
        let id = image
            .as_ref()
            .and_then(|i| i.id.clone())
            .unwrap_or_default();
        let users = self
            .image_users()
            .await
            .ok()
            .and_then(|mut u| u.remove(&id))
            .unwrap_or_default();
        if !users.is_empty() {
            let (noun, pronoun) = if users.len() > 1 {
                ("containers", "them")
            } else {
                ("container", "it")
            };
            let how = if force {
                format!("stop {pronoun} first")
            } else {
                format!("remove {pronoun} first, or remove the image with force=true")
            };
            return EngineError::Conflict(format!(
                "image {name} is used by {noun} {}: {how}",
                users.join(", ")
            ));
        }
        if message.contains("multiple repositories") {
            let tags = image
                .map(|i| real_tags(i.repo_tags.unwrap_or_default()))
                .unwrap_or_default();
            return EngineError::Conflict(format!(
                "image {name} has several tags ({}): remove them one at a time, or remove the image with force=true",
                tags.join(", ")
            ));
        }
        EngineError::Conflict(format!("image {name}: {}", tidy_engine_message(message)))
    }

    /// Gives an image another name; returns its id.
    pub async fn tag_image(&self, name: &str, target: &ImageRef) -> EngineResult<String> {
        check_name(name)?;
        if target.digest.is_some() {
            return Err(EngineError::BadRequest(format!(
                "{target} has a digest; a tag is a name and an optional :tag"
            )));
        }
        let docker = self.docker().await?;
        let options = TagImageOptions {
            repo: Some(target.repository()),
            tag: Some(target.tag_or_latest().to_string()),
        };
        if let Err(e) = docker.tag_image(name, Some(options)).await {
            return Err(self.fail(e, &format!("image {name}")).await);
        }
        match docker.inspect_image(name).await {
            Ok(i) => Ok(i.id.unwrap_or_default()),
            Err(e) => Err(self.fail(e, &format!("image {name}")).await),
        }
    }

    /// Removes dangling images (untagged leftovers), or with `all` every
    /// image no container uses; `label` narrows it to images with that label
    /// (`key` or `key=value`).
    pub async fn prune_images(
        &self,
        all: bool,
        label: Option<&str>,
    ) -> EngineResult<ImagePruneReport> {
        let mut filters = HashMap::new();
        filters.insert(
            "dangling".to_string(),
            vec![if all { "false" } else { "true" }.to_string()],
        );
        if let Some(label) = label {
            filters.insert("label".to_string(), vec![label.to_string()]);
        }
        let docker = self.docker().await?;
        match docker
            .prune_images(Some(PruneImagesOptions {
                filters: Some(filters),
            }))
            .await
        {
            Ok(r) => {
                let mut report = ImagePruneReport {
                    space_reclaimed: r.space_reclaimed.unwrap_or_default(),
                    ..Default::default()
                };
                for item in r.images_deleted.unwrap_or_default() {
                    report.deleted.extend(item.deleted);
                    report.untagged.extend(item.untagged);
                }
                Ok(report)
            }
            Err(e) => Err(self.fail(e, "image prune").await),
        }
    }

    /// `docker save`: the image as a tar stream, and a file name for it.
    pub async fn export_image(
        &self,
        name: &str,
    ) -> EngineResult<(
        String,
        impl Stream<Item = std::io::Result<Bytes>> + Send + 'static,
    )> {
        check_name(name)?;
        let docker = self.docker().await?;
        let image = match docker.inspect_image(name).await {
            Ok(i) => i,
            Err(e) => return Err(self.fail(e, &format!("image {name}")).await),
        };
        let file = export_file_name(name, &image);
        let docker = docker.with_timeout(LONG_CALL);
        let name = name.to_string();
        let endpoint = self.id.clone();
        let tar = progress_channel(move |tx| async move {
            let mut chunks = docker.export_image(&name);
            while let Some(chunk) = next_unless_gone(&tx, &mut chunks).await {
                let item = chunk.map_err(|e| {
                    tracing::warn!(endpoint, image = %name, error = %e, "image export broke");
                    std::io::Error::other("the engine stopped sending the image")
                });
                let failed = item.is_err();
                if tx.send(item).await.is_err() || failed {
                    return;
                }
            }
        });
        Ok((file, tar))
    }

    /// `docker load`: reads images from a tar (or compressed tar) stream.
    pub async fn import_images<S>(&self, archive: S) -> EngineResult<ImportReport>
    where
        S: Stream<Item = std::io::Result<Bytes>> + Send + 'static,
    {
        let docker = self.docker().await?.with_timeout(LONG_CALL);
        let upload = UploadWatch::default();
        let archive = upload.watch(archive);
        let mut lines = docker.import_image_stream(
            ImportImageOptions {
                quiet: true,
                platform: None,
            },
            archive,
            None,
        );
        let mut names = Vec::new();
        while let Some(line) = lines.next().await {
            match line {
                Ok(info) => {
                    for text in info.stream.iter().flat_map(|s| s.lines()) {
                        if let Some(name) = text
                            .strip_prefix("Loaded image ID: ")
                            .or_else(|| text.strip_prefix("Loaded image: "))
                        {
                            names.push(name.trim().to_string());
                        }
                    }
                }
                Err(e) => {
                    if let Some(failure) = upload.failure() {
                        return Err(failure);
                    }
                    return Err(match e {
                        BollardError::DockerStreamError { error } => EngineError::BadRequest(
                            format!(
                                "the engine could not load that archive (is it made by docker save?): {}",
                                tidy_engine_message(&error)
                            ),
                        ),
                        e => self.fail(e, "image archive").await,
                    });
                }
            }
        }
        let mut report = ImportReport::default();
        let docker = self.docker().await?;
        for name in names {
            let Ok(image) = docker.inspect_image(&name).await else {
                continue;
            };
            let id = image.id.unwrap_or_default();
            if report.images.iter().any(|i| i.id == id) {
                continue;
            }
            // The name the archive carried first: the image may have had
            // other names here already.
            let mut repo_tags = real_tags(image.repo_tags.unwrap_or_default());
            if let Some(at) = repo_tags.iter().position(|t| *t == name) {
                let loaded = repo_tags.remove(at);
                repo_tags.insert(0, loaded);
            }
            report.images.push(LoadedImage { id, repo_tags });
        }
        if report.images.is_empty() {
            return Err(EngineError::BadRequest(
                "the archive held no image (is it made by docker save?)".into(),
            ));
        }
        Ok(report)
    }

    /// Builds an image from a build context (a tar, gzipped or not) with
    /// the classic builder, leaving out what its `.dockerignore` excludes.
    /// The context is read in full first; then the stream of progress ends
    /// with `done` or `error`.
    pub async fn build_image<S>(
        &self,
        options: &BuildOptions,
        logins: Vec<RegistryLogin>,
        context: S,
    ) -> EngineResult<impl Stream<Item = Progress> + Send + 'static>
    where
        S: Stream<Item = std::io::Result<Bytes>> + Send + 'static,
    {
        let (engine_options, tag) = build_options(options)?;
        let docker = self.docker().await?;
        let context = context::prepare(context, &engine_options.dockerfile).await?;
        Ok(self.run_build(docker, engine_options, tag, &logins, context))
    }

    /// [`Engine::build_image`] with the context already spooled to `spool`
    /// (a tar, gzipped or not; read from its start), as a form upload is.
    pub async fn build_image_from_file(
        &self,
        options: &BuildOptions,
        logins: Vec<RegistryLogin>,
        spool: std::fs::File,
    ) -> EngineResult<impl Stream<Item = Progress> + Send + 'static> {
        let (engine_options, tag) = build_options(options)?;
        let docker = self.docker().await?;
        let context = context::prepare_spooled(spool, &engine_options.dockerfile).await?;
        Ok(self.run_build(docker, engine_options, tag, &logins, context))
    }

    /// Sends the prepared `context` to the engine's classic builder; its
    /// output becomes progress.
    fn run_build(
        &self,
        docker: bollard::Docker,
        engine_options: BuildImageOptions,
        tag: Option<String>,
        logins: &[RegistryLogin],
        context: context::ContextStream,
    ) -> impl Stream<Item = Progress> + Send + 'static {
        let config = registry_config(logins);
        let docker = docker
            .with_timeout(LONG_CALL)
            .with_request_modifier(move |mut request| {
                if let Ok(value) = config.parse() {
                    request.headers_mut().insert("X-Registry-Config", value);
                }
                request
            });
        let endpoint = self.id.clone();
        progress_channel(move |tx| async move {
            let upload = UploadWatch::default();
            let context = bollard::body_try_stream(upload.watch(context));
            let mut lines = Box::pin(docker.build_image(engine_options, None, Some(context)));
            let mut tracker = Tracker::new(Job::Build);
            while let Some(line) = next_unless_gone(&tx, &mut lines).await {
                let mut out = Vec::new();
                let failed = match line {
                    Ok(info) => {
                        tracker.line(
                            EngineLine {
                                id: info.id,
                                status: info.status,
                                current: info.progress_detail.as_ref().and_then(|p| p.current),
                                total: info.progress_detail.as_ref().and_then(|p| p.total),
                                stream: info.stream,
                                image_id: info.aux.and_then(|a| a.id),
                                digest: None,
                            },
                            &mut out,
                        );
                        false
                    }
                    Err(e) => {
                        tracker.flush(&mut out);
                        out.push(match upload.failure() {
                            Some(failure) => upload_error(failure),
                            None => tracker.engine_error(&endpoint, e),
                        });
                        true
                    }
                };
                for p in out {
                    if tx.send(p).await.is_err() {
                        return;
                    }
                }
                if failed {
                    return;
                }
            }
            let mut out = Vec::new();
            tracker.flush(&mut out);
            let image_id = match tracker.image_id.clone() {
                Some(id) => Some(id),
                // Engines that send no `aux` line name the image in the log.
                None => match &tracker.built {
                    Some(short) => docker.inspect_image(short).await.ok().and_then(|i| i.id),
                    None => None,
                },
            };
            out.push(match image_id {
                Some(image_id) => Progress::Done {
                    image_id,
                    reference: tag,
                    digest: None,
                },
                None => Progress::Error {
                    message: "the engine ended the build without naming an image".into(),
                    step: tracker.last_step.clone(),
                    status: None,
                },
            });
            for p in out {
                if tx.send(p).await.is_err() {
                    return;
                }
            }
        })
    }

    /// Pulls an image with `login` (when berth keeps one for its registry).
    pub async fn pull_image(
        &self,
        reference: &ImageRef,
        login: Option<RegistryLogin>,
    ) -> EngineResult<impl Stream<Item = Progress> + Send + 'static> {
        let auth = auth_header(&reference.registry_host(), login.as_ref());
        let docker = self.docker().await?;
        let puller = docker
            .clone()
            .with_timeout(LONG_CALL)
            .with_request_modifier(move |mut request| {
                if let Ok(value) = auth.parse() {
                    request.headers_mut().insert("X-Registry-Auth", value);
                }
                request
            });
        let options = CreateImageOptions {
            from_image: Some(reference.repository()),
            tag: Some(
                reference
                    .digest
                    .clone()
                    .unwrap_or_else(|| reference.tag_or_latest().to_string()),
            ),
            ..Default::default()
        };
        let wanted = match &reference.digest {
            Some(_) => reference.to_string(),
            None => format!("{}:{}", reference.repository(), reference.tag_or_latest()),
        };
        let job = Job::Registry {
            action: "pull",
            reference: wanted.clone(),
            host: reference.registry_host(),
            user: login.map(|l| l.username),
        };
        let endpoint = self.id.clone();
        Ok(progress_channel(move |tx| async move {
            let mut lines = Box::pin(puller.create_image(Some(options), None, None));
            let mut tracker = Tracker::new(job);
            while let Some(line) = next_unless_gone(&tx, &mut lines).await {
                let p = match line {
                    Ok(info) => {
                        let mut out = Vec::new();
                        tracker.line(
                            EngineLine {
                                id: info.id,
                                status: info.status,
                                current: info.progress_detail.as_ref().and_then(|p| p.current),
                                total: info.progress_detail.as_ref().and_then(|p| p.total),
                                ..Default::default()
                            },
                            &mut out,
                        );
                        out
                    }
                    Err(e) => {
                        let _ = tx.send(tracker.engine_error(&endpoint, e)).await;
                        return;
                    }
                };
                for p in p {
                    if tx.send(p).await.is_err() {
                        return;
                    }
                }
            }
            let last = match docker.inspect_image(&wanted).await {
                Ok(image) => Progress::Done {
                    image_id: image.id.unwrap_or_default(),
                    reference: Some(wanted),
                    digest: tracker.digest,
                },
                Err(e) => {
                    tracing::warn!(endpoint, reference = %wanted, error = %e, "pulled image not found");
                    Progress::Error {
                        message: format!("the engine finished the pull but has no image {wanted}"),
                        step: None,
                        status: None,
                    }
                }
            };
            let _ = tx.send(last).await;
        }))
    }

    /// Pushes the image `name` as `target` (tagging it so first), with
    /// `login` (when berth keeps one for the target's registry).
    pub async fn push_image(
        &self,
        name: &str,
        target: &ImageRef,
        login: Option<RegistryLogin>,
    ) -> EngineResult<impl Stream<Item = Progress> + Send + 'static> {
        check_name(name)?;
        if target.digest.is_some() {
            return Err(EngineError::BadRequest(format!(
                "{target} has a digest; push to a name and an optional :tag"
            )));
        }
        let docker = self.docker().await?;
        let image = match docker.inspect_image(name).await {
            Ok(i) => i,
            Err(e) => return Err(self.fail(e, &format!("image {name}")).await),
        };
        let image_id = image.id.clone().unwrap_or_default();
        let wanted = format!("{}:{}", target.repository(), target.tag_or_latest());
        if !image.repo_tags.unwrap_or_default().contains(&wanted) {
            self.tag_image(name, target).await?;
        }
        let auth = auth_header(&target.registry_host(), login.as_ref());
        let path = format!(
            "/images/{}/push?tag={}",
            target.repository(),
            target.tag_or_latest()
        );
        let job = Job::Registry {
            action: "push",
            reference: wanted.clone(),
            host: target.registry_host(),
            user: login.map(|l| l.username),
        };
        let api = docker.client_version();
        let url = self.url.clone();
        let endpoint = self.id.clone();
        Ok(progress_channel(move |tx| async move {
            let mut tracker = Tracker::new(job);
            let request = RawRequest {
                url: &url,
                path: format!("/v{}.{}{path}", api.major_version, api.minor_version),
                headers: vec![("X-Registry-Auth", auth)],
                body: Bytes::new(),
            };
            let response = match request.send().await {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(endpoint, error = %e, "cannot start a push");
                    let _ = tx
                        .send(
                            tracker.error_line("the engine could not be reached".into(), Some(503)),
                        )
                        .await;
                    return;
                }
            };
            let status = response.status().as_u16();
            let mut body = response.into_body();
            let mut buf = Vec::new();
            if !(200..300).contains(&status) {
                let message = match next_line(&mut body, &mut buf).await {
                    Some(Ok(line)) => engine_message(&line),
                    _ => String::new(),
                };
                let e = BollardError::DockerResponseServerError {
                    status_code: status,
                    message,
                };
                let _ = tx.send(tracker.engine_error(&endpoint, e)).await;
                return;
            }
            loop {
                let line = tokio::select! {
                    _ = tx.closed() => return,
                    line = next_line(&mut body, &mut buf) => line,
                };
                let line = match line {
                    None => break,
                    Some(Ok(line)) => line,
                    Some(Err(e)) => {
                        tracing::warn!(endpoint, error = %e, "push stream broke");
                        let _ = tx
                            .send(tracker.error_line(
                                "the engine stopped answering during the push".into(),
                                Some(503),
                            ))
                            .await;
                        return;
                    }
                };
                let Ok(raw) = serde_json::from_slice::<RawLine>(&line) else {
                    continue;
                };
                if let Some(message) = raw.error_detail.and_then(|d| d.message).or(raw.error) {
                    let e = BollardError::DockerStreamError { error: message };
                    let _ = tx.send(tracker.engine_error(&endpoint, e)).await;
                    return;
                }
                let mut out = Vec::new();
                tracker.line(
                    EngineLine {
                        id: raw.id,
                        status: raw.status,
                        current: raw.progress_detail.as_ref().and_then(|p| p.current),
                        total: raw.progress_detail.as_ref().and_then(|p| p.total),
                        stream: None,
                        image_id: None,
                        digest: raw.aux.and_then(|a| a.digest),
                    },
                    &mut out,
                );
                for p in out {
                    if tx.send(p).await.is_err() {
                        return;
                    }
                }
            }
            let _ = tx
                .send(Progress::Done {
                    image_id,
                    reference: Some(wanted),
                    digest: tracker.digest,
                })
                .await;
        }))
    }

    /// Asks the engine to log in to a registry with `login` (`docker login`
    /// without keeping anything). `ok: false` when the registry refused it.
    pub async fn check_registry_login(&self, login: &RegistryLogin) -> EngineResult<RegistryCheck> {
        let api = self.docker().await?.client_version();
        let body = json!({
            "username": login.username,
            "password": login.password,
            "serveraddress": server_address(&login.host),
        });
        let request = RawRequest {
            url: &self.url,
            path: format!("/v{}.{}/auth", api.major_version, api.minor_version),
            headers: vec![("Content-Type", "application/json".into())],
            body: Bytes::from(body.to_string()),
        };
        let response = request
            .send()
            .await
            .map_err(|e| self.unavailable(format!("cannot ask the engine to log in: {e}")))?;
        let status = response.status().as_u16();
        let mut body = response.into_body();
        let mut buf = Vec::new();
        let answer = match next_line(&mut body, &mut buf).await {
            Some(Ok(line)) => line,
            _ => Vec::new(),
        };
        if (200..300).contains(&status) {
            let message = serde_json::from_slice::<serde_json::Value>(&answer)
                .ok()
                .and_then(|v| v.get("Status").and_then(|s| s.as_str()).map(String::from))
                .unwrap_or_else(|| "Login Succeeded".into());
            return Ok(RegistryCheck { ok: true, message });
        }
        let message = engine_message(&answer);
        let host = &login.host;
        match classify(&message) {
            Some(Class::Auth) => Ok(RegistryCheck {
                ok: false,
                message: format!(
                    "the registry {host} refused the login for user {:?}: wrong username or password",
                    login.username
                ),
            }),
            Some(Class::Unreachable) => Err(EngineError::BadRequest(format!(
                "cannot reach the registry {host}: {}",
                tidy_engine_message(&message)
            ))),
            _ if status < 500 => Err(EngineError::BadRequest(format!(
                "the registry {host} refused the login: {}",
                tidy_engine_message(&message)
            ))),
            _ => Err(EngineError::BadRequest(format!(
                "logging in to {host} failed: {}",
                tidy_engine_message(&message)
            ))),
        }
    }

    /// Image id -> names of the containers made from it.
    async fn image_users(&self) -> EngineResult<HashMap<String, Vec<String>>> {
        let mut users: HashMap<String, Vec<String>> = HashMap::new();
        for c in self.engine_containers().await? {
            let name = c
                .names
                .as_ref()
                .and_then(|n| n.first())
                .map(|n| n.trim_start_matches('/').to_string())
                .unwrap_or_default();
            if let Some(image) = c.image_id {
                users.entry(image).or_default().push(name);
            }
        }
        for names in users.values_mut() {
            names.sort();
        }
        Ok(users)
    }

    /// The layer stacks (diff ids, base first) of every local image but
    /// `except`, with a name for each image.
    async fn layer_stacks(&self, except: &str) -> Vec<(String, Vec<String>)> {
        let Ok(docker) = self.docker().await else {
            return Vec::new();
        };
        let Ok(images) = docker.list_images(None::<ListImagesOptions>).await else {
            return Vec::new();
        };
        let docker = &docker;
        futures_util::stream::iter(images.into_iter().filter(|i| i.id != except))
            .map(|i| async move {
                let name = real_tags(i.repo_tags)
                    .into_iter()
                    .next()
                    .unwrap_or_else(|| short_id(&i.id));
                let layers = docker
                    .inspect_image(&i.id)
                    .await
                    .ok()
                    .and_then(|x| x.root_fs)
                    .and_then(|r| r.layers)
                    .unwrap_or_default();
                (name, layers)
            })
            .buffer_unordered(INSPECT_FAN_OUT)
            .collect()
            .await
    }
}

fn check_name(name: &str) -> EngineResult<()> {
    check_image_name(name).map_err(EngineError::BadRequest)
}

/// The engine writes `<none>:<none>` for an untagged image.
fn real_tags(tags: Vec<String>) -> Vec<String> {
    let mut tags: Vec<String> = tags.into_iter().filter(|t| t != "<none>:<none>").collect();
    tags.sort();
    tags
}

fn real_digests(digests: Vec<String>) -> Vec<String> {
    let mut digests: Vec<String> = digests
        .into_iter()
        .filter(|d| d != "<none>@<none>")
        .collect();
    digests.sort();
    digests
}

/// `sha256:0123456789abcdef...` -> `0123456789ab`.
fn short_id(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

fn export_file_name(name: &str, image: &ImageInspect) -> String {
    let base =
        if check_image_name(name).is_ok() && !name.starts_with("sha256:") && name.contains(':') {
            name.to_string()
        } else {
            image
                .repo_tags
                .as_ref()
                .and_then(|t| real_tags(t.clone()).into_iter().next())
                .unwrap_or_else(|| short_id(image.id.as_deref().unwrap_or("image")))
        };
    let safe: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{safe}.tar")
}

fn convert_detail(
    i: ImageInspect,
    layers: Vec<ImageLayer>,
    containers: Vec<String>,
) -> ImageDetail {
    let config = i.config.unwrap_or_default();
    let repo_tags = real_tags(i.repo_tags.unwrap_or_default());
    let mut exposed_ports = config.exposed_ports.unwrap_or_default();
    exposed_ports.sort();
    let mut volumes = config.volumes.unwrap_or_default();
    volumes.sort();
    ImageDetail {
        id: i.id.unwrap_or_default(),
        dangling: repo_tags.is_empty(),
        repo_tags,
        repo_digests: real_digests(i.repo_digests.unwrap_or_default()),
        comment: i.comment.unwrap_or_default(),
        created: i.created.map(|d| d.to_string()).unwrap_or_default(),
        author: i.author.unwrap_or_default(),
        architecture: i.architecture.unwrap_or_default(),
        os: i.os.unwrap_or_default(),
        size: i.size.unwrap_or_default(),
        config: ImageConfig {
            user: config.user.unwrap_or_default(),
            env: config.env.unwrap_or_default(),
            cmd: config.cmd.unwrap_or_default(),
            entrypoint: config.entrypoint.unwrap_or_default(),
            workdir: config.working_dir.unwrap_or_default(),
            exposed_ports,
            volumes,
            labels: config
                .labels
                .unwrap_or_default()
                .into_iter()
                .collect::<BTreeMap<_, _>>(),
            stop_signal: config.stop_signal.filter(|s| !s.is_empty()),
        },
        layers,
        containers,
    }
}

// ---------------------------------------------------------------- layers

/// Instructions that change only settings: they add a history entry but no layer.
const SETTINGS_ONLY: [&str; 13] = [
    "ENV",
    "LABEL",
    "CMD",
    "ENTRYPOINT",
    "EXPOSE",
    "VOLUME",
    "USER",
    "ARG",
    "ONBUILD",
    "STOPSIGNAL",
    "HEALTHCHECK",
    "SHELL",
    "MAINTAINER",
];

/// The Dockerfile instruction a history entry records.
fn instruction(created_by: &str) -> String {
    let s = created_by.trim();
    if let Some(rest) = s.strip_prefix("/bin/sh -c #(nop)") {
        return rest.trim().to_string();
    }
    if let Some(rest) = s.strip_prefix("/bin/sh -c ") {
        return format!("RUN {}", rest.trim());
    }
    // `RUN` with build args: `|2 A=1 B=2 /bin/sh -c make`.
    if s.starts_with('|') {
        if let Some((_, rest)) = s.split_once(" /bin/sh -c ") {
            return format!("RUN {}", rest.trim());
        }
    }
    let keyword = s.split_whitespace().next().unwrap_or("");
    if !keyword.is_empty() && keyword.chars().all(|c| c.is_ascii_uppercase()) {
        // BuildKit writes the instruction itself.
        return s.trim_end_matches("# buildkit").trim().to_string();
    }
    if s.is_empty() {
        return String::new();
    }
    // An exec-form RUN (`RUN ["make"]`) is recorded as the bare command.
    format!("RUN {s}")
}

/// History (the engine gives it newest first) to layers, base first, each
/// matched to its diff id where the count of layer-making steps agrees with
/// the image's layers; otherwise the steps are listed without ids.
fn map_layers(history: Vec<ImageHistoryResponseItem>, diff_ids: &[String]) -> Vec<ImageLayer> {
    let mut layers: Vec<ImageLayer> = history
        .into_iter()
        .rev()
        .map(|h| {
            let instruction = instruction(&h.created_by);
            let keyword = instruction.split_whitespace().next().unwrap_or("");
            ImageLayer {
                empty: h.size == 0 && SETTINGS_ONLY.contains(&keyword),
                instruction,
                created_by: h.created_by,
                created: h.created,
                size: h.size,
                comment: h.comment,
                layer: None,
                shared_with: Vec::new(),
            }
        })
        .collect();
    let mut guessed = layers.iter().filter(|l| !l.empty).count();
    // WORKDIR makes a layer when it had to create the folder, and an empty
    // one otherwise; try those as layers before giving up.
    let maybe = |l: &ImageLayer| l.empty && l.instruction.starts_with("WORKDIR");
    if guessed != diff_ids.len()
        && guessed + layers.iter().filter(|l| maybe(l)).count() == diff_ids.len()
    {
        for l in layers.iter_mut() {
            if maybe(l) {
                l.empty = false;
            }
        }
        guessed = diff_ids.len();
    }
    if guessed != diff_ids.len() {
        // The guess did not hold; fall back on sizes if they tell it.
        let sized = layers.iter().filter(|l| l.size > 0).count();
        if sized != diff_ids.len() {
            return layers;
        }
        for l in &mut layers {
            l.empty = l.size == 0;
        }
    }
    let mut ids = diff_ids.iter();
    for l in layers.iter_mut().filter(|l| !l.empty) {
        l.layer = ids.next().cloned();
    }
    layers
}

/// Marks each layer with the other images whose stack holds it: the same
/// diff ids from the base up to and including it.
fn mark_shared(layers: &mut [ImageLayer], diff_ids: &[String], others: &[(String, Vec<String>)]) {
    let mut index = 0;
    for l in layers.iter_mut() {
        if l.layer.is_none() {
            continue;
        }
        let Some(prefix) = diff_ids.get(..=index) else {
            break;
        };
        let mut names: Vec<String> = others
            .iter()
            .filter(|(_, stack)| stack.get(..prefix.len()) == Some(prefix))
            .map(|(name, _)| name.clone())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        names.sort();
        l.shared_with = names;
        index += 1;
    }
}

// ---------------------------------------------------------------- build options

/// The engine's build options from berth's, checked.
fn build_options(o: &BuildOptions) -> EngineResult<(BuildImageOptions, Option<String>)> {
    let bad = |m: String| Err(EngineError::BadRequest(m));
    let tag = match o.tag.as_deref().filter(|t| !t.is_empty()) {
        Some(t) => {
            let r = ImageRef::parse(t).map_err(EngineError::BadRequest)?;
            if r.digest.is_some() {
                return bad(format!(
                    "{t} has a digest; tag the build with a name and an optional :tag"
                ));
            }
            Some(format!("{}:{}", r.repository(), r.tag_or_latest()))
        }
        None => None,
    };
    let dockerfile = o
        .dockerfile
        .as_deref()
        .filter(|d| !d.is_empty())
        .unwrap_or("Dockerfile");
    if dockerfile.len() > 255
        || dockerfile.starts_with('/')
        || dockerfile.split('/').any(|p| p == "..")
        || dockerfile.chars().any(|c| c.is_control())
    {
        return bad(format!(
            "{dockerfile:?} is not a path inside the build context"
        ));
    }
    let target = o.target.clone().unwrap_or_default();
    if !target.is_empty()
        && (target.len() > 128
            || !target
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return bad(format!("{target:?} is not a build stage name"));
    }
    let buildargs: HashMap<String, String> =
        match o.buildargs.as_deref().filter(|b| !b.trim().is_empty()) {
            Some(text) => serde_json::from_str(text).map_err(|e| {
                EngineError::BadRequest(format!(
                "buildargs must be a JSON object of strings, such as {{\"VERSION\":\"1.2\"}}: {e}"
            ))
            })?,
            None => HashMap::new(),
        };
    if let Some(k) = buildargs
        .keys()
        .find(|k| k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
    {
        return bad(format!("{k:?} is not a build argument name"));
    }
    let labels: HashMap<String, String> = match o.labels.as_deref().filter(|b| !b.trim().is_empty())
    {
        Some(text) => serde_json::from_str(text).map_err(|e| {
            EngineError::BadRequest(format!(
                "labels must be a JSON object of strings, such as {{\"team\":\"web\"}}: {e}"
            ))
        })?,
        None => HashMap::new(),
    };
    let shmsize = match o.shm_size {
        Some(n) if !(0..=i64::from(i32::MAX)).contains(&n) => {
            return bad(format!("shm_size {n} is out of range (0 to 2 GiB)"))
        }
        Some(n) => Some(n as i32),
        None => None,
    };
    let list = |s: &Option<String>| -> Vec<String> {
        s.as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect()
    };
    let extra_hosts = list(&o.extra_hosts);
    if let Some(h) = extra_hosts.iter().find(|h| !h.contains(':')) {
        return bad(format!("extra host {h:?} is not host:ip"));
    }
    let cache_from = list(&o.cache_from);
    Ok((
        BuildImageOptions {
            labels: (!labels.is_empty()).then_some(labels),
            networkmode: o.network.clone().filter(|n| !n.is_empty()),
            shmsize,
            extrahosts: (!extra_hosts.is_empty()).then(|| extra_hosts.join(",")),
            cachefrom: (!cache_from.is_empty()).then_some(cache_from),
            dockerfile: dockerfile.to_string(),
            t: tag.clone(),
            nocache: o.nocache,
            pull: o.pull.then(|| "1".to_string()),
            rm: true,
            // Never leave the failing step's container behind.
            forcerm: true,
            buildargs: (!buildargs.is_empty()).then_some(buildargs),
            target,
            // The classic builder: engines as old as 20.10 have it, and it
            // needs no session.
            version: BuilderVersion::BuilderV1,
            ..Default::default()
        },
        tag,
    ))
}

// ---------------------------------------------------------------- credentials

/// Where the engine sends a login for `host`.
fn server_address(host: &str) -> String {
    if host == DOCKER_HUB {
        DOCKER_HUB_AUTH.to_string()
    } else {
        host.to_string()
    }
}

/// `X-Registry-Auth` for a pull or push from `host`: the login, or none
/// (the engine wants the header even then).
fn auth_header(host: &str, login: Option<&RegistryLogin>) -> String {
    let body = match login {
        Some(l) => json!({
            "username": l.username,
            "password": l.password,
            "serveraddress": server_address(host),
        }),
        None => json!({}),
    };
    URL_SAFE.encode(body.to_string())
}

/// `X-Registry-Config` for a build: every login, by registry address.
fn registry_config(logins: &[RegistryLogin]) -> String {
    let map: serde_json::Map<String, serde_json::Value> = logins
        .iter()
        .map(|l| {
            let address = server_address(&l.host);
            (
                address.clone(),
                json!({"username": l.username, "password": l.password, "serveraddress": address}),
            )
        })
        .collect();
    URL_SAFE.encode(serde_json::Value::Object(map).to_string())
}

// ---------------------------------------------------------------- progress

/// Runs `job` on a task of its own and yields what it sends. The channel is
/// small: a slow client holds the job back rather than filling memory.
fn progress_channel<T, F, Fut>(job: F) -> impl Stream<Item = T> + Send + 'static
where
    T: Send + 'static,
    F: FnOnce(tokio::sync::mpsc::Sender<T>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(PROGRESS_BUFFER);
    tokio::spawn(job(tx));
    futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|x| (x, rx)) })
}

/// The next item of `stream`, or `None` once the client has gone away (so
/// the job stops, and the engine call with it).
async fn next_unless_gone<T, S>(
    tx: &tokio::sync::mpsc::Sender<T>,
    stream: &mut S,
) -> Option<S::Item>
where
    S: Stream + Unpin,
{
    tokio::select! {
        _ = tx.closed() => None,
        item = stream.next() => item,
    }
}

/// Remembers why an upload (or a context being re-packed) stopped, so the
/// engine's failure that follows can be explained as what it is.
#[derive(Clone, Default)]
struct UploadWatch(Arc<Mutex<Option<String>>>);

impl UploadWatch {
    fn watch<S>(&self, upload: S) -> impl Stream<Item = std::io::Result<Bytes>> + Send + 'static
    where
        S: Stream<Item = std::io::Result<Bytes>> + Send + 'static,
    {
        let slot = self.0.clone();
        upload.map(move |chunk| {
            if let Err(e) = &chunk {
                if let Ok(mut slot) = slot.lock() {
                    slot.get_or_insert(e.to_string());
                }
            }
            chunk
        })
    }

    fn failure(&self) -> Option<EngineError> {
        let message = self.0.lock().ok()?.clone()?;
        Some(EngineError::BadRequest(message))
    }
}

fn upload_error(e: EngineError) -> Progress {
    Progress::Error {
        message: e.to_string(),
        step: None,
        status: Some(400),
    }
}

/// What a progress stream is for, to explain its failures.
enum Job {
    Build,
    Registry {
        action: &'static str,
        reference: String,
        host: String,
        user: Option<String>,
    },
}

/// One line of an engine progress stream, whichever call it came from.
#[derive(Debug, Default)]
struct EngineLine {
    id: Option<String>,
    status: Option<String>,
    current: Option<i64>,
    total: Option<i64>,
    /// Build output.
    stream: Option<String>,
    /// A build's `aux` line.
    image_id: Option<String>,
    /// A push's `aux` line.
    digest: Option<String>,
}

/// A raw progress line (push), read without bollard's models.
#[derive(Deserialize)]
struct RawLine {
    id: Option<String>,
    status: Option<String>,
    #[serde(rename = "progressDetail")]
    progress_detail: Option<RawDetail>,
    #[serde(rename = "errorDetail")]
    error_detail: Option<RawError>,
    error: Option<String>,
    aux: Option<RawAux>,
}

#[derive(Deserialize)]
struct RawDetail {
    current: Option<i64>,
    total: Option<i64>,
}

#[derive(Deserialize)]
struct RawError {
    message: Option<String>,
}

#[derive(Deserialize)]
struct RawAux {
    #[serde(rename = "Digest")]
    digest: Option<String>,
}

/// Turns engine progress lines into berth's, remembering what the final
/// line needs (the image id, the digest, the step that was running).
struct Tracker {
    job: Job,
    partial: String,
    after_step: bool,
    last_step: Option<String>,
    image_id: Option<String>,
    built: Option<String>,
    digest: Option<String>,
}

impl Tracker {
    fn new(job: Job) -> Self {
        Tracker {
            job,
            partial: String::new(),
            after_step: false,
            last_step: None,
            image_id: None,
            built: None,
            digest: None,
        }
    }

    fn line(&mut self, line: EngineLine, out: &mut Vec<Progress>) {
        if line.image_id.is_some() {
            self.image_id = line.image_id;
        }
        if line.digest.is_some() {
            self.digest = line.digest;
        }
        if let Some(text) = line.stream {
            self.partial.push_str(&text);
            while let Some(pos) = self.partial.find('\n') {
                let whole: String = self.partial.drain(..=pos).collect();
                self.output_line(whole.trim_end_matches(['\n', '\r']), out);
            }
            if self.partial.len() > MAX_LINE {
                let cut = floor_char_boundary(&self.partial, MAX_LINE);
                let head: String = self.partial.drain(..cut).collect();
                self.output_line(&head, out);
            }
            return;
        }
        let Some(status) = line.status else {
            return;
        };
        if let Some(d) = status.strip_prefix("Digest: ") {
            self.digest = Some(d.trim().to_string());
        } else if let Some((_, rest)) = status.split_once(": digest: ") {
            // A push: `1.0: digest: sha256:... size: 1357`.
            if let Some(d) = rest.split_whitespace().next() {
                self.digest = Some(d.to_string());
            }
        }
        match line.id.filter(|id| !id.is_empty()) {
            Some(id) if is_layer_id(&id) => out.push(Progress::Layer {
                phase: layer_phase(&status),
                id,
                status,
                current: line.current,
                total: line.total,
            }),
            Some(id) => out.push(Progress::Status {
                text: format!("{id}: {status}"),
            }),
            None => out.push(Progress::Status { text: status }),
        }
    }

    fn output_line(&mut self, text: &str, out: &mut Vec<Progress>) {
        if let Some((current, total, instruction)) = parse_step(text) {
            self.last_step = Some(text.to_string());
            self.after_step = true;
            out.push(Progress::Step {
                current,
                total,
                text: instruction,
            });
            return;
        }
        // The engine ends a step's title with a line of its own.
        if std::mem::take(&mut self.after_step) && text.is_empty() {
            return;
        }
        if let Some(short) = text.strip_prefix("Successfully built ") {
            self.built = Some(short.trim().to_string());
        }
        out.push(Progress::Log {
            text: text.to_string(),
        });
    }

    fn flush(&mut self, out: &mut Vec<Progress>) {
        if !self.partial.is_empty() {
            let rest = std::mem::take(&mut self.partial);
            self.output_line(rest.trim_end_matches('\r'), out);
        }
    }

    fn error_line(&self, message: String, status: Option<u16>) -> Progress {
        Progress::Error {
            message,
            step: match self.job {
                Job::Build => self.last_step.clone(),
                Job::Registry { .. } => None,
            },
            status,
        }
    }

    /// The last line for an engine failure, in words a person can act on.
    fn engine_error(&self, endpoint: &str, e: BollardError) -> Progress {
        let (message, http) = match e {
            BollardError::DockerStreamError { error } => (error, None),
            BollardError::DockerResponseServerError {
                status_code,
                message,
            } => (message, Some(status_code)),
            other => {
                tracing::warn!(endpoint, error = %other, "engine stream broke");
                return self.error_line(
                    "the connection to the engine broke off; the engine may have restarted".into(),
                    Some(503),
                );
            }
        };
        let tidy = tidy_engine_message(&message);
        let class = classify(&message);
        match (&self.job, class) {
            (Job::Registry { host, user, .. }, Some(Class::Auth)) => {
                let hint = match user {
                    Some(u) => format!(
                        "the login berth keeps for {host} (user {u:?}) was not accepted; check it with POST /api/v1/registries/{{id}}/test, or replace it"
                    ),
                    None => format!(
                        "berth keeps no login for {host}; add one with POST /api/v1/registries"
                    ),
                };
                self.error_line(
                    format!("authentication required: the registry {host} refused access ({tidy}); {hint}"),
                    Some(401),
                )
            }
            (Job::Build, Some(Class::Auth)) => self.error_line(
                format!("authentication required: a registry refused access while pulling a base image ({tidy}); add a login for it with POST /api/v1/registries"),
                Some(401),
            ),
            (Job::Registry { action, reference, host, .. }, Some(Class::NotFound)) => {
                self.error_line(
                    format!("cannot {action} {reference}: the registry {host} has no such image ({tidy})"),
                    Some(404),
                )
            }
            (Job::Registry { host, .. }, Some(Class::Unreachable)) => self.error_line(
                format!("cannot reach the registry {host}: {tidy}"),
                Some(502),
            ),
            (Job::Registry { action, .. }, _) => {
                if http.is_some_and(|s| s >= 500) {
                    tracing::warn!(endpoint, error = %message, "{action} failed");
                }
                self.error_line(format!("the {action} failed: {tidy}"), http.filter(|s| *s < 500))
            }
            (Job::Build, _) => {
                let step_failed = message.contains("returned a non-zero code");
                let text = match (&self.last_step, step_failed) {
                    (Some(step), true) => format!("{step} failed: {tidy}"),
                    _ => format!("the build failed: {}", build_reason(&tidy)),
                };
                self.error_line(text, if step_failed { None } else { Some(400) })
            }
        }
    }
}

/// Engine wording for broken build contexts, made plain.
fn build_reason(tidy: &str) -> String {
    if tidy == "unexpected EOF" || tidy.contains("archive/tar") {
        return format!("the build context is not a valid tar archive ({tidy})");
    }
    if tidy.contains("Cannot locate specified Dockerfile") {
        return format!("{tidy} (the context must hold it, or name it with dockerfile=)");
    }
    tidy.to_string()
}

/// `Step 3/7 : RUN make` -> (3, 7, "RUN make").
fn parse_step(line: &str) -> Option<(u32, u32, String)> {
    let rest = line.strip_prefix("Step ")?;
    let (numbers, instruction) = rest.split_once(" : ")?;
    let (current, total) = numbers.split_once('/')?;
    Some((
        current.trim().parse().ok()?,
        total.trim().parse().ok()?,
        instruction.to_string(),
    ))
}

/// Layer ids in progress lines are 12 hex digits; other ids are tags.
fn is_layer_id(id: &str) -> bool {
    id.len() == 12 && id.chars().all(|c| c.is_ascii_hexdigit())
}

fn layer_phase(status: &str) -> LayerPhase {
    match status {
        "Waiting" | "Pulling fs layer" | "Preparing" => LayerPhase::Waiting,
        "Downloading" => LayerPhase::Downloading,
        "Verifying Checksum" | "Download complete" => LayerPhase::Downloaded,
        "Extracting" => LayerPhase::Extracting,
        "Pushing" => LayerPhase::Pushing,
        "Pull complete" | "Pushed" => LayerPhase::Done,
        "Already exists" | "Layer already exists" => LayerPhase::Exists,
        s if s.starts_with("Mounted from") => LayerPhase::Exists,
        _ => LayerPhase::Other,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Auth,
    NotFound,
    Unreachable,
}

/// What kind of registry failure an engine message describes.
fn classify(message: &str) -> Option<Class> {
    let m = message.to_ascii_lowercase();
    let any = |needles: &[&str]| needles.iter().any(|n| m.contains(n));
    if any(&[
        "unauthorized",
        "authentication required",
        "no basic auth credentials",
        "incorrect username or password",
        "pull access denied",
        "requested access to the resource is denied",
    ]) {
        Some(Class::Auth)
    } else if any(&[
        "manifest unknown",
        "not found",
        "repository does not exist",
        "no such image",
    ]) {
        Some(Class::NotFound)
    } else if any(&[
        "dial tcp",
        "connection refused",
        "no such host",
        "i/o timeout",
        "tls handshake",
        "x509",
        "server gave http response",
        "network is unreachable",
    ]) {
        Some(Class::Unreachable)
    } else {
        None
    }
}

/// The `message` of an engine error answer.
fn engine_message(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(String::from))
        .unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_string())
}

/// The largest index at or below `max` that is a char boundary.
fn floor_char_boundary(s: &str, max: usize) -> usize {
    let mut i = max.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

// ---------------------------------------------------------------- raw HTTP

/// A POST that bollard cannot make: HTTP/1.1 straight to the engine.
struct RawRequest<'a> {
    url: &'a str,
    /// With the API version prefix and the query.
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Bytes,
}

impl RawRequest<'_> {
    /// Sends the request; the answer's body is read as it arrives.
    async fn send(self) -> Result<hyper::Response<hyper::body::Incoming>, String> {
        let mut builder = hyper::Request::post(&self.path).header("Host", "docker");
        for (name, value) in &self.headers {
            builder = builder.header(*name, value);
        }
        let request = builder
            .body(http_body_util::Full::new(self.body))
            .map_err(|e| format!("bad request: {e}"))?;
        let url = self.url;
        let exchange = async move {
            if let Some(socket) = url.strip_prefix("unix://") {
                let stream = tokio::net::UnixStream::connect(socket)
                    .await
                    .map_err(|e| e.to_string())?;
                exchange(stream, request).await
            } else {
                let addr = url
                    .trim_start_matches("tcp://")
                    .trim_start_matches("http://");
                let stream = tokio::net::TcpStream::connect(addr)
                    .await
                    .map_err(|e| e.to_string())?;
                exchange(stream, request).await
            }
        };
        match tokio::time::timeout(RAW_TIMEOUT, exchange).await {
            Ok(answer) => answer,
            Err(_) => Err("the engine did not answer in time".into()),
        }
    }
}

async fn exchange<S>(
    stream: S,
    request: hyper::Request<http_body_util::Full<Bytes>>,
) -> Result<hyper::Response<hyper::body::Incoming>, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
    // The connection lives as long as the answer is being read.
    tokio::spawn(async move {
        let _ = connection.await;
    });
    sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())
}

/// The next newline-terminated line of an answer, without the newline.
async fn next_line(
    body: &mut hyper::body::Incoming,
    buf: &mut Vec<u8>,
) -> Option<Result<Vec<u8>, String>> {
    loop {
        if let Some(pos) = buf.iter().position(|b| *b == b'\n') {
            let mut line: Vec<u8> = buf.drain(..=pos).collect();
            line.pop();
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Some(Ok(line));
        }
        if buf.len() > MAX_ENGINE_LINE {
            return Some(Err("the engine sent an overlong line".into()));
        }
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    buf.extend_from_slice(&data);
                }
            }
            Some(Err(e)) => return Some(Err(e.to_string())),
            None if buf.iter().all(u8::is_ascii_whitespace) => return None,
            None => return Some(Ok(std::mem::take(buf))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(created_by: &str, size: i64) -> ImageHistoryResponseItem {
        ImageHistoryResponseItem {
            id: "<missing>".into(),
            created: 0,
            created_by: created_by.into(),
            tags: Vec::new(),
            size,
            comment: String::new(),
        }
    }

    #[test]
    fn history_entries_read_as_dockerfile_instructions() {
        assert_eq!(
            instruction("/bin/sh -c #(nop)  CMD [\"sh\"]"),
            "CMD [\"sh\"]"
        );
        assert_eq!(
            instruction("/bin/sh -c #(nop) COPY file:abc in /app "),
            "COPY file:abc in /app"
        );
        assert_eq!(
            instruction("/bin/sh -c make && make install"),
            "RUN make && make install"
        );
        assert_eq!(instruction("|1 V=2 /bin/sh -c echo $V"), "RUN echo $V");
        assert_eq!(instruction("ENV A=1"), "ENV A=1");
        assert_eq!(
            instruction("RUN /bin/sh -c make # buildkit"),
            "RUN /bin/sh -c make"
        );
        assert_eq!(
            instruction("/bin/busybox --install -s /bin"),
            "RUN /bin/busybox --install -s /bin"
        );
    }

    #[test]
    fn layers_are_matched_to_history_steps_base_first() {
        // Newest first, as the engine answers.
        let h = vec![
            history("/bin/sh -c #(nop)  CMD [\"sh\"]", 0),
            history("/bin/sh -c mkdir /x", 0),
            history("/bin/sh -c #(nop)  ENV A=1", 0),
            history("/bin/sh -c #(nop) COPY file:1 in /bin/busybox ", 100),
        ];
        let ids = vec!["sha256:a".to_string(), "sha256:b".to_string()];
        let layers = map_layers(h, &ids);
        assert_eq!(layers[0].instruction, "COPY file:1 in /bin/busybox");
        assert_eq!(layers[0].layer.as_deref(), Some("sha256:a"));
        assert!(layers[1].empty && layers[1].layer.is_none());
        assert_eq!(layers[2].layer.as_deref(), Some("sha256:b"));
        assert!(layers[3].empty);

        let others = vec![
            ("base:1".to_string(), vec!["sha256:a".to_string()]),
            (
                "other:1".to_string(),
                vec!["sha256:z".to_string(), "sha256:b".to_string()],
            ),
            (
                "child:1".to_string(),
                vec![
                    "sha256:a".to_string(),
                    "sha256:b".to_string(),
                    "sha256:c".to_string(),
                ],
            ),
        ];
        let mut layers = layers;
        mark_shared(&mut layers, &ids, &others);
        assert_eq!(layers[0].shared_with, vec!["base:1", "child:1"]);
        assert_eq!(layers[2].shared_with, vec!["child:1"]);
        assert!(layers[1].shared_with.is_empty());
    }

    #[test]
    fn mismatched_histories_still_list_their_steps() {
        let h = vec![history("ENV A=1", 0), history("RUN make", 0)];
        let layers = map_layers(
            h,
            &["sha256:a".into(), "sha256:b".into(), "sha256:c".into()],
        );
        assert_eq!(layers.len(), 2);
        assert!(layers.iter().all(|l| l.layer.is_none()));
    }

    fn feed(tracker: &mut Tracker, stream: &str) -> Vec<Progress> {
        let mut out = Vec::new();
        tracker.line(
            EngineLine {
                stream: Some(stream.into()),
                ..Default::default()
            },
            &mut out,
        );
        out
    }

    #[test]
    fn build_output_becomes_steps_and_lines() {
        let mut t = Tracker::new(Job::Build);
        let mut out = feed(&mut t, "Step 2/4 : RUN echo hi");
        out.extend(feed(&mut t, "\n"));
        out.extend(feed(&mut t, " ---> Running in abc\nhi\nth"));
        out.extend(feed(&mut t, "ere\n"));
        assert_eq!(
            out,
            vec![
                Progress::Step {
                    current: 2,
                    total: 4,
                    text: "RUN echo hi".into()
                },
                Progress::Log {
                    text: " ---> Running in abc".into()
                },
                Progress::Log { text: "hi".into() },
                Progress::Log {
                    text: "there".into()
                },
            ]
        );
        let failed = t.engine_error(
            "local",
            BollardError::DockerStreamError {
                error: "The command '/bin/sh -c exit 3' returned a non-zero code: 3".into(),
            },
        );
        match failed {
            Progress::Error { message, step, .. } => {
                assert_eq!(step.as_deref(), Some("Step 2/4 : RUN echo hi"));
                assert!(
                    message.starts_with("Step 2/4 : RUN echo hi failed"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn pull_lines_become_layer_progress() {
        let mut t = Tracker::new(Job::Registry {
            action: "pull",
            reference: "r/x:1".into(),
            host: "r".into(),
            user: None,
        });
        let mut out = Vec::new();
        t.line(
            EngineLine {
                id: Some("0ed5b70a4a46".into()),
                status: Some("Downloading".into()),
                current: Some(10),
                total: Some(20),
                ..Default::default()
            },
            &mut out,
        );
        t.line(
            EngineLine {
                id: Some("1".into()),
                status: Some("Pulling from x".into()),
                ..Default::default()
            },
            &mut out,
        );
        t.line(
            EngineLine {
                status: Some("Digest: sha256:abc".into()),
                ..Default::default()
            },
            &mut out,
        );
        assert_eq!(
            out[0],
            Progress::Layer {
                id: "0ed5b70a4a46".into(),
                phase: LayerPhase::Downloading,
                status: "Downloading".into(),
                current: Some(10),
                total: Some(20)
            }
        );
        assert_eq!(
            out[1],
            Progress::Status {
                text: "1: Pulling from x".into()
            }
        );
        assert_eq!(t.digest.as_deref(), Some("sha256:abc"));
        let denied = t.engine_error(
            "local",
            BollardError::DockerResponseServerError {
                status_code: 500,
                message: "Head \"http://r/v2/x/manifests/1\": no basic auth credentials".into(),
            },
        );
        match denied {
            Progress::Error {
                message, status, ..
            } => {
                assert_eq!(status, Some(401));
                assert!(
                    message.contains("authentication required") && message.contains("no login"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn credentials_are_base64url_json() {
        let login = RegistryLogin {
            host: "localhost:5000".into(),
            username: "u".into(),
            password: "p?>>>".into(),
        };
        let header = auth_header("localhost:5000", Some(&login));
        assert!(!header.contains('+') && !header.contains('/'));
        let decoded: serde_json::Value =
            serde_json::from_slice(&URL_SAFE.decode(header).expect("base64")).expect("json");
        assert_eq!(decoded["password"], "p?>>>");
        assert_eq!(decoded["serveraddress"], "localhost:5000");
        assert_eq!(
            URL_SAFE
                .decode(auth_header("docker.io", None))
                .expect("b64"),
            b"{}"
        );
        let config = registry_config(&[RegistryLogin {
            host: "docker.io".into(),
            ..login
        }]);
        let decoded: serde_json::Value =
            serde_json::from_slice(&URL_SAFE.decode(config).expect("base64")).expect("json");
        assert_eq!(decoded[DOCKER_HUB_AUTH]["username"], "u");
    }

    #[test]
    fn build_options_are_checked() {
        let ok = BuildOptions {
            tag: Some("Localhost:5000/app".into()),
            buildargs: Some(r#"{"V":"1"}"#.into()),
            ..Default::default()
        };
        let (o, tag) = build_options(&ok).expect("ok");
        assert_eq!(tag.as_deref(), Some("Localhost:5000/app:latest"));
        assert_eq!(o.version, BuilderVersion::BuilderV1);
        assert!(o.forcerm);
        for bad in [
            BuildOptions {
                tag: Some("App".into()),
                ..Default::default()
            },
            BuildOptions {
                dockerfile: Some("../Dockerfile".into()),
                ..Default::default()
            },
            BuildOptions {
                target: Some("a b".into()),
                ..Default::default()
            },
            BuildOptions {
                buildargs: Some("[1]".into()),
                ..Default::default()
            },
            BuildOptions {
                buildargs: Some(r#"{"A B":"1"}"#.into()),
                ..Default::default()
            },
        ] {
            assert!(build_options(&bad).is_err(), "{bad:?}");
        }
    }
}
