//! Widgets every page shares: the step header, text inputs, choice lists,
//! the status and key-help lines, the checklist, a waiting sign-in's prompt
//! and the too-small notice.

use super::model::Command;
use super::theme::Theme;
use super::words::{self, Asked};
use crate::domain::{Input, Upn};
use crate::engine::PlannedStep;
use crate::engine::progress::{Progress, StepStatus};
use crate::entra::Secret;
use crate::plan_words;
use crate::wrap::{self, Overlong};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Alignment, Constraint, Rect, Size};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

/// The smallest terminal the wizard draws in.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

/// The first-pass steps along the top, each done, current or still ahead,
/// on one line (see `breadcrumb`).
pub fn header(frame: &mut Frame, area: Rect, steps: &[(&str, StepState)], theme: &Theme) {
    // The steps say where the first pass is; elsewhere, a title.
    let mut spans = Vec::new();
    if steps.is_empty() {
        spans.push(Span::styled(
            "Entra Connect: application identity",
            theme.title(),
        ));
    }
    for (index, (label, state)) in breadcrumb(steps, usize::from(area.width))
        .into_iter()
        .enumerate()
    {
        if index > 0 {
            spans.push(Span::styled(STEP_SEPARATOR, theme.muted()));
        }
        let style = match state {
            StepState::Done => theme.done(),
            StepState::Current => theme.current(),
            StepState::Ahead => theme.muted(),
        };
        spans.push(Span::styled(label, style));
    }
    let block = Block::default()
        .borders(Borders::BOTTOM)
        .border_style(theme.muted());
    frame.render_widget(Paragraph::new(Line::from(spans)).block(block), area);
}

const STEP_SEPARATOR: &str = " › ";

