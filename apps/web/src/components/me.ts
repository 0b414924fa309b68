import { createContext, useContext } from 'react';
import type { User } from '../trpc';

/** The signed-in user; provided by the signed-in layout, so pages below it never see null. */
export const MeContext = createContext<User | null>(null);

export function useMe(): User {
  const me = useContext(MeContext);
  if (!me) throw new Error('useMe() is only available below the signed-in layout');
  return me;
}
