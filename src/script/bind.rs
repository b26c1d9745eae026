//! How the script functions reach the session: the runner binds its `&mut Session` to the
//! thread that evaluates the script for exactly as long as the evaluation lasts, and every API
//! function borrows it through [`with`] for the duration of one session call.
//!
//! Rhai (feature `sync`) wants `'static + Send + Sync` closures, so they cannot capture the
//! borrow itself; a thread-local cell holds it instead. The pointer is taken *out* of the cell
//! while a function uses it, so two `&mut Session` can never exist at once (a nested `run` binds
//! its own borrow on its own thread and gives it back when done).

use crate::session::Session;
use std::cell::Cell;
use std::marker::PhantomData;
use std::ptr::null_mut;

thread_local! {
    static CURRENT: Cell<*mut Session> = const { Cell::new(null_mut()) };
}

/// The binding of a session to the current thread; unbinds when dropped.
pub struct Bound<'a> {
    prev: *mut Session,
    _borrow: PhantomData<&'a mut Session>,
}

/// Binds `session` to the current thread until the returned guard is dropped.
pub fn bind(session: &mut Session) -> Bound<'_> {
    let prev = CURRENT.with(|c| c.replace(session as *mut Session));
    Bound {
        prev,
        _borrow: PhantomData,
    }
}

impl Drop for Bound<'_> {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.prev));
    }
}

/// Why [`with`] could not give the session.
#[derive(Debug)]
pub struct NotBound;

/// Runs `f` with the session bound to this thread.
pub fn with<R>(f: impl FnOnce(&mut Session) -> R) -> Result<R, NotBound> {
    let p = CURRENT.with(|c| c.replace(null_mut()));
    if p.is_null() {
        return Err(NotBound);
    }
    struct Restore(*mut Session);
    impl Drop for Restore {
        fn drop(&mut self) {
            CURRENT.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(p);
    // SAFETY: `p` comes from the `&mut Session` that a live `Bound<'a>` guard on this thread
    // borrows for `'a` (the guard restores the previous pointer when dropped, before the borrow
    // ends). The cell is emptied while `f` runs, so no second reference is made from it.
    Ok(f(unsafe { &mut *p }))
}