/// The steps' labels as they fit `width` columns: every name when they fit;
/// otherwise the oldest done steps fold into one run of ✓ (`✓✓✓ › ✓Method ›
/// Certificate …`), and only if that is still too wide do the last steps
/// ahead give way to "…". The current step keeps its name.
fn breadcrumb(steps: &[(&str, StepState)], width: usize) -> Vec<(String, StepState)> {
    let done = steps
        .iter()
        .take_while(|(_, state)| *state == StepState::Done)
        .count();
    // The first `folded` steps as ✓ marks, names up to `shown`, then "…".
    let crumbs = |folded: usize, shown: usize| -> Vec<(String, StepState)> {
        let run = (folded > 0).then(|| ("✓".repeat(folded), StepState::Done));
        let named = steps[folded..shown].iter().map(|(name, state)| {
            let mark = if *state == StepState::Done { "✓" } else { "" };
            (format!("{mark}{name}"), *state)
        });
        let rest = (shown < steps.len()).then(|| ("…".to_string(), StepState::Ahead));
        run.into_iter().chain(named).chain(rest).collect()
    };
    let fits = |crumbs: &[(String, StepState)]| {
        let labels: usize = crumbs.iter().map(|(label, _)| unicode_width(label)).sum();
        labels + unicode_width(STEP_SEPARATOR) * crumbs.len().saturating_sub(1) <= width
    };
    let shortest = crumbs(done, (done + 1).min(steps.len()));
    (0..=done)
        .map(|folded| crumbs(folded, steps.len()))
        .chain(
            (done + 1..steps.len())
                .rev()
                .map(|shown| crumbs(done, shown)),
        )
        .find(|candidate| fits(candidate))
        .unwrap_or(shortest)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepState {
    Done,
    Current,
    Ahead,
}

/// The status line's text (a notice or a question) in the lines it takes
/// at `width`: at most three, identifiers whole.
pub fn status_lines(text: Option<&str>, width: u16) -> Vec<String> {
    let Some(text) = text else {
        return Vec::new();
    };
    let mut lines = wrap::lines(
        text,
        usize::from(width.saturating_sub(2)),
        "",
        Overlong::Cut,
    );
    lines.truncate(3);
    lines
}

pub fn status_line(frame: &mut Frame, area: Rect, lines: Vec<String>, theme: &Theme) {
    let lines: Vec<Line> = lines
        .into_iter()
        .map(|line| Line::styled(format!(" {line}"), theme.warning()))
        .collect();
    frame.render_widget(Paragraph::new(lines), area);
}

/// `keys`: (key, what it does) pairs, always on the last line.
pub fn key_help(frame: &mut Frame, area: Rect, keys: &[(&str, &str)], theme: &Theme) {
    let mut spans = vec![Span::raw(" ")];
    for (index, (key, action)) in keys.iter().enumerate() {
        if index > 0 {
            spans.push(Span::styled("  ", theme.muted()));
        }
        spans.push(Span::styled(*key, theme.key()));
        spans.push(Span::styled(format!(" {action}"), theme.muted()));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// Whether a window of `size` is smaller than the pages need.
pub fn is_too_small(size: Size) -> bool {
    size.width < MIN_WIDTH || size.height < MIN_HEIGHT
}

/// What a window too small for the pages shows: how large it must be, and
/// on the last line the keys that work there, or the quit question they ask.
pub fn too_small(frame: &mut Frame, area: Rect, question: Option<&str>, theme: &Theme) {
    let text = format!(
        "Make the window larger: the wizard needs at least {}x{} (now {}x{}).",
        MIN_WIDTH, MIN_HEIGHT, area.width, area.height
    );
    let [notice, last] =
        ratatui::layout::Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
    frame.render_widget(
        Paragraph::new(Span::styled(text, theme.warning()))
            .wrap(Wrap { trim: true })
            .alignment(Alignment::Center),
        notice,
    );
    match question {
        Some(question) => status_line(frame, last, vec![question.to_string()], theme),
        None => key_help(frame, last, &[("q", "quit"), ("Ctrl-C", "quit")], theme),
    }
}

/// A page's text: a title, then paragraphs. Long lines wrap under their own
/// text (after the indent and any list marker), not at the left edge.
pub fn prose(frame: &mut Frame, area: Rect, title: &str, lines: Vec<Line<'static>>, theme: &Theme) {
    scrolled_prose(frame, area, title, lines, theme, Scroll::Top(0));
}

/// Which part of a page's text shows when it is taller than the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scroll {
    /// This many lines down from the top.
    Top(u16),
    /// The end (a checklist's latest lines).
    Bottom,
    /// As little down from the top as shows the line at this index of the
    /// page's lines (counted before wrapping) whole: what has the focus.
    Showing(usize),
}

/// [`prose`] that shows one window of a text taller than the page, marking
/// what is hidden above or below it.
pub fn scrolled_prose(
    frame: &mut Frame,
    area: Rect,
    title: &str,
    lines: Vec<Line<'static>>,
    theme: &Theme,
    scroll: Scroll,
) {
    let inner = area.inner(ratatui::layout::Margin::new(2, 0));
    let measure = Measure {
        text: prose_width(area),
        page: usize::from(inner.width.max(20)),
    };
    let mut all = vec![
        Line::styled(title.to_string(), theme.title()),
        Line::raw(""),
    ];
    // Where each of the page's lines ends among the wrapped rows.
    let mut ends = Vec::with_capacity(lines.len());
    for line in lines {
        all.extend(hanging(line, measure));
        ends.push(all.len());
    }
    let total = u16::try_from(all.len()).unwrap_or(u16::MAX);
    if total <= inner.height {
        frame.render_widget(Paragraph::new(all).wrap(Wrap { trim: false }), inner);
        return;
    }
    // Too tall: the last row says what is hidden and how to see it.
    let [text, marker] =
        ratatui::layout::Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    let hidden = total.saturating_sub(text.height);
    let offset = match scroll {
        Scroll::Top(offset) => offset.min(hidden),
        Scroll::Bottom => hidden,
        Scroll::Showing(index) => {
            let end = ends.get(index).copied().unwrap_or(all.len());
            let end = u16::try_from(end).unwrap_or(u16::MAX);
            end.saturating_sub(text.height).min(hidden)
        }
    };
    let paragraph = Paragraph::new(all).wrap(Wrap { trim: false });
    frame.render_widget(paragraph.scroll((offset, 0)), text);
    let more = match (offset > 0, offset < hidden) {
        (true, true) => "↑↓ more",
        (true, false) => "↑ more above",
        _ => "↓ more below",
    };
    let line = Line::styled(more, theme.current()).alignment(Alignment::Right);
    let under_the_text = Rect {
        width: u16::try_from(measure.text).map_or(marker.width, |text| text.min(marker.width)),
        ..marker
    };
    frame.render_widget(Paragraph::new(line), under_the_text);
}

/// The widest a page's sentences run: wider lines are hard to read.
const MEASURE: usize = 100;

/// How wide a page's lines go.
#[derive(Debug, Clone, Copy)]
struct Measure {
    /// Where sentences wrap: the page's width, at most [`MEASURE`].
    text: usize,
    /// The page's whole width, which a word wider than `text` (a URL, a
    /// path) may take rather than be cut.
    page: usize,
}

/// The columns a page's text takes in `area` (see [`prose`]): its width
/// inside the margins, at most `MEASURE`.
pub fn prose_width(area: Rect) -> usize {
    usize::from(area.width.saturating_sub(4).max(20)).min(MEASURE)
}

/// `text` in lines of at most `measure.text` columns, each after the first
/// starting with `indent`; a word wider than that (an identifier) keeps a
/// line of its own, cut only at the page's width.
fn measured(text: &str, measure: Measure, indent: &str) -> Vec<String> {
    wrap::lines(text, measure.text, indent, Overlong::Keep)
        .into_iter()
        .flat_map(|line| match unicode_width(&line) <= measure.page {
            true => vec![line],
            false => wrap::lines(&line, measure.page, indent, Overlong::Cut),
        })
        .collect()
}

/// `text`, which may hold line breaks (an error with the ids for support on
/// a line of their own), as lines in `style`. (`Line::styled` would keep
/// the parts on one line as spans.)
pub fn text_lines(text: &str, style: Style) -> Vec<Line<'static>> {
    text.split('\n')
        .map(|part| Line::styled(part.to_string(), style))
        .collect()
}

/// A `Name  value` row: the value wraps under itself, not under the name.
pub fn field_line(name: &str, value: String, name_width: usize) -> Line<'static> {
    Line::from(vec![
        Span::raw(format!("{name:<name_width$}")),
        Span::raw(value),
    ])
}

