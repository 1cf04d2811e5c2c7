//! What a run is doing right now, for whoever shows liveness (the console's
//! progress line or heartbeat, [`super::live`]): the component being
//! compiled, the test running and, during a read, the records per stream so
//! far. Reads add their counts a batch at a time, so watching costs the read
//! one lock per batch, and nothing when no one watches.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The most streams a read's progress names; records of others are counted
/// under "other streams" (a plugin's catalog can be large).
const MAX_STREAMS: usize = 16;

/// The most characters of a stream name shown.
const MAX_NAME_CHARS: usize = 48;

/// The most finished reads kept for the report's throughput chart.
const MAX_READS: usize = 64;

/// The shared state: updated by the run, read by the display.
#[derive(Default)]
pub struct Progress {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    compiling: Option<(String, Instant)>,
    test: Option<Running>,
    /// The reads that ended, the first [`MAX_READS`].
    reads: Vec<ReadDone>,
}

/// A read that ended: its test, and per stream with records, how many and
/// at what rate.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadDone {
    pub test: String,
    /// Which of the test's reads it was (1 for the first).
    pub nth: u32,
    pub seconds: f64,
    /// (stream, records, records per second).
    pub streams: Vec<(String, u64, u64)>,
}

struct Running {
    id: String,
    started: Instant,
    /// How many reads the test has started.
    reads: u32,
    /// The read shown: the last one started (which of the test's reads,
    /// its streams). Reads of one test side by side each count their own.
    read: Option<(u32, Vec<StreamProgress>)>,
}

/// A stream of the current read: its records so far, and the span they
/// came in (from when the batch of its first record was asked for to when
/// the batch of its last came).
#[derive(Debug, Clone, PartialEq)]
pub struct StreamProgress {
    pub name: String,
    pub records: u64,
    first: Option<Instant>,
    last: Option<Instant>,
}

impl StreamProgress {
    fn new(name: String) -> Self {
        StreamProgress {
            name,
            records: 0,
            first: None,
            last: None,
        }
    }

    /// Records per second while the stream was read.
    pub fn rate(&self) -> u64 {
        match (self.first, self.last) {
            (Some(first), Some(last)) => {
                let secs = last.duration_since(first).as_secs_f64().max(1e-4);
                (self.records as f64 / secs) as u64
            }
            _ => 0,
        }
    }
}

/// What is happening now.
#[derive(Debug, Clone, PartialEq)]
pub enum Now {
    Idle,
    /// A component is being compiled (its name, for how long).
    Compiling {
        name: String,
        elapsed: Duration,
    },
    /// A test is running: its id, for how long; during a read, which of
    /// the test's reads it is and the records per stream so far.
    Testing {
        id: String,
        elapsed: Duration,
        read: Option<(u32, Vec<StreamProgress>)>,
    },
}

impl Progress {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn compiling(&self, name: &str) {
        self.state().compiling = Some((name.to_string(), Instant::now()));
    }

    pub fn compiled(&self) {
        self.state().compiling = None;
    }

    pub fn test_started(&self, id: &str) {
        self.state().test = Some(Running {
            id: id.to_string(),
            started: Instant::now(),
            reads: 0,
            read: None,
        });
    }

    pub fn test_ended(&self) {
        self.state().test = None;
    }

    /// A read of the running test starts over the streams `raw` (as records
    /// name them), shown as `streams` (secrets masked).
    pub fn read_started(&self, streams: &[String], raw: &[&str]) -> ReadCounter<'_> {
        // The last slot counts records of streams not named (past
        // MAX_STREAMS, or outside the catalog).
        let shown: Vec<StreamProgress> = streams
            .iter()
            .take(MAX_STREAMS)
            .map(|s| StreamProgress::new(clip(s)))
            .chain([StreamProgress::new("other streams".to_string())])
            .collect();
        let mut test = None;
        if let Some(running) = self.state().test.as_mut() {
            running.reads += 1;
            running.read = Some((running.reads, shown.clone()));
            test = Some((running.id.clone(), running.reads));
        }
        ReadCounter {
            progress: self,
            test,
            started: Instant::now(),
            streams: shown,
            batch_asked: Instant::now(),
            names: raw
                .iter()
                .take(MAX_STREAMS)
                .map(|s| s.to_string())
                .collect(),
            counts: vec![0; streams.len().min(MAX_STREAMS) + 1],
        }
    }

    /// The reads that ended so far (the first few dozen).
    pub fn reads(&self) -> Vec<ReadDone> {
        self.state().reads.clone()
    }

    /// What is happening now.
    pub fn now(&self) -> Now {
        let state = self.state();
        if let Some((name, since)) = &state.compiling {
            return Now::Compiling {
                name: name.clone(),
                elapsed: since.elapsed(),
            };
        }
        match &state.test {
            None => Now::Idle,
            Some(t) => Now::Testing {
                id: t.id.clone(),
                elapsed: t.started.elapsed(),
                read: t.read.clone(),
            },
        }
    }
}

