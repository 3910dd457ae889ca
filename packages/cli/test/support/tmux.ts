/**
 * A real pseudo-terminal for the rendering tests: a private tmux server (its own socket),
 * one pane of a given size, keys sent as a person would type them, and the screen read
 * back with `capture-pane`.
 */
import { spawnSync } from "node:child_process"
import { rmSync } from "node:fs"
import { join } from "node:path"

let sessions = 0

export class Tmux {
  readonly socket = `truce-test-${process.pid}-${++sessions}`

  private tmux(args: ReadonlyArray<string>): string {
    const result = spawnSync("tmux", ["-L", this.socket, ...args], { encoding: "utf8" })
    if (result.status !== 0) throw new Error(`tmux ${args.join(" ")} failed: ${result.stderr}`)
    return result.stdout
  }

  /** Starts `command` (a shell command line) in a pane of `width` × `height`; the pane stays after it ends. */
  start(command: string, options: { readonly width?: number; readonly height?: number; readonly cwd: string }) {
    this.tmux([
      "-f",
      "/dev/null",
      "new-session",
      "-d",
      "-s",
      "main",
      "-x",
      String(options.width ?? 120),
      "-y",
      String(options.height ?? 40),
      "-c",
      options.cwd,
      `${command}; echo "EXIT=$?"; sleep 600`
    ])
  }

  /** The visible screen, one string per row (trailing spaces trimmed). */
  screen(): Array<string> {
    return this.tmux(["capture-pane", "-p", "-t", "main"]).split("\n").map((line) => line.trimEnd())
  }

  /** The whole history (scrolled-off lines included). */
  history(): Array<string> {
    return this.tmux(["capture-pane", "-p", "-S", "-", "-t", "main"]).split("\n").map((line) => line.trimEnd())
  }

  keys(...keys: ReadonlyArray<string>) {
    this.tmux(["send-keys", "-t", "main", ...keys])
  }

  resize(width: number, height: number) {
    this.tmux(["resize-window", "-t", "main", "-x", String(width), "-y", String(height)])
  }

  /** Polls the screen until `check` accepts it. */
  async waitFor(what: string, check: (screen: Array<string>) => boolean, timeoutMs = 30_000): Promise<Array<string>> {
    const deadline = Date.now() + timeoutMs
    while (true) {
      const screen = this.screen()
      if (check(screen)) return screen
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the screen:\n${screen.join("\n")}`)
      await new Promise((resolve) => setTimeout(resolve, 40))
    }
  }

  /** Ends the server and removes its socket file. */
  kill() {
    spawnSync("tmux", ["-L", this.socket, "kill-server"])
    const uid = process.getuid?.() ?? 0
    rmSync(join(process.env.TMUX_TMPDIR ?? "/tmp", `tmux-${uid}`, this.socket), { force: true })
  }
}

/** Quotes an argument for the shell. */
export const shellQuote = (arg: string): string => `'${arg.replace(/'/g, "'\\''")}'`
