//! The path from the migration's output to the terminal, with bounded memory. Observers (the
//! engine's thread, the runner's output readers) put notes in one queue, in the order things
//! happen; one printer thread takes them out and writes them. When the terminal cannot keep
//! up, the oldest waiting output lines beyond [`MAX_QUEUED_LINES`] / [`MAX_QUEUED_BYTES`] are
//! dropped and counted, and the count is shown where they would have been: the newest lines,
//! where a failure shows, still reach the terminal. States, status changes,
//! messages and the summary are never dropped (there are few of them). The runner keeps the
//! task's last lines for the Cause on its own, so dropping here never changes the Cause.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use super::progress::{Note, Progress, Summary};
use crate::common::sync;
use crate::local::LocalEvent;

/// Output lines waiting for the terminal, at most.
pub(crate) const MAX_QUEUED_LINES: usize = 4096;
/// Bytes of output lines waiting for the terminal, at most (a line is at most 16 KiB).
pub(crate) const MAX_QUEUED_BYTES: usize = 1024 * 1024;
/// At the end, how long the printer may go without finishing a write before the command
/// stops waiting for it (standard output is a pipe nobody reads).
pub(crate) const STALL_LIMIT: Duration = Duration::from_secs(5);

enum Item {
    Note(Note),
    Message(String),
    Summary(Box<Summary>),
    /// This many output lines were not shown here.
    Dropped(u64),
}

#[derive(Default)]
struct Queue {
    items: VecDeque<Item>,
    output_lines: usize,
    output_bytes: usize,
    dropped: u64,
    closed: bool,
    printer_done: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    /// Signalled when an item is queued or the queue closes (for the printer) and when the
    /// printer finishes a write or ends (for `finish`).
    changed: Condvar,
}

fn lock(shared: &Shared) -> MutexGuard<'_, Queue> {
    sync::lock(&shared.queue)
}

/// The sending side; cheap to clone into observers.
#[derive(Clone)]
pub(crate) struct Relay {
    shared: Arc<Shared>,
}

/// The printer thread, to wait for at the end.
pub(crate) struct Printer {
    shared: Arc<Shared>,
    thread: JoinHandle<()>,
}

/// Starts the printer thread over `progress`.
pub(crate) fn start(progress: Progress) -> std::io::Result<(Relay, Printer)> {
    let shared = Arc::new(Shared {
        queue: Mutex::new(Queue::default()),
        changed: Condvar::new(),
    });
    let printing = shared.clone();
    let thread = std::thread::Builder::new()
        .name("ecs-migrate-printer".into())
        .spawn(move || print_all(&printing, progress))?;
    Ok((
        Relay {
            shared: shared.clone(),
        },
        Printer { shared, thread },
    ))
}

fn output_size(note: &Note) -> Option<usize> {
    match note {
        Note::Runner(LocalEvent::Output { line, .. }) => Some(line.len()),
        _ => None,
    }
}

impl Relay {
    /// Queues a state, status change or output line; when the queue is full of output, its
    /// oldest output lines make room.
    pub(crate) fn note(&self, note: Note) {
        let mut queue = lock(&self.shared);
        if let Some(size) = output_size(&note) {
            if queue.closed {
                queue.dropped += 1;
                return;
            }
            while queue.output_lines > 0
                && (queue.output_lines >= MAX_QUEUED_LINES
                    || queue.output_bytes + size > MAX_QUEUED_BYTES)
            {
                drop_oldest_output(&mut queue);
            }
            queue.output_lines += 1;
            queue.output_bytes += size;
        }
        push(&mut queue, Item::Note(note));
        drop(queue);
        self.shared.changed.notify_all();
    }

    /// Queues a line of the command's own (never dropped).
    pub(crate) fn message(&self, text: &str) {
        self.push(Item::Message(text.to_string()));
    }

    /// Queues the summary (never dropped).
    pub(crate) fn summary(&self, summary: Summary) {
        self.push(Item::Summary(Box::new(summary)));
    }

    fn push(&self, item: Item) {
        let mut queue = lock(&self.shared);
        push(&mut queue, item);
        drop(queue);
        self.shared.changed.notify_all();
    }
}

/// Removes the oldest queued output line, counting it in a marker at its place (merged with
/// the markers next to it).
fn drop_oldest_output(queue: &mut Queue) {
    let Some(index) = queue
        .items
        .iter()
        .position(|item| matches!(item, Item::Note(note) if output_size(note).is_some()))
    else {
        return;
    };
    if let Some(Item::Note(note)) = queue.items.remove(index) {
        queue.output_lines -= 1;
        queue.output_bytes -= output_size(&note).unwrap_or(0);
    }
    let mut count = 1;
    if let Some(Item::Dropped(after)) = queue.items.get(index) {
        count += after;
        queue.items.remove(index);
    }
    match index.checked_sub(1).and_then(|i| queue.items.get_mut(i)) {
        Some(Item::Dropped(before)) => *before += count,
        _ => queue.items.insert(index, Item::Dropped(count)),
    }
}

