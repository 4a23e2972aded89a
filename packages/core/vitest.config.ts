import { defineProject } from "vitest/config"

export default defineProject({
  // @facta/* resolve to their sources, as in tsconfig.json.
  resolve: { conditions: ["@facta/source"] },
  ssr: { resolve: { conditions: ["@facta/source"] } },
  test: {
    name: "core",
    include: ["test/**/*.test.ts"]
  }
})
