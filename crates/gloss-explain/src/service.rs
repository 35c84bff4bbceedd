//! The explanation service: one model behind a cache, with shared, prioritized, cancellable generations.
//!
//! Nothing here knows LSP. A front end (the language server) computes a [`CacheKey`] and the prompt,
//! and [`ExplainService::explain`] answers from the cache or hands back a [`Ticket`] on a generation.
//! Identical requests share one generation (the in-flight map is keyed by the cache key); a generation
//! runs as long as someone needs it: a waiting ticket, or the cache fill once a ticket was detached.
//! Dropping the last ticket of a generation nobody else needs cancels it between two tokens, which is
//! how a dropped request handler (`$/cancelRequest`) stops the model. Events come off the model
//! thread on one "pump" thread; async callers wait on a `tokio::sync::watch` channel, so no inference
//! and no blocking receive ever runs on the async runtime.

use std::collections::HashMap;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, Weak};

use crossbeam_channel::{Receiver, Select, Sender};
use gloss_model::catalog::{CatalogError, Progress as PullProgress, resolve_model};
use gloss_model::{
    CancelToken, GenerateParams, Generation, Job, JobEvent, LoadState, ModelError, ModelWorker,
    Priority, Prompt, Sampling, StopReason,
};
use tokio::sync::watch;

use crate::cache::{CacheKey, CachedExplanation, ExplanationCache};
use crate::grounding::{KnownNames, drop_ungrounded};
use crate::level::ExplanationKind;
use crate::shape::finished_text;

/// Whether the model can answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelStatus {
    Loading,
    Ready,
    /// It cannot; the text says why and how to fix it.
    Failed(String),
}

/// Something that runs generation jobs: the real model thread, or a mock in tests.
pub trait Generator: Send + Sync + 'static {
    fn status(&self) -> ModelStatus;
    /// Blocks until the model has loaded or failed to.
    fn wait_ready(&self) -> ModelStatus;
    fn submit(&self, job: Job) -> Receiver<JobEvent>;
    /// Stops and joins whatever thread runs the jobs.
    fn shutdown(&self);
    /// Whether jobs run side by side (a model server) rather than one at a time in priority order
    /// (the model thread). Then nothing is gained by preempting a running prefetch for a hover.
    fn runs_concurrently(&self) -> bool {
        false
    }
}

impl Generator for ModelWorker {
    fn status(&self) -> ModelStatus {
        match self.state() {
            LoadState::Loading => ModelStatus::Loading,
            LoadState::Ready(_) => ModelStatus::Ready,
            LoadState::Failed(reason) => ModelStatus::Failed(reason),
        }
    }

    fn wait_ready(&self) -> ModelStatus {
        match ModelWorker::wait_ready(self) {
            Ok(_) => ModelStatus::Ready,
            Err(error) => ModelStatus::Failed(error.to_string()),
        }
    }

    fn submit(&self, job: Job) -> Receiver<JobEvent> {
        ModelWorker::submit(self, job)
    }

    fn shutdown(&self) {
        ModelWorker::shutdown(self)
    }
}

/// Which model answers, as the cache key and the hover's footer see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelIdentity {
    /// The catalog id, or the file stem of a model outside the catalog.
    pub id: String,
    pub sha256: String,
    /// Set when the file is a catalog model's: then `gloss models pull <id>` can repair it.
    pub catalog_id: Option<String>,
    pub path: Option<PathBuf>,
}

/// A model that was resolved and started: its identity and the thread that runs it.
pub struct Engine {
    pub identity: ModelIdentity,
    generator: Arc<dyn Generator>,
}

impl Engine {
    pub fn new(identity: ModelIdentity, generator: Arc<dyn Generator>) -> Arc<Self> {
        Arc::new(Self {
            identity,
            generator,
        })
    }

    /// The status, with a failure phrased as what to do about it.
    pub fn status(&self) -> ModelStatus {
        match self.generator.status() {
            ModelStatus::Failed(reason) => ModelStatus::Failed(self.repair_hint(&reason)),
            other => other,
        }
    }

