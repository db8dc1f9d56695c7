use super::*;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

/// A replication budget of `pauses` intervals, counting the waits.
struct Budget {
    left: Cell<u32>,
    waited: Cell<u32>,
}

impl Budget {
    fn of(pauses: u32) -> Self {
        Budget {
            left: Cell::new(pauses),
            waited: Cell::new(0),
        }
    }
}

/// The budget as the combinator sees it.
struct Local<'a>(&'a Budget);

impl Replication for Local<'_> {
    fn pause(
        &self,
        _started: Instant,
        _attempt: u32,
        _reason: RetryReason,
    ) -> impl Future<Output = bool> + Send {
        let more = self.0.left.get() > 0;
        if more {
            self.0.left.set(self.0.left.get() - 1);
            self.0.waited.set(self.0.waited.get() + 1);
        }
        async move { more }
    }
}

/// What the directory answers, in order, and what was asked.
struct Script {
    lookups: RefCell<VecDeque<Option<&'static str>>>,
    writes: RefCell<VecDeque<Result<&'static str, EntraError>>>,
    looked: Cell<u32>,
    written: Cell<u32>,
}

impl Script {
    fn new(
        lookups: impl IntoIterator<Item = Option<&'static str>>,
        writes: impl IntoIterator<Item = Result<&'static str, EntraError>>,
    ) -> Self {
        Script {
            lookups: RefCell::new(lookups.into_iter().collect()),
            writes: RefCell::new(writes.into_iter().collect()),
            looked: Cell::new(0),
            written: Cell::new(0),
        }
    }

    /// Runs the combinator against this script; an exhausted script of
    /// lookups keeps answering "not there".
    async fn run(
        &self,
        budget: &Budget,
        repeat: Repeat,
        look_first: bool,
    ) -> Result<Written<&'static str>, EntraError> {
        let replication = Local(budget);
        let mut once = WriteOnce::new(&replication, repeat);
        if !look_first {
            once = once.write_first();
        }
        once.run(
            async || {
                self.looked.set(self.looked.get() + 1);
                Ok(self.lookups.borrow_mut().pop_front().flatten())
            },
            async || {
                self.written.set(self.written.get() + 1);
                self.writes
                    .borrow_mut()
                    .pop_front()
                    .expect("a write the script did not expect")
            },
        )
        .await
    }
}

fn lost() -> EntraError {
    EntraError::Ambiguous {
        url: "https://graph.example/v1.0/applications".into(),
        why: "HTTP 504".into(),
    }
}

fn graph(status: u16, code: &str, message: &str) -> EntraError {
    EntraError::Graph {
        status,
        code: GraphCode::parse(code, message, []),
        message: message.into(),
    }
}

fn exists() -> EntraError {
    graph(
        400,
        "Request_BadRequest",
        "Permission being assigned already exists on the object",
    )
}

#[tokio::test]
async fn what_the_lookup_finds_is_not_written_again() {
    let script = Script::new([Some("old")], []);
    let written = script.run(&Budget::of(5), Repeat::Refused, true).await;
    assert_eq!(written.unwrap(), Written::Found("old"));
    assert_eq!((script.looked.get(), script.written.get()), (1, 0));
}

#[tokio::test]
async fn an_absent_object_is_written_once() {
    let script = Script::new([None], [Ok("new")]);
    let written = script.run(&Budget::of(5), Repeat::Refused, true).await;
    assert_eq!(written.unwrap(), Written::Made("new"));
    assert_eq!((script.looked.get(), script.written.get()), (1, 1));

    // The caller has just looked: straight to the write.
    let script = Script::new([], [Ok("new")]);
    let written = script.run(&Budget::of(5), Repeat::Refused, false).await;
    assert_eq!(written.unwrap(), Written::Made("new"));
    assert_eq!((script.looked.get(), script.written.get()), (0, 1));
}

#[tokio::test]
async fn a_lost_answer_whose_write_shows_up_is_success_without_a_second_write() {
    for repeat in [Repeat::Refused, Repeat::Upsert, Repeat::Duplicates] {
        let script = Script::new([Some("made")], [Err(lost())]);
        let written = script.run(&Budget::of(5), repeat, false).await;
        assert_eq!(written.unwrap(), Written::Found("made"), "{repeat:?}");
        assert_eq!(script.written.get(), 1, "{repeat:?}");
    }
}

#[tokio::test]
async fn a_lost_answer_with_nothing_to_show_is_written_once_more() {
    // A second send cannot make a second object: one look, then the repeat.
    for repeat in [Repeat::Refused, Repeat::Upsert] {
        let budget = Budget::of(5);
        let script = Script::new([None], [Err(lost()), Ok("new")]);
        let written = script.run(&budget, repeat, false).await;
        assert_eq!(written.unwrap(), Written::Made("new"), "{repeat:?}");
        assert_eq!((script.looked.get(), script.written.get()), (1, 2));
        assert_eq!(
            budget.waited.get(),
            0,
            "{repeat:?}: no wait before a safe repeat"
        );
    }
    // It could: the lookup is polled through the whole budget first.
    let budget = Budget::of(3);
    let script = Script::new([None, None, None, None], [Err(lost()), Ok("new")]);
    let written = script.run(&budget, Repeat::Duplicates, false).await;
    assert_eq!(written.unwrap(), Written::Made("new"));
    assert_eq!((script.looked.get(), script.written.get()), (4, 2));
    assert_eq!(budget.waited.get(), 3);
}