/// Wraps a one-span line with a hanging indent, and a two-span line (a
/// label, then its text) under its text; other lines are left to the
/// paragraph.
fn hanging(line: Line<'static>, measure: Measure) -> Vec<Line<'static>> {
    let width = measure.text;
    if let [label, text] = line.spans.as_slice() {
        let indent = unicode_width(&label.content);
        if indent + unicode_width(&text.content) <= width || indent * 2 > width {
            return vec![line];
        }
        let room = width - indent;
        let widest_word = text.content.split(' ').map(unicode_width).max();
        if widest_word.is_some_and(|widest| widest > room) {
            // An identifier that does not fit beside the label: the text
            // goes below the label, at the text's width, the identifier whole.
            let below = measured(&text.content, measure, "");
            return std::iter::once(Line::from(vec![label.clone()]))
                .chain(below.into_iter().map(|part| Line::styled(part, text.style)))
                .collect();
        }
        return wrap::lines(&text.content, room, "", Overlong::Cut)
            .into_iter()
            .enumerate()
            .map(|(index, part)| {
                let lead = match index {
                    0 => label.clone(),
                    _ => Span::raw(" ".repeat(indent)),
                };
                Line::from(vec![lead, Span::styled(part, text.style)])
            })
            .collect();
    }
    let [span] = line.spans.as_slice() else {
        return vec![line];
    };
    let text = span.content.as_ref();
    if unicode_width(text) <= width {
        return vec![line];
    }
    let indent = text.len() - text.trim_start().len();
    let rest = &text[indent..];
    let marker = [
        "(•) ", "( ) ", "[✓] ", "[✗] ", "• ", "[OK  ] ", "[WARN] ", "[FAIL] ",
    ]
    .iter()
    .find(|m| rest.starts_with(**m))
    .map(|m| m.chars().count())
    .or_else(|| {
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        (digits > 0 && rest[digits..].starts_with(". ")).then_some(digits + 2)
    })
    .unwrap_or(0);
    let subsequent = " ".repeat(indent + marker);
    measured(text, measure, &subsequent)
        .into_iter()
        .map(|part| Line::styled(part, span.style))
        .collect()
}

/// `text` in at most `width` columns: whole when it fits, else cut and
/// ended with "…" so the cut shows.
pub fn cut(text: &str, width: usize) -> String {
    if unicode_width(text) <= width {
        return text.to_string();
    }
    let mut kept = String::new();
    let mut used = 0;
    for c in text.chars() {
        let mut buffer = [0; 4];
        let wide = unicode_width(c.encode_utf8(&mut buffer));
        if used + wide + 1 > width {
            break;
        }
        kept.push(c);
        used += wide;
    }
    if width > 0 {
        kept.push('…');
    }
    kept
}

fn unicode_width(text: &str) -> usize {
    textwrap::core::display_width(text)
}

/// A one-line text field, showing its text as `shown` says.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TextInput {
    pub value: String,
    shown: Shown,
    /// What the field holds, where that bounds how long it is (a GUID, a
    /// tenant, an account): see [`TextInput::holding`].
    holds: Option<Input>,
    /// Text was refused for running past that; the field says why.
    refused: bool,
}

