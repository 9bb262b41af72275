//! `cargo xtask site`: the browser's half of Tablecard, built into
//! `target/site` the way `cargo leptos build --release --precompress` lays
//! it out, from crates the workspace already pins instead of a tool that
//! takes ten minutes to install.
//!
//! 1. the `frontend` crate for `wasm32-unknown-unknown` (profile
//!    `wasm-release`: small beats fast, every byte crosses a phone network);
//! 2. wasm-bindgen's JavaScript glue (its library, at the workspace's pin);
//! 3. binaryen's `wasm-opt -Oz` and esbuild's minifier (npm packages of
//!    `end2end/`, on PATH through the Makefile);
//! 4. the static files of `public/`;
//! 5. content hashes in the bundle's names and `hash.txt`, which leptos reads
//!    to link them (the server passes its path; see `server/src/http.rs`);
//! 6. a brotli (best) and a gzip copy of every file, served as they are.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use base64::Engine;
use md5::{Digest, Md5};

/// The name leptos links to (`LEPTOS_OUTPUT_NAME` in `.cargo/config.toml`).
const OUTPUT_NAME: &str = "tablecard";
const WASM_PROFILE: &str = "wasm-release";
const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// Browsers the stylesheet is written for (esbuild adds what they need).
const CSS_TARGETS: &str = "chrome100,edge100,firefox100,safari15,ios15";

type Result<T> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["site"] => site(&workspace_root()),
        _ => Err("usage: cargo xtask site".into()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// Where cargo puts what it builds (`CARGO_TARGET_DIR` moves it).
fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| root.join(dir))
        .unwrap_or_else(|| root.join("target"))
}

fn site(root: &Path) -> Result<()> {
    let started = Instant::now();
    let target = target_dir(root);
    let site = target.join("site");
    let pkg = site.join("pkg");

    let wasm = build_wasm(root)?;
    // A fresh site each time: no stale hashed file outlives its build.
    if site.exists() {
        fs::remove_dir_all(&site).map_err(|e| format!("cannot empty {}: {e}", site.display()))?;
    }
    fs::create_dir_all(&pkg).map_err(|e| format!("cannot create {}: {e}", pkg.display()))?;

    bindgen(&wasm, &pkg)?;
    let wasm_file = pkg.join(format!("{OUTPUT_NAME}.wasm"));
    fs::rename(pkg.join(format!("{OUTPUT_NAME}_bg.wasm")), &wasm_file)
        .map_err(|e| format!("wasm-bindgen wrote no {OUTPUT_NAME}_bg.wasm: {e}"))?;
    run(Command::new("wasm-opt")
        .args([
            "-Oz",
            "--enable-bulk-memory",
            "--enable-nontrapping-float-to-int",
        ])
        .arg(&wasm_file)
        .arg("-o")
        .arg(&wasm_file))?;
    let js_file = pkg.join(format!("{OUTPUT_NAME}.js"));
    run(Command::new("esbuild")
        .arg(&js_file)
        .args(["--minify", "--log-level=warning", "--allow-overwrite"])
        .arg(format!("--outfile={}", js_file.display())))?;
    run(Command::new("esbuild")
        .arg(root.join("style/main.css"))
        .args(["--minify", "--log-level=warning"])
        .arg(format!("--target={CSS_TARGETS}"))
        .arg(format!(
            "--outfile={}",
            pkg.join(format!("{OUTPUT_NAME}.css")).display()
        )))?;

    copy_dir(&root.join("public"), &site)?;
    let hashes = hash_names(&pkg)?;
    let manifest = ["js", "wasm", "css"]
        .iter()
        .map(|kind| format!("{kind}: {}\n", hashes[*kind]))
        .collect::<String>();
    precompress(&site)?;
    // Written last and never compressed: it is read by the server, not sent.
    fs::write(site.join("hash.txt"), manifest)
        .map_err(|e| format!("cannot write hash.txt: {e}"))?;
    eprintln!(
        "xtask: built {} in {:.1} s",
        site.strip_prefix(root).unwrap_or(&site).display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Builds the frontend crate; returns the `.wasm` cargo linked. Inherits the
/// environment, so a lint wrapper the Makefile sets applies here too.
fn build_wasm(root: &Path) -> Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    run(Command::new(cargo)
        .current_dir(root)
        .args(["build", "--quiet", "--package=frontend", "--lib"])
        .arg(format!("--target={WASM_TARGET}"))
        .arg(format!("--profile={WASM_PROFILE}")))?;
    Ok(target_dir(root)
        .join(WASM_TARGET)
        .join(WASM_PROFILE)
        .join("frontend.wasm"))
}

/// wasm-bindgen's glue for `<script type=module>` (`--target web`), with the
/// settings of its command-line tool except TypeScript, which nobody serves.
fn bindgen(wasm: &Path, out: &Path) -> Result<()> {
    let mut bindgen = wasm_bindgen_cli_support::Bindgen::new();
    bindgen
        .web(true)
        .map_err(|e| e.to_string())?
        .input_path(wasm)
        .out_name(OUTPUT_NAME)
        .debug(false)
        .demangle(true)
        .keep_debug(false)
        .typescript(false)
        .omit_default_module_path(false);
    bindgen
        .generate(out)
        .map_err(|e| format!("wasm-bindgen on {}: {e:#}", wasm.display()))
}

/// Renames `tablecard.{js,wasm,css}` to `tablecard.<hash>.<ext>`: the MD5 of
/// the bytes, base64url without padding, as cargo-leptos names them. Returns
/// each kind's hash.
fn hash_names(pkg: &Path) -> Result<BTreeMap<&'static str, String>> {
    let mut hashes = BTreeMap::new();
    for kind in ["js", "wasm", "css"] {
        let file = pkg.join(format!("{OUTPUT_NAME}.{kind}"));
        let bytes = fs::read(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let hash = content_hash(&bytes);
        fs::rename(&file, pkg.join(format!("{OUTPUT_NAME}.{hash}.{kind}")))
            .map_err(|e| format!("cannot rename {}: {e}", file.display()))?;
        hashes.insert(kind, hash);
    }
    Ok(hashes)
}

fn content_hash(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Md5::digest(bytes))
}