    /// Blocks until loaded or failed; run it off the async runtime.
    pub fn wait_ready(&self) -> ModelStatus {
        match self.generator.wait_ready() {
            ModelStatus::Failed(reason) => ModelStatus::Failed(self.repair_hint(&reason)),
            other => other,
        }
    }

    fn repair_hint(&self, reason: &str) -> String {
        match &self.identity.catalog_id {
            Some(id) => {
                format!("{reason}. To repair it, delete the file and run `gloss models pull {id}`.")
            }
            None => format!("{reason}. {}", default_model_hint()),
        }
    }
}

fn default_model_hint() -> String {
    let id = &gloss_model::catalog::Catalog::builtin().default_entry().id;
    format!(
        "Set `model` to a model id such as `{id}` and run `gloss models pull {id}`, or point it at a GGUF file."
    )
}

/// What the service knows about its model.
#[derive(Clone)]
pub enum EngineState {
    /// The model spec is being resolved (a model given by path is being hashed).
    Resolving,
    Running(Arc<Engine>),
    /// There is no model; the text says why and how to fix it.
    Unavailable(Arc<str>),
}

/// Why a generation stopped before its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CancelReason {
    /// Everyone who asked went away (a cancelled request).
    Abandoned,
    /// A hover for another region came in.
    Superseded,
    /// The code it explains was edited.
    Edited,
    /// The model was replaced or the server is stopping.
    Stopped,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExplainError {
    #[error("the explanation was cancelled ({0:?})")]
    Cancelled(CancelReason),
    /// The model could not answer; the text says how to fix it.
    #[error("{0}")]
    Model(String),
    #[error("the model gave an empty answer")]
    Empty,
}

/// Where the explained code lives, so an edit there can cancel its generation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    /// Any stable name of the document (the server uses its URI).
    pub document: String,
    pub bytes: Range<usize>,
}

/// One request for an explanation.
#[derive(Clone, Debug)]
pub struct ExplainRequest {
    pub key: CacheKey,
    pub prompt: Prompt,
    pub kind: ExplanationKind,
    pub max_tokens: usize,
    pub priority: Priority,
    pub scope: Option<Scope>,
    /// Skip the cache and replace its entry with a new answer (sampled, so it can differ).
    pub refresh: bool,
    /// The names the answer may quote; claims quoting others are dropped before caching.
    pub known_names: Arc<KnownNames>,
}

/// What [`ExplainService::explain`] found.
pub enum Lookup {
    Cached(Arc<CachedExplanation>),
    Pending(Ticket),
}

/// The state of one generation as its waiters see it.
#[derive(Clone, Debug, Default)]
pub struct FlightProgress {
    /// The prompt has been read and tokens are coming.
    pub started: bool,
    pub generated: usize,
    pub max_tokens: usize,
    pub outcome: Option<Result<Arc<CachedExplanation>, ExplainError>>,
}

/// What [`Ticket::update`] saw.
pub enum Update {
    Progress { generated: usize, max_tokens: usize },
    Done(Result<Arc<CachedExplanation>, ExplainError>),
}

#[derive(Default)]
struct Interest {
    hovers: usize,
    commands: usize,
    prefetches: usize,
    /// A ticket was detached: the cache fill wants the answer even with no one waiting.
    detached: bool,
}

struct FlightState {
    interest: Interest,
    /// The priority the current attempt was queued with.
    priority: Priority,
    /// Bumped whenever the job is resubmitted; events of older attempts are ignored.
    attempt: u64,
    cancel: CancelToken,
    started: bool,
    done: bool,
    scope: Option<Scope>,
}

struct Flight {
    key: CacheKey,
    engine: Arc<Engine>,
    prompt: Prompt,
    kind: ExplanationKind,
    max_tokens: usize,
    sampling: Sampling,
    known_names: Arc<KnownNames>,
    state: Mutex<FlightState>,
    progress: watch::Sender<FlightProgress>,
}