/// Appends `item`, after the count of lines dropped (once the queue closed) before it.
fn push(queue: &mut Queue, item: Item) {
    if queue.dropped > 0 {
        let dropped = std::mem::take(&mut queue.dropped);
        queue.items.push_back(Item::Dropped(dropped));
    }
    queue.items.push_back(item);
}

impl Printer {
    /// Closes the queue and waits until everything queued is written, or until the printer
    /// has not finished a write for [`STALL_LIMIT`] (then what is left is not shown).
    pub(crate) fn finish(self) {
        let mut queue = lock(&self.shared);
        queue.closed = true;
        self.shared.changed.notify_all();
        while !queue.printer_done {
            let before = queue.items.len();
            let (next, timeout) = self
                .shared
                .changed
                .wait_timeout(queue, STALL_LIMIT)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            queue = next;
            if timeout.timed_out() && queue.items.len() == before && !queue.printer_done {
                // Standard output takes nothing: leave the printer blocked and exit.
                return;
            }
        }
        drop(queue);
        let _ = self.thread.join();
    }
}

/// The printer thread: writes items in order until the queue is closed and empty.
fn print_all(shared: &Shared, mut progress: Progress) {
    while let Some(item) = next_item(shared) {
        match item {
            Item::Note(note) => progress.note(note),
            Item::Message(text) => progress.message(&text),
            Item::Summary(summary) => progress.summary(&summary),
            Item::Dropped(count) => progress.dropped(count),
        }
        // Wakes `finish`, which counts a finished write as progress.
        shared.changed.notify_all();
    }
    lock(shared).printer_done = true;
    shared.changed.notify_all();
}

/// Waits for the next item to write: the oldest queued, else the count of lines dropped;
/// `None` once the queue is closed and empty.
fn next_item(shared: &Shared) -> Option<Item> {
    let mut queue = lock(shared);
    loop {
        if let Some(item) = queue.items.pop_front() {
            if let Item::Note(note) = &item {
                if let Some(size) = output_size(note) {
                    queue.output_lines -= 1;
                    queue.output_bytes -= size;
                }
            }
            return Some(item);
        }
        if queue.dropped > 0 {
            return Some(Item::Dropped(std::mem::take(&mut queue.dropped)));
        }
        if queue.closed {
            return None;
        }
        queue = shared
            .changed
            .wait(queue)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::OutputStream;

    fn output(line: &str) -> Note {
        Note::Runner(LocalEvent::Output {
            task_arn: "t".into(),
            container: "c".into(),
            stream: OutputStream::Stdout,
            line: line.into(),
        })
    }

    /// A relay whose printer never runs, so the queue is as a stalled terminal leaves it.
    fn stalled() -> Relay {
        Relay {
            shared: Arc::new(Shared {
                queue: Mutex::new(Queue::default()),
                changed: Condvar::new(),
            }),
        }
    }

    /// The queue as text: `S` a state, `N` an output line N, `[N]` N dropped lines.
    fn shape(relay: &Relay) -> Vec<String> {
        lock(&relay.shared)
            .items
            .iter()
            .map(|item| match item {
                Item::Note(Note::State(name)) => format!("S{name}"),
                Item::Note(Note::Runner(LocalEvent::Output { line, .. })) => line.clone(),
                Item::Dropped(n) => format!("[{n}]"),
                _ => "?".into(),
            })
            .collect()
    }

    #[test]
    fn the_oldest_output_makes_room_and_is_counted_in_place() {
        let relay = stalled();
        relay.note(Note::State("A".into()));
        for i in 0..MAX_QUEUED_LINES + 3 {
            relay.note(output(&i.to_string()));
        }
        relay.note(Note::State("B".into()));
        relay.note(output("last"));
        let items = shape(&relay);
        // States stay; the four oldest lines became one marker where they were.
        assert_eq!(&items[..3], &["SA", "[4]", "4"]);
        assert_eq!(&items[items.len() - 2..], &["SB", "last"]);
        let queue = lock(&relay.shared);
        assert_eq!(queue.output_lines, MAX_QUEUED_LINES);
        let lines = items.iter().filter(|i| i.parse::<u64>().is_ok()).count();
        assert_eq!(lines + 4 + 1, MAX_QUEUED_LINES + 3 + 1);
    }

    #[test]
    fn queued_bytes_are_bounded_too() {
        let relay = stalled();
        let long = "x".repeat(16 * 1024);
        for _ in 0..200 {
            relay.note(output(&long));
        }
        let queue = lock(&relay.shared);
        assert!(
            queue.output_bytes <= MAX_QUEUED_BYTES,
            "{}",
            queue.output_bytes
        );
        assert_eq!(queue.output_lines, MAX_QUEUED_BYTES / long.len());
        assert!(
            matches!(queue.items.front(), Some(Item::Dropped(n)) if *n == 200 - queue.output_lines as u64)
        );
    }
}
