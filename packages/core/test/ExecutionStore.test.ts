import { ExecutionStore } from "@truce/core"
import { conformance } from "@truce/core/testing/ExecutionStoreConformance"

conformance("ExecutionStore.layerMemory", () => ExecutionStore.layerMemory)
