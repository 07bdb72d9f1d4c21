//! The one error every command returns: a kind the UI can act on and a message it can show.

use call::CallError;
use media::devices::DeviceError;
use nx::{RestError, SignInError};
use serde::Serialize;

/// What the UI can do about an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// No one is signed in: show the sign-in screen.
    NotSignedIn,
    /// What the user typed or chose is not valid: show the message by the field.
    Invalid,
    /// The server refused who we are (a wrong password, a name that is someone else's).
    Refused,
    /// The server cannot be reached or did not answer in time: try again later.
    Unreachable,
    /// The server answered with an error.
    Server,
    /// The call cannot do that now (already in a call, no call to act on).
    CallState,
    /// A camera, microphone or speaker failed.
    Device,
    /// Something on this computer failed (the keyring, a file, a thread).
    Local,
}

/// A command's failure, as the UI receives it: `{ kind, message }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[error("{message}")]
pub struct AppError {
    pub kind: ErrorKind,
    pub message: String,
}

impl AppError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    pub fn not_signed_in() -> Self {
        Self::new(ErrorKind::NotSignedIn, "Not signed in.")
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, message)
    }

    pub fn local(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Local, message)
    }
}

impl From<RestError> for AppError {
    fn from(e: RestError) -> Self {
        let kind = match &e {
            RestError::Network { .. } | RestError::Timeout(_) => ErrorKind::Unreachable,
            RestError::Http { status: 401, .. } => ErrorKind::Refused,
            RestError::Http { status: 400, .. } => ErrorKind::Invalid,
            RestError::BadUrl(_) => ErrorKind::Invalid,
            RestError::NotSignedIn => ErrorKind::NotSignedIn,
            RestError::Http { .. } | RestError::Decode(_) => ErrorKind::Server,
        };
        Self::new(kind, explain(&e))
    }
}

impl From<SignInError> for AppError {
    fn from(e: SignInError) -> Self {
        match e {
            SignInError::Refused(why) => {
                Self::new(ErrorKind::Refused, format!("Sign-in refused: {why}"))
            }
            SignInError::Rest(e) => e.into(),
        }
    }
}

impl From<CallError> for AppError {
    fn from(e: CallError) -> Self {
        let kind = match &e {
            CallError::BadAddress(_)
            | CallError::Quality(_)
            | CallError::UnknownCamera(_)
            | CallError::ConferenceTooSmall => ErrorKind::Invalid,
            CallError::Busy | CallError::NoCall => ErrorKind::CallState,
            CallError::NoCamera | CallError::NoOtherCamera | CallError::Media(_) => {
                ErrorKind::Device
            }
            CallError::SignalingOffline(_) => ErrorKind::Unreachable,
            CallError::Stopped => ErrorKind::NotSignedIn,
        };
        Self::new(kind, e.to_string())
    }
}

impl From<DeviceError> for AppError {
    fn from(e: DeviceError) -> Self {
        Self::new(ErrorKind::Device, e.to_string())
    }
}

impl From<tokio::task::JoinError> for AppError {
    fn from(e: tokio::task::JoinError) -> Self {
        Self::local(format!("A background task failed: {e}"))
    }
}

/// User-facing text for REST failures (bad address, server down, bad credentials).
fn explain(e: &RestError) -> String {
    match e {
        RestError::Network { url, .. } => {
            let server = url.split("/api/").next().unwrap_or(url);
            format!("Cannot reach the server at {server}. Is it running, and is the address right?")
        }
        RestError::Timeout(_) => "The server did not answer in time.".into(),
        RestError::BadUrl(u) => format!("\"{u}\" is not a server address (try http://host:port)."),
        RestError::Http {
            status: 401,
            message,
        } => format!("Sign-in refused: {message}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_kind_and_message() {
        let e = AppError::from(CallError::Busy);
        assert_eq!(
            serde_json::to_value(&e).expect("json"),
            serde_json::json!({ "kind": "call_state", "message": "already in a call" })
        );
    }

    #[test]
    fn an_unreachable_server_is_unreachable_not_refused() {
        let e = AppError::from(RestError::Network {
            url: "http://10.0.0.1:9/api/v1.0/x".into(),
            reason: "refused".into(),
        });
        assert_eq!(e.kind, ErrorKind::Unreachable);
        assert!(e.message.contains("http://10.0.0.1:9"), "{}", e.message);
    }
}
