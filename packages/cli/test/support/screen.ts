/**
 * A tiny terminal emulator for the renderer tests: it understands what the live output
 * writes (printable text with auto-wrap, CR, LF as CR+LF like a tty with onlcr, cursor up,
 * erase line, erase below, private modes and SGR, which it ignores) and keeps the screen
 * and the lines scrolled off the top.
 */
export class Screen {
  readonly scrollback: Array<string> = []
  grid: Array<Array<string>>
  row = 0
  col = 0
  cursorVisible = true
  readonly chunks: Array<string> = []
  private readonly listeners = new Set<() => void>()
  readonly isTTY = true

  constructor(public columns: number, public rows: number) {
    this.grid = Array.from({ length: rows }, () => [])
  }

  write = (chunk: string): boolean => {
    this.chunks.push(chunk)
    this.feed(chunk)
    return true
  }

  on = (_event: "resize", listener: () => void) => {
    this.listeners.add(listener)
  }

  off = (_event: "resize", listener: () => void) => {
    this.listeners.delete(listener)
  }

  /** Narrows or widens the terminal (content beyond the new width is cut, as xterm does). */
  resize(columns: number, rows: number) {
    this.columns = columns
    this.grid = this.grid.map((line) => line.slice(0, columns))
    while (this.grid.length < rows) this.grid.push([])
    while (this.grid.length > rows) {
      this.scrollback.push((this.grid.shift() ?? []).join(""))
      this.row = Math.max(0, this.row - 1)
    }
    this.rows = rows
    this.col = Math.min(this.col, columns - 1)
    for (const listener of this.listeners) listener()
  }

  /** The visible lines, right-trimmed; trailing empty lines dropped. */
  lines(): Array<string> {
    const lines = this.grid.map((line) =>
      Array.from({ length: line.length }, (_, i) => line[i] ?? " ").join("").trimEnd()
    )
    while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop()
    return lines
  }

  text(): string {
    return this.lines().join("\n")
  }

  private lineFeed() {
    if (this.row === this.rows - 1) {
      this.scrollback.push((this.grid.shift() ?? []).join(""))
      this.grid.push([])
    } else {
      this.row++
    }
  }

  private feed(text: string) {
    let i = 0
    while (i < text.length) {
      const ch = text[i]!
      if (ch === "\u001b") {
        // eslint-disable-next-line no-control-regex -- control characters are what this matches
        const match = /^\u001b\[([?]?)([0-9;]*)([A-Za-z])/.exec(text.slice(i))
        if (match === null) throw new Error(`unsupported escape at ${JSON.stringify(text.slice(i, i + 10))}`)
        this.control(match[1]!, match[2]!, match[3]!)
        i += match[0].length
        continue
      }
      if (ch === "\r") {
        this.col = 0
      } else if (ch === "\n") {
        this.col = 0
        this.lineFeed()
      } else {
        const point = text.codePointAt(i)!
        const glyph = String.fromCodePoint(point)
        if (this.col >= this.columns) {
          this.col = 0
          this.lineFeed()
        }
        const line = this.grid[this.row]!
        line[this.col] = glyph
        this.col++
        i += glyph.length
        continue
      }
      i++
    }
  }

  private control(privateMode: string, params: string, command: string) {
    const n = params === "" ? 1 : Number(params.split(";")[0])
    if (privateMode === "?") {
      if (params === "25") this.cursorVisible = command === "h"
      return // synchronized output (2026) and others: nothing to draw
    }
    switch (command) {
      case "m":
        return
      case "A":
        this.row = Math.max(0, this.row - n)
        return
      case "K": {
        const line = this.grid[this.row]!
        if (params === "2") line.length = 0
        else line.length = Math.min(line.length, this.col)
        return
      }
      case "J": {
        const line = this.grid[this.row]!
        line.length = Math.min(line.length, this.col)
        for (let r = this.row + 1; r < this.rows; r++) this.grid[r] = []
        return
      }
      default:
        throw new Error(`unsupported control ${privateMode}${params}${command}`)
    }
  }
}
