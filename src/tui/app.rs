//! The wizard as the Elm architecture: one [`Model`], the [`Message`]s that
//! change it, a pure [`update`] that returns the [`Command`]s to run (effects
//! as data), and a pure [`view`]. Only the app loop (`super::run`) executes
//! commands and talks to the engine.

use super::model::{
    Command, Context, EngineEvent, Message, OpId, Shared, Task, TpmCheck, WizardData,
};
use super::pages::{Page, Transition, options, tasks, welcome};
use super::theme::Theme;
use super::widgets;
use crate::engine::Outcome;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect, Size};

/// The wizard's whole state.
pub struct Model {
    pub page: Page,
    pub data: WizardData,
    pub context: Context,
    pub theme: Theme,
    /// The engine task whose messages the wizard listens to; others are stale.
    pub running: Option<OpId>,
    /// The id the next task gets.
    next_op: u64,
    /// Asking "quit?" after Ctrl-C or q.
    pub confirm_quit: bool,
    /// The terminal's size as last reported; none before the first report.
    pub window: Option<Size>,
    /// A transient notice on the status line (export done, answers saved...).
    pub notice: Option<String>,
    pub quit: bool,
    /// What the changes run in this session produced, in order (for the
    /// summary printed when the wizard closes).
    pub finished: Vec<Outcome>,
}

impl Model {
    pub fn new(context: Context, data: WizardData, theme: Theme) -> Model {
        let page = match context.configured {
            None | Some(crate::domain::ConnectorIdentityType::None) => {
                Page::Welcome(Default::default())
            }
            Some(_) => Page::Tasks(tasks::State::new(&context)),
        };
        Model {
            page,
            data,
            context,
            theme,
            running: None,
            next_op: 1,
            confirm_quit: false,
            window: None,
            notice: None,
            quit: false,
            finished: Vec::new(),
        }
    }

    /// What the app loop runs as the wizard opens, after its first frame:
    /// the TPM probe, which a slow TPM can hold for seconds.
    pub fn init(&self) -> Option<Command> {
        (self.context.tpm == TpmCheck::Checking).then_some(Command::ProbeTpm)
    }

    /// Whether something animates (spinner, countdown): only then does the loop tick.
    pub fn wants_ticks(&self) -> bool {
        self.page.animates()
    }

    fn shared(&self) -> Shared<'_> {
        Shared {
            data: &self.data,
            context: &self.context,
            theme: &self.theme,
        }
    }

    /// Gives `task` its id; from now on only its messages count.
    fn start(&mut self, task: Task) -> Command {
        let op = OpId(self.next_op);
        self.next_op += 1;
        self.running = Some(op);
        Command::Start { op, task }
    }

    /// Stops listening to the running task and asks the loop to cancel it.
    fn cancel(&mut self) -> Option<Command> {
        self.running.take().map(Command::Cancel)
    }

    /// Quits now, cancelling what runs.
    fn quit(&mut self) -> Option<Command> {
        self.quit = true;
        self.cancel()
    }

    /// Ctrl-C or q: quits at once from Done, where nothing is left to
    /// lose; elsewhere asks first ([`Page::quit_question`]).
    fn ask_to_quit(&mut self) -> Option<Command> {
        if matches!(self.page, Page::Done(_)) {
            return self.quit();
        }
        self.confirm_quit = true;
        None
    }

    /// Whether the window is too small for the pages: only the notice
    /// shows, so only its keys work.
    fn too_small(&self) -> bool {
        self.window.is_some_and(widgets::is_too_small)
    }
}

