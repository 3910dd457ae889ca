/**
 * The item states of one execution as the in-memory store keeps them: an append-only log in
 * columns (status and times in typed arrays, item ids and values in plain arrays), read back
 * as `ItemState`s with the latest state of each item winning.
 *
 * A store holding the states of many large executions would otherwise keep three objects per
 * item (the state and two `Date`s) plus a map entry, all traced and copied by the garbage
 * collector on every major collection; in columns an item costs two array slots and no object.
 *
 * @internal
 */
import type { ErrorInfo } from "../CmdOutcome.js"
import type { ExecutionId, ItemState } from "../ExecutionRecord.js"

const statuses: ReadonlyArray<ItemState["status"]> = ["Success", "Fail", "Interrupted", "Skipped"]
const statusCode = (status: ItemState["status"]): number => statuses.indexOf(status)

/** @internal */
export class ItemStateLog {
  private size = 0
  private readonly blockNames: Array<string> = []
  private blockOf = new Uint16Array(16)
  private statusOf = new Uint8Array(16)
  /** `startedAt` (NaN when absent) and `finishedAt` of entry `i` at `2i` and `2i + 1`. */
  private timesOf = new Float64Array(32)
  private readonly itemOf: Array<string> = []
  private readonly valueOf: Array<unknown> = []
  /** Errors are rare: kept by entry. */
  private readonly errorOf = new Map<number, ErrorInfo>()

  append(state: ItemState): void {
    const i = this.size
    if (i === this.statusOf.length) this.grow()
    let block = this.blockNames.lastIndexOf(state.block)
    if (block === -1) block = this.blockNames.push(state.block) - 1
    this.blockOf[i] = block
    this.statusOf[i] = statusCode(state.status)
    this.timesOf[2 * i] = state.startedAt === undefined ? Number.NaN : state.startedAt.getTime()
    this.timesOf[2 * i + 1] = state.finishedAt.getTime()
    this.itemOf.push(state.item)
    this.valueOf.push(state.value)
    if (state.error !== undefined) this.errorOf.set(i, state.error)
    this.size = i + 1
  }

  /** The latest state of each item, grouped by block in the order blocks and items first appeared. */
  read(executionId: ExecutionId): Array<ItemState> {
    const positions = this.blockNames.map(() => new Map<string, number>())
    const byBlock: Array<Array<ItemState>> = this.blockNames.map(() => [])
    for (let i = 0; i < this.size; i++) {
      const block = this.blockOf[i] as number
      const item = this.itemOf[i] as string
      const state = this.stateAt(i, executionId, item)
      const known = (positions[block] as Map<string, number>).get(item)
      const list = byBlock[block] as Array<ItemState>
      if (known === undefined) {
        ;(positions[block] as Map<string, number>).set(item, list.length)
        list.push(state)
      } else {
        list[known] = state
      }
    }
    return byBlock.flat()
  }

  private stateAt(i: number, executionId: ExecutionId, item: string): ItemState {
    const state: { -readonly [K in keyof ItemState]: ItemState[K] } = {
      executionId,
      block: this.blockNames[this.blockOf[i] as number] as string,
      item,
      status: statuses[this.statusOf[i] as number] as ItemState["status"],
      finishedAt: new Date(this.timesOf[2 * i + 1] as number)
    }
    const startedAt = this.timesOf[2 * i] as number
    if (!Number.isNaN(startedAt)) state.startedAt = new Date(startedAt)
    const value = this.valueOf[i]
    if (value !== undefined) state.value = value
    const error = this.errorOf.get(i)
    if (error !== undefined) state.error = error
    return state
  }

  private grow(): void {
    const capacity = this.statusOf.length * 2
    const blockOf = new Uint16Array(capacity)
    blockOf.set(this.blockOf)
    this.blockOf = blockOf
    const statusOf = new Uint8Array(capacity)
    statusOf.set(this.statusOf)
    this.statusOf = statusOf
    const timesOf = new Float64Array(capacity * 2)
    timesOf.set(this.timesOf)
    this.timesOf = timesOf
  }
}
