/**
 * The SQLite schema of the execution store, as `@effect/sql` migrations.
 *
 * @internal
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"

/** The terminal states, as an SQL list (constants, never user input). */
export const terminalStatesSql = "('Succeeded', 'Failed', 'Interrupted', 'TimedOut')"

/** The non-terminal states, as an SQL list. */
export const unfinishedStatesSql = "('Queued', 'Running', 'Interrupting')"

/**
 * The first schema. Times are INTEGER epoch milliseconds; the fields a query can use are
 * real columns, the rest of the record is JSON. `labels` and `grants` mirror the record's
 * labels and read/write grants so that `labels.<name>` conditions and `readableBy` run in
 * SQL with indexes.
 *
 * Every execution has a stable integer key `seq`, assigned in creation order; the other
 * tables refer to it rather than to the (random) UUID. Rows of executions that are active
 * at the same time therefore sit next to each other in every table and index, so a batch
 * of writes touches few pages however large the history grows.
 */
const statements0001: ReadonlyArray<string> = [
  `CREATE TABLE executions (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    command TEXT NOT NULL,
    state TEXT NOT NULL,
    owner TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER,
    expires_at INTEGER,
    cancellable INTEGER NOT NULL,
    resumable INTEGER NOT NULL,
    resumed_from TEXT,
    idempotency_key TEXT,
    runner TEXT,
    labels TEXT NOT NULL,
    progress TEXT NOT NULL,
    outcome TEXT,
    error TEXT,
    interrupt TEXT,
    interrupts TEXT NOT NULL,
    callback TEXT,
    details TEXT NOT NULL,
    transition_at INTEGER,
    transition_actor TEXT,
    transition_reason TEXT
  )`,
  "CREATE UNIQUE INDEX executions_id ON executions (id)",
  // Filters with their usual sort (state/command + time range, newest first).
  "CREATE INDEX executions_state_created ON executions (state, created_at, id)",
  "CREATE INDEX executions_command_created ON executions (command, created_at, id)",
  "CREATE INDEX executions_owner_created ON executions (owner, created_at, id) WHERE owner IS NOT NULL",
  "CREATE INDEX executions_idempotency ON executions (idempotency_key) WHERE idempotency_key IS NOT NULL",
  "CREATE INDEX executions_resumed_from ON executions (resumed_from) WHERE resumed_from IS NOT NULL",
  // Retention: the purge reads expired terminal records in expiry order.
  `CREATE INDEX executions_expiry ON executions (expires_at) WHERE state IN ${terminalStatesSql}`,
  // Keyset pagination: one index per time order (key, id); new entries land at the end.
  // A missing start/finish time sorts as 0: that bucket holds only the executions not
  // started/finished yet, so it stays small. Sorting by state or command uses the two
  // indexes above and sorts each state's (command's) rows by id: an index on (state, id)
  // or (command, id) would take a write at a random place of a history-sized bucket for
  // every new execution or state change, for orders that are rarely asked for.
  "CREATE INDEX executions_created ON executions (created_at, id)",
  "CREATE INDEX executions_updated ON executions (updated_at, id)",
  "CREATE INDEX executions_started ON executions (COALESCE(started_at, 0), id)",
  "CREATE INDEX executions_finished ON executions (COALESCE(finished_at, 0), id)",
  `CREATE TABLE labels (
    execution_seq INTEGER NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (execution_seq, name)
  ) WITHOUT ROWID`,
  "CREATE INDEX labels_name_value ON labels (name, value)",
  `CREATE TABLE grants (
    execution_seq INTEGER NOT NULL,
    access TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (execution_seq, kind, value, access)
  ) WITHOUT ROWID`,
  "CREATE INDEX grants_kind_value ON grants (kind, value)",
  `CREATE TABLE item_states (
    execution_seq INTEGER NOT NULL,
    block TEXT NOT NULL,
    item TEXT NOT NULL,
    status TEXT NOT NULL,
    value TEXT,
    error TEXT,
    started_at INTEGER,
    finished_at INTEGER NOT NULL,
    PRIMARY KEY (execution_seq, block, item)
  )`,
  `CREATE TABLE interrupts (
    execution_seq INTEGER NOT NULL,
    position INTEGER NOT NULL,
    at INTEGER NOT NULL,
    source TEXT NOT NULL,
    mode TEXT NOT NULL,
    reason TEXT,
    requested_by TEXT,
    PRIMARY KEY (execution_seq, position)
  ) WITHOUT ROWID`,
  // The append-only transition log; execution_id is kept so the log reads on its own.
  `CREATE TABLE transitions (
    seq INTEGER PRIMARY KEY,
    execution_seq INTEGER NOT NULL,
    execution_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    actor TEXT,
    reason TEXT
  )`,
  "CREATE INDEX transitions_execution ON transitions (execution_seq, seq)",
  // The transition log is written by triggers, so that no write path (nor a manual UPDATE)
  // can change a state without logging it. A write that changes the state also sets
  // transition_at / transition_actor / transition_reason: when, who and why.
  `CREATE TRIGGER executions_log_insert AFTER INSERT ON executions
  BEGIN
    INSERT INTO transitions (execution_seq, execution_id, at, from_state, to_state, actor, reason)
    VALUES (NEW.seq, NEW.id, NEW.created_at, NULL, NEW.state, NEW.owner, NULL);
  END`,
  `CREATE TRIGGER executions_log_transition AFTER UPDATE OF state ON executions
  WHEN OLD.state IS NOT NEW.state
  BEGIN
    INSERT INTO transitions (execution_seq, execution_id, at, from_state, to_state, actor, reason)
    VALUES (NEW.seq, NEW.id, COALESCE(NEW.transition_at, NEW.updated_at), OLD.state, NEW.state,
      NEW.transition_actor, NEW.transition_reason);
  END`
]

const run = (statements: ReadonlyArray<string>): Effect.Effect<void, SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => Effect.forEach(statements, (statement) => sql.unsafe(statement), { discard: true })
  )

/** The migrations, keyed `<id>_<name>` as `Migrator.fromRecord` expects. */
export const migrations: Record<string, Effect.Effect<void, SqlError, SqlClient.SqlClient>> = {
  "0001_create_execution_store": run(statements0001)
}

/** The name of the table in which the migrator records applied migrations. */
export const migrationsTable = "truce_migrations"
