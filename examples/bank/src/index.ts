/**
 * @facta/example-bank: accounts and transfers, the domain of the Facta bank example.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as BankAccount from "./BankAccount.ts"
/** @since 0.1.0 */
export * as Transfer from "./Transfer.ts"
