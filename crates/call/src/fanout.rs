//! One encoder's output handed to every leg of a call: each leg's writer has its own bounded
//! queue, so a slow leg loses frames without holding the others back.

use crate::pipeline::Encoded;
use std::sync::Mutex;
use tokio::sync::mpsc;

/// Every leg's queue for one kind of media.
pub struct Fanout {
    subs: Mutex<Vec<mpsc::Sender<Encoded>>>,
    /// Each leg's queue length.
    depth: usize,
}

/// Where one frame went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Delivery {
    pub delivered: usize,
    /// Legs whose queue was full: they miss this frame.
    pub full: usize,
}

impl Fanout {
    pub fn new(depth: usize) -> Self {
        Self {
            subs: Mutex::new(Vec::new()),
            depth,
        }
    }

    /// A new leg's queue.
    pub fn subscribe(&self) -> mpsc::Receiver<Encoded> {
        let (tx, rx) = mpsc::channel(self.depth);
        let mut subs = self.subs.lock().unwrap_or_else(|p| p.into_inner());
        subs.retain(|s| !s.is_closed());
        subs.push(tx);
        rx
    }

    /// Whether any leg can take another frame (otherwise encoding one is wasted).
    pub fn has_room(&self) -> bool {
        self.subs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .any(|s| s.capacity() > 0)
    }

    /// Gives `e` to every leg with room; legs that closed are forgotten.
    pub fn send(&self, e: &Encoded) -> Delivery {
        let mut subs = self.subs.lock().unwrap_or_else(|p| p.into_inner());
        subs.retain(|s| !s.is_closed());
        let mut d = Delivery::default();
        for s in subs.iter() {
            match s.try_send(e.clone()) {
                Ok(()) => d.delivered += 1,
                Err(mpsc::error::TrySendError::Full(_)) => d.full += 1,
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            }
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use std::time::Duration;

    fn frame(n: u8) -> Encoded {
        Encoded {
            data: Bytes::from(vec![n]),
            duration: Duration::from_millis(33),
            codec: None,
            key: false,
        }
    }

    #[test]
    fn every_leg_gets_each_frame_and_a_full_one_only_misses_it() {
        let f = Fanout::new(1);
        assert!(!f.has_room(), "no legs: nothing to encode for");
        let mut a = f.subscribe();
        let mut b = f.subscribe();
        assert_eq!(
            f.send(&frame(1)),
            Delivery {
                delivered: 2,
                full: 0
            }
        );
        assert_eq!(a.try_recv().map(|e| e.data[0]).ok(), Some(1));
        assert!(f.has_room(), "a has room again");
        assert_eq!(
            f.send(&frame(2)),
            Delivery {
                delivered: 1,
                full: 1
            }
        );
        assert_eq!(a.try_recv().map(|e| e.data[0]).ok(), Some(2));
        assert_eq!(
            b.try_recv().map(|e| e.data[0]).ok(),
            Some(1),
            "b missed frame 2"
        );
        drop(b);
        assert_eq!(
            f.send(&frame(3)),
            Delivery {
                delivered: 1,
                full: 0
            },
            "b is gone"
        );
    }
}