/// How a field shows what it holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Shown {
    #[default]
    Whole,
    /// Bullets instead of the text (a password).
    Masked,
    /// An address up to its query, which holds a secret (the redirect of a
    /// browser sign-in, with its authorization code): see [`without_query`].
    WithoutQuery,
}

/// A field that hides its text (a password, an address with a code) does
/// not show it in debug output either.
impl std::fmt::Debug for TextInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value: &dyn std::fmt::Debug = match self.shown {
            Shown::Whole => &self.value,
            Shown::Masked | Shown::WithoutQuery => &"<hidden>",
        };
        f.debug_struct("TextInput")
            .field("value", value)
            .field("shown", &self.shown)
            .field("holds", &self.holds)
            .field("refused", &self.refused)
            .finish()
    }
}

impl TextInput {
    pub fn new(value: &str) -> TextInput {
        TextInput {
            value: value.to_string(),
            ..TextInput::default()
        }
    }

    /// A field showing `value`, or empty.
    pub fn of(value: Option<&impl std::fmt::Display>) -> TextInput {
        TextInput::new(&value.map(ToString::to_string).unwrap_or_default())
    }

    pub fn masked() -> TextInput {
        TextInput {
            shown: Shown::Masked,
            ..TextInput::default()
        }
    }

    /// A field for an address whose query is a secret: shown up to the
    /// query, never the query itself ([`without_query`]).
    pub fn address_without_query() -> TextInput {
        TextInput {
            shown: Shown::WithoutQuery,
            ..TextInput::default()
        }
    }

    /// The field holds `input`: text past the longest that can be is
    /// refused as it is typed or pasted (a paste arrives as keys), and the
    /// field says why (`words::longest`).
    pub fn holding(self, input: Input) -> TextInput {
        TextInput {
            holds: Some(input),
            ..self
        }
    }

    /// Edits on typing keys; returns whether the key was used. Ctrl-U
    /// clears the field, as in a shell; no other Ctrl or Alt chord is text.
    pub fn handle(&mut self, key: KeyEvent) -> bool {
        let chord = key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        match key.code {
            KeyCode::Char('u') if key.modifiers == KeyModifiers::CONTROL => {
                self.value.clear();
                self.refused = false;
                true
            }
            KeyCode::Char(_) if chord => false,
            KeyCode::Char(c) if !c.is_control() => {
                let longest = self.holds.and_then(words::longest);
                self.refused = longest.is_some_and(|(most, _)| self.value.chars().count() >= most);
                if !self.refused {
                    self.value.push(c);
                }
                true
            }
            KeyCode::Backspace => {
                self.value.pop();
                self.refused = false;
                true
            }
            _ => false,
        }
    }

