/**
 * Where the segments of processors run when several processes run the same application.
 *
 * Without a `Placement`, every process runs every segment it can take a lease for, up to its fair
 * share (the segments divided by the processes holding a member lease of the processor). With
 * {@link cluster}, Effect Cluster decides: each segment is a cluster singleton, run by the runner
 * that owns its shard, and moved when runners join or leave. Either way the lease and its epoch,
 * checked in every batch's transaction, decide whether a commit counts; the placement only says
 * where a segment should run, so two processes that disagree for a moment (a frozen runner, a
 * runner cut off from the cluster) cannot both commit.
 *
 * A placed segment runs only in processes that started its processor: start the same processors
 * in every process of the cluster (with `Processor.layer`), or a segment placed on a process that
 * lacks it does not run.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, type Scope } from "effect"
import { Sharding } from "effect/cluster"

/**
 * @category services
 * @since 0.1.0
 */
export class Placement extends Context.Service<Placement, {
  /**
   * Runs `follow` while the segment (or unsplit processor) `name` is placed in this process:
   * starts it when the segment comes here, interrupts it when the segment goes elsewhere or the
   * scope closes. `follow` runs until it is interrupted.
   */
  readonly place: (name: string, follow: Effect.Effect<void, never, Scope.Scope>) => Effect.Effect<void, never, Scope.Scope>
}>()("@facta/core/Placement") {}

/**
 * Every segment runs in this process (each once it has its lease), with no fair share: how a
 * process that must run a processor itself (a rebuild's shadow, a tool) starts it, with
 * `Effect.provideService(Placement, here)`.
 *
 * @category placements
 * @since 0.1.0
 */
export const here: Placement["Service"] = {
  place: (_name, follow) => Effect.asVoid(Effect.forkScoped(follow))
}

/**
 * Places segments with Effect Cluster: segment `name` is the singleton `facta:<name>` in
 * `shardGroup` (default "default"). Provide it with any `Sharding` layer, e.g.
 * `NodeClusterSocket.layer({ storage: "sql" })` from `@effect/platform-node` on the same Postgres.
 *
 * Segments are spread by the hash of their names over the shards, so a processor with few
 * segments may have them unevenly over few runners; the lease placement shares them exactly.
 * `@facta/sql/cluster` provides the runners on the application's Postgres.
 *
 * @category placements
 * @since 0.1.0
 */
export const cluster = (options?: { readonly shardGroup?: string | undefined }): Layer.Layer<Placement, never, Sharding.Sharding> =>
  Layer.effect(
    Placement,
    Effect.map(Sharding.Sharding, (sharding) =>
      Placement.of({
        place: (name, follow) => sharding.registerSingleton(`facta:${name}`, follow, { shardGroup: options?.shardGroup })
      }))
  )
