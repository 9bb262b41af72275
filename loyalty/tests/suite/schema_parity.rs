//! Both migration sets must build one schema. A fresh SQLite database and a
//! fresh PostgreSQL schema are read back from their catalogues and compared
//! table by table, up to what is only dialect: a CHECK, a key or a default
//! that one backend lacks is a rule the other enforces alone.

use std::collections::{BTreeMap, BTreeSet};

use loyalty::testing::{table_names, TestDb};
use loyalty::{Backend, Db};

/// The differences that are meant, exactly as the test prints them, each
/// with why it is only dialect. An entry that no longer occurs fails the
/// test as well, so the list cannot outlive its reasons.
const MEANT: &[(&str, &str)] = &[];

#[tokio::test]
#[ignore = "needs PostgreSQL: set TABLECARD_TEST_POSTGRES_URL (make test then runs it)"]
async fn sqlite_and_postgres_migrations_build_the_same_schema() {
    let sqlite = TestDb::sqlite().await;
    let postgres = TestDb::postgres().await;
    let sqlite_schema = schema_of(&sqlite.db).await;
    let postgres_schema = schema_of(&postgres.db).await;
    sqlite.finish().await;
    postgres.finish().await;

    // A catalogue query that silently found nothing would make both sides
    // agree about it.
    for (backend, schema) in [("SQLite", &sqlite_schema), ("PostgreSQL", &postgres_schema)] {
        for kind in [".id", " foreign key (", " unique (", " check (", " index "] {
            assert!(
                schema
                    .values()
                    .flat_map(|facts| facts.keys())
                    .any(|subject| subject.contains(kind)),
                "nothing like {kind:?} read from {backend}: an introspection query is broken"
            );
        }
    }

    let found = differences(&sqlite_schema, &postgres_schema);
    let unexpected: Vec<&str> = found
        .iter()
        .map(String::as_str)
        .filter(|line| !MEANT.iter().any(|(meant, _)| meant == line))
        .collect();
    let stale: Vec<&str> = MEANT
        .iter()
        .map(|(meant, _)| *meant)
        .filter(|meant| !found.iter().any(|line| line == meant))
        .collect();
    assert!(
        unexpected.is_empty() && stale.is_empty(),
        "the SQLite and PostgreSQL migrations build different schemas.\n\
         Differences not in MEANT (fix the migrations; list only a dialect difference, with its reason):\n{}\n\
         Entries of MEANT that no longer occur (remove them):\n{}",
        indented(&unexpected),
        indented(&stale),
    );
}

fn indented(lines: &[&str]) -> String {
    if lines.is_empty() {
        return "  (none)".into();
    }
    lines
        .iter()
        .map(|line| format!("  {line}\n"))
        .collect::<String>()
        .trim_end()
        .into()
}

/// One backend's schema: per table, what is known about it, by subject (a
/// column, a foreign key, a unique column set, the checks on some columns,
/// an index), with one value per occurrence.
type Schema = BTreeMap<String, Facts>;
type Facts = BTreeMap<String, Vec<String>>;

fn note(facts: &mut Facts, subject: String, value: String) {
    facts.entry(subject).or_default().push(value);
}

/// The lines that tell the two schemas apart, one per table or subject
/// (the subjects of a table only one side has are left out).
fn differences(sqlite: &Schema, postgres: &Schema) -> Vec<String> {
    let mut lines = Vec::new();
    let tables: BTreeSet<&String> = sqlite.keys().chain(postgres.keys()).collect();
    for table in tables {
        let (Some(s), Some(p)) = (sqlite.get(table), postgres.get(table)) else {
            let presence = |schema: &Schema| {
                if schema.contains_key(table) {
                    "table"
                } else {
                    "(none)"
                }
            };
            lines.push(format!(
                "table {table}: sqlite={} postgres={}",
                presence(sqlite),
                presence(postgres)
            ));
            continue;
        };
        let subjects: BTreeSet<&String> = s.keys().chain(p.keys()).collect();
        for subject in subjects {
            let (a, b) = (shown(s.get(subject)), shown(p.get(subject)));
            if a != b {
                lines.push(format!("{subject}: sqlite={a} postgres={b}"));
            }
        }
    }
    lines
}