/// A `.br` (quality 11, window 22) and a `.gz` (best) beside every file.
fn precompress(dir: &Path) -> Result<()> {
    for file in files(dir)? {
        if matches!(file.extension().and_then(OsStr::to_str), Some("br" | "gz")) {
            continue;
        }
        let bytes = fs::read(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let mut br = Vec::new();
        {
            let mut writer = brotli::CompressorWriter::new(&mut br, 4096, 11, 22);
            writer.write_all(&bytes).map_err(|e| e.to_string())?;
        }
        let mut gz = flate2::GzBuilder::new()
            .mtime(0)
            .write(Vec::new(), flate2::Compression::best());
        gz.write_all(&bytes).map_err(|e| e.to_string())?;
        let gz = gz.finish().map_err(|e| e.to_string())?;
        for (ext, data) in [("br", br), ("gz", gz)] {
            let mut name = file.clone().into_os_string();
            name.push(format!(".{ext}"));
            fs::write(&name, data).map_err(|e| format!("cannot write {name:?}: {e}"))?;
        }
    }
    Ok(())
}

/// Every file below `dir`, depth first.
fn files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let entries = fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            found.extend(files(&path)?);
        } else {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    for file in files(from)? {
        let dest = to.join(file.strip_prefix(from).expect("listed below from"));
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        fs::copy(&file, &dest).map_err(|e| format!("cannot copy {}: {e}", file.display()))?;
    }
    Ok(())
}

fn run(command: &mut Command) -> Result<()> {
    let what = format!("{command:?}");
    let status = command.status().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!(
            "{} is not installed: `make deps` installs it",
            command.get_program().to_string_lossy()
        ),
        _ => format!("{what}: {e}"),
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_is_md5_in_base64url_without_padding_as_cargo_leptos_writes_it() {
        // MD5("") = d41d8cd98f00b204e9800998ecf8427e
        assert_eq!(content_hash(b""), "1B2M2Y8AsgTpgAmY7PhCfg");
        assert_eq!(content_hash(b"tablecard").len(), 22);
    }

    #[test]
    fn the_site_is_hashed_and_precompressed() {
        let dir = std::env::temp_dir().join(format!("xtask-test-{}", std::process::id()));
        let pkg = dir.join("pkg");
        fs::create_dir_all(&pkg).unwrap();
        for kind in ["js", "wasm", "css"] {
            fs::write(pkg.join(format!("{OUTPUT_NAME}.{kind}")), kind.repeat(100)).unwrap();
        }
        let hashes = hash_names(&pkg).unwrap();
        assert_eq!(hashes["css"], content_hash("css".repeat(100).as_bytes()));
        let js = pkg.join(format!("{OUTPUT_NAME}.{}.js", hashes["js"]));
        assert_eq!(fs::read_to_string(&js).unwrap(), "js".repeat(100));
        precompress(&dir).unwrap();

        let mut br = Vec::new();
        brotli::BrotliDecompress(
            &mut fs::File::open(format!("{}.br", js.display())).unwrap(),
            &mut br,
        )
        .unwrap();
        assert_eq!(br, "js".repeat(100).as_bytes());
        let mut gz = String::new();
        std::io::Read::read_to_string(
            &mut flate2::read::GzDecoder::new(
                fs::File::open(format!("{}.gz", js.display())).unwrap(),
            ),
            &mut gz,
        )
        .unwrap();
        assert_eq!(gz, "js".repeat(100));
        // Nine files: three, each with its .br and .gz; none compressed twice.
        assert_eq!(files(&dir).unwrap().len(), 9);
        fs::remove_dir_all(&dir).unwrap();
    }
}
