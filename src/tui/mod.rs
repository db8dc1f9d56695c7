//! The terminal wizard: ratatui + crossterm, the Elm architecture. This file is
//! the app loop: the one owner of the terminal, of the event stream (keys,
//! resize, engine progress, results, ticks while something animates) and of the
//! engine tasks the pages' commands start.

pub mod app;
pub mod model;
pub mod pages;
pub mod summary;
pub mod theme;
pub mod widgets;
pub mod words;

use crate::domain::ConnectionInputs;
use crate::domain::{SignInAnswer, Upn};
use crate::engine::connection::{for_credential, remember, settings};
use crate::engine::progress::{Progress, ProgressSender};
use crate::engine::revoke;
use crate::engine::service_account::sync_accounts;
use crate::engine::{
    EngineError, EntraRequest, LocalServer, OperationRequest, Plan, SchedulerChange,
    application_keys, change_scheduler, configuration, with_application_audit,
};
use crate::entra::Secret;
use crate::entra::cache::TokenCache;
use crate::entra::client::{
    ConnectionSettings, DEFAULT_ADMIN_CLIENT_ID, UserSignIn, pasted_redirects,
};
use app::Model;
use futures::StreamExt;
use model::{
    Command, Context, EngineEvent, Message, OpId, SandboxEndpoints, SaveError, Task, TpmCheck,
    WizardData,
};
use ratatui::crossterm::event::{Event, EventStream};
use ratatui::layout::Size;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, oneshot};

/// How long the wizard's operations wait for Entra to replicate new objects.
pub const REPLICATION_BUDGET: Duration = Duration::from_secs(300);

/// What the wizard starts with: the answers known so far and, with
/// `wizard --sandbox`, the sandbox tenant's endpoints.
#[derive(Debug, Clone, Default)]
pub struct WizardSetup {
    pub data: WizardData,
    pub sandbox: Option<SandboxEndpoints>,
}

/// Loads what the pages show about this server from its state. Whether a
/// TPM answers is left `Checking`: asking can take seconds, so the app loop
/// asks in the background ([`Command::ProbeTpm`]).
pub fn load_context(
    server: &LocalServer,
    sandbox: Option<SandboxEndpoints>,
) -> Result<Context, EngineError> {
    let configured = server.credential()?.identity_type();
    Ok(Context {
        configured: Some(configured),
        tpm: TpmCheck::Checking,
        certificates: server.certificates()?,
        configuration: configuration(server).ok(),
        scheduler: server.scheduler()?,
        sandbox,
        now: server.now(),
    })
}

