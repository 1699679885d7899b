//! `scripts/setup.sh` decides what to install from what the later build steps
//! load. A fresh Debian 12 image has `libclang-cpp.so.14` (the C++ API) and no
//! `libclang.so`; bindgen needs the latter, so setup must install libclang-dev
//! there. These tests run the script's `--plan` mode (it installs nothing)
//! against directories laid out like a fresh machine and a finished one.

use std::path::Path;
use std::process::Command;

/// The `apt:` line of `scripts/setup.sh --plan` with `lib_dir` as the only
/// place to look for libclang.
fn apt_plan(lib_dir: &Path) -> Vec<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/setup.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg("--plan")
        .env("CAIRN_SETUP_LIB_DIRS", lib_dir)
        .output()
        .expect("run scripts/setup.sh --plan");
    assert!(
        out.status.success(),
        "setup.sh --plan failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).expect("plan is text");
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("apt:"))
        .unwrap_or_else(|| panic!("no apt: line in plan:\n{stdout}"));
    line.split_whitespace().map(str::to_owned).collect()
}

fn lib_dir_with(files: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for f in files {
        std::fs::write(dir.path().join(f), b"").expect("create library file");
    }
    dir
}

#[test]
fn fresh_machine_with_only_libclang_cpp_installs_libclang_dev() {
    let dir = lib_dir_with(&["libclang-cpp.so.14", "libclang-cpp.so"]);
    let plan = apt_plan(dir.path());
    assert!(plan.contains(&"libclang-dev".to_owned()), "plan: {plan:?}");
}

#[test]
fn empty_library_dir_installs_libclang_dev() {
    let dir = lib_dir_with(&[]);
    assert!(apt_plan(dir.path()).contains(&"libclang-dev".to_owned()));
}

#[test]
fn each_name_bindgen_loads_counts_as_installed() {
    for name in [
        "libclang.so",
        "libclang-14.so",
        "libclang.so.1",
        "libclang-14.so.1",
    ] {
        let dir = lib_dir_with(&["libclang-cpp.so.14", name]);
        let plan = apt_plan(dir.path());
        assert!(
            !plan.contains(&"libclang-dev".to_owned()),
            "{name} present, yet plan installs libclang-dev: {plan:?}"
        );
    }
}

#[test]
fn unknown_argument_is_refused_with_its_name() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/setup.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg("--install-everything")
        .output()
        .expect("run scripts/setup.sh");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--install-everything"));
}