impl Flight {
    fn state(&self) -> MutexGuard<'_, FlightState> {
        lock(&self.state)
    }

    fn is_done(&self) -> bool {
        self.state().done
    }

    fn cancel(&self, reason: CancelReason) {
        {
            let mut state = self.state();
            if state.done {
                return;
            }
            state.done = true;
            state.cancel.cancel();
        }
        tracing::debug!(key = ?self.key, ?reason, "generation cancelled");
        self.progress.send_modify(|progress| {
            progress.outcome = Some(Err(ExplainError::Cancelled(reason)));
        });
    }

    fn job(&self, priority: Priority, cancel: CancelToken) -> Job {
        Job {
            prompt: self.prompt.clone(),
            params: GenerateParams {
                max_tokens: self.max_tokens,
                sampling: self.sampling,
                ..GenerateParams::default()
            },
            priority,
            cancel,
        }
    }
}

enum PumpMessage {
    Watch {
        flight: Arc<Flight>,
        attempt: u64,
        events: Receiver<JobEvent>,
    },
    Stop,
}

struct Inner {
    cache: RwLock<Arc<ExplanationCache>>,
    engine: watch::Sender<EngineState>,
    /// Bumped by every model change, so a slow resolution cannot install a model already replaced.
    engine_epoch: Mutex<u64>,
    flights: Mutex<HashMap<CacheKey, Arc<Flight>>>,
    /// The flight of the latest hover, which a hover elsewhere supersedes.
    last_hover: Mutex<Weak<Flight>>,
    /// The flight whose job the model thread is running.
    running: Mutex<Weak<Flight>>,
    pump: Sender<PumpMessage>,
    pump_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// The explanation service. Clones share everything.
#[derive(Clone)]
pub struct ExplainService {
    inner: Arc<Inner>,
}

impl ExplainService {
    /// A service with no model yet ([`EngineState::Resolving`] until [`Self::start_model`] or
    /// [`Self::install`]).
    pub fn new(cache: Arc<ExplanationCache>) -> Self {
        let (pump, control) = crossbeam_channel::unbounded();
        let (engine, _) = watch::channel(EngineState::Resolving);
        let inner = Arc::new(Inner {
            cache: RwLock::new(cache),
            engine,
            engine_epoch: Mutex::new(0),
            flights: Mutex::new(HashMap::new()),
            last_hover: Mutex::new(Weak::new()),
            running: Mutex::new(Weak::new()),
            pump,
            pump_thread: Mutex::new(None),
        });
        let weak = Arc::downgrade(&inner);
        let thread = std::thread::Builder::new()
            .name("gloss-explain-pump".into())
            .spawn(move || run_pump(weak, control))
            .expect("the OS refused to start the explanation pump thread");
        *lock(&inner.pump_thread) = Some(thread);
        Self { inner }
    }