    /// `label: [value_]`, with a cursor when focused.
    pub fn line(&self, label: &str, focused: bool, theme: &Theme) -> Line<'static> {
        let shown = match self.shown {
            Shown::Whole => self.value.clone(),
            Shown::Masked => "•".repeat(self.value.chars().count()),
            Shown::WithoutQuery => without_query(&self.value),
        };
        let cursor = if focused { "▏" } else { "" };
        let style = if focused {
            theme.current()
        } else {
            Style::new()
        };
        let mut spans = vec![
            Span::styled(format!("{label:<18}"), style),
            Span::raw("["),
            Span::raw(shown),
            Span::styled(cursor.to_string(), theme.current()),
            Span::raw("]"),
        ];
        if self.refused
            && let Some((_, why)) = self.holds.and_then(words::longest)
        {
            spans.push(Span::styled(format!("  {why}"), theme.warning()));
        }
        Line::from(spans)
    }

    /// The administrator typed here: none when left empty, or why the text
    /// is not an account.
    pub fn administrator(&self) -> Result<Option<Upn>, String> {
        let typed = self.value.trim();
        match typed.is_empty() {
            true => Ok(None),
            false => typed
                .parse()
                .map(Some)
                .map_err(|why| format!("Administrator: {why}.")),
        }
    }
}

/// `address` up to its query, then how long the query is that is not
/// shown: `http://localhost:43123/?… (412 characters hidden)`. Text without
/// a query is shown as it is.
pub fn without_query(address: &str) -> String {
    match address.split_once('?') {
        Some((before, query)) => {
            format!("{before}?… ({} characters hidden)", query.chars().count())
        }
        None => address.to_string(),
    }
}

/// A browser sign-in waiting: the address to open, and the field for the
/// address a browser on another machine ends on, pasted back. The Sign in
/// page and the tasks' pages that sign an administrator in show the same.
#[derive(Debug, Clone)]
pub struct BrowserPrompt {
    url: String,
    /// The address pasted back, shown without its query.
    pasted: TextInput,
    /// Whether what the field holds was sent to the sign-in.
    sent: bool,
}

impl BrowserPrompt {
    pub fn new(url: String) -> BrowserPrompt {
        BrowserPrompt {
            url,
            pasted: TextInput::address_without_query(),
            sent: false,
        }
    }

    /// A key while the sign-in waits: typed into the field for the address
    /// the browser ended on, which Enter sends to the sign-in. The field
    /// never shows the address's query (it holds the authorization code);
    /// typing after a send starts a new address.
    pub fn on_key(&mut self, key: KeyEvent) -> Option<Command> {
        let address = self.pasted.value.trim();
        match key.code {
            KeyCode::Enter if !self.sent && !address.is_empty() => {
                self.sent = true;
                Some(Command::PasteRedirect(Secret::new(address)))
            }
            KeyCode::Enter => None,
            // What was sent stays until something is typed.
            _ if self.sent => {
                let mut another = TextInput::address_without_query();
                if another.handle(key) {
                    self.pasted = another;
                    self.sent = false;
                }
                None
            }
            _ => {
                self.pasted.handle(key);
                None
            }
        }
    }

    /// What the administrator (`upn`) is asked to do, ending with the field
    /// and the status under it; with the index of that last line (which
    /// keeps both in view on a small window).
    pub fn lines(&self, upn: &str, spinner: char, theme: &Theme) -> (Vec<Line<'static>>, usize) {
        let mut lines = vec![
            Line::raw(format!("Sign in as {upn} in a browser, at this address:")),
            Line::raw(""),
            // On lines of its own, unindented: copied whole.
            Line::styled(self.url.clone(), theme.current()),
            Line::raw(""),
            Line::raw(
                "A browser on this machine finishes by itself. A browser on another machine ends on an address starting http://localhost that does not load there: paste that address here, then Enter.",
            ),
            Line::raw(""),
        ];
        lines.push(self.pasted.line("Address", true, theme));
        let status = match self.sent {
            true => "Sent: waiting for the sign-in to finish…",
            false => "Waiting for the browser…",
        };
        lines.push(Line::styled(format!("{spinner} {status}"), theme.muted()));
        let last = lines.len() - 1;
        (lines, last)
    }
}

