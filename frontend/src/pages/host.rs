//! `/endpoints/{ep}/host`: what the endpoint's engine says about itself, and
//! what its images, containers, volumes and build cache take on disk.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use protocol::{DiskUsage, EngineInfo, UsageLine};

use crate::api;
use crate::components::{
    format::bytes,
    icons::Icon,
    layout::endpoint_path,
    remote::{LoadError, Loading, Phase, Remote},
};
use crate::state::use_app;

fn stat(label: &'static str, value: String, mono: bool) -> impl IntoView {
    let title = value.clone();
    view! {
        <div class="stat">
            <div class="stat-label">{label}</div>
            <div class="stat-value" class:mono=mono title=title>{value}</div>
        </div>
    }
}

/// One line of the disk usage table.
fn usage_row(label: &'static str, line: &UsageLine, active_word: &'static str) -> impl IntoView {
    let share = if line.size_bytes > 0 && line.reclaimable_bytes > 0 {
        format!(
            " ({}%)",
            (line.reclaimable_bytes as f64 * 100.0 / line.size_bytes as f64).round() as i64
        )
    } else {
        String::new()
    };
    view! {
        <tr>
            <th scope="row" class="cell-primary" data-label="Type">{label}</th>
            <td data-label="Count" class="num">{line.count.to_string()}</td>
            <td data-label="Active" class="num" title=active_word>{line.active.to_string()}</td>
            <td data-label="Size" class="num">{bytes(line.size_bytes)}</td>
            <td data-label="Reclaimable" class="num">{format!("{}{share}", bytes(line.reclaimable_bytes))}</td>
        </tr>
    }
}

fn disk_view(usage: &DiskUsage) -> impl IntoView {
    let total = usage.images.size_bytes
        + usage.containers.size_bytes
        + usage.volumes.size_bytes
        + usage.build_cache.size_bytes;
    let reclaimable = usage.images.reclaimable_bytes
        + usage.containers.reclaimable_bytes
        + usage.volumes.reclaimable_bytes
        + usage.build_cache.reclaimable_bytes;
    view! {
        <p class="card-sub">{format!("{} used · {} reclaimable", bytes(total), bytes(reclaimable))}</p>
        <table class="table table-compact table-usage">
            <thead>
                <tr>
                    <th scope="col">"Type"</th>
                    <th scope="col" class="num">"Count"</th>
                    <th scope="col" class="num">"Active"</th>
                    <th scope="col" class="num">"Size"</th>
                    <th scope="col" class="num">"Reclaimable"</th>
                </tr>
            </thead>
            <tbody>
                {usage_row("Images", &usage.images, "used by a container")}
                {usage_row("Containers", &usage.containers, "running")}
                {usage_row("Volumes", &usage.volumes, "mounted by a container")}
                {usage_row("Build cache", &usage.build_cache, "in use")}
            </tbody>
        </table>
    }
}

/// The disk usage card, loaded apart from the engine info (it is slower).
#[component]
fn DiskCard(usage: Remote<DiskUsage>, ep: Memo<String>) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="disk-title">
            <div class="card-head">
                <h2 class="card-title" id="disk-title">"Disk usage"</h2>
                <a class="btn btn-sm" href=move || endpoint_path(&ep.get(), "volumes")>"Volumes"</a>
            </div>
            {move || match usage.phase.get() {
                Phase::Loading => view! { <Loading what="disk usage"/> }.into_any(),
                Phase::Failed(error) => view! {
                    <LoadError error=error what="disk usage" on_retry=move |()| usage.reload()/>
                }
                .into_any(),
                Phase::Ready => usage.value.with(|v| match v {
                    Some(Ok(u)) => disk_view(u).into_any(),
                    _ => ().into_any(),
                }),
            }}
        </section>
    }
}

