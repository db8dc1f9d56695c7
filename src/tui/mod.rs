//! The terminal wizard: ratatui + crossterm, the Elm architecture. This file is
//! the app loop: the one owner of the terminal, of the event stream (keys,
//! resize, engine progress, results, ticks while something animates) and of the
//! engine tasks the pages' commands start.

pub mod app;
pub mod pages;
pub mod theme;
pub mod widgets;

use crate::domain::{MethodAnswer, SignInAnswer};
use crate::engine::onboard::{Method, OnboardOptions, onboard, plan};
use crate::engine::{
    EngineError, EntraRequest, LocalServer, SchedulerChange, change_scheduler, configuration,
    connection,
};
use crate::entra::cache::TokenCache;
use crate::entra::client::{AdminSignIn, ConnectionSettings, DEFAULT_ADMIN_CLIENT_ID};
use crate::entra::{Endpoints, RetryPolicy, Secret};
use app::{Cloud, Command, Context, Message, Model, Outcome, WizardData};
use futures::StreamExt;
use ratatui::crossterm::event::{Event, EventStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Where the wizard connects when the administrator picks the sandbox cloud.
#[derive(Debug, Clone, Default)]
pub struct WizardSetup {
    pub data: WizardData,
    /// Authority host and Graph URL of the sandbox, with `wizard --sandbox`.
    pub sandbox_endpoints: Option<(String, String)>,
}

/// Loads what the pages show about this server.
pub fn load_context(server: &LocalServer, sandbox: bool) -> Result<Context, EngineError> {
    let configured = server.credential()?.identity_type();
    Ok(Context {
        configured: Some(configured),
        tpm_present: ["/dev/tpmrm0", "/dev/tpm0"]
            .iter()
            .any(|p| std::path::Path::new(p).exists()),
        certificates: server.certificates()?,
        configuration: configuration(server).ok(),
        scheduler: server.scheduler()?,
        sandbox,
        now: time::OffsetDateTime::now_utc(),
    })
}

/// Runs the wizard until the administrator quits. The terminal is restored on
/// every way out (ratatui's init installs a panic hook that restores it too).
pub async fn run(server: LocalServer, setup: WizardSetup) -> anyhow::Result<()> {
    let context = load_context(&server, setup.sandbox_endpoints.is_some())?;
    let mut model = Model::new(context, setup.data.clone(), theme::Theme::from_env());
    let (sender, mut receiver) = mpsc::unbounded_channel();
    let mut runner = Runner {
        server: Some(server),
        returning: None,
        cancel: None,
        request: None,
        cache: Arc::new(TokenCache::default()),
        setup,
        events: sender,
    };
    let mut terminal = ratatui::try_init()?;
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
    result
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    model: &mut Model,
    runner: &mut Runner,
    receiver: &mut mpsc::UnboundedReceiver<Message>,
) -> anyhow::Result<()> {
    let mut input = EventStream::new();
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
                Some(Ok(Event::Resize(_, _))) => Message::Resize,
                Some(Ok(_)) => continue,
                Some(Err(error)) => return Err(error.into()),
                None => return Ok(()),
            },
            Some(message) = receiver.recv() => message,
            _ = ticker.tick(), if model.wants_ticks() => Message::Tick,
        };
        let finished = matches!(message, Message::Finished(_));
        if finished {
            runner.take_back_server().await;
        }
        if let Some(command) = app::update(model, message) {
            runner.execute(command, model).await;
        }
        if finished && let Some(server) = &runner.server {
            // The second pass and the Done page show the server as it now is.
            if let Ok(context) = load_context(server, model.context.sandbox) {
                model.context = context;
            }
        }
    }
}

/// Carries out commands. It owns the server state; an operation borrows it in
/// its task and hands it back when it ends.
struct Runner {
    server: Option<LocalServer>,
    returning: Option<oneshot::Receiver<LocalServer>>,
    cancel: Option<oneshot::Sender<()>>,
    /// The signed-in administrator, for the onboarding that follows.
    request: Option<EntraRequest>,
    cache: Arc<TokenCache>,
    setup: WizardSetup,
    events: mpsc::UnboundedSender<Message>,
}

impl Runner {
    fn send(&self, message: Message) {
        let _ = self.events.send(message);
    }

    /// An engine progress channel that feeds the app loop.
    fn progress(&self) -> crate::engine::progress::ProgressSender {
        let (sender, mut receiver) = mpsc::unbounded_channel();
        let events = self.events.clone();
        tokio::spawn(async move {
            while let Some(progress) = receiver.recv().await {
                let _ = events.send(Message::Progress(progress));
            }
        });
        sender
    }

