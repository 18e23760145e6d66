//! `admin operator add|remove` and `admin audit list`: who may log in to the console
//! (CONTRACT §7) and what they did there.

use crate::cli::args::{AuditCommand, OperatorCommand};
use crate::cli::show::say;
use anyhow::{Context, anyhow};
use snapqris_protocol::format_rfc3339_jakarta;
use snapqris_store::{Constraint, Entity, Operator, Store, StoreError};
use std::io::{BufRead, Write};
use time::OffsetDateTime;

/// The longest operator name.
const MAX_NAME: usize = 64;
/// The shortest password taken from stdin.
const MIN_PASSWORD: usize = 12;
/// The longest password (the console looks at no more).
const MAX_PASSWORD: usize = 256;

/// Runs `admin operator …`.
pub(crate) async fn operator(store: &dyn Store, command: OperatorCommand) -> anyhow::Result<()> {
    match command {
        OperatorCommand::Add {
            name,
            password_stdin,
        } => add(store, &name, password_stdin).await,
        OperatorCommand::Remove { name } => match store.remove_operator(&name).await {
            Ok(()) => Ok(say!("operator {name} removed")?),
            Err(StoreError::NotFound(Entity::Operator)) => {
                Err(anyhow!("no operator named {name:?}"))
            }
            Err(other) => Err(other).context("cannot remove the operator"),
        },
    }
}

async fn add(store: &dyn Store, name: &str, password_stdin: bool) -> anyhow::Result<()> {
    let name_ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._@-".contains(c));
    if !name_ok {
        return Err(anyhow!(
            "an operator name is 1 to {MAX_NAME} letters, digits or . _ @ -"
        ));
    }
    let (password, generated) = if password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from stdin")?;
        let password = line.trim_end_matches(['\n', '\r']).to_owned();
        let length = password.chars().count();
        if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&length) {
            return Err(anyhow!(
                "the password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters"
            ));
        }
        (password, false)
    } else {
        (
            snapqris_server::generate_password().map_err(|e| anyhow!(e))?,
            true,
        )
    };
    let password_hash = snapqris_server::hash_password(&password).map_err(|e| anyhow!(e))?;
    let operator = Operator {
        name: name.to_owned(),
        password_hash,
        created_at: OffsetDateTime::now_utc(),
    };
    match store.add_operator(&operator).await {
        Ok(()) => {}
        Err(StoreError::Conflict(Constraint::OperatorName)) => {
            return Err(anyhow!("an operator named {name:?} exists already"));
        }
        Err(other) => return Err(other).context("cannot add the operator"),
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "operator {name} added")?;
    if generated {
        // Shown once: only its hash is stored.
        writeln!(out, "password: {password}")?;
    }
    Ok(())
}

/// Runs `admin audit list`: tab-separated, a header row, newest first.
pub(crate) async fn audit(store: &dyn Store, command: AuditCommand) -> anyhow::Result<()> {
    let AuditCommand::List { limit } = command;
    let entries = store
        .audit_log(limit, None)
        .await
        .context("cannot read the audit log")?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "id\ttime\toperator\taction\ttarget\tdetail")?;
    for e in entries {
        let e_ = &e.entry;
        // Operator-typed text (a reason) must not break the table's shape.
        let clean = |text: &str| text.replace(['\t', '\n', '\r'], " ");
        writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}",
            e.id,
            format_rfc3339_jakarta(e_.at),
            clean(&e_.operator),
            clean(&e_.action),
            clean(&e_.target),
            clean(&e_.detail)
        )?;
    }
    Ok(())
}
