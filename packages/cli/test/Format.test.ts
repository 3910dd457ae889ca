import { describe, expect, it } from "@effect/vitest"
import { Format } from "@truce/cli"

describe("Format", () => {
  it("humanises bytes with binary units", () => {
    expect(Format.bytes(0)).toBe("0 B")
    expect(Format.bytes(1023)).toBe("1023 B")
    expect(Format.bytes(1024)).toBe("1.0 KiB")
    expect(Format.bytes(1536)).toBe("1.5 KiB")
    expect(Format.bytes(10 * 1024)).toBe("10 KiB")
    expect(Format.bytes(1024 * 1024 - 1)).toBe("1.0 MiB")
    expect(Format.bytes(16 * 1024 ** 2)).toBe("16 MiB")
    expect(Format.bytes(3.25 * 1024 ** 3)).toBe("3.3 GiB")
    expect(Format.bytes(-2048)).toBe("-2.0 KiB")
    expect(Format.bytes(Number.NaN)).toBe("? B")
  })

  it("formats durations compactly", () => {
    expect(Format.duration(0)).toBe("0.0s")
    expect(Format.duration(420)).toBe("0.4s")
    expect(Format.duration(12_345)).toBe("12.3s")
    expect(Format.duration(59_990)).toBe("59.9s")
    expect(Format.duration(65_000)).toBe("1m05s")
    expect(Format.duration(3_600_000 + 2 * 60_000)).toBe("1h02m")
    expect(Format.duration(3 * 86_400_000 + 4 * 3_600_000)).toBe("3d04h")
    expect(Format.duration(-5)).toBe("0.0s")
  })

  it("formats an ETA as a countdown rounded up, empty when unknown", () => {
    expect(Format.eta(undefined)).toBe("")
    expect(Format.eta(0)).toBe("ETA 0s")
    expect(Format.eta(1)).toBe("ETA 1s")
    expect(Format.eta(2_100)).toBe("ETA 3s")
    expect(Format.eta(59_000)).toBe("ETA 59s")
    expect(Format.eta(65_000)).toBe("ETA 1m05s")
    expect(Format.eta(-300)).toBe("ETA 0s")
  })

  it("shows 100% only when done", () => {
    expect(Format.percent(0)).toBe("  0%")
    expect(Format.percent(0.999)).toBe(" 99%")
    expect(Format.percent(1)).toBe("100%")
    expect(Format.percent(7)).toBe("100%")
  })

  it("draws bars of exactly the asked width", () => {
    for (const width of [1, 5, 10, 17, 30]) {
      for (const fraction of [0, 0.01, 0.33, 0.5, 0.99, 1]) {
        expect(Format.width(Format.bar(fraction, width))).toBe(width)
        expect(Format.bar(fraction, width, { unicode: false }).length).toBe(width)
      }
    }
    expect(Format.bar(0.5, 10, { unicode: false })).toBe("=====>----")
    expect(Format.bar(1, 4)).toBe("████")
    expect(Format.bar(0.5, 4)).toBe("██░░")
    expect(Format.bar(0, 0)).toBe("")
  })

  it("measures and cuts by terminal columns", () => {
    expect(Format.width("abc")).toBe(3)
    expect(Format.width("日本")).toBe(4)
    expect(Format.truncate("configuration.yaml", 10)).toBe("configura…")
    expect(Format.truncate("short", 10)).toBe("short")
    expect(Format.truncate("日本語のファイル名", 7)).toBe("日本語…")
    expect(Format.width(Format.truncate("日本語のファイル名", 7))).toBeLessThanOrEqual(7)
    // Control characters (an escape sequence in an item id) never reach the terminal.
    expect(Format.truncate("evil\u001b[2Jname", 40)).not.toContain("\u001b")
    expect(Format.fit("abc", 5)).toBe("abc  ")
  })

  it("chooses colour from NO_COLOR, FORCE_COLOR and the stream", () => {
    expect(Format.colorEnabled({ isTTY: true, env: {} })).toBe(true)
    expect(Format.colorEnabled({ isTTY: false, env: {} })).toBe(false)
    expect(Format.colorEnabled({ isTTY: true, env: { NO_COLOR: "1" } })).toBe(false)
    expect(Format.colorEnabled({ isTTY: true, env: { NO_COLOR: "" } })).toBe(true)
    expect(Format.colorEnabled({ isTTY: false, env: { FORCE_COLOR: "1" } })).toBe(true)
    expect(Format.colorEnabled({ isTTY: true, env: { FORCE_COLOR: "0" } })).toBe(false)
    expect(Format.colorEnabled({ isTTY: true, env: { NO_COLOR: "1", FORCE_COLOR: "1" } })).toBe(false)
    expect(Format.colorEnabled({ isTTY: true, env: { TERM: "dumb" } })).toBe(false)
    expect(Format.style(false).red("x")).toBe("x")
    expect(Format.stripAnsi(Format.style(true).red("x"))).toBe("x")
    expect(Format.style(true).red("x")).not.toBe("x")
  })

  it("cycles spinner frames", () => {
    expect(Format.spinner(0)).toBe(Format.spinnerFrames[0])
    expect(Format.spinner(Format.spinnerFrames.length)).toBe(Format.spinnerFrames[0])
    expect(Format.spinner(1, { unicode: false })).toBe("/")
    expect(Format.spinner(-1)).toBe(Format.spinnerFrames[Format.spinnerFrames.length - 1])
  })
})