fn shown(values: Option<&Vec<String>>) -> String {
    let Some(values) = values else {
        return "(none)".into();
    };
    let mut values = values.clone();
    values.sort();
    match values.as_slice() {
        [one] => one.clone(),
        [first, ..] if values.iter().all(|v| v == first) => format!("{first} ×{}", values.len()),
        _ => values.join("; "),
    }
}

async fn schema_of(db: &Db) -> Schema {
    match db.backend() {
        Backend::Sqlite => sqlite_schema(db).await,
        Backend::Postgres => postgres_schema(db).await,
    }
}

/// The default of a column the database numbers itself: PostgreSQL's
/// identity (or serial) and SQLite's INTEGER PRIMARY KEY AUTOINCREMENT both
/// hand out ids that are never used twice.
const IDENTITY: &str = "<identity>";
/// SQLite's INTEGER PRIMARY KEY without AUTOINCREMENT: the rowid, whose
/// highest value is handed out again once its row is deleted.
const ROWID: &str = "<rowid>";

fn column(family: &str, not_null: bool, default: Option<&str>, pk: i64, pk_len: usize) -> String {
    let mut s = format!("{family} {}", if not_null { "NOT NULL" } else { "NULL" });
    if let Some(default) = default {
        s.push_str(&format!(" DEFAULT {default}"));
    }
    match (pk, pk_len) {
        (0, _) => {}
        (_, 1) => s.push_str(" PRIMARY KEY"),
        (n, len) => s.push_str(&format!(" PRIMARY KEY {n}/{len}")),
    }
    s
}

fn foreign_key(table: &str, from: &[String], parent: &str, to: &[String]) -> String {
    format!(
        "{table} foreign key ({}) → {parent} ({})",
        from.join(", "),
        to.join(", ")
    )
}

fn actions(on_delete: &str, on_update: &str) -> String {
    format!("ON DELETE {on_delete} ON UPDATE {on_update}")
}

/// A unique key by its columns, whatever its name and whether a constraint
/// or an index made it.
fn unique(table: &str, columns: &[String], predicate: Option<&str>) -> String {
    let set: BTreeSet<&String> = columns.iter().collect();
    let set: Vec<&str> = set.into_iter().map(String::as_str).collect();
    let mut s = format!("{table} unique ({})", set.join(", "));
    if let Some(predicate) = predicate {
        s.push_str(&format!(" WHERE {predicate}"));
    }
    s
}

fn index(columns: &[String], predicate: Option<&str>) -> String {
    let mut s = format!("({})", columns.join(", "));
    if let Some(predicate) = predicate {
        s.push_str(&format!(" WHERE {predicate}"));
    }
    s
}

/// An index as both catalogues describe it: a unique one is a key (its name
/// does not matter), any other is known by its name.
fn note_index(
    facts: &mut Facts,
    table: &str,
    name: &str,
    is_unique: bool,
    columns: &[String],
    predicate: Option<&str>,
) {
    if is_unique {
        note(facts, unique(table, columns, predicate), "UNIQUE".into());
    } else {
        note(
            facts,
            format!("{table} index {name}"),
            index(columns, predicate),
        );
    }
}

fn check(table: &str, columns: BTreeSet<String>) -> String {
    let columns: Vec<String> = columns.into_iter().collect();
    format!("{table} check ({})", columns.join(", "))
}

/// SQLite's column affinity, by its rules for a declared type.
fn sqlite_family(declared: &str) -> &'static str {
    let t = declared.to_ascii_uppercase();
    if t.contains("INT") {
        "integer"
    } else if ["CHAR", "CLOB", "TEXT"].iter().any(|s| t.contains(s)) {
        "text"
    } else if t.is_empty() || t.contains("BLOB") {
        "blob"
    } else if ["REAL", "FLOA", "DOUB"].iter().any(|s| t.contains(s)) {
        "real"
    } else {
        "numeric"
    }
}

fn postgres_family(data_type: &str) -> String {
    match data_type {
        "bigint" | "integer" | "smallint" => "integer",
        "text" | "character varying" | "character" => "text",
        "bytea" => "blob",
        "real" | "double precision" => "real",
        other => other,
    }
    .into()
}

