import { accountsRouter } from './accounts/router.js';
import { apiKeysRouter } from './api-keys/router.js';
import { auditRouter } from './audit/router.js';
import { authRouter } from './auth/router.js';
import { importsRouter } from './imports/router.js';
import { scimRouter } from './scim/router.js';
import { router } from './trpc.js';
import { usersRouter } from './users/router.js';

export const appRouter = router({
  auth: authRouter,
  accounts: accountsRouter,
  users: usersRouter,
  audit: auditRouter,
  apiKeys: apiKeysRouter,
  scim: scimRouter,
  imports: importsRouter,
});

/** The whole API's type: the only thing the web app and CLI import from here. */
export type AppRouter = typeof appRouter;
