/**
 * `npm run courses`: a walk-through of consistency boundaries defined by queries. It defines two
 * courses, registers students (two of them racing for one user name), races ten students for
 * the last three places of a course, and tries a sixth course for a student who takes five.
 *
 * On embedded Postgres (PGlite, in memory) by default; `--memory` runs it on the in-memory
 * stores, `--server` on a throwaway Postgres server, and `DATABASE_URL` on a server of your own.
 *
 * @since 0.1.0
 */
import { Cause, Console, Effect, Exit, Layer, Redacted } from "effect"
import { InMemory } from "@facta/core"
import { Embedded, Postgres } from "@facta/sql"
import { TestServer } from "@facta/sql/testing"
import * as Courses from "./Courses.ts"

/** Runs a decision and prints its outcome: ✓ and the events, or ✗ and the refusal. */
const show = <E, R>(title: string, decided: Effect.Effect<{ readonly events: ReadonlyArray<{ readonly type: string }>; readonly attempts: number }, E, R>) =>
  decided.pipe(
    Effect.map(({ attempts, events }) => `✓ ${events.map((event) => event.type).join(", ") || "nothing to do"}${attempts > 1 ? ` (decided ${attempts} times)` : ""}`),
    Effect.catchIf((error: E): error is Extract<E, Courses.Refusal> => Courses.isRefusal(error), (refusal) => Effect.succeed(`✗ ${refusal.message}`)),
    Effect.flatMap((outcome) => Console.log(`  ${title}\n      ${outcome}`))
  )

/** Runs the decisions at once and counts who won. */
const race = <A, E, R>(title: string, attempts: ReadonlyArray<Effect.Effect<A, E, R>>) =>
  Effect.forEach(attempts, (attempt) => Effect.result(attempt), { concurrency: "unbounded" }).pipe(
    Effect.flatMap((results) => {
      const won = results.filter((result) => result._tag === "Success").length
      const refused = results.filter((result) => result._tag === "Failure" && Courses.isRefusal(result.failure)).length
      const failed = results.length - won - refused
      return Console.log(`  ${title}\n      ${won} accepted, ${refused} refused${failed > 0 ? `, ${failed} FAILED` : ""}`).pipe(
        Effect.andThen(failed > 0 ? Effect.fail(new Error(`${failed} decisions failed`)) : Effect.void)
      )
    })
  )

const { changeCapacity, defineCourse, registerStudent, subscribe } = Courses.handlers

export const walkThrough = Effect.gen(function*() {
  yield* Console.log("\n1. Courses and students\n")
  yield* show("defineCourse c1, 3 places", defineCourse.handle({ _tag: "DefineCourse", courseId: "c1", capacity: 3 }))
  yield* show("defineCourse c1 again", defineCourse.handle({ _tag: "DefineCourse", courseId: "c1", capacity: 10 }))
  for (let i = 1; i <= 6; i++) yield* defineCourse.handle({ _tag: "DefineCourse", courseId: `extra-${i}`, capacity: 10 })
  for (let i = 1; i <= 10; i++) yield* registerStudent.handle({ _tag: "RegisterStudent", studentId: `s${i}`, name: `student${i}` })
  yield* Console.log("  registered students s1..s10; defined courses extra-1..extra-6")

  yield* Console.log("\n2. A user name is taken once: two registrations race for \"ada\"\n")
  yield* race("registerStudent ada-1 and ada-2 as \"ada\"", [
    registerStudent.handle({ _tag: "RegisterStudent", studentId: "ada-1", name: "ada" }),
    registerStudent.handle({ _tag: "RegisterStudent", studentId: "ada-2", name: "Ada" })
  ])

  yield* Console.log("\n3. Ten students race for the three places of c1\n")
  yield* race("subscribe s1..s10 to c1 at once", Array.from({ length: 10 }, (_, i) => subscribe.handle({ _tag: "Subscribe", courseId: "c1", studentId: `s${i + 1}` })))
  yield* show("changeCapacity c1 to 2 (below its students)", changeCapacity.handle({ _tag: "ChangeCapacity", courseId: "c1", capacity: 2 }))
  yield* show("changeCapacity c1 to 4", changeCapacity.handle({ _tag: "ChangeCapacity", courseId: "c1", capacity: 4 }))

  yield* Console.log("\n4. A student takes at most five courses\n")
  yield* registerStudent.handle({ _tag: "RegisterStudent", studentId: "keen", name: "keen" })
  for (let i = 1; i <= 5; i++) yield* subscribe.handle({ _tag: "Subscribe", courseId: `extra-${i}`, studentId: "keen" })
  yield* Console.log("  registered keen and subscribed them to extra-1..extra-5")
  yield* show("subscribe keen to extra-6", subscribe.handle({ _tag: "Subscribe", courseId: "extra-6", studentId: "keen" }))
  yield* show("subscribe nobody to c1", subscribe.handle({ _tag: "Subscribe", courseId: "c1", studentId: "nobody" }))
})

const databaseUrl = process.env["DATABASE_URL"]
const stores = process.argv.includes("--memory")
  ? { name: "the in-memory stores", layer: InMemory.layer }
  : databaseUrl !== undefined && databaseUrl !== ""
  ? { name: "the Postgres server at DATABASE_URL", layer: Postgres.layer({ url: Redacted.make(databaseUrl) }) }
  : process.argv.includes("--server")
  ? {
    name: "a throwaway Postgres server",
    layer: Layer.unwrap(Effect.map(TestServer.server, (server) => Postgres.layer({ url: Redacted.make(server.url) })))
  }
  : { name: "embedded Postgres (PGlite, in memory)", layer: Embedded.layer() }

if (process.argv[1] === import.meta.filename) {
  Effect.runPromiseExit(Console.log(`Facta courses: consistency boundaries by query, on ${stores.name}`).pipe(
    Effect.andThen(walkThrough),
    Effect.provide(stores.layer)
  )).then((exit) => {
    if (Exit.isFailure(exit)) {
      console.error(Cause.pretty(exit.cause))
      process.exitCode = 1
    }
  })
}
