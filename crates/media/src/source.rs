//! The seam between devices and calls: anything that yields pictures or audio frames.

use crate::frame::{AudioFrame, VideoFrame};

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum SourceError {
    #[error("device disappeared: {0}")]
    Gone(String),
    #[error("device error: {0}")]
    Device(String),
}

/// A source of pictures, polled at the call's frame rate on a media thread.
pub trait VideoSource: Send {
    fn next_frame(&mut self) -> Result<VideoFrame, SourceError>;
    /// A name to show the user.
    fn name(&self) -> String;
    /// True when no real camera is behind it.
    fn is_synthetic(&self) -> bool {
        false
    }
}

/// Where received audio is played: 20 ms mono 48 kHz frames in.
pub trait AudioSink: Send {
    fn play(&mut self, frame: &AudioFrame) -> Result<(), SourceError>;
    fn name(&self) -> String;
}

/// A source of 20 ms mono 48 kHz audio frames.
pub trait AudioSource: Send {
    fn next_frame(&mut self) -> Result<AudioFrame, SourceError>;
    fn name(&self) -> String;
    fn is_synthetic(&self) -> bool {
        false
    }
}
