//! `/endpoints/{ep}/host`: what the endpoint's engine says about itself.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use protocol::EngineInfo;

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
        </div>
    }
}