fn info_view(info: &EngineInfo, ep: &str) -> impl IntoView {
    let os = if info.os_type.is_empty()
        || info
            .os
            .to_lowercase()
            .contains(&info.os_type.to_lowercase())
    {
        info.os.clone()
    } else {
        format!("{} ({})", info.os, info.os_type)
    };
    let api_version = if info.min_api_version.is_empty() {
        info.api_version.clone()
    } else {
        format!("{} (min {})", info.api_version, info.min_api_version)
    };
    view! {
        <div class="page-head">
            <div>
                <h1>{info.name.clone()}</h1>
                <p class="page-sub">{format!("Docker Engine {} · {}", info.version, info.arch)}</p>
            </div>
            <div class="page-actions">
                <a class="btn" href=endpoint_path(ep, "containers")>
                    {Icon::Containers.view()}
                    <span>"Containers"</span>
                </a>
            </div>
        </div>
        <section class="card">
            <h2 class="card-title">"Containers and images"</h2>
            <div class="counts">
                <a class="count" href=endpoint_path(ep, "containers")>
                    <span class="count-value">{info.containers.to_string()}</span>
                    <span class="count-label">"containers"</span>
                </a>
                <div class="count">
                    <span class="count-value">
                        <span class="dot dot-up" aria-hidden="true"></span>
                        {info.containers_running.to_string()}
                    </span>
                    <span class="count-label">"running"</span>
                </div>
                <div class="count">
                    <span class="count-value">
                        <span class="dot dot-paused" aria-hidden="true"></span>
                        {info.containers_paused.to_string()}
                    </span>
                    <span class="count-label">"paused"</span>
                </div>
                <div class="count">
                    <span class="count-value">
                        <span class="dot" aria-hidden="true"></span>
                        {info.containers_stopped.to_string()}
                    </span>
                    <span class="count-label">"stopped"</span>
                </div>
                <div class="count">
                    <span class="count-value">{info.images.to_string()}</span>
                    <span class="count-label">"images"</span>
                </div>
            </div>
        </section>
        <div class="stats">
            {stat("Engine version", info.version.clone(), false)}
            {stat("API version", api_version, false)}
            {stat("Operating system", os, false)}
            {stat("Kernel", info.kernel.clone(), true)}
            {stat("Architecture", info.arch.clone(), true)}
            {stat("CPUs", info.cpus.to_string(), false)}
            {stat("Memory", bytes(info.memory_bytes), false)}
            {stat("Storage driver", info.storage_driver.clone(), true)}
            {stat("Root directory", info.docker_root_dir.clone(), true)}
        </div>
        <section class="banner kernel-note" aria-label="Shared kernel">
            {Icon::Host.view()}
            <div class="banner-text">
                <strong>{format!("Containers share this host's kernel ({})", info.kernel)}</strong>
                <p>"A container is an isolated process, not a virtual machine: every container here runs on this kernel, sees its CPU and memory, and can use only what it allows. A kernel upgrade or a kernel setting (sysctl) changes them all."</p>
            </div>
        </section>
    }
}

#[component]
pub fn HostPage() -> impl IntoView {
    let app = use_app();
    let params = use_params_map();
    let ep = Memo::new(move |_| params.read().get("ep").unwrap_or_default());
    app.search.set(String::new());
    let info = Remote::new(move || {
        let ep = ep.get();
        async move { api::engine_info(&ep).await }
    });
    let usage = Remote::new(move || {
        let ep = ep.get();
        async move { api::disk_usage(&ep).await }
    });
    crate::pages::reload_on_changes(info, &["container", "image", "volume"]);
    crate::pages::reload_on_changes(usage, &["container", "image", "volume"]);
    view! {
        <div class="page">
            {move || match info.phase.get() {
                Phase::Loading => view! { <Loading what="host information"/> }.into_any(),
                Phase::Failed(error) => view! {
                    <div class="page-head"><h1>"Host"</h1></div>
                    <LoadError error=error endpoint=ep.get() what="host information" on_retry=move |()| info.reload()/>
                }
                .into_any(),
                Phase::Ready => {
                    info.value
                        .with(|v| match v {
                            Some(Ok(i)) => info_view(i, &ep.get()).into_any(),
                            _ => ().into_any(),
                        })
                }
            }}
            <Show when=move || !matches!(info.phase.get(), Phase::Failed(_))>
                <DiskCard usage=usage ep=ep/>
            </Show>
        </div>
    }
}