/// What an administrator's sign-in on a task's page asks while it waits
/// (the task signs in with the session's method): the device code's line,
/// or the browser's address and field.
#[derive(Debug, Clone)]
pub enum TaskSignIn {
    Code(String),
    /// Boxed: a page's state stays small while nothing waits.
    Browser(Box<BrowserPrompt>),
}

impl TaskSignIn {
    /// Follows a task's progress: a sign-in's prompt is shown until the
    /// step that signs in is over.
    pub fn follow(shown: &mut Option<TaskSignIn>, progress: &Progress) {
        match progress {
            Progress::SignInCode { .. } => *shown = Some(TaskSignIn::Code(progress.line())),
            Progress::SignInBrowser { url } => {
                *shown = Some(TaskSignIn::Browser(Box::new(BrowserPrompt::new(
                    url.clone(),
                ))))
            }
            Progress::Step { status, .. }
                if !matches!(status, StepStatus::Running | StepStatus::Retrying { .. }) =>
            {
                *shown = None
            }
            _ => {}
        }
    }

    /// Whether it waits for the browser, with the field for the address.
    pub fn browser(shown: Option<&TaskSignIn>) -> bool {
        matches!(shown, Some(TaskSignIn::Browser(_)))
    }

    /// A key while it waits: the browser's field takes it.
    pub fn on_key(&mut self, key: KeyEvent) -> Option<Command> {
        match self {
            TaskSignIn::Browser(prompt) => prompt.on_key(key),
            TaskSignIn::Code(_) => None,
        }
    }

    /// Its lines after a blank one, for `upn`; with the line to keep in view.
    pub fn lines(&self, upn: &str, spinner: char, theme: &Theme) -> (Vec<Line<'static>>, usize) {
        match self {
            TaskSignIn::Code(code) => (
                vec![Line::raw(""), Line::styled(code.clone(), theme.current())],
                1,
            ),
            TaskSignIn::Browser(prompt) => {
                let (lines, shown) = prompt.lines(upn, spinner, theme);
                (
                    std::iter::once(Line::raw("")).chain(lines).collect(),
                    shown + 1,
                )
            }
        }
    }
}

/// What a key did to a file name being typed for a save.
pub enum FileNameKey {
    Editing,
    Cancelled,
    Chosen(std::path::PathBuf),
}

impl TextInput {
    /// Keys of a file-name prompt: Enter chooses, Esc cancels, the rest edit.
    pub fn file_name_key(&mut self, key: KeyEvent) -> FileNameKey {
        match key.code {
            KeyCode::Esc => FileNameKey::Cancelled,
            KeyCode::Enter => FileNameKey::Chosen(self.value.trim().into()),
            _ => {
                self.handle(key);
                FileNameKey::Editing
            }
        }
    }
}

/// Where a choice's meaning starts, under its name.
pub const CHOICE_MEANING_INDENT: usize = 7;

/// Choices with one selected; Up/Down move.
pub fn choice_lines(
    options: &[(impl AsRef<str>, impl AsRef<str>)],
    selected: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for (index, (name, meaning)) in options.iter().enumerate() {
        let (name, meaning) = (name.as_ref(), meaning.as_ref());
        let marker = if index == selected { "(•)" } else { "( )" };
        let style = if index == selected {
            theme.current()
        } else {
            Style::new()
        };
        lines.push(Line::from(vec![Span::styled(
            format!(" {marker} {name}"),
            style,
        )]));
        if !meaning.is_empty() {
            lines.push(meaning_line(meaning, theme));
        }
    }
    lines
}

