/**
 * @truce/sql — durable execution stores on SQL databases.
 *
 * @since 0.1.0
 */

/**
 * The durable SQLite execution store: one file, group-committed writes, queries in SQL,
 * crash recovery with `CmdExecutionMap`.
 *
 * @since 0.1.0
 */
export * as SqliteExecutionStore from "./SqliteExecutionStore.js"
