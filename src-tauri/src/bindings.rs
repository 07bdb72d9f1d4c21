//! The TypeScript types the UI uses (`ui/src/lib/bindings.ts`), generated from the Rust types
//! so the two cannot drift: this test fails when the file is not what the types say.
//! `SIMU_UPDATE_BINDINGS=1 cargo test --manifest-path src-tauri/Cargo.toml bindings` rewrites it.

use ts_rs::{Config, TS};

/// One `export type` per type, with its doc comment.
fn declare<T: TS + ?Sized>(cfg: &Config, out: &mut String) {
    if let Some(docs) = T::docs() {
        out.push_str(&docs);
    }
    out.push_str("export ");
    out.push_str(&T::decl(cfg));
    out.push_str("\n\n");
}

fn generate() -> String {
    // Counters and durations fit in a JavaScript number; `bigint` would not serialise from JSON.
    let cfg = Config::new().with_large_int("number");
    let mut out = String::from(
        "// Generated from the Rust types by src-tauri/src/bindings.rs: do not edit by hand.\n\n",
    );
    macro_rules! declare_all {
        ($($t:ty),* $(,)?) => { $(declare::<$t>(&cfg, &mut out);)* };
    }
    declare_all!(
        crate::error::AppError,
        crate::error::ErrorKind,
        crate::commands::AppInfo,
        crate::commands::HistoryQueryIn,
        crate::core::SignedIn,
        crate::core::SignInReq,
        crate::profile::Mode,
        crate::profile::DeviceChoices,
        crate::devices::DeviceSettings,
        crate::devices::CameraChoice,
        call::CallEvent,
        call::CallState,
        call::Outcome,
        call::Preset,
        call::Quality,
        call::StatsSample,
        call::stats::VideoIn,
        call::stats::AudioIn,
        call::stats::VideoOut,
        call::stats::AudioOut,
        nx::CallType,
        nx::DialLink,
        nx::rest::Contact,
        nx::rest::ContactList,
        nx::rest::CallRecord,
        nx::rest::HistoryPage,
        media::VideoCodec,
        media::devices::AudioDevice,
        media::devices::DeviceSnapshot,
        media::camera::CameraInfo,
        serde_json::Value,
    );
    out.trim_end().to_string() + "\n"
}

#[test]
fn ui_bindings_match_the_rust_types() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/lib/bindings.ts");
    let fresh = generate();
    if std::env::var_os("SIMU_UPDATE_BINDINGS").is_some() {
        std::fs::write(&path, &fresh).expect("write bindings");
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == fresh,
        "{} is out of date: run SIMU_UPDATE_BINDINGS=1 cargo test --manifest-path src-tauri/Cargo.toml bindings",
        path.display()
    );
}
