//! The engine's event stream, followed by one task per endpoint while
//! anyone listens, and fanned out to every subscriber.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bollard::query_parameters::EventsOptions;
use futures_util::StreamExt;
use protocol::{EndpointStatus, EngineEvent, EventFrame};
use tokio::sync::broadcast;

use super::Engine;

/// How many events a slow subscriber may fall behind before it is told.
pub const EVENT_BUFFER: usize = 256;

impl Engine {
    /// A receiver of this endpoint's events. The first subscriber starts
    /// the follower; it stops by itself once nobody listens.
    pub fn subscribe_events(self: &Arc<Self>) -> broadcast::Receiver<EventFrame> {
        let rx = self.events.subscribe();
        if !self.events_running.swap(true, Ordering::SeqCst) {
            tokio::spawn(follow_events(self.clone()));
        }
        rx
    }
}

async fn follow_events(engine: Arc<Engine>) {
    let mut was_up: Option<bool> = None;
    let mut backoff = Duration::from_millis(500);
    loop {
        if engine.events.receiver_count() == 0 {
            engine.events_running.store(false, Ordering::SeqCst);
            // Someone may have subscribed between the count and the store.
            if engine.events.receiver_count() == 0
                || engine.events_running.swap(true, Ordering::SeqCst)
            {
                return;
            }
        }
        let docker = match engine.docker().await {
            Ok(d) => d,
            Err(e) => {
                if was_up != Some(false) {
                    let _ = engine.events.send(EventFrame::Endpoint {
                        status: EndpointStatus::Down,
                        reason: Some(e.to_string()),
                    });
                    was_up = Some(false);
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        if was_up != Some(true) {
            let _ = engine.events.send(EventFrame::Endpoint {
                status: EndpointStatus::Up,
                reason: None,
            });
            was_up = Some(true);
        }
        backoff = Duration::from_millis(500);
        let mut stream = docker.events(None::<EventsOptions>);
        let mut idle_check = tokio::time::interval(Duration::from_secs(5));
        idle_check.tick().await;
        let reason = loop {
            tokio::select! {
                next = stream.next() => match next {
                    Some(Ok(msg)) => {
                        let _ = engine.events.send(EventFrame::Event(convert(msg)));
                    }
                    Some(Err(e)) => break format!("the event stream broke: {e}"),
                    None => break "the engine closed the event stream".to_string(),
                },
                _ = idle_check.tick() => {
                    if engine.events.receiver_count() == 0 {
                        break String::new();
                    }
                }
            }
        };
        if !reason.is_empty() {
            // The engine is probably gone: drop the client so the next
            // attempt reconnects, and say so.
            engine.forget_client().await;
            let _ = engine.events.send(EventFrame::Endpoint {
                status: EndpointStatus::Down,
                reason: Some(format!("endpoint {} is unreachable: {reason}", engine.id)),
            });
            was_up = Some(false);
            tokio::time::sleep(backoff).await;
        }
    }
}

fn convert(msg: bollard::models::EventMessage) -> EngineEvent {
    let actor = msg.actor.unwrap_or_default();
    let attributes = actor.attributes.unwrap_or_default();
    EngineEvent {
        kind: msg.typ.map(|t| t.to_string()).unwrap_or_default(),
        action: msg.action.unwrap_or_default(),
        id: actor.id.unwrap_or_default(),
        name: attributes.get("name").cloned(),
        time: msg.time.unwrap_or_default(),
        attributes: attributes.into_iter().collect(),
    }
}
