/**
 * The `@effect/cli` modules Truce programs build their command lines with, re-exported so
 * that a program depending on `@truce/cli` has them at the same version Truce uses.
 *
 * @example
 * import { Effect } from "effect"
 * import { Cli, Runner } from "@truce/cli"
 *
 * const files = Cli.Options.integer("files").pipe(Cli.Options.withDefault(100))
 * const command = Cli.Command.make("sync", { files }, ({ files }) => Effect.log(`syncing ${files} files`))
 * // Runner.runCli(command, { name: "sync", version: "1.0.0" })
 *
 * @since 0.1.0
 */

/**
 * Commands and subcommands (`Command.make`, `withSubcommands`, `run`).
 *
 * @since 0.1.0
 */
export * as Command from "@effect/cli/Command"

/**
 * Flags: `--name value` options (`text`, `integer`, `choice`, `boolean`, `withDefault`, …).
 *
 * @since 0.1.0
 */
export * as Options from "@effect/cli/Options"

/**
 * Positional arguments.
 *
 * @since 0.1.0
 */
export * as Args from "@effect/cli/Args"

/**
 * Errors of command-line parsing.
 *
 * @since 0.1.0
 */
export * as ValidationError from "@effect/cli/ValidationError"

/**
 * Help documents (for custom validation messages).
 *
 * @since 0.1.0
 */
export * as HelpDoc from "@effect/cli/HelpDoc"
