import { Context } from "effect"
/**
 * The read-model generation the current processor writes (see `BlueGreen`); undefined outside a
 * processor, where documents are read and written in the generation readers see.
 */
export const CurrentGeneration = Context.Reference<number | undefined>("@facta/core/internal/CurrentGeneration", {
  defaultValue: () => undefined
})
