//! A cancellation flag shared between whoever asked for a generation and the model thread.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Cheap to clone; every clone sees the same flag. The model thread checks it between two tokens.
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<Flag>);

#[derive(Debug, Default)]
struct Flag {
    cancelled: AtomicBool,
    parent: Option<CancelToken>,
}

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }

    /// A token that is cancelled with this one, and can also be cancelled alone: one step of a
    /// job can end early while the job's own cancellation still reaches it between any two tokens.
    pub fn child(&self) -> Self {
        Self(Arc::new(Flag {
            cancelled: AtomicBool::new(false),
            parent: Some(self.clone()),
        }))
    }

    pub fn cancel(&self) {
        self.0.cancelled.store(true, Ordering::Release);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::Acquire)
            || self
                .0
                .parent
                .as_ref()
                .is_some_and(CancelToken::is_cancelled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_is_cancelled_with_its_parent_but_not_the_other_way() {
        let parent = CancelToken::new();
        let step = parent.child();
        step.cancel();
        assert!(step.is_cancelled());
        assert!(!parent.is_cancelled());

        let other_step = parent.child();
        parent.cancel();
        assert!(other_step.is_cancelled());
    }
}