    pub fn cache(&self) -> Arc<ExplanationCache> {
        self.inner
            .cache
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Uses another cache from now on (the `cacheDir` setting changed).
    pub fn set_cache(&self, cache: Arc<ExplanationCache>) {
        *self.inner.cache.write().unwrap_or_else(|p| p.into_inner()) = cache;
    }

    /// Resolves `spec` (a catalog id or a GGUF path, never downloading) on a background thread
    /// and starts the model. Whatever ran before is cancelled and shut down.
    pub fn start_model(&self, spec: String) {
        self.start_model_with_threads(spec, None)
    }

    /// Like [`Self::start_model`], with `threads` compute threads for the model (`None`: default).
    pub fn start_model_with_threads(&self, spec: String, threads: Option<usize>) {
        let epoch = self.replace_engine(EngineState::Resolving);
        let inner = Arc::downgrade(&self.inner);
        let spawned = std::thread::Builder::new()
            .name("gloss-model-resolve".into())
            .spawn(move || {
                let state = match resolve(&spec) {
                    Ok((identity, path)) => {
                        tracing::info!(model = %identity.id, path = %path.display(), "starting the model");
                        let worker: Arc<dyn Generator> =
                            Arc::new(ModelWorker::spawn_with_threads(path, threads));
                        EngineState::Running(Engine::new(identity, worker))
                    }
                    Err(reason) => {
                        tracing::warn!(%reason, "no model");
                        EngineState::Unavailable(reason.into())
                    }
                };
                if let Some(inner) = inner.upgrade() {
                    install_if_current(&inner, epoch, state);
                } else if let EngineState::Running(engine) = state {
                    engine.generator.shutdown();
                }
            });
        if let Err(error) = spawned {
            self.replace_engine(EngineState::Unavailable(
                format!("cannot start a thread to load the model: {error}").into(),
            ));
        }
    }

    /// Uses this generator from now on (tests use a mock; [`Self::start_model`] the real thing).
    pub fn install(&self, identity: ModelIdentity, generator: Arc<dyn Generator>) {
        self.replace_engine(EngineState::Running(Engine::new(identity, generator)));
    }

    /// Marks the model as unavailable for this reason.
    pub fn set_unavailable(&self, reason: String) {
        self.replace_engine(EngineState::Unavailable(reason.into()));
    }

    /// Cancels every generation, stops the old model (on a background thread: joining waits for
    /// its current token) and publishes `state`. Returns the new epoch.
    fn replace_engine(&self, state: EngineState) -> u64 {
        let epoch = {
            let mut epoch = lock(&self.inner.engine_epoch);
            *epoch += 1;
            *epoch
        };
        self.cancel_all(CancelReason::Stopped);
        let old = self.inner.engine.send_replace(state);
        if let EngineState::Running(engine) = old {
            let _ = std::thread::Builder::new()
                .name("gloss-model-stop".into())
                .spawn(move || engine.generator.shutdown());
        }
        epoch
    }

    pub fn engine_now(&self) -> EngineState {
        self.inner.engine.borrow().clone()
    }

    /// The engine, once the model spec is resolved.
    pub async fn engine(&self) -> EngineState {
        let mut receiver = self.inner.engine.subscribe();
        let state = receiver
            .wait_for(|state| !matches!(state, EngineState::Resolving))
            .await
            .map(|state| state.clone());
        // The sender lives in `inner`, which `self` keeps alive.
        state.unwrap_or_else(|_| EngineState::Unavailable("gloss is shutting down".into()))
    }

    /// A receiver that sees every engine change (the server reports model loading with it).
    pub fn watch_engine(&self) -> watch::Receiver<EngineState> {
        self.inner.engine.subscribe()
    }

    /// The cached explanation for `key`, if any.
    pub fn lookup(&self, key: &CacheKey) -> Option<Arc<CachedExplanation>> {
        self.cache().get(key)
    }

    /// Answers from the cache, joins an identical generation in flight, or starts one.
    pub fn explain(&self, engine: &Arc<Engine>, request: ExplainRequest) -> Lookup {
        let role = request.priority;
        if !request.refresh
            && let Some(found) = self.cache().get(&request.key)
        {
            if role == Priority::Hover {
                self.supersede_hover(None);
            }
            return Lookup::Cached(found);
        }

        let mut flights = lock(&self.inner.flights);
        let existing = flights
            .get(&request.key)
            .filter(|flight| !flight.is_done() && !request.refresh)
            .filter(|flight| Arc::ptr_eq(&flight.engine, engine))
            .cloned();
        let (flight, resubmit) = match existing {
            Some(flight) => {
                let resubmit = {
                    let mut state = flight.state();
                    add_interest(&mut state.interest, role);
                    if state.scope.is_none() {
                        state.scope = request.scope.clone();
                    }
                    // A waiting prefetch job becomes a hover job; a running one just goes on.
                    role > state.priority && !state.started
                };
                (flight, resubmit)
            }
            None => {
                let mut interest = Interest::default();
                add_interest(&mut interest, role);
                let flight = Arc::new(Flight {
                    key: request.key,
                    engine: engine.clone(),
                    prompt: request.prompt,
                    kind: request.kind,
                    max_tokens: request.max_tokens,
                    sampling: if request.refresh {
                        Sampling::Random {
                            temperature: 0.7,
                            top_p: 0.9,
                            seed: fresh_seed(),
                        }
                    } else {
                        Sampling::Greedy
                    },
                    known_names: request.known_names,
                    state: Mutex::new(FlightState {
                        interest,
                        priority: role,
                        attempt: 0,
                        cancel: CancelToken::new(),
                        started: false,
                        done: false,
                        scope: request.scope,
                    }),
                    progress: watch::channel(FlightProgress {
                        max_tokens: request.max_tokens,
                        ..FlightProgress::default()
                    })
                    .0,
                });
                flights.insert(request.key, flight.clone());
                self.submit(&flight, role, false);
                (flight, false)
            }
        };
        drop(flights);
        if resubmit {
            self.submit(&flight, role, true);
        }
        if role == Priority::Hover {
            self.supersede_hover(Some(&flight));
        }
        if role > Priority::Prefetch {
            self.preempt_prefetch(&flight);
        }
        Lookup::Pending(Ticket {
            receiver: flight.progress.subscribe(),
            flight,
            role,
            armed: true,
        })
    }

    /// Queues the flight's job (again, when `restart`: the old attempt is cancelled and its events
    /// ignored).
    fn submit(&self, flight: &Arc<Flight>, priority: Priority, restart: bool) {
        let (job, attempt) = {
            let mut state = flight.state();
            if state.done {
                return;
            }
            if restart {
                state.cancel.cancel();
                state.cancel = CancelToken::new();
                state.attempt += 1;
                state.started = false;
            }
            state.priority = priority;
            (flight.job(priority, state.cancel.clone()), state.attempt)
        };
        if restart {
            flight.progress.send_modify(|progress| {
                progress.started = false;
                progress.generated = 0;
            });
        }
        let events = flight.engine.generator.submit(job);
        let message = PumpMessage::Watch {
            flight: flight.clone(),
            attempt,
            events,
        };
        if self.inner.pump.send(message).is_err() {
            flight.cancel(CancelReason::Stopped);
        }
    }

    /// A hover for another region cancels the previous hover's generation, unless a command or
    /// prefetch also wants it.
    fn supersede_hover(&self, current: Option<&Arc<Flight>>) {
        let previous = {
            let mut last = lock(&self.inner.last_hover);
            let previous = last.upgrade();
            *last = current.map(Arc::downgrade).unwrap_or_default();
            previous
        };
        let Some(previous) = previous else { return };
        if current.is_some_and(|current| Arc::ptr_eq(current, &previous)) {
            return;
        }
        let hover_only = {
            let state = previous.state();
            state.interest.commands == 0 && state.interest.prefetches == 0
        };
        if hover_only {
            previous.cancel(CancelReason::Superseded);
        }
    }

    /// A running prefetch job yields the model to a hover or command: it is cancelled and queued
    /// again behind them.
    fn preempt_prefetch(&self, urgent: &Arc<Flight>) {
        let Some(running) = lock(&self.inner.running).upgrade() else {
            return;
        };
        if Arc::ptr_eq(&running, urgent) || running.engine.generator.runs_concurrently() {
            return;
        }
        let background = {
            let state = running.state();
            !state.done
                && state.started
                && state.priority == Priority::Prefetch
                && state.interest.hovers == 0
                && state.interest.commands == 0
        };
        if background {
            tracing::debug!(key = ?running.key, "prefetch preempted");
            self.submit(&running, Priority::Prefetch, true);
        }
    }

    /// Tells the service that `edit` (bytes, before the change) of `document` was replaced by
    /// `inserted` bytes: generations for code inside the edit are cancelled, prefetches of the
    /// document too, and the others' scopes shift.
    pub fn document_edited(&self, document: &str, edit: Range<usize>, inserted: usize) {
        let flights: Vec<Arc<Flight>> = lock(&self.inner.flights).values().cloned().collect();
        for flight in flights {
            let cancel = {
                let mut state = flight.state();
                let prefetch_only = state.interest.prefetches > 0
                    && state.interest.hovers == 0
                    && state.interest.commands == 0;
                match &mut state.scope {
                    Some(scope) if scope.document == document => {
                        if prefetch_only
                            || (edit.start <= scope.bytes.end && edit.end >= scope.bytes.start)
                        {
                            true
                        } else {
                            if edit.end <= scope.bytes.start {
                                let shift = |at: usize| (at + inserted).saturating_sub(edit.len());
                                scope.bytes = shift(scope.bytes.start)..shift(scope.bytes.end);
                            }
                            false
                        }
                    }
                    _ => false,
                }
            };
            if cancel {
                flight.cancel(CancelReason::Edited);
            }
        }
    }

    /// Cancels every prefetch of `document` (it was closed).
    pub fn document_closed(&self, document: &str) {
        let flights: Vec<Arc<Flight>> = lock(&self.inner.flights).values().cloned().collect();
        for flight in flights {
            let cancel = {
                let state = flight.state();
                state.interest.hovers == 0
                    && state.interest.commands == 0
                    && state
                        .scope
                        .as_ref()
                        .is_some_and(|scope| scope.document == document)
            };
            if cancel {
                flight.cancel(CancelReason::Abandoned);
            }
        }
    }

    /// Generations in flight (for tests and logs).
    pub fn in_flight(&self) -> usize {
        lock(&self.inner.flights)
            .values()
            .filter(|flight| !flight.is_done())
            .count()
    }

    fn cancel_all(&self, reason: CancelReason) {
        let flights: Vec<Arc<Flight>> = lock(&self.inner.flights).drain().map(|(_, f)| f).collect();
        for flight in flights {
            flight.cancel(reason);
        }
    }

    /// Cancels everything, stops and joins the model thread and the pump. Blocks (briefly: jobs
    /// stop between two tokens), so call it off the async runtime.
    pub fn shutdown(&self) {
        self.cancel_all(CancelReason::Stopped);
        let old = self
            .inner
            .engine
            .send_replace(EngineState::Unavailable("gloss is shutting down".into()));
        if let EngineState::Running(engine) = old {
            engine.generator.shutdown();
        }
        let _ = self.inner.pump.send(PumpMessage::Stop);
        if let Some(thread) = lock(&self.inner.pump_thread).take() {
            let _ = thread.join();
        }
    }
}

fn add_interest(interest: &mut Interest, role: Priority) {
    match role {
        Priority::Hover => interest.hovers += 1,
        Priority::Command => interest.commands += 1,
        Priority::Prefetch => interest.prefetches += 1,
    }
}

fn install_if_current(inner: &Arc<Inner>, epoch: u64, state: EngineState) {
    let current = *lock(&inner.engine_epoch) == epoch;
    if current {
        let _ = inner.engine.send_replace(state);
    } else if let EngineState::Running(engine) = state {
        // Replaced while it was being resolved: nobody will use it.
        engine.generator.shutdown();
    }
}

/// A catalog id or a path, to an identity and a file, or to a message that says how to fix it.
fn resolve(spec: &str) -> Result<(ModelIdentity, PathBuf), String> {
    match resolve_model(spec, true, PullProgress::Quiet) {
        Ok(resolved) => Ok((
            ModelIdentity {
                id: resolved.id.clone(),
                sha256: resolved.sha256.clone(),
                catalog_id: resolved.entry.map(|entry| entry.id.clone()),
                path: Some(resolved.path.clone()),
            },
            resolved.path,
        )),
        // Its message already names the exact `gloss models pull <id>` command.
        Err(error @ CatalogError::NotPulled { .. }) => Err(error.to_string()),
        Err(error) => Err(format!("{error}. {}", default_model_hint())),
    }
}

/// A seed that differs from one "Regenerate" to the next.
fn fresh_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    nanos ^ 0x9e37_79b9_7f4a_7c15
}

/// A claim on one generation's answer. Dropping it gives up the claim: the generation is cancelled
/// when no one else needs it.
pub struct Ticket {
    flight: Arc<Flight>,
    receiver: watch::Receiver<FlightProgress>,
    role: Priority,
    armed: bool,
}

impl Ticket {
    /// The outcome, at once if it is known, else after the next change of progress.
    pub async fn update(&mut self) -> Update {
        if let Some(outcome) = self.receiver.borrow_and_update().outcome.clone() {
            return Update::Done(outcome);
        }
        if self.receiver.changed().await.is_err() {
            return Update::Done(Err(ExplainError::Model(
                "the generation stopped without an answer".into(),
            )));
        }
        let progress = self.receiver.borrow_and_update().clone();
        match progress.outcome {
            Some(outcome) => Update::Done(outcome),
            None => Update::Progress {
                generated: progress.generated,
                max_tokens: progress.max_tokens,
            },
        }
    }

