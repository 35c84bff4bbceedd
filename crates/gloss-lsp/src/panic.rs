//! Containing panics: a bug in one handler costs that request, never the server.
//!
//! tower-lsp polls every handler future inside its own serve loop, so a panic that escaped a handler
//! would unwind through the loop and end the process. Every handler body runs inside [`CatchUnwind`].

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A future that turns a panic while polling `inner` into `Err(message)`.
pub struct CatchUnwind<F> {
    inner: Pin<Box<F>>,
}

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, String>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.inner.as_mut();
        // Unwind safety: after a panic the future is never polled again; the state it shares with
        // other handlers (documents, settings) is only changed inside short critical sections whose
        // mutexes recover from poisoning.
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(payload) => Poll::Ready(Err(message(payload.as_ref()))),
        }
    }
}

pub fn catch_unwind<F: Future>(future: F) -> CatchUnwind<F> {
    CatchUnwind {
        inner: Box::pin(future),
    }
}

/// The text of a panic's payload.
pub fn message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_becomes_an_error() {
        let outcome = catch_unwind(async {
            tokio::task::yield_now().await;
            panic!("boom");
        })
        .await;
        assert_eq!(outcome, Err::<(), _>("boom".to_owned()));
        assert_eq!(catch_unwind(async { 3 }).await, Ok(3));
    }
}
