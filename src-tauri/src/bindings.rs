//! The TypeScript types the UI uses (`ui/src/lib/bindings.ts`), generated from the Rust types
//! so the two cannot drift: a test fails when the file is not what the types say, and another
//! when the UI invokes a command the shell does not register (or the shell keeps one it never
//! invokes).
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
        crate::commands::MemberLevel,
        crate::commands::HistoryQueryIn,
        crate::core::SignedIn,
        crate::core::SignInReq,
        crate::profile::Mode,
        crate::profile::DeviceChoices,
        crate::devices::DeviceSettings,
        crate::devices::CameraChoice,
        crate::rules::CallRules,
        crate::notices::NoticeTexts,
        crate::background::Background,
        call::CallEvent,
        call::CallState,
        call::Outcome,
        call::Filtered,
        call::Membership,
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
        nx::rest::CallLinkInfo,
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

/// The command names the UI invokes (`invoke<..>("name"` in api.ts).
fn invoked_by_ui(api_ts: &str) -> std::collections::BTreeSet<String> {
    api_ts
        .split("invoke")
        .skip(1)
        .filter_map(|rest| rest.split_once("(\"").map(|(_, tail)| tail))
        .filter_map(|tail| tail.split_once('"').map(|(name, _)| name.to_string()))
        .collect()
}

/// The commands main.rs registers (`generate_handler![module::name, ...]`).
fn registered(main_rs: &str) -> std::collections::BTreeSet<String> {
    let list = main_rs
        .split_once("generate_handler![")
        .and_then(|(_, rest)| rest.split_once(']'))
        .map(|(list, _)| list)
        .unwrap_or_default();
    list.split(',')
        .filter_map(|item| item.trim().rsplit("::").next())
        .filter(|name| !name.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn the_ui_invokes_exactly_the_registered_commands() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let api = std::fs::read_to_string(root.join("../ui/src/lib/api.ts")).expect("api.ts");
    let main = std::fs::read_to_string(root.join("src/main.rs")).expect("main.rs");
    let (ui, shell) = (invoked_by_ui(&api), registered(&main));
    assert!(ui.len() > 10, "found the UI's commands: {ui:?}");
    let missing: Vec<_> = ui.difference(&shell).collect();
    let unused: Vec<_> = shell.difference(&ui).collect();
    assert!(
        missing.is_empty(),
        "the UI invokes unregistered commands: {missing:?}"
    );
    assert!(
        unused.is_empty(),
        "registered commands the UI never invokes: {unused:?}"
    );
}