    /// Waits for the outcome.
    pub async fn wait(&mut self) -> Result<Arc<CachedExplanation>, ExplainError> {
        loop {
            if let Update::Done(outcome) = self.update().await {
                return outcome;
            }
        }
    }

    pub fn progress(&self) -> FlightProgress {
        self.receiver.borrow().clone()
    }

    /// Gives up waiting but lets the generation finish into the cache. A prefetch keeps its claim,
    /// so that any edit of its document still cancels it; a hover's claim ends here, so only an
    /// edit inside its region (or a hover elsewhere) does.
    pub fn detach(mut self) {
        {
            let mut state = self.flight.state();
            state.interest.detached = true;
            if self.role != Priority::Prefetch {
                remove_interest(&mut state.interest, self.role);
            }
        }
        self.armed = false;
    }
}

fn remove_interest(interest: &mut Interest, role: Priority) {
    let count = match role {
        Priority::Hover => &mut interest.hovers,
        Priority::Command => &mut interest.commands,
        Priority::Prefetch => &mut interest.prefetches,
    };
    *count = count.saturating_sub(1);
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let abandoned = {
            let mut state = self.flight.state();
            remove_interest(&mut state.interest, self.role);
            let interest = &state.interest;
            !state.done
                && !interest.detached
                && interest.hovers + interest.commands + interest.prefetches == 0
        };
        if abandoned {
            self.flight.cancel(CancelReason::Abandoned);
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Moves job events from the model thread into the flights, for every job at once.
fn run_pump(inner: Weak<Inner>, control: Receiver<PumpMessage>) {
    let mut watched: Vec<(Arc<Flight>, u64, Receiver<JobEvent>)> = Vec::new();
    enum Got {
        Control(Result<PumpMessage, crossbeam_channel::RecvError>),
        Job(usize, Result<JobEvent, crossbeam_channel::RecvError>),
    }
    loop {
        let got = {
            let mut select = Select::new();
            select.recv(&control);
            for (_, _, events) in &watched {
                select.recv(events);
            }
            let operation = select.select();
            match operation.index() {
                0 => Got::Control(operation.recv(&control)),
                index => Got::Job(index - 1, operation.recv(&watched[index - 1].2)),
            }
        };
        match got {
            Got::Control(Ok(PumpMessage::Watch {
                flight,
                attempt,
                events,
            })) => watched.push((flight, attempt, events)),
            Got::Control(Ok(PumpMessage::Stop) | Err(_)) => break,
            Got::Job(index, event) => {
                let (flight, attempt, _) = &watched[index];
                let finished = match event {
                    Ok(JobEvent::Started { .. }) => {
                        on_started(&inner, flight, *attempt);
                        false
                    }
                    Ok(JobEvent::Text(_)) => {
                        on_token(flight, *attempt);
                        false
                    }
                    Ok(JobEvent::Finished(outcome)) => {
                        on_finished(&inner, flight, *attempt, outcome);
                        true
                    }
                    Err(_) => {
                        let gone = Err(ModelError::Unavailable("the model thread stopped".into()));
                        on_finished(&inner, flight, *attempt, gone);
                        true
                    }
                };
                if finished {
                    watched.swap_remove(index);
                }
            }
        }
    }
    for (flight, _, _) in watched {
        flight.cancel(CancelReason::Stopped);
    }
}

fn on_started(inner: &Weak<Inner>, flight: &Arc<Flight>, attempt: u64) {
    {
        let mut state = flight.state();
        if state.attempt != attempt || state.done {
            return;
        }
        state.started = true;
    }
    if let Some(inner) = inner.upgrade() {
        *lock(&inner.running) = Arc::downgrade(flight);
    }
    flight
        .progress
        .send_modify(|progress| progress.started = true);
}

fn on_token(flight: &Flight, attempt: u64) {
    {
        let state = flight.state();
        if state.attempt != attempt || state.done {
            return;
        }
    }
    // A text event is (almost always) one token: close enough for a progress percentage.
    flight
        .progress
        .send_modify(|progress| progress.generated += 1);
}

fn on_finished(
    inner: &Weak<Inner>,
    flight: &Arc<Flight>,
    attempt: u64,
    outcome: Result<Generation, ModelError>,
) {
    let was_cancelled = {
        let mut state = flight.state();
        if state.attempt != attempt {
            // A preempted or re-prioritized attempt: the flight lives on in a newer one.
            return;
        }
        let was = state.done;
        state.done = true;
        was
    };
    let inner = inner.upgrade();
    let still_current = inner.as_ref().is_some_and(|inner| {
        let mut flights = lock(&inner.flights);
        let current = flights
            .get(&flight.key)
            .is_some_and(|entry| Arc::ptr_eq(entry, flight));
        if current {
            flights.remove(&flight.key);
        }
        current
    });
    if was_cancelled {
        return;
    }
    let result = match outcome {
        Ok(generation) if generation.stop_reason == StopReason::Cancelled => {
            Err(ExplainError::Cancelled(CancelReason::Stopped))
        }
        Ok(generation) => {
            let finished = finished_text(&generation);
            let grounded = drop_ungrounded(flight.kind, &finished, &flight.known_names);
            if !grounded.before.unknown.is_empty() {
                tracing::debug!(unknown = ?grounded.before.unknown, "dropped ungrounded claims");
            }
            let text = grounded.text.trim();
            if text.is_empty() {
                Err(ExplainError::Empty)
            } else {
                let entry = CachedExplanation::new(
                    text,
                    flight.engine.identity.id.clone(),
                    flight.kind,
                    generation.generated_tokens,
                );
                // A generation that was replaced (by a "Regenerate") must not overwrite the newer
                // answer in the cache.
                match (&inner, still_current) {
                    (Some(inner), true) => {
                        let cache = inner
                            .cache
                            .read()
                            .unwrap_or_else(|p| p.into_inner())
                            .clone();
                        Ok(cache.put(flight.key, entry))
                    }
                    _ => Ok(Arc::new(entry)),
                }
            }
        }
        Err(error) => Err(ExplainError::Model(flight.engine.repair_hint_for(&error))),
    };
    flight
        .progress
        .send_modify(|progress| progress.outcome = Some(result));
}

impl Engine {
    fn repair_hint_for(&self, error: &ModelError) -> String {
        match error {
            ModelError::Unavailable(reason) => match self.status() {
                ModelStatus::Failed(hint) => hint,
                _ => format!("the model is not available: {reason}"),
            },
            other => other.to_string(),
        }
    }
}

#[cfg(test)]
mod tests;
