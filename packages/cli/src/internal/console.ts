/**
 * An Effect `Console` writing to a given stream (JSON mode sends logs to stderr so that
 * stdout carries only JSON lines).
 *
 * @internal
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { Console as NodeConsole } from "node:console"

/** @internal */
export const consoleOn = (stream: NodeJS.WritableStream): Console.Console => {
  const unsafe = new NodeConsole({ stdout: stream, stderr: stream })
  return {
    [Console.TypeId]: Console.TypeId,
    assert: (condition: boolean, ...args: ReadonlyArray<unknown>) =>
      Effect.sync(() => unsafe.assert(condition, ...(args as Array<string>))),
    clear: Effect.sync(() => unsafe.clear()),
    count: (label?: string) => Effect.sync(() => unsafe.count(label)),
    countReset: (label?: string) => Effect.sync(() => unsafe.countReset(label)),
    debug: (...args: ReadonlyArray<unknown>) => Effect.sync(() => unsafe.debug(...args)),
    dir: (item: unknown, options?: unknown) =>
      Effect.sync(() => unsafe.dir(item, options as Parameters<typeof unsafe.dir>[1])),
    dirxml: (...args: ReadonlyArray<unknown>) => Effect.sync(() => unsafe.dirxml(...args)),
    error: (...args: ReadonlyArray<unknown>) => Effect.sync(() => unsafe.error(...args)),
    group: (options?: { readonly label?: string | undefined; readonly collapsed?: boolean | undefined }) =>
      Effect.sync(() =>
        options?.collapsed === true ? unsafe.groupCollapsed(options.label) : unsafe.group(options?.label)
      ),
    groupEnd: Effect.sync(() => unsafe.groupEnd()),
    info: (...args: ReadonlyArray<unknown>) => Effect.sync(() => unsafe.info(...args)),
    log: (...args: ReadonlyArray<unknown>) => Effect.sync(() => unsafe.log(...args)),
    table: (data: unknown, properties?: ReadonlyArray<string>) =>
      Effect.sync(() => unsafe.table(data, properties as Array<string> | undefined)),
    time: (label?: string) => Effect.sync(() => unsafe.time(label)),
    timeEnd: (label?: string) => Effect.sync(() => unsafe.timeEnd(label)),
    timeLog: (label?: string, ...args: ReadonlyArray<unknown>) => Effect.sync(() => unsafe.timeLog(label, ...args)),
    trace: (...args: ReadonlyArray<unknown>) => Effect.sync(() => unsafe.trace(...args)),
    warn: (...args: ReadonlyArray<unknown>) => Effect.sync(() => unsafe.warn(...args)),
    unsafe
  }
}
