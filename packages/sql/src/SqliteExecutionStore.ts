/**
 * A durable `ExecutionStore` in one SQLite file (through `@effect/sql` and
 * `@effect/sql-sqlite-node`): the uniform execution record, the append-only transition
 * log, item states and interrupt requests, queried in SQL with indexes.
 *
 * What is durable when:
 * - Every write (insert, update, item states, purge) completes only after the SQLite
 *   transaction holding it has committed. A completed write is seen by every later read
 *   and survives the process being killed (crash, `SIGKILL`, OOM).
 * - With the default `synchronous: "normal"` (WAL mode), commits are not fsynced one by
 *   one: an operating-system crash or power loss may lose the last commits (never
 *   corrupting the file). `synchronous: "full"` fsyncs every commit, so a completed write
 *   also survives power loss.
 * - Writes are group-committed: all writes queued while a transaction commits go into the
 *   next one, so many concurrent progress updates cost one commit, not one each.
 *
 * @since 0.1.0
 */
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { ExecutionStore, type StoreError } from "@truce/core/ExecutionStore"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { fromCause } from "./internal/errors.js"
import * as schema from "./internal/schema.js"
import * as internal from "./internal/store.js"

/**
 * Options of the store on a database you already have (`make`).
 *
 * @example
 * import { SqliteExecutionStore } from "@truce/sql"
 *
 * const options: SqliteExecutionStore.MakeOptions = { synchronous: "full", busyTimeout: "10 seconds" }
 *
 * @since 0.1.0
 * @category models
 */
export interface MakeOptions {
  /**
   * `"normal"` (default): a commit survives the process dying, but a power loss or OS
   * crash may lose the last commits. `"full"`: every commit is fsynced and survives power
   * loss too (slower per commit; group commit keeps throughput high).
   */
  readonly synchronous?: "normal" | "full" | undefined
  /** How long a write waits for a lock held by another connection or process (default 5 seconds). */
  readonly busyTimeout?: Duration.DurationInput | undefined
  /**
   * The most writes committed in one transaction (default 1000). `1` disables group commit:
   * one transaction per write.
   */
  readonly maxBatchSize?: number | undefined
}

/**
 * Options of {@link layer}.
 *
 * @example
 * import { SqliteExecutionStore } from "@truce/sql"
 *
 * const options: SqliteExecutionStore.Options = { filename: ".truce/executions.db", maxBatchSize: 500 }
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends MakeOptions {
  /** The database file (created if missing; its directory must exist), or `":memory:"`. */
  readonly filename: string
}

/**
 * The migrations of the store's schema, keyed as `Migrator.fromRecord` expects. `make`
 * runs them itself (recorded in the table `truce_migrations`); they are exported for
 * tools that manage a database's schema on their own.
 *
 * @example
 * import { Migrator } from "@effect/sql"
 * import { SqliteExecutionStore } from "@truce/sql"
 *
 * const loader = Migrator.fromRecord(SqliteExecutionStore.migrations)
 *
 * @since 0.1.0
 * @category migrations
 */
export const migrations: Record<string, Effect.Effect<void, SqlError, SqlClient.SqlClient>> = schema.migrations

/**
 * Runs the store's migrations on the `SqlClient` in context (idempotent).
 *
 * @example
 * import { SqliteClient } from "@effect/sql-sqlite-node"
 * import { Effect } from "effect"
 * import { SqliteExecutionStore } from "@truce/sql"
 *
 * const applied = SqliteExecutionStore.migrate.pipe(Effect.provide(SqliteClient.layer({ filename: "truce.db" })))
 *
 * @since 0.1.0
 * @category migrations
 */
export const migrate: Effect.Effect<
  ReadonlyArray<readonly [id: number, name: string]>,
  StoreError,
  SqlClient.SqlClient
> = internal.migrate

/**
 * Creates the store over the SQLite `SqlClient` in context: sets the pragmas (WAL,
 * `synchronous`, `busy_timeout`), runs the migrations, and starts the writer in the
 * current scope (closing the scope commits the writes already queued).
 *
 * @example
 * import { SqliteClient } from "@effect/sql-sqlite-node"
 * import { Effect } from "effect"
 * import { SqliteExecutionStore } from "@truce/sql"
 *
 * const program = Effect.gen(function*() {
 *   const store = yield* SqliteExecutionStore.make({ synchronous: "full" })
 *   return yield* store.unfinished
 * }).pipe(Effect.scoped, Effect.provide(SqliteClient.layer({ filename: "truce.db" })))
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (
  options?: MakeOptions
) => Effect.Effect<ExecutionStore, StoreError, SqlClient.SqlClient | Scope.Scope> = internal.make

/**
 * The store in one SQLite file, self-contained: it opens the database (WAL mode), migrates
 * it, and closes it with the layer. Opening failures (missing directory, not a database)
 * are a typed `StoreError`.
 *
 * @example
 * import { CmdExecutionMap } from "@truce/core"
 * import { Layer } from "effect"
 * import { SqliteExecutionStore } from "@truce/sql"
 *
 * const MapLive = CmdExecutionMap.layer({ retention: "7 days" }).pipe(
 *   Layer.provide(SqliteExecutionStore.layer({ filename: "truce.db" }))
 * )
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<ExecutionStore, StoreError> =>
  Layer.scoped(ExecutionStore, make(options)).pipe(
    Layer.provide(SqliteClient.layer({ filename: options.filename })),
    Layer.catchAllCause((cause) => Layer.fail(fromCause(cause, `could not open the SQLite store ${options.filename}`)))
  )

/**
 * A store in an in-memory SQLite database (gone with the layer): the same SQL and the
 * same semantics, for quick tests.
 *
 * @example
 * import { CmdExecutionMap } from "@truce/core"
 * import { Layer } from "effect"
 * import { SqliteExecutionStore } from "@truce/sql"
 *
 * const TestMap = CmdExecutionMap.layer().pipe(Layer.provide(SqliteExecutionStore.layerMemory()))
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory = (options?: MakeOptions): Layer.Layer<ExecutionStore, StoreError> =>
  layer({ ...options, filename: ":memory:" })