/// Runs the wizard until the administrator quits. The terminal is restored on
/// every way out (ratatui's init installs a panic hook that restores it too).
/// Returns the summary to print once it has closed.
pub async fn run(server: LocalServer, setup: WizardSetup) -> anyhow::Result<Vec<String>> {
    let context = load_context(&server, setup.sandbox.clone())?;
    let mut model = Model::new(context, setup.data.clone(), theme::Theme::from_env());
    let (sender, mut receiver) = mpsc::unbounded_channel();
    let mut runner = Runner {
        server: Some(server),
        loan: None,
        request: None,
        sign_in: None,
        pasted: None,
        cache: Arc::new(TokenCache::default()),
        events: sender,
    };
    let mut terminal = ratatui::try_init()?;
    app::update(&mut model, Message::Resize(terminal.size()?));
    // The TPM probe runs beside the first frame, never before it.
    if let Some(command) = model.init() {
        runner.execute(command, &model).await;
    }
    // Engine operations hold the (single-threaded) SQLite connection across
    // awaits, so their tasks run on this thread.
    let local = tokio::task::LocalSet::new();
    let result = local
        .run_until(async {
            let result = event_loop(&mut terminal, &mut model, &mut runner, &mut receiver).await;
            // Whatever happened, a running change is cancelled and the scheduler put back first.
            runner.shutdown().await;
            result
        })
        .await;
    ratatui::try_restore()?;
    result?;
    // How a change cancelled on the way out ended (its last message).
    let mut cancelled = None;
    while let Ok(message) = receiver.try_recv() {
        if let Message::Engine(_, EngineEvent::Finished(result)) = message {
            cancelled = Some(result);
        }
    }
    Ok(summary::exit_summary(&model, cancelled.as_ref()))
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    model: &mut Model,
    runner: &mut Runner,
    receiver: &mut mpsc::UnboundedReceiver<Message>,
) -> anyhow::Result<()> {
    let mut input = EventStream::new();
    // SIGTERM (a service manager, kill) and SIGHUP (the SSH session gone)
    // quit as Ctrl-C then y would: a running change cancelled, the scheduler
    // put back, the terminal restored.
    let mut terminate = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
    let mut ticker = tokio::time::interval(Duration::from_millis(100));
    // Ticks missed while nothing animated are dropped, not delivered in a burst.
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ticking = false;
    loop {
        terminal.draw(|frame| app::view(model, frame))?;
        if model.quit {
            return Ok(());
        }
        if model.wants_ticks() && !ticking {
            ticker.reset();
        }
        ticking = model.wants_ticks();
        let message = tokio::select! {
            event = input.next() => match event {
                Some(Ok(Event::Key(key))) => Message::Key(key),
                Some(Ok(Event::Resize(width, height))) => Message::Resize(Size::new(width, height)),
                Some(Ok(_)) => continue,
                Some(Err(error)) => return Err(error.into()),
                None => return Ok(()),
            },
            Some(message) = receiver.recv() => message,
            _ = ticker.tick(), if model.wants_ticks() => Message::Tick,
            _ = terminate.recv() => Message::Terminated,
            _ = hangup.recv() => Message::Terminated,
        };
        // A task hands the server back before its last message is sent.
        let finished = message.returns_server() && runner.server_returned();
        if let Some(command) = app::update(model, message) {
            runner.execute(command, model).await;
        }
        if finished && let Some(server) = &runner.server {
            // The second pass and the Done page show the server as it now is
            // (the TPM as it answered: it is not asked again).
            if let Ok(context) = load_context(server, model.context.sandbox.clone()) {
                let tpm = std::mem::take(&mut model.context.tpm);
                model.context = Context { tpm, ..context };
            }
        }
    }
}

/// The task that carries one engine task's progress to the app loop.
struct Relay(tokio::task::JoinHandle<()>);

impl Relay {
    /// Waits until every progress the task sent has reached the app loop (the
    /// relay ends when the task's sender is gone), so the task's outcome never
    /// overtakes its last step. Bounded: a sender kept elsewhere only delays it.
    async fn flushed(self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), self.0).await;
    }
}

/// Carries out commands. It owns the server state; a task borrows it and
/// hands it back when it ends.
struct Runner {
    server: Option<LocalServer>,
    /// The task the server is lent to, while it is.
    loan: Option<Loan>,
    /// The signed-in administrator, for the operation that follows, with
    /// the connection's inputs (remembered once the operation worked).
    request: Option<(EntraRequest, ConnectionInputs)>,
    /// The first pass's sign-in while it runs, stopped when it is cancelled
    /// (a device code polled no longer, a browser's listener closed).
    sign_in: Option<(OpId, tokio::task::AbortHandle)>,
    /// Where an address pasted on the Sign in page goes: the latest browser
    /// sign-in, which takes it as the redirect.
    pasted: Option<mpsc::UnboundedSender<String>>,
    cache: Arc<TokenCache>,
    events: mpsc::UnboundedSender<Message>,
}

/// The server lent to a task on this thread.
struct Loan {
    /// The engine task, for a cancel that names it; None for a read.
    op: Option<OpId>,
    /// Whether the task changes the server or the tenant: a change is never
    /// cancelled to make room for another command, a read is.
    change: bool,
    /// Asks the task to stop (taken once asked).
    cancel: Option<oneshot::Sender<()>>,
    returning: oneshot::Receiver<LocalServer>,
}

impl Runner {
    fn send(&self, message: Message) {
        let _ = self.events.send(message);
    }

    /// An engine progress channel that feeds the app loop, tagged with `op`,
    /// and the relay that carries it there.
    fn progress(&self, op: OpId) -> (ProgressSender, Relay) {
        let (sender, mut receiver) = mpsc::unbounded_channel();
        let events = self.events.clone();
        let relay = tokio::spawn(async move {
            while let Some(progress) = receiver.recv().await {
                // Where a browser can be opened here, the address opens in it.
                if let Progress::SignInBrowser { url } = &progress {
                    crate::browser::open(url);
                }
                let _ = events.send(Message::Engine(op, EngineEvent::Progress(progress)));
            }
        });
        (sender, Relay(relay))
    }