/// Applies `message`; returns what to run.
pub fn update(model: &mut Model, message: Message) -> Option<Command> {
    if let Message::Key(key) = &message {
        if key.kind != KeyEventKind::Press {
            return None;
        }
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            if model.confirm_quit {
                return model.quit();
            }
            return model.ask_to_quit();
        }
        if model.confirm_quit {
            model.confirm_quit = false;
            if matches!(key.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
                return model.quit();
            }
            return None;
        }
        if model.too_small() {
            return match key.code {
                KeyCode::Char('q') => model.ask_to_quit(),
                _ => None,
            };
        }
    }
    // A notice stays until the administrator does something: results that
    // arrive meanwhile do not wipe it.
    if let Message::Key(_) = message {
        model.notice = None;
    }
    let transition = match message {
        Message::Key(key) => on_key(model, key),
        Message::Resize(size) => {
            model.window = Some(size);
            Transition::Stay
        }
        Message::Tick => {
            match &mut model.page {
                Page::SignIn(state) => state.tick(),
                Page::Configuring(state) => state.tick(),
                Page::SyncAccounts(state) => state.tick(),
                _ => {}
            }
            Transition::Stay
        }
        // A task that was cancelled or replaced may still report: dropped here.
        Message::Engine(op, _) if model.running != Some(op) => Transition::Stay,
        Message::Engine(_, event) => on_engine(model, event),
        Message::Doctored(findings) => {
            if let Page::Doctor(state) = &mut model.page {
                state.checked(findings);
            }
            Transition::Stay
        }
        Message::KeysListed(result) => {
            if let Page::Keys(state) = &mut model.page {
                state.listed(result);
            }
            Transition::Stay
        }
        Message::Chosen(result) => match &mut model.page {
            Page::Review(state) => state.chosen(result),
            _ => Transition::Stay,
        },
        Message::Planned(result) => {
            if let Page::Ready(state) = &mut model.page {
                state.planned(result);
            }
            Transition::Stay
        }
        Message::Saved(result) | Message::Exported(result) => {
            if let Page::ViewConfig(state) = &mut model.page {
                state.exported();
            }
            model.notice = Some(match result {
                Ok(path) => format!("Saved {}", path.display()),
                Err(why) => format!("Not saved: {why}"),
            });
            Transition::Stay
        }
        Message::SchedulerChanged(Ok(settings)) => {
            model.context.scheduler = settings;
            model.notice = Some("Scheduler settings saved.".into());
            Transition::Stay
        }
        Message::SchedulerChanged(Err(why)) => {
            model.notice = Some(format!("Scheduler not changed: {why}"));
            Transition::Stay
        }
        Message::TpmProbed(probe) => {
            model.context.tpm = TpmCheck::from_probe(probe);
            Transition::Stay
        }
        Message::Terminated => return model.quit(),
    };
    apply(model, transition)
}

fn on_engine(model: &mut Model, event: EngineEvent) -> Transition {
    match event {
        EngineEvent::Progress(progress) => {
            match &mut model.page {
                Page::SignIn(state) => state.progress(progress),
                Page::Configuring(state) => state.progress(progress),
                Page::SyncAccounts(state) => state.progress(progress),
                _ => {}
            }
            Transition::Stay
        }
        EngineEvent::SignedIn(result) => {
            model.running = None;
            match &mut model.page {
                Page::SignIn(state) => state.signed_in(result),
                _ => Transition::Stay,
            }
        }
        EngineEvent::Reviewed(result) => {
            model.running = None;
            match &mut model.page {
                Page::SignIn(state) => state.reviewed(result),
                _ => Transition::Stay,
            }
        }
        EngineEvent::SyncAccountsListed(result) => {
            model.running = None;
            if let Page::SyncAccounts(state) = &mut model.page {
                state.listed(result);
            }
            Transition::Stay
        }
        EngineEvent::Finished(result) => {
            model.running = None;
            if let Ok(outcome) = &result {
                model.finished.push(outcome.clone());
            }
            match &mut model.page {
                Page::Configuring(state) => state.finished(result),
                _ => Transition::Stay,
            }
        }
    }
}

