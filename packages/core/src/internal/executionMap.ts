/**
 * The execution map: lifecycle of executions (queue, run, finish), persistence through
 * the store, interrupt delivery, waiting, events, resume, recovery and housekeeping.
 *
 * @internal
 */
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import * as EffectRuntime from "effect/Runtime"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { createHash } from "node:crypto"
import { ownerOnly } from "../Access.js"
import type * as CmdExecution from "../CmdExecution.js"
import type * as Api from "../CmdExecutionMap.js"
import * as CmdOutcome from "../CmdOutcome.js"
import type { OutcomeOutput } from "../Endpoint.js"
import type { ExecutionEvent } from "../ExecutionEvent.js"
import type { ExecutionQuery } from "../ExecutionQuery.js"
import * as Query from "../ExecutionQuery.js"
import type { ExecutionId, ExecutionRecord, ExecutionState, ItemState, RecordPatch } from "../ExecutionRecord.js"
import { isTerminal, makeId, stateOfOutcome } from "../ExecutionRecord.js"
import { ExecutionStore, type StoreError } from "../ExecutionStore.js"
import type { InterruptRequest, InterruptRequestInput, InterruptStrategy } from "../Interrupt.js"
import { FinishCurrent, InterruptResult, request as makeRequest } from "../Interrupt.js"
import { emptySummary } from "../Progress.js"
import type { ExecutionRuntime } from "./engine.js"
import type { RuntimeHooks, RuntimeShared } from "./engine.js"
import { ExecutionRuntime as Runtime, itemStateKey } from "./engine.js"
import { AwaitTimeout, ExecutionNotFound, IdempotencyConflict, NotResumable } from "./errors.js"
import { Timers } from "./timers.js"

interface Live {
  readonly id: ExecutionId
  readonly execution: CmdExecution.Any
  readonly input: unknown
  readonly rt: ExecutionRuntime
  /** Made when someone waits (most executions in flight have no waiter). */
  done: Deferred.Deferred<CmdOutcome.CmdOutcome<unknown, unknown>> | undefined
  readonly cancellable: boolean
  readonly outputs: ReadonlyArray<Fiber.RuntimeFiber<void>>
  readonly inputs: Array<Fiber.RuntimeFiber<void>>
  readonly outcomeOutputs: ReadonlyArray<OutcomeOutput>
  readonly timeoutMs: number | undefined
  readonly timeoutIncludesQueue: boolean
  record: ExecutionRecord
  holdsSlot: boolean
}

interface Lingering {
  readonly rt: ExecutionRuntime
  readonly input: unknown
  readonly until: number
}

/** A FIFO of executions waiting for one of a command's concurrency slots. */
class CommandSlots {
  running = 0
  private readonly waiting: Array<{ grant: () => void }> = []
  constructor(public limit: number) {}

  acquire(entry: Live): Effect.Effect<boolean> {
    return Effect.async<boolean>((resume) => {
      if (this.running < this.limit) {
        this.running++
        entry.holdsSlot = true
        resume(Effect.succeed(true))
        return
      }
      const controller = entry.rt.controller
      const waiter = {
        grant: () => {
          off()
          entry.holdsSlot = true
          resume(Effect.succeed(true))
        }
      }
      const remove = () => {
        const index = this.waiting.indexOf(waiter)
        if (index >= 0) this.waiting.splice(index, 1)
      }
      const off = controller.onChange(() => {
        if (controller.effective !== undefined) {
          remove()
          off()
          resume(Effect.succeed(false))
        }
      })
      if (controller.effective !== undefined) {
        off()
        resume(Effect.succeed(false))
        return
      }
      this.waiting.push(waiter)
      return Effect.sync(() => {
        remove()
        off()
      })
    })
  }

  release(): void {
    const next = this.waiting.shift()
    if (next !== undefined) next.grant()
    else this.running--
  }
}

// Shared values for records and entries that have none of their own.
const noInterrupts: ReadonlyArray<InterruptRequest> = Object.freeze([])
const noLabels: Readonly<Record<string, string>> = Object.freeze({})
const noFibers: Array<Fiber.RuntimeFiber<void>> = Object.freeze([]) as unknown as Array<Fiber.RuntimeFiber<void>>
const blockNames = new WeakMap<CmdExecution.Any, ReadonlyArray<string>>()
const blockNamesOf = (execution: CmdExecution.Any): ReadonlyArray<string> => {
  let names = blockNames.get(execution)
  if (names === undefined) {
    names = Object.freeze(execution.blocks.map((block) => block.name))
    blockNames.set(execution, names)
  }
  return names
}

