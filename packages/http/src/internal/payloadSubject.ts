/**
 * What an endpoint's payload is, in the words of a validation error (`command of Account`): the
 * annotation `CommandApi` puts on its endpoints, by which `PlainErrors` names a failing payload.
 */
import { Context } from "effect"

export class PayloadSubject extends Context.Service<PayloadSubject, string>()("@facta/http/PayloadSubject") {}
