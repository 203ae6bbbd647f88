//! `/cluster`: the cluster run (`scripts/run.sh cluster`) seen from inside. Which instance
//! answered, the balancing mode the visitor chose, the health of every process, and demo
//! controls that stop and start real processes; after each action, what it did to a session
//! under each strategy, and why.

use crate::{
    components::error_message::{last_error, ActionError},
    model::{ClusterOutcome, ClusterProcess, ClusterView},
    server_fns::{cluster_state, ClusterAct, ClusterMode, MeasureLogoutReach},
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
            "Three instances of this app behind HAProxy, sharing Redis (a primary and its replica "
            "behind three Sentinels), two Memcached nodes and PostgreSQL, and two of the orders "
            "service, which trusts the same sessions (HAProxy sends it /api/v1/orders). Stop one, "
            "restart them all, restart, flush or kill Redis' primary, stop a Memcached node or "
            "fill Memcached until it evicts, and see which strategies keep your session."
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
        <Topology view=view.clone()/>
        <section aria-labelledby="processes-heading">
            <h2 id="processes-heading">"Processes"</h2>
            <table class="cluster">
                <thead><tr><th scope="col">"Process"</th><th scope="col">"Port"</th><th scope="col">"State"</th><th scope="col">"Your last requests"</th><th scope="col">"Control"</th></tr></thead>
                <tbody>
                    {view.instances.into_iter().chain(view.orders).chain(view.memcached).map(|process| {
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
                    {view.redis.into_iter().map(|node| {
                        let primary_up = node.state == "up" && node.role.as_deref() == Some("primary");
                        let control = if primary_up {
                            Some(("kill-redis-primary".to_owned(), "kill-redis-primary".to_owned(), "Kill (SIGKILL)"))
                        } else if node.state != "up" {
                            Some((format!("start:{}", node.name), format!("toggle-{}", node.name), "Start"))
                        } else {
                            None
                        };
                        view! {
                            <Row process=node.clone()>
                                {control.filter(|_| controls).map(|(what, testid, label)| view! {
                                    <ActionForm action=act attr:class="inline">
                                        <input type="hidden" name="what" value=what/>
                                        <button type="submit" class="button" data-testid=testid
                                            aria-label=format!("{label} {}", node.name) formaction=form_action(ClusterAct::url())>
                                            {label}
                                        </button>
                                    </ActionForm>
                                })}
                            </Row>
                        }
                    }).collect_view()}
                    {view.sentinels.into_iter().map(|sentinel| view! { <Row process=sentinel/> }).collect_view()}
                    <Row process=view.load_balancer/>
                </tbody>
            </table>
            {view.failover.map(|failover| view! { <p data-testid="failover">"Last failover: " {failover} "."</p> })}
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
        <LogoutReachSection/>
    }
}

/// How long a logout at the shop takes to reach the orders service, per strategy, measured
/// when the visitor asks (a throwaway session per strategy, logged out, then shown to it).
#[component]
fn LogoutReachSection() -> impl IntoView {
    let measure = ServerAction::<MeasureLogoutReach>::new();
    let rows = move || {
        measure.value().get().and_then(Result::ok).map(|measured| {
            measured
                .into_iter()
                .map(|reach| {
                    let said = match (reach.micros, reach.note) {
                        (Some(micros), _) => format!("{:.1} ms", micros as f64 / 1000.0),
                        (None, Some(note)) => note,
                        (None, None) => "–".to_owned(),
                    };
                    let testid = format!("logout-reach-{}", reach.strategy);
                    view! {
                        <tr data-testid=testid>
                            <th scope="row">{reach.strategy}</th>
                            <td>{said}</td>
                        </tr>
                    }
                })
                .collect_view()
        })
    };
    view! {
        <section aria-labelledby="logout-reach-heading">
            <h2 id="logout-reach-heading">"A logout, as the orders service sees it"</h2>
            <p>
                "Per strategy: a throwaway session is shown to the orders service, logged out at "
                "the shop, then shown again until the orders service refuses it."
            </p>
            <ActionForm action=measure attr:class="inline">
                <button type="submit" class="button" data-testid="measure-logout-reach"
                    formaction=form_action(MeasureLogoutReach::url())>"Measure"</button>
            </ActionForm>
            <ActionError error=Signal::derive(move || last_error(measure.value()).get())/>
            <table class="cluster" data-testid="logout-reach">
                <thead><tr><th scope="col">"Strategy"</th><th scope="col">"Refused after the logout"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
    }
}

/// The cluster as a picture: the load balancer, the instances (those that served the visitor's
/// last requests drawn with a heavy arrow and the count), the Redis nodes with their roles and
/// the replica's lag, the Sentinels watching the primary, the Memcached nodes. A process that is
/// not up is drawn dashed and grey. The table below says the same in words, for screen readers.
#[component]
fn Topology(view: ClusterView) -> impl IntoView {
    const WIDTH: f64 = 720.0;
    const BOX_HEIGHT: f64 = 40.0;
    // The x of box `index` of `count` across the width, each `width` wide.
    let across = |index: usize, count: usize, width: f64| {
        let slot = WIDTH / count.max(1) as f64;
        slot * index as f64 + (slot - width) / 2.0
    };
    let look = |process: &ClusterProcess| {
        let up = process.state == "up";
        let role = process.role.as_deref().unwrap_or_default();
        match (up, role) {
            (false, _) => "node down",
            (true, "primary") => "node primary",
            (true, "replica") => "node replica",
            (true, _) => "node",
        }
    };
    let node = move |process: &ClusterProcess, x: f64, y: f64, width: f64, caption: String| {
        let class = look(process);
        view! {
            <g class=class data-node=process.name.clone()>
                <rect x=x y=y width=width height=BOX_HEIGHT rx="6"/>
                <text x=x + width / 2.0 y=y + 16.0 text-anchor="middle">{process.name.clone()}</text>
                <text x=x + width / 2.0 y=y + 32.0 text-anchor="middle" class="caption">{caption}</text>
            </g>
        }
    };
    let balancer_x = across(0, 1, 140.0);
    let instances = view.instances.len();
    let instance_boxes = view
        .instances
        .iter()
        .enumerate()
        .map(|(index, instance)| {
            let x = across(index, instances, 120.0);
            let served = instance.served;
            let class = if served > 0 { "link served" } else { "link" };
            view! {
                <line class=class x1=balancer_x + 70.0 y1=54.0 x2=x + 60.0 y2=96.0 marker-end="url(#arrow)"/>
                {(served > 0).then(|| view! {
                    <text class="served-count" x=(balancer_x + 70.0 + x + 60.0) / 2.0 + 6.0 y=78.0>{served}</text>
                })}
                {node(instance, x, 100.0, 120.0, format!(":{}", instance.port))}
            }
        })
        .collect_view();
    // The stores' row: Redis nodes, Sentinels, Memcached nodes.
    let stores: Vec<(ClusterProcess, String, f64)> = view
        .redis
        .iter()
        .map(|node| {
            let caption = match (&node.role, node.lag_bytes, node.state.as_str()) {
                (_, _, state) if state != "up" => state.to_owned(),
                (Some(role), Some(lag), _) => format!("{role}, {lag} B behind"),
                (Some(role), None, _) => role.clone(),
                (None, _, _) => node.state.clone(),
            };
            (node.clone(), caption, 120.0)
        })
        .chain(view.sentinels.iter().map(|sentinel| {
            let caption = match sentinel.state.as_str() {
                "up" => "watches".to_owned(),
                state => state.to_owned(),
            };
            (sentinel.clone(), caption, 78.0)
        }))
        .chain(
            view.memcached
                .iter()
                .map(|node| (node.clone(), format!(":{}", node.port), 96.0)),
        )
        .collect();
    // Side by side, `GAP` apart, the row centred.
    const GAP: f64 = 8.0;
    let row_width: f64 = stores.iter().map(|(_, _, width)| width + GAP).sum::<f64>() - GAP;
    let lefts: Vec<f64> = stores
        .iter()
        .scan((WIDTH - row_width) / 2.0, |left, (_, _, width)| {
            let x = *left;
            *left += width + GAP;
            Some(x)
        })
        .collect();
    let primary_x = stores
        .iter()
        .zip(&lefts)
        .find(|((process, _, _), _)| {
            process.role.as_deref() == Some("primary") && process.state == "up"
        })
        .map(|((_, _, width), x)| x + width / 2.0);
    let store_boxes = stores
        .iter()
        .zip(lefts)
        .map(|((process, caption, width), x)| {
            let middle = x + width / 2.0;
            let to_primary = match (process.role.as_deref(), primary_x) {
                (Some("replica"), Some(primary)) if process.state == "up" => Some(view! {
                    <path class="link replication" d=format!("M{middle},220 Q{},{} {primary},220", (middle + primary) / 2.0, 262.0)
                        marker-end="url(#arrow)"/>
                }),
                _ => None,
            };
            let watching = (process.name.starts_with("sentinel-") && process.state == "up")
                .then_some(primary_x)
                .flatten()
                .map(|primary| view! {
                    <path class="link watch" d=format!("M{middle},180 Q{},{} {primary},180", (middle + primary) / 2.0, 156.0)/>
                });
            view! {
                {watching}
                {to_primary}
                {node(process, x, 180.0, *width, caption.clone())}
            }
        })
        .collect_view();
    let uses_primary = primary_x.map(|primary| view! {
        <line class="link" x1=WIDTH / 2.0 y1=140.0 x2=primary y2=180.0 marker-end="url(#arrow)"/>
    });
    view! {
        <figure class="topology">
            <svg viewBox=format!("0 0 {WIDTH} 270") role="img" aria-labelledby="topology-title" data-testid="topology">
                <title id="topology-title">"The cluster: HAProxy, the instances, Redis with its Sentinels, Memcached"</title>
                <defs>
                    <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse">
                        <path d="M0,0 L10,5 L0,10 z"/>
                    </marker>
                </defs>
                {node(&view.load_balancer, balancer_x, 14.0, 140.0, "HAProxy".to_owned())}
                {instance_boxes}
                {uses_primary}
                {store_boxes}
            </svg>
            <figcaption>
                "Heavy arrows: the instances your last requests went to. Green: Redis' primary; blue: its "
                "replica, with the bytes it has yet to apply. Grey and dashed: stopped or down."
            </figcaption>
        </figure>
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
    // A Redis node's role (and a replica's lag) beside its state.
    let role = process.role.clone();
    let shown = match (&process.role, process.lag_bytes) {
        (Some(role), Some(lag)) => format!("{}, {role}, {lag} bytes behind", process.state),
        (Some(role), None) => format!("{}, {role}", process.state),
        (None, _) => process.state.clone(),
    };
    view! {
        <tr data-testid=testid data-state=state data-role=role>
            <th scope="row">{process.name}</th>
            <td>{process.port}</td>
            <td>{shown}</td>
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
