//! Secrets at rest (issue 13, CONTRACT §8): the master key seals client secrets and the token
//! key, `admin rekey` seals what was stored before, and the SQLite files are owner-only.

use crate::on_each_backend;
use crate::support::*;
use snapqris_client::{PartnerSession, TransactionAuth};
use snapqris_test_support::Serve;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

/// Stored form of a sealed token key: `sealed:` + Base64 of version, nonce, 32 bytes, tag.
const SEALED_TOKEN_KEY_LEN: usize = "sealed:".len() + (1_usize + 12 + 32 + 16).div_ceil(3) * 4;

/// Makes a master key file in the database's directory with `keygen --master-key`.
fn new_master_key(database: &ProcessDatabase, name: &str) -> PathBuf {
    let path = database.dir().join(name);
    let output = database
        .snapqris()
        .args(["keygen", "--master-key"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    path
}

/// Every client secret and shared secret, as the database stores them.
async fn stored_secrets(database: &ProcessDatabase) -> Vec<Vec<u8>> {
    snapqris_test_support::stored_secrets(database.url()).await
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// Asserts that the database holds the partner's secret and the token key sealed only, and
/// (SQLite) that the secret is nowhere in the database's files.
async fn assert_nothing_in_clear(database: &ProcessDatabase) {
    let stored = stored_secrets(database).await;
    assert_eq!(stored.len(), 2, "a client secret and the token key");
    for value in &stored {
        assert!(
            value.starts_with(b"sealed:"),
            "{}",
            String::from_utf8_lossy(value)
        );
        assert!(!contains(value, SECRET.as_bytes()));
    }
    assert!(
        stored
            .iter()
            .any(|value| value.len() == SEALED_TOKEN_KEY_LEN)
    );
    if let Some(path) = database.url().strip_prefix("sqlite://") {
        for file in [path.to_owned(), format!("{path}-wal")] {
            let bytes = std::fs::read(&file).unwrap_or_default();
            assert!(!contains(&bytes, SECRET.as_bytes()), "{file}");
        }
    }
}

/// A signed generate (HMAC with `SECRET`) after a token (RSA) succeeds on `server`.
async fn partner_still_signs(server: &Serve) {
    let session = session_on(server).await;
    let body = serde_json::json!({"partnerReferenceNo": "ref-1", "merchantId": MERCHANT});
    let (_, response) = session.call(GENERATE, &body).await.unwrap();
    assert_code(&response, "2004700");
}

/// `snapqris … admin partner list` with the database's current key setting.
fn partner_list(database: &ProcessDatabase) -> Output {
    database
        .snapqris()
        .args(["admin", "partner", "list"])
        .output()
        .unwrap()
}

/// Asserts exit status 1 and one `error: …` line on stderr; returns that line.
fn fails_with_one_line(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line expected: {stderr:?}");
    assert!(stderr.starts_with("error: "), "{stderr:?}");
    stderr
}

on_each_backend!(
    with_a_master_key_no_secret_is_stored_in_clear_and_the_partner_still_signs,
    rekey_seals_what_was_stored_without_a_key_and_a_second_run_changes_nothing,
    a_sealed_database_without_its_key_fails_with_one_line,
    rekey_from_the_previous_key_moves_every_secret_to_the_new_one,
);

async fn with_a_master_key_no_secret_is_stored_in_clear_and_the_partner_still_signs(
    backend: Backend,
) {
    let mut database = ProcessDatabase::new(&backend).await;
    database.master_key_file = Some(new_master_key(&database, "master.key"));
    database.register_partner_and_merchant();
    let server = database.serve();
    partner_still_signs(&server).await;
    assert_nothing_in_clear(&database).await;
    assert!(!server.stderr().contains("no master key"));
}

async fn rekey_seals_what_was_stored_without_a_key_and_a_second_run_changes_nothing(
    backend: Backend,
) {
    let mut database = ProcessDatabase::new(&backend).await;
    database.register_partner_and_merchant();
    let before = database.serve();
    let session = session_on(&before).await;
    drop(before);
    assert!(
        stored_secrets(&database)
            .await
            .contains(&SECRET.as_bytes().to_vec())
    );

    database.master_key_file = Some(new_master_key(&database, "master.key"));
    let first = database.run_ok(&["admin", "rekey"]);
    assert_eq!(
        first.trim(),
        "rekey: 2 sealed, 0 re-sealed from the previous key, 0 already sealed under this key"
    );
    assert_nothing_in_clear(&database).await;
    let sealed = stored_secrets(&database).await;
    let second = database.run_ok(&["admin", "rekey"]);
    assert_eq!(
        second.trim(),
        "rekey: 0 sealed, 0 re-sealed from the previous key, 2 already sealed under this key"
    );
    assert_eq!(stored_secrets(&database).await, sealed, "nothing rewritten");

    let after = database.serve();
    partner_still_signs(&after).await;
    // The token key kept its value, sealed: a token taken before the rekey still works.
    let mut old_token = PartnerSession::new(
        after.base_url(),
        PARTNER,
        partner_key(),
        TransactionAuth::Hmac {
            client_secret: SECRET.into(),
        },
    )
    .unwrap();
    old_token.set_token(session.token().map(str::to_owned));
    let body = serde_json::json!({"partnerReferenceNo": "ref-2", "merchantId": MERCHANT});
    let (_, response) = old_token.call(GENERATE, &body).await.unwrap();
    assert_code(&response, "2004700");
}

async fn a_sealed_database_without_its_key_fails_with_one_line(backend: Backend) {
    let mut database = ProcessDatabase::new(&backend).await;
    database.master_key_file = Some(new_master_key(&database, "master.key"));
    database.register_partner_and_merchant();

    let other = new_master_key(&database, "other.key");
    for key in [None, Some(other)] {
        database.master_key_file = key.clone();
        let line = fails_with_one_line(&partner_list(&database));
        let expected = if key.is_some() {
            "does not open under this master key"
        } else {
            "is sealed and no master key was given"
        };
        assert!(line.contains(expected), "{line}");
        let mut server = database.spawn_serve();
        let status = server
            .wait_exit(std::time::Duration::from_secs(20))
            .expect("serve refuses to start");
        assert_eq!(status.code(), Some(1));
        // Log lines may come first (PostgreSQL's migration notices); the error is one line.
        let stderr = server.stderr();
        let errors: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with("error: "))
            .collect();
        assert_eq!(errors.len(), 1, "{stderr}");
        assert!(errors[0].contains(expected), "{stderr}");
    }
}

async fn rekey_from_the_previous_key_moves_every_secret_to_the_new_one(backend: Backend) {
    let mut database = ProcessDatabase::new(&backend).await;
    let old = new_master_key(&database, "old.key");
    let new = new_master_key(&database, "new.key");
    database.master_key_file = Some(old.clone());
    database.register_partner_and_merchant();
    drop(database.serve());

    database.master_key_file = Some(new.clone());
    let line = fails_with_one_line(
        &database
            .snapqris()
            .args(["admin", "rekey"])
            .output()
            .unwrap(),
    );
    assert!(
        line.contains("does not open under this master key"),
        "{line}"
    );
    let old_text = old.display().to_string();
    let moved = database.run_ok(&["admin", "rekey", "--from-key-file", &old_text]);
    assert_eq!(
        moved.trim(),
        "rekey: 0 sealed, 2 re-sealed from the previous key, 0 already sealed under this key"
    );
    assert!(partner_list(&database).status.success());
    database.master_key_file = Some(old);
    fails_with_one_line(&partner_list(&database));
    database.master_key_file = Some(new);
    partner_still_signs(&database.serve()).await;
}

/// `snapqris --database sqlite://<dir>/t.db ARGS` in a fresh directory.
fn sqlite_database() -> (tempfile::TempDir, PathBuf, impl Fn(&[&str]) -> Output) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let url = format!("sqlite://{}", path.display());
    let cwd = dir.path().to_owned();
    let run = move |args: &[&str]| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_snapqris"));
        command.current_dir(&cwd).env_remove("RUST_LOG");
        for (name, _) in std::env::vars() {
            if name.starts_with("SNAPQRIS_") {
                command.env_remove(name);
            }
        }
        command
            .arg("--database")
            .arg(&url)
            .args(args)
            .output()
            .unwrap()
    };
    (dir, path, run)
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn keygen_master_key_makes_an_owner_only_32_byte_file_and_never_overwrites_it() {
    let (dir, _, run) = sqlite_database();
    let path = dir.path().join("master.key");
    let path_text = path.display().to_string();
    let made = run(&["keygen", "--master-key", &path_text]);
    assert!(made.status.success(), "{made:?}");
    let key = std::fs::read(&path).unwrap();
    assert_eq!(key.len(), 32);
    assert_eq!(mode(&path), 0o600);
    let again = run(&["keygen", "--master-key", &path_text]);
    assert!(fails_with_one_line(&again).contains("already exists"));
    assert_eq!(std::fs::read(&path).unwrap(), key, "not overwritten");
    let both = run(&["keygen", "--master-key", &path_text, "--out", "keys"]);
    assert_eq!(both.status.code(), Some(2), "one or the other");
}

#[test]
fn a_master_key_file_missing_of_the_wrong_size_or_readable_by_others_fails_with_one_line() {
    let (dir, _, run) = sqlite_database();
    let short = dir.path().join("short.key");
    std::fs::write(&short, [7_u8; 31]).unwrap();
    std::fs::set_permissions(&short, std::fs::Permissions::from_mode(0o600)).unwrap();
    let open = dir.path().join("open.key");
    std::fs::write(&open, [7_u8; 32]).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o644)).unwrap();
    let missing = dir.path().join("missing.key");
    for (path, why) in [
        (&missing, "cannot open master key file"),
        (&short, "holds 31 bytes"),
        (&open, "readable by group or others"),
    ] {
        let path = path.display().to_string();
        for command in [
            &["admin", "partner", "list"][..],
            &["serve", "--listen", "127.0.0.1:0"],
        ] {
            let args: Vec<&str> = ["--master-key-file", path.as_str()]
                .into_iter()
                .chain(command.iter().copied())
                .collect();
            let line = fails_with_one_line(&run(&args));
            assert!(line.contains(why), "{command:?}: {line}");
        }
    }
}

