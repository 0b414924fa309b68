export {
  generatePassword,
  type HashingObserver,
  hashingQueueLength,
  hashPassword,
  observeHashing,
} from './auth/passwords.js';
export { retryAfterOf } from './auth/sign-in-policy.js';
export { type Sweeper, startSweeper, sweepSignInData } from './auth/sweep.js';
export { type BulkWorker, type BulkWorkOptions, runBulkWork, startBulkWorker } from './bulk/service.js';
export { type Context, type CreateContextOptions, createContext, type SessionCookies } from './context.js';
export { type Access, accessRules, assertAccess } from './core/access.js';
export { authenticate } from './core/authenticate.js';
export { AppError, appError, type ErrorReason, errorReasons, mapDatabaseError, reasonOf } from './errors.js';
export { importMaxBytes } from './imports/csv.js';
export { type ImportSummary, previewUserImport } from './imports/service.js';
export { createInflightTracker, type InflightTracker } from './inflight.js';
export { listMail } from './mail/queries.js';
export { type MailWorker, type MailWorkOptions, runMailWork, startMailWorker } from './mail/service.js';
export { createSmtpTransport, type MailTransport, type OutgoingMail } from './mail/transport.js';
export { liveSessionCount } from './metrics/queries.js';
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
export type { Actor } from './shared/actor.js';
export {
  type ApiKeyConfig,
  defaultApiKeyConfig,
  defaultMailConfig,
  defaultSessionConfig,
  type MailConfig,
  type SessionConfig,
} from './shared/config.js';
export { createCallerFactory } from './trpc.js';
export { parseUserExportParams, startUserExport, type UserExport, type UserExportFilter } from './users/export.js';