/// SQLite actions are spelled out; PostgreSQL's are one letter.
fn postgres_action(code: &str) -> &'static str {
    match code {
        "a" => "NO ACTION",
        "r" => "RESTRICT",
        "c" => "CASCADE",
        "n" => "SET NULL",
        "d" => "SET DEFAULT",
        _ => "?",
    }
}

fn split(list: &str) -> Vec<String> {
    list.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

// ---- SQLite: sqlite_master and the pragma table functions -----------------

type SqliteColumn = (String, String, i64, Option<String>, i64);
type SqliteForeignKey = (i64, String, String, Option<String>, String, String);
type SqliteIndex = (String, i64, String, i64);

async fn sqlite_schema(db: &Db) -> Schema {
    let mut schema = Schema::new();
    for table in table_names(db).await {
        let facts = schema.entry(table.clone()).or_default();
        let (create,): (String,) =
            sqlx::query_as("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = $1")
                .bind(&table)
                .fetch_one(db.pool())
                .await
                .expect("a table's CREATE statement");
        let create = tokens(&create);

        let columns: Vec<SqliteColumn> = sqlx::query_as(
            "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info($1) ORDER BY cid",
        )
        .bind(&table)
        .fetch_all(db.pool())
        .await
        .expect("a table's columns");
        let pk_len = columns.iter().filter(|c| c.4 > 0).count();
        for (name, declared, not_null, default, pk) in &columns {
            // The rowid: never NULL, numbered by SQLite.
            let rowid = *pk > 0 && pk_len == 1 && declared.eq_ignore_ascii_case("INTEGER");
            let default = if rowid {
                let autoincrement = create.contains(&Token::Word("autoincrement".into()));
                Some((if autoincrement { IDENTITY } else { ROWID }).to_owned())
            } else {
                default.as_deref().map(normalised)
            };
            note(
                facts,
                format!("{table}.{name}"),
                column(
                    sqlite_family(declared),
                    *not_null != 0 || rowid,
                    default.as_deref(),
                    *pk,
                    pk_len,
                ),
            );
        }

        let keys: Vec<SqliteForeignKey> = sqlx::query_as(
            "SELECT id, \"table\", \"from\", \"to\", on_delete, on_update \
             FROM pragma_foreign_key_list($1) ORDER BY id, seq",
        )
        .bind(&table)
        .fetch_all(db.pool())
        .await
        .expect("a table's foreign keys");
        let mut by_id: BTreeMap<i64, Vec<&SqliteForeignKey>> = BTreeMap::new();
        for key in &keys {
            by_id.entry(key.0).or_default().push(key);
        }
        for parts in by_id.values() {
            let (_, parent, _, _, on_delete, on_update) = parts[0];
            let from: Vec<String> = parts.iter().map(|k| k.2.clone()).collect();
            // REFERENCES parent without columns means its primary key.
            let to: Vec<String> = if parts.iter().all(|k| k.3.is_some()) {
                parts
                    .iter()
                    .map(|k| k.3.clone().unwrap_or_default())
                    .collect()
            } else {
                let pk: Vec<(String,)> = sqlx::query_as(
                    "SELECT name FROM pragma_table_info($1) WHERE pk > 0 ORDER BY pk",
                )
                .bind(parent)
                .fetch_all(db.pool())
                .await
                .expect("a parent's primary key");
                pk.into_iter().map(|(name,)| name).collect()
            };
            note(
                facts,
                foreign_key(&table, &from, parent, &to),
                actions(on_delete, on_update),
            );
        }

        let indexes: Vec<SqliteIndex> =
            sqlx::query_as("SELECT name, \"unique\", origin, partial FROM pragma_index_list($1)")
                .bind(&table)
                .fetch_all(db.pool())
                .await
                .expect("a table's indexes");
        for (name, is_unique, origin, partial) in indexes {
            if origin == "pk" {
                continue; // the primary key, told by the columns
            }
            let indexed: Vec<(Option<String>,)> =
                sqlx::query_as("SELECT name FROM pragma_index_info($1) ORDER BY seqno")
                    .bind(&name)
                    .fetch_all(db.pool())
                    .await
                    .expect("an index's columns");
            let indexed: Vec<String> = indexed
                .into_iter()
                .map(|(c,)| c.unwrap_or_else(|| "<expression>".into()))
                .collect();
            let predicate = if partial != 0 {
                let (sql,): (String,) = sqlx::query_as(
                    "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = $1",
                )
                .bind(&name)
                .fetch_one(db.pool())
                .await
                .expect("a partial index's CREATE statement");
                let sql = tokens(&sql);
                let at = sql
                    .iter()
                    .position(|t| *t == Token::Word("where".into()))
                    .expect("a partial index has a WHERE");
                Some(rendered(&sql[at + 1..]))
            } else {
                None
            };
            note_index(
                facts,
                &table,
                &name,
                is_unique != 0,
                &indexed,
                predicate.as_deref(),
            );
        }

        // No catalogue lists SQLite's CHECKs: they are read from the
        // statement that made the table (ALTER TABLE ADD COLUMN appends to it).
        let names: BTreeSet<String> = columns.iter().map(|c| c.0.to_lowercase()).collect();
        for expression in checks(&create) {
            let used = expression
                .iter()
                .filter_map(|t| match t {
                    Token::Word(w) if names.contains(w) => Some(w.clone()),
                    _ => None,
                })
                .collect();
            note(facts, check(&table, used), "CHECK".into());
        }
    }
    schema
}

/// The expressions of the CHECK constraints in a CREATE TABLE statement.
fn checks(create: &[Token]) -> Vec<&[Token]> {
    let mut found = Vec::new();
    let mut i = 0;
    while i + 1 < create.len() {
        if create[i] == Token::Word("check".into()) && create[i + 1] == Token::Symbol("(".into()) {
            let start = i + 2;
            let mut depth = 1;
            let mut end = start;
            while end < create.len() {
                match &create[end] {
                    Token::Symbol(s) if s == "(" => depth += 1,
                    Token::Symbol(s) if s == ")" => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                end += 1;
            }
            found.push(&create[start..end]);
            i = end;
        } else {
            i += 1;
        }
    }
    found
}

// ---- PostgreSQL: information_schema and pg_catalog ------------------------

type PostgresColumn = (String, String, String, Option<String>, String);
type PostgresForeignKey = (String, String, String, String, String);
type PostgresIndex = (String, i64, Option<String>, String);

/// SQL for the names of columns, in order and comma-separated: `attnums`
/// is an array of attribute numbers of the table `rel`.
fn attribute_names(attnums: &str, rel: &str) -> String {
    format!(
        "(SELECT COALESCE(string_agg(CAST(a.attname AS TEXT), ',' ORDER BY k.ord), '') \
          FROM unnest({attnums}) WITH ORDINALITY AS k(attnum, ord) \
          JOIN pg_attribute a ON a.attrelid = {rel} AND a.attnum = k.attnum)"
    )
}

async fn postgres_schema(db: &Db) -> Schema {
    let mut schema = Schema::new();
    for table in table_names(db).await {
        let facts = schema.entry(table.clone()).or_default();

        let pk: Vec<(String, i64)> = sqlx::query_as(
            "SELECT CAST(a.attname AS TEXT), CAST(k.i + 1 AS BIGINT) \
             FROM pg_index ix \
             JOIN pg_class t ON t.oid = ix.indrelid \
             JOIN pg_namespace n ON n.oid = t.relnamespace \
             CROSS JOIN LATERAL generate_series(0, ix.indnkeyatts - 1) AS k(i) \
             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ix.indkey[k.i] \
             WHERE ix.indisprimary AND n.nspname = current_schema() AND CAST(t.relname AS TEXT) = $1",
        )
        .bind(&table)
        .fetch_all(db.pool())
        .await
        .expect("a table's primary key");
        let pk: BTreeMap<String, i64> = pk.into_iter().collect();

        let columns: Vec<PostgresColumn> = sqlx::query_as(
            "SELECT CAST(column_name AS TEXT), CAST(data_type AS TEXT), CAST(is_nullable AS TEXT), \
                    CAST(column_default AS TEXT), CAST(is_identity AS TEXT) \
             FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        )
        .bind(&table)
        .fetch_all(db.pool())
        .await
        .expect("a table's columns");
        for (name, data_type, nullable, default, identity) in columns {
            let default = match default {
                _ if identity == "YES" => Some(IDENTITY.to_owned()),
                Some(d) if d.starts_with("nextval(") => Some(IDENTITY.to_owned()),
                d => d.as_deref().map(normalised),
            };
            note(
                facts,
                format!("{table}.{name}"),
                column(
                    &postgres_family(&data_type),
                    nullable == "NO",
                    default.as_deref(),
                    pk.get(&name).copied().unwrap_or(0),
                    pk.len(),
                ),
            );
        }

        let keys: Vec<PostgresForeignKey> = sqlx::query_as(&format!(
            "SELECT CAST(r.relname AS TEXT), {}, {}, CAST(c.confdeltype AS TEXT), CAST(c.confupdtype AS TEXT) \
             FROM pg_constraint c \
             JOIN pg_class t ON t.oid = c.conrelid \
             JOIN pg_namespace n ON n.oid = t.relnamespace \
             JOIN pg_class r ON r.oid = c.confrelid \
             WHERE c.contype = 'f' AND n.nspname = current_schema() AND CAST(t.relname AS TEXT) = $1",
            attribute_names("c.conkey", "c.conrelid"),
            attribute_names("c.confkey", "c.confrelid"),
        ))
        .bind(&table)
        .fetch_all(db.pool())
        .await
        .expect("a table's foreign keys");
        for (parent, from, to, on_delete, on_update) in keys {
            note(
                facts,
                foreign_key(&table, &split(&from), &parent, &split(&to)),
                actions(postgres_action(&on_delete), postgres_action(&on_update)),
            );
        }

        // Unique constraints are backed by unique indexes: reading the
        // indexes finds both kinds.
        let indexes: Vec<PostgresIndex> = sqlx::query_as(
            "SELECT CAST(i.relname AS TEXT), CAST(CASE WHEN ix.indisunique THEN 1 ELSE 0 END AS BIGINT), \
                    pg_get_expr(ix.indpred, ix.indrelid), \
                    (SELECT COALESCE(string_agg(COALESCE(CAST(a.attname AS TEXT), '<expression>'), ',' ORDER BY k.i), '') \
                     FROM generate_series(0, ix.indnkeyatts - 1) AS k(i) \
                     LEFT JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = ix.indkey[k.i]) \
             FROM pg_index ix \
             JOIN pg_class i ON i.oid = ix.indexrelid \
             JOIN pg_class t ON t.oid = ix.indrelid \
             JOIN pg_namespace n ON n.oid = t.relnamespace \
             WHERE NOT ix.indisprimary AND n.nspname = current_schema() AND CAST(t.relname AS TEXT) = $1",
        )
        .bind(&table)
        .fetch_all(db.pool())
        .await
        .expect("a table's indexes");
        for (name, is_unique, predicate, columns) in indexes {
            let columns = split(&columns);
            let predicate = predicate.as_deref().map(normalised);
            note_index(
                facts,
                &table,
                &name,
                is_unique != 0,
                &columns,
                predicate.as_deref(),
            );
        }

        // A CHECK's conkey lists the columns its expression reads.
        let checks: Vec<(String,)> = sqlx::query_as(&format!(
            "SELECT {} FROM pg_constraint c \
             JOIN pg_class t ON t.oid = c.conrelid \
             JOIN pg_namespace n ON n.oid = t.relnamespace \
             WHERE c.contype = 'c' AND n.nspname = current_schema() AND CAST(t.relname AS TEXT) = $1",
            attribute_names("c.conkey", "c.conrelid"),
        ))
        .bind(&table)
        .fetch_all(db.pool())
        .await
        .expect("a table's checks");
        for (columns,) in checks {
            note(
                facts,
                check(&table, split(&columns).into_iter().collect()),
                "CHECK".into(),
            );
        }
    }
    schema
}

// ---- SQL text, as far as the comparison needs it ---------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A keyword or identifier, lower-cased; a quoted identifier unquoted.
    Word(String),
    /// A string literal, quotes included.
    Text(String),
    Number(String),
    Symbol(String),
}

fn tokens(sql: &str) -> Vec<Token> {
    let chars: Vec<char> = sql.chars().collect();
    let at = |i: usize| chars.get(i).copied();
    let text = |from: usize, to: usize| chars[from..to.min(chars.len())].iter().collect::<String>();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(c) = at(i) {
        let start = i;
        if c.is_whitespace() {
            i += 1;
        } else if c == '-' && at(i + 1) == Some('-') {
            while at(i).is_some_and(|c| c != '\n') {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == Some('*') {
            i += 2;
            while at(i).is_some() && !(at(i) == Some('*') && at(i + 1) == Some('/')) {
                i += 1;
            }
            i += 2;
        } else if c == '\'' {
            i += 1;
            while let Some(c) = at(i) {
                i += 1;
                if c == '\'' {
                    if at(i) == Some('\'') {
                        i += 1;
                    } else {
                        break;
                    }
                }
            }
            out.push(Token::Text(text(start, i)));
        } else if c == '"' {
            i += 1;
            while at(i).is_some_and(|c| c != '"') {
                i += 1;
            }
            out.push(Token::Word(text(start + 1, i).to_lowercase()));
            i += 1;
        } else if c.is_alphabetic() || c == '_' {
            while at(i).is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
                i += 1;
            }
            out.push(Token::Word(text(start, i).to_lowercase()));
        } else if c.is_ascii_digit() {
            while at(i).is_some_and(|c| c.is_ascii_digit() || c == '.') {
                i += 1;
            }
            out.push(Token::Number(text(start, i)));
        } else {
            let two = text(i, i + 2);
            let len = if ["::", "<>", "<=", ">=", "!=", "||", "=="].contains(&two.as_str()) {
                2
            } else {
                1
            };
            i += len;
            out.push(Token::Symbol(text(start, i)));
        }
    }
    out
}

/// An expression as both dialects write it: without PostgreSQL's casts
/// (`'x'::text`, `'100000000000'::bigint`) and without parentheses, which
/// PostgreSQL adds around every comparison.
fn normalised(sql: &str) -> String {
    rendered(&tokens(sql))
}

fn rendered(tokens: &[Token]) -> String {
    let mut out: Vec<Token> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            Token::Symbol(s) if s == "::" => {
                i += 1;
                let mut type_name = Vec::new();
                while let Some(Token::Word(w)) = tokens.get(i) {
                    let continues = ["varying", "precision", "with", "without", "time", "zone"];
                    if !type_name.is_empty() && !continues.contains(&w.as_str()) {
                        break;
                    }
                    type_name.push(w.as_str());
                    i += 1;
                }
                if let Some(Token::Symbol(s)) = tokens.get(i) {
                    if s == "(" {
                        while tokens
                            .get(i)
                            .is_some_and(|t| *t != Token::Symbol(")".into()))
                        {
                            i += 1;
                        }
                        i += 1;
                    }
                }
                while matches!(tokens.get(i), Some(Token::Symbol(s)) if s == "[" || s == "]") {
                    i += 1;
                }
                let numeric = ["bigint", "integer", "smallint", "numeric"]
                    .contains(&type_name.join(" ").as_str());
                if let (true, Some(Token::Text(t))) = (numeric, out.last()) {
                    let inner = t.trim_matches('\'').to_owned();
                    if inner.parse::<f64>().is_ok() {
                        out.pop();
                        if let Some(negative) = inner.strip_prefix('-') {
                            out.push(Token::Symbol("-".into()));
                            out.push(Token::Number(negative.into()));
                        } else {
                            out.push(Token::Number(inner));
                        }
                    }
                }
            }
            Token::Symbol(s) if s == "(" || s == ")" => i += 1,
            token => {
                out.push(token.clone());
                i += 1;
            }
        }
    }
    out.iter()
        .map(|t| match t {
            Token::Word(s) | Token::Text(s) | Token::Number(s) | Token::Symbol(s) => s.as_str(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}