    /// The connection and sign-in for what was entered, through the same
    /// path as the command line's.
    fn request(
        &mut self,
        data: &WizardData,
        upn: &Upn,
        password: Option<Secret>,
    ) -> Result<EntraRequest, EngineError> {
        let connection = settings(
            &data.connection,
            DEFAULT_ADMIN_CLIENT_ID,
            REPLICATION_BUDGET,
            self.cache.clone(),
        )?;
        Ok(EntraRequest {
            connection,
            admin: Some(self.user_sign_in(data, upn, password)),
        })
    }

    /// How `upn` signs in, as the session chose (on the Sign in page or in
    /// the answers file): with the password typed there, in a browser (what
    /// is pasted on a page goes to this sign-in from now on), or with a
    /// device code. A task's own page has no password field: its
    /// administrator (no `password`) signs in with a device code where the
    /// session chose the password.
    fn user_sign_in(
        &mut self,
        data: &WizardData,
        upn: &Upn,
        password: Option<Secret>,
    ) -> UserSignIn {
        let upn = upn.to_string();
        match (data.sign_in, password) {
            (SignInAnswer::Password, Some(password)) => UserSignIn::Password { upn, password },
            (SignInAnswer::Browser, _) => {
                let (sender, pasted) = pasted_redirects();
                self.pasted = Some(sender);
                UserSignIn::Browser { upn, pasted }
            }
            _ => UserSignIn::DeviceCode { upn },
        }
    }

    async fn execute(&mut self, command: Command, model: &Model) {
        match command {
            Command::ProbeTpm => self.start_tpm_probe().await,
            Command::Start {
                op,
                task: Task::SignIn { upn, password },
            } => self.start_sign_in(op, &model.data, &upn, password),
            Command::Start {
                op,
                task: Task::ListSyncAccounts { admin },
            } => self.start_list_sync_accounts(op, &model.data, &admin).await,
            Command::Start {
                op,
                task: Task::Review { upn, password },
            } => self.start_review(op, &model.data, &upn, password).await,
            Command::Start {
                op,
                task: Task::Run(plan),
            } => self.start_run(op, plan, &model.data).await,
            Command::Cancel(op) => {
                if let Some(loan) = &mut self.loan
                    && loan.op == Some(op)
                    && let Some(cancel) = loan.cancel.take()
                {
                    let _ = cancel.send(());
                }
                if let Some((signing_in, task)) = &self.sign_in
                    && *signing_in == op
                {
                    task.abort();
                    self.sign_in = None;
                }
            }
            Command::PasteRedirect(address) => {
                // A sign-in that is over no longer listens: nothing to do.
                if let Some(sign_in) = &self.pasted {
                    let _ = sign_in.send(address.expose().to_string());
                }
            }
            Command::Doctor => self.start_doctor(&model.data).await,
            Command::ListKeys => self.start_list_keys(&model.data).await,
            Command::Plan(request) => {
                let Some(server) = self.reclaim().await else {
                    return;
                };
                let mut target = model.data.target();
                // The second pass's tasks are about the credential's own tenant.
                if target.tenant.is_empty()
                    && let Ok(inputs) = for_credential(server, model.data.connection.clone())
                {
                    target.tenant = inputs.tenant.map(|t| t.to_string()).unwrap_or_default();
                }
                let result = crate::engine::plan(server, target, request);
                self.send(Message::Planned(result.map_err(Arc::new)));
            }
            Command::Choose { audit, selection } => {
                let Some(server) = self.reclaim().await else {
                    return;
                };
                let chosen = revoke::choose(server, &audit, &selection);
                self.send(Message::Chosen(chosen.map_err(Arc::new)));
            }
            Command::Export(path) => self.start_export(&model.data, absolute(path)).await,
            Command::SaveAnswers(path, answers) => {
                let path = absolute(path);
                let result = answers
                    .to_toml()
                    .map_err(SaveError::Format)
                    .and_then(|text| write_file(&path, &text));
                self.send(Message::Saved(result.map(|_| path).map_err(Arc::new)));
            }
            Command::SetScheduler {
                sync_cycle_enabled,
                maintenance_enabled,
            } => {
                let Some(server) = self.reclaim().await else {
                    return;
                };
                let change = SchedulerChange {
                    sync_cycle_enabled,
                    maintenance_enabled,
                    ..SchedulerChange::default()
                };
                let result = change_scheduler(server, &change).map_err(Arc::new);
                self.send(Message::SchedulerChanged(result));
            }
        }
    }

