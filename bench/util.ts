/**
 * Small helpers shared by the benchmarks: timing, percentiles, a result table.
 */
export const now = (): number => Number(process.hrtime.bigint()) / 1e6

export const percentile = (sorted: ReadonlyArray<number>, p: number): number => {
  if (sorted.length === 0) return Number.NaN
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index] as number
}

export const median = (values: ReadonlyArray<number>): number => percentile([...values].sort((a, b) => a - b), 50)

export const gc = (): void => {
  const collect = (globalThis as { gc?: () => void }).gc
  if (collect !== undefined) collect()
}

export const fmt = (n: number, digits = 2): string => n.toFixed(digits)

/** Prints one verdict line: the ratio, the goal and whether it is met. */
export const verdict = (label: string, value: string, goal: string, ok: boolean): void => {
  console.log(`${ok ? "PASS" : "MISS"}  ${label}: ${value}  (goal ${goal})`)
}