    /// The connection and sign-in for what was entered, remembered for later commands.
    fn request(
        &mut self,
        data: &WizardData,
        upn: String,
        password: Option<String>,
    ) -> Result<EntraRequest, String> {
        let endpoints = match (data.cloud, &self.setup.sandbox_endpoints) {
            (Cloud::Sandbox, Some((authority, graph))) => {
                Endpoints::new(crate::entra::Cloud::Public, Some(authority), Some(graph))
            }
            (Cloud::Usgov, _) => Endpoints::new(crate::entra::Cloud::Usgov, None, None),
            (Cloud::China, _) => Endpoints::new(crate::entra::Cloud::China, None, None),
            _ => Endpoints::new(crate::entra::Cloud::Public, None, None),
        }
        .map_err(|e| e.to_string())?;
        let sign_in = match (data.sign_in, password) {
            (SignInAnswer::Password, Some(password)) => AdminSignIn::Password {
                upn,
                password: Secret::new(password),
            },
            _ => AdminSignIn::DeviceCode { upn },
        };
        if let Some(server) = &mut self.server {
            let remembered = connection::RememberedConnection {
                tenant: Some(data.tenant.clone()),
                cloud: None,
                authority_host: Some(endpoints.authority_host.to_string()),
                graph_url: Some(endpoints.graph_url.to_string()),
                ca_cert: None,
            };
            connection::remember(server, &remembered).map_err(|e| e.to_string())?;
        }
        Ok(EntraRequest {
            connection: ConnectionSettings {
                tenant: data.tenant.clone(),
                endpoints,
                ca_cert: None,
                admin_client_id: DEFAULT_ADMIN_CLIENT_ID.into(),
                retry: RetryPolicy::default(),
                cache: self.cache.clone(),
            },
            sign_in,
        })
    }

    async fn execute(&mut self, command: Command, model: &Model) {
        match command {
            Command::StartSignIn { upn, password } => {
                let request = match self.request(&model.data, upn, password) {
                    Ok(request) => request,
                    Err(why) => return self.send(Message::SignedIn(Err(why))),
                };
                self.request = Some(request.clone());
                let progress = self.progress();
                let events = self.events.clone();
                tokio::spawn(async move {
                    let result = crate::engine::sign_in(&request, progress)
                        .await
                        .map_err(|e| e.to_string());
                    let _ = events.send(Message::SignedIn(result));
                });
            }
            Command::BuildPlan => {
                let Some(server) = &self.server else { return };
                let result = plan(server, &model.data.tenant, options(&model.data))
                    .map_err(|e| e.to_string());
                self.send(Message::Planned(result));
            }
            Command::Run(plan) => self.start_onboarding(plan.options),
            Command::Cancel => {
                if let Some(cancel) = self.cancel.take() {
                    let _ = cancel.send(());
                }
            }
            Command::Export(path) => {
                let result = match &self.server {
                    Some(server) => export(server, &path),
                    None => Err("busy".into()),
                };
                self.send(Message::Saved(result.map(|_| path)));
            }
            Command::SaveAnswers(path, answers) => {
                let result = std::fs::write(&path, answers.to_toml()).map_err(|e| e.to_string());
                self.send(Message::Saved(result.map(|_| path)));
            }
            Command::SetScheduler {
                sync_cycle_enabled,
                maintenance_enabled,
            } => {
                let Some(server) = &mut self.server else {
                    return;
                };
                let change = SchedulerChange {
                    sync_cycle_enabled,
                    maintenance_enabled,
                    ..SchedulerChange::default()
                };
                let result = change_scheduler(server, &change).map_err(|e| e.to_string());
                self.send(Message::SchedulerChanged(result));
            }
        }
    }

    fn start_onboarding(&mut self, options: OnboardOptions) {
        let (Some(mut server), Some(request)) = (self.server.take(), self.request.clone()) else {
            return self.send(Message::Finished(Err("sign in first".into())));
        };
        let (cancel, cancelled) = oneshot::channel();
        let (give_back, returning) = oneshot::channel();
        self.cancel = Some(cancel);
        self.returning = Some(returning);
        let progress = self.progress();
        let events = self.events.clone();
        tokio::task::spawn_local(async move {
            let outcome = tokio::select! {
                result = onboard(&mut server, &request, &options, progress) => Some(result),
                _ = cancelled => None,
            };
            let message = match outcome {
                Some(Ok(credential)) => Message::Finished(Ok(Outcome {
                    app_id: credential.application_id,
                    certificate: credential.certificate_sha256,
                })),
                Some(Err(error)) => Message::Finished(Err(error.to_string())),
                None => {
                    let restored = crate::engine::operation::recover_scheduler(&mut server);
                    Message::Finished(Err(match restored {
                        Ok(()) => "cancelled; the scheduler was put back".into(),
                        Err(e) => format!("cancelled; the scheduler could not be put back: {e}"),
                    }))
                }
            };
            let _ = give_back.send(server);
            let _ = events.send(message);
        });
    }

    async fn take_back_server(&mut self) {
        if let Some(returning) = self.returning.take()
            && let Ok(server) = returning.await
        {
            self.server = Some(server);
        }
        self.cancel = None;
    }

    /// Cancels a running change and waits until it has put the scheduler back.
    async fn shutdown(&mut self) {
        if let Some(cancel) = self.cancel.take() {
            let _ = cancel.send(());
        }
        self.take_back_server().await;
    }
}

fn options(data: &WizardData) -> OnboardOptions {
    let method = match (data.method, &data.certificate) {
        (MethodAnswer::Byoc, Some(hash)) => Method::Byoc(hash.clone()),
        (MethodAnswer::Byoa, Some(hash)) => Method::Byoa {
            app_id: data.app_id.clone(),
            certificate: hash.clone(),
        },
        _ => Method::Managed,
    };
    OnboardOptions {
        method,
        password_writeback: data.password_writeback,
    }
}

fn export(server: &LocalServer, path: &PathBuf) -> Result<(), String> {
    let report = configuration(server).map_err(|e| e.to_string())?;
    let json = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    std::fs::write(path, json + "\n").map_err(|e| format!("cannot write {}: {e}", path.display()))
}
