/**
 * One pair of process listeners for SIGINT and SIGTERM, shared by whoever needs signals:
 * handlers form a stack and the most recent one gets each signal. `Runner.runMain`
 * installs the bottom handler (interrupt the main program); a running execution pushes
 * its own on top for as long as it runs.
 *
 * @internal
 */

/** @internal */
export type SignalName = "SIGINT" | "SIGTERM"

/** @internal */
export type SignalHandler = (signal: SignalName) => void

const stack: Array<SignalHandler> = []

const listener = (signal: NodeJS.Signals) => {
  const top = stack[stack.length - 1]
  if (top !== undefined) top(signal === "SIGTERM" ? "SIGTERM" : "SIGINT")
}

/**
 * Makes `handler` receive the signals until the returned function is called.
 *
 * @internal
 */
export const pushHandler = (handler: SignalHandler): () => void => {
  if (stack.length === 0) {
    process.on("SIGINT", listener)
    process.on("SIGTERM", listener)
  }
  stack.push(handler)
  let removed = false
  return () => {
    if (removed) return
    removed = true
    const index = stack.lastIndexOf(handler)
    if (index >= 0) stack.splice(index, 1)
    if (stack.length === 0) {
      process.removeListener("SIGINT", listener)
      process.removeListener("SIGTERM", listener)
    }
  }
}