fn on_key(model: &mut Model, key: KeyEvent) -> Transition {
    if key.code == KeyCode::Esc && model.page.esc_goes_back() {
        return Transition::Back;
    }
    let Model {
        page,
        data,
        context,
        ..
    } = model;
    match page {
        Page::Welcome(_) => welcome::on_key(key),
        Page::Connect(state) => state.on_key(data, key),
        Page::SignIn(state) => state.on_key(data, key),
        Page::Method(state) => state.on_key(data, key),
        Page::Certificate(state) => state.on_key(data, context, key),
        Page::AppId(state) => state.on_key(data, key),
        Page::Options(_) => options::on_key(data, key),
        Page::Ready(state) => state.on_key(key, data),
        Page::Configuring(state) => state.on_key(data, key),
        Page::Done(state) => state.on_key(key),
        Page::Tasks(state) => state.on_key(context, key),
        Page::ViewConfig(state) => state.on_key(key, context.configuration.as_ref()),
        Page::Doctor(state) => state.on_key(key),
        Page::Scheduler(state) => state.on_key(&context.scheduler, key),
        Page::Rotate(state) => state.on_key(data, context, key),
        Page::Keys(state) => state.on_key(key),
        Page::RollBack(state) => state.on_key(data, key),
        Page::SyncAccounts(state) => state.on_key(data, key),
        Page::Review(state) => state.on_key(key),
    }
}

fn apply(model: &mut Model, transition: Transition) -> Option<Command> {
    let entered = match transition {
        Transition::Stay => return None,
        Transition::Quit => return model.ask_to_quit(),
        Transition::Cancel => return model.cancel(),
        Transition::Do(command) => return Some(command),
        Transition::Start(task) => {
            // Confirming the plan on Ready moves on as the flow says.
            if let (Task::Run(_), Page::Ready(_)) = (&task, &model.page)
                && let Some(next) = model.page.next(&model.data, &model.context)
            {
                model.page = next;
            }
            return Some(model.start(task));
        }
        Transition::Next => model.page.next(&model.data, &model.context)?,
        Transition::Back => model.page.previous(&model.data, &model.context)?,
    };
    model.page = entered;
    // Ready, however it is entered, asks for its plan afresh.
    model.page.on_enter()
}

/// Draws the whole screen: header, page, status and key help.
pub fn view(model: &Model, frame: &mut Frame) {
    let area = frame.area();
    let question = model.confirm_quit.then(|| model.page.quit_question());
    if widgets::is_too_small(area.as_size()) {
        widgets::too_small(frame, area, question, &model.theme);
        return;
    }
    let status_text = question
        .map(str::to_string)
        .or_else(|| model.notice.clone());
    let status_lines = widgets::status_lines(status_text.as_deref(), area.width);
    let status_height = u16::try_from(status_lines.len().max(1)).unwrap_or(1);
    let [header, body, status, help] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Min(1),
        Constraint::Length(status_height),
        Constraint::Length(1),
    ])
    .areas(area);
    widgets::header(frame, header, &model.page.steps(&model.data), &model.theme);
    view_page(model, frame, body);
    widgets::status_line(frame, status, status_lines, &model.theme);
    widgets::key_help(frame, help, model.page.key_help(), &model.theme);
}

fn view_page(model: &Model, frame: &mut Frame, area: Rect) {
    let shared = &model.shared();
    match &model.page {
        Page::Welcome(_) => welcome::view(shared, frame, area),
        Page::Connect(state) => state.view(shared, frame, area),
        Page::SignIn(state) => state.view(shared, frame, area),
        Page::Method(state) => state.view(shared, frame, area),
        Page::Certificate(state) => state.view(shared, frame, area),
        Page::AppId(state) => state.view(shared, frame, area),
        Page::Options(_) => options::view(shared, frame, area),
        Page::Ready(state) => state.view(shared, frame, area),
        Page::Configuring(state) => state.view(shared, frame, area),
        Page::Done(state) => state.view(shared, frame, area),
        Page::Tasks(state) => state.view(shared, frame, area),
        Page::ViewConfig(state) => state.view(shared, frame, area),
        Page::Doctor(state) => state.view(shared, frame, area),
        Page::Scheduler(state) => state.view(shared, frame, area),
        Page::Rotate(state) => state.view(shared, frame, area),
        Page::Keys(state) => state.view(shared, frame, area),
        Page::RollBack(state) => state.view(shared, frame, area),
        Page::SyncAccounts(state) => state.view(shared, frame, area),
        Page::Review(state) => state.view(shared, frame, area),
    }
}
