//! The thread that owns a device stream: a cpal stream (not `Send` on every platform), kept
//! alive until told to stop, or a blocking Pulse stream it reads or writes in a loop. Either
//! way it reports whether the stream started.

use super::DeviceError;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

/// A running stream; dropping it stops the stream and joins its thread.
pub struct StreamThread {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl StreamThread {
    /// Runs `build` on a new thread named `name` and waits (up to 5 s) for the stream to play.
    pub fn spawn(
        name: &str,
        label: &str,
        build: impl FnOnce() -> Result<cpal::Stream, String> + Send + 'static,
    ) -> Result<Self, DeviceError> {
        use cpal::traits::StreamTrait;
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let (started_tx, started_rx) = mpsc::sync_channel::<Result<(), String>>(1);
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let stream =
                    match build().and_then(|s| s.play().map(|_| s).map_err(|e| e.to_string())) {
                        Ok(s) => s,
                        Err(e) => {
                            let _ = started_tx.send(Err(e));
                            return;
                        }
                    };
                let _ = started_tx.send(Ok(()));
                let _ = stop_rx.recv();
                drop(stream);
            })
            .map_err(|e| DeviceError::Open(label.into(), e.to_string()))?;
        Self::started(label, &started_rx, stop_tx, thread)
    }
}

impl StreamThread {
    /// Opens a blocking stream with `open` on a new thread, then runs `step` on it until told
    /// to stop; an error from `step` goes to `gone` and ends the thread.
    pub fn spawn_loop<S: 'static>(
        name: &str,
        label: &str,
        open: impl FnOnce() -> Result<S, String> + Send + 'static,
        mut step: impl FnMut(&S) -> Result<(), String> + Send + 'static,
        gone: impl FnOnce(String) + Send + 'static,
    ) -> Result<Self, DeviceError> {
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let (started_tx, started_rx) = mpsc::sync_channel::<Result<(), String>>(1);
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let stream = match open() {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = started_tx.send(Err(e));
                        return;
                    }
                };
                let _ = started_tx.send(Ok(()));
                while matches!(stop_rx.try_recv(), Err(mpsc::TryRecvError::Empty)) {
                    if let Err(e) = step(&stream) {
                        gone(e);
                        return;
                    }
                }
            })
            .map_err(|e| DeviceError::Open(label.into(), e.to_string()))?;
        Self::started(label, &started_rx, stop_tx, thread)
    }
}

impl StreamThread {
    /// Waits (up to 5 s) for the thread to say whether its stream started.
    fn started(
        label: &str,
        started: &mpsc::Receiver<Result<(), String>>,
        stop: mpsc::Sender<()>,
        thread: JoinHandle<()>,
    ) -> Result<Self, DeviceError> {
        match started.recv_timeout(Duration::from_secs(5)) {
            Ok(Ok(())) => Ok(Self {
                stop: Some(stop),
                thread: Some(thread),
            }),
            Ok(Err(e)) => Err(DeviceError::Open(label.into(), e)),
            Err(_) => Err(DeviceError::Open(
                label.into(),
                "the device did not start".into(),
            )),
        }
    }
}

impl Drop for StreamThread {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
