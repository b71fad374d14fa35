/**
 * The strict HTTP/1.1 server `cairn serve` and `cairn ui` share: time limits
 * on heads, bodies and responses, a cap on open connections, and streamed
 * responses for large downloads.
 *
 * @module
 */
export {
  type LimitedServer,
  type LimitedServerOptions,
  serveLimited,
  type ServerLimits,
} from "./server.ts";
