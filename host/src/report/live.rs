//! Liveness on the console while a run works: on a terminal, a progress line
//! (indicatif) saying what runs, for how long, and during a read the records
//! and records per second of each stream; elsewhere (CI logs), the same as a
//! plain heartbeat line every few seconds while a test or a compile lasts.
//! Either way a test past the slow threshold is marked once, as nextest
//! does: `SLOW [> 30 s] basic_read/read`. Everything goes to stderr, so
//! stdout keeps only the verdicts.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::progress::{Now, Progress, describe};

/// How liveness is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A progress line redrawn in place (stderr is a terminal).
    Bar,
    /// A plain line every `every` while something lasts.
    Plain { every: Duration },
    /// Nothing (`-q`).
    Off,
}

/// How often the progress line is redrawn.
const TICK: Duration = Duration::from_millis(100);

/// How long a test runs before the progress line shows it (quick tests
/// would only flicker).
const SHOW_AFTER: Duration = Duration::from_millis(500);

/// The display: a thread that watches [`Progress`] until dropped.
pub struct Live {
    mode: Mode,
    bar: Arc<Mutex<Option<ProgressBar>>>,
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Live {
    /// Starts watching `progress`; tests that run longer than `slow` are
    /// marked SLOW.
    pub fn start(progress: Arc<Progress>, mode: Mode, slow: Duration) -> Live {
        let bar: Arc<Mutex<Option<ProgressBar>>> = Arc::default();
        let stop: Arc<(Mutex<bool>, Condvar)> = Arc::default();
        let thread = (mode != Mode::Off).then(|| {
            let (bar, stop) = (bar.clone(), stop.clone());
            std::thread::Builder::new()
                .name("ctest-live".into())
                .spawn(move || watch(&progress, mode, slow, &bar, &stop))
                .ok()
        });
        Live {
            mode,
            bar,
            stop,
            thread: Mutex::new(thread.flatten()),
        }
    }

    /// Runs `write` (a verdict for the console) once the progress line,
    /// which was about the test that just ended, is cleared; the next test
    /// that lasts gets a new one.
    pub fn clear_then<R>(&self, write: impl FnOnce() -> R) -> R {
        let mut bar = lock(&self.bar);
        if let Some(bar) = bar.take() {
            bar.finish_and_clear();
        }
        write()
    }

    /// Says `line` on stderr, above the progress line (not with `-q`).
    pub fn say(&self, line: &str) {
        if self.mode == Mode::Off {
            return;
        }
        say(&self.bar, line);
    }
}

impl Live {
    /// Stops watching and clears the progress line (once the run is over:
    /// whatever else holds the display, such as the host's compile
    /// observer, may outlive the run).
    pub fn finish(&self) {
        let (stopped, wake) = &*self.stop;
        *lock(stopped) = true;
        wake.notify_all();
        if let Some(thread) = lock(&self.thread).take() {
            let _ = thread.join();
        }
        if let Some(bar) = lock(&self.bar).take() {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.finish();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn say(bar: &Mutex<Option<ProgressBar>>, line: &str) {
    match &*lock(bar) {
        Some(bar) => bar.println(line),
        None => eprintln!("{line}"),
    }
}

/// What the display is about: a test's id or a compile's name.
fn subject(now: &Now) -> Option<String> {
    match now {
        Now::Idle => None,
        Now::Compiling { name, .. } => Some(format!("compile {name}")),
        Now::Testing { id, .. } => Some(id.clone()),
    }
}

fn watch(
    progress: &Progress,
    mode: Mode,
    slow: Duration,
    bar: &Mutex<Option<ProgressBar>>,
    stop: &(Mutex<bool>, Condvar),
) {
    let (stopped, wake) = stop;
    let mut current: Option<String> = None;
    let mut since = Instant::now();
    let mut next_beat = Instant::now();
    let mut marked_slow = false;
    loop {
        {
            let guard = lock(stopped);
            if *guard {
                return;
            }
            let (guard, _) = wake
                .wait_timeout(guard, TICK)
                .unwrap_or_else(|p| p.into_inner());
            if *guard {
                return;
            }
        }
        let now = progress.now();
        let about = subject(&now);
        if about != current {
            current = about;
            since = Instant::now();
            marked_slow = false;
            if let Mode::Plain { every } = mode {
                next_beat = since + every;
            }
        }
        if let Now::Testing { id, elapsed, .. } = &now
            && *elapsed >= slow
            && !marked_slow
        {
            marked_slow = true;
            say(
                bar,
                &format!("SLOW [> {} s] {}", slow.as_secs(), super::escape(id)),
            );
        }
        let line = describe(&now);
        match mode {
            Mode::Bar => {
                let mut shown = lock(bar);
                match line {
                    Some(line) if since.elapsed() >= SHOW_AFTER => {
                        let bar = shown.get_or_insert_with(new_bar);
                        bar.set_message(line);
                        bar.tick();
                    }
                    _ => {
                        if let Some(bar) = shown.take() {
                            bar.finish_and_clear();
                        }
                    }
                }
            }
            Mode::Plain { every } => {
                if let Some(line) = line
                    && Instant::now() >= next_beat
                {
                    eprintln!("     … {line}");
                    next_beat = Instant::now() + every;
                }
            }
            Mode::Off => return,
        }
    }
}

fn new_bar() -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{spinner} {wide_msg}") {
        bar.set_style(style);
    }
    bar
}
