//! Embeds the web call page (ui/dist-call, built by `cd ui && npm run build`) in the server,
//! each file raw and gzipped, so `simu server` alone serves it.

use flate2::write::GzEncoder;
use flate2::Compression;
use std::io::Write as _;
use std::path::{Path, PathBuf};

fn mime(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

fn main() {
    let manifest =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let dist = manifest.join("../../ui/dist-call");
    println!("cargo:rerun-if-changed={}", dist.display());
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dist) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    if !files
        .iter()
        .any(|f| f.file_name().is_some_and(|n| n == "call.html"))
    {
        panic!(
            "the web call page is not built: run `cd ui && npm ci && npm run build` (it writes {})",
            dist.display()
        );
    }
    let mut table = String::from("&[\n");
    for f in &files {
        let name = f
            .file_name()
            .and_then(|n| n.to_str())
            .expect("asset names are UTF-8");
        println!("cargo:rerun-if-changed={}", f.display());
        let raw = std::fs::read(f).expect("reading a built asset");
        let gz_path = out.join(format!("{name}.gz"));
        let mut enc = GzEncoder::new(Vec::new(), Compression::best());
        enc.write_all(&raw).expect("gzip in memory");
        std::fs::write(&gz_path, enc.finish().expect("gzip in memory")).expect("writing OUT_DIR");
        table.push_str(&format!(
            "    Asset {{ name: {name:?}, mime: {:?}, raw: include_bytes!({:?}), gzip: include_bytes!({:?}) }},\n",
            mime(name),
            abs(f),
            abs(&gz_path)
        ));
    }
    table.push(']');
    std::fs::write(out.join("call_page_assets.rs"), table).expect("writing OUT_DIR");
}

fn abs(p: &Path) -> String {
    p.canonicalize()
        .unwrap_or_else(|_| p.to_path_buf())
        .display()
        .to_string()
}
