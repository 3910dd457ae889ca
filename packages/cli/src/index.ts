/**
 * @truce/cli — the terminal side of Truce: live progress, Ctrl-C that stops cleanly, a
 * summary of what was done, exit codes, and JSON lines for machines.
 *
 * @since 0.1.0
 */

/**
 * The `@effect/cli` modules (Command, Options, Args) re-exported.
 *
 * @since 0.1.0
 */
export * as Cli from "./Cli.js"

/**
 * Humanised bytes, durations and ETA, bars, truncation, colours.
 *
 * @since 0.1.0
 */
export * as Format from "./Format.js"

/**
 * JSON-lines output and its schema.
 *
 * @since 0.1.0
 */
export * as JsonLines from "./JsonLines.js"

/**
 * The summary of a finished execution, and exit codes.
 *
 * @since 0.1.0
 */
export * as OutcomeSummary from "./OutcomeSummary.js"

/**
 * Plain appended lines (CI, pipes, log files).
 *
 * @since 0.1.0
 */
export * as PlainOutput from "./PlainOutput.js"

/**
 * The progress model and how it is drawn.
 *
 * @since 0.1.0
 */
export * as ProgressView from "./ProgressView.js"

/**
 * Run an execution as a CLI program: outputs, signals, summary, exit code.
 *
 * @since 0.1.0
 */
export * as Runner from "./Runner.js"

/**
 * SIGINT / SIGTERM as an interrupt input endpoint.
 *
 * @since 0.1.0
 */
export * as Signals from "./Signals.js"

/**
 * Live progress on a terminal.
 *
 * @since 0.1.0
 */
export * as TerminalOutput from "./TerminalOutput.js"

/**
 * The `truce` command: drive a remote Truce HTTP server (start, status, watch, wait, cancel, list).
 *
 * @since 0.1.0
 */
export * as Remote from "./Remote.js"