#[test]
fn serve_without_a_master_key_says_so_once_on_stderr() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let database = runtime.block_on(ProcessDatabase::new(&Backend::Sqlite));
    let mut server = database.serve();
    server.terminate();
    server.wait_exit(std::time::Duration::from_secs(20));
    let stderr = server.stderr();
    assert_eq!(stderr.matches("no master key").count(), 1, "{stderr}");
}

#[test]
fn the_master_key_file_is_a_setting_a_flag_beats_a_variable_which_beats_the_file() {
    let (dir, _, run) = sqlite_database();
    let config = dir.path().join("snapqris.toml");
    std::fs::write(&config, "master_key_file = \"from-file.key\"\n").unwrap();
    let config = config.display().to_string();
    let printed = |extra: &[&str]| {
        let args: Vec<&str> = ["--config", config.as_str()]
            .into_iter()
            .chain(extra.iter().copied())
            .chain(["serve", "--print-config"])
            .collect();
        let output = run(&args);
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    assert!(printed(&[]).contains("master_key_file = \"from-file.key\""));
    assert!(printed(&["--master-key-file", "flag.key"]).contains("master_key_file = \"flag.key\""));
    let (_plain_dir, _, plain) = sqlite_database();
    let unset = plain(&["serve", "--print-config"]);
    assert!(String::from_utf8_lossy(&unset.stdout).contains("master_key_file = \"\""));
    // The variable: the test's own process environment is not touched; the binary reads it.
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_snapqris"));
    let output = command
        .current_dir(dir.path())
        .env("SNAPQRIS_MASTER_KEY_FILE", "variable.key")
        .args(["--config", &config, "serve", "--print-config"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&output.stdout).contains("master_key_file = \"variable.key\""));
}

#[test]
fn the_database_and_its_wal_and_shm_files_are_readable_by_their_owner_only() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let database = runtime.block_on(ProcessDatabase::new(&Backend::Sqlite));
    let path = database.url().strip_prefix("sqlite://").unwrap().to_owned();
    let server = database.serve();
    for file in [path.clone(), format!("{path}-wal"), format!("{path}-shm")] {
        assert_eq!(mode(Path::new(&file)), 0o600, "{file}");
    }
    drop(server);
}

#[test]
fn a_database_file_readable_by_others_is_made_owner_only_when_opened() {
    let (_dir, path, run) = sqlite_database();
    assert!(run(&["admin", "partner", "list"]).status.success());
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(run(&["admin", "partner", "list"]).status.success());
    assert_eq!(mode(&path), 0o600);
}
