/**
 * @facta/example-bank: accounts and transfers, the domain of the Facta bank example, and the
 * application around it.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Bank from "./Bank.ts"
/** @since 0.1.0 */
export * as BankAccount from "./BankAccount.ts"
/** @since 0.1.0 */
export * as Projections from "./Projections.ts"
/** @since 0.1.0 */
export * as Transfer from "./Transfer.ts"
/** @since 0.1.0 */
export * as TransferFlow from "./TransferFlow.ts"