    fn start_sign_in(&mut self, op: OpId, data: &WizardData, upn: &Upn, password: Option<Secret>) {
        let request = match self.request(data, upn, password) {
            Ok(request) => request,
            Err(error) => {
                let failed = EngineEvent::SignedIn(Err(Arc::new(error)));
                return self.send(Message::Engine(op, failed));
            }
        };
        self.request = Some((request.clone(), data.connection.clone()));
        let (progress, relay) = self.progress(op);
        let events = self.events.clone();
        let task = tokio::spawn(async move {
            let result = crate::engine::sign_in(&request, progress).await;
            relay.flushed().await;
            let _ = events.send(Message::Engine(
                op,
                EngineEvent::SignedIn(result.map_err(Arc::new)),
            ));
        });
        // One sign-in at a time: one still running was given up.
        if let Some((_, earlier)) = self.sign_in.replace((op, task.abort_handle())) {
            earlier.abort();
        }
    }

    /// Whether a TPM answers, asked on a blocking thread (a slow or wedged
    /// TPM holds it up to the connection timeout) while the wizard draws and
    /// takes keys; the answer comes back as [`Message::TpmProbed`]. The
    /// connection it opens is the server's own.
    async fn start_tpm_probe(&mut self) {
        let Some(server) = self.reclaim().await else {
            return;
        };
        let probe = server.tpm().background_probe();
        let events = self.events.clone();
        tokio::task::spawn_blocking(move || {
            let _ = events.send(Message::TpmProbed(probe()));
        });
    }

    /// The request for a second-pass task in this server's own tenant
    /// (rotation, key removal, rollback, the legacy accounts, the review):
    /// the credential's connection, and `admin`, entered on the task's page
    /// for what needs an administrator. With the connection's inputs, to
    /// remember once it worked.
    fn own_tenant_request(
        &self,
        data: &WizardData,
        server: &LocalServer,
        admin: Option<UserSignIn>,
    ) -> Result<(EntraRequest, ConnectionInputs), EngineError> {
        let (inputs, connection) = credential_connection(server, data, self.cache.clone())?;
        Ok((EntraRequest { connection, admin }, inputs))
    }

    async fn start_run(&mut self, op: OpId, plan: Plan, data: &WizardData) {
        let finished = move |result| Message::Engine(op, EngineEvent::Finished(result));
        if self.reclaim().await.is_none() {
            return;
        }
        let request = match &plan.request {
            OperationRequest::Rotate(_)
            | OperationRequest::RemoveKey(_)
            | OperationRequest::RollBack(_)
            | OperationRequest::RemoveServiceAccount(_) => {
                // The administrator entered on the task's page, signing in as the session does.
                let admin = (data.upn.as_ref()).map(|upn| self.user_sign_in(data, upn, None));
                let Some(server) = &self.server else { return };
                self.own_tenant_request(data, server, admin)
            }
            // Onboarding and the revocation: as the administrator who signed
            // in for them (what is pasted still goes to that sign-in).
            _ => self.request.clone().ok_or(EngineError::NotSignedIn),
        };
        let (request, connection) = match request {
            Ok(request) => request,
            Err(error) => return self.send(finished(Err(Arc::new(error)))),
        };
        let (progress, relay) = self.progress(op);
        self.lend_server(
            Some(op),
            true,
            async move |server| {
                let outcome = crate::engine::execute(server, &request, &plan, progress).await;
                // The connection is remembered once an operation with it worked.
                let outcome = outcome.and_then(|outcome| {
                    remember(server, &connection)?;
                    Ok(outcome)
                });
                relay.flushed().await;
                finished(outcome.map_err(Arc::new))
            },
            move |server| {
                let cancelled = match crate::engine::operation::recover_scheduler(server) {
                    Ok(()) => EngineError::Cancelled,
                    Err(error) => error,
                };
                Some(finished(Err(Arc::new(cancelled))))
            },
        );
    }