/// What a choice or a listed item means, on the line under its name.
pub fn meaning_line(meaning: &str, theme: &Theme) -> Line<'static> {
    Line::styled(
        format!("{:CHOICE_MEANING_INDENT$}{meaning}", ""),
        theme.muted(),
    )
}

/// An option that is on or off: `[x] label` or `[ ] label`.
pub fn checkbox_line(label: &str, checked: bool, focused: bool, theme: &Theme) -> Line<'static> {
    let mark = if checked { "[x]" } else { "[ ]" };
    let style = if focused {
        theme.current()
    } else {
        Style::new()
    };
    Line::styled(format!(" {mark} {label}"), style)
}

/// The date of an ISO 8601 date-time as the tenant gave it (a key's or a
/// secret's start or end), "-" when it gave none.
pub fn day(when: Option<&str>) -> &str {
    let when = when.unwrap_or("-");
    when.get(..10).unwrap_or(when)
}

pub fn move_choice(selected: usize, len: usize, key: KeyCode) -> Option<usize> {
    match key {
        KeyCode::Up | KeyCode::Char('k') => Some(selected.saturating_sub(1)),
        KeyCode::Down | KeyCode::Char('j') => Some((selected + 1).min(len.saturating_sub(1))),
        _ => None,
    }
}

/// A plan as the Ready page lists it: numbered steps, each with what it does.
pub fn plan_lines(steps: &[PlannedStep], theme: &Theme) -> Vec<Line<'static>> {
    plan_words::numbered(steps)
        .flat_map(|(heading, detail)| {
            [
                Line::raw(format!(" {heading}")),
                Line::styled(format!("    {detail}"), theme.muted()),
            ]
        })
        .collect()
}

/// The scroll offset after a scrolling key (↑↓, PgUp/PgDn, Home/End), at most `most`.
pub fn scrolled(offset: u16, key: KeyCode, most: u16) -> u16 {
    const PAGE: u16 = 10;
    match key {
        KeyCode::Up => offset.saturating_sub(1),
        KeyCode::Down => offset.saturating_add(1).min(most),
        KeyCode::PageUp => offset.saturating_sub(PAGE),
        KeyCode::PageDown => offset.saturating_add(PAGE).min(most),
        KeyCode::Home => 0,
        KeyCode::End => most,
        _ => offset,
    }
}

/// One checklist line for a step's status (`None`: not started yet), its
/// remedies said as where the run's sign-in is `asked`.
pub fn checklist_line(
    title: &str,
    status: Option<&StepStatus>,
    spinner: char,
    asked: Asked,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let Some(status) = status else {
        return vec![Line::styled(format!(" [ ] {title}"), theme.muted())];
    };
    let (mark, style) = match status {
        StepStatus::Running | StepStatus::Retrying { .. } => {
            (format!("[{spinner}]"), theme.current())
        }
        StepStatus::Done { .. } | StepStatus::AlreadyDone => ("[✓]".to_string(), theme.done()),
        StepStatus::Failed { .. } => ("[✗]".to_string(), theme.error()),
        StepStatus::Skipped(_) => ("[-]".to_string(), theme.muted()),
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(format!(" {mark} "), style),
        Span::raw(title.to_string()),
    ])];
    let detail = match status {
        StepStatus::Retrying { .. } => Some((status.retry_line(), theme.warning())),
        StepStatus::Done { detail } if !detail.is_empty() => Some((detail.clone(), theme.muted())),
        StepStatus::AlreadyDone => Some(("done in an earlier run".to_string(), theme.muted())),
        StepStatus::Failed {
            message, remedies, ..
        } => Some((
            words::with_remedies_asked(message, remedies, asked),
            theme.error(),
        )),
        StepStatus::Skipped(skip) => Some((skip.to_string(), theme.muted())),
        _ => None,
    };
    if let Some((text, style)) = detail {
        lines.push(Line::styled(format!("       {text}"), style));
    }
    lines
}

pub const SPINNER: [char; 4] = ['|', '/', '-', '\\'];
