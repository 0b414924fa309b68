export { generatePassword, hashPassword } from './auth/passwords.js';
export { retryAfterOf } from './auth/sign-in.js';
export { type Sweeper, startSweeper, sweepSignInData } from './auth/sweep.js';
export { type BulkWorker, type BulkWorkOptions, runBulkWork, startBulkWorker } from './bulk/service.js';
export {
  type ApiKeyConfig,
  type Context,
  type CreateContextOptions,
  createContext,
  defaultApiKeyConfig,
  defaultSessionConfig,
  type SessionConfig,
  type SessionCookies,
} from './context.js';
export { AppError, appError, type ErrorReason, errorReasons, mapDatabaseError, reasonOf } from './errors.js';
export { createInflightTracker, type InflightTracker } from './inflight.js';
export { bootstrapInstallation, type CreatedOrganization, createOrganization } from './organizations/service.js';
export { type AppRouter, appRouter } from './root.js';
export {
  handleScimRequest,
  type ScimOptions,
  type ScimRequest,
  type ScimResponse,
  scimErrorResponse,
} from './scim/http.js';
export { ConnectionRateLimiter, type ScimRateLimit } from './scim/rate-limit.js';
export { ScimError } from './scim/scim-error.js';
export { createCallerFactory } from './trpc.js';