fn clip(name: &str) -> String {
    let clipped: String = name.chars().take(MAX_NAME_CHARS).collect();
    let clipped = super::escape(&clipped).into_owned();
    if name.chars().count() > MAX_NAME_CHARS {
        format!("{clipped}…")
    } else {
        clipped
    }
}

/// Counts one read's records per stream, a batch at a time.
pub struct ReadCounter<'p> {
    progress: &'p Progress,
    /// The test reading, and which of its reads this is (none outside a test).
    test: Option<(String, u32)>,
    started: Instant,
    /// This read's streams so far.
    streams: Vec<StreamProgress>,
    /// When the batch being counted was asked for (the last count, or the
    /// read's start).
    batch_asked: Instant,
    /// The streams' names as records carry them.
    names: Vec<String>,
    /// Records since the last flush, per stream, the last for other streams.
    counts: Vec<u64>,
}

impl ReadCounter<'_> {
    /// Counts the records of `stream_names` (one per record of a batch), then
    /// adds them to the progress.
    pub fn count<'a>(&mut self, stream_names: impl Iterator<Item = &'a str>) {
        let other = self.counts.len() - 1;
        // Records come in runs of one stream: the last stream's slot is
        // tried first, so a record costs one comparison.
        let mut last = other;
        for stream in stream_names {
            if last == other || self.names[last] != stream {
                last = self.names.iter().position(|n| n == stream).unwrap_or(other);
            }
            self.counts[last] += 1;
        }
        let now = Instant::now();
        for (slot, &n) in self.streams.iter_mut().zip(&self.counts) {
            if n > 0 {
                slot.records += n;
                slot.first.get_or_insert(self.batch_asked);
                slot.last = Some(now);
            }
        }
        // Shown while it is the test's last read started.
        let mut state = self.progress.state();
        if let (Some(shown), Some((_, nth))) = (
            state.test.as_mut().and_then(|t| t.read.as_mut()),
            &self.test,
        ) && shown.0 == *nth
        {
            shown.1.clone_from(&self.streams);
        }
        drop(state);
        self.batch_asked = now;
        self.counts.iter_mut().for_each(|n| *n = 0);
    }
}

impl Drop for ReadCounter<'_> {
    /// The read ended: it joins the finished reads.
    fn drop(&mut self) {
        let Some((test, nth)) = self.test.take() else {
            return;
        };
        let done = ReadDone {
            test,
            nth,
            seconds: self.started.elapsed().as_secs_f64(),
            streams: self
                .streams
                .iter()
                .filter(|s| s.records > 0)
                .map(|s| (s.name.clone(), s.records, s.rate()))
                .collect(),
        };
        let mut state = self.progress.state();
        if state.reads.len() < MAX_READS {
            state.reads.push(done);
        }
    }
}