const stableStringify = (value: unknown): string => {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "undefined"
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(",")}]`
  if (value instanceof Date) return JSON.stringify(value.toISOString())
  const keys = Object.keys(value).sort()
  return `{${
    keys.map((key) => `${JSON.stringify(key)}:${stableStringify((value as Record<string, unknown>)[key])}`).join(",")
  }}`
}

const millis = (input: Duration.DurationInput): number => Duration.toMillis(Duration.decode(input))

const failureSummary = (outcome: CmdOutcome.CmdOutcome<unknown, unknown>): CmdOutcome.ErrorInfo | undefined => {
  switch (outcome._tag) {
    case "BlockFailed":
      return CmdOutcome.errorInfo(outcome.error)
    case "ItemErrors": {
      const ids = Object.keys(outcome.errors)
      const first = CmdOutcome.errorInfo(outcome.errors[ids[0] as string])
      return {
        ...first,
        message: ids.length === 1
          ? `item ${ids[0]} failed: ${first.message}`
          : `${ids.length} items failed; first, ${ids[0]}: ${first.message}`
      }
    }
    default:
      return undefined
  }
}

/** @internal */
export const make = (
  options: Api.Options = {}
): Effect.Effect<Api.CmdExecutionMap, StoreError, ExecutionStore | Scope.Scope> =>
  Effect.gen(function*() {
    const store = yield* ExecutionStore
    const clock = yield* Effect.clock
    // Execution fibers, and the fibers recording their outcomes. No uninterruptible region or
    // fiber set per execution: an observer on the execution's fiber starts `finalize` (a frame
    // less on every execution's stack, ~1 KB each with 100k in flight). Closing the map
    // interrupts the executions (each records its outcome, source `shutdown`) and waits for
    // every outcome to be recorded.
    const executionFibers = new Set<Fiber.RuntimeFiber<unknown, unknown>>()
    const finalizers = new Set<Fiber.RuntimeFiber<void, never>>()
    const mapRuntime = yield* Effect.runtime<never>()
    let closing = false
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        closing = true
        const awaitFinalizers: Effect.Effect<void> = Effect.suspend(() =>
          finalizers.size === 0 ? Effect.void : Effect.zipRight(Fiber.awaitAll([...finalizers]), awaitFinalizers)
        )
        return Effect.zipRight(Fiber.interruptAll([...executionFibers]), awaitFinalizers)
      })
    )
    const timers = new Timers(() => clock.unsafeCurrentTimeMillis())
    const now = () => clock.unsafeCurrentTimeMillis()
    const runner = `${process.pid}:${globalThis.crypto.randomUUID()}`

    const retentionMs = millis(options.retention ?? Duration.hours(24))
    const progressMs = millis(options.progressInterval ?? Duration.millis(250))
    const stallMs = millis(options.stallAfter ?? Duration.seconds(30))
    const lingerMs = millis(options.eventLinger ?? Duration.minutes(5))
    const drainMs = millis(options.outputDrainTimeout ?? Duration.seconds(2))
    const timeoutGraceMs = millis(options.timeoutGrace ?? Duration.seconds(30))
    const defaultTimeoutMs = options.defaultTimeout === undefined ? undefined : millis(options.defaultTimeout)
    const eventCapacity = options.eventBufferSize ?? 4096
    const purgeBatch = options.purgeBatch ?? 1000

    const live = new Map<string, Live>()
    const lingering = new Map<string, Lingering>()
    const commands = new Map<string, CmdExecution.Any>()
    const slotsByCommand = new Map<string, CommandSlots>()
    const idempotencyLock = yield* Effect.makeSemaphore(1)
    for (const command of options.commands ?? []) commands.set(command.name, command)

    const slotsFor = (execution: CmdExecution.Any): CommandSlots | undefined => {
      let slots = slotsByCommand.get(execution.name)
      if (slots !== undefined) return slots
      const limit = options.commandConcurrency?.[execution.name] ?? execution.options.concurrency
      if (limit === undefined) return undefined
      if (slots === undefined) {
        slots = new CommandSlots(limit)
        slotsByCommand.set(execution.name, slots)
      }
      return slots
    }

    /**
     * Writes a patch for a live execution, keeping the in-memory copy. Stores apply writes in
     * the order they were submitted, so no lock is needed to keep them in order.
     */
    const persist = (entry: Live, patch: RecordPatch, meta?: { actor?: string; reason?: string }) =>
      Effect.tap(store.update(entry.id, patch, meta), () => {
        // In place: with the in-memory store this is the store's own object (one copy).
        Object.assign(entry.record, patch)
      })

    const persistLogged = (entry: Live, patch: RecordPatch, meta?: { actor?: string; reason?: string }) =>
      persist(entry, patch, meta).pipe(
        Effect.catchAll((error) => Effect.logError(`truce: could not record a change of execution ${entry.id}`, error))
      )

    const transition = (entry: Live, state: ExecutionState, patch: RecordPatch, meta?: { reason?: string }) => {
      entry.rt.setState(state)
      return persistLogged(entry, { ...patch, state, updatedAt: patch.updatedAt ?? new Date(now()) }, meta)
    }

    const linger = (rt: ExecutionRuntime, input: unknown) => {
      const at = now()
      // Entries expire in insertion order: drop the expired ones at the front, and keep a cap.
      for (const [id, entry] of lingering) {
        if (entry.until > at && lingering.size < 10_000) break
        lingering.delete(id)
      }
      lingering.set(rt.id, { rt, input, until: at + lingerMs })
    }

    const doneOf = (entry: Live) =>
      entry.done ??= Deferred.unsafeMake<CmdOutcome.CmdOutcome<unknown, unknown>>(FiberId.none)

    const finalize = (entry: Live, outcome: CmdOutcome.CmdOutcome<unknown, unknown>) =>
      Effect.gen(function*() {
        const rt = entry.rt
        rt.controller.finished = true
        if (entry.holdsSlot) {
          entry.holdsSlot = false
          slotsFor(entry.execution)?.release()
        }
        yield* rt.flushStates()
        const state = stateOfOutcome(outcome)
        let encoded: CmdOutcome.Encoded
        try {
          encoded = CmdOutcome.encodeUnknown(outcome)
        } catch (error) {
          encoded = CmdOutcome.encodeUnknown(
            CmdOutcome.mapError(CmdOutcome.map(outcome, () => undefined), CmdOutcome.errorInfo)
          )
          yield* Effect.logWarning(`truce: outcome of ${entry.id} is not serialisable; values dropped`, error)
        }
        const seq = rt.log.nextSeq()
        const at = new Date(now())
        const interrupt = Option.getOrUndefined(CmdOutcome.interruptOf(outcome))
        const error = failureSummary(outcome)
        const patch: { -readonly [K in keyof RecordPatch]: RecordPatch[K] } = {
          state,
          updatedAt: at,
          finishedAt: at,
          expiresAt: new Date(at.getTime() + retentionMs),
          progress: { ...rt.summary(), seq },
          outcome: encoded,
          interrupts: [...rt.controller.requests]
        }
        if (interrupt !== undefined) patch.interrupt = interrupt
        if (error !== undefined) patch.error = error
        yield* persist(entry, patch, {
          ...(interrupt?.requestedBy !== undefined ? { actor: interrupt.requestedBy } : {}),
          reason: interrupt !== undefined
            ? `interrupt (${interrupt.source}${interrupt.reason !== undefined ? `: ${interrupt.reason}` : ""})`
            : outcome._tag
        }).pipe(
          Effect.retry(Schedule.exponential("10 millis").pipe(Schedule.intersect(Schedule.recurs(5)))),
          Effect.catchAll((storeError) =>
            Effect.logError(`truce: could not record the outcome of execution ${entry.id}`, storeError)
          )
        )
        rt.finish(seq, state, encoded)
        for (const fiber of entry.inputs) yield* Fiber.interruptFork(fiber)
        if (entry.outputs.length > 0) {
          const drained = yield* Fiber.awaitAll(entry.outputs).pipe(Effect.timeout(drainMs), Effect.option)
          if (Option.isNone(drained)) {
            yield* Effect.logWarning(`truce: a progress output of ${entry.id} did not finish within ${drainMs} ms`)
            yield* Fiber.interruptAll(entry.outputs)
          }
        }
        for (const output of entry.outcomeOutputs) {
          yield* output.present(outcome, { ...entry.record }).pipe(
            Effect.catchAllCause((cause) => Effect.logWarning(`truce: outcome output ${output.name} failed`, cause))
          )
        }
        // Only now is the execution entirely done: outputs drained, outcome presented.
        live.delete(entry.id)
        linger(rt, entry.input)
        if (entry.done !== undefined) yield* Deferred.succeed(entry.done, outcome)
      })

    // Written without a generator: it stays suspended for as long as the execution runs.
    const body = (entry: Live): Effect.Effect<CmdOutcome.CmdOutcome<unknown, unknown>, never, unknown> => {
      const rt = entry.rt
      const run = Effect.suspend(() => {
        if (entry.timeoutMs !== undefined && !entry.timeoutIncludesQueue) rt.startTimeout(entry.timeoutMs)
        // One Date for both fields (a Date object less per execution in flight).
        const at = new Date(now())
        return Effect.zipRight(
          transition(entry, "Running", { startedAt: at, updatedAt: at, runner }),
          rt.execute(entry.execution.blocks, entry.input)
        )
      })
      return Effect.suspend((): Effect.Effect<CmdOutcome.CmdOutcome<unknown, unknown>, never, unknown> => {
        if (entry.timeoutMs !== undefined && entry.timeoutIncludesQueue) {
          // Queue time counts: the deadline runs from creation, also while queued.
          rt.startTimeout(entry.timeoutMs - (now() - entry.record.createdAt.getTime()))
        }
        const slots = slotsFor(entry.execution)
        if (slots === undefined) return run
        return Effect.flatMap(slots.acquire(entry), (acquired) =>
          acquired ? run : Effect.succeed(CmdOutcome.executionInterrupted({
            interrupt: rt.controller.effective as InterruptRequest,
            blocksProcessed: [],
            blocksNotProcessed: entry.execution.blocks.map((block) =>
              block.name
            )
          })))
      })
    }

    /**
     * Runs an execution on a fiber of its own. However that fiber ends — an outcome, an
     * interruption (shutdown, or the forced stop of items in flight), a defect — an outcome
     * is produced and recorded by `finalize`, on a fiber the map's closing waits for.
     */
    const launch = (entry: Live): Effect.Effect<void, never, unknown> =>
      Effect.map(Effect.forkDaemon(body(entry)), (fiber) => {
        executionFibers.add(fiber)
        if (closing) fiber.unsafeInterruptAsFork(FiberId.none)
        fiber.addObserver((exit) => {
          executionFibers.delete(fiber)
          const rt = entry.rt
          const outcome = Exit.isSuccess(exit) ? rt.settle(exit.value) : rt.settle(rt.abortedOutcome(exit.cause))
          const recording = EffectRuntime.runFork(mapRuntime)(finalize(entry, outcome))
          finalizers.add(recording)
          recording.addObserver(() => finalizers.delete(recording))
        })
      })

    const interruptAccepted = (entry: Live) => (_request: InterruptRequest, _escalated: boolean) =>
      Effect.suspend(() => {
        const rt = entry.rt
        const patch: { -readonly [K in keyof RecordPatch]: RecordPatch[K] } = {
          interrupts: [...rt.controller.requests],
          updatedAt: new Date(now())
        }
        if (rt.controller.effective !== undefined) patch.interrupt = rt.controller.effective
        if (rt.state === "Running") {
          rt.setState("Interrupting")
          patch.state = "Interrupting"
        }
        const effective = rt.controller.effective
        return persistLogged(entry, patch, {
          ...(effective?.requestedBy !== undefined ? { actor: effective.requestedBy } : {}),
          reason: `interrupt requested (${effective?.source ?? "unknown"}, ${effective?.mode ?? "graceful"})`
        })
      })

    // Built outside `startInternal` so the closures, which live as long as the execution,
    // keep only what they use.
    // One set of hooks for every execution of the map (no closures per execution).
    const hooks: RuntimeHooks = {
      saveItemStates: (rt, states) =>
        store.saveItemStates(states).pipe(
          Effect.catchAll((error) => Effect.logError(`truce: could not record item states of ${rt.id}`, error))
        ),
      interruptAccepted: (rt, request, escalated) => {
        const entry = live.get(rt.id)
        return entry === undefined || entry.rt !== rt ? Effect.void : interruptAccepted(entry)(request, escalated)
      }
    }
    const shared: RuntimeShared = { timeoutGraceMs, eventCapacity, now, timers, hooks }

    const fingerprintOf = (execution: CmdExecution.Any, encodedInput: unknown) =>
      createHash("sha256").update(execution.name).update("\u0000").update(stableStringify(encodedInput)).digest(
        "base64url"
      )

    const startInternal = <In, Out, E, R>(
      execution: CmdExecution.CmdExecution<In, Out, E, R>,
      input: In,
      startOptions: Api.StartOptions,
      resume: { readonly from: ExecutionRecord; readonly states: ReadonlyMap<string, ItemState> } | undefined
    ): Effect.Effect<Live, StoreError, R> =>
      Effect.gen(function*() {
        if (!commands.has(execution.name)) commands.set(execution.name, execution)
        const id = makeId()
        const createdAt = new Date(now())
        const defaults = execution.options
        const strategy: InterruptStrategy = startOptions.strategy ?? defaults.strategy ?? FinishCurrent
        const timeoutOption = startOptions.timeout ?? defaults.timeout ?? defaultTimeoutMs
        const timeoutMs = timeoutOption === "none" || timeoutOption === undefined ? undefined : millis(timeoutOption)
        const graceOption = startOptions.graceTimeout ?? defaults.graceTimeout
        const cancellable = startOptions.cancellable ?? defaults.cancellable ?? true
        const redact = startOptions.redactInput ?? defaults.redactInput ?? false
        const includeQueue = startOptions.timeoutIncludesQueue ?? defaults.timeoutIncludesQueue ?? false
        let encodedInput: unknown = undefined
        if (!redact) {
          try {
            encodedInput = execution.encodeInput(input)
          } catch (error) {
            yield* Effect.logWarning(`truce: the input of ${execution.name} could not be encoded; not recorded`, error)
          }
        }
        const record: { -readonly [K in keyof ExecutionRecord]: ExecutionRecord[K] } = {
          id,
          command: execution.name,
          state: "Queued",
          createdAt,
          updatedAt: createdAt,
          permissions: startOptions.permissions ?? ownerOnly,
          blocks: blockNamesOf(execution),
          progress: emptySummary(execution.blocks.length, createdAt.getTime()),
          interrupts: noInterrupts,
          strategy,
          cancellable,
          labels: startOptions.labels === undefined ? noLabels : { ...startOptions.labels },
          resumable: defaults.resumable ?? false
        }
        if (startOptions.owner !== undefined) record.owner = startOptions.owner
        if (encodedInput !== undefined) record.input = encodedInput
        if (redact) record.inputRedacted = true
        if (timeoutMs !== undefined) record.timeoutMs = timeoutMs
        if (startOptions.callbackUrl !== undefined) {
          record.callback = { url: startOptions.callbackUrl, state: "Pending", attempts: 0 }
        }
        if (resume !== undefined) record.resumedFrom = resume.from.id
        if (startOptions.idempotencyKey !== undefined) {
          record.idempotencyKey = startOptions.idempotencyKey
          record.idempotencyFingerprint = startOptions.idempotencyFingerprint ??
            fingerprintOf(execution, encodedInput)
        }
        yield* store.insert(record)
        const rt: ExecutionRuntime = new Runtime({
          id,
          command: execution.name,
          blocks: record.blocks,
          strategy,
          graceMs: graceOption === undefined ? undefined : millis(graceOption),
          resumeStates: resume?.states,
          shared
        })
        rt.setState("Queued")
        const outputs: Array<Fiber.RuntimeFiber<void>> = startOptions.outputs?.length ? [] : noFibers
        for (const output of startOptions.outputs ?? []) {
          outputs.push(yield* Effect.forkDaemon(rt.pump(0, output.write)))
        }
        const entry: Live = {
          id,
          execution,
          input,
          rt,
          done: undefined,
          cancellable,
          outputs,
          inputs: startOptions.inputs?.length ? [] : noFibers,
          outcomeOutputs: startOptions.outcomeOutputs ?? noOutcomeOutputs,
          timeoutMs,
          timeoutIncludesQueue: includeQueue,
          record,
          holdsSlot: false
        }
        live.set(id, entry)
        const started = entry
        for (const endpoint of startOptions.inputs ?? []) {
          started.inputs.push(
            yield* Effect.forkDaemon(
              Stream.runForEach(endpoint.requests, (request) => interrupt(id, request)).pipe(
                Effect.catchAllCause((cause) =>
                  Effect.logWarning(`truce: input endpoint ${endpoint.name} failed`, cause)
                )
              )
            )
          )
        }
        // The engine is written against `unknown` requirements; the caller provides `R`.
        yield* (launch(started) as Effect.Effect<void, never, R>)
        return started
      })

    const start = <In, Out, E, R>(
      execution: CmdExecution.CmdExecution<In, Out, E, R>,
      input: In,
      startOptions: Api.StartOptions = {},
      resume?: { readonly from: ExecutionRecord; readonly states: ReadonlyMap<string, ItemState> }
    ): Effect.Effect<ExecutionId, StoreError | IdempotencyConflict, R> => {
      const key = startOptions.idempotencyKey
      if (key === undefined) {
        return Effect.map(startInternal(execution, input, startOptions, resume), (entry) => entry.id)
      }
      return idempotencyLock.withPermits(1)(Effect.gen(function*() {
        let encodedInput: unknown = undefined
        try {
          encodedInput = execution.encodeInput(input)
        } catch {
          encodedInput = undefined
        }
        const fingerprint = startOptions.idempotencyFingerprint ?? fingerprintOf(execution, encodedInput)
        const page = yield* store.query({
          where: [{ field: "idempotencyKey", kind: "string", op: "eq", value: key }],
          sort: { field: "createdAt", direction: "desc" },
          limit: 1
        })
        const existing = page.records[0]
        if (existing !== undefined) {
          if (existing.idempotencyFingerprint === fingerprint && existing.command === execution.name) {
            return existing.id
          }
          return yield* Effect.fail(new IdempotencyConflict({ key, existing: existing.id }))
        }
        const entry = yield* startInternal(
          execution,
          input,
          { ...startOptions, idempotencyFingerprint: fingerprint },
          resume
        )
        return entry.id
      }))
    }

    const getRecord = (id: string): Effect.Effect<Option.Option<ExecutionRecord>, StoreError> => {
      const entry = live.get(id)
      if (entry !== undefined) {
        return Effect.succeed(Option.some({ ...entry.record, state: entry.rt.state, progress: entry.rt.summary() }))
      }
      if (!isIdLike(id)) return Effect.succeed(Option.none())
      return store.get(id as ExecutionId)
    }

    const interrupt = (id: string, input: InterruptRequestInput) =>
      Effect.gen(function*() {
        const entry = live.get(id)
        if (entry === undefined || entry.rt.controller.finished) {
          const record = yield* getRecord(id)
          if (Option.isNone(record)) return InterruptResult.UnknownId()
          if (isTerminal(record.value.state)) return InterruptResult.AlreadyFinished({ state: record.value.state })
          // Unfinished, but not running in this process.
          return InterruptResult.UnknownId()
        }
        if (!entry.cancellable && input.source !== "shutdown" && input.source !== "timeout") {
          return InterruptResult.NotCancellable()
        }
        const request = makeRequest({ ...input, at: input.at ?? new Date(now()) })
        const result = yield* entry.rt.requestInterrupt(request)
        if (result === undefined) return InterruptResult.AlreadyFinished({ state: entry.rt.state })
        return InterruptResult.Accepted({ interrupt: request, escalated: result.escalated })
      })

    const awaitRecord = (id: string, awaitOptions?: Api.AwaitOptions) =>
      Effect.gen(function*() {
        const entry = live.get(id)
        if (entry !== undefined) {
          const waited = awaitOptions?.timeout === undefined
            ? Option.some(yield* Deferred.await(doneOf(entry)))
            : yield* Deferred.await(doneOf(entry)).pipe(Effect.timeoutOption(awaitOptions.timeout))
          if (Option.isNone(waited)) {
            return yield* Effect.fail(
              new AwaitTimeout({ id, waitedMs: millis(awaitOptions?.timeout ?? 0), state: entry.rt.state })
            )
          }
          return { ...entry.record }
        }
        const record = yield* getRecord(id)
        if (Option.isNone(record)) return yield* Effect.fail(new ExecutionNotFound({ id }))
        if (!isTerminal(record.value.state)) {
          return yield* Effect.fail(
            new AwaitTimeout({ id, waitedMs: 0, state: `${record.value.state} (not running in this process)` })
          )
        }
        return record.value
      })

    const awaitOutcome = (id: string, awaitOptions?: Api.AwaitOptions) =>
      Effect.gen(function*() {
        const entry = live.get(id)
        if (entry !== undefined) {
          yield* awaitRecord(id, awaitOptions)
          return yield* Deferred.await(doneOf(entry))
        }
        const record = yield* awaitRecord(id, awaitOptions)
        const lingered = lingering.get(id)?.rt.outcome
        if (lingered !== undefined) return lingered
        if (record.outcome === undefined) {
          return yield* Effect.fail(new ExecutionNotFound({ id }))
        }
        return CmdOutcome.decodeUnknown(record.outcome)
      })

    const events = (id: string, eventOptions?: { readonly after?: number | undefined }) => {
      const after = eventOptions?.after ?? 0
      return Stream.unwrap(Effect.gen(function*() {
        const rt = live.get(id)?.rt ?? lingering.get(id)?.rt
        if (rt !== undefined) return rt.events(after)
        const record = yield* getRecord(id)
        if (Option.isNone(record)) return yield* Effect.fail(new ExecutionNotFound({ id }))
        const found = record.value
        if (!isTerminal(found.state) || found.outcome === undefined) {
          return yield* Effect.fail(new ExecutionNotFound({ id }))
        }
        const finished: ExecutionEvent = {
          _tag: "Finished",
          seq: found.progress.seq,
          at: (found.finishedAt ?? found.updatedAt).getTime(),
          state: found.state,
          outcome: found.outcome
        }
        return after >= finished.seq ? Stream.empty : Stream.make(finished)
      }))
    }

    const resume = (id: string, startOptions: Api.StartOptions = {}) =>
      Effect.gen(function*() {
        const found = yield* getRecord(id)
        if (Option.isNone(found)) return yield* Effect.fail(new ExecutionNotFound({ id }))
        const record = found.value
        if (!isTerminal(record.state) || live.has(id)) {
          return yield* Effect.fail(new NotResumable({ id, reason: `it is still ${record.state}` }))
        }
        if (record.state === "Succeeded") {
          return yield* Effect.fail(new NotResumable({ id, reason: "it completed already" }))
        }
        const execution = commands.get(record.command)
        if (execution === undefined) {
          return yield* Effect.fail(new NotResumable({ id, reason: `command ${record.command} is not registered` }))
        }
        let input: unknown
        const remembered = lingering.get(id)
        if (remembered !== undefined) {
          input = remembered.input
        } else if (record.inputRedacted === true) {
          return yield* Effect.fail(new NotResumable({ id, reason: "its input was not recorded (redacted)" }))
        } else {
          const decoded = execution.decodeInput(record.input)
          if (Either.isLeft(decoded)) {
            return yield* Effect.fail(new NotResumable({ id, reason: "its recorded input no longer decodes" }))
          }
          input = decoded.right
        }
        const states = new Map<string, ItemState>()
        for (const state of yield* store.itemStates(record.id)) {
          states.set(itemStateKey(state.block, state.item), state)
        }
        const options: Api.StartOptions = {
          ...(record.owner !== undefined ? { owner: record.owner } : {}),
          permissions: record.permissions,
          labels: record.labels,
          strategy: record.strategy,
          cancellable: record.cancellable,
          ...(record.inputRedacted === true ? { redactInput: true } : {}),
          ...(record.timeoutMs !== undefined ? { timeout: Duration.millis(record.timeoutMs) } : {}),
          ...startOptions
        }
        return yield* start(execution as CmdExecution.AnyNoContext, input, options, { from: record, states })
      })

    const service: Api.CmdExecutionMap = {
      start: (execution, input, startOptions) => start(execution, input, startOptions),
      run: (execution, input, startOptions) =>
        Effect.gen(function*() {
          const entry = yield* startInternal(execution, input, startOptions ?? {}, undefined)
          return (yield* Deferred.await(doneOf(entry))) as CmdOutcome.CmdOutcome<never, never>
        }),
      interrupt,
      await: awaitOutcome,
      awaitRecord,
      awaitAll: (ids, awaitOptions) =>
        Effect.forEach(ids, (id) => awaitOutcome(id, awaitOptions), { concurrency: "unbounded" }),
      get: getRecord,
      list: (query) =>
        Effect.suspend((): Effect.Effect<Query.QueryPage, Query.InvalidQuery | StoreError> => {
          if (isValidatedQuery(query)) return store.query(query)
          const parsed = Query.make(query)
          return Either.isLeft(parsed) ? Effect.fail(parsed.left) : store.query(parsed.right)
        }),
      events,
      itemStates: (id) => isIdLike(id) ? store.itemStates(id as ExecutionId) : Effect.succeed([]),
      transitions: (id) => isIdLike(id) ? store.transitions(id as ExecutionId) : Effect.succeed([]),
      resume,
      register: (execution) => Effect.sync(() => void commands.set(execution.name, execution)),
      command: (name) => Option.fromNullable(commands.get(name)),
      isLive: (id) => live.has(id),
      store
    }

    // Background work: progress persistence + stall detection, and housekeeping.
    const tick = Effect.gen(function*() {
      const at = now()
      for (const entry of live.values()) {
        const rt = entry.rt
        if (rt.running.size > 0) rt.checkStalls(at, stallMs)
        if (rt.pendingStates.length > 0) yield* rt.flushStates()
        if (rt.summaryDirty && !rt.controller.finished) {
          rt.summaryDirty = false
          yield* persistLogged(entry, { progress: rt.summary(), updatedAt: new Date(at) })
        }
      }
    })
    yield* tick.pipe(Effect.repeat(Schedule.spaced(progressMs)), Effect.interruptible, Effect.forkScoped)
    yield* timers.run.pipe(Effect.interruptible, Effect.forkScoped)

    const housekeeping = Effect.gen(function*() {
      const at = now()
      for (const [id, entry] of lingering) {
        if (entry.until <= at) lingering.delete(id)
      }
      const purged = yield* store.purgeExpired(new Date(at), purgeBatch).pipe(
        Effect.catchAll((error) => Effect.as(Effect.logError("truce: purging expired records failed", error), 0))
      )
      if (purged > 0) yield* Effect.logDebug(`truce: purged ${purged} expired execution records`)
    })
    yield* housekeeping.pipe(
      Effect.repeat(Schedule.spaced(options.housekeepingInterval ?? Duration.seconds(30))),
      Effect.interruptible,
      Effect.forkScoped
    )

    // Crash recovery: executions left unfinished by a lost process.
    if (options.recover !== false) {
      const unfinished = yield* store.unfinished
      for (const record of unfinished) {
        const at = new Date(now())
        const interrupt = makeRequest({
          source: "process-lost",
          mode: "force",
          at,
          reason: `the process running it (${record.runner ?? "unknown"}) stopped before it finished`
        })
        const outcome = CmdOutcome.executionInterrupted({
          interrupt,
          blocksProcessed: record.blocks.slice(0, record.progress.blocksDone),
          blocksNotProcessed: record.blocks.slice(record.progress.blocksDone)
        })
        yield* store.update(record.id, {
          state: "Interrupted",
          updatedAt: at,
          finishedAt: at,
          expiresAt: new Date(at.getTime() + retentionMs),
          outcome: CmdOutcome.encodeUnknown(outcome),
          interrupt,
          interrupts: [...record.interrupts, interrupt],
          progress: {
            ...record.progress,
            seq: record.progress.seq + 1,
            updatedAt: at.getTime(),
            // Items in flight when the process was lost were stopped with it.
            items: {
              ...record.progress.items,
              running: 0,
              stalled: 0,
              interrupted: record.progress.items.interrupted + record.progress.items.running +
                record.progress.items.stalled
            }
          }
        }, { actor: "truce", reason: "process lost" })
        const command = commands.get(record.command)
        if (record.resumable && command !== undefined) {
          yield* resume(record.id).pipe(
            Effect.catchAll((error) => Effect.logWarning(`truce: could not resume ${record.id} after a crash`, error))
          )
        }
      }
    }

    return service
  })

const noOutcomeOutputs: ReadonlyArray<OutcomeOutput> = []

const isValidatedQuery = (query: ExecutionQuery | Query.QueryInput): query is ExecutionQuery =>
  Array.isArray((query as ExecutionQuery).where) && typeof (query as ExecutionQuery).limit === "number" &&
  typeof (query as ExecutionQuery).sort === "object" && (query as ExecutionQuery).sort !== null &&
  typeof (query as ExecutionQuery).sort.field === "string" &&
  (query as ExecutionQuery).where.every((condition) => typeof condition === "object" && "kind" in condition)

/** Ids are UUIDs; anything far from that shape cannot name a record. */
const isIdLike = (id: string): boolean => id.length > 0 && id.length <= 128
