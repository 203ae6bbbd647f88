//! `/cluster`: the cluster run (`scripts/run.sh cluster`) seen from inside. Which instance
//! answered, the balancing mode the visitor chose, the health of every process, and demo
//! controls that stop and start real processes; after each action, what it did to a session
//! under each strategy, and why.

use crate::{
    components::error_message::{last_error, ActionError},
    model::{ClusterOutcome, ClusterProcess, ClusterView},
    server_fns::{cluster_state, ClusterAct, ClusterMode},
    server_resource::server_resource,
    url_credential::form_action,
};
use leptos::prelude::*;
use leptos_meta::Title;
use server_fn::ServerFn;

#[component]
pub fn ClusterPage() -> impl IntoView {
    let act = ServerAction::<ClusterAct>::new();
    let mode = ServerAction::<ClusterMode>::new();
    let state = server_resource(
        move || (act.version().get(), mode.version().get()),
        |_| cluster_state(),
    );
    let outcome = move || act.value().get().and_then(|result| result.ok()?.outcome);
    let lost = move || act.value().get().and_then(|result| result.ok()?.notice);
    view! {
        <Title text="Cluster · Session Strategies"/>
        <h1>"Cluster"</h1>
        <p class="lede">
            "Three instances of this app behind HAProxy, sharing Redis, two Memcached nodes and "
            "PostgreSQL. Stop one, restart them all, restart or flush Redis, stop a Memcached node "
            "or fill Memcached until it evicts, and see which strategies keep your session."
        </p>
        <ActionError error=Signal::derive(move || {
            last_error(act.value()).get().or(last_error(mode.value()).get())
        })/>
        <Suspense fallback=|| view! { <p>"Asking the supervisor…"</p> }>
            {move || Suspend::new(async move {
                match state.await {
                    Ok(view) => view! { <Cluster view act mode/> }.into_any(),
                    Err(error) => view! {
                        <p data-testid="cluster-off">{error.message}</p>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
        {move || lost().map(|notice| view! { <Lost notice/> })}
        {move || outcome().map(|outcome| view! { <Outcome outcome/> })}
    }
}

#[component]
fn Cluster(
    view: ClusterView,
    act: ServerAction<ClusterAct>,
    mode: ServerAction<ClusterMode>,
) -> impl IntoView {
    let sticky = view.mode == "sticky";
    let controls = view.controls;
    view! {
        <p data-testid="served-by">"This page was served by " <code>{view.served_by.clone()}</code> "."</p>
        <section aria-labelledby="mode-heading">
            <h2 id="mode-heading">"Balancing"</h2>
            <p data-testid="mode" data-mode=view.mode.clone()>
                {if sticky {
                    "Sticky: the load balancer set a cookie naming your first instance and sends you back there while it is up."
                } else {
                    "Round robin: each request goes to the next instance in turn."
                }}
            </p>
            <ActionForm action=mode attr:class="inline">
                <input type="hidden" name="mode" value=if sticky { "round-robin" } else { "sticky" }/>
                <button type="submit" class="button" data-testid="switch-mode" formaction=form_action(ClusterMode::url())>
                    {if sticky { "Switch to round robin" } else { "Switch to sticky sessions" }}
                </button>
            </ActionForm>
        </section>
        <section aria-labelledby="processes-heading">
            <h2 id="processes-heading">"Processes"</h2>
            <table class="cluster">
                <thead><tr><th scope="col">"Process"</th><th scope="col">"Port"</th><th scope="col">"State"</th><th scope="col">"Your last requests"</th><th scope="col">"Control"</th></tr></thead>
                <tbody>
                    {view.instances.into_iter().chain(view.memcached).map(|process| {
                        let what = if process.state == "up" {
                            format!("stop:{}", process.name)
                        } else {
                            format!("start:{}", process.name)
                        };
                        let label = if process.state == "up" { "Stop" } else { "Start" };
                        view! {
                            <Row process=process.clone()>
                                {controls.then(|| view! {
                                    <ActionForm action=act attr:class="inline">
                                        <input type="hidden" name="what" value=what.clone()/>
                                        <button type="submit" class="button" data-testid=format!("toggle-{}", process.name)
                                            aria-label=format!("{label} {}", process.name) formaction=form_action(ClusterAct::url())>
                                            {label}
                                        </button>
                                    </ActionForm>
                                })}
                            </Row>
                        }
                    }).collect_view()}
                    <Row process=view.redis/>
                    <Row process=view.load_balancer/>
                </tbody>
            </table>
            {controls.then(|| view! {
                <div class="cluster-actions">
                    {[
                        ("restart-all", "Restart every instance"),
                        ("restart-redis", "Restart Redis"),
                        ("flush-redis", "Flush Redis"),
                        ("restart-memcached", "Restart Memcached"),
                        ("fill-memcached", "Fill Memcached until it evicts"),
                    ]
                        .into_iter()
                        .map(|(what, label)| view! {
                            <ActionForm action=act attr:class="inline">
                                <input type="hidden" name="what" value=what/>
                                <button type="submit" class="button" data-testid=what formaction=form_action(ClusterAct::url())>{label}</button>
                            </ActionForm>
                        })
                        .collect_view()}
                </div>
            })}
            {(!controls).then(|| view! {
                <p class="muted">"The controls answer only to a browser on the machine running the cluster."</p>
            })}
        </section>
    }
}

/// The visitor's session is gone: the action just taken lost it.
#[component]
fn Lost(notice: String) -> impl IntoView {
    view! {
        <div class="notice" role="status" data-notice=notice>
            "Your session is gone from where its strategy kept it: the next request starts a new one."
        </div>
    }
}

#[component]
fn Row(process: ClusterProcess, #[prop(optional)] children: Option<Children>) -> impl IntoView {
    let testid = format!("process-{}", process.name);
    let state = process.state.clone();
    let instance = process.name.starts_with("app-");
    view! {
        <tr data-testid=testid data-state=state>
            <th scope="row">{process.name}</th>
            <td>{process.port}</td>
            <td>{process.state}</td>
            <td data-testid="served">{instance.then_some(process.served)}</td>
            <td>{children.map(|children| children())}</td>
        </tr>
    }
}

#[component]
fn Outcome(outcome: ClusterOutcome) -> impl IntoView {
    view! {
        <section aria-labelledby="outcome-heading" data-testid="outcome">
            <h2 id="outcome-heading">{format!("After this: {}", outcome.action)}</h2>
            <table>
                <thead><tr><th scope="col">"Strategy"</th><th scope="col">"Your session"</th></tr></thead>
                <tbody>
                    {outcome.strategies.into_iter().map(|(id, said)| {
                        let testid = format!("outcome-{id}");
                        view! { <tr data-testid=testid><th scope="row">{id}</th><td>{said}</td></tr> }
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}
