/**
 * @truce/core — the model and runtime of commands people can watch, interrupt and await.
 *
 * @since 0.1.0
 */

/**
 * Who may read and write executions.
 *
 * @since 0.1.0
 */
export * as Access from "./Access.js"

/**
 * Blocks: a step, or an item-wise pass.
 *
 * @since 0.1.0
 */
export * as CmdBlock from "./CmdBlock.js"

/**
 * Executions: ordered, typed blocks.
 *
 * @since 0.1.0
 */
export * as CmdExecution from "./CmdExecution.js"

/**
 * The registry of executions: start, interrupt, await, query, watch.
 *
 * @since 0.1.0
 */
export * as CmdExecutionMap from "./CmdExecutionMap.js"

/**
 * What an execution produced.
 *
 * @since 0.1.0
 */
export * as CmdOutcome from "./CmdOutcome.js"

/**
 * Progress outputs, outcome outputs and input endpoints.
 *
 * @since 0.1.0
 */
export * as Endpoint from "./Endpoint.js"

/**
 * The events an execution emits.
 *
 * @since 0.1.0
 */
export * as ExecutionEvent from "./ExecutionEvent.js"

/**
 * Queries over execution records.
 *
 * @since 0.1.0
 */
export * as ExecutionQuery from "./ExecutionQuery.js"

/**
 * The uniform execution record.
 *
 * @since 0.1.0
 */
export * as ExecutionRecord from "./ExecutionRecord.js"

/**
 * Where records live.
 *
 * @since 0.1.0
 */
export * as ExecutionStore from "./ExecutionStore.js"

/**
 * Interrupt requests, strategies and results.
 *
 * @since 0.1.0
 */
export * as Interrupt from "./Interrupt.js"

/**
 * Item progress.
 *
 * @since 0.1.0
 */
export * as Progress from "./Progress.js"