#[tokio::test]
async fn an_object_that_shows_up_while_polling_is_not_written_again() {
    let budget = Budget::of(5);
    let script = Script::new([None, None, Some("made")], [Err(lost())]);
    let written = script.run(&budget, Repeat::Duplicates, false).await;
    assert_eq!(written.unwrap(), Written::Found("made"));
    assert_eq!((script.looked.get(), script.written.get()), (3, 1));
    assert_eq!(budget.waited.get(), 2);
}

#[tokio::test]
async fn already_exists_is_success_once_the_lookup_shows_ours() {
    // Not visible yet at first: waited for through replication.
    let budget = Budget::of(5);
    let script = Script::new([None, None, Some("ours")], [Err(exists())]);
    let written = script.run(&budget, Repeat::Refused, false).await;
    assert_eq!(written.unwrap(), Written::Found("ours"));
    assert_eq!(script.written.get(), 1);
    assert_eq!(budget.waited.get(), 2);

    // After a lost answer, the repeat's "already exists" is the first write.
    let script = Script::new([None, Some("ours")], [Err(lost()), Err(exists())]);
    let written = script.run(&Budget::of(5), Repeat::Refused, false).await;
    assert_eq!(written.unwrap(), Written::Found("ours"));
    assert_eq!(script.written.get(), 2);
}

#[tokio::test]
async fn already_exists_for_something_not_ours_is_the_refusal() {
    let budget = Budget::of(2);
    let script = Script::new([], [Err(exists())]);
    let error = script
        .run(&budget, Repeat::Refused, false)
        .await
        .unwrap_err();
    assert!(
        error.graph_code().is_some_and(GraphCode::already_exists),
        "{error:?}"
    );
    assert_eq!((script.looked.get(), script.written.get()), (3, 1));
    assert_eq!(budget.waited.get(), 2, "waited for the whole budget");
}

#[tokio::test]
async fn a_bad_request_that_is_not_already_exists_is_final() {
    let refused = graph(
        400,
        "Request_BadRequest",
        "Property 'displayName' is required.",
    );
    let budget = Budget::of(5);
    let script = Script::new([None], [Err(refused)]);
    let error = script
        .run(&budget, Repeat::Refused, true)
        .await
        .unwrap_err();
    assert_eq!(error.graph_code(), Some(&GraphCode::BadRequest));
    assert_eq!((script.looked.get(), script.written.get()), (1, 1));
    assert_eq!(budget.waited.get(), 0);
}

#[tokio::test]
async fn an_upsert_refused_on_its_repeat_was_made_by_the_lost_answer() {
    let denied = || {
        graph(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        )
    };
    let script = Script::new([None, None, Some("made")], [Err(lost()), Err(denied())]);
    let written = script.run(&Budget::of(5), Repeat::Upsert, false).await;
    assert_eq!(written.unwrap(), Written::Found("made"));
    assert_eq!(script.written.get(), 2);

    // Refused at once: a refusal, not a sign of anything.
    for repeat in [Repeat::Upsert, Repeat::Refused] {
        let script = Script::new([], [Err(denied())]);
        let error = script.run(&Budget::of(5), repeat, false).await.unwrap_err();
        assert_eq!(
            error.graph_code(),
            Some(&GraphCode::AuthorizationRequestDenied)
        );
        assert_eq!((script.looked.get(), script.written.get()), (0, 1));
    }
}

#[tokio::test]
async fn answers_lost_every_time_end_with_the_lost_answer_after_four_sends() {
    let script = Script::new([], [Err(lost()), Err(lost()), Err(lost()), Err(lost())]);
    let error = script
        .run(&Budget::of(0), Repeat::Refused, false)
        .await
        .unwrap_err();
    assert!(matches!(error, EntraError::Ambiguous { .. }), "{error:?}");
    assert_eq!((script.looked.get(), script.written.get()), (4, 4));
}

#[tokio::test]
async fn a_lookup_that_fails_ends_the_run() {
    let replication = Local(&Budget::of(5));
    let written = Cell::new(0);
    let error = WriteOnce::new(&replication, Repeat::Refused)
        .run(
            async || -> Result<Option<()>, EntraError> {
                Err(graph(403, "Authorization_RequestDenied", "No."))
            },
            async || {
                written.set(written.get() + 1);
                Ok(())
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        error.graph_code(),
        Some(&GraphCode::AuthorizationRequestDenied)
    );
    assert_eq!(written.get(), 0);
}
