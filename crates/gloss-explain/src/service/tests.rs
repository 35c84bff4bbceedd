//! Scheduling and caching of the service against a mock model (the real model is tested through
//! the language server).

use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use gloss_model::Message;

use super::*;
use crate::cache::{CacheLimits, KeyInput};
use crate::level::Level;

/// What the mock did: the priority a job ran at, its subject, and "done", "cancelled" or "skipped".
type Log = Arc<Mutex<Vec<(Priority, String, &'static str)>>>;

/// A model thread that "generates" `tokens` words, one every `tick`, with the worker's priority
/// order, and records what it was asked.
struct Mock {
    jobs: Sender<MockJob>,
    log: Log,
    paused: Arc<AtomicBool>,
    status: ModelStatus,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

struct MockJob {
    job: Job,
    events: Sender<JobEvent>,
    sequence: u64,
}

impl PartialEq for MockJob {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}
impl Eq for MockJob {}
impl PartialOrd for MockJob {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for MockJob {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.job
            .priority
            .cmp(&other.job.priority)
            .then_with(|| other.sequence.cmp(&self.sequence))
    }
}

const TICK: Duration = Duration::from_millis(10);

impl Mock {
    fn start(tokens: usize) -> Arc<Mock> {
        Self::with_status(tokens, ModelStatus::Ready)
    }

    fn with_status(tokens: usize, status: ModelStatus) -> Arc<Mock> {
        let (jobs, receiver) = crossbeam_channel::unbounded::<MockJob>();
        let log: Log = Arc::default();
        let paused = Arc::new(AtomicBool::new(false));
        let thread_log = log.clone();
        let thread_paused = paused.clone();
        let failed = matches!(status, ModelStatus::Failed(_));
        let thread = std::thread::spawn(move || {
            let mut queue = BinaryHeap::new();
            loop {
                while let Ok(job) = receiver.try_recv() {
                    queue.push(job);
                }
                if thread_paused.load(Ordering::Acquire) || queue.is_empty() {
                    match receiver.recv_timeout(Duration::from_millis(2)) {
                        Ok(job) => queue.push(job),
                        Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                        Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return,
                    }
                    continue;
                }
                let MockJob { job, events, .. } = queue.pop().unwrap();
                let messages = job.prompt.messages().unwrap();
                let subject = messages.last().unwrap().content.clone();
                if failed {
                    let _ = events.send(JobEvent::Finished(Err(ModelError::Unavailable(
                        "broken".into(),
                    ))));
                    continue;
                }
                if job.cancel.is_cancelled() {
                    thread_log
                        .lock()
                        .unwrap()
                        .push((job.priority, subject, "skipped"));
                    let _ = events.send(JobEvent::Finished(Ok(generation(
                        "",
                        0,
                        StopReason::Cancelled,
                    ))));
                    continue;
                }
                let _ = events.send(JobEvent::Started { prompt_tokens: 5 });
                let word = match job.params.sampling {
                    Sampling::Greedy => "greedy",
                    Sampling::Random { .. } => "sampled",
                };
                let mut text = String::new();
                let mut stop = StopReason::EndOfTurn;
                for _ in 0..tokens.min(job.params.max_tokens) {
                    if job.cancel.is_cancelled() {
                        stop = StopReason::Cancelled;
                        break;
                    }
                    std::thread::sleep(TICK);
                    let piece = format!("{word} ");
                    text.push_str(&piece);
                    let _ = events.send(JobEvent::Text(piece));
                }
                let outcome = if stop == StopReason::Cancelled {
                    "cancelled"
                } else {
                    "done"
                };
                thread_log
                    .lock()
                    .unwrap()
                    .push((job.priority, subject.clone(), outcome));
                let text = format!("{subject}: {text}");
                let _ = events.send(JobEvent::Finished(Ok(generation(&text, tokens, stop))));
            }
        });
        Arc::new(Mock {
            jobs,
            log,
            paused,
            status,
            thread: Mutex::new(Some(thread)),
        })
    }

    fn log(&self) -> Vec<(Priority, String, &'static str)> {
        self.log.lock().unwrap().clone()
    }
}

fn generation(text: &str, tokens: usize, stop_reason: StopReason) -> Generation {
    Generation {
        text: text.to_owned(),
        generated_tokens: tokens,
        ..Generation::empty(5, stop_reason)
    }
}

static SEQUENCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl Generator for Mock {
    fn status(&self) -> ModelStatus {
        self.status.clone()
    }
    fn wait_ready(&self) -> ModelStatus {
        self.status.clone()
    }
    fn submit(&self, job: Job) -> Receiver<JobEvent> {
        let (events, receiver) = crossbeam_channel::unbounded();
        let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed);
        let _ = self.jobs.send(MockJob {
            job,
            events,
            sequence,
        });
        receiver
    }
    fn shutdown(&self) {
        // Dropping the sender would need `&mut`; the thread ends with the test process.
        let _ = self.thread.lock().unwrap().take();
    }
}

fn identity(catalog: bool) -> ModelIdentity {
    ModelIdentity {
        id: "mock".into(),
        sha256: "00".into(),
        catalog_id: catalog.then(|| "smollm2-135m".to_owned()),
        path: None,
    }
}

fn service(mock: &Arc<Mock>, cache: Arc<ExplanationCache>) -> (ExplainService, Arc<Engine>) {
    let service = ExplainService::new(cache);
    service.install(identity(true), mock.clone());
    let EngineState::Running(engine) = service.engine_now() else {
        unreachable!()
    };
    (service, engine)
}

fn memory_cache() -> Arc<ExplanationCache> {
    Arc::new(ExplanationCache::in_memory(CacheLimits::default()))
}

fn key(subject: &str) -> CacheKey {
    CacheKey::new(&KeyInput {
        model_sha256: "00",
        prompt_version: 1,
        level: Level::Standard,
        kind: ExplanationKind::Hover,
        language: "python",
        region_text: subject,
        context: &[],
    })
}

fn request(subject: &str, priority: Priority) -> ExplainRequest {
    ExplainRequest {
        key: key(subject),
        prompt: Prompt::Chat(vec![Message::user(subject)]),
        kind: ExplanationKind::Hover,
        max_tokens: 100,
        priority,
        scope: Some(Scope {
            document: "doc".into(),
            bytes: 100..200,
        }),
        refresh: false,
        known_names: Arc::default(),
    }
}

fn pending(lookup: Lookup) -> Ticket {
    match lookup {
        Lookup::Pending(ticket) => ticket,
        Lookup::Cached(_) => panic!("expected a generation, got a cache hit"),
    }
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..500 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("timed out waiting until {what}");
}

#[tokio::test]
async fn identical_requests_share_one_generation_and_fill_the_cache() {
    let mock = Mock::start(5);
    let (service, engine) = service(&mock, memory_cache());
    let mut first = pending(service.explain(&engine, request("f", Priority::Hover)));
    let mut second = pending(service.explain(&engine, request("f", Priority::Hover)));
    let a = first.wait().await.unwrap();
    let b = second.wait().await.unwrap();
    assert_eq!(a, b);
    assert_eq!(a.text, "f: greedy greedy greedy greedy greedy");
    assert_eq!(mock.log().len(), 1, "one generation for two requests");
    match service.explain(&engine, request("f", Priority::Hover)) {
        Lookup::Cached(hit) => assert_eq!(hit, a),
        Lookup::Pending(_) => panic!("expected a cache hit"),
    }
    service.shutdown();
}

#[tokio::test]
async fn dropping_the_only_ticket_cancels_and_caches_nothing() {
    let mock = Mock::start(200);
    let cache = memory_cache();
    let (service, engine) = service(&mock, cache.clone());
    let ticket = pending(service.explain(&engine, request("slow", Priority::Hover)));
    eventually("it starts", || ticket.progress().generated > 0).await;
    drop(ticket);
    eventually("the mock sees the cancel", || {
        mock.log()
            .iter()
            .any(|(_, _, outcome)| *outcome == "cancelled")
    })
    .await;
    assert!(cache.get(&key("slow")).is_none());
    eventually("nothing is in flight", || service.in_flight() == 0).await;
    service.shutdown();
}

#[tokio::test]
async fn another_waiter_keeps_the_generation_alive() {
    let mock = Mock::start(10);
    let (service, engine) = service(&mock, memory_cache());
    let first = pending(service.explain(&engine, request("f", Priority::Hover)));
    let mut second = pending(service.explain(&engine, request("f", Priority::Command)));
    drop(first);
    let done = second.wait().await.unwrap();
    assert!(done.text.starts_with("f: greedy"));
    service.shutdown();
}

#[tokio::test]
async fn a_detached_ticket_fills_the_cache() {
    let mock = Mock::start(10);
    let cache = memory_cache();
    let (service, engine) = service(&mock, cache.clone());
    let ticket = pending(service.explain(&engine, request("f", Priority::Hover)));
    ticket.detach();
    eventually("the cache is filled", || cache.get(&key("f")).is_some()).await;
    service.shutdown();
}

#[tokio::test]
async fn a_hover_elsewhere_supersedes_the_previous_hover() {
    let mock = Mock::start(200);
    let (service, engine) = service(&mock, memory_cache());
    let mut old = pending(service.explain(&engine, request("a", Priority::Hover)));
    let mut new = pending(service.explain(&engine, request("b", Priority::Hover)));
    assert_eq!(
        old.wait().await,
        Err(ExplainError::Cancelled(CancelReason::Superseded))
    );
    // The new hover is not affected, and a command is never superseded.
    let mut command = pending(service.explain(&engine, request("c", Priority::Command)));
    let _other_hover = pending(service.explain(&engine, request("d", Priority::Hover)));
    assert_eq!(
        new.wait().await,
        Err(ExplainError::Cancelled(CancelReason::Superseded))
    );
    drop(_other_hover);
    assert!(command.wait().await.is_ok());
    service.shutdown();
}

#[tokio::test]
async fn edits_cancel_inside_and_shift_outside() {
    let mock = Mock::start(300);
    let (service, engine) = service(&mock, memory_cache());
    let mut ticket = pending(service.explain(&engine, request("f", Priority::Command)));
    // Before the region (100..200): 10 bytes become 20, so the region is now 110..210.
    service.document_edited("doc", 10..20, 20);
    // Between 200 and 210: outside the old range, inside the shifted one.
    service.document_edited("doc", 205..206, 1);
    assert_eq!(
        ticket.wait().await,
        Err(ExplainError::Cancelled(CancelReason::Edited))
    );
    let mut other = pending(service.explain(&engine, request("g", Priority::Command)));
    service.document_edited("another doc", 150..151, 0);
    service.document_edited("doc", 300..301, 0);
    assert!(other.wait().await.is_ok());
    service.shutdown();
}

#[tokio::test]
async fn prefetch_is_cancelled_by_any_edit_of_its_document() {
    let mock = Mock::start(300);
    let (service, engine) = service(&mock, memory_cache());
    let mut ticket = pending(service.explain(&engine, request("p", Priority::Prefetch)));
    service.document_edited("doc", 900..901, 0);
    assert_eq!(
        ticket.wait().await,
        Err(ExplainError::Cancelled(CancelReason::Edited))
    );
    service.shutdown();
}

#[tokio::test]
async fn a_hover_lifts_a_queued_prefetch_and_preempts_a_running_one() {
    let mock = Mock::start(30);
    let cache = memory_cache();
    let (service, engine) = service(&mock, cache.clone());
    mock.paused.store(true, Ordering::Release);
    pending(service.explain(&engine, request("queued", Priority::Prefetch))).detach();
    let mut hover = pending(service.explain(&engine, request("queued", Priority::Hover)));
    mock.paused.store(false, Ordering::Release);
    hover.wait().await.unwrap();
    // The prefetch job was skipped (cancelled in the queue) and requeued as a hover.
    eventually("the stale prefetch job is skipped", || {
        mock.log()
            .iter()
            .any(|(_, _, outcome)| *outcome == "skipped")
    })
    .await;
    let log = mock.log();
    assert!(
        log.contains(&(Priority::Prefetch, "queued".into(), "skipped")),
        "{log:?}"
    );
    assert!(
        log.contains(&(Priority::Hover, "queued".into(), "done")),
        "{log:?}"
    );

    let running = pending(service.explain(&engine, request("background", Priority::Prefetch)));
    let progress_of = |t: &Ticket| t.progress().generated;
    eventually("the prefetch runs", || progress_of(&running) > 2).await;
    running.detach();
    let mut urgent = pending(service.explain(&engine, request("urgent", Priority::Command)));
    urgent.wait().await.unwrap();
    eventually("the prefetch finishes later", || {
        cache.get(&key("background")).is_some()
    })
    .await;
    let log = mock.log();
    let order: Vec<&str> = log
        .iter()
        .filter(|(_, subject, _)| subject != "queued")
        .map(|(_, subject, outcome)| match (subject.as_str(), *outcome) {
            ("background", "cancelled") => "background preempted",
            ("urgent", "done") => "urgent",
            ("background", "done") => "background",
            _ => "other",
        })
        .collect();
    assert_eq!(order, ["background preempted", "urgent", "background"]);
    service.shutdown();
}

#[tokio::test]
async fn refresh_bypasses_and_replaces_the_cache() {
    let mock = Mock::start(3);
    let cache = memory_cache();
    let (service, engine) = service(&mock, cache.clone());
    let first = pending(service.explain(&engine, request("f", Priority::Hover)))
        .wait()
        .await
        .unwrap();
    assert!(first.text.contains("greedy"));
    let mut refresh = request("f", Priority::Command);
    refresh.refresh = true;
    let second = pending(service.explain(&engine, refresh))
        .wait()
        .await
        .unwrap();
    assert!(second.text.contains("sampled"));
    assert_eq!(cache.get(&key("f")).unwrap(), second);
    service.shutdown();
}

#[tokio::test]
async fn a_failed_model_says_how_to_repair_it() {
    let mock = Mock::with_status(3, ModelStatus::Failed("model file is corrupt".into()));
    let (service, engine) = service(&mock, memory_cache());
    let ModelStatus::Failed(hint) = engine.status() else {
        panic!("expected a failure")
    };
    assert!(hint.contains("gloss models pull smollm2-135m"), "{hint}");
    let outcome = pending(service.explain(&engine, request("f", Priority::Hover)))
        .wait()
        .await;
    match outcome {
        Err(ExplainError::Model(text)) => assert!(text.contains("gloss models pull"), "{text}"),
        other => panic!("unexpected {other:?}"),
    }
    service.shutdown();
}

#[tokio::test]
async fn a_missing_model_file_is_unavailable_with_a_hint() {
    let service = ExplainService::new(memory_cache());
    service.start_model("/nonexistent/model.gguf".into());
    match service.engine().await {
        EngineState::Unavailable(reason) => {
            assert!(reason.contains("does not exist"), "{reason}");
            assert!(reason.contains("gloss models pull"), "{reason}");
        }
        _ => panic!("expected the model to be unavailable"),
    }
    service.shutdown();
}

#[tokio::test]
async fn replacing_the_model_cancels_its_generations() {
    let mock = Mock::start(300);
    let (service, engine) = service(&mock, memory_cache());
    let mut ticket = pending(service.explain(&engine, request("f", Priority::Command)));
    service.install(identity(false), Mock::start(1));
    assert_eq!(
        ticket.wait().await,
        Err(ExplainError::Cancelled(CancelReason::Stopped))
    );
    service.shutdown();
}
