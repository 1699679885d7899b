//! [`MemoryGroups`]: the group coordinator half of the in-memory cluster. A
//! real [`GroupCoordinator`] runs under a mutex with a test clock: each
//! group request is applied at once with a fresh [`RequestId`]; a parked
//! request waits for the later event (another member's request, or time
//! passing through [`MemoryGroups::advance`]) that answers it.

use std::collections::BTreeMap;
use std::sync::Mutex;

use cairn_coordinator::{
    Decision, Event, GroupCoordinator, GroupCoordinatorConfig, Millis, RequestId, Response,
};
use cairn_kafka::error_code::{NOT_COORDINATOR, REQUEST_TIMED_OUT};
use cairn_kafka::{BoxFuture, KafkaError};
use tokio::sync::oneshot;

/// A group this broker does not coordinate: every request for it gets NOT_COORDINATOR.
pub const ELSEWHERE_GROUP: &str = "coordinated-elsewhere";

/// The test clock's start, ms since the epoch.
const START: Millis = 1_700_000_000_000;

struct State {
    coordinator: GroupCoordinator,
    now: Millis,
    next_seq: u64,
    /// Parked requests, answered by a later `Respond`.
    waiters: BTreeMap<RequestId, oneshot::Sender<Response>>,
}

/// A group coordinator in memory, with Kafka's default settings.
pub struct MemoryGroups {
    state: Mutex<State>,
}

impl Default for MemoryGroups {
    fn default() -> Self {
        let coordinator = GroupCoordinator::new(GroupCoordinatorConfig::default())
            .expect("the default config is valid");
        Self {
            state: Mutex::new(State {
                coordinator,
                now: START,
                next_seq: 0,
                waiters: BTreeMap::new(),
            }),
        }
    }
}

impl std::fmt::Debug for MemoryGroups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryGroups").finish_non_exhaustive()
    }
}

impl MemoryGroups {
    /// Applies the event `build` makes with a fresh request id; resolves with
    /// the coordinator's answer to it, now or when a later event gives it.
    pub fn request(
        &self,
        group_id: &str,
        build: Box<dyn FnOnce(RequestId) -> Event + Send>,
    ) -> BoxFuture<Result<Response, KafkaError>> {
        if group_id == ELSEWHERE_GROUP {
            return Box::pin(std::future::ready(Err(KafkaError::from_code(
                NOT_COORDINATOR,
            ))));
        }
        let mut state = self.state.lock().unwrap();
        state.next_seq += 1;
        let id = RequestId::new(1, state.next_seq);
        let now = state.now;
        let decisions = state.coordinator.apply(build(id), now);
        let mut own = None;
        for decision in decisions {
            match decision {
                Decision::Respond { request, response } if request == id => own = Some(response),
                Decision::Respond { request, response } => {
                    if let Some(waiter) = state.waiters.remove(&request) {
                        let _ = waiter.send(response);
                    }
                }
                Decision::Park { request } => {
                    assert_eq!(request, id, "only the event's own request can be parked");
                    let (tx, rx) = oneshot::channel();
                    state.waiters.insert(id, tx);
                    return Box::pin(async move {
                        rx.await.map_err(|_| {
                            KafkaError::new(REQUEST_TIMED_OUT, "parked request dropped")
                        })
                    });
                }
                Decision::Persist(_) | Decision::ArmTimer { .. } => {}
            }
        }
        let response = own.expect("every event answers or parks its request");
        Box::pin(std::future::ready(Ok(response)))
    }

    /// Runs `read` on the coordinator's state.
    pub fn read(
        &self,
        group_id: &str,
        read: &mut dyn FnMut(&GroupCoordinator),
    ) -> Result<(), KafkaError> {
        if group_id == ELSEWHERE_GROUP {
            return Err(KafkaError::from_code(NOT_COORDINATOR));
        }
        read(&self.state.lock().unwrap().coordinator);
        Ok(())
    }

    /// Moves the clock forward by `ms` and ticks, answering what times out.
    pub fn advance(&self, ms: Millis) {
        let mut state = self.state.lock().unwrap();
        state.now += ms;
        let now = state.now;
        for decision in state.coordinator.apply(Event::Tick, now) {
            if let Decision::Respond { request, response } = decision {
                if let Some(waiter) = state.waiters.remove(&request) {
                    let _ = waiter.send(response);
                }
            }
        }
    }

    /// How many requests are parked.
    pub fn parked(&self) -> usize {
        self.state.lock().unwrap().waiters.len()
    }
}
