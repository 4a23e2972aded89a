/** Orderings the memory stores share with the SQL ones. */

const utf8 = new TextEncoder()

/** Orders strings by their UTF-8 bytes, as Postgres's "C" collation does. */
export const byBytes = (a: string, b: string): number => {
  const [x, y] = [utf8.encode(a), utf8.encode(b)]
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!
  return x.length - y.length
}