/// `n` with thousands separated: 1,234,567.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The line that says what is happening now, without the leading marker:
/// `basic_read/read 12 s: users 120,000 (10,000/s), purchases 3,000 (250/s)`.
pub fn describe(now: &Now) -> Option<String> {
    match now {
        Now::Idle => None,
        Now::Compiling { name, elapsed } => {
            Some(format!("compiling {name}: {} s", elapsed.as_secs()))
        }
        Now::Testing { id, elapsed, read } => {
            let mut line = format!("{} {} s", super::escape(id), elapsed.as_secs());
            if let Some((nth, streams)) = read {
                if *nth > 1 {
                    line.push_str(&format!(", read {nth}"));
                }
                let parts: Vec<String> = streams
                    .iter()
                    .filter(|s| s.records > 0)
                    .map(|s| {
                        format!(
                            "{} {} ({}/s)",
                            s.name,
                            thousands(s.records),
                            thousands(s.rate())
                        )
                    })
                    .collect();
                if parts.is_empty() {
                    line.push_str(": reading, no records yet");
                } else {
                    line.push_str(": ");
                    line.push_str(&parts.join(", "));
                }
            }
            Some(line)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_counts_records_per_stream_and_others_apart() {
        let p = Progress::default();
        assert_eq!(p.now(), Now::Idle);
        p.test_started("basic_read/read");
        let mut counter = p.read_started(
            &["users".into(), "purchases".into()],
            &["users", "purchases"],
        );
        counter.count(["users", "users", "purchases", "\x1b[2Jevil"].into_iter());
        counter.count(["users"].into_iter());
        let Now::Testing { id, read, .. } = p.now() else {
            panic!()
        };
        assert_eq!(id, "basic_read/read");
        let (nth, streams) = read.unwrap();
        assert_eq!(nth, 1);
        let counts: Vec<(&str, u64)> = streams
            .iter()
            .map(|s| (s.name.as_str(), s.records))
            .collect();
        assert_eq!(
            counts,
            [("users", 3), ("purchases", 1), ("other streams", 1)]
        );
        let line = describe(&p.now()).unwrap();
        assert!(line.starts_with("basic_read/read 0 s: users 3 ("), "{line}");
        assert!(line.contains(", other streams 1 ("), "{line}");
        drop(counter);
        // A new read starts from zero; a stream without records yet is not
        // named.
        let mut counter = p.read_started(&["users".into(), "quiet".into()], &["users", "quiet"]);
        counter.count(["users"].into_iter());
        let line = describe(&p.now()).unwrap();
        assert!(line.contains(", read 2: users 1 ("), "{line}");
        assert!(!line.contains("quiet") && !line.contains("other"), "{line}");
        drop(counter);
        let reads = p.reads();
        assert_eq!(reads.len(), 2, "{reads:?}");
        assert_eq!((reads[0].nth, reads[1].nth), (1, 2));
        assert_eq!(reads[1].streams.len(), 1);
        assert_eq!(reads[1].streams[0].1, 1);
        p.test_ended();
        assert_eq!(p.now(), Now::Idle);
    }

    /// Reads of one test side by side (the incremental slices) each count
    /// their own records; the line shows the last one started.
    #[test]
    fn reads_side_by_side_count_their_own_records() {
        let p = Progress::default();
        p.test_started("incremental/sequential_slices");
        let mut first = p.read_started(&["users".into()], &["users"]);
        let mut second = p.read_started(&["users".into()], &["users"]);
        first.count(["users", "users", "users"].into_iter());
        second.count(["users"].into_iter());
        first.count(["users"].into_iter());
        let line = describe(&p.now()).unwrap();
        assert!(line.contains(", read 2: users 1 ("), "{line}");
        drop(first);
        second.count(["users", "users"].into_iter());
        drop(second);
        let reads: Vec<(u32, u64)> = p.reads().iter().map(|r| (r.nth, r.streams[0].1)).collect();
        assert_eq!(reads, [(1, 4), (2, 3)]);
    }

    #[test]
    fn many_or_hostile_stream_names_are_bounded_and_escaped() {
        let p = Progress::default();
        p.test_started("t");
        let names: Vec<String> = (0..100)
            .map(|i| format!("s{i}\x1b[31m{}", "x".repeat(100)))
            .collect();
        let raw: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut counter = p.read_started(&names, &raw);
        counter.count(names.iter().map(String::as_str));
        let Now::Testing { read, .. } = p.now() else {
            panic!()
        };
        let (_, streams) = read.unwrap();
        assert_eq!(streams.len(), MAX_STREAMS + 1);
        let other = streams.last().unwrap();
        assert_eq!((other.name.as_str(), other.records), ("other streams", 84));
        assert!(
            streams
                .iter()
                .all(|s| !s.name.contains('\x1b') && s.name.chars().count() < 80)
        );
    }

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
