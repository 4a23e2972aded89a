/**
 * The docs' TypeScript blocks, compiled and run.
 *
 * Every ```ts block of README.md, docs/*.md and packages/*\/README.md is written out as a file
 * of its own under docs/snippets/generated/ (not committed) and type-checked with the compiler
 * options of tsconfig.json (strict, `@facta/*` resolved to their sources by the "@facta/source"
 * condition). The blocks of docs/testing.md are written as `*.test.ts`, and the "docs" vitest
 * project (./vitest.config.ts) runs them.
 *
 * `npm run typecheck` runs this module (`node docs/snippets/check.ts`). A block that does not
 * type-check fails it with the page and line, e.g. `docs/guide.md:97:3 ... in the ts block at
 * docs/guide.md:95`. Each generated file keeps every line of its block at the block's line in
 * the markdown, so compiler errors and stack traces of the run blocks point at the page too.
 *
 * A block is a module of its own: it imports what it uses. An HTML comment on the line right
 * before the fence may say more:
 *
 * - `<!-- file: Account.ts -->` names the block's file, so the other blocks (of any page)
 *   import it as "./Account.js". A name ending in `.test.ts` runs as a test; on docs/testing.md,
 *   a name that does not (`vitest.config.ts`) keeps the block from running: it is only
 *   type-checked.
 * - `<!-- prelude: ... -->` is code put before the block, unseen on the rendered page: the
 *   imports and declarations a fragment needs to compile, so the page can show only the part
 *   that matters. It may span lines up to the closing `-->`.
 *
 * Any other comment right before a ```ts fence is an error, so a misspelt directive is not
 * ignored. Blocks fenced with another language (sh, sql, or none) are left alone.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..")

/** Where the blocks are written; .gitignore'd. */
export const generatedDir = join(root, "docs", "snippets", "generated")

/** The pages whose blocks run as tests; the others are only type-checked. */
const testPages = new Set(["docs/testing.md"])

/** One ```ts block, as it is written out. */
export interface Snippet {
  /** The markdown page, relative to the repository. */
  readonly page: string
  /** The line of the opening fence in the page (1-based). */
  readonly line: number
  /** The generated file's name in generatedDir. */
  readonly fileName: string
  /** The file's text: the prelude and the block, each line at its line in the page. */
  readonly text: string
  /** Whether the "docs" vitest project runs the file. */
  readonly isTest: boolean
}

/** README.md, docs/*.md and packages/*\/README.md, relative to the repository. */
export const pages = (): Array<string> => {
  const docs = readdirSync(join(root, "docs")).filter((name) => name.endsWith(".md")).sort().map((name) => `docs/${name}`)
  const packages = readdirSync(join(root, "packages")).sort()
    .map((name) => `packages/${name}/README.md`)
    .filter((page) => existsSync(join(root, page)))
  return ["README.md", ...docs, ...packages]
}