    /// The tenant's directory synchronization accounts, each with what this
    /// server does with it, read as `admin`, signing in as the session does
    /// (for "Remove a legacy service account"); cancellable, as the sign-in
    /// may wait for a device code or a browser.
    async fn start_list_sync_accounts(&mut self, op: OpId, data: &WizardData, admin: &Upn) {
        let listed = move |result| Message::Engine(op, EngineEvent::SyncAccountsListed(result));
        if self.reclaim().await.is_none() {
            return;
        }
        let admin = self.user_sign_in(data, admin, None);
        let Some(server) = &self.server else { return };
        let request = match self.own_tenant_request(data, server, Some(admin)) {
            Ok((request, _)) => request,
            Err(error) => return self.send(listed(Err(Arc::new(error)))),
        };
        let (progress, relay) = self.progress(op);
        self.lend_server(
            Some(op),
            false,
            async move |server| {
                let accounts = sync_accounts(server, &request, progress).await;
                relay.flushed().await;
                listed(accounts.map_err(Arc::new))
            },
            move |_| Some(listed(Err(Arc::new(EngineError::Cancelled)))),
        );
    }

    /// Signs the administrator in as the sign-in page chose, for the review
    /// and the removals that may follow it (kept for them), and reads the
    /// review (for "Review who can sign in as this connector"); cancellable,
    /// as the sign-in may wait for a device code.
    async fn start_review(
        &mut self,
        op: OpId,
        data: &WizardData,
        upn: &Upn,
        password: Option<Secret>,
    ) {
        let reviewed = move |result| Message::Engine(op, EngineEvent::Reviewed(result));
        if self.reclaim().await.is_none() {
            return;
        }
        let admin = self.user_sign_in(data, upn, password);
        let Some(server) = &self.server else { return };
        let request = match self.own_tenant_request(data, server, Some(admin)) {
            Ok(request) => request,
            Err(error) => return self.send(reviewed(Err(Arc::new(error)))),
        };
        self.request = Some(request.clone());
        let (request, _) = request;
        let (progress, relay) = self.progress(op);
        self.lend_server(
            Some(op),
            false,
            async move |server| {
                let audit = revoke::review(server, &request, progress).await;
                relay.flushed().await;
                reviewed(audit.map_err(Arc::new))
            },
            move |_| Some(reviewed(Err(Arc::new(EngineError::Cancelled)))),
        );
    }

    /// Every check of `doctor`, against the connection entered, remembered,
    /// or of the credential.
    async fn start_doctor(&mut self, data: &WizardData) {
        self.lend_with_connection(
            data,
            async |server, settings, progress| {
                let findings =
                    crate::engine::doctor::doctor(server, settings, None, progress).await;
                Message::Doctored(findings)
            },
            None,
        )
        .await;
    }

    /// The application's keys with the audit's verdict, for "Remove an application key".
    async fn start_list_keys(&mut self, data: &WizardData) {
        self.lend_with_connection(
            data,
            async |server, settings, progress| {
                let keys = match settings {
                    Ok(settings) => application_keys(server, settings, progress).await,
                    Err(error) => Err(error),
                };
                Message::KeysListed(keys.map_err(Arc::new))
            },
            None,
        )
        .await;
    }

    /// The configuration with the application's keys and client secrets (as `config export`),
    /// to `path`. Cancelled to make room for another command, it says so.
    async fn start_export(&mut self, data: &WizardData, path: PathBuf) {
        let cancelled = Message::Exported(Err(Arc::new(SaveError::Cancelled(path.clone()))));
        self.lend_with_connection(
            data,
            async move |server, settings, progress| {
                let result = match with_application_audit(server, settings, progress).await {
                    Ok(report) => report
                        .export_document()
                        .map_err(|e| SaveError::Format(e.to_string()))
                        .and_then(|json| write_file(&path, &json)),
                    Err(error) => Err(error.into()),
                };
                Message::Exported(result.map(|_| path).map_err(Arc::new))
            },
            Some(cancelled),
        )
        .await;
    }