const fence = /^(\s*)(`{3,}|~{3,})\s*([\w+-]*)/

/** The ```ts blocks of one page. */
export const extract = (page: string, markdown: string): Array<Snippet> => {
  const lines = markdown.split("\n")
  const snippets: Array<Snippet> = []
  for (let i = 0; i < lines.length; i++) {
    const open = fence.exec(lines[i]!)
    if (open === null) continue
    const [, indent = "", marker = "", language = ""] = open
    let end = i + 1
    while (end < lines.length && !(lines[end]!.trim().startsWith(marker) && lines[end]!.trim().replace(/[`~]/g, "") === "")) end++
    if (end === lines.length) throw new Error(`${page}:${i + 1}: the code block is never closed`)
    if (language === "ts" || language === "typescript") {
      const body = lines.slice(i + 1, end).map((text, k) => ({ line: i + 2 + k, text: text.startsWith(indent) ? text.slice(indent.length) : text }))
      snippets.push(snippet(page, i + 1, directivesBefore(page, lines, i), body))
    }
    i = end
  }
  return snippets
}

type Line = { readonly line: number; readonly text: string }
type Directive = { readonly file?: string; readonly prelude?: ReadonlyArray<Line> }

/** The directive comments that end on the lines right before the fence at `fenceIndex`. */
const directivesBefore = (page: string, lines: ReadonlyArray<string>, fenceIndex: number): Directive => {
  let directive: Directive = {}
  for (let last = fenceIndex - 1; last >= 0 && lines[last]!.trimEnd().endsWith("-->");) {
    let first = last
    while (first > 0 && !lines[first]!.includes("<!--")) first--
    const comment: Array<Line> = lines.slice(first, last + 1).map((text, k) => ({ line: first + 1 + k, text }))
    comment[0] = { ...comment[0]!, text: comment[0]!.text.replace(/^\s*<!--\s*/, "") }
    comment[comment.length - 1] = { ...comment.at(-1)!, text: comment.at(-1)!.text.replace(/\s*-->\s*$/, "") }
    const head = comment[0]!.text
    const file = /^file:\s*(\S+)$/.exec(head)
    if (file !== null && comment.length === 1 && directive.file === undefined) {
      directive = { ...directive, file: file[1]! }
    } else if (head.startsWith("prelude:") && directive.prelude === undefined) {
      comment[0] = { ...comment[0]!, text: head.slice("prelude:".length).trim() }
      directive = { ...directive, prelude: comment }
    } else {
      throw new Error(`${page}:${first + 1}: the comments right before a ts block may be one <!-- file: Name.ts --> and one <!-- prelude: ... -->`)
    }
    last = first - 1
  }
  return directive
}

const slug = (page: string) => page.replace(/\.md$/, "").replaceAll("/", "-")

const snippet = (page: string, line: number, directive: Directive, body: ReadonlyArray<Line>): Snippet => {
  const fileName = directive.file ?? `${slug(page)}-L${line}${testPages.has(page) ? ".test.ts" : ".ts"}`
  if (!/^[\w.-]+\.ts$/.test(fileName)) throw new Error(`${page}:${line - 1}: "${fileName}" is not a .ts file name`)
  // Each line at its line in the page: errors and stack traces then name the page's lines.
  const out: Array<string> = Array.from({ length: body.at(-1)?.line ?? line }, () => "")
  for (const { line: at, text } of [...directive.prelude ?? [], ...body]) out[at - 1] = text
  // A shebang is only valid on the first line; the fence is never there, so that line is free.
  const shebang = body[0]?.text.startsWith("#!") === true ? body[0] : undefined
  if (shebang !== undefined) {
    out[0] = shebang.text
    out[shebang.line - 1] = ""
  } else if (out[0] === "") {
    out[0] = `// Generated from ${page} by docs/snippets/check.ts: edit the page, not this file.`
  }
  return { page, line, fileName, text: out.join("\n") + "\n", isTest: fileName.endsWith(".test.ts") }
}

/** Every page's blocks, written afresh into generatedDir. */
export const writeSnippets = (): Array<Snippet> => {
  const snippets = pages().flatMap((page) => extract(page, readFileSync(join(root, page), "utf8")))
  const byName = new Map<string, Snippet>()
  for (const snippet of snippets) {
    const other = byName.get(snippet.fileName)
    if (other !== undefined) {
      throw new Error(`${snippet.page}:${snippet.line} and ${other.page}:${other.line} are both written as ${snippet.fileName}`)
    }
    byName.set(snippet.fileName, snippet)
  }
  rmSync(generatedDir, { recursive: true, force: true })
  mkdirSync(generatedDir, { recursive: true })
  for (const snippet of snippets) writeFileSync(join(generatedDir, snippet.fileName), snippet.text)
  return snippets
}

/** A compiler error, and the block it is in (none for an error of the options). */
export interface SnippetError {
  readonly snippet: Snippet | undefined
  readonly message: string
}

/** Type-checks the written blocks; each error's message names the page and line. */
export const typeCheck = (snippets: ReadonlyArray<Snippet>): Array<SnippetError> => {
  const config = ts.getParsedCommandLineOfConfigFile(join(root, "tsconfig.json"), undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"))
    }
  })
  if (config === undefined) throw new Error("tsconfig.json could not be read")
  const byFile = new Map(snippets.map((snippet) => [join(generatedDir, snippet.fileName), snippet]))
  const program = ts.createProgram({ rootNames: [...byFile.keys()], options: config.options })
  const diagnostics = [
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...[...byFile.keys()].flatMap((file) => {
      const source = program.getSourceFile(file)!
      return [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]
    })
  ]
  return diagnostics.map((diagnostic) => {
    const message = `error TS${diagnostic.code}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n  ")}`
    const snippet = diagnostic.file === undefined ? undefined : byFile.get(diagnostic.file.fileName)
    if (snippet === undefined || diagnostic.start === undefined) return { snippet, message }
    const at = diagnostic.file!.getLineAndCharacterOfPosition(diagnostic.start)
    const generated = relative(root, join(generatedDir, snippet.fileName))
    return { snippet, message: `${snippet.page}:${at.line + 1}:${at.character + 1} ${message}\n  in the ts block at ${snippet.page}:${snippet.line} (${generated})` }
  })
}

if (import.meta.main) {
  const snippets = writeSnippets()
  if (snippets.length === 0) throw new Error("No ts block found in the docs: is the page list right?")
  const errors = typeCheck(snippets)
  for (const { message } of errors) console.error(message)
  if (errors.length > 0) {
    const blocks = new Set(errors.flatMap(({ snippet }) => snippet === undefined ? [] : [snippet]))
    console.error(`\n${errors.length} type errors; ${blocks.size} of the ${snippets.length} ts blocks of the docs do not compile`)
    process.exit(1)
  }
  const tests = snippets.filter((snippet) => snippet.isTest).length
  console.log(`${snippets.length} ts blocks of ${pages().length} pages type-check; ${tests} run as tests (vitest project "docs")`)
}