    /// [`Self::lend_server`] for a read about the credential, with the
    /// settings of its connection (or why there are none) and quiet
    /// progress; `cancelled` is what a cancelled read says (if anything).
    async fn lend_with_connection(
        &mut self,
        data: &WizardData,
        work: impl AsyncFnOnce(
            &mut LocalServer,
            Result<ConnectionSettings, EngineError>,
            ProgressSender,
        ) -> Message
        + 'static,
        cancelled: Option<Message>,
    ) {
        if self.reclaim().await.is_none() {
            return;
        }
        let data = data.clone();
        let cache = self.cache.clone();
        let (progress, relay) = self.progress(OpId(0));
        self.lend_server(
            None,
            false,
            async move |server| {
                let settings =
                    credential_connection(server, &data, cache).map(|(_, settings)| settings);
                let message = work(server, settings, progress).await;
                relay.flushed().await;
                message
            },
            move |_| cancelled,
        );
    }

    /// Lends the server to `work` on this thread (SQLite is single-threaded),
    /// as the task `op` (None: a read). It comes back before the message
    /// `work` ends with is sent; when the task is cancelled, `work` is
    /// dropped at its next await and `on_cancel` has the server instead.
    fn lend_server(
        &mut self,
        op: Option<OpId>,
        change: bool,
        work: impl AsyncFnOnce(&mut LocalServer) -> Message + 'static,
        on_cancel: impl FnOnce(&mut LocalServer) -> Option<Message> + 'static,
    ) {
        let Some(mut server) = self.server.take() else {
            return;
        };
        let (give_back, returning) = oneshot::channel();
        let (cancel, cancelled) = oneshot::channel::<()>();
        self.loan = Some(Loan {
            op,
            change,
            cancel: Some(cancel),
            returning,
        });
        let events = self.events.clone();
        tokio::task::spawn_local(async move {
            let message = tokio::select! {
                message = work(&mut server) => Some(message),
                _ = cancelled => on_cancel(&mut server),
            };
            let _ = give_back.send(server);
            if let Some(message) = message {
                let _ = events.send(message);
            }
        });
    }

    /// Takes the server back if its task has handed it back (its last
    /// message is then on its way); whether it is here.
    fn server_returned(&mut self) -> bool {
        if let Some(loan) = &mut self.loan
            && let Ok(server) = loan.returning.try_recv()
        {
            self.server = Some(server);
            self.loan = None;
        }
        self.server.is_some()
    }

    /// The server, for a command that needs it now: a read that holds it is
    /// cancelled and the server taken back (reads are cheap to repeat, and a
    /// read of a tenant that does not answer must not hold up the wizard);
    /// a change that holds it keeps it unless it was asked to stop, and the
    /// command is not carried out (the pages start none while one runs).
    async fn reclaim(&mut self) -> Option<&mut LocalServer> {
        if let Some(mut loan) = self.loan.take() {
            if loan.change && loan.cancel.is_some() {
                tracing::warn!("a command needed the server while a change held it");
                self.loan = Some(loan);
                return None;
            }
            if let Some(cancel) = loan.cancel.take() {
                let _ = cancel.send(());
            }
            if let Ok(server) = loan.returning.await {
                self.server = Some(server);
            }
        }
        self.server.as_mut()
    }

    /// Cancels whatever holds the server (a change puts the scheduler back)
    /// and waits until it is handed back.
    async fn shutdown(&mut self) {
        if let Some(loan) = &mut self.loan
            && let Some(cancel) = loan.cancel.take()
        {
            let _ = cancel.send(());
        }
        let _ = self.reclaim().await;
    }
}

/// The connection for this server's own credential (what was entered, else
/// remembered, else the credential's tenant), and the settings for it.
fn credential_connection(
    server: &LocalServer,
    data: &WizardData,
    cache: Arc<TokenCache>,
) -> Result<(ConnectionInputs, ConnectionSettings), EngineError> {
    let inputs = for_credential(server, data.connection.clone())?;
    let settings = settings(&inputs, DEFAULT_ADMIN_CLIENT_ID, REPLICATION_BUDGET, cache)?;
    Ok((inputs, settings))
}

/// `path` from the working directory, so that "Saved …" names the file
/// wherever it is read.
fn absolute(path: PathBuf) -> PathBuf {
    std::path::absolute(&path).unwrap_or(path)
}

fn write_file(path: &Path, text: &str) -> Result<(), SaveError> {
    std::fs::write(path, text).map_err(|error| SaveError::Write {
        path: path.to_path_buf(),
        error,
    })
}
